//! `/stats` at scale: a million `performance_logs` rows (8 models, 30 days), then the whole
//! path a `/stats` command takes (query, aggregate, leaderboard, chart PNG), on SQLite and,
//! when `TEST_DATABASE_URL` is set, on PostgreSQL.
//!
//! The data is deterministic (integer hashes of the row number, no RNG) so
//! `benches/legacy_pipeline.py` can read the very same SQLite file, left at
//! `$STATS_BENCH_DB` (default: `<temp dir>/gamemaster-stats-at-scale.db`) and reused by the
//! next run. The PostgreSQL copy lives in the schema `stats_bench`, dropped at the end.
//!
//! `/stats` reads daily rollups (`perf_rollups`) for whole days and raw rows for the rest; the
//! rollups are brought up to date (and that backfill timed) before measuring. "raw path"
//! measures the same report from every row, as `/stats` did before the rollups.
//!
//! Run: `cargo bench --bench stats_at_scale` (add `TEST_DATABASE_URL=postgres://...`).

use std::path::PathBuf;
use std::time::Instant;

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use gamemaster::core::ids::{GuildId, Timestamp};
use gamemaster::core::stats::chart;
use gamemaster::core::stats::{
    ArenaConfig, Metric, StatsData, StatsQuery, StatsScope, build_report, summarize,
};
use gamemaster::core::store::{StatsStore, fetch_stats_data};
use gamemaster::storage::DatabaseUrl;
use gamemaster::storage::{Backend, Db};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::runtime::Runtime;

pub const ROWS: i64 = 1_000_000;
/// 2026-01-01T00:00:00Z; rows are spread evenly over the 30 days that follow.
pub const START_MS: i64 = 1_767_225_600_000;
const SCHEMA: &str = "stats_bench";

/// One statement on both engines: a recursive CTE numbers the rows, integer hashes of the
/// number give each row its model, server, latency, tokens and cost. Model 7 is a local model
/// with no price (NULL cost); about 2% of calls fail; a long tail on 5% of latencies.
fn seed_sql() -> String {
    format!(
        "WITH RECURSIVE s(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM s WHERE i < {last}), \
         r AS (SELECT i, i % 8 AS m, (i * 2654435761) % 1000003 AS h1, (i * 40503 + 7) % 9973 AS h2 FROM s) \
         INSERT INTO performance_logs (guild_id, campaign_id, session_id, user_id, model, kind, latency_ms, \
         ttft_ms, tokens_in, tokens_out, cost_usd, ok, error_kind, created_at) \
         SELECT 1 + i % 40, 1 + i % 400, 1 + i % 4000, 1 + h1 % 5000, \
         CASE m WHEN 0 THEN 'openai:gpt-4o' WHEN 1 THEN 'openai:gpt-4o-mini' \
         WHEN 2 THEN 'anthropic:claude-sonnet-4-5' WHEN 3 THEN 'anthropic:claude-haiku-4-5' \
         WHEN 4 THEN 'deepseek:deepseek-chat' WHEN 5 THEN 'openrouter:meta-llama/llama-3.3-70b-instruct' \
         WHEN 6 THEN 'openrouter:mistralai/mistral-large' ELSE 'local:gemma-3-270m' END, \
         CASE WHEN i % 25 = 0 THEN 'summary' WHEN i % 11 = 0 THEN 'arena' ELSE 'narration' END, \
         700 + m * 300 + h1 % 2500 + CASE WHEN h2 % 20 = 0 THEN h1 % 12000 ELSE 0 END, \
         150 + m * 40 + h2 % 600, \
         1500 + h1 % 6000, \
         120 + h2 % 500, \
         CASE WHEN m = 7 THEN NULL ELSE (1500 + h1 % 6000) * (m + 1) * 0.0000004 + (120 + h2 % 500) * (m + 1) * 0.0000016 END, \
         h2 % 50 <> 0, \
         CASE WHEN h2 % 50 = 0 THEN 'timeout' ELSE NULL END, \
         {START_MS} + i * 2592 \
         FROM r",
        last = ROWS - 1
    )
}

async fn row_count(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM performance_logs")
        .fetch_one(db.pool())
        .await
        .unwrap()
}

async fn seed(db: &Db) {
    if row_count(db).await != ROWS {
        insert_rows(db).await;
    }
    // Statistics for the planners (and PostgreSQL's visibility map, which index-only scans
    // need), as a long-running installation would have them.
    let sql = match db.backend() {
        Backend::Sqlite => "ANALYZE",
        Backend::Postgres => "VACUUM ANALYZE performance_logs",
    };
    sqlx::query(sql).execute(db.pool()).await.unwrap();
    let started = Instant::now();
    let rolled = db.refresh_rollups().await.unwrap();
    eprintln!(
        "rolled up {} rows on {} in {:.2} s",
        rolled.rows,
        db.backend().name(),
        started.elapsed().as_secs_f64()
    );
    if db.backend() == Backend::Postgres {
        sqlx::query("ANALYZE perf_rollups")
            .execute(db.pool())
            .await
            .unwrap();
    }
}

async fn insert_rows(db: &Db) {
    let started = Instant::now();
    for sql in [
        "DELETE FROM performance_logs",
        "DELETE FROM perf_rollups",
        "UPDATE perf_rollup_state SET through_id = 0",
    ] {
        sqlx::query(sql).execute(db.pool()).await.unwrap();
    }
    sqlx::query(sqlx::AssertSqlSafe(seed_sql()))
        .execute(db.pool())
        .await
        .unwrap();
    eprintln!(
        "seeded {ROWS} rows on {} in {:.1} s",
        db.backend().name(),
        started.elapsed().as_secs_f64()
    );
}

