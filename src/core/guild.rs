//! Per-server settings an admin controls.

use crate::core::ids::GuildId;
use crate::core::llm::ModelId;

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
