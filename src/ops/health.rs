//! Whether the bot can serve: its gateway shards are connected and its database answers.

use std::time::Duration;

use super::Ops;
use crate::core::store::OpsStore;

/// A database that takes longer than this to answer a trivial query counts as down.
pub const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// One line per problem; empty when healthy.
    pub problems: Vec<String>,
}

impl Health {
    pub fn is_healthy(&self) -> bool {
        self.problems.is_empty()
    }

    /// The body of `/healthz`.
    pub fn body(&self) -> String {
        if self.is_healthy() {
            "ok\n".into()
        } else {
            let mut body = String::from("unhealthy\n");
            for p in &self.problems {
                body.push_str(p);
                body.push('\n');
            }
            body
        }
    }
}

pub async fn check(ops: &Ops, store: &dyn OpsStore) -> Health {
    let mut problems = Vec::new();
    let shards = ops.shards().await;
    if shards.is_empty() {
        problems.push("gateway: no shard is running".to_string());
    }
    for shard in shards.iter().filter(|s| !s.connected) {
        problems.push(format!("gateway: shard {} is {}", shard.id, shard.stage));
    }
    if ops.engine().is_some_and(|e| e.is_draining()) {
        problems.push("shutting down: no new turns are taken".to_string());
    }
    match tokio::time::timeout(DATABASE_TIMEOUT, store.health_check()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => problems.push(format!("database: {e}")),
        Err(_) => problems.push(format!(
            "database: no answer within {} s",
            DATABASE_TIMEOUT.as_secs()
        )),
    }
    Health { problems }
}
