//! State tags the game master writes into its narration to change the party's sheets:
//! `[[hp Mira -5]]`, `[[condition Mira +poisoned]]`, `[[item Mira +2 Torch]]`,
//! `[[gold Mira +15]]`, `[[xp Mira +300]]`, `[[note The duke owes the party a favour]]`.
//!
//! Found like roll tags (`[[`, the word in any case, optionally `:`, a body, `]]`). The name is
//! the words before the first one starting with `+` or `-`. Bad tags are reported with a reason
//! for the model, never applied; whether the name is in the party is checked when applying.
//! After the number of hp, gold and xp tags, further words (`[[gold Mira +15 gp]]`) are ignored.

use std::borrow::Cow;
use std::ops::Range;

use super::abilities::shorten;
use super::data::srd;
use super::{
    MAX_GOLD, MAX_HP_CHANGE, MAX_ITEM_NAME, MAX_NOTE, MAX_QUANTITY, MAX_STATE_TAGS, MAX_XP_CHANGE,
};
use crate::core::game::tag_scan::{self, MAX_TAG_BYTES, TagSpan, without_spans};

/// The words that open a state tag.
pub const STATE_WORDS: [&str; 6] = ["hp", "condition", "item", "gold", "xp", "note"];

/// How much of a bad tag an error quotes.
const QUOTED_CHARS: usize = 80;

