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
use rand::Rng;
use rand::seq::IndexedRandom;
use tokio::sync::{Notify, oneshot};
use tokio::time::{Instant, sleep_until};

use super::actor::{Actor, Recorder};
use super::context::{self, Budget, Cast};
use super::narrate::{self, NarrationOutcome, NarrationTarget};
use super::{EngineError, Notice, PresentError, Presenter, Shared};
use crate::core::campaign::Campaign;
use crate::core::ids::{BattleId, ChannelId, DiscordMessageId, GuildId, UserId};
use crate::core::llm::{ChatModel, ChatRequest, ChatStream, LlmError, ModelId};
use crate::core::perf::CallKind;
use crate::core::session::{Session, SessionStatus};
use crate::core::store::StoreError;
use crate::core::transcript::{MessageRole, MessageStatus, NewMessage, StoredMessage};
use crate::core::vote::ArenaChoice;

/// What the ballot says (the Discord presenter adds the buttons).
pub const BALLOT_TEXT: &str = "⚔️ Which narrator told it better? Vote **A**, **B**, **Tie** or \
**Both bad**: one vote each, and you can change it until everyone has voted. The story goes on \
after the vote.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArenaSide {
    A,
    B,
}

impl ArenaSide {
    pub fn letter(self) -> char {
        match self {
            ArenaSide::A => 'A',
            ArenaSide::B => 'B',
        }
    }

    pub fn emoji(self) -> &'static str {
        match self {
            ArenaSide::A => "🅰️",
            ArenaSide::B => "🅱️",
        }
    }

    /// The heading while names are hidden.
    pub fn heading(self) -> String {
        format!("{} **Narrator {}**", self.emoji(), self.letter())
    }
}

/// The two narrators of a turn: `a` is shown first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub a: ModelId,
    pub b: ModelId,
}

impl Pair {
    pub fn model(&self, side: ArenaSide) -> &ModelId {
        match side {
            ArenaSide::A => &self.a,
            ArenaSide::B => &self.b,
        }
    }
}

/// The campaign's model against another enabled model drawn at random, in random positions.
/// None when no other model is enabled (the turn is narrated normally).
pub fn pick_pair<R: Rng + ?Sized>(
    campaign_model: &ModelId,
    enabled: &[ModelId],
    rng: &mut R,
) -> Option<Pair> {
    let others: Vec<&ModelId> = enabled.iter().filter(|m| *m != campaign_model).collect();
    let other = (*others.choose(rng)?).clone();
    let campaign_model = campaign_model.clone();
    Some(if rng.random_bool(0.5) {
        Pair {
            a: campaign_model,
            b: other,
        }
    } else {
        Pair {
            a: other,
            b: campaign_model,
        }
    })
}

/// Votes per choice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VoteCounts {
    pub a: u32,
    pub b: u32,
    pub tie: u32,
    pub both_bad: u32,
}

impl VoteCounts {
    pub fn of(votes: impl IntoIterator<Item = ArenaChoice>) -> VoteCounts {
        let mut counts = VoteCounts::default();
        for vote in votes {
            match vote {
                ArenaChoice::A => counts.a += 1,
                ArenaChoice::B => counts.b += 1,
                ArenaChoice::Tie => counts.tie += 1,
                ArenaChoice::BothBad => counts.both_bad += 1,
            }
        }
        counts
    }

    pub fn total(&self) -> u32 {
        self.a + self.b + self.tie + self.both_bad
    }

    /// The choice with the most votes; several sharing the most is a tie. None without votes.
    pub fn winner(&self) -> Option<ArenaChoice> {
        let counted = [
            (ArenaChoice::A, self.a),
            (ArenaChoice::B, self.b),
            (ArenaChoice::Tie, self.tie),
            (ArenaChoice::BothBad, self.both_bad),
        ];
        let most = counted.iter().map(|(_, n)| *n).max().unwrap_or(0);
        if most == 0 {
            return None;
        }
        let mut leaders = counted.iter().filter(|(_, n)| *n == most);
        match (leaders.next(), leaders.next()) {
            (Some((choice, _)), None) => Some(*choice),
            _ => Some(ArenaChoice::Tie),
        }
    }
}

