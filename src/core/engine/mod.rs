//! The session engine: one actor task per active channel turns player messages into
//! narrations. It talks to storage, models and the chat surface (Discord or a terminal) only
//! through traits, so every rule here runs in tests with a scripted model in milliseconds.

mod actor;
pub mod arena;
pub mod context;
mod narrate;
pub mod observed;
mod outage;
mod reach;
mod requests;
pub mod shards;
pub mod state;
mod table;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use dashmap::DashMap;
use tokio::sync::{Notify, mpsc, oneshot, watch};

use crate::core::engine::shards::ShardSet;
use crate::core::game::campaign::Campaign;
use crate::core::game::session::Session;
use crate::core::game::vote::ArenaChoice;
use crate::core::ids::BattleId;
use crate::core::ids::{ChannelId, CharacterId, DiscordMessageId, GuildId, MessageId, UserId};
use crate::core::limits::{Action, LimitError, Limited, Limiter, Limits};
use crate::core::models::chat::{ChatModel, LlmError, ModelId, Usage};
use crate::core::store::{Store, StoreError};
use crate::core::streaming::StreamPolicy;

pub use actor::ActorCommand;
pub use arena::{ArenaReveal, ArenaSide, ArenaVoteReceipt};
pub use narrate::collect;
pub use requests::RatingCounts;

/// Where models come from: the provider registry in production, scripted models in tests.
pub trait ModelSource: Send + Sync {
    fn chat_model(&self, id: &ModelId) -> Result<Arc<dyn ChatModel>, LlmError>;
    /// Tokens the model accepts in one call (prompt and answer together).
    fn context_window(&self, id: &ModelId) -> u32;
    /// USD cost of a call, or None when the price is unknown.
    fn cost(&self, id: &ModelId, usage: &Usage) -> Option<f64>;
    /// The models an arena turn may draw its second narrator from; none means no arena.
    /// Required, so a wrapping source cannot silently switch the arena off.
    fn arena_models(&self) -> Vec<ModelId>;
}

