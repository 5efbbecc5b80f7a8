//! Composition root: opens the database and wires the adapters together.

use std::sync::Arc;

use anyhow::Context;

use crate::config::Config;
use crate::core::llm::{ChatModel, LlmError, ModelId, Usage};
use crate::core::pricing::PriceTable;
use crate::core::streaming::StreamPolicy;
use crate::discord::{EngineSettings, ModelSource, Services};
use crate::llm::retry::RetryPolicy;
use crate::llm::{ProviderSettings, Registry};
use crate::storage::Db;

/// Context window assumed for models the price table does not list (most local models).
pub const DEFAULT_CONTEXT_WINDOW: u32 = 8192;

/// `gamemaster migrate`: bring the schema up to date and say where.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let db = Db::open(&config.database_url).await?;
    tracing::info!(engine = db.engine().name(), url = %config.database_url, "database schema is up to date");
    println!(
        "{} database at {} is up to date",
        db.engine().name(),
        config.database_url
    );
    db.close().await;
    Ok(())
}

/// `gamemaster import-legacy PATH`: one transaction; prints what was imported.
pub async fn import_legacy(config: &Config, path: &std::path::Path) -> anyhow::Result<()> {
    let db = Db::open(&config.database_url).await?;
    let summary = crate::storage::legacy_import::import_legacy(&db, path).await?;
    db.close().await;
    if summary.already_imported {
        println!("{} was already imported; nothing changed", path.display());
    } else {
        println!(
            "imported {} accounts, {} campaigns, {} characters, {} messages, {} performance logs ({} already present)",
            summary.accounts,
            summary.campaigns,
            summary.characters,
            summary.messages,
            summary.performance_logs,
            summary.skipped_existing
        );
    }
    Ok(())
}

/// Provider settings from the configuration.
pub fn provider_settings(config: &Config) -> ProviderSettings {
    let p = &config.providers;
    ProviderSettings {
        openai_api_key: p.openai_api_key.clone(),
        openai_base_url: p.openai_base_url.clone(),
        anthropic_api_key: p.anthropic_api_key.clone(),
        anthropic_base_url: p.anthropic_base_url.clone(),
        deepseek_api_key: p.deepseek_api_key.clone(),
        deepseek_base_url: p.deepseek_base_url.clone(),
        openrouter_api_key: p.openrouter_api_key.clone(),
        openrouter_base_url: p.openrouter_base_url.clone(),
        openrouter_referer: None,
        openrouter_title: Some("AI GameMaster".into()),
        local_base_url: p.local_base_url.clone(),
        local_models: p.local_models.clone(),
        image_model: config.image_model.clone(),
        timeouts: RetryPolicy::default(),
    }
}

/// The provider registry with its HTTP client.
pub fn registry(config: &Config) -> anyhow::Result<Registry> {
    let settings = provider_settings(config);
    let http = settings
        .timeouts
        .client_builder()
        .build()
        .context("building the HTTP client for model providers")?;
    Ok(Registry::new(settings, http))
}

/// Models for the engine: clients from the registry, sizes and prices from the price table.
pub struct RegistryModels {
    registry: Arc<Registry>,
    prices: &'static PriceTable,
}

impl RegistryModels {
    pub fn new(registry: Arc<Registry>) -> RegistryModels {
        RegistryModels {
            registry,
            prices: PriceTable::embedded(),
        }
    }
}

impl ModelSource for RegistryModels {
    fn chat_model(&self, id: &ModelId) -> Result<Arc<dyn ChatModel>, LlmError> {
        self.registry.chat_model(id)
    }

    fn context_window(&self, id: &ModelId) -> u32 {
        self.prices
            .context_window(id)
            .unwrap_or(DEFAULT_CONTEXT_WINDOW)
    }

    fn cost(&self, id: &ModelId, usage: &Usage) -> Option<f64> {
        self.prices.cost(id, usage)
    }
}

/// Engine settings from the configuration.
pub fn engine_settings(config: &Config) -> EngineSettings {
    EngineSettings {
        turn_window: config.turn_window,
        stream_policy: StreamPolicy {
            min_edit_interval: config.edit_interval,
            ..StreamPolicy::default()
        },
        default_model: config.default_model.clone(),
        ..EngineSettings::default()
    }
}

/// `gamemaster run`: the bot, until Ctrl-C or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    run_until(config, shutdown_signal()).await
}

/// Resolves on Ctrl-C, or SIGTERM (what `docker stop` sends).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// The bot, until `shutdown` completes; then it disconnects and closes the database.
pub async fn run_until(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let db = Db::open(&config.database_url).await?;
    let interrupted = crate::core::store::MessageStore::interrupt_streaming(&db)
        .await
        .context("marking narrations cut by the last shutdown as interrupted")?;
    if interrupted > 0 {
        tracing::warn!(
            interrupted,
            "narrations cut by the last stop are marked interrupted"
        );
    }
    let registry = Arc::new(registry(&config)?);
    let services = Services {
        store: Arc::new(db.clone()),
        models: Arc::new(RegistryModels::new(registry.clone())),
        registry,
        engine_settings: engine_settings(&config),
    };
    let result = crate::discord::run(&config, services, shutdown).await;
    db.close().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_models_get_the_default_context_window() {
        let registry = Arc::new(Registry::new(
            ProviderSettings::default(),
            reqwest::Client::new(),
        ));
        let models = RegistryModels::new(registry);
        let local = ModelId::parse("local:tiny").unwrap();
        assert_eq!(models.context_window(&local), DEFAULT_CONTEXT_WINDOW);
        let known = ModelId::parse("openai:gpt-4o").unwrap();
        assert!(models.context_window(&known) > DEFAULT_CONTEXT_WINDOW);
        // Local models run on the host's hardware: free; unlisted hosted models: unknown.
        assert_eq!(models.cost(&local, &Usage::default()), Some(0.0));
        let unlisted = ModelId::parse("openrouter:someone/new-model").unwrap();
        assert!(models.cost(&unlisted, &Usage::default()).is_none());
    }
}
