use async_trait::async_trait;
use sqlx::any::AnyRow;

use super::rows::{self, store_error};
use super::{Backend, Db};
use crate::core::game::transcript::{MessageRole, MessageStatus, NewMessage, StoredMessage};
use crate::core::ids::{
    CampaignId, CharacterId, DiscordMessageId, MessageId, SessionId, Timestamp, UserId,
};
use crate::core::store::{MessageStore, StoreError, StoreResult};
use sqlx::AssertSqlSafe;

const COLUMNS: &str = "id, session_id, campaign_id, author_id, character_id, role, content, model, status, \
     discord_message_id, created_at, author_name";

fn message_from_row(row: &AnyRow) -> StoreResult<StoredMessage> {
    MessageColumns::from_row(row)?.into_message()
}

/// A message's columns in `COLUMNS` order, as a row holds them or as the JSON array that
/// SQLite's story window is read as (serde reads a struct from an array field by field).
#[derive(serde::Deserialize)]
struct MessageColumns {
    id: i64,
    session_id: i64,
    campaign_id: i64,
    author_id: Option<i64>,
    character_id: Option<i64>,
    role: String,
    content: String,
    model: Option<String>,
    status: String,
    discord_message_id: Option<i64>,
    created_at: i64,
    author_name: Option<String>,
}

impl MessageColumns {
    fn from_row(row: &AnyRow) -> StoreResult<MessageColumns> {
        Ok(MessageColumns {
            id: rows::int(row, "id")?,
            session_id: rows::int(row, "session_id")?,
            campaign_id: rows::int(row, "campaign_id")?,
            author_id: rows::opt_int(row, "author_id")?,
            character_id: rows::opt_int(row, "character_id")?,
            role: rows::text(row, "role")?,
            content: rows::text(row, "content")?,
            model: rows::opt_text(row, "model")?,
            status: rows::text(row, "status")?,
            discord_message_id: rows::opt_int(row, "discord_message_id")?,
            created_at: rows::int(row, "created_at")?,
            author_name: rows::opt_text(row, "author_name")?,
        })
    }

    fn into_message(self) -> StoreResult<StoredMessage> {
        Ok(StoredMessage {
            id: MessageId(self.id),
            session_id: SessionId(self.session_id),
            campaign_id: CampaignId(self.campaign_id),
            author_id: self.author_id.map(UserId::from_i64),
            character_id: self.character_id.map(CharacterId),
            role: MessageRole::parse(&self.role)
                .ok_or_else(|| rows::corrupt("role", &self.role))?,
            content: self.content,
            model: self.model,
            status: MessageStatus::parse(&self.status)
                .ok_or_else(|| rows::corrupt("status", &self.status))?,
            discord_message_id: self.discord_message_id.map(DiscordMessageId::from_i64),
            created_at: Timestamp(self.created_at),
            author_name: self.author_name,
        })
    }
}

impl Db {
    /// SQLite's story window as one JSON row. sqlx hands a SQLite connection's rows over from
    /// its own thread one at a time, and each hand-off wakes the reading task: about 3 µs a
    /// row here, most of the turn's context read. One row is one hand-off; SQLite builds the
    /// JSON and serde reads it back in a fraction of that.
    async fn story_tail_in_one_row(
        &self,
        session: SessionId,
        after: Option<MessageId>,
        limit: u32,
    ) -> StoreResult<Vec<StoredMessage>> {
        // The limit is written into the statement, not bound: SQLite plans with the value bound
        // to a `LIMIT ?`, so binding it again (every call binds every parameter) expires the
        // prepared statement, and every turn compiled this query anew. An integer cannot inject.
        let sql = format!(
            "SELECT json_group_array(json_array({COLUMNS}) ORDER BY id) FROM \
             (SELECT {COLUMNS} FROM messages WHERE session_id = $1 AND id > $2 \
              AND status NOT IN ('superseded', 'failed') ORDER BY id DESC LIMIT {limit})"
        );
        let json: String = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(session.0)
            .bind(after.map_or(0, |m| m.0))
            .fetch_one(self.pool())
            .await
            .map_err(store_error)?;
        let columns: Vec<MessageColumns> =
            serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        columns
            .into_iter()
            .map(MessageColumns::into_message)
            .collect()
    }
}

