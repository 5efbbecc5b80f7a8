//! `gamemaster import-legacy`: a database of the old Streamlit app comes over once, whole.

use crate::support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use gamemaster::core::accounts::auth::{Accounts, HashCost};
use gamemaster::core::accounts::personal_data;
use gamemaster::core::ids::{GuildId, UserId};
use gamemaster::core::store::{AccountStore, CampaignStore, PersonalDataStore};
use gamemaster::storage::legacy_import::{ImportError, import_legacy};

/// The old app's tables, as its SQLite files have them (DATETIME and BOOLEAN columns included).
const LEGACY_SCHEMA: &str = "
CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT UNIQUE NOT NULL, password TEXT NOT NULL,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP, last_login DATETIME, is_active BOOLEAN DEFAULT 1);
CREATE TABLE model_choices (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, model TEXT NOT NULL,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE campaigns (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, name TEXT NOT NULL, themes TEXT,
  language TEXT NOT NULL, ai_model TEXT DEFAULT 'GPT-4o', gm_portrait TEXT, created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME, is_active BOOLEAN DEFAULT 1);
CREATE TABLE characters (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, campaign_id INTEGER, name TEXT NOT NULL,
  class TEXT, race TEXT, gender TEXT, level INTEGER DEFAULT 1, description TEXT, portrait_url TEXT,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP, is_active BOOLEAN DEFAULT 1);
CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, campaign_id INTEGER, role TEXT NOT NULL,
  content TEXT NOT NULL, character_id INTEGER, timestamp DATETIME DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE performance_logs (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, campaign_id INTEGER,
  model TEXT NOT NULL, latency REAL NOT NULL, tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, cost_estimate REAL,
  timestamp DATETIME DEFAULT CURRENT_TIMESTAMP);
";

async fn legacy_db(path: &Path, rows: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    for statement in LEGACY_SCHEMA
        .split(';')
        .chain(rows.split(';'))
        .filter(|s| !s.trim().is_empty())
    {
        sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
}

fn rows(hash: &str) -> String {
    format!(
        "INSERT INTO users (id, email, password, created_at) VALUES (1, 'Mira@Example.org', '{hash}', '2024-03-01 12:30:05');
         INSERT INTO users (id, email, password) VALUES (2, 'thorn@example.org', '{hash}');
         INSERT INTO model_choices (user_id, model) VALUES (1, 'Claude 3.5 Sonnet');
         INSERT INTO campaigns (id, user_id, name, themes, language, ai_model) VALUES (7, 1, 'La Crypte', 'horreur, vampires', 'Français', 'DeepSeek');
         INSERT INTO campaigns (id, user_id, name, themes, language, ai_model) VALUES (8, 2, '', NULL, 'English', NULL);
         INSERT INTO characters (id, user_id, campaign_id, name, class, race, gender, level, description)
           VALUES (3, 1, 7, 'Élodie', 'Magicienne', 'Elfe', 'female', 3, 'Curieuse.');
         INSERT INTO messages (user_id, campaign_id, role, content, character_id, timestamp) VALUES (1, 7, 'user', 'J''ouvre la porte.', 3, '2024-03-01 12:31:00');
         INSERT INTO messages (user_id, campaign_id, role, content, timestamp) VALUES (1, 7, 'assistant', 'La porte grince.', '2024-03-01 12:31:05');
         INSERT INTO performance_logs (user_id, campaign_id, model, latency, tokens_in, tokens_out, cost_estimate)
           VALUES (1, 7, 'DeepSeek', 1.25, 900, 200, 0.0004);
         INSERT INTO performance_logs (user_id, campaign_id, model, latency, tokens_in, tokens_out, cost_estimate)
           VALUES (2, 8, 'GPT-4o', 2.5, 1000, 300, NULL)"
    )
}

async fn count(db: &gamemaster::storage::Db, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn an_old_database_is_imported_once_and_its_accounts_link_with_their_old_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("database.db");
    let hash = bcrypt::hash("streamlit-days", 4).unwrap();
    legacy_db(&old, &rows(&hash)).await;

    for t in support::db::engines().await {
        let db = &t.db;
        let summary = import_legacy(db, &old).await.unwrap();
        assert_eq!(
            (
                summary.accounts,
                summary.campaigns,
                summary.characters,
                summary.messages,
                summary.performance_logs
            ),
            (2, 2, 1, 2, 2)
        );
        let account = db
            .account_by_email("mira@example.org")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            account.password_hash, hash,
            "legacy hash kept until the first link"
        );
        assert_eq!(account.created_at.0, 1_709_296_205_000);

        let campaign: (i64, String, String, String) =
            sqlx::query_as("SELECT id, name, language, model FROM campaigns WHERE legacy_id = 7")
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(
            (
                campaign.1.as_str(),
                campaign.2.as_str(),
                campaign.3.as_str()
            ),
            ("La Crypte", "fr", "deepseek:deepseek-chat")
        );
        let unnamed: String = sqlx::query_scalar("SELECT name FROM campaigns WHERE legacy_id = 8")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(
            unnamed, "Imported campaign 8",
            "an empty old name gets a usable one"
        );
        let loaded = db
            .campaign(gamemaster::core::ids::CampaignId(campaign.0))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            loaded.guild_id, None,
            "imported campaigns wait for their owner to adopt them"
        );
        assert_eq!(loaded.account_id, Some(account.id));
        let costs: Vec<Option<f64>> =
            sqlx::query_scalar("SELECT cost_usd FROM performance_logs ORDER BY id")
                .fetch_all(db.pool())
                .await
                .unwrap();
        assert_eq!(costs, [Some(0.0004), None], "an unknown cost stays unknown");
        let latency: i64 =
            sqlx::query_scalar("SELECT latency_ms FROM performance_logs ORDER BY id LIMIT 1")
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(latency, 1250);

        // Running it again changes nothing.
        let before = (
            count(db, "accounts").await,
            count(db, "campaigns").await,
            count(db, "messages").await,
        );
        let again = import_legacy(db, &old).await.unwrap();
        assert!(again.already_imported);
        assert_eq!(
            before,
            (
                count(db, "accounts").await,
                count(db, "campaigns").await,
                count(db, "messages").await
            )
        );

        // The old password links a Discord user, and the hash becomes argon2id.
        let accounts = Accounts::new(
            Arc::new(db.clone()),
            HashCost {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            },
            1,
        );
        accounts
            .link(UserId(5), "mira@example.org", "streamlit-days")
            .await
            .unwrap();
        assert!(
            db.account(account.id)
                .await
                .unwrap()
                .unwrap()
                .password_hash
                .starts_with("$argon2id$")
        );
    }
}

