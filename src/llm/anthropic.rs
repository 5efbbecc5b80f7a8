//! Streaming client for Anthropic's Messages API.
//!
//! Usage: `message_start` carries input tokens; `message_delta` carries a running total of
//! output tokens (the last one wins) and, on some deployments, the input tokens that
//! `message_start` left out. Thinking deltas are not narration and are dropped.
//!
//! Tools: a `tool_use` block of the `change_state` tool (offered when the request asks) opens
//! with `content_block_start`; its `input_json_delta.partial_json` pieces are gathered by block
//! index and become state tags at the end, and `stop_reason: "tool_use"` is a normal end.
//! Input deltas of any other block are dropped.

use std::time::Instant;

use bytes::Bytes;
use eventsource_stream::Event;
use futures::Stream;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::core::models::chat::{
    ChatModel, ChatRequest, ChatStream, ErrorKind, FinishReason, LlmError, ModelId, Role,
};
use crate::llm::retry::RetryPolicy;
use crate::llm::state_tool::{self, ToolCalls};
use crate::llm::{
    Decoded, PromptText, ReportedUsage, SseDecoder, decode_stream, one_line, parse_json, scrub,
};
use crate::secret::Secret;

pub const ANTHROPIC_VERSION: &str = "2023-06-01";
const LABEL: &str = "anthropic";

pub struct AnthropicClient {
    http: reqwest::Client,
    model: String,
    base_url: String,
    api_key: Secret,
    policy: RetryPolicy,
}

impl AnthropicClient {
    /// `base_url` is the host root that `/v1/messages` is appended to,
    /// e.g. `https://api.anthropic.com`.
    pub fn new(
        http: reqwest::Client,
        model: &ModelId,
        base_url: impl Into<String>,
        api_key: Secret,
        policy: RetryPolicy,
    ) -> Self {
        AnthropicClient {
            http,
            model: model.name().to_string(),
            base_url: base_url.into().trim_end_matches('/').to_string(),
            api_key,
            policy,
        }
    }

    pub fn request_body(&self, request: &ChatRequest) -> Value {
        let messages: Vec<Value> = request
            .messages
            .iter()
            .map(|m| {
                let role = match m.role {
                    Role::User => "user",
                    Role::Assistant => "assistant",
                };
                json!({"role": role, "content": m.content})
            })
            .collect();
        let mut body = json!({
            "model": self.model,
            "max_tokens": request.max_tokens,
            "messages": messages,
            "stream": true,
        });
        if !request.system.is_empty() {
            body["system"] = json!(request.system);
        }
        if let Some(t) = request.temperature {
            // Anthropic accepts 0..=1; OpenAI-style values up to 2 are clamped.
            body["temperature"] = json!(t.clamp(0.0, 1.0));
        }
        if request.state_tool {
            body["tools"] = json!([{
                "name": state_tool::NAME,
                "description": state_tool::DESCRIPTION,
                "input_schema": state_tool::parameters(),
            }]);
            body["tool_choice"] = json!({"type": "auto"});
        }
        body
    }
}

#[async_trait::async_trait]
impl ChatModel for AnthropicClient {
    async fn stream_chat(&self, request: ChatRequest) -> Result<ChatStream, LlmError> {
        let started = Instant::now();
        let body = self.request_body(&request);
        let url = format!("{}/v1/messages", self.base_url);
        let response = self
            .policy
            .send(LABEL, Some(&self.api_key), || {
                self.http
                    .post(&url)
                    .header("x-api-key", sensitive(self.api_key.expose()))
                    .header("anthropic-version", ANTHROPIC_VERSION)
                    .header("accept", "text/event-stream")
                    .json(&body)
            })
            .await?;
        let response = self
            .policy
            .expect_event_stream(LABEL, Some(&self.api_key), response)
            .await?;
        let bytes = self.policy.body_stream(LABEL, response);
        Ok(decode_body(bytes, PromptText::of(&request), started))
    }
}

/// The parsing pipeline of this client, from response bytes to events.
pub fn decode_body<S>(body: S, prompt: PromptText, started: Instant) -> ChatStream
where
    S: Stream<Item = Result<Bytes, LlmError>> + Send + 'static,
{
    decode_stream(body, AnthropicDecoder::default(), prompt, started)
}

