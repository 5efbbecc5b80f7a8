use async_trait::async_trait;
use sqlx::any::AnyRow;

use super::Db;
use super::rows::{self, store_error};
use crate::core::accounts::account::{Account, DiscordLink};
use crate::core::accounts::auth::bcrypt_cost;
use crate::core::ids::{AccountId, Timestamp, UserId};
use crate::core::store::{AccountStore, StoreError, StoreResult};
use sqlx::AssertSqlSafe;
use std::time::Duration;

const COLUMNS: &str = "id, email, password_hash, failed_logins, locked_until, legacy_user_id, legacy_email, created_at, last_login_at";

/// The failure count after this attempt ($1 now, $2 the start of the window): a lock in force
/// keeps counting; after an expired lock, or a failure older than the window, it starts again.
const NEXT_FAILURE_COUNT: &str = "CASE \
    WHEN locked_until IS NOT NULL AND locked_until > $1 THEN failed_logins + 1 \
    WHEN locked_until IS NOT NULL OR last_failed_at IS NULL OR last_failed_at <= $2 THEN 1 \
    ELSE failed_logins + 1 END";

fn account_from_row(row: &AnyRow) -> StoreResult<Account> {
    Ok(Account {
        id: AccountId(rows::int(row, "id")?),
        email: rows::text(row, "email")?,
        password_hash: rows::text(row, "password_hash")?,
        failed_logins: rows::int(row, "failed_logins")?,
        locked_until: rows::opt_int(row, "locked_until")?.map(Timestamp),
        legacy_user_id: rows::opt_int(row, "legacy_user_id")?,
        legacy_email: rows::opt_text(row, "legacy_email")?,
        created_at: Timestamp(rows::int(row, "created_at")?),
        last_login_at: rows::opt_int(row, "last_login_at")?.map(Timestamp),
    })
}

fn link_from_row(row: &AnyRow) -> StoreResult<DiscordLink> {
    Ok(DiscordLink {
        discord_user_id: UserId::from_i64(rows::int(row, "discord_user_id")?),
        account_id: AccountId(rows::int(row, "account_id")?),
        linked_at: Timestamp(rows::int(row, "linked_at")?),
    })
}

