//! Rolling: walks the expression, rolls every die through one budget of [`MAX_DICE`], and
//! keeps what happened to each die for the text and the report.

use std::collections::BTreeSet;

use super::render::expr_text;
use super::{
    BinaryOp, DiceError, DiceTerm, DieOrigin, DieSource, Expr, Group, MAX_DICE, OpKind, Selector,
    SelectorKind, SetOp, Term, TermKind, UnaryOp,
};

/// An expression after rolling.
pub(super) enum Rolled<'e> {
    Number {
        term: &'e Term,
        value: i64,
    },
    Dice {
        term: &'e Term,
        dice: &'e DiceTerm,
        rolled: Vec<Die>,
        total: i64,
    },
    Group {
        term: &'e Term,
        group: &'e Group,
        /// Each item with whether it was kept.
        items: Vec<(Rolled<'e>, bool)>,
        total: i64,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Rolled<'e>>,
        value: i64,
    },
    Binary {
        op: BinaryOp,
        left: Box<Rolled<'e>>,
        right: Box<Rolled<'e>>,
        value: i64,
    },
}

impl Rolled<'_> {
    pub(super) fn value(&self) -> i64 {
        match self {
            Rolled::Number { value, .. }
            | Rolled::Unary { value, .. }
            | Rolled::Binary { value, .. } => *value,
            Rolled::Dice { total, .. } | Rolled::Group { total, .. } => *total,
        }
    }
}

/// One physical die: every face it showed (earlier ones were rerolled away).
pub(super) struct Die {
    pub(super) faces: Vec<Face>,
    pub(super) kept: bool,
    pub(super) exploded: bool,
    pub(super) origin: DieOrigin,
}

impl Die {
    fn value(&self) -> i64 {
        self.faces.last().map_or(0, |face| face.value)
    }
}

pub(super) struct Face {
    pub(super) face: u32,
    /// The face after `mi`/`ma`.
    pub(super) value: i64,
}

pub(super) fn roll<'e, S: DieSource + ?Sized>(
    expr: &'e Expr,
    source: &mut S,
) -> Result<Rolled<'e>, DiceError> {
    Roller { source, rolled: 0 }.expr(expr)
}

struct Roller<'s, S: ?Sized> {
    source: &'s mut S,
    rolled: u32,
}

