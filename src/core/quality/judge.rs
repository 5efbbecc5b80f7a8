//! The optional judge: a model that scores each narration 1..=10 against the rubric in
//! `prompts/judge/rubric.md`, or picks the better of two narrations of one turn
//! (`prompts/judge/pairwise.md`). This module builds the judge's requests and reads its
//! answers; calling the judge is the caller's business.
//!
//! An answer is read leniently (Markdown emphasis, `7/10`, any case), but a score outside
//! 1..=10 or an answer without one is never guessed: the score stays empty and the reason
//! says what the judge wrote instead.

use crate::core::game::language::Language;
use crate::core::game::prompt::{TemplateError, render};
use crate::core::models::chat::{ChatMessage, ChatRequest, Role};
use crate::core::stats::bradley_terry::Outcome;

pub const RUBRIC: &str = include_str!("../../../prompts/judge/rubric.md");
pub const PAIRWISE: &str = include_str!("../../../prompts/judge/pairwise.md");
/// Paths of the judge's prompt files, for `run.json`.
pub const RUBRIC_PATH: &str = "prompts/judge/rubric.md";
pub const PAIRWISE_PATH: &str = "prompts/judge/pairwise.md";

/// The judge answers in two short lines.
pub const JUDGE_MAX_TOKENS: u32 = 160;
/// A judge should be as repeatable as the provider allows.
pub const JUDGE_TEMPERATURE: f32 = 0.0;
/// A reason is one line of at most this many characters.
pub const MAX_REASON_CHARS: usize = 200;

/// The user turn of each request: the answer format again, last, where small judges look.
const SCORE_ASK: &str =
    "Score the narration now, in two lines:\nSCORE: <1 to 10>\nREASON: <one sentence>";
const PAIRWISE_ASK: &str =
    "Judge the two narrations now, in two lines:\nWINNER: <A, B or TIE>\nREASON: <one sentence>";

/// What the judge is shown of a turn.
#[derive(Debug, Clone, Copy)]
pub struct JudgeTurn<'a> {
    pub language: Language,
    /// The story before the narration, as a transcript; empty for the opening scene.
    pub story: &'a str,
    /// The players' messages the narration answers (or the opening instruction).
    pub action: &'a str,
}

fn or_none(text: &str) -> &str {
    if text.trim().is_empty() {
        "(nothing yet)"
    } else {
        text
    }
}

fn request(system: String, ask: &str) -> ChatRequest {
    ChatRequest {
        system,
        messages: vec![ChatMessage {
            role: Role::User,
            content: ask.to_string(),
        }],
        max_tokens: JUDGE_MAX_TOKENS,
        temperature: Some(JUDGE_TEMPERATURE),
        state_tool: false,
    }
}

/// The request that scores one narration.
pub fn score_request(turn: &JudgeTurn<'_>, narration: &str) -> Result<ChatRequest, TemplateError> {
    let system = render(
        RUBRIC,
        &[
            ("language_name", turn.language.name()),
            ("story", or_none(turn.story)),
            ("action", or_none(turn.action)),
            ("narration", narration),
        ],
    )?;
    Ok(request(system, SCORE_ASK))
}

/// The request that compares two narrations of the same turn, `a` shown first.
pub fn pairwise_request(
    turn: &JudgeTurn<'_>,
    a: &str,
    b: &str,
) -> Result<ChatRequest, TemplateError> {
    let system = render(
        PAIRWISE,
        &[
            ("language_name", turn.language.name()),
            ("action", or_none(turn.action)),
            ("narration_a", a),
            ("narration_b", b),
        ],
    )?;
    Ok(request(system, PAIRWISE_ASK))
}

/// A judge's score: `score` is None when the judge failed or answered out of format, and
/// `reason` then says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub score: Option<u8>,
    pub reason: String,
}

impl Verdict {
    /// The judge could not be asked or did not answer.
    pub fn failed(why: &str) -> Verdict {
        Verdict {
            score: None,
            reason: one_line(&format!("judge failed: {why}")),
        }
    }
}

/// A pairwise decision; `outcome` is None when the answer was out of format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preference {
    pub outcome: Option<Outcome>,
    pub reason: String,
}

/// Collapses whitespace to one line and cuts it at [`MAX_REASON_CHARS`].
pub fn one_line(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= MAX_REASON_CHARS {
        return line;
    }
    let cut: String = line.chars().take(MAX_REASON_CHARS - 1).collect();
    format!("{cut}…")
}

/// Lines of the answer without Markdown emphasis or headings, trimmed, non-empty.
fn plain_lines(answer: &str) -> Vec<String> {
    answer
        .lines()
        .map(|l| {
            l.replace(['*', '_', '`'], "")
                .trim_start_matches('#')
                .trim()
                .to_string()
        })
        .filter(|l| !l.is_empty())
        .collect()
}

/// The text after `key:` (any case; `=` or `-` also do) on the first line that starts with
/// it. Without a separator only a number counts (`SCORE 7`), so prose that merely begins
/// with the word ("Score the narration...", a judge echoing the rubric) is not a field.
fn field(lines: &[String], key: &str) -> Option<String> {
    lines.iter().find_map(|line| {
        let head = line.get(..key.len())?;
        if !head.eq_ignore_ascii_case(key) {
            return None;
        }
        let rest = line[key.len()..].trim_start();
        match rest.strip_prefix([':', '=', '-']) {
            Some(value) => Some(value.trim().to_string()),
            None if rest.starts_with(|c: char| c.is_ascii_digit()) => Some(rest.trim().to_string()),
            None => None,
        }
    })
}

fn reason_of(lines: &[String]) -> String {
    field(lines, "reason")
        .filter(|r| !r.is_empty())
        .map_or_else(
            || "(the judge gave no reason)".to_string(),
            |r| one_line(&r),
        )
}

