//! Property tests: no input makes parsing or rolling panic, and bounds always hold.

use gamemaster::core::game::dice::{
    DiceError, DiceExpr, DieStatus, MAX_DICE, MAX_SIDES, ScriptedDice,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Parses, and when that works rolls, checking what must hold of any result.
fn exercise(input: &str, seed: u64) -> Result<(), TestCaseError> {
    let expr = match DiceExpr::parse(input) {
        Ok(expr) => expr,
        Err(err) => {
            prop_assert!(!err.to_string().is_empty());
            return Ok(());
        }
    };
    prop_assert!(expr.dice_count() <= MAX_DICE);
    let shown = expr.to_string();
    let reparsed = DiceExpr::parse(&shown);
    prop_assert_eq!(
        reparsed.as_ref(),
        Ok(&expr),
        "display `{}` of `{}`",
        shown,
        input
    );
    match expr.roll(&mut StdRng::seed_from_u64(seed)) {
        Ok(result) => {
            prop_assert!(result.rolls.len() <= MAX_DICE as usize);
            for die in &result.rolls {
                prop_assert!(die.face >= 1 && die.face <= die.sides);
                prop_assert!(die.sides <= MAX_SIDES);
            }
            let suffix = format!(" = {}", result.total);
            prop_assert!(result.text.ends_with(&suffix), "text {}", result.text);
        }
        Err(
            DiceError::DivisionByZero { .. }
            | DiceError::Overflow { .. }
            | DiceError::TooManyDice { .. },
        ) => {}
        Err(other) => prop_assert!(false, "unexpected roll error {:?} for `{}`", other, input),
    }
    Ok(())
}

fn selector() -> impl Strategy<Value = String> {
    (prop::sample::select(vec!["", "h", "l", "<", ">"]), 0u32..25)
        .prop_map(|(kind, n)| format!("{kind}{n}"))
}

fn dice() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just(String::new()), (0u32..30).prop_map(|n| n.to_string())],
        prop_oneof![Just("%".to_owned()), (0u32..30).prop_map(|n| n.to_string())],
        prop::collection::vec(
            (
                prop::sample::select(vec!["k", "p", "rr", "ro", "ra", "e", "mi", "ma"]),
                selector(),
            ),
            0..3,
        ),
        prop::sample::select(vec!["", " adv", "dis", " [fire]"]),
    )
        .prop_map(|(count, sides, ops, tail)| {
            let ops: String = ops
                .into_iter()
                .map(|(op, sel)| format!("{op}{sel}"))
                .collect();
            format!("{count}d{sides}{ops}{tail}")
        })
}