/// B continues the story only when it won; a tie, "both bad" and no votes keep A.
pub fn canon_side(winner: Option<ArenaChoice>) -> ArenaSide {
    if winner == Some(ArenaChoice::B) {
        ArenaSide::B
    } else {
        ArenaSide::A
    }
}

/// Everything the chat surface needs to reveal the names once the vote is over.
#[derive(Debug, Clone, PartialEq)]
pub struct ArenaReveal {
    pub battle: BattleId,
    pub pair: Pair,
    /// The heading messages of A and B, to edit with the names.
    pub headings: [Option<DiscordMessageId>; 2],
    pub ballot: Option<DiscordMessageId>,
    pub counts: VoteCounts,
    /// None when nobody voted.
    pub winner: Option<ArenaChoice>,
    pub canon: ArenaSide,
}

impl ArenaReveal {
    pub fn heading_message(&self, side: ArenaSide) -> Option<DiscordMessageId> {
        match side {
            ArenaSide::A => self.headings[0],
            ArenaSide::B => self.headings[1],
        }
    }

    /// A side's heading with its model named; the canon one says it continues the story.
    pub fn revealed_heading(&self, side: ArenaSide) -> String {
        let mut heading = format!("{} · `{}`", side.heading(), self.pair.model(side));
        if side == self.canon {
            heading.push_str(" ✅ continues the story");
        }
        heading
    }

    pub fn verdict(&self) -> String {
        let canon = self.canon.letter();
        match self.winner {
            Some(ArenaChoice::A) | Some(ArenaChoice::B) => {
                format!("Narrator {canon} wins: its narration continues the story.")
            }
            Some(ArenaChoice::Tie) => {
                format!("A tie: Narrator {canon}'s narration continues the story.")
            }
            Some(ArenaChoice::BothBad) => {
                format!("Both judged bad: Narrator {canon}'s narration continues the story.")
            }
            None => format!("No votes: Narrator {canon}'s narration continues the story."),
        }
    }

    /// The ballot's final text: the names, the votes and what continues the story.
    pub fn summary(&self) -> String {
        let c = &self.counts;
        format!(
            "⚔️ The vote is over. Narrator A was `{}`, Narrator B was `{}`. \
             Votes: A {} · B {} · tie {} · both bad {}. {}",
            self.pair.a,
            self.pair.b,
            c.a,
            c.b,
            c.tie,
            c.both_bad,
            self.verdict()
        )
    }
}

/// What a voter is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArenaVoteReceipt {
    pub choice: ArenaChoice,
    /// Their earlier vote, which this one replaced.
    pub previous: Option<ArenaChoice>,
}

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
    let Some(wake) = shared.ballots.open.get(&found.id).map(|n| Arc::clone(&n)) else {
        return Err(EngineError::VoteClosed);
    };
    let previous = store.set_arena_vote(found.id, voter, choice).await?;
    // A permit is stored if the turn is not waiting right now, so no vote is missed.
    wake.notify_one();
    Ok(ArenaVoteReceipt { choice, previous })
}

/// What an arena turn narrates.
pub(super) struct ArenaTurn<'a> {
    pub campaign: &'a Campaign,
    pub session: &'a Session,
    pub cast: &'a Cast<'a>,
    pub tail: &'a [StoredMessage],
    pub instruction: Option<&'static str>,
    pub requested_by: Option<UserId>,
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

/// Holds Narrator B back while A streams, then shows it from its start (heading first) and
/// lets it stream on live, so the two narrations never interleave in the channel while both
/// are generated at once. `narrate` gets local message numbers; `real` maps them to the
/// chat surface's ids once they are shown.
struct Relay<'a> {
    inner: &'a dyn Presenter,
    channel: ChannelId,
    side: ArenaSide,
    state: tokio::sync::Mutex<RelayState>,
}

