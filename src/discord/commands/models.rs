//! `/models`: the models this bot can use, with context size and price.

use crate::discord::commands::{reply, send};
use crate::discord::error::BotResult;
use crate::discord::{Context, embeds};

/// The models this bot can narrate with
#[poise::command(
    slash_command,
    name_localized("fr", "modèles"),
    description_localized("fr", "Les modèles qui peuvent raconter")
)]
pub async fn models(ctx: Context<'_>) -> BotResult {
    let data = ctx.data();
    let mut default = data.default_model.as_ref().map(ToString::to_string);
    if let Some(g) = ctx.guild_id() {
        let settings = data
            .store
            .guild_settings(crate::core::ids::GuildId(g.get()))
            .await?;
        if let Some(m) = settings.default_model {
            default = Some(m.to_string());
        }
    }
    let embed = embeds::models(&data.registry.available_models(), default.as_deref()).build();
    send(ctx, reply().embed(embed)).await?;
    Ok(())
}
