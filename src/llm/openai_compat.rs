//! One streaming client for every OpenAI-compatible chat API: OpenAI, DeepSeek, OpenRouter
//! and local servers (Ollama, llama.cpp, vLLM, LM Studio).
//!
//! Stream handling choices:
//! - `reasoning_content` (DeepSeek reasoner, some local servers) is never parsed, so it can
//!   neither reach the narration nor be sent back in a later request.
//! - `refusal` deltas (OpenAI) are passed on as text, so players see why nothing happened,
//!   and the call finishes with [`FinishReason::Refusal`].
//! - SSE comment lines (OpenRouter's `: OPENROUTER PROCESSING`) are dropped by the SSE layer.
//! - A mid-stream `{"error": {...}}` event (OpenRouter) ends the stream with an error.
//! - A stream that ends with neither `[DONE]` nor a `finish_reason` was cut: `Interrupted`.
//! - `tool_calls` deltas of the `change_state` tool (offered when the request asks) are
//!   gathered by index and become state tags at the end; `finish_reason: "tool_calls"` is a
//!   normal end. Tool-call fields of the wrong type are ignored rather than failing the chunk.

use std::time::Instant;

use bytes::Bytes;
use eventsource_stream::Event;
use futures::Stream;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::core::models::chat::{
    ChatModel, ChatRequest, ChatStream, ErrorKind, FinishReason, LlmError, ModelId, Provider, Role,
};
use crate::llm::retry::{ProviderErrorBody, RetryPolicy};
use crate::llm::state_tool::{self, ToolCalls};
use crate::llm::{
    Decoded, PromptText, ReportedUsage, SseDecoder, decode_stream, one_line, parse_json, scrub,
};
use crate::secret::Secret;

pub struct OpenAiCompatClient {
    http: reqwest::Client,
    provider: Provider,
    model: String,
    base_url: String,
    api_key: Option<Secret>,
    policy: RetryPolicy,
    extra_headers: Vec<(String, String)>,
}

impl OpenAiCompatClient {
    /// `base_url` is the API root that `/chat/completions` is appended to,
    /// e.g. `https://api.openai.com/v1` or `http://localhost:8089/v1`.
    pub fn new(
        http: reqwest::Client,
        model: &ModelId,
        base_url: impl Into<String>,
        api_key: Option<Secret>,
        policy: RetryPolicy,
    ) -> Self {
        OpenAiCompatClient {
            http,
            provider: model.provider(),
            model: model.name().to_string(),
            base_url: base_url.into().trim_end_matches('/').to_string(),
            api_key,
            policy,
            extra_headers: Vec::new(),
        }
    }

    /// Adds a header sent with every request (OpenRouter's optional `HTTP-Referer`, `X-Title`).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_headers.push((name.into(), value.into()));
        self
    }

    /// The JSON body sent for `request`.
    pub fn request_body(&self, request: &ChatRequest) -> Value {
        let mut messages = Vec::with_capacity(request.messages.len() + 1);
        if !request.system.is_empty() {
            messages.push(json!({"role": "system", "content": request.system}));
        }
        for m in &request.messages {
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            messages.push(json!({"role": role, "content": m.content}));
        }
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        if self.provider == Provider::OpenRouter {
            // Usage accounting: the last chunk's usage then carries the call's cost.
            body["usage"] = json!({"include": true});
        }
        // OpenAI deprecated `max_tokens` for chat and its reasoning models reject it.
        let max_key = if self.provider == Provider::OpenAi {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        body[max_key] = json!(request.max_tokens);
        if let Some(t) = request.temperature
            && !self.rejects_temperature()
        {
            body["temperature"] = json!(t);
        }
        if request.state_tool {
            body["tools"] = json!([{
                "type": "function",
                "function": {
                    "name": state_tool::NAME,
                    "description": state_tool::DESCRIPTION,
                    "parameters": state_tool::parameters(),
                },
            }]);
            body["tool_choice"] = json!("auto");
        }
        body
    }

    /// OpenAI's reasoning models only accept their default temperature.
    fn rejects_temperature(&self) -> bool {
        self.provider == Provider::OpenAi
            && ["gpt-5", "o1", "o3", "o4"]
                .iter()
                .any(|p| self.model.starts_with(p))
    }

    fn label(&self) -> &'static str {
        self.provider.prefix()
    }
}

