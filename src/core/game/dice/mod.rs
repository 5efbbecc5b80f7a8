//! Dice expressions in the notation Discord D&D players already know (Avrae's `d20`):
//! `4d6kh3`, `1d20adv + 5`, `(1d4, 2, 3d6)kh1`, `8d6p<3`, `1d8 [slashing] + 3 [str]`,
//! `2d6 * 1.5`, `2d%kh1`.
//!
//! [`DiceExpr::parse`] turns untrusted text into an expression that respects every bound
//! (length, nesting, dice count, die size); [`DiceExpr::roll`] rolls it with any
//! [`rand::Rng`], or [`DiceExpr::roll_with`] with any [`DieSource`] such as [`ScriptedDice`]
//! for exact results in tests. Rolling never panics and never loops unboundedly: rerolls and
//! explosions count towards the same [`MAX_DICE`] budget and stop with an error beyond it.
//!
//! Where d20 and we agree, and the few places we part:
//! - Decimals (`1.5`, `.5`, `2.`) and `/` compute as d20 does, in Python's arithmetic: `7 / 2`
//!   is 3.5 inside the expression, so `(7 / 2) * 2` is 7. The total, like d20's, is a whole
//!   number rounded towards zero (`2d6 * 1.5` with 3 and 4 is 10; `1 - 2.5` is -1), which for
//!   the usual non-negative results is D&D's "round down". Unlike d20, a float total that
//!   misses a whole number only by binary rounding noise counts as that number
//!   (`(1 - 0.9) * 10` is 1, where d20 says 0). Counts, sizes and selectors stay whole.
//! - `k` and `p` work on sets (`(1d20, 1d20)kh1`) and, as in d20, on parentheses around one
//!   thing they reach into: `(4d6)kh3` keeps three of the four dice, `((1, 2, 3))kh1` keeps
//!   the 3; around a number or arithmetic they keep or drop the whole.
//! - `d%` is a d100 rolling 1 to 100, the percentile dice of the rules; d20 rolls its `d%` as
//!   a tens die (0, 10, ..., 90). It is shown as typed, `1d% (57)`.

mod parse;
mod render;
mod roll;
mod value;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Most dice one expression may roll, rerolls and explosions included.
pub const MAX_DICE: u32 = 1000;
/// Largest die: `d10000`.
pub const MAX_SIDES: u32 = 10_000;
/// Deepest nesting of parentheses, sets and unary signs.
pub const MAX_DEPTH: usize = 32;
/// Longest expression accepted, in characters.
pub const MAX_EXPRESSION_CHARS: usize = 500;

/// Everything that can go wrong parsing or rolling dice, worded for the player who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiceError {
    #[error("the dice expression is empty; try something like `1d20+5`")]
    Empty,
    #[error("the dice expression is {chars} characters long; the limit is {max}")]
    TooLong { chars: usize, max: usize },
    #[error("unexpected {found} at position {position}: expected {expected}")]
    Syntax {
        /// 1-based character position in the expression.
        position: usize,
        found: String,
        expected: &'static str,
    },
    #[error("the expression nests deeper than {max} levels of parentheses or signs")]
    TooDeep { max: usize },
    #[error("{number} is too large a number")]
    NumberTooLarge { number: String },
    #[error("{what} must be a whole number, not `{number}`")]
    NotWhole { what: &'static str, number: String },
    #[error("a die needs at least one side: `d0` cannot be rolled")]
    ZeroSides,
    #[error("a d{sides} has too many sides; the largest die is a d{max}")]
    TooManySides { sides: String, max: u32 },
    #[error(
        "the expression would roll more than {max} dice (rerolls and explosions included); \
         try fewer dice, like `10d6`"
    )]
    TooManyDice { max: u32 },
    #[error(
        "`{op}` would go on forever on a d{sides} because every face matches; \
         match only some faces, like `1d6rr1` or `4d6e6`"
    )]
    Endless { op: String, sides: u32 },
    #[error("`{op}` cannot use the selector `{selector}`: {hint}")]
    InvalidSelector {
        op: String,
        selector: String,
        hint: &'static str,
    },
    #[error("`{op}` works on dice only; a set like `(1d4, 3)` accepts only `k` and `p`")]
    DiceOnlyOperator { op: String },
    #[error("`{op}` is not an operation: drop with `p`, like `4d6pl1` or `(1d20, 1d20)ph1`")]
    DropIsP { op: String },
    #[error("`{word}` applies to a single die, like `1d20 {word}` or `1d20{word}+5`; {problem}")]
    Advantage { word: String, problem: &'static str },
    #[error("the annotation starting at position {position} has no closing `]`")]
    UnclosedAnnotation { position: usize },
    #[error("division by zero in `{expression}`")]
    DivisionByZero { expression: String },
    #[error("the result of `{expression}` is too large to compute")]
    Overflow { expression: String },
}

