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
use gamemaster::core::models::perf::{CallKind, PerfRecord};
use gamemaster::core::stats::chart;
use gamemaster::core::stats::{
    ArenaConfig, Metric, StatsData, StatsQuery, StatsScope, build_report, summarize,
};
use gamemaster::core::store::{PerfStore, StatsStore, fetch_stats_data};
use gamemaster::storage::DatabaseUrl;
use gamemaster::storage::{Backend, Db};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::runtime::Runtime;

#[path = "support/stats_data.rs"]
mod stats_data;
use stats_data::{ROWS, START_MS, seed_sql};

const SCHEMA: &str = "stats_bench";

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
    sqlx::query(sqlx::AssertSqlSafe(seed_sql(START_MS)))
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
    bench_under_writes(c, rt, db, &global);
}

/// `/stats` while narrations are recorded meanwhile, 50 calls a second, as a busy bot does:
/// each read finds new rows above the watermark and rolls them up first.
fn bench_under_writes(c: &mut Criterion, rt: &Runtime, db: &Db, query: &StatsQuery) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (db, stop) = (db.clone(), stop.clone());
        rt.spawn(async move {
            let mut written = 0u64;
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(20));
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                tick.tick().await;
                let call = PerfRecord {
                    guild_id: Some(GuildId(1 + written % 40)),
                    tokens_in: Some(2000),
                    tokens_out: Some(300),
                    ..PerfRecord::call("openai:gpt-4o", CallKind::Narration, 1500)
                };
                db.record_call(&call).await.unwrap();
                written += 1;
            }
            written
        })
    };
    let mut group = c.benchmark_group(format!("stats_at_scale/{}", db.backend().name()));
    group.sample_size(20);
    group.bench_function(
        "stats end to end, global, 50 narrations/s recorded meanwhile",
        |b| b.iter(|| rt.block_on(stats_command(db, black_box(query)))),
    );
    group.finish();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = rt.block_on(writer).unwrap();
    eprintln!("{written} calls recorded during the measurement");
    // The data set stays the deterministic million rows for the next run (and the Python
    // pipeline); the next run rolls it up again.
    rt.block_on(async {
        for sql in [
            format!("DELETE FROM performance_logs WHERE id > {ROWS}"),
            "DELETE FROM perf_rollups".to_owned(),
            "UPDATE perf_rollup_state SET through_id = 0".to_owned(),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(db.pool())
                .await
                .unwrap();
        }
    });
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
