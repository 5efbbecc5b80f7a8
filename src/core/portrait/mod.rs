//! Portraits for characters and game masters: a generated image when the provider, the
//! user's daily allowance and the server's budget allow, a local placeholder otherwise, with
//! one line saying why. Bytes are stored once (by hash) and served from storage afterwards.

pub mod fit;
pub mod icon;
pub mod image;
pub mod placeholder;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::core::game::campaign::Campaign;
use crate::core::game::character::Character;
use crate::core::ids::{CampaignId, CharacterId, GuildId, ImageId, Timestamp, UserId};
use crate::core::limits::{Action, LimitError, Limited, Limiter, Limits, Pair, Rate, wait_phrase};
use crate::core::models::budget::{BudgetState, budget_state};
use crate::core::models::chat::{ErrorKind, ImageModel, ImageRequest, ModelId};
use crate::core::models::perf::{CallKind, PerfRecord};
use crate::core::models::pricing::PriceTable;
use crate::core::portrait::image::{ImageKind, NewImage};
use crate::core::portrait::placeholder::render_placeholder;
use crate::core::store::{Store, StoreError};
use crate::core::text::{self, TextError};
use crate::core::time::month_start;

pub const PORTRAIT_SIZE: &str = "1024x1024";

/// Who the portrait shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Character {
        name: String,
        race: String,
        class: String,
        gender: Option<String>,
        description: Option<String>,
        themes: Option<String>,
    },
    GameMaster {
        campaign: String,
        themes: String,
    },
}

impl Subject {
    /// A character as the art prompt sees it; `themes` are its campaign's.
    pub fn character(c: &Character, themes: Option<&str>) -> Subject {
        Subject::Character {
            name: c.name.as_str().to_string(),
            race: c.race.as_str().to_string(),
            class: c.class.as_str().to_string(),
            gender: c.gender.as_ref().map(|g| g.as_str().to_string()),
            description: c.description.as_ref().map(|d| d.as_str().to_string()),
            themes: themes.map(str::to_string),
        }
    }

    /// A campaign's game master.
    pub fn game_master(c: &Campaign) -> Subject {
        Subject::GameMaster {
            campaign: c.name.as_str().to_string(),
            themes: c.themes.as_str().to_string(),
        }
    }

    fn label(&self) -> (&str, &str) {
        match self {
            Subject::Character { name, class, .. } => (name, class),
            Subject::GameMaster { campaign, .. } => (campaign, "game master"),
        }
    }

    fn kind(&self) -> ImageKind {
        match self {
            Subject::Character { .. } => ImageKind::CharacterPortrait,
            Subject::GameMaster { .. } => ImageKind::GameMasterPortrait,
        }
    }
}

/// An art style asked for by a player ("watercolour", "oil painting"), one line of at most
/// 100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortraitStyle(String);

impl PortraitStyle {
    pub const MAX: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, TextError> {
        text::single_line(raw, "The style", Self::MAX).map(PortraitStyle)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whose portrait it is: a character's, or a campaign's game master's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortraitOwner {
    Character(CharacterId),
    Campaign(CampaignId),
}

/// The art direction every portrait shares: consistent, safe, and free of text.
pub fn art_prompt(subject: &Subject, style: Option<&str>) -> String {
    let clip = |s: &str, n: usize| {
        s.chars()
            .filter(|c| !c.is_control())
            .take(n)
            .collect::<String>()
    };
    let style = style
        .map(|s| clip(s, 100))
        .unwrap_or_else(|| "painterly digital fantasy illustration".into());
    let body = match subject {
        Subject::Character {
            name: _,
            race,
            class,
            gender,
            description,
            themes,
        } => {
            let mut who = format!("a {} {}", clip(race, 40), clip(class, 40));
            if let Some(g) = gender {
                who = format!("a {} {} {}", clip(g, 40), clip(race, 40), clip(class, 40));
            }
            let mut text = format!(
                "Head-and-shoulders portrait of {who} from a Dungeons & Dragons adventure."
            );
            if let Some(d) = description {
                text.push_str(&format!(" Appearance and personality: {}.", clip(d, 300)));
            }
            if let Some(t) = themes {
                text.push_str(&format!(" Setting: {}.", clip(t, 150)));
            }
            text
        }
        Subject::GameMaster {
            campaign: _,
            themes,
        } => format!(
            "Head-and-shoulders portrait of a mysterious storyteller, the game master of a Dungeons & Dragons campaign about {}.",
            clip(themes, 150)
        ),
    };
    format!(
        "{body} Style: {style}, warm dramatic lighting, detailed face, plain dark background. \
         Safe for all audiences. No text, letters, words, watermarks or signatures in the image."
    )
}

/// Why a placeholder was shown instead of a generated portrait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceholderReason {
    /// Shown while the portrait is being generated.
    Painting,
    NoProvider,
    /// `PORTRAITS_PER_DAY` is 0.
    NoneAllowed,
    /// The player's or the server's portrait rate is used up for now.
    Limited(Limited),
    BudgetSpent,
    Refused,
    TimedOut,
    Failed(String),
}

