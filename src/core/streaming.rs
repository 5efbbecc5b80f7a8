//! Showing a model's narration while it streams, as Discord messages.
//!
//! [`StreamPlanner`] turns text deltas into message operations: post message `n`, or replace
//! message `n`'s content. It is pure: the caller passes the current time, performs the
//! operations and calls [`StreamPlanner::poll`] at [`StreamPlanner::next_deadline`].
//!
//! Guarantees:
//! - no message is ever longer than the policy's limit (2000 characters by default);
//! - edits to one message are at least `min_edit_interval` apart, except those of `finish`;
//! - after `finish`, every message shows its final text, and the final texts are the model's
//!   text cut into consecutive pieces, with two exceptions: a code block too long for one
//!   message is closed at the end of one message and reopened (same language tag) at the start
//!   of the next, and a piece made only of whitespace (a whitespace run longer than a message,
//!   or trailing whitespace past the last cut) is not posted, since Discord cannot show it.
//!   [`split_segments`] describes each message's exact slice of the text and what was added;
//! - streaming and [`split_message`] cut the same text at the same places.

mod markdown;
mod split;

use std::time::{Duration, Instant};

pub use split::{MIN_MESSAGE_CHARS, Segment, split_message, split_segments};

use markdown::{Carry, scan};
use split::{choose_cut, is_blank, room};

/// Discord's limit on a message's content, in characters.
pub const DISCORD_MESSAGE_CHARS: usize = 2000;

/// One thing for the Discord layer to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Post a new message; it becomes message number `index` (0, 1, 2, ... in order).
    Send { index: usize, text: String },
    /// Replace the whole content of message `index`.
    Edit { index: usize, text: String },
}

impl Op {
    pub fn index(&self) -> usize {
        match self {
            Op::Send { index, .. } | Op::Edit { index, .. } => *index,
        }
    }

    pub fn text(&self) -> &str {
        match self {
            Op::Send { text, .. } | Op::Edit { text, .. } => text,
        }
    }
}

/// How a stream is shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamPolicy {
    /// Smallest gap between two edits of one message (posting counts as an edit).
    pub min_edit_interval: Duration,
    /// Most characters in one message; raised to [`MIN_MESSAGE_CHARS`] if smaller.
    pub max_message_chars: usize,
}

impl Default for StreamPolicy {
    fn default() -> Self {
        Self {
            min_edit_interval: Duration::from_secs(1),
            max_message_chars: DISCORD_MESSAGE_CHARS,
        }
    }
}

#[derive(Debug)]
struct Posted {
    shown: String,
    touched: Instant,
    /// Set once the message's share of the text is settled.
    final_text: Option<String>,
    /// The message shows less or other than it should.
    stale: bool,
}

/// Plans the messages of one streamed answer. See the module documentation.
#[derive(Debug)]
pub struct StreamPlanner {
    policy: StreamPolicy,
    text: String,
    /// Byte offset where the open (last) segment starts.
    start: usize,
    carry: Carry,
    /// Characters in the open segment.
    open_chars: usize,
    posted: Vec<Posted>,
    /// Whether the open segment already has a message (always the last one).
    open_posted: bool,
}

impl StreamPlanner {
    pub fn new(policy: StreamPolicy) -> Self {
        let max_message_chars = policy.max_message_chars.max(MIN_MESSAGE_CHARS);
        Self {
            policy: StreamPolicy {
                max_message_chars,
                ..policy
            },
            text: String::new(),
            start: 0,
            carry: Carry::default(),
            open_chars: 0,
            posted: Vec::new(),
            open_posted: false,
        }
    }

    /// Changes the edit interval, e.g. to edit less often while Discord rate-limits the bot.
    pub fn set_min_edit_interval(&mut self, interval: Duration) {
        self.policy.min_edit_interval = interval;
    }

    pub fn policy(&self) -> &StreamPolicy {
        &self.policy
    }

