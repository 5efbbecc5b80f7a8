//! HTTP clients for the model providers, behind the traits in `crate::core::models::chat`.
//!
//! Every streaming client runs the same pipeline: response body bytes -> bounded chunks ->
//! SSE events (`eventsource-stream`) -> a provider-specific [`SseDecoder`] -> [`StreamEvent`]s.
//! The pipeline is a plain function of a byte stream so that tests and benchmarks can feed it
//! from memory.

pub mod anthropic;
pub mod images;
pub mod openai_compat;
pub mod registry;
pub mod retry;
pub mod state_tool;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures::{Stream, StreamExt};

use crate::core::models::chat::{
    ChatRequest, ChatStream, Completion, ErrorKind, FinishReason, LlmError, StreamEvent, Usage,
};
use crate::secret::Secret;

pub use anthropic::AnthropicClient;
pub use images::OpenAiImageClient;
pub use openai_compat::OpenAiCompatClient;
pub use registry::{ModelInfo, ProviderKeys, ProviderSettings, Registry};
pub use retry::RetryPolicy;

/// What a decoder made of one SSE event.
#[derive(Debug, Default)]
pub struct Decoded {
    /// Narration text carried by the event, if any.
    pub text: Option<String>,
    /// The provider said the stream is over (`[DONE]`, `message_stop`).
    pub end: bool,
}

/// Turns one provider's SSE events into text, usage and a finish reason.
pub trait SseDecoder: Send + 'static {
    fn decode(&mut self, event: &Event) -> Result<Decoded, LlmError>;

    /// Called once the byte stream is over (after `end` or at EOF). Returns the finish
    /// reason and the usage the provider reported (either part may be missing), or
    /// `Interrupted` when the stream stopped before the provider finished.
    fn finish(&mut self) -> Result<(FinishReason, ReportedUsage), LlmError>;

    /// The state changes the model made with the `change_state` tool, taken once after a
    /// successful [`finish`](Self::finish); the pipeline emits them as tag text.
    fn state_changes(&mut self) -> Vec<String> {
        Vec::new()
    }
}

/// Token counts as reported by a provider; missing parts are estimated.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReportedUsage {
    pub tokens_in: Option<u32>,
    pub tokens_out: Option<u32>,
    /// What the call cost in USD, from providers that say (OpenRouter's `usage.cost`).
    pub cost_usd: Option<f64>,
}

/// The request text kept for estimating usage when a provider sends none.
#[derive(Debug, Clone, Default)]
pub struct PromptText {
    text: String,
    /// The answer's token limit asked of the model, when there was one.
    max_tokens: Option<u32>,
}

impl PromptText {
    pub fn of(request: &ChatRequest) -> Self {
        let mut text = request.system.clone();
        if request.state_tool {
            text.push('\n');
            text.push_str(&state_tool::prompt_text());
        }
        for m in &request.messages {
            text.push('\n');
            text.push_str(&m.content);
        }
        PromptText {
            text,
            max_tokens: Some(request.max_tokens),
        }
    }

    pub fn new(text: impl Into<String>) -> Self {
        PromptText {
            text: text.into(),
            max_tokens: None,
        }
    }

    /// Where a model that ignores `max_tokens` is cut off: at twice the limit (tokenizers
    /// differ, and a long answer that overruns a little is still worth showing), never
    /// below 64 tokens.
    fn answer_cap(&self) -> Option<u32> {
        self.max_tokens.map(|m| m.saturating_mul(2).max(64))
    }
}

/// Token count of `text` with the o200k tokenizer (bundled with `tiktoken-rs`, no network),
/// the same instance the context budget uses.
pub fn estimate_tokens(text: &str) -> u32 {
    crate::core::models::tokens::count_plain(text)
}

/// Largest piece handed to the SSE parser at once. `eventsource-stream` copies the rest of
/// its buffer after every line, so feeding it bounded pieces keeps parsing linear in the
/// body size even when a server (or a test) delivers the whole body in one chunk.
const MAX_PIECE: usize = 4096;

