//! Blind arena turns. With the arena on, a turn is narrated by two different models, the
//! campaign's and one drawn at random from the others enabled, shown as "Narrator A" and
//! "Narrator B" in random order with their names hidden. Players vote A, B, tie or both bad
//! (one vote each; a new vote replaces the old). When every player of the party has voted, or
//! the vote times out, the winner becomes the canon narration that the story continues from;
//! the other is kept in storage as superseded, out of every later context. A tie, "both bad"
//! or no vote at all keeps A. Both calls are recorded as `arena` calls, and the battle with
//! its votes feeds the Bradley-Terry ratings of `/stats metric:arena`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use tokio::sync::{Notify, oneshot};
use tokio::time::{Instant, sleep_until};

mod ballots;
mod relay;
mod rules;

pub(super) use ballots::resume_ballots;
pub use ballots::settled_text;

use relay::{AnsweredSignal, Relay};
pub use rules::{
    ArenaReveal, ArenaSide, ArenaVoteReceipt, BALLOT_TEXT, Pair, VoteCounts, canon_side, pick_pair,
};

use super::actor::Actor;
use super::actor::record::Recorder;
use super::actor::turn::{Scene, Told};
use super::narrate::NarrationOutcome;
use super::{EngineError, Notice, Presenter, Shared};
use crate::core::game::session::{Session, SessionStatus};
use crate::core::game::transcript::{MessageStatus, StoredMessage};
use crate::core::game::vote::ArenaChoice;
use crate::core::ids::{BattleId, DiscordMessageId, GuildId, Timestamp, UserId};
use crate::core::models::chat::{ChatModel, LlmError, ModelId};
use crate::core::models::perf::CallKind;

/// The battles whose vote is open, each with the signal that wakes its turn on a new vote.
#[derive(Default)]
pub(super) struct Ballots {
    open: DashMap<BattleId, Arc<Notify>>,
}

/// Closes the ballot when the turn is done with it, however it ends.
struct OpenBallot<'a> {
    ballots: &'a Ballots,
    battle: BattleId,
    votes: Arc<Notify>,
}

impl Ballots {
    fn open(&self, battle: BattleId) -> OpenBallot<'_> {
        let votes = Arc::new(Notify::new());
        self.open.insert(battle, Arc::clone(&votes));
        OpenBallot {
            ballots: self,
            battle,
            votes,
        }
    }
}

impl Drop for OpenBallot<'_> {
    fn drop(&mut self) {
        self.ballots.open.remove(&self.battle);
    }
}

pub(super) async fn vote(
    shared: &Shared,
    guild: GuildId,
    battle: BattleId,
    voter: UserId,
    choice: ArenaChoice,
) -> Result<ArenaVoteReceipt, EngineError> {
    let store = &*shared.deps.store;
    let found = store
        .battle(battle)
        .await?
        .filter(|b| b.guild_id == Some(guild))
        .ok_or(EngineError::UnknownBattle)?;
    // The stored closing time decides, not this process's memory: a vote cast while the
    // bot restarts still counts.
    if !found.accepts_votes(Timestamp::now()) {
        return Err(EngineError::VoteClosed);
    }
    if !store.is_party_member(found.session_id, voter).await? {
        return Err(EngineError::NotInParty);
    }
    let previous = store.set_arena_vote(found.id, voter, choice).await?;
    // A permit is stored if the turn is not waiting right now, so no vote is missed.
    if let Some(wake) = shared.ballots.open.get(&found.id).map(|n| Arc::clone(&n)) {
        wake.notify_one();
    }
    Ok(ArenaVoteReceipt { choice, previous })
}

/// What an arena turn narrates, and the two models that narrate it.
pub(super) struct ArenaTurn<'a> {
    pub scene: &'a Scene<'a>,
    pub pair: Pair,
}

/// One side's finished narration.
struct Narrated {
    side: ArenaSide,
    narration: StoredMessage,
    heading: Option<DiscordMessageId>,
    last_message: Option<DiscordMessageId>,
    overflow: Vec<StoredMessage>,
    model: Arc<dyn ChatModel>,
}

/// A side that could not narrate (its call is recorded, a partial text set aside).
struct Failed {
    model: ModelId,
    error: LlmError,
}

impl Actor {
    /// Narrates the turn as an arena battle. `Ok(false)` when neither side could narrate: the
    /// turn is then narrated the usual way.
    pub(super) async fn arena_turn(&self, turn: ArenaTurn<'_>) -> Result<bool, EngineError> {
        let (a, b) = self.narrate_both(&turn).await?;
        let (a, b) = match (a, b) {
            (Ok(a), Ok(b)) => (a, b),
            (Ok(kept), Err(failed)) | (Err(failed), Ok(kept)) => {
                let next = match kept.side {
                    ArenaSide::A => "Narrator A's narration continues the story; no vote this turn",
                    ArenaSide::B => "Narrator B's narration continues the story; no vote this turn",
                };
                self.side_failed(&failed, next).await;
                self.finish_canon(&turn, &kept).await?;
                return Ok(true);
            }
            (Err(a), Err(b)) => {
                self.side_failed(&a, "Narrator B failed too").await;
                self.side_failed(&b, "narrating this turn without the arena")
                    .await;
                return Ok(false);
            }
        };
        self.hold_vote(&turn, a, b).await?;
        Ok(true)
    }

