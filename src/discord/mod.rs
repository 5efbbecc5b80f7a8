//! The Discord adapter: the only place that knows serenity and poise. Commands are thin: they
//! parse options into core types, call one store or engine function, and render the result.

pub mod commands;
pub mod embeds;
pub mod error;
mod events;
mod framework;
pub mod portraits;
pub mod presenter;

use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use serenity::all::{
    Client, ClientBuilder, CreateAllowedMentions, GatewayError, GatewayIntents, HttpBuilder,
};

use crate::config::Config;
use crate::core::accounts::auth::{Accounts, HashCost};
use crate::core::models::chat::ModelId;
use crate::core::portrait::Portraits;
use crate::core::store::Store;
use crate::llm::Registry;
use crate::ops::{Gateway, Ops, ShardState};

pub use crate::core::engine::{
    Engine, EngineDeps, EngineSettings, ModelSource, Notice, PresentError, Presenter,
};
pub use error::{BotError, BotResult};
pub use presenter::DiscordPresenter;

/// What every command and event handler can reach.
#[derive(Clone)]
pub struct Data {
    pub store: Arc<dyn Store>,
    pub registry: Arc<Registry>,
    pub engine: Engine,
    /// `DEFAULT_MODEL`, used when neither the command nor the server names one.
    pub default_model: Option<ModelId>,
    pub portraits: Arc<Portraits>,
    /// `STATS_GLOBAL`: whether `/stats scope:global` may show every server's data.
    pub stats_global: bool,
    /// Metrics, host and gateway status for `/system`.
    pub ops: Arc<Ops>,
    /// Registration and linking of accounts (argon2id with the configured cost).
    pub accounts: Accounts,
    /// The account forms this bot is waiting for.
    pub forms: commands::account::OpenForms,
}

pub type Context<'a> = poise::Context<'a, Data, BotError>;

/// The parts of the application the bot is built from.
pub struct Services {
    pub store: Arc<dyn Store>,
    pub registry: Arc<Registry>,
    pub models: Arc<dyn ModelSource>,
    pub engine_settings: EngineSettings,
    pub portraits: Arc<Portraits>,
    pub ops: Arc<Ops>,
}

/// The intents the bot needs: guild events, guild messages and their content (plain messages
/// in a session channel are player turns; `/act` works without Message Content).
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::MESSAGE_CONTENT
}

/// Connects to Discord (or to `DISCORD_API_BASE_URL`), resumes the sessions that were running
/// and serves until `shutdown` completes (then every shard disconnects) or the gateway stops.
pub async fn run(
    config: &Config,
    services: Services,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let token = config
        .discord_token
        .as_ref()
        .context("DISCORD_TOKEN is required to run the bot")?;
    let http = || {
        let mut http =
            HttpBuilder::new(token.expose()).default_allowed_mentions(CreateAllowedMentions::new());
        if let Some(base) = &config.discord_api_base_url {
            http = http.proxy(base.clone()).ratelimiter_disabled(true);
        }
        http.build()
    };
    if let Some(base) = &config.discord_api_base_url {
        tracing::info!(base = %base, "Discord traffic goes to DISCORD_API_BASE_URL");
    }
    let mut intents = intents();
    let (data_cell, mut client) = connect(config, http(), intents).await?;
    services
        .ops
        .set_gateway(Arc::new(Shards(client.shard_manager.clone())));

    // The engine posts through the client's HTTP handle (one rate limiter for both).
    let presenter = Arc::new(
        DiscordPresenter::new(client.http.clone())
            .with_store(services.store.clone())
            .with_metrics(services.ops.metrics.clone()),
    );
    let engine = Engine::new(EngineDeps {
        store: services.store.clone(),
        models: services.models,
        presenter,
        settings: services.engine_settings,
    });
    match engine.resume().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(sessions = n, "resumed the sessions that were running"),
        Err(e) => {
            tracing::error!(error = %e, "resuming sessions failed; they resume on the next message")
        }
    }
    services.ops.set_engine(engine.clone());
    let cost = HashCost {
        memory_kib: config.argon2.memory_kib,
        iterations: config.argon2.iterations,
        parallelism: config.argon2.parallelism,
    };
    let data = Data {
        accounts: Accounts::new(
            services.store.clone(),
            cost,
            crate::runtime::hashing_slots(),
        ),
        forms: Default::default(),
        store: services.store,
        registry: services.registry,
        engine: engine.clone(),
        default_model: config.default_model.clone(),
        portraits: services.portraits,
        stats_global: config.stats_global,
        ops: services.ops.clone(),
    };
    let _ = data_cell.set(data.clone());

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let grace = config.shutdown_timeout;
    tokio::spawn(async move {
        shutdown.await;
        // The gateway stays up while narrations finish, so players' messages are still
        // stored (and told to wait for the restart).
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
        let _ = stop_tx.send(true);
    });
    loop {
        match serve(config, &mut client, stop_rx.clone()).await {
            Err(serenity::Error::Gateway(GatewayError::DisallowedGatewayIntents))
                if intents.contains(GatewayIntents::MESSAGE_CONTENT) =>
            {
                tracing::warn!(
                    "the Message Content intent is not enabled for this bot in the Discord developer portal: \
                     plain messages can't be read, so players use /act (enable the intent and restart to \
                     let them simply write)"
                );
                intents.remove(GatewayIntents::MESSAGE_CONTENT);
                let (cell, next) = connect(config, http(), intents).await?;
                let _ = cell.set(data.clone());
                data.ops
                    .set_gateway(Arc::new(Shards(next.shard_manager.clone())));
                client = next;
            }
            other => return other.context("the Discord gateway connection stopped"),
        }
    }
}

/// A client with the framework; its data is set by the caller before it starts.
async fn connect(
    config: &Config,
    http: serenity::all::Http,
    intents: GatewayIntents,
) -> anyhow::Result<(Arc<OnceLock<Data>>, Client)> {
    let data_cell: Arc<OnceLock<Data>> = Arc::new(OnceLock::new());
    let framework = framework::build(data_cell.clone(), config.discord_guild_id);
    let client = ClientBuilder::new_with_http(http, intents)
        .framework(framework)
        .await
        .context("building the Discord client")?;
    Ok((data_cell, client))
}

/// Runs the configured shards until they stop or `stop` turns true.
async fn serve(
    config: &Config,
    client: &mut Client,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> serenity::Result<()> {
    let shards = client.shard_manager.clone();
    let watcher = tokio::spawn(async move {
        if stop.wait_for(|stopped| *stopped).await.is_ok() {
            shards.shutdown_all().await;
        }
    });
    let count = config.shard_count;
    let result = match &config.shard_ids {
        Some(range) => {
            tracing::info!(
                first = range.start(),
                last = range.end(),
                count,
                "starting shards"
            );
            client
                .start_shard_range(*range.start()..*range.end() + 1, count)
                .await
        }
        None if count > 1 => client.start_shards(count).await,
        None => client.start().await,
    };
    watcher.abort();
    result
}

/// The shard manager's view of its shards, for `/system` and `/healthz`.
struct Shards(Arc<serenity::all::ShardManager>);

#[async_trait::async_trait]
impl Gateway for Shards {
    async fn shards(&self) -> Vec<ShardState> {
        let runners = self.0.runners.lock().await;
        let mut shards: Vec<ShardState> = runners
            .iter()
            .map(|(id, info)| ShardState {
                id: id.0,
                connected: info.stage == serenity::all::ConnectionStage::Connected,
                stage: info.stage.to_string().to_lowercase(),
                latency: info.latency,
            })
            .collect();
        shards.sort_by_key(|s| s.id);
        shards
    }
}
