//! `/character create | list | show | portrait | delete`

use serenity::all::{AutocompleteChoice, CreateAutocompleteResponse};

use crate::core::game::character::{
    CharacterClass, CharacterName, Description, Gender, NewCharacter, Race,
};
use crate::core::game::dice::RngDice;
use crate::core::game::srd;
use crate::core::party;
use crate::core::portrait::{PortraitOwner, PortraitStyle, Subject};
use crate::core::sheet::{self, ScoreMethod, Sheet};
use crate::discord::commands::{
    self, CHOICES_MAX, autocomplete_campaign, autocomplete_character, campaign_option,
    character_option, guild, reply, send,
};
use crate::discord::error::{BotResult, user};
use crate::discord::portraits::{self, Picture};
use crate::discord::{Context, embeds, party_embeds};

/// Your characters in this server
#[poise::command(
    slash_command,
    guild_only,
    subcommands("create", "list", "show", "portrait", "delete"),
    subcommand_required,
    name_localized("fr", "personnage"),
    description_localized("fr", "Vos personnages sur ce serveur")
)]
pub async fn character(_ctx: Context<'_>) -> BotResult {
    Ok(())
}

fn suggestions(list: &'static [&'static str], partial: &str) -> CreateAutocompleteResponse {
    let mut names: Vec<&str> = srd::suggest(list, partial, CHOICES_MAX);
    // A custom value is welcome: offer what was typed when the list has nothing like it.
    let typed = partial.trim();
    if !typed.is_empty()
        && !names.iter().any(|n| n.eq_ignore_ascii_case(typed))
        && names.len() < CHOICES_MAX
        && typed.chars().count() <= 40
    {
        names.push(typed);
    }
    let choices = names
        .into_iter()
        .map(|n| AutocompleteChoice::new(n.to_string(), n.to_string()))
        .collect();
    CreateAutocompleteResponse::new().set_choices(choices)
}

async fn autocomplete_class(_ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    suggestions(srd::CLASSES, partial)
}

async fn autocomplete_race(_ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    suggestions(srd::RACES, partial)
}

/// Create a character
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "créer"),
    description_localized("fr", "Créer un personnage")
)]
#[allow(clippy::too_many_arguments)] // one per slash option
pub async fn create(
    ctx: Context<'_>,
    #[description = "The character's name"]
    #[name_localized("fr", "nom")]
    #[description_localized("fr", "Le nom du personnage")]
    #[max_length = 64]
    name: String,
    #[description = "Class: an SRD class or your own"]
    #[name_localized("fr", "classe")]
    #[description_localized("fr", "Classe : une classe du SRD ou la vôtre")]
    #[autocomplete = "autocomplete_class"]
    #[max_length = 40]
    class: String,
    #[description = "Race: an SRD race or your own"]
    #[name_localized("fr", "race")]
    #[description_localized("fr", "Race : une race du SRD ou la vôtre")]
    #[autocomplete = "autocomplete_race"]
    #[max_length = 40]
    race: String,
    #[description = "Gender, for the portrait and the story"]
    #[name_localized("fr", "genre")]
    #[description_localized("fr", "Genre, pour le portrait et le récit")]
    #[max_length = 40]
    gender: Option<String>,
    #[description = "Looks, personality, backstory"]
    #[name_localized("fr", "description")]
    #[description_localized("fr", "Apparence, personnalité, histoire")]
    #[max_length = 1000]
    description: Option<String>,
    #[description = "The campaign this character plays in"]
    #[name_localized("fr", "campagne")]
    #[description_localized("fr", "La campagne où joue ce personnage")]
    #[autocomplete = "autocomplete_campaign"]
    campaign: Option<String>,
    #[description = "Ability scores: standard array (default), point buy, or 4d6kh3 rolled by the bot"]
    #[name_localized("fr", "caractéristiques")]
    #[description_localized(
        "fr",
        "Caractéristiques : répartition standard (par défaut), achat de points ou 4d6kh3 lancés par le bot"
    )]
    scores: Option<ScoresOption>,
    #[description = "Your six scores in STR DEX CON INT WIS CHA order, e.g. 15 14 13 12 10 8"]
    #[name_localized("fr", "valeurs")]
    #[description_localized(
        "fr",
        "Vos six valeurs dans l'ordre FOR DEX CON INT SAG CHA, par ex. 15 14 13 12 10 8"
    )]
    #[max_length = 60]
    values: Option<String>,
) -> BotResult {
    let guild_id = guild(ctx)?;
    let campaign = match &campaign {
        Some(raw) => Some(campaign_option(ctx, raw).await?),
        None => None,
    };
    let new = NewCharacter {
        owner_id: commands::author(ctx),
        guild_id,
        campaign_id: campaign.as_ref().map(|c| c.id),
        name: CharacterName::parse(&name)?,
        class: CharacterClass::parse(&class)?,
        race: Race::parse(&race)?,
        gender: gender.as_deref().map(Gender::parse).transpose()?,
        description: description.as_deref().map(Description::parse).transpose()?,
    };
    let method = scores.map_or(ScoreMethod::Standard, ScoresOption::method);
    let choice = sheet::choose_scores(
        method,
        values.as_deref(),
        new.class.as_str(),
        &mut RngDice(&mut rand::rng()),
    )
    .map_err(|e| user(format!("{e}")))?;
    let new_sheet = Sheet::new(new.class.as_str(), new.race.as_str(), choice.base);
    // Everything is checked: from here on the answer is public and may take a while.
    ctx.defer().await?;
    let (created, stored) = ctx
        .data()
        .store
        .create_character_with_sheet(&new, &new_sheet)
        .await?;
    tracing::info!(character = %created.id, guild = %guild_id, "character created");
    let mut heading = format!("**{}** joins the story.", created.name.as_str());
    if let Some(rolls) = &choice.rolls {
        heading.push_str(&format!(
            "\n🎲 Ability scores, 4d6kh3: {}",
            rolls.join(" · ")
        ));
    }
    let subject = Subject::character(&created, campaign.as_ref().map(|c| c.themes.as_str()));
    portraits::paint_and_show(
        ctx,
        PortraitOwner::Character(created.id),
        &subject,
        None,
        &heading,
        party_embeds::sheet(&created, campaign.as_ref(), &stored),
    )
    .await
}