#[async_trait]
impl MessageStore for Db {
    async fn append_message(&self, new: &NewMessage) -> StoreResult<StoredMessage> {
        let sql = format!(
            "INSERT INTO messages (session_id, campaign_id, author_id, character_id, role, content, model, status, \
             discord_message_id, created_at, author_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(new.session_id.0)
            .bind(new.campaign_id.0)
            .bind(new.author_id.map(UserId::as_i64))
            .bind(new.character_id.map(|c| c.0))
            .bind(new.role.as_str())
            .bind(new.content.as_str())
            .bind(new.model.clone())
            .bind(new.status.as_str())
            .bind(new.discord_message_id.map(DiscordMessageId::as_i64))
            .bind(Timestamp::now().0)
            .bind(new.author_name.clone())
            .fetch_one(self.pool())
            .await
            .map_err(store_error)?;
        message_from_row(&row)
    }

    async fn message(&self, id: MessageId) -> StoreResult<Option<StoredMessage>> {
        let sql = format!("SELECT {COLUMNS} FROM messages WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(self.pool())
            .await
            .map_err(store_error)?;
        row.as_ref().map(message_from_row).transpose()
    }

    async fn update_message(
        &self,
        id: MessageId,
        content: &str,
        status: MessageStatus,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE messages SET content = $1, status = $2 WHERE id = $3")
            .bind(content)
            .bind(status.as_str())
            .bind(id.0)
            .execute(self.pool())
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn set_discord_message_id(
        &self,
        id: MessageId,
        discord: DiscordMessageId,
    ) -> StoreResult<()> {
        rows::set_column(
            self.pool(),
            "messages",
            "discord_message_id",
            id.0,
            discord.as_i64(),
        )
        .await?;
        Ok(())
    }

    async fn story_tail(
        &self,
        session: SessionId,
        after: Option<MessageId>,
        limit: u32,
    ) -> StoreResult<Vec<StoredMessage>> {
        if self.backend() == Backend::Sqlite {
            return self.story_tail_in_one_row(session, after, limit).await;
        }
        // Newest first through the (session_id, id) index, so the cost follows `limit`, not the
        // length of the whole story.
        let sql = format!(
            "SELECT {COLUMNS} FROM messages WHERE session_id = $1 AND id > $2 \
             AND status NOT IN ('superseded', 'failed') ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(session.0)
            .bind(after.map_or(0, |m| m.0))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
            .map_err(store_error)?;
        let mut messages = rows
            .iter()
            .map(message_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        messages.reverse();
        Ok(messages)
    }

    async fn all_messages(&self, session: SessionId) -> StoreResult<Vec<StoredMessage>> {
        let sql = format!("SELECT {COLUMNS} FROM messages WHERE session_id = $1 ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(session.0)
            .fetch_all(self.pool())
            .await
            .map_err(store_error)?;
        rows.iter().map(message_from_row).collect()
    }

    async fn interrupt_streaming(&self) -> StoreResult<u64> {
        let done =
            sqlx::query("UPDATE messages SET status = 'interrupted' WHERE status = 'streaming'")
                .execute(self.pool())
                .await
                .map_err(store_error)?;
        Ok(done.rows_affected())
    }

    async fn interrupt_streaming_in(&self, session: SessionId) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE messages SET status = 'interrupted' WHERE status = 'streaming' AND session_id = $1",
        )
        .bind(session.0)
        .execute(self.pool())
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected())
    }

    async fn finish_message(
        &self,
        id: MessageId,
        content: &str,
        status: MessageStatus,
        discord: Option<DiscordMessageId>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE messages SET content = $1, status = $2, \
             discord_message_id = COALESCE($3, discord_message_id) WHERE id = $4",
        )
        .bind(content)
        .bind(status.as_str())
        .bind(discord.map(|d| d.as_i64()))
        .bind(id.0)
        .execute(self.pool())
        .await
        .map_err(store_error)?;
        Ok(())
    }
}
