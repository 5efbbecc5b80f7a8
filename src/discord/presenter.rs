//! The engine's chat surface on Discord. Model text always goes out with mentions disabled
//! (never through `Message::reply`, which re-enables the author ping).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serenity::all::{
    ButtonStyle, ChannelId as SChannelId, CreateActionRow, CreateAllowedMentions, CreateAttachment,
    CreateButton, CreateEmbed, CreateEmbedAuthor, CreateMessage, EditMessage, Http,
    MessageId as SMessageId,
};

use crate::core::engine::arena::settled_text;
use crate::core::engine::{
    ArenaReveal, ArenaSide, BadRollTag, DiceRolled, Notice, PresentError, Presenter,
};
use crate::core::game::vote::{ArenaChoice, Rating};
use crate::core::ids::{BattleId, ChannelId, DiscordMessageId, ImageId, MessageId, UserId};
use crate::core::models::chat::ModelId;
use crate::core::portrait::PortraitOwner;
use crate::core::store::Store;
use crate::core::text::truncate_chars;
use crate::discord::buttons::ButtonId;
use crate::discord::embeds::{Embed, GOLD, RED};
use crate::discord::pacing::Pacer;
use crate::ops::Metrics;

/// Discord's limit for message content.
const MESSAGE_MAX: usize = 2000;

/// Icons made so far, by the image's SHA-256: (bytes, MIME type). Content-addressed, so an
/// entry never goes stale; the map is cleared when it grows large.
type IconCache = Mutex<HashMap<String, Arc<(Vec<u8>, String)>>>;
const ICONS_KEPT: usize = 256;

pub struct DiscordPresenter {
    http: Arc<Http>,
    /// Where the game master's portrait comes from; without it narrations show none.
    store: Option<Arc<dyn Store>>,
    icons: IconCache,
    metrics: Option<Arc<Metrics>>,
    /// Every channel message goes through it: Discord counts a channel's creates and edits
    /// together, serenity apart.
    pacer: Arc<Pacer>,
}

impl DiscordPresenter {
    pub fn new(http: Arc<Http>) -> DiscordPresenter {
        DiscordPresenter {
            http,
            store: None,
            icons: Mutex::default(),
            metrics: None,
            pacer: Arc::default(),
        }
    }

    /// Paces channel messages with `pacer` (the default follows Discord's limits).
    pub fn with_pacer(mut self, pacer: Arc<Pacer>) -> DiscordPresenter {
        self.pacer = pacer;
        self
    }

    /// The pacer of this presenter's channel messages, for the bot's other channel messages.
    pub fn pacer(&self) -> Arc<Pacer> {
        self.pacer.clone()
    }

    /// Counts failed REST calls in `metrics` (`/metrics`).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> DiscordPresenter {
        self.metrics = Some(metrics);
        self
    }

    fn failed(&self, operation: &str) -> impl Fn(serenity::Error) -> PresentError + '_ {
        let operation = operation.to_string();
        move |e| {
            if let Some(m) = &self.metrics {
                m.discord_error(&operation);
            }
            failed(e)
        }
    }

    /// The small copy of a stored portrait that narrations carry, made once per image.
    async fn icon(
        &self,
        store: &dyn Store,
        id: ImageId,
    ) -> Result<Option<Arc<(Vec<u8>, String)>>, crate::core::store::StoreError> {
        let Some(sha256) = store.image_sha256(id).await? else {
            return Ok(None);
        };
        if let Some(hit) = self.icons.lock().expect("icon cache").get(&sha256) {
            return Ok(Some(hit.clone()));
        }
        let Some(image) = store.image(id).await? else {
            return Ok(None);
        };
        let made =
            tokio::task::spawn_blocking(move || {
                match crate::core::portrait::icon::icon_png(
                    &image.bytes,
                    crate::core::portrait::icon::ICON_SIDE,
                ) {
                    Some(icon) => (icon, "image/png".to_string()),
                    None => (image.bytes, image.mime),
                }
            })
            .await
            .map_err(|e| crate::core::store::StoreError::Corrupt(e.to_string()))?;
        let made = Arc::new(made);
        let mut icons = self.icons.lock().expect("icon cache");
        if icons.len() >= ICONS_KEPT {
            icons.clear();
        }
        icons.insert(sha256, made.clone());
        Ok(Some(made))
    }

    /// Narrations are signed with their campaign's game-master portrait from `store`.
    pub fn with_store(mut self, store: Arc<dyn Store>) -> DiscordPresenter {
        self.store = Some(store);
        self
    }

    /// The signature under a finished narration: an embed whose author is the campaign's
    /// game master with the stored portrait as icon, and the attachment carrying it. It goes
    /// on the last message with the buttons, so streaming itself stays plain text edits.
    async fn signature(&self, narration: MessageId) -> Option<(CreateEmbed, CreateAttachment)> {
        let store = self.store.as_ref()?;
        let lookup = async {
            let message = store.message(narration).await?;
            let Some(campaign) = (match message {
                Some(m) => store.campaign(m.campaign_id).await?,
                None => None,
            }) else {
                return Ok(None);
            };
            let image = match campaign.gm_portrait_id {
                Some(id) => self.icon(store.as_ref(), id).await?,
                None => None,
            };
            Ok::<_, crate::core::store::StoreError>(image.map(|i| (campaign, i)))
        };
        let (campaign, image) = match lookup.await {
            Ok(found) => found?,
            Err(e) => {
                tracing::warn!(narration = %narration, error = %e, "no game-master portrait for a narration");
                return None;
            }
        };
        let (bytes, mime) = image.as_ref();
        let name = crate::discord::portraits::file_name(
            &crate::discord::portraits::stem(PortraitOwner::Campaign(campaign.id)),
            mime,
        );
        let author = CreateEmbedAuthor::new(truncate_chars(
            &format!("The game master of {}", campaign.name.as_str()),
            crate::discord::embeds::TITLE_MAX,
        ))
        .icon_url(format!("attachment://{name}"));
        let embed = CreateEmbed::new().author(author).colour(GOLD);
        Some((embed, CreateAttachment::bytes(bytes.clone(), name)))
    }
}

