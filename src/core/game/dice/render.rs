//! Text for expressions (the normalised form) and for rolled results (Avrae-style Markdown),
//! and the flat list of dice for reports.

use std::fmt::{self, Write as _};

use super::roll::{Die, Rolled};
use super::{
    BinaryOp, DiceTerm, DieRoll, DieStatus, Expr, Selector, SelectorKind, SetOp, Term, TermKind,
    UnaryOp,
};

pub(super) fn write_expr(out: &mut impl fmt::Write, expr: &Expr) -> fmt::Result {
    match expr {
        Expr::Term(term) => {
            match &term.kind {
                TermKind::Number(_) | TermKind::Decimal(_) => write_literal(out, &term.kind)?,
                TermKind::Dice(dice) => write_dice(out, dice)?,
                TermKind::Group(group) => {
                    out.write_char('(')?;
                    for (i, item) in group.items.iter().enumerate() {
                        if i > 0 {
                            out.write_str(", ")?;
                        }
                        write_expr(out, item)?;
                    }
                    if group.items.len() == 1 && group.trailing_comma {
                        out.write_char(',')?;
                    }
                    out.write_char(')')?;
                    write_ops(out, &group.ops)?;
                }
            }
            write_annotations(out, term)
        }
        Expr::Unary { op, operand } => {
            out.write_str(unary_symbol(*op))?;
            write_expr(out, operand)
        }
        Expr::Binary { op, left, right } => {
            write_expr(out, left)?;
            write!(out, " {} ", binary_symbol(*op))?;
            write_expr(out, right)
        }
    }
}

pub(super) fn expr_text(expr: &Expr) -> String {
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = write_expr(&mut text, expr);
    text
}

pub(super) fn selector_text(selector: &Selector) -> String {
    let prefix = match selector.kind {
        SelectorKind::Equal => "",
        SelectorKind::Highest => "h",
        SelectorKind::Lowest => "l",
        SelectorKind::Greater => ">",
        SelectorKind::Less => "<",
    };
    format!("{prefix}{}", selector.value)
}

/// `1.5` for `1.50`, `2.0` for `2.`: the shortest text that reads back as the same float (as
/// Python prints it, but never in exponent form, which the parser does not read).
fn write_literal(out: &mut impl fmt::Write, kind: &TermKind) -> fmt::Result {
    match kind {
        TermKind::Number(value) => write!(out, "{value}"),
        TermKind::Decimal(value) => {
            let text = value.get().to_string();
            out.write_str(&text)?;
            if text.contains('.') {
                Ok(())
            } else {
                out.write_str(".0")
            }
        }
        TermKind::Dice(_) | TermKind::Group(_) => Ok(()),
    }
}

fn write_dice(out: &mut impl fmt::Write, dice: &DiceTerm) -> fmt::Result {
    if dice.percentile {
        write!(out, "{}d%", dice.count)?;
    } else {
        write!(out, "{}d{}", dice.count, dice.sides)?;
    }
    write_ops(out, &dice.ops)
}

fn write_ops(out: &mut impl fmt::Write, ops: &[SetOp]) -> fmt::Result {
    for op in ops {
        for selector in &op.selectors {
            write!(out, "{}{}", op.kind.symbol(), selector_text(selector))?;
        }
    }
    Ok(())
}

fn write_annotations(out: &mut impl fmt::Write, term: &Term) -> fmt::Result {
    for annotation in &term.annotations {
        write!(out, " [{annotation}]")?;
    }
    Ok(())
}

fn unary_symbol(op: UnaryOp) -> &'static str {
    match op {
        UnaryOp::Plus => "+",
        UnaryOp::Minus => "-",
    }
}

fn binary_symbol(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "+",
        BinaryOp::Sub => "-",
        BinaryOp::Mul => "*",
        BinaryOp::Div => "/",
        BinaryOp::FloorDiv => "//",
        BinaryOp::Rem => "%",
        BinaryOp::Eq => "==",
        BinaryOp::Ne => "!=",
        BinaryOp::Lt => "<",
        BinaryOp::Gt => ">",
        BinaryOp::Le => "<=",
        BinaryOp::Ge => ">=",
    }
}

