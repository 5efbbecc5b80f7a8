//! Rolling: walks the expression, rolls every die through one budget of [`MAX_DICE`], and
//! keeps what happened to each die for the text and the report.

use std::collections::BTreeSet;

use super::render::expr_text;
use super::value::{self, Failure, Value};
use super::{
    BinaryOp, DiceError, DiceTerm, DieOrigin, DieSource, Expr, Group, MAX_DICE, OpKind, Selector,
    SelectorKind, SetOp, Term, TermKind, UnaryOp,
};

/// An expression after rolling.
pub(super) enum Rolled<'e> {
    Number {
        term: &'e Term,
        value: Value,
    },
    Dice {
        term: &'e Term,
        dice: &'e DiceTerm,
        rolled: Vec<Die>,
        total: Value,
    },
    Group {
        term: &'e Term,
        group: &'e Group,
        /// Each item with whether it was kept.
        items: Vec<(Rolled<'e>, bool)>,
        total: Value,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Rolled<'e>>,
        value: Value,
    },
    Binary {
        op: BinaryOp,
        left: Box<Rolled<'e>>,
        right: Box<Rolled<'e>>,
        value: Value,
    },
}

impl Rolled<'_> {
    pub(super) fn value(&self) -> Value {
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

/// Rolls `expr`, with its whole-number total.
pub(super) fn roll<'e, S: DieSource + ?Sized>(
    expr: &'e Expr,
    source: &mut S,
) -> Result<(Rolled<'e>, i64), DiceError> {
    let rolled = Roller { source, rolled: 0 }.expr(expr)?;
    let total = rolled.value().total().ok_or_else(|| overflow(expr))?;
    Ok((rolled, total))
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
                    UnaryOp::Plus => Ok(operand.value()),
                    UnaryOp::Minus => operand.value().negate(),
                }
                .map_err(|failure| failed(failure, expr))?;
                Ok(Rolled::Unary {
                    op: *op,
                    operand: Box::new(operand),
                    value,
                })
            }
            Expr::Binary { op, left, right } => {
                let left = self.expr(left)?;
                let right = self.expr(right)?;
                let value = value::binary(*op, left.value(), right.value())
                    .map_err(|failure| failed(failure, expr))?;
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
                value: Value::Int(*value),
            }),
            TermKind::Decimal(value) => Ok(Rolled::Number {
                term,
                value: Value::Float(value.get()),
            }),
            TermKind::Dice(dice) => {
                let mut rolled = Vec::new();
                for _ in 0..dice.count {
                    rolled.push(self.new_die(dice.sides, DieOrigin::Rolled)?);
                }
                for op in &dice.ops {
                    self.dice_op(op, dice.sides, &mut rolled)?;
                }
                let total = dice_total(term, &rolled)?;
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
                    group_op(op, group, &mut items)?;
                }
                let total = items_total(term, &items)?;
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
            OpKind::Keep | OpKind::Drop => {
                keep_or_drop(op, &live(dice), |i| dice[i].kept = false);
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

/// `k`/`p` on a group. Around a single thing, `(4d6)kh3` or `((1, 2, 3))kh1`, d20 applies them
/// to that thing's dice or items, so the totals on the way down are summed again.
fn group_op(op: &SetOp, group: &Group, items: &mut [(Rolled<'_>, bool)]) -> Result<(), DiceError> {
    if group.is_parenthetical() {
        match &mut items[0].0 {
            Rolled::Dice {
                term,
                rolled,
                total,
                ..
            } => {
                keep_or_drop(op, &live(rolled), |i| rolled[i].kept = false);
                *total = dice_total(term, rolled)?;
                return Ok(());
            }
            Rolled::Group {
                term,
                group: inner,
                items: inner_items,
                total,
            } => {
                group_op(op, inner, inner_items)?;
                *total = items_total(term, inner_items)?;
                return Ok(());
            }
            // A number or arithmetic is a set of itself, kept or dropped whole.
            _ => {}
        }
    }
    let live: Vec<(usize, Value)> = items
        .iter()
        .enumerate()
        .filter(|(_, (_, kept))| *kept)
        .map(|(i, (item, _))| (i, item.value()))
        .collect();
    keep_or_drop(op, &live, |i| items[i].1 = false);
    Ok(())
}

/// `k` drops whatever its selectors do not match, `p` what they match.
fn keep_or_drop(op: &SetOp, live: &[(usize, Value)], mut drop: impl FnMut(usize)) {
    let chosen = select_all(&op.selectors, live);
    for &(i, _) in live {
        let dropped = match op.kind {
            OpKind::Keep => !chosen.contains(&i),
            OpKind::Drop => chosen.contains(&i),
            // The parser accepts only `k` and `p` on groups; other dice operations go elsewhere.
            _ => false,
        };
        if dropped {
            drop(i);
        }
    }
}

fn dice_total(term: &Term, dice: &[Die]) -> Result<Value, DiceError> {
    sum(
        dice.iter()
            .filter(|d| d.kept)
            .map(|d| Value::Int(d.value())),
        term,
    )
}

fn items_total(term: &Term, items: &[(Rolled<'_>, bool)]) -> Result<Value, DiceError> {
    let kept = items.iter().filter(|(_, kept)| *kept);
    sum(kept.map(|(item, _)| item.value()), term)
}

fn sum(mut values: impl Iterator<Item = Value>, term: &Term) -> Result<Value, DiceError> {
    values
        .try_fold(Value::Int(0), Value::add)
        .map_err(|failure| failed(failure, &Expr::Term(term.clone())))
}

fn live(dice: &[Die]) -> Vec<(usize, Value)> {
    dice.iter()
        .enumerate()
        .filter(|(_, die)| die.kept)
        .map(|(i, die)| (i, Value::Int(die.value())))
        .collect()
}

/// Indices matched by one selector, in the order it ranks them.
fn select(selector: &Selector, live: &[(usize, Value)]) -> Vec<usize> {
    let n = usize::try_from(selector.value).unwrap_or(0);
    let ranked = |descending: bool| {
        let mut sorted = live.to_vec();
        // Stable sort: among equal values the earlier die is chosen first.
        if descending {
            sorted.sort_by(|(_, a), (_, b)| b.compare(*a));
        } else {
            sorted.sort_by(|(_, a), (_, b)| a.compare(*b));
        }
        sorted.into_iter().take(n).map(|(i, _)| i).collect()
    };
    let against = Value::Int(selector.value);
    let filtered = |keep: &dyn Fn(std::cmp::Ordering) -> bool| {
        live.iter()
            .filter(|(_, value)| keep(value.compare(against)))
            .map(|(i, _)| *i)
            .collect()
    };
    match selector.kind {
        SelectorKind::Highest => ranked(true),
        SelectorKind::Lowest => ranked(false),
        SelectorKind::Equal => filtered(&|o| o.is_eq()),
        SelectorKind::Greater => filtered(&|o| o.is_gt()),
        SelectorKind::Less => filtered(&|o| o.is_lt()),
    }
}

/// The union of what several selectors match (`kh1kl1` keeps both ends).
fn select_all(selectors: &[Selector], live: &[(usize, Value)]) -> BTreeSet<usize> {
    selectors.iter().flat_map(|s| select(s, live)).collect()
}

/// Whether a value matches any of the face selectors (`6`, `>4`, `<3`).
fn face_matches(selectors: &[Selector], value: i64) -> bool {
    selectors.iter().any(|s| s.matches_face(value))
}

/// The first die the selectors match, for `ra` which adds at most one die.
fn select_one(selectors: &[Selector], live: &[(usize, Value)]) -> Option<usize> {
    selectors
        .iter()
        .find_map(|s| select(s, live).first().copied())
}

fn failed(failure: Failure, expr: &Expr) -> DiceError {
    match failure {
        Failure::DivisionByZero => DiceError::DivisionByZero {
            expression: expr_text(expr),
        },
        Failure::Overflow => overflow(expr),
    }
}

fn overflow(expr: &Expr) -> DiceError {
    DiceError::Overflow {
        expression: expr_text(expr),
    }
}
