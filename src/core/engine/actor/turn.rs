//! One narrated turn, in named steps: plan it (which messages, an opening or a regeneration),
//! check the budget, offer it to the arena, else narrate it with the campaign's model and its
//! fallbacks (build the context, stream, record the call), then roll the dice it asked for.

use super::record::Recorder;
use super::*;
use crate::core::engine::{BadRollTag, DiceRolled, Presenter};
use crate::core::ids::DiscordMessageId;
use crate::core::models::budget::countable;
use crate::core::models::chat::{ChatModel, ErrorKind, Usage};
use crate::core::models::choice::fallback_chain;
use crate::core::store::StoreError;

/// What a turn narrates, whichever model narrates it.
pub(in crate::core::engine) struct Scene<'a> {
    pub campaign: &'a Campaign,
    pub session: &'a Session,
    pub guild: Option<&'a GuildSettings>,
    pub cast: &'a Cast<'a>,
    /// The story so far (within the history window), without a narration being replaced.
    pub tail: &'a [StoredMessage],
    /// The opening-scene instruction, for a session's first narration.
    pub instruction: Option<&'static str>,
    pub requested_by: Option<UserId>,
    /// A character was dying when the turn began: its death save follows the narration
    /// even when the narration changes nothing.
    pub anyone_dying: bool,
}

/// One model's narration of a scene, and the story that no longer fit its context.
pub(in crate::core::engine) struct Told {
    pub outcome: NarrationOutcome,
    pub overflow: Vec<StoredMessage>,
}

/// What a job asks of its turn, read before anything is written.
struct Plan {
    requested_by: Option<UserId>,
    opening: bool,
    regenerating: bool,
    /// A regenerated narration and its dice: they leave the story once a new narration has
    /// text, so a regeneration that no model can answer keeps them.
    replaced: Vec<StoredMessage>,
}

impl Actor {
    pub(super) async fn run_job(
        &self,
        job: &Job,
        turn: &[StoredMessage],
    ) -> Result<(), EngineError> {
        let deps = &self.shared.deps;
        let store = &*deps.store;
        let table = self.table.get(store, self.session_id).await?;
        if table.session.status != SessionStatus::Active {
            return Ok(());
        }
        let Some(plan) = self.plan(job, turn).await? else {
            return Ok(()); // the story moved on since the click
        };
        let (session, campaign) = (&table.session, &table.campaign);
        let mut tail = store
            .story_tail(
                session.id,
                session.summary_through,
                deps.settings.history_window,
            )
            .await?;
        tail.retain(|m| !plan.replaced.iter().any(|old| old.id == m.id));
        let (state, anyone_dying) = self.party_state(session, &table.characters).await?;
        let cast = Cast {
            characters: &table.characters,
            state: &state,
        };
        let scene = Scene {
            campaign,
            session,
            guild: table.guild.as_ref(),
            cast: &cast,
            tail: &tail,
            instruction: plan
                .opening
                .then(|| PromptSet::for_language(campaign.language).opening),
            requested_by: plan.requested_by,
            anyone_dying,
        };
        if !self.within_budget(session, scene.guild).await? {
            return Ok(());
        }
        if !plan.regenerating && self.narrated_in_arena(&scene).await? {
            return Ok(());
        }
        self.narrate_with_fallbacks(&scene, &plan.replaced).await
    }

    /// `None` when a regeneration no longer applies (a newer narration exists).
    async fn plan(&self, job: &Job, turn: &[StoredMessage]) -> Result<Option<Plan>, EngineError> {
        let Job::Regenerate {
            narration,
            requested_by,
        } = job
        else {
            return Ok(Some(Plan {
                requested_by: turn.first().and_then(|m| m.author_id),
                opening: matches!(job, Job::Opening),
                regenerating: false,
                replaced: Vec::new(),
            }));
        };
        let latest = self
            .latest_narration()
            .await?
            .filter(|l| l.narration.id == *narration);
        Ok(latest.map(|latest| Plan {
            requested_by: Some(*requested_by),
            opening: latest.is_opening,
            regenerating: true,
            replaced: std::iter::once(latest.narration)
                .chain(latest.dice)
                .collect(),
        }))
    }

