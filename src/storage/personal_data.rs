//! A person's rows across tables: export, erasure and adoption of imported records.

use std::collections::HashSet;

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::Db;
use super::rows::{self, store_error};
use crate::core::accounts::account::DiscordLink;
use crate::core::accounts::personal_data::{
    Adoption, Erasure, ExportedAccount, ExportedArenaVote, ExportedCall, ExportedCampaign,
    ExportedCharacter, ExportedJournalEntry, ExportedLink, ExportedLoginAttempt, ExportedMessage,
    ExportedNarrationCheck, ExportedRating, ExportedSheetChange, Person, PersonalData,
    adopted_name, exported_guild, exported_id,
};
use crate::core::ids::{AccountId, GuildId, Timestamp, UserId};
use crate::core::store::{PersonalDataStore, StoreError, StoreResult};
use crate::core::text::name_key;

/// The integer parameters of one statement, numbered as they are added (`$1`, `$2` ...), so
/// every bound value is used exactly once (PostgreSQL refuses unused parameters).
struct Params(Vec<i64>);

impl Params {
    fn new() -> Params {
        Params(Vec::new())
    }

    fn one(&mut self, value: i64) -> String {
        self.0.push(value);
        format!("${}", self.0.len())
    }

    /// `($n, $n+1, ...)` for a list of users (never empty: a person has at least one).
    fn users(&mut self, users: &[UserId]) -> String {
        let list: Vec<String> = users.iter().map(|u| self.one(u.as_i64())).collect();
        format!("({})", list.join(", "))
    }

    /// Rows of the person: their account's, or any of their Discord users'.
    fn owned(&mut self, person: &Person, account_col: &str, user_col: &str) -> String {
        // No row has id -1: an unlinked person matches on Discord users only.
        let account = self.one(person.account.map_or(-1, |a| a.0));
        let users = self.users(&person.users);
        format!("({account_col} = {account} OR {user_col} IN {users})")
    }

    fn query(self, sql: String) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for v in self.0 {
            q = q.bind(v);
        }
        q
    }
}

fn snowflake(row: &AnyRow, col: &str) -> StoreResult<Option<String>> {
    Ok(rows::opt_int(row, col)?.map(|v| exported_id(UserId::from_i64(v))))
}

fn guild(row: &AnyRow, col: &str) -> StoreResult<Option<String>> {
    Ok(rows::opt_int(row, col)?.map(|v| exported_guild(GuildId::from_i64(v))))
}

/// Characters of the person, as a sub-select (for their messages).
/// Journal entries and sheet corrections stay with their campaign, without their author.
async fn anonymise_party_records(
    conn: &mut sqlx::AnyConnection,
    person: &Person,
) -> StoreResult<()> {
    for table in [
        "journal_entries SET author_id = NULL WHERE author_id",
        "state_changes SET user_id = NULL WHERE user_id",
    ] {
        let mut p = Params::new();
        let users = p.users(&person.users);
        let sql = format!("UPDATE {table} IN {users}");
        p.query(sql)
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
    }
    Ok(())
}

fn characters_of(p: &mut Params, person: &Person) -> String {
    let owned = p.owned(person, "account_id", "owner_id");
    format!("SELECT id FROM characters WHERE {owned}")
}

impl Db {
    async fn fetch(&self, sql: String, params: Params) -> StoreResult<Vec<AnyRow>> {
        params
            .query(sql)
            .fetch_all(self.pool())
            .await
            .map_err(store_error)
    }

    /// The rows of `sql`, each decoded by `decode`.
    async fn decoded<T>(
        &self,
        sql: String,
        params: Params,
        decode: impl Fn(&AnyRow) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        self.fetch(sql, params).await?.iter().map(decode).collect()
    }

    async fn exported_account(&self, person: &Person) -> StoreResult<Option<ExportedAccount>> {
        Ok(match person.account {
            Some(id) => {
                let mut p = Params::new();
                let sql = format!(
                    "SELECT id, email, created_at, last_login_at, failed_logins, locked_until, legacy_user_id, \
                     legacy_email, last_failed_at FROM accounts WHERE id = {}",
                    p.one(id.0)
                );
                let rows = self.fetch(sql, p).await?;
                rows.first()
                    .map(|row| -> StoreResult<ExportedAccount> {
                        Ok(ExportedAccount {
                            id: rows::int(row, "id")?,
                            email: rows::text(row, "email")?,
                            created_at: Timestamp(rows::int(row, "created_at")?),
                            last_login_at: rows::opt_int(row, "last_login_at")?.map(Timestamp),
                            failed_logins: rows::int(row, "failed_logins")?,
                            locked_until: rows::opt_int(row, "locked_until")?.map(Timestamp),
                            legacy_user_id: rows::opt_int(row, "legacy_user_id")?,
                            legacy_email: rows::opt_text(row, "legacy_email")?,
                            last_failed_at: rows::opt_int(row, "last_failed_at")?.map(Timestamp),
                        })
                    })
                    .transpose()?
            }
            None => None,
        })
    }

