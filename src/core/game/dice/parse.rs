//! A hand-written recursive-descent parser. Precedence, loosest first: comparisons,
//! `+ -`, `* / // %`, unary signs, then terms (numbers, dice, groups) with their operations,
//! `adv`/`dis` and `[annotations]`.

use super::{
    BinaryOp, DiceError, DiceTerm, Expr, Group, MAX_DEPTH, MAX_DICE, MAX_EXPRESSION_CHARS,
    MAX_SIDES, OpKind, Selector, SelectorKind, SetOp, Term, TermKind, UnaryOp,
};

const EXPECTED_OPERAND: &str = "a number, a die like `1d20`, `(`, `+` or `-`";
const EXPECTED_END: &str = "an operator like `+`, or the end of the expression";

pub(super) fn parse(input: &str) -> Result<Expr, DiceError> {
    let mut parser = Parser::new(input, false)?;
    let expr = parser.parse_top()?;
    parser.skip_ws();
    if parser.pos < parser.bytes.len() {
        return Err(parser.syntax_error(EXPECTED_END));
    }
    check_dice_count(&expr)?;
    Ok(expr)
}

/// Like [`parse`], but stops quietly before the first text that cannot continue the
/// expression, returning the byte length used (trailing whitespace excluded).
pub(super) fn parse_prefix(input: &str) -> Result<(Expr, usize), DiceError> {
    let mut parser = Parser::new(input, true)?;
    let expr = parser.parse_top()?;
    check_dice_count(&expr)?;
    Ok((expr, parser.pos))
}

pub(super) fn static_dice_count(expr: &Expr) -> u32 {
    match expr {
        Expr::Term(term) => match &term.kind {
            TermKind::Number(_) => 0,
            TermKind::Dice(dice) => dice.count,
            TermKind::Group(group) => group.items.iter().fold(0u32, |sum, item| {
                sum.saturating_add(static_dice_count(item))
            }),
        },
        Expr::Unary { operand, .. } => static_dice_count(operand),
        Expr::Binary { left, right, .. } => {
            static_dice_count(left).saturating_add(static_dice_count(right))
        }
    }
}

