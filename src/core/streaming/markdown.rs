//! A small, forgiving scanner for the parts of Discord markdown that matter when text is cut
//! into messages: code fences, inline code spans and emphasis marker pairs.
//!
//! It does not render anything. For every character position of a window it records whether a
//! cut there would land inside a code block, inside a marker pair or inside a marker token, and
//! what kind of text boundary the position is. Unbalanced markers are common in model output
//! (`5 * 3`, `snake_case`), so the rules lean towards treating doubtful markers as plain text.

use unicode_segmentation::UnicodeSegmentation;

/// Markdown state carried from one message into the next.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Carry {
    /// `Some(lang)` when the text continues a fenced code block cut by the previous message.
    pub fence: Option<String>,
}

impl Carry {
    /// The fence line the next message starts with to reopen a cut code block.
    pub fn reopen_line(&self) -> Option<String> {
        self.fence.as_ref().map(|lang| format!("```{lang}\n"))
    }
}

/// How good a place to cut a position is, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Boundary {
    Word = 1,
    Sentence = 2,
    Line = 3,
    Paragraph = 4,
}

/// What the scanner knows about the position just before one character.
#[derive(Clone, Debug)]
pub(crate) struct Position {
    /// Byte offset in the scanned window.
    pub byte: usize,
    /// Strictly inside a multi-character token (`**`, a fence, an escape).
    pub in_token: bool,
    /// Inside a fenced code block, including its opening line.
    pub in_fence: bool,
    /// Inside the opening line of a fence (` ```lang `), where no cut should go.
    pub in_fence_header: bool,
    /// Index into [`Scan::langs`] of the enclosing fence.
    pub fence: Option<usize>,
    /// An inline code span or emphasis pair is open here.
    pub markers_open: bool,
    /// An opening marker or fence starts here.
    pub opener: bool,
    /// The position is an extended grapheme cluster boundary.
    pub grapheme: bool,
    /// The character before is a backtick (a cut here could glue backticks to an added fence).
    pub after_backtick: bool,
    /// Inside a code block whose content would be empty on one side of a cut here: right after
    /// the opening line, or right before the closing fence.
    pub fence_edge: bool,
    /// The character before is a line feed.
    pub after_newline: bool,
    /// The window before this position holds something other than whitespace.
    pub nonblank: bool,
    pub boundary: Option<Boundary>,
}

/// The result of scanning a window.
pub(crate) struct Scan {
    /// One entry per character of the window, in order.
    pub positions: Vec<Position>,
    /// Language tags of the fences met (or carried in), indexed by [`Position::fence`].
    pub langs: Vec<String>,
    /// Whether the window ends inside a fenced code block.
    pub ends_in_fence: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Marker {
    Bold,
    Italic,
    Underline,
    UnderscoreItalic,
    Strike,
    Spoiler,
}

impl Marker {
    fn at(rest: &str) -> Option<(Marker, usize)> {
        const DOUBLES: [(&str, Marker); 4] = [
            ("**", Marker::Bold),
            ("__", Marker::Underline),
            ("~~", Marker::Strike),
            ("||", Marker::Spoiler),
        ];
        for (token, marker) in DOUBLES {
            if rest.starts_with(token) {
                return Some((marker, 2));
            }
        }
        match rest.chars().next() {
            Some('*') => Some((Marker::Italic, 1)),
            Some('_') => Some((Marker::UnderscoreItalic, 1)),
            _ => None,
        }
    }
}

const MAX_LANG_CHARS: usize = 20;

/// A fence's language tag, or "" when the opening line is not a plausible tag.
fn fence_lang(header: &str) -> String {
    let tag = header.trim();
    let plausible = (1..=MAX_LANG_CHARS).contains(&tag.chars().count())
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-#._".contains(c));
    if plausible {
        tag.to_string()
    } else {
        String::new()
    }
}

fn ends_sentence(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…' | '。' | '！' | '？')
}

/// Characters that may sit between a sentence's final punctuation and the following space.
fn closes_sentence(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | '”' | '’' | '»' | ')' | ']' | '*' | '_' | '~' | '|' | '`'
    )
}

