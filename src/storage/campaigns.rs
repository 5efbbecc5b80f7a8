use async_trait::async_trait;
use sqlx::any::AnyRow;

use super::Db;
use super::rows::{self, store_error};
use crate::core::game::campaign::{Campaign, CampaignName, NewCampaign, Themes, Tone};
use crate::core::game::language::Language;
use crate::core::ids::{AccountId, CampaignId, GuildId, ImageId, Timestamp, UserId};
use crate::core::models::chat::ModelId;
use crate::core::store::{CampaignStore, ImageStore, StoreError, StoreResult};
use sqlx::AssertSqlSafe;

const COLUMNS: &str = "id, guild_id, owner_id, account_id, name, themes, language, tone, model, \
     fallback_model, arena_enabled, gm_portrait_id, created_at, archived_at";

fn campaign_from_row(row: &AnyRow) -> StoreResult<Campaign> {
    Ok(Campaign {
        id: CampaignId(rows::int(row, "id")?),
        guild_id: rows::opt_int(row, "guild_id")?.map(GuildId::from_i64),
        owner_id: rows::opt_int(row, "owner_id")?.map(UserId::from_i64),
        account_id: rows::opt_int(row, "account_id")?.map(AccountId),
        name: rows::parsed(row, "name", CampaignName::parse)?,
        themes: rows::parsed(row, "themes", Themes::parse)?,
        language: rows::parsed(row, "language", Language::parse)?,
        tone: rows::opt_parsed(row, "tone", Tone::parse)?,
        model: rows::parsed(row, "model", ModelId::parse)?,
        fallback_model: rows::opt_parsed(row, "fallback_model", ModelId::parse)?,
        arena_enabled: rows::boolean(row, "arena_enabled")?,
        gm_portrait_id: rows::opt_int(row, "gm_portrait_id")?.map(ImageId),
        created_at: Timestamp(rows::int(row, "created_at")?),
        archived_at: rows::opt_int(row, "archived_at")?.map(Timestamp),
    })
}

impl Db {
    async fn campaign_where(&self, clause: &str, binds: &[i64]) -> StoreResult<Option<Campaign>> {
        let sql = format!("SELECT {COLUMNS} FROM campaigns WHERE {clause}");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for b in binds {
            query = query.bind(*b);
        }
        let row = query
            .fetch_optional(self.pool())
            .await
            .map_err(store_error)?;
        row.as_ref().map(campaign_from_row).transpose()
    }
}

#[async_trait]
impl CampaignStore for Db {
    async fn create_campaign(&self, new: &NewCampaign) -> StoreResult<Campaign> {
        let sql = format!(
            "INSERT INTO campaigns (guild_id, owner_id, name, name_key, themes, language, tone, model, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(new.guild_id.as_i64())
            .bind(new.owner_id.as_i64())
            .bind(new.name.as_str())
            .bind(new.name.key())
            .bind(new.themes.as_str())
            .bind(new.language.code())
            .bind(new.tone.as_ref().map(|t| t.as_str().to_string()))
            .bind(new.model.to_string())
            .bind(Timestamp::now().0)
            .fetch_one(self.pool())
            .await
            .map_err(|e| {
                if rows::is_unique_violation(&e) {
                    StoreError::Conflict(format!(
                        "This server already has a campaign named \"{}\".",
                        new.name.as_str()
                    ))
                } else {
                    store_error(e)
                }
            })?;
        campaign_from_row(&row)
    }

    async fn campaign(&self, id: CampaignId) -> StoreResult<Option<Campaign>> {
        self.campaign_where("id = $1", &[id.0]).await
    }

    async fn campaign_in_guild(
        &self,
        guild: GuildId,
        id: CampaignId,
    ) -> StoreResult<Option<Campaign>> {
        self.campaign_where("id = $1 AND guild_id = $2", &[id.0, guild.as_i64()])
            .await
    }

    async fn campaign_by_name(&self, guild: GuildId, name: &str) -> StoreResult<Option<Campaign>> {
        let sql = format!("SELECT {COLUMNS} FROM campaigns WHERE guild_id = $1 AND name_key = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(guild.as_i64())
            .bind(crate::core::text::name_key(name))
            .fetch_optional(self.pool())
            .await
            .map_err(store_error)?;
        row.as_ref().map(campaign_from_row).transpose()
    }

    async fn list_campaigns(&self, guild: GuildId) -> StoreResult<Vec<Campaign>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM campaigns WHERE guild_id = $1 AND archived_at IS NULL ORDER BY name_key"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(guild.as_i64())
            .fetch_all(self.pool())
            .await
            .map_err(store_error)?;
        rows.iter().map(campaign_from_row).collect()
    }

    async fn search_campaigns(
        &self,
        guild: GuildId,
        fragment: &str,
        limit: u32,
    ) -> StoreResult<Vec<Campaign>> {
        // Matching is done here rather than with LIKE so `%` and `_` typed by users are literal.
        let needle = crate::core::text::name_key(fragment);
        let mut found: Vec<Campaign> = self
            .list_campaigns(guild)
            .await?
            .into_iter()
            .filter(|c| c.name.key().contains(&needle))
            .collect();
        found.sort_by_key(|c| !c.name.key().starts_with(&needle));
        found.truncate(limit as usize);
        Ok(found)
    }

    async fn set_campaign_model(&self, id: CampaignId, model: &ModelId) -> StoreResult<bool> {
        let set =
            rows::set_column(self.pool(), "campaigns", "model", id.0, model.to_string()).await?;
        Ok(self.changed(set))
    }

    async fn set_campaign_fallback(
        &self,
        id: CampaignId,
        model: Option<&ModelId>,
    ) -> StoreResult<bool> {
        let set = rows::set_column(
            self.pool(),
            "campaigns",
            "fallback_model",
            id.0,
            model.map(|m| m.to_string()),
        )
        .await?;
        Ok(self.changed(set))
    }

    async fn set_arena_enabled(&self, id: CampaignId, enabled: bool) -> StoreResult<bool> {
        let set =
            rows::set_column(self.pool(), "campaigns", "arena_enabled", id.0, enabled).await?;
        Ok(self.changed(set))
    }

    async fn set_gm_portrait(&self, id: CampaignId, image: Option<ImageId>) -> StoreResult<bool> {
        let set = rows::set_column(
            self.pool(),
            "campaigns",
            "gm_portrait_id",
            id.0,
            image.map(|i| i.0),
        )
        .await?;
        Ok(self.changed(set))
    }

    async fn delete_campaign(&self, id: CampaignId) -> StoreResult<bool> {
        let portrait: Option<Option<i64>> =
            sqlx::query_scalar("SELECT gm_portrait_id FROM campaigns WHERE id = $1")
                .bind(id.0)
                .fetch_optional(self.pool())
                .await
                .map_err(store_error)?;
        let deleted = self.changed(rows::delete_by_id(self.pool(), "campaigns", id.0).await?);
        if deleted && let Some(Some(image)) = portrait {
            self.delete_image_if_unused(ImageId(image)).await?;
        }
        Ok(deleted)
    }
}
