//! Stored token buckets on both engines: sizes, refills, concurrent takes, restarts.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use gamemaster::core::ids::{GuildId, Timestamp, UserId};
use gamemaster::core::limits::{
    Action, LimitError, LimitStore, Limiter, Limits, Pair, Rate, Scope,
};
use gamemaster::storage::Db;
use support::db::engines;

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_bucket_gives_its_size_at_once_then_one_per_interval() {
    let rate = Rate::per(3, MINUTE);
    for t in engines().await {
        let start = Timestamp::now().0;
        for _ in 0..3 {
            let taken = t.db.take_token("turn:user:1", rate, Timestamp(start)).await;
            assert_eq!(taken, Ok(None));
        }
        let wait = t.db.take_token("turn:user:1", rate, Timestamp(start)).await;
        assert_eq!(
            wait,
            Ok(Some(Duration::from_secs(20))),
            "one token per 20 s"
        );
        let early = Timestamp(start + 19_000);
        let wait = t.db.take_token("turn:user:1", rate, early).await.unwrap();
        assert_eq!(wait, Some(Duration::from_secs(1)));
        let later = Timestamp(start + 20_000);
        assert_eq!(t.db.take_token("turn:user:1", rate, later).await, Ok(None));
        assert!(
            t.db.take_token("turn:user:1", rate, later)
                .await
                .unwrap()
                .is_some()
        );
        // Another key is another bucket.
        assert_eq!(t.db.take_token("turn:user:2", rate, later).await, Ok(None));
        // A long pause refills the bucket to its size, no more.
        let tomorrow = Timestamp(start + 86_400_000);
        for _ in 0..3 {
            assert_eq!(
                t.db.take_token("turn:user:1", rate, tomorrow).await,
                Ok(None)
            );
        }
        assert!(
            t.db.take_token("turn:user:1", rate, tomorrow)
                .await
                .unwrap()
                .is_some()
        );
    }
}

#[tokio::test]
async fn concurrent_takes_never_exceed_the_bucket() {
    let rate = Rate::per(5, Duration::from_secs(3_600));
    for t in engines().await {
        let now = Timestamp::now();
        let takes = (0..20).map(|_| t.db.take_token("portrait:guild:9", rate, now));
        let answers = futures::future::join_all(takes).await;
        let taken = answers.iter().filter(|a| **a == Ok(None)).count();
        assert_eq!(taken, 5, "{answers:?}");
    }
}

#[tokio::test]
async fn a_bucket_holds_across_a_restart_and_between_processes() {
    let rate = Rate::per(2, MINUTE);
    for t in engines().await {
        let now = Timestamp::now();
        t.db.take_token("stats:user:7", rate, now).await.unwrap();
        // Another process (or the bot after a restart) opens the same database.
        let other = Db::open(&t.url).await.unwrap();
        assert_eq!(other.take_token("stats:user:7", rate, now).await, Ok(None));
        assert!(
            other
                .take_token("stats:user:7", rate, now)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            t.db.take_token("stats:user:7", rate, now)
                .await
                .unwrap()
                .is_some()
        );
        other.close().await;
    }
}

#[tokio::test]
async fn a_server_refusal_gives_the_player_their_token_back() {
    for t in engines().await {
        let limits = Limits {
            turn: Pair {
                player: Some(Rate::per(2, MINUTE)),
                server: Some(Rate::per(1, MINUTE)),
            },
            ..Limits::none()
        };
        let limiter = Limiter::new(Arc::new(t.db.clone()), limits);
        let (alice, bob, server) = (UserId(1), UserId(2), Some(GuildId(5)));
        limiter.take(Action::Turn, alice, server).await.unwrap();
        let Err(LimitError::Limited(refusal)) = limiter.take(Action::Turn, bob, server).await
        else {
            panic!("the server's bucket is empty");
        };
        assert_eq!(refusal.scope, Scope::Server);
        // Bob's own bucket still holds both tokens: elsewhere he may act twice.
        limiter
            .take(Action::Turn, bob, Some(GuildId(6)))
            .await
            .unwrap();
        limiter
            .take(Action::Turn, bob, Some(GuildId(7)))
            .await
            .unwrap();
        let Err(LimitError::Limited(own)) = limiter.take(Action::Turn, bob, None).await else {
            panic!("Bob's bucket is empty now");
        };
        assert_eq!(own.scope, Scope::Player);
        assert!(own.to_string().contains("Try again in"), "{own}");
    }
}
