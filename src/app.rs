//! Composition root: opens the database and wires the adapters together.

use std::sync::Arc;

use anyhow::Context;

use crate::config::Config;
use crate::core::engine::shards::ShardSet;
use crate::core::portrait::{ImageProvider, Portraits};
use crate::core::store::Store;
use crate::core::streaming::StreamPolicy;
use crate::discord::{EngineSettings, Services};
use crate::llm::{ProviderSettings, Registry, RetryPolicy};
use crate::ops::Ops;
use crate::ops::instrument::InstrumentedModels;
use crate::storage::Db;

/// `gamemaster migrate`: bring the schema up to date and say where.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let db = Db::open(&config.database_url).await?;
    let rolled = db
        .refresh_rollups()
        .await
        .context("rolling up performance logs for /stats")?;
    tracing::info!(rows = rolled.rows, "stats rollups are up to date");
    tracing::info!(engine = db.backend().name(), url = %config.database_url, "database schema is up to date");
    println!(
        "{} database at {} is up to date",
        db.backend().name(),
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

/// `gamemaster healthcheck`: asks the running bot's `/healthz` and prints its answer.
pub async fn healthcheck(config: &Config) -> anyhow::Result<()> {
    let addr = config
        .metrics_addr
        .context("METRICS_ADDR is not set, so the bot serves no /healthz")?;
    let body = crate::ops::http::probe(addr).await?;
    print!("{body}");
    Ok(())
}

/// The providers of a loaded configuration.
pub fn provider_settings(config: &Config) -> ProviderSettings {
    ProviderSettings {
        keys: config.providers.clone(),
        openrouter_referer: None,
        openrouter_title: Some("AI GameMaster".to_string()),
        image_model: config.image_model.clone(),
        timeouts: RetryPolicy {
            idle_timeout: config.model_timeout,
            ..RetryPolicy::default()
        },
    }
}

/// The provider registry with its HTTP client; it is also the engine's model source.
pub fn registry(config: &Config) -> anyhow::Result<Registry> {
    let settings = provider_settings(config);
    let http = settings
        .timeouts
        .client_builder()
        .build()
        .context("building the HTTP client for model providers")?;
    Ok(Registry::new(settings, http))
}

/// Portraits with the configured image model (`IMAGE_MODEL`, through OpenAI's key and base
/// URL); without one every portrait is a placeholder that says why.
pub fn portraits(config: &Config, registry: &Registry, store: Arc<dyn Store>) -> Portraits {
    let provider = match (&config.image_model, registry.image_model()) {
        (Some(id), Some(model)) => {
            tracing::info!(model = %id, "portraits are generated");
            Some(ImageProvider {
                id: id.clone(),
                model,
            })
        }
        (Some(id), None) => {
            tracing::info!(model = %id, "portraits are placeholders: the image model needs OPENAI_API_KEY");
            None
        }
        (None, _) => None,
    };
    Portraits::new(
        store,
        provider,
        config.portraits_per_day,
        config.portrait_timeout,
    )
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
        arena_vote_timeout: config.arena_vote_timeout,
        shards: config.shard_ids.clone().map(|ids| ShardSet {
            ids,
            count: config.shard_count,
        }),
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
    // With several processes sharing the database, each marks only its own sessions'
    // narrations (as it resumes them): the others may be streaming right now.
    let interrupted = if config.shard_ids.is_some() {
        0
    } else {
        crate::core::store::MessageStore::interrupt_streaming(&db)
            .await
            .context("marking narrations cut by the last shutdown as interrupted")?
    };
    if interrupted > 0 {
        tracing::warn!(
            interrupted,
            "narrations cut by the last stop are marked interrupted"
        );
    }
    let registry = Arc::new(registry(&config)?);
    let ops = Arc::new(Ops::new());
    let store: Arc<dyn Store> = Arc::new(db.clone());
    let (http_stop, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let listener = match config.metrics_addr {
        Some(addr) => {
            let listener = crate::ops::http::bind(addr).await?;
            tracing::info!(addr = %listener.local_addr()?, "serving /healthz and /metrics");
            let (ops, store) = (ops.clone(), store.clone());
            Some(tokio::spawn(async move {
                let stopped = async {
                    let _ = http_stopped.await;
                };
                if let Err(e) = crate::ops::http::serve(listener, ops, store, stopped).await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            }))
        }
        None => None,
    };
    let services = Services {
        portraits: Arc::new(portraits(&config, &registry, store.clone())),
        models: Arc::new(InstrumentedModels::new(
            registry.clone(),
            ops.metrics.clone(),
        )),
        store,
        registry,
        engine_settings: engine_settings(&config),
        ops,
    };
    // Rolls up existing calls in the background (an upgraded database), then new ones.
    let rollups = db.spawn_rollup_refresher();
    let result = crate::discord::run(&config, services, shutdown).await;
    let _ = http_stop.send(());
    if let Some(listener) = listener {
        let _ = listener.await;
    }
    rollups.abort();
    db.close().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::models::chat::{ModelId, Usage};
    use crate::discord::ModelSource;
    use crate::llm::registry::DEFAULT_CONTEXT_WINDOW;

    #[test]
    fn unknown_models_get_the_default_context_window() {
        let registry = Arc::new(Registry::new(
            ProviderSettings::default(),
            reqwest::Client::new(),
        ));
        let models: &dyn ModelSource = &*registry;
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
