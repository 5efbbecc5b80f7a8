use async_trait::async_trait;

use super::Db;
use super::rows::{self, store_error};
use crate::core::game::guild::GuildSettings;
use crate::core::ids::{GuildId, Timestamp};
use crate::core::models::chat::ModelId;
use crate::core::store::{GuildStore, StoreResult};

#[async_trait]
impl GuildStore for Db {
    async fn guild_settings(&self, guild: GuildId) -> StoreResult<GuildSettings> {
        let row = sqlx::query(
            "SELECT default_model, fallback_model, monthly_budget_usd, arena_default, budget_warned_month \
             FROM guild_settings WHERE guild_id = $1",
        )
        .bind(guild.as_i64())
        .fetch_optional(self.pool())
        .await
        .map_err(store_error)?;
        let Some(row) = row else {
            return Ok(GuildSettings::defaults(guild));
        };
        Ok(GuildSettings {
            guild_id: guild,
            default_model: rows::opt_parsed(&row, "default_model", ModelId::parse)?,
            fallback_model: rows::opt_parsed(&row, "fallback_model", ModelId::parse)?,
            monthly_budget_usd: rows::opt_float(&row, "monthly_budget_usd")?,
            arena_default: rows::boolean(&row, "arena_default")?,
            budget_warned_month: rows::opt_text(&row, "budget_warned_month")?,
        })
    }

    async fn save_guild_settings(&self, s: &GuildSettings) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO guild_settings (guild_id, default_model, fallback_model, monthly_budget_usd, arena_default, \
             budget_warned_month, updated_at) VALUES ($1, $2, $3, CASE WHEN $8 = 1 THEN $4 ELSE NULL END, $5, $6, $7) \
             ON CONFLICT (guild_id) DO UPDATE SET default_model = excluded.default_model, \
             fallback_model = excluded.fallback_model, monthly_budget_usd = excluded.monthly_budget_usd, \
             arena_default = excluded.arena_default, budget_warned_month = excluded.budget_warned_month, \
             updated_at = excluded.updated_at",
        )
        .bind(s.guild_id.as_i64())
        .bind(s.default_model.as_ref().map(ToString::to_string))
        .bind(s.fallback_model.as_ref().map(ToString::to_string))
        .bind(s.monthly_budget_usd.unwrap_or(0.0))
        .bind(s.arena_default)
        .bind(s.budget_warned_month.clone())
        .bind(Timestamp::now().0)
        .bind(i64::from(s.monthly_budget_usd.is_some()))
        .execute(self.pool())
        .await
        .map_err(store_error)?;
        self.changed(());
        Ok(())
    }

    fn settings_revision(&self) -> Option<u64> {
        self.revision()
    }
}