fn valid_ish() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        dice(),
        (0i64..100).prop_map(|n| n.to_string()),
        (0u32..100, "[0-9]{0,4}").prop_map(|(whole, fraction)| format!("{whole}.{fraction}")),
        "[0-9]{1,3}".prop_map(|fraction| format!(".{fraction}")),
    ];
    leaf.prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec![
                    "+", "-", "*", "/", "//", "%", "==", "!=", "<", ">", "<=", ">="
                ]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            (prop::sample::select(vec!["-", "+"]), inner.clone())
                .prop_map(|(s, e)| format!("{s}{e}")),
            (
                inner.clone(),
                prop::sample::select(vec!["", "kh1", "kl2", "p<3", "k>2", "ph1pl1"])
            )
                .prop_map(|(e, ops)| format!("({e}){ops}")),
            (
                prop::collection::vec(inner, 0..4),
                prop::sample::select(vec!["", "kh1", "pl1", "k>3"])
            )
                .prop_map(|(items, ops)| format!("({}){ops}", items.join(", "))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_strings_never_panic(input in any::<String>(), seed in any::<u64>()) {
        exercise(&input, seed)?;
    }

    #[test]
    fn dice_alphabet_soup_never_panics(
        input in "[0-9dDkKhHlLpPrRoOaAeEmMiIsSvV%()+*/<>=!,\\[\\] .-]{0,60}",
        seed in any::<u64>(),
    ) {
        exercise(&input, seed)?;
    }

    #[test]
    fn valid_ish_expressions_parse_or_fail_cleanly(input in valid_ish(), seed in any::<u64>()) {
        exercise(&input, seed)?;
    }

    #[test]
    fn plain_dice_parse_exactly_within_bounds(count in 0u32..2000, sides in 0u32..20_000) {
        let parsed = DiceExpr::parse(&format!("{count}d{sides}"));
        let in_bounds = count <= MAX_DICE && (1..=MAX_SIDES).contains(&sides);
        prop_assert_eq!(parsed.is_ok(), in_bounds, "{}d{}: {:?}", count, sides, parsed);
    }

    #[test]
    fn keep_highest_keeps_the_largest_faces(
        faces in prop::collection::vec(1u32..=20, 1..12),
        keep in 0usize..14,
    ) {
        let expr = DiceExpr::parse(&format!("{}d20kh{keep}", faces.len())).unwrap();
        let result = expr.roll_with(&mut ScriptedDice::new(faces.clone())).unwrap();
        let mut sorted = faces.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        let expected: u32 = sorted.iter().take(keep).sum();
        prop_assert_eq!(result.total, i64::from(expected));
        let kept = result.rolls.iter().filter(|r| r.status == DieStatus::Kept).count();
        prop_assert_eq!(kept, keep.min(faces.len()));
    }

    #[test]
    fn keep_and_drop_on_a_set_of_numbers_choose_like_sorting(
        items in prop::collection::vec(-50i64..50, 0..8),
        n in 0usize..10,
        threshold in 0i64..20,
    ) {
        let set = items.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        let mut descending = items.clone();
        descending.sort_unstable_by(|a, b| b.cmp(a));
        let sum = |values: &[i64]| values.iter().sum::<i64>();
        let cases = [
            (format!("({set},)kh{n}"), sum(&descending[..n.min(items.len())])),
            (format!("({set},)pl{n}"), sum(&descending[..items.len().saturating_sub(n)])),
            (
                format!("({set},)k>{threshold}"),
                items.iter().filter(|&&v| v > threshold).sum(),
            ),
            (
                format!("({set},)p<{threshold}"),
                items.iter().filter(|&&v| v >= threshold).sum(),
            ),
        ];
        for (expr, expected) in cases {
            if items.is_empty() {
                // `(,)` is not a set; `()` is the empty one.
                continue;
            }
            let result = DiceExpr::parse(&expr).unwrap().roll_with(&mut ScriptedDice::always(1));
            prop_assert_eq!(result.unwrap().total, expected, "{}", expr);
        }
    }

    #[test]
    fn parentheses_around_dice_keep_as_the_dice_would(
        faces in prop::collection::vec(1u32..=12, 1..10),
        op in prop::sample::select(vec!["kh", "kl", "ph", "pl", "k>", "p<", "k"]),
        n in 0u32..13,
    ) {
        let dice = format!("{}d12", faces.len());
        let inside = DiceExpr::parse(&format!("({dice}){op}{n}")).unwrap();
        let direct = DiceExpr::parse(&format!("{dice}{op}{n}")).unwrap();
        let a = inside.roll_with(&mut ScriptedDice::new(faces.clone())).unwrap();
        let b = direct.roll_with(&mut ScriptedDice::new(faces.clone())).unwrap();
        prop_assert_eq!(a.total, b.total);
        prop_assert_eq!(a.rolls, b.rolls);
    }

    #[test]
    fn decimal_totals_round_towards_zero(
        whole in 0i64..10_000,
        fraction in "[0-9]{1,6}",
        dice in 0u32..4,
        face in 1u32..=6,
    ) {
        let decimal = format!("{whole}.{fraction}");
        let exact: f64 = decimal.parse().unwrap();
        let dice_sum = i64::from(dice * face);
        let expr = format!("{dice}d6 + {decimal}");
        let result = DiceExpr::parse(&expr).unwrap().roll_with(&mut ScriptedDice::always(face));
        prop_assert_eq!(result.unwrap().total, dice_sum + whole);
        let negative = format!("{dice}d6 - {decimal}");
        let result = DiceExpr::parse(&negative).unwrap().roll_with(&mut ScriptedDice::always(face));
        prop_assert_eq!(result.unwrap().total, (dice_sum as f64 - exact).trunc() as i64);
    }

    #[test]
    fn decimals_display_as_the_same_number(whole in "[0-9]{0,18}", fraction in "[0-9]{0,30}") {
        let text = format!("{whole}.{fraction}");
        if let Ok(expr) = DiceExpr::parse(&text) {
            let shown = expr.to_string();
            prop_assert!(!shown.contains('e'), "{}", shown);
            prop_assert_eq!(shown.parse::<f64>().unwrap(), text.parse::<f64>().unwrap());
        }
    }

    #[test]
    fn rigged_dice_never_exceed_the_budget(face in 1u32..=6, expr in prop::sample::select(vec![
        "1d6e6", "1d6e>4", "10d6rr<3", "1d6ro1ra1e1", "500d6e>3 + 500d6rr1"
    ])) {
        let expr = DiceExpr::parse(expr).unwrap();
        let mut dice = ScriptedDice::always(face);
        match expr.roll_with(&mut dice) {
            Ok(result) => prop_assert!(result.rolls.len() <= MAX_DICE as usize),
            Err(err) => prop_assert_eq!(err, DiceError::TooManyDice { max: MAX_DICE }),
        }
        prop_assert!(dice.used() <= MAX_DICE as usize);
    }
}
