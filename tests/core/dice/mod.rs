use gamemaster::core::game::dice::{
    DiceError, DiceExpr, DieOrigin, DieStatus, RollResult, ScriptedDice,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

mod d20_parity;
mod limits;

/// Rolls `expr` with dice showing exactly `faces`, in order.
fn roll(expr: &str, faces: &[u32]) -> RollResult {
    let parsed = DiceExpr::parse(expr).unwrap_or_else(|e| panic!("{expr} should parse: {e}"));
    parsed
        .roll_with(&mut ScriptedDice::new(faces.iter().copied()))
        .unwrap_or_else(|e| panic!("{expr} should roll: {e}"))
}

fn total(expr: &str, faces: &[u32]) -> i64 {
    roll(expr, faces).total
}

fn parse_err(expr: &str) -> DiceError {
    DiceExpr::parse(expr).expect_err(expr)
}

fn roll_err(expr: &str, faces: &[u32]) -> DiceError {
    DiceExpr::parse(expr)
        .unwrap_or_else(|e| panic!("{expr} should parse: {e}"))
        .roll_with(&mut ScriptedDice::new(faces.iter().copied()))
        .expect_err(expr)
}

fn normalised(expr: &str) -> String {
    DiceExpr::parse(expr).unwrap().to_string()
}

// ---- dice ----

#[test]
fn plain_dice_sum_every_face() {
    let result = roll("3d6", &[2, 3, 4]);
    assert_eq!(result.total, 9);
    assert_eq!(result.text, "3d6 (2, 3, 4) = 9");
    assert_eq!(result.rolls.len(), 3);
    assert!(
        result
            .rolls
            .iter()
            .all(|r| r.sides == 6 && r.status == DieStatus::Kept && r.origin == DieOrigin::Rolled)
    );
}

#[test]
fn a_die_without_count_is_one_die() {
    let result = roll("d20", &[20]);
    assert_eq!(result.total, 20);
    assert_eq!(result.text, "1d20 (**20**) = 20");
}

#[test]
fn percentile_die_is_d100() {
    let result = roll("d%", &[57]);
    assert_eq!(result.total, 57);
    assert_eq!(result.rolls[0].sides, 100);
    assert_eq!(result.text, "1d% (57) = 57");
    assert_eq!(normalised("2d%"), "2d%");
    assert_eq!(normalised("2d100"), "2d100");
}

#[test]
fn ones_and_maximum_faces_are_bold() {
    assert_eq!(roll("2d8", &[1, 8]).text, "2d8 (**1**, **8**) = 9");
}

#[test]
fn zero_dice_total_zero() {
    let result = roll("0d6+2", &[]);
    assert_eq!(result.total, 2);
    assert!(result.rolls.is_empty());
}

// ---- keep and drop ----

#[test]
fn keep_highest_strikes_the_dropped_die() {
    let result = roll("4d6kh3", &[5, 3, 1, 6]);
    assert_eq!(result.total, 14);
    assert_eq!(result.text, "4d6kh3 (5, 3, ~~**1**~~, **6**) = 14");
    let statuses: Vec<_> = result.rolls.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            DieStatus::Kept,
            DieStatus::Kept,
            DieStatus::Dropped,
            DieStatus::Kept
        ]
    );
}

#[test]
fn keep_lowest() {
    assert_eq!(total("2d20kl1", &[15, 4]), 4);
}

#[test]
fn keep_exact_value_greater_and_less() {
    assert_eq!(total("4d6k3", &[3, 3, 2, 5]), 6);
    assert_eq!(total("4d6k>3", &[4, 2, 6, 1]), 10);
    assert_eq!(total("4d6k<3", &[4, 2, 6, 1]), 3);
}

#[test]
fn drop_less_than() {
    assert_eq!(total("8d6p<3", &[1, 2, 3, 4, 5, 6, 1, 2]), 18);
}

#[test]
fn drop_highest_and_lowest() {
    assert_eq!(total("3d6ph1", &[6, 2, 4]), 6);
    assert_eq!(total("3d6pl1", &[6, 2, 4]), 10);
}

#[test]
fn consecutive_keeps_unite_their_selections() {
    assert_eq!(total("4d6kh1kl1", &[3, 6, 1, 4]), 7);
    assert_eq!(normalised("4d6kh1kl1"), "4d6kh1kl1");
}

#[test]
fn keep_more_than_rolled_keeps_all() {
    assert_eq!(total("2d6kh5", &[2, 3]), 5);
}

#[test]
fn keep_ties_keep_the_earlier_die() {
    let result = roll("3d6kh1", &[4, 4, 2]);
    assert_eq!(result.total, 4);
    assert_eq!(result.rolls[0].status, DieStatus::Kept);
    assert_eq!(result.rolls[1].status, DieStatus::Dropped);
}