impl<S: DieSource + ?Sized> Roller<'_, S> {
    fn expr<'e>(&mut self, expr: &'e Expr) -> Result<Rolled<'e>, DiceError> {
        match expr {
            Expr::Term(term) => self.term(term),
            Expr::Unary { op, operand } => {
                let operand = self.expr(operand)?;
                let value = match op {
                    UnaryOp::Plus => Some(operand.value()),
                    UnaryOp::Minus => operand.value().checked_neg(),
                }
                .ok_or_else(|| overflow(expr))?;
                Ok(Rolled::Unary {
                    op: *op,
                    operand: Box::new(operand),
                    value,
                })
            }
            Expr::Binary { op, left, right } => {
                let left = self.expr(left)?;
                let right = self.expr(right)?;
                let value = apply_binary(*op, left.value(), right.value(), expr)?;
                Ok(Rolled::Binary {
                    op: *op,
                    left: Box::new(left),
                    right: Box::new(right),
                    value,
                })
            }
        }
    }

    fn term<'e>(&mut self, term: &'e Term) -> Result<Rolled<'e>, DiceError> {
        match &term.kind {
            TermKind::Number(value) => Ok(Rolled::Number {
                term,
                value: *value,
            }),
            TermKind::Dice(dice) => {
                let mut rolled = Vec::new();
                for _ in 0..dice.count {
                    rolled.push(self.new_die(dice.sides, DieOrigin::Rolled)?);
                }
                for op in &dice.ops {
                    self.dice_op(op, dice.sides, &mut rolled)?;
                }
                let total = checked_sum(rolled.iter().filter(|d| d.kept).map(Die::value))
                    .ok_or_else(|| DiceError::Overflow {
                        expression: expr_text(&Expr::Term(term.clone())),
                    })?;
                Ok(Rolled::Dice {
                    term,
                    dice,
                    rolled,
                    total,
                })
            }
            TermKind::Group(group) => {
                let mut items = Vec::with_capacity(group.items.len());
                for item in &group.items {
                    items.push((self.expr(item)?, true));
                }
                for op in &group.ops {
                    let live: Vec<(usize, i64)> = items
                        .iter()
                        .enumerate()
                        .filter(|(_, (_, kept))| *kept)
                        .map(|(i, (item, _))| (i, item.value()))
                        .collect();
                    let chosen = select_all(&op.selectors, &live);
                    for (i, _) in live {
                        let drop = match op.kind {
                            OpKind::Keep => !chosen.contains(&i),
                            OpKind::Drop => chosen.contains(&i),
                            // The parser accepts only `k` and `p` on groups.
                            _ => false,
                        };
                        if drop {
                            items[i].1 = false;
                        }
                    }
                }
                let total = checked_sum(
                    items
                        .iter()
                        .filter(|(_, kept)| *kept)
                        .map(|(item, _)| item.value()),
                )
                .ok_or_else(|| DiceError::Overflow {
                    expression: expr_text(&Expr::Term(term.clone())),
                })?;
                Ok(Rolled::Group {
                    term,
                    group,
                    items,
                    total,
                })
            }
        }
    }

    fn dice_op(&mut self, op: &SetOp, sides: u32, dice: &mut Vec<Die>) -> Result<(), DiceError> {
        match op.kind {
            OpKind::Keep => {
                let live = live(dice);
                let chosen = select_all(&op.selectors, &live);
                for (i, _) in live {
                    if !chosen.contains(&i) {
                        dice[i].kept = false;
                    }
                }
            }
            OpKind::Drop => {
                for i in select_all(&op.selectors, &live(dice)) {
                    dice[i].kept = false;
                }
            }
            OpKind::RerollForever => loop {
                // Ends when no die matches; the parser refuses selectors matching every face,
                // and the dice budget stops a source that keeps producing matches.
                let chosen = select_all(&op.selectors, &live(dice));
                if chosen.is_empty() {
                    break;
                }
                for i in chosen {
                    let face = self.face(sides)?;
                    dice[i].faces.push(face);
                }
            },
            OpKind::RerollOnce => {
                for i in select_all(&op.selectors, &live(dice)) {
                    let face = self.face(sides)?;
                    dice[i].faces.push(face);
                }
            }
            OpKind::RerollAdd => {
                if let Some(i) = select_one(&op.selectors, &live(dice)) {
                    dice[i].exploded = true;
                    let extra = self.new_die(sides, DieOrigin::Explosion)?;
                    dice.push(extra);
                }
            }
            OpKind::Explode => {
                // Faces never change while exploding, so each die is looked at once, the new
                // ones in the order they were added (the parser allows only face selectors).
                let mut i = 0;
                while i < dice.len() {
                    if dice[i].kept && face_matches(&op.selectors, dice[i].value()) {
                        dice[i].exploded = true;
                        let extra = self.new_die(sides, DieOrigin::Explosion)?;
                        dice.push(extra);
                    }
                    i += 1;
                }
            }
            OpKind::Minimum | OpKind::Maximum => {
                let Some(bound) = op.selectors.last().map(|s| s.value) else {
                    return Ok(());
                };
                for die in dice.iter_mut().filter(|d| d.kept) {
                    if let Some(face) = die.faces.last_mut() {
                        face.value = if op.kind == OpKind::Minimum {
                            face.value.max(bound)
                        } else {
                            face.value.min(bound)
                        };
                    }
                }
            }
        }
        Ok(())
    }

    fn new_die(&mut self, sides: u32, origin: DieOrigin) -> Result<Die, DiceError> {
        Ok(Die {
            faces: vec![self.face(sides)?],
            kept: true,
            exploded: false,
            origin,
        })
    }

    fn face(&mut self, sides: u32) -> Result<Face, DiceError> {
        if self.rolled >= MAX_DICE {
            return Err(DiceError::TooManyDice { max: MAX_DICE });
        }
        self.rolled += 1;
        let face = self.source.roll_die(sides).clamp(1, sides.max(1));
        Ok(Face {
            face,
            value: i64::from(face),
        })
    }
}

fn live(dice: &[Die]) -> Vec<(usize, i64)> {
    dice.iter()
        .enumerate()
        .filter(|(_, die)| die.kept)
        .map(|(i, die)| (i, die.value()))
        .collect()
}

/// Indices matched by one selector, in the order it ranks them.
fn select(selector: &Selector, live: &[(usize, i64)]) -> Vec<usize> {
    let n = usize::try_from(selector.value).unwrap_or(0);
    let ranked = |descending: bool| {
        let mut sorted = live.to_vec();
        // Stable sort: among equal values the earlier die is chosen first.
        if descending {
            sorted.sort_by_key(|&(_, value)| std::cmp::Reverse(value));
        } else {
            sorted.sort_by_key(|&(_, value)| value);
        }
        sorted.into_iter().take(n).map(|(i, _)| i).collect()
    };
    let filtered = |keep: &dyn Fn(i64) -> bool| {
        live.iter()
            .filter(|(_, value)| keep(*value))
            .map(|(i, _)| *i)
            .collect()
    };
    match selector.kind {
        SelectorKind::Highest => ranked(true),
        SelectorKind::Lowest => ranked(false),
        SelectorKind::Equal => filtered(&|v| v == selector.value),
        SelectorKind::Greater => filtered(&|v| v > selector.value),
        SelectorKind::Less => filtered(&|v| v < selector.value),
    }
}

