//! A hand-written recursive-descent parser. Precedence, loosest first: comparisons,
//! `+ -`, `* / // %`, unary signs, then terms (numbers, dice, groups) with their operations,
//! `adv`/`dis` and `[annotations]`.

mod advantage;
mod ops;

use super::{
    BinaryOp, Decimal, DiceError, DiceTerm, Expr, Group, MAX_DEPTH, MAX_DICE, MAX_EXPRESSION_CHARS,
    MAX_SIDES, OpKind, Selector, SelectorKind, SetOp, Term, TermKind, UnaryOp,
};
use advantage::{apply_advantage, apply_to_leftmost_d20};
use ops::check_terminates;

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
            TermKind::Number(_) | TermKind::Decimal(_) => 0,
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
            Some(b'.') if self.byte_is_digit(self.pos + 1) => {
                TermKind::Decimal(self.parse_decimal(self.pos)?)
            }
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
        let start = self.pos;
        let digits = self.take_digits();
        if self.at_decimal_point() {
            let decimal = self.parse_decimal(start)?;
            if self.peek() == Some(b'd') && !self.at_advantage_word() {
                return Err(DiceError::NotWhole {
                    what: "a dice count",
                    number: self.src[start..self.pos].to_owned(),
                });
            }
            return Ok(TermKind::Decimal(decimal));
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

    /// d20 reads `1.5`, `.5` and `1.` as decimals. Before free text (a roll tag's label) a dot
    /// without digits after it ends a sentence instead: `[[roll 1d20+3. Then ...]]`.
    fn at_decimal_point(&self) -> bool {
        self.peek() == Some(b'.') && (self.byte_is_digit(self.pos + 1) || !self.prefix)
    }

    /// From `start` (the first digit, or the dot of `.5`) through the fraction. The whole part
    /// is bounded like any number, which also keeps the float exact to the unit.
    fn parse_decimal(&mut self, start: usize) -> Result<Decimal, DiceError> {
        let whole = &self.src[start..self.pos];
        self.pos += 1; // '.'
        self.take_digits();
        let text = &self.src[start..self.pos];
        let too_large = || DiceError::NumberTooLarge {
            number: text.to_owned(),
        };
        if !whole.is_empty() && whole.parse::<i64>().is_err() {
            return Err(too_large());
        }
        text.parse::<f64>()
            .ok()
            .and_then(Decimal::new)
            .ok_or_else(too_large)
    }

    /// After the `d` of `NdS`: the size, the operations, then `adv`/`dis`.
    fn parse_dice_rest(&mut self, count: u32) -> Result<DiceTerm, DiceError> {
        let percentile = self.peek() == Some(b'%');
        let sides = if percentile {
            self.pos += 1;
            100
        } else if self.byte_is_digit(self.pos) {
            let start = self.pos;
            let digits = self.take_digits();
            self.refuse_fraction(start, "a die size")?;
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
        let mut dice = DiceTerm {
            count,
            sides,
            percentile,
            ops,
        };
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

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).map(u8::to_ascii_lowercase)
    }

    fn byte_is_digit(&self, at: usize) -> bool {
        self.bytes.get(at).is_some_and(u8::is_ascii_digit)
    }

    fn starts_die_size(&self, at: usize) -> bool {
        self.byte_is_digit(at) || self.bytes.get(at) == Some(&b'%')
    }

    /// A whole number (from `start`) followed by `.5`: say which number must be whole, where
    /// d20 would only report a syntax error at the dot.
    fn refuse_fraction(&mut self, start: usize, what: &'static str) -> Result<(), DiceError> {
        if self.peek() == Some(b'.') && self.byte_is_digit(self.pos + 1) {
            self.pos += 1;
            self.take_digits();
            return Err(DiceError::NotWhole {
                what,
                number: self.src[start..self.pos].to_owned(),
            });
        }
        Ok(())
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