/// The chat surface a channel's story is shown on.
#[async_trait]
pub trait Presenter: Send + Sync {
    /// "The game master is typing", shown while waiting for the first token.
    async fn typing(&self, channel: ChannelId);
    /// Posts a new message holding model text (sent with mentions disabled).
    async fn send(&self, channel: ChannelId, text: &str) -> Result<DiscordMessageId, PresentError>;
    /// Replaces the text of a message posted by `send`.
    async fn edit(
        &self,
        channel: ChannelId,
        message: DiscordMessageId,
        text: &str,
    ) -> Result<(), PresentError>;
    /// A narration is complete: `last_message` is its last Discord message, where the
    /// Regenerate and rating buttons go.
    async fn narration_finished(
        &self,
        channel: ChannelId,
        last_message: DiscordMessageId,
        narration: MessageId,
        model: &ModelId,
    ) -> Result<(), PresentError>;
    /// A short message from the bot itself: a dice result, a model failure, a warning.
    async fn notice(&self, channel: ChannelId, notice: &Notice) -> Result<(), PresentError>;
    /// A private message to one user, for what cannot be said in the channel (the bot lost
    /// it). Surfaces without private messages refuse.
    async fn tell_user(&self, user: UserId, text: &str) -> Result<(), PresentError> {
        let _ = (user, text);
        Err(PresentError::failed("this surface has no private messages"))
    }
    /// Whether players can vote here (buttons). Arena turns run only on such surfaces; the
    /// terminal narrates arena campaigns the usual way.
    fn collects_votes(&self) -> bool {
        false
    }
    /// Arena: the heading above one side's narration, posted before it streams. It names
    /// the side only, never the model.
    async fn arena_heading(
        &self,
        channel: ChannelId,
        side: ArenaSide,
    ) -> Result<DiscordMessageId, PresentError> {
        self.send(channel, &side.heading()).await
    }
    /// Arena: the ballot under the two narrations (A, B, tie, both bad).
    async fn arena_ballot(
        &self,
        channel: ChannelId,
        battle: BattleId,
    ) -> Result<DiscordMessageId, PresentError> {
        let _ = battle;
        self.send(channel, arena::BALLOT_TEXT).await
    }
    /// Arena: the vote is over; the models are named and the canon narration is marked.
    async fn arena_reveal(
        &self,
        channel: ChannelId,
        reveal: &ArenaReveal,
    ) -> Result<(), PresentError> {
        self.send(channel, &reveal.summary()).await.map(|_| ())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PresentError {
    pub message: String,
    /// The bot can no longer post in the channel (its permissions were taken, the channel
    /// was deleted, the thread archived): trying again cannot help.
    pub channel_lost: bool,
}

impl PresentError {
    pub fn failed(message: impl Into<String>) -> PresentError {
        PresentError {
            message: message.into(),
            channel_lost: false,
        }
    }

    pub fn channel_lost(message: impl Into<String>) -> PresentError {
        PresentError {
            message: message.into(),
            channel_lost: true,
        }
    }
}

/// A roll the game master asked for, rolled by the bot.
#[derive(Debug, Clone, PartialEq)]
pub struct DiceRolled {
    pub label: String,
    pub text: String,
}

/// A roll tag the bot could not roll.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRollTag {
    pub tag: String,
    pub problem: String,
}

/// What the bot tells a channel besides the narration itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// The rolls a narration asked for, rolled by the bot, and the tags it could not roll:
    /// one notice a narration, however many tags it held.
    Dice {
        rolls: Vec<DiceRolled>,
        problems: Vec<BadRollTag>,
    },
    /// A model failed; `next` says what happens now.
    ModelFailed {
        model: ModelId,
        reason: String,
        next: String,
    },
    /// The narration stopped part way; what was written is kept.
    NarrationCut { model: ModelId, reason: String },
    /// Nothing could narrate this turn; the players' messages are kept for the next one.
    TurnFailed { reason: String },
    /// The server has spent 80% of its monthly budget (posted once a month).
    BudgetWarning { spent_usd: f64, budget_usd: f64 },
    /// The monthly budget is spent: no model calls until the month ends or it is raised.
    BudgetExhausted { spent_usd: f64, budget_usd: f64 },
    /// The bot is shutting down: the message is kept, the story goes on after the restart.
    Restarting,
    /// The database stopped answering: what the players wrote is held and saved when it is
    /// back (posted once per outage per channel).
    StorageDown,
    /// The database answers again after `StorageDown`; the story goes on.
    StorageBack,
    /// What a narration's state tags changed (and refused), or what a regeneration undid:
    /// one short line ("📋 Mira −5 HP (7/12) · Mira is poisoned").
    State { line: String },
    /// An arena vote left open by the last process was counted at its closing time.
    ArenaSettled {
        model_a: String,
        model_b: String,
        votes: u32,
        winner: Option<ArenaChoice>,
        /// B won and its narration replaced A's as the story's.
        canon_changed: bool,
    },
}