// ---- rerolls ----

#[test]
fn reroll_forever_until_no_match() {
    let result = roll("1d6rr1", &[1, 1, 4]);
    assert_eq!(result.total, 4);
    assert_eq!(result.text, "1d6rr1 (~~**1**~~, ~~**1**~~, 4) = 4");
    let statuses: Vec<_> = result.rolls.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [DieStatus::Rerolled, DieStatus::Rerolled, DieStatus::Kept]
    );
    let origins: Vec<_> = result.rolls.iter().map(|r| r.origin).collect();
    assert_eq!(
        origins,
        [DieOrigin::Rolled, DieOrigin::Reroll, DieOrigin::Reroll]
    );
}

#[test]
fn reroll_forever_with_several_selectors() {
    assert_eq!(total("1d6rr1rr2", &[1, 2, 1, 5]), 5);
}

#[test]
fn reroll_once_keeps_the_second_face_even_if_it_matches() {
    assert_eq!(total("1d6ro1", &[1, 1]), 1);
    assert_eq!(total("2d6ro<3", &[1, 5, 2]), 7);
}

#[test]
fn reroll_and_add_adds_one_die_once() {
    let result = roll("2d6ra6", &[6, 6, 3]);
    assert_eq!(result.total, 15);
    assert_eq!(result.rolls.len(), 3);
    assert!(result.rolls[0].exploded);
    assert!(!result.rolls[1].exploded);
    assert_eq!(result.rolls[2].origin, DieOrigin::Explosion);
}

// ---- explosions ----

#[test]
fn explode_rolls_again_for_every_match_including_new_dice() {
    let result = roll("4d6e6", &[6, 2, 6, 3, 6, 1, 4]);
    assert_eq!(result.total, 28);
    assert_eq!(
        result.text,
        "4d6e6 (**6!**, 2, **6!**, 3, **6!**, **1**, 4) = 28"
    );
    assert_eq!(
        result
            .rolls
            .iter()
            .filter(|r| r.origin == DieOrigin::Explosion)
            .count(),
        3
    );
}

#[test]
fn explode_greater_than() {
    assert_eq!(total("1d6e>5", &[6, 5]), 11);
    assert_eq!(total("1d6e>4", &[5, 6, 2]), 13);
}

// ---- minimum and maximum ----

#[test]
fn minimum_raises_low_faces() {
    let result = roll("4d6mi2", &[1, 3, 1, 6]);
    assert_eq!(result.total, 13);
    assert_eq!(
        result.text,
        "4d6mi2 (**1 -> 2**, 3, **1 -> 2**, **6**) = 13"
    );
    assert_eq!(result.rolls[0].face, 1);
    assert_eq!(result.rolls[0].value, 2);
}

#[test]
fn maximum_lowers_high_faces() {
    assert_eq!(total("2d20ma10", &[15, 4]), 14);
}

// ---- sets and groups ----

#[test]
fn set_keeps_the_highest_element() {
    let result = roll("(1d4, 2, 3d6)kh1", &[3, 1, 2, 6]);
    assert_eq!(result.total, 9);
    assert_eq!(
        result.text,
        "(~~1d4 (3)~~, ~~2~~, 3d6 (**1**, 2, **6**))kh1 = 9"
    );
    assert_eq!(result.rolls[0].status, DieStatus::Dropped);
    assert_eq!(result.rolls[1].status, DieStatus::Kept);
}

#[test]
fn set_without_operations_sums_elements() {
    assert_eq!(total("(1, 2, 3)", &[]), 6);
    assert_eq!(total("()", &[]), 0);
    assert_eq!(total("(5, 1, 3)pl1", &[]), 8);
    assert_eq!(normalised("(1,)"), "(1,)");
    assert_eq!(normalised("( 1 , 2 , )"), "(1, 2)");
}

#[test]
fn dropped_set_items_are_not_struck_twice() {
    let text = roll("(4d6kh3, 1)kl1", &[5, 3, 1, 6]).text;
    assert_eq!(text, "(~~4d6kh3 (5, 3, **1**, **6**)~~, 1)kl1 = 1");
}

#[test]
fn parentheses_group_arithmetic() {
    let result = roll("(1d4+2)*2", &[3]);
    assert_eq!(result.total, 10);
    assert_eq!(result.text, "(1d4 (3) + 2) * 2 = 10");
}

// ---- arithmetic ----

#[test]
fn addition_and_subtraction() {
    assert_eq!(total("1d20+5", &[12]), 17);
    assert_eq!(total("1d20 - 2", &[12]), 10);
}

