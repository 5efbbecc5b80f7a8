//! The bot's buttons. A button's custom id is a [`ButtonId`] written with `Display` and read
//! back with `FromStr`, so what a button does is parsed once, in one place.

use std::fmt;
use std::str::FromStr;

use crate::core::game::vote::{ArenaChoice, Rating};
use crate::core::ids::{BattleId, CampaignId, MessageId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonId {
    /// Narrate the latest narration again.
    Regenerate(MessageId),
    Rate(Rating, MessageId),
    ArenaVote(BattleId, ArenaChoice),
    /// The confirmation of `/campaign delete`.
    DeleteCampaign(CampaignId),
    KeepCampaign,
    /// The confirmation of `/account delete`, for the user who asked only.
    DeleteAccount(UserId),
    KeepAccount,
}

/// A custom id that is not one of ours, or of an older version of the bot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("That button is out of date.")]
pub struct UnknownButton;

impl fmt::Display for ButtonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ButtonId::Regenerate(narration) => write!(f, "regen:{narration}"),
            ButtonId::Rate(Rating::Up, narration) => write!(f, "rate:up:{narration}"),
            ButtonId::Rate(Rating::Down, narration) => write!(f, "rate:down:{narration}"),
            ButtonId::ArenaVote(battle, choice) => write!(f, "arena:{battle}:{}", choice.as_str()),
            ButtonId::DeleteCampaign(campaign) => write!(f, "campaign-delete:{campaign}"),
            ButtonId::KeepCampaign => f.write_str("campaign-delete-cancel"),
            ButtonId::DeleteAccount(user) => write!(f, "account-delete:{user}"),
            ButtonId::KeepAccount => f.write_str("account-delete-cancel"),
        }
    }
}

impl FromStr for ButtonId {
    type Err = UnknownButton;

    fn from_str(id: &str) -> Result<Self, UnknownButton> {
        let row = |raw: &str| raw.parse::<i64>().map_err(|_| UnknownButton);
        let (kind, rest) = id.split_once(':').unwrap_or((id, ""));
        let button = match (kind, rest) {
            ("regen", n) => ButtonId::Regenerate(MessageId(row(n)?)),
            ("rate", rest) => {
                let (direction, n) = rest.split_once(':').ok_or(UnknownButton)?;
                let rating = match direction {
                    "up" => Rating::Up,
                    "down" => Rating::Down,
                    _ => return Err(UnknownButton),
                };
                ButtonId::Rate(rating, MessageId(row(n)?))
            }
            ("arena", rest) => {
                let (battle, choice) = rest.split_once(':').ok_or(UnknownButton)?;
                let choice = ArenaChoice::parse(choice).ok_or(UnknownButton)?;
                ButtonId::ArenaVote(BattleId(row(battle)?), choice)
            }
            ("campaign-delete", n) => ButtonId::DeleteCampaign(CampaignId(row(n)?)),
            ("campaign-delete-cancel", "") => ButtonId::KeepCampaign,
            ("account-delete", n) => {
                ButtonId::DeleteAccount(UserId(n.parse().map_err(|_| UnknownButton)?))
            }
            ("account-delete-cancel", "") => ButtonId::KeepAccount,
            _ => return Err(UnknownButton),
        };
        Ok(button)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_button_reads_back_as_itself() {
        let buttons = [
            ButtonId::Regenerate(MessageId(41)),
            ButtonId::Rate(Rating::Up, MessageId(7)),
            ButtonId::Rate(Rating::Down, MessageId(7)),
            ButtonId::ArenaVote(BattleId(3), ArenaChoice::BothBad),
            ButtonId::ArenaVote(BattleId(3), ArenaChoice::A),
            ButtonId::DeleteCampaign(CampaignId(12)),
            ButtonId::KeepCampaign,
            ButtonId::DeleteAccount(UserId(1_234_567_890_123_456_789)),
            ButtonId::KeepAccount,
        ];
        for button in buttons {
            let id = button.to_string();
            assert!(id.len() <= 100, "Discord's custom id limit: {id}");
            assert_eq!(id.parse::<ButtonId>(), Ok(button), "{id}");
        }
    }

    #[test]
    fn ids_already_posted_keep_working() {
        assert_eq!(
            "rate:down:9".parse::<ButtonId>(),
            Ok(ButtonId::Rate(Rating::Down, MessageId(9)))
        );
        assert_eq!(
            "arena:5:tie".parse::<ButtonId>(),
            Ok(ButtonId::ArenaVote(BattleId(5), ArenaChoice::Tie))
        );
        assert_eq!("campaign-delete-cancel".parse(), Ok(ButtonId::KeepCampaign));
    }

    #[test]
    fn foreign_or_broken_ids_are_refused() {
        for id in [
            "",
            "regen:",
            "regen:x",
            "rate:sideways:1",
            "rate:up",
            "arena:1:c",
            "arena:1",
            "campaign-delete-cancel:1",
            "account-delete:-1",
            "account-form:99",
        ] {
            assert_eq!(id.parse::<ButtonId>(), Err(UnknownButton), "{id}");
        }
    }
}
