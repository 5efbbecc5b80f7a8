//! Account linking on both storage engines: registration, linking, lockouts, legacy hashes.

use crate::support;

use std::sync::Arc;

use gamemaster::core::accounts::account::Account;
use gamemaster::core::accounts::account::CredentialError;
use gamemaster::core::accounts::auth::{
    Accounts, AuthError, HashCost, Registration, password_checks,
};
use gamemaster::core::ids::{Timestamp, UserId};
use gamemaster::core::store::AccountStore;
use support::db::engines;

const ALICE: UserId = UserId(11);
const ALICE_PHONE: UserId = UserId(12);
const MALLORY: UserId = UserId(66);
/// Cheap parameters keep tests fast; production uses OWASP's (tested once below).
const CHEAP: HashCost = HashCost {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};
const PASSWORD: &str = "Lantern-Keeper7";

fn created(registration: Registration) -> Account {
    registration
        .created()
        .expect("the email was free, so an account should be created")
}

#[tokio::test]
async fn register_then_link_a_second_discord_user() {
    for t in engines().await {
        let accounts = Accounts::new(Arc::new(t.db.clone()), CHEAP, 1);
        let account = created(
            accounts
                .register(ALICE, " Mira@Example.org ", PASSWORD, PASSWORD)
                .await
                .unwrap(),
        );
        assert_eq!(account.email, "mira@example.org");
        assert!(
            account.password_hash.starts_with("$argon2id$"),
            "{}",
            account.password_hash
        );
        assert!(!account.password_hash.contains(PASSWORD));

        let linked = accounts
            .link(ALICE_PHONE, "MIRA@example.org", PASSWORD)
            .await
            .unwrap();
        assert_eq!(linked.id, account.id);
        assert_eq!(
            t.db.discord_link(ALICE_PHONE)
                .await
                .unwrap()
                .unwrap()
                .account_id,
            account.id
        );
        assert_eq!(
            accounts
                .register(MALLORY, "mira@example.org", PASSWORD, PASSWORD)
                .await
                .unwrap(),
            Registration::Unchanged
        );
        assert!(t.db.discord_link(MALLORY).await.unwrap().is_none());
        accounts.unlink(ALICE_PHONE).await.unwrap();
        assert_eq!(
            accounts.unlink(ALICE_PHONE).await.unwrap_err(),
            AuthError::NotLinked
        );
    }
}

