//! The `/stats` rollups (migration 0007) on both engines: an existing database is rolled up
//! from scratch (by a read that finds rows above the watermark, too), small scopes are
//! summarised by the database exactly, two processes refreshing at once roll each row up
//! once, and a damaged rollup is reported as such.

use crate::support;

use gamemaster::core::ids::*;
use gamemaster::core::models::perf::{CallKind, PerfRecord};
use gamemaster::core::stats::{CallSummary, StatsQuery, StatsScope, summarize};
use gamemaster::core::store::*;
use gamemaster::storage::Db;
use support::db::engines;

const DAY: i64 = 86_400_000;

fn call(i: i64, now: i64) -> PerfRecord {
    PerfRecord {
        guild_id: (i % 5 != 0).then_some(GuildId(7 + (i % 2) as u64)),
        model: ["m-a", "m-b", "m-c"][(i % 3) as usize].into(),
        kind: if i % 4 == 0 {
            CallKind::Summary
        } else {
            CallKind::Narration
        },
        latency_ms: 300 + (i * 7919) % 4000,
        ttft_ms: (i % 6 != 0).then_some(50 + i % 300),
        tokens_in: Some(1000 + i),
        tokens_out: (i % 7 != 0).then_some(100 + i % 50),
        cost_usd: (i % 3 != 2).then_some(0.001 * (i % 10) as f64),
        ok: i % 13 != 0,
        created_at: Timestamp(now - (i * 3_600_000) % (10 * DAY)),
        ..crate::support::perf::call()
    }
}

/// Equal field for field; sums of costs may differ in the last bits with the order of
/// addition.
fn assert_same(got: &[CallSummary], want: &[CallSummary], engine: &str) {
    assert_eq!(got.len(), want.len(), "{engine}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g.cost_sum - w.cost_sum).abs() <= 1e-9 * w.cost_sum.abs().max(1.0),
            "{engine}: {} vs {}",
            g.cost_sum,
            w.cost_sum
        );
        let g = CallSummary {
            cost_sum: w.cost_sum,
            ..g.clone()
        };
        assert_eq!(&g, w, "{engine}");
    }
}

