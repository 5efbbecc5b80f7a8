//! Builds the model's context for a turn: the game-master prompt, the rolling summary, and as
//! many recent messages as fit in the model's token budget. The cost follows the window
//! (the messages read), never the whole history.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

use crate::core::game::campaign::Campaign;
use crate::core::game::character::Character;
use crate::core::game::prompt::{PromptSet, TemplateError, render};
use crate::core::game::session::Session;
use crate::core::game::transcript::{MessageRole, StoredMessage};
use crate::core::ids::{CharacterId, MessageId};
use crate::core::models::chat::{ChatMessage, ChatRequest, Role};
use crate::core::models::tokens;

/// Sampling temperature of narrations: lively but on topic.
pub const NARRATION_TEMPERATURE: f32 = 0.8;
/// Sampling temperature of the rolling summary: faithful rather than inventive.
pub const SUMMARY_TEMPERATURE: f32 = 0.2;

/// What the context builder knows about the people in the story.
pub struct Cast<'a> {
    pub characters: &'a [Character],
    /// The party's state, the journal and the fight, already within its token budget
    /// (`core::party::Party::state_text`); empty when there is none.
    pub state: &'a str,
}

impl Cast<'_> {
    fn character(&self, id: CharacterId) -> Option<&Character> {
        self.characters.iter().find(|c| c.id == id)
    }

    /// Who a player message is from, as the game master sees it: "Mira (played by alice)".
    pub fn speaker(&self, message: &StoredMessage) -> String {
        // The name is stored with the message, so an erasure anywhere takes it away.
        let player = message
            .author_name
            .clone()
            .unwrap_or_else(|| "a player".to_string());
        match message.character_id.and_then(|c| self.character(c)) {
            Some(character) => format!("{} (played by {player})", character.name.as_str()),
            None => player,
        }
    }

    fn party(&self) -> String {
        if self.characters.is_empty() {
            return "No character sheets yet: the players act as themselves.".to_string();
        }
        let sheets = self
            .characters
            .iter()
            .map(|c| format!("- {}", c.sheet_line()))
            .collect::<Vec<_>>()
            .join("\n");
        if self.state.trim().is_empty() {
            sheets
        } else {
            format!("{sheets}\n\n{}", self.state.trim_end())
        }
    }
}

/// The rendered text of one stored message as it appears in the context.
pub fn render_message(message: &StoredMessage, cast: &Cast<'_>) -> (Role, String) {
    match message.role {
        MessageRole::Assistant => (Role::Assistant, message.content.clone()),
        MessageRole::User => (
            Role::User,
            format!("{}: {}", cast.speaker(message), message.content),
        ),
        MessageRole::Dice => (
            Role::User,
            format!("[Dice rolled by the bot] {}", message.content),
        ),
        MessageRole::System => (Role::User, message.content.clone()),
    }
}

pub fn system_prompt(
    campaign: &Campaign,
    session: &Session,
    cast: &Cast<'_>,
) -> Result<String, TemplateError> {
    let prompts = PromptSet::for_language(campaign.language);
    let summary = if session.summary.trim().is_empty() {
        "The story is just beginning."
    } else {
        session.summary.as_str()
    };
    render(
        prompts.system,
        &[
            ("campaign_name", campaign.name.as_str()),
            ("themes", campaign.themes.as_str()),
            (
                "tone",
                campaign
                    .tone
                    .as_ref()
                    .map_or("the players' choice", |t| t.as_str()),
            ),
            ("language_name", campaign.language.name()),
            ("party", &cast.party()),
            ("summary", summary),
        ],
    )
}

/// The request for a turn, and the older messages that did not fit (to be summarised).
pub struct Context {
    pub request: ChatRequest,
    pub overflow: Vec<StoredMessage>,
}

/// Token counts of stored messages, kept by the channel's actor so each message is counted once.
#[derive(Default)]
pub struct TokenCache {
    counts: HashMap<MessageId, u32>,
    /// The last system prompt's count, by the prompt's hash. The prompt changes only with the
    /// table (campaign, party, summary), and counting its few thousand characters again was a
    /// tenth of a turn's work. A hash, not the text, so an idle session does not keep a copy.
    system: Option<(u64, u32)>,
}

impl TokenCache {
    fn count(&mut self, id: MessageId, text: &str) -> u32 {
        *self.counts.entry(id).or_insert_with(|| tokens::count(text))
    }

    fn count_system(&mut self, system: &str) -> u32 {
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(system);
        match self.system {
            Some((seen, count)) if seen == hash => count,
            _ => {
                let count = tokens::count(system);
                self.system = Some((hash, count));
                count
            }
        }
    }

    /// Forgets messages older than `oldest`, which no later window will read again.
    pub fn retain_from(&mut self, oldest: MessageId) {
        self.counts.retain(|id, _| *id >= oldest);
    }
}

pub struct Budget {
    pub context_window: u32,
    pub max_answer_tokens: u32,
}

