//! One task per active channel. It stores every player message the moment it arrives, gathers
//! the messages of a turn, and narrates turns strictly one after another; messages arriving
//! while the model narrates are stored at once and wait for the next turn, in order.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};

use super::arena;
use super::context::{self, Budget, Cast, TokenCache};
use super::narrate::{self, NarrationOutcome, NarrationTarget};
use super::outage::Outage;
use super::table::TableCache;
use super::{EngineError, Notice, PlayerInput, Shared};
use crate::core::game::campaign::Campaign;
use crate::core::game::guild::GuildSettings;
use crate::core::game::prompt::PromptSet;
use crate::core::game::roll_tag::scan_roll_tags;
use crate::core::game::session::{Session, SessionStatus};
use crate::core::game::transcript::{MessageRole, MessageStatus, NewMessage, StoredMessage};
use crate::core::ids::{ChannelId, MessageId, SessionId, Timestamp, UserId};
use crate::core::models::budget::{BudgetState, budget_state};
use crate::core::models::chat::{Completion, LlmError, ModelId};
use crate::core::models::perf::{CallKind, PerfRecord};
use crate::core::time::month_start;

pub enum ActorCommand {
    /// Narrate the opening scene of a new session.
    Opening,
    Player(PlayerInput),
    Regenerate {
        narration: MessageId,
        requested_by: UserId,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
    /// The session ended: finish the turn in progress, then stop.
    Stop,
    /// Answered once every command sent before it has been handled (turns narrated).
    Flush(oneshot::Sender<()>),
}

#[derive(Debug)]
enum Job {
    Opening,
    /// Narrate the pending player messages (several signals coalesce into one turn).
    Players,
    Regenerate {
        narration: MessageId,
        requested_by: UserId,
    },
    Stop,
    Flush(oneshot::Sender<()>),
}

/// The latest narration of a session and the dice results that followed it.
struct Latest {
    narration: StoredMessage,
    dice: Vec<StoredMessage>,
    is_opening: bool,
}

pub(super) struct Actor {
    pub(super) shared: Arc<Shared>,
    pub(super) channel: ChannelId,
    session_id: SessionId,
    pub(super) cache: Mutex<TokenCache>,
    table: TableCache,
    names: Mutex<HashMap<UserId, String>>,
    dice: Mutex<StdRng>,
    /// Player messages stored but not yet narrated, oldest first.
    pending: Mutex<Vec<StoredMessage>>,
    pub(super) outage: Outage,
}

/// A channel's actor is two tasks: the intake stores every command's message the moment it
/// arrives (so nothing waits on a narration to be saved), and the narrator runs the jobs the
/// intake hands it, one at a time. Neither ever waits on the other while holding storage.
impl Actor {
    pub(super) fn spawn(shared: Arc<Shared>, session: &Session) -> mpsc::Sender<ActorCommand> {
        let (tx, rx) = mpsc::channel(shared.deps.settings.queue_capacity.max(1));
        let (jobs_tx, jobs_rx) = mpsc::unbounded_channel();
        let dice = match shared.deps.settings.dice_seed {
            Some(seed) => StdRng::seed_from_u64(seed ^ session.id.0 as u64),
            None => StdRng::from_os_rng(),
        };
        let actor = Arc::new(Actor {
            outage: Outage::new(Arc::clone(&shared), session.channel_id),
            shared,
            channel: session.channel_id,
            session_id: session.id,
            cache: Mutex::new(TokenCache::default()),
            table: TableCache::default(),
            names: Mutex::new(HashMap::new()),
            dice: Mutex::new(dice),
            pending: Mutex::new(Vec::new()),
        });
        tokio::spawn(Arc::clone(&actor).intake(rx, jobs_tx));
        tokio::spawn(actor.narrator(jobs_rx));
        tx
    }