#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// How long a turn gathers messages when several players are in the party.
    pub turn_window: Duration,
    pub stream_policy: StreamPolicy,
    /// Room left in the context window for the answer, and the answer's token limit.
    pub max_answer_tokens: u32,
    /// Used when a campaign's model and fallback fail and the server sets no default.
    pub default_model: Option<ModelId>,
    /// Commands waiting per channel before senders wait in turn.
    pub queue_capacity: usize,
    /// Messages fetched when building the context (the window never reads more).
    pub history_window: u32,
    /// Seed for the bot's dice; None draws one from the OS (tests fix it).
    pub dice_seed: Option<u64>,
    /// How long an arena turn waits for every player's vote.
    pub arena_vote_timeout: Duration,
    /// The shards this process runs; None: all of them (one process).
    pub shards: Option<ShardSet>,
    /// Turn and Regenerate rates (portraits and `/stats` are limited by their own callers).
    pub limits: Limits,
    /// Offer narrations the `change_state` tool (`STATE_TOOLS`); its calls become state tags.
    pub state_tools: bool,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            turn_window: Duration::from_secs(3),
            stream_policy: StreamPolicy::default(),
            max_answer_tokens: 700,
            default_model: None,
            queue_capacity: 64,
            history_window: 200,
            dice_seed: None,
            arena_vote_timeout: Duration::from_secs(120),
            shards: None,
            // The terminal tools have one user; the bot sets the configured limits.
            limits: Limits::none(),
            state_tools: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("There is no active session in this channel. Start one with /session start.")]
    NoSession,
    #[error("A session is already running in this channel. End it with /session end first.")]
    SessionExists,
    #[error("That campaign doesn't exist in this server.")]
    UnknownCampaign,
    #[error("Only the latest narration can be regenerated.")]
    NotLatestNarration,
    #[error("The message is empty.")]
    EmptyMessage,
    #[error("The message is too long ({len} characters; at most {max}).")]
    MessageTooLong { len: usize, max: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("The session stopped unexpectedly; try again.")]
    Stopped,
    #[error("That vote doesn't exist in this server.")]
    UnknownBattle,
    #[error("This vote is closed.")]
    VoteClosed,
    #[error("Only the players of this session can vote.")]
    NotInParty,
    #[error("That narration no longer exists.")]
    UnknownNarration,
    #[error(transparent)]
    NotAllowed(#[from] crate::core::game::member::NotAllowed),
    #[error(transparent)]
    Limited(Limited),
}

impl From<LimitError> for EngineError {
    fn from(e: LimitError) -> Self {
        match e {
            LimitError::Limited(limited) => EngineError::Limited(limited),
            LimitError::Store(e) => EngineError::Store(e),
        }
    }
}

impl EngineError {
    /// What a channel may read: the game's own refusals as they are; a storage failure
    /// without the database's words (they name tables, hosts and constraints, and are logged).
    pub fn public_text(&self) -> String {
        match self {
            EngineError::Store(_) => "the game's storage did not answer".to_string(),
            other => other.to_string(),
        }
    }
}

/// A player's action, from a plain channel message or `/act`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayerInput {
    pub channel: ChannelId,
    pub author: UserId,
    /// The name to show the game master when the player has no character.
    pub author_name: String,
    pub character: Option<CharacterId>,
    pub content: String,
    pub discord_message_id: Option<DiscordMessageId>,
}

/// Longest player message the game accepts (Discord's own limit for a message).
pub const MAX_PLAYER_MESSAGE: usize = 2000;

pub struct EngineDeps {
    pub store: Arc<dyn Store>,
    pub models: Arc<dyn ModelSource>,
    pub presenter: Arc<dyn Presenter>,
    pub settings: EngineSettings,
}

struct Shared {
    /// `deps.presenter` is `reach`, which wraps the surface the engine was given.
    deps: EngineDeps,
    reach: Arc<reach::Reach>,
    actors: DashMap<ChannelId, mpsc::Sender<ActorCommand>>,
    /// Each playing channel's server, for the server's rate limits (it never changes).
    guilds: DashMap<ChannelId, Option<GuildId>>,
    limiter: Limiter,
    ballots: arena::Ballots,
    drain: Drain,
    /// Player messages accepted since the start.
    turns: AtomicU64,
}

/// Shutdown bookkeeping: once draining, no new narration starts; `cancel` stops the ones
/// still running when the grace period is over.
struct Drain {
    draining: AtomicBool,
    in_progress: AtomicUsize,
    idle: Notify,
    cancel: watch::Sender<bool>,
}

/// Held by an actor while it narrates; the drain waits for all of them.
pub(crate) struct NarrationGuard<'a>(&'a Drain);

impl Drop for NarrationGuard<'_> {
    fn drop(&mut self) {
        if self.0.in_progress.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// How a shutdown drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainReport {
    /// Every narration in progress finished within the grace period.
    pub finished: bool,
    /// Narrations stopped at the end of the grace period (stored as interrupted).
    pub cut: usize,
}

