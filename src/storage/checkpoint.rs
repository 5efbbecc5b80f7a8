//! SQLite's WAL checkpoints, moved off the write path. By default the connection that commits
//! the write crossing 1,000 WAL pages copies them into the database file and syncs it, and
//! every turn queued behind that one connection waits: a few milliseconds every hundred turns
//! or so. Here the pool's connection never checkpoints on its own (`wal_autocheckpoint = 0`).
//!
//! Every second, a connection of its own copies the WAL into the database file in PASSIVE mode,
//! which never blocks the writer. Under steady load that alone never catches up: the commits
//! made while it copied are left over, and SQLite starts the WAL over from its beginning only
//! once every frame is copied, so the WAL grew without bound (600 MB in the engine benchmark's
//! fifteen seconds). So the pool's connection, the only writer, then copies what is left, a few
//! milliseconds' worth, with nothing committing meanwhile; its next commit starts the WAL again,
//! writing over blocks the file already has instead of growing it.

use std::time::Duration;

use sqlx::{AnyConnection, AnyPool, Connection};
use tokio::task::JoinHandle;

const EVERY: Duration = Duration::from_secs(1);
const PASSIVE: &str = "PRAGMA wal_checkpoint(PASSIVE)";

/// The background checkpointer; it stops when the last handle to the database is dropped.
#[derive(Debug)]
pub(super) struct Checkpointer(JoinHandle<()>);

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Checkpointer {
    /// Starts checkpointing the database at `url` (a SQLite file whose connections, in `pool`,
    /// run with `wal_autocheckpoint = 0`).
    pub(super) fn start(url: String, pool: AnyPool) -> Checkpointer {
        Checkpointer(tokio::spawn(async move {
            let mut own: Option<AnyConnection> = None;
            while !pool.is_closed() {
                tokio::time::sleep(EVERY).await;
                if own.is_none() {
                    own = AnyConnection::connect(&url).await.ok();
                }
                let Some(conn) = own.as_mut() else { continue };
                match checkpoint(&mut *conn).await {
                    Ok(0) => continue, // nothing was written since the last restart
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
                        own = None;
                        continue;
                    }
                }
                if let Err(e) = checkpoint(&pool).await
                    && !pool.is_closed()
                {
                    tracing::warn!(error = %e, "WAL checkpoint on the writer failed; retrying");
                }
            }
        }))
    }
}

/// Runs a PASSIVE checkpoint and returns the number of frames the WAL holds.
async fn checkpoint<'c, E>(executor: E) -> Result<i64, sqlx::Error>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let (_busy, frames, _copied): (i64, i64, i64) =
        sqlx::query_as(PASSIVE).fetch_one(executor).await?;
    Ok(frames)
}
