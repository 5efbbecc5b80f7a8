//! Parity with Avrae's `d20` (1.1.2) for decimals, `d%` and `k`/`p` on sets. The expected
//! texts and totals in the tables were produced by d20 itself, with its die rolls scripted to
//! the same faces (its Markdown minus the backticks around the total).

use gamemaster::core::game::dice::{DiceError, DiceExpr, DieStatus, MAX_DICE};
use gamemaster::core::game::roll_tag::find_roll_tags;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::{normalised, parse_err, roll, roll_err, total};

/// `(expression, d20's text before ` = `, d20's total)`, no dice.
const LITERALS: &[(&str, &str, i64)] = &[
    ("1.5", "1.5", 1),
    ("1.", "1.0", 1),
    (".5", "0.5", 0),
    ("1.50", "1.5", 1),
    ("2.0 + 1", "2.0 + 1", 3),
    ("1 + 0.5", "1 + 0.5", 1),
    ("3 * 1.5", "3 * 1.5", 4),
    ("7 / 2", "7 / 2", 3),
    ("-7 / 2", "-7 / 2", -3),
    ("7 / -2", "7 / -2", -3),
    ("(7 / 2) * 2", "(7 / 2) * 2", 7),
    ("10 / 3 * 3", "10 / 3 * 3", 10),
    ("1 - 2.5", "1 - 2.5", -1),
    ("-1.5", "-1.5", -1),
    ("7.5 // 2", "7.5 // 2", 3),
    ("-7.5 // 2", "-7.5 // 2", -4),
    ("7.5 % 2", "7.5 % 2", 1),
    ("-7.5 % 2", "-7.5 % 2", 0),
    ("7 % 2.5", "7 % 2.5", 2),
    ("3 // 1.5", "3 // 1.5", 2),
    ("1.5 == 1.5", "1.5 == 1.5", 1),
    ("1.5 > 1", "1.5 > 1", 1),
    ("0.1 + 0.2 == 0.3", "0.1 + 0.2 == 0.3", 0),
    ("1 / 3 + 1 / 3 + 1 / 3", "1 / 3 + 1 / 3 + 1 / 3", 1),
    ("2.5 * 2 == 5", "2.5 * 2 == 5", 1),
    ("(1.5, 2.5)kh1", "(~~1.5~~, 2.5)kh1", 2),
    ("(1.5, 2.5)kl1", "(1.5, ~~2.5~~)kl1", 1),
    ("(1.5, 2.5, 3)", "(1.5, 2.5, 3)", 7),
    ("(1, 2.5)k>2", "(~~1~~, 2.5)k>2", 2),
    ("(1, 2.5)p<2", "(~~1~~, 2.5)p<2", 2),
    ("(0.5, 0.5)k<1", "(0.5, 0.5)k<1", 1),
    ("(1, 2, 3)kh1", "(~~1~~, ~~2~~, 3)kh1", 3),
    ("(1, 2, 3)ph1", "(1, 2, ~~3~~)ph1", 3),
    ("(1, 2, 3)pl1", "(~~1~~, 2, 3)pl1", 5),
    ("(1, 2, 3)k2", "(~~1~~, 2, ~~3~~)k2", 2),
    ("(1, 2, 3)p2", "(1, ~~2~~, 3)p2", 4),
    ("(1, 2, 3)k>1", "(~~1~~, 2, 3)k>1", 5),
    ("(1, 2, 3)p<2", "(~~1~~, 2, 3)p<2", 5),
    ("(1, 2, 3)kh1kl1", "(1, ~~2~~, 3)kh1kl1", 4),
    ("(3, 1, 2)kh2", "(3, ~~1~~, 2)kh2", 5),
    ("((1, 2), (3, 4))kh1", "(~~(1, 2)~~, (3, 4))kh1", 7),
    ("((1, 2)kh1, 3)kl1", "((~~1~~, 2)kh1, ~~3~~)kl1", 2),
    ("((1, 2, 3))kh1", "((~~1~~, ~~2~~, 3))kh1", 3),
    ("(2)k1", "(~~2~~)k1", 0),
    ("(2)k2", "(2)k2", 2),
    ("(5)p5", "(~~5~~)p5", 0),
    ("(1 + 1)k2", "(1 + 1)k2", 2),
    ("(1 + 1)p2", "(~~1 + 1~~)p2", 0),
    ("(1, 2 * 3, 4 - 1)kh1", "(~~1~~, 2 * 3, ~~4 - 1~~)kh1", 6),
    ("(-1, -2)kh1", "(-1, ~~-2~~)kh1", -1),
    ("-(1, 2)kh1", "-(~~1~~, 2)kh1", -2),
    ("(1.5,)kh1", "(1.5,)kh1", 1),
    ("(1, 2, 3)kh5", "(1, 2, 3)kh5", 6),
    ("(1, 2, 3)pl0", "(1, 2, 3)pl0", 6),
    ("()kh1", "()kh1", 0),
    (
        "(1, (2, (3, 4)kl1)kh1)kh1",
        "(~~1~~, (~~2~~, (3, ~~4~~)kl1)kh1)kh1",
        3,
    ),
    ("(1 [a], 2 [b])kh1", "(~~1 [a]~~, 2 [b])kh1", 2),
    ("(7 / 2, 3)kh1", "(7 / 2, ~~3~~)kh1", 3),
    ("(1/3, 0.3)kh1", "(1 / 3, ~~0.3~~)kh1", 0),
    ("2 * (1, 2)kh1", "2 * (~~1~~, 2)kh1", 4),
    ("(1, 2)kh1 * 1.5", "(~~1~~, 2)kh1 * 1.5", 3),
];

