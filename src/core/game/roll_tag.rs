//! Roll requests written by the game-master model into its narration:
//! `[[roll 1d20+3 Perception DC 13]]`.
//!
//! A tag is `[[`, the word `roll` (any case, optionally followed by `:`), a dice expression,
//! an optional label and an optional `DC N` / `DCN`, then `]]`. Annotations inside the
//! expression (`[[roll 1d8 [slashing] + 3]]`) are fine. Tags whose expression is invalid are not
//! dropped silently: [`scan_roll_tags`] reports each with the reason, so the engine can tell the
//! model or log it. Only the first [`MAX_ROLL_TAGS`] tags of a text are honoured; later ones are
//! reported as [`RollTagProblem::TooMany`]. Every tag, valid or not, is removed by
//! [`strip_roll_tags`] and passed to [`replace_roll_tags`].

use std::ops::Range;

use crate::core::game::dice::{DiceError, DiceExpr, RollResult};
use crate::core::game::tag_scan::{self, TagSpan, without_spans};

/// Most roll tags honoured in one text.
pub const MAX_ROLL_TAGS: usize = 5;

/// A valid roll request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollTag {
    /// Byte range of the whole tag, `[[` to `]]`, in the scanned text.
    pub span: Range<usize>,
    pub expr: DiceExpr,
    /// What the roll is for (`Perception`); empty when the tag gives none.
    pub label: String,
    pub dc: Option<i64>,
}

impl RollTag {
    /// Whether a total meets the tag's DC (`total >= dc`); `None` when there is no DC.
    pub fn meets_dc(&self, total: i64) -> Option<bool> {
        self.dc.map(|dc| total >= dc)
    }

    /// What players see for the rolled tag:
    /// `Perception: 1d20 (12) + 3 = 15 (DC 13, success)`.
    pub fn outcome_text(&self, result: &RollResult) -> String {
        let mut text = if self.label.is_empty() {
            result.text.clone()
        } else {
            format!("{}: {}", self.label, result.text)
        };
        if let (Some(dc), Some(met)) = (self.dc, self.meets_dc(result.total)) {
            let verdict = if met { "success" } else { "failure" };
            text.push_str(&format!(" (DC {dc}, {verdict})"));
        }
        text
    }
}

/// A tag that will not be rolled, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("roll request `{body}` was not rolled: {problem}")]
pub struct RollTagError {
    pub span: Range<usize>,
    /// The text between `roll` and `]]`, trimmed.
    pub body: String,
    pub problem: RollTagProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RollTagProblem {
    #[error(transparent)]
    Dice(#[from] DiceError),
    #[error("only the first {max} roll requests of a reply are rolled")]
    TooMany { max: usize },
}

/// Everything found in one text, in order of appearance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollTagScan {
    pub tags: Vec<RollTag>,
    pub errors: Vec<RollTagError>,
}

/// Valid and invalid tags of `text`, in order.
pub fn scan_roll_tags(text: &str) -> RollTagScan {
    let mut scan = RollTagScan::default();
    for (index, found) in tag_spans(text).into_iter().enumerate() {
        let body = text[found.body.clone()].trim();
        if index >= MAX_ROLL_TAGS {
            scan.errors.push(RollTagError {
                span: found.span,
                body: body.to_owned(),
                problem: RollTagProblem::TooMany { max: MAX_ROLL_TAGS },
            });
            continue;
        }
        match parse_body(body) {
            Ok((expr, label, dc)) => scan.tags.push(RollTag {
                span: found.span,
                expr,
                label,
                dc,
            }),
            Err(err) => scan.errors.push(RollTagError {
                span: found.span,
                body: body.to_owned(),
                problem: err.into(),
            }),
        }
    }
    scan
}

/// The valid tags of `text` that are honoured (at most [`MAX_ROLL_TAGS`]), in order.
pub fn find_roll_tags(text: &str) -> Vec<RollTag> {
    scan_roll_tags(text).tags
}

/// Replaces every tag, valid or not, with what `replacement` returns for its byte span.
pub fn replace_roll_tags(
    text: &str,
    mut replacement: impl FnMut(Range<usize>) -> String,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for found in tag_spans(text) {
        out.push_str(&text[copied..found.span.start]);
        out.push_str(&replacement(found.span.clone()));
        copied = found.span.end;
    }
    out.push_str(&text[copied..]);
    out
}

/// The text players see: every tag removed, without the double space or the space before
/// punctuation that removal would leave.
pub fn strip_roll_tags(text: &str) -> String {
    without_spans(text, &tag_spans(text), text.len())
}

fn tag_spans(text: &str) -> Vec<TagSpan> {
    tag_scan::tag_spans(text, &["roll"])
}

fn parse_body(body: &str) -> Result<(DiceExpr, String, Option<i64>), DiceError> {
    let (expr, used) = DiceExpr::parse_prefix(body)?;
    let rest = &body[used..];
    let (rest, dc) = match find_dc(rest) {
        Some((range, dc)) => (
            format!("{}{}", &rest[..range.start], &rest[range.end..]),
            Some(dc),
        ),
        None => (rest.to_owned(), None),
    };
    Ok((expr, tidy_label(&rest), dc))
}

/// The byte range and value of `DC 13` / `DC13` / `dc: 13` as a word in `text`.
fn find_dc(text: &str) -> Option<(Range<usize>, i64)> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(1)).find_map(|i| {
        let word_start = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if !word_start || !bytes[i..i + 2].eq_ignore_ascii_case(b"dc") {
            return None;
        }
        let mut at = i + 2;
        while bytes
            .get(at)
            .is_some_and(|b| b.is_ascii_whitespace() || *b == b':' || *b == b'=')
        {
            at += 1;
        }
        let digits_start = at;
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        let word_end = !bytes.get(at).is_some_and(u8::is_ascii_alphanumeric);
        if at == digits_start || !word_end {
            return None;
        }
        let dc = text[digits_start..at].parse().ok()?;
        Some((i..at, dc))
    })
}

fn tidy_label(rest: &str) -> String {
    let without_empty_parens = rest.replace("()", " ");
    let words: Vec<&str> = without_empty_parens.split_whitespace().collect();
    let mut label = words.join(" ");
    let junk: &[char] = &[',', ';', ':', '-', '|', '–', '—', ' '];
    loop {
        let before = label.len();
        // A leading `.` is the full stop after the expression (`1d20+3. Then ...`).
        label = label.trim_matches(junk).trim_start_matches('.').to_owned();
        for suffix in [" vs.", " vs", " against"] {
            if label.len() >= suffix.len()
                && label.is_char_boundary(label.len() - suffix.len())
                && label[label.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
            {
                label.truncate(label.len() - suffix.len());
            }
        }
        if label.len() == before {
            return label;
        }
    }
}
