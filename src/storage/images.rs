use async_trait::async_trait;

use super::Db;
use super::rows::{self, store_error};
use crate::core::ids::{ImageId, Timestamp};
use crate::core::portrait::image::{ImageKind, NewImage, StoredImage};
use crate::core::store::{ImageStore, StoreResult};

#[async_trait]
impl ImageStore for Db {
    async fn put_image(&self, new: &NewImage) -> StoreResult<ImageId> {
        // Insert-or-ignore then read back: concurrent identical uploads end with one row.
        sqlx::query(
            "INSERT INTO images (kind, mime, bytes, sha256, prompt, model, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(new.kind.as_str())
        .bind(new.mime.as_str())
        .bind(new.bytes.clone())
        .bind(new.sha256.as_str())
        .bind(new.prompt.clone())
        .bind(new.model.clone())
        .bind(Timestamp::now().0)
        .execute(self.pool())
        .await
        .map_err(store_error)?;
        let id: i64 = sqlx::query_scalar("SELECT id FROM images WHERE sha256 = $1")
            .bind(new.sha256.as_str())
            .fetch_one(self.pool())
            .await
            .map_err(store_error)?;
        Ok(ImageId(id))
    }

    async fn image(&self, id: ImageId) -> StoreResult<Option<StoredImage>> {
        let row = sqlx::query("SELECT id, kind, mime, bytes, sha256, prompt, model, created_at FROM images WHERE id = $1")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await
            .map_err(store_error)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(StoredImage {
            id: ImageId(rows::int(&row, "id")?),
            kind: rows::parsed(&row, "kind", |raw| ImageKind::parse(raw).ok_or(()))?,
            mime: rows::text(&row, "mime")?,
            bytes: rows::bytes(&row, "bytes")?,
            sha256: rows::text(&row, "sha256")?,
            prompt: rows::opt_text(&row, "prompt")?,
            model: rows::opt_text(&row, "model")?,
            created_at: Timestamp(rows::int(&row, "created_at")?),
        }))
    }

    async fn delete_image_if_unused(&self, id: ImageId) -> StoreResult<bool> {
        let done = sqlx::query(
            "DELETE FROM images WHERE id = $1 \
             AND NOT EXISTS (SELECT 1 FROM campaigns WHERE gm_portrait_id = $1) \
             AND NOT EXISTS (SELECT 1 FROM characters WHERE portrait_id = $1)",
        )
        .bind(id.0)
        .execute(self.pool())
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn image_sha256(&self, id: ImageId) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT sha256 FROM images WHERE id = $1")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await
            .map_err(store_error)
    }
}
