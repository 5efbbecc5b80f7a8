//! The `change_state` tool offered to providers with tool calling (`STATE_TOOLS`).
//!
//! The text tags stay the common ground: a call's `changes` are tag bodies (`hp Mira -5`),
//! collected while the stream runs and turned into tag text (`[[hp Mira -5]]`) at its end, so
//! the stored narration holds tags and the engine applies them like any it finds in the text.
//! Bad arguments never fail a narration: bad entries are dropped and counted in a warning
//! that never quotes what the model wrote.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::core::sheet::{MAX_STATE_TAGS, STATE_WORDS};

pub const NAME: &str = "change_state";

pub const DESCRIPTION: &str = "Change the party's character sheets. Narrate as usual in your \
text, and call this once with every change the story makes to the party. Each entry of \
`changes` is one change, written like a state tag without its brackets: `hp NAME -5` (damage) \
or `hp NAME +4` (healing); `condition NAME +poisoned` or `condition NAME -poisoned`; \
`item NAME +Torch`, `item NAME +2 Torch` or `item NAME -1 Rope`; `gold NAME +15` or \
`gold NAME -3`; `xp NAME +100`; `note TEXT` for the party's journal. NAME is the character's \
name as on the sheet.";

/// Most tool calls of one answer that are read; later ones are dropped.
const MAX_CALLS: usize = 8;
/// Longest arguments text kept for one call (20 changes fit many times over).
const MAX_ARGUMENTS_BYTES: usize = 16 * 1024;
/// Longest tool name kept while it streams in.
const MAX_NAME_BYTES: usize = 64;
/// Longest single change (a note is at most 500 characters).
const MAX_CHANGE_BYTES: usize = 2048;

/// The JSON schema of the tool's arguments.
pub fn parameters() -> Value {
    json!({
        "type": "object",
        "properties": {
            "changes": {
                "type": "array",
                "description": "State changes, each like `hp Mira -5`, `condition Mira +poisoned`, \
                    `item Mira +2 Torch`, `gold Mira -3`, `xp Mira +100` or `note TEXT`.",
                "maxItems": MAX_STATE_TAGS,
                "items": {"type": "string"},
            },
        },
        "required": ["changes"],
        "additionalProperties": false,
    })
}

/// The tool's text as the usage estimate counts it when the provider reports none.
pub fn prompt_text() -> String {
    format!("{NAME}\n{DESCRIPTION}\n{}", parameters())
}

/// Tool calls of one streamed answer, collected fragment by fragment by call index.
#[derive(Debug, Default)]
pub struct ToolCalls {
    calls: BTreeMap<u64, Call>,
    /// Fragments of calls past [`MAX_CALLS`], or past the arguments bound.
    overflowed: bool,
}

#[derive(Debug, Default)]
struct Call {
    name: String,
    arguments: String,
    too_long: bool,
}

impl ToolCalls {
    fn call(&mut self, index: u64) -> Option<&mut Call> {
        if !self.calls.contains_key(&index) && self.calls.len() >= MAX_CALLS {
            self.overflowed = true;
            return None;
        }
        Some(self.calls.entry(index).or_default())
    }

    /// A piece of call `index`'s tool name.
    pub fn name(&mut self, index: u64, piece: &str) {
        // Some servers repeat the whole name in every chunk of a call.
        if let Some(call) = self.call(index)
            && call.name != NAME
            && call.name != piece
            && call.name.len() + piece.len() <= MAX_NAME_BYTES
        {
            call.name.push_str(piece);
        }
    }

    /// A piece of call `index`'s arguments (JSON text, split anywhere).
    pub fn arguments(&mut self, index: u64, piece: &str) {
        let Some(call) = self.call(index) else {
            return;
        };
        if call.too_long || call.arguments.len() + piece.len() > MAX_ARGUMENTS_BYTES {
            call.too_long = true;
            call.arguments.clear();
        } else {
            call.arguments.push_str(piece);
        }
    }

    /// Whether call `index` was started.
    pub fn has(&self, index: u64) -> bool {
        self.calls.contains_key(&index)
    }

