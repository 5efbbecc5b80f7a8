//! What a compare run observes: every model call as it streams, a chat surface that shows
//! nothing, and the temporary directory of the runs' databases.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;

use crate::core::engine::observed::{CallEnd, CallObserver, CallReport};
use crate::core::engine::{Notice, PresentError, Presenter};
use crate::core::ids::{ChannelId, DiscordMessageId, MessageId};
use crate::core::models::chat::{ErrorKind, LlmError, ModelId, Usage};

/// One measured model call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallOutcome {
    pub latency_ms: i64,
    pub ttft_ms: Option<i64>,
    pub usage: Option<Usage>,
    pub output_chars: usize,
    pub error: Option<LlmError>,
}

/// The calls of one model's run, in order, as `compare` counts them.
#[derive(Default)]
pub(super) struct Calls(pub(super) Mutex<Vec<CallOutcome>>);

impl CallObserver for Calls {
    fn call_ended(&self, call: &CallReport<'_>) {
        let ms = |d: Duration| d.as_millis() as i64;
        let outcome = match call.end {
            CallEnd::Done { completion, .. } => CallOutcome {
                latency_ms: ms(completion.latency),
                ttft_ms: completion.ttft.or(call.first_text).map(ms),
                usage: Some(completion.usage),
                output_chars: call.output_chars,
                // An answer without text is a failed narration for the engine too.
                error: (call.output_chars == 0).then(|| {
                    LlmError::new(ErrorKind::Malformed, "the model returned an empty answer")
                }),
            },
            CallEnd::Failed { error, after } => CallOutcome {
                latency_ms: ms(after),
                ttft_ms: call.first_text.map(ms),
                usage: None,
                output_chars: call.output_chars,
                error: Some(error.clone()),
            },
        };
        self.0.lock().unwrap().push(outcome);
    }

    fn model_unavailable(&self, _model: &ModelId, error: &LlmError) {
        self.0.lock().unwrap().push(CallOutcome {
            latency_ms: 0,
            ttft_ms: None,
            usage: None,
            output_chars: 0,
            error: Some(error.clone()),
        });
    }
}

/// A chat surface that shows nothing: compare reads the calls, not the screen.
#[derive(Default)]
pub(super) struct Silent {
    next: Mutex<u64>,
}

#[async_trait]
impl Presenter for Silent {
    async fn typing(&self, _channel: ChannelId) {}

    async fn send(&self, _: ChannelId, _: &str) -> Result<DiscordMessageId, PresentError> {
        let mut next = self.next.lock().unwrap();
        *next += 1;
        Ok(DiscordMessageId(*next))
    }

    async fn edit(&self, _: ChannelId, _: DiscordMessageId, _: &str) -> Result<(), PresentError> {
        Ok(())
    }

    async fn narration_finished(
        &self,
        _: ChannelId,
        _: DiscordMessageId,
        _: MessageId,
        _: &ModelId,
    ) -> Result<(), PresentError> {
        Ok(())
    }

    async fn notice(&self, _: ChannelId, _: &Notice) -> Result<(), PresentError> {
        Ok(())
    }
}

/// Where a run's temporary databases live; removed when dropped.
pub(super) struct TempDir(pub(super) PathBuf);

impl TempDir {
    pub(super) fn new() -> anyhow::Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let dir =
            std::env::temp_dir().join(format!("gamemaster-compare-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating the temporary directory {}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
