use async_trait::async_trait;
use sqlx::any::AnyRow;

use super::Db;
use super::rows::{self, store_error};
use crate::core::game::vote::{ArenaBattle, ArenaChoice, Rating};
use crate::core::ids::{BattleId, GuildId, MessageId, SessionId, Timestamp, UserId};
use crate::core::store::{StoreResult, VoteStore};
use sqlx::AssertSqlSafe;

const BATTLE_COLUMNS: &str = "id, session_id, guild_id, model_a, model_b, message_a_id, message_b_id, winner, \
     decided_at, created_at, closes_at, settled_at";

fn battle_from_row(row: &AnyRow) -> StoreResult<ArenaBattle> {
    Ok(ArenaBattle {
        id: BattleId(rows::int(row, "id")?),
        session_id: SessionId(rows::int(row, "session_id")?),
        guild_id: rows::opt_int(row, "guild_id")?.map(GuildId::from_i64),
        model_a: rows::text(row, "model_a")?,
        model_b: rows::text(row, "model_b")?,
        message_a_id: rows::opt_int(row, "message_a_id")?.map(MessageId),
        message_b_id: rows::opt_int(row, "message_b_id")?.map(MessageId),
        winner: rows::opt_parsed(row, "winner", |raw| ArenaChoice::parse(raw).ok_or(()))?,
        decided_at: rows::opt_int(row, "decided_at")?.map(Timestamp),
        created_at: Timestamp(rows::int(row, "created_at")?),
        closes_at: rows::opt_int(row, "closes_at")?.map(Timestamp),
        settled_at: rows::opt_int(row, "settled_at")?.map(Timestamp),
    })
}

