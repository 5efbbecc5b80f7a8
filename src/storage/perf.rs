use async_trait::async_trait;

use super::Db;
use super::rows::store_error;
use crate::core::ids::{CampaignId, GuildId, SessionId, Timestamp, UserId};
use crate::core::models::perf::PerfRecord;
use crate::core::store::{PerfStore, StoreResult};

#[async_trait]
impl PerfStore for Db {
    async fn record_call(&self, r: &PerfRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO performance_logs (guild_id, campaign_id, session_id, user_id, model, kind, latency_ms, \
             ttft_ms, tokens_in, tokens_out, tokens_estimated, cost_usd, ok, error_kind, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, CASE WHEN $16 = 1 THEN $12 ELSE NULL END, \
             $13, $14, $15)",
        )
        .bind(r.guild_id.map(GuildId::as_i64))
        .bind(r.campaign_id.map(|c: CampaignId| c.0))
        .bind(r.session_id.map(|s: SessionId| s.0))
        .bind(r.user_id.map(UserId::as_i64))
        .bind(r.model.as_str())
        .bind(r.kind.as_str())
        .bind(r.latency_ms)
        .bind(r.ttft_ms)
        .bind(r.tokens_in)
        .bind(r.tokens_out)
        .bind(r.tokens_estimated)
        .bind(r.cost_usd.unwrap_or(0.0))
        .bind(r.ok)
        .bind(r.error_kind.clone())
        .bind(r.created_at.0)
        .bind(i64::from(r.cost_usd.is_some()))
        .execute(self.pool())
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn guild_spend_since(&self, guild: GuildId, since: Timestamp) -> StoreResult<f64> {
        let spent: Option<f64> = sqlx::query_scalar(
            "SELECT SUM(cost_usd) FROM performance_logs WHERE guild_id = $1 AND created_at >= $2",
        )
        .bind(guild.as_i64())
        .bind(since.0)
        .fetch_one(self.pool())
        .await
        .map_err(store_error)?;
        Ok(spent.unwrap_or(0.0))
    }
}
