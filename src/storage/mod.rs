//! sqlx implementations of `core::store` on an `AnyPool`: SQLite by default, PostgreSQL for
//! `postgres://` URLs. Queries are written once with `$N` placeholders, which both engines
//! accept; the two migration folders hold the same schema in each engine's types.

mod accounts;
mod campaigns;
mod characters;
mod checkpoint;
mod guilds;
mod images;
pub mod legacy_import;
mod limits;
mod messages;
pub mod migrations;
mod ops;
mod perf;
mod personal_data;
mod quality;
pub mod rollups;
mod rows;
mod sessions;
mod sheets;
mod stats;
mod summaries;
mod url;
mod votes;

pub use url::DatabaseUrl;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::MigrateError;
use sqlx::{AnyPool, Executor};

use crate::core::store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// Opening the database failed. Each variant is one clear line for the admin.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot create the data directory {dir}: {reason}")]
    DataDir { dir: String, reason: String },
    #[error("cannot open the {engine} database at {url}: {reason}")]
    Connect {
        engine: &'static str,
        url: String,
        reason: String,
    },
    #[error(
        "the database at {url} was created by a newer version of gamemaster (it has migration {version}, which this version does not know); upgrade gamemaster or point DATABASE_URL at another database"
    )]
    NewerSchema { url: String, version: i64 },
    #[error("migrating the database at {url} failed: {reason}")]
    Migrate { url: String, reason: String },
}

/// The database handle every adapter shares; cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// The SQLite file, for health checks (None for PostgreSQL and in-memory databases).
    file: Option<PathBuf>,
    /// The file's identity when it was opened: SQLite creates a new, empty file when a
    /// connection opens after the old one was removed, so presence alone proves nothing.
    file_identity: Option<FileIdentity>,
    /// Moves after every write to what a session reads each turn (campaigns, characters,
    /// sessions, server settings), so the engine can keep those between turns.
    revision: Arc<AtomicU64>,
    /// Moves after every write to sheets, the journal or fights (`SheetStore::party_revision`).
    party_revision: Arc<AtomicU64>,
    /// Whether other processes write to the database too (gateway shards run apart): their
    /// writes never move this process's revision, so nothing may be kept between turns.
    shared_with_other_processes: bool,
    /// Rows merged per rollup refresh transaction (`rollups::REFRESH_BATCH_ROWS` unless the
    /// process serves no turns).
    refresh_batch_rows: i64,
    /// Commands that serve no turns only: where a rollup refresh aggregates several id
    /// ranges at once (`rollups::aggregate_rows`), a pool beside the handle's own, opened on
    /// first use. For a SQLite file its connections are read-only (WAL lets them read while
    /// the one writer writes).
    aggregation_readers: Option<AnyPool>,
    /// SQLite files only: checkpoints the WAL in the background (see `checkpoint`).
    _checkpointer: Option<Arc<checkpoint::Checkpointer>>,
}

impl Db {
    /// Connects (creating a SQLite file and its directory if needed) without migrating.
    pub async fn connect(url: &DatabaseUrl) -> Result<Db, DbError> {
        Self::connect_with(url, POSTGRES_CONNECTIONS).await
    }