/// `tail` is the story after the summary, oldest first; `instruction` an optional last user
/// message (the opening-scene request); `state_tool` offers the model the `change_state`
/// tool (`EngineSettings::state_tools`).
pub fn build(
    system: String,
    tail: &[StoredMessage],
    instruction: Option<&str>,
    cast: &Cast<'_>,
    budget: &Budget,
    cache: &mut TokenCache,
    state_tool: bool,
) -> Context {
    let fixed = cache.count_system(&system)
        + instruction.map_or(0, tokens::count)
        + budget.max_answer_tokens;
    let mut room = budget.context_window.saturating_sub(fixed);
    let mut first_included = tail.len();
    let mut rendered = Vec::with_capacity(tail.len());
    for (index, message) in tail.iter().enumerate().rev() {
        let (role, text) = render_message(message, cast);
        let cost = cache.count(message.id, &text);
        if cost > room {
            break;
        }
        room -= cost;
        first_included = index;
        rendered.push((role, text));
    }
    rendered.reverse();
    if let Some(text) = instruction {
        rendered.push((Role::User, text.to_string()));
    }
    if let Some(oldest) = tail.first() {
        cache.retain_from(oldest.id);
    }
    Context {
        request: ChatRequest {
            system,
            messages: alternate(rendered),
            max_tokens: budget.max_answer_tokens,
            temperature: Some(NARRATION_TEMPERATURE),
            state_tool,
        },
        overflow: tail[..first_included].to_vec(),
    }
}

/// Chat APIs want user and assistant turns to alternate, starting and ending with the user:
/// consecutive messages of one role are merged, and the ends are padded when needed.
fn alternate(messages: Vec<(Role, String)>) -> Vec<ChatMessage> {
    let mut out: Vec<ChatMessage> = Vec::with_capacity(messages.len() + 2);
    for (role, content) in messages {
        match out.last_mut() {
            Some(last) if last.role == role => {
                last.content.push_str("\n\n");
                last.content.push_str(&content);
            }
            _ => out.push(ChatMessage { role, content }),
        }
    }
    if out.first().is_none_or(|m| m.role == Role::Assistant) {
        out.insert(
            0,
            ChatMessage {
                role: Role::User,
                content: "(The story continues.)".into(),
            },
        );
    }
    if out.last().is_some_and(|m| m.role == Role::Assistant) {
        out.push(ChatMessage {
            role: Role::User,
            content: "(Continue the story.)".into(),
        });
    }
    out
}

/// The summariser's request: previous summary plus the messages being folded into it.
pub fn summary_request(
    campaign: &Campaign,
    previous: &str,
    folded: &[StoredMessage],
    cast: &Cast<'_>,
    max_tokens: u32,
) -> Result<ChatRequest, TemplateError> {
    let transcript = folded
        .iter()
        .map(|m| match render_message(m, cast) {
            (Role::Assistant, text) => format!("Game master: {text}"),
            (Role::User, text) => text,
        })
        .collect::<Vec<_>>()
        .join("\n\n");
    let previous = if previous.trim().is_empty() {
        "(none yet)"
    } else {
        previous
    };
    let system = render(
        PromptSet::for_language(campaign.language).summarize,
        &[("previous_summary", previous), ("transcript", &transcript)],
    )?;
    Ok(ChatRequest {
        system,
        messages: vec![ChatMessage {
            role: Role::User,
            content: "Write the updated summary now.".into(),
        }],
        max_tokens,
        temperature: Some(SUMMARY_TEMPERATURE),
        state_tool: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternation_merges_and_pads() {
        let out = alternate(vec![
            (Role::Assistant, "Opening".into()),
            (Role::User, "a".into()),
            (Role::User, "b".into()),
            (Role::Assistant, "Narration".into()),
        ]);
        let roles: Vec<_> = out.iter().map(|m| m.role).collect();
        assert_eq!(
            roles,
            [
                Role::User,
                Role::Assistant,
                Role::User,
                Role::Assistant,
                Role::User
            ]
        );
        assert_eq!(out[2].content, "a\n\nb");
    }

    fn story(n: i64) -> Vec<StoredMessage> {
        use crate::core::game::transcript::{MessageRole, MessageStatus};
        use crate::core::ids::{CampaignId, SessionId, Timestamp};
        (1..=n)
            .map(|id| StoredMessage {
                id: MessageId(id),
                session_id: SessionId(1),
                campaign_id: CampaignId(1),
                author_id: None,
                character_id: None,
                role: if id % 2 == 0 {
                    MessageRole::Assistant
                } else {
                    MessageRole::User
                },
                content: format!("Step {id}: the party walks on down the long hall."),
                model: None,
                status: MessageStatus::Complete,
                discord_message_id: None,
                author_name: None,
                created_at: Timestamp(0),
            })
            .collect()
    }

    #[test]
    fn a_changed_system_prompt_is_counted_again() {
        let tail = story(20);
        let cast = Cast {
            characters: &[],
            state: "",
        };
        let short = "You are the game master.".to_string();
        let long = format!("{short} {}", "Keep the scene moving. ".repeat(40));
        let budget = Budget {
            context_window: tokens::count(&short) + 20 * 20,
            max_answer_tokens: 0,
        };
        let mut cache = TokenCache::default();
        let window = |system: &String, cache: &mut TokenCache| {
            build(system.clone(), &tail, None, &cast, &budget, cache, false)
                .overflow
                .len()
        };
        let short_overflow = window(&short, &mut cache);
        let long_overflow = window(&long, &mut cache);
        assert!(
            long_overflow > short_overflow,
            "the longer prompt leaves less room: {long_overflow} vs {short_overflow}"
        );
        assert_eq!(window(&short, &mut cache), short_overflow);
        assert_eq!(window(&long, &mut TokenCache::default()), long_overflow);
    }
}
