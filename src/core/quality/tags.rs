//! Roll tags the bot could not use as the game master meant them.
//!
//! The engine rolls `[[roll EXPR LABEL DC N]]` (see `core::game::roll_tag`). A tag counts as an
//! error here when the engine refuses it (bad dice, too many tags) and also when it is
//! well-formed for the parser but wrong for the game: a tag left open, a translated tag word
//! (`[[jet ...]]`, `[[tirada ...]]`, `[[wurf ...]]`), single brackets, a translated
//! difficulty (`DD 13`, `CD 13`, `SG 13`) the engine reads as label text, a DC outside the
//! rules' 1..=30, or a DC the dice cannot reach.

use crate::core::game::dice::{DiceExpr, DieSource};
use crate::core::game::roll_tag::{RollTag, replace_roll_tags, scan_roll_tags};
use crate::core::sheet::{displayed, scan_state_tags};

/// The highest DC of the fifth-edition rules ("nearly impossible").
pub const MAX_DC: i64 = 30;

/// Why a tag is counted as an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagIssue {
    /// The engine refused the tag (its reason).
    Refused(String),
    /// `[[roll ...` without its closing `]]`.
    Unclosed,
    /// `[[word ...]]` where the word is not `roll`.
    UnknownWord(String),
    /// `[roll ...]`: one bracket, so nothing is rolled.
    SingleBracket,
    /// A difficulty written in another language's abbreviation (`DD`, `CD`, `SG`).
    TranslatedDc(String),
    /// A DC below 1 or above [`MAX_DC`].
    DcOutOfRange(i64),
    /// A DC above the best total the dice can make.
    UnreachableDc { dc: i64, best: i64 },
}

/// Every problem with the roll tags of `text`, in order of kind.
pub fn tag_issues(text: &str) -> Vec<TagIssue> {
    let scan = scan_roll_tags(text);
    let mut issues: Vec<TagIssue> = scan
        .errors
        .iter()
        .map(|e| TagIssue::Refused(e.problem.to_string()))
        .collect();
    issues.extend(scan.tags.iter().filter_map(tag_issue));
    // State tags (`[[hp Mira -5]]`) the engine refused count too.
    let state = scan_state_tags(text);
    issues.extend(
        state
            .errors
            .iter()
            .map(|e| TagIssue::Refused(e.problem.clone())),
    );
    // What is left once every tag the parsers recognised is taken out.
    let rest = replace_roll_tags(text, |_| " ".to_string());
    issues.extend(leftovers(&displayed(&rest)));
    issues
}

/// The number of tag errors in `text`.
pub fn tag_errors(text: &str) -> u32 {
    tag_issues(text).len() as u32
}

fn tag_issue(tag: &RollTag) -> Option<TagIssue> {
    if let Some(word) = translated_dc(&tag.label) {
        return Some(TagIssue::TranslatedDc(word));
    }
    let dc = tag.dc?;
    if !(1..=MAX_DC).contains(&dc) {
        return Some(TagIssue::DcOutOfRange(dc));
    }
    let best = best_total(&tag.expr)?;
    (dc > best).then_some(TagIssue::UnreachableDc { dc, best })
}

/// `DD 13` (French), `CD 13` (Spanish), `SG 13` / `SW 13` (German) in a label.
fn translated_dc(label: &str) -> Option<String> {
    let words: Vec<&str> = label.split_whitespace().collect();
    words.windows(2).find_map(|pair| {
        let abbreviation = pair[0].trim_end_matches(':');
        let known = ["dd", "cd", "sg", "sw"]
            .iter()
            .any(|a| abbreviation.eq_ignore_ascii_case(a));
        let number = pair[1].chars().all(|c| c.is_ascii_digit()) && !pair[1].is_empty();
        (known && number).then(|| format!("{} {}", pair[0], pair[1]))
    })
}

/// Every die on its highest face, and every die on its lowest (a subtracted die is best
/// low): the larger total bounds what the expression reaches in practice.
fn best_total(expr: &DiceExpr) -> Option<i64> {
    struct Face(bool);
    impl DieSource for Face {
        fn roll_die(&mut self, sides: u32) -> u32 {
            if self.0 { sides } else { 1 }
        }
    }
    let high = expr.roll_with(&mut Face(true)).ok()?.total;
    let low = expr.roll_with(&mut Face(false)).ok()?.total;
    Some(high.max(low))
}

