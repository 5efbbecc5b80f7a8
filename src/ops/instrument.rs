//! Every model call counted where it happens: a `ModelSource` that wraps each model it hands
//! out, so the engine, the summariser and any later caller are measured alike.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use futures::StreamExt;

use super::metrics::Metrics;
use crate::core::engine::ModelSource;
use crate::core::models::chat::{
    ChatModel, ChatRequest, ChatStream, LlmError, ModelId, StreamEvent, Usage,
};

pub struct InstrumentedModels {
    inner: Arc<dyn ModelSource>,
    metrics: Arc<Metrics>,
}

impl InstrumentedModels {
    pub fn new(inner: Arc<dyn ModelSource>, metrics: Arc<Metrics>) -> InstrumentedModels {
        InstrumentedModels { inner, metrics }
    }
}

impl ModelSource for InstrumentedModels {
    fn chat_model(&self, id: &ModelId) -> Result<Arc<dyn ChatModel>, LlmError> {
        let model = self.inner.chat_model(id)?;
        Ok(Arc::new(InstrumentedChat {
            model,
            id: id.clone(),
            source: Arc::clone(&self.inner),
            metrics: Arc::clone(&self.metrics),
        }))
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

struct InstrumentedChat {
    model: Arc<dyn ChatModel>,
    id: ModelId,
    source: Arc<dyn ModelSource>,
    metrics: Arc<Metrics>,
}

#[async_trait]
impl ChatModel for InstrumentedChat {
    async fn stream_chat(&self, request: ChatRequest) -> Result<ChatStream, LlmError> {
        let started = Instant::now();
        let stream = match self.model.stream_chat(request).await {
            Ok(stream) => stream,
            Err(error) => {
                self.metrics
                    .call_failed(&self.id, &error, started.elapsed());
                return Err(error);
            }
        };
        let id = self.id.clone();
        let source = Arc::clone(&self.source);
        let metrics = Arc::clone(&self.metrics);
        Ok(Box::pin(stream.inspect(move |item| match item {
            Ok(StreamEvent::Done(completion)) => {
                let cost = source.cost(&id, &completion.usage);
                metrics.call_succeeded(&id, completion, cost);
            }
            Err(error) => metrics.call_failed(&id, error, started.elapsed()),
            Ok(StreamEvent::Delta(_)) => {}
        })))
    }
}
