//! Operations after dice or a set (`kh3`, `rr1`, `e6`, `p<3`) and their selectors.

use super::super::render::selector_text;
use super::{DiceError, OpKind, Parser, Selector, SelectorKind, SetOp};

impl Parser<'_> {
    /// Operations written right after dice or a set (`4d6kh3`, `(1, 2)p1`). After whitespace
    /// a letter counts as an operation only when a selector follows, so that in
    /// `1d20 Perception` the label is not misread as `p`.
    pub(super) fn parse_ops(&mut self) -> Result<Vec<SetOp>, DiceError> {
        let mut ops: Vec<SetOp> = Vec::new();
        loop {
            let before = self.pos;
            self.skip_ws();
            let after_space = self.pos != before;
            let Some((kind, len)) = self.op_at(self.pos) else {
                if !after_space {
                    self.refuse_d_for_drop()?;
                }
                self.pos = before;
                return Ok(ops);
            };
            if after_space && !self.selector_follows(self.pos + len) {
                self.pos = before;
                return Ok(ops);
            }
            self.pos += len;
            let selector = self.parse_selector(kind)?;
            match ops.last_mut() {
                Some(last) if last.kind == kind => last.selectors.push(selector),
                _ => ops.push(SetOp {
                    kind,
                    selectors: vec![selector],
                }),
            }
        }
    }

    /// Roll20's `4d6dl1` is d20's `4d6pl1`; d20 only reports a syntax error at the `d`.
    fn refuse_d_for_drop(&self) -> Result<(), DiceError> {
        let lower = |i: usize| self.bytes.get(i).map(u8::to_ascii_lowercase);
        if lower(self.pos) == Some(b'd')
            && matches!(lower(self.pos + 1), Some(b'h' | b'l'))
            && self.byte_is_digit(self.pos + 2)
        {
            let mut end = self.pos + 2;
            while self.byte_is_digit(end) {
                end += 1;
            }
            return Err(DiceError::DropIsP {
                op: self.src[self.pos..end].to_ascii_lowercase(),
            });
        }
        Ok(())
    }

    fn op_at(&self, at: usize) -> Option<(OpKind, usize)> {
        let lower = |i: usize| self.bytes.get(i).map(u8::to_ascii_lowercase);
        let two = match (lower(at)?, lower(at + 1)) {
            (b'r', Some(b'r')) => Some(OpKind::RerollForever),
            (b'r', Some(b'o')) => Some(OpKind::RerollOnce),
            (b'r', Some(b'a')) => Some(OpKind::RerollAdd),
            (b'm', Some(b'i')) => Some(OpKind::Minimum),
            (b'm', Some(b'a')) => Some(OpKind::Maximum),
            _ => None,
        };
        if let Some(kind) = two {
            return Some((kind, 2));
        }
        match lower(at)? {
            b'k' => Some((OpKind::Keep, 1)),
            b'p' => Some((OpKind::Drop, 1)),
            b'e' => Some((OpKind::Explode, 1)),
            _ => None,
        }
    }

    fn selector_follows(&self, at: usize) -> bool {
        match self.bytes.get(at).map(u8::to_ascii_lowercase) {
            Some(b) if b.is_ascii_digit() => true,
            Some(b'h' | b'l' | b'<' | b'>') => self.byte_is_digit(at + 1),
            _ => false,
        }
    }

    fn parse_selector(&mut self, op: OpKind) -> Result<Selector, DiceError> {
        let kind = match self.peek() {
            Some(b'h') => SelectorKind::Highest,
            Some(b'l') => SelectorKind::Lowest,
            Some(b'<') => SelectorKind::Less,
            Some(b'>') => SelectorKind::Greater,
            _ => SelectorKind::Equal,
        };
        if kind != SelectorKind::Equal {
            self.pos += 1;
        }
        if !self.byte_is_digit(self.pos) {
            return Err(self.syntax_error(
                "a selector number after the operation, like `kh3`, `rr1`, `p<3` or `e6`",
            ));
        }
        let start = self.pos;
        let digits = self.take_digits();
        self.refuse_fraction(start, "a selector")?;
        let value = digits
            .parse::<i64>()
            .map_err(|_| DiceError::NumberTooLarge {
                number: digits.to_owned(),
            })?;
        let selector = Selector { kind, value };
        let hint = match op {
            OpKind::RerollForever | OpKind::Explode
                if matches!(kind, SelectorKind::Highest | SelectorKind::Lowest) =>
            {
                Some("match faces instead, like `1`, `<3` or `>5`")
            }
            OpKind::Minimum | OpKind::Maximum if kind != SelectorKind::Equal => {
                Some("give a plain number, like `mi2` or `ma5`")
            }
            _ => None,
        };
        if let Some(hint) = hint {
            return Err(DiceError::InvalidSelector {
                op: op.symbol().to_owned(),
                selector: selector_text(&selector),
                hint,
            });
        }
        Ok(selector)
    }
}

/// `rr` and `e` repeat while a die matches; if every face matches they could never stop.
pub(super) fn check_terminates(op: &SetOp, sides: u32) -> Result<(), DiceError> {
    if !matches!(op.kind, OpKind::RerollForever | OpKind::Explode) {
        return Ok(());
    }
    let matches_face = |face: i64| op.selectors.iter().any(|s| s.matches_face(face));
    if (1..=i64::from(sides)).all(matches_face) {
        return Err(DiceError::Endless {
            op: op
                .selectors
                .iter()
                .map(|s| format!("{}{}", op.kind.symbol(), selector_text(s)))
                .collect(),
            sides,
        });
    }
    Ok(())
}
