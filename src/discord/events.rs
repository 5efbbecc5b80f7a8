//! Gateway events besides commands: plain messages in a session channel are player turns;
//! buttons regenerate, rate, or confirm a deletion.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use poise::FrameworkContext;
use serenity::all::{
    ComponentInteraction, CreateAllowedMentions, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, EditInteractionResponse,
    FullEvent, Interaction, Message, MessageType, Permissions,
};

use crate::core::engine::{EngineError, PlayerInput};
use crate::core::game::member::Member;
use crate::core::game::vote::{ArenaChoice, Rating};
use crate::core::ids::{
    BattleId, CampaignId, ChannelId, DiscordMessageId, GuildId, MessageId, UserId,
};
use crate::discord::Data;
use crate::discord::buttons::{ButtonId, UnknownButton};
use crate::discord::commands::account;
use crate::discord::error::{BotError, BotResult, INTERNAL_MESSAGE, user};

pub async fn handle(
    framework: FrameworkContext<'_, Data, BotError>,
    event: &FullEvent,
) -> Result<(), BotError> {
    let ctx = framework.serenity_context;
    let data = framework.user_data;
    match event {
        FullEvent::Message { new_message } => player_message(ctx, data, new_message).await,
        FullEvent::InteractionCreate {
            interaction: Interaction::Component(component),
        } => {
            if let Err(error) = component_clicked(ctx, data, component).await {
                let text = match &error {
                    BotError::User(m) => m.clone(),
                    BotError::Internal(e) => {
                        tracing::error!(custom_id = %component.data.custom_id, error = ?e, "button failed");
                        INTERNAL_MESSAGE.to_string()
                    }
                };
                let reply = CreateInteractionResponseMessage::new()
                    .content(text)
                    .ephemeral(true)
                    .allowed_mentions(CreateAllowedMentions::new());
                // Fails harmlessly if the click was already acknowledged.
                let _ = component
                    .create_response(ctx, CreateInteractionResponse::Message(reply))
                    .await;
            }
            Ok(())
        }
        FullEvent::InteractionCreate {
            interaction: Interaction::Modal(modal),
        } => {
            if let Err(e) = crate::discord::commands::account::expired_form(ctx, data, modal).await
            {
                tracing::warn!(error = %e, "could not answer an expired form");
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A plain message in a channel with an active session is a player's turn. Bots, DMs and
/// channels without a session are ignored silently.
async fn player_message(
    ctx: &serenity::all::Context,
    data: &Data,
    msg: &Message,
) -> Result<(), BotError> {
    if msg.author.bot || msg.webhook_id.is_some() {
        return Ok(());
    }
    let Some(_guild) = msg.guild_id else {
        return Ok(());
    };
    if !matches!(msg.kind, MessageType::Regular | MessageType::InlineReply) {
        return Ok(());
    }
    if msg.content.trim().is_empty() {
        return Ok(());
    }
    let channel = ChannelId(msg.channel_id.get());
    let author = UserId(msg.author.id.get());
    let author_name = msg
        .member
        .as_ref()
        .and_then(|m| m.nick.clone())
        .or_else(|| msg.author.global_name.clone())
        .unwrap_or_else(|| msg.author.name.clone());
    let input = PlayerInput {
        channel,
        author,
        author_name,
        // The engine picks the author's character in the campaign.
        character: None,
        content: msg.content.clone(),
        discord_message_id: Some(DiscordMessageId(msg.id.get())),
    };
    match data.engine.player_message(input).await {
        Ok(()) | Err(EngineError::NoSession) | Err(EngineError::EmptyMessage) => Ok(()),
        Err(EngineError::Limited(limited)) => {
            if data.slow_down.first_in(author, SLOW_DOWN_QUIET) {
                let text = format!(
                    "{limited} The game master did not read your message in <#{channel}>; please send it again then."
                );
                tell_privately(ctx, data, msg, text).await?;
            }
            Ok(())
        }
        Err(e @ EngineError::MessageTooLong { .. }) => {
            // Nitro members can post 4000 characters; the game takes 2000.
            let text = format!("⚠️ {e} The game master did not read it; please shorten it.");
            let notice = serenity::all::CreateMessage::new()
                .content(text)
                .allowed_mentions(CreateAllowedMentions::new());
            let sent = msg.channel_id.send_message(ctx, notice);
            data.pacer.message(msg.channel_id.get(), sent).await?;
            Ok(())
        }
        Err(e) => {
            tracing::warn!(channel = %channel, error = %e, "a player message was not taken");
            Ok(())
        }
    }
}

/// A player who keeps writing past a limit is told once in this long, not once a message.
const SLOW_DOWN_QUIET: Duration = Duration::from_secs(30);

/// When each player was last told to slow down.
#[derive(Clone, Default)]
pub struct SlowDownNotices(Arc<Mutex<HashMap<UserId, Instant>>>);

impl SlowDownNotices {
    /// Whether the player was not told within `quiet`; remembers that they are told now.
    fn first_in(&self, player: UserId, quiet: Duration) -> bool {
        let mut told = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        told.retain(|_, at| now.duration_since(*at) < quiet);
        if told.contains_key(&player) {
            return false;
        }
        told.insert(player, now);
        true
    }
}

/// A direct message to the author, or a notice in the channel when their DMs are closed.
async fn tell_privately(
    ctx: &serenity::all::Context,
    data: &Data,
    msg: &Message,
    text: String,
) -> Result<(), BotError> {
    let message = || {
        serenity::all::CreateMessage::new()
            .content(text.clone())
            .allowed_mentions(CreateAllowedMentions::new())
    };
    if msg.author.direct_message(ctx, message()).await.is_err() {
        let sent = msg.channel_id.send_message(ctx, message());
        data.pacer.message(msg.channel_id.get(), sent).await?;
    }
    Ok(())
}

fn ephemeral(text: impl Into<String>) -> CreateInteractionResponse {
    CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new()
            .content(text)
            .ephemeral(true)
            .allowed_mentions(CreateAllowedMentions::new()),
    )
}

/// Parses the button once, then hands it to its handler.
async fn component_clicked(
    ctx: &serenity::all::Context,
    data: &Data,
    c: &ComponentInteraction,
) -> BotResult {
    let button: ButtonId = c
        .data
        .custom_id
        .parse()
        .map_err(|e: UnknownButton| user(e.to_string()))?;
    match button {
        // Account buttons also work in direct messages.
        ButtonId::DeleteAccount(owner) => account::delete_clicked(ctx, data, c, owner).await,
        ButtonId::KeepAccount | ButtonId::KeepCampaign => nothing_deleted(ctx, c).await,
        ButtonId::Regenerate(narration) => regenerate(ctx, data, c, narration).await,
        ButtonId::Rate(rating, narration) => rate(ctx, data, c, rating, narration).await,
        ButtonId::ArenaVote(battle, choice) => arena_vote(ctx, data, c, battle, choice).await,
        ButtonId::DeleteCampaign(campaign) => delete_campaign(ctx, data, c, campaign).await,
    }
}

fn guild_of(c: &ComponentInteraction) -> BotResult<GuildId> {
    c.guild_id
        .map(|g| GuildId(g.get()))
        .ok_or_else(|| user("Buttons work in server channels only."))
}

/// Who clicked, as the game's rules see them.
fn clicker(c: &ComponentInteraction) -> Member {
    let is_manager = c
        .member
        .as_ref()
        .and_then(|m| m.permissions)
        .is_some_and(|p| p.contains(Permissions::MANAGE_GUILD) || p.administrator());
    Member {
        user: UserId(c.user.id.get()),
        is_manager,
    }
}

async fn regenerate(
    ctx: &serenity::all::Context,
    data: &Data,
    c: &ComponentInteraction,
    narration: MessageId,
) -> BotResult {
    guild_of(c)?;
    let channel = ChannelId(c.channel_id.get());
    // Acknowledge first: the engine may take a moment to accept the request.
    c.create_response(ctx, CreateInteractionResponse::Acknowledge)
        .await?;
    match data
        .engine
        .regenerate(channel, narration, clicker(c).user)
        .await
    {
        Ok(()) => {
            // The old narration is superseded: its buttons go away.
            let superseded =
                c.edit_response(ctx, EditInteractionResponse::new().components(vec![]));
            data.pacer.interaction(superseded).await?;
        }
        Err(e) => {
            let text = BotError::from(e).user_message();
            let told = c.create_followup(
                ctx,
                CreateInteractionResponseFollowup::new()
                    .content(text)
                    .ephemeral(true)
                    .allowed_mentions(CreateAllowedMentions::new()),
            );
            data.pacer.interaction(told).await?;
        }
    }
    Ok(())
}

async fn rate(
    ctx: &serenity::all::Context,
    data: &Data,
    c: &ComponentInteraction,
    rating: Rating,
    narration: MessageId,
) -> BotResult {
    let counts = data
        .engine
        .rate_narration(guild_of(c)?, narration, clicker(c).user, rating)
        .await?;
    let thanks = match rating {
        Rating::Up => "👍 Thanks, noted.",
        Rating::Down => "👎 Thanks, noted.",
    };
    let text = format!(
        "{thanks} This narration has {} 👍 and {} 👎.",
        counts.up, counts.down
    );
    c.create_response(ctx, ephemeral(text)).await?;
    Ok(())
}

async fn arena_vote(
    ctx: &serenity::all::Context,
    data: &Data,
    c: &ComponentInteraction,
    battle: BattleId,
    choice: ArenaChoice,
) -> BotResult {
    let receipt = data
        .engine
        .arena_vote(guild_of(c)?, battle, clicker(c).user, choice)
        .await?;
    let text = match receipt.previous {
        Some(previous) if previous != choice => format!(
            "🗳️ Vote changed from {} to {}. You can change it until everyone has voted.",
            arena_label(previous),
            arena_label(choice)
        ),
        Some(_) => format!("🗳️ Your vote is already {}.", arena_label(choice)),
        None => format!(
            "🗳️ Your vote: {}. You can change it until everyone has voted.",
            arena_label(choice)
        ),
    };
    c.create_response(ctx, ephemeral(text)).await?;
    Ok(())
}

async fn delete_campaign(
    ctx: &serenity::all::Context,
    data: &Data,
    c: &ComponentInteraction,
    campaign: CampaignId,
) -> BotResult {
    let deleted = match data
        .engine
        .delete_campaign(guild_of(c)?, campaign, clicker(c))
        .await
    {
        Err(EngineError::UnknownCampaign) => {
            return Err(user("That campaign doesn't exist in this server any more."));
        }
        other => other?,
    };
    let update = CreateInteractionResponseMessage::new()
        .content(format!(
            "🗑️ Campaign **{}** is deleted, with its sessions and story.",
            deleted.name.as_str()
        ))
        .components(vec![])
        .allowed_mentions(CreateAllowedMentions::new());
    c.create_response(ctx, CreateInteractionResponse::UpdateMessage(update))
        .await?;
    Ok(())
}

async fn nothing_deleted(ctx: &serenity::all::Context, c: &ComponentInteraction) -> BotResult {
    let update = CreateInteractionResponseMessage::new()
        .content("Nothing was deleted.")
        .components(vec![]);
    c.create_response(ctx, CreateInteractionResponse::UpdateMessage(update))
        .await?;
    Ok(())
}

fn arena_label(choice: ArenaChoice) -> &'static str {
    match choice {
        ArenaChoice::A => "**A**",
        ArenaChoice::B => "**B**",
        ArenaChoice::Tie => "**tie**",
        ArenaChoice::BothBad => "**both bad**",
    }
}