/// `(expression, faces, d20's text before ` = `, d20's total)`.
const WITH_DICE: &[(&str, &[u32], &str, i64)] = &[
    ("(4d6)kh3", &[3, 4, 4, 5], "(4d6 (~~3~~, 4, 4, 5))kh3", 13),
    ("(1d20, 1d20)kh1", &[6, 9], "(~~1d20 (6)~~, 1d20 (9))kh1", 9),
    ("(1d20, 1d20)kl1", &[6, 9], "(1d20 (6), ~~1d20 (9)~~)kl1", 6),
    (
        "(4d6, 3d8)kl1",
        &[1, 2, 2, 3, 4, 2, 6],
        "(4d6 (**1**, 2, 2, 3), ~~3d8 (4, 2, 6)~~)kl1",
        8,
    ),
    (
        "(4d6, 3d8)kh1",
        &[1, 2, 2, 3, 4, 2, 6],
        "(~~4d6 (**1**, 2, 2, 3)~~, 3d8 (4, 2, 6))kh1",
        12,
    ),
    (
        "((4d6))kh1",
        &[3, 1, 3, 5],
        "((4d6 (~~3~~, ~~**1**~~, ~~3~~, 5)))kh1",
        5,
    ),
    (
        "(4d6kh3)kh1",
        &[3, 5, 4, 4],
        "(4d6kh3 (~~3~~, 5, ~~4~~, ~~4~~))kh1",
        5,
    ),
    (
        "(-4d6)kh1",
        &[3, 1, 3, 4],
        "(-4d6 (3, **1**, 3, 4))kh1",
        -11,
    ),
    (
        "(4d6 [fire])kh1",
        &[3, 6, 2, 1],
        "(4d6 (~~3~~, **6**, ~~2~~, ~~**1**~~) [fire])kh1",
        6,
    ),
    ("(1d20,)kh1", &[6], "(1d20 (6),)kh1", 6),
    (
        "(1d4 + 1, 2d6 * 1.5)kh1",
        &[1, 6, 5],
        "(~~1d4 (**1**) + 1~~, 2d6 (**6**, 5) * 1.5)kh1",
        16,
    ),
    ("(2d6)p<3", &[1, 5], "(2d6 (~~**1**~~, 5))p<3", 5),
    ("(3d6)k>4", &[2, 5, 6], "(3d6 (~~2~~, 5, **6**))k>4", 11),
    (
        "(1d20, 1d20)kh1 + 5",
        &[12, 17],
        "(~~1d20 (12)~~, 1d20 (17))kh1 + 5",
        22,
    ),
    ("2d6 * 1.5", &[3, 4], "2d6 (3, 4) * 1.5", 10),
    ("1d20 + 0.5", &[12], "1d20 (12) + 0.5", 12),
    ("1d6 / 2", &[5], "1d6 (5) / 2", 2),
    ("(2d20)kh1kl1", &[4, 9], "(2d20 (4, 9))kh1kl1", 13),
    (
        "(1d6, 1d6, 1d6)ph1",
        &[2, 6, 6],
        "(1d6 (2), ~~1d6 (**6**)~~, 1d6 (**6**))ph1",
        8,
    ),
    (
        "(2d6, 1d4)kh1 * 2",
        &[3, 4, 4],
        "(2d6 (3, 4), ~~1d4 (**4**)~~)kh1 * 2",
        14,
    ),
    ("(1d8 + 2, 3)kh1", &[8], "(1d8 (**8**) + 2, ~~3~~)kh1", 10),
    ("(1d6e6)kh1", &[6, 2], "(1d6e6 (**6!**, ~~2~~))kh1", 6),
    ("4d6 / 4", &[1, 2, 3, 3], "4d6 (**1**, 2, 3, 3) / 4", 2),
    ("(1d4, 1d4)k2", &[2, 3], "(1d4 (2), ~~1d4 (3)~~)k2", 2),
];

