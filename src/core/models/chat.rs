//! The model layer as the core sees it: a streaming chat call and an image call.
//! Adapters in `crate::llm` implement these traits over HTTP; tests script them.

use std::fmt;
use std::pin::Pin;
use std::time::Duration;

use futures::Stream;

/// Which API family a model id talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    OpenAi,
    Anthropic,
    DeepSeek,
    OpenRouter,
    Local,
}

impl Provider {
    pub const ALL: [Provider; 5] = [
        Provider::OpenAi,
        Provider::Anthropic,
        Provider::DeepSeek,
        Provider::OpenRouter,
        Provider::Local,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
            Provider::DeepSeek => "deepseek",
            Provider::OpenRouter => "openrouter",
            Provider::Local => "local",
        }
    }
}

/// A model id `provider:model`, e.g. `openai:gpt-4o` or `openrouter:meta-llama/llama-3-70b`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelId {
    provider: Provider,
    name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelIdError {
    #[error("model id `{0}` must look like `provider:model`, e.g. `openai:gpt-4o`")]
    MissingProvider(String),
    #[error("unknown provider `{0}`: use openai, anthropic, deepseek, openrouter or local")]
    UnknownProvider(String),
    #[error("model id `{0}` has an empty or invalid model name")]
    BadName(String),
}

impl ModelId {
    pub fn parse(raw: &str) -> Result<Self, ModelIdError> {
        let raw = raw.trim();
        let (prefix, name) = raw
            .split_once(':')
            .ok_or_else(|| ModelIdError::MissingProvider(raw.to_string()))?;
        let provider = Provider::ALL
            .into_iter()
            .find(|p| p.prefix().eq_ignore_ascii_case(prefix))
            .ok_or_else(|| ModelIdError::UnknownProvider(prefix.to_string()))?;
        let valid = !name.is_empty()
            && name.len() <= 200
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./:@+".contains(c));
        if !valid {
            return Err(ModelIdError::BadName(raw.to_string()));
        }
        Ok(ModelId {
            provider,
            name: name.to_string(),
        })
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The name the provider's API knows the model by.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.provider.prefix(), self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

/// One chat call. `system` is sent as the provider expects it (a system message for
/// OpenAI-compatible APIs, the top-level `system` field for Anthropic).
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub system: String,
    pub messages: Vec<ChatMessage>,
    pub max_tokens: u32,
    pub temperature: Option<f32>,
    /// Offer the `change_state` tool (narrations with `STATE_TOOLS` on); the clients turn its
    /// calls into state tags at the end of the text.
    pub state_tool: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    Stop,
    Length,
    ContentFilter,
    Refusal,
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub tokens_in: u32,
    pub tokens_out: u32,
    /// True when the provider sent no usage and the counts were estimated locally.
    pub estimated: bool,
}

/// How a streamed call ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub usage: Usage,
    pub finish_reason: FinishReason,
    /// The call's cost in USD as the provider reported it (OpenRouter does), which the price
    /// table's estimate gives way to.
    pub reported_cost_usd: Option<f64>,
    /// Time from sending the request to the first text delta (None if no text came).
    pub ttft: Option<Duration>,
    /// Time from sending the request to the end of the stream.
    pub latency: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// A piece of narration text (never reasoning content).
    Delta(String),
    /// The last event of a successful stream.
    Done(Completion),
}

/// A stream of events; dropping it cancels the call.
pub type ChatStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, LlmError>> + Send>>;

/// A short machine-readable classification, stored in `performance_logs.error_kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Timeout,
    RateLimited,
    Overloaded,
    Server,
    Auth,
    BadRequest,
    NotFound,
    SpendLimit,
    Connection,
    Malformed,
    Interrupted,
    Refused,
    UnknownModel,
    Disabled,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::Server => "server",
            ErrorKind::Auth => "auth",
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::NotFound => "not_found",
            ErrorKind::SpendLimit => "spend_limit",
            ErrorKind::Connection => "connection",
            ErrorKind::Malformed => "malformed",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::Refused => "refused",
            ErrorKind::UnknownModel => "unknown_model",
            ErrorKind::Disabled => "disabled",
        }
    }
}

/// A failed model call. Messages are safe to show to users: they never contain keys.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct LlmError {
    pub kind: ErrorKind,
    pub message: String,
    /// HTTP status when the provider answered with one.
    pub status: Option<u16>,
}

impl LlmError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        LlmError {
            kind,
            message: message.into(),
            status: None,
        }
    }
}

#[async_trait::async_trait]
pub trait ChatModel: Send + Sync {
    /// Starts a streamed chat call. Errors before any output come back here or as the
    /// first stream item; errors after output has started end the stream.
    async fn stream_chat(&self, request: ChatRequest) -> Result<ChatStream, LlmError>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRequest {
    pub prompt: String,
    /// e.g. "1024x1024"
    pub size: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedImage {
    pub bytes: Vec<u8>,
    pub mime: String,
}

#[async_trait::async_trait]
pub trait ImageModel: Send + Sync {
    async fn generate(&self, request: ImageRequest) -> Result<GeneratedImage, LlmError>;
}