#[tokio::test]
async fn a_broken_file_imports_nothing_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let t = support::db::sqlite().await;

    let not_legacy = dir.path().join("other.db");
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&format!("sqlite://{}?mode=rwc", not_legacy.display()))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE users (id INTEGER)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let err = import_legacy(&t.db, &not_legacy).await.unwrap_err();
    assert!(
        matches!(err, ImportError::NotLegacy { ref table, .. } if table == "campaigns"),
        "{err}"
    );

    // A row that breaks half way: the transaction leaves nothing behind.
    let broken = dir.path().join("broken.db");
    legacy_db(
        &broken,
        "INSERT INTO users (id, email, password) VALUES (1, 'a@example.org', 'x');
                        INSERT INTO users (id, email, password) VALUES (2, '', 'y')",
    )
    .await;
    let err = import_legacy(&t.db, &broken).await.unwrap_err();
    assert!(err.to_string().contains("users"), "{err}");
    assert_eq!(count(&t.db, "accounts").await, 0);
    assert_eq!(count(&t.db, "legacy_imports").await, 0);

    let missing = import_legacy(&t.db, &dir.path().join("nope.db"))
        .await
        .unwrap_err();
    assert!(
        matches!(missing, ImportError::Unreadable { .. }),
        "{missing}"
    );
}

