//! The two engines' migrators, built from the SQL files that `build.rs` embeds. They produce
//! the same versions, descriptions and checksums as sqlx's `migrate!` macro did, so databases
//! created by earlier versions keep opening (tests/storage/migrations.rs holds their checksums).

use std::borrow::Cow;
use std::sync::LazyLock;

use sqlx::SqlStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use super::Backend;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

static SQLITE: LazyLock<Migrator> = LazyLock::new(|| migrator(embedded::SQLITE));
static POSTGRES: LazyLock<Migrator> = LazyLock::new(|| migrator(embedded::POSTGRES));

/// The migrator for one engine's schema.
pub fn for_backend(backend: Backend) -> &'static Migrator {
    match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    }
}

/// The embedded migration files of one engine, as `(file name, SQL)` in version order.
pub fn files(backend: Backend) -> &'static [(&'static str, &'static str)] {
    match backend {
        Backend::Sqlite => embedded::SQLITE,
        Backend::Postgres => embedded::POSTGRES,
    }
}

fn migrator(files: &'static [(&'static str, &'static str)]) -> Migrator {
    let mut migrations: Vec<Migration> = files
        .iter()
        .map(|&(name, sql)| migration(name, sql))
        .collect();
    migrations.sort_by_key(|m| m.version);
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

/// Parses `<version>_<description>.sql` the way sqlx's file source does.
fn migration(file_name: &'static str, sql: &'static str) -> Migration {
    let (version, rest) = file_name.split_once('_').unwrap_or_else(|| {
        panic!("migration {file_name} is not named <version>_<description>.sql")
    });
    let version: i64 = version
        .parse()
        .unwrap_or_else(|_| panic!("migration {file_name} has no integer version prefix"));
    let migration_type = MigrationType::from_filename(rest);
    let description = rest
        .trim_end_matches(migration_type.suffix())
        .replace('_', " ");
    Migration::new(
        version,
        Cow::Owned(description),
        migration_type,
        SqlStr::from_static(sql),
        sql.starts_with("-- no-transaction"),
    )
}
