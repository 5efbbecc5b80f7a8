//! Where to cut text that outgrows one message.
//!
//! A cut only ever looks at the first `limit + 1` characters of the text not yet placed in a
//! message, so cutting a growing stream gives exactly the same messages as cutting the finished
//! text: the streaming planner and [`split_message`] share this code and agree.
//!
//! Messages are contiguous slices of the text; the only text added is a closing fence at the end
//! of a message and a reopening fence at the start of the next one, and only when a single code
//! block is longer than a message can hold (a block that fits is moved whole instead).

use std::ops::Range;

use super::markdown::{Boundary, Carry, Position, scan};

/// Messages are never planned smaller than this, so that a reopened fence, a closing fence and
/// some text always fit together.
pub const MIN_MESSAGE_CHARS: usize = 64;

/// One message's share of a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// The byte range of the original text shown by this message.
    pub source: Range<usize>,
    /// A fence line (` ```lang\n `) put before the text because it continues a code block that
    /// the previous message had to close.
    pub reopen: Option<String>,
    /// A closing fence put after the text because a code block is cut here.
    pub close: Option<&'static str>,
}

impl Segment {
    /// The message text: the slice of `text` with any added fences.
    pub fn render(&self, text: &str) -> String {
        let mut out = String::with_capacity(self.source.len() + 16);
        if let Some(reopen) = &self.reopen {
            out.push_str(reopen);
        }
        out.push_str(&text[self.source.clone()]);
        if let Some(close) = self.close {
            out.push_str(close);
        }
        out
    }

    /// Whether the segment adds text of its own.
    pub fn is_decorated(&self) -> bool {
        self.reopen.is_some() || self.close.is_some()
    }
}

/// Whether a message would show nothing (Discord refuses such messages).
pub(crate) fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// Cuts `text` into segments of at most `limit` characters (raised to [`MIN_MESSAGE_CHARS`]).
///
/// The sources of the segments are contiguous and cover the whole text. A segment may be blank
/// only when the text holds a run of whitespace longer than a message, or ends with whitespace
/// that spilled past the last cut; such segments are never posted.
pub fn split_segments(text: &str, limit: usize) -> Vec<Segment> {
    let limit = limit.max(MIN_MESSAGE_CHARS);
    let mut segments = Vec::new();
    let mut start = 0;
    let mut carry = Carry::default();
    loop {
        let reopen = carry.reopen_line();
        if !overflows(&text[start..], &carry, limit) {
            segments.push(Segment {
                source: start..text.len(),
                reopen,
                close: None,
            });
            return segments;
        }
        let cut = choose_cut(&text[start..], &carry, limit);
        segments.push(Segment {
            source: start..start + cut.len,
            reopen,
            close: cut.close,
        });
        start += cut.len;
        carry = cut.carry;
    }
}

/// Splits non-streamed text into message texts of at most `limit` characters, with the same
/// boundary rules as streaming. Blank text yields no message.
pub fn split_message(text: &str, limit: usize) -> Vec<String> {
    split_segments(text, limit)
        .iter()
        .map(|s| s.render(text))
        .filter(|m| !is_blank(m))
        .collect()
}

/// Whether `rest`, starting in state `carry`, is too long to be the last message.
pub(crate) fn overflows(rest: &str, carry: &Carry, limit: usize) -> bool {
    let room = room(carry, limit);
    rest.chars().nth(room).is_some()
}

/// Characters left for text once a reopened fence is in place.
pub(crate) fn room(carry: &Carry, limit: usize) -> usize {
    limit - carry.reopen_line().map_or(0, |l| l.chars().count())
}

pub(crate) struct Cut {
    /// Bytes of `rest` that go in the message.
    pub len: usize,
    pub close: Option<&'static str>,
    /// Markdown state the next message starts in.
    pub carry: Carry,
}

/// How much a cut at `pos` adds: a closing fence when it lands inside a code block.
fn closing(pos: &Position) -> Option<&'static str> {
    pos.in_fence
        .then_some(if pos.after_newline { "```" } else { "\n```" })
}

/// Chooses where to end the message for `rest`, which must [`overflow`](overflows).
pub(crate) fn choose_cut(rest: &str, carry: &Carry, limit: usize) -> Cut {
    let room = room(carry, limit);
    let window_end = rest
        .char_indices()
        .nth(room + 1)
        .map_or(rest.len(), |(b, _)| b);
    let scan = scan(&rest[..window_end], carry);
    let fits = |i: usize| {
        let extra = closing(&scan.positions[i]).map_or(0, |c| c.chars().count());
        i + extra <= room
    };
    let candidates: Vec<usize> = (1..scan.positions.len()).filter(|&i| fits(i)).collect();
    let min_fill = room / 2;

    // Outside code and marker pairs.
    let clean =
        |p: &Position| !p.in_token && !p.in_fence && !p.markers_open && p.nonblank && p.grapheme;
    // Inside a code block too large to move (it gets closed and reopened) or an unbalanced
    // marker pair.
    let tolerable = |p: &Position| {
        !p.in_token
            && p.nonblank
            && p.grapheme
            && !(p.in_fence && (p.in_fence_header || p.after_backtick || p.fence_edge))
    };

    let chosen = best(&scan.positions, &candidates, clean, min_fill)
        .or_else(|| best(&scan.positions, &candidates, tolerable, min_fill))
        .or_else(|| {
            candidates
                .iter()
                .rev()
                .copied()
                .find(|&i| scan.positions[i].grapheme)
        })
        .or_else(|| candidates.last().copied())
        .expect("a message always has room for one character");

    let pos = &scan.positions[chosen];
    let carry = Carry {
        fence: pos
            .in_fence
            .then(|| pos.fence.map(|f| scan.langs[f].clone()).unwrap_or_default()),
    };
    Cut {
        len: pos.byte,
        close: closing(pos),
        carry,
    }
}

/// Ranks of cut quality, best first; each admits every better kind of boundary too.
#[derive(Clone, Copy)]
enum Rank {
    AtLeast(Boundary),
    BeforeOpener,
    Anywhere,
}

impl Rank {
    const LADDER: [Rank; 6] = [
        Rank::AtLeast(Boundary::Paragraph),
        Rank::AtLeast(Boundary::Line),
        Rank::AtLeast(Boundary::Sentence),
        Rank::AtLeast(Boundary::Word),
        Rank::BeforeOpener,
        Rank::Anywhere,
    ];

    fn admits(self, p: &Position) -> bool {
        match self {
            Rank::AtLeast(b) => p.boundary.is_some_and(|pb| pb >= b),
            Rank::BeforeOpener => p.boundary.is_some() || p.opener,
            Rank::Anywhere => true,
        }
    }
}

/// The latest allowed cut of the best rank that still fills at least `min_fill` characters,
/// else the latest allowed cut of any rank.
fn best(
    positions: &[Position],
    candidates: &[usize],
    allowed: impl Fn(&Position) -> bool,
    min_fill: usize,
) -> Option<usize> {
    let allowed: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| allowed(&positions[i]))
        .collect();
    for rank in Rank::LADDER {
        if let Some(&i) = allowed.iter().rev().find(|&&i| rank.admits(&positions[i]))
            && i >= min_fill
        {
            return Some(i);
        }
    }
    allowed.last().copied()
}