fn out_of_format(answer: &str, expected: &str) -> String {
    let shown = if answer.trim().is_empty() {
        "an empty answer".to_string()
    } else {
        format!("\"{}\"", one_line(answer))
    };
    one_line(&format!("out of format (expected {expected}): {shown}"))
}

/// Reads `SCORE: 7` / `REASON: ...` from the judge's answer.
pub fn parse_score(answer: &str) -> Verdict {
    let lines = plain_lines(answer);
    let Some(raw) = field(&lines, "score") else {
        return Verdict {
            score: None,
            reason: out_of_format(answer, "SCORE: 1 to 10"),
        };
    };
    // `7`, `7/10`, `7.`: the leading whole number.
    let digits: String = raw.chars().take_while(char::is_ascii_digit).collect();
    let decimal = raw[digits.len()..].starts_with(['.', ','])
        && raw[digits.len() + 1..].starts_with(|c: char| c.is_ascii_digit());
    match digits.parse::<u8>() {
        Ok(score) if (1..=10).contains(&score) && !decimal => Verdict {
            score: Some(score),
            reason: reason_of(&lines),
        },
        _ => Verdict {
            score: None,
            reason: one_line(&format!(
                "out of format (expected SCORE: 1 to 10): the score was \"{raw}\""
            )),
        },
    }
}

/// Reads `WINNER: A|B|TIE` / `REASON: ...` from the judge's answer.
pub fn parse_preference(answer: &str) -> Preference {
    let lines = plain_lines(answer);
    let winner = field(&lines, "winner").map(|w| {
        w.trim_matches(|c: char| !c.is_alphanumeric())
            .to_ascii_lowercase()
    });
    let outcome = match winner.as_deref() {
        Some("a" | "narration a") => Some(Outcome::AWins),
        Some("b" | "narration b") => Some(Outcome::BWins),
        Some("tie" | "draw" | "equal") => Some(Outcome::Tie),
        _ => None,
    };
    Preference {
        outcome,
        reason: match outcome {
            Some(_) => reason_of(&lines),
            None => out_of_format(answer, "WINNER: A, B or TIE"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_requests_hold_the_turn_and_the_rubric() {
        let turn = JudgeTurn {
            language: Language::Fr,
            story: "",
            action: "Mira (played by player1): J'ouvre la porte.",
        };
        let r = score_request(&turn, "La porte grince.").unwrap();
        assert!(r.system.contains("Français") && r.system.contains("J'ouvre la porte."));
        assert!(r.system.contains("(nothing yet)") && r.system.contains("La porte grince."));
        assert!(r.system.contains("Player agency"));
        assert_eq!(r.temperature, Some(0.0));
        let p = pairwise_request(&turn, "Texte A", "Texte B").unwrap();
        let (a, b) = (
            p.system.find("Texte A").unwrap(),
            p.system.find("Texte B").unwrap(),
        );
        assert!(a < b);
    }

    #[test]
    fn scores_are_read_leniently() {
        for (answer, score) in [
            ("SCORE: 7\nREASON: Coherent and fair.", 7),
            ("**Score:** 8/10\n**Reason:** Good use of dice.", 8),
            ("score = 10\nreason - great", 10),
            (
                "Here you go.\nSCORE: 1\nREASON: Talks about being an AI.",
                1,
            ),
        ] {
            let verdict = parse_score(answer);
            assert_eq!(verdict.score, Some(score), "{answer}");
            assert!(!verdict.reason.is_empty());
        }
        assert_eq!(parse_score("SCORE: 6").reason, "(the judge gave no reason)");
    }

    #[test]
    fn out_of_format_answers_leave_the_score_empty_and_say_why() {
        let echoed = parse_score("Score the narration from 1 (unusable) to 10 (excellent).");
        assert_eq!(echoed.score, None);
        assert!(
            echoed.reason.contains("Score the narration"),
            "{}",
            echoed.reason
        );
        assert_eq!(parse_score("SCORE 6").score, Some(6));
        let none = parse_score("This narration is quite good overall.");
        assert_eq!(none.score, None);
        assert!(none.reason.starts_with("out of format"), "{}", none.reason);
        assert!(none.reason.contains("quite good"));
        for bad in [
            "SCORE: 11\nREASON: x",
            "SCORE: 0",
            "SCORE: seven",
            "SCORE: 7.5",
        ] {
            let verdict = parse_score(bad);
            assert_eq!(verdict.score, None, "{bad}");
            assert!(
                verdict.reason.contains("the score was"),
                "{}",
                verdict.reason
            );
        }
        assert!(parse_score("").reason.contains("an empty answer"));
        let failed = Verdict::failed("the model server answered 500");
        assert_eq!(failed.score, None);
        assert_eq!(failed.reason, "judge failed: the model server answered 500");
    }

    #[test]
    fn preferences_are_read_or_refused() {
        assert_eq!(
            parse_preference("WINNER: A\nREASON: r").outcome,
            Some(Outcome::AWins)
        );
        assert_eq!(
            parse_preference("**Winner:** B.").outcome,
            Some(Outcome::BWins)
        );
        assert_eq!(parse_preference("winner: tie").outcome, Some(Outcome::Tie));
        let bad = parse_preference("Both are fine.");
        assert_eq!(bad.outcome, None);
        assert!(bad.reason.starts_with("out of format"));
    }

    #[test]
    fn reasons_stay_on_one_short_line() {
        let long = format!("REASON: {}\nmore", "word ".repeat(100));
        let verdict = parse_score(&format!("SCORE: 5\n{long}"));
        assert!(verdict.reason.chars().count() <= MAX_REASON_CHARS);
        assert!(!verdict.reason.contains('\n'));
    }
}
