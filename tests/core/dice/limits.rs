//! Refusals and bounds: every error a player can meet, and the dice budget at roll time.

use gamemaster::core::game::dice::{DiceError, DiceExpr, MAX_DICE, ScriptedDice};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::{parse_err, total};

// ---- errors ----

#[test]
fn empty_input() {
    assert_eq!(parse_err(""), DiceError::Empty);
    assert_eq!(parse_err("  \t"), DiceError::Empty);
    assert!(parse_err("").to_string().contains("1d20+5"));
}

#[test]
fn die_size_bounds() {
    assert_eq!(parse_err("1d0"), DiceError::ZeroSides);
    assert!(parse_err("1d0").to_string().contains("d0"));
    let err = parse_err("1d10001");
    assert!(matches!(err, DiceError::TooManySides { .. }));
    assert_eq!(
        err.to_string(),
        "a d10001 has too many sides; the largest die is a d10000"
    );
    assert!(matches!(
        parse_err("1d99999999999999999999999"),
        DiceError::TooManySides { .. }
    ));
    assert!(DiceExpr::parse("d10000").is_ok());
    assert!(DiceExpr::parse("d1").is_ok());
}

#[test]
fn dice_count_bounds() {
    assert!(DiceExpr::parse("1000d6").is_ok());
    for expr in [
        "1001d6",
        "500d6+501d6",
        "(600d4, 401d4)",
        "99999999999999d6",
    ] {
        let err = parse_err(expr);
        assert_eq!(err, DiceError::TooManyDice { max: MAX_DICE }, "{expr}");
        assert!(err.to_string().contains("1000"));
    }
    assert!(matches!(
        parse_err("600d20 adv + 1d20 adv"),
        DiceError::Advantage { .. }
    ));
    assert_eq!(
        parse_err("999d4 + 1d20 adv"),
        DiceError::TooManyDice { max: MAX_DICE }
    );
}

