//! Rollups of `performance_logs` for `/stats` (table `perf_rollups`, migrations 0007, 0011, 0014).
//!
//! Per UTC day, scope (all servers, or one server), model and kind of call, a rollup row holds
//! the exact [`CallSummary`] of those calls; scopes `hour` and `week` hold the same for all
//! servers per UTC hour and per seven days from 1970-01-01 on (their `day` column counts
//! hours and weeks). `perf_rollup_state.through_id` is a watermark:
//! the rollups hold exactly the rows with `id <= through_id`. A `/stats` query over
//! `[since, now]` for the global or a server scope then reads:
//! - the rollups of every day from the first whole day of the window on and, for all servers,
//!   of every whole hour before it, together with the watermark, in one statement (one
//!   snapshot on both engines); for the leaderboard of all servers, whole weeks stand for
//!   their days (a week holds a third of its days' histogram runs);
//! - raw rows before the first rolled-up period: under an hour of calls for all servers,
//!   under a day of one server's;
//! - raw rows above the watermark from that period on (the calls recorded since the last
//!   refresh, and rows imported with old timestamps).
//!
//! The three parts are disjoint and cover the window, so the answer is exact whatever the
//! state of the rollups. Every read first rolls up what is above the watermark, so the reads
//! after one find little raw data, on any database whoever wrote it. Raw parts are summed by
//! the database (`summaries.rs`). The parts are kept per model and UTC day, which gives both
//! the leaderboard and the latency-over-time chart. Scopes `me` and `campaign` read raw rows
//! only: they are small, and rolling them up would multiply the rollups.
//!
//! The refresh takes rows above the watermark in id order, in batches (a command that serves
//! no turns aggregates each batch in id ranges on several connections at once), and merges
//! them into the rollups in one transaction that moves the watermark with a compare-and-swap,
//! so two processes on one database never roll a row up twice. Recording a call does not touch the
//! rollups: a turn pays nothing for them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::rows::{self, store_error};
use super::stats::{Bind, Filter, calls_filter};
use super::summaries::{
    Grain, GroupSummary, HOUR_MS, WEEK_DAYS, grouped_summaries, rollup_summaries,
};
use super::{Backend, Db};
use crate::core::ids::GuildId;
use crate::core::stats::chart::DailyLatency;
use crate::core::stats::{CallSummary, Histogram, StatsQuery, StatsScope, SummaryBuilder};
use crate::core::store::{StoreError, StoreResult};

use super::summaries::DAY_MS;

/// Rows merged per refresh transaction. SQLite has one connection per process: a batch must
/// stay short (tens of milliseconds) so turns are not kept waiting behind it.
pub const REFRESH_BATCH_ROWS: i64 = 20_000;

/// Rows merged per refresh transaction in a command that serves no turns: fewer, larger
/// batches rewrite each day's rollup rows fewer times (a day's rows span several 20,000-row
/// batches), and each batch is aggregated in ranges on every core. A million rows took 2.4 s
/// in 20,000-row batches.
pub const TOOL_REFRESH_BATCH_ROWS: i64 = 1_000_000;

/// Below this many ids a refresh aggregates on one connection: splitting costs a statement
/// per range and saves nothing on a few thousand rows.
const PARALLEL_AGGREGATION_MIN_ROWS: i64 = 50_000;

/// At most this many ranges at once, whatever the cores: each holds its groups' values.
const MAX_AGGREGATION_RANGES: u32 = 8;

/// How often the running bot rolls up the calls recorded since the last refresh.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// The columns of a rollup row after its key, in this order.
const VALUE_COLUMNS: &str = "calls, errors, tokens_in_sum, tokens_in_known, tokens_out_sum, \
     tokens_out_known, generated_tokens, generation_ms, cost_sum, cost_known, latency_hist, ttft_hist";

/// What one refresh did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefreshOutcome {
    /// Raw rows merged into the rollups.
    pub rows: u64,
    /// The watermark afterwards.
    pub through_id: i64,
}

/// Ordered as the primary key (scope, scope_id, day, model, kind).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct RollupKey {
    scope: &'static str,
    scope_id: i64,
    day: i64,
    model: String,
    kind: String,
}

