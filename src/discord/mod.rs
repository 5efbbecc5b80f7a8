//! The Discord adapter: the only place that knows serenity and poise. Commands are thin: they
//! parse options into core types, call one store or engine function, and render the result.
//!
//! [`connect`] builds the client, [`run`] serves it with a ready [`Data`]; everything in
//! between (engine, presenter, accounts) is wired by `app.rs`.

pub mod buttons;
pub mod commands;
pub mod embeds;
pub mod error;
mod events;
mod framework;
pub mod pacing;
pub mod party_embeds;
pub mod portraits;
pub mod presenter;

use std::ops::RangeInclusive;
use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use serenity::all::{
    Client, ClientBuilder, CreateAllowedMentions, GatewayError, GatewayIntents, Http, HttpBuilder,
};

use crate::core::accounts::auth::Accounts;
use crate::core::engine::Engine;
use crate::core::models::chat::ModelId;
use crate::core::portrait::Portraits;
use crate::core::store::Store;
use crate::llm::Registry;
use crate::ops::{Gateway, Ops, ShardState};
use crate::secret::{Secret, SecretUrl};

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
    /// Who was recently told that they are over a rate limit.
    pub slow_down: events::SlowDownNotices,
    /// Paces every channel message the bot sends (shared with the engine's presenter).
    pub pacer: Arc<pacing::Pacer>,
}

pub type Context<'a> = poise::Context<'a, Data, BotError>;

/// How to reach Discord and which shards this process runs.
#[derive(Clone, Debug)]
pub struct DiscordSettings {
    pub token: Secret,
    /// `DISCORD_API_BASE_URL`: a stand-in Discord (the tests' fake) instead of discord.com.
    pub api_base_url: Option<SecretUrl>,
    /// Registers the commands in this server only (instant), instead of globally.
    pub guild_id: Option<u64>,
    pub shard_count: u32,
    /// The shards this process runs; `None` runs all of them.
    pub shard_ids: Option<RangeInclusive<u32>>,
}

/// The intents the bot needs: guild events, guild messages and their content (plain messages
/// in a session channel are player turns; `/act` works without Message Content).
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::MESSAGE_CONTENT
}

/// A Discord client that is built but not started: its HTTP handle can already post (the
/// engine's presenter shares it, and with it the rate limiter), its handlers wait for
/// [`Data`].
pub struct Connection {
    settings: DiscordSettings,
    intents: GatewayIntents,
    data: Arc<OnceLock<Data>>,
    client: Client,
}

impl Connection {
    /// The REST client every post and edit goes through.
    pub fn http(&self) -> Arc<Http> {
        self.client.http.clone()
    }

    /// The shards' status, for `/system` and `/healthz`.
    pub fn gateway(&self) -> Arc<dyn Gateway> {
        Arc::new(Shards(self.client.shard_manager.clone()))
    }
}

/// Builds the client for `settings` (to Discord, or to `DISCORD_API_BASE_URL`).
pub async fn connect(settings: DiscordSettings) -> anyhow::Result<Connection> {
    if let Some(base) = &settings.api_base_url {
        tracing::info!(base = ?base, "Discord traffic goes to DISCORD_API_BASE_URL");
    }
    let intents = intents();
    let data = Arc::new(OnceLock::new());
    let client = client(&settings, intents, data.clone()).await?;
    Ok(Connection {
        settings,
        intents,
        data,
        client,
    })
}

/// Discord's REST client, built the same way with or without a stand-in: serenity's rate
/// limiter (per-route buckets, `retry_after`, the global limit) runs in tests and benchmarks
/// as it does against Discord, on the same `https://discord.com` URLs. A stand-in
/// (`DISCORD_API_BASE_URL`, loopback only) changes where `discord.com` resolves to and trusts
/// the stand-in's own certificate, nothing else. serenity's `proxy` option is not used: its
/// rate limiter ignores it.
pub fn rest_client(token: &Secret, stand_in: Option<&SecretUrl>) -> anyhow::Result<Http> {
    Ok(rest_client_builder(token, stand_in)?
        .default_allowed_mentions(CreateAllowedMentions::new())
        .build())
}

