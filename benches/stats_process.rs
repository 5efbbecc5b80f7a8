//! `gamemaster stats` as a user runs it: a whole process, on a database of a million
//! `performance_logs` rows over the last 30 days that no bot has opened (as `import-legacy`
//! or an older version leaves it: no rollups yet). The first run rolls the rows up before it
//! reads; the runs after it find the rollups current.
//!
//! Run: `cargo bench --bench stats_process` (add `TEST_DATABASE_URL=postgres://...` for
//! PostgreSQL, in the schema `stats_process`, dropped at the end). `STATS_PROCESS_RUNS` sets
//! how many later runs are timed (default 20); `STATS_PROCESS_DB` keeps the SQLite file there
//! (seeded again by each run) for a closer look.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/stats_data.rs"]
mod stats_data;

use gamemaster::core::ids::Timestamp;
use gamemaster::storage::{DatabaseUrl, Db};
use stats_data::{ROWS, seed_sql};

const DAY_MS: i64 = 86_400_000;
const SCHEMA: &str = "stats_process";

/// A fresh database with the million rows ending about now, nothing rolled up.
async fn seed(url: &str) {
    let db = Db::open(&DatabaseUrl::parse(url).unwrap()).await.unwrap();
    let start = Instant::now();
    let now = Timestamp::now().0;
    // 30 days of rows that end an hour ago: `--days 30` starts an hour into the first day,
    // so its first, partial day is read from raw rows as it would be on any install.
    let first = now - 30 * DAY_MS - 3_600_000;
    for sql in [
        "DELETE FROM performance_logs".to_owned(),
        "DELETE FROM perf_rollups".to_owned(),
        "UPDATE perf_rollup_state SET through_id = 0".to_owned(),
        seed_sql(first),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(db.pool())
            .await
            .unwrap();
    }
    eprintln!(
        "seeded {ROWS} rows on {} in {:.1} s",
        db.backend().name(),
        start.elapsed().as_secs_f64()
    );
    db.close().await;
}

/// One `gamemaster stats` process, timed from spawn to exit.
fn run_stats(url: &str, dir: &Path) -> Duration {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_gamemaster"))
        .args(["stats", "--out"])
        .arg(dir.join("latency.png"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", url)
        .current_dir(dir)
        .output()
        .expect("gamemaster runs");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "gamemaster stats failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn measure(engine: &str, url: &str, rt: &tokio::runtime::Runtime) {
    rt.block_on(seed(url));
    let dir = tempfile::tempdir().unwrap();
    let first = run_stats(url, dir.path());
    let runs: usize = std::env::var("STATS_PROCESS_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut later: Vec<Duration> = (0..runs).map(|_| run_stats(url, dir.path())).collect();
    later.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{engine}: first `gamemaster stats` (catch-up included) {:.0} ms; \
         later runs over {runs}: min {:.1} ms, median {:.1} ms, max {:.1} ms",
        ms(first),
        ms(later[0]),
        ms(later[runs / 2]),
        ms(later[runs - 1]),
    );
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = std::env::var_os("STATS_PROCESS_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("imported.db"));
    let sqlite = format!("sqlite://{}", file.display());
    measure("SQLite", &sqlite, &rt);

    if let Some(admin) = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        let schema = |sql: String| {
            rt.block_on(async {
                let db = Db::connect(&DatabaseUrl::parse(&admin).unwrap())
                    .await
                    .expect("TEST_DATABASE_URL is set but PostgreSQL is unreachable");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(db.pool())
                    .await
                    .unwrap();
                db.close().await;
            })
        };
        schema(format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"));
        schema(format!("CREATE SCHEMA {SCHEMA}"));
        let separator = if admin.contains('?') { '&' } else { '?' };
        let url = format!("{admin}{separator}options[search_path]={SCHEMA}");
        measure("PostgreSQL", &url, &rt);
        schema(format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"));
    }
}
