//! `gamemaster import-legacy PATH`: brings a CompareModelPoc SQLite database over.
//!
//! One transaction: a broken file imports nothing. Idempotent: a file already imported (same
//! SHA-256) changes nothing, and accounts, campaigns and characters are matched by their old
//! ids, so a later, larger copy of the old database only adds what is new. Messages and
//! performance logs come along with the campaigns and accounts they belong to when those are
//! first imported.

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, AssertSqlSafe, Row};

use super::Db;
use crate::core::accounts::account::held_legacy_email;
use crate::core::accounts::legacy;
use crate::core::game::campaign::{CampaignName, Themes};
use crate::core::game::character::{CharacterClass, CharacterName, Description, Gender, Race};
use crate::core::ids::Timestamp;
use crate::core::text;
use crate::core::time::parse_sqlite_timestamp;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{path} is not a CompareModelPoc database: it has no `{table}` table")]
    NotLegacy { path: String, table: String },
    #[error("reading the old database failed at {what}: {reason}")]
    Read { what: String, reason: String },
    #[error("writing to the database failed ({reason}); nothing was imported")]
    Write { reason: String },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    pub already_imported: bool,
    pub accounts: u64,
    pub campaigns: u64,
    pub characters: u64,
    pub messages: u64,
    pub performance_logs: u64,
    pub skipped_existing: u64,
    /// Old accounts whose email already had an account here: each was imported apart, under
    /// a placeholder email, and links with the old email and the old password.
    pub conflicts: Vec<String>,
}

const TABLES: [&str; 6] = [
    "users",
    "campaigns",
    "characters",
    "messages",
    "performance_logs",
    "model_choices",
];

/// Reads one legacy table with the columns we know, as text or numbers; columns an older
/// version of the app lacked read as NULL.
async fn read_table(
    source: &AnyPool,
    table: &str,
    columns: &[(&str, &str)],
) -> Result<Vec<AnyRow>, ImportError> {
    let present: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT name FROM pragma_table_info('{table}')"
    )))
    .fetch_all(source)
    .await
    .map_err(|e| ImportError::Read {
        what: table.to_string(),
        reason: e.to_string(),
    })?;
    // Casts give every column a plain type the Any driver reads (the old schema declares
    // DATETIME and BOOLEAN columns, which it cannot).
    let select: Vec<String> = columns
        .iter()
        .map(|(name, ty)| {
            if present.iter().any(|p| p == name) {
                format!("CAST({name} AS {ty}) AS {name}")
            } else {
                format!("NULL AS {name}")
            }
        })
        .collect();
    let sql = format!("SELECT {} FROM {table} ORDER BY id", select.join(", "));
    sqlx::query(AssertSqlSafe(sql))
        .fetch_all(source)
        .await
        .map_err(|e| ImportError::Read {
            what: table.to_string(),
            reason: e.to_string(),
        })
}

fn opt_text(row: &AnyRow, col: &str) -> Option<String> {
    row.try_get::<Option<String>, _>(col)
        .ok()
        .flatten()
        .filter(|s| !s.trim().is_empty())
}

fn opt_int(row: &AnyRow, col: &str) -> Option<i64> {
    row.try_get::<Option<i64>, _>(col).ok().flatten()
}

fn opt_float(row: &AnyRow, col: &str) -> Option<f64> {
    row.try_get::<Option<f64>, _>(col).ok().flatten()
}

fn when(row: &AnyRow, col: &str, fallback: Timestamp) -> i64 {
    opt_text(row, col)
        .and_then(|t| parse_sqlite_timestamp(&t))
        .unwrap_or(fallback.0)
}

/// Old data was never validated: keep what passes our rules, clean up what does not.
fn cleaned(raw: Option<String>, max: usize, fallback: &str) -> String {
    let raw = raw.unwrap_or_default();
    let kept: String = raw.chars().filter(|c| !c.is_control()).take(max).collect();
    match text::single_line(&kept, "field", max) {
        Ok(ok) => ok,
        Err(_) => fallback.to_string(),
    }
}