    async fn exported_links(&self, person: &Person) -> StoreResult<Vec<ExportedLink>> {
        let mut p = Params::new();
        let owned = p.owned(person, "account_id", "discord_user_id");
        let sql = format!(
            "SELECT discord_user_id, account_id, linked_at FROM discord_links WHERE {owned} ORDER BY linked_at"
        );
        self.decoded(sql, p, |row| {
            Ok(ExportedLink::from(&DiscordLink {
                discord_user_id: UserId::from_i64(rows::int(row, "discord_user_id")?),
                account_id: AccountId(rows::int(row, "account_id")?),
                linked_at: Timestamp(rows::int(row, "linked_at")?),
            }))
        })
        .await
    }

    async fn exported_characters(&self, person: &Person) -> StoreResult<Vec<ExportedCharacter>> {
        let mut p = Params::new();
        let owned = p.owned(person, "account_id", "owner_id");
        let sql = format!(
            "SELECT c.id, c.guild_id, c.campaign_id, c.owner_id, c.name, c.class, c.race, c.gender, c.level, \
             c.description, s.sheet, c.created_at \
             FROM characters c LEFT JOIN character_sheets s ON s.character_id = c.id WHERE {owned} ORDER BY c.id"
        );
        self.decoded(sql, p, |row| {
            Ok(ExportedCharacter {
                id: rows::int(row, "id")?,
                guild_id: guild(row, "guild_id")?,
                campaign_id: rows::opt_int(row, "campaign_id")?,
                owner_id: snowflake(row, "owner_id")?,
                name: rows::text(row, "name")?,
                class: rows::text(row, "class")?,
                race: rows::text(row, "race")?,
                gender: rows::opt_text(row, "gender")?,
                level: rows::int(row, "level")?,
                description: rows::opt_text(row, "description")?,
                sheet: rows::opt_text(row, "sheet")?
                    .map(|text| serde_json::from_str(&text))
                    .transpose()
                    .map_err(|e| StoreError::Corrupt(format!("sheet: {e}")))?,
                created_at: Timestamp(rows::int(row, "created_at")?),
            })
        })
        .await
    }

    async fn exported_campaigns(&self, person: &Person) -> StoreResult<Vec<ExportedCampaign>> {
        let mut p = Params::new();
        let owned = p.owned(person, "account_id", "owner_id");
        let sql = format!(
            "SELECT id, guild_id, owner_id, name, themes, language, tone, model, created_at \
             FROM campaigns WHERE {owned} ORDER BY id"
        );
        self.decoded(sql, p, |row| {
            Ok(ExportedCampaign {
                id: rows::int(row, "id")?,
                guild_id: guild(row, "guild_id")?,
                owner_id: snowflake(row, "owner_id")?,
                name: rows::text(row, "name")?,
                themes: rows::text(row, "themes")?,
                language: rows::text(row, "language")?,
                tone: rows::opt_text(row, "tone")?,
                model: rows::text(row, "model")?,
                created_at: Timestamp(rows::int(row, "created_at")?),
            })
        })
        .await
    }

    async fn exported_messages(&self, person: &Person) -> StoreResult<Vec<ExportedMessage>> {
        let mut p = Params::new();
        let authored = p.owned(person, "account_id", "author_id");
        let theirs = characters_of(&mut p, person);
        let sql = format!(
            "SELECT id, session_id, campaign_id, character_id, role, content, author_name, created_at \
             FROM messages WHERE role = 'user' AND ({authored} OR character_id IN ({theirs})) ORDER BY id"
        );
        self.decoded(sql, p, |row| {
            Ok(ExportedMessage {
                id: rows::int(row, "id")?,
                session_id: rows::int(row, "session_id")?,
                campaign_id: rows::int(row, "campaign_id")?,
                character_id: rows::opt_int(row, "character_id")?,
                role: rows::text(row, "role")?,
                content: rows::text(row, "content")?,
                author_name: rows::opt_text(row, "author_name")?,
                created_at: Timestamp(rows::int(row, "created_at")?),
            })
        })
        .await
    }

