//! SQLite's WAL under steady writes: the checkpointer keeps it from growing without bound.

use std::time::{Duration, Instant};

use gamemaster::core::store::PerfStore;

use crate::support;

fn wal_bytes(t: &support::db::TestDb) -> u64 {
    let file = t.url.expose().trim_start_matches("sqlite://").to_string();
    std::fs::metadata(format!("{file}-wal")).map_or(0, |m| m.len())
}

/// A busy bot never stops committing, so a PASSIVE checkpoint alone never copies every frame
/// and the WAL never starts over. The checkpointer runs every second; the WAL file should stay
/// near a second's worth of commits however long the writes go on.
#[tokio::test]
async fn the_wal_starts_over_under_steady_writes() {
    let t = support::db::sqlite().await;
    let started = Instant::now();
    let mut first_second = None;
    let mut commits = 0u64;
    while started.elapsed() < Duration::from_millis(4800) {
        t.db.record_call(&support::perf::call()).await.unwrap();
        commits += 1;
        // About a thousand commits a second: busy, without writing gigabytes.
        tokio::time::sleep(Duration::from_millis(1)).await;
        if first_second.is_none() && started.elapsed() >= Duration::from_millis(1200) {
            first_second = Some(wal_bytes(&t));
        }
    }
    let first_second = first_second.unwrap();
    let now = wal_bytes(&t);
    assert!(first_second > 0, "the writes went to the WAL");
    // Written without a restart, four times the first 1.2 s would be on file now.
    assert!(
        now < first_second * 5 / 2,
        "WAL {now} bytes after 4.8 s against {first_second} after 1.2 s ({commits} commits)"
    );
}