    /// With the arena on (and a presenter that collects votes), two models narrate the turn.
    /// `Ok(false)` when the turn still needs narrating the usual way.
    async fn narrated_in_arena(&self, scene: &Scene<'_>) -> Result<bool, EngineError> {
        let deps = &self.shared.deps;
        if !scene.campaign.arena_enabled || !deps.presenter.collects_votes() {
            return Ok(false);
        }
        let pair = arena::pick_pair(
            &scene.campaign.model,
            &deps.models.arena_models(),
            &mut rand::rng(),
        );
        match pair {
            Some(pair) => self.arena_turn(arena::ArenaTurn { scene, pair }).await,
            None => Ok(false),
        }
    }

    async fn supersede(&self, replaced: &[StoredMessage]) -> Result<(), EngineError> {
        if replaced.is_empty() {
            return Ok(());
        }
        self.outage.output_started(); // from here on, running the job again would be wrong
        let store = &*self.shared.deps.store;
        for old in replaced {
            self.outage
                .retry(|| store.update_message(old.id, &old.content, MessageStatus::Superseded))
                .await?;
            if old.role != MessageRole::Assistant {
                continue;
            }
            // The regenerated narration's changes go with it; the new one applies its own.
            match store.undo_narration_state(old.id).await {
                Ok(undone) if !undone.is_empty() => {
                    let line = format!(
                        "📋 Undone with the regenerated narration: {}",
                        undone.join(" · ")
                    );
                    self.shared
                        .tell(self.channel, &Notice::State { line })
                        .await;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(narration = %old.id, error = %e, "could not undo a regenerated narration's changes")
                }
            }
        }
        Ok(())
    }

    /// The party's state, journal and fight as the game master reads them this turn (one
    /// read), and whether anyone is dying.
    pub(in crate::core::engine) async fn party_state(
        &self,
        session: &Session,
        characters: &[crate::core::game::character::Character],
    ) -> Result<(String, bool), EngineError> {
        use crate::core::party::{JOURNAL_IN_CONTEXT, Party};
        let store = &*self.shared.deps.store;
        let table = self
            .state
            .get(store, session.campaign_id, session.id, JOURNAL_IN_CONTEXT)
            .await?;
        let party = Party::of(characters.to_vec(), table.sheets.clone());
        let dying = party
            .members
            .iter()
            .any(|m| matches!(m.sheet.vitals, crate::core::sheet::Vitals::Dying { .. }));
        let text = party.state_text(&table.journal, table.combat.as_ref().map(|c| &c.combat));
        Ok((text, dying))
    }

    /// Applies a narration's state tags and shows what changed. A failure is logged: the
    /// narration stands, and `/sheet set` can make the change by hand.
    pub(in crate::core::engine) async fn apply_state(
        &self,
        scene: &Scene<'_>,
        narration: &StoredMessage,
        model: &ModelId,
    ) {
        let session = scene.session;
        let store = &*self.shared.deps.store;
        let mut rng = rand::rngs::StdRng::from_rng(&mut *self.dice.lock().unwrap());
        match crate::core::engine::state::apply_narration(
            store,
            session,
            narration,
            model,
            scene.anyone_dying,
            &mut rng,
        )
        .await
        {
            Ok(Some(line)) => {
                self.shared
                    .tell(self.channel, &Notice::State { line })
                    .await
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(narration = %narration.id, error = %e, "could not apply a narration's state tags")
            }
        }
    }

