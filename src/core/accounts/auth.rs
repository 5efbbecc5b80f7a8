//! Account linking: register, link and unlink Discord users to accounts.
//!
//! Hashing is argon2id on a blocking thread, so the gateway never stalls; verification takes
//! the same time whether or not the email exists (a dummy hash is verified instead), and every
//! failure gets the same message, so nothing reveals which emails have accounts.

use std::sync::{Arc, Mutex, OnceLock};
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

    /// Creates an account and links the Discord user to it. The answer is the same whether
    /// or not the email already had an account (then nothing changes), and it costs the same:
    /// one hash and one counted attempt either way.
    pub async fn register(
        &self,
        user: UserId,
        email: &str,
        password: &str,
        confirm: &str,
    ) -> Result<Registration, AuthError> {
        let email = Email::parse(email)?;
        let password = Password::new_for(password, confirm, &email)?;
        self.reserve_attempt(user).await?;
        let hash = hash(&self.slots, self.cost, password).await?;
        match self.store.create_account(email.as_str(), &hash).await {
            Ok(account) => {
                self.store.link_discord(user, account.id).await?;
                self.store.settle_attempt(user).await?;
                Ok(Registration::Created(account))
            }
            Err(StoreError::Conflict(_)) => Ok(Registration::Unchanged),
            Err(other) => Err(AuthError::Store(other)),
        }
    }

    /// Links the Discord user to an existing account after checking its password.
    pub async fn link(
        &self,
        user: UserId,
        email: &str,
        password: &str,
    ) -> Result<Account, AuthError> {
        self.reserve_attempt(user).await?;
        let now = Timestamp::now();
        let password = Password::given(password);
        let candidates = match Email::parse(email) {
            Ok(email) => self.store.accounts_for_login(email.as_str()).await?,
            Err(_) => Vec::new(),
        };
        // Every candidate's attempt is counted before any password is checked.
        let mut open = Vec::with_capacity(candidates.len());
        for account in &candidates {
            let permitted = self
                .store
                .reserve_login(account.id, now, LOCK_DURATION, LOCK_AFTER_FAILURES)
                .await?;
            open.push(permitted);
        }
        let legacy_cost = self.store.legacy_hash_cost().await?;
        let checks = password_checks(&candidates, legacy_cost);
        let matched = verify(
            &self.slots,
            self.cost,
            password.clone(),
            checks,
            &candidates,
        )
        .await?;
        let Some(index) = matched.filter(|&i| open[i]) else {
            return Err(AuthError::Rejected);
        };
        let account = candidates[index].clone();
        if account.password_hash.starts_with("$2") {
            // Legacy bcrypt hashes become argon2id at the first successful link.
            let fresh = hash(&self.slots, self.cost, password).await?;
            self.store.set_password_hash(account.id, &fresh).await?;
        }
        self.store.record_login(account.id, now).await?;
        self.store.link_discord(user, account.id).await?;
        self.store.settle_attempt(user).await?;
        Ok(account)
    }

    async fn reserve_attempt(&self, user: UserId) -> Result<(), AuthError> {
        let hour_ago = Timestamp(Timestamp::now().0 - 3_600_000);
        if self.store.reserve_attempt(user, hour_ago).await? > ATTEMPTS_PER_HOUR {
            return Err(AuthError::TooManyAttempts);
        }
        Ok(())
    }

    pub async fn unlink(&self, user: UserId) -> Result<(), AuthError> {
        if self.store.unlink_discord(user).await? {
            Ok(())
        } else {
            Err(AuthError::NotLinked)
        }
    }
}

/// What `/account register` did. Both answers read the same to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    Created(Account),
    /// The email already had an account: nothing was created or linked.
    Unchanged,
}

impl Registration {
    /// The account created, if one was.
    pub fn created(self) -> Option<Account> {
        match self {
            Registration::Created(account) => Some(account),
            Registration::Unchanged => None,
        }
    }
}

/// One password check a login performs: a stored hash, or a dummy one when `account` is None.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub kind: HashKind,
    pub account: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    Argon2id,
    /// The old app's bcrypt, with its cost.
    Bcrypt(u32),
}