fn quiet() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
}

fn channel(c: ChannelId) -> SChannelId {
    SChannelId::new(c.0)
}

/// Discord's answers that mean the bot cannot post in the channel any more.
const CHANNEL_LOST: [(isize, &str); 4] = [
    (10003, "the channel no longer exists"),
    (50001, "the bot cannot see the channel"),
    (50013, "the bot lacks permission to post in the channel"),
    (50083, "the thread is archived"),
];

fn failed(e: serenity::Error) -> PresentError {
    if let serenity::Error::Http(serenity::all::HttpError::UnsuccessfulRequest(response)) = &e
        && let Some((_, why)) = CHANNEL_LOST
            .iter()
            .find(|(code, _)| *code == response.error.code)
    {
        return PresentError::channel_lost(*why);
    }
    PresentError::failed(e.to_string())
}

/// The buttons under a finished narration.
pub fn narration_buttons(narration: MessageId) -> CreateActionRow {
    CreateActionRow::Buttons(vec![
        CreateButton::new(ButtonId::Regenerate(narration).to_string())
            .label("Regenerate")
            .emoji('🔄')
            .style(ButtonStyle::Secondary),
        CreateButton::new(ButtonId::Rate(Rating::Up, narration).to_string())
            .emoji('👍')
            .style(ButtonStyle::Secondary),
        CreateButton::new(ButtonId::Rate(Rating::Down, narration).to_string())
            .emoji('👎')
            .style(ButtonStyle::Secondary),
    ])
}

/// The ballot's buttons.
pub fn arena_buttons(battle: BattleId) -> CreateActionRow {
    let button = |choice: ArenaChoice, label: &str, style: ButtonStyle| {
        CreateButton::new(ButtonId::ArenaVote(battle, choice).to_string())
            .label(label)
            .style(style)
    };
    CreateActionRow::Buttons(vec![
        button(ArenaChoice::A, "A", ButtonStyle::Primary),
        button(ArenaChoice::B, "B", ButtonStyle::Primary),
        button(ArenaChoice::Tie, "Tie", ButtonStyle::Secondary),
        button(ArenaChoice::BothBad, "Both bad", ButtonStyle::Secondary),
    ])
}

/// `text` as a sentence: capital first letter, final full stop.
fn sentence(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?', '…']) {
        out.push('.');
    }
    out
}

/// A narration's rolls in one embed: a single roll under its label, several as fields.
fn dice_embed(rolls: &[DiceRolled]) -> Option<Embed> {
    let label = |r: &DiceRolled| r.label.trim().to_string();
    let embed = match rolls {
        [] => return None,
        [roll] if !label(roll).is_empty() => {
            Embed::new(format!("🎲 {}", label(roll))).description(roll.text.clone())
        }
        [roll] => Embed::new("🎲 The game master rolls").description(roll.text.clone()),
        several => several.iter().enumerate().fold(
            Embed::new("🎲 The game master rolls"),
            |embed, (i, roll)| {
                let name = Some(label(roll))
                    .filter(|l| !l.is_empty())
                    .unwrap_or_else(|| format!("Roll {}", i + 1));
                embed.field(name, roll.text.clone(), false)
            },
        ),
    };
    Some(embed.colour(GOLD))
}

