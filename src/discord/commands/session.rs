//! `/session start | end | recap` and `/act`.

use serenity::all::{ChannelType, CreateThread};

use crate::core::engine::PlayerInput;
use crate::core::ids::{ChannelId, DiscordMessageId, GuildId};
use crate::core::streaming::split_message;
use crate::core::text::truncate_chars;
use crate::discord::Context;
use crate::discord::commands::{
    self, autocomplete_campaign, autocomplete_character, campaign_option, character_option, guild,
    reply, send,
};
use crate::discord::error::{BotResult, user};

/// Longest player action (Discord's message limit).
pub const MAX_ACTION: usize = 2000;

/// Play a campaign in this channel
#[poise::command(
    slash_command,
    guild_only,
    subcommands("start", "end", "recap"),
    subcommand_required,
    description_localized("fr", "Jouer une campagne dans ce salon")
)]
pub async fn session(_ctx: Context<'_>) -> BotResult {
    Ok(())
}

/// Start a session: the game master opens the scene
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "démarrer"),
    description_localized("fr", "Démarrer une session : le maître du jeu ouvre la scène")
)]
pub async fn start(
    ctx: Context<'_>,
    #[description = "The campaign to play"]
    #[name_localized("fr", "campagne")]
    #[description_localized("fr", "La campagne à jouer")]
    #[autocomplete = "autocomplete_campaign"]
    campaign: String,
    #[description = "Play in a new thread of this channel"]
    #[name_localized("fr", "fil")]
    #[description_localized("fr", "Jouer dans un nouveau fil de ce salon")]
    thread: Option<bool>,
) -> BotResult {
    let guild_id: GuildId = guild(ctx)?;
    let found = campaign_option(ctx, &campaign).await?;
    let data = ctx.data();
    let here = commands::channel(ctx);
    let thread = thread.unwrap_or(false);
    if !thread && data.store.active_session(here).await?.is_some() {
        return Err(user(
            "A session is already running in this channel. End it with `/session end` first, or start this one in a thread.",
        ));
    }
    ctx.defer().await?;
    let channel: ChannelId = if thread {
        let name = truncate_chars(found.name.as_str(), 100);
        let created = ctx
            .channel_id()
            .create_thread(ctx, CreateThread::new(name).kind(ChannelType::PublicThread))
            .await?;
        ChannelId(created.id.get())
    } else {
        here
    };
    let session = data
        .engine
        .start_session(&found, guild_id, channel, commands::author(ctx))
        .await?;
    tracing::info!(session = %session.id, campaign = %found.id, channel = %channel, "session started");
    let place = if thread {
        format!(" in <#{channel}>")
    } else {
        String::new()
    };
    send(ctx, reply().content(format!(
        "▶️ The session of **{}** begins{place}, narrated by `{}`. Write what your characters do; the game master answers.",
        found.name.as_str(),
        found.model
    )))
    .await?;
    Ok(())
}

/// End the session in this channel
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "terminer"),
    description_localized("fr", "Terminer la session de ce salon")
)]
pub async fn end(ctx: Context<'_>) -> BotResult {
    let session = ctx
        .data()
        .engine
        .end_session_for(commands::channel(ctx), commands::member(ctx).await)
        .await?;
    tracing::info!(session = %session.id, "session ended");
    send(ctx, reply().content(
        "⏹️ The session is over. The story is saved; start again any time with `/session start`.",
    ))
    .await?;
    Ok(())
}

/// Summarise the story so far
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "résumé"),
    description_localized("fr", "Résumer l'histoire jusqu'ici")
)]
pub async fn recap(ctx: Context<'_>) -> BotResult {
    let channel = commands::channel(ctx);
    if ctx.data().store.active_session(channel).await?.is_none() {
        return Err(user(
            "There is no active session in this channel. Start one with `/session start`.",
        ));
    }
    ctx.defer().await?;
    let text = ctx.data().engine.recap(channel).await?;
    let text = if text.trim().is_empty() {
        "Nothing has happened yet.".to_string()
    } else {
        text
    };
    for part in split_message(&format!("📖 **The story so far**\n{text}"), 2000) {
        send(ctx, reply().content(part)).await?;
    }
    Ok(())
}

/// Say what your character does (works without reading messages)
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "agir"),
    description_localized("fr", "Dire ce que fait votre personnage")
)]
pub async fn act(
    ctx: Context<'_>,
    #[description = "What your character does or says"]
    #[name_localized("fr", "texte")]
    #[description_localized("fr", "Ce que fait ou dit votre personnage")]
    #[max_length = 2000]
    text: String,
    #[description = "Which of your characters acts (default: yours in this campaign)"]
    #[name_localized("fr", "personnage")]
    #[description_localized(
        "fr",
        "Quel personnage agit (par défaut : le vôtre dans cette campagne)"
    )]
    #[autocomplete = "autocomplete_character"]
    character: Option<String>,
) -> BotResult {
    let data = ctx.data();
    let channel = commands::channel(ctx);
    let Some(session) = data.store.active_session(channel).await? else {
        return Err(user(
            "There is no active session in this channel. Start one with `/session start`.",
        ));
    };
    // `/act` posts the text as the bot: not for members the channel has muted.
    if !commands::may_post_here(ctx).await {
        return Err(user(
            "You can't send messages in this channel, so you can't act here either.",
        ));
    }
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(user("Say what your character does."));
    }
    let len = text.chars().count();
    if len > MAX_ACTION {
        return Err(user(format!(
            "That is too long ({len} characters; at most {MAX_ACTION})."
        )));
    }
    let me = commands::author(ctx);
    let chosen = match &character {
        Some(raw) => {
            let c = character_option(ctx, raw).await?;
            if c.owner_id != Some(me) {
                return Err(user("You can only act as one of your own characters."));
            }
            Some(c)
        }
        None => match commands::player_character(data, session.campaign_id, me).await? {
            Some(id) => data.store.character(id).await?,
            None => None,
        },
    };
    let speaker = match &chosen {
        Some(c) => c.name.as_str().to_string(),
        None => commands::display_name(ctx).await,
    };
    ctx.defer().await?;
    data.engine
        .player_message(PlayerInput {
            channel,
            author: me,
            author_name: commands::display_name(ctx).await,
            character: chosen.as_ref().map(|c| c.id),
            content: text.clone(),
            discord_message_id: None::<DiscordMessageId>,
        })
        .await?;
    let shown = truncate_chars(&format!("🎭 **{speaker}**: {text}"), 2000);
    send(ctx, reply().content(shown)).await?;
    Ok(())
}
