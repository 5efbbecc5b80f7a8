//! The `gamemaster` binary: help, configuration errors, and `migrate` on good and bad databases.

use crate::support;

use std::path::Path;
use std::process::{Command, Output};

fn gamemaster(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gamemaster"));
    // A clean environment in an empty directory: no .env, no inherited keys.
    cmd.current_dir(dir)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run gamemaster")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn help_explains_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out = gamemaster(dir.path(), &["--help"], &[]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for word in ["run", "migrate", "Discord bot", "DATABASE_URL"] {
        assert!(help.contains(word), "help lacks {word}: {help}");
    }
}

#[test]
fn running_without_configuration_lists_every_problem_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = gamemaster(dir.path(), &["run"], &[("SHARD_COUNT", "many")]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("3 problems"), "{err}");
    for var in ["DISCORD_TOKEN", "OPENAI_API_KEY", "SHARD_COUNT"] {
        assert!(err.contains(var), "{var} missing from {err}");
    }
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    assert!(!dir.path().join("data").exists(), "nothing may be written");
}

#[test]
fn a_bad_database_url_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = gamemaster(
        dir.path(),
        &["migrate"],
        &[("DATABASE_URL", "mysql://root@localhost/x")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("DATABASE_URL: must start with sqlite:// or postgres://"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn migrate_creates_the_schema_on_sqlite_by_default_and_on_postgres_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let out = gamemaster(dir.path(), &["migrate"], &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("is up to date"));
    }
    assert!(dir.path().join("data/gamemaster.db").exists());
    migrate_on_postgres();
}

#[test]
fn an_unreachable_postgres_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = gamemaster(
        dir.path(),
        &["migrate"],
        &[(
            "DATABASE_URL",
            "postgres://gm:secret-password@127.0.0.1:1/gm",
        )],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("cannot open the PostgreSQL database"), "{err}");
    assert!(!err.contains("secret-password"), "password leaked: {err}");
}

#[test]
fn a_read_only_data_directory_is_refused_without_writing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root ignores directory permissions; the check only means something for other users.
    let probe = locked.join("probe");
    if std::fs::write(&probe, b"x").is_ok() {
        std::fs::remove_file(&probe).unwrap();
        let out = gamemaster(
            dir.path(),
            &["migrate"],
            &[("DATABASE_URL", "sqlite:///proc/gamemaster/data.db")],
        );
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains("cannot create the data directory /proc/gamemaster"),
            "{}",
            stderr(&out)
        );
        return;
    }
    let url = format!("sqlite://{}/data/gm.db", locked.display());
    let out = gamemaster(dir.path(), &["migrate"], &[("DATABASE_URL", &url)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot create the data directory"),
        "{}",
        stderr(&out)
    );
    assert!(!locked.join("data").exists());
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert!(gamemaster(dir.path(), &["migrate"], &[]).status.success());
    let db = dir.path().join("data/gamemaster.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let url = gamemaster::storage::DatabaseUrl::parse(&format!("sqlite://{}", db.display())).unwrap();
        let conn = gamemaster::storage::Db::connect(&url).await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (9999, 'from the future', 1, x'00', 0)",
        )
        .execute(conn.pool())
        .await
        .unwrap();
        conn.close().await;
    });
    let before = std::fs::read(&db).unwrap();
    let out = gamemaster(dir.path(), &["migrate"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("created by a newer version"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("9999"));
    assert_eq!(std::fs::read(&db).unwrap(), before, "nothing written");
}

/// PostgreSQL half of the migrate check; runs with the SQLite half when TEST_DATABASE_URL is set.
fn migrate_on_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(test_db) = rt.block_on(support::db::postgres()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = gamemaster(
        dir.path(),
        &["migrate"],
        &[("DATABASE_URL", test_db.url.expose())],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("PostgreSQL database"));
    let tables: i64 = rt.block_on(async {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() \
             AND table_name IN ('accounts','discord_links','guild_settings','campaigns','characters','sessions', \
             'messages','performance_logs','ratings','arena_battles','arena_votes','images')",
        )
        .fetch_one(test_db.db.pool())
        .await
        .unwrap()
    });
    assert_eq!(tables, 12, "every table of the data model exists");
}
