//! Account linking on both storage engines: registration, linking, lockouts, legacy hashes.

use crate::support;

use std::sync::Arc;

use gamemaster::core::accounts::account::CredentialError;
use gamemaster::core::accounts::auth::{Accounts, AuthError, HashCost};
use gamemaster::core::ids::UserId;
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

#[tokio::test]
async fn register_then_link_a_second_discord_user() {
    for t in engines().await {
        let accounts = Accounts::new(Arc::new(t.db.clone()), CHEAP, 1);
        let account = accounts
            .register(ALICE, " Mira@Example.org ", PASSWORD, PASSWORD)
            .await
            .unwrap();
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
                .unwrap_err(),
            AuthError::EmailTaken
        );
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
    let account = accounts
        .register(ALICE, "mira@example.org", PASSWORD, PASSWORD)
        .await
        .unwrap();
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