impl Db {
    /// Rolls every row recorded so far up, batch after batch; returns when caught up.
    pub async fn refresh_rollups(&self) -> StoreResult<RefreshOutcome> {
        let mut total = RefreshOutcome::default();
        loop {
            let (batch, cap) = self.refresh_batch(self.refresh_batch_rows).await?;
            total.rows += batch.rows;
            total.through_id = batch.through_id;
            if batch.rows == 0 && batch.through_id >= cap {
                return Ok(total);
            }
            // Lets queries waiting for SQLite's one connection go first.
            tokio::task::yield_now().await;
        }
    }

    /// Merges up to `max_rows` rows above the watermark into the rollups. Another process
    /// refreshing at the same time makes this batch a no-op (its rows are merged there).
    pub async fn refresh_rollups_batch(&self, max_rows: i64) -> StoreResult<RefreshOutcome> {
        Ok(self.refresh_batch(max_rows).await?.0)
    }

    /// [`Db::refresh_rollups_batch`], and the highest committed id it saw.
    async fn refresh_batch(&self, max_rows: i64) -> StoreResult<(RefreshOutcome, i64)> {
        // The watermark and the largest visible id in one statement, with no lock: when no
        // visible row is above the watermark there is nothing to roll up (a read finds
        // nothing more), which is every read but the first after new calls.
        let row = sqlx::query(
            "SELECT through_id, (SELECT COALESCE(MAX(id), 0) FROM performance_logs) \
             FROM perf_rollup_state WHERE id = 1",
        )
        .fetch_one(self.pool())
        .await
        .map_err(store_error)?;
        let from: i64 = row.try_get(0).map_err(store_error)?;
        let visible: i64 = row.try_get(1).map_err(store_error)?;
        let cap = match self.backend() {
            Backend::Postgres if visible > from => self.postgres_committed_max_id().await?,
            // SQLite has one writer at a time: its largest visible id is committed, and
            // every id below it too.
            _ => visible,
        };
        if cap <= from {
            let outcome = RefreshOutcome {
                rows: 0,
                through_id: from,
            };
            return Ok((outcome, cap));
        }
        // At most `max_rows` ids from the first one above the watermark: a seek, where
        // counting the batch's rows off the index took 40 ms per 250,000. Ids are unique, so
        // the batch holds at most `max_rows` rows; a gap in the ids only makes it smaller.
        let first: Option<i64> =
            sqlx::query_scalar("SELECT MIN(id) FROM performance_logs WHERE id > $1")
                .bind(from)
                .fetch_one(self.pool())
                .await
                .map_err(store_error)?;
        let to = first.map_or(cap, |first| {
            cap.min(first.saturating_add(max_rows.max(1) - 1))
        });
        let mut groups = self.aggregate_rows(from, to).await?;
        let rows = groups
            .iter()
            .filter(|(key, _)| key.scope == "global")
            .map(|(_, summary)| summary.calls)
            .sum();

        let mut tx = self.pool().begin().await.map_err(store_error)?;
        // Taken first, the compare-and-swap is also the lock: PostgreSQL's row lock, SQLite's
        // write lock. A concurrent refresh waits here, then finds the watermark moved.
        let moved = sqlx::query(
            "UPDATE perf_rollup_state SET through_id = $1 WHERE id = 1 AND through_id = $2",
        )
        .bind(to)
        .bind(from)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?
        .rows_affected();
        if moved == 0 {
            tx.rollback().await.map_err(store_error)?;
            let outcome = RefreshOutcome {
                rows: 0,
                through_id: self.watermark().await?,
            };
            return Ok((outcome, cap));
        }
        let existing = merge_existing(&mut tx, &mut groups).await?;
        write_all(&mut tx, self.backend(), &groups, &existing).await?;
        tx.commit().await.map_err(store_error)?;
        let outcome = RefreshOutcome {
            rows,
            through_id: to,
        };
        Ok((outcome, cap))
    }