    async fn exported_ratings(&self, person: &Person) -> StoreResult<Vec<ExportedRating>> {
        let mut p = Params::new();
        let users = p.users(&person.users);
        let sql = format!(
            "SELECT message_id, value, created_at FROM ratings WHERE voter_id IN {users} ORDER BY id"
        );
        self.decoded(sql, p, |row| {
            Ok(ExportedRating {
                message_id: rows::int(row, "message_id")?,
                value: rows::int(row, "value")?,
                created_at: Timestamp(rows::int(row, "created_at")?),
            })
        })
        .await
    }

    async fn exported_arena_votes(&self, person: &Person) -> StoreResult<Vec<ExportedArenaVote>> {
        let mut p = Params::new();
        let users = p.users(&person.users);
        let sql = format!(
            "SELECT battle_id, choice, created_at FROM arena_votes WHERE voter_id IN {users} ORDER BY id"
        );
        self.decoded(sql, p, |row| {
            Ok(ExportedArenaVote {
                battle_id: rows::int(row, "battle_id")?,
                choice: rows::text(row, "choice")?,
                created_at: Timestamp(rows::int(row, "created_at")?),
            })
        })
        .await
    }

    async fn exported_login_attempts(
        &self,
        person: &Person,
    ) -> StoreResult<Vec<ExportedLoginAttempt>> {
        let mut p = Params::new();
        let users = p.users(&person.users);
        let sql = format!(
            "SELECT discord_user_id, ok, created_at FROM login_attempts WHERE discord_user_id IN {users} ORDER BY id"
        );
        self.decoded(sql, p, |row| {
            Ok(ExportedLoginAttempt {
                discord_user_id: exported_id(UserId::from_i64(rows::int(row, "discord_user_id")?)),
                ok: rows::boolean(row, "ok")?,
                created_at: Timestamp(rows::int(row, "created_at")?),
            })
        })
        .await
    }

    async fn exported_calls(&self, person: &Person) -> StoreResult<Vec<ExportedCall>> {
        let mut p = Params::new();
        let users = p.users(&person.users);
        let sql = format!(
            "SELECT model, kind, latency_ms, tokens_in, tokens_out, cost_usd, ok, created_at \
             FROM performance_logs WHERE user_id IN {users} ORDER BY id"
        );
        self.decoded(sql, p, |row| {
            Ok(ExportedCall {
                model: rows::text(row, "model")?,
                kind: rows::text(row, "kind")?,
                latency_ms: rows::int(row, "latency_ms")?,
                tokens_in: rows::opt_int(row, "tokens_in")?,
                tokens_out: rows::opt_int(row, "tokens_out")?,
                cost_usd: rows::opt_float(row, "cost_usd")?,
                ok: rows::boolean(row, "ok")?,
                created_at: Timestamp(rows::int(row, "created_at")?),
            })
        })
        .await
    }

    async fn exported_checks(&self, person: &Person) -> StoreResult<Vec<ExportedNarrationCheck>> {
        let mut p = Params::new();
        let users = p.users(&person.users);
        let sql = format!(
            "SELECT message_id, model, language, language_ok, tag_errors, meta_talk, repetition, \
             created_at FROM narration_quality WHERE user_id IN {users} ORDER BY message_id"
        );
        self.decoded(sql, p, |row| {
            Ok(ExportedNarrationCheck {
                message_id: rows::int(row, "message_id")?,
                model: rows::text(row, "model")?,
                language: rows::opt_text(row, "language")?,
                language_ok: rows::opt_boolean(row, "language_ok")?,
                tag_errors: rows::int(row, "tag_errors")?,
                meta_talk: rows::boolean(row, "meta_talk")?,
                repetition: rows::opt_float(row, "repetition")?,
                created_at: Timestamp(rows::int(row, "created_at")?),
            })
        })
        .await
    }
}

impl Db {
    async fn exported_journal(&self, person: &Person) -> StoreResult<Vec<ExportedJournalEntry>> {
        let mut p = Params::new();
        let users = p.users(&person.users);
        let sql = format!(
            "SELECT id, campaign_id, text, created_at FROM journal_entries \
             WHERE author_id IN {users} ORDER BY id"
        );
        self.decoded(sql, p, |row| {
            Ok(ExportedJournalEntry {
                id: rows::int(row, "id")?,
                campaign_id: rows::int(row, "campaign_id")?,
                text: rows::text(row, "text")?,
                created_at: Timestamp(rows::int(row, "created_at")?),
            })
        })
        .await
    }

