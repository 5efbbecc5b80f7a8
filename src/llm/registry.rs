//! Model id -> client. A provider is enabled when its key (for `local`, its base URL) is set.

use std::sync::Arc;

use crate::core::models::chat::{ChatModel, ErrorKind, ImageModel, LlmError, ModelId, Provider};
use crate::core::models::pricing::{ModelPrice, PriceTable};
use crate::llm::anthropic::AnthropicClient;
use crate::llm::images::OpenAiImageClient;
use crate::llm::openai_compat::OpenAiCompatClient;
use crate::llm::retry::RetryPolicy;
use crate::secret::{Secret, redacted_url};

pub const OPENAI_DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
pub const ANTHROPIC_DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
pub const DEEPSEEK_DEFAULT_BASE_URL: &str = "https://api.deepseek.com";
pub const OPENROUTER_DEFAULT_BASE_URL: &str = "https://openrouter.ai/api/v1";

/// Which providers are enabled and where they answer: API keys and base URLs, as an admin
/// sets them (`OPENAI_API_KEY`, `OPENAI_BASE_URL`, ...). A provider is enabled when its key
/// (for `local`, its base URL) is set.
#[derive(Clone, Default)]
pub struct ProviderKeys {
    pub openai_api_key: Option<Secret>,
    pub openai_base_url: Option<String>,
    pub anthropic_api_key: Option<Secret>,
    pub anthropic_base_url: Option<String>,
    pub deepseek_api_key: Option<Secret>,
    pub deepseek_base_url: Option<String>,
    pub openrouter_api_key: Option<Secret>,
    pub openrouter_base_url: Option<String>,
    /// OpenRouter models the operator allows beyond the price table's (`OPENROUTER_MODELS`):
    /// nobody can run up the operator's key on a model that was not chosen.
    pub openrouter_models: Vec<String>,
    /// An OpenAI-compatible server root, e.g. `http://localhost:8089/v1`.
    pub local_base_url: Option<String>,
    /// Model names served there (`LOCAL_LLM_MODELS`), used as `local:<name>`.
    pub local_models: Vec<String>,
}

/// Keys are `Secret`s; base URLs may hold credentials (`https://user:pass@proxy`), so they
/// are shown redacted.
impl std::fmt::Debug for ProviderKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = |u: &Option<String>| u.as_deref().map(redacted_url);
        f.debug_struct("ProviderKeys")
            .field("openai_api_key", &self.openai_api_key)
            .field("openai_base_url", &url(&self.openai_base_url))
            .field("anthropic_api_key", &self.anthropic_api_key)
            .field("anthropic_base_url", &url(&self.anthropic_base_url))
            .field("deepseek_api_key", &self.deepseek_api_key)
            .field("deepseek_base_url", &url(&self.deepseek_base_url))
            .field("openrouter_api_key", &self.openrouter_api_key)
            .field("openrouter_base_url", &url(&self.openrouter_base_url))
            .field("openrouter_models", &self.openrouter_models)
            .field("local_base_url", &url(&self.local_base_url))
            .field("local_models", &self.local_models)
            .finish()
    }
}

impl ProviderKeys {
    pub fn any_enabled(&self) -> bool {
        self.openai_api_key.is_some()
            || self.anthropic_api_key.is_some()
            || self.deepseek_api_key.is_some()
            || self.openrouter_api_key.is_some()
            || self.local_base_url.is_some()
    }
}

/// Everything the registry needs to build clients, as plain data; `app.rs` fills it from the
/// configuration.
#[derive(Debug, Clone, Default)]
pub struct ProviderSettings {
    pub keys: ProviderKeys,
    /// Sent to OpenRouter as `HTTP-Referer` (optional app attribution).
    pub openrouter_referer: Option<String>,
    /// Sent to OpenRouter as `X-Title` (optional app attribution).
    pub openrouter_title: Option<String>,
    /// `None`: image generation is off.
    pub image_model: Option<ModelId>,
    pub timeouts: RetryPolicy,
}

