//! Accounts that Discord users link to (the old app's email/password accounts live on here).

use crate::core::ids::{AccountId, Timestamp, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub email: String,
    /// An argon2id PHC string, or a legacy bcrypt hash until its first successful link.
    pub password_hash: String,
    pub failed_logins: i64,
    pub locked_until: Option<Timestamp>,
    pub legacy_user_id: Option<i64>,
    pub created_at: Timestamp,
    pub last_login_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordLink {
    pub discord_user_id: UserId,
    pub account_id: AccountId,
    pub linked_at: Timestamp,
}
