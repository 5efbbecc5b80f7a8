//! `/roll expression [reason]`: Avrae-compatible dice, rolled by the bot.

use crate::core::game::dice::DiceExpr;
use crate::core::text::truncate_chars;
use crate::discord::commands::{reply, send};
use crate::discord::error::BotResult;
use crate::discord::{Context, embeds};

/// Roll dice, e.g. 1d20+5, 4d6kh3, 2d20kl1 (works in DMs too)
#[poise::command(
    slash_command,
    name_localized("fr", "lancer"),
    description_localized("fr", "Lancer des dés, par ex. 1d20+5, 4d6kh3, 2d20kl1")
)]
pub async fn roll(
    ctx: Context<'_>,
    #[description = "Dice expression, e.g. 1d20+5"]
    #[description_localized("fr", "Expression de dés, par ex. 1d20+5")]
    #[max_length = 500]
    expression: String,
    #[description = "What the roll is for"]
    #[name_localized("fr", "raison")]
    #[description_localized("fr", "À quoi sert le jet")]
    #[max_length = 200]
    reason: Option<String>,
) -> BotResult {
    let expr = DiceExpr::parse(&expression)?;
    let result = {
        let mut rng = rand::rng();
        expr.roll(&mut rng)?
    };
    let who = ctx
        .author()
        .global_name
        .clone()
        .unwrap_or_else(|| ctx.author().name.clone());
    let reason = reason
        .map(|r| truncate_chars(r.trim(), 200))
        .filter(|r| !r.is_empty());
    let embed = embeds::roll(expression.trim(), reason.as_deref(), &result, &who).build();
    send(ctx, reply().embed(embed)).await?;
    Ok(())
}
