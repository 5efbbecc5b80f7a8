//! OpenAI Images API (`dall-e-3`, `gpt-image-1`). Always asks for base64 data: provider
//! image URLs expire within the hour, and the bytes are stored and posted as attachments.

use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use crate::core::models::chat::{
    ErrorKind, GeneratedImage, ImageModel, ImageRequest, LlmError, ModelId,
};
use crate::core::models::pricing::PriceTable;
use crate::llm::retry::RetryPolicy;
use crate::secret::Secret;

const LABEL: &str = "openai images";

pub struct OpenAiImageClient {
    http: reqwest::Client,
    model: ModelId,
    base_url: String,
    api_key: Secret,
    policy: RetryPolicy,
}

impl OpenAiImageClient {
    /// `base_url` is the API root that `/images/generations` is appended to.
    pub fn new(
        http: reqwest::Client,
        model: &ModelId,
        base_url: impl Into<String>,
        api_key: Secret,
        policy: RetryPolicy,
    ) -> Self {
        OpenAiImageClient {
            http,
            model: model.clone(),
            base_url: base_url.into().trim_end_matches('/').to_string(),
            api_key,
            policy,
        }
    }

    pub fn request_body(&self, request: &ImageRequest) -> serde_json::Value {
        let mut body = json!({
            "model": self.model.name(),
            "prompt": request.prompt,
            "n": 1,
            "size": request.size,
        });
        // Ask for the quality the price table prices, so the recorded cost is what is paid.
        if let Some(q) = PriceTable::embedded().default_image_quality(&self.model) {
            body["quality"] = json!(q);
        }
        // gpt-image models always answer with base64 and reject `response_format`;
        // dall-e models default to a URL unless asked.
        if !self.model.name().starts_with("gpt-image") {
            body["response_format"] = json!("b64_json");
        }
        body
    }
}

#[derive(Deserialize)]
struct ImagesResponse {
    #[serde(default)]
    data: Vec<ImageData>,
}

#[derive(Deserialize)]
struct ImageData {
    b64_json: Option<String>,
}

#[async_trait::async_trait]
impl ImageModel for OpenAiImageClient {
    async fn generate(&self, request: ImageRequest) -> Result<GeneratedImage, LlmError> {
        let body = self.request_body(&request);
        let url = format!("{}/images/generations", self.base_url);
        let response = self
            .policy
            .send_unstreamed(LABEL, Some(&self.api_key), || {
                self.http
                    .post(&url)
                    .bearer_auth(self.api_key.expose())
                    .json(&body)
            })
            .await?;
        let raw = self.policy.read_body(LABEL, response).await?;
        decode_image_response(&raw)
    }
}

/// Extracts the first image from an Images API response body.
pub fn decode_image_response(raw: &[u8]) -> Result<GeneratedImage, LlmError> {
    let malformed = |what: &str| LlmError::new(ErrorKind::Malformed, format!("{LABEL}: {what}"));
    let parsed: ImagesResponse =
        serde_json::from_slice(raw).map_err(|_| malformed("response is not the expected JSON"))?;
    let b64 = parsed
        .data
        .into_iter()
        .find_map(|d| d.b64_json)
        .ok_or_else(|| malformed("response has no base64 image"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| malformed("image data is not valid base64"))?;
    let mime = sniff_mime(&bytes).ok_or_else(|| malformed("image is not PNG, JPEG or WebP"))?;
    Ok(GeneratedImage {
        bytes,
        mime: mime.to_string(),
    })
}

/// The MIME type from the file's magic bytes.
pub fn sniff_mime(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_magic_bytes() {
        assert_eq!(sniff_mime(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff_mime(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff_mime(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_mime(b"GIF89a"), None);
    }
}
