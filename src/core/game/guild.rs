//! Per-server settings an admin controls.

use crate::core::ids::GuildId;
use crate::core::models::chat::ModelId;

#[derive(Debug, Clone, PartialEq)]
pub struct GuildSettings {
    pub guild_id: GuildId,
    pub default_model: Option<ModelId>,
    pub fallback_model: Option<ModelId>,
    pub monthly_budget_usd: Option<f64>,
    pub arena_default: bool,
    /// The month (`YYYY-MM`) the 80% budget warning was last posted, so it is posted once.
    pub budget_warned_month: Option<String>,
}

impl GuildSettings {
    pub fn defaults(guild_id: GuildId) -> Self {
        GuildSettings {
            guild_id,
            default_model: None,
            fallback_model: None,
            monthly_budget_usd: None,
            arena_default: false,
            budget_warned_month: None,
        }
    }
}

/// Largest monthly budget accepted: a typo guard, not a business rule.
pub const MAX_MONTHLY_BUDGET_USD: f64 = 1_000_000.0;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    #[error(
        "`{0}` is not an amount in US dollars: write it like `25` or `12.50`, or `off` for no budget."
    )]
    NotAnAmount(String),
    #[error("The budget must be more than $0 (use `off` for no budget).")]
    NotPositive,
    #[error("That is more than the largest budget accepted ($1,000,000).")]
    TooLarge,
}

/// A monthly budget as typed by an admin: `25`, `$12.50`, or `off` (None: no limit).
pub fn parse_monthly_budget(raw: &str) -> Result<Option<f64>, BudgetError> {
    let text = raw.trim();
    if ["off", "none", "no", "unlimited"]
        .iter()
        .any(|w| text.eq_ignore_ascii_case(w))
    {
        return Ok(None);
    }
    let digits = text.strip_prefix('$').unwrap_or(text).trim();
    let valid = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.matches('.').count() <= 1;
    let amount: f64 = match valid.then(|| digits.parse::<f64>()) {
        Some(Ok(v)) if v.is_finite() => v,
        _ => return Err(BudgetError::NotAnAmount(text.to_string())),
    };
    if amount <= 0.0 {
        return Err(BudgetError::NotPositive);
    }
    if amount > MAX_MONTHLY_BUDGET_USD {
        return Err(BudgetError::TooLarge);
    }
    Ok(Some(amount))
}

impl GuildSettings {
    /// A new budget; the 80% warning may fire again against it this month.
    pub fn with_budget(mut self, budget: Option<f64>) -> Self {
        if self.monthly_budget_usd != budget {
            self.budget_warned_month = None;
        }
        self.monthly_budget_usd = budget;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_parse_from_what_admins_type() {
        assert_eq!(parse_monthly_budget("25"), Ok(Some(25.0)));
        assert_eq!(parse_monthly_budget(" $12.50 "), Ok(Some(12.5)));
        assert_eq!(parse_monthly_budget("OFF"), Ok(None));
        assert_eq!(parse_monthly_budget("0"), Err(BudgetError::NotPositive));
        assert_eq!(parse_monthly_budget("2000000"), Err(BudgetError::TooLarge));
        for bad in ["", "-5", "12,50", "1e3", "ten", "1.2.3", "NaN", "inf"] {
            assert!(
                matches!(parse_monthly_budget(bad), Err(BudgetError::NotAnAmount(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_new_budget_rearms_the_warning() {
        let mut s = GuildSettings::defaults(GuildId(1));
        s.monthly_budget_usd = Some(10.0);
        s.budget_warned_month = Some("2026-12".into());
        assert_eq!(
            s.clone()
                .with_budget(Some(10.0))
                .budget_warned_month
                .as_deref(),
            Some("2026-12")
        );
        let raised = s.with_budget(Some(50.0));
        assert_eq!(raised.monthly_budget_usd, Some(50.0));
        assert_eq!(raised.budget_warned_month, None);
    }
}
