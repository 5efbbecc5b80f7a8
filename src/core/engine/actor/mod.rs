//! One task per active channel. It stores every player message the moment it arrives, gathers
//! the messages of a turn, and narrates turns strictly one after another; messages arriving
//! while the model narrates are stored at once and wait for the next turn, in order.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};

use super::arena;
use super::context::{self, Budget, Cast, TokenCache};
use super::narrate::{self, NarrationOutcome, NarrationTarget};
use super::outage::Outage;
use super::table::{StateCache, TableCache};
use super::{EngineError, Notice, PlayerInput, Shared};
use crate::core::game::campaign::Campaign;
use crate::core::game::guild::GuildSettings;
use crate::core::game::prompt::PromptSet;
use crate::core::game::roll_tag::scan_roll_tags;
use crate::core::game::session::{Session, SessionStatus};
use crate::core::game::transcript::{MessageRole, MessageStatus, NewMessage, StoredMessage};
use crate::core::ids::{ChannelId, MessageId, SessionId, Timestamp, UserId};
use crate::core::models::budget::{BudgetState, budget_state};
use crate::core::models::chat::{LlmError, ModelId};
use crate::core::models::perf::CallKind;
use crate::core::time::month_start;

pub(in crate::core::engine) mod record;
mod supervise;
pub(in crate::core::engine) mod turn;

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
    /// The process (re)started with this session active: narrate the player messages stored
    /// but never answered (those that came in while the last process was draining).
    Resume,
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
    /// The party's sheets, journal and fight, kept like the table.
    state: StateCache,
    /// Who spoke in this session since the actor started (ids only: names live with the
    /// messages, where an erasure reaches them).
    speakers: Mutex<HashSet<UserId>>,
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
            state: StateCache::default(),
            speakers: Mutex::new(HashSet::new()),
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
                            if jobs.send(Job::Players).is_err() {
                                self.narrator_gone().await;
                                break;
                            }
                        }
                        Err(e) => {
                            tracing::error!(channel = %self.channel, error = %e, "could not store a player message");
                            let reason = format!(
                                "your message could not be saved ({}); please send it again",
                                e.public_text()
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
                ActorCommand::Resume => match self.unanswered().await {
                    Ok(waiting) if !waiting.is_empty() => {
                        self.pending.lock().unwrap().extend(waiting);
                        let _ = jobs.send(Job::Players);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(channel = %self.channel, error = %e, "could not read the messages left unanswered");
                    }
                },
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
            // A panicking turn is a bug, but it must not take the channel's narrator with it.
            let running = AssertUnwindSafe(Box::pin(self.run_until_stored(&job, &turn)));
            let result = tokio::select! {
                result = running.catch_unwind() => result,
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
            match result {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(channel = %self.channel, error = %e, "turn failed");
                    let notice = Notice::TurnFailed {
                        reason: e.public_text(),
                    };
                    self.shared.tell(self.channel, &notice).await;
                }
                Err(panic) => {
                    let panic = supervise::panic_text(panic.as_ref()).to_string();
                    self.turn_panicked(panic).await;
                }
            }
            if let Some(why) = self.shared.reach.lost(self.channel) {
                self.channel_lost(&why).await;
                break;
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
        self.speakers.lock().unwrap().insert(input.author);
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
                author_name: Some(input.author_name.clone()),
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
            .chain(self.speakers.lock().unwrap().iter().copied())
            .collect()
    }

    /// The player messages after the latest narration (none when the story has none yet:
    /// its opening was never told, and the players' words wait for the next turn).
    async fn unanswered(&self) -> Result<Vec<StoredMessage>, EngineError> {
        let tail = self
            .shared
            .deps
            .store
            .story_tail(self.session_id, None, 50)
            .await?;
        let Some(last) = tail.iter().rposition(|m| m.role == MessageRole::Assistant) else {
            return Ok(Vec::new());
        };
        Ok(tail[last + 1..]
            .iter()
            .filter(|m| m.role == MessageRole::User)
            .cloned()
            .collect())
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
}