/// Scans `window`, which starts in the markdown state `carry`.
pub(crate) fn scan(window: &str, carry: &Carry) -> Scan {
    let chars: Vec<(usize, char)> = window.char_indices().collect();
    let graphemes = grapheme_starts(window, &chars);

    let mut langs = Vec::new();
    let mut fence: Option<usize> = None;
    let mut header_start: Option<usize> = None; // Some while in a fence's opening line
    if let Some(lang) = &carry.fence {
        langs.push(lang.clone());
        fence = Some(0);
    }
    let mut body_chars = 0usize; // characters of the current fence's content seen so far
    let mut inline_code = false;
    let mut stack: Vec<Marker> = Vec::new();

    let mut skip = 0usize;
    let mut token_state = (false, false, false, None::<usize>);
    let mut nonblank = false;
    let mut ws_newlines = 0u32; // line feeds in the current whitespace run
    let mut last_significant: Option<char> = None; // last non-space char that is not a closer

    let mut positions = Vec::with_capacity(chars.len());
    for (i, &(byte, c)) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| chars[p].1);
        let prev_ws = prev.is_some_and(char::is_whitespace);
        let boundary = if fence.is_some() {
            (header_start.is_none() && prev == Some('\n')).then_some(Boundary::Line)
        } else if prev_ws && !c.is_whitespace() {
            Some(match ws_newlines {
                0 if last_significant.is_some_and(ends_sentence) => Boundary::Sentence,
                0 => Boundary::Word,
                1 => Boundary::Line,
                _ => Boundary::Paragraph,
            })
        } else {
            None
        };
        let (in_fence, in_header, markers_open, fence_idx) = if skip > 0 {
            token_state
        } else {
            (
                fence.is_some(),
                header_start.is_some(),
                inline_code || !stack.is_empty(),
                fence,
            )
        };
        positions.push(Position {
            byte,
            in_token: skip > 0,
            in_fence,
            in_fence_header: in_header,
            fence: fence_idx,
            markers_open,
            opener: false,
            grapheme: graphemes[i],
            after_backtick: prev == Some('`'),
            fence_edge: fence.is_some()
                && header_start.is_none()
                && (body_chars == 0 || window[byte..].starts_with("```")),
            after_newline: prev == Some('\n'),
            nonblank,
            boundary,
        });

        if skip > 0 {
            skip -= 1;
        } else {
            token_state = (
                fence.is_some(),
                header_start.is_some(),
                inline_code || !stack.is_empty(),
                fence,
            );
            let rest = &window[byte..];
            if fence.is_some() && header_start.is_none() {
                body_chars += 1;
            }
            if let Some(idx) = fence {
                if rest.starts_with("```") {
                    if let Some(h) = header_start.take() {
                        langs[idx] = fence_lang(&window[h..byte]);
                    }
                    fence = None;
                    skip = 2;
                } else if c == '\n'
                    && let Some(h) = header_start.take()
                {
                    langs[idx] = fence_lang(&window[h..byte]);
                    body_chars = 0;
                }
            } else if inline_code {
                if c == '`' {
                    inline_code = false;
                }
            } else if c == '\\'
                && chars
                    .get(i + 1)
                    .is_some_and(|&(_, n)| n.is_ascii_punctuation())
            {
                skip = 1;
            } else if rest.starts_with("```") {
                positions[i].opener = true;
                langs.push(String::new());
                fence = Some(langs.len() - 1);
                body_chars = 0;
                header_start = Some(byte + 3);
                skip = 2;
            } else if c == '`' {
                positions[i].opener = true;
                inline_code = true;
            } else if let Some((marker, len)) = Marker::at(rest) {
                skip = len - 1;
                let after = chars.get(i + len).map(|&(_, n)| n);
                if let Some(open_at) = stack.iter().rposition(|m| *m == marker) {
                    stack.truncate(open_at);
                } else if can_open(marker, prev, after) {
                    stack.push(marker);
                    positions[i].opener = true;
                }
            }
        }

        if c.is_whitespace() {
            if !prev_ws {
                ws_newlines = 0;
            }
            if c == '\n' {
                ws_newlines += 1;
            }
        } else {
            nonblank = true;
            if !closes_sentence(c) {
                last_significant = Some(c);
            }
        }
    }

    Scan {
        positions,
        langs,
        ends_in_fence: fence.is_some(),
    }
}