/// The roll tags a narration held that could not be rolled, in one line.
fn unrollable(problems: &[BadRollTag]) -> Option<String> {
    const SHOWN: usize = 3;
    let tag = |p: &BadRollTag| truncate_chars(p.tag.trim(), 40);
    match problems {
        [] => None,
        [one] => Some(format!(
            "⚠️ The game master asked for a roll I can't make (`{}`): {} The story goes on without it.",
            tag(one),
            sentence(&one.problem)
        )),
        several => {
            let mut listed: Vec<String> = several
                .iter()
                .take(SHOWN)
                .map(|p| format!("`{}` ({})", tag(p), truncate_chars(&p.problem, 80)))
                .collect();
            if several.len() > SHOWN {
                listed.push(format!("{} more", several.len() - SHOWN));
            }
            Some(format!(
                "⚠️ The game master asked for {} rolls I can't make: {}. The story goes on without them.",
                several.len(),
                listed.join(", ")
            ))
        }
    }
}

/// How a notice reads in the channel: (content, embed).
pub fn render_notice(notice: &Notice) -> (Option<String>, Option<Embed>) {
    match notice {
        Notice::Dice { rolls, problems } => (unrollable(problems), dice_embed(rolls)),
        Notice::ModelFailed {
            model,
            reason,
            next,
        } => (
            Some(format!(
                "⚠️ `{model}` failed: {} {}",
                sentence(reason),
                sentence(next)
            )),
            None,
        ),
        Notice::NarrationCut { model, reason } => (
            Some(format!(
                "⚠️ `{model}` stopped part way: {} What it wrote is kept; use Regenerate to try again.",
                sentence(reason)
            )),
            None,
        ),
        Notice::TurnFailed { reason } => (
            None,
            Some(
                Embed::new("⚠️ No narration this turn")
                    .description(sentence(reason))
                    .colour(RED),
            ),
        ),
        Notice::BudgetWarning { spent_usd, budget_usd } => (
            Some(format!(
                "💰 This server has spent ${spent_usd:.2} of its ${budget_usd:.2} monthly model budget (80% or more). \
                 Narration stops when the budget is spent; a server manager can raise it."
            )),
            None,
        ),
        Notice::BudgetExhausted { spent_usd, budget_usd } => (
            None,
            Some(
                Embed::new("💰 Monthly budget spent")
                    .description(format!(
                        "This server has spent ${spent_usd:.2} of its ${budget_usd:.2} monthly model budget, so the game master \
                         pauses until the month ends or a server manager raises the budget. Your messages are kept."
                    ))
                    .colour(RED),
            ),
        ),
        Notice::State { line } => (Some(line.clone()), None),
        Notice::Restarting => (
            Some(
                "🔧 The bot is restarting. Your message is kept, and the game master picks the story up \
                 when it is back in a moment."
                    .to_string(),
            ),
            None,
        ),
        Notice::StorageDown => (
            Some(
                "🔧 The game's database is not answering. What you write is held, saved and narrated \
                 as soon as it is back; no need to send it again."
                    .to_string(),
            ),
            None,
        ),
        Notice::StorageBack => (
            Some("🔧 The database is back; the story goes on.".to_string()),
            None,
        ),
        Notice::ArenaSettled {
            model_a,
            model_b,
            votes,
            winner,
            canon_changed,
        } => (
            Some(settled_text(model_a, model_b, *votes, *winner, *canon_changed)),
            None,
        ),
    }
}

#[async_trait]
impl Presenter for DiscordPresenter {
    async fn typing(&self, c: ChannelId) {
        // Typing is worth nothing late: skipped rather than queued when the bot is busy.
        let typing = self.pacer.if_idle(channel(c).broadcast_typing(&self.http));
        if let Some(Err(e)) = typing.await {
            tracing::debug!(channel = %c, error = %e, "typing indicator failed");
        }
    }

    async fn send(&self, c: ChannelId, text: &str) -> Result<DiscordMessageId, PresentError> {
        let message = CreateMessage::new()
            .content(truncate_chars(text, MESSAGE_MAX))
            .allowed_mentions(quiet());
        let sent = self
            .pacer
            .message(c.0, channel(c).send_message(&self.http, message))
            .await
            .map_err(self.failed("send"))?;
        Ok(DiscordMessageId(sent.id.get()))
    }

