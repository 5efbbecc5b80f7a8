//! `/init start | add | next | remove | end`: initiative in this channel's session, as Avrae
//! tracks it. The bot rolls every initiative, keeps the order, tells the game master whose
//! turn it is, and rolls a dying character's death save when its turn comes.

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::core::game::session::Session;
use crate::core::party::{self, fight};
use crate::discord::commands::{self, reply, send};
use crate::discord::error::{BotResult, user};
use crate::discord::{Context, party_embeds};

/// Initiative and turns in a fight
#[poise::command(
    slash_command,
    guild_only,
    subcommands("start", "add", "next", "remove", "end"),
    subcommand_required,
    name_localized("fr", "init"),
    description_localized("fr", "L'initiative et les tours d'un combat")
)]
pub async fn init(_ctx: Context<'_>) -> BotResult {
    Ok(())
}

/// The bot's dice for a command (ThreadRng cannot be held across an await).
fn dice() -> StdRng {
    StdRng::from_rng(&mut rand::rng())
}

/// This channel's session, for a member of its table (a player, the campaign's owner or a
/// manager): the fight reaches the game master's context.
async fn session_here(ctx: Context<'_>) -> BotResult<Session> {
    let store = &*ctx.data().store;
    let session = store
        .active_session(commands::channel(ctx))
        .await?
        .ok_or_else(|| {
            user("No session is playing in this channel: `/session start` begins one.")
        })?;
    let campaign = store
        .campaign(session.campaign_id)
        .await?
        .ok_or_else(|| user("This channel's campaign no longer exists."))?;
    let member = commands::member(ctx).await;
    party::ensure_at_table(store, &member, &campaign, "run its fights").await?;
    Ok(session)
}

/// Start a fight: the party rolls initiative
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "début"),
    description_localized("fr", "Commencer un combat : le groupe lance l'initiative")
)]
pub async fn start(ctx: Context<'_>) -> BotResult {
    let session = session_here(ctx).await?;
    let fight = fight::start(&*ctx.data().store, &session, &mut dice()).await?;
    let embed = party_embeds::fight(&fight.combat).build();
    send(
        ctx,
        reply()
            .content("⚔️ Roll for initiative! `/init add` brings in the foes, `/init next` starts the first turn.")
            .embed(embed),
    )
    .await?;
    Ok(())
}

/// Add a combatant; the bot rolls its initiative
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "ajouter"),
    description_localized("fr", "Ajouter un combattant ; le bot lance son initiative")
)]
pub async fn add(
    ctx: Context<'_>,
    #[description = "Who joins the fight, e.g. Goblin 1"]
    #[name_localized("fr", "nom")]
    #[description_localized("fr", "Qui rejoint le combat, par ex. Gobelin 1")]
    #[max_length = 40]
    name: String,
    #[description = "Initiative modifier (DEX), e.g. 2"]
    #[name_localized("fr", "modificateur")]
    #[description_localized("fr", "Modificateur d'initiative (DEX), par ex. 2")]
    #[min = -100]
    #[max = 100]
    modifier: Option<i64>,
    #[description = "A fixed initiative instead of a roll"]
    #[name_localized("fr", "initiative")]
    #[description_localized("fr", "Une initiative fixe au lieu d'un jet")]
    #[min = -100]
    #[max = 100]
    initiative: Option<i64>,
) -> BotResult {
    let session = session_here(ctx).await?;
    let (fight, added) = fight::add(
        &*ctx.data().store,
        &session,
        &name,
        modifier.unwrap_or(0),
        initiative,
        &mut dice(),
    )
    .await?;
    let embed = party_embeds::fight(&fight.combat).build();
    send(
        ctx,
        reply()
            .content(format!(
                "**{}** joins the fight: {}.",
                added.name, added.roll
            ))
            .embed(embed),
    )
    .await?;
    Ok(())
}

/// Move to the next turn
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "suivant"),
    description_localized("fr", "Passer au tour suivant")
)]
pub async fn next(ctx: Context<'_>) -> BotResult {
    let session = session_here(ctx).await?;
    let turn = fight::next(&*ctx.data().store, &session, &mut dice()).await?;
    let up = turn
        .fight
        .combat
        .current()
        .map(|c| c.name.clone())
        .unwrap_or_default();
    let mut text = format!("▶️ Round {}: **{up}**'s turn.", turn.fight.combat.round);
    if let Some(save) = &turn.death_save {
        text.push_str(&format!("\n🎲 {save}"));
    }
    let embed = party_embeds::fight(&turn.fight.combat).build();
    send(ctx, reply().content(text).embed(embed)).await?;
    Ok(())
}

/// Take a combatant out of the fight
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "retirer"),
    description_localized("fr", "Retirer un combattant du combat")
)]
pub async fn remove(
    ctx: Context<'_>,
    #[description = "Who leaves the fight"]
    #[name_localized("fr", "nom")]
    #[description_localized("fr", "Qui quitte le combat")]
    #[max_length = 40]
    name: String,
) -> BotResult {
    let session = session_here(ctx).await?;
    let fight = fight::remove(&*ctx.data().store, &session, &name).await?;
    let embed = party_embeds::fight(&fight.combat).build();
    send(
        ctx,
        reply()
            .content(format!("**{}** leaves the fight.", name.trim()))
            .embed(embed),
    )
    .await?;
    Ok(())
}

/// End the fight
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "fin"),
    description_localized("fr", "Terminer le combat")
)]
pub async fn end(ctx: Context<'_>) -> BotResult {
    let session = session_here(ctx).await?;
    if !fight::end(&*ctx.data().store, &session).await? {
        return Err(user("No fight is on in this channel."));
    }
    send(ctx, reply().content("🕊️ The fight is over.")).await?;
    Ok(())
}
