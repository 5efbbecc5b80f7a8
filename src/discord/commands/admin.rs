//! Server administration: `/system` (host and bot status) and `/settings` (the server's
//! models and budget).

use std::sync::Arc;

use serenity::all::CreateAttachment;

use crate::core::activity::{Activity, WINDOW_MS};
use crate::core::chart;
use crate::core::ids::{GuildId, Timestamp};
use crate::discord::commands::{guild, is_manager, reply};
use crate::discord::error::{BotResult, user};
use crate::discord::render::{BLUE, Embed};
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
    ctx.send(
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
            state,
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
            size: store.database_size().await.map_err(|e| e.to_string()),
        },
        active_sessions: data.engine.active_channels(),
        activity_scope: if owner { "all servers" } else { "this server" },
        activity: Activity::last_hour(now, &calls),
        providers,
    }
}
