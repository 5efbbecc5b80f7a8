//! SQLite's WAL checkpoints, moved off the write path. By default the connection that commits
//! the write crossing 1,000 WAL pages copies them into the database file and syncs it, and
//! every turn queued behind that one connection waits: a few milliseconds every hundred turns
//! or so. Here the pool's connection never checkpoints; a connection of its own does, every
//! second, in PASSIVE mode (it never blocks the writer, and skips what a reader still needs).

use std::time::Duration;

use sqlx::{AnyConnection, Connection, Executor};
use tokio::task::JoinHandle;

const EVERY: Duration = Duration::from_secs(1);

/// The background checkpointer; it stops when the last handle to the database is dropped.
#[derive(Debug)]
pub(super) struct Checkpointer(JoinHandle<()>);

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Checkpointer {
    /// Starts checkpointing the database at `url` (a SQLite file whose connections run with
    /// `wal_autocheckpoint = 0`).
    pub(super) fn start(url: String) -> Checkpointer {
        Checkpointer(tokio::spawn(async move {
            let mut conn: Option<AnyConnection> = None;
            loop {
                tokio::time::sleep(EVERY).await;
                if conn.is_none() {
                    conn = AnyConnection::connect(&url).await.ok();
                }
                let Some(c) = conn.as_mut() else { continue };
                if let Err(e) = c.execute("PRAGMA wal_checkpoint(PASSIVE)").await {
                    tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
                    conn = None;
                }
            }
        }))
    }
}