fn check_dice_count(expr: &Expr) -> Result<(), DiceError> {
    if static_dice_count(expr) > MAX_DICE {
        return Err(DiceError::TooManyDice { max: MAX_DICE });
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Advantage {
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

struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// In prefix mode a binary operator whose right side fails to parse ends the expression
    /// instead of failing it: `1d20 - Stealth` is `1d20` followed by text.
    prefix: bool,
}

type BinaryParser<'a> = fn(&mut Parser<'a>, usize) -> Result<Expr, DiceError>;

impl<'a> Parser<'a> {
    fn new(src: &'a str, prefix: bool) -> Result<Parser<'a>, DiceError> {
        let chars = src.chars().count();
        if chars > MAX_EXPRESSION_CHARS {
            return Err(DiceError::TooLong {
                chars,
                max: MAX_EXPRESSION_CHARS,
            });
        }
        if src.trim().is_empty() {
            return Err(DiceError::Empty);
        }
        Ok(Parser {
            src,
            bytes: src.as_bytes(),
            pos: 0,
            prefix,
        })
    }

    fn parse_top(&mut self) -> Result<Expr, DiceError> {
        let mut expr = self.parse_comparison(0)?;
        let before = self.pos;
        self.skip_ws();
        match self.advantage_keyword() {
            Some(adv) => apply_to_leftmost_d20(&mut expr, adv)?,
            None => self.pos = before,
        }
        Ok(expr)
    }

    // ---- binary levels ----

    fn parse_comparison(&mut self, depth: usize) -> Result<Expr, DiceError> {
        self.binary_level(depth, Parser::comparison_op, Parser::parse_additive)
    }

    fn parse_additive(&mut self, depth: usize) -> Result<Expr, DiceError> {
        self.binary_level(depth, Parser::additive_op, Parser::parse_multiplicative)
    }

    fn parse_multiplicative(&mut self, depth: usize) -> Result<Expr, DiceError> {
        self.binary_level(depth, Parser::multiplicative_op, Parser::parse_unary)
    }

    fn binary_level(
        &mut self,
        depth: usize,
        operator: fn(&mut Parser<'a>) -> Option<BinaryOp>,
        operand: BinaryParser<'a>,
    ) -> Result<Expr, DiceError> {
        let mut left = operand(self, depth)?;
        loop {
            let before = self.pos;
            self.skip_ws();
            let Some(op) = operator(self) else {
                self.pos = before;
                return Ok(left);
            };
            let right = match operand(self, depth) {
                Ok(right) => right,
                Err(DiceError::Syntax { .. }) if self.prefix => {
                    self.pos = before;
                    return Ok(left);
                }
                Err(err) => return Err(err),
            };
            left = Expr::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
    }

    fn comparison_op(&mut self) -> Option<BinaryOp> {
        let two = [
            ("==", BinaryOp::Eq),
            ("!=", BinaryOp::Ne),
            ("<=", BinaryOp::Le),
            (">=", BinaryOp::Ge),
            ("<", BinaryOp::Lt),
            (">", BinaryOp::Gt),
        ];
        self.eat_operator(&two)
    }

    fn additive_op(&mut self) -> Option<BinaryOp> {
        self.eat_operator(&[("+", BinaryOp::Add), ("-", BinaryOp::Sub)])
    }

    fn multiplicative_op(&mut self) -> Option<BinaryOp> {
        self.eat_operator(&[
            ("//", BinaryOp::FloorDiv),
            ("/", BinaryOp::Div),
            ("*", BinaryOp::Mul),
            ("%", BinaryOp::Rem),
        ])
    }

    fn eat_operator(&mut self, table: &[(&str, BinaryOp)]) -> Option<BinaryOp> {
        let rest = &self.bytes[self.pos..];
        let (text, op) = table
            .iter()
            .find(|(text, _)| rest.starts_with(text.as_bytes()))?;
        self.pos += text.len();
        Some(*op)
    }

    // ---- unary and terms ----

    fn parse_unary(&mut self, depth: usize) -> Result<Expr, DiceError> {
        if depth > MAX_DEPTH {
            return Err(DiceError::TooDeep { max: MAX_DEPTH });
        }
        self.skip_ws();
        let op = match self.peek() {
            Some(b'+') => UnaryOp::Plus,
            Some(b'-') => UnaryOp::Minus,
            _ => return self.parse_term(depth),
        };
        self.pos += 1;
        let operand = self.parse_unary(depth + 1)?;
        Ok(Expr::Unary {
            op,
            operand: Box::new(operand),
        })
    }

    fn parse_term(&mut self, depth: usize) -> Result<Expr, DiceError> {
        let kind = match self.peek() {
            Some(b) if b.is_ascii_digit() => self.parse_number_or_dice()?,
            Some(b'd') if self.starts_die_size(self.pos + 1) => {
                self.pos += 1;
                TermKind::Dice(self.parse_dice_rest(1)?)
            }
            Some(b'(') => TermKind::Group(self.parse_group(depth)?),
            _ => return Err(self.syntax_error(EXPECTED_OPERAND)),
        };
        let mut term = Term {
            kind,
            annotations: Vec::new(),
        };
        self.parse_annotations(&mut term)?;
        Ok(Expr::Term(term))
    }

    fn parse_number_or_dice(&mut self) -> Result<TermKind, DiceError> {
        let digits = self.take_digits();
        if self.peek() == Some(b'.') && self.byte_is_digit(self.pos + 1) {
            self.pos += 1;
            let fraction = self.take_digits();
            return Err(DiceError::Decimal {
                number: format!("{digits}.{fraction}"),
            });
        }
        if self.peek() == Some(b'd') && !self.at_advantage_word() {
            let count = match digits.parse::<u32>() {
                Ok(count) if count <= MAX_DICE => count,
                _ => return Err(DiceError::TooManyDice { max: MAX_DICE }),
            };
            self.pos += 1;
            return Ok(TermKind::Dice(self.parse_dice_rest(count)?));
        }
        let value = digits
            .parse::<i64>()
            .map_err(|_| DiceError::NumberTooLarge {
                number: digits.to_owned(),
            })?;
        Ok(TermKind::Number(value))
    }

    /// After the `d` of `NdS`: the size, the operations, then `adv`/`dis`.
    fn parse_dice_rest(&mut self, count: u32) -> Result<DiceTerm, DiceError> {
        let sides = if self.peek() == Some(b'%') {
            self.pos += 1;
            100
        } else if self.byte_is_digit(self.pos) {
            let digits = self.take_digits();
            match digits.parse::<u32>() {
                Ok(0) => return Err(DiceError::ZeroSides),
                Ok(sides) if sides <= MAX_SIDES => sides,
                _ => {
                    return Err(DiceError::TooManySides {
                        sides: digits.trim_start_matches('0').to_owned(),
                        max: MAX_SIDES,
                    });
                }
            }
        } else {
            return Err(self.syntax_error("a die size after `d`, like `d20` or `d%`"));
        };
        let ops = self.parse_ops()?;
        for op in &ops {
            check_terminates(op, sides)?;
        }
        let mut dice = DiceTerm { count, sides, ops };
        let before = self.pos;
        self.skip_ws();
        match self.advantage_keyword() {
            Some(adv) => apply_advantage(&mut dice, adv)?,
            None => self.pos = before,
        }
        Ok(dice)
    }

    fn parse_group(&mut self, depth: usize) -> Result<Group, DiceError> {
        self.pos += 1; // '('
        let mut items = Vec::new();
        let mut trailing_comma = false;
        self.skip_ws();
        if self.peek() == Some(b')') {
            self.pos += 1;
        } else {
            loop {
                items.push(self.parse_comparison(depth + 1)?);
                self.skip_ws();
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        self.skip_ws();
                        if self.peek() == Some(b')') {
                            self.pos += 1;
                            trailing_comma = true;
                            break;
                        }
                    }
                    Some(b')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.syntax_error("`,` or `)`")),
                }
            }
        }
        let ops = self.parse_ops()?;
        if let Some(op) = ops
            .iter()
            .find(|op| !matches!(op.kind, OpKind::Keep | OpKind::Drop))
        {
            return Err(DiceError::DiceOnlyOperator {
                op: op.kind.symbol().to_owned(),
            });
        }
        Ok(Group {
            items,
            trailing_comma,
            ops,
        })
    }

    /// Operations written right after dice or a set (`4d6kh3`, `(1, 2)p1`). After whitespace
    /// a letter counts as an operation only when a selector follows, so that in
    /// `1d20 Perception` the label is not misread as `p`.
    fn parse_ops(&mut self) -> Result<Vec<SetOp>, DiceError> {
        let mut ops: Vec<SetOp> = Vec::new();
        loop {
            let before = self.pos;
            self.skip_ws();
            let after_space = self.pos != before;
            let Some((kind, len)) = self.op_at(self.pos) else {
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
        let digits = self.take_digits();
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
                selector: super::render::selector_text(&selector),
                hint,
            });
        }
        Ok(selector)
    }

    fn parse_annotations(&mut self, term: &mut Term) -> Result<(), DiceError> {
        loop {
            let before = self.pos;
            self.skip_ws();
            if self.peek() != Some(b'[') {
                self.pos = before;
                return Ok(());
            }
            let open = self.pos;
            let close = self.src[open + 1..].find(']').map(|i| open + 1 + i).ok_or(
                DiceError::UnclosedAnnotation {
                    position: self.char_position(open),
                },
            )?;
            term.annotations
                .push(self.src[open + 1..close].trim().to_owned());
            self.pos = close + 1;
        }
    }

    // ---- advantage ----

    fn at_advantage_word(&self) -> bool {
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

    fn advantage_keyword(&mut self) -> Option<Advantage> {
        let (adv, len) = self.advantage_word_len(self.pos)?;
        self.pos += len;
        Some(adv)
    }

    // ---- bytes ----

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).map(u8::to_ascii_lowercase)
    }

    fn byte_is_digit(&self, at: usize) -> bool {
        self.bytes.get(at).is_some_and(u8::is_ascii_digit)
    }

    fn starts_die_size(&self, at: usize) -> bool {
        self.byte_is_digit(at) || self.bytes.get(at) == Some(&b'%')
    }

    fn take_digits(&mut self) -> &'a str {
        let start = self.pos;
        while self.byte_is_digit(self.pos) {
            self.pos += 1;
        }
        &self.src[start..self.pos]
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.src[self.pos..].chars().next() {
            if !c.is_whitespace() {
                break;
            }
            self.pos += c.len_utf8();
        }
    }

    fn char_position(&self, byte: usize) -> usize {
        self.src[..byte].chars().count() + 1
    }

    fn syntax_error(&self, expected: &'static str) -> DiceError {
        let found = match self.src[self.pos..].chars().next() {
            None => "end of the expression".to_owned(),
            Some(c) => format!("`{c}`"),
        };
        DiceError::Syntax {
            position: self.char_position(self.pos),
            found,
            expected,
        }
    }
}

