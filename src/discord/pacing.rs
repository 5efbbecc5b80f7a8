//! The bot's own pacing of channel messages, in front of serenity's rate limiter.
//!
//! Discord counts a channel's message creates, edits and deletes in one bucket (5 per 5 s),
//! but serenity keys its buckets by route: a narration that posts, edits, gets its buttons
//! and a dice notice interleaves routes serenity counts apart, and would meet 429s it only
//! learns from. [`Pacer`] holds a slot per request in a channel from before it is sent until
//! the bucket's period has passed since Discord answered. Discord's window opens at a request
//! it received, which is never after the bot saw the answer, so a sixth request can never
//! land in the window of the first five. A second, global pacer keeps the bot's channel
//! traffic and command replies under the global limit (50 requests a second).
//!
//! Requests wait in the order they asked (tokio's semaphore is fair), so a narration's
//! messages and edits reach Discord in the order the engine made them.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::core::limits::Rate;

/// A bucket: `requests` per `period`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub requests: usize,
    pub period: Duration,
}

/// Added to a bucket's period, for Discord's rounding of its resets.
const MARGIN: Duration = Duration::from_millis(100);

/// A channel's messages: Discord's 5 per 5 s, with the margin.
pub const CHANNEL_MESSAGES: Bucket = Bucket {
    requests: 5,
    period: Duration::from_millis(5_000 + MARGIN.as_millis() as u64),
};

/// The share of Discord's global 50 a second that the bot's paced requests take: channel
/// messages, DMs, and command replies other than an interaction's first answer (callbacks
/// are exempt from the global limit). The other 10 are for what is not paced: the few
/// lookups a command makes (a member's permissions, a channel) and startup registration.
pub const GLOBAL: Bucket = global_share(50);

/// Four fifths of a global limit of `per_second` requests, over a second and the margin's
/// half (the global window is one second, reset more precisely than a route's).
pub const fn global_share(per_second: u32) -> Bucket {
    let share = per_second as usize * 4 / 5;
    let requests = if share == 0 { 1 } else { share };
    Bucket {
        requests,
        period: Duration::from_millis(1_050),
    }
}

/// Interaction webhook requests (followups, the answer after `defer`, their edits) in flight
/// at once, for the whole bot. serenity counts every interaction's webhook requests in one
/// bucket keyed by the application id, where Discord counts them per interaction token
/// (5 per 5 s each), and it sleeps until that bucket's reset, holding it, as soon as its own
/// count of requests in flight reaches the `remaining` of the last answer (4 for a new
/// token). Five deferred commands answered at once made the sixth and every one after it
/// wait up to 5 s. Three in flight keep serenity's count above zero.
pub const INTERACTION_IN_FLIGHT: usize = 3;

/// Idle channels are forgotten once this many are remembered.
const CHANNELS_KEPT: usize = 4096;

pub struct Pacer {
    /// `None`: channels are not paced (a stand-in Discord without the channel limit).
    channel: Option<Bucket>,
    channels: Mutex<HashMap<u64, Arc<Semaphore>>>,
    global: (Bucket, Arc<Semaphore>),
    interactions: Arc<Semaphore>,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer::new(Some(CHANNEL_MESSAGES), GLOBAL)
    }
}

impl Pacer {
    /// `channel_rate` (`DISCORD_CHANNEL_RATE`) per channel, and the share of the global
    /// limit of `global_per_second` (`DISCORD_GLOBAL_RATE`) that [`global_share`] gives.
    pub fn discord(channel_rate: Option<Rate>, global_per_second: u32) -> Pacer {
        let channel = channel_rate.map(|rate| Bucket {
            requests: rate.count as usize,
            period: rate.period + MARGIN,
        });
        Pacer::new(channel, global_share(global_per_second))
    }

    pub fn new(channel: Option<Bucket>, global: Bucket) -> Pacer {
        Pacer {
            channel,
            channels: Mutex::default(),
            global: (global, Arc::new(Semaphore::new(global.requests))),
            interactions: Arc::new(Semaphore::new(INTERACTION_IN_FLIGHT)),
        }
    }

    /// Runs `request`, a message create, edit or delete in `channel`, when both buckets have
    /// room; its slots come back a period after it answered.
    pub async fn message<T>(&self, channel: u64, request: impl Future<Output = T>) -> T {
        let Some(rule) = self.channel else {
            return self.global(request).await;
        };
        let bucket = self.channel_bucket(channel, rule);
        let in_channel = bucket.acquire_owned().await.expect("never closed");
        let out = self.global(request).await;
        release_after(in_channel, rule.period);
        out
    }