/// An opening marker must touch the text it emphasises; `_` inside a word is a literal.
fn can_open(marker: Marker, prev: Option<char>, after: Option<char>) -> bool {
    let Some(after) = after else { return false };
    if after.is_whitespace() {
        return false;
    }
    let intraword = prev.is_some_and(char::is_alphanumeric) && after.is_alphanumeric();
    !(marker == Marker::UnderscoreItalic && intraword)
}

/// For each character index, whether a grapheme cluster starts there.
fn grapheme_starts(window: &str, chars: &[(usize, char)]) -> Vec<bool> {
    let mut starts = vec![false; chars.len()];
    let mut ci = 0;
    for (byte, _) in window.grapheme_indices(true) {
        while ci < chars.len() && chars[ci].0 < byte {
            ci += 1;
        }
        if ci < chars.len() {
            starts[ci] = true;
        }
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at<'a>(scan: &'a Scan, window: &str, needle: &str) -> &'a Position {
        let byte = window.find(needle).expect("needle in window");
        scan.positions
            .iter()
            .find(|p| p.byte == byte)
            .expect("position")
    }

    #[test]
    fn bold_pair_is_open_between_markers_only() {
        let w = "a **b c** d";
        let s = scan(w, &Carry::default());
        assert!(at(&s, w, "c").markers_open);
        assert!(!at(&s, w, "d").markers_open);
        assert!(at(&s, w, "**b").opener);
    }

    #[test]
    fn lone_spaced_asterisk_and_intraword_underscore_are_literal() {
        let w = "5 * 3 and snake_case words";
        let s = scan(w, &Carry::default());
        assert!(!at(&s, w, "words").markers_open);
    }

    #[test]
    fn fence_tracks_language_and_closing() {
        let w = "x\n```rust\nlet a = 1;\n```\nafter";
        let s = scan(w, &Carry::default());
        let inside = at(&s, w, "let");
        assert!(inside.in_fence && !inside.in_fence_header);
        assert_eq!(s.langs[inside.fence.unwrap()], "rust");
        assert!(at(&s, w, "rust").in_fence_header);
        assert!(!at(&s, w, "after").in_fence);
        assert!(!s.ends_in_fence);
    }

    #[test]
    fn carried_fence_starts_inside_code() {
        let carry = Carry {
            fence: Some("py".into()),
        };
        let w = "print(1)\n```\nend";
        let s = scan(w, &carry);
        assert!(s.positions[0].in_fence);
        assert!(!at(&s, w, "end").in_fence);
    }

    #[test]
    fn boundaries_are_classified() {
        let w = "One two. Three\nFour\n\nFive";
        let s = scan(w, &Carry::default());
        assert_eq!(at(&s, w, "two").boundary, Some(Boundary::Word));
        assert_eq!(at(&s, w, "Three").boundary, Some(Boundary::Sentence));
        assert_eq!(at(&s, w, "Four").boundary, Some(Boundary::Line));
        assert_eq!(at(&s, w, "Five").boundary, Some(Boundary::Paragraph));
    }

    #[test]
    fn escaped_marker_does_not_open() {
        let w = r"a \*b c";
        let s = scan(w, &Carry::default());
        assert!(!at(&s, w, "c").markers_open);
    }
}
