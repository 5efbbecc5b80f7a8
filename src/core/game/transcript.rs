//! The stored story: every player message, narration and dice result of a session.

use crate::core::ids::{
    CampaignId, CharacterId, DiscordMessageId, MessageId, SessionId, Timestamp, UserId,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageRole {
    System,
    User,
    Assistant,
    Dice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageStatus {
    Complete,
    /// Being written by the model right now (or cut by a crash, until start-up marks it).
    Streaming,
    /// Cut before the end (crash, shutdown, mid-stream failure); can be regenerated.
    Interrupted,
    Failed,
    /// Replaced by a regenerated narration; kept for the record.
    Superseded,
}

macro_rules! string_enum {
    ($ty:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),* }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($text => Some($ty::$variant),)* _ => None }
            }
        }
    };
}

string_enum!(MessageRole { System => "system", User => "user", Assistant => "assistant", Dice => "dice" });
string_enum!(MessageStatus {
    Complete => "complete",
    Streaming => "streaming",
    Interrupted => "interrupted",
    Failed => "failed",
    Superseded => "superseded",
});

#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    pub id: MessageId,
    pub session_id: SessionId,
    pub campaign_id: CampaignId,
    pub author_id: Option<UserId>,
    pub character_id: Option<CharacterId>,
    pub role: MessageRole,
    pub content: String,
    pub model: Option<String>,
    pub status: MessageStatus,
    pub discord_message_id: Option<DiscordMessageId>,
    pub created_at: Timestamp,
    /// The name the player wrote under (shown to the game master when they have no
    /// character); None for the bot's own messages and after an erasure.
    pub author_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub session_id: SessionId,
    pub campaign_id: CampaignId,
    pub author_id: Option<UserId>,
    pub character_id: Option<CharacterId>,
    pub role: MessageRole,
    pub content: String,
    pub model: Option<String>,
    pub status: MessageStatus,
    pub discord_message_id: Option<DiscordMessageId>,
    pub author_name: Option<String>,
}

impl NewMessage {
    /// A message the bot writes itself (a narration, a dice result): no author, no character.
    pub fn by_bot(
        session_id: SessionId,
        campaign_id: CampaignId,
        role: MessageRole,
        content: String,
        status: MessageStatus,
    ) -> NewMessage {
        NewMessage {
            session_id,
            campaign_id,
            author_id: None,
            character_id: None,
            role,
            content,
            model: None,
            status,
            discord_message_id: None,
            author_name: None,
        }
    }
}