#[derive(Default)]
struct RelayState {
    live: bool,
    /// None until posted (it is posted right before the first part is shown).
    heading: Option<Option<DiscordMessageId>>,
    /// Each message's latest text and, once shown, its id.
    parts: Vec<(String, Option<DiscordMessageId>)>,
}

impl<'a> Relay<'a> {
    fn new(inner: &'a dyn Presenter, channel: ChannelId, side: ArenaSide) -> Relay<'a> {
        Relay {
            inner,
            channel,
            side,
            state: tokio::sync::Mutex::new(RelayState::default()),
        }
    }

    async fn post_heading(&self, state: &mut RelayState) {
        if state.heading.is_none() {
            let posted = match self.inner.arena_heading(self.channel, self.side).await {
                Ok(id) => Some(id),
                Err(e) => {
                    tracing::warn!(channel = %self.channel, error = %e, "could not post an arena heading");
                    None
                }
            };
            state.heading = Some(posted);
        }
    }

    /// Shows what was held back and forwards everything from now on.
    async fn go_live(&self) {
        let mut state = self.state.lock().await;
        state.live = true;
        if state.parts.is_empty() {
            return;
        }
        self.post_heading(&mut state).await;
        for index in 0..state.parts.len() {
            if state.parts[index].1.is_some() {
                continue;
            }
            let text = state.parts[index].0.clone();
            match self.inner.send(self.channel, &text).await {
                Ok(id) => state.parts[index].1 = Some(id),
                Err(e) => {
                    tracing::warn!(channel = %self.channel, error = %e, "could not post narration")
                }
            }
        }
    }

    async fn real(&self, local: Option<DiscordMessageId>) -> Option<DiscordMessageId> {
        let index = usize::try_from(local?.0).ok()?.checked_sub(1)?;
        self.state.lock().await.parts.get(index)?.1
    }

    async fn heading(&self) -> Option<DiscordMessageId> {
        self.state.lock().await.heading.flatten()
    }
}

#[async_trait::async_trait]
impl Presenter for Relay<'_> {
    async fn typing(&self, channel: ChannelId) {
        if self.state.lock().await.live {
            self.inner.typing(channel).await;
        }
    }

    async fn send(
        &self,
        _channel: ChannelId,
        text: &str,
    ) -> Result<DiscordMessageId, PresentError> {
        let mut state = self.state.lock().await;
        state.parts.push((text.to_owned(), None));
        let index = state.parts.len() - 1;
        if state.live {
            self.post_heading(&mut state).await;
            let id = self.inner.send(self.channel, text).await?;
            state.parts[index].1 = Some(id);
        }
        Ok(DiscordMessageId(index as u64 + 1))
    }

    async fn edit(
        &self,
        _channel: ChannelId,
        message: DiscordMessageId,
        text: &str,
    ) -> Result<(), PresentError> {
        let mut state = self.state.lock().await;
        let live = state.live;
        let Some(part) = usize::try_from(message.0)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|index| state.parts.get_mut(index))
        else {
            return Ok(());
        };
        part.0 = text.to_owned();
        match part.1 {
            Some(id) if live => self.inner.edit(self.channel, id, text).await,
            _ => Ok(()),
        }
    }

    async fn narration_finished(
        &self,
        channel: ChannelId,
        last_message: DiscordMessageId,
        narration: crate::core::ids::MessageId,
        model: &ModelId,
    ) -> Result<(), PresentError> {
        self.inner
            .narration_finished(channel, last_message, narration, model)
            .await
    }

    async fn notice(&self, channel: ChannelId, notice: &Notice) -> Result<(), PresentError> {
        self.inner.notice(channel, notice).await
    }
}

/// Lets B's call start once A's has been answered: the provider always sees A's request
/// first (a scripted server answers them in that order), and B is generated while A streams.
struct AnsweredSignal {
    inner: Arc<dyn ChatModel>,
    answered: std::sync::Mutex<Option<oneshot::Sender<()>>>,
}