/// A model the configuration can use.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub id: ModelId,
    pub context_window: Option<u32>,
    /// `None` for models the price table does not list (local models, most of OpenRouter).
    pub price: Option<ModelPrice>,
}

#[derive(Clone)]
pub struct Registry {
    settings: ProviderSettings,
    http: reqwest::Client,
}

impl Registry {
    pub fn new(settings: ProviderSettings, http: reqwest::Client) -> Registry {
        Registry { settings, http }
    }

    pub fn settings(&self) -> &ProviderSettings {
        &self.settings
    }

    pub fn is_enabled(&self, provider: Provider) -> bool {
        let s = &self.settings;
        match provider {
            Provider::OpenAi => s.keys.openai_api_key.is_some(),
            Provider::Anthropic => s.keys.anthropic_api_key.is_some(),
            Provider::DeepSeek => s.keys.deepseek_api_key.is_some(),
            Provider::OpenRouter => s.keys.openrouter_api_key.is_some(),
            Provider::Local => s.keys.local_base_url.is_some(),
        }
    }

    /// A client for `id`.
    ///
    /// OpenAI, Anthropic and DeepSeek models must be in the price table (otherwise their
    /// cost could not be reported); OpenRouter models must be in the price table or listed
    /// in `openrouter_models`; local models must be listed in `local_models`.
    pub fn chat_model(&self, id: &ModelId) -> Result<Arc<dyn ChatModel>, LlmError> {
        let provider = id.provider();
        if !self.is_enabled(provider) {
            return Err(LlmError::new(
                ErrorKind::Disabled,
                format!(
                    "provider {} is not configured: set {}",
                    provider.prefix(),
                    enabling_var(provider)
                ),
            ));
        }
        self.check_known(id)?;
        let s = &self.settings;
        let policy = s.timeouts.clone();
        let http = self.http.clone();
        let base = |url: &Option<String>, default: &str| {
            url.clone().unwrap_or_else(|| default.to_string())
        };
        let model: Arc<dyn ChatModel> = match provider {
            Provider::OpenAi => Arc::new(OpenAiCompatClient::new(
                http,
                id,
                base(&s.keys.openai_base_url, OPENAI_DEFAULT_BASE_URL),
                s.keys.openai_api_key.clone(),
                policy,
            )),
            Provider::DeepSeek => Arc::new(OpenAiCompatClient::new(
                http,
                id,
                base(&s.keys.deepseek_base_url, DEEPSEEK_DEFAULT_BASE_URL),
                s.keys.deepseek_api_key.clone(),
                policy,
            )),
            Provider::OpenRouter => {
                let mut client = OpenAiCompatClient::new(
                    http,
                    id,
                    base(&s.keys.openrouter_base_url, OPENROUTER_DEFAULT_BASE_URL),
                    s.keys.openrouter_api_key.clone(),
                    policy,
                );
                if let Some(referer) = &s.openrouter_referer {
                    client = client.with_header("HTTP-Referer", referer);
                }
                if let Some(title) = &s.openrouter_title {
                    client = client.with_header("X-Title", title);
                }
                Arc::new(client)
            }
            Provider::Local => Arc::new(OpenAiCompatClient::new(
                http,
                id,
                base(&s.keys.local_base_url, ""),
                None,
                policy,
            )),
            Provider::Anthropic => Arc::new(AnthropicClient::new(
                http,
                id,
                base(&s.keys.anthropic_base_url, ANTHROPIC_DEFAULT_BASE_URL),
                s.keys
                    .anthropic_api_key
                    .clone()
                    .expect("enabled means the key is set"),
                policy,
            )),
        };
        Ok(model)
    }

