//! `/journal show | add | remove`: the campaign's journal. The game master notes what
//! matters with `[[note ...]]`; players add their own entries and remove mistaken ones.

use crate::core::game::campaign::Campaign;
use crate::core::party;
use crate::discord::commands::{self, autocomplete_campaign, campaign_option, reply, send};
use crate::discord::error::{BotResult, user};
use crate::discord::{Context, party_embeds};

/// Entries one `/journal show` lists.
const PAGE: u32 = 20;

/// The campaign's journal
#[poise::command(
    slash_command,
    guild_only,
    subcommands("show", "add", "remove"),
    subcommand_required,
    name_localized("fr", "journal"),
    description_localized("fr", "Le journal de la campagne")
)]
pub async fn journal(_ctx: Context<'_>) -> BotResult {
    Ok(())
}

/// The campaign an option names, else the one playing in this channel.
pub async fn campaign_here(ctx: Context<'_>, raw: Option<&str>) -> BotResult<Campaign> {
    if let Some(raw) = raw {
        return campaign_option(ctx, raw).await;
    }
    let data = ctx.data();
    let session = data
        .store
        .active_session(commands::channel(ctx))
        .await?
        .ok_or_else(|| {
            user("No session is playing in this channel: name the campaign with the `campaign` option.")
        })?;
    data.store
        .campaign(session.campaign_id)
        .await?
        .ok_or_else(|| user("This channel's campaign no longer exists."))
}

/// Read the journal
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "lire"),
    description_localized("fr", "Lire le journal")
)]
pub async fn show(
    ctx: Context<'_>,
    #[description = "The campaign (this channel's by default)"]
    #[name_localized("fr", "campagne")]
    #[description_localized("fr", "La campagne (celle de ce salon par défaut)")]
    #[autocomplete = "autocomplete_campaign"]
    campaign: Option<String>,
    #[description = "Show entries older than this number"]
    #[name_localized("fr", "avant")]
    #[description_localized("fr", "Afficher les entrées plus anciennes que ce numéro")]
    #[min = 1]
    before: Option<i64>,
) -> BotResult {
    let campaign = campaign_here(ctx, campaign.as_deref()).await?;
    let store = &ctx.data().store;
    let entries = store.journal(campaign.id, PAGE + 1, before).await?;
    let more = entries.len() > PAGE as usize;
    let shown = &entries[entries.len().saturating_sub(PAGE as usize)..];
    let embed = party_embeds::journal(&campaign, shown, more).build();
    send(ctx, reply().embed(embed)).await?;
    Ok(())
}

/// Add an entry to the journal
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "ajouter"),
    description_localized("fr", "Ajouter une entrée au journal")
)]
pub async fn add(
    ctx: Context<'_>,
    #[description = "What to remember"]
    #[name_localized("fr", "texte")]
    #[description_localized("fr", "Ce qu'il faut retenir")]
    #[max_length = 500]
    text: String,
    #[description = "The campaign (this channel's by default)"]
    #[name_localized("fr", "campagne")]
    #[description_localized("fr", "La campagne (celle de ce salon par défaut)")]
    #[autocomplete = "autocomplete_campaign"]
    campaign: Option<String>,
) -> BotResult {
    let campaign = campaign_here(ctx, campaign.as_deref()).await?;
    let member = commands::member(ctx).await;
    party::ensure_at_table(&*ctx.data().store, &member, &campaign, "add to its journal").await?;
    let entry =
        party::add_note(&*ctx.data().store, &campaign, commands::author(ctx), &text).await?;
    send(
        ctx,
        reply().content(format!(
            "📝 Noted in the journal of **{}** as `#{}`.",
            campaign.name.as_str(),
            entry.id
        )),
    )
    .await?;
    Ok(())
}

/// Remove an entry from the journal
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "retirer"),
    description_localized("fr", "Retirer une entrée du journal")
)]
pub async fn remove(
    ctx: Context<'_>,
    #[description = "The entry's number, as /journal show lists it"]
    #[name_localized("fr", "numéro")]
    #[description_localized("fr", "Le numéro de l'entrée, comme /journal lire l'affiche")]
    #[min = 1]
    entry: i64,
    #[description = "The campaign (this channel's by default)"]
    #[name_localized("fr", "campagne")]
    #[description_localized("fr", "La campagne (celle de ce salon par défaut)")]
    #[autocomplete = "autocomplete_campaign"]
    campaign: Option<String>,
) -> BotResult {
    let campaign = campaign_here(ctx, campaign.as_deref()).await?;
    let member = commands::member(ctx).await;
    let removed = party::remove_note(&*ctx.data().store, &member, &campaign, entry).await?;
    send(
        ctx,
        reply().content(format!(
            "🗑️ Removed `#{}` from the journal: {}",
            removed.id,
            crate::core::text::truncate_chars(&removed.text, 200)
        )),
    )
    .await?;
    Ok(())
}
