//! The rows behind `/stats`.
//!
//! Filters (scope, time window, kind of call) run in SQL on the `performance_logs` indexes
//! `(guild_id, created_at)`, `(campaign_id, created_at)`, `(user_id, created_at)` and
//! `(created_at)`. Thumbs are aggregated in SQL (`GROUP BY`); the per-model call summaries and
//! the daily latency come from summaries per model and day (`summaries.rs`, through the
//! rollups in `rollups.rs`): one row per group costs far less than decoding every call
//! through sqlx's `Any` driver. Only [`StatsStore::call_samples`] returns calls one by one.

use async_trait::async_trait;
use futures::TryStreamExt;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, AssertSqlSafe, Row};

use super::rollups::{call_summaries, daily_latency};
use super::rows::{self, store_error};
use super::{Backend, Db};
use crate::core::game::vote::ArenaChoice;
use crate::core::ids::{GuildId, UserId};
use crate::core::stats::chart::DailyLatency;
use crate::core::stats::{
    Battle, CallSample, CallSummary, Outcome, StatsQuery, StatsScope, ThumbVotes,
};
use crate::core::store::{StatsStore, StoreResult};

/// A value bound to a `$N` placeholder.
#[derive(Debug, Clone, Copy)]
pub(super) enum Bind {
    Int(i64),
    Text(&'static str),
}

/// A WHERE clause under construction, numbering placeholders as it goes.
#[derive(Default)]
pub(super) struct Filter {
    clauses: Vec<String>,
    pub(super) binds: Vec<Bind>,
}

impl Filter {
    /// Adds `template` with `?` replaced by the next placeholder.
    pub(super) fn push(&mut self, template: &str, bind: Bind) {
        self.binds.push(bind);
        let placeholder = format!("${}", self.binds.len());
        self.clauses.push(template.replacen('?', &placeholder, 1));
    }

    pub(super) fn push_raw(&mut self, clause: &str) {
        self.clauses.push(clause.to_owned());
    }

    /// `column IN ($a, $b, ...)` over the query's kinds; matches nothing when empty.
    pub(super) fn push_kinds(&mut self, column: &str, query: &StatsQuery) {
        if query.kinds.is_empty() {
            self.push_raw("1 = 0");
            return;
        }
        let mut placeholders = Vec::with_capacity(query.kinds.len());
        for kind in &query.kinds {
            self.binds.push(Bind::Text(kind.as_str()));
            placeholders.push(format!("${}", self.binds.len()));
        }
        self.clauses
            .push(format!("{column} IN ({})", placeholders.join(", ")));
    }

    pub(super) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "1 = 1".into()
        } else {
            self.clauses.join(" AND ")
        }
    }

    pub(super) async fn fetch_all(&self, db: &Db, sql: String) -> StoreResult<Vec<AnyRow>> {
        self.fetch_all_on(db.pool(), sql).await
    }

    pub(super) async fn fetch_all_on(
        &self,
        pool: &AnyPool,
        sql: String,
    ) -> StoreResult<Vec<AnyRow>> {
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for bind in &self.binds {
            q = match *bind {
                Bind::Int(v) => q.bind(v),
                Bind::Text(v) => q.bind(v),
            };
        }
        q.fetch_all(pool).await.map_err(store_error)
    }
}

/// Scope, window and kinds on `performance_logs` (no alias).
pub(super) fn calls_filter(query: &StatsQuery) -> Filter {
    let mut f = Filter::default();
    match query.scope {
        StatsScope::Me(user) => f.push("user_id = ?", Bind::Int(UserId::as_i64(user))),
        StatsScope::Campaign(campaign) => f.push("campaign_id = ?", Bind::Int(campaign.0)),
        StatsScope::Server(guild) => f.push("guild_id = ?", Bind::Int(GuildId::as_i64(guild))),
        StatsScope::Global => {}
    }
    f.push("created_at >= ?", Bind::Int(query.since.0));
    f.push_kinds("kind", query);
    f
}

fn outcome(choice: ArenaChoice) -> Outcome {
    match choice {
        ArenaChoice::A => Outcome::AWins,
        ArenaChoice::B => Outcome::BWins,
        ArenaChoice::Tie => Outcome::Tie,
        ArenaChoice::BothBad => Outcome::BothBad,
    }
}

#[async_trait]
impl StatsStore for Db {
    async fn call_samples(&self, query: &StatsQuery) -> StoreResult<Vec<CallSample>> {
        raw_samples(self, calls_filter(query)).await
    }