#[test]
fn literal_expressions_match_d20() {
    for &(expr, text, expected) in LITERALS {
        let result = roll(expr, &[]);
        assert_eq!(result.text, format!("{text} = {expected}"), "{expr}");
        assert_eq!(result.total, expected, "{expr}");
    }
}

#[test]
fn scripted_dice_match_d20() {
    for &(expr, faces, text, expected) in WITH_DICE {
        let result = roll(expr, faces);
        assert_eq!(result.text, format!("{text} = {expected}"), "{expr}");
        assert_eq!(result.total, expected, "{expr}");
    }
}

// ---- decimals ----

#[test]
fn decimals_normalise_and_round_trip() {
    assert_eq!(normalised("1.50"), "1.5");
    assert_eq!(normalised("2."), "2.0");
    assert_eq!(normalised(".5"), "0.5");
    assert_eq!(normalised("2d6*1.5"), "2d6 * 1.5");
    assert_eq!(normalised("0.000001"), "0.000001", "never in exponent form");
    for expr in ["1.5", "2d6 * 1.5", "(1.25, 0.1)kh1", "1d20 + 0.5 [bless]"] {
        let parsed = DiceExpr::parse(expr).unwrap();
        assert_eq!(DiceExpr::parse(&parsed.to_string()), Ok(parsed), "{expr}");
    }
}

#[test]
fn decimal_totals_round_towards_zero() {
    assert_eq!(total("2d6 * 1.5", &[3, 4]), 10, "10.5");
    assert_eq!(total("2d6 * 1.5", &[3, 5]), 12, "exactly 12");
    assert_eq!(
        total("1d4 - 2.5", &[1]),
        -1,
        "-1.5 goes to -1, as d20 shows it"
    );
    assert_eq!(total("1d20 + 0.5", &[20]), 20);
    assert_eq!(total("0.5 + 0.5", &[]), 1);
}

#[test]
fn binary_float_noise_does_not_cost_a_point() {
    // d20 says 0 here: in binary floating point the product is 0.9999999999999998.
    assert_eq!(total("(1 - 0.9) * 10", &[]), 1);
    assert_eq!(total("0.1 * 3 * 10", &[]), 3);
    assert_eq!(
        total("0.999 * 1", &[]),
        0,
        "a real fraction still rounds down"
    );
}

