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
    let mut scanner = Scanner::new(window, carry);
    let chars: Vec<(usize, char)> = window.char_indices().collect();
    let graphemes = grapheme_starts(window, &chars);
    let mut positions = Vec::with_capacity(chars.len());
    for (i, &(byte, c)) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| chars[p].1);
        let next = chars.get(i + 1).map(|&(_, n)| n);
        let mut position = scanner.position(byte, c, prev, graphemes[i]);
        if scanner.skip > 0 {
            scanner.skip -= 1;
        } else {
            position.opener = scanner.token(&chars, i, prev, next);
        }
        scanner.whitespace(c, prev);
        positions.push(position);
    }
    Scan {
        positions,
        langs: scanner.langs,
        ends_in_fence: scanner.fence.is_some(),
    }
}

/// What a position inside a token reports: the state where the token started.
#[derive(Clone, Copy)]
struct TokenState {
    in_fence: bool,
    in_header: bool,
    markers_open: bool,
    fence: Option<usize>,
}

/// The markdown state while scanning, one character at a time.
struct Scanner<'w> {
    window: &'w str,
    langs: Vec<String>,
    /// Index into `langs` of the fence we are in.
    fence: Option<usize>,
    /// Some while in a fence's opening line: where the line starts.
    header_start: Option<usize>,
    /// Characters of the current fence's content seen so far.
    body_chars: usize,
    inline_code: bool,
    stack: Vec<Marker>,
    /// Characters left of the current multi-character token.
    skip: usize,
    token_state: TokenState,
    nonblank: bool,
    /// Line feeds in the current whitespace run.
    ws_newlines: u32,
    /// The last non-space character that is not a closer.
    last_significant: Option<char>,
}

impl<'w> Scanner<'w> {
    fn new(window: &'w str, carry: &Carry) -> Self {
        let mut langs = Vec::new();
        let mut fence = None;
        if let Some(lang) = &carry.fence {
            langs.push(lang.clone());
            fence = Some(0);
        }
        let mut scanner = Scanner {
            window,
            langs,
            fence,
            header_start: None,
            body_chars: 0,
            inline_code: false,
            stack: Vec::new(),
            skip: 0,
            token_state: TokenState {
                in_fence: false,
                in_header: false,
                markers_open: false,
                fence: None,
            },
            nonblank: false,
            ws_newlines: 0,
            last_significant: None,
        };
        scanner.token_state = scanner.state();
        scanner
    }

    fn state(&self) -> TokenState {
        TokenState {
            in_fence: self.fence.is_some(),
            in_header: self.header_start.is_some(),
            markers_open: self.inline_code || !self.stack.is_empty(),
            fence: self.fence,
        }
    }

    /// The position just before `c`, at `byte`.
    fn position(&self, byte: usize, c: char, prev: Option<char>, grapheme: bool) -> Position {
        let state = if self.skip > 0 {
            self.token_state
        } else {
            self.state()
        };
        Position {
            byte,
            in_token: self.skip > 0,
            in_fence: state.in_fence,
            in_fence_header: state.in_header,
            fence: state.fence,
            markers_open: state.markers_open,
            opener: false,
            grapheme,
            after_backtick: prev == Some('`'),
            fence_edge: self.fence.is_some()
                && self.header_start.is_none()
                && (self.body_chars == 0 || self.window[byte..].starts_with("```")),
            after_newline: prev == Some('\n'),
            nonblank: self.nonblank,
            boundary: self.boundary(c, prev),
        }
    }

    fn boundary(&self, c: char, prev: Option<char>) -> Option<Boundary> {
        let prev_ws = prev.is_some_and(char::is_whitespace);
        if self.fence.is_some() {
            (self.header_start.is_none() && prev == Some('\n')).then_some(Boundary::Line)
        } else if prev_ws && !c.is_whitespace() {
            Some(match self.ws_newlines {
                0 if self.last_significant.is_some_and(ends_sentence) => Boundary::Sentence,
                0 => Boundary::Word,
                1 => Boundary::Line,
                _ => Boundary::Paragraph,
            })
        } else {
            None
        }
    }

    /// Reads the token starting at character `i`; true when it opens a fence, a code span or
    /// an emphasis.
    fn token(
        &mut self,
        chars: &[(usize, char)],
        i: usize,
        prev: Option<char>,
        next: Option<char>,
    ) -> bool {
        self.token_state = self.state();
        let (byte, c) = chars[i];
        let rest = &self.window[byte..];
        if self.fence.is_some() && self.header_start.is_none() {
            self.body_chars += 1;
        }
        if let Some(idx) = self.fence {
            if rest.starts_with("```") {
                if let Some(h) = self.header_start.take() {
                    self.langs[idx] = fence_lang(&self.window[h..byte]);
                }
                self.fence = None;
                self.skip = 2;
            } else if c == '\n'
                && let Some(h) = self.header_start.take()
            {
                self.langs[idx] = fence_lang(&self.window[h..byte]);
                self.body_chars = 0;
            }
            false
        } else if self.inline_code {
            if c == '`' {
                self.inline_code = false;
            }
            false
        } else if c == '\\' && next.is_some_and(|n| n.is_ascii_punctuation()) {
            self.skip = 1;
            false
        } else if rest.starts_with("```") {
            self.langs.push(String::new());
            self.fence = Some(self.langs.len() - 1);
            self.body_chars = 0;
            self.header_start = Some(byte + 3);
            self.skip = 2;
            true
        } else if c == '`' {
            self.inline_code = true;
            true
        } else if let Some((marker, len)) = Marker::at(rest) {
            self.skip = len - 1;
            let after = chars.get(i + len).map(|&(_, n)| n);
            if let Some(open_at) = self.stack.iter().rposition(|m| *m == marker) {
                self.stack.truncate(open_at);
                false
            } else if can_open(marker, prev, after) {
                self.stack.push(marker);
                true
            } else {
                false
            }
        } else {
            false
        }
    }

    fn whitespace(&mut self, c: char, prev: Option<char>) {
        if c.is_whitespace() {
            if !prev.is_some_and(char::is_whitespace) {
                self.ws_newlines = 0;
            }
            if c == '\n' {
                self.ws_newlines += 1;
            }
        } else {
            self.nonblank = true;
            if !closes_sentence(c) {
                self.last_significant = Some(c);
            }
        }
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
