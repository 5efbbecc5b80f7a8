//! Server administration: `/system` (host and bot status) and `/settings` (the server's
//! models and budget).

use std::sync::Arc;

use serenity::all::CreateAttachment;

use crate::core::game::guild::parse_monthly_budget;
use crate::core::ids::{GuildId, Timestamp};
use crate::core::models::activity::{Activity, WINDOW_MS};
use crate::core::models::chat::ModelId;
use crate::core::stats::chart;
use crate::core::time::month_start;
use crate::discord::commands::campaign::autocomplete_model;
use crate::discord::commands::{guild, is_manager, reply, send};
use crate::discord::embeds::{BLUE, Embed};
use crate::discord::error::{BotResult, user};
use crate::discord::{Context, Data};
use crate::ops::report::{DatabaseInfo, ProviderLine, SystemReport};

const CHART_FILE: &str = "activity.png";
const CHART_WIDTH: u32 = 800;
const CHART_HEIGHT: u32 = 360;

/// The bot's health: gateway, database, models and providers (Manage Server)
#[poise::command(
    slash_command,
    guild_only,
    default_member_permissions = "MANAGE_GUILD",
    description_localized("fr", "L'état du bot : passerelle, base de données, modèles")
)]
pub async fn system(ctx: Context<'_>) -> BotResult {
    let guild = guild(ctx)?;
    if !is_manager(ctx).await {
        return Err(user("You need the Manage Server permission for /system."));
    }
    // Reading /proc, the database and rendering a chart can take longer than Discord waits.
    ctx.defer_ephemeral().await?;
    let owner = ctx.framework().options().owners.contains(&ctx.author().id);
    let report = gather(ctx.data(), guild, owner).await;
    let chart = report.activity.chart();
    let png = tokio::task::spawn_blocking(move || chart::render(&chart, CHART_WIDTH, CHART_HEIGHT))
        .await
        .map_err(|e| anyhow::anyhow!("chart task: {e}"))?
        .map_err(|e| anyhow::anyhow!("rendering the /system chart: {e}"))?;

    let mut embed = Embed::new(if owner {
        "System status (bot owner view)"
    } else {
        "System status"
    })
    .colour(BLUE)
    .footer("Model calls per 5 minutes in the chart below");
    for (name, value) in report.fields() {
        embed = embed.field(name, value, false);
    }
    let embed = embed.build().image(format!("attachment://{CHART_FILE}"));
    send(
        ctx,
        reply()
            .embed(embed)
            .attachment(CreateAttachment::bytes(png, CHART_FILE))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Everything `/system` shows. The host and every server's calls only for the owner; a
/// server's managers see their own server's calls.
async fn gather(data: &Data, guild: GuildId, owner: bool) -> SystemReport {
    let ops = Arc::clone(&data.ops);
    let uptime = ops.metrics.uptime();
    let sampler = Arc::clone(&ops);
    let sampled = tokio::task::spawn_blocking(move || sampler.host.sample(uptime))
        .await
        .ok()
        .flatten();
    let (host, process) = match sampled {
        Some((host, process)) => (owner.then_some(host), Some(process)),
        None => (None, None),
    };
    let now = Timestamp::now();
    let store = &data.store;
    let calls = store
        .calls_since(Timestamp(now.0 - WINDOW_MS), (!owner).then_some(guild))
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "reading the last hour of calls for /system");
            Vec::new()
        });
    let providers = ops
        .metrics
        .provider_states()
        .into_iter()
        .map(|(provider, state)| ProviderLine {
            provider,
            enabled: data.registry.is_enabled(provider),
            state: if owner { state } else { state.without_detail() },
        })
        .collect();
    SystemReport {
        now,
        host,
        process,
        uptime,
        shards: ops.shards().await,
        database: DatabaseInfo {
            engine: store.database_engine(),
            // The database's own words (paths, hosts) are for the owner.
            size: store.database_size().await.map_err(|e| {
                if owner {
                    e.to_string()
                } else {
                    "unavailable".to_string()
                }
            }),
        },
        active_sessions: data.engine.active_channels(),
        activity_scope: if owner { "all servers" } else { "this server" },
        activity: Activity::last_hour(now, &calls),
        providers,
    }
}

/// This server's models and monthly budget (Manage Server)
#[poise::command(
    slash_command,
    guild_only,
    default_member_permissions = "MANAGE_GUILD",
    subcommands("show", "budget", "default_model", "fallback_model"),
    subcommand_required,
    name_localized("fr", "réglages"),
    description_localized("fr", "Les modèles et le budget mensuel de ce serveur")
)]
pub async fn settings(_ctx: Context<'_>) -> BotResult {
    Ok(())
}

/// Refuses members without Manage Server.
async fn ensure_manager(ctx: Context<'_>) -> BotResult<GuildId> {
    let guild = guild(ctx)?;
    if !is_manager(ctx).await {
        return Err(user("You need the Manage Server permission for /settings."));
    }
    Ok(guild)
}

/// The current settings and this month's spend
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "voir"),
    description_localized("fr", "Les réglages actuels et les dépenses du mois")
)]
pub async fn show(ctx: Context<'_>) -> BotResult {
    let guild = ensure_manager(ctx).await?;
    send_settings(ctx, guild, None).await
}

