use gamemaster::core::game::dice::{DiceError, ScriptedDice};
use gamemaster::core::game::roll_tag::{
    MAX_ROLL_TAGS, RollTagProblem, find_roll_tags, replace_roll_tags, scan_roll_tags,
    strip_roll_tags,
};

#[test]
fn full_tag_gives_expression_label_and_dc() {
    let text = "A creak upstairs. [[roll 1d20+3 Perception DC 13]]";
    let tags = find_roll_tags(text);
    assert_eq!(tags.len(), 1);
    let tag = &tags[0];
    assert_eq!(tag.expr.to_string(), "1d20 + 3");
    assert_eq!(tag.label, "Perception");
    assert_eq!(tag.dc, Some(13));
    assert_eq!(&text[tag.span.clone()], "[[roll 1d20+3 Perception DC 13]]");
    let rolled = tag.expr.roll_with(&mut ScriptedDice::always(10)).unwrap();
    assert_eq!(rolled.total, 13);
    assert_eq!(tag.meets_dc(rolled.total), Some(true));
    assert_eq!(tag.meets_dc(12), Some(false));
}

#[test]
fn case_spacing_and_missing_parts_are_tolerated() {
    let cases = [
        ("[[Roll 2d6]]", "2d6", "", None),
        ("[[ROLL d20]]", "1d20", "", None),
        (
            "[[  roll   1d20   Stealth   DC13  ]]",
            "1d20",
            "Stealth",
            Some(13),
        ),
        (
            "[[roll: 1d20 + 5 Athletics dc 15]]",
            "1d20 + 5",
            "Athletics",
            Some(15),
        ),
        ("[[roll 1d20 DC 10]]", "1d20", "", Some(10)),
        (
            "[[roll 1d20-1 Stealth vs DC 12]]",
            "1d20 - 1",
            "Stealth",
            Some(12),
        ),
        (
            "[[roll 1d20 adv Perception (DC 15)]]",
            "2d20kh1",
            "Perception",
            Some(15),
        ),
        (
            "[[roll 1d20 Dexterity saving throw, DC 14]]",
            "1d20",
            "Dexterity saving throw",
            Some(14),
        ),
        ("[[roll 1d20 Endurance]]", "1d20", "Endurance", None),
        ("[[roll 1d20 Perception]]", "1d20", "Perception", None),
        ("[[roll 1d20 Dispel Magic]]", "1d20", "Dispel Magic", None),
        ("[[roll 1d20 Keen Mind]]", "1d20", "Keen Mind", None),
        ("[[roll 1d20 - Stealth]]", "1d20", "Stealth", None),
        ("[[roll 2d6 fire damage]]", "2d6", "fire damage", None),
        (
            "[[roll 1d8 [slashing] + 3 damage]]",
            "1d8 [slashing] + 3",
            "damage",
            None,
        ),
        ("[[roll 1d20 DCs are hard]]", "1d20", "DCs are hard", None),
    ];
    for (text, expr, label, dc) in cases {
        let tags = find_roll_tags(text);
        assert_eq!(tags.len(), 1, "{text}");
        assert_eq!(tags[0].expr.to_string(), expr, "{text}");
        assert_eq!(tags[0].label, label, "{text}");
        assert_eq!(tags[0].dc, dc, "{text}");
        assert_eq!(tags[0].span, 0..text.len(), "{text}");
    }
}

#[test]
fn invalid_expressions_are_reported_with_the_reason() {
    let scan = scan_roll_tags("Try [[roll 1d0 Perception]] and [[roll]] and [[roll 1d20]].");
    assert_eq!(scan.tags.len(), 1);
    assert_eq!(scan.tags[0].expr.to_string(), "1d20");
    assert_eq!(scan.errors.len(), 2);
    assert_eq!(scan.errors[0].body, "1d0 Perception");
    assert_eq!(
        scan.errors[0].problem,
        RollTagProblem::Dice(DiceError::ZeroSides)
    );
    assert_eq!(
        scan.errors[1].problem,
        RollTagProblem::Dice(DiceError::Empty)
    );
    assert!(scan.errors[0].to_string().contains("d0"));
    let scan = scan_roll_tags("[[roll Perception]]");
    assert!(scan.tags.is_empty());
    assert!(matches!(
        scan.errors[0].problem,
        RollTagProblem::Dice(DiceError::Syntax { .. })
    ));
}