#[test]
fn the_command_line_reports_what_it_imported() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("database.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(legacy_db(&old, &rows(&bcrypt::hash("pw", 4).unwrap())));
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_gamemaster"))
            .current_dir(dir.path())
            .env_clear()
            .args(["import-legacy", old.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        String::from_utf8_lossy(&first.stdout)
            .contains("imported 2 accounts, 2 campaigns, 1 characters, 2 messages")
    );
    let second = run();
    assert!(String::from_utf8_lossy(&second.stdout).contains("already imported; nothing changed"));
}

#[tokio::test]
async fn an_email_registered_here_first_never_receives_the_old_accounts_data() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("database.db");
    legacy_db(&old, &rows(&bcrypt::hash("streamlit-days", 4).unwrap())).await;
    let cheap = HashCost {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
    for t in support::db::engines().await {
        let db = &t.db;
        let accounts = Accounts::new(Arc::new(db.clone()), cheap, 1);
        // Registration proves nothing about the email: anyone could have typed Mira's.
        accounts
            .register(
                UserId(66),
                "mira@example.org",
                "Squatter-Pass-1",
                "Squatter-Pass-1",
            )
            .await
            .unwrap();
        let squatter = db
            .account_by_email("mira@example.org")
            .await
            .unwrap()
            .unwrap();

        let summary = import_legacy(db, &old).await.unwrap();
        assert_eq!(summary.accounts, 2, "the old account is imported, apart");
        assert_eq!(summary.conflicts.len(), 1, "{:?}", summary.conflicts);
        assert!(summary.conflicts[0].contains("mira@example.org"));
        let owned_by = |id: i64| {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM campaigns WHERE account_id = $1")
                .bind(id)
                .fetch_one(db.pool())
        };
        assert_eq!(owned_by(squatter.id.0).await.unwrap(), 0);
        let held = db
            .account_by_email("legacy-1@import.invalid")
            .await
            .unwrap()
            .expect("the old account is held under a placeholder email");
        assert_eq!(held.legacy_email.as_deref(), Some("mira@example.org"));
        assert_eq!(owned_by(held.id.0).await.unwrap(), 1);

        // The old password opens the old account; the newer password its own.
        let linked = accounts
            .link(UserId(5), "mira@example.org", "streamlit-days")
            .await
            .unwrap();
        assert_eq!(linked.id, held.id);
        assert_eq!(linked.shown_email(), "mira@example.org");
        let own = accounts
            .link(UserId(67), "mira@example.org", "Squatter-Pass-1")
            .await
            .unwrap();
        assert_eq!(own.id, squatter.id);
        // Nobody can register the placeholder address.
        assert!(
            accounts
                .register(
                    UserId(68),
                    "legacy-2@import.invalid",
                    "Another-Pass-1",
                    "Another-Pass-1"
                )
                .await
                .is_err()
        );
    }
}

#[tokio::test]
async fn an_imported_turn_without_a_character_is_exported_and_erased_with_its_account() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("database.db");
    let mut legacy = rows(&bcrypt::hash("streamlit-days", 4).unwrap());
    legacy.push_str(
        ";\nINSERT INTO messages (user_id, campaign_id, role, content) VALUES (1, 7, 'user', 'Je regarde autour de moi.')",
    );
    legacy_db(&old, &legacy).await;
    for t in support::db::engines().await {
        let db = &t.db;
        import_legacy(db, &old).await.unwrap();
        let accounts = Accounts::new(
            Arc::new(db.clone()),
            HashCost {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            },
            1,
        );
        accounts
            .link(UserId(5), "mira@example.org", "streamlit-days")
            .await
            .unwrap();
        let mine = personal_data::export(db, UserId(5)).await.unwrap();
        let said: Vec<&str> = mine.messages.iter().map(|m| m.content.as_str()).collect();
        assert!(said.contains(&"Je regarde autour de moi."), "{said:?}");

        // Adopted into a server, the story stays; erasing the account takes the author away.
        let account = db
            .account_by_email("mira@example.org")
            .await
            .unwrap()
            .unwrap();
        db.adopt_imported(account.id, GuildId(9), UserId(5))
            .await
            .unwrap();
        personal_data::erase(db, UserId(5)).await.unwrap();
        let left: Vec<(Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT account_id, author_id FROM messages WHERE content = 'Je regarde autour de moi.'",
        )
        .fetch_all(db.pool())
        .await
        .unwrap();
        assert_eq!(left, [(None, None)], "kept for the table, with no author");
    }
}
