//! One model call streamed into the channel: the narration row is stored as `streaming`,
//! shown through the streaming policy, kept up to date in storage at the edit cadence, and
//! completed (or marked interrupted) at the end. Every call yields one performance record.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::time::sleep_until;

use super::{EngineError, Presenter};
use crate::core::ids::{ChannelId, DiscordMessageId};
use crate::core::llm::{ChatModel, ChatRequest, Completion, LlmError, ModelId, StreamEvent};
use crate::core::store::Store;
use crate::core::streaming::{Op, StreamPlanner, StreamPolicy};
use crate::core::transcript::{MessageStatus, NewMessage, StoredMessage};

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
                    false
                }
            },
            Some(id) => match self.presenter.edit(self.channel, id, text).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(channel = %self.channel, error = %e, "could not edit narration");
                    false
                }
            },
        }
    }

    /// Retries what Discord refused until every message shows its final text, a few times.
    async fn settle(&mut self) {
        for wait in SETTLE_BACKOFF {
            if self.unsettled.is_empty() {
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
        if !self.unsettled.is_empty() {
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

pub async fn narrate(
    store: &dyn Store,
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

    let mut planner = StreamPlanner::new(policy.clone());
    let mut shown = Shown {
        presenter,
        channel: target.channel,
        messages: Vec::new(),
        unsettled: BTreeMap::new(),
    };
    let mut narration: Option<StoredMessage> = None;
    let mut ttft_ms = None;
    let mut saved_len = 0;
    let end = loop {
        let next = match planner.next_deadline() {
            Some(deadline) => tokio::select! {
                item = stream.next() => Some(item),
                () = sleep_until(deadline.into()) => None,
            },
            None => Some(stream.next().await),
        };
        let item = match next {
            None => {
                let ops = planner.poll(Instant::now());
                if !ops.is_empty() {
                    if let Some(n) = &narration {
                        save_shown(store, n, &planner, &mut saved_len).await?;
                    }
                    let done = shown.apply(ops).await;
                    confirm(&mut planner, done);
                }
                continue;
            }
            Some(item) => item,
        };
        match item {
            Some(Ok(StreamEvent::Delta(text))) => {
                let first = narration.is_none();
                if first {
                    ttft_ms = Some(elapsed_ms(Instant::now()));
                }
                let ops = planner.push(&text, Instant::now());
                if first {
                    // The row is stored (as `streaming`) with the text the first send shows,
                    // before it is shown: one write instead of an insert and an update.
                    let row = NewMessage {
                        model: Some(model_id.to_string()),
                        content: planner.text().to_string(),
                        ..target.template.clone()
                    };
                    saved_len = planner.text().len();
                    narration = Some(store.append_message(&row).await?);
                }
                if !ops.is_empty() {
                    if let Some(n) = &narration {
                        save_shown(store, n, &planner, &mut saved_len).await?;
                    }
                    let done = shown.apply(ops).await;
                    confirm(&mut planner, done);
                }
            }
            Some(Ok(StreamEvent::Done(completion))) => break Ok(completion),
            Some(Err(error)) => break Err(error),
            None => {
                break Err(LlmError::new(
                    crate::core::llm::ErrorKind::Interrupted,
                    "the stream ended early",
                ));
            }
        }
    };
    let text = planner.text().to_string();
    shown.apply(planner.finish(Instant::now())).await;
    shown.settle().await;
    let latency_ms = elapsed_ms(Instant::now());

    match (end, narration) {
        (Ok(completion), Some(mut n)) => {
            store
                .finish_message(n.id, &text, MessageStatus::Complete, shown.first())
                .await?;
            if let Some(first) = shown.first() {
                n.discord_message_id = Some(first);
            }
            n.content = text;
            n.status = MessageStatus::Complete;
            Ok(NarrationOutcome::Done {
                narration: n,
                completion,
                last_message: shown.last(),
            })
        }
        (Ok(_), None) => Ok(NarrationOutcome::FailedBeforeOutput {
            error: LlmError::new(
                crate::core::llm::ErrorKind::Malformed,
                "the model returned an empty answer",
            ),
            latency_ms,
        }),
        (Err(error), None) => Ok(NarrationOutcome::FailedBeforeOutput { error, latency_ms }),
        (Err(error), Some(mut n)) => {
            store
                .finish_message(n.id, &text, MessageStatus::Interrupted, shown.first())
                .await?;
            n.content = text;
            n.status = MessageStatus::Interrupted;
            Ok(NarrationOutcome::Cut {
                narration: n,
                error,
                latency_ms,
                ttft_ms,
                last_message: shown.last(),
            })
        }
    }
}

/// Stores the text received so far before it is shown (every send or edit, throttled ones
/// included), so a crash never loses anything the channel saw.
async fn save_shown(
    store: &dyn Store,
    narration: &StoredMessage,
    planner: &StreamPlanner,
    saved_len: &mut usize,
) -> Result<(), EngineError> {
    if planner.text().len() != *saved_len {
        *saved_len = planner.text().len();
        store
            .update_message(narration.id, planner.text(), MessageStatus::Streaming)
            .await?;
    }
    Ok(())
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
            crate::core::llm::ErrorKind::Interrupted,
            "the stream ended early",
        ))
    }
    .await;
    (result, started.elapsed().as_millis() as i64)
}