/// One change to one character's sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateOp {
    /// Healing when positive, damage when negative.
    Hp(i64),
    Condition {
        add: bool,
        condition: String,
    },
    /// Items gained when positive, lost when negative.
    Item {
        delta: i64,
        item: String,
    },
    Gold(i64),
    Xp(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateTag {
    /// Byte range of the whole tag, `[[` to `]]`.
    pub span: Range<usize>,
    /// The character's name as written (trimmed, spaces collapsed).
    pub target: String,
    pub op: StateOp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tagged {
    Change(StateTag),
    Note { span: Range<usize>, text: String },
}

/// A tag that will not be applied, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{body}` was not applied: {problem}")]
pub struct StateTagError {
    pub span: Range<usize>,
    /// The whole tag as written, on one line (runs of whitespace as one space), at most 80
    /// characters.
    pub body: String,
    pub problem: String,
}

/// Every state tag of a text, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateTagScan {
    pub tags: Vec<Tagged>,
    pub errors: Vec<StateTagError>,
}

impl StateTag {
    /// The tag in its canonical form without brackets, `hp Mira -5`, for messages.
    pub fn text(&self) -> String {
        let target = &self.target;
        match &self.op {
            StateOp::Hp(n) => format!("hp {target} {n:+}"),
            StateOp::Condition { add, condition } => {
                format!("condition {target} {}{condition}", sign(*add))
            }
            StateOp::Item { delta, item } if delta.abs() == 1 => {
                format!("item {target} {}{item}", sign(*delta > 0))
            }
            StateOp::Item { delta, item } => format!("item {target} {delta:+} {item}"),
            StateOp::Gold(n) => format!("gold {target} {n:+}"),
            StateOp::Xp(n) => format!("xp {target} {n:+}"),
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn sign(positive: bool) -> char {
    if positive { '+' } else { '-' }
}

/// Valid and invalid state tags of `text`, in order. Only the first [`MAX_STATE_TAGS`] count.
pub fn scan_state_tags(text: &str) -> StateTagScan {
    let mut scan = StateTagScan::default();
    for (index, found) in tag_spans(text).into_iter().enumerate() {
        let error = |problem: String| StateTagError {
            span: found.span.clone(),
            body: shorten(&one_line(&text[found.span.clone()]), QUOTED_CHARS),
            problem,
        };
        if index >= MAX_STATE_TAGS {
            let problem = format!("only the first {MAX_STATE_TAGS} state tags of a reply count");
            scan.errors.push(error(problem));
            continue;
        }
        let body = &text[found.body.clone()];
        match parse_body(found.word, body) {
            Ok(Parsed::Note(note)) => scan.tags.push(Tagged::Note {
                span: found.span,
                text: note,
            }),
            Ok(Parsed::Change { target, op }) => scan.tags.push(Tagged::Change(StateTag {
                span: found.span,
                target,
                op,
            })),
            Err(problem) => scan.errors.push(error(problem)),
        }
    }
    scan
}

/// What players see: every state tag removed (roll tags are left alone), without the double
/// space or space before punctuation the removal would leave, and without a half-written tag
/// at the very end, so a streamed reply never flashes `[[hp Mi`.
pub fn displayed(text: &str) -> Cow<'_, str> {
    let spans = tag_spans(text);
    let searched_from = spans.last().map_or(0, |s| s.span.end);
    let unfinished = unfinished_tag_start(text, searched_from);
    if spans.is_empty() && unfinished.is_none() {
        return Cow::Borrowed(text);
    }
    let end = unfinished.unwrap_or(text.len());
    let mut out = without_spans(text, &spans, end);
    if unfinished.is_some() && out.ends_with(' ') {
        out.pop();
    }
    Cow::Owned(out)
}

/// Where a state tag begins that the text ends before closing: `[[`, `[[ite`, `[[hp Mira -`.
/// A broken tag with the story going on after it (a newline, a lone `]`) is left visible.
fn unfinished_tag_start(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut search = from;
    while let Some(offset) = text[search..].find("[[") {
        let start = search + offset;
        let mut at = start + 2;
        while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        let word_end = bytes[at..]
            .iter()
            .position(|b| !b.is_ascii_alphabetic())
            .map_or(bytes.len(), |p| at + p);
        let word = &bytes[at..word_end];
        let at_end = word_end == bytes.len();
        let is_prefix = STATE_WORDS.iter().any(|w| {
            w.len() >= word.len() && w.as_bytes()[..word.len()].eq_ignore_ascii_case(word)
        });
        let is_word = STATE_WORDS
            .iter()
            .any(|w| w.as_bytes().eq_ignore_ascii_case(word));
        let opens_body = is_word
            && matches!(bytes.get(word_end), Some(b) if b.is_ascii_whitespace() || *b == b':')
            && still_writing(&text[word_end..]);
        if (at_end && is_prefix) || opens_body {
            return Some(start);
        }
        search = start + 1;
    }
    None
}

/// Whether `body` looks like a tag still being streamed rather than a broken one followed by
/// more story: one short line, with at most the first `]` of the closing `]]` at its end.
fn still_writing(body: &str) -> bool {
    let open = body.strip_suffix(']').unwrap_or(body);
    body.len() <= MAX_TAG_BYTES && !open.contains(['\n', ']'])
}

fn tag_spans(text: &str) -> Vec<TagSpan> {
    tag_scan::tag_spans(text, &STATE_WORDS)
}

enum Parsed {
    Note(String),
    Change { target: String, op: StateOp },
}

fn parse_body(word: &str, body: &str) -> Result<Parsed, String> {
    if word == "note" {
        return parse_note(body).map(Parsed::Note);
    }
    let (target, rest) = split_target(body)
        .ok_or_else(|| format!("write a sign before the amount, like `[[{word} Mira -5]]`"))?;
    if target.is_empty() {
        return Err(format!(
            "say whose sheet changes, like `[[{word} Mira ...]]`"
        ));
    }
    let op = match word {
        "hp" => StateOp::Hp(parse_amount(rest, MAX_HP_CHANGE, "hit points")?),
        "gold" => StateOp::Gold(parse_amount(rest, MAX_GOLD, "gold")?),
        "xp" => {
            let xp = parse_amount(rest, MAX_XP_CHANGE, "XP")?;
            if xp < 0 {
                return Err("XP only goes up; write `+N`".to_owned());
            }
            StateOp::Xp(xp)
        }
        "condition" => parse_condition(rest)?,
        _ => {
            let (delta, item) = parse_item_change(rest)?;
            StateOp::Item { delta, item }
        }
    };
    Ok(Parsed::Change { target, op })
}

/// `Mira Vale -5 gp` -> ("Mira Vale", "-5 gp"): the name is the words before the first word
/// starting with a sign. `None` when no word has one.
fn split_target(body: &str) -> Option<(String, &str)> {
    let mut name_words = Vec::new();
    let mut rest = body.trim_start();
    while !rest.is_empty() {
        if rest.starts_with(['+', '-', '−']) {
            // `[[hp Mira: -5]]`, `[[hp Mira, -5]]`
            let name = name_words.join(" ");
            let name = name.trim_end_matches([':', ',']).trim_end().to_owned();
            return Some((name, rest.trim_end()));
        }
        let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        name_words.push(&rest[..word_end]);
        rest = rest[word_end..].trim_start();
    }
    None
}

/// Splits `+5`, `-5`, `- 5`, `−5` into the sign and what follows it; `rest` starts with a
/// sign (as [`split_target`] leaves it).
fn split_sign(rest: &str) -> (bool, &str) {
    let mut chars = rest.chars();
    let positive = chars.next() == Some('+');
    (positive, chars.as_str().trim_start())
}

/// `+N` or `-N`, N a whole number 1..=cap; words after the number are ignored.
fn parse_amount(rest: &str, cap: i64, what: &str) -> Result<i64, String> {
    let (positive, number) = split_sign(rest);
    let number = number.split_whitespace().next().unwrap_or("");
    let n = parse_count(number, cap, what)?;
    Ok(if positive { n } else { -n })
}

/// A whole number 1..=cap, with clear English for everything else.
fn parse_count(number: &str, cap: i64, what: &str) -> Result<i64, String> {
    if number.is_empty() {
        return Err(format!(
            "give the amount of {what} after the sign, like `-5`"
        ));
    }
    if !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{}` is not a whole number of {what}",
            shorten(number, 20)
        ));
    }
    match number.parse::<i64>() {
        Ok(0) => Err(format!("a change of 0 {what} changes nothing")),
        Ok(n) if n <= cap => Ok(n),
        _ => Err(format!("one tag changes at most {cap} {what}")),
    }
}

fn parse_condition(rest: &str) -> Result<StateOp, String> {
    let (add, name) = split_sign(rest);
    let name = name.split_whitespace().next().unwrap_or("");
    if name.is_empty() {
        return Err("name the condition after the sign, like `+poisoned`".to_owned());
    }
    let condition = srd().condition(name).ok_or_else(|| {
        format!(
            "`{}` is not an SRD condition; use one of {}",
            shorten(name, 30),
            srd().condition_names()
        )
    })?;
    Ok(StateOp::Condition {
        add,
        condition: condition.to_owned(),
    })
}

/// `+Torch`, `-2 Torch`, `+3x Arrow` -> (count with sign, name).
pub(crate) fn parse_item_change(rest: &str) -> Result<(i64, String), String> {
    if !rest.starts_with(['+', '-', '−']) {
        return Err("write + or - before the item, like `+2 Torch` or `-Torch`".to_owned());
    }
    let (positive, after_sign) = split_sign(rest);
    let first = after_sign.split_whitespace().next().unwrap_or("");
    let digits = first.trim_end_matches(['x', 'X', '×']);
    let (count, name) = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let count = parse_count(digits, MAX_QUANTITY, "items")?;
        (count, after_sign[first.len()..].trim())
    } else {
        (1, after_sign)
    };
    let name = checked_item_name(name)?;
    Ok((if positive { count } else { -count }, name))
}

/// The item name with runs of spaces collapsed, or why it cannot be one. Nothing is removed
/// from a name: one that would need cleaning is refused.
pub(crate) fn checked_item_name(name: &str) -> Result<String, String> {
    if name.contains(['\n', '\r']) || name.chars().any(char::is_control) {
        return Err("an item name must be on one line".to_owned());
    }
    if name.contains(['@', '<', '>', '`']) {
        return Err("an item name may not contain @, <, > or `".to_owned());
    }
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err("name the item, like `+Torch` or `-2 Torch`".to_owned());
    }
    if name.starts_with(['+', '-', '−']) {
        return Err("write one sign before the item, like `-2 Torch`".to_owned());
    }
    if name.chars().count() > MAX_ITEM_NAME {
        return Err(format!(
            "an item name is at most {MAX_ITEM_NAME} characters"
        ));
    }
    Ok(name)
}

/// A note for the journal, on one line. Mentions are refused rather than cleaned, as the note
/// is shown in the channel.
fn parse_note(body: &str) -> Result<String, String> {
    let note = one_line(body);
    if note.is_empty() {
        return Err("the note is empty".to_owned());
    }
    if note.chars().count() > MAX_NOTE {
        return Err(format!("a note is at most {MAX_NOTE} characters"));
    }
    if note.contains(['@', '<', '>']) || note.chars().any(char::is_control) {
        return Err("a note may not contain @, < or >".to_owned());
    }
    Ok(note)
}

#[cfg(test)]
mod tests;