/// `4d6kh3 (5, 3, ~~**1**~~, **6**) + 2 = 16`
pub(super) fn result_text(rolled: &Rolled<'_>, total: i64) -> String {
    let mut text = String::new();
    write_rolled(&mut text, rolled, false);
    let _ = write!(text, " = {total}");
    text
}

/// `in_dropped`: already inside struck-through text, where nested `~~` would end it early.
fn write_rolled(out: &mut String, rolled: &Rolled<'_>, in_dropped: bool) {
    match rolled {
        Rolled::Number { term, .. } => {
            let _ = write_literal(out, &term.kind);
            let _ = write_annotations(out, term);
        }
        Rolled::Dice {
            term, dice, rolled, ..
        } => {
            let _ = write_dice(out, dice);
            out.push_str(" (");
            for (i, die) in rolled.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_die(out, die, dice.sides, in_dropped);
            }
            out.push(')');
            let _ = write_annotations(out, term);
        }
        Rolled::Group {
            term, group, items, ..
        } => {
            out.push('(');
            for (i, (item, kept)) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                strike_unless(out, !kept && !in_dropped, |out| {
                    write_rolled(out, item, in_dropped || !kept)
                });
            }
            if items.len() == 1 && group.trailing_comma {
                out.push(',');
            }
            out.push(')');
            let _ = write_ops(out, &group.ops);
            let _ = write_annotations(out, term);
        }
        Rolled::Unary { op, operand, .. } => {
            out.push_str(unary_symbol(*op));
            write_rolled(out, operand, in_dropped);
        }
        Rolled::Binary {
            op, left, right, ..
        } => {
            write_rolled(out, left, in_dropped);
            let _ = write!(out, " {} ", binary_symbol(*op));
            write_rolled(out, right, in_dropped);
        }
    }
}

fn write_die(out: &mut String, die: &Die, sides: u32, in_dropped: bool) {
    strike_unless(out, !die.kept && !in_dropped, |out| {
        let inner_dropped = in_dropped || !die.kept;
        let last = die.faces.len().saturating_sub(1);
        for (i, face) in die.faces.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let rerolled = i < last;
            strike_unless(out, rerolled && !inner_dropped, |out| {
                let bold = face.face == 1 || face.face == sides;
                if bold {
                    out.push_str("**");
                }
                let _ = write!(out, "{}", face.face);
                if face.value != i64::from(face.face) {
                    let _ = write!(out, " -> {}", face.value);
                }
                if !rerolled && die.exploded {
                    out.push('!');
                }
                if bold {
                    out.push_str("**");
                }
            });
        }
    });
}

fn strike_unless(out: &mut String, strike: bool, inner: impl FnOnce(&mut String)) {
    if strike {
        out.push_str("~~");
    }
    inner(out);
    if strike {
        out.push_str("~~");
    }
}

pub(super) fn die_rolls(rolled: &Rolled<'_>) -> Vec<DieRoll> {
    let mut rolls = Vec::new();
    collect_rolls(rolled, false, &mut 0, &mut rolls);
    rolls
}

fn collect_rolls(rolled: &Rolled<'_>, dropped: bool, term: &mut usize, out: &mut Vec<DieRoll>) {
    match rolled {
        Rolled::Number { .. } => {}
        Rolled::Dice { dice, rolled, .. } => {
            for die in rolled {
                let last = die.faces.len().saturating_sub(1);
                for (i, face) in die.faces.iter().enumerate() {
                    let status = if i < last {
                        DieStatus::Rerolled
                    } else if die.kept && !dropped {
                        DieStatus::Kept
                    } else {
                        DieStatus::Dropped
                    };
                    out.push(DieRoll {
                        term: *term,
                        sides: dice.sides,
                        face: face.face,
                        value: face.value,
                        status,
                        origin: if i == 0 {
                            die.origin
                        } else {
                            super::DieOrigin::Reroll
                        },
                        exploded: i == last && die.exploded,
                    });
                }
            }
            *term += 1;
        }
        Rolled::Group { items, .. } => {
            for (item, kept) in items {
                collect_rolls(item, dropped || !kept, term, out);
            }
        }
        Rolled::Unary { operand, .. } => collect_rolls(operand, dropped, term, out),
        Rolled::Binary { left, right, .. } => {
            collect_rolls(left, dropped, term, out);
            collect_rolls(right, dropped, term, out);
        }
    }
}