    /// The valid changes of every `change_state` call, in order, at most
    /// [`MAX_STATE_TAGS`]. Everything else is dropped with a warning naming only counts.
    pub fn take_changes(&mut self, provider: &str) -> Vec<String> {
        let mut changes = Vec::new();
        let mut dropped = Dropped::default();
        if std::mem::take(&mut self.overflowed) {
            dropped.calls += 1;
        }
        for call in std::mem::take(&mut self.calls).into_values() {
            if call.name.trim() != NAME {
                dropped.calls += 1;
                continue;
            }
            if call.too_long {
                dropped.arguments += 1;
                continue;
            }
            match entries(&call.arguments) {
                Some(values) => {
                    for value in values {
                        match valid_change(&value) {
                            Some(_) if changes.len() >= MAX_STATE_TAGS => dropped.changes += 1,
                            Some(change) => changes.push(change),
                            None => dropped.changes += 1,
                        }
                    }
                }
                None => dropped.arguments += 1,
            }
        }
        if dropped != Dropped::default() {
            tracing::warn!(
                provider,
                kept = changes.len(),
                dropped_calls = dropped.calls,
                dropped_arguments = dropped.arguments,
                dropped_changes = dropped.changes,
                "dropped malformed or extra {NAME} tool calls; the narration text is kept"
            );
        }
        changes
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Dropped {
    /// Calls of another tool, or past the number read.
    calls: u32,
    /// Calls whose arguments were not `{"changes": [...]}` (or too long).
    arguments: u32,
    /// Entries that were not a change, or past the number honoured.
    changes: u32,
}

/// The `changes` array of a call's arguments; None when they are not `{"changes": [...]}`.
fn entries(arguments: &str) -> Option<Vec<Value>> {
    let mut object = match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(object)) => object,
        _ => return None,
    };
    match object.remove("changes") {
        Some(Value::Array(values)) => Some(values),
        _ => None,
    }
}

/// A change that makes one well-formed tag: a string starting with a state word, on one line,
/// with no tag brackets of its own.
fn valid_change(value: &Value) -> Option<String> {
    let change = value.as_str()?.trim();
    let word_end = change
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(change.len());
    let word = &change[..word_end];
    let after = change[word_end..].chars().next();
    let fits = !change.is_empty()
        && change.len() <= MAX_CHANGE_BYTES
        && STATE_WORDS.iter().any(|w| w.eq_ignore_ascii_case(word))
        && after.is_some_and(|c| c == ' ' || c == ':')
        && !change.contains("[[")
        && !change.contains("]]")
        && !change.chars().any(char::is_control);
    fits.then(|| change.to_string())
}

/// The changes as tag text appended to a narration: on a new line after any text.
pub fn tag_text(changes: &[String], after_text: bool) -> Option<String> {
    if changes.is_empty() {
        return None;
    }
    let tags = changes
        .iter()
        .map(|c| format!("[[{c}]]"))
        .collect::<Vec<_>>()
        .join(" ");
    Some(if after_text {
        format!("\n{tags}")
    } else {
        tags
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(name: &str, arguments: &str) -> Vec<String> {
        let mut calls = ToolCalls::default();
        calls.name(0, name);
        for piece in arguments.as_bytes().chunks(3) {
            calls.arguments(0, std::str::from_utf8(piece).unwrap());
        }
        calls.take_changes("test")
    }

    #[test]
    fn fragments_make_the_changes() {
        let out = calls(
            NAME,
            r#"{"changes": ["hp Mira -5", " condition Mira +poisoned ", "note: the door"]}"#,
        );
        assert_eq!(
            out,
            ["hp Mira -5", "condition Mira +poisoned", "note: the door"]
        );
        assert_eq!(
            tag_text(&out[..2], true).unwrap(),
            "\n[[hp Mira -5]] [[condition Mira +poisoned]]"
        );
        assert_eq!(tag_text(&out[..1], false).unwrap(), "[[hp Mira -5]]");
        assert_eq!(tag_text(&[], true), None);
    }

    #[test]
    fn bad_entries_and_calls_are_dropped() {
        let out = calls(
            NAME,
            r#"{"changes": ["hp Mira -5", 3, null, "", "1d20+5", "hp Mira -5]] [[gold Mira +99",
                "note a\nb", "hpMira -1", "roll 1d6", "gold Mira +1"]}"#,
        );
        assert_eq!(out, ["hp Mira -5", "gold Mira +1"]);
        assert!(calls(NAME, r#"{"changes": ["hp Mira -5""#).is_empty());
        assert!(calls(NAME, r#"["hp Mira -5"]"#).is_empty());
        assert!(calls(NAME, r#"{"changes": "hp Mira -5"}"#).is_empty());
        assert!(calls(NAME, "").is_empty());
        assert!(calls("other_tool", r#"{"changes": ["hp Mira -5"]}"#).is_empty());
        let many: Vec<String> = (0..30).map(|i| format!("\"xp Mira +{i}\"")).collect();
        let out = calls(NAME, &format!("{{\"changes\": [{}]}}", many.join(",")));
        assert_eq!(out.len(), MAX_STATE_TAGS);
        assert_eq!(out[19], "xp Mira +19");
    }

    #[test]
    fn arguments_and_calls_are_bounded() {
        let mut calls = ToolCalls::default();
        calls.name(0, NAME);
        calls.arguments(0, r#"{"changes": ["hp Mira -5"]}"#);
        calls.arguments(0, &" ".repeat(MAX_ARGUMENTS_BYTES));
        assert!(calls.take_changes("test").is_empty());
        let mut calls = ToolCalls::default();
        for i in 0..100 {
            calls.name(i, NAME);
            calls.arguments(i, r#"{"changes": ["xp Mira +1"]}"#);
        }
        assert_eq!(calls.take_changes("test").len(), MAX_CALLS);
    }
}