    /// Connects with at most `postgres_connections` to a PostgreSQL server (SQLite always
    /// has one).
    async fn connect_with(url: &DatabaseUrl, postgres_connections: u32) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let backend = if url.is_postgres() {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        let connect_url = match backend {
            Backend::Sqlite => sqlite_url_creating_dir(url)?,
            Backend::Postgres => url.expose().to_string(),
        };
        let options: AnyConnectOptions =
            connect_url
                .parse()
                .map_err(|e: sqlx::Error| DbError::Connect {
                    engine: backend.name(),
                    url: url.redacted(),
                    reason: e.to_string(),
                })?;
        let pool = AnyPoolOptions::new()
            // SQLite has one writer at a time; several connections only take turns sleeping in
            // its busy handler under load. One connection queues writes in the pool instead,
            // which is faster and fair.
            .max_connections(match backend {
                Backend::Sqlite => 1,
                Backend::Postgres => postgres_connections.max(1),
            })
            .acquire_timeout(Duration::from_secs(match backend {
                Backend::Sqlite => 30,
                Backend::Postgres => 5,
            }))
            // A PostgreSQL connection can die with its server (a restart, a failover): test it
            // before use. A SQLite file cannot, and its ping is one more round trip to the
            // connection's thread before every statement (a fifth of a turn's time).
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers (stats, autocomplete) run while a turn is written.
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA wal_autocheckpoint = 0;")
                            .await?;
                    } else {
                        postgres_session(conn).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| DbError::Connect {
                engine: backend.name(),
                url: url.redacted(),
                reason: describe_connect_error(&e),
            })?;
        let file = match backend {
            Backend::Sqlite => sqlite_file(url.expose()),
            Backend::Postgres => None,
        };
        let in_memory = connect_url.contains(":memory:") || connect_url.contains("mode=memory");
        let checkpointer = (backend == Backend::Sqlite && !in_memory).then(|| {
            Arc::new(checkpoint::Checkpointer::start(
                connect_url.clone(),
                pool.clone(),
            ))
        });
        let file_identity = file.as_deref().and_then(FileIdentity::of);
        Ok(Db {
            pool,
            backend,
            file,
            file_identity,
            revision: Arc::new(AtomicU64::new(0)),
            party_revision: Arc::new(AtomicU64::new(0)),
            shared_with_other_processes: false,
            refresh_batch_rows: rollups::REFRESH_BATCH_ROWS,
            aggregation_readers: None,
            _checkpointer: checkpointer,
        })
    }

    /// The same database, for a command that serves no turns (`stats`, `migrate`,
    /// `import-legacy`, `compare`): its rollup refreshes take
    /// [`rollups::TOOL_REFRESH_BATCH_ROWS`] rows at a time, since no turn waits behind them,
    /// and aggregate them on every core.
    pub fn serving_no_turns(mut self) -> Db {
        self.refresh_batch_rows = rollups::TOOL_REFRESH_BATCH_ROWS;
        self.aggregation_readers = match self.backend {
            Backend::Postgres => Some(postgres_readers(&self.pool)),
            Backend::Sqlite => self.file.as_deref().and_then(sqlite_readers),
        };
        self
    }

    /// Opens, migrates and [serves no turns](Db::serving_no_turns), for a command that runs
    /// one statement at a time (`stats`, `migrate`, `import-legacy`): on one connection to a
    /// PostgreSQL server. sqlx hands a connection back to its pool in a spawned task after
    /// a round trip, so the next statement, finding none idle, opened another one (6 ms with
    /// TLS): two or three per `gamemaster stats`. With one, it waits for it instead.
    pub async fn open_for_command(url: &DatabaseUrl) -> Result<Db, DbError> {
        let db = Self::connect_with(url, 1).await?;
        db.migrate(url).await?;
        Ok(db.serving_no_turns())
    }

    /// Where a rollup refresh may aggregate id ranges at once, if anywhere.
    pub(crate) fn aggregation_readers(&self) -> Option<&AnyPool> {
        self.aggregation_readers.as_ref()
    }

    /// The same database, for a process that shares it with others (one of several shard
    /// processes): sessions then read their table every turn, so an erasure, a new model or
    /// a new budget written by another process is seen at the next turn.
    pub fn shared_with_other_processes(mut self) -> Db {
        self.shared_with_other_processes = true;
        self
    }

    /// Connects and brings the schema up to date.
    pub async fn open(url: &DatabaseUrl) -> Result<Db, DbError> {
        let db = Self::connect(url).await?;
        db.migrate(url).await?;
        Ok(db)
    }

    pub async fn migrate(&self, url: &DatabaseUrl) -> Result<(), DbError> {
        let migrator = migrations::for_backend(self.backend);
        migrator.run(&self.pool).await.map_err(|e| match e {
            MigrateError::VersionMissing(version) => DbError::NewerSchema {
                url: url.redacted(),
                version,
            },
            other => DbError::Migrate {
                url: url.redacted(),
                reason: other.to_string(),
            },
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The revision of campaigns, characters, sessions and server settings (see `GuildStore`);
    /// None when other processes write too, since their writes do not move it.
    pub(crate) fn revision(&self) -> Option<u64> {
        (!self.shared_with_other_processes).then(|| self.revision.load(Ordering::Acquire))
    }

    /// The revision of sheets, journals and fights; None when other processes write too.
    pub(crate) fn party_revision(&self) -> Option<u64> {
        (!self.shared_with_other_processes).then(|| self.party_revision.load(Ordering::Acquire))
    }

    /// Called after a write to sheets, a journal or a fight has committed.
    pub(crate) fn party_changed<T>(&self, result: T) -> T {
        self.party_revision.fetch_add(1, Ordering::AcqRel);
        result
    }

    /// Called after such a write has committed, so a reader that sees the new revision also
    /// sees the new rows.
    pub(crate) fn changed<T>(&self, result: T) -> T {
        self.revision.fetch_add(1, Ordering::AcqRel);
        result
    }

    /// Size of the database in bytes, as the engine reports it.
    pub async fn size_bytes(&self) -> Result<i64, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
            }
            Backend::Postgres => "SELECT pg_database_size(current_database())",
        };
        let size: i64 = sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .map_err(rows::store_error)?;
        Ok(size)
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(rows::store_error)?;
        Ok(())
    }

    pub async fn close(&self) {
        if let Some(readers) = &self.aggregation_readers {
            readers.close().await;
        }
        self.pool.close().await;
    }
}

