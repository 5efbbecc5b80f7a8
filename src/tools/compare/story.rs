//! Each turn's narration, read back from the run's database with the story around it: what
//! the quality checks and the judge look at.

use crate::core::engine::context::{Cast, render_message};
use crate::core::game::character::Character;
use crate::core::game::transcript::{MessageRole, MessageStatus, StoredMessage};
use crate::core::ids::{MessageId, SessionId};
use crate::core::models::chat::Role;
use crate::core::store::{MessageStore, StoreResult};

/// Messages of the story shown to the judge before a turn: enough for coherence, small
/// enough for a small judge's context.
pub const STORY_MESSAGES: usize = 12;
/// Characters kept of each message shown to the judge.
const MESSAGE_CHARS: usize = 1500;

/// A turn's narration and what the judge is shown with it.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnStory {
    pub narration: String,
    /// The story before the turn (its last [`STORY_MESSAGES`] messages), as a transcript.
    pub before: String,
    /// The players' messages and dice results the narration answers; the opening
    /// instruction for turn 0.
    pub action: String,
}

/// Reads the narrations of one session as they are stored, turn after turn.
pub(super) struct StoryReader<'a> {
    pub(super) session: SessionId,
    pub(super) characters: &'a [Character],
    /// The opening-scene instruction of the campaign's language.
    pub(super) opening: &'a str,
    seen: Option<MessageId>,
}

impl<'a> StoryReader<'a> {
    pub(super) fn new(session: SessionId, characters: &'a [Character], opening: &'a str) -> Self {
        StoryReader {
            session,
            characters,
            opening,
            seen: None,
        }
    }

    /// The narration stored since the last call, if the turn produced one.
    pub(super) async fn next(
        &mut self,
        store: &dyn MessageStore,
    ) -> StoreResult<Option<TurnStory>> {
        let story: Vec<StoredMessage> = store
            .all_messages(self.session)
            .await?
            .into_iter()
            .filter(|m| !matches!(m.status, MessageStatus::Superseded | MessageStatus::Failed))
            .collect();
        let is_narration = |m: &StoredMessage| m.role == MessageRole::Assistant;
        let Some(at) = story
            .iter()
            .position(|m| is_narration(m) && self.seen.is_none_or(|seen| m.id > seen))
        else {
            return Ok(None);
        };
        self.seen = Some(story[at].id);
        let cast = Cast {
            characters: self.characters,
            state: "",
        };
        let previous = story[..at].iter().rposition(is_narration);
        let (before, action) = match previous {
            Some(p) => (
                transcript(&story[p.saturating_sub(STORY_MESSAGES - 1)..=p], &cast),
                transcript(&story[p + 1..at], &cast),
            ),
            None => (
                transcript(&story[..at], &cast),
                self.opening.trim().to_string(),
            ),
        };
        Ok(Some(TurnStory {
            narration: story[at].content.clone(),
            before,
            action,
        }))
    }
}

fn transcript(messages: &[StoredMessage], cast: &Cast<'_>) -> String {
    messages
        .iter()
        .map(|m| {
            let text: String = match render_message(m, cast) {
                (Role::Assistant, text) => format!("Game master: {text}"),
                (Role::User, text) => text,
            };
            if text.chars().count() > MESSAGE_CHARS {
                let cut: String = text.chars().take(MESSAGE_CHARS).collect();
                format!("{cut}…")
            } else {
                text
            }
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}
