//! What `/stats` asks storage for: whose calls, since when, and which kinds of call.

use crate::core::ids::{CampaignId, GuildId, Timestamp, UserId};
use crate::core::models::perf::CallKind;

/// Whose data a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatsScope {
    /// Calls made for this player's turns, the thumbs they gave and their own arena votes.
    Me(UserId),
    Campaign(CampaignId),
    Server(GuildId),
    /// Every server on this installation.
    Global,
}

impl StatsScope {
    /// A short phrase for titles: "this server", "campaign 12", ...
    pub fn describe(&self) -> String {
        match self {
            StatsScope::Me(_) => "your games".into(),
            StatsScope::Campaign(id) => format!("campaign {id}"),
            StatsScope::Server(_) => "this server".into(),
            StatsScope::Global => "all servers".into(),
        }
    }
}

/// The longest window a report covers, in days (ten years).
pub const MAX_DAYS: u32 = 3650;

/// The window as a phrase for titles: "last 24 hours", "last 30 days".
pub fn window_phrase(days: u32) -> String {
    if days == 1 {
        "last 24 hours".to_owned()
    } else {
        format!("last {days} days")
    }
}

/// The kinds of call counted by default: game-master narration, including both sides of arena
/// battles. Summaries and portraits are different workloads (a long prompt with a short answer,
/// an image) and would blur a comparison of narrators; `compare` runs are offline experiments.
pub const DEFAULT_KINDS: [CallKind; 2] = [CallKind::Narration, CallKind::Arena];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsQuery {
    pub scope: StatsScope,
    /// Inclusive lower bound on the time of the call, vote or battle.
    pub since: Timestamp,
    /// Only calls of these kinds; never empty in practice (an empty list matches nothing).
    pub kinds: Vec<CallKind>,
}

impl StatsQuery {
    /// Narration and arena calls of `scope` since `since`.
    pub fn new(scope: StatsScope, since: Timestamp) -> Self {
        Self {
            scope,
            since,
            kinds: DEFAULT_KINDS.to_vec(),
        }
    }

    /// The last `days` days before `now`.
    pub fn last_days(scope: StatsScope, days: u32, now: Timestamp) -> Self {
        Self::new(scope, now.minus_days(days))
    }

    pub fn with_kinds(mut self, kinds: &[CallKind]) -> Self {
        self.kinds = kinds.to_vec();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_leave_out_summaries_and_portraits() {
        let q = StatsQuery::last_days(StatsScope::Global, 30, Timestamp(30 * 86_400_000 + 5));
        assert_eq!(q.since, Timestamp(5));
        assert!(q.kinds.contains(&CallKind::Narration) && q.kinds.contains(&CallKind::Arena));
        assert!(!q.kinds.contains(&CallKind::Summary) && !q.kinds.contains(&CallKind::Portrait));
        let all = q.with_kinds(&[CallKind::Summary]);
        assert_eq!(all.kinds, [CallKind::Summary]);
        assert_eq!(StatsScope::Server(GuildId(1)).describe(), "this server");
    }
}
