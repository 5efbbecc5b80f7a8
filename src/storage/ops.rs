use async_trait::async_trait;

use super::Db;
use super::rows::store_error;
use crate::core::ids::{GuildId, Timestamp};
use crate::core::models::activity::CallPoint;
use crate::core::store::{OpsStore, StoreError, StoreResult};

#[async_trait]
impl OpsStore for Db {
    fn database_engine(&self) -> &'static str {
        self.backend.name()
    }

    async fn database_size(&self) -> StoreResult<i64> {
        self.size_bytes().await
    }

    async fn health_check(&self) -> StoreResult<()> {
        if let Some(file) = &self.file {
            let now = super::FileIdentity::of(file);
            if now.is_none() || now != self.file_identity {
                return Err(StoreError::Unavailable(format!(
                    "the SQLite file {} is missing (removed or replaced since the bot opened it)",
                    file.display()
                )));
            }
        }
        self.ping().await
    }

    async fn calls_since(
        &self,
        since: Timestamp,
        guild: Option<GuildId>,
    ) -> StoreResult<Vec<CallPoint>> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            // `ok` is an INTEGER in SQLite and a BOOLEAN in PostgreSQL: read both as a number.
            "SELECT model, CASE WHEN ok THEN 1 ELSE 0 END, created_at FROM performance_logs \
             WHERE created_at >= $1 AND ($2 IS NULL OR guild_id = $2) ORDER BY created_at",
        )
        .bind(since.0)
        .bind(guild.map(GuildId::as_i64))
        .fetch_all(self.pool())
        .await
        .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .map(|(model, ok, at)| CallPoint {
                model,
                ok: ok != 0,
                created_at: Timestamp(at),
            })
            .collect())
    }
}