    /// Both sides narrate at once: A live, B held back until A's model has answered (then
    /// relayed), so the channel reads A first.
    async fn narrate_both(
        &self,
        turn: &ArenaTurn<'_>,
    ) -> Result<(Result<Narrated, Failed>, Result<Narrated, Failed>), EngineError> {
        let deps = &self.shared.deps;
        let store = &*deps.store;
        let relay = Relay::new(&*deps.presenter, self.channel, ArenaSide::B);
        let (answered, a_answered) = oneshot::channel();
        let a_side = async {
            let heading = match deps
                .presenter
                .arena_heading(self.channel, ArenaSide::A)
                .await
            {
                Ok(id) => Some(id),
                Err(e) => {
                    tracing::warn!(channel = %self.channel, error = %e, "could not post an arena heading");
                    None
                }
            };
            let a = self
                .narrate_side(turn, ArenaSide::A, &*deps.presenter, Some(answered))
                .await;
            relay.go_live().await;
            a.map(|outcome| {
                outcome.map(|mut n| {
                    n.heading = heading;
                    n
                })
            })
        };
        let b_side = async {
            // Dropped unsent when A could not even be called: B starts anyway.
            let _ = a_answered.await;
            self.narrate_side(turn, ArenaSide::B, &relay, None).await
        };
        let (a, b) = tokio::join!(a_side, b_side);
        let a = a?;
        let b = match b? {
            Ok(mut b) => {
                // B was numbered locally while held back: store and use its real ids.
                b.heading = relay.heading().await;
                b.last_message = relay.real(b.last_message).await;
                if let Some(first) = relay.real(b.narration.discord_message_id).await {
                    store.set_discord_message_id(b.narration.id, first).await?;
                    b.narration.discord_message_id = Some(first);
                }
                Ok(b)
            }
            Err(failed) => Err(failed),
        };
        Ok((a, b))
    }

    /// Opens the vote on two finished narrations, waits for it, keeps the winner as canon and
    /// reveals the names.
    async fn hold_vote(
        &self,
        turn: &ArenaTurn<'_>,
        a: Narrated,
        b: Narrated,
    ) -> Result<(), EngineError> {
        let deps = &self.shared.deps;
        let store = &*deps.store;
        let battle = store
            .create_battle(
                turn.scene.session.id,
                turn.scene.session.guild_id,
                &turn.pair.a.to_string(),
                &turn.pair.b.to_string(),
                a.narration.id,
                b.narration.id,
            )
            .await?;
        // Until the vote says otherwise A is canon, so a stop mid-vote leaves one story.
        store
            .update_message(
                b.narration.id,
                &b.narration.content,
                MessageStatus::Superseded,
            )
            .await?;
        let closes_at =
            Timestamp(Timestamp::now().0 + deps.settings.arena_vote_timeout.as_millis() as i64);
        store.open_battle_vote(battle.id, closes_at).await?;
        let ballot = self.shared.ballots.open(battle.id);
        let ballot_message = match deps.presenter.arena_ballot(self.channel, battle.id).await {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::warn!(channel = %self.channel, error = %e, "could not post the arena ballot");
                None
            }
        };
        self.await_votes(battle.id, &ballot.votes, turn.scene.session)
            .await?;
        drop(ballot);
        // Closed before counting: no vote lands after the count.
        store.settle_battle(battle.id).await?;

