//! Player characters.

use crate::core::ids::{AccountId, CampaignId, CharacterId, GuildId, ImageId, Timestamp, UserId};
use crate::core::text::{self, TextError};

macro_rules! short_text {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const MAX: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, TextError> {
                text::single_line(raw, $field, Self::MAX).map($name)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

short_text!(
    /// A character's name, 1 to 64 characters.
    CharacterName, "The character name", 64
);
short_text!(
    /// A class: one of the SRD's or a custom one.
    CharacterClass, "The class", 40
);
short_text!(
    /// A race: one of the SRD's or a custom one.
    Race, "The race", 40
);
short_text!(
    /// Free-form gender, used for portraits and narration.
    Gender, "The gender", 40
);

/// A description, up to 1000 characters over several lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub const MAX: usize = 1000;

    pub fn parse(raw: &str) -> Result<Self, TextError> {
        text::multi_line(raw, "The description", Self::MAX).map(Description)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Character {
    pub id: CharacterId,
    pub owner_id: Option<UserId>,
    pub guild_id: Option<GuildId>,
    pub campaign_id: Option<CampaignId>,
    pub account_id: Option<AccountId>,
    pub name: CharacterName,
    pub class: CharacterClass,
    pub race: Race,
    pub gender: Option<Gender>,
    pub level: i64,
    pub description: Option<Description>,
    pub portrait_id: Option<ImageId>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewCharacter {
    pub owner_id: UserId,
    pub guild_id: GuildId,
    pub campaign_id: Option<CampaignId>,
    pub name: CharacterName,
    pub class: CharacterClass,
    pub race: Race,
    pub gender: Option<Gender>,
    pub description: Option<Description>,
}

impl Character {
    /// The one-line sheet the game master sees.
    pub fn sheet_line(&self) -> String {
        let mut line = format!(
            "{} — level {} {} {}",
            self.name.as_str(),
            self.level,
            self.race.as_str(),
            self.class.as_str()
        );
        if let Some(gender) = &self.gender {
            line.push_str(&format!(" ({})", gender.as_str()));
        }
        if let Some(description) = &self.description {
            line.push_str(": ");
            line.push_str(&description.as_str().replace('\n', " "));
        }
        line
    }
}