#[async_trait::async_trait]
impl ChatModel for AnsweredSignal {
    async fn stream_chat(&self, request: ChatRequest) -> Result<ChatStream, LlmError> {
        let answer = self.inner.stream_chat(request).await;
        if let Some(tx) = self.answered.lock().unwrap().take() {
            let _ = tx.send(());
        }
        answer
    }
}

impl Actor {
    /// Narrates the turn as an arena battle. `Ok(false)` when neither side could narrate: the
    /// turn is then narrated the usual way.
    pub(super) async fn arena_turn(&self, turn: ArenaTurn<'_>) -> Result<bool, EngineError> {
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
                .narrate_side(&turn, ArenaSide::A, &*deps.presenter, Some(answered))
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
            self.narrate_side(&turn, ArenaSide::B, &relay, None).await
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
        let (a, b) = match (a, b) {
            (Ok(a), Ok(b)) => (a, b),
            (Ok(a), Err(b)) => {
                self.side_failed(
                    &b,
                    "Narrator A's narration continues the story; no vote this turn",
                )
                .await;
                self.finish_canon(&turn, &a).await?;
                return Ok(true);
            }
            (Err(a), Ok(b)) => {
                self.side_failed(
                    &a,
                    "Narrator B's narration continues the story; no vote this turn",
                )
                .await;
                self.finish_canon(&turn, &b).await?;
                return Ok(true);
            }
            (Err(a), Err(b)) => {
                self.side_failed(&a, "Narrator B failed too").await;
                self.side_failed(&b, "narrating this turn without the arena")
                    .await;
                return Ok(false);
            }
        };
        let battle = store
            .create_battle(
                turn.session.id,
                turn.session.guild_id,
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
        let ballot = self.shared.ballots.open(battle.id);
        let ballot_message = match deps.presenter.arena_ballot(self.channel, battle.id).await {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::warn!(channel = %self.channel, error = %e, "could not post the arena ballot");
                None
            }
        };
        self.await_votes(battle.id, &ballot.votes, turn.session)
            .await?;
        drop(ballot);

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
        self.finish_canon(&turn, kept).await?;
        Ok(true)
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
            session: turn.session,
            user: turn.requested_by,
            model: model_id,
        };
        let model = match deps.models.chat_model(model_id) {
            Ok(model) => model,
            Err(error) => return Ok(Err(failed(error))),
        };
        let system = context::system_prompt(turn.campaign, turn.session, turn.cast)
            .map_err(|e| EngineError::Store(StoreError::Corrupt(e.to_string())))?;
        let budget = Budget {
            context_window: deps.models.context_window(model_id),
            max_answer_tokens: deps.settings.max_answer_tokens,
        };
        let context = {
            let mut cache = self.cache.lock().unwrap();
            context::build(
                system,
                turn.tail,
                turn.instruction,
                turn.cast,
                &budget,
                &mut cache,
            )
        };
        let template = NewMessage::by_bot(
            turn.session.id,
            turn.campaign.id,
            MessageRole::Assistant,
            String::new(),
            MessageStatus::Streaming,
        );
        let target = NarrationTarget {
            channel: self.channel,
            template: &template,
        };
        let called: Arc<dyn ChatModel> = match answered {
            Some(tx) => Arc::new(AnsweredSignal {
                inner: Arc::clone(&model),
                answered: std::sync::Mutex::new(Some(tx)),
            }),
            None => Arc::clone(&model),
        };
        let outcome = narrate::narrate(
            store,
            presenter,
            &deps.settings.stream_policy,
            &*called,
            model_id,
            context.request,
            target,
        )
        .await?;
        match outcome {
            NarrationOutcome::Done {
                narration,
                completion,
                last_message,
            } => {
                record.success(CallKind::Arena, &completion).await;
                Ok(Ok(Narrated {
                    side,
                    narration,
                    heading: None,
                    last_message,
                    overflow: context.overflow,
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
        let _ = self
            .shared
            .deps
            .presenter
            .notice(self.channel, &notice)
            .await;
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
            let party = self.party(session.campaign_id).await;
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
        let deps = &self.shared.deps;
        let model_id = turn.pair.model(canon.side);
        if let Some(last) = canon.last_message
            && let Err(e) = deps
                .presenter
                .narration_finished(self.channel, last, canon.narration.id, model_id)
                .await
        {
            tracing::warn!(channel = %self.channel, error = %e, "could not add narration buttons");
        }
        self.roll_requested_dice(turn.session, &canon.narration)
            .await?;
        if !canon.overflow.is_empty() {
            let record = Recorder {
                actor: self,
                session: turn.session,
                user: turn.requested_by,
                model: model_id,
            };
            self.summarise(
                turn.campaign,
                turn.session,
                &canon.overflow,
                turn.cast,
                &*canon.model,
                &record,
            )
            .await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn id(raw: &str) -> ModelId {
        ModelId::parse(raw).unwrap()
    }

    #[test]
    fn the_campaign_model_meets_another_in_either_position() {
        let campaign = id("local:narrator");
        let enabled = [id("local:narrator"), id("local:backup"), id("local:third")];
        let mut rng = StdRng::seed_from_u64(3);
        let mut campaign_first = 0;
        let mut opponents = HashSet::new();
        for _ in 0..200 {
            let pair = pick_pair(&campaign, &enabled, &mut rng).unwrap();
            assert_ne!(pair.a, pair.b);
            assert!(pair.a == campaign || pair.b == campaign, "{pair:?}");
            if pair.a == campaign {
                campaign_first += 1;
            }
            opponents.insert(if pair.a == campaign { pair.b } else { pair.a });
        }
        assert!((50..150).contains(&campaign_first), "{campaign_first}");
        assert_eq!(opponents.len(), 2, "both other models get drawn");
        assert_eq!(
            pick_pair(&campaign, &[id("local:narrator")], &mut rng),
            None
        );
        assert_eq!(pick_pair(&campaign, &[], &mut rng), None);
    }

    #[test]
    fn the_most_voted_choice_wins_and_a_shared_lead_is_a_tie() {
        use ArenaChoice::*;
        let winner = |votes: &[ArenaChoice]| VoteCounts::of(votes.iter().copied()).winner();
        assert_eq!(winner(&[]), None);
        assert_eq!(winner(&[B]), Some(B));
        assert_eq!(winner(&[A, B, B]), Some(B));
        assert_eq!(winner(&[A, B]), Some(Tie));
        assert_eq!(winner(&[BothBad, BothBad, A]), Some(BothBad));
        assert_eq!(winner(&[A, BothBad]), Some(Tie));
        assert_eq!(canon_side(Some(B)), ArenaSide::B);
        for kept_a in [None, Some(A), Some(Tie), Some(BothBad)] {
            assert_eq!(canon_side(kept_a), ArenaSide::A);
        }
    }

    #[test]
    fn the_reveal_names_both_models_and_says_what_continues() {
        let reveal = ArenaReveal {
            battle: BattleId(1),
            pair: Pair {
                a: id("local:backup"),
                b: id("local:narrator"),
            },
            headings: [None, None],
            ballot: None,
            counts: VoteCounts::of([ArenaChoice::Tie, ArenaChoice::Tie]),
            winner: Some(ArenaChoice::Tie),
            canon: ArenaSide::A,
        };
        let summary = reveal.summary();
        assert!(
            summary.contains("Narrator A was `local:backup`"),
            "{summary}"
        );
        assert!(
            summary.contains("Narrator B was `local:narrator`"),
            "{summary}"
        );
        assert!(summary.contains("tie 2"), "{summary}");
        assert!(summary.ends_with("A tie: Narrator A's narration continues the story."));
        assert_eq!(
            reveal.revealed_heading(ArenaSide::A),
            "🅰️ **Narrator A** · `local:backup` ✅ continues the story"
        );
        assert_eq!(
            reveal.revealed_heading(ArenaSide::B),
            "🅱️ **Narrator B** · `local:narrator`"
        );
        assert!(!ArenaSide::B.heading().contains("local"));
    }
}