/// The file behind a SQLite URL, unless the database lives in memory.
fn sqlite_file(raw: &str) -> Option<PathBuf> {
    let rest = raw
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    (path != ":memory:" && !path.is_empty() && !query.contains("mode=memory"))
        .then(|| PathBuf::from(path))
}

/// Connections per PostgreSQL pool: turns, autocomplete and `/stats` of many servers at once.
const POSTGRES_CONNECTIONS: u32 = 16;

/// Settings of every PostgreSQL connection. Its JIT compiles a plan above a cost threshold,
/// and the rollup refresh's aggregations cross it: 70 ms of compiling for a statement that
/// runs in 100 ms. Nothing here runs long enough to repay it.
async fn postgres_session(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    conn.execute("SET jit = off").await?;
    Ok(())
}

/// One aggregation reader per core, within reason.
fn reader_count() -> u32 {
    std::thread::available_parallelism().map_or(2, |n| n.get().min(16)) as u32
}

/// Connections to the same server as `pool`, one per core, opened on first use.
fn postgres_readers(pool: &AnyPool) -> AnyPool {
    AnyPoolOptions::new()
        .max_connections(reader_count())
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(|conn, _meta| Box::pin(async move { postgres_session(conn).await }))
        .connect_lazy_with((*pool.connect_options()).clone())
}

/// Read-only connections to a SQLite file, one per core, opened on first use. None when
/// the path does not make a URL (the refresh then aggregates on the writer's connection).
fn sqlite_readers(file: &Path) -> Option<AnyPool> {
    let url = format!("sqlite://{}?mode=ro", file.to_str()?);
    let options: AnyConnectOptions = url.parse().ok()?;
    let pool = AnyPoolOptions::new()
        .max_connections(reader_count())
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute("PRAGMA busy_timeout = 5000;").await?;
                Ok(())
            })
        })
        .connect_lazy_with(options);
    Some(pool)
}

/// SQLite opens files read-write-create through `mode=rwc`; its directory must exist first.
fn sqlite_url_creating_dir(url: &DatabaseUrl) -> Result<String, DbError> {
    let raw = url.expose();
    let rest = raw
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path != ":memory:"
        && !query.contains("mode=memory")
        && let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| DbError::DataDir {
            dir: dir.display().to_string(),
            reason: e.to_string(),
        })?;
    }
    if query.contains("mode=") {
        Ok(raw.to_string())
    } else if query.is_empty() {
        Ok(format!("sqlite://{path}?mode=rwc"))
    } else {
        Ok(format!("sqlite://{path}?{query}&mode=rwc"))
    }
}

fn describe_connect_error(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Io(io) => format!("{io} (is the server running and reachable?)"),
        sqlx::Error::PoolTimedOut => {
            "timed out after 5 s (is the server running and reachable?)".into()
        }
        other => other.to_string(),
    }
}

/// Which file a path names (device and inode), to notice one removed and created again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileIdentity {
    device: u64,
    inode: u64,
}

impl FileIdentity {
    #[cfg(unix)]
    pub(crate) fn of(path: &Path) -> Option<FileIdentity> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).ok()?;
        Some(FileIdentity {
            device: meta.dev(),
            inode: meta.ino(),
        })
    }

    /// Elsewhere only presence is checked.
    #[cfg(not(unix))]
    pub(crate) fn of(path: &Path) -> Option<FileIdentity> {
        path.exists().then_some(FileIdentity {
            device: 0,
            inode: 0,
        })
    }
}