    async fn thumb_votes(&self, query: &StatsQuery) -> StoreResult<Vec<ThumbVotes>> {
        let mut f = Filter::default();
        f.push_raw("m.role = 'assistant'");
        f.push_raw("m.model IS NOT NULL");
        let mut join = "";
        match query.scope {
            StatsScope::Me(user) => f.push("r.voter_id = ?", Bind::Int(user.as_i64())),
            StatsScope::Campaign(campaign) => f.push("m.campaign_id = ?", Bind::Int(campaign.0)),
            StatsScope::Server(guild) => {
                join = "JOIN campaigns c ON c.id = m.campaign_id";
                f.push("c.guild_id = ?", Bind::Int(guild.as_i64()));
            }
            StatsScope::Global => {}
        }
        f.push("r.created_at >= ?", Bind::Int(query.since.0));
        let sql = format!(
            "SELECT m.model AS model, \
             SUM(CASE WHEN r.value > 0 THEN 1 ELSE 0 END) AS up, \
             SUM(CASE WHEN r.value < 0 THEN 1 ELSE 0 END) AS down \
             FROM ratings r JOIN messages m ON m.id = r.message_id {join} \
             WHERE {} GROUP BY m.model ORDER BY m.model",
            f.sql()
        );
        f.fetch_all(self, sql)
            .await?
            .iter()
            .map(|row| {
                Ok(ThumbVotes {
                    model: rows::text(row, "model")?,
                    up: rows::int(row, "up")?.max(0) as u64,
                    down: rows::int(row, "down")?.max(0) as u64,
                })
            })
            .collect()
    }

    async fn arena_battles(&self, query: &StatsQuery) -> StoreResult<Vec<Battle>> {
        let mut f = Filter::default();
        let (choice, join) = match query.scope {
            StatsScope::Me(user) => {
                f.push("v.voter_id = ?", Bind::Int(user.as_i64()));
                ("v.choice", "JOIN arena_votes v ON v.battle_id = b.id")
            }
            StatsScope::Campaign(campaign) => {
                f.push_raw("b.winner IS NOT NULL");
                f.push("s.campaign_id = ?", Bind::Int(campaign.0));
                ("b.winner", "JOIN sessions s ON s.id = b.session_id")
            }
            StatsScope::Server(guild) => {
                f.push_raw("b.winner IS NOT NULL");
                f.push("b.guild_id = ?", Bind::Int(guild.as_i64()));
                ("b.winner", "")
            }
            StatsScope::Global => {
                f.push_raw("b.winner IS NOT NULL");
                ("b.winner", "")
            }
        };
        f.push("b.created_at >= ?", Bind::Int(query.since.0));
        let sql = format!(
            "SELECT b.model_a AS model_a, b.model_b AS model_b, {choice} AS choice \
             FROM arena_battles b {join} WHERE {} ORDER BY b.id",
            f.sql()
        );
        f.fetch_all(self, sql)
            .await?
            .iter()
            .map(|row| {
                let choice = rows::parsed(row, "choice", |raw| ArenaChoice::parse(raw).ok_or(()))?;
                Ok(Battle {
                    model_a: rows::text(row, "model_a")?,
                    model_b: rows::text(row, "model_b")?,
                    outcome: outcome(choice),
                })
            })
            .collect()
    }

    async fn daily_latency(&self, query: &StatsQuery) -> StoreResult<Vec<DailyLatency>> {
        daily_latency(self, query).await
    }

    async fn call_summaries(&self, query: &StatsQuery) -> StoreResult<Vec<CallSummary>> {
        call_summaries(self, query).await
    }
}

pub(super) fn sample_from_row(row: &AnyRow, backend: Backend) -> StoreResult<CallSample> {
    // Decoded the engine's way first: a failed decode builds an error, too dear per row.
    let ok = match backend {
        Backend::Sqlite => row.try_get::<i64, _>(6).map_err(store_error)? != 0,
        Backend::Postgres => row.try_get::<bool, _>(6).map_err(store_error)?,
    };
    Ok(CallSample {
        model: row.try_get(0).map_err(store_error)?,
        latency_ms: row.try_get(1).map_err(store_error)?,
        ttft_ms: row.try_get(2).map_err(store_error)?,
        tokens_in: row.try_get(3).map_err(store_error)?,
        tokens_out: row.try_get(4).map_err(store_error)?,
        cost_usd: row.try_get(5).map_err(store_error)?,
        ok,
    })
}

/// The samples `filter` selects from `performance_logs`, streamed and decoded by position.
async fn raw_samples(db: &Db, filter: Filter) -> StoreResult<Vec<CallSample>> {
    let sql = format!(
        "SELECT model, latency_ms, ttft_ms, tokens_in, tokens_out, cost_usd, ok \
         FROM performance_logs WHERE {}",
        filter.sql()
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for bind in &filter.binds {
        q = match *bind {
            Bind::Int(v) => q.bind(v),
            Bind::Text(v) => q.bind(v),
        };
    }
    let engine = db.backend();
    let mut stream = q.fetch(db.pool());
    let mut samples = Vec::new();
    while let Some(row) = stream.try_next().await.map_err(store_error)? {
        samples.push(sample_from_row(&row, engine)?);
    }
    Ok(samples)
}