#[test]
fn syntax_errors_say_where_and_what() {
    let err = parse_err("1d20+");
    assert_eq!(
        err,
        DiceError::Syntax {
            position: 6,
            found: "end of the expression".into(),
            expected: "a number, a die like `1d20`, `(`, `+` or `-`",
        }
    );
    let err = parse_err("1d20 x");
    assert!(
        matches!(err, DiceError::Syntax { position: 6, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("`x`"));
    assert!(matches!(parse_err("1d6e"), DiceError::Syntax { .. }));
    assert!(matches!(parse_err("4d6khx"), DiceError::Syntax { .. }));
    assert!(matches!(parse_err("2d"), DiceError::Syntax { .. }));
    assert!(matches!(parse_err("(1, 2"), DiceError::Syntax { .. }));
    assert!(matches!(parse_err("1 = 1"), DiceError::Syntax { .. }));
    assert!(matches!(parse_err("1d6 ** 2"), DiceError::Syntax { .. }));
}

#[test]
fn endless_rerolls_and_explosions_are_refused() {
    for expr in ["1d6rr<7", "1d1e1", "1d6e>0", "1d2rr1rr2", "1d4e<5"] {
        let err = parse_err(expr);
        assert!(matches!(err, DiceError::Endless { .. }), "{expr}: {err}");
        assert!(err.to_string().contains("forever"));
    }
    assert!(DiceExpr::parse("1d6rr<6").is_ok());
}

#[test]
fn selectors_that_make_no_sense_are_refused() {
    assert!(matches!(
        parse_err("1d6rrh1"),
        DiceError::InvalidSelector { .. }
    ));
    assert!(matches!(
        parse_err("1d6el1"),
        DiceError::InvalidSelector { .. }
    ));
    let err = parse_err("4d6mi<2");
    assert!(matches!(err, DiceError::InvalidSelector { .. }));
    assert!(err.to_string().contains("mi2"));
}

#[test]
fn only_keep_and_drop_apply_to_sets() {
    let err = parse_err("(1d6, 2)rr1");
    assert_eq!(err, DiceError::DiceOnlyOperator { op: "rr".into() });
    assert!(matches!(
        parse_err("(1d6)e6"),
        DiceError::DiceOnlyOperator { .. }
    ));
}

#[test]
fn numbers_must_fit() {
    assert!(matches!(
        parse_err("99999999999999999999"),
        DiceError::NumberTooLarge { .. }
    ));
    assert!(matches!(
        parse_err("4d6kh99999999999999999999"),
        DiceError::NumberTooLarge { .. }
    ));
}

#[test]
fn unclosed_annotation() {
    assert_eq!(
        parse_err("1d20 [oops"),
        DiceError::UnclosedAnnotation { position: 6 }
    );
}

#[test]
fn length_and_depth_bounds() {
    let long = format!("1{}", "+1".repeat(250));
    assert_eq!(
        parse_err(&long),
        DiceError::TooLong {
            chars: 501,
            max: 500
        }
    );
    let fits = format!("1{}", "+1".repeat(249));
    assert_eq!(total(&fits, &[]), 250);

    let deep = format!("{}1{}", "(".repeat(40), ")".repeat(40));
    assert!(matches!(parse_err(&deep), DiceError::TooDeep { .. }));
    let signs = format!("{}1", "-".repeat(40));
    assert!(matches!(parse_err(&signs), DiceError::TooDeep { .. }));
    let ok = format!("{}1{}", "(".repeat(20), ")".repeat(20));
    assert_eq!(total(&ok, &[]), 1);
}

// ---- the dice budget at roll time ----

#[test]
fn rigged_explosions_stop_at_the_bound() {
    let expr = DiceExpr::parse("1d2e2").unwrap();
    let mut always_two = ScriptedDice::always(2);
    let err = expr.roll_with(&mut always_two).unwrap_err();
    assert_eq!(err, DiceError::TooManyDice { max: MAX_DICE });
    assert_eq!(always_two.used(), MAX_DICE as usize);
}

#[test]
fn rigged_rerolls_stop_at_the_bound() {
    let expr = DiceExpr::parse("2d6rr1").unwrap();
    let mut always_one = ScriptedDice::always(1);
    assert_eq!(
        expr.roll_with(&mut always_one).unwrap_err(),
        DiceError::TooManyDice { max: MAX_DICE }
    );
    assert_eq!(always_one.used(), MAX_DICE as usize);
}

#[test]
fn thousand_exploding_dice_are_bounded() {
    let expr = DiceExpr::parse("1000d6e6").unwrap();
    assert_eq!(
        expr.roll_with(&mut ScriptedDice::new([6, 1])).unwrap_err(),
        DiceError::TooManyDice { max: MAX_DICE }
    );
    for seed in 0..20 {
        match expr.roll(&mut StdRng::seed_from_u64(seed)) {
            Ok(result) => assert!(result.rolls.len() <= MAX_DICE as usize),
            Err(err) => assert_eq!(err, DiceError::TooManyDice { max: MAX_DICE }),
        }
    }
    // Without explosions the full budget is usable.
    let result = DiceExpr::parse("1000d6")
        .unwrap()
        .roll_with(&mut ScriptedDice::always(6))
        .unwrap();
    assert_eq!(result.total, 6000);
}

/// A generator stuck on its largest output: every uniform draw lands on the top face.
struct StuckRng;

impl rand::RngCore for StuckRng {
    fn next_u32(&mut self) -> u32 {
        u32::MAX
    }
    fn next_u64(&mut self) -> u64 {
        u64::MAX
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        dst.fill(0xff);
    }
}

#[test]
fn a_stuck_random_generator_cannot_explode_forever() {
    let expr = DiceExpr::parse("1d2e2").unwrap();
    assert_eq!(
        expr.roll(&mut StuckRng).unwrap_err(),
        DiceError::TooManyDice { max: MAX_DICE }
    );
}