async fn rollup_calls(db: &Db) -> i64 {
    sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) FROM perf_rollups WHERE scope = 'global'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn an_existing_database_is_rolled_up_from_scratch_in_batches() {
    for t in engines().await {
        let db = &t.db;
        let engine = t.backend().name();
        let now = Timestamp::now().0;
        for i in 0..500 {
            db.record_call(&call(i, now)).await.unwrap();
        }
        let query = StatsQuery::new(StatsScope::Global, Timestamp(now - 30 * DAY))
            .with_kinds(&[CallKind::Narration, CallKind::Summary]);
        let raw = summarize(&db.call_samples(&query).await.unwrap());
        assert_eq!(rollup_calls(db).await, 0);

        let first = db.refresh_rollups_batch(123).await.unwrap();
        assert_eq!(first.rows, 123, "{engine}");
        assert_eq!(rollup_calls(db).await, 123);
        // A read finds the other rows above the watermark and rolls them up first.
        assert_same(&db.call_summaries(&query).await.unwrap(), &raw, engine);
        assert_eq!(rollup_calls(db).await, 500, "{engine}");
        let max_id: i64 = sqlx::query_scalar("SELECT MAX(id) FROM performance_logs")
            .fetch_one(db.pool())
            .await
            .unwrap();
        let rest = db.refresh_rollups().await.unwrap();
        assert_eq!((rest.rows, rest.through_id), (0, max_id), "{engine}");
        assert_same(&db.call_summaries(&query).await.unwrap(), &raw, engine);
        // Servers only count their own calls; a call without a server is global only.
        let server: i64 = sqlx::query_scalar(
            "SELECT CAST(SUM(calls) AS BIGINT) FROM perf_rollups WHERE scope = 'server'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(server, 400, "{engine}");
    }
}

#[tokio::test]
async fn windows_starting_at_any_moment_read_hours_days_and_raw_rows_exactly() {
    for t in engines().await {
        let db = &t.db;
        let engine = t.backend().name();
        let now = Timestamp::now().0;
        // A call every 37 minutes over the last three days, in both servers and none.
        for i in 0..120 {
            db.record_call(&call(i, now - i * 37 * 60_000))
                .await
                .unwrap();
        }
        db.refresh_rollups().await.unwrap();
        let hours: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM perf_rollups WHERE scope = 'hour'")
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert!(hours > 48, "{engine}: {hours} hour rollups");
        let midnight = (now / DAY - 1) * DAY;
        for since in [
            midnight,
            midnight + 12 * 3_600_000,
            midnight + 13 * 3_600_000 + 1_234,
            midnight - 5 * 60_000,
            now - 3 * DAY,
        ] {
            for scope in [StatsScope::Global, StatsScope::Server(GuildId(8))] {
                let query = StatsQuery::new(scope, Timestamp(since))
                    .with_kinds(&[CallKind::Narration, CallKind::Summary]);
                let raw = summarize(&db.call_samples(&query).await.unwrap());
                assert!(!raw.is_empty());
                let got = db.call_summaries(&query).await.unwrap();
                assert_same(&got, &raw, &format!("{engine}, {scope:?} from {since}"));
            }
        }
    }
}

#[tokio::test]
async fn small_scopes_are_summarised_by_the_database_exactly() {
    for t in engines().await {
        let db = &t.db;
        let engine = t.backend().name();
        let now = Timestamp::now().0;
        for i in 0..300 {
            let mut c = call(i, now);
            c.user_id = Some(UserId(40 + (i % 2) as u64));
            db.record_call(&c).await.unwrap();
        }
        let query = StatsQuery::new(StatsScope::Me(UserId(41)), Timestamp(now - 30 * DAY))
            .with_kinds(&[CallKind::Narration, CallKind::Summary]);
        let raw = summarize(&db.call_samples(&query).await.unwrap());
        assert_eq!(raw.iter().map(|s| s.calls).sum::<u64>(), 150, "{engine}");
        assert_same(&db.call_summaries(&query).await.unwrap(), &raw, engine);
    }
}

/// 60,000 calls over the last ten days in one statement, as an import leaves them: enough
/// for a command's refresh to split the ids into ranges aggregated at once.
const BACKLOG: i64 = 60_000;

async fn insert_backlog(db: &Db, now: i64) {
    let sql = format!(
        "WITH RECURSIVE s(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM s WHERE i < {last}) \
         INSERT INTO performance_logs (guild_id, campaign_id, session_id, user_id, model, kind, \
         latency_ms, ttft_ms, tokens_in, tokens_out, cost_usd, ok, error_kind, created_at) \
         SELECT CASE WHEN i % 5 = 0 THEN NULL ELSE 7 + i % 2 END, NULL, NULL, NULL, \
         CASE i % 3 WHEN 0 THEN 'm-a' WHEN 1 THEN 'm-b' ELSE 'm-c' END, \
         CASE WHEN i % 4 = 0 THEN 'summary' ELSE 'narration' END, \
         300 + (i * 7919) % 4000, CASE WHEN i % 6 = 0 THEN NULL ELSE 50 + i % 300 END, \
         1000 + i, CASE WHEN i % 7 = 0 THEN NULL ELSE 100 + i % 50 END, \
         CASE WHEN i % 3 = 2 THEN NULL ELSE 0.001 * (i % 10) END, \
         i % 13 <> 0, NULL, {now} - (i * 97000) % {ten_days} FROM s",
        last = BACKLOG - 1,
        ten_days = 10 * DAY,
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(db.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_command_rolls_a_backlog_up_in_ranges_exactly() {
    for t in engines().await {
        let engine = t.backend().name();
        let now = Timestamp::now().0;
        insert_backlog(&t.db, now).await;
        // `gamemaster stats` and the other commands that serve no turns.
        let tool = Db::open_for_command(&t.url).await.unwrap();
        let done = tool.refresh_rollups().await.unwrap();
        assert_eq!(done.rows, BACKLOG as u64, "{engine}");
        // Every hour and every server's day spans both ranges: their parts add up.
        for (scope, calls) in [
            ("global", BACKLOG),
            ("hour", BACKLOG),
            ("week", BACKLOG),
            ("server", BACKLOG * 4 / 5),
        ] {
            let rolled: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT CAST(SUM(calls) AS BIGINT) FROM perf_rollups WHERE scope = '{scope}'"
            )))
            .fetch_one(tool.pool())
            .await
            .unwrap();
            assert_eq!(rolled, calls, "{engine}, scope {scope}");
        }
        // Windows that take whole weeks with the days, hours and raw rows before them.
        let hour = 3_600_000;
        for since in [
            now - 30 * DAY,
            now - 9 * DAY - 5 * hour - 1_234,
            now - 8 * DAY,
            now - 3 * DAY + 7 * hour,
        ] {
            for scope in [StatsScope::Global, StatsScope::Server(GuildId(8))] {
                let query = StatsQuery::new(scope, Timestamp(since))
                    .with_kinds(&[CallKind::Narration, CallKind::Summary]);
                let raw = summarize(&tool.call_samples(&query).await.unwrap());
                let got = tool.call_summaries(&query).await.unwrap();
                assert_same(&got, &raw, &format!("{engine}, {scope:?} from {since}"));
            }
        }

        // The latency-over-time chart reads the same rollups: the mean of each model's
        // successful calls per UTC day, as SQL's AVG over the raw rows has it.
        let query = StatsQuery::new(StatsScope::Global, Timestamp(now - 30 * DAY))
            .with_kinds(&[CallKind::Narration, CallKind::Summary]);
        let series = tool.daily_latency(&query).await.unwrap();
        let want: Vec<(String, i64, f64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT model, created_at / {DAY}, CAST(AVG(latency_ms) AS DOUBLE PRECISION) \
             FROM performance_logs WHERE ok GROUP BY model, created_at / {DAY} ORDER BY 1, 2"
        )))
        .fetch_all(tool.pool())
        .await
        .unwrap();
        let got: Vec<(String, i64, f64)> = series
            .iter()
            .flat_map(|s| {
                s.points
                    .iter()
                    .map(|&(day, mean)| (s.model.clone(), i64::from(day), mean))
            })
            .collect();
        assert_eq!(got.len(), want.len(), "{engine}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!((&g.0, g.1), (&w.0, w.1), "{engine}");
            assert!((g.2 - w.2).abs() < 1e-9, "{engine}: {g:?} vs {w:?}");
        }
        // The ranges were aggregated beside it: the command's own statements, one at a time,
        // never opened a second connection (6 ms each on PostgreSQL).
        assert_eq!(tool.pool().size(), 1, "{engine}");
        tool.close().await;
    }
}

