//! Portraits in Discord replies. An embed shows its portrait through an attachment of the
//! stored bytes (`attachment://NAME`), never through a provider URL: those expire within the
//! hour, and a shown portrait must not cost a second generation.

use poise::CreateReply;
use poise::serenity_prelude as serenity;
use serenity::all::{CreateAttachment, CreateEmbed};

use crate::core::portrait::{
    Painted, PlaceholderReason, Portrait, PortraitOwner, PortraitStyle, Subject,
};
use crate::discord::commands::{self, reply, send};
use crate::discord::error::BotResult;
use crate::discord::{Context, embeds};

/// What an embed needs to show a portrait: the bytes and their type.
pub struct Picture<'a> {
    pub bytes: &'a [u8],
    pub mime: &'a str,
}

impl<'a> From<&'a Portrait> for Picture<'a> {
    fn from(p: &'a Portrait) -> Picture<'a> {
        Picture {
            bytes: &p.bytes,
            mime: &p.mime,
        }
    }
}

/// The attachment's file name: a stem naming the owner and the image type's extension.
/// Discord matches `attachment://NAME` against it, so it stays plain ASCII.
pub fn file_name(stem: &str, mime: &str) -> String {
    let ext = match mime {
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        _ => "png",
    };
    format!("{stem}.{ext}")
}

/// The stem for an owner's portrait file.
pub fn stem(owner: PortraitOwner) -> String {
    match owner {
        PortraitOwner::Character(id) => format!("character-{id}"),
        PortraitOwner::Campaign(id) => format!("game-master-{id}"),
    }
}

/// `reply` with `embed` showing the picture as its thumbnail, and the attachment carrying it.
pub fn with_thumbnail(
    reply: CreateReply,
    embed: CreateEmbed,
    picture: Option<Picture<'_>>,
    stem: &str,
) -> CreateReply {
    match picture {
        Some(p) => {
            let name = file_name(stem, p.mime);
            reply
                .embed(embed.thumbnail(format!("attachment://{name}")))
                .attachment(CreateAttachment::bytes(p.bytes.to_vec(), name))
        }
        None => reply.embed(embed),
    }
}

/// The reply's text: the headline, then at most one line about the portrait.
fn text(headline: &str, note: Option<String>) -> String {
    match note {
        Some(note) => format!("{headline}\n{note}"),
        None => headline.to_string(),
    }
}

/// Posts `headline` and `embed` with a placeholder portrait at once, then paints the
/// portrait and edits the reply to show it, or to say in one line why the placeholder (or
/// the previous portrait) stays. The command has deferred: painting takes seconds.
pub async fn paint_and_show(
    ctx: Context<'_>,
    owner: PortraitOwner,
    subject: &Subject,
    style: Option<&PortraitStyle>,
    headline: &str,
    embed: embeds::Embed,
) -> BotResult {
    let portraits = &ctx.data().portraits;
    let stem = stem(owner);
    let guild = commands::guild(ctx).ok();
    if !portraits.has_provider() {
        // Nothing to wait for: one answer with the placeholder (or the portrait kept).
        let painted = portraits
            .paint(owner, commands::author(ctx), guild, subject, style)
            .await?;
        send(
            ctx,
            with_thumbnail(
                reply().content(text(headline, painted.note())),
                embed.build(),
                Some(Picture::from(&painted.shown)),
                &stem,
            ),
        )
        .await?;
        return Ok(());
    }
    let stand_in = portraits.stand_in(owner, subject).await?;
    let first = with_thumbnail(
        reply().content(text(headline, Some(PlaceholderReason::Painting.explain()))),
        embed.build(),
        Some(Picture::from(&stand_in)),
        &stem,
    );
    let handle = send(ctx, first).await?;
    let painted: Painted = match portraits
        .paint(owner, commands::author(ctx), guild, subject, style)
        .await
    {
        Ok(painted) => painted,
        Err(e) => {
            // The reply must not keep promising a portrait; the placeholder stays.
            let why =
                "The portrait could not be saved, so the placeholder stays; try again in a moment.";
            let stuck = with_thumbnail(
                reply().content(text(headline, Some(why.to_string()))),
                embed.build(),
                Some(Picture::from(&stand_in)),
                &stem,
            );
            if let Err(edit) = commands::edit(ctx, &handle, stuck).await {
                tracing::warn!(error = %edit, "could not update a portrait reply");
            }
            return Err(e.into());
        }
    };
    tracing::info!(
        owner = ?owner,
        generated = painted.shown.placeholder.is_none(),
        reason = ?painted.shown.placeholder,
        "portrait painted"
    );
    let content = text(headline, painted.note());
    let picture = || Some(Picture::from(&painted.shown));
    let done = with_thumbnail(reply().content(&content), embed.build(), picture(), &stem);
    match commands::edit(ctx, &handle, done).await {
        Err(e) if token_expired(&e) => {
            // Painting outlived the interaction's token (15 minutes): the finished reply
            // goes to the channel as a message of its own.
            let message = serenity::all::CreateMessage::new()
                .content(content)
                .allowed_mentions(serenity::all::CreateAllowedMentions::new());
            let message = with_thumbnail_message(message, embed.build(), picture(), &stem);
            let sent = ctx.channel_id().send_message(ctx, message);
            ctx.data()
                .pacer
                .message(ctx.channel_id().get(), sent)
                .await?;
            Ok(())
        }
        other => other.map(|_| ()).map_err(Into::into),
    }
}

/// Discord no longer takes the interaction's token: 401 with code 50027, Invalid Webhook
/// Token, or 10015, Unknown Webhook.
pub fn token_expired(e: &serenity::Error) -> bool {
    matches!(
        e,
        serenity::Error::Http(serenity::all::HttpError::UnsuccessfulRequest(r))
            if matches!(r.error.code, 50027 | 10015)
    )
}

/// [`with_thumbnail`] for a plain channel message.
fn with_thumbnail_message(
    message: serenity::all::CreateMessage,
    embed: CreateEmbed,
    picture: Option<Picture<'_>>,
    stem: &str,
) -> serenity::all::CreateMessage {
    match picture {
        Some(p) => {
            let name = file_name(stem, p.mime);
            message
                .embed(embed.thumbnail(format!("attachment://{name}")))
                .add_file(CreateAttachment::bytes(p.bytes.to_vec(), name))
        }
        None => message.embed(embed),
    }
}

/// The owner's stored portrait for a later embed; one without a portrait yet (made before
/// portraits existed) gets its placeholder now. A failure only costs the picture.
pub async fn stored_or_stand_in(
    ctx: Context<'_>,
    owner: PortraitOwner,
    subject: &Subject,
) -> BotResult<Option<(Vec<u8>, String)>> {
    match ctx.data().portraits.stand_in(owner, subject).await {
        Ok(p) => Ok(Some((p.bytes, p.mime))),
        Err(e) => {
            tracing::warn!(error = %e, "no portrait for an embed");
            Ok(None)
        }
    }
}
