//! Fresh databases for tests: SQLite always, PostgreSQL too when `TEST_DATABASE_URL` is set.
//!
//! Each PostgreSQL test gets its own schema, so tests run in parallel without seeing each
//! other's rows. When `TEST_DATABASE_URL` is set and the server cannot be reached, the test
//! fails: asking for PostgreSQL and silently testing only SQLite would hide a broken engine.

use gamemaster::storage::DatabaseUrl;
use gamemaster::storage::{Backend, Db};

pub struct TestDb {
    pub db: Db,
    pub url: DatabaseUrl,
    _dir: Option<tempfile::TempDir>,
    schema: Option<(String, String)>,
}

impl TestDb {
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, schema)) = self.schema.take() {
            // Drop runs outside async; a short-lived runtime on another thread tidies up.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(admin) = Db::connect(&DatabaseUrl::parse(&admin_url).unwrap()).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP SCHEMA IF EXISTS {schema} CASCADE"
                        )))
                        .execute(admin.pool())
                        .await;
                        admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// A migrated SQLite database in a fresh temporary directory.
pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = DatabaseUrl::parse(&format!("sqlite://{}/test.db", dir.path().display())).unwrap();
    let db = Db::open(&url).await.expect("open SQLite");
    TestDb {
        db,
        url,
        _dir: Some(dir),
        schema: None,
    }
}

/// A migrated PostgreSQL schema of its own, if `TEST_DATABASE_URL` asks for PostgreSQL.
pub async fn postgres() -> Option<TestDb> {
    let admin_url = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())?;
    let admin = Db::connect(
        &DatabaseUrl::parse(&admin_url).expect("TEST_DATABASE_URL is not a database URL"),
    )
    .await
    .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}"));
    let schema = format!("t_{}", rand::random::<u64>());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(admin.pool())
        .await
        .expect("create schema");
    admin.close().await;
    let separator = if admin_url.contains('?') { '&' } else { '?' };
    let url = DatabaseUrl::parse(&format!(
        "{admin_url}{separator}options[search_path]={schema}"
    ))
    .unwrap();
    let db = Db::open(&url).await.expect("migrate PostgreSQL schema");
    Some(TestDb {
        db,
        url,
        _dir: None,
        schema: Some((admin_url, schema)),
    })
}

/// SQLite, then PostgreSQL when requested: run the same assertions on each.
pub async fn engines() -> Vec<TestDb> {
    let mut all = vec![sqlite().await];
    all.extend(postgres().await);
    all
}
