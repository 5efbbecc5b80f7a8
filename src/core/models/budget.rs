//! Monthly spending limits per server.

use crate::core::models::chat::{ModelId, Provider};

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

/// Whether calls to `model` can be counted against a budget: it has a price (`priced`), or
/// runs on the operator's own server (local models cost nothing here), or its provider
/// reports each call's cost (OpenRouter's `usage.cost`). A model that is none of these is
/// refused where a budget is set: counting it as free would let it spend without limit.
pub fn countable(model: &ModelId, priced: bool) -> bool {
    priced || matches!(model.provider(), Provider::Local | Provider::OpenRouter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpriced_models_count_only_when_free_or_reported() {
        let id = |s| ModelId::parse(s).unwrap();
        assert!(countable(&id("openai:gpt-4o"), true));
        assert!(!countable(&id("openai:gpt-9"), false));
        assert!(!countable(&id("deepseek:deepseek-r9"), false));
        assert!(countable(&id("local:gemma-3-270m"), false));
        assert!(countable(&id("openrouter:some/model"), false));
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
