//! Every model call reported where it happens: a `ModelSource` whose models tell an observer
//! how each call ended, so the engine, the summariser, `compare` and any later caller are
//! measured alike (the bot's metrics and `compare`'s rows are two observers).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;

use super::ModelSource;
use crate::core::models::chat::{
    ChatModel, ChatRequest, ChatStream, Completion, ErrorKind, LlmError, ModelId, StreamEvent,
    Usage,
};

/// How a call ended.
pub enum CallEnd<'a> {
    /// The stream finished; `cost` as the source prices the usage.
    Done {
        completion: &'a Completion,
        cost: Option<f64>,
    },
    /// The call failed, or its stream broke off or was dropped, `after` it started.
    Failed {
        error: &'a LlmError,
        after: Duration,
    },
}

/// One finished call, as its stream was seen.
pub struct CallReport<'a> {
    pub model: &'a ModelId,
    pub end: CallEnd<'a>,
    /// Time to the first text, as seen by the caller.
    pub first_text: Option<Duration>,
    /// Characters of text received.
    pub output_chars: usize,
}

pub trait CallObserver: Send + Sync {
    fn call_ended(&self, call: &CallReport<'_>);

    /// The source had no such model (unknown, or its provider is not configured).
    fn model_unavailable(&self, _model: &ModelId, _error: &LlmError) {}
}

pub struct ObservedModels {
    inner: Arc<dyn ModelSource>,
    observer: Arc<dyn CallObserver>,
}

impl ObservedModels {
    pub fn new(inner: Arc<dyn ModelSource>, observer: Arc<dyn CallObserver>) -> ObservedModels {
        ObservedModels { inner, observer }
    }
}

impl ModelSource for ObservedModels {
    fn chat_model(&self, id: &ModelId) -> Result<Arc<dyn ChatModel>, LlmError> {
        match self.inner.chat_model(id) {
            Ok(model) => Ok(Arc::new(ObservedChat {
                model,
                id: id.clone(),
                source: Arc::clone(&self.inner),
                observer: Arc::clone(&self.observer),
            })),
            Err(error) => {
                self.observer.model_unavailable(id, &error);
                Err(error)
            }
        }
    }

    fn context_window(&self, id: &ModelId) -> u32 {
        self.inner.context_window(id)
    }

    fn cost(&self, id: &ModelId, usage: &Usage) -> Option<f64> {
        self.inner.cost(id, usage)
    }

    fn arena_models(&self) -> Vec<ModelId> {
        self.inner.arena_models()
    }
}

struct ObservedChat {
    model: Arc<dyn ChatModel>,
    id: ModelId,
    source: Arc<dyn ModelSource>,
    observer: Arc<dyn CallObserver>,
}

#[async_trait]
impl ChatModel for ObservedChat {
    async fn stream_chat(&self, request: ChatRequest) -> Result<ChatStream, LlmError> {
        let mut probe = Probe {
            id: self.id.clone(),
            source: Arc::clone(&self.source),
            observer: Arc::clone(&self.observer),
            started: Instant::now(),
            first_text: None,
            chars: 0,
            reported: false,
        };
        match self.model.stream_chat(request).await {
            Ok(stream) => Ok(Box::pin(stream.map(move |item| {
                probe.observe(&item);
                item
            }))),
            Err(error) => {
                probe.fail(&error);
                Err(error)
            }
        }
    }
}

/// Watches one stream; reports the call when it ends, or when it is dropped before its end.
struct Probe {
    id: ModelId,
    source: Arc<dyn ModelSource>,
    observer: Arc<dyn CallObserver>,
    started: Instant,
    first_text: Option<Duration>,
    chars: usize,
    reported: bool,
}

impl Probe {
    fn observe(&mut self, item: &Result<StreamEvent, LlmError>) {
        if self.reported {
            return;
        }
        match item {
            Ok(StreamEvent::Delta(text)) => {
                self.first_text
                    .get_or_insert_with(|| self.started.elapsed());
                self.chars += text.chars().count();
            }
            Ok(StreamEvent::Done(completion)) => {
                let cost = self.source.cost(&self.id, &completion.usage);
                self.report(CallEnd::Done { completion, cost });
            }
            Err(error) => self.fail(error),
        }
    }

    fn fail(&mut self, error: &LlmError) {
        let after = self.started.elapsed();
        self.report(CallEnd::Failed { error, after });
    }

    fn report(&mut self, end: CallEnd<'_>) {
        self.reported = true;
        self.observer.call_ended(&CallReport {
            model: &self.id,
            end,
            first_text: self.first_text,
            output_chars: self.chars,
        });
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if !self.reported {
            let error = LlmError::new(
                ErrorKind::Interrupted,
                "the stream was dropped before it ended",
            );
            self.fail(&error);
        }
    }
}