    /// The campaign's model narrates; when it fails before any text, the next in its chain
    /// does. A narration cut after some text stays as it is (the players saw it). Either
    /// replaces the narration being regenerated.
    async fn narrate_with_fallbacks(
        &self,
        scene: &Scene<'_>,
        replaced: &[StoredMessage],
    ) -> Result<(), EngineError> {
        let deps = &self.shared.deps;
        let chain = fallback_chain(
            scene.campaign,
            scene.guild,
            deps.settings.default_model.as_ref(),
        );
        let budgeted = scene.guild.is_some_and(|g| g.monthly_budget_usd.is_some());
        for (attempt, model_id) in chain.iter().enumerate() {
            let next = chain.get(attempt + 1);
            let priced = deps.models.cost(model_id, &Usage::default()).is_some();
            if budgeted && !countable(model_id, priced) {
                let error = LlmError::new(
                    ErrorKind::Disabled,
                    "it has no known price, so it cannot be counted against this server's monthly budget",
                );
                self.model_failed(model_id, &error, next).await;
                continue;
            }
            let model = match deps.models.chat_model(model_id) {
                Ok(model) => model,
                Err(error) => {
                    self.model_failed(model_id, &error, next).await;
                    continue;
                }
            };
            let told = self
                .narrate_scene(scene, model_id, &*model, &*deps.presenter)
                .await?;
            let record = Recorder {
                actor: self,
                session: scene.session,
                user: scene.requested_by,
                model: model_id,
            };
            match told.outcome {
                NarrationOutcome::Done {
                    narration,
                    completion,
                    last_message,
                } => {
                    self.supersede(replaced).await?;
                    record.success(CallKind::Narration, &completion).await;
                    record
                        .quality(CallKind::Narration, scene, &narration, &completion)
                        .await;
                    self.add_buttons(last_message, &narration, model_id).await;
                    self.apply_state(scene, &narration, model_id).await;
                    self.roll_requested_dice(scene.session, &narration).await?;
                    self.summarise_overflow(scene, &told.overflow, &*model, &record)
                        .await;
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
                    self.supersede(replaced).await?;
                    record
                        .failure(CallKind::Narration, &error, latency_ms, ttft_ms)
                        .await;
                    let notice = Notice::NarrationCut {
                        model: model_id.clone(),
                        reason: error.message.clone(),
                    };
                    self.shared.tell(self.channel, &notice).await;
                    self.add_buttons(last_message, &narration, model_id).await;
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

    /// Builds `model`'s context for the scene and streams its narration through `presenter`.
    pub(in crate::core::engine) async fn narrate_scene(
        &self,
        scene: &Scene<'_>,
        model_id: &ModelId,
        model: &dyn ChatModel,
        presenter: &dyn Presenter,
    ) -> Result<Told, EngineError> {
        let deps = &self.shared.deps;
        let system = context::system_prompt(scene.campaign, scene.session, scene.cast)
            .map_err(|e| EngineError::Store(StoreError::Corrupt(e.to_string())))?;
        let budget = Budget {
            context_window: deps.models.context_window(model_id),
            max_answer_tokens: deps.settings.max_answer_tokens,
        };
        let context = {
            let mut cache = self.cache.lock().unwrap();
            context::build(
                system,
                scene.tail,
                scene.instruction,
                scene.cast,
                &budget,
                &mut cache,
                deps.settings.state_tools,
            )
        };
        let template = NewMessage::by_bot(
            scene.session.id,
            scene.campaign.id,
            MessageRole::Assistant,
            String::new(),
            MessageStatus::Streaming,
        );
        let target = NarrationTarget {
            channel: self.channel,
            template: &template,
        };
        let outcome = narrate::narrate(
            &*deps.store,
            &self.outage,
            presenter,
            &deps.settings.stream_policy,
            model,
            model_id,
            context.request,
            target,
        )
        .await?;
        Ok(Told {
            outcome,
            overflow: context.overflow,
        })
    }

    /// Adds Regenerate and the rating buttons under a narration's last message.
    pub(in crate::core::engine) async fn add_buttons(
        &self,
        last_message: Option<DiscordMessageId>,
        narration: &StoredMessage,
        model: &ModelId,
    ) {
        let Some(last) = last_message else {
            return;
        };
        let presenter = &self.shared.deps.presenter;
        if let Err(e) = presenter
            .narration_finished(self.channel, last, narration.id, model)
            .await
        {
            tracing::warn!(channel = %self.channel, error = %e, "could not add narration buttons");
        }
    }

    /// Folds what no longer fit the context into the rolling summary, with the model that
    /// just narrated.
    pub(in crate::core::engine) async fn summarise_overflow(
        &self,
        scene: &Scene<'_>,
        overflow: &[StoredMessage],
        model: &dyn ChatModel,
        record: &Recorder<'_>,
    ) {
        if !overflow.is_empty() {
            self.summarise(
                scene.campaign,
                scene.session,
                overflow,
                scene.cast,
                model,
                record,
            )
            .await;
        }
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
    pub(in crate::core::engine) async fn roll_requested_dice(
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
        let mut rolls = Vec::new();
        let mut problems = Vec::new();
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
                    rolls.push(DiceRolled {
                        label: tag.label.clone(),
                        text,
                    });
                }
                Err(e) => problems.push(BadRollTag {
                    tag: tag.expr.to_string(),
                    problem: e.to_string(),
                }),
            }
        }
        problems.extend(scan.errors.into_iter().map(|error| BadRollTag {
            tag: error.body,
            problem: error.problem.to_string(),
        }));
        if !rolls.is_empty() || !problems.is_empty() {
            let notice = Notice::Dice { rolls, problems };
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