/// A parsed dice expression. Construct with [`DiceExpr::parse`]; every value of this type is
/// within the bounds above, so rolling it can only fail on arithmetic (division by zero,
/// overflow) or when rerolls and explosions exhaust the dice budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiceExpr {
    root: Expr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    Term(Term),
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnaryOp {
    Plus,
    Minus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinaryOp {
    Add,
    Sub,
    Mul,
    /// `/`: exact division, `7 / 2` is 3.5 (Python's, as in d20).
    Div,
    /// `//`: division rounded down, `-7 // 2` is -4.
    FloorDiv,
    Rem,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// A number, dice or group, with its `[annotations]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Term {
    pub(crate) kind: TermKind,
    pub(crate) annotations: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TermKind {
    Number(i64),
    Decimal(Decimal),
    Dice(DiceTerm),
    /// `(expr)` or a set `(a, b, ...)`, with `k`/`p` operations.
    Group(Group),
}

/// A decimal literal (`1.5`, `.5`, `2.`), finite and non-negative by construction (a sign is
/// a unary operator), so equality between two is an equivalence and `Eq` holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Decimal(f64);

impl Eq for Decimal {}

impl Decimal {
    pub(crate) fn new(value: f64) -> Option<Decimal> {
        (value.is_finite() && value >= 0.0).then_some(Decimal(value))
    }

    pub(crate) fn get(self) -> f64 {
        self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DiceTerm {
    pub(crate) count: u32,
    pub(crate) sides: u32,
    /// Written `d%`: a d100, shown as typed.
    pub(crate) percentile: bool,
    pub(crate) ops: Vec<SetOp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Group {
    pub(crate) items: Vec<Expr>,
    /// `(x,)` is a one-element set, `(x)` is plain parentheses.
    pub(crate) trailing_comma: bool,
    pub(crate) ops: Vec<SetOp>,
}

impl Group {
    /// `(x)`: `k`/`p` reach into `x` (its dice, or its items if it is a set) as in d20.
    pub(crate) fn is_parenthetical(&self) -> bool {
        self.items.len() == 1 && !self.trailing_comma
    }
}

/// One operation with the selectors it was given; consecutive uses of the same operation
/// merge, so `kh1kl1` keeps the highest and the lowest die, as in Avrae.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetOp {
    pub(crate) kind: OpKind,
    pub(crate) selectors: Vec<Selector>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKind {
    Keep,
    Drop,
    RerollForever,
    RerollOnce,
    RerollAdd,
    Explode,
    Minimum,
    Maximum,
}

impl OpKind {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            OpKind::Keep => "k",
            OpKind::Drop => "p",
            OpKind::RerollForever => "rr",
            OpKind::RerollOnce => "ro",
            OpKind::RerollAdd => "ra",
            OpKind::Explode => "e",
            OpKind::Minimum => "mi",
            OpKind::Maximum => "ma",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Selector {
    pub(crate) kind: SelectorKind,
    pub(crate) value: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SelectorKind {
    Equal,
    Highest,
    Lowest,
    Greater,
    Less,
}

impl Selector {
    /// For the selectors that test a face on its own (`6`, `>4`, `<3`); `h`/`l` rank dice
    /// against each other and match no face alone.
    pub(crate) fn matches_face(&self, face: i64) -> bool {
        match self.kind {
            SelectorKind::Equal => face == self.value,
            SelectorKind::Greater => face > self.value,
            SelectorKind::Less => face < self.value,
            SelectorKind::Highest | SelectorKind::Lowest => false,
        }
    }
}

impl DiceExpr {
    /// Parses untrusted text (case-insensitive, liberal with whitespace).
    pub fn parse(input: &str) -> Result<DiceExpr, DiceError> {
        parse::parse(input).map(|root| DiceExpr { root })
    }

    /// Parses the longest prefix of `input` that is a valid expression, returning it with the
    /// byte length consumed; used where an expression is followed by free text.
    pub(crate) fn parse_prefix(input: &str) -> Result<(DiceExpr, usize), DiceError> {
        parse::parse_prefix(input).map(|(root, used)| (DiceExpr { root }, used))
    }

    /// Rolls with any random number generator (`StdRng::seed_from_u64(n)` for repeatable
    /// rolls, `rand::rng()` for real ones).
    pub fn roll<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> Result<RollResult, DiceError> {
        self.roll_with(&mut RngDice(rng))
    }

    /// Rolls with any source of die faces, e.g. [`ScriptedDice`] in tests.
    pub fn roll_with<S: DieSource + ?Sized>(
        &self,
        source: &mut S,
    ) -> Result<RollResult, DiceError> {
        let (rolled, total) = roll::roll(&self.root, source)?;
        Ok(RollResult {
            total,
            text: render::result_text(&rolled, total),
            rolls: render::die_rolls(&rolled),
        })
    }

    /// How many dice the expression rolls before any reroll or explosion.
    pub fn dice_count(&self) -> u32 {
        parse::static_dice_count(&self.root)
    }
}

impl FromStr for DiceExpr {
    type Err = DiceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DiceExpr::parse(s)
    }
}

/// The normalised form: lower case, `1d20` for `d20`, `1.5` for `1.50`, `2d20kh1` for
/// `1d20 adv`, single spaces around binary operators. Parsing it gives the same expression.
impl fmt::Display for DiceExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        render::write_expr(f, &self.root)
    }
}

/// Where die faces come from. Faces outside `1..=sides` are clamped into it.
pub trait DieSource {
    fn roll_die(&mut self, sides: u32) -> u32;
}

/// Adapts any [`rand::Rng`] into a [`DieSource`] with uniform faces.
pub struct RngDice<'a, R: rand::Rng + ?Sized>(pub &'a mut R);

impl<R: rand::Rng + ?Sized> DieSource for RngDice<'_, R> {
    fn roll_die(&mut self, sides: u32) -> u32 {
        self.0.random_range(1..=sides.max(1))
    }
}

/// Yields the given faces in order, cycling when they run out: exact, readable tests
/// (`ScriptedDice::new([5, 3, 1, 6])`) and rigged dice (`ScriptedDice::always(6)`).
#[derive(Debug, Clone)]
pub struct ScriptedDice {
    faces: Vec<u32>,
    next: usize,
}

impl ScriptedDice {
    pub fn new(faces: impl IntoIterator<Item = u32>) -> ScriptedDice {
        let mut faces: Vec<u32> = faces.into_iter().collect();
        if faces.is_empty() {
            faces.push(1);
        }
        ScriptedDice { faces, next: 0 }
    }

    pub fn always(face: u32) -> ScriptedDice {
        ScriptedDice::new([face])
    }

    /// Faces handed out so far.
    pub fn used(&self) -> usize {
        self.next
    }
}

impl DieSource for ScriptedDice {
    fn roll_die(&mut self, _sides: u32) -> u32 {
        let face = self.faces[self.next % self.faces.len()];
        self.next += 1;
        face
    }
}

/// The outcome of a roll: the total, Avrae-style Markdown text
/// (`4d6kh3 (5, 3, ~~**1**~~, **6**) = 14`: dropped and rerolled dice struck through, faces at
/// 1 or at the die's maximum in bold, exploded dice marked `!`, clamped faces as `1 -> 2`),
/// and every die rolled, in the order shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RollResult {
    pub total: i64,
    pub text: String,
    pub rolls: Vec<DieRoll>,
}

/// One die as rolled. A rerolled die appears once per face it showed: the earlier faces with
/// status `rerolled`, the last with `kept` or `dropped`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DieRoll {
    /// Which dice term of the expression rolled it, counting from 0 left to right.
    pub term: usize,
    pub sides: u32,
    /// The face the die showed.
    pub face: u32,
    /// What the face counts for after `mi`/`ma`.
    pub value: i64,
    pub status: DieStatus,
    pub origin: DieOrigin,
    /// This die matched an `e` or `ra` and caused another die to be rolled.
    pub exploded: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DieStatus {
    Kept,
    Dropped,
    Rerolled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DieOrigin {
    /// One of the `N` dice of `NdS`.
    Rolled,
    /// Replaced a face by `rr` or `ro`.
    Reroll,
    /// Added by `e` or `ra`.
    Explosion,
}

/// What `gamemaster roll EXPR --json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RollReport {
    pub expression: String,
    pub total: i64,
    pub rolls: Vec<DieRoll>,
    pub text: String,
}

impl RollResult {
    pub fn report(&self, expression: &str) -> RollReport {
        RollReport {
            expression: expression.to_owned(),
            total: self.total,
            rolls: self.rolls.clone(),
            text: self.text.clone(),
        }
    }

    /// `{"expression": …, "total": …, "rolls": […], "text": …}`
    pub fn to_json(&self, expression: &str) -> serde_json::Value {
        serde_json::json!({
            "expression": expression,
            "total": self.total,
            "rolls": self.rolls,
            "text": self.text,
        })
    }
}