#[tokio::test]
async fn bad_credentials_are_refused_before_anything_is_stored() {
    for t in engines().await {
        let accounts = Accounts::new(Arc::new(t.db.clone()), CHEAP, 1);
        let cases = [
            (
                "not-an-email",
                PASSWORD,
                PASSWORD,
                CredentialError::BadEmail,
            ),
            (
                "mira@example.org",
                "short",
                "short",
                CredentialError::PasswordLength,
            ),
            (
                "mira@example.org",
                "onlylowercase",
                "onlylowercase",
                CredentialError::PasswordTooSimple,
            ),
            (
                "mira@example.org",
                PASSWORD,
                "Lantern-Keeper8",
                CredentialError::PasswordMismatch,
            ),
        ];
        for (email, password, confirm, expected) in cases {
            let err = accounts
                .register(ALICE, email, password, confirm)
                .await
                .unwrap_err();
            assert_eq!(err, AuthError::Credentials(expected));
            assert!(!err.to_string().contains(password) || password.len() < 6);
        }
        assert!(
            t.db.account_by_email("mira@example.org")
                .await
                .unwrap()
                .is_none()
        );
        assert!(t.db.discord_link(ALICE).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn wrong_passwords_lock_the_account_without_revealing_which_emails_exist() {
    for t in engines().await {
        let accounts = Accounts::new(Arc::new(t.db.clone()), CHEAP, 1);
        accounts
            .register(ALICE, "mira@example.org", PASSWORD, PASSWORD)
            .await
            .unwrap();

        let unknown = accounts
            .link(MALLORY, "nobody@example.org", PASSWORD)
            .await
            .unwrap_err();
        let wrong = accounts
            .link(MALLORY, "mira@example.org", "Wrong-Password1")
            .await
            .unwrap_err();
        assert_eq!(
            unknown, wrong,
            "same answer for unknown emails and wrong passwords"
        );
        assert_eq!(unknown.to_string(), AuthError::Rejected.to_string());

        for _ in 0..4 {
            accounts
                .link(MALLORY, "mira@example.org", "Wrong-Password1")
                .await
                .unwrap_err();
        }
        let account =
            t.db.account_by_email("mira@example.org")
                .await
                .unwrap()
                .unwrap();
        assert_eq!(account.failed_logins, 5);
        assert!(account.locked_until.is_some(), "locked after 5 failures");
        // Even the right password is refused while locked, with the same message.
        assert_eq!(
            accounts
                .link(ALICE_PHONE, "mira@example.org", PASSWORD)
                .await
                .unwrap_err(),
            AuthError::Rejected
        );
        assert!(t.db.discord_link(MALLORY).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn a_discord_user_gets_ten_attempts_an_hour() {
    for t in engines().await {
        let accounts = Accounts::new(Arc::new(t.db.clone()), CHEAP, 1);
        for i in 0..10 {
            let err = accounts
                .link(MALLORY, &format!("guess{i}@example.org"), PASSWORD)
                .await
                .unwrap_err();
            assert_eq!(err, AuthError::Rejected);
        }
        assert_eq!(
            accounts
                .link(MALLORY, "guess@example.org", PASSWORD)
                .await
                .unwrap_err(),
            AuthError::TooManyAttempts
        );
    }
}

#[tokio::test]
async fn legacy_bcrypt_hashes_are_verified_once_then_upgraded_to_argon2id() {
    for t in engines().await {
        let legacy = bcrypt::hash("old-streamlit-password", 4).unwrap();
        let account =
            t.db.create_account("legacy@example.org", &legacy)
                .await
                .unwrap();
        let accounts = Accounts::new(Arc::new(t.db.clone()), CHEAP, 1);
        assert_eq!(
            accounts
                .link(ALICE, "legacy@example.org", "wrong")
                .await
                .unwrap_err(),
            AuthError::Rejected
        );
        accounts
            .link(ALICE, "legacy@example.org", "old-streamlit-password")
            .await
            .unwrap();
        let upgraded = t.db.account(account.id).await.unwrap().unwrap();
        assert!(
            upgraded.password_hash.starts_with("$argon2id$"),
            "{}",
            upgraded.password_hash
        );
        assert_eq!(
            upgraded.failed_logins, 0,
            "a success resets the failure count"
        );
        // The upgraded hash still accepts the same password.
        accounts
            .link(ALICE_PHONE, "legacy@example.org", "old-streamlit-password")
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn owasp_parameters_hash_and_verify() {
    let t = support::db::sqlite().await;
    let accounts = Accounts::new(Arc::new(t.db.clone()), HashCost::default(), 1);
    let account = created(
        accounts
            .register(ALICE, "mira@example.org", PASSWORD, PASSWORD)
            .await
            .unwrap(),
    );
    assert!(
        account
            .password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        account.password_hash
    );
    accounts
        .link(ALICE_PHONE, "mira@example.org", PASSWORD)
        .await
        .unwrap();
}

#[tokio::test]
async fn concurrent_wrong_passwords_still_lock_the_account() {
    for t in engines().await {
        let accounts = Accounts::new(Arc::new(t.db.clone()), CHEAP, 2);
        accounts
            .register(ALICE, "mira@example.org", PASSWORD, PASSWORD)
            .await
            .unwrap();
        // Twenty Discord users at once, so the per-user hourly limit is not what stops them.
        let guesses = (0..20).map(|i| {
            let accounts = accounts.clone();
            async move {
                accounts
                    .link(UserId(1000 + i), "mira@example.org", "Wrong-Password1")
                    .await
            }
        });
        let answers = futures::future::join_all(guesses).await;
        assert!(answers.iter().all(|a| *a == Err(AuthError::Rejected)));
        let account =
            t.db.account_by_email("mira@example.org")
                .await
                .unwrap()
                .unwrap();
        assert_eq!(account.failed_logins, 20, "every attempt was counted");
        assert!(account.locked_until.is_some());
        assert_eq!(
            accounts
                .link(ALICE_PHONE, "mira@example.org", PASSWORD)
                .await
                .unwrap_err(),
            AuthError::Rejected,
            "the right password is refused while the lock holds"
        );
    }
}

#[tokio::test]
async fn concurrent_attempts_by_one_user_get_no_more_than_ten_through() {
    for t in engines().await {
        let accounts = Accounts::new(Arc::new(t.db.clone()), CHEAP, 2);
        let guesses = (0..20).map(|i| {
            let accounts = accounts.clone();
            async move {
                accounts
                    .link(MALLORY, &format!("guess{i}@example.org"), PASSWORD)
                    .await
            }
        });
        let answers = futures::future::join_all(guesses).await;
        let refused = answers
            .iter()
            .filter(|a| **a == Err(AuthError::TooManyAttempts))
            .count();
        assert!(refused >= 10, "{refused} of 20 refused");
        // Registrations count against the same limit.
        assert_eq!(
            accounts
                .register(MALLORY, "fresh@example.org", PASSWORD, PASSWORD)
                .await
                .unwrap_err(),
            AuthError::TooManyAttempts
        );
        assert!(
            t.db.account_by_email("fresh@example.org")
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn failures_fifteen_minutes_apart_never_lock_and_a_lock_ends() {
    const MINUTE: i64 = 60_000;
    let window = std::time::Duration::from_secs(15 * 60);
    for t in engines().await {
        let account = t.db.create_account("mira@example.org", "x").await.unwrap();
        let start = Timestamp::now().0;
        // One failure every 15 minutes for a day and a half: never more than one counts.
        for i in 0..150 {
            let at = Timestamp(start + i * 15 * MINUTE);
            assert!(t.db.reserve_login(account.id, at, window, 5).await.unwrap());
        }
        let slow = t.db.account(account.id).await.unwrap().unwrap();
        assert_eq!((slow.failed_logins, slow.locked_until), (1, None));

        // Five quick failures lock it; attempts during the lock do not extend it.
        let late = start + 150 * 15 * MINUTE;
        for i in 0..5 {
            let at = Timestamp(late + i);
            t.db.reserve_login(account.id, at, window, 5).await.unwrap();
        }
        let locked_until =
            t.db.account(account.id)
                .await
                .unwrap()
                .unwrap()
                .locked_until;
        assert_eq!(locked_until, Some(Timestamp(late + 4 + 15 * MINUTE)));
        for minute in [1, 5, 10, 14] {
            let at = Timestamp(late + minute * MINUTE);
            assert!(!t.db.reserve_login(account.id, at, window, 5).await.unwrap());
        }
        let after = Timestamp(late + 4 + 15 * MINUTE + 1);
        assert!(
            t.db.reserve_login(account.id, after, window, 5)
                .await
                .unwrap()
        );
        let decayed = t.db.account(account.id).await.unwrap().unwrap();
        assert_eq!((decayed.failed_logins, decayed.locked_until), (1, None));
    }
}

#[tokio::test]
async fn every_login_runs_the_same_checks_whatever_the_email() {
    for t in engines().await {
        let modern =
            t.db.create_account(
                "new@example.org",
                "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
            )
            .await
            .unwrap();
        let legacy = bcrypt::hash("old-password", 4).unwrap();
        let old =
            t.db.create_account("old@example.org", &legacy)
                .await
                .unwrap();
        let cost = t.db.legacy_hash_cost().await.unwrap();
        assert_eq!(cost, Some(4));
        let kinds = |candidates: &[Account]| {
            let mut kinds: Vec<String> = password_checks(candidates, cost)
                .iter()
                .map(|c| format!("{:?}", c.kind))
                .collect();
            kinds.sort();
            kinds
        };
        let unknown = kinds(&[]);
        assert_eq!(unknown, ["Argon2id", "Bcrypt(4)"]);
        assert_eq!(kinds(&[modern]), unknown);
        assert_eq!(kinds(&[old]), unknown);
    }
}
