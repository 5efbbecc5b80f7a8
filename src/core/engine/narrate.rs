//! One model call streamed into the channel: the narration row is stored as `streaming`,
//! shown through the streaming policy, kept up to date in storage at the edit cadence, and
//! completed (or marked interrupted) at the end. Every call yields one performance record.
//!
//! When the database stops answering mid-stream, the narration goes on showing: the text is
//! held in memory, later saves try again, and the final write waits for the database.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::time::sleep_until;

use super::outage::{Outage, Unreachable};
use super::{EngineError, Presenter};
use crate::core::game::transcript::{MessageStatus, NewMessage, StoredMessage};
use crate::core::ids::{ChannelId, DiscordMessageId};
use crate::core::models::chat::{
    ChatModel, ChatRequest, ChatStream, Completion, LlmError, ModelId, StreamEvent,
};
use crate::core::store::Store;
use crate::core::streaming::{Op, StreamPlanner, StreamPolicy};

/// Where a narration belongs.
pub struct NarrationTarget<'a> {
    pub channel: ChannelId,
    pub template: &'a NewMessage,
}

pub enum NarrationOutcome {
    /// The model finished; the narration is stored complete.
    Done {
        narration: StoredMessage,
        completion: Completion,
        last_message: Option<DiscordMessageId>,
    },
    /// The model failed before writing anything: another model may try.
    FailedBeforeOutput { error: LlmError, latency_ms: i64 },
    /// The model failed part way: what it wrote is stored as interrupted.
    Cut {
        narration: StoredMessage,
        error: LlmError,
        latency_ms: i64,
        ttft_ms: Option<i64>,
        last_message: Option<DiscordMessageId>,
    },
}

/// Applies planner operations to the chat surface, remembering which Discord message holds
/// which part. A failed send or edit is logged and skipped while the stream runs (the next
/// edit carries the newer text anyway, and the story is in storage); what still differs at
/// the end is retried by [`Shown::settle`], so the channel ends up showing the whole text.
struct Shown<'a> {
    presenter: &'a dyn Presenter,
    channel: ChannelId,
    messages: Vec<Option<DiscordMessageId>>,
    /// Per message, the text its last failed send or edit should have shown.
    unsettled: BTreeMap<usize, String>,
    /// The surface said the channel is lost: nothing is retried.
    lost: bool,
}

/// Waits before each retry of the final text (Discord errors are usually short-lived).
const SETTLE_BACKOFF: [Duration; 3] = [
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];

