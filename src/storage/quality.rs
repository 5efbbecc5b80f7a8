//! The quality checks of live narrations (`narration_quality`) and their per-model aggregates.
//!
//! Rates are averaged in SQL: `AVG` skips NULLs, so an unknown check (a narration too short
//! to detect its language) counts neither way, and a model with none known gets NULL, never
//! 0. Each average is cast to DOUBLE PRECISION because PostgreSQL averages integers as
//! NUMERIC, which the Any driver does not decode.

use async_trait::async_trait;

use super::Db;
use super::rows::{self, store_error};
use super::stats::calls_filter;
use crate::core::ids::{GuildId, UserId};
use crate::core::quality::{QualityRecord, QualitySummary};
use crate::core::stats::StatsQuery;
use crate::core::store::{QualityStore, StoreResult};

#[async_trait]
impl QualityStore for Db {
    async fn record_quality(&self, r: &QualityRecord) -> StoreResult<()> {
        let c = &r.checks;
        sqlx::query(
            "INSERT INTO narration_quality (message_id, guild_id, campaign_id, session_id, user_id, \
             model, kind, language, language_ok, tag_errors, meta_talk, repetition, budget_use, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(r.message_id.0)
        .bind(r.guild_id.map(GuildId::as_i64))
        .bind(r.campaign_id.0)
        .bind(r.session_id.0)
        .bind(r.user_id.map(UserId::as_i64))
        .bind(r.model.as_str())
        .bind(r.kind.as_str())
        .bind(c.language.map(|l| l.code()))
        .bind(c.language_ok)
        .bind(i64::from(c.tag_errors))
        .bind(c.meta_talk)
        .bind(c.repetition)
        .bind(c.budget_use)
        .bind(r.created_at.0)
        .execute(self.pool())
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn quality_summaries(&self, query: &StatsQuery) -> StoreResult<Vec<QualitySummary>> {
        let f = calls_filter(query);
        let avg = |expr: &str| format!("CAST(AVG({expr}) AS DOUBLE PRECISION)");
        let sql = format!(
            "SELECT model, COUNT(*) AS n, {} AS language_ok_rate, {} AS tag_error_rate, \
             {} AS meta_talk_rate, {} AS repetition_mean, {} AS budget_use_mean \
             FROM narration_quality WHERE {} GROUP BY model ORDER BY model",
            avg("CAST(CAST(language_ok AS INTEGER) AS DOUBLE PRECISION)"),
            avg("CASE WHEN tag_errors > 0 THEN 1 ELSE 0 END"),
            avg("CAST(CAST(meta_talk AS INTEGER) AS DOUBLE PRECISION)"),
            avg("repetition"),
            avg("budget_use"),
            f.sql()
        );
        f.fetch_all(self, sql)
            .await?
            .iter()
            .map(|row| {
                Ok(QualitySummary {
                    model: rows::text(row, "model")?,
                    count: rows::int(row, "n")?.max(0) as u64,
                    language_ok_rate: rows::opt_float(row, "language_ok_rate")?,
                    tag_error_rate: rows::opt_float(row, "tag_error_rate")?,
                    meta_talk_rate: rows::opt_float(row, "meta_talk_rate")?,
                    repetition_mean: rows::opt_float(row, "repetition_mean")?,
                    budget_use_mean: rows::opt_float(row, "budget_use_mean")?,
                })
            })
            .collect()
    }
}
