//! Composition root: opens the database and wires the adapters together.

use std::sync::Arc;

use anyhow::Context;

use crate::config::Config;
use crate::core::accounts::auth::{Accounts, HashCost};
use crate::core::engine::observed::ObservedModels;
use crate::core::engine::shards::ShardSet;
use crate::core::engine::{Engine, EngineDeps, EngineSettings, ModelSource};
use crate::core::portrait::{ImageProvider, Portraits};
use crate::core::store::Store;
use crate::core::streaming::StreamPolicy;
use crate::discord::{Data, DiscordPresenter, DiscordSettings};
use crate::llm::{ProviderSettings, Registry, RetryPolicy};
use crate::ops::Ops;
use crate::storage::Db;

/// `gamemaster migrate`: bring the schema up to date and say where.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let db = Db::open_for_command(&config.database_url).await?;
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
    let db = Db::open_for_command(&config.database_url).await?;
    let summary = crate::storage::legacy_import::import_legacy(&db, path).await?;
    // The old app's calls reach `/stats` through the rollups, like the bot's own.
    db.catch_up_rollups().await;
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
        if !summary.conflicts.is_empty() {
            println!(
                "{} email conflicts (nothing was attached to an existing account):",
                summary.conflicts.len()
            );
            for conflict in &summary.conflicts {
                println!("  {conflict}");
            }
        }
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
            call_timeout: config.model_call_timeout,
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
    .with_server_limit(config.limits.portrait.server)
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
        limits: config.limits,
        state_tools: config.state_tools,
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
    let db = if config.shard_ids.is_some() {
        db.shared_with_other_processes()
    } else {
        db
    };
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
    let models = Arc::new(ObservedModels::new(registry.clone(), ops.metrics.clone()));
    let parts = BotParts {
        portraits: Arc::new(portraits(&config, &registry, store.clone())),
        models,
        store,
        registry,
        ops,
    };
    // Rolls up existing calls in the background (an upgraded database), then new ones.
    let rollups = db.spawn_rollup_refresher();
    let result = serve_discord(&config, parts, shutdown).await;
    let _ = http_stop.send(());
    if let Some(listener) = listener {
        let _ = listener.await;
    }
    rollups.abort();
    db.close().await;
    result
}

/// The parts the bot is built from, opened by [`run_until`].
struct BotParts {
    store: Arc<dyn Store>,
    registry: Arc<Registry>,
    models: Arc<dyn ModelSource>,
    portraits: Arc<Portraits>,
    ops: Arc<Ops>,
}

/// Where the bot connects, from the configuration.
pub fn discord_settings(config: &Config) -> anyhow::Result<DiscordSettings> {
    Ok(DiscordSettings {
        token: config
            .discord_token
            .clone()
            .context("DISCORD_TOKEN is required to run the bot")?,
        api_base_url: config.discord_api_base_url.clone(),
        guild_id: config.discord_guild_id,
        shard_count: config.shard_count,
        shard_ids: config.shard_ids.clone(),
    })
}

/// Account hashing with the configured argon2 cost, sharing the process's hashing slots.
pub fn accounts(config: &Config, store: Arc<dyn Store>) -> Accounts {
    let cost = HashCost {
        memory_kib: config.argon2.memory_kib,
        iterations: config.argon2.iterations,
        parallelism: config.argon2.parallelism,
    };
    Accounts::new(store, cost, crate::runtime::hashing_slots())
}

/// Connects to Discord, builds the engine on the connection's HTTP handle (one rate limiter
/// for commands and narrations), resumes the sessions that were running and serves until
/// `shutdown`, which drains the narrations in progress before the shards disconnect.
async fn serve_discord(
    config: &Config,
    parts: BotParts,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let connection = crate::discord::connect(discord_settings(config)?).await?;
    parts.ops.set_gateway(connection.gateway());
    let presenter = Arc::new(
        DiscordPresenter::new(connection.http())
            .with_pacer(Arc::new(crate::discord::pacing::Pacer::discord(
                config.discord_channel_rate,
                config.discord_global_rate,
            )))
            .with_store(parts.store.clone())
            .with_metrics(parts.ops.metrics.clone()),
    );
    let pacer = presenter.pacer();
    let engine = Engine::new(EngineDeps {
        store: parts.store.clone(),
        models: parts.models,
        presenter,
        settings: engine_settings(config),
    });
    resume_sessions(&engine).await;
    parts.ops.set_engine(engine.clone());
    let data = Data {
        accounts: accounts(config, parts.store.clone()),
        forms: Default::default(),
        slow_down: Default::default(),
        pacer,
        store: parts.store,
        registry: parts.registry,
        engine: engine.clone(),
        default_model: config.default_model.clone(),
        portraits: parts.portraits,
        stats_global: config.stats_global,
        ops: parts.ops,
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(drain_then_stop(
        shutdown,
        engine,
        config.shutdown_timeout,
        stop_tx,
    ));
    crate::discord::run(connection, data, stop_rx).await
}

async fn resume_sessions(engine: &Engine) {
    match engine.resume().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(sessions = n, "resumed the sessions that were running"),
        Err(e) => {
            tracing::error!(error = %e, "resuming sessions failed; they resume on the next message")
        }
    }
}

/// After `shutdown`, lets the narrations in progress finish (within `grace`), then tells the
/// gateway to stop. The gateway stays up meanwhile, so players' messages are still stored
/// (and told to wait for the restart).
async fn drain_then_stop(
    shutdown: impl Future<Output = ()>,
    engine: Engine,
    grace: std::time::Duration,
    stop: tokio::sync::watch::Sender<bool>,
) {
    shutdown.await;
    tracing::info!(
        grace_secs = grace.as_secs(),
        "shutting down: finishing the narrations in progress"
    );
    let report = engine.drain(grace).await;
    if report.finished {
        tracing::info!("every narration finished");
    } else {
        tracing::warn!(
            cut = report.cut,
            "narrations still running at the end of the grace period were stopped and marked interrupted"
        );
    }
    tracing::info!("shutting down: disconnecting from Discord");
    let _ = stop.send(true);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::models::chat::{ModelId, Usage};
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