    /// The text received so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Adds a delta of model text and returns what to do now.
    pub fn push(&mut self, delta: &str, now: Instant) -> Vec<Op> {
        if delta.is_empty() {
            return self.poll(now);
        }
        self.text.push_str(delta);
        self.open_chars += delta.chars().count();
        if self.open_posted {
            self.posted.last_mut().expect("open message").stale = true;
        }
        let limit = self.policy.max_message_chars;
        let mut sends = Vec::new();
        while self.open_chars > room(&self.carry, limit) {
            let cut = choose_cut(&self.text[self.start..], &self.carry, limit);
            let segment = Segment {
                source: self.start..self.start + cut.len,
                reopen: self.carry.reopen_line(),
                close: cut.close,
            };
            let final_text = segment.render(&self.text);
            if self.open_posted {
                let open = self.posted.last_mut().expect("open message");
                open.stale = open.shown != final_text;
                open.final_text = Some(final_text);
                self.open_posted = false;
            } else if !is_blank(&final_text) {
                sends.push(self.post(final_text.clone(), Some(final_text), now));
            }
            self.start += cut.len;
            self.carry = cut.carry;
            self.open_chars = self.text[self.start..].chars().count();
        }
        if !self.open_posted {
            let display = self.open_display();
            if !is_blank(&display) {
                sends.push(self.post(display, None, now));
                self.open_posted = true;
            }
        }
        let mut ops = self.poll(now);
        ops.extend(sends);
        ops
    }

    /// Edits whose throttle delay has passed.
    pub fn poll(&mut self, now: Instant) -> Vec<Op> {
        let interval = self.policy.min_edit_interval;
        let open_index = self.open_posted.then(|| self.posted.len() - 1);
        let mut ops = Vec::new();
        for index in 0..self.posted.len() {
            let due = {
                let p = &self.posted[index];
                p.stale && now.saturating_duration_since(p.touched) >= interval
            };
            if !due {
                continue;
            }
            let text = if Some(index) == open_index {
                self.open_display()
            } else {
                self.posted[index]
                    .final_text
                    .clone()
                    .expect("sealed message")
            };
            let p = &mut self.posted[index];
            p.stale = false;
            if p.shown != text {
                p.shown = text.clone();
                p.touched = now;
                ops.push(Op::Edit { index, text });
            }
        }
        ops
    }

    /// Records when the send or edit of message `index` was done (the chat service answered),
    /// so the next edit waits a full interval from then: when requests queue under load, the
    /// service still never sees two versions of a message closer than the interval.
    pub fn confirmed(&mut self, index: usize, at: Instant) {
        if let Some(p) = self.posted.get_mut(index)
            && at > p.touched
        {
            p.touched = at;
        }
    }

    /// When [`poll`](Self::poll) has an edit to make, if ever.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.posted
            .iter()
            .filter(|p| p.stale)
            .map(|p| p.touched + self.policy.min_edit_interval)
            .min()
    }

    /// Ends the stream: brings every message to its final text, ignoring the throttle.
    pub fn finish(mut self, now: Instant) -> Vec<Op> {
        let segment = Segment {
            source: self.start..self.text.len(),
            reopen: self.carry.reopen_line(),
            close: None,
        };
        let final_text = segment.render(&self.text);
        let mut sends = Vec::new();
        if self.open_posted {
            let open = self.posted.last_mut().expect("open message");
            open.stale = true;
            open.final_text = Some(final_text);
        } else if !is_blank(&final_text) {
            sends.push(self.post(final_text.clone(), Some(final_text), now));
        }
        let mut ops: Vec<Op> = self
            .posted
            .iter()
            .enumerate()
            .filter(|(_, p)| p.stale)
            .filter_map(|(index, p)| {
                let text = p.final_text.clone().expect("all messages are sealed");
                (p.shown != text).then_some(Op::Edit { index, text })
            })
            .collect();
        ops.extend(sends);
        ops
    }

    /// Records a new message and returns the operation that posts it.
    fn post(&mut self, shown: String, final_text: Option<String>, now: Instant) -> Op {
        let index = self.posted.len();
        self.posted.push(Posted {
            shown: shown.clone(),
            touched: now,
            final_text,
            stale: false,
        });
        Op::Send { index, text: shown }
    }

    /// What the open message shows mid-stream: its text so far, with a provisional closing
    /// fence when a code block is still streaming and the fence fits.
    fn open_display(&self) -> String {
        let segment = Segment {
            source: self.start..self.text.len(),
            reopen: self.carry.reopen_line(),
            close: None,
        };
        let mut display = segment.render(&self.text);
        let rest = &self.text[self.start..];
        if scan(rest, &self.carry).ends_in_fence {
            let close = if rest.ends_with('\n') { "```" } else { "\n```" };
            let fits =
                display.chars().count() + close.chars().count() <= self.policy.max_message_chars;
            if fits {
                display.push_str(close);
            }
        }
        display
    }
}
