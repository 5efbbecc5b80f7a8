//! `/campaign create | list | info | model | portrait | delete`

use poise::ChoiceParameter;
use serenity::all::{
    AutocompleteChoice, ButtonStyle, CreateActionRow, CreateAutocompleteResponse, CreateButton,
};

use crate::core::game::campaign::{CampaignName, NewCampaign, Themes, Tone};
use crate::core::game::language::Language;
use crate::core::models::chat::ModelId;
use crate::core::models::choice::new_campaign_model;
use crate::core::portrait::{PortraitOwner, PortraitStyle, Subject};
use crate::discord::buttons::ButtonId;
use crate::discord::commands::{
    self, CHOICES_MAX, autocomplete_campaign, campaign_option, guild, private, reply, send,
};
use crate::discord::error::{BotResult, user};
use crate::discord::portraits::{self, Picture};
use crate::discord::{Context, embeds};

/// The four languages with bundled game-master prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ChoiceParameter)]
pub enum LanguageChoice {
    #[name = "English"]
    English,
    #[name = "Français"]
    Francais,
    #[name = "Español"]
    Espanol,
    #[name = "Deutsch"]
    Deutsch,
}

impl From<LanguageChoice> for Language {
    fn from(c: LanguageChoice) -> Language {
        match c {
            LanguageChoice::English => Language::En,
            LanguageChoice::Francais => Language::Fr,
            LanguageChoice::Espanol => Language::Es,
            LanguageChoice::Deutsch => Language::De,
        }
    }
}

/// Manage this server's campaigns
#[poise::command(
    slash_command,
    guild_only,
    subcommands("create", "list", "info", "model", "portrait", "delete"),
    subcommand_required,
    name_localized("fr", "campagne"),
    description_localized("fr", "Gérer les campagnes de ce serveur")
)]
pub async fn campaign(_ctx: Context<'_>) -> BotResult {
    Ok(())
}

pub async fn autocomplete_model(ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    let needle = partial.trim().to_lowercase();
    let choices = ctx
        .data()
        .registry
        .available_models()
        .into_iter()
        .map(|m| m.id.to_string())
        .filter(|id| id.to_lowercase().contains(&needle))
        .take(CHOICES_MAX)
        .map(|id| AutocompleteChoice::new(id.clone(), id))
        .collect();
    CreateAutocompleteResponse::new().set_choices(choices)
}

/// The model a new campaign gets (see [`new_campaign_model`]), always one the registry can
/// serve.
async fn choose_model(ctx: Context<'_>, asked: Option<&str>) -> BotResult<ModelId> {
    let data = ctx.data();
    let asked = asked.map(ModelId::parse).transpose()?;
    let settings = data.store.guild_settings(guild(ctx)?).await?;
    let available: Vec<ModelId> = data
        .registry
        .available_models()
        .into_iter()
        .map(|m| m.id)
        .collect();
    let id = new_campaign_model(asked, &settings, data.default_model.as_ref(), &available)
        .ok_or_else(|| {
            user("No model is configured on this bot; ask its admin to set a provider key.")
        })?;
    data.registry.chat_model(&id)?;
    Ok(id)
}

