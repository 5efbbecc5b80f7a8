use async_trait::async_trait;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use super::Db;
use super::rows::{self, store_error};
use crate::core::game::character::{
    Character, CharacterClass, CharacterName, Description, Gender, NewCharacter, Race,
};
use crate::core::ids::{AccountId, CampaignId, CharacterId, GuildId, ImageId, Timestamp, UserId};
use crate::core::store::{CharacterStore, ImageStore, StoreResult};
use sqlx::AssertSqlSafe;

const COLUMNS: &str = "id, owner_id, guild_id, campaign_id, account_id, name, class, race, gender, level, \
     description, portrait_id, created_at";

fn character_from_row(row: &AnyRow) -> StoreResult<Character> {
    Ok(Character {
        id: CharacterId(rows::int(row, "id")?),
        owner_id: rows::opt_int(row, "owner_id")?.map(UserId::from_i64),
        guild_id: rows::opt_int(row, "guild_id")?.map(GuildId::from_i64),
        campaign_id: rows::opt_int(row, "campaign_id")?.map(CampaignId),
        account_id: rows::opt_int(row, "account_id")?.map(AccountId),
        name: rows::parsed(row, "name", CharacterName::parse)?,
        class: rows::parsed(row, "class", CharacterClass::parse)?,
        race: rows::parsed(row, "race", Race::parse)?,
        gender: rows::opt_parsed(row, "gender", Gender::parse)?,
        level: rows::int(row, "level")?,
        description: rows::opt_parsed(row, "description", Description::parse)?,
        portrait_id: rows::opt_int(row, "portrait_id")?.map(ImageId),
        created_at: Timestamp(rows::int(row, "created_at")?),
    })
}

/// Inserts a character (level 1) on `conn`, which may be inside a transaction.
pub(super) async fn insert_character(
    conn: &mut AnyConnection,
    new: &NewCharacter,
) -> StoreResult<Character> {
    let sql = format!(
        "INSERT INTO characters (owner_id, guild_id, campaign_id, name, class, race, gender, level, description, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(new.owner_id.as_i64())
        .bind(new.guild_id.as_i64())
        .bind(new.campaign_id.map(|c| c.0))
        .bind(new.name.as_str())
        .bind(new.class.as_str())
        .bind(new.race.as_str())
        .bind(new.gender.as_ref().map(|g| g.as_str().to_string()))
        .bind(new.description.as_ref().map(|d| d.as_str().to_string()))
        .bind(Timestamp::now().0)
        .fetch_one(&mut *conn)
        .await
        .map_err(store_error)?;
    character_from_row(&row)
}

impl Db {
    async fn characters_where(&self, clause: &str, binds: &[i64]) -> StoreResult<Vec<Character>> {
        let sql = format!("SELECT {COLUMNS} FROM characters WHERE {clause} ORDER BY id");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for b in binds {
            query = query.bind(*b);
        }
        let rows = query.fetch_all(self.pool()).await.map_err(store_error)?;
        rows.iter().map(character_from_row).collect()
    }
}

#[async_trait]
impl CharacterStore for Db {
    async fn create_character(&self, new: &NewCharacter) -> StoreResult<Character> {
        let mut conn = self.pool().acquire().await.map_err(store_error)?;
        let character = insert_character(&mut conn, new).await?;
        Ok(self.changed(character))
    }

    async fn character(&self, id: CharacterId) -> StoreResult<Option<Character>> {
        Ok(self.characters_where("id = $1", &[id.0]).await?.pop())
    }

    async fn list_characters(
        &self,
        guild: GuildId,
        owner: Option<UserId>,
    ) -> StoreResult<Vec<Character>> {
        match owner {
            Some(owner) => {
                self.characters_where(
                    "guild_id = $1 AND owner_id = $2",
                    &[guild.as_i64(), owner.as_i64()],
                )
                .await
            }
            None => {
                self.characters_where("guild_id = $1", &[guild.as_i64()])
                    .await
            }
        }
    }

    async fn campaign_characters(&self, campaign: CampaignId) -> StoreResult<Vec<Character>> {
        self.characters_where("campaign_id = $1", &[campaign.0])
            .await
    }

    async fn set_character_portrait(
        &self,
        id: CharacterId,
        image: Option<ImageId>,
    ) -> StoreResult<bool> {
        let set = rows::set_column(
            self.pool(),
            "characters",
            "portrait_id",
            id.0,
            image.map(|i| i.0),
        )
        .await?;
        Ok(self.changed(set))
    }

    async fn delete_character(&self, id: CharacterId) -> StoreResult<bool> {
        let portrait: Option<Option<i64>> =
            sqlx::query_scalar("SELECT portrait_id FROM characters WHERE id = $1")
                .bind(id.0)
                .fetch_optional(self.pool())
                .await
                .map_err(store_error)?;
        let deleted = self.changed(rows::delete_by_id(self.pool(), "characters", id.0).await?);
        if deleted && let Some(Some(image)) = portrait {
            self.delete_image_if_unused(ImageId(image)).await?;
        }
        Ok(deleted)
    }
}