    /// Runs `request` (any other call on the bot's behalf) within the global bucket.
    pub async fn global<T>(&self, request: impl Future<Output = T>) -> T {
        let (bucket, semaphore) = &self.global;
        let slot = semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        let out = request.await;
        release_after(slot, bucket.period);
        out
    }

    /// Runs `request`, a webhook request of an interaction (a followup, the answer after
    /// `defer`, or an edit of either), within the global bucket and at most
    /// [`INTERACTION_IN_FLIGHT`] at once.
    pub async fn interaction<T>(&self, request: impl Future<Output = T>) -> T {
        let _in_flight = self.interactions.acquire().await.expect("never closed");
        self.global(request).await
    }

    /// Runs `request` only if the global bucket has room now: for what is worth nothing
    /// late (the typing indicator), so it never delays a message when the bot is busy.
    pub async fn if_idle<T>(&self, request: impl Future<Output = T>) -> Option<T> {
        let (bucket, semaphore) = &self.global;
        let slot = semaphore.clone().try_acquire_owned().ok()?;
        let out = request.await;
        release_after(slot, bucket.period);
        Some(out)
    }

    fn channel_bucket(&self, channel: u64, rule: Bucket) -> Arc<Semaphore> {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        if channels.len() >= CHANNELS_KEPT {
            let full = rule.requests;
            // A bucket nobody holds or waits on, with every slot back, carries no history.
            channels.retain(|_, s| Arc::strong_count(s) > 1 || s.available_permits() < full);
        }
        channels
            .entry(channel)
            .or_insert_with(|| Arc::new(Semaphore::new(rule.requests)))
            .clone()
    }
}

fn release_after(slot: OwnedSemaphorePermit, period: Duration) {
    tokio::spawn(async move {
        tokio::time::sleep(period).await;
        drop(slot);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::time::Instant;

    fn bucket(requests: usize, ms: u64) -> Bucket {
        Bucket {
            requests,
            period: Duration::from_millis(ms),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_sixth_request_waits_a_period_after_the_first_answered() {
        let pacer = Arc::new(Pacer::new(Some(bucket(5, 5_000)), bucket(50, 1_000)));
        let start = Instant::now();
        let mut done = Vec::new();
        for _ in 0..6 {
            let at = pacer
                .message(1, async {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Instant::now()
                })
                .await;
            done.push(at.duration_since(start));
        }
        assert_eq!(done[4], Duration::from_millis(500));
        // Started once the first request's slot came back: 100 ms + 5 s, answered 100 ms later.
        assert_eq!(done[5], Duration::from_millis(5_200));
    }

    #[tokio::test(start_paused = true)]
    async fn channels_do_not_wait_for_each_other_but_share_the_global_bucket() {
        let pacer = Arc::new(Pacer::new(Some(bucket(5, 5_000)), bucket(8, 1_000)));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for channel in 0..10u64 {
            let pacer = pacer.clone();
            tasks.push(tokio::spawn(async move {
                pacer.message(channel, async { Instant::now() }).await
            }));
        }
        let mut started: Vec<Duration> = Vec::new();
        for t in tasks {
            started.push(t.await.unwrap().duration_since(start));
        }
        started.sort();
        assert!(started[..8].iter().all(|d| d.is_zero()), "{started:?}");
        assert_eq!(started[8], Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn what_is_worth_nothing_late_is_skipped_when_the_global_bucket_is_full() {
        let pacer = Pacer::new(None, bucket(2, 1_000));
        assert_eq!(pacer.if_idle(async { 1 }).await, Some(1));
        pacer.message(1, async {}).await;
        assert_eq!(pacer.if_idle(async { 3 }).await, None);
        tokio::time::sleep(Duration::from_millis(1_010)).await;
        assert_eq!(pacer.if_idle(async { 4 }).await, Some(4));
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_requests_keep_their_order() {
        let pacer = Arc::new(Pacer::new(Some(bucket(1, 1_000)), bucket(50, 1_000)));
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for n in 0..5 {
            let (pacer, order) = (pacer.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                pacer
                    .message(7, async { order.lock().unwrap().push(n) })
                    .await
            }));
            tokio::task::yield_now().await;
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn interaction_requests_run_at_most_three_at_once() {
        let pacer = Arc::new(Pacer::new(None, bucket(1000, 10)));
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (pacer, running, most) = (pacer.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    pacer
                        .interaction(async {
                            use std::sync::atomic::Ordering::SeqCst;
                            let now = running.fetch_add(1, SeqCst) + 1;
                            most.fetch_max(now, SeqCst);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            running.fetch_sub(1, SeqCst);
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(
            most.load(std::sync::atomic::Ordering::SeqCst),
            INTERACTION_IN_FLIGHT
        );
    }
}
