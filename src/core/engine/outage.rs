//! Riding out a database outage (a restart, a failover, a dropped connection): what a
//! channel's players write and what the model narrates is held in memory and saved when the
//! database answers again, instead of being refused. The channel is told once per outage, and
//! again when it is over; other channels are not held up by it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{EngineError, Notice, Shared};
use crate::core::ids::ChannelId;
use crate::core::store::StoreError;

/// The errors that mean "the database did not answer", worth waiting out.
pub(super) trait Unreachable {
    fn unreachable(&self) -> Option<&str>;
}

impl Unreachable for StoreError {
    fn unreachable(&self) -> Option<&str> {
        match self {
            StoreError::Unavailable(reason) => Some(reason),
            _ => None,
        }
    }
}

impl Unreachable for EngineError {
    fn unreachable(&self) -> Option<&str> {
        match self {
            EngineError::Store(e) => e.unreachable(),
            _ => None,
        }
    }
}

/// Waits between attempts while the database does not answer: short at first, since most
/// outages are a restart of a few seconds, then every few seconds. A pooled PostgreSQL
/// connection also waits its own acquire timeout before reporting the database unreachable.
const BACKOFF: [Duration; 5] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

/// One channel's view of the database's health.
pub(super) struct Outage {
    shared: Arc<Shared>,
    channel: ChannelId,
    /// The channel has been told the database is down, and not yet that it is back.
    told: AtomicBool,
    /// The current job has shown model output, so running it again would show it twice.
    output_shown: AtomicBool,
    /// Held by the narrator while a narration it has shown is not yet stored, and by the
    /// intake while it stores a player message: a message written during the narration is
    /// stored after it, as the story reads, even when the database was down in between.
    pub(super) story_order: tokio::sync::Mutex<()>,
}

impl Outage {
    pub(super) fn new(shared: Arc<Shared>, channel: ChannelId) -> Outage {
        Outage {
            shared,
            channel,
            told: AtomicBool::new(false),
            output_shown: AtomicBool::new(false),
            story_order: tokio::sync::Mutex::new(()),
        }
    }

    /// Runs `op` until the database answers. A refusal or a corrupt row is returned at once;
    /// only shutdown's cancellation ends the wait for an unreachable database.
    pub(super) async fn retry<T, E, F, Fut>(&self, op: F) -> Result<T, E>
    where
        E: Unreachable,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.retry_while(op, || true).await
    }

    /// As [`Outage::retry`], but an unreachable database is waited out only while
    /// `may_retry` says so; otherwise its error is returned.
    pub(super) async fn retry_while<T, E, F, Fut>(
        &self,
        mut op: F,
        may_retry: impl Fn() -> bool,
    ) -> Result<T, E>
    where
        E: Unreachable,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempt = 0;
        loop {
            let error = match op().await {
                Ok(value) => {
                    self.answered().await;
                    return Ok(value);
                }
                Err(error) => error,
            };
            let Some(reason) = error.unreachable() else {
                return Err(error);
            };
            if !may_retry() {
                return Err(error);
            }
            self.down(reason).await;
            if !self.pause(attempt).await {
                return Err(error);
            }
            attempt += 1;
        }
    }

    /// Waits before attempt `attempt + 1`; false when shutdown cancelled the wait.
    async fn pause(&self, attempt: usize) -> bool {
        let wait = BACKOFF[attempt.min(BACKOFF.len() - 1)];
        tokio::select! {
            () = tokio::time::sleep(wait) => true,
            () = self.shared.cancelled() => false,
        }
    }

    /// The database did not answer: tells the channel, once per outage.
    pub(super) async fn down(&self, reason: &str) {
        if !self.told.swap(true, Ordering::SeqCst) {
            tracing::warn!(channel = %self.channel, error = %reason, "database unreachable; holding this channel's story until it answers");
            self.notify(Notice::StorageDown).await;
        }
    }

    /// The database answered: if the channel was told it was down, tells it it is back.
    pub(super) async fn answered(&self) {
        if self.told.load(Ordering::Relaxed) && self.told.swap(false, Ordering::SeqCst) {
            tracing::info!(channel = %self.channel, "database answers again");
            self.notify(Notice::StorageBack).await;
        }
    }

    async fn notify(&self, notice: Notice) {
        self.shared.tell(self.channel, &notice).await;
    }

    /// Whether the channel was told the database is down (and not yet that it is back).
    pub(super) fn is_down(&self) -> bool {
        self.told.load(Ordering::SeqCst)
    }

    /// A new job starts with nothing shown.
    pub(super) fn job_started(&self) {
        self.output_shown.store(false, Ordering::SeqCst);
    }

    /// The model's first words are about to reach the channel.
    pub(super) fn output_started(&self) {
        self.output_shown.store(true, Ordering::SeqCst);
    }

    /// Whether a job that failed on an unreachable database may simply run again: only if
    /// the channel saw nothing of it (its players' messages are stored already).
    pub(super) fn may_rerun(&self) -> bool {
        !self.output_shown.load(Ordering::SeqCst)
    }
}