/// `rr` and `e` repeat while a die matches; if every face matches they could never stop.
fn check_terminates(op: &SetOp, sides: u32) -> Result<(), DiceError> {
    if !matches!(op.kind, OpKind::RerollForever | OpKind::Explode) {
        return Ok(());
    }
    let matches_face = |face: i64| op.selectors.iter().any(|s| s.matches_face(face));
    if (1..=i64::from(sides)).all(matches_face) {
        return Err(DiceError::Endless {
            op: op
                .selectors
                .iter()
                .map(|s| format!("{}{}", op.kind.symbol(), super::render::selector_text(s)))
                .collect(),
            sides,
        });
    }
    Ok(())
}

/// `1d20 adv` is `2d20kh1`; `1d20 dis` is `2d20kl1`.
fn apply_advantage(dice: &mut DiceTerm, adv: Advantage) -> Result<(), DiceError> {
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
fn apply_to_leftmost_d20(expr: &mut Expr, adv: Advantage) -> Result<(), DiceError> {
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

#[cfg(test)]
mod tests {
    use super::parse_prefix;

    fn used(input: &str) -> usize {
        parse_prefix(input).expect(input).1
    }

    #[test]
    fn prefix_stops_before_free_text() {
        assert_eq!(used("1d20+3 Perception DC 13"), "1d20+3".len());
        assert_eq!(used("1d20 - Stealth"), "1d20".len());
        assert_eq!(used("1d20 adv to hit"), "1d20 adv".len());
        assert_eq!(used("2d6 [fire] damage"), "2d6 [fire]".len());
        assert_eq!(used("1d20 Endurance"), "1d20".len());
        assert_eq!(used("1d20"), 4);
    }

    #[test]
    fn prefix_still_reports_real_errors() {
        assert!(parse_prefix("Perception 1d20").is_err());
        assert!(parse_prefix("1d0 Perception").is_err());
        assert!(parse_prefix("1d20 + 2d99999 fire").is_err());
    }
}
