//! Performance records for tests: a successful one-millisecond narration call made now, with
//! nothing else known, which each test adjusts with struct update syntax.

use gamemaster::core::models::perf::{CallKind, PerfRecord};

pub fn call() -> PerfRecord {
    PerfRecord::call("openai:gpt-4o", CallKind::Narration, 1)
}
