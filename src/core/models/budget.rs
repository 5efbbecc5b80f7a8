//! Monthly spending limits per server.

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
