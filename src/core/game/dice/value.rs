//! Numbers as d20 computes them, which is Python arithmetic: whole numbers stay exact, a
//! decimal anywhere makes the result a float, `/` divides exactly (`7 / 2` is 3.5), `//` and
//! `%` floor. Our whole numbers are `i64` where Python's are unbounded, so leaving that range
//! is an error instead of a slow bignum; a float leaving `f64`'s finite range is one too.

use std::cmp::Ordering;

use super::BinaryOp;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Value {
    Int(i64),
    /// Always finite: every operation producing a float checks it.
    Float(f64),
}

/// Why an operation has no value; the roller words it with the expression that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    DivisionByZero,
    Overflow,
}

/// A float result closer than this (relative to its size) to a whole number is taken as that
/// number: `(1 - 0.9) * 10` is 0.9999999999999998 in binary floating point, and the player who
/// typed it means 1. Genuine fractions in dice expressions are never this close.
const SNAP: f64 = 1e-12;

impl Value {
    fn as_f64(self) -> f64 {
        match self {
            // Exact up to 2^53, nearest beyond, as Python turns an int mixed with a float.
            Value::Int(int) => int as f64,
            Value::Float(float) => float,
        }
    }

    /// The whole-number total, as d20 reports it (`int(total)`): rounded towards zero, which for
    /// the usual non-negative results is D&D's "round down". `None` when it leaves `i64`.
    pub(super) fn total(self) -> Option<i64> {
        let float = match self {
            Value::Int(int) => return Some(int),
            Value::Float(float) => float,
        };
        let nearest = float.round();
        let whole = if (float - nearest).abs() <= SNAP * float.abs().max(1.0) {
            nearest
        } else {
            float.trunc()
        };
        // `i64::MAX as f64` rounds up to 2^63, itself out of range, hence `<`.
        let in_range = whole >= i64::MIN as f64 && whole < i64::MAX as f64;
        // Truncating a whole float inside the range is exact.
        in_range.then_some(whole as i64)
    }

    /// Python's ordering of numbers; floats are finite, so it is total.
    pub(super) fn compare(self, other: Value) -> Ordering {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a.cmp(&b),
            _ => self
                .as_f64()
                .partial_cmp(&other.as_f64())
                .unwrap_or(Ordering::Equal),
        }
    }

    pub(super) fn negate(self) -> Result<Value, Failure> {
        match self {
            Value::Int(int) => int.checked_neg().map(Value::Int).ok_or(Failure::Overflow),
            Value::Float(float) => Ok(Value::Float(-float)),
        }
    }

    pub(super) fn add(self, other: Value) -> Result<Value, Failure> {
        binary(BinaryOp::Add, self, other)
    }
}

pub(super) fn binary(op: BinaryOp, a: Value, b: Value) -> Result<Value, Failure> {
    let comparison = match op {
        BinaryOp::Eq => Some(a.compare(b).is_eq()),
        BinaryOp::Ne => Some(a.compare(b).is_ne()),
        BinaryOp::Lt => Some(a.compare(b).is_lt()),
        BinaryOp::Gt => Some(a.compare(b).is_gt()),
        BinaryOp::Le => Some(a.compare(b).is_le()),
        BinaryOp::Ge => Some(a.compare(b).is_ge()),
        _ => None,
    };
    if let Some(holds) = comparison {
        return Ok(Value::Int(i64::from(holds)));
    }
    match (a, b) {
        (Value::Int(a), Value::Int(b)) => int_binary(op, a, b),
        _ => float_binary(op, a.as_f64(), b.as_f64()),
    }
}

fn int_binary(op: BinaryOp, a: i64, b: i64) -> Result<Value, Failure> {
    if b == 0 && matches!(op, BinaryOp::Div | BinaryOp::FloorDiv | BinaryOp::Rem) {
        return Err(Failure::DivisionByZero);
    }
    let value = match op {
        BinaryOp::Add => a.checked_add(b),
        BinaryOp::Sub => a.checked_sub(b),
        BinaryOp::Mul => a.checked_mul(b),
        // Python gives a float even for `6 / 3`; staying whole when the division is exact
        // gives the same number without losing precision on large ones.
        BinaryOp::Div => match a.checked_rem(b) {
            Some(0) | None => a.checked_div(b),
            Some(_) => return float_binary(op, a as f64, b as f64),
        },
        BinaryOp::FloorDiv => floor_div(a, b),
        BinaryOp::Rem => Some(floor_rem(a, b)),
        _ => None,
    };
    value.map(Value::Int).ok_or(Failure::Overflow)
}

