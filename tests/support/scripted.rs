//! A scripted model and a recording chat surface, for engine tests without any network.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;
use gamemaster::core::engine::{ModelSource, Notice, PresentError, Presenter};
use gamemaster::core::ids::{ChannelId, DiscordMessageId, MessageId};
use gamemaster::core::models::chat::{
    ChatModel, ChatRequest, ChatStream, Completion, ErrorKind, FinishReason, LlmError, ModelId,
    StreamEvent, Usage,
};
use tokio::sync::Notify;

#[derive(Debug, Clone)]
pub enum Reply {
    Text(String),
    /// Fails before writing anything.
    FailBefore(ErrorKind),
    /// Writes `text`, then fails.
    FailAfter(String, ErrorKind),
    /// Panics when called (a bug somewhere under the narration).
    Panic,
}

/// Plays back replies in order (then repeats the default), streaming each in small pieces.
pub struct ScriptedModel {
    replies: Mutex<VecDeque<Reply>>,
    default: Reply,
    pub requests: Mutex<Vec<ChatRequest>>,
    pub delta_delay: Duration,
    pub chunk_chars: usize,
}

impl ScriptedModel {
    pub fn new(default: &str) -> Arc<Self> {
        Self::with(default, Duration::ZERO)
    }

    pub fn with(default: &str, delta_delay: Duration) -> Arc<Self> {
        Arc::new(ScriptedModel {
            replies: Mutex::new(VecDeque::new()),
            default: Reply::Text(default.to_string()),
            requests: Mutex::new(Vec::new()),
            delta_delay,
            chunk_chars: 8,
        })
    }

    pub fn push(&self, reply: Reply) {
        self.replies.lock().unwrap().push_back(reply);
    }

    pub fn calls(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    pub fn request(&self, index: usize) -> ChatRequest {
        self.requests.lock().unwrap()[index].clone()
    }
}

fn chunks(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(size.max(1))
        .map(|c| c.iter().collect())
        .collect()
}

#[async_trait]
impl ChatModel for ScriptedModel {
    async fn stream_chat(&self, request: ChatRequest) -> Result<ChatStream, LlmError> {
        let started = Instant::now();
        let prompt_chars: usize = request.system.len()
            + request
                .messages
                .iter()
                .map(|m| m.content.len())
                .sum::<usize>();
        self.requests.lock().unwrap().push(request);
        let reply = self
            .replies
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| self.default.clone());
        let (text, failure) = match reply {
            Reply::FailBefore(kind) => {
                return Err(LlmError::new(kind, format!("scripted {}", kind.as_str())));
            }
            Reply::Text(text) => (text, None),
            Reply::FailAfter(text, kind) => (text, Some(kind)),
            Reply::Panic => panic!("scripted panic"),
        };
        let delay = self.delta_delay;
        let tokens_out = (text.len() / 4) as u32;
        let mut events: Vec<Result<StreamEvent, LlmError>> = chunks(&text, self.chunk_chars)
            .into_iter()
            .map(|c| Ok(StreamEvent::Delta(c)))
            .collect();
        events.push(match failure {
            Some(kind) => Err(LlmError::new(
                kind,
                format!("scripted {} mid-stream", kind.as_str()),
            )),
            None => Ok(StreamEvent::Done(Completion {
                reported_cost_usd: None,
                usage: Usage {
                    tokens_in: (prompt_chars / 4) as u32,
                    tokens_out,
                    estimated: false,
                },
                finish_reason: FinishReason::Stop,
                ttft: Some(Duration::from_millis(1)),
                latency: started.elapsed(),
            })),
        });
        let stream = futures::stream::iter(events).then(move |event| async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            event
        });
        Ok(Box::pin(stream))
    }
}

/// Maps model ids to scripted models, with a context window and a price per call.
#[derive(Default)]
pub struct ScriptedModels {
    pub models: Mutex<HashMap<ModelId, Arc<ScriptedModel>>>,
    pub windows: Mutex<HashMap<ModelId, u32>>,
    /// Models whose price is unknown.
    pub unpriced: Mutex<Vec<ModelId>>,
}

impl ScriptedModels {
    pub fn add(&self, id: &str, model: Arc<ScriptedModel>) -> ModelId {
        let id = ModelId::parse(id).unwrap();
        self.models.lock().unwrap().insert(id.clone(), model);
        id
    }

    pub fn set_window(&self, id: &ModelId, window: u32) {
        self.windows.lock().unwrap().insert(id.clone(), window);
    }
}