#[test]
fn counts_sizes_and_selectors_stay_whole() {
    let cases = [
        ("1.5d6", "a dice count", "1.5"),
        ("2.d6", "a dice count", "2."),
        ("2d6.5", "a die size", "6.5"),
        ("4d6kh1.5", "a selector", "1.5"),
        ("1d6mi1.5", "a selector", "1.5"),
        ("(1, 2)kh1.5", "a selector", "1.5"),
    ];
    for (expr, what, number) in cases {
        let err = parse_err(expr);
        assert_eq!(
            err,
            DiceError::NotWhole {
                what,
                number: number.into()
            },
            "{expr}"
        );
        assert_eq!(
            err.to_string(),
            format!("{what} must be a whole number, not `{number}`")
        );
    }
}

#[test]
fn hostile_decimals_are_refused_clearly() {
    let err = parse_err("1e309");
    assert!(
        matches!(err, DiceError::Syntax { position: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("`e`"));
    assert!(matches!(parse_err("1.5e3"), DiceError::Syntax { .. }));
    assert!(matches!(parse_err("1..5"), DiceError::Syntax { .. }));
    assert!(matches!(parse_err("."), DiceError::Syntax { .. }));
    assert!(matches!(parse_err("1.5.5"), DiceError::Syntax { .. }));

    let huge = format!("{}.5", "9".repeat(300));
    let err = parse_err(&huge);
    assert!(matches!(err, DiceError::NumberTooLarge { .. }), "{err}");
    assert!(err.to_string().contains("too large"));
    assert!(matches!(
        parse_err("9223372036854775808.0"),
        DiceError::NumberTooLarge { .. }
    ));
    assert!(DiceExpr::parse("9223372036854775807.0").is_ok());

    // A long fraction is only precision: it parses, and its tiny value is 0.
    let tiny = format!("0.{}1", "0".repeat(480));
    assert_eq!(total(&tiny, &[]), 0);
    let long = format!("1.{}", "5".repeat(490));
    assert_eq!(total(&long, &[]), 1);
}

#[test]
fn float_overflow_and_division_by_zero_are_errors() {
    for expr in [
        "9223372036854775807.0 * 2",
        "1.5 * 9223372036854775807",
        &format!("1.5{}", " * 999999999999999999.0".repeat(20)),
        "-9223372036854775807.0 * 2",
    ] {
        let err = roll_err(expr, &[]);
        assert!(matches!(err, DiceError::Overflow { .. }), "{expr}: {err}");
        assert!(err.to_string().contains("too large"));
    }
    for expr in [
        "1 / 0.0",
        "1.5 / 0",
        "1.5 // 0",
        "7.5 % 0.0",
        "1d6 / (0.5 - 0.5)",
    ] {
        let err = roll_err(expr, &[3]);
        assert!(
            matches!(err, DiceError::DivisionByZero { .. }),
            "{expr}: {err}"
        );
    }
}

// ---- percentile dice ----

#[test]
fn percentile_dice_parse_roll_and_render() {
    assert_eq!(roll("1d%", &[100]).text, "1d% (**100**) = 100");
    assert_eq!(roll("d%", &[1]).text, "1d% (**1**) = 1");
    let result = roll("2d%kh1", &[10, 50]);
    assert_eq!(result.text, "2d%kh1 (~~10~~, 50) = 50");
    assert_eq!(result.rolls[0].status, DieStatus::Dropped);
    assert_eq!(normalised("2D%KH1"), "2d%kh1");
    assert_eq!(normalised("d% + 1d100"), "1d% + 1d100");
    assert_eq!(total("1d% % 7", &[50]), 1, "`%` after `d%` is modulo");
    assert!(matches!(parse_err("1d%%"), DiceError::Syntax { .. }));
}

#[test]
fn percentile_dice_stay_between_1_and_100() {
    for expr in ["1d%", "d%", "2d%kh1", "(1d%, 1d%)kl1"] {
        let parsed = DiceExpr::parse(expr).unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..5_000 {
            let result = parsed.roll(&mut rng).unwrap();
            assert!(
                (1..=100).contains(&result.total),
                "{expr}: {}",
                result.total
            );
            seen.insert(result.total);
        }
        assert!(seen.contains(&100), "{expr} should reach 100");
        assert!(seen.len() > 90, "{expr}: {} totals", seen.len());
    }
}

#[test]
fn percentile_roll_tags() {
    let tags = find_roll_tags("The lever [[roll 1d%]] or [[roll d% luck]] decides.");
    assert_eq!(tags.len(), 2);
    assert_eq!(tags[0].expr.to_string(), "1d%");
    assert_eq!(tags[1].label, "luck");
    let tags = find_roll_tags("[[roll 2d6*1.5 fire damage]] then [[roll 1d20+3. Then run]]");
    assert_eq!(tags[0].expr.to_string(), "2d6 * 1.5");
    assert_eq!(tags[0].label, "fire damage");
    assert_eq!(
        tags[1].expr.to_string(),
        "1d20 + 3",
        "a full stop is not a decimal point"
    );
    assert_eq!(tags[1].label, "Then run");
}

// ---- keep and drop on sets ----

#[test]
fn sets_of_dice_mark_the_dropped_dice() {
    let result = roll("(1d20, 1d20)kh1", &[6, 9]);
    let statuses: Vec<_> = result.rolls.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [DieStatus::Dropped, DieStatus::Kept]);

    // Parentheses around dice reach into them: three of the four dice are kept.
    let result = roll("(4d6)kh3", &[3, 4, 4, 5]);
    let statuses: Vec<_> = result.rolls.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            DieStatus::Dropped,
            DieStatus::Kept,
            DieStatus::Kept,
            DieStatus::Kept
        ]
    );
    assert_eq!(
        total("(4d6)kh3", &[3, 4, 4, 5]),
        total("4d6kh3", &[3, 4, 4, 5])
    );
}

