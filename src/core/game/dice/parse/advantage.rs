//! `adv` and `dis`: `1d20 adv` is `2d20kh1`, and a trailing word applies to the first `1d20`.

use super::{DiceError, DiceTerm, Expr, OpKind, Parser, Selector, SelectorKind, SetOp, TermKind};

#[derive(Clone, Copy)]
pub(super) enum Advantage {
    Advantage,
    Disadvantage,
}

impl Advantage {
    fn word(self) -> &'static str {
        match self {
            Advantage::Advantage => "adv",
            Advantage::Disadvantage => "dis",
        }
    }
}

impl Parser<'_> {
    pub(super) fn at_advantage_word(&self) -> bool {
        self.advantage_word_len(self.pos).is_some()
    }

    fn advantage_word_len(&self, at: usize) -> Option<(Advantage, usize)> {
        const WORDS: [(&str, Advantage); 5] = [
            ("advantage", Advantage::Advantage),
            ("adv", Advantage::Advantage),
            ("disadvantage", Advantage::Disadvantage),
            ("disadv", Advantage::Disadvantage),
            ("dis", Advantage::Disadvantage),
        ];
        let rest = &self.bytes[at.min(self.bytes.len())..];
        WORDS.iter().find_map(|(word, adv)| {
            let matches = rest.len() >= word.len()
                && rest[..word.len()].eq_ignore_ascii_case(word.as_bytes())
                && !rest
                    .get(word.len())
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
            matches.then_some((*adv, word.len()))
        })
    }

    pub(super) fn advantage_keyword(&mut self) -> Option<Advantage> {
        let (adv, len) = self.advantage_word_len(self.pos)?;
        self.pos += len;
        Some(adv)
    }
}

/// `1d20 adv` is `2d20kh1`; `1d20 dis` is `2d20kl1`.
pub(super) fn apply_advantage(dice: &mut DiceTerm, adv: Advantage) -> Result<(), DiceError> {
    let problem = if dice.count != 1 {
        Some("it cannot apply to several dice")
    } else if dice
        .ops
        .last()
        .is_some_and(|op| matches!(op.kind, OpKind::Keep | OpKind::Drop))
    {
        Some("it cannot follow `k` or `p`")
    } else {
        None
    };
    if let Some(problem) = problem {
        return Err(DiceError::Advantage {
            word: adv.word().to_owned(),
            problem,
        });
    }
    let kind = match adv {
        Advantage::Advantage => SelectorKind::Highest,
        Advantage::Disadvantage => SelectorKind::Lowest,
    };
    dice.count = 2;
    dice.ops.push(SetOp {
        kind: OpKind::Keep,
        selectors: vec![Selector { kind, value: 1 }],
    });
    Ok(())
}

/// A trailing `adv`/`dis` (`1d20+5 adv`) applies to the leftmost `1d20`, as on Avrae.
pub(super) fn apply_to_leftmost_d20(expr: &mut Expr, adv: Advantage) -> Result<(), DiceError> {
    fn leftmost_d20(expr: &mut Expr) -> Option<&mut DiceTerm> {
        match expr {
            Expr::Term(term) => match &mut term.kind {
                TermKind::Dice(dice) if dice.count == 1 && dice.sides == 20 => Some(dice),
                TermKind::Group(group) => group.items.iter_mut().find_map(leftmost_d20),
                _ => None,
            },
            Expr::Unary { operand, .. } => leftmost_d20(operand),
            Expr::Binary { left, right, .. } => leftmost_d20(left).or_else(|| leftmost_d20(right)),
        }
    }
    match leftmost_d20(expr) {
        Some(dice) => apply_advantage(dice, adv),
        None => Err(DiceError::Advantage {
            word: adv.word().to_owned(),
            problem: "there is no `1d20` in this expression",
        }),
    }
}
