//! Performance records: one per model call, successful or not. `/stats` is built on them.

use crate::core::ids::{CampaignId, GuildId, SessionId, Timestamp, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallKind {
    Narration,
    Summary,
    Portrait,
    Arena,
    Compare,
}

impl CallKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CallKind::Narration => "narration",
            CallKind::Summary => "summary",
            CallKind::Portrait => "portrait",
            CallKind::Arena => "arena",
            CallKind::Compare => "compare",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            CallKind::Narration,
            CallKind::Summary,
            CallKind::Portrait,
            CallKind::Arena,
            CallKind::Compare,
        ]
        .into_iter()
        .find(|k| k.as_str() == raw)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PerfRecord {
    pub guild_id: Option<GuildId>,
    pub campaign_id: Option<CampaignId>,
    pub session_id: Option<SessionId>,
    pub user_id: Option<UserId>,
    pub model: String,
    pub kind: CallKind,
    pub latency_ms: i64,
    pub ttft_ms: Option<i64>,
    pub tokens_in: Option<i64>,
    pub tokens_out: Option<i64>,
    pub tokens_estimated: bool,
    /// None when the model's price is unknown (never a made-up 0).
    pub cost_usd: Option<f64>,
    pub ok: bool,
    pub error_kind: Option<String>,
    pub created_at: Timestamp,
}

impl PerfRecord {
    /// A successful call made now, with nothing else known yet; callers fill in the rest with
    /// struct update syntax.
    pub fn call(model: impl Into<String>, kind: CallKind, latency_ms: i64) -> PerfRecord {
        PerfRecord {
            guild_id: None,
            campaign_id: None,
            session_id: None,
            user_id: None,
            model: model.into(),
            kind,
            latency_ms,
            ttft_ms: None,
            tokens_in: None,
            tokens_out: None,
            tokens_estimated: false,
            cost_usd: None,
            ok: true,
            error_kind: None,
            created_at: Timestamp::now(),
        }
    }
}
