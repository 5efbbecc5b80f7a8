//! The engine's chat surface on Discord. Model text always goes out with mentions disabled
//! (never through `Message::reply`, which re-enables the author ping).

use std::sync::Arc;

use async_trait::async_trait;
use serenity::all::{
    ButtonStyle, ChannelId as SChannelId, CreateActionRow, CreateAllowedMentions, CreateButton,
    CreateMessage, EditMessage, Http, MessageId as SMessageId,
};

use crate::core::ids::{ChannelId, DiscordMessageId, MessageId};
use crate::core::llm::ModelId;
use crate::core::streaming::truncate_chars;
use crate::discord::engine::{Notice, PresentError, Presenter};
use crate::discord::render::{Embed, GOLD, RED};
use crate::ops::Metrics;

/// Discord's limit for message content.
const MESSAGE_MAX: usize = 2000;

pub struct DiscordPresenter {
    http: Arc<Http>,
    metrics: Option<Arc<Metrics>>,
}

impl DiscordPresenter {
    pub fn new(http: Arc<Http>) -> DiscordPresenter {
        DiscordPresenter {
            http,
            metrics: None,
        }
    }

    /// Counts failed REST calls in `metrics` (`/metrics`).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> DiscordPresenter {
        self.metrics = Some(metrics);
        self
    }

    fn failed(&self, operation: &str) -> impl Fn(serenity::Error) -> PresentError + '_ {
        let operation = operation.to_string();
        move |e| {
            if let Some(m) = &self.metrics {
                m.discord_error(&operation);
            }
            failed(e)
        }
    }
}

fn quiet() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
}

fn channel(c: ChannelId) -> SChannelId {
    SChannelId::new(c.0)
}

fn failed(e: serenity::Error) -> PresentError {
    PresentError(e.to_string())
}

/// The buttons under a finished narration.
pub fn narration_buttons(narration: MessageId) -> CreateActionRow {
    CreateActionRow::Buttons(vec![
        CreateButton::new(format!("regen:{narration}"))
            .label("Regenerate")
            .emoji('🔄')
            .style(ButtonStyle::Secondary),
        CreateButton::new(format!("rate:up:{narration}"))
            .emoji('👍')
            .style(ButtonStyle::Secondary),
        CreateButton::new(format!("rate:down:{narration}"))
            .emoji('👎')
            .style(ButtonStyle::Secondary),
    ])
}

/// `text` as a sentence: capital first letter, final full stop.
fn sentence(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?', '…']) {
        out.push('.');
    }
    out
}

/// How a notice reads in the channel: (content, embed).
pub fn render_notice(notice: &Notice) -> (Option<String>, Option<Embed>) {
    match notice {
        Notice::DiceRoll { label, text } => {
            let title = if label.trim().is_empty() {
                "🎲 The game master rolls".to_string()
            } else {
                format!("🎲 {}", label.trim())
            };
            (
                None,
                Some(Embed::new(title).description(text.clone()).colour(GOLD)),
            )
        }
        Notice::BadRollTag { tag, problem } => (
            Some(format!(
                "⚠️ The game master asked for a roll I can't make (`{tag}`): {} The story goes on without it.",
                sentence(problem)
            )),
            None,
        ),
        Notice::ModelFailed {
            model,
            reason,
            next,
        } => (
            Some(format!(
                "⚠️ `{model}` failed: {} {}",
                sentence(reason),
                sentence(next)
            )),
            None,
        ),
        Notice::NarrationCut { model, reason } => (
            Some(format!(
                "⚠️ `{model}` stopped part way: {} What it wrote is kept; use Regenerate to try again.",
                sentence(reason)
            )),
            None,
        ),
        Notice::TurnFailed { reason } => (
            None,
            Some(
                Embed::new("⚠️ No narration this turn")
                    .description(sentence(reason))
                    .colour(RED),
            ),
        ),
        Notice::BudgetWarning { spent_usd, budget_usd } => (
            Some(format!(
                "💰 This server has spent ${spent_usd:.2} of its ${budget_usd:.2} monthly model budget (80% or more). \
                 Narration stops when the budget is spent; a server manager can raise it."
            )),
            None,
        ),
        Notice::BudgetExhausted { spent_usd, budget_usd } => (
            None,
            Some(
                Embed::new("💰 Monthly budget spent")
                    .description(format!(
                        "This server has spent ${spent_usd:.2} of its ${budget_usd:.2} monthly model budget, so the game master \
                         pauses until the month ends or a server manager raises the budget. Your messages are kept."
                    ))
                    .colour(RED),
            ),
        ),
        Notice::Restarting => (
            Some(
                "🔧 The bot is restarting. Your message is kept, and the game master picks the story up \
                 when it is back in a moment."
                    .to_string(),
            ),
            None,
        ),
    }
}

