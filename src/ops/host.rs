//! The host and the bot's own process, read with sysinfo.

use std::sync::Mutex;
use std::time::Duration;

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

#[derive(Debug, Clone, PartialEq)]
pub struct HostSnapshot {
    /// Average over all CPUs since the previous snapshot, 0 to 100.
    pub cpu_percent: f32,
    pub cpus: usize,
    pub memory_used: u64,
    pub memory_total: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProcessSnapshot {
    /// Of one CPU since the previous snapshot (can exceed 100 on several cores).
    pub cpu_percent: f32,
    pub rss_bytes: u64,
    pub uptime: Duration,
}

/// CPU usage is a difference between two readings, so the sampler keeps the previous one.
pub struct HostSampler {
    system: Mutex<Option<System>>,
    pid: Option<Pid>,
}

impl Default for HostSampler {
    fn default() -> Self {
        HostSampler::new()
    }
}

impl HostSampler {
    /// Takes the first reading, so the first `/system` has something to compare with.
    pub fn new() -> HostSampler {
        let pid = sysinfo::get_current_pid().ok();
        let system = System::new().ok().map(|mut s| {
            refresh(&mut s, pid);
            s
        });
        HostSampler {
            system: Mutex::new(system),
            pid,
        }
    }

    /// Blocking (it reads /proc): call it on a blocking thread.
    pub fn sample(&self, uptime: Duration) -> Option<(HostSnapshot, ProcessSnapshot)> {
        let mut guard = self.system.lock().unwrap();
        let system = guard.as_mut()?;
        refresh(system, self.pid);
        let host = HostSnapshot {
            cpu_percent: system.global_cpu_usage(),
            cpus: system.cpus().len(),
            memory_used: system.used_memory(),
            memory_total: system.total_memory(),
        };
        let process = self
            .pid
            .and_then(|pid| system.process(pid))
            .map(|p| ProcessSnapshot {
                cpu_percent: p.cpu_usage(),
                rss_bytes: p.memory(),
                uptime,
            })?;
        Some((host, process))
    }
}

fn refresh(system: &mut System, pid: Option<Pid>) {
    system.refresh_cpu_usage();
    system.refresh_memory();
    if let Some(pid) = pid {
        system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            false,
            ProcessRefreshKind::nothing().with_cpu().with_memory(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_and_the_host() {
        let sampler = HostSampler::new();
        let (host, process) = sampler.sample(Duration::from_secs(5)).expect("Linux /proc");
        assert!(host.cpus >= 1);
        assert!(host.memory_total > 0 && host.memory_used <= host.memory_total);
        assert!(
            process.rss_bytes > 1024 * 1024,
            "a test binary uses over 1 MiB"
        );
        assert_eq!(process.uptime, Duration::from_secs(5));
    }
}
