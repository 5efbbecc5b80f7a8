//! `/arena on | off [campaign]`: blind A/B narration with votes, per campaign.

use crate::core::game::campaign::Campaign;
use crate::discord::commands::campaign::ensure_can_manage;
use crate::discord::commands::{self, autocomplete_campaign, campaign_option, guild, reply, send};
use crate::discord::error::{BotResult, user};
use crate::discord::{Context, Data};

/// Blind narration duels between two models, with votes
#[poise::command(
    slash_command,
    guild_only,
    subcommands("on", "off"),
    subcommand_required,
    description_localized("fr", "Duels de narration à l'aveugle entre deux modèles, avec votes")
)]
pub async fn arena(_ctx: Context<'_>) -> BotResult {
    Ok(())
}

/// Turn the arena on: each turn two hidden models narrate and the players vote
#[poise::command(
    slash_command,
    guild_only,
    description_localized("fr", "Activer l'arène : deux modèles cachés racontent chaque tour")
)]
pub async fn on(
    ctx: Context<'_>,
    #[description = "The campaign (default: the one playing in this channel)"]
    #[description_localized("fr", "La campagne (par défaut : celle de ce salon)")]
    #[autocomplete = "autocomplete_campaign"]
    campaign: Option<String>,
) -> BotResult {
    switch(ctx, campaign.as_deref(), true).await
}

/// Turn the arena off: one model narrates again
#[poise::command(
    slash_command,
    guild_only,
    description_localized("fr", "Désactiver l'arène : un seul modèle raconte")
)]
pub async fn off(
    ctx: Context<'_>,
    #[description = "The campaign (default: the one playing in this channel)"]
    #[description_localized("fr", "La campagne (par défaut : celle de ce salon)")]
    #[autocomplete = "autocomplete_campaign"]
    campaign: Option<String>,
) -> BotResult {
    switch(ctx, campaign.as_deref(), false).await
}

async fn switch(ctx: Context<'_>, campaign: Option<&str>, enabled: bool) -> BotResult {
    let found = target(ctx, campaign).await?;
    ensure_can_manage(ctx, &found, "turn its arena on or off").await?;
    let data: &Data = ctx.data();
    data.store.set_arena_enabled(found.id, enabled).await?;
    tracing::info!(campaign = %found.id, enabled, "arena switched");
    let name = found.name.as_str();
    let text = if !enabled {
        format!(
            "The arena is off for **{name}**: `{}` narrates alone again.",
            found.model
        )
    } else {
        let others = data
            .registry
            .available_models()
            .into_iter()
            .filter(|m| m.id != found.model)
            .count();
        let mut text = format!(
            "⚔️ The arena is on for **{name}**. Each turn, two models write the narration as \
             Narrator A and Narrator B, names hidden; vote A, B, tie or both bad. The winner \
             continues the story and the names are revealed."
        );
        if others == 0 {
            text.push_str(
                "\n⚠️ No other model is configured on this bot, so turns are narrated as usual \
                 until its admin enables a second one.",
            );
        }
        text
    };
    send(ctx, reply().content(text)).await?;
    Ok(())
}

/// The named campaign, or the one playing in this channel.
async fn target(ctx: Context<'_>, campaign: Option<&str>) -> BotResult<Campaign> {
    if let Some(raw) = campaign {
        return campaign_option(ctx, raw).await;
    }
    let data = ctx.data();
    let session = data
        .store
        .active_session(commands::channel(ctx))
        .await?
        .ok_or_else(|| user("No session is running in this channel; name the campaign."))?;
    data.store
        .campaign_in_guild(guild(ctx)?, session.campaign_id)
        .await?
        .ok_or_else(|| user("The campaign of this channel's session no longer exists."))
}
