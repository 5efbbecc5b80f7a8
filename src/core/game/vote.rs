//! Player ratings of narrations and blind arena votes.

use crate::core::ids::{BattleId, GuildId, MessageId, SessionId, Timestamp};

/// A thumbs up or down on one narration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rating {
    Up,
    Down,
}

impl Rating {
    pub fn value(self) -> i64 {
        match self {
            Rating::Up => 1,
            Rating::Down => -1,
        }
    }

    pub fn from_value(value: i64) -> Option<Self> {
        match value {
            1 => Some(Rating::Up),
            -1 => Some(Rating::Down),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArenaChoice {
    A,
    B,
    Tie,
    BothBad,
}

impl ArenaChoice {
    pub const ALL: [ArenaChoice; 4] = [
        ArenaChoice::A,
        ArenaChoice::B,
        ArenaChoice::Tie,
        ArenaChoice::BothBad,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ArenaChoice::A => "a",
            ArenaChoice::B => "b",
            ArenaChoice::Tie => "tie",
            ArenaChoice::BothBad => "both_bad",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == raw)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ArenaBattle {
    pub id: BattleId,
    pub session_id: SessionId,
    pub guild_id: Option<GuildId>,
    pub model_a: String,
    pub model_b: String,
    pub message_a_id: Option<MessageId>,
    pub message_b_id: Option<MessageId>,
    pub winner: Option<ArenaChoice>,
    pub decided_at: Option<Timestamp>,
    pub created_at: Timestamp,
    /// When the vote ends (None for battles older than stored ballots: closed).
    pub closes_at: Option<Timestamp>,
    /// When the votes were counted.
    pub settled_at: Option<Timestamp>,
}

impl ArenaBattle {
    /// Whether a vote cast at `now` still counts.
    pub fn accepts_votes(&self, now: Timestamp) -> bool {
        self.settled_at.is_none() && self.closes_at.is_some_and(|closes| now < closes)
    }
}