    async fn exported_sheet_changes(
        &self,
        person: &Person,
    ) -> StoreResult<Vec<ExportedSheetChange>> {
        let mut p = Params::new();
        let users = p.users(&person.users);
        let sql = format!(
            "SELECT id, character_id, summary, created_at FROM state_changes \
             WHERE user_id IN {users} ORDER BY id"
        );
        self.decoded(sql, p, |row| {
            Ok(ExportedSheetChange {
                id: rows::int(row, "id")?,
                character_id: rows::int(row, "character_id")?,
                summary: rows::text(row, "summary")?,
                created_at: Timestamp(rows::int(row, "created_at")?),
            })
        })
        .await
    }
}

#[async_trait]
impl PersonalDataStore for Db {
    async fn account_links(&self, account: AccountId) -> StoreResult<Vec<DiscordLink>> {
        let rows = sqlx::query(
            "SELECT discord_user_id, account_id, linked_at FROM discord_links WHERE account_id = $1 ORDER BY linked_at, discord_user_id",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(store_error)?;
        rows.iter()
            .map(|row| {
                Ok(DiscordLink {
                    discord_user_id: UserId::from_i64(rows::int(row, "discord_user_id")?),
                    account_id: AccountId(rows::int(row, "account_id")?),
                    linked_at: Timestamp(rows::int(row, "linked_at")?),
                })
            })
            .collect()
    }

    async fn personal_data(&self, person: &Person) -> StoreResult<PersonalData> {
        Ok(PersonalData {
            format: PersonalData::FORMAT,
            exported_at: Timestamp::now(),
            discord_user_id: exported_id(person.user),
            account: self.exported_account(person).await?,
            discord_links: self.exported_links(person).await?,
            characters: self.exported_characters(person).await?,
            campaigns: self.exported_campaigns(person).await?,
            messages: self.exported_messages(person).await?,
            ratings: self.exported_ratings(person).await?,
            arena_votes: self.exported_arena_votes(person).await?,
            login_attempts: self.exported_login_attempts(person).await?,
            model_calls: self.exported_calls(person).await?,
            narration_checks: self.exported_checks(person).await?,
            journal_entries: self.exported_journal(person).await?,
            sheet_changes: self.exported_sheet_changes(person).await?,
        })
    }

    async fn erase_personal_data(&self, person: &Person) -> StoreResult<Erasure> {
        let mut tx = self.pool().begin().await.map_err(store_error)?;
        let mut erasure = Erasure::default();

        // The story stays readable for the other players: messages lose their author only.
        let mut p = Params::new();
        let authored = p.owned(person, "account_id", "author_id");
        let theirs = characters_of(&mut p, person);
        let sql = format!(
            "UPDATE messages SET author_id = NULL, author_name = NULL, account_id = NULL, \
             character_id = NULL, discord_message_id = NULL WHERE {authored} OR character_id IN ({theirs})"
        );
        erasure.messages_anonymised = p
            .query(sql)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?
            .rows_affected();

        anonymise_party_records(&mut tx, person).await?;

        // Imported campaigns no server adopted are nobody else's: they go entirely.
        let mut p = Params::new();
        let owned = p.owned(person, "account_id", "owner_id");
        let sql = format!("DELETE FROM campaigns WHERE guild_id IS NULL AND {owned}");
        p.query(sql).execute(&mut *tx).await.map_err(store_error)?;

        // Portraits drawn from the person's characters go with them, unless shared.
        let mut p = Params::new();
        let owned = p.owned(person, "account_id", "owner_id");
        let sql =
            format!("SELECT portrait_id FROM characters WHERE portrait_id IS NOT NULL AND {owned}");
        let portraits: Vec<i64> = p
            .query(sql)
            .fetch_all(&mut *tx)
            .await
            .map_err(store_error)?
            .iter()
            .map(|row| rows::int(row, "portrait_id"))
            .collect::<StoreResult<_>>()?;

        let mut p = Params::new();
        let owned = p.owned(person, "account_id", "owner_id");
        let sql = format!("DELETE FROM characters WHERE {owned}");
        erasure.characters_deleted = p
            .query(sql)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?
            .rows_affected();
        for image in portraits {
            sqlx::query(
                "DELETE FROM images WHERE id = $1 \
                 AND NOT EXISTS (SELECT 1 FROM campaigns WHERE gm_portrait_id = $1) \
                 AND NOT EXISTS (SELECT 1 FROM characters WHERE portrait_id = $1)",
            )
            .bind(image)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        }

        let mut p = Params::new();
        let owned = p.owned(person, "account_id", "owner_id");
        let sql = format!("UPDATE campaigns SET owner_id = NULL, account_id = NULL WHERE {owned}");
        erasure.campaigns_released = p
            .query(sql)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?
            .rows_affected();

        for table in ["ratings", "arena_votes"] {
            let mut p = Params::new();
            let users = p.users(&person.users);
            let sql = format!("DELETE FROM {table} WHERE voter_id IN {users}");
            erasure.votes_deleted += p
                .query(sql)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?
                .rows_affected();
        }

        for (action, column) in [
            ("DELETE FROM login_attempts", "discord_user_id"),
            ("UPDATE sessions SET started_by = NULL", "started_by"),
            ("UPDATE performance_logs SET user_id = NULL", "user_id"),
            ("UPDATE narration_quality SET user_id = NULL", "user_id"),
        ] {
            let mut p = Params::new();
            let users = p.users(&person.users);
            let sql = format!("{action} WHERE {column} IN {users}");
            p.query(sql).execute(&mut *tx).await.map_err(store_error)?;
        }

        let mut p = Params::new();
        let owned = p.owned(person, "account_id", "discord_user_id");
        let sql = format!("DELETE FROM discord_links WHERE {owned}");
        erasure.links_deleted = p
            .query(sql)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?
            .rows_affected();

        if let Some(account) = person.account {
            erasure.account_deleted = sqlx::query("DELETE FROM accounts WHERE id = $1")
                .bind(account.0)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?
                .rows_affected()
                > 0;
        }
        tx.commit().await.map_err(store_error)?;
        // Characters left the party: running sessions must not keep their sheets.
        Ok(self.party_changed(self.changed(erasure)))
    }

    async fn adopt_imported(
        &self,
        account: AccountId,
        guild_id: GuildId,
        owner: UserId,
    ) -> StoreResult<Adoption> {
        let mut tx = self.pool().begin().await.map_err(store_error)?;
        let mut adoption = Adoption::default();
        let orphans = sqlx::query(
            "SELECT id, name FROM campaigns WHERE account_id = $1 AND guild_id IS NULL ORDER BY id",
        )
        .bind(account.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(store_error)?;
        if !orphans.is_empty() {
            let mut taken: HashSet<String> =
                sqlx::query("SELECT name_key FROM campaigns WHERE guild_id = $1")
                    .bind(guild_id.as_i64())
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(store_error)?
                    .iter()
                    .map(|row| row.try_get::<String, _>("name_key"))
                    .collect::<Result<_, _>>()
                    .map_err(store_error)?;
            for row in &orphans {
                let id = rows::int(row, "id")?;
                let name = rows::text(row, "name")?;
                let new_name = adopted_name(&name, |n| taken.contains(&name_key(n)));
                let key = name_key(&new_name);
                // `guild_id IS NULL` again: another server may have adopted it meanwhile.
                let moved = sqlx::query(
                    "UPDATE campaigns SET guild_id = $1, owner_id = $2, name = $3, name_key = $4 \
                     WHERE id = $5 AND guild_id IS NULL",
                )
                .bind(guild_id.as_i64())
                .bind(owner.as_i64())
                .bind(new_name.clone())
                .bind(key.clone())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?
                .rows_affected();
                if moved == 0 {
                    continue;
                }
                sqlx::query(
                    "UPDATE sessions SET guild_id = $1 WHERE campaign_id = $2 AND guild_id IS NULL",
                )
                .bind(guild_id.as_i64())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
                taken.insert(key);
                adoption.campaigns += 1;
                if new_name != name {
                    adoption.renamed.push((name, new_name));
                }
            }
        }
        adoption.characters = sqlx::query(
            "UPDATE characters SET guild_id = $1, owner_id = $2 WHERE account_id = $3 AND guild_id IS NULL",
        )
        .bind(guild_id.as_i64())
        .bind(owner.as_i64())
        .bind(account.0)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?
        .rows_affected();
        tx.commit().await.map_err(store_error)?;
        Ok(self.changed(adoption))
    }
}
