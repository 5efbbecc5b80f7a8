//! Builds the model's context for a turn: the game-master prompt, the rolling summary, and as
//! many recent messages as fit in the model's token budget. The cost follows the window
//! (the messages read), never the whole history.

use std::collections::HashMap;

use crate::core::campaign::Campaign;
use crate::core::character::Character;
use crate::core::ids::{CharacterId, MessageId, UserId};
use crate::core::llm::{ChatMessage, ChatRequest, Role};
use crate::core::prompt_template::{PromptSet, TemplateError, render};
use crate::core::session::Session;
use crate::core::tokens;
use crate::core::transcript::{MessageRole, StoredMessage};

/// What the context builder knows about the people in the story.
pub struct Cast<'a> {
    pub characters: &'a [Character],
    /// Display names of players seen by this session, for players without a character.
    pub player_names: &'a HashMap<UserId, String>,
}

impl Cast<'_> {
    fn character(&self, id: CharacterId) -> Option<&Character> {
        self.characters.iter().find(|c| c.id == id)
    }

    /// Who a player message is from, as the game master sees it: "Mira (played by alice)".
    pub fn speaker(&self, message: &StoredMessage) -> String {
        let player = message
            .author_id
            .and_then(|a| self.player_names.get(&a).cloned())
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
        self.characters
            .iter()
            .map(|c| format!("- {}", c.sheet_line()))
            .collect::<Vec<_>>()
            .join("\n")
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
}

impl TokenCache {
    fn count(&mut self, id: MessageId, text: &str) -> u32 {
        *self.counts.entry(id).or_insert_with(|| tokens::count(text))
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
/// message (the opening-scene request).
pub fn build(
    system: String,
    tail: &[StoredMessage],
    instruction: Option<&str>,
    cast: &Cast<'_>,
    budget: &Budget,
    cache: &mut TokenCache,
) -> Context {
    let fixed =
        tokens::count(&system) + instruction.map_or(0, tokens::count) + budget.max_answer_tokens;
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
            temperature: Some(0.8),
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
        temperature: Some(0.2),
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
}