/// How `/character create` chooses ability scores.
#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum ScoresOption {
    #[name = "standard array"]
    #[name_localized("fr", "répartition standard")]
    Standard,
    #[name = "point buy"]
    #[name_localized("fr", "achat de points")]
    PointBuy,
    #[name = "roll 4d6kh3"]
    #[name_localized("fr", "lancer 4d6kh3")]
    Roll,
}

impl ScoresOption {
    fn method(self) -> ScoreMethod {
        match self {
            ScoresOption::Standard => ScoreMethod::Standard,
            ScoresOption::PointBuy => ScoreMethod::PointBuy,
            ScoresOption::Roll => ScoreMethod::Roll,
        }
    }
}

/// List characters in this server
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "liste"),
    description_localized("fr", "Lister les personnages de ce serveur")
)]
pub async fn list(
    ctx: Context<'_>,
    #[description = "Only yours (default) or everyone's"]
    #[name_localized("fr", "tous")]
    #[description_localized("fr", "Seulement les vôtres (par défaut) ou ceux de tout le monde")]
    everyone: Option<bool>,
) -> BotResult {
    let guild_id = guild(ctx)?;
    let everyone = everyone.unwrap_or(false);
    let owner = (!everyone).then(|| commands::author(ctx));
    let characters = ctx.data().store.list_characters(guild_id, owner).await?;
    let title = if everyone {
        "Characters in this server"
    } else {
        "Your characters"
    };
    send(
        ctx,
        reply().embed(embeds::character_list(title, &characters).build()),
    )
    .await?;
    Ok(())
}

/// Show a character sheet
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "voir"),
    description_localized("fr", "Afficher la fiche d'un personnage")
)]
pub async fn show(
    ctx: Context<'_>,
    #[description = "The character"]
    #[name_localized("fr", "personnage")]
    #[description_localized("fr", "Le personnage")]
    #[autocomplete = "autocomplete_character"]
    character: String,
) -> BotResult {
    let found = character_option(ctx, &character).await?;
    let campaign = match found.campaign_id {
        Some(id) => ctx.data().store.campaign_in_guild(guild(ctx)?, id).await?,
        None => None,
    };
    let owner = PortraitOwner::Character(found.id);
    let subject = Subject::character(&found, campaign.as_ref().map(|c| c.themes.as_str()));
    let picture = portraits::stored_or_stand_in(ctx, owner, &subject).await?;
    let stored = party::sheet_of(&*ctx.data().store, &found).await?;
    let embed = party_embeds::sheet(&found, campaign.as_ref(), &stored).build();
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

/// Paint a new portrait of one of your characters
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "portrait"),
    description_localized("fr", "Peindre un nouveau portrait d'un de vos personnages")
)]
pub async fn portrait(
    ctx: Context<'_>,
    #[description = "The character"]
    #[name_localized("fr", "personnage")]
    #[description_localized("fr", "Le personnage")]
    #[autocomplete = "autocomplete_character"]
    character: String,
    #[description = "Art style, e.g. watercolour, oil painting"]
    #[name_localized("fr", "style")]
    #[description_localized("fr", "Style, par ex. aquarelle, peinture à l'huile")]
    #[max_length = 100]
    style: Option<String>,
) -> BotResult {
    let found = character_option(ctx, &character).await?;
    if found.owner_id != Some(commands::author(ctx)) {
        return Err(user(
            "Only the player who created a character can change its portrait.",
        ));
    }
    let style = style.as_deref().map(PortraitStyle::parse).transpose()?;
    let campaign = match found.campaign_id {
        Some(id) => ctx.data().store.campaign_in_guild(guild(ctx)?, id).await?,
        None => None,
    };
    ctx.defer().await?;
    let subject = Subject::character(&found, campaign.as_ref().map(|c| c.themes.as_str()));
    portraits::paint_and_show(
        ctx,
        PortraitOwner::Character(found.id),
        &subject,
        style.as_ref(),
        &format!("A new portrait of **{}**.", found.name.as_str()),
        embeds::character(&found, campaign.as_ref()),
    )
    .await
}

/// Delete one of your characters
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "supprimer"),
    description_localized("fr", "Supprimer un de vos personnages")
)]
pub async fn delete(
    ctx: Context<'_>,
    #[description = "The character"]
    #[name_localized("fr", "personnage")]
    #[description_localized("fr", "Le personnage")]
    #[autocomplete = "autocomplete_character"]
    character: String,
) -> BotResult {
    let found = character_option(ctx, &character).await?;
    if found.owner_id != Some(commands::author(ctx)) {
        return Err(user(
            "Only the player who created a character can delete it.",
        ));
    }
    ctx.data().store.delete_character(found.id).await?;
    tracing::info!(character = %found.id, "character deleted");
    send(
        ctx,
        reply().content(format!("**{}** has left the story.", found.name.as_str())),
    )
    .await?;
    Ok(())
}
