//! The bot's runtime layout (`gamemaster::runtime`). Its own binary: the test reads every
//! thread of the process, so no other test may be starting threads beside it.

use std::collections::BTreeSet;

use gamemaster::runtime::{self, Layout};
use gamemaster::storage::DatabaseUrl;
use gamemaster::storage::Db;

/// The cores a thread of this process may run on, as the kernel reports them.
fn cores_of(task: &str) -> BTreeSet<usize> {
    let status = std::fs::read_to_string(format!("/proc/self/task/{task}/status")).unwrap();
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim();
    list.split(',')
        .flat_map(|range| match range.split_once('-') {
            Some((a, b)) => (a.parse().unwrap()..=b.parse().unwrap()).collect::<Vec<usize>>(),
            None => vec![range.parse().unwrap()],
        })
        .collect()
}

fn sqlite_threads() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|e| {
            let tid = e.unwrap().file_name().into_string().unwrap();
            let comm = std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).ok()?;
            comm.starts_with("sqlx-sqlite").then_some(tid)
        })
        .collect()
}

fn this_thread() -> String {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }.to_string()
}

#[test]
fn with_sqlite_the_runtime_and_its_connections_share_one_core_and_blocking_work_has_the_others() {
    // A thread of its own: building the runtime pins the thread that builds it.
    std::thread::spawn(|| {
        let before = cores_of(&this_thread());
        let dir = tempfile::tempdir().unwrap();
        let url =
            DatabaseUrl::parse(&format!("sqlite://{}/layout.db", dir.path().display())).unwrap();
        let rt = runtime::build(Layout::for_database(&url)).unwrap();
        rt.block_on(async {
            let db = Db::open(&url).await.unwrap();
            let home = cores_of(&this_thread());
            assert_eq!(home.len(), 1, "the runtime's thread is pinned: {home:?}");
            assert!(home.is_subset(&before));

            // The pool's connection, and the checkpointer's, which it opens a second later.
            let mut threads = sqlite_threads();
            for _ in 0..50 {
                if threads.len() >= 2 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                threads = sqlite_threads();
            }
            assert!(threads.len() >= 2, "SQLite threads: {threads:?}");
            for tid in &threads {
                assert_eq!(cores_of(tid), home, "SQLite thread {tid}");
            }

            let blocking = tokio::task::spawn_blocking(|| cores_of(&this_thread()))
                .await
                .unwrap();
            let others: BTreeSet<usize> = before.difference(&home).copied().collect();
            if others.is_empty() {
                assert_eq!(blocking, before, "with one core, blocking work shares it");
            } else {
                assert_eq!(blocking, others, "blocking work has every other core");
            }
            assert_eq!(
                runtime::cores(),
                before.len(),
                "cores are counted before pinning"
            );
            db.pool().close().await;
        });
    })
    .join()
    .unwrap();
}
