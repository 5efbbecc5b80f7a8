//! Token buckets in one table. Each take is one UPDATE that refills and takes together, so
//! concurrent requests (and other shard processes) cannot both take the last token.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::AssertSqlSafe;

use super::Db;
use super::rows::store_error;
use crate::core::ids::Timestamp;
use crate::core::limits::{LimitStore, Rate};
use crate::core::store::StoreResult;

/// Milliseconds since the bucket was last touched ($1 is now); never negative, so a process
/// whose clock is behind another's gives no tokens back.
const ELAPSED: &str = "(CASE WHEN $1 > updated_at THEN $1 - updated_at ELSE 0 END)";

/// The bucket's tokens after its refill: $2 tokens (its size) per $3 milliseconds. Multiplying
/// before dividing keeps whole results exact (20 s of a 3-per-minute bucket is 1.0, not 0.99..).
fn refilled() -> String {
    format!(
        "(CASE WHEN tokens + {ELAPSED} * $2 / $3 > $2 THEN $2 ELSE tokens + {ELAPSED} * $2 / $3 END)"
    )
}

#[async_trait]
impl LimitStore for Db {
    async fn take_token(
        &self,
        key: &str,
        rate: Rate,
        now: Timestamp,
    ) -> StoreResult<Option<Duration>> {
        let size = f64::from(rate.count);
        sqlx::query(
            "INSERT INTO rate_buckets (rate_key, tokens, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (rate_key) DO NOTHING",
        )
        .bind(key)
        .bind(size)
        .bind(now.0)
        .execute(self.pool())
        .await
        .map_err(store_error)?;
        let refilled = refilled();
        let take = format!(
            "UPDATE rate_buckets SET tokens = {refilled} - 1, \
             updated_at = CASE WHEN $1 > updated_at THEN $1 ELSE updated_at END \
             WHERE rate_key = $4 AND {refilled} >= 1"
        );
        let period_ms = rate.period.as_millis().max(1) as f64;
        let taken = sqlx::query(AssertSqlSafe(take))
            .bind(now.0)
            .bind(size)
            .bind(period_ms)
            .bind(key)
            .execute(self.pool())
            .await
            .map_err(store_error)?;
        if taken.rows_affected() > 0 {
            return Ok(None);
        }
        let (tokens, updated_at): (f64, i64) =
            sqlx::query_as("SELECT tokens, updated_at FROM rate_buckets WHERE rate_key = $1")
                .bind(key)
                .fetch_one(self.pool())
                .await
                .map_err(store_error)?;
        let elapsed = (now.0 - updated_at).max(0) as f64;
        let have = (tokens + elapsed * size / period_ms).min(size);
        let wait_ms = ((1.0 - have) * period_ms / size).round().max(1.0);
        Ok(Some(Duration::from_millis(wait_ms as u64)))
    }

    async fn return_token(&self, key: &str, rate: Rate) -> StoreResult<()> {
        sqlx::query(
            "UPDATE rate_buckets SET tokens = CASE WHEN tokens + 1 > $1 THEN $1 ELSE tokens + 1 END \
             WHERE rate_key = $2",
        )
        .bind(f64::from(rate.count))
        .bind(key)
        .execute(self.pool())
        .await
        .map_err(store_error)?;
        Ok(())
    }
}