/// The union of what several selectors match (`kh1kl1` keeps both ends).
fn select_all(selectors: &[Selector], live: &[(usize, i64)]) -> BTreeSet<usize> {
    selectors.iter().flat_map(|s| select(s, live)).collect()
}

/// Whether a value matches any of the face selectors (`6`, `>4`, `<3`).
fn face_matches(selectors: &[Selector], value: i64) -> bool {
    selectors.iter().any(|s| s.matches_face(value))
}

/// The first die the selectors match, for `ra` which adds at most one die.
fn select_one(selectors: &[Selector], live: &[(usize, i64)]) -> Option<usize> {
    selectors
        .iter()
        .find_map(|s| select(s, live).first().copied())
}

fn checked_sum(mut values: impl Iterator<Item = i64>) -> Option<i64> {
    values.try_fold(0i64, |sum, v| sum.checked_add(v))
}

fn overflow(expr: &Expr) -> DiceError {
    DiceError::Overflow {
        expression: expr_text(expr),
    }
}

fn apply_binary(op: BinaryOp, a: i64, b: i64, expr: &Expr) -> Result<i64, DiceError> {
    let zero_check = || {
        if b == 0 {
            Err(DiceError::DivisionByZero {
                expression: expr_text(expr),
            })
        } else {
            Ok(())
        }
    };
    let value = match op {
        BinaryOp::Add => a.checked_add(b),
        BinaryOp::Sub => a.checked_sub(b),
        BinaryOp::Mul => a.checked_mul(b),
        BinaryOp::Div | BinaryOp::FloorDiv => {
            zero_check()?;
            floor_div(a, b)
        }
        BinaryOp::Rem => {
            zero_check()?;
            Some(floor_rem(a, b))
        }
        BinaryOp::Eq => Some(i64::from(a == b)),
        BinaryOp::Ne => Some(i64::from(a != b)),
        BinaryOp::Lt => Some(i64::from(a < b)),
        BinaryOp::Gt => Some(i64::from(a > b)),
        BinaryOp::Le => Some(i64::from(a <= b)),
        BinaryOp::Ge => Some(i64::from(a >= b)),
    };
    value.ok_or_else(|| overflow(expr))
}

/// Division rounding towards negative infinity, like Python's `//`: `-7 // 2 == -4`.
fn floor_div(a: i64, b: i64) -> Option<i64> {
    let quotient = a.checked_div(b)?;
    if a % b != 0 && ((a < 0) != (b < 0)) {
        quotient.checked_sub(1)
    } else {
        Some(quotient)
    }
}

/// The remainder that goes with [`floor_div`]: it takes the sign of the divisor.
fn floor_rem(a: i64, b: i64) -> i64 {
    // `checked_rem` fails only for `i64::MIN % -1`, whose remainder is 0.
    let remainder = a.checked_rem(b).unwrap_or(0);
    if remainder != 0 && ((remainder < 0) != (b < 0)) {
        remainder + b
    } else {
        remainder
    }
}

#[cfg(test)]
mod tests {
    use super::{floor_div, floor_rem};

    #[test]
    fn floor_division_matches_python() {
        let cases = [
            (7, 2, 3, 1),
            (-7, 2, -4, 1),
            (7, -2, -4, -1),
            (-7, -2, 3, -1),
            (6, 3, 2, 0),
        ];
        for (a, b, quotient, remainder) in cases {
            assert_eq!(floor_div(a, b), Some(quotient), "{a} // {b}");
            assert_eq!(floor_rem(a, b), remainder, "{a} % {b}");
            assert_eq!(quotient * b + remainder, a);
        }
    }

    #[test]
    fn extreme_division_does_not_panic() {
        assert_eq!(floor_div(i64::MIN, -1), None);
        assert_eq!(floor_rem(i64::MIN, -1), 0);
        assert_eq!(floor_div(i64::MIN, 1), Some(i64::MIN));
        assert_eq!(floor_div(i64::MIN, 2), Some(i64::MIN / 2));
        assert_eq!(floor_rem(i64::MIN, i64::MAX), i64::MAX - 1);
    }
}