impl HashKind {
    fn of(hash: &str) -> HashKind {
        match bcrypt_cost(hash) {
            Some(cost) => HashKind::Bcrypt(cost),
            None => HashKind::Argon2id,
        }
    }
}

/// The cost of a bcrypt hash (`$2b$12$...`), or None when it is not one.
pub fn bcrypt_cost(hash: &str) -> Option<u32> {
    hash.strip_prefix("$2")?.split('$').nth(1)?.parse().ok()
}

/// The checks a login with these candidate accounts performs. Every login does one argon2id
/// check and, while legacy hashes are stored, one bcrypt check at their cost, against the
/// candidates' hashes where they have one and dummies where they don't: an unknown email,
/// a new account and an old one cost the same time. (Only an email with two candidates of
/// one kind, a rare import conflict, costs one check more.)
pub fn password_checks(candidates: &[Account], legacy_cost: Option<u32>) -> Vec<Check> {
    let kinds: Vec<HashKind> = candidates
        .iter()
        .map(|a| HashKind::of(&a.password_hash))
        .collect();
    let mut checks: Vec<Check> = kinds
        .iter()
        .enumerate()
        .map(|(i, &kind)| Check {
            kind,
            account: Some(i),
        })
        .collect();
    if !kinds.contains(&HashKind::Argon2id) {
        checks.push(Check {
            kind: HashKind::Argon2id,
            account: None,
        });
    }
    let has_bcrypt = kinds.iter().any(|k| matches!(k, HashKind::Bcrypt(_)));
    if let (Some(cost), false) = (legacy_cost, has_bcrypt) {
        checks.push(Check {
            kind: HashKind::Bcrypt(cost),
            account: None,
        });
    }
    checks
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

/// A hash of a random password, verified in place of a missing account's so the answer takes
/// as long as for a real one.
fn dummy_hash(cost: HashCost, kind: HashKind) -> String {
    static ARGON2: OnceLock<String> = OnceLock::new();
    static BCRYPT: Mutex<Vec<(u32, String)>> = Mutex::new(Vec::new());
    let secret: [u8; 16] = rand::random();
    match kind {
        HashKind::Argon2id => ARGON2
            .get_or_init(|| {
                argon2(cost)
                    .and_then(|a| {
                        a.hash_password(&secret)
                            .map(|h| h.to_string())
                            .map_err(|_| AuthError::Hashing)
                    })
                    .unwrap_or_default()
            })
            .clone(),
        HashKind::Bcrypt(rounds) => {
            let mut known = BCRYPT.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((_, hash)) = known.iter().find(|(r, _)| *r == rounds) {
                return hash.clone();
            }
            let hash = bcrypt::hash(secret, rounds).unwrap_or_default();
            known.push((rounds, hash.clone()));
            hash
        }
    }
}

/// Runs every check (none stops early) and returns the candidate whose password matched.
async fn verify(
    slots: &Semaphore,
    cost: HashCost,
    password: Password,
    checks: Vec<Check>,
    candidates: &[Account],
) -> Result<Option<usize>, AuthError> {
    let hashes: Vec<(Check, Option<String>)> = checks
        .into_iter()
        .map(|c| {
            let stored = c.account.map(|i| candidates[i].password_hash.clone());
            (c, stored)
        })
        .collect();
    off_the_runtime(slots, move || {
        let mut matched = None;
        for (check, stored) in hashes {
            let hash = stored.unwrap_or_else(|| dummy_hash(cost, check.kind));
            let ok = match check.kind {
                HashKind::Bcrypt(_) => bcrypt::verify(password.expose(), &hash).unwrap_or(false),
                // argon2's verifier compares in constant time.
                HashKind::Argon2id => argon2(cost)?
                    .verify_password(password.expose().as_bytes(), hash.as_str())
                    .is_ok(),
            };
            if ok && matched.is_none() {
                matched = check.account;
            }
        }
        Ok(matched)
    })
    .await
}