#[async_trait]
impl AccountStore for Db {
    async fn create_account(&self, email: &str, password_hash: &str) -> StoreResult<Account> {
        let sql = format!(
            "INSERT INTO accounts (email, password_hash, failed_logins, created_at) VALUES ($1, $2, 0, $3) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(email)
            .bind(password_hash)
            .bind(Timestamp::now().0)
            .fetch_one(self.pool())
            .await
            .map_err(|e| {
                if rows::is_unique_violation(&e) {
                    StoreError::Conflict("An account with that email already exists.".into())
                } else {
                    store_error(e)
                }
            })?;
        account_from_row(&row)
    }

    async fn account(&self, id: AccountId) -> StoreResult<Option<Account>> {
        let sql = format!("SELECT {COLUMNS} FROM accounts WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(self.pool())
            .await
            .map_err(store_error)?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn account_by_email(&self, email: &str) -> StoreResult<Option<Account>> {
        let sql = format!("SELECT {COLUMNS} FROM accounts WHERE email = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(email)
            .fetch_optional(self.pool())
            .await
            .map_err(store_error)?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn set_password_hash(&self, id: AccountId, hash: &str) -> StoreResult<()> {
        rows::set_column(
            self.pool(),
            "accounts",
            "password_hash",
            id.0,
            hash.to_string(),
        )
        .await?;
        Ok(())
    }

    async fn accounts_for_login(&self, email: &str) -> StoreResult<Vec<Account>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM accounts WHERE email = $1 OR legacy_email = $1 \
             ORDER BY CASE WHEN email = $1 THEN 0 ELSE 1 END, id"
        );
        let found = sqlx::query(AssertSqlSafe(sql))
            .bind(email)
            .fetch_all(self.pool())
            .await
            .map_err(store_error)?;
        found.iter().map(account_from_row).collect()
    }

    async fn legacy_hash_cost(&self) -> StoreResult<Option<u32>> {
        let hash: Option<String> = sqlx::query_scalar(
            "SELECT password_hash FROM accounts WHERE password_hash LIKE $1 LIMIT 1",
        )
        .bind("$2%")
        .fetch_optional(self.pool())
        .await
        .map_err(store_error)?;
        Ok(hash.as_deref().and_then(bcrypt_cost))
    }

    async fn reserve_login(
        &self,
        id: AccountId,
        now: Timestamp,
        window: Duration,
        lock_after: i64,
    ) -> StoreResult<bool> {
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX / 4);
        let sql = format!(
            "UPDATE accounts SET failed_logins = {NEXT_FAILURE_COUNT}, \
             locked_until = CASE WHEN locked_until IS NOT NULL AND locked_until > $1 THEN locked_until \
                 WHEN {NEXT_FAILURE_COUNT} >= $4 THEN $3 ELSE NULL END, \
             last_failed_at = $1 \
             WHERE id = $5 RETURNING failed_logins"
        );
        let failures: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(now.0)
            .bind(now.0 - window_ms)
            .bind(now.0 + window_ms)
            .bind(lock_after)
            .bind(id.0)
            .fetch_one(self.pool())
            .await
            .map_err(store_error)?;
        Ok(failures <= lock_after)
    }

    async fn record_login(&self, id: AccountId, at: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE accounts SET failed_logins = 0, locked_until = NULL, last_failed_at = NULL, last_login_at = $1 WHERE id = $2")
            .bind(at.0)
            .bind(id.0)
            .execute(self.pool())
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn link_discord(&self, user: UserId, account: AccountId) -> StoreResult<DiscordLink> {
        let row = sqlx::query(
            "INSERT INTO discord_links (discord_user_id, account_id, linked_at) VALUES ($1, $2, $3) \
             ON CONFLICT (discord_user_id) DO UPDATE SET account_id = excluded.account_id, linked_at = excluded.linked_at \
             RETURNING discord_user_id, account_id, linked_at",
        )
        .bind(user.as_i64())
        .bind(account.0)
        .bind(Timestamp::now().0)
        .fetch_one(self.pool())
        .await
        .map_err(store_error)?;
        link_from_row(&row)
    }

    async fn discord_link(&self, user: UserId) -> StoreResult<Option<DiscordLink>> {
        let row = sqlx::query("SELECT discord_user_id, account_id, linked_at FROM discord_links WHERE discord_user_id = $1")
            .bind(user.as_i64())
            .fetch_optional(self.pool())
            .await
            .map_err(store_error)?;
        row.as_ref().map(link_from_row).transpose()
    }

    async fn unlink_discord(&self, user: UserId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM discord_links WHERE discord_user_id = $1")
            .bind(user.as_i64())
            .execute(self.pool())
            .await
            .map_err(store_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_account(&self, id: AccountId) -> StoreResult<bool> {
        rows::delete_by_id(self.pool(), "accounts", id.0).await
    }

    async fn reserve_attempt(&self, user: UserId, since: Timestamp) -> StoreResult<u64> {
        sqlx::query(
            "INSERT INTO login_attempts (discord_user_id, ok, created_at) VALUES ($1, $2, $3)",
        )
        .bind(user.as_i64())
        .bind(false)
        .bind(Timestamp::now().0)
        .execute(self.pool())
        .await
        .map_err(store_error)?;
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM login_attempts WHERE discord_user_id = $1 AND created_at >= $2",
        )
        .bind(user.as_i64())
        .bind(since.0)
        .fetch_one(self.pool())
        .await
        .map_err(store_error)?;
        Ok(count.max(0) as u64)
    }

    async fn settle_attempt(&self, user: UserId) -> StoreResult<()> {
        sqlx::query(
            "UPDATE login_attempts SET ok = $1 WHERE id = \
             (SELECT MAX(id) FROM login_attempts WHERE discord_user_id = $2)",
        )
        .bind(true)
        .bind(user.as_i64())
        .execute(self.pool())
        .await
        .map_err(store_error)?;
        Ok(())
    }
}
