//! The process's async runtime, laid out for the database it serves.
//!
//! sqlx runs each SQLite connection on a thread of its own, and a turn is a chain of about a
//! dozen hand-offs between the runtime and that thread (every statement is a request and a
//! reply). When the two threads sit on different cores, each hand-off wakes an idle core. On
//! the virtual machines a bot like this is usually hosted on, that wake is a trip through the
//! hypervisor: about 45 µs, against 2 µs between two threads of one core. The hand-offs, not
//! the work, were most of a turn.
//!
//! So with SQLite the runtime runs on one thread, pinned to one core, and the SQLite
//! connections it opens inherit that core. Blocking work (password hashing, charts, host
//! samples) runs on tokio's blocking threads, on every other core the process may use.
//! PostgreSQL's connections are sockets to another process anyway: there the runtime spreads
//! over every core.

use std::io;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

use crate::storage::DatabaseUrl;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One thread on one core, shared with the SQLite connections' threads.
    SameCore,
    /// A worker per core.
    EveryCore,
}

impl Layout {
    /// A process that plays turns (the bot, `play`, `compare`) against `url`.
    pub fn for_database(url: &DatabaseUrl) -> Layout {
        if url.is_postgres() {
            Layout::EveryCore
        } else {
            Layout::SameCore
        }
    }

    /// A command that plays no turns (`stats`, `migrate`, `import-legacy`, `sheet`): its work
    /// is a few long statements, which it runs on several connections at once (the rollup
    /// refresh), so its SQLite connections must not share one core.
    pub fn for_command_without_turns() -> Layout {
        Layout::EveryCore
    }
}

/// The cores the process may use, counted before any pinning: the pinned thread itself sees
/// only its one (sizing blocking work by it would leave the other cores idle).
pub fn cores() -> usize {
    *PROCESS_CORES.get_or_init(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

static PROCESS_CORES: OnceLock<usize> = OnceLock::new();

/// How many password hashes may run at once: one per core but one, so a core stays free for
/// the async threads however many people log in (`core::accounts::auth::Accounts::new`).
pub fn hashing_slots() -> usize {
    cores().saturating_sub(1).max(1)
}

/// Builds the runtime. With `SameCore`, the calling thread becomes the runtime's thread (its
/// `block_on` runs there) and is pinned to the first core it may use.
pub fn build(layout: Layout) -> io::Result<Runtime> {
    cores(); // counted now, before this thread is pinned
    match layout {
        Layout::EveryCore => Builder::new_multi_thread().enable_all().build(),
        Layout::SameCore => {
            let mut builder = Builder::new_current_thread();
            builder.enable_all();
            let Some((home, others)) = affinity::current().and_then(split_home) else {
                return builder.build();
            };
            if let Err(e) = affinity::set_current(&[home]) {
                // Still correct, only slower: each hand-off may cross cores.
                tracing::warn!(error = %e, "could not pin the runtime to one core");
            }
            // Blocking threads are started from the pinned thread and would inherit its core.
            builder.on_thread_start(move || {
                let _ = affinity::set_current(&others);
            });
            builder.build()
        }
    }
}

/// The runtime's core, and the cores for blocking work: every other one, so that a hash or a
/// chart never takes the runtime's core from it (the scheduler would otherwise put it there
/// whenever the runtime sleeps, and the runtime would wait milliseconds to get it back). With
/// a single core, blocking work shares it.
fn split_home(allowed: Vec<usize>) -> Option<(usize, Vec<usize>)> {
    let (&home, rest) = allowed.split_first()?;
    let others = if rest.is_empty() {
        vec![home]
    } else {
        rest.to_vec()
    };
    Some((home, others))
}

/// The cores the calling thread may run on.
mod affinity {
    use std::io;

    #[cfg(target_os = "linux")]
    pub fn current() -> Option<Vec<usize>> {
        // SAFETY: cpu_set_t is plain data; sched_getaffinity writes at most its size.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
                return None;
            }
            let cores = (0..libc::CPU_SETSIZE as usize)
                .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
                .collect();
            Some(cores)
        }
    }

    #[cfg(target_os = "linux")]
    pub fn set_current(cores: &[usize]) -> io::Result<()> {
        // SAFETY: as above; CPU_SET ignores cores beyond the set's size.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            for &cpu in cores {
                libc::CPU_SET(cpu, &mut set);
            }
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }

    /// Elsewhere the scheduler decides, and the layout is only a single-threaded runtime.
    #[cfg(not(target_os = "linux"))]
    pub fn current() -> Option<Vec<usize>> {
        None
    }

    #[cfg(not(target_os = "linux"))]
    pub fn set_current(_cores: &[usize]) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocking_work_gets_every_core_but_the_runtimes() {
        assert_eq!(split_home(vec![0, 1, 2, 3]), Some((0, vec![1, 2, 3])));
        assert_eq!(split_home(vec![4, 6]), Some((4, vec![6])));
        assert_eq!(split_home(vec![2]), Some((2, vec![2])));
        assert_eq!(split_home(vec![]), None);
    }

    #[test]
    fn sqlite_keeps_one_core_and_postgresql_spreads() {
        let sqlite = DatabaseUrl::parse("sqlite://data/gamemaster.db").unwrap();
        let postgres = DatabaseUrl::parse("postgres://bot@db/gamemaster").unwrap();
        assert_eq!(Layout::for_database(&sqlite), Layout::SameCore);
        assert_eq!(Layout::for_database(&postgres), Layout::EveryCore);
    }
}