/// Handle to the engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

impl Shared {
    pub(crate) fn draining(&self) -> bool {
        self.drain.draining.load(Ordering::SeqCst)
    }

    /// Counts a narration as in progress until the guard is dropped.
    pub(crate) fn narration_started(&self) -> NarrationGuard<'_> {
        self.drain.in_progress.fetch_add(1, Ordering::SeqCst);
        NarrationGuard(&self.drain)
    }

    /// Resolves when the drain's grace period is over and running narrations must stop.
    pub(crate) async fn cancelled(&self) {
        let mut rx = self.drain.cancel.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }

    async fn wait_idle(&self) {
        loop {
            let notified = self.drain.idle.notified();
            if self.drain.in_progress.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Posts a notice in a channel; a notice that cannot be shown is not worth failing for.
    async fn tell(&self, channel: ChannelId, notice: &Notice) {
        let _ = self.deps.presenter.notice(channel, notice).await;
    }

    /// Called by an actor as it stops, so the next message for the channel starts a new one.
    fn forget_actor(&self, channel: ChannelId) {
        self.actors.remove_if(&channel, |_, tx| tx.is_closed());
    }
}

impl Engine {
    pub fn new(mut deps: EngineDeps) -> Engine {
        let limiter = Limiter::new(deps.store.clone(), deps.settings.limits);
        let reach = Arc::new(reach::Reach::new(deps.presenter.clone()));
        deps.presenter = reach.clone();
        Engine {
            shared: Arc::new(Shared {
                deps,
                reach,
                actors: DashMap::new(),
                guilds: DashMap::new(),
                limiter,
                ballots: arena::Ballots::default(),
                drain: Drain {
                    draining: AtomicBool::new(false),
                    in_progress: AtomicUsize::new(0),
                    idle: Notify::new(),
                    cancel: watch::Sender::new(false),
                },
                turns: AtomicU64::new(0),
            }),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.shared.deps.store
    }

    /// Binds the channel to the campaign and narrates the opening scene in the background.
    pub async fn start_session(
        &self,
        campaign: &Campaign,
        guild: GuildId,
        channel: ChannelId,
        started_by: UserId,
    ) -> Result<Session, EngineError> {
        if campaign.guild_id != Some(guild) {
            return Err(EngineError::UnknownCampaign);
        }
        let session = self
            .shared
            .deps
            .store
            .start_session(campaign.id, Some(guild), channel, Some(started_by))
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => EngineError::SessionExists,
                other => EngineError::Store(other),
            })?;
        // A new session tries the channel again, whatever ended the last one.
        self.shared.reach.forget(channel);
        let tx = self.actor_for_session(&session);
        tx.send(ActorCommand::Opening)
            .await
            .map_err(|_| EngineError::Stopped)?;
        Ok(session)
    }

    /// Ends the channel's session; a turn being narrated finishes first.
    pub async fn end_session(&self, channel: ChannelId) -> Result<Session, EngineError> {
        let session = self.active_session(channel).await?;
        self.end(session).await
    }

    async fn active_session(&self, channel: ChannelId) -> Result<Session, EngineError> {
        self.shared
            .deps
            .store
            .active_session(channel)
            .await?
            .ok_or(EngineError::NoSession)
    }

    /// Ends `session` (read as active); a turn being narrated finishes first.
    async fn end(&self, session: Session) -> Result<Session, EngineError> {
        self.shared.deps.store.end_session(session.id).await?;
        if let Some((_, tx)) = self.shared.actors.remove(&session.channel_id) {
            let _ = tx.send(ActorCommand::Stop).await;
        }
        Ok(session)
    }

    /// A player's action. `NoSession` when the channel is not playing (plain chat: ignore it).
    pub async fn player_message(&self, mut input: PlayerInput) -> Result<(), EngineError> {
        input.content = input.content.trim().to_string();
        if input.content.is_empty() {
            return Err(EngineError::EmptyMessage);
        }
        let len = input.content.chars().count();
        if len > MAX_PLAYER_MESSAGE {
            return Err(EngineError::MessageTooLong {
                len,
                max: MAX_PLAYER_MESSAGE,
            });
        }
        let tx = self.actor_for_channel(input.channel).await?;
        self.take(Action::Turn, input.channel, input.author).await?;
        tx.send(ActorCommand::Player(input))
            .await
            .map_err(|_| EngineError::Stopped)?;
        self.shared.turns.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Replaces the latest narration with a new one from the same context.
    pub async fn regenerate(
        &self,
        channel: ChannelId,
        narration: MessageId,
        requested_by: UserId,
    ) -> Result<(), EngineError> {
        let tx = self.actor_for_channel(channel).await?;
        self.take(Action::Regenerate, channel, requested_by).await?;
        let (reply, answer) = oneshot::channel();
        tx.send(ActorCommand::Regenerate {
            narration,
            requested_by,
            reply,
        })
        .await
        .map_err(|_| EngineError::Stopped)?;
        answer.await.map_err(|_| EngineError::Stopped)?
    }

    /// Takes a token for a player's action in a playing channel (and its server).
    async fn take(
        &self,
        action: Action,
        channel: ChannelId,
        player: UserId,
    ) -> Result<(), EngineError> {
        let guild = self.shared.guilds.get(&channel).and_then(|g| *g);
        Ok(self.shared.limiter.take(action, player, guild).await?)
    }

    /// The rate limits, for the actions limited outside the engine (`/stats`).
    pub fn limiter(&self) -> &Limiter {
        &self.shared.limiter
    }

    /// Waits until every message sent to the channel before this call has been handled:
    /// its turn narrated (or failed), the dice it asked for rolled, the summary updated.
    /// Used by the terminal tools to take turns one at a time.
    pub async fn flush(&self, channel: ChannelId) -> Result<(), EngineError> {
        let tx = self.actor_for_channel(channel).await?;
        let (done, finished) = oneshot::channel();
        tx.send(ActorCommand::Flush(done))
            .await
            .map_err(|_| EngineError::Stopped)?;
        finished.await.map_err(|_| EngineError::Stopped)
    }

    /// The story so far: the rolling summary and the latest narration.
    pub async fn recap(&self, channel: ChannelId) -> Result<String, EngineError> {
        let store = &self.shared.deps.store;
        let session = store
            .active_session(channel)
            .await?
            .ok_or(EngineError::NoSession)?;
        let latest = store
            .story_tail(session.id, None, 20)
            .await?
            .into_iter()
            .rev()
            .find(|m| m.role == crate::core::game::transcript::MessageRole::Assistant);
        let mut recap = String::new();
        if !session.summary.trim().is_empty() {
            recap.push_str(session.summary.trim());
        }
        if let Some(latest) = latest {
            if !recap.is_empty() {
                recap.push_str("\n\n");
            }
            recap.push_str("Latest: ");
            recap.push_str(latest.content.trim());
        }
        if recap.is_empty() {
            recap.push_str("The story has not begun yet.");
        }
        Ok(recap)
    }

    /// Starts actors for the sessions left active by the last run; returns how many. With
    /// several processes, only this process's shards' sessions, whose narrations cut by the
    /// last stop it marks interrupted (one process marks them all before it starts).
    pub async fn resume(&self) -> Result<usize, EngineError> {
        let store = &self.shared.deps.store;
        let mut sessions = store.active_sessions().await?;
        if let Some(shards) = &self.shared.deps.settings.shards {
            sessions.retain(|s| shards.owns(s.guild_id));
            for session in &sessions {
                store.interrupt_streaming_in(session.id).await?;
            }
        }
        for session in &sessions {
            let tx = self.actor_for_session(session);
            let _ = tx.send(ActorCommand::Resume).await;
        }
        let ballots = arena::resume_ballots(&self.shared, &sessions).await?;
        if ballots > 0 {
            tracing::info!(ballots, "arena votes left open by the last run resume");
        }
        Ok(sessions.len())
    }

    /// A player's vote on an open arena battle of this server; a second vote replaces the
    /// first.
    pub async fn arena_vote(
        &self,
        guild: GuildId,
        battle: BattleId,
        voter: UserId,
        choice: ArenaChoice,
    ) -> Result<ArenaVoteReceipt, EngineError> {
        arena::vote(&self.shared, guild, battle, voter, choice).await
    }

    /// Channels with a running actor.
    pub fn active_channels(&self) -> usize {
        self.shared.actors.len()
    }

    /// Player messages accepted since the engine started.
    pub fn turns_accepted(&self) -> u64 {
        self.shared.turns.load(Ordering::Relaxed)
    }

    /// Commands waiting in the channels' queues.
    pub fn queued_commands(&self) -> usize {
        self.shared
            .actors
            .iter()
            .map(|tx| tx.max_capacity() - tx.capacity())
            .sum()
    }

    pub fn narrations_in_progress(&self) -> usize {
        self.shared.drain.in_progress.load(Ordering::SeqCst)
    }

    pub fn is_draining(&self) -> bool {
        self.shared.draining()
    }

    /// Shutdown: from now on player messages are stored but start no narration (the channel
    /// is told the bot is restarting); narrations in progress get `grace` to finish, then
    /// are stopped and marked interrupted, so the next start resumes cleanly.
    pub async fn drain(&self, grace: Duration) -> DrainReport {
        let shared = &self.shared;
        shared.drain.draining.store(true, Ordering::SeqCst);
        let finished = tokio::time::timeout(grace, shared.wait_idle())
            .await
            .is_ok();
        let cut = shared.drain.in_progress.load(Ordering::SeqCst);
        if !finished {
            // Each cancelled actor drops its stream and marks its own session's narration
            // interrupted (other processes' narrations are theirs to finish).
            shared.drain.cancel.send_replace(true);
            let _ = tokio::time::timeout(Duration::from_secs(5), shared.wait_idle()).await;
        }
        DrainReport { finished, cut }
    }

    fn actor_for_session(&self, session: &Session) -> mpsc::Sender<ActorCommand> {
        self.shared
            .guilds
            .insert(session.channel_id, session.guild_id);
        let shared = Arc::clone(&self.shared);
        let entry = self
            .shared
            .actors
            .entry(session.channel_id)
            .and_modify(|tx| {
                if tx.is_closed() {
                    *tx = actor::Actor::spawn(Arc::clone(&shared), session);
                }
            })
            .or_insert_with(|| actor::Actor::spawn(Arc::clone(&shared), session));
        entry.value().clone()
    }

    async fn actor_for_channel(
        &self,
        channel: ChannelId,
    ) -> Result<mpsc::Sender<ActorCommand>, EngineError> {
        if let Some(tx) = self.shared.actors.get(&channel)
            && !tx.is_closed()
        {
            return Ok(tx.clone());
        }
        let session = self
            .shared
            .deps
            .store
            .active_session(channel)
            .await?
            .ok_or(EngineError::NoSession)?;
        Ok(self.actor_for_session(&session))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_never_reads_the_database_s_own_words() {
        let raw = "error returned from database: relation \"messages\" at db.internal:5432";
        for error in [
            StoreError::Unavailable(raw.into()),
            StoreError::Refused(raw.into()),
            StoreError::Corrupt(raw.into()),
            StoreError::Conflict(raw.into()),
        ] {
            let text = EngineError::Store(error).public_text();
            assert!(
                !text.contains("db.internal") && !text.contains("relation"),
                "{text}"
            );
            assert!(text.contains("storage"), "{text}");
        }
        assert_eq!(
            EngineError::NoSession.public_text(),
            EngineError::NoSession.to_string()
        );
    }
}