    /// Rolls up what is above the watermark before a read, so that the reads after it find
    /// the rollups current on any database: one written by `compare`, `play`,
    /// `import-legacy` or an older version. Reads are exact either way, so a failure (a
    /// PostgreSQL writer holding its lock too long) is logged and the read goes on.
    pub async fn catch_up_rollups(&self) {
        if let Err(e) = self.refresh_rollups().await {
            tracing::warn!(error = %e, "catching the stats rollups up failed; reading raw rows");
        }
    }

    /// Rolls rows up every [`REFRESH_INTERVAL`] (the first time at once) until aborted.
    /// Failures are logged and retried at the next tick: reads stay exact meanwhile.
    pub fn spawn_rollup_refresher(&self) -> tokio::task::JoinHandle<()> {
        let db = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(REFRESH_INTERVAL);
            loop {
                tick.tick().await;
                match db.refresh_rollups().await {
                    Ok(done) if done.rows > 0 => {
                        tracing::debug!(
                            rows = done.rows,
                            through_id = done.through_id,
                            "stats rollups refreshed"
                        )
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "refreshing the stats rollups failed; retrying later")
                    }
                }
            }
        })
    }

    async fn watermark(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT through_id FROM perf_rollup_state WHERE id = 1")
            .fetch_one(self.pool())
            .await
            .map_err(store_error)
    }

    /// The highest id such that every row at or below it is committed and visible.
    ///
    /// PostgreSQL hands out ids before commit: an insert still in flight may hold a smaller
    /// id than a committed one. A SHARE lock waits for those inserts (it conflicts with
    /// theirs) and is released at once; `lock_timeout` keeps a long import from holding the
    /// turns queued behind it.
    async fn postgres_committed_max_id(&self) -> StoreResult<i64> {
        let mut tx = self.pool().begin().await.map_err(store_error)?;
        sqlx::query("SET LOCAL lock_timeout = '200ms'")
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        sqlx::query("LOCK TABLE performance_logs IN SHARE MODE")
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        let max: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM performance_logs")
            .fetch_one(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(max)
    }

    /// Summaries of the rows with `from < id <= to`, per rollup key: each row counts once
    /// in the global scope, once in its server's and once in its hour's.
    async fn aggregate_rows(
        &self,
        from: i64,
        to: i64,
    ) -> StoreResult<HashMap<RollupKey, CallSummary>> {
        let key = |scope, scope_id, day, group: &GroupSummary| RollupKey {
            scope,
            scope_id,
            day,
            model: group.summary.model.clone(),
            kind: group.kind.clone(),
        };
        // The ranges of one refresh can each hold a part of the same period, and each hour
        // of all servers is a part of its day and of its week; most server-days come from one
        // range only and need no merging.
        let mut parts: HashMap<RollupKey, Vec<CallSummary>> = HashMap::new();
        let hours_per_day = DAY_MS / HOUR_MS;
        for (grain, group) in self.aggregate_ranges(from, to).await? {
            match grain {
                Grain::ServerDay => {
                    if let Some(guild) = group.guild {
                        let key = key("server", guild, group.day, &group);
                        parts.entry(key).or_default().push(group.summary);
                    }
                }
                Grain::Hour => {
                    // Integer division as SQL's, which numbered the hours.
                    let day = group.day / hours_per_day;
                    for key in [
                        key("global", 0, day, &group),
                        key("week", 0, day / WEEK_DAYS, &group),
                    ] {
                        parts.entry(key).or_default().push(group.summary.clone());
                    }
                    let key = key("hour", 0, group.day, &group);
                    parts.entry(key).or_default().push(group.summary);
                }
            }
        }
        Ok(parts
            .into_iter()
            .map(|(key, mut summaries)| {
                let summary = if summaries.len() == 1 {
                    summaries.pop().expect("one summary")
                } else {
                    let mut builder = SummaryBuilder::default();
                    summaries.iter().for_each(|s| builder.add_summary(s));
                    builder.build(key.model.clone())
                };
                (key, summary)
            })
            .collect())
    }

    /// The groups of the rows with `from < id <= to`, in every [`Grain`]. A command that serves no
    /// turns splits the ids into one range per reader connection and aggregates them at
    /// once: the pass over the rows is the refresh's cost, and it runs on one core per
    /// statement. The ranges' groups share keys; [`Db::aggregate_rows`] adds them up.
    async fn aggregate_ranges(
        &self,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(Grain, GroupSummary)>> {
        let filter = |from: i64, to: i64| {
            let mut f = Filter::default();
            f.push("id > ?", Bind::Int(from));
            f.push("id <= ?", Bind::Int(to));
            f
        };
        // One range per reader connection: the reader pools hold one per core, and the values
        // are parsed here on as many.
        let parts = self.aggregation_readers().map_or(1, |pool| {
            pool.options()
                .get_max_connections()
                .min(MAX_AGGREGATION_RANGES)
        });
        let span = to - from;
        let Some(pool) = self
            .aggregation_readers()
            .filter(|_| parts > 1 && span >= PARALLEL_AGGREGATION_MIN_ROWS)
        else {
            return rollup_summaries(self.pool(), self.backend(), &filter(from, to)).await;
        };
        let parts = i64::from(parts);
        let bounds: Vec<i64> = (0..=parts).map(|i| from + span * i / parts).collect();
        // A task per range, so that each range's value lists are parsed on a core of its own.
        let ranges: Vec<_> = bounds
            .windows(2)
            .map(|w| {
                let (pool, backend, f) = (pool.clone(), self.backend(), filter(w[0], w[1]));
                tokio::spawn(async move { rollup_summaries(&pool, backend, &f).await })
            })
            .collect();
        let mut all = Vec::new();
        for range in ranges {
            match range.await {
                Ok(groups) => all.extend(groups?),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => return Err(StoreError::Unavailable(format!("rollup aggregation: {e}"))),
            }
        }
        Ok(all)
    }
}

/// Adds what the rollups already hold for `groups`' keys into them: per scope (all servers,
/// each server, the hours), one range of the primary key over the batch's periods. A filter
/// the key cannot serve (`scope <> 'hour'`) read every rollup row, histograms and all, for
/// every batch.
///
/// Returns the keys that had a row: the others are new, and only this refresh may write them
/// (it holds the watermark's lock).
async fn merge_existing(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    groups: &mut HashMap<RollupKey, CallSummary>,
) -> StoreResult<HashSet<RollupKey>> {
    let mut found = HashSet::new();
    let mut ranges: BTreeMap<(&'static str, i64), (i64, i64)> = BTreeMap::new();
    for key in groups.keys() {
        let range = ranges
            .entry((key.scope, key.scope_id))
            .or_insert((key.day, key.day));
        range.0 = range.0.min(key.day);
        range.1 = range.1.max(key.day);
    }
    for ((scope, scope_id), (first, last)) in ranges {
        let existing = sqlx::query(AssertSqlSafe(format!(
            "SELECT day, kind, model, {VALUE_COLUMNS} FROM perf_rollups \
             WHERE scope = $1 AND scope_id = $2 AND day >= $3 AND day <= $4"
        )))
        .bind(scope)
        .bind(scope_id)
        .bind(first)
        .bind(last)
        .fetch_all(&mut **tx)
        .await
        .map_err(store_error)?;
        for row in existing {
            let key = RollupKey {
                scope,
                scope_id,
                day: row.try_get(0).map_err(store_error)?,
                kind: row.try_get(1).map_err(store_error)?,
                model: row.try_get(2).map_err(store_error)?,
            };
            if let Some(fresh) = groups.get_mut(&key) {
                let mut builder = SummaryBuilder::default();
                builder.add_summary(&summary_from_row_at(&row, 2)?);
                builder.add_summary(fresh);
                *fresh = builder.build(key.model.clone());
                found.insert(key);
            }
        }
    }
    Ok(found)
}

/// Rollup rows written per statement: one statement per row made the refresh of a million
/// calls spend most of its time in per-statement overhead.
const UPSERT_CHUNK: usize = 256;
/// Bound values per rollup row: the key's five and [`VALUE_COLUMNS`]' twelve.
const UPSERT_BINDS: usize = 17;

/// Writes `groups` into their rollup rows, [`UPSERT_CHUNK`] rows per statement, in the
/// primary key's order: each statement then fills neighbouring pages of the index (the
/// table itself on SQLite) rather than pages all over it. Rows for keys that had none are
/// plain inserts: PostgreSQL writes 20,896 of them in 125 ms, and takes 173 ms with
/// `ON CONFLICT DO UPDATE`. The `existing` ones replace theirs. Keys are unique, as
/// PostgreSQL requires of one `INSERT ... ON CONFLICT DO UPDATE`.
async fn write_all(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    groups: &HashMap<RollupKey, CallSummary>,
    existing: &HashSet<RollupKey>,
) -> StoreResult<()> {
    let mut rows: Vec<(&RollupKey, &CallSummary)> = groups.iter().collect();
    rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let (replaced, new): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .partition(|(key, _)| existing.contains(*key));
    for (rows, replace) in [(new, false), (replaced, true)] {
        for chunk in rows.chunks(UPSERT_CHUNK) {
            write_chunk(tx, backend, chunk, replace).await?;
        }
    }
    Ok(())
}

async fn write_chunk(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    chunk: &[(&RollupKey, &CallSummary)],
    replace: bool,
) -> StoreResult<()> {
    let values: Vec<String> = (0..chunk.len())
        .map(|r| {
            // SQLite finds a numbered parameter's name by a scan of them all, for each one:
            // a thousand `$N` cost more to bind than to run. `?` are bound in order.
            let params: Vec<String> = (1..=UPSERT_BINDS)
                .map(|c| match backend {
                    Backend::Sqlite => "?".to_owned(),
                    Backend::Postgres => format!("${}", r * UPSERT_BINDS + c),
                })
                .collect();
            format!("({})", params.join(", "))
        })
        .collect();
    let on_conflict = if replace {
        " ON CONFLICT (scope, scope_id, day, model, kind) DO UPDATE SET \
         calls = excluded.calls, errors = excluded.errors, \
         tokens_in_sum = excluded.tokens_in_sum, tokens_in_known = excluded.tokens_in_known, \
         tokens_out_sum = excluded.tokens_out_sum, tokens_out_known = excluded.tokens_out_known, \
         generated_tokens = excluded.generated_tokens, generation_ms = excluded.generation_ms, \
         cost_sum = excluded.cost_sum, cost_known = excluded.cost_known, \
         latency_hist = excluded.latency_hist, ttft_hist = excluded.ttft_hist"
    } else {
        ""
    };
    let sql = format!(
        "INSERT INTO perf_rollups (scope, scope_id, day, model, kind, {VALUE_COLUMNS}) \
         VALUES {}{on_conflict}",
        values.join(", ")
    );
    let int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for (key, s) in chunk {
        query = query
            .bind(key.scope)
            .bind(key.scope_id)
            .bind(key.day)
            .bind(key.model.clone())
            .bind(key.kind.clone())
            .bind(int(s.calls))
            .bind(int(s.errors))
            .bind(s.tokens_in_sum)
            .bind(int(s.tokens_in_known))
            .bind(s.tokens_out_sum)
            .bind(int(s.tokens_out_known))
            .bind(s.generated_tokens)
            .bind(s.generation_ms)
            .bind(s.cost_sum)
            .bind(int(s.cost_known))
            .bind(s.latency_ms.encode())
            .bind(s.ttft_ms.encode());
    }
    query.execute(&mut **tx).await.map_err(store_error)?;
    Ok(())
}

/// `/stats`'s per-model summaries: rollups where they apply, raw rows for the rest.
pub(super) async fn call_summaries(db: &Db, query: &StatsQuery) -> StoreResult<Vec<CallSummary>> {
    let mut per_model: BTreeMap<String, SummaryBuilder> = BTreeMap::new();
    // Straight into each model's builder: a month of all servers' rollups holds millions of
    // histogram runs, and a builder per day first would copy them all once more.
    each_part(
        db,
        query,
        Periods::WeeksAndDays,
        &mut |model, _day, part| {
            per_model
                .entry(model.to_owned())
                .or_default()
                .add_summary(part)
        },
    )
    .await?;
    Ok(per_model
        .into_iter()
        .map(|(model, builder)| builder.build(model))
        .collect())
}

/// The mean latency of `query`'s successful calls per model and UTC day, from the same
/// summaries as the leaderboard: a month of all servers' calls is a few hundred rollup rows
/// rather than every call.
pub(super) async fn daily_latency(db: &Db, query: &StatsQuery) -> StoreResult<Vec<DailyLatency>> {
    let mut per_day: BTreeMap<(String, i64), SummaryBuilder> = BTreeMap::new();
    each_part(db, query, Periods::Days, &mut |model, day, part| {
        per_day
            .entry((model.to_owned(), day))
            .or_default()
            .add_summary(part)
    })
    .await?;
    let mut series: Vec<DailyLatency> = Vec::new();
    for ((model, day), builder) in per_day {
        let Some(mean) = builder.build(model.clone()).latency_ms.mean() else {
            continue; // no successful call that day
        };
        let day = i32::try_from(day).map_err(|_| rows::corrupt("day", &day.to_string()))?;
        match series.last_mut() {
            Some(last) if last.model == model => last.points.push((day, mean)),
            _ => series.push(DailyLatency {
                model,
                points: vec![(day, mean)],
            }),
        }
    }
    Ok(series)
}

/// A summary of part of `query`'s calls with its model and UTC day (days since 1970-01-01;
/// for a week, its first day).
type PartSink<'a> = dyn FnMut(&str, i64, &CallSummary) + Send + 'a;

/// The longest period one part may stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Periods {
    /// A whole week of all servers is one part: a third of the runs of its seven days.
    WeeksAndDays,
    /// Each part lies within one UTC day (the latency-over-time chart).
    Days,
}

/// Gives `add` the summaries that together make up `query`'s calls, each with its model and
/// UTC day: rollup rows and groups of raw rows, disjoint, none longer than `periods` allows.
async fn each_part(
    db: &Db,
    query: &StatsQuery,
    periods: Periods,
    add: &mut PartSink<'_>,
) -> StoreResult<()> {
    let (scope, scope_id) = match query.scope {
        StatsScope::Global => ("global", 0),
        StatsScope::Server(guild) => ("server", GuildId::as_i64(guild)),
        StatsScope::Me(_) | StatsScope::Campaign(_) => {
            return add_groups(add, db, &calls_filter(query)).await;
        }
    };
    db.catch_up_rollups().await;
    let since = query.since.0;
    let first_day = since.div_euclid(DAY_MS) + i64::from(since.rem_euclid(DAY_MS) != 0);
    let first_hour = since.div_euclid(HOUR_MS) + i64::from(since.rem_euclid(HOUR_MS) != 0);
    let hours_per_day = DAY_MS / HOUR_MS;
    // Rolled up from here on: whole days, and for all servers the whole hours before them
    // and, where `periods` allows, whole weeks after the days before the first of them.
    let (rolled_from, rolled) = match query.scope {
        StatsScope::Global => {
            let hours = format!(
                "(r.scope = 'hour' AND r.day >= {first_hour} AND r.day < {})",
                first_day.saturating_mul(hours_per_day)
            );
            let days_and_weeks = match periods {
                Periods::Days => format!("(r.scope = 'global' AND r.day >= {first_day})"),
                Periods::WeeksAndDays => {
                    let first_week = first_day.div_euclid(WEEK_DAYS)
                        + i64::from(first_day.rem_euclid(WEEK_DAYS) != 0);
                    format!(
                        "(r.scope = 'global' AND r.day >= {first_day} AND r.day < {}) OR \
                         (r.scope = 'week' AND r.day >= {first_week})",
                        first_week.saturating_mul(WEEK_DAYS)
                    )
                }
            };
            (
                first_hour.saturating_mul(HOUR_MS),
                format!("r.scope_id = 0 AND ({days_and_weeks} OR {hours})"),
            )
        }
        _ => (
            first_day.saturating_mul(DAY_MS),
            format!("r.scope = '{scope}' AND r.scope_id = {scope_id} AND r.day >= {first_day}"),
        ),
    };

    // The rollups and the watermark they stand for, in one snapshot.
    let mut on = Filter::default();
    on.push_raw(&rolled);
    on.push_kinds("r.kind", query);
    let sql = format!(
        "SELECT s.through_id, r.scope, r.day, r.model, r.{} FROM perf_rollup_state s \
         LEFT JOIN perf_rollups r ON {} WHERE s.id = 1",
        VALUE_COLUMNS.replace(", ", ", r."),
        on.sql()
    );
    let mut watermark = 0;
    for row in on.fetch_all(db, sql).await? {
        watermark = rows::int(&row, "through_id")?;
        let Some(scope) = row.try_get::<Option<String>, _>(1).map_err(store_error)? else {
            continue; // no rollup yet: the state row alone
        };
        let period: i64 = row.try_get(2).map_err(store_error)?;
        let day = match scope.as_str() {
            "hour" => period.div_euclid(hours_per_day),
            "week" => period.saturating_mul(WEEK_DAYS),
            _ => period,
        };
        let summary = summary_from_row_at(&row, 3)?;
        add(&summary.model, day, &summary);
    }

    let scope_clause = |f: &mut Filter, plus: &str| {
        if let StatsScope::Server(guild) = query.scope {
            f.push(&format!("{plus}guild_id = ?"), Bind::Int(guild.as_i64()));
        }
    };
    // The start of the window before the first rolled-up period: under an hour for all
    // servers, under a day for one.
    if since < rolled_from {
        let mut f = Filter::default();
        scope_clause(&mut f, "");
        f.push("created_at >= ?", Bind::Int(since));
        f.push("created_at < ?", Bind::Int(rolled_from));
        f.push_kinds("kind", query);
        add_groups(add, db, &f).await?;
    }
    // Rows above the watermark. The unary `+` keeps both planners off the time and server
    // indexes (which would scan the whole window) and on the primary key's short range. The
    // upper bound is for PostgreSQL before its first ANALYZE of the table (a fresh import):
    // it guesses a third of the table for `id > $1` alone and scans all of it (80 ms a
    // million rows), but a small share for a closed range.
    let mut f = Filter::default();
    f.push("id > ?", Bind::Int(watermark));
    f.push("id <= ?", Bind::Int(i64::MAX));
    f.push("+created_at >= ?", Bind::Int(rolled_from));
    scope_clause(&mut f, "+");
    f.push_kinds("kind", query);
    add_groups(add, db, &f).await
}

async fn add_groups(add: &mut PartSink<'_>, db: &Db, filter: &Filter) -> StoreResult<()> {
    for group in grouped_summaries(db, filter).await? {
        add(&group.summary.model, group.day, &group.summary);
    }
    Ok(())
}

/// A rollup row: `model, {VALUE_COLUMNS}` by position, `model` at `offset`.
fn summary_from_row_at(row: &AnyRow, offset: usize) -> StoreResult<CallSummary> {
    let int = |i: usize| row.try_get::<i64, _>(offset + i).map_err(store_error);
    let count = |i: usize| int(i).map(|v| v.max(0) as u64);
    let histogram = |i: usize, what: &str| {
        let bytes: Vec<u8> = row.try_get(offset + i).map_err(store_error)?;
        Histogram::decode(&bytes).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
    };
    Ok(CallSummary {
        model: row.try_get(offset).map_err(store_error)?,
        calls: count(1)?,
        errors: count(2)?,
        tokens_in_sum: int(3)?,
        tokens_in_known: count(4)?,
        tokens_out_sum: int(5)?,
        tokens_out_known: count(6)?,
        generated_tokens: int(7)?,
        generation_ms: int(8)?,
        cost_sum: row.try_get::<f64, _>(offset + 9).map_err(store_error)?,
        cost_known: count(10)?,
        latency_ms: histogram(11, "perf_rollups.latency_hist")?,
        ttft_ms: histogram(12, "perf_rollups.ttft_hist")?,
    })
}