        let votes = store.arena_votes(battle.id).await?;
        let counts = VoteCounts::of(votes.iter().map(|(_, choice)| *choice));
        let winner = counts.winner();
        if let Some(winner) = winner {
            store.decide_battle(battle.id, winner).await?;
        }
        let canon = canon_side(winner);
        let (kept, set_aside) = match canon {
            ArenaSide::A => (&a, &b),
            ArenaSide::B => (&b, &a),
        };
        if canon == ArenaSide::B {
            store
                .update_message(
                    a.narration.id,
                    &a.narration.content,
                    MessageStatus::Superseded,
                )
                .await?;
            store
                .update_message(
                    b.narration.id,
                    &b.narration.content,
                    MessageStatus::Complete,
                )
                .await?;
        }
        tracing::info!(
            channel = %self.channel,
            battle = %battle.id,
            winner = winner.map_or("none", ArenaChoice::as_str),
            votes = counts.total(),
            kept = %turn.pair.model(kept.side),
            set_aside = %turn.pair.model(set_aside.side),
            "arena vote decided"
        );
        let reveal = ArenaReveal {
            battle: battle.id,
            pair: turn.pair.clone(),
            headings: [a.heading, b.heading],
            ballot: ballot_message,
            counts,
            winner,
            canon,
        };
        if let Err(e) = deps.presenter.arena_reveal(self.channel, &reveal).await {
            tracing::warn!(channel = %self.channel, error = %e, "could not reveal the arena names");
        }
        self.finish_canon(turn, kept).await
    }

    /// Narrates one side through `presenter`; records the call either way. `answered` is
    /// told when the model has answered the request (or failed to).
    async fn narrate_side(
        &self,
        turn: &ArenaTurn<'_>,
        side: ArenaSide,
        presenter: &dyn Presenter,
        answered: Option<oneshot::Sender<()>>,
    ) -> Result<Result<Narrated, Failed>, EngineError> {
        let deps = &self.shared.deps;
        let store = &*deps.store;
        let model_id = turn.pair.model(side);
        let failed = |error: LlmError| Failed {
            model: model_id.clone(),
            error,
        };
        let record = Recorder {
            actor: self,
            session: turn.scene.session,
            user: turn.scene.requested_by,
            model: model_id,
        };
        let model = match deps.models.chat_model(model_id) {
            Ok(model) => model,
            Err(error) => return Ok(Err(failed(error))),
        };
        let called: Arc<dyn ChatModel> = match answered {
            Some(tx) => Arc::new(AnsweredSignal::new(Arc::clone(&model), tx)),
            None => Arc::clone(&model),
        };
        let Told { outcome, overflow } = self
            .narrate_scene(turn.scene, model_id, &*called, presenter)
            .await?;
        match outcome {
            NarrationOutcome::Done {
                narration,
                completion,
                last_message,
            } => {
                record.success(CallKind::Arena, &completion).await;
                record
                    .quality(CallKind::Arena, turn.scene, &narration, &completion)
                    .await;
                Ok(Ok(Narrated {
                    side,
                    narration,
                    heading: None,
                    last_message,
                    overflow,
                    model,
                }))
            }
            NarrationOutcome::FailedBeforeOutput { error, latency_ms } => {
                record
                    .failure(CallKind::Arena, &error, latency_ms, None)
                    .await;
                Ok(Err(failed(error)))
            }
            NarrationOutcome::Cut {
                narration,
                error,
                latency_ms,
                ttft_ms,
                ..
            } => {
                record
                    .failure(CallKind::Arena, &error, latency_ms, ttft_ms)
                    .await;
                store
                    .update_message(narration.id, &narration.content, MessageStatus::Superseded)
                    .await?;
                Ok(Err(failed(error)))
            }
        }
    }

    async fn side_failed(&self, failed: &Failed, next: &str) {
        let notice = Notice::ModelFailed {
            model: failed.model.clone(),
            reason: failed.error.message.clone(),
            next: next.to_string(),
        };
        self.shared.tell(self.channel, &notice).await;
    }

    /// Returns when every player of the party has voted, when the vote times out, or when
    /// the session ends meanwhile (checked every few seconds: the votes so far decide).
    async fn await_votes(
        &self,
        battle: BattleId,
        wake: &Notify,
        session: &Session,
    ) -> Result<(), EngineError> {
        const SESSION_CHECK: Duration = Duration::from_secs(2);
        let store = &*self.shared.deps.store;
        let deadline = Instant::now() + self.shared.deps.settings.arena_vote_timeout;
        loop {
            let voted: HashSet<UserId> = store
                .arena_votes(battle)
                .await?
                .into_iter()
                .map(|(voter, _)| voter)
                .collect();
            let party = self.party().await;
            if !voted.is_empty() && party.iter().all(|p| voted.contains(p)) {
                return Ok(());
            }
            let check = (Instant::now() + SESSION_CHECK).min(deadline);
            tokio::select! {
                () = wake.notified() => {}
                () = sleep_until(check) => {
                    if Instant::now() >= deadline {
                        return Ok(());
                    }
                    let active = store
                        .session(session.id)
                        .await?
                        .is_some_and(|s| s.status == SessionStatus::Active);
                    if !active {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// The canon narration gets the usual buttons, its dice are rolled and the story is
    /// summarised as after any turn.
    async fn finish_canon(
        &self,
        turn: &ArenaTurn<'_>,
        canon: &Narrated,
    ) -> Result<(), EngineError> {
        let model_id = turn.pair.model(canon.side);
        self.add_buttons(canon.last_message, &canon.narration, model_id)
            .await;
        self.apply_state(turn.scene, &canon.narration, model_id)
            .await;
        self.roll_requested_dice(turn.scene.session, &canon.narration)
            .await?;
        let record = Recorder {
            actor: self,
            session: turn.scene.session,
            user: turn.scene.requested_by,
            model: model_id,
        };
        self.summarise_overflow(turn.scene, &canon.overflow, &*canon.model, &record)
            .await;
        Ok(())
    }
}