fn float_binary(op: BinaryOp, a: f64, b: f64) -> Result<Value, Failure> {
    if b == 0.0 && matches!(op, BinaryOp::Div | BinaryOp::FloorDiv | BinaryOp::Rem) {
        return Err(Failure::DivisionByZero);
    }
    let value = match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::FloorDiv => float_div_mod(a, b).0,
        BinaryOp::Rem => float_div_mod(a, b).1,
        _ => f64::NAN,
    };
    if value.is_finite() {
        Ok(Value::Float(value))
    } else {
        Err(Failure::Overflow)
    }
}

/// Division rounding towards negative infinity, like Python's `//`: `-7 // 2 == -4`.
pub(super) fn floor_div(a: i64, b: i64) -> Option<i64> {
    let quotient = a.checked_div(b)?;
    if a % b != 0 && ((a < 0) != (b < 0)) {
        quotient.checked_sub(1)
    } else {
        Some(quotient)
    }
}

/// The remainder that goes with [`floor_div`]: it takes the sign of the divisor.
pub(super) fn floor_rem(a: i64, b: i64) -> i64 {
    // `checked_rem` fails only for `i64::MIN % -1`, whose remainder is 0.
    let remainder = a.checked_rem(b).unwrap_or(0);
    if remainder != 0 && ((remainder < 0) != (b < 0)) {
        remainder + b
    } else {
        remainder
    }
}

/// Python's `divmod` on floats (CPython's `float_divmod`), so `7.5 // 2` and `-7.5 % 2` give
/// what d20 gives: the remainder takes the divisor's sign, the quotient is floored.
fn float_div_mod(a: f64, b: f64) -> (f64, f64) {
    let mut remainder = a % b;
    let mut quotient = (a - remainder) / b;
    if remainder != 0.0 {
        if (b < 0.0) != (remainder < 0.0) {
            remainder += b;
            quotient -= 1.0;
        }
    } else {
        remainder = 0.0f64.copysign(b);
    }
    let floored = if quotient != 0.0 {
        let floor = quotient.floor();
        if quotient - floor > 0.5 {
            floor + 1.0
        } else {
            floor
        }
    } else {
        0.0f64.copysign(a / b)
    };
    (floored, remainder)
}

#[cfg(test)]
mod tests {
    use super::{Failure, Value, binary, float_div_mod, floor_div, floor_rem};
    use crate::core::game::dice::BinaryOp;

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
    fn float_floor_division_matches_python() {
        // Expected values from CPython: `divmod(a, b)`.
        let cases = [
            (7.5, 2.0, 3.0, 1.5),
            (-7.5, 2.0, -4.0, 0.5),
            (7.5, -2.0, -4.0, -0.5),
            (3.0, 1.5, 2.0, 0.0),
            (1.0, 0.1, 9.0, 0.09999999999999995),
        ];
        for (a, b, quotient, remainder) in cases {
            assert_eq!(
                float_div_mod(a, b),
                (quotient, remainder),
                "divmod({a}, {b})"
            );
        }
    }

    #[test]
    fn extreme_division_does_not_panic() {
        assert_eq!(floor_div(i64::MIN, -1), None);
        assert_eq!(floor_rem(i64::MIN, -1), 0);
        assert_eq!(floor_div(i64::MIN, 1), Some(i64::MIN));
        assert_eq!(floor_div(i64::MIN, 2), Some(i64::MIN / 2));
        assert_eq!(floor_rem(i64::MIN, i64::MAX), i64::MAX - 1);
        assert_eq!(
            binary(BinaryOp::Div, Value::Int(i64::MIN), Value::Int(-1)),
            Err(Failure::Overflow)
        );
        assert_eq!(
            binary(BinaryOp::Mul, Value::Float(1e300), Value::Float(1e300)),
            Err(Failure::Overflow)
        );
    }

    #[test]
    fn totals_round_towards_zero_and_forgive_float_noise() {
        assert_eq!(Value::Float(10.5).total(), Some(10));
        assert_eq!(Value::Float(-1.5).total(), Some(-1));
        assert_eq!(Value::Float(0.9999999999999998).total(), Some(1));
        assert_eq!(Value::Float(0.999).total(), Some(0));
        assert_eq!(Value::Float(9.3e18).total(), None);
        assert_eq!(Value::Float(-9.3e18).total(), None);
        assert_eq!(Value::Float(i64::MIN as f64).total(), Some(i64::MIN));
    }
}