#[tokio::test]
async fn two_processes_refreshing_at_once_roll_each_row_up_once() {
    for t in engines().await {
        let engine = t.backend().name();
        // A second handle with its own pool, as a second bot process has.
        let other = Db::connect(&t.url).await.unwrap();
        let now = Timestamp::now().0;
        for round in 0..4 {
            for i in 0..150 {
                t.db.record_call(&call(round * 1000 + i, now))
                    .await
                    .unwrap();
            }
            let (a, b) = tokio::join!(t.db.refresh_rollups_batch(40), other.refresh_rollups());
            let (a, b) = (a.unwrap(), b.unwrap());
            assert!(a.rows + b.rows <= 150, "{engine}: {a:?} {b:?}");
            t.db.refresh_rollups().await.unwrap();
            assert_eq!(rollup_calls(&t.db).await, (round + 1) * 150, "{engine}");
        }
        other.close().await;
    }
}

#[tokio::test]
async fn a_damaged_rollup_is_reported_not_misread() {
    for t in engines().await {
        let db = &t.db;
        let now = Timestamp::now().0;
        db.record_call(&call(1, now - 2 * DAY)).await.unwrap();
        db.refresh_rollups().await.unwrap();
        sqlx::query("UPDATE perf_rollups SET latency_hist = $1")
            .bind(vec![1u8, 5, 1])
            .execute(db.pool())
            .await
            .unwrap();
        let query = StatsQuery::new(StatsScope::Global, Timestamp(now - 30 * DAY));
        let err = db.call_summaries(&query).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Corrupt(m) if m.contains("latency_hist")),
            "{}: {err:?}",
            t.backend().name()
        );
    }
}
