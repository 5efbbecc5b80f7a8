//! Gateway events besides commands: plain messages in a session channel are player turns;
//! buttons regenerate, rate, or confirm a deletion.

use poise::FrameworkContext;
use serenity::all::{
    ComponentInteraction, CreateAllowedMentions, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, EditInteractionResponse,
    FullEvent, Interaction, Message, MessageType, Permissions,
};

use crate::core::engine::{EngineError, PlayerInput};
use crate::core::game::transcript::MessageRole;
use crate::core::game::vote::{ArenaChoice, Rating};
use crate::core::ids::{
    BattleId, CampaignId, ChannelId, DiscordMessageId, GuildId, MessageId, UserId,
};
use crate::discord::Data;
use crate::discord::error::{BotError, BotResult, INTERNAL_MESSAGE};

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
        Err(e @ EngineError::MessageTooLong { .. }) => {
            // Nitro members can post 4000 characters; the game takes 2000.
            let text = format!("⚠️ {e} The game master did not read it; please shorten it.");
            let notice = serenity::all::CreateMessage::new()
                .content(text)
                .allowed_mentions(CreateAllowedMentions::new());
            msg.channel_id.send_message(ctx, notice).await?;
            Ok(())
        }
        Err(e) => {
            tracing::warn!(channel = %channel, error = %e, "a player message was not taken");
            Ok(())
        }
    }
}

fn ephemeral(text: impl Into<String>) -> CreateInteractionResponse {
    CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new()
            .content(text)
            .ephemeral(true)
            .allowed_mentions(CreateAllowedMentions::new()),
    )
}

async fn component_clicked(
    ctx: &serenity::all::Context,
    data: &Data,
    c: &ComponentInteraction,
) -> BotResult {
    // Account buttons also work in direct messages.
    if crate::discord::commands::account::delete_button(ctx, data, c).await? {
        return Ok(());
    }
    let id = c.data.custom_id.as_str();
    let user = UserId(c.user.id.get());
    let Some(guild) = c.guild_id.map(|g| GuildId(g.get())) else {
        return Err(crate::discord::error::user(
            "Buttons work in server channels only.",
        ));
    };
    let channel = ChannelId(c.channel_id.get());
    if let Some(rest) = id.strip_prefix("regen:") {
        let narration = parse_id(rest)?;
        // Acknowledge first: the engine may take a moment to accept the request.
        c.create_response(ctx, CreateInteractionResponse::Acknowledge)
            .await?;
        match data
            .engine
            .regenerate(channel, MessageId(narration), user)
            .await
        {
            Ok(()) => {
                // The old narration is superseded: its buttons go away.
                c.edit_response(ctx, EditInteractionResponse::new().components(vec![]))
                    .await?;
            }
            Err(e) => {
                let text = BotError::from(e).user_message();
                c.create_followup(
                    ctx,
                    CreateInteractionResponseFollowup::new()
                        .content(text)
                        .ephemeral(true)
                        .allowed_mentions(CreateAllowedMentions::new()),
                )
                .await?;
            }
        }
        return Ok(());
    }
    if let Some(rest) = id.strip_prefix("rate:") {
        let (dir, n) = rest
            .split_once(':')
            .ok_or_else(|| crate::discord::error::user("That button is out of date."))?;
        let rating = match dir {
            "up" => Rating::Up,
            "down" => Rating::Down,
            _ => return Err(crate::discord::error::user("That button is out of date.")),
        };
        let narration = MessageId(parse_id(n)?);
        let Some(stored) = data.store.message(narration).await? else {
            return Err(crate::discord::error::user(
                "That narration no longer exists.",
            ));
        };
        let in_guild = match data.store.session(stored.session_id).await? {
            Some(s) => s.guild_id == Some(guild),
            None => false,
        };
        if stored.role != MessageRole::Assistant || !in_guild {
            return Err(crate::discord::error::user(
                "That narration no longer exists.",
            ));
        }
        data.store.set_rating(narration, user, rating).await?;
        let (up, down) = data.store.rating_counts(narration).await?;
        let thanks = match rating {
            Rating::Up => "👍 Thanks, noted.",
            Rating::Down => "👎 Thanks, noted.",
        };
        c.create_response(
            ctx,
            ephemeral(format!(
                "{thanks} This narration has {up} 👍 and {down} 👎."
            )),
        )
        .await?;
        return Ok(());
    }
    if let Some(rest) = id.strip_prefix("arena:") {
        let out_of_date = || crate::discord::error::user("That button is out of date.");
        let (battle, choice) = rest.split_once(':').ok_or_else(out_of_date)?;
        let battle = BattleId(parse_id(battle)?);
        let choice = ArenaChoice::parse(choice).ok_or_else(out_of_date)?;
        let receipt = data.engine.arena_vote(guild, battle, user, choice).await?;
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
        return Ok(());
    }
    if let Some(rest) = id.strip_prefix("campaign-delete:") {
        let campaign = CampaignId(parse_id(rest)? as i64);
        let Some(found) = data.store.campaign_in_guild(guild, campaign).await? else {
            return Err(crate::discord::error::user(
                "That campaign doesn't exist in this server any more.",
            ));
        };
        let manager = c
            .member
            .as_ref()
            .and_then(|m| m.permissions)
            .is_some_and(|p| p.contains(Permissions::MANAGE_GUILD) || p.administrator());
        if found.owner_id != Some(user) && !manager {
            return Err(crate::discord::error::user(
                "Only the campaign's owner or members with Manage Server can delete it.",
            ));
        }
        // Sessions still playing this campaign (in any channel or thread) stop first.
        for session in data.store.active_sessions().await? {
            if session.campaign_id == campaign
                && let Err(e) = data.engine.end_session(session.channel_id).await
            {
                tracing::warn!(channel = %session.channel_id, error = %e, "ending a session of a deleted campaign");
            }
        }
        data.store.delete_campaign(campaign).await?;
        tracing::info!(campaign = %campaign, guild = %guild, by = %user, "campaign deleted");
        let update = CreateInteractionResponseMessage::new()
            .content(format!(
                "🗑️ Campaign **{}** is deleted, with its sessions and story.",
                found.name.as_str()
            ))
            .components(vec![])
            .allowed_mentions(CreateAllowedMentions::new());
        c.create_response(ctx, CreateInteractionResponse::UpdateMessage(update))
            .await?;
        return Ok(());
    }
    if id == "campaign-delete-cancel" {
        let update = CreateInteractionResponseMessage::new()
            .content("Nothing was deleted.")
            .components(vec![]);
        c.create_response(ctx, CreateInteractionResponse::UpdateMessage(update))
            .await?;
        return Ok(());
    }
    // Buttons of commands that collect their own clicks are not ours to answer.
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

fn parse_id(raw: &str) -> BotResult<i64> {
    raw.parse::<i64>()
        .map_err(|_| crate::discord::error::user("That button is out of date."))
}
