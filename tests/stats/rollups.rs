//! `/stats` from daily rollups equals `/stats` from the raw calls, on both engines: random
//! calls over a week (today's partial day included), rolled up partly, then more calls
//! (some with old timestamps, as an import writes them), then windows that start before the
//! data, at a midnight, in the middle of a day and in the future.

use crate::support;

use gamemaster::core::ids::*;
use gamemaster::core::models::perf::{CallKind, PerfRecord};
use gamemaster::core::stats::{ModelStats, StatsQuery, StatsScope, model_stats, summarize};
use gamemaster::core::store::*;
use gamemaster::storage::Db;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use support::db::engines;

const DAY: i64 = 86_400_000;
const GUILDS: [GuildId; 3] = [GuildId(111), GuildId(222), GuildId(333)];
const MODELS: [&str; 3] = ["openai:gpt-4o", "anthropic:claude-haiku-4-5", "local:gemma"];
const KINDS: [CallKind; 5] = [
    CallKind::Narration,
    CallKind::Arena,
    CallKind::Summary,
    CallKind::Portrait,
    CallKind::Compare,
];

#[derive(Debug, Clone)]
struct Row {
    model: usize,
    /// `None` for calls outside any server (the terminal's `play` has a pseudo server, but
    /// storage allows none).
    guild: Option<usize>,
    kind: usize,
    latency_ms: i64,
    ttft_ms: Option<i64>,
    tokens_in: Option<i64>,
    tokens_out: Option<i64>,
    cost_usd: Option<f64>,
    ok: bool,
    /// How long before `now` the call was made.
    age_ms: i64,
}

fn row() -> impl Strategy<Value = Row> {
    (
        (
            0..MODELS.len(),
            prop::option::weighted(0.9, 0..GUILDS.len()),
            0..KINDS.len(),
        ),
        prop_oneof![9 => 0i64..4000, 1 => 0i64..200_000],
        prop::option::of(0i64..3000),
        (prop::option::of(0i64..8000), prop::option::of(0i64..900)),
        prop::option::of(0.0f64..0.05),
        prop::bool::weighted(0.9),
        0i64..8 * DAY,
    )
        .prop_map(
            |(
                (model, guild, kind),
                latency_ms,
                ttft_ms,
                (tokens_in, tokens_out),
                cost_usd,
                ok,
                age_ms,
            )| Row {
                model,
                guild,
                kind,
                latency_ms,
                ttft_ms,
                tokens_in,
                tokens_out,
                cost_usd,
                ok,
                age_ms,
            },
        )
}

fn record(row: &Row, now: i64) -> PerfRecord {
    PerfRecord {
        guild_id: row.guild.map(|g| GUILDS[g]),
        user_id: Some(UserId(42)),
        model: MODELS[row.model].into(),
        kind: KINDS[row.kind],
        latency_ms: row.latency_ms,
        ttft_ms: row.ttft_ms,
        tokens_in: row.tokens_in,
        tokens_out: row.tokens_out,
        cost_usd: row.cost_usd,
        ok: row.ok,
        error_kind: (!row.ok).then(|| "timeout".into()),
        created_at: Timestamp(now - row.age_ms),
        ..crate::support::perf::call()
    }
}

/// Every figure equal; the cost total and cost per turn (floating-point sums taken in
/// another order) to 1e-12 relative.
fn assert_same(rolled: &[ModelStats], raw: &[ModelStats], context: &str) {
    let names = |s: &[ModelStats]| s.iter().map(|m| m.model.clone()).collect::<Vec<_>>();
    assert_eq!(names(rolled), names(raw), "{context}");
    for (r, w) in rolled.iter().zip(raw) {
        let close = |a: Option<f64>, b: Option<f64>, what: &str| match (a, b) {
            (Some(a), Some(b)) => assert!(
                (a - b).abs() <= 1e-12 * b.abs().max(1e-9),
                "{context} {}: {what} {a} != {b}",
                w.model
            ),
            (a, b) => assert_eq!(a, b, "{context} {}: {what}", w.model),
        };
        close(r.cost_total, w.cost_total, "cost_total");
        close(r.cost_per_turn, w.cost_per_turn, "cost_per_turn");
        let exact = |s: &ModelStats| ModelStats {
            cost_total: None,
            cost_per_turn: None,
            ..s.clone()
        };
        assert_eq!(exact(r), exact(w), "{context}");
    }
}

async fn clear(db: &Db) {
    for sql in [
        "DELETE FROM performance_logs",
        "DELETE FROM perf_rollups",
        "UPDATE perf_rollup_state SET through_id = 0",
    ] {
        sqlx::query(sql).execute(db.pool()).await.unwrap();
    }
}

