//! The poise framework: the command list, registration and the error handler.

use std::sync::{Arc, OnceLock};

use poise::{CreateReply, FrameworkError};
use serenity::all::{CreateAllowedMentions, GuildId as SGuildId};

use crate::discord::error::{BotError, INTERNAL_MESSAGE};
use crate::discord::{Data, commands, events};

pub fn build(data: Arc<OnceLock<Data>>, guild: Option<u64>) -> poise::Framework<Data, BotError> {
    poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: commands::all(),
            on_error: |error| Box::pin(on_error(error)),
            event_handler: |framework, event| Box::pin(events::handle(framework, event)),
            // Replies never ping anyone unless a command says so explicitly.
            allowed_mentions: Some(CreateAllowedMentions::new()),
            ..Default::default()
        })
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                let commands = &framework.options().commands;
                match guild {
                    Some(g) => {
                        poise::builtins::register_in_guild(ctx, commands, SGuildId::new(g)).await?;
                        tracing::info!(guild = g, count = commands.len(), "commands registered in DISCORD_GUILD_ID");
                    }
                    None => {
                        poise::builtins::register_globally(ctx, commands).await?;
                        tracing::info!(count = commands.len(), "commands registered globally");
                    }
                }
                tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected to Discord");
                data.get()
                    .cloned()
                    .ok_or_else(|| BotError::Internal(anyhow::anyhow!("the bot started before its data was ready")))
            })
        })
        .build()
}

/// Tells the user what went wrong in one short ephemeral line; everything else goes to the log.
async fn on_error(error: FrameworkError<'_, Data, BotError>) {
    let (ctx, message) = match error {
        FrameworkError::Command { error, ctx, .. } => {
            match &error {
                BotError::User(m) => {
                    tracing::debug!(command = %ctx.command().qualified_name, refusal = %m, "command refused")
                }
                BotError::Internal(e) => {
                    tracing::error!(command = %ctx.command().qualified_name, error = ?e, "command failed")
                }
            }
            (ctx, error.user_message())
        }
        FrameworkError::GuildOnly { ctx, .. } => (
            ctx,
            "This command works in a server channel, not in direct messages.".to_string(),
        ),
        FrameworkError::MissingUserPermissions {
            ctx,
            missing_permissions,
            ..
        } => (
            ctx,
            match missing_permissions {
                Some(p) => format!("You need the {p} permission for this."),
                None => "You don't have the permissions this command needs.".into(),
            },
        ),
        FrameworkError::ArgumentParse {
            ctx, input, error, ..
        } => {
            tracing::debug!(?input, %error, "argument parse failed");
            (ctx, format!("I couldn't read one of the options: {error}."))
        }
        FrameworkError::CommandPanic { ctx, payload, .. } => {
            tracing::error!(command = %ctx.command().qualified_name, ?payload, "command panicked");
            (ctx, INTERNAL_MESSAGE.to_string())
        }
        FrameworkError::CommandStructureMismatch {
            ctx, description, ..
        } => {
            tracing::error!(command = %ctx.command().qualified_name, description, "the registered command differs from this version; re-registering fixes it");
            (
                poise::Context::Application(ctx),
                "This command changed since Discord last loaded it; please try again in a minute."
                    .to_string(),
            )
        }
        FrameworkError::EventHandler { error, event, .. } => {
            tracing::error!(event = event.snake_case_name(), error = ?error, "event handler failed");
            return;
        }
        FrameworkError::Setup { error, .. } => {
            tracing::error!(error = ?error, "bot setup failed");
            return;
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::error!(error = %e, "while reporting an error");
            }
            return;
        }
    };
    let reply = CreateReply::default()
        .content(message)
        .ephemeral(true)
        .allowed_mentions(CreateAllowedMentions::new());
    if let Err(e) = commands::send(ctx, reply).await {
        tracing::warn!(error = %e, "could not tell the user about an error");
    }
}