    fn check_known(&self, id: &ModelId) -> Result<(), LlmError> {
        let table = PriceTable::embedded();
        let known = match id.provider() {
            Provider::OpenRouter => {
                table.price(id).is_some()
                    || self
                        .settings
                        .keys
                        .openrouter_models
                        .iter()
                        .any(|m| m == id.name())
            }
            Provider::Local => self
                .settings
                .keys
                .local_models
                .iter()
                .any(|m| m == id.name()),
            _ => table.price(id).is_some(),
        };
        if known {
            return Ok(());
        }
        let hint = match id.provider() {
            Provider::Local => "add it to LOCAL_LLM_MODELS".to_string(),
            Provider::OpenRouter => {
                "the bot's operator can allow it in OPENROUTER_MODELS".to_string()
            }
            _ => "see /models for the models this bot knows".to_string(),
        };
        Err(LlmError::new(
            ErrorKind::UnknownModel,
            format!("unknown model `{id}`: {hint}"),
        ))
    }

    /// The configured image model, when set and OpenAI is enabled.
    pub fn image_model(&self) -> Option<Arc<dyn ImageModel>> {
        let s = &self.settings;
        let id = s.image_model.as_ref()?;
        let key = s.keys.openai_api_key.clone()?;
        if id.provider() != Provider::OpenAi {
            return None;
        }
        let base = s
            .keys
            .openai_base_url
            .clone()
            .unwrap_or_else(|| OPENAI_DEFAULT_BASE_URL.to_string());
        Some(Arc::new(OpenAiImageClient::new(
            self.http.clone(),
            id,
            base,
            key,
            s.timeouts.clone(),
        )))
    }

    /// Chat models of the enabled providers: the price table's, then each local model.
    pub fn available_models(&self) -> Vec<ModelInfo> {
        let table = PriceTable::embedded();
        let mut out: Vec<ModelInfo> = table
            .chat_models()
            .into_iter()
            .filter(|id| self.is_enabled(id.provider()))
            .map(|id| ModelInfo {
                id: id.clone(),
                context_window: table.context_window(id),
                price: table.price(id).cloned(),
            })
            .collect();
        if self.is_enabled(Provider::OpenRouter) {
            for name in &self.settings.keys.openrouter_models {
                let Ok(id) = ModelId::parse(&format!("openrouter:{name}")) else {
                    continue;
                };
                if out.iter().all(|m| m.id != id) {
                    out.push(ModelInfo {
                        context_window: table.context_window(&id),
                        price: table.price(&id).cloned(),
                        id,
                    });
                }
            }
        }
        if self.is_enabled(Provider::Local) {
            for name in &self.settings.keys.local_models {
                if let Ok(id) = ModelId::parse(&format!("local:{name}")) {
                    out.push(ModelInfo {
                        id,
                        context_window: None,
                        price: None,
                    });
                }
            }
        }
        out
    }
}

/// Context window assumed for models the price table does not list (local and most
/// OpenRouter models). 8192 tokens suits small local servers started with `--n_ctx 8192`;
/// larger models simply get a shorter history than they could hold.
pub const DEFAULT_CONTEXT_WINDOW: u32 = 8192;

/// The registry as the session engine's model source: prices and windows from the
/// embedded price table.
impl crate::core::engine::ModelSource for Registry {
    fn chat_model(&self, id: &ModelId) -> Result<Arc<dyn ChatModel>, LlmError> {
        Registry::chat_model(self, id)
    }

    fn context_window(&self, id: &ModelId) -> u32 {
        PriceTable::embedded()
            .context_window(id)
            .unwrap_or(DEFAULT_CONTEXT_WINDOW)
    }

    fn cost(&self, id: &ModelId, usage: &crate::core::models::chat::Usage) -> Option<f64> {
        PriceTable::embedded().cost(id, usage)
    }

    fn arena_models(&self) -> Vec<ModelId> {
        self.available_models().into_iter().map(|m| m.id).collect()
    }
}