/// Longest SSE line accepted. A real event is a few hundred bytes; without a bound the
/// parser would buffer a line without end (and copy it) on the one runtime thread.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Splits chunks larger than [`MAX_PIECE`] (zero-copy) and, at a clean end, appends a
/// blank line so that a last event without its terminating newline is still dispatched.
fn bounded_pieces<S>(body: S) -> impl Stream<Item = Result<Bytes, LlmError>> + Send
where
    S: Stream<Item = Result<Bytes, LlmError>> + Send + 'static,
{
    let mut line = 0usize;
    let pieces = body
        .map(move |chunk| {
            let bytes = chunk?;
            line = match bytes.iter().rposition(|&b| b == b'\n' || b == b'\r') {
                Some(end) => bytes.len() - end - 1,
                None => line + bytes.len(),
            };
            if line > MAX_LINE_BYTES {
                return Err(LlmError::new(
                    ErrorKind::Malformed,
                    format!(
                        "the stream sent a line longer than {} KiB",
                        MAX_LINE_BYTES >> 10
                    ),
                ));
            }
            Ok(bytes)
        })
        .flat_map(|chunk| {
            let out: Vec<Result<Bytes, LlmError>> = match chunk {
                Ok(bytes) if bytes.len() > MAX_PIECE => {
                    let mut v = Vec::with_capacity(bytes.len() / MAX_PIECE + 1);
                    let mut start = 0;
                    while start < bytes.len() {
                        let end = (start + MAX_PIECE).min(bytes.len());
                        v.push(Ok(bytes.slice(start..end)));
                        start = end;
                    }
                    v
                }
                other => vec![other],
            };
            futures::stream::iter(out)
        });
    pieces.chain(futures::stream::once(async {
        Ok(Bytes::from_static(b"\n\n"))
    }))
}

struct PipelineState<E, D> {
    events: E,
    decoder: D,
    queue: VecDeque<Result<StreamEvent, LlmError>>,
    output: String,
    prompt: PromptText,
    started: Instant,
    ttft: Option<Duration>,
    finished: bool,
    /// Tokens of the answer so far, counted delta by delta.
    answer_tokens: u32,
}

/// Runs a provider body through SSE framing and `decoder`, producing the stream the core
/// sees. Errors end the stream; the last item of a successful stream is `Done`.
///
/// Transport errors and idle timeouts must already be mapped to `LlmError` in `body`.
pub fn decode_stream<S, D>(body: S, decoder: D, prompt: PromptText, started: Instant) -> ChatStream
where
    S: Stream<Item = Result<Bytes, LlmError>> + Send + 'static,
    D: SseDecoder,
{
    let events = Box::pin(bounded_pieces(body).eventsource());
    let state = PipelineState {
        events,
        decoder,
        queue: VecDeque::new(),
        output: String::new(),
        prompt,
        started,
        ttft: None,
        finished: false,
        answer_tokens: 0,
    };
    let stream = futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.queue.pop_front() {
                return Some((item, st));
            }
            if st.finished {
                return None;
            }
            match st.events.next().await {
                Some(Ok(event)) => match st.decoder.decode(&event) {
                    Ok(decoded) => {
                        if let Some(text) = decoded.text.filter(|t| !t.is_empty()) {
                            if st.ttft.is_none() {
                                st.ttft = Some(st.started.elapsed());
                            }
                            st.output.push_str(&text);
                            st.answer_tokens += estimate_tokens(&text);
                            st.queue.push_back(Ok(StreamEvent::Delta(text)));
                        }
                        if st.past_answer_cap() {
                            st.cut_off();
                        } else if decoded.end {
                            st.finish();
                        }
                    }
                    Err(e) => st.fail(e),
                },
                Some(Err(e)) => st.fail(sse_error(e)),
                None => st.finish(),
            }
        }
    });
    Box::pin(stream)
}

impl<E, D: SseDecoder> PipelineState<E, D> {
    fn fail(&mut self, e: LlmError) {
        self.queue.push_back(Err(e));
        self.finished = true;
    }

    /// Whether the answer ran past its cap. Deltas counted one by one over-count a little
    /// (a word split in two costs two tokens), so the whole answer is recounted before a cut.
    fn past_answer_cap(&mut self) -> bool {
        let Some(cap) = self.prompt.answer_cap() else {
            return false;
        };
        if self.answer_tokens <= cap {
            return false;
        }
        self.answer_tokens = estimate_tokens(&self.output);
        self.answer_tokens > cap
    }

    /// Ends an answer that ran far past `max_tokens` (a server that ignores it) as if the
    /// model had stopped at its limit; the rest of the body is never read.
    fn cut_off(&mut self) {
        self.finished = true;
        let usage = complete_usage(ReportedUsage::default(), &self.prompt, &self.output);
        self.queue.push_back(Ok(StreamEvent::Done(Completion {
            usage,
            finish_reason: FinishReason::Length,
            // The provider's own total never came: the price table counts this call.
            reported_cost_usd: None,
            ttft: self.ttft,
            latency: self.started.elapsed(),
        })));
    }