impl Shown<'_> {
    /// Returns, for each message touched, when Discord answered.
    async fn apply(&mut self, ops: Vec<Op>) -> Vec<(usize, Instant)> {
        let mut done = Vec::with_capacity(ops.len());
        for op in ops {
            let (index, text) = match op {
                Op::Send { index, text } | Op::Edit { index, text } => (index, text),
            };
            if self.show(index, &text).await {
                self.unsettled.remove(&index);
            } else {
                self.unsettled.insert(index, text);
            }
            done.push((index, Instant::now()));
        }
        done
    }

    /// Posts message `index` if it has no Discord message yet, else edits it. False when
    /// Discord refused.
    async fn show(&mut self, index: usize, text: &str) -> bool {
        // State tags are for the bot: players see what they changed in a line of its own.
        let shown = crate::core::sheet::displayed(text);
        let text = match shown.trim() {
            "" => "📋",
            _ => &*shown,
        };
        if self.messages.len() <= index {
            self.messages.resize(index + 1, None);
        }
        match self.messages[index] {
            None => match self.presenter.send(self.channel, text).await {
                Ok(id) => {
                    self.messages[index] = Some(id);
                    true
                }
                Err(e) => {
                    tracing::warn!(channel = %self.channel, error = %e, "could not post narration");
                    self.lost |= e.channel_lost;
                    false
                }
            },
            Some(id) => match self.presenter.edit(self.channel, id, text).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(channel = %self.channel, error = %e, "could not edit narration");
                    self.lost |= e.channel_lost;
                    false
                }
            },
        }
    }

    /// Retries what Discord refused until every message shows its final text, a few times.
    async fn settle(&mut self) {
        for wait in SETTLE_BACKOFF {
            if self.unsettled.is_empty() || self.lost {
                return;
            }
            tokio::time::sleep(wait).await;
            let pending = std::mem::take(&mut self.unsettled);
            for (index, text) in pending {
                if !self.show(index, &text).await {
                    self.unsettled.insert(index, text);
                }
            }
        }
        if !self.unsettled.is_empty() && !self.lost {
            tracing::warn!(channel = %self.channel, messages = self.unsettled.len(), "narration left partly shown after retries; it is stored whole");
        }
    }

    fn first(&self) -> Option<DiscordMessageId> {
        self.messages.first().copied().flatten()
    }

    fn last(&self) -> Option<DiscordMessageId> {
        self.messages.iter().rev().find_map(|m| *m)
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn narrate(
    store: &dyn Store,
    outage: &Outage,
    presenter: &dyn Presenter,
    policy: &StreamPolicy,
    model: &dyn ChatModel,
    model_id: &ModelId,
    request: ChatRequest,
    target: NarrationTarget<'_>,
) -> Result<NarrationOutcome, EngineError> {
    let started = Instant::now();
    let elapsed_ms = |at: Instant| at.duration_since(started).as_millis() as i64;
    // The typing indicator goes out while the model is called, not before it: on Discord it
    // is a round trip the player would otherwise wait for.
    let (_, opened) = tokio::join!(presenter.typing(target.channel), model.stream_chat(request));
    let mut stream = match opened {
        Ok(stream) => stream,
        Err(error) => {
            return Ok(NarrationOutcome::FailedBeforeOutput {
                error,
                latency_ms: elapsed_ms(Instant::now()),
            });
        }
    };

    let mut streaming = Streaming {
        planner: StreamPlanner::new(policy.clone()),
        shown: Shown {
            presenter,
            channel: target.channel,
            messages: Vec::new(),
            unsettled: BTreeMap::new(),
            lost: false,
        },
        row: Row {
            store,
            outage,
            template: target.template,
            model_id,
            stored: None,
            saved_len: 0,
            hold: None,
        },
        outage,
        ttft_ms: None,
        started,
    };
    let end = streaming.read(&mut stream).await?;
    let Streaming {
        planner,
        mut shown,
        row,
        ttft_ms,
        ..
    } = streaming;
    let text = planner.text().to_string();
    shown.apply(planner.finish(Instant::now())).await;
    shown.settle().await;
    let latency_ms = elapsed_ms(Instant::now());

    if ttft_ms.is_none() {
        let error = end.err().unwrap_or_else(|| {
            LlmError::new(
                crate::core::models::chat::ErrorKind::Malformed,
                "the model returned an empty answer",
            )
        });
        return Ok(NarrationOutcome::FailedBeforeOutput { error, latency_ms });
    }
    let status = match end {
        Ok(_) => MessageStatus::Complete,
        Err(_) => MessageStatus::Interrupted,
    };
    let narration = row.finish(text, status, shown.first()).await?;
    Ok(match end {
        Ok(completion) => NarrationOutcome::Done {
            narration,
            completion,
            last_message: shown.last(),
        },
        Err(error) => NarrationOutcome::Cut {
            narration,
            error,
            latency_ms,
            ttft_ms,
            last_message: shown.last(),
        },
    })
}

/// A narration on its way to the channel: the planner decides the sends and edits, `shown`
/// makes them, and `row` keeps the database ahead of the screen.
struct Streaming<'a> {
    planner: StreamPlanner,
    shown: Shown<'a>,
    row: Row<'a>,
    outage: &'a Outage,
    ttft_ms: Option<i64>,
    started: Instant,
}

impl Streaming<'_> {
    /// Reads the model's stream to its end: the completion, or the model's error when the
    /// stream broke off.
    async fn read(
        &mut self,
        stream: &mut ChatStream,
    ) -> Result<Result<Completion, LlmError>, EngineError> {
        loop {
            let next = match self.planner.next_deadline() {
                Some(deadline) => tokio::select! {
                    item = stream.next() => Some(item),
                    () = sleep_until(deadline.into()) => None,
                },
                None => Some(stream.next().await),
            };
            match next {
                None => self.edit_due().await?,
                Some(Some(Ok(StreamEvent::Delta(text)))) => self.delta(&text).await?,
                Some(Some(Ok(StreamEvent::Done(completion)))) => return Ok(Ok(completion)),
                Some(Some(Err(error))) => return Ok(Err(error)),
                Some(None) => {
                    return Ok(Err(LlmError::new(
                        crate::core::models::chat::ErrorKind::Interrupted,
                        "the stream ended early",
                    )));
                }
            }
        }
    }

    /// A throttled edit whose time has come.
    async fn edit_due(&mut self) -> Result<(), EngineError> {
        let ops = self.planner.poll(Instant::now());
        if !ops.is_empty() {
            self.row.save(self.planner.text()).await?;
            let done = self.shown.apply(ops).await;
            confirm(&mut self.planner, done);
        }
        Ok(())
    }

    async fn delta(&mut self, text: &str) -> Result<(), EngineError> {
        if self.ttft_ms.is_none() {
            self.ttft_ms = Some(Instant::now().duration_since(self.started).as_millis() as i64);
            self.outage.output_started();
        }
        let ops = self.planner.push(text, Instant::now());
        // The row is stored (as `streaming`) with the text the first send shows, before it
        // is shown: one write instead of an insert and an update.
        if !ops.is_empty() || self.row.stored.is_none() {
            self.row.save(self.planner.text()).await?;
        }
        if !ops.is_empty() {
            let done = self.shown.apply(ops).await;
            confirm(&mut self.planner, done);
        }
        Ok(())
    }
}