pub fn sqlite_path() -> PathBuf {
    std::env::var_os("STATS_BENCH_DB")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("gamemaster-stats-at-scale.db"))
}

async fn open_sqlite() -> Db {
    let path = sqlite_path();
    let url = DatabaseUrl::parse(&format!("sqlite://{}", path.display())).unwrap();
    let db = Db::open(&url).await.unwrap();
    seed(&db).await;
    eprintln!("SQLite data: {}", path.display());
    db
}

async fn open_postgres(admin_url: &str) -> Db {
    let admin = Db::connect(&DatabaseUrl::parse(admin_url).unwrap())
        .await
        .expect("TEST_DATABASE_URL is set but PostgreSQL is unreachable");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA IF NOT EXISTS {SCHEMA}"
    )))
    .execute(admin.pool())
    .await
    .unwrap();
    admin.close().await;
    let separator = if admin_url.contains('?') { '&' } else { '?' };
    let url = DatabaseUrl::parse(&format!(
        "{admin_url}{separator}options[search_path]={SCHEMA}"
    ))
    .unwrap();
    let db = Db::open(&url).await.unwrap();
    seed(&db).await;
    db
}

async fn drop_postgres(admin_url: &str) {
    let admin = Db::connect(&DatabaseUrl::parse(admin_url).unwrap())
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"
    )))
    .execute(admin.pool())
    .await
    .unwrap();
    admin.close().await;
}

/// What `/stats` does for one request, end to end.
async fn stats_command(db: &Db, query: &StatsQuery) -> Vec<u8> {
    let data = fetch_stats_data(db, query).await.unwrap();
    render(&data)
}

/// The same report from every raw row in the window (no rollups).
async fn stats_command_raw(db: &Db, query: &StatsQuery) -> Vec<u8> {
    let data = StatsData {
        calls: summarize(&db.call_samples(query).await.unwrap()),
        thumbs: db.thumb_votes(query).await.unwrap(),
        battles: db.arena_battles(query).await.unwrap(),
    };
    render(&data)
}

fn render(data: &StatsData) -> Vec<u8> {
    let report = build_report(
        Metric::Latency,
        data,
        "all servers, last 30 days",
        &ArenaConfig::default(),
        &mut StdRng::seed_from_u64(1),
    );
    chart::render(&report.chart, chart::DEFAULT_WIDTH, chart::DEFAULT_HEIGHT).unwrap()
}

fn bench_engine(c: &mut Criterion, rt: &Runtime, db: &Db) {
    let engine = db.backend().name();
    let global = StatsQuery::new(StatsScope::Global, Timestamp(START_MS));
    let server = StatsQuery::new(StatsScope::Server(GuildId(7)), Timestamp(START_MS));
    // A window that starts at noon, as "the last 30 days" usually does: half a day of raw rows.
    let midday = StatsQuery::new(StatsScope::Global, Timestamp(START_MS + 12 * 3_600_000));
    let rows = rt.block_on(db.call_samples(&global)).unwrap().len();
    eprintln!("{engine}: the global 30-day /stats reads {rows} narration and arena calls");

    let mut group = c.benchmark_group(format!("stats_at_scale/{engine}"));
    group.sample_size(10);
    group.bench_function("stats end to end, global, 1M rows", |b| {
        b.iter(|| rt.block_on(stats_command(db, black_box(&global))))
    });
    group.bench_function("stats end to end, one server of 40", |b| {
        b.iter(|| rt.block_on(stats_command(db, black_box(&server))))
    });
    group.bench_function("stats end to end, global, window from midday", |b| {
        b.iter(|| rt.block_on(stats_command(db, black_box(&midday))))
    });
    group.bench_function("raw path end to end, global, 1M rows", |b| {
        b.iter(|| rt.block_on(stats_command_raw(db, black_box(&global))))
    });
    group.bench_function("raw path end to end, one server of 40", |b| {
        b.iter(|| rt.block_on(stats_command_raw(db, black_box(&server))))
    });
    group.bench_function("fetch only, global", |b| {
        b.iter(|| {
            rt.block_on(fetch_stats_data(db, black_box(&global)))
                .unwrap()
        })
    });
    let data: StatsData = rt.block_on(fetch_stats_data(db, &global)).unwrap();
    group.bench_function("aggregate + leaderboard only, global", |b| {
        b.iter(|| {
            build_report(
                Metric::Latency,
                black_box(&data),
                "",
                &ArenaConfig::default(),
                &mut StdRng::seed_from_u64(1),
            )
        })
    });
    let report = build_report(
        Metric::Latency,
        &data,
        "",
        &ArenaConfig::default(),
        &mut StdRng::seed_from_u64(1),
    );
    group.bench_function("chart PNG only (800x500)", |b| {
        b.iter(|| chart::render(black_box(&report.chart), 800, 500).unwrap())
    });
    group.finish();
}

fn bench_stats_at_scale(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let sqlite = rt.block_on(open_sqlite());
    bench_engine(c, &rt, &sqlite);
    rt.block_on(sqlite.close());

    if let Some(admin_url) = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        let pg = rt.block_on(open_postgres(&admin_url));
        bench_engine(c, &rt, &pg);
        rt.block_on(pg.close());
        rt.block_on(drop_postgres(&admin_url));
    }
}

criterion_group!(benches, bench_stats_at_scale);
criterion_main!(benches);