#[test]
fn set_bounds_hold_for_the_new_forms() {
    let cases = [
        ("(1d20, 1d20)kh1", 1, 20),
        ("(4d6, 3d8)kl1", 3, 24),
        ("(4d6)kh3", 3, 18),
        ("2d6 * 1.5", 3, 18),
        ("(1d4 + 0.5, 1d6 / 2)kh1", 1, 4),
    ];
    let mut rng = StdRng::seed_from_u64(3);
    for (expr, low, high) in cases {
        let parsed = DiceExpr::parse(expr).unwrap();
        for _ in 0..2_000 {
            let result = parsed.roll(&mut rng).unwrap();
            assert!(
                (low..=high).contains(&result.total),
                "{expr}: {}",
                result.total
            );
        }
    }
}

#[test]
fn d_for_drop_points_to_p() {
    for (expr, op) in [
        ("(1, 2, 3)dh1", "dh1"),
        ("4d6dl1", "dl1"),
        ("4d6kh3DL12", "dl12"),
    ] {
        let err = parse_err(expr);
        assert_eq!(err, DiceError::DropIsP { op: op.into() }, "{expr}");
        assert!(err.to_string().contains("drop with `p`"), "{err}");
    }
}

#[test]
fn dice_only_operations_are_still_refused_on_sets() {
    for expr in ["(1d20, 1d20)rr1", "(2d6)e6", "(4d6)mi2", "((1d6))ro1"] {
        assert!(
            matches!(parse_err(expr), DiceError::DiceOnlyOperator { .. }),
            "{expr}"
        );
    }
}

#[test]
fn hostile_sets_are_bounded() {
    let deep_sets = format!("{}1{}", "(1, ".repeat(40), ")kh1".repeat(40));
    assert!(matches!(parse_err(&deep_sets), DiceError::TooDeep { .. }));
    let opens = "(".repeat(450);
    assert!(matches!(parse_err(&opens), DiceError::TooDeep { .. }));
    let nested = format!("{}1d20{}", "(".repeat(20), ")kh1".repeat(20));
    assert_eq!(total(&nested, &[13]), 13);
    assert_eq!(
        parse_err("(600d6, 401d6)kh1"),
        DiceError::TooManyDice { max: MAX_DICE }
    );
    let many = format!("({})kh1", vec!["1d20"; 120].join(","));
    assert!(matches!(parse_err(&many), DiceError::TooLong { .. }));
}