#[test]
fn multiplication_binds_tighter() {
    assert_eq!(total("10-3*2", &[]), 4);
    assert_eq!(total("2*(3+4)", &[]), 14);
    assert_eq!(total("1+2*3-4", &[]), 3);
}

#[test]
fn division_is_exact_and_floor_division_floors() {
    assert_eq!(total("7/2", &[]), 3);
    assert_eq!(
        total("-7/2", &[]),
        -3,
        "-3.5, rounded towards zero like d20"
    );
    assert_eq!(
        total("(7/2)*2", &[]),
        7,
        "the half survives until the total"
    );
    assert_eq!(total("7//2", &[]), 3);
    assert_eq!(total("-7//2", &[]), -4);
    assert_eq!(total("7/-2", &[]), -3);
    assert_eq!(total("-8/2", &[]), -4);
    assert_eq!(normalised("7//2"), "7 // 2");
}

#[test]
fn modulo_takes_the_divisor_sign() {
    assert_eq!(total("7 % 3", &[]), 1);
    assert_eq!(total("-7 % 3", &[]), 2);
    assert_eq!(total("7 % -3", &[]), -2);
    assert_eq!(total("-9223372036854775807 - 1 % -1", &[]), i64::MIN + 1);
}

#[test]
fn division_by_zero_is_an_error() {
    let err = roll_err("1d6/0", &[3]);
    assert_eq!(
        err,
        DiceError::DivisionByZero {
            expression: "1d6 / 0".into()
        }
    );
    assert_eq!(err.to_string(), "division by zero in `1d6 / 0`");
    assert!(matches!(
        roll_err("5 % (1d1 - 1)", &[1]),
        DiceError::DivisionByZero { .. }
    ));
    assert!(matches!(
        roll_err("5 // 0", &[]),
        DiceError::DivisionByZero { .. }
    ));
}

#[test]
fn overflow_is_an_error_not_a_panic() {
    for expr in [
        "9223372036854775807 + 1",
        "-9223372036854775807 - 2",
        "9223372036854775807 * 2",
        "(-9223372036854775807 - 1) / -1",
        "-(-9223372036854775807 - 1)",
        "2d6mi9223372036854775807",
        "(9223372036854775807, 1)",
    ] {
        let err = roll_err(expr, &[1]);
        assert!(matches!(err, DiceError::Overflow { .. }), "{expr}: {err}");
        assert!(err.to_string().contains("too large"), "{expr}");
    }
}

#[test]
fn comparisons_give_one_or_zero() {
    assert_eq!(total("3 == 3", &[]), 1);
    assert_eq!(total("3 != 3", &[]), 0);
    assert_eq!(total("1d20 >= 10", &[10]), 1);
    assert_eq!(total("1d20 >= 10", &[9]), 0);
    assert_eq!(total("2 < 1", &[]), 0);
    assert_eq!(total("2 > 1", &[]), 1);
    assert_eq!(total("2 <= 2", &[]), 1);
    assert_eq!(total("1 + 1 == 2", &[]), 1);
}

#[test]
fn unary_signs() {
    let result = roll("-1d4", &[3]);
    assert_eq!(result.total, -3);
    assert_eq!(result.text, "-1d4 (3) = -3");
    assert_eq!(total("+3", &[]), 3);
    assert_eq!(total("--3", &[]), 3);
    assert_eq!(total("2 - -1", &[]), 3);
}

#[test]
fn annotations_follow_any_term() {
    let result = roll("1d8 [slashing] + 3 [str]", &[5]);
    assert_eq!(result.total, 8);
    assert_eq!(result.text, "1d8 (5) [slashing] + 3 [str] = 8");
    assert_eq!(
        normalised("(1d6+1)[Fire Damage]"),
        "(1d6 + 1) [Fire Damage]"
    );
    assert_eq!(normalised("2[a][b]"), "2 [a] [b]");
}

// ---- advantage ----

#[test]
fn advantage_word_rolls_two_and_keeps_the_highest() {
    let result = roll("1d20 adv", &[5, 17]);
    assert_eq!(result.total, 17);
    assert_eq!(result.text, "2d20kh1 (~~5~~, 17) = 17");
    assert_eq!(normalised("1d20 adv"), "2d20kh1");
    assert_eq!(normalised("1d20ADV"), "2d20kh1");
    assert_eq!(normalised("d20 advantage"), "2d20kh1");
}

#[test]
fn disadvantage_word_keeps_the_lowest() {
    assert_eq!(total("1d20 dis", &[5, 17]), 5);
    assert_eq!(normalised("1d20dis"), "2d20kl1");
    assert_eq!(normalised("1d20 disadvantage"), "2d20kl1");
}

