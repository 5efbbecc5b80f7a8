//! Cost and context window of a model, from the price table shipped in `assets/models.toml`.
//!
//! Prices live in data so that updating them is a data change with a date, not a code change.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::core::models::chat::{ModelId, Provider, Usage};

const EMBEDDED: &str = include_str!("../../../assets/models.toml");

#[derive(Debug, thiserror::Error)]
pub enum PriceTableError {
    #[error("price table is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("price table has a bad model id: {0}")]
    ModelId(#[from] crate::core::models::chat::ModelIdError),
    #[error("price table lists `{0}` twice")]
    Duplicate(String),
    #[error("image model `{model}` has no price for its default quality `{quality}`")]
    MissingDefaultQuality { model: String, quality: String },
}

/// Prices of one chat model, USD per million tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPrice {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    pub context_window: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
struct ImagePrices {
    default_quality: String,
    /// (quality, size) -> USD per image
    per_image: HashMap<(String, String), f64>,
}

#[derive(Debug, Clone)]
pub struct PriceTable {
    as_of: String,
    models: HashMap<ModelId, ModelPrice>,
    images: HashMap<ModelId, ImagePrices>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    as_of: String,
    #[serde(default)]
    model: Vec<RawModel>,
    #[serde(default)]
    image_model: Vec<RawImageModel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    id: String,
    input_per_mtok: f64,
    output_per_mtok: f64,
    context_window: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImageModel {
    id: String,
    default_quality: String,
    prices: Vec<RawImagePrice>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImagePrice {
    quality: String,
    size: String,
    usd: f64,
}

impl PriceTable {
    /// The table shipped with the binary, parsed once.
    pub fn embedded() -> &'static PriceTable {
        static TABLE: OnceLock<PriceTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            PriceTable::parse(EMBEDDED).expect("assets/models.toml is checked by the test suite")
        })
    }

    pub fn parse(text: &str) -> Result<PriceTable, PriceTableError> {
        let raw: RawTable = toml::from_str(text)?;
        let mut models = HashMap::new();
        for m in raw.model {
            let id = ModelId::parse(&m.id)?;
            let price = ModelPrice {
                input_per_mtok: m.input_per_mtok,
                output_per_mtok: m.output_per_mtok,
                context_window: m.context_window,
            };
            if models.insert(id, price).is_some() {
                return Err(PriceTableError::Duplicate(m.id));
            }
        }
        let mut images = HashMap::new();
        for m in raw.image_model {
            let id = ModelId::parse(&m.id)?;
            let per_image: HashMap<_, _> = m
                .prices
                .into_iter()
                .map(|p| ((p.quality, p.size), p.usd))
                .collect();
            if !per_image.keys().any(|(q, _)| *q == m.default_quality) {
                return Err(PriceTableError::MissingDefaultQuality {
                    model: m.id,
                    quality: m.default_quality,
                });
            }
            let prices = ImagePrices {
                default_quality: m.default_quality,
                per_image,
            };
            if images.insert(id, prices).is_some() {
                return Err(PriceTableError::Duplicate(m.id));
            }
        }
        Ok(PriceTable {
            as_of: raw.as_of,
            models,
            images,
        })
    }

    /// The date the prices were read from their sources (YYYY-MM-DD).
    pub fn as_of(&self) -> &str {
        &self.as_of
    }

    pub fn price(&self, model: &ModelId) -> Option<&ModelPrice> {
        self.models.get(model)
    }

    /// Cost in USD of one call. `None` for a model the table does not know: an unknown
    /// price must not be summed as zero. Local models run on the host's own hardware and
    /// have no per-token price, so they cost `Some(0.0)`.
    pub fn cost(&self, model: &ModelId, usage: &Usage) -> Option<f64> {
        if model.provider() == Provider::Local {
            return Some(0.0);
        }
        let p = self.models.get(model)?;
        Some(
            (f64::from(usage.tokens_in) * p.input_per_mtok
                + f64::from(usage.tokens_out) * p.output_per_mtok)
                / 1_000_000.0,
        )
    }

    /// USD for one image of `size` (e.g. "1024x1024") at the model's default quality.
    pub fn image_cost(&self, model: &ModelId, size: &str) -> Option<f64> {
        let prices = self.images.get(model)?;
        self.image_cost_at(model, size, &prices.default_quality)
    }

    pub fn image_cost_at(&self, model: &ModelId, size: &str, quality: &str) -> Option<f64> {
        let prices = self.images.get(model)?;
        prices
            .per_image
            .get(&(quality.to_string(), size.to_string()))
            .copied()
    }