#[async_trait]
impl VoteStore for Db {
    async fn set_rating(
        &self,
        message: MessageId,
        voter: UserId,
        rating: Rating,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO ratings (message_id, voter_id, value, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (message_id, voter_id) DO UPDATE SET value = excluded.value, created_at = excluded.created_at",
        )
        .bind(message.0)
        .bind(voter.as_i64())
        .bind(rating.value())
        .bind(Timestamp::now().0)
        .execute(self.pool())
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn rating_counts(&self, message: MessageId) -> StoreResult<(u64, u64)> {
        let row = sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN value > 0 THEN 1 ELSE 0 END), 0) AS up, \
             COALESCE(SUM(CASE WHEN value < 0 THEN 1 ELSE 0 END), 0) AS down FROM ratings WHERE message_id = $1",
        )
        .bind(message.0)
        .fetch_one(self.pool())
        .await
        .map_err(store_error)?;
        Ok((
            rows::int(&row, "up")?.max(0) as u64,
            rows::int(&row, "down")?.max(0) as u64,
        ))
    }

    async fn create_battle(
        &self,
        session: SessionId,
        guild: Option<GuildId>,
        model_a: &str,
        model_b: &str,
        message_a: MessageId,
        message_b: MessageId,
    ) -> StoreResult<ArenaBattle> {
        let sql = format!(
            "INSERT INTO arena_battles (session_id, guild_id, model_a, model_b, message_a_id, message_b_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {BATTLE_COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(session.0)
            .bind(guild.map(GuildId::as_i64))
            .bind(model_a)
            .bind(model_b)
            .bind(message_a.0)
            .bind(message_b.0)
            .bind(Timestamp::now().0)
            .fetch_one(self.pool())
            .await
            .map_err(store_error)?;
        battle_from_row(&row)
    }

    async fn battle(&self, id: BattleId) -> StoreResult<Option<ArenaBattle>> {
        let sql = format!("SELECT {BATTLE_COLUMNS} FROM arena_battles WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(self.pool())
            .await
            .map_err(store_error)?;
        row.as_ref().map(battle_from_row).transpose()
    }

    async fn arena_vote(
        &self,
        battle: BattleId,
        voter: UserId,
        choice: ArenaChoice,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO arena_votes (battle_id, voter_id, choice, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (battle_id, voter_id) DO NOTHING",
        )
        .bind(battle.0)
        .bind(voter.as_i64())
        .bind(choice.as_str())
        .bind(Timestamp::now().0)
        .execute(self.pool())
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn arena_votes(&self, battle: BattleId) -> StoreResult<Vec<(UserId, ArenaChoice)>> {
        let rows = sqlx::query(
            "SELECT voter_id, choice FROM arena_votes WHERE battle_id = $1 ORDER BY id",
        )
        .bind(battle.0)
        .fetch_all(self.pool())
        .await
        .map_err(store_error)?;
        rows.iter()
            .map(|row| {
                Ok((
                    UserId::from_i64(rows::int(row, "voter_id")?),
                    rows::parsed(row, "choice", |raw| ArenaChoice::parse(raw).ok_or(()))?,
                ))
            })
            .collect()
    }

    async fn decide_battle(&self, battle: BattleId, winner: ArenaChoice) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE arena_battles SET winner = $1, decided_at = $2 WHERE id = $3 AND winner IS NULL",
        )
        .bind(winner.as_str())
        .bind(Timestamp::now().0)
        .bind(battle.0)
        .execute(self.pool())
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_arena_vote(
        &self,
        battle: BattleId,
        voter: UserId,
        choice: ArenaChoice,
    ) -> StoreResult<Option<ArenaChoice>> {
        let previous =
            sqlx::query("SELECT choice FROM arena_votes WHERE battle_id = $1 AND voter_id = $2")
                .bind(battle.0)
                .bind(voter.as_i64())
                .fetch_optional(self.pool())
                .await
                .map_err(store_error)?;
        let previous = previous
            .as_ref()
            .map(|row| rows::parsed(row, "choice", |raw| ArenaChoice::parse(raw).ok_or(())))
            .transpose()?;
        sqlx::query(
            "INSERT INTO arena_votes (battle_id, voter_id, choice, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (battle_id, voter_id) DO UPDATE SET choice = excluded.choice, created_at = excluded.created_at",
        )
        .bind(battle.0)
        .bind(voter.as_i64())
        .bind(choice.as_str())
        .bind(Timestamp::now().0)
        .execute(self.pool())
        .await
        .map_err(store_error)?;
        Ok(previous)
    }

    async fn open_battle_vote(&self, battle: BattleId, closes_at: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE arena_battles SET closes_at = $1 WHERE id = $2")
            .bind(closes_at.0)
            .bind(battle.0)
            .execute(self.pool())
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn settle_battle(&self, battle: BattleId) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE arena_battles SET settled_at = $1 WHERE id = $2 AND settled_at IS NULL",
        )
        .bind(Timestamp::now().0)
        .bind(battle.0)
        .execute(self.pool())
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn unsettled_battles(&self, session: SessionId) -> StoreResult<Vec<ArenaBattle>> {
        let sql = format!(
            "SELECT {BATTLE_COLUMNS} FROM arena_battles \
             WHERE session_id = $1 AND settled_at IS NULL AND closes_at IS NOT NULL ORDER BY id"
        );
        let found = sqlx::query(AssertSqlSafe(sql))
            .bind(session.0)
            .fetch_all(self.pool())
            .await
            .map_err(store_error)?;
        found.iter().map(battle_from_row).collect()
    }

    async fn is_party_member(&self, session: SessionId, user: UserId) -> StoreResult<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM messages WHERE session_id = $1 AND author_id = $2 \
             UNION ALL SELECT 1 FROM characters c JOIN sessions s ON c.campaign_id = s.campaign_id \
             WHERE s.id = $1 AND c.owner_id = $2 LIMIT 1",
        )
        .bind(session.0)
        .bind(user.as_i64())
        .fetch_optional(self.pool())
        .await
        .map_err(store_error)?;
        Ok(found.is_some())
    }
}
