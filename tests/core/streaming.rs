use crate::support::hostile;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use gamemaster::core::streaming::{
    DISCORD_MESSAGE_CHARS, MIN_MESSAGE_CHARS, Op, StreamPlanner, StreamPolicy, split_message,
    split_segments,
};
use gamemaster::core::text::truncate_chars;
use proptest::prelude::*;

const SECOND: Duration = Duration::from_secs(1);

fn policy(limit: usize, interval: Duration) -> StreamPolicy {
    StreamPolicy {
        min_edit_interval: interval,
        max_message_chars: limit,
    }
}

/// An operation together with when it was issued and whether `finish` issued it.
#[derive(Debug)]
struct Logged {
    op: Op,
    at: Instant,
    from_finish: bool,
}

/// Streams `text` in chunks of the given character counts, each after the given delay, then
/// finishes one delay later.
fn stream(text: &str, chunks: &[(usize, u64)], policy: StreamPolicy) -> Vec<Logged> {
    let base = Instant::now();
    let mut now = base;
    let mut planner = StreamPlanner::new(policy);
    let mut log = Vec::new();
    let mut rest = text;
    let mut record = |ops: Vec<Op>, at: Instant, from_finish: bool| {
        log.extend(ops.into_iter().map(|op| Logged {
            op,
            at,
            from_finish,
        }))
    };
    for &(chars, delay_ms) in chunks {
        if rest.is_empty() {
            break;
        }
        let end = rest
            .char_indices()
            .nth(chars)
            .map_or(rest.len(), |(b, _)| b);
        let (delta, tail) = rest.split_at(end);
        rest = tail;
        now += Duration::from_millis(delay_ms);
        if let Some(deadline) = planner.next_deadline()
            && deadline <= now
        {
            record(planner.poll(deadline), deadline, false);
        }
        record(planner.push(delta, now), now, false);
    }
    if !rest.is_empty() {
        record(planner.push(rest, now), now, false);
    }
    now += Duration::from_millis(1);
    record(planner.finish(now), now, true);
    log
}