async fn check(db: &Db, first: &[Row], late: &[Row], batch: i64, cut_ms: i64) {
    clear(db).await;
    let now = Timestamp::now().0;
    for row in first {
        db.record_call(&record(row, now)).await.unwrap();
    }
    // Part of the rows rolled up (a batch), or all of them.
    if batch == 0 {
        db.refresh_rollups().await.unwrap();
    } else {
        db.refresh_rollups_batch(batch).await.unwrap();
    }
    // Calls recorded since the refresh: today's and older ones above the watermark.
    for row in late {
        db.record_call(&record(row, now)).await.unwrap();
    }
    let midnight = now.div_euclid(DAY) * DAY;
    let sinces = [
        now - 30 * DAY,
        midnight - 3 * DAY,
        midnight - 2 * DAY - cut_ms,
        midnight,
        now - cut_ms.min(now - midnight),
        now + DAY,
    ];
    let kinds: [&[CallKind]; 3] = [
        &gamemaster::core::stats::DEFAULT_KINDS,
        &KINDS,
        &[CallKind::Summary],
    ];
    let scopes = std::iter::once(StatsScope::Global).chain(GUILDS.map(StatsScope::Server));
    for scope in scopes {
        for since in sinces {
            for kinds in kinds {
                let query = StatsQuery::new(scope, Timestamp(since)).with_kinds(kinds);
                let rolled = db.call_summaries(&query).await.unwrap();
                let raw = summarize(&db.call_samples(&query).await.unwrap());
                let context = format!(
                    "{}: {scope:?} since now-{} ms, {kinds:?}",
                    db.backend().name(),
                    now - since
                );
                let stats = |s: &[gamemaster::core::stats::CallSummary]| {
                    s.iter().map(|m| m.stats()).collect::<Vec<_>>()
                };
                assert_same(&stats(&rolled), &stats(&raw), &context);
                // The report path (`fetch_stats_data`) reads the rollups too.
                let data = fetch_stats_data(db, &query).await.unwrap();
                assert_eq!(data.calls, rolled, "{context}");
            }
        }
    }
}

#[test]
fn rollups_give_exactly_the_raw_figures_on_both_engines() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dbs = rt.block_on(engines());
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    let strategy = (
        prop::collection::vec(row(), 0..120),
        prop::collection::vec(row(), 0..40),
        prop_oneof![Just(0i64), 1i64..60],
        0..DAY,
    );
    runner
        .run(&strategy, |(first, late, batch, cut_ms)| {
            for t in &dbs {
                rt.block_on(check(&t.db, &first, &late, batch, cut_ms));
            }
            Ok(())
        })
        .unwrap();
    drop(dbs);
}

#[tokio::test]
async fn a_recorded_call_shows_in_stats_at_once_and_after_the_refresh() {
    for t in engines().await {
        let db = &t.db;
        let engine = t.backend().name();
        let now = Timestamp::now().0;
        let call = |latency_ms, age_ms| Row {
            model: 0,
            guild: Some(0),
            kind: 0,
            latency_ms,
            ttft_ms: Some(100),
            tokens_in: Some(1000),
            tokens_out: Some(200),
            cost_usd: Some(0.01),
            ok: true,
            age_ms,
        };
        for (latency, age) in [(1000, 3 * DAY), (2000, 2 * DAY), (3000, DAY)] {
            db.record_call(&record(&call(latency, age), now))
                .await
                .unwrap();
        }
        let done = db.refresh_rollups().await.unwrap();
        assert_eq!(done.rows, 3, "{engine}");
        let rolled: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM perf_rollups")
            .fetch_one(db.pool())
            .await
            .unwrap();
        // Three days, each in the global and the server's scope, three hours, and the one
        // or two weeks the days fall in.
        let mut weeks: Vec<i64> = [3, 2, 1].map(|age| (now - age * DAY) / DAY / 7).to_vec();
        weeks.dedup();
        assert_eq!(rolled, 9 + weeks.len() as i64, "{engine}");

        let query = StatsQuery::last_days(StatsScope::Server(GUILDS[0]), 30, Timestamp(now));
        let stats_now = || async {
            let data = fetch_stats_data(db, &query).await.unwrap();
            gamemaster::core::stats::model_stats_from_summaries(&data.calls, &[], &[])
        };
        let before = stats_now().await;
        assert_eq!(before[0].calls, 3, "{engine}");
        assert_eq!(before[0].latency_p50, Some(2000.0));

        // A call just now: /stats shows it at once, having rolled it up before reading.
        db.record_call(&record(&call(9000, 0), now)).await.unwrap();
        let after = stats_now().await;
        assert_eq!(after[0].calls, 4, "{engine}");
        assert_eq!(after[0].latency_p50, Some(2500.0));
        let expected = model_stats(&db.call_samples(&query).await.unwrap(), &[], &[]);
        assert_same(&after, &expected, engine);
        assert_eq!(db.refresh_rollups().await.unwrap().rows, 0, "{engine}");
        let rolled: i64 = sqlx::query_scalar(
            "SELECT CAST(SUM(calls) AS BIGINT) FROM perf_rollups WHERE scope = 'global'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(rolled, 4, "{engine}");
        assert_same(&stats_now().await, &expected, engine);
    }
}
