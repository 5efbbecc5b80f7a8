//! Finding `[[word body]]` tags in a model's text, for the roll tags (`[[roll ...]]`) and the
//! state tags (`[[hp ...]]`, `[[note ...]]`): the word (any case, optionally followed by `:`),
//! then a body in which single brackets may nest, closed by the first `]]` at depth 0.

use std::ops::Range;

/// A tag body longer than this cannot be a valid tag; stop looking for the closing `]]`
/// beyond it.
pub const MAX_TAG_BYTES: usize = 2048;

pub struct TagSpan {
    /// The whole tag, `[[` to `]]`.
    pub span: Range<usize>,
    /// Between the word (and its `:`) and `]]`.
    pub body: Range<usize>,
    /// Which of the words looked for.
    pub word: &'static str,
}

/// The tags of `text` whose word is one of `words`, in order.
pub fn tag_spans(text: &str, words: &[&'static str]) -> Vec<TagSpan> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(offset) = text[from..].find("[[") {
        let start = from + offset;
        match tag_at(bytes, start, words) {
            Some(found) => {
                from = found.span.end;
                spans.push(found);
            }
            None => from = start + 1,
        }
    }
    spans
}

/// The tag starting at `start` (which holds `[[`), if it is one.
fn tag_at(bytes: &[u8], start: usize, words: &[&'static str]) -> Option<TagSpan> {
    let mut at = start + 2;
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    let word = words.iter().copied().find(|w| {
        bytes
            .get(at..at + w.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(w.as_bytes()))
    })?;
    at += word.len();
    match bytes.get(at) {
        Some(b) if b.is_ascii_whitespace() || *b == b':' || *b == b']' => {}
        _ => return None,
    }
    if bytes.get(at) == Some(&b':') {
        at += 1;
    }
    let body_start = at;
    let mut depth = 0usize;
    let limit = bytes.len().min(body_start + MAX_TAG_BYTES);
    while at < limit {
        match bytes[at] {
            b'[' => depth += 1,
            b']' if depth > 0 => depth -= 1,
            b']' if bytes.get(at + 1) == Some(&b']') => {
                return Some(TagSpan {
                    span: start..at + 2,
                    body: body_start..at,
                    word,
                });
            }
            _ => {}
        }
        at += 1;
    }
    None
}

/// `text[..end]` without the given spans, and without the double space or the space before
/// punctuation that taking a tag out would leave.
pub fn without_spans(text: &str, spans: &[TagSpan], end: usize) -> String {
    let mut out = String::with_capacity(end);
    let mut copied = 0;
    for found in spans {
        out.push_str(&text[copied..found.span.start]);
        copied = found.span.end;
        let next = text[copied..end].chars().next();
        let glue_space = out.ends_with(' ')
            && next.is_none_or(|c| c == ' ' || c == '\n' || ".,;:!?)".contains(c));
        if glue_space {
            out.pop();
        }
    }
    out.push_str(&text[copied..end]);
    out
}
