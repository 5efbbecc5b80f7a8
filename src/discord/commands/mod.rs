//! Slash commands. Each one parses its options into core types, calls one store or engine
//! function, and renders the answer.

pub mod account;
pub mod admin;
pub mod arena;
pub mod campaign;
pub mod character;
pub mod init;
pub mod journal;
pub mod models;
pub mod roll;
pub mod session;
pub mod sheet;
pub mod stats;

use std::sync::atomic::Ordering;

use poise::serenity_prelude as serenity;
use poise::{CreateReply, ReplyHandle};
use serenity::all::{
    AutocompleteChoice, ChannelType, CreateAllowedMentions, CreateAutocompleteResponse, Permissions,
};

use crate::core::game::campaign::Campaign;
use crate::core::game::character::Character;
use crate::core::game::member::Member;
use crate::core::ids::{CampaignId, ChannelId, CharacterId, GuildId, UserId};
use crate::discord::error::{BotError, BotResult, user};
use crate::discord::{Context, Data};

/// Autocomplete shows at most 25 choices.
pub const CHOICES_MAX: usize = 25;

pub fn all() -> Vec<poise::Command<Data, BotError>> {
    vec![
        campaign::campaign(),
        character::character(),
        sheet::sheet(),
        sheet::inventory(),
        journal::journal(),
        init::init(),
        session::session(),
        session::act(),
        roll::roll(),
        models::models(),
        stats::stats(),
        arena::arena(),
        admin::system(),
        admin::settings(),
        account::account(),
    ]
}

/// The server the command runs in (commands that need one are `guild_only`).
pub fn guild(ctx: Context<'_>) -> BotResult<GuildId> {
    ctx.guild_id()
        .map(|g| GuildId(g.get()))
        .ok_or_else(|| user("This command works in a server channel, not in direct messages."))
}

pub fn author(ctx: Context<'_>) -> UserId {
    UserId(ctx.author().id.get())
}

pub fn channel(ctx: Context<'_>) -> ChannelId {
    ChannelId(ctx.channel_id().get())
}

/// The name the author goes by in this server.
pub async fn display_name(ctx: Context<'_>) -> String {
    if let Some(member) = ctx.author_member().await
        && let Some(nick) = &member.nick
    {
        return nick.clone();
    }
    let a = ctx.author();
    a.global_name.clone().unwrap_or_else(|| a.name.clone())
}

/// Members with Manage Server (or Administrator) may manage every campaign of the server.
/// The author as the game's rules see them.
pub async fn member(ctx: Context<'_>) -> Member {
    Member {
        user: author(ctx),
        is_manager: is_manager(ctx).await,
    }
}

/// Whether the author may post in this channel (Send Messages, or Send Messages in Threads in
/// a thread), from the permissions Discord resolved for the interaction's channel.
pub async fn may_post_here(ctx: Context<'_>) -> bool {
    let in_thread = match ctx {
        poise::Context::Application(a) => a.interaction.channel.as_ref().is_some_and(|c| {
            c.thread_metadata.is_some()
                || matches!(
                    c.kind,
                    ChannelType::PublicThread
                        | ChannelType::PrivateThread
                        | ChannelType::NewsThread
                )
        }),
        poise::Context::Prefix(_) => false,
    };
    let needed = if in_thread {
        Permissions::SEND_MESSAGES_IN_THREADS
    } else {
        Permissions::SEND_MESSAGES
    };
    ctx.author_member()
        .await
        .and_then(|m| m.permissions)
        .is_some_and(|p| p.contains(needed) || p.administrator())
}

pub async fn is_manager(ctx: Context<'_>) -> bool {
    ctx.author_member()
        .await
        .and_then(|m| m.permissions)
        .is_some_and(|p| p.contains(Permissions::MANAGE_GUILD) || p.administrator())
}

/// A plain reply that pings nobody.
pub fn reply() -> CreateReply {
    CreateReply::default().allowed_mentions(CreateAllowedMentions::new())
}

/// Sends a command's reply. An interaction's first answer is its callback, which Discord
/// exempts from the global limit and must have within 3 s, so it goes at once; every later
/// one (a followup, or the answer after `defer`) holds a slot of the global bucket that
/// channel messages share, so commands and narrations together stay within 50 a second.
pub async fn send<'a>(
    ctx: Context<'a>,
    reply: CreateReply,
) -> Result<ReplyHandle<'a>, serenity::Error> {
    if is_callback(ctx) {
        ctx.send(reply).await
    } else {
        ctx.data().pacer.interaction(ctx.send(reply)).await
    }
}