/// The last text of every message, checking that messages are posted once, in order, before
/// they are edited.
fn final_texts(log: &[Logged]) -> Vec<String> {
    let mut finals: Vec<String> = Vec::new();
    for entry in log {
        match &entry.op {
            Op::Send { index, text } => {
                assert_eq!(*index, finals.len(), "messages are posted in order, once");
                finals.push(text.clone());
            }
            Op::Edit { index, text } => {
                assert!(*index < finals.len(), "edit of a message not yet posted");
                finals[*index] = text.clone();
            }
        }
    }
    finals
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

// ---------------------------------------------------------------------------------------------
// Rules, one by one.

#[test]
fn nothing_is_posted_before_visible_text() {
    let t0 = Instant::now();
    let mut planner = StreamPlanner::new(StreamPolicy::default());
    assert!(planner.push("  \n\t", t0).is_empty());
    assert_eq!(planner.next_deadline(), None);
    let ops = planner.push("Hello", t0 + SECOND * 5);
    assert_eq!(
        ops,
        vec![Op::Send {
            index: 0,
            text: "  \n\tHello".into()
        }]
    );
}

#[test]
fn blank_stream_posts_nothing_even_at_finish() {
    let t0 = Instant::now();
    let mut planner = StreamPlanner::new(StreamPolicy::default());
    assert!(planner.push(" \n ", t0).is_empty());
    assert!(planner.finish(t0).is_empty());
}

#[test]
fn edits_wait_for_the_interval_and_poll_flushes_them() {
    let t0 = Instant::now();
    let mut planner = StreamPlanner::new(StreamPolicy::default());
    assert_eq!(planner.push("The", t0).len(), 1);
    assert!(
        planner
            .push(" door", t0 + Duration::from_millis(300))
            .is_empty()
    );
    assert!(
        planner
            .push(" creaks", t0 + Duration::from_millis(600))
            .is_empty()
    );
    assert_eq!(planner.next_deadline(), Some(t0 + SECOND));
    assert!(planner.poll(t0 + Duration::from_millis(999)).is_empty());
    assert_eq!(
        planner.poll(t0 + SECOND),
        vec![Op::Edit {
            index: 0,
            text: "The door creaks".into()
        }]
    );
    assert_eq!(planner.next_deadline(), None);
    assert!(
        planner.poll(t0 + SECOND * 3).is_empty(),
        "nothing new to show"
    );
}

#[test]
fn push_after_the_interval_edits_at_once() {
    let t0 = Instant::now();
    let mut planner = StreamPlanner::new(StreamPolicy::default());
    planner.push("A", t0);
    let ops = planner.push("B", t0 + SECOND * 2);
    assert_eq!(
        ops,
        vec![Op::Edit {
            index: 0,
            text: "AB".into()
        }]
    );
}

#[test]
fn caller_can_raise_the_interval_under_load() {
    let t0 = Instant::now();
    let mut planner = StreamPlanner::new(StreamPolicy::default());
    planner.push("A", t0);
    planner.set_min_edit_interval(SECOND * 3);
    assert!(planner.push("B", t0 + SECOND * 2).is_empty());
    assert_eq!(planner.next_deadline(), Some(t0 + SECOND * 3));
    assert_eq!(planner.poll(t0 + SECOND * 3).len(), 1);
}

#[test]
fn finish_ignores_the_throttle_and_settles_every_message() {
    let t0 = Instant::now();
    let mut planner = StreamPlanner::new(StreamPolicy::default());
    planner.push("Once upon", t0);
    planner.push(" a time.", t0 + Duration::from_millis(10));
    let ops = planner.finish(t0 + Duration::from_millis(20));
    assert_eq!(
        ops,
        vec![Op::Edit {
            index: 0,
            text: "Once upon a time.".into()
        }]
    );
}

#[test]
fn finish_sends_nothing_when_messages_are_current() {
    let t0 = Instant::now();
    let mut planner = StreamPlanner::new(StreamPolicy::default());
    planner.push("Done.", t0);
    assert!(planner.finish(t0).is_empty());
}

#[test]
fn limit_counts_characters_not_bytes() {
    let text = "é".repeat(DISCORD_MESSAGE_CHARS);
    assert_eq!(
        split_message(&text, DISCORD_MESSAGE_CHARS),
        vec![text.clone()]
    );
    let longer = format!("{text}é");
    let parts = split_message(&longer, DISCORD_MESSAGE_CHARS);
    assert_eq!(parts.len(), 2);
    assert!(parts.iter().all(|p| chars(p) <= DISCORD_MESSAGE_CHARS));
    assert_eq!(parts.concat(), longer);
}

#[test]
fn splits_on_a_paragraph_before_a_later_sentence() {
    let first = format!("{}.", "word ".repeat(8).trim_end()); // 40 chars
    let second = "Then more words follow here. And more words until the limit is passed.";
    let text = format!("{first}\n\n{second}");
    let parts = split_message(&text, 64);
    assert_eq!(parts[0], format!("{first}\n\n"));
    assert_eq!(parts.concat(), text);
}

#[test]
fn splits_on_a_sentence_before_a_later_word() {
    let text = "The goblin grins and raises its blade. It lunges at you with a shriek of rage.";
    let parts = split_message(text, 64);
    assert_eq!(parts[0], "The goblin grins and raises its blade. ");
    assert_eq!(parts.concat(), text);
}

#[test]
fn splits_between_words_when_there_is_no_sentence_end() {
    let text = "the corridor stretches on and on past doors and torches and statues and more";
    let parts = split_message(text, 64);
    assert!(parts[0].ends_with(' '), "{:?}", parts[0]);
    assert!(chars(&parts[0]) <= 64);
    assert!(chars(&parts[0]) >= 32);
    assert_eq!(parts.concat(), text);
}

#[test]
fn cuts_a_single_long_word_hard() {
    let text = "x".repeat(150);
    let parts = split_message(&text, 64);
    assert_eq!(
        parts.iter().map(|p| chars(p)).collect::<Vec<_>>(),
        vec![64, 64, 22]
    );
}

#[test]
fn hard_cuts_do_not_tear_emoji_sequences() {
    let family = "👨‍👩‍👧‍👦"; // 7 chars, one grapheme
    let text = family.repeat(20);
    let parts = split_message(&text, 64);
    for part in &parts {
        assert!(chars(part) <= 64);
        assert_eq!(part.len() % family.len(), 0, "torn emoji in {part:?}");
    }
    assert_eq!(parts.concat(), text);
}

#[test]
fn moves_the_split_before_an_opening_marker() {
    let text = "The innkeeper whispers: **never open the cellar door after midnight** and leaves.";
    let parts = split_message(text, 64);
    assert_eq!(parts[0], "The innkeeper whispers: ");
    assert!(parts[1].starts_with("**never"));
    assert_eq!(parts.concat(), text);
}

#[test]
fn every_marker_pair_is_kept_whole() {
    for (open, close) in [
        ("**", "**"),
        ("*", "*"),
        ("__", "__"),
        ("_", "_"),
        ("~~", "~~"),
        ("`", "`"),
        ("||", "||"),
    ] {
        let text = format!(
            "Lead words here and there: {open}a marked phrase that crosses the cut{close} tail"
        );
        let parts = split_message(&text, 64);
        assert!(
            parts
                .iter()
                .any(|p| p.starts_with(open) && p.contains(&format!("cut{close}"))),
            "{open}: {parts:?}"
        );
        assert_eq!(parts.concat(), text);
    }
}

#[test]
fn moves_a_code_block_that_fits_into_the_next_message() {
    let text = "You find a note:\n```text\nMeet me at the old mill at dawn. Come alone.\n```\nIt is unsigned.";
    let parts = split_message(text, 64);
    assert_eq!(parts[0], "You find a note:\n");
    assert!(parts[1].starts_with("```text\n"));
    assert!(parts[1].contains("alone.\n```"));
    assert_eq!(parts.concat(), text);
}

#[test]
fn closes_and_reopens_a_code_block_too_long_for_one_message() {
    let body: String = (1..=12)
        .map(|i| format!("line {i} of the scroll\n"))
        .collect();
    let text = format!("```elvish\n{body}```");
    let parts = split_message(&text, 64);
    assert!(parts.len() > 2);
    for (i, part) in parts.iter().enumerate() {
        assert!(chars(part) <= 64);
        assert!(
            part.starts_with("```elvish\n"),
            "part {i} reopens: {part:?}"
        );
        assert!(part.ends_with("```"), "part {i} closes: {part:?}");
        assert_eq!(
            part.matches("```").count(),
            2,
            "part {i} is one whole block"
        );
    }
    // Removing the added fences gives back the text.
    let segments = split_segments(&text, 64);
    let stripped: String = segments.iter().map(|s| &text[s.source.clone()]).collect();
    assert_eq!(stripped, text);
    assert!(segments[0].close.is_some() && segments[1].reopen.as_deref() == Some("```elvish\n"));
}

#[test]
fn a_code_line_longer_than_a_message_leaves_room_for_the_closing_fence() {
    let text = format!("```\n{}\n```", "x".repeat(200));
    let parts = split_message(&text, 64);
    assert!(parts.len() >= 4);
    for part in &parts {
        assert!(chars(part) <= 64, "{} chars: {part:?}", chars(part));
        assert!(part.starts_with("```\n") && part.ends_with("```"));
    }
    assert_eq!(chars(&parts[0]), 64, "a hard cut fills the message");
}

#[test]
fn a_cut_code_block_never_leaves_an_empty_block_behind() {
    // Blocks around the size of a message, so that the window edge falls at every place near
    // the opening line and the closing fence.
    for k in 30..90 {
        let body = format!("{}\n{}\n", "x".repeat(k / 2), "y".repeat(k - k / 2));
        let text = format!("```rust\n{body}```\nThe tale goes on and on and on.");
        for part in split_message(&text, 64) {
            assert!(chars(&part) <= 64);
            assert!(
                !part.contains("```rust\n```"),
                "k={k}: empty block in {part:?}"
            );
        }
    }
}

#[test]
fn streaming_shows_a_provisional_closing_fence() {
    let t0 = Instant::now();
    let mut planner = StreamPlanner::new(StreamPolicy::default());
    let ops = planner.push("Runes:\n```\nᚠᚢᚦ", t0);
    assert_eq!(ops[0].text(), "Runes:\n```\nᚠᚢᚦ\n```");
    let ops = planner.finish(t0);
    assert_eq!(
        ops,
        vec![Op::Edit {
            index: 0,
            text: "Runes:\n```\nᚠᚢᚦ".into()
        }]
    );
}

#[test]
fn streamed_split_matches_split_message() {
    let text = "The storm breaks over the harbour. ".repeat(200);
    let log = stream(&text, &[(7, 40); 2000], StreamPolicy::default());
    let finals = final_texts(&log);
    assert_eq!(finals, split_message(&text, DISCORD_MESSAGE_CHARS));
    assert_eq!(finals.concat(), text);
    assert!(finals.len() >= 4);
}

#[test]
fn tiny_limits_are_raised_to_the_minimum() {
    let text = "a ".repeat(100);
    let parts = split_message(&text, 3);
    assert!(parts.iter().all(|p| chars(p) <= MIN_MESSAGE_CHARS));
    assert!(parts.iter().any(|p| chars(p) > 3));
}

#[test]
fn blank_text_gives_no_messages() {
    assert!(split_message("", 2000).is_empty());
    assert!(split_message(" \n\t ", 2000).is_empty());
}

#[test]
fn truncate_chars_keeps_short_text_and_marks_cuts() {
    assert_eq!(truncate_chars("short", 10), "short");
    assert_eq!(truncate_chars("exactly10!", 10), "exactly10!");
    assert_eq!(
        truncate_chars("a sentence that is too long", 10),
        "a sentenc…"
    );
    assert_eq!(truncate_chars("word     spaces", 8), "word…");
    assert_eq!(truncate_chars("anything", 0), "");
    assert_eq!(truncate_chars("ab", 1), "…");
    let family = "👨‍👩‍👧‍👦";
    let cut = truncate_chars(&format!("{family}{family}"), 10);
    assert_eq!(cut, format!("{family}…"));
    assert!(chars(&truncate_chars(&"z\u{0301}".repeat(50), 20)) <= 20);
}

#[test]
fn hostile_strings_split_into_valid_messages() {
    for text in hostile::hostile_strings() {
        for limit in [MIN_MESSAGE_CHARS, 200, DISCORD_MESSAGE_CHARS] {
            let parts = split_message(&text, limit);
            for part in &parts {
                assert!(chars(part) <= limit, "{:?}", truncate_chars(&text, 40));
                assert!(!part.trim().is_empty());
            }
            let log = stream(&text, &[(5, 300); 4000], policy(limit, SECOND));
            assert_eq!(final_texts(&log), parts);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Properties.

fn rich_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => any::<char>(),
        4 => prop::sample::select(vec![
            '*', '_', '~', '|', '`', '\\', '\n', ' ', ' ', ' ', '.', '!', '?', 'é', '\u{301}',
            '\u{200D}', '👍', 'a', 'b', 'c',
        ]),
    ]
}

fn rich_text() -> impl Strategy<Value = String> {
    prop::collection::vec(rich_char(), 0..700).prop_map(|cs| cs.into_iter().collect())
}

/// Markdown-heavy prose whose code blocks are short and which ends with visible text: the kind
/// of text a model writes, where the messages must join back into the text exactly.
fn prose() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "the",
        "dragon",
        "Élodie",
        "naïve",
        "über",
        "日本",
        "🐉",
        "👨‍👩‍👧",
        "cafe\u{301}",
        "end.",
        "what?",
        "yes!",
        "wait…",
        "\"Run!\"",
        "**bold words**",
        "*it*",
        "_under_",
        "__u__",
        "~~gone~~",
        "||secret||",
        "`code`",
        "```rust\nlet x = 1;\n```",
        "```\nplain\n```",
        "*",
        "**",
        "5 * 3",
        "snake_case",
    ]);
    let sep = prop::sample::select(vec![" ", " ", " ", "\n", "\n\n", "  "]);
    prop::collection::vec((token, sep), 0..250).prop_map(|parts| {
        let mut text: String = parts.into_iter().flat_map(|(t, s)| [t, s]).collect();
        text.push('.');
        text
    })
}

