//! Sheets, the journal, the change log and fights (`core::store::SheetStore`). Sheets and
//! fights are stored as JSON with a write count; every write names the count it read, so
//! concurrent writers are told instead of overwriting each other.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};

use super::Db;
use super::characters::insert_character;
use super::rows::{self, store_error};
use crate::core::game::character::{Character, NewCharacter};
use crate::core::game::state::{
    Applied, ChangeSource, JournalEntry, NarrationState, SheetWrite, StateChangeRecord,
    StoredCombat, StoredSheet, TableState,
};
use crate::core::ids::{CampaignId, CharacterId, MessageId, SessionId, Timestamp, UserId};
use crate::core::sheet::{Combat, Sheet};
use crate::core::store::{SheetStore, StoreError, StoreResult};

fn to_json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Refused(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> StoreResult<T> {
    let text = rows::text(row, col)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

fn sheet_from_row(row: &AnyRow) -> StoreResult<StoredSheet> {
    Ok(StoredSheet {
        character: CharacterId(rows::int(row, "character_id")?),
        sheet: from_json(row, "sheet")?,
        revision: rows::int(row, "revision")?,
    })
}

fn journal_from_row(row: &AnyRow) -> StoreResult<JournalEntry> {
    Ok(JournalEntry {
        id: rows::int(row, "id")?,
        campaign: CampaignId(rows::int(row, "campaign_id")?),
        narration: rows::opt_int(row, "message_id")?.map(MessageId),
        author: rows::opt_int(row, "author_id")?.map(UserId::from_i64),
        text: rows::text(row, "text")?,
        created_at: Timestamp(rows::int(row, "created_at")?),
    })
}

/// Writes one sheet on `conn` if it is still at the revision read, and records the change.
/// False when another writer came first.
async fn write_sheet(
    conn: &mut AnyConnection,
    campaign: Option<CampaignId>,
    write: &SheetWrite,
    source: &ChangeSource,
) -> StoreResult<bool> {
    let now = Timestamp::now().0;
    let after = to_json(&write.after)?;
    let written = if write.revision == 0 {
        sqlx::query(
            "INSERT INTO character_sheets (character_id, sheet, revision, updated_at) \
             VALUES ($1, $2, 1, $3) ON CONFLICT (character_id) DO NOTHING",
        )
        .bind(write.character.0)
        .bind(after.clone())
        .bind(now)
        .execute(&mut *conn)
        .await
    } else {
        sqlx::query(
            "UPDATE character_sheets SET sheet = $1, revision = revision + 1, updated_at = $2 \
             WHERE character_id = $3 AND revision = $4",
        )
        .bind(after.clone())
        .bind(now)
        .bind(write.character.0)
        .bind(write.revision)
        .execute(&mut *conn)
        .await
    }
    .map_err(store_error)?
    .rows_affected();
    if written == 0 {
        return Ok(false);
    }
    if write.after.level != write.before.level {
        sqlx::query("UPDATE characters SET level = $1 WHERE id = $2")
            .bind(write.after.level)
            .bind(write.character.0)
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
    }
    let (narration, user, model) = match source {
        ChangeSource::Model { narration, model } => {
            (Some(narration.0), None, Some(model.to_string()))
        }
        ChangeSource::Owner(user) => (None, Some(user.as_i64()), None),
        ChangeSource::Bot => (None, None, None),
        ChangeSource::Undo { narration } => (Some(narration.0), None, None),
    };
    sqlx::query(
        "INSERT INTO state_changes (campaign_id, character_id, message_id, source, user_id, model, \
         summary, before, after, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(campaign.map(|c| c.0))
    .bind(write.character.0)
    .bind(narration)
    .bind(source.kind())
    .bind(user)
    .bind(model)
    .bind(write.summary.as_str())
    .bind(to_json(&write.before)?)
    .bind(after)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(true)
}

async fn insert_journal(
    conn: &mut AnyConnection,
    campaign: CampaignId,
    narration: Option<MessageId>,
    author: Option<UserId>,
    text: &str,
) -> StoreResult<JournalEntry> {
    let row = sqlx::query(
        "INSERT INTO journal_entries (campaign_id, message_id, author_id, text, created_at) \
         VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, campaign_id, message_id, author_id, text, created_at",
    )
    .bind(campaign.0)
    .bind(narration.map(|m| m.0))
    .bind(author.map(|u| u.as_i64()))
    .bind(text)
    .bind(Timestamp::now().0)
    .fetch_one(&mut *conn)
    .await
    .map_err(store_error)?;
    journal_from_row(&row)
}

#[async_trait]
impl SheetStore for Db {
    async fn create_character_with_sheet(
        &self,
        new: &NewCharacter,
        sheet: &Sheet,
    ) -> StoreResult<(Character, StoredSheet)> {
        let mut tx = self.pool().begin().await.map_err(store_error)?;
        let character = insert_character(&mut tx, new).await?;
        sqlx::query(
            "INSERT INTO character_sheets (character_id, sheet, revision, updated_at) \
             VALUES ($1, $2, 1, $3)",
        )
        .bind(character.id.0)
        .bind(to_json(sheet)?)
        .bind(Timestamp::now().0)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        let stored = StoredSheet {
            character: character.id,
            sheet: sheet.clone(),
            revision: 1,
        };
        Ok(self.party_changed(self.changed((character, stored))))
    }

    async fn sheet(&self, character: CharacterId) -> StoreResult<Option<StoredSheet>> {
        let row = sqlx::query(
            "SELECT character_id, sheet, revision FROM character_sheets WHERE character_id = $1",
        )
        .bind(character.0)
        .fetch_optional(self.pool())
        .await
        .map_err(store_error)?;
        row.as_ref().map(sheet_from_row).transpose()
    }

    async fn campaign_sheets(&self, campaign: CampaignId) -> StoreResult<Vec<StoredSheet>> {
        let rows = sqlx::query(
            "SELECT s.character_id, s.sheet, s.revision FROM character_sheets s \
             JOIN characters c ON c.id = s.character_id WHERE c.campaign_id = $1 ORDER BY c.id",
        )
        .bind(campaign.0)
        .fetch_all(self.pool())
        .await
        .map_err(store_error)?;
        rows.iter().map(sheet_from_row).collect()
    }

    async fn save_sheet(
        &self,
        campaign: Option<CampaignId>,
        write: &SheetWrite,
        source: &ChangeSource,
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await.map_err(store_error)?;
        if !write_sheet(&mut tx, campaign, write, source).await? {
            return Ok(false);
        }
        tx.commit().await.map_err(store_error)?;
        Ok(self.party_changed(true))
    }

    async fn apply_narration_state(&self, state: &NarrationState) -> StoreResult<Applied> {
        let mut tx = self.pool().begin().await.map_err(store_error)?;
        let marked = sqlx::query(
            "INSERT INTO state_applied (message_id, applied_at) VALUES ($1, $2) \
             ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(state.narration.0)
        .bind(Timestamp::now().0)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?
        .rows_affected();
        if marked == 0 {
            return Ok(Applied::Already);
        }
        let source = ChangeSource::Model {
            narration: state.narration,
            model: state.model.clone(),
        };
        for write in &state.writes {
            if !write_sheet(&mut tx, Some(state.campaign), write, &source).await? {
                return Ok(Applied::Stale); // the transaction rolls back as it drops
            }
        }
        for note in &state.notes {
            insert_journal(&mut tx, state.campaign, Some(state.narration), None, note).await?;
        }
        tx.commit().await.map_err(store_error)?;
        Ok(self.party_changed(Applied::Now))
    }

    async fn undo_narration_state(&self, narration: MessageId) -> StoreResult<Vec<String>> {
        let mut tx = self.pool().begin().await.map_err(store_error)?;
        let marked = sqlx::query(
            "UPDATE state_applied SET undone_at = $1 WHERE message_id = $2 AND undone_at IS NULL",
        )
        .bind(Timestamp::now().0)
        .bind(narration.0)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?
        .rows_affected();
        if marked == 0 {
            return Ok(Vec::new());
        }
        // Newest first, so each sheet ends as it was before the narration's first change.
        let changes = sqlx::query(
            "SELECT campaign_id, character_id, summary, before FROM state_changes \
             WHERE message_id = $1 AND source = 'model' ORDER BY id DESC",
        )
        .bind(narration.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(store_error)?;
        let mut undone = Vec::new();
        for row in &changes {
            let character = CharacterId(rows::int(row, "character_id")?);
            let campaign = rows::opt_int(row, "campaign_id")?.map(CampaignId);
            let before: Sheet = from_json(row, "before")?;
            let current = sqlx::query(
                "SELECT character_id, sheet, revision FROM character_sheets WHERE character_id = $1",
            )
            .bind(character.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(store_error)?;
            let Some(current) = current.as_ref().map(sheet_from_row).transpose()? else {
                continue; // the character is gone
            };
            let summary = rows::text(row, "summary")?;
            let write = SheetWrite {
                character,
                revision: current.revision,
                before: current.sheet,
                after: before,
                summary: format!("undone: {summary}"),
            };
            write_sheet(&mut tx, campaign, &write, &ChangeSource::Undo { narration }).await?;
            undone.push(summary);
        }
        sqlx::query("DELETE FROM journal_entries WHERE message_id = $1")
            .bind(narration.0)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        undone.reverse();
        Ok(self.party_changed(undone))
    }

    async fn journal(
        &self,
        campaign: CampaignId,
        limit: u32,
        before: Option<i64>,
    ) -> StoreResult<Vec<JournalEntry>> {
        let rows = sqlx::query(
            "SELECT id, campaign_id, message_id, author_id, text, created_at FROM journal_entries \
             WHERE campaign_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(campaign.0)
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(store_error)?;
        let mut entries: Vec<JournalEntry> = rows
            .iter()
            .map(journal_from_row)
            .collect::<StoreResult<_>>()?;
        entries.reverse();
        Ok(entries)
    }

    async fn add_journal_entry(
        &self,
        campaign: CampaignId,
        author: Option<UserId>,
        text: &str,
    ) -> StoreResult<JournalEntry> {
        let mut conn = self.pool().acquire().await.map_err(store_error)?;
        let entry = insert_journal(&mut conn, campaign, None, author, text).await?;
        Ok(self.party_changed(entry))
    }

    async fn remove_journal_entry(&self, campaign: CampaignId, id: i64) -> StoreResult<bool> {
        let removed = sqlx::query("DELETE FROM journal_entries WHERE campaign_id = $1 AND id = $2")
            .bind(campaign.0)
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(store_error)?
            .rows_affected();
        Ok(self.party_changed(removed > 0))
    }

    async fn state_log(
        &self,
        campaign: CampaignId,
        limit: u32,
    ) -> StoreResult<Vec<StateChangeRecord>> {
        let rows = sqlx::query(
            "SELECT id, campaign_id, character_id, message_id, source, user_id, model, summary, \
             created_at FROM state_changes WHERE campaign_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(campaign.0)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(store_error)?;
        let mut log = rows
            .iter()
            .map(|row| {
                Ok(StateChangeRecord {
                    id: rows::int(row, "id")?,
                    campaign: rows::opt_int(row, "campaign_id")?.map(CampaignId),
                    character: CharacterId(rows::int(row, "character_id")?),
                    narration: rows::opt_int(row, "message_id")?.map(MessageId),
                    source: rows::text(row, "source")?,
                    user: rows::opt_int(row, "user_id")?.map(UserId::from_i64),
                    model: rows::opt_text(row, "model")?,
                    summary: rows::text(row, "summary")?,
                    created_at: Timestamp(rows::int(row, "created_at")?),
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        log.reverse();
        Ok(log)
    }

    async fn combat(&self, session: SessionId) -> StoreResult<Option<StoredCombat>> {
        let row =
            sqlx::query("SELECT session_id, state, revision FROM combats WHERE session_id = $1")
                .bind(session.0)
                .fetch_optional(self.pool())
                .await
                .map_err(store_error)?;
        row.map(|row| {
            Ok(StoredCombat {
                session: SessionId(rows::int(&row, "session_id")?),
                combat: from_json(&row, "state")?,
                revision: rows::int(&row, "revision")?,
            })
        })
        .transpose()
    }

    async fn save_combat(
        &self,
        session: SessionId,
        campaign: CampaignId,
        combat: &Combat,
        revision: i64,
    ) -> StoreResult<bool> {
        let state = to_json(combat)?;
        let now = Timestamp::now().0;
        let written = if revision == 0 {
            sqlx::query(
                "INSERT INTO combats (session_id, campaign_id, state, revision, updated_at) \
                 VALUES ($1, $2, $3, 1, $4) ON CONFLICT (session_id) DO NOTHING",
            )
            .bind(session.0)
            .bind(campaign.0)
            .bind(state)
            .bind(now)
            .execute(self.pool())
            .await
        } else {
            sqlx::query(
                "UPDATE combats SET state = $1, revision = revision + 1, updated_at = $2 \
                 WHERE session_id = $3 AND revision = $4",
            )
            .bind(state)
            .bind(now)
            .bind(session.0)
            .bind(revision)
            .execute(self.pool())
            .await
        }
        .map_err(store_error)?
        .rows_affected();
        Ok(self.party_changed(written > 0))
    }

    fn party_revision(&self) -> Option<u64> {
        Db::party_revision(self)
    }

    async fn table_state(
        &self,
        campaign: CampaignId,
        session: SessionId,
        journal: u32,
    ) -> StoreResult<TableState> {
        // One statement, one round trip: `kind` says which table a row comes from. The
        // journal's limit is written into the statement (an integer), so the statement is
        // prepared once (a bound LIMIT makes SQLite plan it again).
        let sql = format!(
            "SELECT 'sheet' AS kind, s.character_id AS id, s.sheet AS body, s.revision AS revision, \
                    CAST(NULL AS BIGINT) AS message_id, CAST(NULL AS BIGINT) AS author_id, \
                    s.updated_at AS created_at \
             FROM character_sheets s JOIN characters c ON c.id = s.character_id \
             WHERE c.campaign_id = $1 \
             UNION ALL \
             SELECT 'journal', j.id, j.text, 0, j.message_id, j.author_id, j.created_at \
             FROM (SELECT id, text, message_id, author_id, created_at FROM journal_entries \
                   WHERE campaign_id = $1 ORDER BY id DESC LIMIT {journal}) j \
             UNION ALL \
             SELECT 'combat', f.session_id, f.state, f.revision, NULL, NULL, f.updated_at \
             FROM combats f WHERE f.session_id = $2"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(campaign.0)
            .bind(session.0)
            .fetch_all(self.pool())
            .await
            .map_err(store_error)?;
        let mut state = TableState::default();
        for row in &rows {
            let id = rows::int(row, "id")?;
            match rows::text(row, "kind")?.as_str() {
                "sheet" => state.sheets.push(StoredSheet {
                    character: CharacterId(id),
                    sheet: from_json(row, "body")?,
                    revision: rows::int(row, "revision")?,
                }),
                "journal" => state.journal.push(JournalEntry {
                    id,
                    campaign,
                    narration: rows::opt_int(row, "message_id")?.map(MessageId),
                    author: rows::opt_int(row, "author_id")?.map(UserId::from_i64),
                    text: rows::text(row, "body")?,
                    created_at: Timestamp(rows::int(row, "created_at")?),
                }),
                _ => {
                    state.combat = Some(StoredCombat {
                        session: SessionId(id),
                        combat: from_json(row, "body")?,
                        revision: rows::int(row, "revision")?,
                    })
                }
            }
        }
        state.sheets.sort_by_key(|s| s.character);
        state.journal.sort_by_key(|e| e.id);
        Ok(state)
    }

    async fn end_combat(&self, session: SessionId) -> StoreResult<bool> {
        let ended = sqlx::query("DELETE FROM combats WHERE session_id = $1")
            .bind(session.0)
            .execute(self.pool())
            .await
            .map_err(store_error)?
            .rows_affected();
        Ok(self.party_changed(ended > 0))
    }
}