    async fn edit(
        &self,
        c: ChannelId,
        message: DiscordMessageId,
        text: &str,
    ) -> Result<(), PresentError> {
        let edit = EditMessage::new()
            .content(truncate_chars(text, MESSAGE_MAX))
            .allowed_mentions(quiet());
        let edited = channel(c).edit_message(&self.http, SMessageId::new(message.0), edit);
        self.pacer
            .message(c.0, edited)
            .await
            .map_err(self.failed("edit"))?;
        Ok(())
    }

    async fn narration_finished(
        &self,
        c: ChannelId,
        last_message: DiscordMessageId,
        narration: MessageId,
        _model: &ModelId,
    ) -> Result<(), PresentError> {
        let mut edit = EditMessage::new()
            .components(vec![narration_buttons(narration)])
            .allowed_mentions(quiet());
        if let Some((embed, file)) = self.signature(narration).await {
            edit = edit.embed(embed).new_attachment(file);
        }
        let edited = channel(c).edit_message(&self.http, SMessageId::new(last_message.0), edit);
        self.pacer
            .message(c.0, edited)
            .await
            .map_err(self.failed("buttons"))?;
        Ok(())
    }

    async fn notice(&self, c: ChannelId, notice: &Notice) -> Result<(), PresentError> {
        let (content, embed) = render_notice(notice);
        let mut message = CreateMessage::new().allowed_mentions(quiet());
        if let Some(text) = content {
            message = message.content(truncate_chars(&text, MESSAGE_MAX));
        }
        if let Some(embed) = embed {
            message = message.embed(embed.build());
        }
        self.pacer
            .message(c.0, channel(c).send_message(&self.http, message))
            .await
            .map_err(self.failed("notice"))?;
        Ok(())
    }

    async fn tell_user(&self, user: UserId, text: &str) -> Result<(), PresentError> {
        let opened = serenity::all::UserId::new(user.0).create_dm_channel(&self.http);
        let dm = self.pacer.global(opened).await.map_err(self.failed("dm"))?;
        let message = CreateMessage::new()
            .content(truncate_chars(text, MESSAGE_MAX))
            .allowed_mentions(quiet());
        self.pacer
            .message(dm.id.get(), dm.id.send_message(&self.http, message))
            .await
            .map_err(self.failed("dm"))?;
        Ok(())
    }

    fn collects_votes(&self) -> bool {
        true
    }

    async fn arena_heading(
        &self,
        c: ChannelId,
        side: ArenaSide,
    ) -> Result<DiscordMessageId, PresentError> {
        self.send(c, &side.heading()).await
    }

    async fn arena_ballot(
        &self,
        c: ChannelId,
        battle: BattleId,
    ) -> Result<DiscordMessageId, PresentError> {
        let message = CreateMessage::new()
            .content(crate::core::engine::arena::BALLOT_TEXT)
            .components(vec![arena_buttons(battle)])
            .allowed_mentions(quiet());
        let sent = self
            .pacer
            .message(c.0, channel(c).send_message(&self.http, message))
            .await
            .map_err(self.failed("ballot"))?;
        Ok(DiscordMessageId(sent.id.get()))
    }

    async fn arena_reveal(&self, c: ChannelId, reveal: &ArenaReveal) -> Result<(), PresentError> {
        for side in [ArenaSide::A, ArenaSide::B] {
            if let Some(heading) = reveal.heading_message(side) {
                self.edit(c, heading, &reveal.revealed_heading(side))
                    .await?;
            }
        }
        match reveal.ballot {
            Some(ballot) => {
                let edit = EditMessage::new()
                    .content(truncate_chars(&reveal.summary(), MESSAGE_MAX))
                    .components(vec![])
                    .allowed_mentions(quiet());
                let edited = channel(c).edit_message(&self.http, SMessageId::new(ballot.0), edit);
                self.pacer
                    .message(c.0, edited)
                    .await
                    .map_err(self.failed("reveal"))?;
            }
            None => {
                self.send(c, &reveal.summary()).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_the_model_and_what_happens_next() {
        let notice = Notice::ModelFailed {
            model: ModelId::parse("openai:gpt-4o").unwrap(),
            reason: "the provider timed out".into(),
            next: "trying anthropic:claude-sonnet-4-5 instead".into(),
        };
        let (content, _) = render_notice(&notice);
        assert_eq!(
            content.unwrap(),
            "⚠️ `openai:gpt-4o` failed: The provider timed out. Trying anthropic:claude-sonnet-4-5 instead."
        );
    }

    #[test]
    fn sentences_get_one_capital_and_one_full_stop() {
        assert_eq!(sentence("it broke"), "It broke.");
        assert_eq!(sentence("Done!"), "Done!");
        assert_eq!(sentence("  ends well. "), "Ends well.");
        assert_eq!(sentence(""), "");
    }
}
