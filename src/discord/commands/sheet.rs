//! `/sheet show | set` and `/inventory`: a character's sheet as the game keeps it, and the
//! corrections a campaign's owner makes to it.

use serenity::all::{AutocompleteChoice, CreateAutocompleteResponse};

use crate::core::game::campaign::Campaign;
use crate::core::game::character::Character;
use crate::core::party;
use crate::discord::commands::{
    self, autocomplete_character, character_option, guild, reply, send,
};
use crate::discord::error::{BotResult, user};
use crate::discord::{Context, party_embeds};

/// What `/sheet set` can correct, as offered by autocomplete.
const FIELDS: &[(&str, &str)] = &[
    ("hp", "hit points now, e.g. 7"),
    ("max_hp", "maximum hit points"),
    ("ac", "armour class"),
    ("gold", "gold pieces"),
    ("xp", "experience (sets the level)"),
    ("level", "level 1 to 20"),
    ("str", "Strength score"),
    ("dex", "Dexterity score"),
    ("con", "Constitution score"),
    ("int", "Intelligence score"),
    ("wis", "Wisdom score"),
    ("cha", "Charisma score"),
    ("speed", "speed in feet"),
    ("condition", "+poisoned adds, -poisoned removes"),
    ("item", "+2 Torch adds, -Torch removes"),
    ("vitals", "up, dying, stable or dead"),
];

/// A character's sheet and inventory
#[poise::command(
    slash_command,
    guild_only,
    subcommands("show", "set"),
    subcommand_required,
    name_localized("fr", "fiche"),
    description_localized("fr", "La fiche d'un personnage")
)]
pub async fn sheet(_ctx: Context<'_>) -> BotResult {
    Ok(())
}

/// The character an optional option names, else the author's character in this channel's
/// campaign, else the author's only character.
pub async fn chosen_character(ctx: Context<'_>, raw: Option<&str>) -> BotResult<Character> {
    if let Some(raw) = raw {
        return character_option(ctx, raw).await;
    }
    let data = ctx.data();
    let me = commands::author(ctx);
    if let Some(session) = data.store.active_session(commands::channel(ctx)).await?
        && let Some(id) = commands::player_character(data, session.campaign_id, me).await?
        && let Some(found) = data.store.character(id).await?
    {
        return Ok(found);
    }
    let mut mine = data.store.list_characters(guild(ctx)?, Some(me)).await?;
    match mine.len() {
        1 => Ok(mine.remove(0)),
        0 => Err(user(
            "You have no character in this server yet: `/character create` makes one.",
        )),
        _ => Err(user(
            "You have several characters: say which one with the `character` option.",
        )),
    }
}

async fn campaign_of(ctx: Context<'_>, character: &Character) -> BotResult<Option<Campaign>> {
    match character.campaign_id {
        Some(id) => Ok(ctx.data().store.campaign_in_guild(guild(ctx)?, id).await?),
        None => Ok(None),
    }
}

/// Show a character's sheet
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "voir"),
    description_localized("fr", "Afficher la fiche d'un personnage")
)]
pub async fn show(
    ctx: Context<'_>,
    #[description = "The character (yours in this channel's campaign by default)"]
    #[name_localized("fr", "personnage")]
    #[description_localized(
        "fr",
        "Le personnage (le vôtre dans la campagne de ce salon par défaut)"
    )]
    #[autocomplete = "autocomplete_character"]
    character: Option<String>,
) -> BotResult {
    let found = chosen_character(ctx, character.as_deref()).await?;
    let campaign = campaign_of(ctx, &found).await?;
    let stored = party::sheet_of(&*ctx.data().store, &found).await?;
    let embed = party_embeds::sheet(&found, campaign.as_ref(), &stored).build();
    send(ctx, reply().embed(embed)).await?;
    Ok(())
}

async fn autocomplete_field(_ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    let needle = partial.trim().to_lowercase();
    let choices = FIELDS
        .iter()
        .filter(|(name, _)| name.contains(&needle))
        .map(|(name, what)| AutocompleteChoice::new(format!("{name}: {what}"), name.to_string()))
        .collect();
    CreateAutocompleteResponse::new().set_choices(choices)
}

/// Correct a value on a sheet (the campaign's owner)
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "corriger"),
    description_localized(
        "fr",
        "Corriger une valeur d'une fiche (le propriétaire de la campagne)"
    )
)]
pub async fn set(
    ctx: Context<'_>,
    #[description = "The character"]
    #[name_localized("fr", "personnage")]
    #[description_localized("fr", "Le personnage")]
    #[autocomplete = "autocomplete_character"]
    character: String,
    #[description = "What to correct: hp, ac, gold, xp, str, condition, item…"]
    #[name_localized("fr", "champ")]
    #[description_localized(
        "fr",
        "Ce qu'il faut corriger : hp, ac, gold, xp, str, condition, item…"
    )]
    #[autocomplete = "autocomplete_field"]
    #[max_length = 20]
    field: String,
    #[description = "The new value, e.g. 12, +poisoned, -2 Torch"]
    #[name_localized("fr", "valeur")]
    #[description_localized("fr", "La nouvelle valeur, par ex. 12, +poisoned, -2 Torch")]
    #[max_length = 100]
    value: String,
) -> BotResult {
    let found = character_option(ctx, &character).await?;
    let campaign = campaign_of(ctx, &found).await?;
    let member = commands::member(ctx).await;
    let (stored, summary) = party::correct(
        &*ctx.data().store,
        &member,
        campaign.as_ref(),
        &found,
        field.trim(),
        value.trim(),
    )
    .await?;
    tracing::info!(character = %found.id, field = %field.trim(), "sheet corrected");
    let embed = party_embeds::sheet(&found, campaign.as_ref(), &stored).build();
    send(ctx, reply().content(format!("📋 {summary}")).embed(embed)).await?;
    Ok(())
}

/// A character's inventory and gold
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "inventaire"),
    description_localized("fr", "L'inventaire et l'or d'un personnage")
)]
pub async fn inventory(
    ctx: Context<'_>,
    #[description = "The character (yours in this channel's campaign by default)"]
    #[name_localized("fr", "personnage")]
    #[description_localized(
        "fr",
        "Le personnage (le vôtre dans la campagne de ce salon par défaut)"
    )]
    #[autocomplete = "autocomplete_character"]
    character: Option<String>,
) -> BotResult {
    let found = chosen_character(ctx, character.as_deref()).await?;
    let stored = party::sheet_of(&*ctx.data().store, &found).await?;
    let embed = party_embeds::inventory(&found, &stored).build();
    send(ctx, reply().embed(embed)).await?;
    Ok(())
}