    async fn intake(
        self: Arc<Self>,
        mut rx: mpsc::Receiver<ActorCommand>,
        jobs: mpsc::UnboundedSender<Job>,
    ) {
        while let Some(command) = rx.recv().await {
            match command {
                ActorCommand::Opening => {
                    let _ = jobs.send(Job::Opening);
                }
                ActorCommand::Player(input) => {
                    match Box::pin(self.outage.retry(|| self.store_player_message(&input))).await {
                        Ok(_) if self.shared.draining() => self.restarting().await,
                        Ok(stored) => {
                            self.pending.lock().unwrap().push(stored);
                            let _ = jobs.send(Job::Players);
                        }
                        Err(e) => {
                            tracing::error!(channel = %self.channel, error = %e, "could not store a player message");
                            let reason = format!(
                                "your message could not be saved ({e}); please send it again"
                            );
                            self.shared
                                .tell(self.channel, &Notice::TurnFailed { reason })
                                .await;
                        }
                    }
                }
                ActorCommand::Regenerate {
                    narration,
                    requested_by,
                    reply,
                } => {
                    let check = match self.latest_narration().await {
                        Ok(Some(latest)) if latest.narration.id == narration => Ok(()),
                        Ok(_) => Err(EngineError::NotLatestNarration),
                        Err(e) => Err(e),
                    };
                    if check.is_ok() {
                        let _ = jobs.send(Job::Regenerate {
                            narration,
                            requested_by,
                        });
                    }
                    let _ = reply.send(check);
                }
                ActorCommand::Flush(done) => {
                    if let Err(mpsc::error::SendError(Job::Flush(done))) =
                        jobs.send(Job::Flush(done))
                    {
                        let _ = done.send(());
                    }
                }
                ActorCommand::Stop => break,
            }
        }
        // Close the queue first: the map entry is removed only if it is still this actor's.
        drop(rx);
        self.shared.forget_actor(self.channel);
        let _ = jobs.send(Job::Stop);
    }

    async fn narrator(self: Arc<Self>, mut jobs: mpsc::UnboundedReceiver<Job>) {
        while let Some(job) = jobs.recv().await {
            let turn = match job {
                Job::Stop => break,
                Job::Flush(done) => {
                    let _ = done.send(());
                    continue;
                }
                Job::Players => {
                    // Several players get a short window to answer together; the intake keeps
                    // storing their messages meanwhile.
                    let window = self.turn_window().await;
                    if !window.is_zero() {
                        sleep_until(Instant::now() + window).await;
                    }
                    let turn = std::mem::take(&mut *self.pending.lock().unwrap());
                    if turn.is_empty() {
                        continue; // an earlier turn already answered these messages
                    }
                    turn
                }
                _ => Vec::new(),
            };
            // Boxed: a turn's state (narration, arena, summary) is large, and an idle channel
            // should not carry it between turns.
            if self.shared.draining() {
                self.restarting().await;
                continue;
            }
            let narrating = self.shared.narration_started();
            let result = tokio::select! {
                result = Box::pin(self.run_until_stored(&job, &turn)) => result,
                () = self.shared.cancelled() => {
                    // Other processes' narrations are theirs to finish: only this one's.
                    let store = &self.shared.deps.store;
                    if let Err(e) = store.interrupt_streaming_in(self.session_id).await {
                        tracing::error!(channel = %self.channel, error = %e, "could not mark a cut narration interrupted");
                    }
                    drop(narrating);
                    self.restarting().await;
                    break;
                }
            };
            drop(narrating);
            if let Err(e) = result {
                tracing::error!(channel = %self.channel, error = %e, "turn failed");
                let notice = Notice::TurnFailed {
                    reason: e.to_string(),
                };
                self.shared.tell(self.channel, &notice).await;
            }
        }
    }

    /// Tells the channel the bot is shutting down (its messages are stored).
    async fn restarting(&self) {
        self.shared.tell(self.channel, &Notice::Restarting).await;
    }