    /// The tool's state changes as a last text delta, so the stored narration holds the tags.
    fn emit_state_tags(&mut self) {
        let changes = self.decoder.state_changes();
        let Some(text) = state_tool::tag_text(&changes, !self.output.is_empty()) else {
            return;
        };
        if self.ttft.is_none() {
            self.ttft = Some(self.started.elapsed());
        }
        self.output.push_str(&text);
        self.queue.push_back(Ok(StreamEvent::Delta(text)));
    }

    fn finish(&mut self) {
        self.finished = true;
        match self.decoder.finish() {
            Ok((finish_reason, reported)) => {
                self.emit_state_tags();
                let usage = complete_usage(reported, &self.prompt, &self.output);
                self.queue.push_back(Ok(StreamEvent::Done(Completion {
                    usage,
                    finish_reason,
                    reported_cost_usd: reported.cost_usd.filter(|c| c.is_finite() && *c >= 0.0),
                    ttft: self.ttft,
                    latency: self.started.elapsed(),
                })));
            }
            Err(e) => self.queue.push_back(Err(e)),
        }
    }
}

fn complete_usage(reported: ReportedUsage, prompt: &PromptText, output: &str) -> Usage {
    let estimated = reported.tokens_in.is_none() || reported.tokens_out.is_none();
    Usage {
        tokens_in: reported
            .tokens_in
            .unwrap_or_else(|| estimate_tokens(&prompt.text)),
        tokens_out: reported
            .tokens_out
            .unwrap_or_else(|| estimate_tokens(output)),
        estimated,
    }
}

fn sse_error(e: EventStreamError<LlmError>) -> LlmError {
    match e {
        EventStreamError::Transport(e) => e,
        EventStreamError::Utf8(_) => {
            LlmError::new(ErrorKind::Malformed, "stream is not valid UTF-8")
        }
        EventStreamError::Parser(_) => LlmError::new(
            ErrorKind::Malformed,
            "stream is not valid server-sent events",
        ),
    }
}

/// Parses an SSE `data` payload as JSON, as a `Malformed` error when it is not.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    provider: &str,
    data: &str,
) -> Result<T, LlmError> {
    serde_json::from_str(data).map_err(|e| {
        LlmError::new(
            ErrorKind::Malformed,
            format!(
                "{provider} sent an unreadable stream event: {}",
                one_line(&e.to_string())
            ),
        )
    })
}

/// The longest piece of provider-supplied text an error message quotes.
const QUOTE_MAX: usize = 200;

/// Provider-supplied text made fit for an error message: one line of printable characters,
/// at most `QUOTE_MAX` of them (serde quotes unknown values whole, and a broken stream can
/// carry megabytes of them or terminal escapes).
pub(crate) fn one_line(text: &str) -> String {
    let printable: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if printable.chars().count() <= QUOTE_MAX {
        printable
    } else {
        let cut: String = printable.chars().take(QUOTE_MAX).collect();
        format!("{cut}…")
    }
}

/// Removes `secret` (and anything shaped like an API key) from text that came from a provider.
pub(crate) fn scrub(text: &str, secret: Option<&Secret>) -> String {
    let mut out = match secret.map(Secret::expose).filter(|s| s.len() >= 4) {
        Some(s) => text.replace(s, "[redacted]"),
        None => text.to_string(),
    };
    // Providers echo partial keys such as `sk-abc...xyz`; drop any long sk-/key-like token.
    out = out
        .split_inclusive(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .map(|word| {
            let token = word.trim_end_matches(|c: char| c.is_whitespace() || c == '"' || c == '\'');
            let looks_like_key =
                (token.starts_with("sk-") || token.starts_with("sk_")) && token.len() >= 12;
            if looks_like_key {
                word.replacen(token, "[redacted]", 1)
            } else {
                word.to_string()
            }
        })
        .collect();
    const MAX: usize = 300;
    if out.len() > MAX {
        let mut cut = MAX;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_the_key_and_key_shaped_tokens() {
        let key = Secret::new("sk-live-1234567890abcdef");
        let s = scrub(
            "Incorrect API key provided: sk-live-1234567890abcdef.",
            Some(&key),
        );
        assert!(!s.contains("1234567890"), "{s}");
        let s = scrub("bad key \"sk-proj-zzzzzzzzzzzzzzzz\" here", None);
        assert!(!s.contains("zzzz"), "{s}");
        assert!(s.contains("bad key"));
    }

    #[test]
    fn estimate_counts_tokens() {
        assert_eq!(estimate_tokens(""), 0);
        let n = estimate_tokens("The goblin raises its rusty blade and snarls.");
        assert!((5..20).contains(&n), "{n}");
    }
}