impl PlaceholderReason {
    /// Why no portrait was generated, as a clause ("the image provider took too long").
    pub fn cause(&self) -> String {
        match self {
            PlaceholderReason::Painting => "the portrait is still being painted".into(),
            PlaceholderReason::NoProvider => "no image model is configured".into(),
            PlaceholderReason::NoneAllowed => "this bot makes no portraits".into(),
            PlaceholderReason::Limited(limited) => format!(
                "portraits are limited to {}, and the next one is possible in {}",
                limited.rate,
                wait_phrase(limited.retry_after)
            ),
            PlaceholderReason::BudgetSpent => "this server's monthly model budget is spent".into(),
            PlaceholderReason::Refused => {
                "the image provider's safety system refused this portrait".into()
            }
            PlaceholderReason::TimedOut => "the image provider took too long".into(),
            PlaceholderReason::Failed(why) => {
                format!("the portrait could not be generated ({})", one_line(why))
            }
        }
    }

    /// One line for the user.
    pub fn explain(&self) -> String {
        match self {
            PlaceholderReason::Painting => "🎨 The portrait is being painted; it appears here when it's ready.".into(),
            PlaceholderReason::NoProvider => "No image model is configured, so here is a placeholder portrait.".into(),
            PlaceholderReason::NoneAllowed => "This bot makes no portraits, so here is a placeholder.".into(),
            PlaceholderReason::Limited(limited) => format!("{limited} Here is a placeholder portrait for now."),
            PlaceholderReason::BudgetSpent => {
                "This server's monthly model budget is spent, so here is a placeholder portrait.".into()
            }
            PlaceholderReason::Refused => {
                "The image provider's safety system refused this portrait; here is a placeholder. Try a different description.".into()
            }
            PlaceholderReason::TimedOut => "The image provider took too long; here is a placeholder for now.".into(),
            PlaceholderReason::Failed(why) => format!("The portrait could not be generated ({}); here is a placeholder.", one_line(why)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Portrait {
    pub image: ImageId,
    pub bytes: Vec<u8>,
    pub mime: String,
    /// None when the portrait was generated.
    pub placeholder: Option<PlaceholderReason>,
}

/// The outcome of a repaint: what the owner shows now.
#[derive(Debug, Clone, PartialEq)]
pub struct Painted {
    /// `placeholder` says why no new portrait was generated, if it wasn't.
    pub shown: Portrait,
    /// No new portrait was generated and the one shown before stays.
    pub kept_previous: bool,
}

impl Painted {
    /// One line for the user when the portrait is not a freshly generated one.
    pub fn note(&self) -> Option<String> {
        let reason = self.shown.placeholder.as_ref()?;
        Some(if self.kept_previous {
            format!("{} The current portrait stays.", sentence(&reason.cause()))
        } else {
            reason.explain()
        })
    }
}

/// A provider's error message as one short line.
fn one_line(text: &str) -> String {
    let first = text.lines().next().unwrap_or_default().trim();
    crate::core::text::truncate_chars(first, 200)
}

fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PortraitError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the placeholder portrait could not be drawn: {0}")]
    Render(String),
}

pub struct ImageProvider {
    pub id: ModelId,
    pub model: Arc<dyn ImageModel>,
}

pub struct Portraits {
    store: Arc<dyn Store>,
    provider: Option<ImageProvider>,
    per_day: u32,
    limiter: Limiter,
    timeout: Duration,
}

/// Only portraits are limited here: `per_day` for each player, `server` for each server.
fn portrait_limits(per_day: u32, server: Option<Rate>) -> Limits {
    Limits {
        portrait: Pair {
            player: (per_day > 0).then(|| Rate::per(per_day, Duration::from_secs(86_400))),
            server,
        },
        ..Limits::none()
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Portraits {
    pub fn new(
        store: Arc<dyn Store>,
        provider: Option<ImageProvider>,
        per_day: u32,
        timeout: Duration,
    ) -> Portraits {
        let limiter = Limiter::new(store.clone(), portrait_limits(per_day, None));
        Portraits {
            store,
            provider,
            per_day,
            limiter,
            timeout,
        }
    }

    /// Also limits the portraits of a whole server (`RATE_PORTRAIT_SERVER`).
    pub fn with_server_limit(mut self, rate: Option<Rate>) -> Portraits {
        self.limiter = Limiter::new(self.store.clone(), portrait_limits(self.per_day, rate));
        self
    }

    /// Whether an image model is configured at all.
    pub fn has_provider(&self) -> bool {
        self.provider.is_some()
    }

    /// What to show while the portrait is painted: the owner's current portrait, or else a
    /// placeholder, which becomes the owner's portrait so it is never left without one.
    pub async fn stand_in(
        &self,
        owner: PortraitOwner,
        subject: &Subject,
    ) -> Result<Portrait, PortraitError> {
        if let Some(current) = self.current(owner).await?
            && let Some(image) = self.store.image(current).await?
        {
            return Ok(Portrait {
                image: image.id,
                bytes: image.bytes,
                mime: image.mime,
                placeholder: Some(PlaceholderReason::Painting),
            });
        }
        let portrait = self
            .placeholder(subject, PlaceholderReason::Painting)
            .await?;
        self.assign(owner, portrait.image).await?;
        Ok(portrait)
    }

    /// Paints a portrait for `owner` and keeps it: a generated image replaces the current
    /// portrait (whose image is deleted unless something else shows it); a placeholder only
    /// fills an empty place, so a failed repaint never loses a portrait. Returns what the
    /// owner shows now.
    pub async fn paint(
        &self,
        owner: PortraitOwner,
        user: UserId,
        guild: Option<GuildId>,
        subject: &Subject,
        style: Option<&PortraitStyle>,
    ) -> Result<Painted, PortraitError> {
        let portrait = self
            .portrait(user, guild, subject, style.map(PortraitStyle::as_str))
            .await?;
        let current = self.current(owner).await?;
        let replaces = portrait.placeholder.is_none() || current.is_none();
        if current == Some(portrait.image) || !replaces {
            // A placeholder result next to a portrait already shown: keep that one.
            if let Some(old) = current
                && old != portrait.image
                && let Some(kept) = self.store.image(old).await?
            {
                self.store.delete_image_if_unused(portrait.image).await?;
                return Ok(Painted {
                    shown: Portrait {
                        image: kept.id,
                        bytes: kept.bytes,
                        mime: kept.mime,
                        placeholder: portrait.placeholder.clone(),
                    },
                    kept_previous: true,
                });
            }
            return Ok(Painted {
                shown: portrait,
                kept_previous: false,
            });
        }
        if !self.assign(owner, portrait.image).await? {
            // The owner was deleted meanwhile: nothing shows the new image.
            self.store.delete_image_if_unused(portrait.image).await?;
        } else if let Some(old) = current {
            self.store.delete_image_if_unused(old).await?;
        }
        Ok(Painted {
            shown: portrait,
            kept_previous: false,
        })
    }

    async fn current(&self, owner: PortraitOwner) -> Result<Option<ImageId>, PortraitError> {
        Ok(match owner {
            PortraitOwner::Character(id) => {
                self.store.character(id).await?.and_then(|c| c.portrait_id)
            }
            PortraitOwner::Campaign(id) => self
                .store
                .campaign(id)
                .await?
                .and_then(|c| c.gm_portrait_id),
        })
    }

    async fn assign(&self, owner: PortraitOwner, image: ImageId) -> Result<bool, PortraitError> {
        Ok(match owner {
            PortraitOwner::Character(id) => {
                self.store.set_character_portrait(id, Some(image)).await?
            }
            PortraitOwner::Campaign(id) => self.store.set_gm_portrait(id, Some(image)).await?,
        })
    }

    pub async fn portrait(
        &self,
        user: UserId,
        guild: Option<GuildId>,
        subject: &Subject,
        style: Option<&str>,
    ) -> Result<Portrait, PortraitError> {
        let reason = match self.allowed(user, guild).await? {
            Err(reason) => reason,
            Ok(provider) => match self.generate(provider, user, guild, subject, style).await? {
                Ok(portrait) => return Ok(portrait),
                Err(reason) => reason,
            },
        };
        self.placeholder(subject, reason).await
    }

    async fn allowed(
        &self,
        user: UserId,
        guild: Option<GuildId>,
    ) -> Result<Result<&ImageProvider, PlaceholderReason>, PortraitError> {
        let Some(provider) = &self.provider else {
            return Ok(Err(PlaceholderReason::NoProvider));
        };
        let now = Timestamp::now();
        if self.per_day == 0 {
            return Ok(Err(PlaceholderReason::NoneAllowed));
        }
        if let Some(guild) = guild {
            let settings = self.store.guild_settings(guild).await?;
            let spent = self
                .store
                .guild_spend_since(guild, month_start(now).0)
                .await?;
            if matches!(
                budget_state(spent, settings.monthly_budget_usd),
                BudgetState::Exhausted { .. }
            ) {
                return Ok(Err(PlaceholderReason::BudgetSpent));
            }
        }
        // Counted before the work, in one statement, so concurrent requests cannot all pass.
        match self.limiter.take(Action::Portrait, user, guild).await {
            Ok(()) => {}
            Err(LimitError::Limited(limited)) => {
                return Ok(Err(PlaceholderReason::Limited(limited)));
            }
            Err(LimitError::Store(e)) => return Err(e.into()),
        }
        Ok(Ok(provider))
    }

    async fn generate(
        &self,
        provider: &ImageProvider,
        user: UserId,
        guild: Option<GuildId>,
        subject: &Subject,
        style: Option<&str>,
    ) -> Result<Result<Portrait, PlaceholderReason>, PortraitError> {
        let prompt = art_prompt(subject, style);
        let started = Instant::now();
        let request = ImageRequest {
            prompt: prompt.clone(),
            size: PORTRAIT_SIZE.into(),
        };
        let result = tokio::time::timeout(self.timeout, provider.model.generate(request)).await;
        let latency_ms = started.elapsed().as_millis() as i64;
        let (outcome, error_kind) = match result {
            Ok(Ok(image)) => (Ok(image), None),
            Ok(Err(e)) if e.kind == ErrorKind::Refused => {
                (Err(PlaceholderReason::Refused), Some(e.kind.as_str()))
            }
            Ok(Err(e)) if e.kind == ErrorKind::Timeout => {
                (Err(PlaceholderReason::TimedOut), Some(e.kind.as_str()))
            }
            Ok(Err(e)) => (
                Err(PlaceholderReason::Failed(e.message.clone())),
                Some(e.kind.as_str()),
            ),
            Err(_) => (
                Err(PlaceholderReason::TimedOut),
                Some(ErrorKind::Timeout.as_str()),
            ),
        };
        let record = PerfRecord {
            guild_id: guild,
            user_id: Some(user),
            cost_usd: outcome
                .is_ok()
                .then(|| PriceTable::embedded().image_cost(&provider.id, PORTRAIT_SIZE))
                .flatten(),
            ok: outcome.is_ok(),
            error_kind: error_kind.map(String::from),
            ..PerfRecord::call(provider.id.to_string(), CallKind::Portrait, latency_ms)
        };
        if let Err(e) = self.store.record_call(&record).await {
            tracing::warn!(error = %e, "could not store a portrait performance record");
        }
        let mut image = match outcome {
            Ok(image) => image,
            Err(reason) => return Ok(Err(reason)),
        };
        // Stored as it will be sent: a picture over the upload limit is scaled down once.
        if image.bytes.len() > fit::MAX_PORTRAIT_BYTES {
            let bytes = std::mem::take(&mut image.bytes);
            let fitted = tokio::task::spawn_blocking(move || {
                fit::fit_upload(bytes, fit::MAX_PORTRAIT_BYTES)
            })
            .await
            .map_err(|e| PortraitError::Render(e.to_string()))?;
            match fitted {
                Ok(bytes) => {
                    image.bytes = bytes;
                    image.mime = "image/png".into();
                }
                Err(e) => return Ok(Err(PlaceholderReason::Failed(e.to_string()))),
            }
        }
        let id = self
            .store
            .put_image(&NewImage {
                kind: subject.kind(),
                mime: image.mime.clone(),
                sha256: sha256_hex(&image.bytes),
                bytes: image.bytes.clone(),
                prompt: Some(prompt),
                model: Some(provider.id.to_string()),
            })
            .await?;
        Ok(Ok(Portrait {
            image: id,
            bytes: image.bytes,
            mime: image.mime,
            placeholder: None,
        }))
    }

    async fn placeholder(
        &self,
        subject: &Subject,
        reason: PlaceholderReason,
    ) -> Result<Portrait, PortraitError> {
        let (name, class) = subject.label();
        let bytes =
            render_placeholder(name, class).map_err(|e| PortraitError::Render(e.to_string()))?;
        let id = self
            .store
            .put_image(&NewImage {
                kind: ImageKind::Placeholder,
                mime: "image/png".into(),
                sha256: sha256_hex(&bytes),
                bytes: bytes.clone(),
                prompt: None,
                model: None,
            })
            .await?;
        Ok(Portrait {
            image: id,
            bytes,
            mime: "image/png".into(),
            placeholder: Some(reason),
        })
    }
}
