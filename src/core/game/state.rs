//! The party's stored state, as the store hands it over: sheets with their write counts,
//! journal entries, and the record of every change with what made it.

use crate::core::ids::{CampaignId, CharacterId, MessageId, SessionId, Timestamp, UserId};
use crate::core::models::chat::ModelId;
use crate::core::sheet::{Combat, Sheet};

/// A character's sheet and how many times it has been written. A write names the revision
/// it read, so a narration and a `/sheet set` at the same moment never overwrite each other.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSheet {
    pub character: CharacterId,
    pub sheet: Sheet,
    pub revision: i64,
}

/// A session's fight and its write count.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCombat {
    pub session: SessionId,
    pub combat: Combat,
    pub revision: i64,
}

/// What made a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeSource {
    /// A narration's tags.
    Model {
        narration: MessageId,
        model: ModelId,
    },
    /// A correction by a player allowed to make it (`/sheet set`).
    Owner(UserId),
    /// The bot's own rules: death saves, initiative.
    Bot,
    /// A regenerated narration's changes, taken back.
    Undo { narration: MessageId },
}

impl ChangeSource {
    pub fn kind(&self) -> &'static str {
        match self {
            ChangeSource::Model { .. } => "model",
            ChangeSource::Owner(_) => "owner",
            ChangeSource::Bot => "bot",
            ChangeSource::Undo { .. } => "undo",
        }
    }
}

/// One sheet write: the sheet read (at `revision`), the sheet to store, and what changed.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetWrite {
    pub character: CharacterId,
    pub revision: i64,
    pub before: Sheet,
    pub after: Sheet,
    pub summary: String,
}

/// A change as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct StateChangeRecord {
    pub id: i64,
    pub campaign: Option<CampaignId>,
    pub character: CharacterId,
    pub narration: Option<MessageId>,
    /// `model`, `owner`, `bot` or `undo`.
    pub source: String,
    pub user: Option<UserId>,
    pub model: Option<String>,
    pub summary: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    pub id: i64,
    pub campaign: CampaignId,
    /// The narration whose `[[note ...]]` wrote it.
    pub narration: Option<MessageId>,
    /// The player who added it with `/journal add`.
    pub author: Option<UserId>,
    pub text: String,
    pub created_at: Timestamp,
}

/// A narration's changes, applied together and once.
#[derive(Debug, Clone, PartialEq)]
pub struct NarrationState {
    pub narration: MessageId,
    pub campaign: CampaignId,
    pub model: ModelId,
    pub writes: Vec<SheetWrite>,
    pub notes: Vec<String>,
}

/// What applying a narration's state did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Now,
    /// The narration's state was applied before (a retry, a restart): nothing was written.
    Already,
    /// A sheet changed since it was read: nothing was written; read again and retry.
    Stale,
}

/// What a turn reads about its table besides the campaign and the party: the sheets, the
/// newest journal entries and the session's fight, in one read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableState {
    pub sheets: Vec<StoredSheet>,
    /// Newest last.
    pub journal: Vec<JournalEntry>,
    pub combat: Option<StoredCombat>,
}
