//! Errors of the Discord adapter: what users may see, and what only the logs see.

use crate::core::engine::EngineError;
use crate::core::game::dice::DiceError;
use crate::core::models::chat::{LlmError, ModelIdError};
use crate::core::store::StoreError;
use crate::core::text::TextError;

/// A command failed. `User` messages are shown as they are (ephemeral); `Internal` errors are
/// logged and the user sees a short apology without details.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("{0}")]
    User(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type BotResult<T = ()> = Result<T, BotError>;

/// Shorthand for a refusal the user can act on.
pub fn user(message: impl Into<String>) -> BotError {
    BotError::User(message.into())
}

impl BotError {
    /// What the user is told.
    pub fn user_message(&self) -> String {
        match self {
            // Within Discord's 2,000 characters, whatever a refusal quotes.
            BotError::User(m) => crate::core::text::truncate_chars(m, USER_MESSAGE_MAX),
            BotError::Internal(_) => INTERNAL_MESSAGE.to_string(),
        }
    }
}

/// The longest refusal shown (a message holds 2,000 characters).
pub const USER_MESSAGE_MAX: usize = 1_900;

/// Shown for failures that are not the user's to fix.
pub const INTERNAL_MESSAGE: &str = "Something went wrong on my side. Please try again in a moment; if it keeps happening, tell the server admins.";

impl From<StoreError> for BotError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => BotError::User(m),
            StoreError::Unavailable(_) => BotError::User(
                "The game's database is unavailable right now; please try again in a moment."
                    .into(),
            ),
            other => BotError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<EngineError> for BotError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Store(s) => s.into(),
            other => BotError::User(other.to_string()),
        }
    }
}

impl From<crate::core::portrait::PortraitError> for BotError {
    fn from(e: crate::core::portrait::PortraitError) -> Self {
        match e {
            crate::core::portrait::PortraitError::Store(s) => s.into(),
            other => BotError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<crate::core::game::member::NotAllowed> for BotError {
    fn from(e: crate::core::game::member::NotAllowed) -> Self {
        BotError::User(e.to_string())
    }
}

impl From<TextError> for BotError {
    fn from(e: TextError) -> Self {
        BotError::User(format!("{e}."))
    }
}

impl From<DiceError> for BotError {
    fn from(e: DiceError) -> Self {
        BotError::User(format!("I can't roll that: {e}."))
    }
}

impl From<LlmError> for BotError {
    fn from(e: LlmError) -> Self {
        BotError::User(format!("That model can't be used: {e}."))
    }
}

impl From<ModelIdError> for BotError {
    fn from(e: ModelIdError) -> Self {
        // The error quotes what was typed, which may be thousands of characters long.
        let short = |s: &str| crate::core::text::truncate_chars(s, 100);
        let e = match e {
            ModelIdError::MissingProvider(s) => ModelIdError::MissingProvider(short(&s)),
            ModelIdError::UnknownProvider(s) => ModelIdError::UnknownProvider(short(&s)),
            ModelIdError::BadName(s) => ModelIdError::BadName(short(&s)),
        };
        BotError::User(format!("{e}."))
    }
}

impl From<crate::core::accounts::auth::AuthError> for BotError {
    fn from(e: crate::core::accounts::auth::AuthError) -> Self {
        match e {
            crate::core::accounts::auth::AuthError::Store(s) => s.into(),
            other => BotError::User(other.to_string()),
        }
    }
}

impl From<serenity::Error> for BotError {
    fn from(e: serenity::Error) -> Self {
        BotError::Internal(anyhow::Error::new(e).context("a Discord request failed"))
    }
}

impl From<crate::core::party::PartyError> for BotError {
    fn from(e: crate::core::party::PartyError) -> Self {
        use crate::core::party::PartyError;
        match e {
            PartyError::Store(e) => e.into(),
            PartyError::NotAllowed(e) => e.into(),
            PartyError::Refused(m) => BotError::User(m),
            busy @ PartyError::Busy => {
                BotError::User(format!("{}.", sentence_case(&busy.to_string())))
            }
        }
    }
}

fn sentence_case(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::models::chat::ModelId;

    #[test]
    fn conflicts_are_shown_and_outages_are_worded_for_users() {
        let e: BotError =
            StoreError::Conflict("This server already has a campaign named \"X\".".into()).into();
        assert_eq!(
            e.user_message(),
            "This server already has a campaign named \"X\"."
        );
        let e: BotError = StoreError::Unavailable("pool timed out at 10.0.0.3".into()).into();
        assert!(!e.user_message().contains("10.0.0.3"));
        let e: BotError = StoreError::Corrupt("row 7 has a bad model".into()).into();
        assert_eq!(e.user_message(), INTERNAL_MESSAGE);
    }

    #[test]
    fn refusals_fit_in_a_message_whatever_they_quote() {
        let typed = "a".repeat(10_000);
        let e: BotError = ModelId::parse(&typed).unwrap_err().into();
        assert!(
            e.user_message().chars().count() < 200,
            "{}",
            e.user_message()
        );
        let e = user(format!("I can't use {typed}"));
        assert!(e.user_message().chars().count() <= USER_MESSAGE_MAX);
    }

    #[test]
    fn engine_refusals_reach_the_user() {
        let e: BotError = EngineError::SessionExists.into();
        assert!(e.user_message().contains("already running"));
    }
}
