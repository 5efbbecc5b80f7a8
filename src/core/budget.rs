//! Monthly spending limits per server.

use crate::core::chart::civil_from_days;
use crate::core::ids::Timestamp;
use crate::core::legacy::timestamp_ms;

/// The first instant of `now`'s calendar month (UTC), and its `YYYY-MM` label.
pub fn month_start(now: Timestamp) -> (Timestamp, String) {
    let days = now.0.div_euclid(86_400_000) as i32;
    let (year, month, _) = civil_from_days(days);
    let label = format!("{year:04}-{month:02}");
    let start = timestamp_ms(&format!("{label}-01 00:00:00")).unwrap_or(now.0);
    (Timestamp(start), label)
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BudgetState {
    /// No budget set, or under 80% of it.
    Fine,
    /// 80% or more spent: warn the channel once a month.
    Warning { spent: f64, budget: f64 },
    /// The budget is spent: new model calls are refused until the month ends.
    Exhausted { spent: f64, budget: f64 },
}

pub fn budget_state(spent: f64, budget: Option<f64>) -> BudgetState {
    match budget {
        Some(budget) if spent >= budget => BudgetState::Exhausted { spent, budget },
        Some(budget) if spent >= 0.8 * budget => BudgetState::Warning { spent, budget },
        _ => BudgetState::Fine,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_start_at_midnight_on_the_first() {
        let (start, label) = month_start(Timestamp(1_709_296_205_000)); // 2024-03-01 12:30:05
        assert_eq!(label, "2024-03");
        assert_eq!(start, Timestamp(1_709_251_200_000));
        let (start, label) = month_start(Timestamp(1_706_745_599_000)); // 2024-01-31 23:59:59
        assert_eq!(
            (label.as_str(), start),
            ("2024-01", Timestamp(1_704_067_200_000))
        );
    }

    #[test]
    fn thresholds() {
        assert_eq!(budget_state(5.0, None), BudgetState::Fine);
        assert_eq!(budget_state(7.9, Some(10.0)), BudgetState::Fine);
        assert_eq!(
            budget_state(8.0, Some(10.0)),
            BudgetState::Warning {
                spent: 8.0,
                budget: 10.0
            }
        );
        assert_eq!(
            budget_state(10.0, Some(10.0)),
            BudgetState::Exhausted {
                spent: 10.0,
                budget: 10.0
            }
        );
    }
}