    /// The quality the image client asks for, so that what is paid is what is priced.
    pub fn default_image_quality(&self, model: &ModelId) -> Option<&str> {
        self.images.get(model).map(|p| p.default_quality.as_str())
    }

    /// Input tokens the model accepts; callers pick a default when `None`.
    pub fn context_window(&self, model: &ModelId) -> Option<u32> {
        self.models.get(model)?.context_window
    }

    /// Chat models in the table, sorted by id.
    pub fn chat_models(&self) -> Vec<&ModelId> {
        let mut ids: Vec<_> = self.models.keys().collect();
        ids.sort();
        ids
    }

    pub fn image_models(&self) -> Vec<&ModelId> {
        let mut ids: Vec<_> = self.images.keys().collect();
        ids.sort();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ModelId {
        ModelId::parse(s).unwrap()
    }

    #[test]
    fn embedded_table_parses_and_has_a_date() {
        let t = PriceTable::embedded();
        assert_eq!(t.as_of().len(), 10);
        assert!(t.chat_models().len() >= 12);
    }

    #[test]
    fn cost_is_tokens_times_price_per_million() {
        let t = PriceTable::parse(
            "as_of = \"2026-01-01\"\n[[model]]\nid = \"openai:m\"\ninput_per_mtok = 2.0\noutput_per_mtok = 10.0\n",
        )
        .unwrap();
        let u = Usage {
            tokens_in: 1_000,
            tokens_out: 500,
            estimated: false,
        };
        let c = t.cost(&id("openai:m"), &u).unwrap();
        assert!((c - 0.007).abs() < 1e-12, "{c}");
    }

    #[test]
    fn unknown_model_has_no_cost_but_local_is_free() {
        let t = PriceTable::embedded();
        let u = Usage {
            tokens_in: 10,
            tokens_out: 10,
            estimated: false,
        };
        assert_eq!(t.cost(&id("openai:no-such-model"), &u), None);
        assert_eq!(t.cost(&id("local:gemma-3-270m"), &u), Some(0.0));
        assert_eq!(t.context_window(&id("openai:no-such-model")), None);
    }

    #[test]
    fn every_required_model_is_priced() {
        let t = PriceTable::embedded();
        for m in [
            "openai:gpt-4o",
            "openai:gpt-4o-mini",
            "openai:gpt-4.1",
            "openai:gpt-4.1-mini",
            "openai:gpt-5",
            "openai:gpt-5-mini",
            "anthropic:claude-sonnet-4-5",
            "anthropic:claude-haiku-4-5",
            "anthropic:claude-opus-4-1",
            "anthropic:claude-3-5-haiku-latest",
            "deepseek:deepseek-chat",
            "deepseek:deepseek-reasoner",
        ] {
            let p = t.price(&id(m)).unwrap_or_else(|| panic!("{m} missing"));
            assert!(p.input_per_mtok > 0.0 && p.output_per_mtok >= p.input_per_mtok / 10.0);
            assert!(t.context_window(&id(m)).unwrap() >= 100_000, "{m}");
        }
    }

    #[test]
    fn image_prices_by_size_at_default_quality() {
        let t = PriceTable::embedded();
        let dalle = id("openai:dall-e-3");
        let square = t.image_cost(&dalle, "1024x1024").unwrap();
        let tall = t.image_cost(&dalle, "1024x1792").unwrap();
        assert!(square > 0.0 && tall > square);
        assert!(t.image_cost(&dalle, "7x7").is_none());
        let gi = id("openai:gpt-image-1");
        assert_eq!(t.default_image_quality(&gi), Some("medium"));
        assert!(t.image_cost_at(&gi, "1024x1024", "high") > t.image_cost(&gi, "1024x1024"));
    }

    #[test]
    fn duplicate_and_bad_ids_are_rejected() {
        let dup = "as_of = \"x\"\n[[model]]\nid = \"openai:a\"\ninput_per_mtok = 1.0\noutput_per_mtok = 1.0\n[[model]]\nid = \"openai:a\"\ninput_per_mtok = 1.0\noutput_per_mtok = 1.0\n";
        assert!(matches!(
            PriceTable::parse(dup),
            Err(PriceTableError::Duplicate(_))
        ));
        let bad =
            "as_of = \"x\"\n[[model]]\nid = \"gpt\"\ninput_per_mtok = 1.0\noutput_per_mtok = 1.0\n";
        assert!(matches!(
            PriceTable::parse(bad),
            Err(PriceTableError::ModelId(_))
        ));
    }
}
