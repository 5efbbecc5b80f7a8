//! Operations: what the bot knows about itself (metrics, host, gateway), the `/healthz` and
//! `/metrics` listener, and the pieces of `/system`. No serenity here: the Discord adapter
//! reports its shards through [`Gateway`].

pub mod health;
pub mod host;
pub mod http;
pub mod instrument;
pub mod metrics;
pub mod report;

use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use async_trait::async_trait;

use crate::core::engine::Engine;
pub use metrics::{Gauges, Metrics};

/// One gateway shard as the shard manager sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardState {
    pub id: u32,
    pub connected: bool,
    /// The connection stage, e.g. "connected", "resuming".
    pub stage: String,
    /// Between the last heartbeat and its acknowledgement; None before the first one.
    pub latency: Option<Duration>,
}

/// The Discord connection, as operations need to see it.
#[async_trait]
pub trait Gateway: Send + Sync {
    async fn shards(&self) -> Vec<ShardState>;
}

/// What the running bot shares with `/system`, `/healthz` and `/metrics`.
#[derive(Default)]
pub struct Ops {
    pub metrics: Arc<Metrics>,
    pub host: host::HostSampler,
    gateway: RwLock<Option<Arc<dyn Gateway>>>,
    engine: OnceLock<Engine>,
}

impl Ops {
    pub fn new() -> Ops {
        Ops::default()
    }

    /// The adapter sets this each time it (re)builds its client.
    pub fn set_gateway(&self, gateway: Arc<dyn Gateway>) {
        *self.gateway.write().unwrap() = Some(gateway);
    }

    pub async fn shards(&self) -> Vec<ShardState> {
        let gateway = self.gateway.read().unwrap().clone();
        match gateway {
            Some(g) => g.shards().await,
            None => Vec::new(),
        }
    }

    pub fn set_engine(&self, engine: Engine) {
        let _ = self.engine.set(engine);
    }

    pub fn engine(&self) -> Option<&Engine> {
        self.engine.get()
    }

    /// The values `/metrics` reads at scrape time.
    pub fn gauges(&self) -> Gauges {
        match self.engine() {
            Some(engine) => Gauges {
                turns: engine.turns_accepted(),
                active_sessions: engine.active_channels() as u64,
                queued_commands: engine.queued_commands() as u64,
                narrations_in_progress: engine.narrations_in_progress() as u64,
                draining: engine.is_draining(),
            },
            None => Gauges::default(),
        }
    }
}
