//! Account linking: register, link and unlink Discord users to accounts.
//!
//! Hashing is argon2id on a blocking thread, so the gateway never stalls; verification takes
//! the same time whether or not the email exists (a dummy hash is verified instead), and every
//! failure gets the same message, so nothing reveals which emails have accounts.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::Semaphore;

use crate::core::accounts::account::{Account, CredentialError, Email, Password};
use crate::core::ids::{Timestamp, UserId};
use crate::core::store::{AccountStore, StoreError};

/// Argon2id cost (OWASP's recommendation by default: 19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for HashCost {
    fn default() -> Self {
        HashCost {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Failed attempts before an account locks, and for how long.
pub const LOCK_AFTER_FAILURES: i64 = 5;
pub const LOCK_DURATION: Duration = Duration::from_secs(15 * 60);
/// Attempts one Discord user may make in an hour, whatever the accounts tried.
pub const ATTEMPTS_PER_HOUR: u64 = 10;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    /// Wrong email, wrong password or a locked account: deliberately one answer for all.
    #[error(
        "That email and password don't match an account, or the account is locked for 15 minutes after too many attempts."
    )]
    Rejected,
    #[error("Too many attempts from your Discord account; try again in an hour.")]
    TooManyAttempts,
    #[error("An account with that email already exists. Use /account link to connect to it.")]
    EmailTaken,
    #[error("Your Discord account isn't linked to any account.")]
    NotLinked,
    #[error(transparent)]
    Store(StoreError),
    #[error("Password hashing failed; please try again.")]
    Hashing,
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        AuthError::Store(e)
    }
}

#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn AccountStore>,
    cost: HashCost,
    slots: Arc<Semaphore>,
}

impl Accounts {
    /// `hashing_slots` is how many hashes may run at once. The bot gives one per core but one,
    /// so a core stays free for the async threads (the gateway, commands, narration) however
    /// many people log in. Each hash takes `memory_kib` of memory and a core for tens of
    /// milliseconds: more at once would only queue inside the OS, take the cores from the
    /// async threads, and let a flood of logins exhaust memory; the rest wait here, asleep.
    pub fn new(store: Arc<dyn AccountStore>, cost: HashCost, hashing_slots: usize) -> Accounts {
        Accounts {
            store,
            cost,
            slots: Arc::new(Semaphore::new(hashing_slots.max(1))),
        }
    }

    /// Creates an account and links the Discord user to it.
    pub async fn register(
        &self,
        user: UserId,
        email: &str,
        password: &str,
        confirm: &str,
    ) -> Result<Account, AuthError> {
        let email = Email::parse(email)?;
        let password = Password::new_for(password, confirm, &email)?;
        let hash = hash(&self.slots, self.cost, password).await?;
        let account = self
            .store
            .create_account(email.as_str(), &hash)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => AuthError::EmailTaken,
                other => AuthError::Store(other),
            })?;
        self.store.link_discord(user, account.id).await?;
        Ok(account)
    }

    /// Links the Discord user to an existing account after checking its password.
    pub async fn link(
        &self,
        user: UserId,
        email: &str,
        password: &str,
    ) -> Result<Account, AuthError> {
        let now = Timestamp::now();
        let hour_ago = Timestamp(now.0 - 3_600_000);
        if self.store.login_attempts_since(user, hour_ago).await? >= ATTEMPTS_PER_HOUR {
            return Err(AuthError::TooManyAttempts);
        }
        let password = Password::given(password);
        let account = match Email::parse(email) {
            Ok(email) => self.store.account_by_email(email.as_str()).await?,
            Err(_) => None,
        };
        let stored = account.as_ref().map(|a| a.password_hash.clone());
        let verdict = verify(&self.slots, self.cost, password.clone(), stored).await?;
        let locked = account
            .as_ref()
            .is_some_and(|a| a.locked_until.is_some_and(|until| until > now));
        let account = match (account, verdict, locked) {
            (Some(account), Verdict::Match { upgrade }, false) => {
                if upgrade {
                    // Legacy bcrypt hashes become argon2id at the first successful link.
                    let fresh = hash(&self.slots, self.cost, password).await?;
                    self.store.set_password_hash(account.id, &fresh).await?;
                }
                account
            }
            (account, _, _) => {
                self.store.record_login_attempt(user, false).await?;
                if let Some(account) = account {
                    let failures = account.failed_logins + 1;
                    let lock = (failures >= LOCK_AFTER_FAILURES)
                        .then(|| Timestamp(now.0 + LOCK_DURATION.as_millis() as i64));
                    self.store.record_failed_login(account.id, lock).await?;
                }
                return Err(AuthError::Rejected);
            }
        };
        self.store.record_login_attempt(user, true).await?;
        self.store.record_login(account.id, now).await?;
        self.store.link_discord(user, account.id).await?;
        Ok(account)
    }

    pub async fn unlink(&self, user: UserId) -> Result<(), AuthError> {
        if self.store.unlink_discord(user).await? {
            Ok(())
        } else {
            Err(AuthError::NotLinked)
        }
    }
}

enum Verdict {
    Match { upgrade: bool },
    NoMatch,
}

fn argon2(cost: HashCost) -> Result<Argon2<'static>, AuthError> {
    let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
        .map_err(|_| AuthError::Hashing)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Runs password work on a blocking thread once a hashing slot is free.
async fn off_the_runtime<T: Send + 'static>(
    slots: &Semaphore,
    work: impl FnOnce() -> Result<T, AuthError> + Send + 'static,
) -> Result<T, AuthError> {
    let _slot = slots.acquire().await.map_err(|_| AuthError::Hashing)?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| AuthError::Hashing)?
}

async fn hash(slots: &Semaphore, cost: HashCost, password: Password) -> Result<String, AuthError> {
    off_the_runtime(slots, move || {
        argon2(cost)?
            .hash_password(password.expose().as_bytes())
            .map(|h| h.to_string())
            .map_err(|_| AuthError::Hashing)
    })
    .await
}

/// A hash of a random password, verified when the email is unknown so the answer takes as
/// long as for a real account.
fn dummy_hash(cost: HashCost) -> String {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let secret: [u8; 16] = rand::random();
            argon2(cost)
                .and_then(|a| {
                    a.hash_password(&secret)
                        .map(|h| h.to_string())
                        .map_err(|_| AuthError::Hashing)
                })
                .unwrap_or_default()
        })
        .clone()
}

async fn verify(
    slots: &Semaphore,
    cost: HashCost,
    password: Password,
    stored: Option<String>,
) -> Result<Verdict, AuthError> {
    off_the_runtime(slots, move || {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| dummy_hash(cost));
        let (ok, upgrade) = if hash.starts_with("$2") {
            (
                bcrypt::verify(password.expose(), &hash).unwrap_or(false),
                true,
            )
        } else {
            // argon2's verifier compares in constant time.
            let ok = argon2(cost)?
                .verify_password(password.expose().as_bytes(), hash.as_str())
                .is_ok();
            (ok, false)
        };
        Ok(if ok && known {
            Verdict::Match { upgrade }
        } else {
            Verdict::NoMatch
        })
    })
    .await
}