/// The legacy tables, read whole before anything is written (the old database stays closed
/// while the import's transaction runs).
struct LegacyTables {
    users: Vec<AnyRow>,
    choices: Vec<AnyRow>,
    campaigns: Vec<AnyRow>,
    characters: Vec<AnyRow>,
    messages: Vec<AnyRow>,
    performance_logs: Vec<AnyRow>,
}

pub async fn import_legacy(db: &Db, path: &Path) -> Result<ImportSummary, ImportError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| ImportError::Unreadable {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let checksum = hex::encode(Sha256::digest(&bytes));
    if already_imported(db, &checksum).await? {
        return Ok(ImportSummary {
            already_imported: true,
            ..ImportSummary::default()
        });
    }
    let legacy = read_legacy(path, &shown).await?;

    let mut tx = db.pool().begin().await.map_err(write)?;
    let mut import = Import::new(Timestamp::now());
    import.accounts(&mut tx, &legacy.users).await?;
    import.campaigns(&mut tx, &legacy).await?;
    import.characters(&mut tx, &legacy.characters).await?;
    import.stories(&mut tx, &legacy.messages).await?;
    import
        .performance_logs(&mut tx, &legacy.performance_logs)
        .await?;
    sqlx::query("INSERT INTO legacy_imports (source_sha256, source_path, imported_at, summary) VALUES ($1, $2, $3, $4)")
        .bind(&checksum)
        .bind(&shown)
        .bind(import.now.0)
        .bind(serde_json::to_string(&import.summary).unwrap_or_default())
        .execute(&mut *tx)
        .await
        .map_err(write)?;
    tx.commit().await.map_err(write)?;
    Ok(import.summary)
}

fn write(e: sqlx::Error) -> ImportError {
    ImportError::Write {
        reason: e.to_string(),
    }
}

async fn already_imported(db: &Db, checksum: &str) -> Result<bool, ImportError> {
    let done: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM legacy_imports WHERE source_sha256 = $1")
            .bind(checksum)
            .fetch_optional(db.pool())
            .await
            .map_err(write)?;
    Ok(done.is_some())
}

/// Opens the old database read-only, checks it is one, and reads the tables we bring over.
async fn read_legacy(path: &Path, shown: &str) -> Result<LegacyTables, ImportError> {
    let unreadable = |e: sqlx::Error| ImportError::Unreadable {
        path: shown.to_string(),
        reason: e.to_string(),
    };
    sqlx::any::install_default_drivers();
    let source = AnyPoolOptions::new()
        .max_connections(1)
        .connect(&format!("sqlite://{}?mode=ro", path.display()))
        .await
        .map_err(unreadable)?;
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&source)
            .await
            .map_err(unreadable)?;
    if let Some(missing) = TABLES
        .iter()
        .find(|t| !tables.iter().any(|have| have == *t))
    {
        return Err(ImportError::NotLegacy {
            path: shown.to_string(),
            table: missing.to_string(),
        });
    }
    let legacy = LegacyTables {
        users: read_table(&source, "users", USERS).await?,
        choices: read_table(&source, "model_choices", MODEL_CHOICES).await?,
        campaigns: read_table(&source, "campaigns", CAMPAIGNS).await?,
        characters: read_table(&source, "characters", CHARACTERS).await?,
        messages: read_table(&source, "messages", MESSAGES).await?,
        performance_logs: read_table(&source, "performance_logs", PERFORMANCE_LOGS).await?,
    };
    source.close().await;
    Ok(legacy)
}

type Columns = &'static [(&'static str, &'static str)];

