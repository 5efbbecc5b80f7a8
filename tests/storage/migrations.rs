//! The embedded migrations keep the versions and checksums that existing databases hold.

use gamemaster::storage::migrations;
use gamemaster::storage::{Backend, DatabaseUrl, Db};

const FIXTURE: &str = include_str!("../fixtures/migration_checksums.txt");

fn released(backend: Backend) -> Vec<(i64, String)> {
    let engine = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    FIXTURE
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            (parts.next()? == engine).then(|| {
                let version = parts.next().unwrap().parse().unwrap();
                (version, parts.next().unwrap().to_string())
            })
        })
        .collect()
}

#[test]
fn released_migrations_keep_their_checksums() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let migrator = migrations::for_backend(backend);
        let released = released(backend);
        assert!(released.len() >= 3, "fixture lists {backend:?}");
        for (version, checksum) in released {
            let migration = migrator
                .iter()
                .find(|m| m.version == version)
                .unwrap_or_else(|| panic!("{backend:?} migration {version} is gone"));
            assert_eq!(
                hex::encode(&migration.checksum),
                checksum,
                "{backend:?} migration {version} changed its checksum"
            );
        }
    }
}

#[test]
fn every_file_is_embedded_in_version_order() {
    for (backend, dir) in [
        (Backend::Sqlite, "migrations/sqlite"),
        (Backend::Postgres, "migrations/postgres"),
    ] {
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        on_disk.sort();
        let embedded: Vec<&str> = migrations::files(backend)
            .iter()
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(embedded, on_disk, "{dir}");
        let versions: Vec<i64> = migrations::for_backend(backend)
            .iter()
            .map(|m| m.version)
            .collect();
        let mut sorted = versions.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(versions, sorted, "{dir}: versions unique and ascending");
    }
}

/// A database whose ledger holds the released checksums opens; one with a changed checksum
/// is refused rather than silently re-migrated.
#[tokio::test]
async fn a_database_from_an_earlier_release_opens_and_a_tampered_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::parse(&format!("sqlite://{}/old.db", dir.path().display())).unwrap();
    let db = Db::open(&url).await.unwrap();
    for (version, checksum) in released(Backend::Sqlite) {
        let stored: Vec<u8> =
            sqlx::query_scalar("SELECT checksum FROM _sqlx_migrations WHERE version = $1")
                .bind(version)
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(
            hex::encode(stored),
            checksum,
            "stored checksum of {version}"
        );
    }
    sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 1")
        .bind(vec![0u8; 48])
        .execute(db.pool())
        .await
        .unwrap();
    db.close().await;
    let err = Db::open(&url)
        .await
        .expect_err("a changed checksum must be refused");
    assert!(err.to_string().contains("migrat"), "{err}");
}