    async fn store_player_message(
        &self,
        input: &PlayerInput,
    ) -> Result<StoredMessage, EngineError> {
        let store = &*self.shared.deps.store;
        let table = self.table.get(store, self.session_id).await?;
        let session = &table.session;
        let character = match input.character {
            Some(id) => Some(id),
            None => table
                .characters
                .iter()
                .find(|c| c.owner_id == Some(input.author))
                .map(|c| c.id),
        };
        self.names
            .lock()
            .unwrap()
            .insert(input.author, input.author_name.clone());
        let _in_order = self.outage.story_order.lock().await;
        let stored = store
            .append_message(&NewMessage {
                session_id: session.id,
                campaign_id: session.campaign_id,
                author_id: Some(input.author),
                character_id: character,
                role: MessageRole::User,
                content: input.content.clone(),
                model: None,
                status: MessageStatus::Complete,
                discord_message_id: input.discord_message_id,
            })
            .await?;
        Ok(stored)
    }

    /// Several players get a short window to answer together; a lone player never waits.
    async fn turn_window(&self) -> Duration {
        let window = self.shared.deps.settings.turn_window;
        if window.is_zero() {
            return window;
        }
        if self.party().await.len() > 1 {
            window
        } else {
            Duration::ZERO
        }
    }

    /// The players of the party: owners of the campaign's characters and whoever spoke in
    /// this session.
    pub(super) async fn party(&self) -> HashSet<UserId> {
        let owners: Vec<UserId> = match self
            .table
            .get(&*self.shared.deps.store, self.session_id)
            .await
        {
            Ok(table) => table.characters.iter().filter_map(|c| c.owner_id).collect(),
            Err(_) => Vec::new(),
        };
        owners
            .into_iter()
            .chain(self.names.lock().unwrap().keys().copied())
            .collect()
    }