fn chunks() -> impl Strategy<Value = Vec<(usize, u64)>> {
    prop::collection::vec(
        (1usize..60, prop_oneof![Just(0u64), 0u64..400, 0u64..3000]),
        0..200,
    )
}

fn interval() -> impl Strategy<Value = Duration> {
    prop::sample::select(vec![0u64, 250, 1000, 2500]).prop_map(Duration::from_millis)
}

fn check_stream(text: &str, log: &[Logged], limit: usize, interval: Duration) {
    // (b) no message is ever over the limit.
    for entry in log {
        assert!(
            chars(entry.op.text()) <= limit,
            "op over limit: {:?}",
            entry.op
        );
        assert!(
            !entry.op.text().trim().is_empty(),
            "blank op: {:?}",
            entry.op
        );
    }
    // (c) throttled: an edit comes at least `interval` after the previous op on its message.
    let mut last: HashMap<usize, Instant> = HashMap::new();
    for entry in log {
        let index = entry.op.index();
        if let (Op::Edit { .. }, false, Some(prev)) =
            (&entry.op, entry.from_finish, last.get(&index))
        {
            assert!(
                entry.at.duration_since(*prev) >= interval,
                "edit too soon: {:?}",
                entry.op
            );
        }
        last.insert(index, entry.at);
    }
    // (d) the last op of each message carries its final text; streaming agrees with the
    // one-shot split of the whole text.
    let finals = final_texts(log);
    assert_eq!(finals, split_message(text, limit));
    // (a) the messages are the text cut in order: segment sources tile the text, dropped
    // segments are whitespace only, and fences are added only around a cut code block.
    let segments = split_segments(text, limit);
    let mut at = 0;
    let mut shown = Vec::new();
    for segment in &segments {
        assert_eq!(segment.source.start, at);
        at = segment.source.end;
        let rendered = segment.render(text);
        if rendered.trim().is_empty() {
            assert!(text[segment.source.clone()].trim().is_empty());
        } else {
            shown.push(rendered);
        }
        if let Some(reopen) = &segment.reopen {
            assert!(reopen.starts_with("```") && reopen.ends_with('\n'));
        }
        assert!(matches!(segment.close, None | Some("```") | Some("\n```")));
        if segment.is_decorated() {
            assert!(text.contains("```"));
        }
    }
    assert_eq!(at, text.len());
    assert_eq!(shown, finals);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn arbitrary_text_streams_correctly(
        text in rich_text(),
        chunks in chunks(),
        limit in 64usize..220,
        interval in interval(),
    ) {
        let log = stream(&text, &chunks, policy(limit, interval));
        check_stream(&text, &log, limit, interval);
    }

    #[test]
    fn prose_messages_join_back_exactly(
        text in prose(),
        chunks in chunks(),
        limit in 64usize..300,
        interval in interval(),
    ) {
        let log = stream(&text, &chunks, policy(limit, interval));
        check_stream(&text, &log, limit, interval);
        prop_assert_eq!(final_texts(&log).concat(), text);
    }

    #[test]
    fn split_message_respects_the_limit_for_any_string(text in any::<String>(), limit in 64usize..120) {
        for part in split_message(&text, limit) {
            prop_assert!(chars(&part) <= limit);
        }
    }

    #[test]
    fn truncate_chars_never_exceeds_max(text in rich_text(), max in 0usize..80) {
        let out = truncate_chars(&text, max);
        prop_assert!(chars(&out) <= max);
        if chars(&text) <= max {
            prop_assert_eq!(out, text);
        } else {
            prop_assert!(max == 0 || out.ends_with('…'));
        }
    }
}