/// Set the monthly model budget in USD, or `off`
#[poise::command(
    slash_command,
    guild_only,
    description_localized("fr", "Le budget mensuel en USD, ou `off`")
)]
pub async fn budget(
    ctx: Context<'_>,
    #[description = "Amount in US dollars (e.g. 25 or 12.50), or off"]
    #[description_localized("fr", "Montant en dollars US (par ex. 25 ou 12.50), ou off")]
    #[max_length = 20]
    amount: String,
) -> BotResult {
    let guild = ensure_manager(ctx).await?;
    let budget = parse_monthly_budget(&amount).map_err(|e| user(e.to_string()))?;
    let store = &ctx.data().store;
    let settings = store.guild_settings(guild).await?.with_budget(budget);
    store.save_guild_settings(&settings).await?;
    tracing::info!(guild = %guild, budget = ?budget, "monthly budget changed");
    let done = match budget {
        Some(usd) => format!("💰 The monthly model budget is now ${usd:.2}."),
        None => "💰 This server now has no monthly model budget.".to_string(),
    };
    send_settings(ctx, guild, Some(done)).await
}

/// Set the model new campaigns get, and the last model tried when others fail
#[poise::command(
    slash_command,
    guild_only,
    rename = "default-model",
    description_localized("fr", "Le modèle des nouvelles campagnes de ce serveur")
)]
pub async fn default_model(
    ctx: Context<'_>,
    #[description = "A model, or none for the bot's default"]
    #[description_localized("fr", "Un modèle, ou none pour celui du bot")]
    #[autocomplete = "autocomplete_model"]
    model: String,
) -> BotResult {
    set_server_model(ctx, &model, ServerModel::Default).await
}

/// Set the model that takes over when a campaign's own models fail
#[poise::command(
    slash_command,
    guild_only,
    rename = "fallback-model",
    description_localized("fr", "Le modèle de secours du serveur")
)]
pub async fn fallback_model(
    ctx: Context<'_>,
    #[description = "A model, or none"]
    #[description_localized("fr", "Un modèle, ou none")]
    #[autocomplete = "autocomplete_model"]
    model: String,
) -> BotResult {
    set_server_model(ctx, &model, ServerModel::Fallback).await
}

/// Which of the server's two models a command sets.
#[derive(Clone, Copy)]
enum ServerModel {
    Default,
    Fallback,
}

async fn set_server_model(ctx: Context<'_>, raw: &str, which: ServerModel) -> BotResult {
    let guild = ensure_manager(ctx).await?;
    let model = model_or_none(ctx, raw)?;
    let store = &ctx.data().store;
    let mut settings = store.guild_settings(guild).await?;
    let slot = match which {
        ServerModel::Default => &mut settings.default_model,
        ServerModel::Fallback => &mut settings.fallback_model,
    };
    *slot = model.clone();
    store.save_guild_settings(&settings).await?;
    let done = match (which, model) {
        (ServerModel::Default, Some(m)) => {
            format!("🔁 New campaigns in this server are narrated by `{m}`.")
        }
        (ServerModel::Default, None) => "🔁 New campaigns use the bot's default model.".into(),
        (ServerModel::Fallback, Some(m)) => {
            format!("🛟 When a campaign's models fail, `{m}` takes over.")
        }
        (ServerModel::Fallback, None) => "🛟 This server has no fallback model of its own.".into(),
    };
    send_settings(ctx, guild, Some(done)).await
}

/// `none` clears the setting; anything else must be a model this bot can call.
fn model_or_none(ctx: Context<'_>, raw: &str) -> BotResult<Option<ModelId>> {
    let raw = raw.trim();
    if ["none", "off", "default"]
        .iter()
        .any(|w| raw.eq_ignore_ascii_case(w))
    {
        return Ok(None);
    }
    let id = ModelId::parse(raw)?;
    ctx.data().registry.chat_model(&id)?;
    Ok(Some(id))
}

/// The settings with this month's spend, privately (budgets are the managers' business).
async fn send_settings(ctx: Context<'_>, guild: GuildId, done: Option<String>) -> BotResult {
    let data = ctx.data();
    let settings = data.store.guild_settings(guild).await?;
    let (since, month) = month_start(Timestamp::now());
    let spent = data.store.guild_spend_since(guild, since).await?;
    let bot_default = data
        .default_model
        .as_ref()
        .map(|m| format!("bot default: `{m}`"))
        .unwrap_or_else(|| "bot default: the first configured model".into());
    let model_line = |m: &Option<ModelId>, unset: &str| match m {
        Some(m) => format!("`{m}`"),
        None => unset.to_string(),
    };
    let budget = match settings.monthly_budget_usd {
        Some(b) => format!(
            "${b:.2} a month · ${spent:.2} spent in {month} ({:.0}%)",
            spent / b * 100.0
        ),
        None => format!("off · ${spent:.2} spent in {month}"),
    };
    let embed = Embed::new("Server settings")
        .colour(BLUE)
        .field(
            "Default model",
            model_line(&settings.default_model, &format!("not set ({bot_default})")),
            false,
        )
        .field(
            "Fallback model",
            model_line(&settings.fallback_model, "not set"),
            false,
        )
        .field("Monthly budget", budget, false)
        .footer("Models of unknown price count as $0 in the spend");
    let mut message = reply().embed(embed.build()).ephemeral(true);
    if let Some(done) = done {
        message = message.content(done);
    }
    send(ctx, message).await?;
    Ok(())
}