#[test]
fn only_the_first_tags_are_honoured() {
    let text: String = (1..=7).map(|i| format!("[[roll 1d{i}]] ")).collect();
    let scan = scan_roll_tags(&text);
    assert_eq!(scan.tags.len(), MAX_ROLL_TAGS);
    assert_eq!(scan.tags[4].expr.to_string(), "1d5");
    assert_eq!(scan.errors.len(), 2);
    assert!(
        scan.errors
            .iter()
            .all(|e| e.problem == RollTagProblem::TooMany { max: MAX_ROLL_TAGS })
    );
    assert_eq!(find_roll_tags(&text).len(), MAX_ROLL_TAGS);
}

#[test]
fn things_that_are_not_tags() {
    for text in [
        "[[rollover 1d20]]",
        "[[roll 1d20",
        "[roll 1d20]",
        "[[dice 1d20]]",
        "plain text",
        "",
    ] {
        let scan = scan_roll_tags(text);
        assert!(scan.tags.is_empty() && scan.errors.is_empty(), "{text}");
        assert_eq!(strip_roll_tags(text), text);
    }
}

#[test]
fn an_unclosed_tag_does_not_hide_the_next_one() {
    let text = "[[roll 1d4 [[roll 1d6]] after";
    let tags = find_roll_tags(text);
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].expr.to_string(), "1d6");
    assert_eq!(&text[tags[0].span.clone()], "[[roll 1d6]]");
}

#[test]
fn annotation_at_the_end_of_a_tag() {
    let tags = find_roll_tags("[[roll 1d8 [slashing]]] rest");
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].expr.to_string(), "1d8 [slashing]");
}

#[test]
fn strip_removes_tags_and_the_space_they_leave() {
    assert_eq!(
        strip_roll_tags("You hear a noise. [[roll 1d20+3 Perception DC 13]] The door creaks."),
        "You hear a noise. The door creaks."
    );
    assert_eq!(strip_roll_tags("Roll it [[roll 1d20]]."), "Roll it.");
    assert_eq!(strip_roll_tags("[[roll 1d20]] Go."), " Go.");
    assert_eq!(
        strip_roll_tags("Élodie [[roll d6]] ☃ [[roll 1d0]] fin"),
        "Élodie ☃ fin"
    );
}

#[test]
fn replace_hands_each_span_to_the_caller() {
    let text = "Attack [[roll 1d20+5 to hit]] then [[roll 2d6 damage]]!";
    let tags = find_roll_tags(text);
    let replaced = replace_roll_tags(text, |span| {
        let tag = tags.iter().find(|t| t.span == span).expect("known tag");
        format!("({})", tag.label)
    });
    assert_eq!(replaced, "Attack (to hit) then (damage)!");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn scanning_any_text_never_panics(text in any::<String>()) {
            let scan = scan_roll_tags(&text);
            for tag in &scan.tags {
                prop_assert!(text.get(tag.span.clone()).is_some());
            }
            let stripped = strip_roll_tags(&text);
            prop_assert!(stripped.len() <= text.len());
        }

        #[test]
        fn scanning_tag_like_text_never_panics(
            text in "([\\[\\] ]|roll|ROLL|:|dc|DC|[0-9]|d|k|h|\\+|-|é| |x){0,80}"
        ) {
            let scan = scan_roll_tags(&text);
            prop_assert!(scan.tags.len() <= MAX_ROLL_TAGS);
            for tag in &scan.tags {
                prop_assert!(text[tag.span.clone()].starts_with("[["));
                prop_assert!(text[tag.span.clone()].ends_with("]]"));
            }
            let _ = strip_roll_tags(&text);
        }
    }
}

#[test]
fn outcome_text_names_the_roll_and_the_verdict() {
    let tag = &find_roll_tags("[[roll 1d20+3 Perception DC 13]]")[0];
    let success = tag.expr.roll_with(&mut ScriptedDice::always(12)).unwrap();
    assert_eq!(
        tag.outcome_text(&success),
        "Perception: 1d20 (12) + 3 = 15 (DC 13, success)"
    );
    let failure = tag.expr.roll_with(&mut ScriptedDice::always(9)).unwrap();
    assert_eq!(
        tag.outcome_text(&failure),
        "Perception: 1d20 (9) + 3 = 12 (DC 13, failure)"
    );
    let bare = &find_roll_tags("[[roll 2d6]]")[0];
    let result = bare.expr.roll_with(&mut ScriptedDice::new([2, 5])).unwrap();
    assert_eq!(bare.outcome_text(&result), "2d6 (2, 5) = 7");
}