    async fn latest_narration(&self) -> Result<Option<Latest>, EngineError> {
        const LOOK_BACK: u32 = 50;
        let tail = self
            .shared
            .deps
            .store
            .story_tail(self.session_id, None, LOOK_BACK)
            .await?;
        let mut dice = Vec::new();
        for (index, message) in tail.iter().enumerate().rev() {
            match message.role {
                MessageRole::Dice => dice.push(message.clone()),
                MessageRole::Assistant => {
                    let earlier = &tail[..index];
                    let is_opening = (tail.len() as u32) < LOOK_BACK
                        && !earlier.iter().any(|m| m.role == MessageRole::User);
                    return Ok(Some(Latest {
                        narration: message.clone(),
                        dice,
                        is_opening,
                    }));
                }
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Runs a job; one that fails because the database did not answer runs again once it
    /// does, as long as the channel saw nothing of it (its players' messages are stored).
    /// Once the model's words are shown, the job's writes wait out the outage in place.
    async fn run_until_stored(&self, job: &Job, turn: &[StoredMessage]) -> Result<(), EngineError> {
        let attempt = || {
            self.outage.job_started();
            self.run_job(job, turn)
        };
        self.outage
            .retry_while(attempt, || self.outage.may_rerun())
            .await
    }

    async fn run_job(&self, job: &Job, turn: &[StoredMessage]) -> Result<(), EngineError> {
        let deps = &self.shared.deps;
        let store = &*deps.store;
        let table = self.table.get(store, self.session_id).await?;
        if table.session.status != SessionStatus::Active {
            return Ok(());
        }
        let (session, campaign, characters) = (&table.session, &table.campaign, &table.characters);

        let mut requested_by = turn.first().and_then(|m| m.author_id);
        let mut opening = matches!(job, Job::Opening);
        let regenerating = matches!(job, Job::Regenerate { .. });
        // A regenerated narration and its dice leave the story just before the new one is
        // written, after every read a database outage could interrupt.
        let mut replaced: Vec<StoredMessage> = Vec::new();
        if let Job::Regenerate {
            narration,
            requested_by: who,
        } = job
        {
            let Some(latest) = self
                .latest_narration()
                .await?
                .filter(|l| l.narration.id == *narration)
            else {
                return Ok(()); // the story moved on since the click
            };
            requested_by = Some(*who);
            opening = latest.is_opening;
            replaced = std::iter::once(latest.narration)
                .chain(latest.dice)
                .collect();
        }
        let instruction = opening.then(|| PromptSet::for_language(campaign.language).opening);
        let mut tail = store
            .story_tail(
                session.id,
                session.summary_through,
                deps.settings.history_window,
            )
            .await?;
        tail.retain(|m| !replaced.iter().any(|old| old.id == m.id));
        let names = self.names.lock().unwrap().clone();
        let cast = Cast {
            characters,
            player_names: &names,
        };

        if !self.within_budget(session, table.guild.as_ref()).await? {
            return Ok(());
        }
        let pair = (campaign.arena_enabled && !regenerating && deps.presenter.collects_votes())
            .then(|| {
                arena::pick_pair(
                    &campaign.model,
                    &deps.models.arena_models(),
                    &mut rand::rng(),
                )
            })
            .flatten();
        if let Some(pair) = pair {
            let arena_turn = arena::ArenaTurn {
                campaign,
                session,
                cast: &cast,
                tail: &tail,
                instruction,
                requested_by,
                pair,
            };
            if self.arena_turn(arena_turn).await? {
                return Ok(());
            }
        }
        if !replaced.is_empty() {
            self.outage.output_started(); // from here on, running the job again would be wrong
            for old in &replaced {
                self.outage
                    .retry(|| store.update_message(old.id, &old.content, MessageStatus::Superseded))
                    .await?;
            }
        }
        let chain = self.model_chain(campaign, table.guild.as_ref()).await?;
        for (attempt, model_id) in chain.iter().enumerate() {
            let next = chain.get(attempt + 1);
            let model = match deps.models.chat_model(model_id) {
                Ok(model) => model,
                Err(error) => {
                    self.model_failed(model_id, &error, next).await;
                    continue;
                }
            };
            let system = context::system_prompt(campaign, session, &cast).map_err(|e| {
                EngineError::Store(crate::core::store::StoreError::Corrupt(e.to_string()))
            })?;
            let budget = Budget {
                context_window: deps.models.context_window(model_id),
                max_answer_tokens: deps.settings.max_answer_tokens,
            };
            let context = {
                let mut cache = self.cache.lock().unwrap();
                context::build(system, &tail, instruction, &cast, &budget, &mut cache)
            };
            let template = NewMessage::by_bot(
                session.id,
                campaign.id,
                MessageRole::Assistant,
                String::new(),
                MessageStatus::Streaming,
            );
            let target = NarrationTarget {
                channel: self.channel,
                template: &template,
            };
            let outcome = narrate::narrate(
                store,
                &self.outage,
                &*deps.presenter,
                &deps.settings.stream_policy,
                &*model,
                model_id,
                context.request,
                target,
            )
            .await?;
            let record = Recorder {
                actor: self,
                session,
                user: requested_by,
                model: model_id,
            };
            match outcome {
                NarrationOutcome::Done {
                    narration,
                    completion,
                    last_message,
                } => {
                    record.success(CallKind::Narration, &completion).await;
                    if let Some(last) = last_message
                        && let Err(e) = deps
                            .presenter
                            .narration_finished(self.channel, last, narration.id, model_id)
                            .await
                    {
                        tracing::warn!(channel = %self.channel, error = %e, "could not add narration buttons");
                    }
                    self.roll_requested_dice(session, &narration).await?;
                    if !context.overflow.is_empty() {
                        self.summarise(
                            campaign,
                            session,
                            &context.overflow,
                            &cast,
                            &*model,
                            &record,
                        )
                        .await;
                    }
                    return Ok(());
                }
                NarrationOutcome::FailedBeforeOutput { error, latency_ms } => {
                    record
                        .failure(CallKind::Narration, &error, latency_ms, None)
                        .await;
                    self.model_failed(model_id, &error, next).await;
                }
                NarrationOutcome::Cut {
                    narration,
                    error,
                    latency_ms,
                    ttft_ms,
                    last_message,
                } => {
                    record
                        .failure(CallKind::Narration, &error, latency_ms, ttft_ms)
                        .await;
                    let notice = Notice::NarrationCut {
                        model: model_id.clone(),
                        reason: error.message.clone(),
                    };
                    self.shared.tell(self.channel, &notice).await;
                    if let Some(last) = last_message {
                        let _ = deps
                            .presenter
                            .narration_finished(self.channel, last, narration.id, model_id)
                            .await;
                    }
                    return Ok(());
                }
            }
        }
        let reason = "no model could narrate this turn; your messages are kept and the next turn includes them".into();
        self.shared
            .tell(self.channel, &Notice::TurnFailed { reason })
            .await;
        Ok(())
    }

    /// Checks the server's monthly budget: warns the channel once at 80%, and refuses model
    /// calls at 100% (the players' messages stay stored for when calls resume).
    async fn within_budget(
        &self,
        session: &Session,
        settings: Option<&GuildSettings>,
    ) -> Result<bool, EngineError> {
        let (Some(guild), Some(settings)) = (session.guild_id, settings) else {
            return Ok(true);
        };
        if settings.monthly_budget_usd.is_none() {
            return Ok(true);
        }
        let store = &*self.shared.deps.store;
        let (since, month) = month_start(Timestamp::now());
        let spent = store.guild_spend_since(guild, since).await?;
        let notice = match budget_state(spent, settings.monthly_budget_usd) {
            BudgetState::Fine => return Ok(true),
            BudgetState::Exhausted { spent, budget } => {
                let notice = Notice::BudgetExhausted {
                    spent_usd: spent,
                    budget_usd: budget,
                };
                self.shared.tell(self.channel, &notice).await;
                return Ok(false);
            }
            BudgetState::Warning { spent, budget } => Notice::BudgetWarning {
                spent_usd: spent,
                budget_usd: budget,
            },
        };
        if settings.budget_warned_month.as_deref() != Some(month.as_str()) {
            let settings = GuildSettings {
                budget_warned_month: Some(month),
                ..settings.clone()
            };
            store.save_guild_settings(&settings).await?;
            self.shared.tell(self.channel, &notice).await;
        }
        Ok(true)
    }

    /// The campaign's model, then its fallback, then the server's, then the bot's default.
    async fn model_chain(
        &self,
        campaign: &Campaign,
        guild: Option<&GuildSettings>,
    ) -> Result<Vec<ModelId>, EngineError> {
        let deps = &self.shared.deps;
        let candidates = [
            Some(campaign.model.clone()),
            campaign.fallback_model.clone(),
            guild.and_then(|g| g.fallback_model.clone()),
            guild.and_then(|g| g.default_model.clone()),
            deps.settings.default_model.clone(),
        ];
        let mut chain: Vec<ModelId> = Vec::new();
        for model in candidates.into_iter().flatten() {
            if !chain.contains(&model) {
                chain.push(model);
            }
        }
        Ok(chain)
    }

    async fn model_failed(&self, model: &ModelId, error: &LlmError, next: Option<&ModelId>) {
        let next = match next {
            Some(next) => format!("trying {next} instead"),
            None => "no other model is configured".to_string(),
        };
        let notice = Notice::ModelFailed {
            model: model.clone(),
            reason: error.message.clone(),
            next,
        };
        self.shared.tell(self.channel, &notice).await;
    }

    /// Rolls the dice the game master asked for with `[[roll ...]]` tags; the results are
    /// stored in the story, so the next narration reads them.
    pub(super) async fn roll_requested_dice(
        &self,
        session: &Session,
        narration: &StoredMessage,
    ) -> Result<(), EngineError> {
        let deps = &self.shared.deps;
        let scan = scan_roll_tags(&narration.content);
        let results: Vec<_> = {
            let mut rng = self.dice.lock().unwrap();
            scan.tags
                .iter()
                .map(|tag| (tag, tag.expr.roll(&mut *rng)))
                .collect()
        };
        for (tag, result) in results {
            match result {
                Ok(result) => {
                    let text = tag.outcome_text(&result);
                    let row = NewMessage::by_bot(
                        session.id,
                        session.campaign_id,
                        MessageRole::Dice,
                        text.clone(),
                        MessageStatus::Complete,
                    );
                    self.outage
                        .retry(|| deps.store.append_message(&row))
                        .await?;
                    let notice = Notice::DiceRoll {
                        label: tag.label.clone(),
                        text,
                    };
                    self.shared.tell(self.channel, &notice).await;
                }
                Err(e) => {
                    let notice = Notice::BadRollTag {
                        tag: tag.expr.to_string(),
                        problem: e.to_string(),
                    };
                    self.shared.tell(self.channel, &notice).await;
                }
            }
        }
        for error in scan.errors {
            let notice = Notice::BadRollTag {
                tag: error.body.clone(),
                problem: error.problem.to_string(),
            };
            self.shared.tell(self.channel, &notice).await;
        }
        Ok(())
    }

    /// Folds messages that no longer fit the window into the session's rolling summary.
    /// A failure is logged and retried at the next turn; the story itself is never lost.
    pub(super) async fn summarise(
        &self,
        campaign: &Campaign,
        session: &Session,
        folded: &[StoredMessage],
        cast: &Cast<'_>,
        model: &dyn crate::core::models::chat::ChatModel,
        record: &Recorder<'_>,
    ) {
        let Some(through) = folded.last().map(|m| m.id) else {
            return;
        };
        let request = match context::summary_request(campaign, &session.summary, folded, cast, 600)
        {
            Ok(request) => request,
            Err(e) => {
                tracing::error!(error = %e, "summary template failed");
                return;
            }
        };
        let (result, latency_ms) = narrate::collect(model, request).await;
        match result {
            Ok((text, completion)) => {
                record.success(CallKind::Summary, &completion).await;
                let text = text.trim();
                if !text.is_empty()
                    && let Err(e) = self
                        .shared
                        .deps
                        .store
                        .update_summary(session.id, text, through)
                        .await
                {
                    tracing::warn!(error = %e, "could not store the session summary");
                }
            }
            Err(error) => {
                record
                    .failure(CallKind::Summary, &error, latency_ms, None)
                    .await;
                tracing::warn!(channel = %self.channel, error = %error, "summary failed; retrying next turn");
            }
        }
    }
}

/// Writes the performance record of each model call; a failure to record never fails a turn.
pub(super) struct Recorder<'a> {
    pub(super) actor: &'a Actor,
    pub(super) session: &'a Session,
    pub(super) user: Option<UserId>,
    pub(super) model: &'a ModelId,
}

impl Recorder<'_> {
    fn base(&self, kind: CallKind, latency_ms: i64) -> PerfRecord {
        PerfRecord {
            guild_id: self.session.guild_id,
            campaign_id: Some(self.session.campaign_id),
            session_id: Some(self.session.id),
            user_id: self.user,
            ..PerfRecord::call(self.model.to_string(), kind, latency_ms)
        }
    }

    pub(super) async fn success(&self, kind: CallKind, completion: &Completion) {
        let usage = completion.usage;
        let record = PerfRecord {
            ttft_ms: completion.ttft.map(|d| d.as_millis() as i64),
            tokens_in: Some(i64::from(usage.tokens_in)),
            tokens_out: Some(i64::from(usage.tokens_out)),
            tokens_estimated: usage.estimated,
            cost_usd: self.actor.shared.deps.models.cost(self.model, &usage),
            ..self.base(kind, completion.latency.as_millis() as i64)
        };
        self.write(record).await;
    }

    pub(super) async fn failure(
        &self,
        kind: CallKind,
        error: &LlmError,
        latency_ms: i64,
        ttft_ms: Option<i64>,
    ) {
        let record = PerfRecord {
            ttft_ms,
            ok: false,
            error_kind: Some(error.kind.as_str().to_string()),
            ..self.base(kind, latency_ms)
        };
        self.write(record).await;
    }

    async fn write(&self, record: PerfRecord) {
        if let Err(e) = self.actor.shared.deps.store.record_call(&record).await {
            tracing::warn!(error = %e, "could not store a performance record");
        }
    }
}