const USERS: Columns = &[
    ("id", "INTEGER"),
    ("email", "TEXT"),
    ("password", "TEXT"),
    ("created_at", "TEXT"),
    ("last_login", "TEXT"),
];
const MODEL_CHOICES: Columns = &[("id", "INTEGER"), ("user_id", "INTEGER"), ("model", "TEXT")];
const CAMPAIGNS: Columns = &[
    ("id", "INTEGER"),
    ("user_id", "INTEGER"),
    ("name", "TEXT"),
    ("themes", "TEXT"),
    ("language", "TEXT"),
    ("ai_model", "TEXT"),
    ("created_at", "TEXT"),
];
const CHARACTERS: Columns = &[
    ("id", "INTEGER"),
    ("user_id", "INTEGER"),
    ("campaign_id", "INTEGER"),
    ("name", "TEXT"),
    ("class", "TEXT"),
    ("race", "TEXT"),
    ("gender", "TEXT"),
    ("level", "INTEGER"),
    ("description", "TEXT"),
    ("created_at", "TEXT"),
];
const MESSAGES: Columns = &[
    ("id", "INTEGER"),
    ("user_id", "INTEGER"),
    ("campaign_id", "INTEGER"),
    ("role", "TEXT"),
    ("content", "TEXT"),
    ("character_id", "INTEGER"),
    ("timestamp", "TEXT"),
];
const PERFORMANCE_LOGS: Columns = &[
    ("id", "INTEGER"),
    ("user_id", "INTEGER"),
    ("campaign_id", "INTEGER"),
    ("model", "TEXT"),
    ("latency", "REAL"),
    ("tokens_in", "INTEGER"),
    ("tokens_out", "INTEGER"),
    ("cost_estimate", "REAL"),
    ("timestamp", "TEXT"),
];

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// One import in progress: how old ids map to new ones, table by table, and what it counted.
struct Import {
    now: Timestamp,
    summary: ImportSummary,
    account_of: HashMap<i64, i64>,
    /// Old user ids whose accounts this import created (their performance logs come along).
    new_accounts: Vec<i64>,
    campaign_of: HashMap<i64, i64>,
    /// (old id, new id, model) of the campaigns this import created (their stories come along).
    new_campaigns: Vec<(i64, i64, String)>,
    character_of: HashMap<i64, i64>,
}

impl Import {
    fn new(now: Timestamp) -> Self {
        Import {
            now,
            summary: ImportSummary::default(),
            account_of: HashMap::new(),
            new_accounts: Vec::new(),
            campaign_of: HashMap::new(),
            new_campaigns: Vec::new(),
            character_of: HashMap::new(),
        }
    }