#[derive(Debug, Default)]
pub struct AnthropicDecoder {
    usage: ReportedUsage,
    stop_reason: Option<FinishReason>,
    stopped: bool,
    tools: ToolCalls,
    /// The whole input of tool blocks that opened with a non-empty one, by block index,
    /// used when no `input_json_delta` follows.
    opening_inputs: Vec<(u64, String)>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Payload {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockStart {
        #[serde(default)]
        index: u64,
        #[serde(default)]
        content_block: Value,
    },
    ContentBlockDelta {
        #[serde(default)]
        index: u64,
        delta: BlockDelta,
    },
    MessageDelta {
        #[serde(default)]
        delta: MessageDeltaBody,
        usage: Option<RawUsage>,
    },
    MessageStop,
    Error {
        error: Value,
    },
    #[serde(other)]
    Ignored,
}

#[derive(Deserialize)]
struct StartMessage {
    usage: Option<RawUsage>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta {
    TextDelta {
        text: String,
    },
    /// Read leniently: a `partial_json` of the wrong type is ignored, not a broken stream.
    InputJsonDelta {
        #[serde(default)]
        partial_json: Value,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize, Default)]
struct MessageDeltaBody {
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct RawUsage {
    input_tokens: Option<u32>,
    output_tokens: Option<u32>,
    cache_creation_input_tokens: Option<u32>,
    cache_read_input_tokens: Option<u32>,
}

impl RawUsage {
    /// Input tokens billed: cached prompt reads and writes count as input too.
    fn input(&self) -> Option<u32> {
        let base = self.input_tokens?;
        Some(
            base.saturating_add(self.cache_creation_input_tokens.unwrap_or(0))
                .saturating_add(self.cache_read_input_tokens.unwrap_or(0)),
        )
    }
}

impl SseDecoder for AnthropicDecoder {
    fn decode(&mut self, event: &Event) -> Result<Decoded, LlmError> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(Decoded::default());
        }
        match parse_json::<Payload>(LABEL, data)? {
            Payload::MessageStart { message } => {
                if let Some(u) = &message.usage {
                    self.usage.tokens_in = u.input().or(self.usage.tokens_in);
                    // The running output total starts here; message_delta updates it.
                    self.usage.tokens_out = u.output_tokens.or(self.usage.tokens_out);
                }
                Ok(Decoded::default())
            }
            Payload::ContentBlockStart {
                index,
                content_block,
            } => {
                self.block_start(index, &content_block);
                Ok(Decoded::default())
            }
            Payload::ContentBlockDelta {
                delta: BlockDelta::TextDelta { text },
                ..
            } => Ok(Decoded {
                text: Some(text),
                end: false,
            }),
            Payload::ContentBlockDelta {
                index,
                delta: BlockDelta::InputJsonDelta { partial_json },
            } => {
                if let Some(piece) = partial_json.as_str()
                    && self.tools.has(index)
                {
                    self.opening_inputs.retain(|(i, _)| *i != index);
                    self.tools.arguments(index, piece);
                }
                Ok(Decoded::default())
            }
            Payload::ContentBlockDelta {
                delta: BlockDelta::Other,
                ..
            } => Ok(Decoded::default()),
            Payload::MessageDelta { delta, usage } => {
                if let Some(u) = usage {
                    if let Some(input) = u.input() {
                        self.usage.tokens_in = Some(input);
                    }
                    if let Some(out) = u.output_tokens {
                        self.usage.tokens_out = Some(out);
                    }
                }
                if let Some(reason) = delta.stop_reason {
                    self.stop_reason = Some(map_stop_reason(&reason));
                }
                Ok(Decoded::default())
            }
            Payload::MessageStop => {
                self.stopped = true;
                Ok(Decoded {
                    text: None,
                    end: true,
                })
            }
            Payload::Error { error } => Err(stream_error(&error)),
            Payload::Ignored => Ok(Decoded::default()),
        }
    }

    fn finish(&mut self) -> Result<(FinishReason, ReportedUsage), LlmError> {
        match self.stop_reason.take() {
            Some(reason) => Ok((reason, self.usage)),
            None if self.stopped => Ok((FinishReason::Other("unspecified".into()), self.usage)),
            None => Err(LlmError::new(
                ErrorKind::Interrupted,
                "anthropic stream ended before the model finished",
            )),
        }
    }

    fn state_changes(&mut self) -> Vec<String> {
        for (index, input) in std::mem::take(&mut self.opening_inputs) {
            self.tools.arguments(index, &input);
        }
        self.tools.take_changes(LABEL)
    }
}

impl AnthropicDecoder {
    /// `content_block_start` of a `tool_use` block:
    /// `{"type": "tool_use", "id": "toolu_...", "name": "change_state", "input": {}}`.
    fn block_start(&mut self, index: u64, block: &Value) {
        if block.get("type").and_then(Value::as_str) != Some("tool_use") {
            return;
        }
        let name = block.get("name").and_then(Value::as_str).unwrap_or("");
        self.tools.name(index, name);
        if let Some(input) = block
            .get("input")
            .filter(|i| i.as_object().is_some_and(|o| !o.is_empty()))
        {
            self.opening_inputs.push((index, input.to_string()));
        }
    }
}

fn map_stop_reason(reason: &str) -> FinishReason {
    match reason {
        // The model called the tool: its changes become tags, and the answer is complete.
        "end_turn" | "stop_sequence" | "tool_use" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "refusal" => FinishReason::Refusal,
        other => FinishReason::Other(other.to_string()),
    }
}

/// `event: error` in the middle of a stream, e.g. `{"type": "overloaded_error", ...}`.
fn stream_error(error: &Value) -> LlmError {
    let kind_name = error.get("type").and_then(Value::as_str).unwrap_or("");
    let kind = match kind_name {
        "overloaded_error" => ErrorKind::Overloaded,
        "rate_limit_error" => ErrorKind::RateLimited,
        "authentication_error" | "permission_error" => ErrorKind::Auth,
        "not_found_error" => ErrorKind::NotFound,
        "invalid_request_error" | "request_too_large" => ErrorKind::BadRequest,
        "billing_error" => ErrorKind::SpendLimit,
        "timeout_error" => ErrorKind::Timeout,
        _ => ErrorKind::Server,
    };
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or(kind_name);
    LlmError::new(
        kind,
        format!(
            "anthropic stream failed: {}",
            one_line(&scrub(message, None))
        ),
    )
}

/// The API key as a header value marked sensitive, so reqwest and hyper never print it (in
/// `Debug` output, or HTTP/2 header compression tables). A key that is not a valid header
/// value is sent empty, and the provider answers 401.
fn sensitive(key: &str) -> reqwest::header::HeaderValue {
    let mut value = reqwest::header::HeaderValue::from_str(key)
        .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static(""));
    value.set_sensitive(true);
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_key_header_is_sensitive_and_never_printed() {
        let value = sensitive("sk-ant-very-secret");
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("very-secret"));
        assert_eq!(value.to_str().unwrap(), "sk-ant-very-secret");
    }
}
