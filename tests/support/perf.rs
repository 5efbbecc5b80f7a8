//! Performance records for tests: a successful one-millisecond narration call made now, with
//! nothing else known, which each test adjusts with struct update syntax.

use gamemaster::core::ids::Timestamp;
use gamemaster::core::perf::{CallKind, PerfRecord};

pub fn call() -> PerfRecord {
    PerfRecord {
        guild_id: None,
        campaign_id: None,
        session_id: None,
        user_id: None,
        model: "openai:gpt-4o".into(),
        kind: CallKind::Narration,
        latency_ms: 1,
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
