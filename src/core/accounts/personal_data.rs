//! What the bot keeps about a person, for `/account export` and `/account delete`, and the
//! adoption of campaigns imported from the old app into a Discord server.
//!
//! A person is a Discord user plus, when linked, their account and every other Discord user
//! linked to that account: the account is the one identity the data belongs to.

use serde::Serialize;

use crate::core::accounts::account::DiscordLink;
use crate::core::ids::{AccountId, GuildId, Timestamp, UserId};
use crate::core::store::{AccountStore, PersonalDataStore, StoreError};

/// Who a request for personal data is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The Discord user who asked.
    pub user: UserId,
    pub account: Option<AccountId>,
    /// Every Discord user whose rows belong to this person (the asker first).
    pub users: Vec<UserId>,
}

impl Person {
    /// The asker, their account if linked, and the account's other Discord users.
    pub async fn resolve<S>(store: &S, user: UserId) -> Result<Person, StoreError>
    where
        S: AccountStore + PersonalDataStore + ?Sized,
    {
        let Some(link) = store.discord_link(user).await? else {
            return Ok(Person {
                user,
                account: None,
                users: vec![user],
            });
        };
        let mut users = vec![user];
        for other in store.account_links(link.account_id).await? {
            if !users.contains(&other.discord_user_id) {
                users.push(other.discord_user_id);
            }
        }
        Ok(Person {
            user,
            account: Some(link.account_id),
            users,
        })
    }
}

/// Snowflakes are written as strings: JSON readers that use doubles would round them.
fn id_string(raw: u64) -> String {
    raw.to_string()
}

/// Everything stored about a person, as the JSON file `/account export` attaches. The
/// password hash is left out: it is a credential, not information about the person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonalData {
    pub format: &'static str,
    pub exported_at: Timestamp,
    pub discord_user_id: String,
    pub account: Option<ExportedAccount>,
    pub discord_links: Vec<ExportedLink>,
    pub characters: Vec<ExportedCharacter>,
    pub campaigns: Vec<ExportedCampaign>,
    pub messages: Vec<ExportedMessage>,
    pub ratings: Vec<ExportedRating>,
    pub arena_votes: Vec<ExportedArenaVote>,
    pub login_attempts: Vec<ExportedLoginAttempt>,
    /// Model calls made for the person's turns (what `/stats scope:me` reads).
    pub model_calls: Vec<ExportedCall>,
    /// Quality checks of the narrations of the person's turns (also read by `/stats scope:me`).
    pub narration_checks: Vec<ExportedNarrationCheck>,
    /// Journal entries the person wrote with `/journal add`.
    pub journal_entries: Vec<ExportedJournalEntry>,
    /// Corrections the person made to sheets with `/sheet set`.
    pub sheet_changes: Vec<ExportedSheetChange>,
}