/// The environment variable that turns `provider` on.
pub fn enabling_var(provider: Provider) -> &'static str {
    match provider {
        Provider::OpenAi => "OPENAI_API_KEY",
        Provider::Anthropic => "ANTHROPIC_API_KEY",
        Provider::DeepSeek => "DEEPSEEK_API_KEY",
        Provider::OpenRouter => "OPENROUTER_API_KEY",
        Provider::Local => "LOCAL_LLM_BASE_URL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ModelId {
        ModelId::parse(s).unwrap()
    }

    fn registry(settings: ProviderSettings) -> Registry {
        Registry::new(settings, reqwest::Client::new())
    }

    #[test]
    fn disabled_provider_says_which_variable_to_set() {
        let r = registry(ProviderSettings::default());
        let err = r
            .chat_model(&id("anthropic:claude-sonnet-4-5"))
            .err()
            .unwrap();
        assert_eq!(err.kind, ErrorKind::Disabled);
        assert_eq!(
            err.message,
            "provider anthropic is not configured: set ANTHROPIC_API_KEY"
        );
    }

    #[test]
    fn only_models_the_operator_enabled_can_be_chosen() {
        let r = registry(ProviderSettings {
            keys: ProviderKeys {
                openai_api_key: Some(Secret::new("k")),
                openrouter_api_key: Some(Secret::new("k")),
                openrouter_models: vec!["some/new-model".into()],
                local_base_url: Some("http://127.0.0.1:1/v1".into()),
                local_models: vec!["gemma-3-270m".into()],
                ..Default::default()
            },
            ..Default::default()
        });
        assert_eq!(
            r.chat_model(&id("openai:gpt-99")).err().unwrap().kind,
            ErrorKind::UnknownModel
        );
        assert!(r.chat_model(&id("openai:gpt-4o")).is_ok());
        assert!(r.chat_model(&id("openrouter:some/new-model")).is_ok());
        let e = r
            .chat_model(&id("openrouter:some/costly-model"))
            .err()
            .unwrap();
        assert_eq!(e.kind, ErrorKind::UnknownModel);
        assert!(e.message.contains("OPENROUTER_MODELS"), "{}", e.message);
        assert!(
            r.available_models()
                .iter()
                .any(|m| m.id == id("openrouter:some/new-model"))
        );
        assert!(r.chat_model(&id("local:gemma-3-270m")).is_ok());
        let e = r.chat_model(&id("local:other")).err().unwrap();
        assert_eq!(e.kind, ErrorKind::UnknownModel);
        assert!(e.message.contains("LOCAL_LLM_MODELS"));
    }

    #[test]
    fn available_models_lists_enabled_providers_and_local_models() {
        let r = registry(ProviderSettings {
            keys: ProviderKeys {
                deepseek_api_key: Some(Secret::new("k")),
                local_base_url: Some("http://127.0.0.1:1/v1".into()),
                local_models: vec!["gemma-3-270m".into()],
                ..Default::default()
            },
            ..Default::default()
        });
        let ids: Vec<String> = r
            .available_models()
            .iter()
            .map(|m| m.id.to_string())
            .collect();
        assert_eq!(
            ids,
            [
                "deepseek:deepseek-chat",
                "deepseek:deepseek-reasoner",
                "local:gemma-3-270m"
            ]
        );
        assert!(r.available_models()[0].context_window.is_some());
        assert!(r.is_enabled(Provider::Local) && !r.is_enabled(Provider::OpenAi));
    }

    #[test]
    fn image_model_needs_openai() {
        let mut s = ProviderSettings {
            image_model: Some(id("openai:gpt-image-1")),
            ..Default::default()
        };
        assert!(registry(s.clone()).image_model().is_none());
        s.keys.openai_api_key = Some(Secret::new("k"));
        assert!(registry(s).image_model().is_some());
    }

    #[test]
    fn settings_debug_never_shows_keys() {
        let s = ProviderSettings {
            keys: ProviderKeys {
                openai_api_key: Some(Secret::new("sk-verysecret")),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(!format!("{s:?}").contains("verysecret"));
    }
}
