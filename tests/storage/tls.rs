//! PostgreSQL traffic can be encrypted: sqlx is built with rustls, so `sslmode=require`
//! connects over TLS instead of failing with "built without TLS support".

use gamemaster::storage::{DatabaseUrl, Db};

#[tokio::test]
async fn sslmode_require_connects_over_tls() {
    let Some(base) = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        return;
    };
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = DatabaseUrl::parse(&format!("{base}{separator}sslmode=require")).unwrap();
    let db = Db::connect(&url).await.unwrap_or_else(|e| {
        panic!("sslmode=require must connect (the test server has ssl=on): {e}")
    });
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert!(encrypted, "the connection must be encrypted");
    db.close().await;
}