impl ModelSource for ScriptedModels {
    fn chat_model(&self, id: &ModelId) -> Result<Arc<dyn ChatModel>, LlmError> {
        self.models
            .lock()
            .unwrap()
            .get(id)
            .cloned()
            .map(|m| m as Arc<dyn ChatModel>)
            .ok_or_else(|| LlmError::new(ErrorKind::UnknownModel, format!("unknown model {id}")))
    }

    fn context_window(&self, id: &ModelId) -> u32 {
        self.windows
            .lock()
            .unwrap()
            .get(id)
            .copied()
            .unwrap_or(128_000)
    }

    fn cost(&self, id: &ModelId, usage: &Usage) -> Option<f64> {
        if self.unpriced.lock().unwrap().contains(id) {
            return None;
        }
        Some(f64::from(usage.tokens_in + usage.tokens_out) * 1e-6)
    }

    /// Engine tests play one narrator per turn; the arena is tested through the bot.
    fn arena_models(&self) -> Vec<ModelId> {
        Vec::new()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Shown {
    Typing(ChannelId),
    Send {
        channel: ChannelId,
        id: DiscordMessageId,
        text: String,
    },
    Edit {
        channel: ChannelId,
        id: DiscordMessageId,
        text: String,
    },
    Finished {
        channel: ChannelId,
        last: DiscordMessageId,
        narration: MessageId,
        model: ModelId,
    },
    Notice(ChannelId, Notice),
}

/// Records everything shown, with the time it was shown; tests wait on it without sleeping.
#[derive(Default)]
pub struct RecordingPresenter {
    pub events: Mutex<Vec<(Instant, Shown)>>,
    next_id: AtomicU64,
    changed: Notify,
}

impl RecordingPresenter {
    pub fn new() -> Arc<Self> {
        Arc::new(RecordingPresenter {
            next_id: AtomicU64::new(1),
            ..Default::default()
        })
    }

    fn push(&self, shown: Shown) {
        self.events.lock().unwrap().push((Instant::now(), shown));
        self.changed.notify_waiters();
    }

    pub fn shown(&self) -> Vec<Shown> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|(_, s)| s.clone())
            .collect()
    }

    pub fn count(&self, pred: impl Fn(&Shown) -> bool) -> usize {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, s)| pred(s))
            .count()
    }

    /// Waits until `pred` holds for at least `n` events (10 s at most).
    pub async fn wait_for(&self, n: usize, pred: impl Fn(&Shown) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.changed.notified();
            if self.count(&pred) >= n {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("timed out waiting for {n} events; saw {:?}", self.shown());
            }
        }
    }

    /// The final text of every Discord message shown in a channel, in order.
    pub fn final_texts(&self, channel: ChannelId) -> Vec<String> {
        let mut order = Vec::new();
        let mut texts: HashMap<DiscordMessageId, String> = HashMap::new();
        for shown in self.shown() {
            match shown {
                Shown::Send {
                    channel: c,
                    id,
                    text,
                } if c == channel => {
                    order.push(id);
                    texts.insert(id, text);
                }
                Shown::Edit {
                    channel: c,
                    id,
                    text,
                } if c == channel => {
                    texts.insert(id, text);
                }
                _ => {}
            }
        }
        order.into_iter().map(|id| texts[&id].clone()).collect()
    }
}

#[async_trait]
impl Presenter for RecordingPresenter {
    async fn typing(&self, channel: ChannelId) {
        self.push(Shown::Typing(channel));
    }

    async fn send(&self, channel: ChannelId, text: &str) -> Result<DiscordMessageId, PresentError> {
        let id = DiscordMessageId(self.next_id.fetch_add(1, Ordering::SeqCst));
        self.push(Shown::Send {
            channel,
            id,
            text: text.to_string(),
        });
        Ok(id)
    }

    async fn edit(
        &self,
        channel: ChannelId,
        id: DiscordMessageId,
        text: &str,
    ) -> Result<(), PresentError> {
        self.push(Shown::Edit {
            channel,
            id,
            text: text.to_string(),
        });
        Ok(())
    }

    async fn narration_finished(
        &self,
        channel: ChannelId,
        last: DiscordMessageId,
        narration: MessageId,
        model: &ModelId,
    ) -> Result<(), PresentError> {
        self.push(Shown::Finished {
            channel,
            last,
            narration,
            model: model.clone(),
        });
        Ok(())
    }

    async fn notice(&self, channel: ChannelId, notice: &Notice) -> Result<(), PresentError> {
        self.push(Shown::Notice(channel, notice.clone()));
        Ok(())
    }
}
