//! Campaigns: a named story in one Discord server, narrated by one model.

use crate::core::game::language::Language;
use crate::core::ids::{AccountId, CampaignId, GuildId, ImageId, Timestamp, UserId};
use crate::core::models::chat::ModelId;
use crate::core::text::{self, TextError};

/// A campaign name: one line, 1 to 80 characters, unique per server (ignoring case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignName(String);

impl CampaignName {
    pub const MAX: usize = 80;

    pub fn parse(raw: &str) -> Result<Self, TextError> {
        text::single_line(raw, "The campaign name", Self::MAX).map(CampaignName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key names are unique under.
    pub fn key(&self) -> String {
        text::name_key(&self.0)
    }
}

/// What the campaign is about ("gothic horror, vampires"), fed to the game master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Themes(String);

impl Themes {
    pub const MAX: usize = 300;

    pub fn parse(raw: &str) -> Result<Self, TextError> {
        text::single_line(raw, "The themes", Self::MAX).map(Themes)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The narration's tone ("grim", "lighthearted").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tone(String);

impl Tone {
    pub const MAX: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, TextError> {
        text::single_line(raw, "The tone", Self::MAX).map(Tone)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    pub id: CampaignId,
    /// None for campaigns imported from the old app and not yet adopted by a server.
    pub guild_id: Option<GuildId>,
    pub owner_id: Option<UserId>,
    pub account_id: Option<AccountId>,
    pub name: CampaignName,
    pub themes: Themes,
    pub language: Language,
    pub tone: Option<Tone>,
    pub model: ModelId,
    pub fallback_model: Option<ModelId>,
    pub arena_enabled: bool,
    pub gm_portrait_id: Option<ImageId>,
    pub created_at: Timestamp,
    pub archived_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewCampaign {
    pub guild_id: GuildId,
    pub owner_id: UserId,
    pub name: CampaignName,
    pub themes: Themes,
    pub language: Language,
    pub tone: Option<Tone>,
    pub model: ModelId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_ignoring_case_and_spaces() {
        let a = CampaignName::parse("  The Lost Mine ").unwrap();
        let b = CampaignName::parse("the lost mine").unwrap();
        assert_eq!(a.as_str(), "The Lost Mine");
        assert_eq!(a.key(), b.key());
    }

    #[test]
    fn bad_names_are_refused_with_the_field() {
        let err = CampaignName::parse("").unwrap_err();
        assert_eq!(err.to_string(), "The campaign name can't be empty");
        assert!(CampaignName::parse(&"x".repeat(81)).is_err());
    }
}
