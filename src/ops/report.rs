//! `/system` as plain text fields: the Discord adapter only puts them in an embed.

use std::time::Duration;

use super::ShardState;
use super::host::{HostSnapshot, ProcessSnapshot};
use super::metrics::ProviderState;
use crate::core::ids::Timestamp;
use crate::core::models::activity::Activity;
use crate::core::models::chat::Provider;

#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseInfo {
    pub engine: &'static str,
    /// Bytes, or why it could not be read.
    pub size: Result<i64, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProviderLine {
    pub provider: Provider,
    pub enabled: bool,
    pub state: ProviderState,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SystemReport {
    pub now: Timestamp,
    /// Host-wide figures: only for the bot's owner.
    pub host: Option<HostSnapshot>,
    pub process: Option<ProcessSnapshot>,
    pub uptime: Duration,
    pub shards: Vec<ShardState>,
    pub database: DatabaseInfo,
    pub active_sessions: usize,
    /// Whose calls: "all servers" for the owner, "this server" for a server's managers.
    pub activity_scope: &'static str,
    pub activity: Activity,
    pub providers: Vec<ProviderLine>,
}

impl SystemReport {
    /// (name, value) pairs, each value well within Discord's 1024 characters.
    pub fn fields(&self) -> Vec<(String, String)> {
        let mut fields = Vec::new();
        if let Some(host) = &self.host {
            fields.push((
                "Host".to_string(),
                format!(
                    "CPU {:.0}% of {} cores\nMemory {} of {}",
                    host.cpu_percent,
                    host.cpus,
                    bytes(host.memory_used),
                    bytes(host.memory_total)
                ),
            ));
        }
        let mut bot = format!("Up {}", duration(self.uptime));
        if let Some(p) = &self.process {
            bot.push_str(&format!(
                "\nCPU {:.0}% · RSS {}",
                p.cpu_percent,
                bytes(p.rss_bytes)
            ));
        }
        bot.push_str(&format!("\n{} active sessions", self.active_sessions));
        fields.push(("Bot".to_string(), bot));
        fields.push(("Gateway".to_string(), self.gateway()));
        fields.push((
            "Database".to_string(),
            match &self.database.size {
                Ok(size) => format!("{}, {}", self.database.engine, bytes(*size as u64)),
                Err(e) => format!("{}, size unknown ({e})", self.database.engine),
            },
        ));
        fields.push((
            format!("Model calls, last hour ({})", self.activity_scope),
            self.calls(),
        ));
        fields.push(("Providers".to_string(), self.provider_lines()));
        fields
    }

    fn gateway(&self) -> String {
        if self.shards.is_empty() {
            return "no shard running".into();
        }
        const SHOWN: usize = 10;
        let mut lines: Vec<String> = self
            .shards
            .iter()
            .take(SHOWN)
            .map(|s| {
                let latency = s
                    .latency
                    .map(|l| format!("{} ms", l.as_millis()))
                    .unwrap_or_else(|| "no heartbeat yet".into());
                format!("Shard {}: {} · {latency}", s.id, s.stage)
            })
            .collect();
        if self.shards.len() > SHOWN {
            let down = self.shards.iter().filter(|s| !s.connected).count();
            lines.push(format!(
                "… {} shards in all, {down} not connected",
                self.shards.len()
            ));
        }
        lines.join("\n")
    }

    fn calls(&self) -> String {
        if self.activity.models.is_empty() {
            return "none".into();
        }
        const SHOWN: usize = 8;
        let mut lines: Vec<String> = self
            .activity
            .models
            .iter()
            .take(SHOWN)
            .map(|m| {
                format!(
                    "`{}`: {} calls, {:.1}% errors",
                    crate::core::text::truncate_chars(&m.model, 60),
                    m.calls,
                    m.error_rate() * 100.0
                )
            })
            .collect();
        if self.activity.models.len() > SHOWN {
            lines.push(format!(
                "… and {} more models",
                self.activity.models.len() - SHOWN
            ));
        }
        lines.join("\n")
    }

    fn provider_lines(&self) -> String {
        self.providers
            .iter()
            .map(|p| {
                let name = p.provider.prefix();
                if !p.enabled {
                    return format!("{name}: not configured");
                }
                let ok = p
                    .state
                    .last_success
                    .map(|t| format!("last success {}", ago(self.now, t)))
                    .unwrap_or_else(|| "no success yet".into());
                match &p.state.last_error {
                    Some((at, message)) => format!(
                        "{name}: {ok}; last error {}: {}",
                        ago(self.now, *at),
                        crate::core::text::truncate_chars(message, 80)
                    ),
                    None => format!("{name}: {ok}"),
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

pub fn bytes(n: u64) -> String {
    const KIB: f64 = 1024.0;
    let n = n as f64;
    if n >= KIB * KIB * KIB {
        format!("{:.1} GiB", n / (KIB * KIB * KIB))
    } else if n >= KIB * KIB {
        format!("{:.1} MiB", n / (KIB * KIB))
    } else if n >= KIB {
        format!("{:.1} KiB", n / KIB)
    } else {
        format!("{n} B")
    }
}

pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, minutes, seconds) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if days > 0 {
        format!("{days}d {hours}h {minutes}m")
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m {seconds}s")
    } else {
        format!("{seconds}s")
    }
}

fn ago(now: Timestamp, then: Timestamp) -> String {
    let ms = (now.0 - then.0).max(0) as u64;
    format!("{} ago", duration(Duration::from_millis(ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_naturally() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 * 1024 * 1024 + 512 * 1024), "3.5 MiB");
        assert_eq!(duration(Duration::from_secs(59)), "59s");
        assert_eq!(duration(Duration::from_secs(3 * 3600 + 120)), "3h 2m");
        assert_eq!(duration(Duration::from_secs(2 * 86_400 + 3600)), "2d 1h 0m");
    }
}