#[test]
fn trailing_advantage_applies_to_the_first_d20() {
    assert_eq!(total("1d20+5 adv", &[3, 18]), 23);
    assert_eq!(normalised("1d4 + 1d20 + 5 dis"), "1d4 + 2d20kl1 + 5");
}

#[test]
fn advantage_inside_a_longer_expression() {
    let result = roll("4d6kh3+1d20adv+5", &[5, 3, 1, 6, 2, 19]);
    assert_eq!(result.total, 14 + 19 + 5);
    assert_eq!(normalised("4d6kh3+1d20adv+5"), "4d6kh3 + 2d20kh1 + 5");
    assert_eq!(result.rolls[4].term, 1);
}

#[test]
fn explicit_advantage_notation() {
    assert_eq!(total("2d20kh1", &[5, 17]), 17);
    assert_eq!(total("2d20kl1", &[5, 17]), 5);
}

#[test]
fn advantage_needs_a_single_die() {
    let err = parse_err("2d6 adv");
    assert!(matches!(err, DiceError::Advantage { .. }), "{err}");
    assert!(err.to_string().contains("1d20 adv"));
    let err = parse_err("1d6 + 5 adv");
    assert!(err.to_string().contains("no `1d20`"), "{err}");
    assert!(matches!(
        parse_err("1d20kh1 adv"),
        DiceError::Advantage { .. }
    ));
}

// ---- syntax liberties ----

#[test]
fn case_and_whitespace_do_not_matter() {
    assert_eq!(total("4D6KH3", &[5, 3, 1, 6]), 14);
    assert_eq!(total("  4d6kh3   +\t2 ", &[5, 3, 1, 6]), 16);
    assert_eq!(total("4d6 kh3", &[5, 3, 1, 6]), 14);
    assert_eq!(normalised("D20 +4D6KH3"), "1d20 + 4d6kh3");
}

#[test]
fn display_round_trips() {
    for expr in [
        "4d6kh3+1d20adv+5",
        "(1d4, 2, 3d6)kh1 [best]",
        "-(1d6rr1ro2e6mi2ma5) // 2 % 3 >= 1",
        "8d6p<3 * +2",
        "(1,)",
        "()k1",
        "1d6ra>4kl1",
    ] {
        let once = normalised(expr);
        assert_eq!(normalised(&once), once, "{expr}");
        assert_eq!(
            DiceExpr::parse(&once).unwrap(),
            DiceExpr::parse(expr).unwrap()
        );
    }
}

#[test]
fn from_str_parses() {
    let expr: DiceExpr = "2d6+1".parse().unwrap();
    assert_eq!(expr.to_string(), "2d6 + 1");
    assert_eq!(expr.dice_count(), 2);
}

// ---- randomness ----

#[test]
fn seeded_rolls_repeat_and_stay_in_range() {
    let expr = DiceExpr::parse("4d6kh3").unwrap();
    let a = expr.roll(&mut StdRng::seed_from_u64(42)).unwrap();
    let b = expr.roll(&mut StdRng::seed_from_u64(42)).unwrap();
    assert_eq!(a, b);
    let mut rng = StdRng::seed_from_u64(1);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..20_000 {
        let result = expr.roll(&mut rng).unwrap();
        assert!((3..=18).contains(&result.total));
        seen.insert(result.total);
    }
    assert_eq!(seen.len(), 16, "every total from 3 to 18 should appear");
}

// ---- reports ----

#[test]
fn json_report_has_expression_total_rolls_and_text() {
    let result = roll("1d20+1d4", &[20, 1]);
    let json = result.to_json("1d20+1d4");
    assert_eq!(json["expression"], "1d20+1d4");
    assert_eq!(json["total"], 21);
    assert_eq!(json["text"], "1d20 (**20**) + 1d4 (**1**) = 21");
    assert_eq!(json["rolls"][0]["sides"], 20);
    assert_eq!(json["rolls"][0]["status"], "kept");
    assert_eq!(json["rolls"][0]["origin"], "rolled");
    assert_eq!(json["rolls"][1]["term"], 1);
    let report = serde_json::to_value(result.report("1d20+1d4")).unwrap();
    assert_eq!(report, json);
}

#[test]
fn error_messages_are_sentences_for_players() {
    let messages = [
        parse_err("1d0").to_string(),
        parse_err("1d6rr<7").to_string(),
        parse_err("(1, 2)e1").to_string(),
        roll_err("1/0", &[]).to_string(),
    ];
    assert_eq!(
        messages,
        [
            "a die needs at least one side: `d0` cannot be rolled",
            "`rr<7` would go on forever on a d6 because every face matches; match only some faces, like `1d6rr1` or `4d6e6`",
            "`e` works on dice only; a set like `(1d4, 3)` accepts only `k` and `p`",
            "division by zero in `1 / 0`",
        ]
    );
}
