//! A session binds one Discord channel to one campaign while the group plays.

use crate::core::ids::{CampaignId, ChannelId, GuildId, MessageId, SessionId, Timestamp, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    Active,
    Ended,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Active => "active",
            SessionStatus::Ended => "ended",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "active" => Some(SessionStatus::Active),
            "ended" => Some(SessionStatus::Ended),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: SessionId,
    pub campaign_id: CampaignId,
    pub guild_id: Option<GuildId>,
    pub channel_id: ChannelId,
    pub started_by: Option<UserId>,
    pub status: SessionStatus,
    /// The rolling summary of everything up to `summary_through`.
    pub summary: String,
    pub summary_through: Option<MessageId>,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}