#[async_trait]
impl Presenter for DiscordPresenter {
    async fn typing(&self, c: ChannelId) {
        if let Err(e) = channel(c).broadcast_typing(&self.http).await {
            tracing::debug!(channel = %c, error = %e, "typing indicator failed");
        }
    }

    async fn send(&self, c: ChannelId, text: &str) -> Result<DiscordMessageId, PresentError> {
        let message = CreateMessage::new()
            .content(truncate_chars(text, MESSAGE_MAX))
            .allowed_mentions(quiet());
        let sent = channel(c)
            .send_message(&self.http, message)
            .await
            .map_err(self.failed("send"))?;
        Ok(DiscordMessageId(sent.id.get()))
    }

    async fn edit(
        &self,
        c: ChannelId,
        message: DiscordMessageId,
        text: &str,
    ) -> Result<(), PresentError> {
        let edit = EditMessage::new()
            .content(truncate_chars(text, MESSAGE_MAX))
            .allowed_mentions(quiet());
        channel(c)
            .edit_message(&self.http, SMessageId::new(message.0), edit)
            .await
            .map_err(self.failed("edit"))?;
        Ok(())
    }

    async fn narration_finished(
        &self,
        c: ChannelId,
        last_message: DiscordMessageId,
        narration: MessageId,
        _model: &ModelId,
    ) -> Result<(), PresentError> {
        let edit = EditMessage::new()
            .components(vec![narration_buttons(narration)])
            .allowed_mentions(quiet());
        channel(c)
            .edit_message(&self.http, SMessageId::new(last_message.0), edit)
            .await
            .map_err(self.failed("buttons"))?;
        Ok(())
    }

    async fn notice(&self, c: ChannelId, notice: &Notice) -> Result<(), PresentError> {
        let (content, embed) = render_notice(notice);
        let mut message = CreateMessage::new().allowed_mentions(quiet());
        if let Some(text) = content {
            message = message.content(truncate_chars(&text, MESSAGE_MAX));
        }
        if let Some(embed) = embed {
            message = message.embed(embed.build());
        }
        channel(c)
            .send_message(&self.http, message)
            .await
            .map_err(self.failed("notice"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_the_model_and_what_happens_next() {
        let notice = Notice::ModelFailed {
            model: ModelId::parse("openai:gpt-4o").unwrap(),
            reason: "the provider timed out".into(),
            next: "trying anthropic:claude-sonnet-4-5 instead".into(),
        };
        let (content, _) = render_notice(&notice);
        assert_eq!(
            content.unwrap(),
            "⚠️ `openai:gpt-4o` failed: The provider timed out. Trying anthropic:claude-sonnet-4-5 instead."
        );
    }

    #[test]
    fn sentences_get_one_capital_and_one_full_stop() {
        assert_eq!(sentence("it broke"), "It broke.");
        assert_eq!(sentence("Done!"), "Done!");
        assert_eq!(sentence("  ends well. "), "Ends well.");
        assert_eq!(sentence(""), "");
    }
}
