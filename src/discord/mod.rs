//! The Discord adapter: the only place that knows serenity and poise. Commands are thin: they
//! parse options into core types, call one store or engine function, and render the result.

pub mod commands;
pub mod error;
mod events;
mod framework;
pub mod presenter;
pub mod render;

use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use serenity::all::{ClientBuilder, CreateAllowedMentions, GatewayIntents, HttpBuilder};

use crate::config::Config;
use crate::core::llm::ModelId;
use crate::core::store::Store;
use crate::llm::Registry;

pub(crate) use crate::core::engine;
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
}

pub type Context<'a> = poise::Context<'a, Data, BotError>;

/// The parts of the application the bot is built from.
pub struct Services {
    pub store: Arc<dyn Store>,
    pub registry: Arc<Registry>,
    pub models: Arc<dyn ModelSource>,
    pub engine_settings: EngineSettings,
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
    let mut http =
        HttpBuilder::new(token.expose()).default_allowed_mentions(CreateAllowedMentions::new());
    if let Some(base) = &config.discord_api_base_url {
        tracing::info!(base = %base, "Discord traffic goes to DISCORD_API_BASE_URL");
        http = http.proxy(base.clone()).ratelimiter_disabled(true);
    }
    let data_cell: Arc<OnceLock<Data>> = Arc::new(OnceLock::new());
    let framework = framework::build(data_cell.clone(), config.discord_guild_id);
    let mut client = ClientBuilder::new_with_http(http.build(), intents())
        .framework(framework)
        .await
        .context("building the Discord client")?;

    let presenter = Arc::new(DiscordPresenter::new(client.http.clone()));
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
    let data = Data {
        store: services.store,
        registry: services.registry,
        engine,
        default_model: config.default_model.clone(),
    };
    if data_cell.set(data).is_err() {
        anyhow::bail!("the bot's shared data was set twice");
    }

    let shards = client.shard_manager.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: disconnecting from Discord");
        shards.shutdown_all().await;
    });

    let count = config.shard_count;
    let started = match &config.shard_ids {
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
    started.context("the Discord gateway connection stopped")
}