/// Create a campaign
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "créer"),
    description_localized("fr", "Créer une campagne")
)]
pub async fn create(
    ctx: Context<'_>,
    #[description = "The campaign's name (unique in this server)"]
    #[name_localized("fr", "nom")]
    #[description_localized("fr", "Le nom de la campagne (unique sur ce serveur)")]
    #[max_length = 80]
    name: String,
    #[description = "What it is about, e.g. gothic horror, vampires"]
    #[name_localized("fr", "thèmes")]
    #[description_localized("fr", "Ses thèmes, par ex. horreur gothique, vampires")]
    #[max_length = 300]
    themes: String,
    #[description = "The language the game master writes in"]
    #[name_localized("fr", "langue")]
    #[description_localized("fr", "La langue du maître du jeu")]
    language: LanguageChoice,
    #[description = "The model that narrates"]
    #[name_localized("fr", "modèle")]
    #[description_localized("fr", "Le modèle qui raconte")]
    #[autocomplete = "autocomplete_model"]
    model: Option<String>,
    #[description = "The narration's tone, e.g. grim, lighthearted"]
    #[name_localized("fr", "ton")]
    #[description_localized("fr", "Le ton du récit, par ex. sombre, léger")]
    #[max_length = 100]
    tone: Option<String>,
) -> BotResult {
    let guild_id = guild(ctx)?;
    let new = NewCampaign {
        guild_id,
        owner_id: commands::author(ctx),
        name: CampaignName::parse(&name)?,
        themes: Themes::parse(&themes)?,
        language: language.into(),
        tone: tone.as_deref().map(Tone::parse).transpose()?,
        model: choose_model(ctx, model.as_deref()).await?,
    };
    // Storing first keeps a duplicate name a private refusal (one quick insert); then the
    // answer is public and waits for the game master's portrait.
    let created = ctx.data().store.create_campaign(&new).await?;
    tracing::info!(campaign = %created.id, guild = %guild_id, model = %created.model, "campaign created");
    ctx.defer().await?;
    portraits::paint_and_show(
        ctx,
        PortraitOwner::Campaign(created.id),
        &Subject::game_master(&created),
        None,
        &format!(
            "Campaign **{}** is ready. Start playing with `/session start`.",
            created.name.as_str()
        ),
        embeds::campaign(&created, &[], false),
    )
    .await
}

/// List this server's campaigns
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "liste"),
    description_localized("fr", "Lister les campagnes de ce serveur")
)]
pub async fn list(ctx: Context<'_>) -> BotResult {
    // A linked owner's campaigns imported from the old app join the server they list.
    let adoption =
        commands::account::adopt_here(ctx.data(), commands::author(ctx), guild(ctx)?).await?;
    let campaigns = ctx.data().store.list_campaigns(guild(ctx)?).await?;
    let guild_name = ctx
        .guild()
        .map(|g| g.name.clone())
        .unwrap_or_else(|| "this server".into());
    let embed = embeds::campaign_list(&guild_name, &campaigns).build();
    send(ctx, reply().embed(embed)).await?;
    if let Some(text) = commands::account::adoption_text(&adoption) {
        send(ctx, private(text)).await?;
    }
    Ok(())
}

/// Show a campaign: model, language, characters
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "infos"),
    description_localized("fr", "Afficher une campagne : modèle, langue, personnages")
)]
pub async fn info(
    ctx: Context<'_>,
    #[description = "The campaign (default: the one playing in this channel)"]
    #[name_localized("fr", "campagne")]
    #[description_localized("fr", "La campagne (par défaut : celle de ce salon)")]
    #[autocomplete = "autocomplete_campaign"]
    campaign: Option<String>,
) -> BotResult {
    let data = ctx.data();
    let session = data.store.active_session(commands::channel(ctx)).await?;
    let found = match (&campaign, &session) {
        (Some(raw), _) => campaign_option(ctx, raw).await?,
        (None, Some(s)) => data
            .store
            .campaign_in_guild(guild(ctx)?, s.campaign_id)
            .await?
            .ok_or_else(|| user("The campaign of this channel's session no longer exists."))?,
        (None, None) => {
            return Err(user(
                "No session is running in this channel; name the campaign to show.",
            ));
        }
    };
    let characters = data.store.campaign_characters(found.id).await?;
    let here = session.is_some_and(|s| s.campaign_id == found.id);
    let embed = embeds::campaign(&found, &characters, here).build();
    let owner = PortraitOwner::Campaign(found.id);
    let picture = portraits::stored_or_stand_in(ctx, owner, &Subject::game_master(&found)).await?;
    send(
        ctx,
        portraits::with_thumbnail(
            reply(),
            embed,
            picture
                .as_ref()
                .map(|(bytes, mime)| Picture { bytes, mime }),
            &portraits::stem(owner),
        ),
    )
    .await?;
    Ok(())
}

pub(crate) async fn ensure_can_manage(
    ctx: Context<'_>,
    c: &crate::core::game::campaign::Campaign,
    what: &'static str,
) -> BotResult {
    Ok(commands::member(ctx).await.ensure_manages(c, what)?)
}