/// [`rest_client`] before the bot's one choice of its own: that no message ever pings.
pub fn rest_client_builder(
    token: &Secret,
    stand_in: Option<&SecretUrl>,
) -> anyhow::Result<HttpBuilder> {
    Ok(HttpBuilder::new(token.expose()).client(reqwest_client(stand_in)?))
}

/// Without timeouts one stalled request (Discord half-open, a proxy that never answers)
/// would hold its channel's task forever. Uploads of up to 10 MiB fit well within a minute.
const REST_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
const REST_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

fn reqwest_client(stand_in: Option<&SecretUrl>) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(REST_CONNECT_TIMEOUT)
        .timeout(REST_REQUEST_TIMEOUT);
    if let Some(url) = stand_in {
        builder = builder
            .resolve("discord.com", stand_in_address(url)?)
            // A loopback server with a certificate of its own: the tests' fake Discord.
            .danger_accept_invalid_certs(true);
    }
    builder.build().context("building Discord's HTTP client")
}

/// The socket address of a loopback `https://` stand-in (`localhost` is 127.0.0.1).
fn stand_in_address(url: &SecretUrl) -> anyhow::Result<std::net::SocketAddr> {
    let parsed = url::Url::parse(url.expose()).context("DISCORD_API_BASE_URL is not a URL")?;
    let ip = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => std::net::IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => std::net::IpAddr::V6(ip),
        _ => std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
    };
    anyhow::ensure!(
        ip.is_loopback() && parsed.scheme() == "https",
        "DISCORD_API_BASE_URL must be an https:// URL on this machine"
    );
    Ok((ip, parsed.port_or_known_default().unwrap_or(443)).into())
}

async fn client(
    settings: &DiscordSettings,
    intents: GatewayIntents,
    data: Arc<OnceLock<Data>>,
) -> anyhow::Result<Client> {
    let framework = framework::build(data, settings.guild_id);
    let http = rest_client(&settings.token, settings.api_base_url.as_ref())?;
    ClientBuilder::new_with_http(http, intents)
        .framework(framework)
        .await
        .context("building the Discord client")
}

/// Serves `connection` with `data` until `stop` turns true (then every shard disconnects) or
/// the gateway stops. Without the Message Content intent it reconnects once without it.
pub async fn run(
    connection: Connection,
    data: Data,
    stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let Connection {
        settings,
        mut intents,
        data: cell,
        mut client,
    } = connection;
    let _ = cell.set(data.clone());
    loop {
        match serve(&settings, &mut client, stop.clone()).await {
            Err(serenity::Error::Gateway(GatewayError::DisallowedGatewayIntents))
                if intents.contains(GatewayIntents::MESSAGE_CONTENT) =>
            {
                tracing::warn!(
                    "the Message Content intent is not enabled for this bot in the Discord developer portal: \
                     plain messages can't be read, so players use /act (enable the intent and restart to \
                     let them simply write)"
                );
                intents.remove(GatewayIntents::MESSAGE_CONTENT);
                let cell = Arc::new(OnceLock::new());
                let _ = cell.set(data.clone());
                client = self::client(&settings, intents, cell).await?;
                data.ops
                    .set_gateway(Arc::new(Shards(client.shard_manager.clone())));
            }
            other => return other.context("the Discord gateway connection stopped"),
        }
    }
}

/// Runs the configured shards until they stop or `stop` turns true.
async fn serve(
    settings: &DiscordSettings,
    client: &mut Client,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> serenity::Result<()> {
    let shards = client.shard_manager.clone();
    let watcher = tokio::spawn(async move {
        if stop.wait_for(|stopped| *stopped).await.is_ok() {
            shards.shutdown_all().await;
        }
    });
    let count = settings.shard_count;
    let result = match &settings.shard_ids {
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