#[async_trait::async_trait]
impl ChatModel for OpenAiCompatClient {
    async fn stream_chat(&self, request: ChatRequest) -> Result<ChatStream, LlmError> {
        let started = Instant::now();
        let body = self.request_body(&request);
        let url = format!("{}/chat/completions", self.base_url);
        let response = self
            .policy
            .send(self.label(), self.api_key.as_ref(), || {
                let mut rb = self.http.post(&url).json(&body);
                if let Some(key) = &self.api_key {
                    rb = rb.bearer_auth(key.expose());
                }
                for (name, value) in &self.extra_headers {
                    rb = rb.header(name, value);
                }
                rb.header("accept", "text/event-stream")
            })
            .await?;
        let response = self
            .policy
            .expect_event_stream(self.label(), self.api_key.as_ref(), response)
            .await?;
        let bytes = self.policy.body_stream(self.label(), response);
        Ok(decode_body(
            self.provider,
            bytes,
            PromptText::of(&request),
            started,
        ))
    }
}

/// The parsing pipeline of this client, from response bytes to events.
pub fn decode_body<S>(
    provider: Provider,
    body: S,
    prompt: PromptText,
    started: Instant,
) -> ChatStream
where
    S: Stream<Item = Result<Bytes, LlmError>> + Send + 'static,
{
    decode_stream(body, OpenAiDecoder::new(provider), prompt, started)
}

#[derive(Debug)]
pub struct OpenAiDecoder {
    provider: Provider,
    finish_reason: Option<FinishReason>,
    usage: ReportedUsage,
    refused: bool,
    done: bool,
    tools: ToolCalls,
}

impl OpenAiDecoder {
    pub fn new(provider: Provider) -> Self {
        OpenAiDecoder {
            provider,
            finish_reason: None,
            usage: ReportedUsage::default(),
            refused: false,
            done: false,
            tools: ToolCalls::default(),
        }
    }
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<RawUsage>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    delta: Option<Delta>,
    finish_reason: Option<String>,
}

/// Only the fields that may reach the narration; `reasoning_content` is deliberately absent.
#[derive(Deserialize, Default)]
struct Delta {
    content: Option<String>,
    refusal: Option<String>,
    /// Read field by field (see [`OpenAiDecoder::tool_call_deltas`]).
    tool_calls: Option<Value>,
}

#[derive(Deserialize)]
struct RawUsage {
    prompt_tokens: Option<u32>,
    completion_tokens: Option<u32>,
    /// OpenRouter's charge for the call, in USD.
    cost: Option<f64>,
}

