//! Call summaries aggregated by the database itself.
//!
//! Decoding a row through sqlx's `Any` driver costs microseconds (every value is boxed and
//! converted), so reading a million calls row by row takes seconds. Here the engine groups
//! the calls by server, day, model and kind and returns one row per group: counts and sums
//! as SQL aggregates, and the exact latency and TTFT values as one comma-separated text each
//! (`group_concat` / `string_agg`), parsed into exact histograms without per-value decoding.
//! The result is the [`CallSummary`] that [`SummaryBuilder::add_call`] would have built from
//! the same rows, field for field (`tests/storage` checks both on both engines).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Backend;
use super::Db;
use super::rows::store_error;
use super::stats::Filter;
use crate::core::stats::summary::HistogramBuilder;
use crate::core::stats::{CallSummary, Histogram};
use crate::core::store::{StoreError, StoreResult};

pub(super) const DAY_MS: i64 = 86_400_000;
pub(super) const HOUR_MS: i64 = 3_600_000;

/// How finely calls are grouped in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Grain {
    /// Per server (or none) and UTC day.
    ServerDay,
    /// Per UTC hour, all servers together.
    Hour,
}

/// The calls of one server (or of none), UTC day (or hour), model and kind of call.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct GroupSummary {
    pub guild: Option<i64>,
    /// Days or hours since 1970-01-01, after the grain.
    pub day: i64,
    pub kind: String,
    pub summary: CallSummary,
}

/// The generation time `SummaryBuilder::add_call` credits a call with.
const GENERATION_MS: &str = "CASE WHEN ttft_ms IS NOT NULL AND ttft_ms < latency_ms \
     THEN latency_ms - ttft_ms ELSE latency_ms END";

/// A finite cost: NaN sorts above every number in PostgreSQL, so both bounds exclude it,
/// and the infinities with it.
const FINITE_COST: &str = "cost_usd > -1e308 AND cost_usd < 1e308";

fn values_of(backend: Backend, expression: &str) -> String {
    match backend {
        Backend::Sqlite => format!("group_concat({expression})"),
        Backend::Postgres => format!("string_agg(CAST({expression} AS TEXT), ',')"),
    }
}

fn grouped_sql(backend: Backend, filter: &Filter, grain: Grain) -> String {
    let latencies = values_of(backend, "CASE WHEN ok THEN latency_ms END");
    let ttfts = values_of(backend, "CASE WHEN ok THEN ttft_ms END");
    let (guild, period) = match grain {
        Grain::ServerDay => ("guild_id", format!("created_at / {DAY_MS}")),
        Grain::Hour => ("CAST(NULL AS BIGINT)", format!("created_at / {HOUR_MS}")),
    };
    let group_by = match grain {
        Grain::ServerDay => format!("guild_id, {period}"),
        Grain::Hour => period.clone(),
    };
    format!(
        "SELECT {guild}, {period} AS day, model, kind, \
         COUNT(*), \
         COUNT(*) - COUNT(CASE WHEN ok THEN 1 END), \
         CAST(COALESCE(SUM(tokens_in), 0) AS BIGINT), COUNT(tokens_in), \
         CAST(COALESCE(SUM(tokens_out), 0) AS BIGINT), COUNT(tokens_out), \
         CAST(COALESCE(SUM(CASE WHEN ok AND {GENERATION_MS} > 0 THEN tokens_out END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN ok AND tokens_out IS NOT NULL AND {GENERATION_MS} > 0 \
              THEN {GENERATION_MS} END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN {FINITE_COST} THEN cost_usd END), 0) AS DOUBLE PRECISION), \
         COUNT(CASE WHEN {FINITE_COST} THEN 1 END), \
         {latencies}, {ttfts} \
         FROM performance_logs WHERE {} \
         GROUP BY {group_by}, model, kind",
        filter.sql()
    )
}

/// The summaries of the calls `filter` selects, one per `grain`, model and kind.
pub(super) async fn grouped_summaries(
    db: &Db,
    filter: &Filter,
    grain: Grain,
) -> StoreResult<Vec<GroupSummary>> {
    let sql = grouped_sql(db.backend(), filter, grain);
    filter
        .fetch_all(db, sql)
        .await?
        .iter()
        .map(group_from_row)
        .collect()
}

fn group_from_row(row: &AnyRow) -> StoreResult<GroupSummary> {
    let int = |i: usize| row.try_get::<i64, _>(i).map_err(store_error);
    let count = |i: usize| int(i).map(|v| v.max(0) as u64);
    let values = |i: usize, what: &str| {
        let text: Option<String> = row.try_get(i).map_err(store_error)?;
        histogram_of(text.as_deref().unwrap_or(""), what)
    };
    Ok(GroupSummary {
        guild: row.try_get(0).map_err(store_error)?,
        day: int(1)?,
        kind: row.try_get(3).map_err(store_error)?,
        summary: CallSummary {
            model: row.try_get(2).map_err(store_error)?,
            calls: count(4)?,
            errors: count(5)?,
            tokens_in_sum: int(6)?,
            tokens_in_known: count(7)?,
            tokens_out_sum: int(8)?,
            tokens_out_known: count(9)?,
            generated_tokens: int(10)?,
            generation_ms: int(11)?,
            cost_sum: row.try_get::<f64, _>(12).map_err(store_error)?,
            cost_known: count(13)?,
            latency_ms: values(14, "latency_ms")?,
            ttft_ms: values(15, "ttft_ms")?,
        },
    })
}

/// An exact histogram of comma-separated integers.
fn histogram_of(text: &str, what: &str) -> StoreResult<Histogram> {
    let mut builder = HistogramBuilder::default();
    for value in text.split(',').filter(|v| !v.is_empty()) {
        let value = value
            .parse::<i64>()
            .map_err(|_| StoreError::Corrupt(format!("performance_logs.{what}: {value:?}")))?;
        builder.add(value);
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_an_exact_histogram() {
        let h = histogram_of("30,10,20,10", "latency_ms").unwrap();
        assert_eq!(h.runs(), &[(10, 2), (20, 1), (30, 1)]);
        assert!(histogram_of("", "latency_ms").unwrap().is_empty());
        assert!(matches!(
            histogram_of("10,x", "latency_ms"),
            Err(StoreError::Corrupt(_))
        ));
    }
}