/// Edits a reply sent with [`send`], within the global bucket.
pub async fn edit(
    ctx: Context<'_>,
    handle: &ReplyHandle<'_>,
    reply: CreateReply,
) -> Result<(), serenity::Error> {
    ctx.data().pacer.interaction(handle.edit(ctx, reply)).await
}

fn is_callback(ctx: Context<'_>) -> bool {
    match ctx {
        poise::Context::Application(app) => !app.has_sent_initial_response.load(Ordering::SeqCst),
        poise::Context::Prefix(_) => false,
    }
}

/// A private reply.
pub fn private(text: impl Into<String>) -> CreateReply {
    reply().content(text).ephemeral(true)
}

/// Resolves a campaign option: the id autocomplete put there, or a name typed by hand.
/// Always within this server: an id from another server finds nothing.
pub async fn campaign_option(ctx: Context<'_>, raw: &str) -> BotResult<Campaign> {
    let guild = guild(ctx)?;
    let store = &ctx.data().store;
    let raw = raw.trim();
    let found = match raw.parse::<i64>() {
        Ok(id) => store.campaign_in_guild(guild, CampaignId(id)).await?,
        Err(_) => None,
    };
    let found = match found {
        Some(c) => Some(c),
        None => store.campaign_by_name(guild, raw).await?,
    };
    found.ok_or_else(|| {
        user("That campaign doesn't exist in this server. Pick one from the list, or see `/campaign list`.")
    })
}

/// Resolves a character option the same way, within this server.
pub async fn character_option(ctx: Context<'_>, raw: &str) -> BotResult<Character> {
    let guild = guild(ctx)?;
    let store = &ctx.data().store;
    let raw = raw.trim();
    if let Ok(id) = raw.parse::<i64>()
        && let Some(c) = store.character(CharacterId(id)).await?
        && c.guild_id == Some(guild)
    {
        return Ok(c);
    }
    let key = crate::core::text::name_key(raw);
    let mine = author(ctx);
    let mut matches: Vec<Character> = store
        .list_characters(guild, None)
        .await?
        .into_iter()
        .filter(|c| crate::core::text::name_key(c.name.as_str()) == key)
        .collect();
    // A name shared by several players' characters means the caller's own first.
    matches.sort_by_key(|c| c.owner_id != Some(mine));
    matches
        .into_iter()
        .next()
        .ok_or_else(|| user("That character doesn't exist in this server. Pick one from the list, or see `/character list`."))
}

pub async fn autocomplete_campaign(ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    let Some(guild) = ctx.guild_id().map(|g| GuildId(g.get())) else {
        return CreateAutocompleteResponse::new();
    };
    let found = ctx
        .data()
        .store
        .search_campaigns(guild, partial, CHOICES_MAX as u32)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "campaign autocomplete failed");
            vec![]
        });
    let choices = found
        .into_iter()
        .map(|c| AutocompleteChoice::new(c.name.as_str().to_string(), c.id.0.to_string()))
        .collect();
    CreateAutocompleteResponse::new().set_choices(choices)
}

pub async fn autocomplete_character(ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    let Some(guild) = ctx.guild_id().map(|g| GuildId(g.get())) else {
        return CreateAutocompleteResponse::new();
    };
    let me = author(ctx);
    let needle = crate::core::text::name_key(partial);
    let mut found: Vec<Character> = ctx
        .data()
        .store
        .list_characters(guild, None)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "character autocomplete failed");
            vec![]
        })
        .into_iter()
        .filter(|c| crate::core::text::name_key(c.name.as_str()).contains(&needle))
        .collect();
    // The caller's own characters first, then name matches at the start.
    found.sort_by_key(|c| {
        (
            c.owner_id != Some(me),
            !crate::core::text::name_key(c.name.as_str()).starts_with(&needle),
        )
    });
    let choices = found
        .into_iter()
        .take(CHOICES_MAX)
        .map(|c| {
            let label = format!(
                "{} ({} {})",
                c.name.as_str(),
                c.race.as_str(),
                c.class.as_str()
            );
            AutocompleteChoice::new(
                crate::core::text::truncate_chars(&label, 100),
                c.id.0.to_string(),
            )
        })
        .collect();
    CreateAutocompleteResponse::new().set_choices(choices)
}

/// The character a player plays in a campaign: their character in that campaign, if any.
pub async fn player_character(
    data: &Data,
    campaign: CampaignId,
    player: UserId,
) -> BotResult<Option<CharacterId>> {
    let mine = data
        .store
        .campaign_characters(campaign)
        .await?
        .into_iter()
        .find(|c| c.owner_id == Some(player));
    Ok(mine.map(|c| c.id))
}