impl SseDecoder for OpenAiDecoder {
    fn decode(&mut self, event: &Event) -> Result<Decoded, LlmError> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(Decoded::default());
        }
        if data == "[DONE]" {
            self.done = true;
            return Ok(Decoded {
                text: None,
                end: true,
            });
        }
        let label = self.provider.prefix();
        let chunk: Chunk = parse_json(label, data)?;
        if let Some(error) = chunk.error {
            return Err(stream_error(label, &error));
        }
        if let Some(u) = chunk.usage {
            self.usage = ReportedUsage {
                tokens_in: u.prompt_tokens,
                tokens_out: u.completion_tokens,
                cost_usd: u.cost,
            };
        }
        let mut text: Option<String> = None;
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if let Some(delta) = choice.delta {
                if let Some(refusal) = delta.refusal.filter(|r| !r.is_empty()) {
                    self.refused = true;
                    text.get_or_insert_with(String::new).push_str(&refusal);
                }
                if let Some(calls) = &delta.tool_calls {
                    self.tool_call_deltas(calls);
                }
                if let Some(content) = delta.content {
                    match &mut text {
                        Some(t) => t.push_str(&content),
                        None => text = Some(content),
                    }
                }
            }
            if let Some(reason) = choice.finish_reason {
                if reason == "error" {
                    return Err(LlmError::new(
                        ErrorKind::Server,
                        format!("{label} stopped the stream with an error"),
                    ));
                }
                self.finish_reason = Some(map_finish_reason(&reason));
            }
        }
        Ok(Decoded { text, end: false })
    }

    fn finish(&mut self) -> Result<(FinishReason, ReportedUsage), LlmError> {
        let reason = match self.finish_reason.take() {
            Some(FinishReason::Stop) if self.refused => FinishReason::Refusal,
            Some(reason) => reason,
            None if self.done => FinishReason::Other("unspecified".to_string()),
            None => {
                return Err(LlmError::new(
                    ErrorKind::Interrupted,
                    format!(
                        "{} stream ended before the model finished",
                        self.provider.prefix()
                    ),
                ));
            }
        };
        Ok((reason, self.usage))
    }

    fn state_changes(&mut self) -> Vec<String> {
        self.tools.take_changes(self.provider.prefix())
    }
}

impl OpenAiDecoder {
    /// `delta.tool_calls`: `[{"index": 0, "function": {"name": "...", "arguments": "{\"ch"}}]`,
    /// the name in the first piece of a call and its arguments spread over many chunks.
    fn tool_call_deltas(&mut self, calls: &Value) {
        let Some(calls) = calls.as_array() else {
            return;
        };
        for (position, call) in calls.iter().enumerate() {
            let index = call
                .get("index")
                .and_then(Value::as_u64)
                .unwrap_or(position as u64);
            let Some(function) = call.get("function") else {
                continue;
            };
            if let Some(name) = function.get("name").and_then(Value::as_str) {
                self.tools.name(index, name);
            }
            match function.get("arguments") {
                Some(Value::String(piece)) => self.tools.arguments(index, piece),
                // Some local servers send the arguments as an object, whole.
                Some(object @ Value::Object(_)) => {
                    self.tools.arguments(index, &object.to_string());
                }
                _ => {}
            }
        }
    }
}

fn map_finish_reason(reason: &str) -> FinishReason {
    match reason {
        // The model called the tool: its changes become tags, and the answer is complete.
        "stop" | "eos" | "end_turn" | "tool_calls" | "function_call" => FinishReason::Stop,
        "length" | "max_tokens" => FinishReason::Length,
        "content_filter" => FinishReason::ContentFilter,
        "refusal" => FinishReason::Refusal,
        other => FinishReason::Other(other.to_string()),
    }
}

/// A mid-stream error event, as OpenRouter sends when the upstream provider fails after the
/// response has started: `{"error": {"code": 502, "message": "..."}}`.
fn stream_error(label: &str, error: &Value) -> LlmError {
    let body = json!({ "error": error }).to_string();
    let detail = ProviderErrorBody::parse(&body);
    let code = detail.code.as_deref().unwrap_or("");
    let kind = match code {
        "429" | "rate_limit_exceeded" => ErrorKind::RateLimited,
        "402" | "insufficient_quota" => ErrorKind::SpendLimit,
        "503" | "529" | "overloaded" | "overloaded_error" => ErrorKind::Overloaded,
        "408" | "timeout" => ErrorKind::Timeout,
        "400" => ErrorKind::BadRequest,
        "401" | "403" => ErrorKind::Auth,
        _ => ErrorKind::Server,
    };
    let message = detail
        .message
        .unwrap_or_else(|| "unknown error".to_string());
    LlmError {
        kind,
        message: format!(
            "{label} stream failed: {}",
            one_line(&scrub(&message, None))
        ),
        status: code.parse().ok(),
    }
}