impl PersonalData {
    pub const FORMAT: &'static str = "gamemaster-personal-data/1";

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedAccount {
    pub id: i64,
    pub email: String,
    pub created_at: Timestamp,
    pub last_login_at: Option<Timestamp>,
    pub failed_logins: i64,
    pub locked_until: Option<Timestamp>,
    /// The user id in the old app, for imported accounts.
    pub legacy_user_id: Option<i64>,
    /// The old app's email, for an imported account kept apart because its email was taken.
    pub legacy_email: Option<String>,
    pub last_failed_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedLink {
    pub discord_user_id: String,
    pub account_id: i64,
    pub linked_at: Timestamp,
}

impl From<&DiscordLink> for ExportedLink {
    fn from(l: &DiscordLink) -> Self {
        ExportedLink {
            discord_user_id: id_string(l.discord_user_id.0),
            account_id: l.account_id.0,
            linked_at: l.linked_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedCharacter {
    pub id: i64,
    pub guild_id: Option<String>,
    pub campaign_id: Option<i64>,
    pub owner_id: Option<String>,
    pub name: String,
    pub class: String,
    pub race: String,
    pub gender: Option<String>,
    pub level: i64,
    pub description: Option<String>,
    /// The character's sheet (`core::sheet::Sheet`), as stored.
    pub sheet: Option<serde_json::Value>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedJournalEntry {
    pub id: i64,
    pub campaign_id: i64,
    pub text: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedSheetChange {
    pub id: i64,
    pub character_id: i64,
    pub summary: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedCampaign {
    pub id: i64,
    pub guild_id: Option<String>,
    pub owner_id: Option<String>,
    pub name: String,
    pub themes: String,
    pub language: String,
    pub tone: Option<String>,
    pub model: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedMessage {
    pub id: i64,
    pub session_id: i64,
    pub campaign_id: i64,
    pub character_id: Option<i64>,
    pub role: String,
    pub content: String,
    /// The name the player wrote under.
    pub author_name: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedRating {
    pub message_id: i64,
    pub value: i64,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedArenaVote {
    pub battle_id: i64,
    pub choice: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedLoginAttempt {
    pub discord_user_id: String,
    pub ok: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedCall {
    pub model: String,
    pub kind: String,
    pub latency_ms: i64,
    pub tokens_in: Option<i64>,
    pub tokens_out: Option<i64>,
    pub cost_usd: Option<f64>,
    pub ok: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedNarrationCheck {
    pub message_id: i64,
    pub model: String,
    pub language: Option<String>,
    pub language_ok: Option<bool>,
    pub tag_errors: i64,
    pub meta_talk: bool,
    pub repetition: Option<f64>,
    pub created_at: Timestamp,
}

/// Converts a snowflake for the export.
pub fn exported_id(raw: UserId) -> String {
    id_string(raw.0)
}

/// Converts a server id for the export.
pub fn exported_guild(raw: GuildId) -> String {
    id_string(raw.0)
}

/// What `/account delete` removed and kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erasure {
    pub account_deleted: bool,
    pub links_deleted: u64,
    pub characters_deleted: u64,
    /// Messages kept in the story without their author.
    pub messages_anonymised: u64,
    pub votes_deleted: u64,
    /// Campaigns that stay in their server with no owner (managers can still manage them).
    pub campaigns_released: u64,
}

/// What adopting an account's imported records into a server did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Adoption {
    pub campaigns: u64,
    pub characters: u64,
    /// Campaigns renamed because the server already had one of that name: (old, new).
    pub renamed: Vec<(String, String)>,
}

impl Adoption {
    pub fn is_empty(&self) -> bool {
        self.campaigns == 0 && self.characters == 0
    }
}

/// Everything stored about the Discord user `user` and the account they are linked to.
pub async fn export<S>(store: &S, user: UserId) -> Result<PersonalData, StoreError>
where
    S: AccountStore + PersonalDataStore + ?Sized,
{
    let person = Person::resolve(store, user).await?;
    store.personal_data(&person).await
}

/// Deletes the account `user` is linked to with everything that is theirs alone; their turns
/// stay in shared stories without author.
pub async fn erase<S>(store: &S, user: UserId) -> Result<Erasure, StoreError>
where
    S: AccountStore + PersonalDataStore + ?Sized,
{
    let person = Person::resolve(store, user).await?;
    store.erase_personal_data(&person).await
}

/// Brings the imported campaigns and characters of `user`'s account into `guild`. Nothing
/// happens (an empty adoption) when the user has no account or nothing waits for a server.
pub async fn adopt<S>(store: &S, user: UserId, guild: GuildId) -> Result<Adoption, StoreError>
where
    S: AccountStore + PersonalDataStore + ?Sized,
{
    match store.discord_link(user).await? {
        Some(link) => store.adopt_imported(link.account_id, guild, user).await,
        None => Ok(Adoption::default()),
    }
}

/// A free name for an adopted campaign when `taken` says its own is used in the server:
/// "Name (imported)", then "Name (imported 2)" ... within the 80-character limit.
pub fn adopted_name(name: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(name) {
        return name.to_string();
    }
    let max = crate::core::game::campaign::CampaignName::MAX;
    for n in 1.. {
        let suffix = if n == 1 {
            " (imported)".to_string()
        } else {
            format!(" (imported {n})")
        };
        let keep = max.saturating_sub(suffix.chars().count());
        let base: String = name.chars().take(keep).collect();
        let candidate = format!("{}{suffix}", base.trim_end());
        if !taken(&candidate) {
            return candidate;
        }
    }
    unreachable!("some suffix is always free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adopted_names_avoid_the_servers_names() {
        assert_eq!(adopted_name("Ashes", |_| false), "Ashes");
        assert_eq!(adopted_name("Ashes", |n| n == "Ashes"), "Ashes (imported)");
        assert_eq!(
            adopted_name("Ashes", |n| n == "Ashes" || n == "Ashes (imported)"),
            "Ashes (imported 2)"
        );
        let long = "x".repeat(80);
        let renamed = adopted_name(&long, |n| n == long);
        assert_eq!(renamed.chars().count(), 80);
        assert!(renamed.ends_with(" (imported)"));
    }
}
