use async_trait::async_trait;
use sqlx::any::AnyRow;

use super::Db;
use super::rows::{self, store_error};
use crate::core::game::session::{Session, SessionStatus};
use crate::core::ids::{CampaignId, ChannelId, GuildId, MessageId, SessionId, Timestamp, UserId};
use crate::core::store::{SessionStore, StoreError, StoreResult};
use sqlx::AssertSqlSafe;

const COLUMNS: &str = "id, campaign_id, guild_id, channel_id, started_by, status, summary, \
     summary_through_message_id, started_at, ended_at";

fn session_from_row(row: &AnyRow) -> StoreResult<Session> {
    Ok(Session {
        id: SessionId(rows::int(row, "id")?),
        campaign_id: CampaignId(rows::int(row, "campaign_id")?),
        guild_id: rows::opt_int(row, "guild_id")?.map(GuildId::from_i64),
        channel_id: ChannelId::from_i64(rows::int(row, "channel_id")?),
        started_by: rows::opt_int(row, "started_by")?.map(UserId::from_i64),
        status: rows::parsed(row, "status", |raw| SessionStatus::parse(raw).ok_or(()))?,
        summary: rows::text(row, "summary")?,
        summary_through: rows::opt_int(row, "summary_through_message_id")?.map(MessageId),
        started_at: Timestamp(rows::int(row, "started_at")?),
        ended_at: rows::opt_int(row, "ended_at")?.map(Timestamp),
    })
}

impl Db {
    async fn sessions_where(&self, clause: &str, binds: &[i64]) -> StoreResult<Vec<Session>> {
        let sql = format!("SELECT {COLUMNS} FROM sessions WHERE {clause} ORDER BY id");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for b in binds {
            query = query.bind(*b);
        }
        let rows = query.fetch_all(self.pool()).await.map_err(store_error)?;
        rows.iter().map(session_from_row).collect()
    }
}

#[async_trait]
impl SessionStore for Db {
    async fn start_session(
        &self,
        campaign: CampaignId,
        guild: Option<GuildId>,
        channel: ChannelId,
        started_by: Option<UserId>,
    ) -> StoreResult<Session> {
        let sql = format!(
            "INSERT INTO sessions (campaign_id, guild_id, channel_id, started_by, status, summary, started_at) \
             VALUES ($1, $2, $3, $4, 'active', '', $5) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(campaign.0)
            .bind(guild.map(GuildId::as_i64))
            .bind(channel.as_i64())
            .bind(started_by.map(UserId::as_i64))
            .bind(Timestamp::now().0)
            .fetch_one(self.pool())
            .await
            .map_err(|e| {
                if rows::is_unique_violation(&e) {
                    StoreError::Conflict("A session is already running in this channel.".into())
                } else {
                    store_error(e)
                }
            })?;
        session_from_row(&row)
    }

    async fn session(&self, id: SessionId) -> StoreResult<Option<Session>> {
        Ok(self.sessions_where("id = $1", &[id.0]).await?.pop())
    }

    async fn active_session(&self, channel: ChannelId) -> StoreResult<Option<Session>> {
        Ok(self
            .sessions_where("channel_id = $1 AND status = 'active'", &[channel.as_i64()])
            .await?
            .pop())
    }

    async fn active_sessions(&self) -> StoreResult<Vec<Session>> {
        self.sessions_where("status = 'active'", &[]).await
    }

    async fn end_session(&self, id: SessionId) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE sessions SET status = 'ended', ended_at = $1 WHERE id = $2 AND status = 'active'")
            .bind(Timestamp::now().0)
            .bind(id.0)
            .execute(self.pool())
            .await
            .map_err(store_error)?;
        Ok(self.changed(done.rows_affected() > 0))
    }

    async fn update_summary(
        &self,
        id: SessionId,
        summary: &str,
        through: MessageId,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE sessions SET summary = $1, summary_through_message_id = $2 WHERE id = $3",
        )
        .bind(summary)
        .bind(through.0)
        .bind(id.0)
        .execute(self.pool())
        .await
        .map_err(store_error)?;
        self.changed(());
        Ok(())
    }
}