    /// Accounts: matched by old id only. An email match proves nothing (registration does not
    /// prove the email), so an old account whose email is taken here is imported apart.
    async fn accounts(&mut self, tx: &mut Tx, users: &[AnyRow]) -> Result<(), ImportError> {
        for user in users {
            let (Some(old_id), Some(email), Some(hash)) = (
                opt_int(user, "id"),
                opt_text(user, "email"),
                opt_text(user, "password"),
            ) else {
                return Err(ImportError::Read {
                    what: "users".into(),
                    reason: "a user row lacks its id, email or password".into(),
                });
            };
            let email = email.trim().to_lowercase();
            let existing: Option<i64> =
                sqlx::query_scalar("SELECT id FROM accounts WHERE legacy_user_id = $1")
                    .bind(old_id)
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(write)?;
            if let Some(id) = existing {
                self.summary.skipped_existing += 1;
                self.account_of.insert(old_id, id);
                continue;
            }
            let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM accounts WHERE email = $1")
                .bind(&email)
                .fetch_optional(&mut **tx)
                .await
                .map_err(write)?;
            let (stored_email, legacy_email) = match taken {
                Some(_) => {
                    self.summary.conflicts.push(format!(
                        "old user {old_id} ({email}): that email already has an account here, so the old account was kept apart; it links with its old password"
                    ));
                    (held_legacy_email(old_id), Some(email.clone()))
                }
                None => (email.clone(), None),
            };
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO accounts (email, password_hash, failed_logins, legacy_user_id, legacy_email, created_at, last_login_at) \
                 VALUES ($1, $2, 0, $3, $4, $5, $6) RETURNING id",
            )
            .bind(&stored_email)
            .bind(&hash)
            .bind(old_id)
            .bind(legacy_email)
            .bind(when(user, "created_at", self.now))
            .bind(opt_text(user, "last_login").and_then(|t| parse_sqlite_timestamp(&t)))
            .fetch_one(&mut **tx)
            .await
            .map_err(write)?;
            self.summary.accounts += 1;
            self.new_accounts.push(old_id);
            self.account_of.insert(old_id, id);
        }
        Ok(())
    }

    async fn campaigns(&mut self, tx: &mut Tx, legacy: &LegacyTables) -> Result<(), ImportError> {
        let chosen_model: HashMap<i64, String> = legacy
            .choices
            .iter()
            .filter_map(|c| Some((opt_int(c, "user_id")?, opt_text(c, "model")?)))
            .collect();
        for campaign in &legacy.campaigns {
            let Some(old_id) = opt_int(campaign, "id") else {
                continue;
            };
            if let Some(id) = existing(tx, "campaigns", old_id).await? {
                self.campaign_of.insert(old_id, id);
                self.summary.skipped_existing += 1;
                continue;
            }
            let owner = opt_int(campaign, "user_id");
            let name = cleaned(
                opt_text(campaign, "name"),
                CampaignName::MAX,
                &format!("Imported campaign {old_id}"),
            );
            let themes = cleaned(
                opt_text(campaign, "themes"),
                Themes::MAX,
                "fantasy adventure",
            );
            let model_name = opt_text(campaign, "ai_model")
                .or_else(|| owner.and_then(|o| chosen_model.get(&o).cloned()));
            let model = legacy::model_id(model_name.as_deref().unwrap_or_default()).to_string();
            let language = legacy::language(&opt_text(campaign, "language").unwrap_or_default());
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO campaigns (account_id, name, name_key, themes, language, model, legacy_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(owner.and_then(|o| self.account_of.get(&o).copied()))
            .bind(&name)
            .bind(text::name_key(&name))
            .bind(&themes)
            .bind(language.code())
            .bind(&model)
            .bind(old_id)
            .bind(when(campaign, "created_at", self.now))
            .fetch_one(&mut **tx)
            .await
            .map_err(write)?;
            self.campaign_of.insert(old_id, id);
            self.new_campaigns.push((old_id, id, model));
            self.summary.campaigns += 1;
        }
        Ok(())
    }

    async fn characters(&mut self, tx: &mut Tx, characters: &[AnyRow]) -> Result<(), ImportError> {
        for character in characters {
            let Some(old_id) = opt_int(character, "id") else {
                continue;
            };
            if let Some(id) = existing(tx, "characters", old_id).await? {
                self.character_of.insert(old_id, id);
                self.summary.skipped_existing += 1;
                continue;
            }
            let description = opt_text(character, "description")
                .map(|d| {
                    d.chars()
                        .filter(|c| *c == '\n' || !c.is_control())
                        .take(Description::MAX)
                        .collect::<String>()
                })
                .and_then(|d| Description::parse(&d).ok());
            let gender = opt_text(character, "gender").and_then(|g| Gender::parse(&g).ok());
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO characters (account_id, campaign_id, name, class, race, gender, level, description, legacy_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            )
            .bind(opt_int(character, "user_id").and_then(|o| self.account_of.get(&o).copied()))
            .bind(opt_int(character, "campaign_id").and_then(|c| self.campaign_of.get(&c).copied()))
            .bind(cleaned(opt_text(character, "name"), CharacterName::MAX, &format!("Hero {old_id}")))
            .bind(cleaned(opt_text(character, "class"), CharacterClass::MAX, "Fighter"))
            .bind(cleaned(opt_text(character, "race"), Race::MAX, "Human"))
            .bind(gender.map(|g| g.as_str().to_string()))
            .bind(opt_int(character, "level").unwrap_or(1).clamp(1, 20))
            .bind(description.map(|d| d.as_str().to_string()))
            .bind(old_id)
            .bind(when(character, "created_at", self.now))
            .fetch_one(&mut **tx)
            .await
            .map_err(write)?;
            self.character_of.insert(old_id, id);
            self.summary.characters += 1;
        }
        Ok(())
    }

    /// Each imported campaign's story goes into one ended session, in its original order.
    async fn stories(&mut self, tx: &mut Tx, messages: &[AnyRow]) -> Result<(), ImportError> {
        for (old_campaign, campaign, model) in &self.new_campaigns {
            let story: Vec<&AnyRow> = messages
                .iter()
                .filter(|m| opt_int(m, "campaign_id") == Some(*old_campaign))
                .collect();
            if story.is_empty() {
                continue;
            }
            let started = when(story[0], "timestamp", self.now);
            let session: i64 = sqlx::query_scalar(
                "INSERT INTO sessions (campaign_id, channel_id, status, summary, started_at, ended_at) \
                 VALUES ($1, 0, 'ended', '', $2, $2) RETURNING id",
            )
            .bind(*campaign)
            .bind(started)
            .fetch_one(&mut **tx)
            .await
            .map_err(write)?;
            for message in story {
                let role = match opt_text(message, "role").as_deref() {
                    Some("assistant") => "assistant",
                    Some("system") => "system",
                    _ => "user",
                };
                sqlx::query(
                    "INSERT INTO messages (session_id, campaign_id, character_id, account_id, role, content, model, status, created_at) \
                     VALUES ($1, $2, $3, $8, $4, $5, $6, 'complete', $7)",
                )
                .bind(session)
                .bind(*campaign)
                .bind(opt_int(message, "character_id").and_then(|c| self.character_of.get(&c).copied()))
                .bind(role)
                .bind(opt_text(message, "content").unwrap_or_default())
                .bind((role == "assistant").then(|| model.clone()))
                .bind(when(message, "timestamp", self.now))
                .bind(
                    (role == "user")
                        .then(|| opt_int(message, "user_id"))
                        .flatten()
                        .and_then(|u| self.account_of.get(&u).copied()),
                )
                .execute(&mut **tx)
                .await
                .map_err(write)?;
                self.summary.messages += 1;
            }
        }
        Ok(())
    }

    /// The calls of the accounts this import created (others were brought by an earlier one).
    async fn performance_logs(&mut self, tx: &mut Tx, logs: &[AnyRow]) -> Result<(), ImportError> {
        for log in logs
            .iter()
            .filter(|l| opt_int(l, "user_id").is_some_and(|u| self.new_accounts.contains(&u)))
        {
            // The old app measured latency in seconds.
            let latency_ms = (opt_float(log, "latency").unwrap_or(0.0) * 1000.0).round() as i64;
            let cost = opt_float(log, "cost_estimate");
            sqlx::query(
                "INSERT INTO performance_logs (campaign_id, model, kind, latency_ms, tokens_in, tokens_out, tokens_estimated, \
                 cost_usd, ok, created_at) VALUES ($1, $2, 'narration', $3, $4, $5, $9, CASE WHEN $8 = 1 THEN $6 ELSE NULL END, $10, $7)",
            )
            .bind(opt_int(log, "campaign_id").and_then(|c| self.campaign_of.get(&c).copied()))
            .bind(legacy::model_id(&opt_text(log, "model").unwrap_or_default()).to_string())
            .bind(latency_ms.max(0))
            .bind(opt_int(log, "tokens_in"))
            .bind(opt_int(log, "tokens_out"))
            .bind(cost.unwrap_or(0.0))
            .bind(when(log, "timestamp", self.now))
            .bind(i64::from(cost.is_some()))
            .bind(false)
            .bind(true)
            .execute(&mut **tx)
            .await
            .map_err(write)?;
            self.summary.performance_logs += 1;
        }
        Ok(())
    }
}

/// The id of the row of `table` an earlier import made from the old row `legacy_id`.
async fn existing(tx: &mut Tx, table: &str, legacy_id: i64) -> Result<Option<i64>, ImportError> {
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT id FROM {table} WHERE legacy_id = $1"
    )))
    .bind(legacy_id)
    .fetch_optional(&mut **tx)
    .await
    .map_err(write)
}