/// Switch the model that narrates a campaign
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "modèle"),
    description_localized("fr", "Changer le modèle qui raconte une campagne")
)]
pub async fn model(
    ctx: Context<'_>,
    #[description = "The campaign"]
    #[name_localized("fr", "campagne")]
    #[description_localized("fr", "La campagne")]
    #[autocomplete = "autocomplete_campaign"]
    campaign: String,
    #[description = "The new model"]
    #[name_localized("fr", "modèle")]
    #[description_localized("fr", "Le nouveau modèle")]
    #[autocomplete = "autocomplete_model"]
    model: String,
) -> BotResult {
    let found = campaign_option(ctx, &campaign).await?;
    ensure_can_manage(ctx, &found, "change its model").await?;
    let id = ModelId::parse(&model)?;
    ctx.data().registry.chat_model(&id)?;
    ctx.data().store.set_campaign_model(found.id, &id).await?;
    tracing::info!(campaign = %found.id, from = %found.model, to = %id, "campaign model changed");
    send(
        ctx,
        reply().content(format!(
            "🔁 **{}** is now narrated by `{id}` (was `{}`). The story so far is kept.",
            found.name.as_str(),
            found.model
        )),
    )
    .await?;
    Ok(())
}

/// Paint a new portrait of a campaign's game master
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "portrait"),
    description_localized("fr", "Peindre un nouveau portrait du maître du jeu d'une campagne")
)]
pub async fn portrait(
    ctx: Context<'_>,
    #[description = "The campaign"]
    #[name_localized("fr", "campagne")]
    #[description_localized("fr", "La campagne")]
    #[autocomplete = "autocomplete_campaign"]
    campaign: String,
    #[description = "Art style, e.g. watercolour, oil painting"]
    #[name_localized("fr", "style")]
    #[description_localized("fr", "Style, par ex. aquarelle, peinture à l'huile")]
    #[max_length = 100]
    style: Option<String>,
) -> BotResult {
    let found = campaign_option(ctx, &campaign).await?;
    ensure_can_manage(ctx, &found, "change its game master's portrait").await?;
    let style = style.as_deref().map(PortraitStyle::parse).transpose()?;
    ctx.defer().await?;
    let store = &ctx.data().store;
    let characters = store.campaign_characters(found.id).await?;
    let here = store
        .active_session(commands::channel(ctx))
        .await?
        .is_some_and(|s| s.campaign_id == found.id);
    portraits::paint_and_show(
        ctx,
        PortraitOwner::Campaign(found.id),
        &Subject::game_master(&found),
        style.as_ref(),
        &format!(
            "A new portrait of the game master of **{}**.",
            found.name.as_str()
        ),
        embeds::campaign(&found, &characters, here),
    )
    .await
}

/// Delete a campaign with its sessions and story
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "supprimer"),
    description_localized("fr", "Supprimer une campagne, ses sessions et son histoire")
)]
pub async fn delete(
    ctx: Context<'_>,
    #[description = "The campaign"]
    #[name_localized("fr", "campagne")]
    #[description_localized("fr", "La campagne")]
    #[autocomplete = "autocomplete_campaign"]
    campaign: String,
) -> BotResult {
    let found = campaign_option(ctx, &campaign).await?;
    ensure_can_manage(ctx, &found, "delete it").await?;
    let buttons = CreateActionRow::Buttons(vec![
        CreateButton::new(ButtonId::DeleteCampaign(found.id).to_string())
            .label("Delete for good")
            .style(ButtonStyle::Danger),
        CreateButton::new(ButtonId::KeepCampaign.to_string())
            .label("Cancel")
            .style(ButtonStyle::Secondary),
    ]);
    send(
        ctx,
        private(format!(
            "Delete **{}** with all its sessions and story? This can't be undone.",
            found.name.as_str()
        ))
        .components(vec![buttons]),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_choice_maps_to_a_language() {
        let all: Vec<Language> = LanguageChoice::list()
            .iter()
            .enumerate()
            .map(|(i, _)| LanguageChoice::from_index(i).unwrap().into())
            .collect();
        assert_eq!(all, Language::ALL.to_vec());
    }
}