/// Tag-like text the parser did not take as a tag.
fn leftovers(rest: &str) -> Vec<TagIssue> {
    let mut issues = Vec::new();
    let mut from = 0;
    while let Some(offset) = rest[from..].find('[') {
        let start = from + offset;
        let double = rest[start..].starts_with("[[");
        let inner_start = start + if double { 2 } else { 1 };
        let inner = &rest[inner_start..];
        let word: String = inner
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphabetic())
            .collect();
        let closing = if double { "]]" } else { "]" };
        let closed = inner
            .find(closing)
            .is_some_and(|end| !inner[..end].contains('\n'));
        let looks_like_roll = word.eq_ignore_ascii_case("roll");
        let has_dice = inner
            .split(closing)
            .next()
            .is_some_and(|body| body.contains(|c: char| c.is_ascii_digit()));
        match (double, looks_like_roll, closed) {
            (true, true, _) => issues.push(TagIssue::Unclosed),
            (true, false, true) if !word.is_empty() && has_dice => {
                issues.push(TagIssue::UnknownWord(word));
            }
            (false, true, true) => issues.push(TagIssue::SingleBracket),
            _ => {}
        }
        from = inner_start;
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_tags_in_any_language_are_fine() {
        for text in [
            "Mira, the bushes rustle. [[roll 1d20+3 Perception DC 13]]",
            "Mira, les buissons bruissent. [[roll 1d20+3 Perception DC 13]]",
            "Brak, ¡ataca! [[roll 1d20+5 Ataque]] y luego [[roll 1d8+3 daño]]",
            "Keine Probe nötig, die Tür ist offen.",
        ] {
            assert_eq!(tag_issues(text), Vec::new(), "{text}");
        }
    }

    #[test]
    fn broken_tags_are_counted_with_their_reason() {
        let cases: [(&str, TagIssue); 8] = [
            (
                "Roll it: [[roll 1d20+3 Perception DC 13",
                TagIssue::Unclosed,
            ),
            (
                "Fais un jet : [[jet 1d20+3 Perception DD 13]]",
                TagIssue::UnknownWord("jet".into()),
            ),
            (
                "Haz una tirada: [[tirada 1d20+2 Sigilo CD 12]]",
                TagIssue::UnknownWord("tirada".into()),
            ),
            (
                "Würfle: [[wurf 1d20+1 Wahrnehmung SG 12]]",
                TagIssue::UnknownWord("wurf".into()),
            ),
            (
                "Lance [[roll 1d20+3 Perception DD 13]] maintenant.",
                TagIssue::TranslatedDc("DD 13".into()),
            ),
            (
                "Try [roll 1d20+3 Athletics DC 12].",
                TagIssue::SingleBracket,
            ),
            (
                "A mighty leap: [[roll 1d20+2 Athletics DC 45]]",
                TagIssue::DcOutOfRange(45),
            ),
            (
                "Spot it: [[roll 1d4 Perception DC 12]]",
                TagIssue::UnreachableDc { dc: 12, best: 4 },
            ),
        ];
        for (text, issue) in cases {
            assert_eq!(tag_issues(text), vec![issue], "{text}");
        }
    }

    #[test]
    fn refused_dice_and_extra_tags_count_too() {
        let refused = tag_issues("[[roll 1d0 Perception]]");
        assert!(
            matches!(refused.as_slice(), [TagIssue::Refused(_)]),
            "{refused:?}"
        );
        let six = "[[roll 1d20]] ".repeat(6);
        assert_eq!(tag_errors(&six), 1, "the sixth is not rolled");
        assert_eq!(
            tag_errors("[[roll 1d20+3 Stealth DC 15]] [[tirada 2d6]]"),
            1
        );
    }

    #[test]
    fn brackets_in_prose_are_not_tags() {
        assert_eq!(
            tag_errors("The sign reads [closed] and [[ nothing ]] else."),
            0
        );
        assert_eq!(tag_errors("Notes [1] and [2]."), 0);
    }
}