/// The narration's row, kept as current as the screen. A save that finds the database
/// unreachable is skipped (the next one carries newer text); the final write waits for it.
struct Row<'a> {
    store: &'a dyn Store,
    outage: &'a Outage,
    template: &'a NewMessage,
    model_id: &'a ModelId,
    stored: Option<StoredMessage>,
    saved_len: usize,
    /// Keeps later player messages from being stored before this narration's row exists.
    hold: Option<tokio::sync::MutexGuard<'a, ()>>,
}

impl Row<'_> {
    fn new_row(&self, content: &str, status: MessageStatus) -> NewMessage {
        NewMessage {
            model: Some(self.model_id.to_string()),
            content: content.to_string(),
            status,
            ..self.template.clone()
        }
    }

    /// Stores the text received so far before it is shown (every send or edit, throttled
    /// ones included), so a crash never loses anything the channel saw.
    async fn save(&mut self, text: &str) -> Result<(), EngineError> {
        if self.stored.is_some() && text.len() == self.saved_len {
            return Ok(());
        }
        if self.stored.is_none() && self.hold.is_none() {
            self.hold = Some(self.outage.story_order.lock().await);
        }
        // Each try would wait for the pool's acquire timeout: while the database is known to
        // be down, the narration keeps showing and only the final write waits for it.
        if self.outage.is_down() {
            return Ok(());
        }
        let written = match &self.stored {
            Some(row) => self
                .store
                .update_message(row.id, text, MessageStatus::Streaming)
                .await
                .map(|()| None),
            None => self
                .store
                .append_message(&self.new_row(text, MessageStatus::Streaming))
                .await
                .map(Some),
        };
        match written {
            Ok(inserted) => {
                if inserted.is_some() {
                    self.stored = inserted;
                    self.hold = None;
                }
                self.saved_len = text.len();
                self.outage.answered().await;
                Ok(())
            }
            Err(e) => match e.unreachable() {
                Some(reason) => {
                    self.outage.down(reason).await;
                    Ok(())
                }
                None => Err(e.into()),
            },
        }
    }

    /// The final text and status, written once the database answers.
    async fn finish(
        mut self,
        text: String,
        status: MessageStatus,
        first: Option<DiscordMessageId>,
    ) -> Result<StoredMessage, EngineError> {
        let (store, outage) = (self.store, self.outage);
        let mut narration = match self.stored.take() {
            Some(row) => {
                outage
                    .retry(|| store.finish_message(row.id, &text, status, first))
                    .await?;
                row
            }
            None => {
                let new = NewMessage {
                    discord_message_id: first,
                    author_name: None,
                    ..self.new_row(&text, status)
                };
                outage.retry(|| store.append_message(&new)).await?
            }
        };
        drop(self.hold.take());
        if first.is_some() {
            narration.discord_message_id = first;
        }
        narration.content = text;
        narration.status = status;
        Ok(narration)
    }
}

fn confirm(planner: &mut StreamPlanner, done: Vec<(usize, Instant)>) {
    for (index, at) in done {
        planner.confirmed(index, at);
    }
}

/// A call whose text is collected rather than shown (the summariser).
pub async fn collect(
    model: &dyn ChatModel,
    request: ChatRequest,
) -> (Result<(String, Completion), LlmError>, i64) {
    let started = Instant::now();
    let result = async {
        let mut stream = model.stream_chat(request).await?;
        let mut text = String::new();
        while let Some(event) = stream.next().await {
            match event? {
                StreamEvent::Delta(delta) => text.push_str(&delta),
                StreamEvent::Done(completion) => return Ok((text, completion)),
            }
        }
        Err(LlmError::new(
            crate::core::models::chat::ErrorKind::Interrupted,
            "the stream ended early",
        ))
    }
    .await;
    (result, started.elapsed().as_millis() as i64)
}
