//! The one resilience policy every provider call goes through: timeouts, which failures are
//! retried, backoff with jitter, `retry-after`, and the mapping of HTTP failures to
//! [`ErrorKind`].
//!
//! Retries only ever happen before a successful response has been received: once a stream
//! has started, output may already be on a player's screen, so a failure ends the stream.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, Response, StatusCode};

use crate::core::models::chat::{ErrorKind, LlmError};
use crate::llm::scrub;
use crate::secret::Secret;

/// Timing and retry limits. Plain data so tests can run the same policy in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Applied by [`RetryPolicy::client_builder`] to the shared HTTP client.
    pub connect_timeout: Duration,
    /// Longest wait for response headers, and for each body chunk of a stream.
    pub idle_timeout: Duration,
    /// Longest wait for a whole non-streamed response body (images take a while).
    pub body_timeout: Duration,
    /// Total attempts, the first included (1 = no retries).
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubled for each further one.
    pub base_delay: Duration,
    /// Upper bound for any single wait, including one asked for by `retry-after`.
    pub max_delay: Duration,
    /// Longest a whole streamed answer may take, however steadily it trickles in.
    pub call_timeout: Duration,
}

/// Most bytes a streamed answer may have: a long narration is tens of kilobytes.
pub const MAX_STREAM_BYTES: usize = 16 << 20;
/// Most bytes of a whole JSON body (a generated image arrives base64-encoded in one).
pub const MAX_BODY_BYTES: usize = 48 << 20;
/// Most bytes of an error body that are read; the rest is never fetched.
pub const MAX_ERROR_BODY_BYTES: usize = 64 << 10;

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(180),
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            call_timeout: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// A client builder with this policy's connect timeout. The main crate shares one
    /// `reqwest::Client` between Discord and the model clients; build it from this.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder().connect_timeout(self.connect_timeout)
    }

    /// Wait before attempt `attempt + 1` (attempt counts from 1), with jitter in
    /// `[delay/2, delay]`, or the server's `retry-after` when it gave one. Capped.
    pub fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_delay);
        }
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let delay = exp.min(self.max_delay);
        let half = delay / 2;
        let jitter_nanos = rand::random_range(0..=half.as_nanos().min(u64::MAX as u128) as u64);
        half + Duration::from_nanos(jitter_nanos)
    }

    /// Sends the request built by `build` (called once per attempt), retrying transient
    /// failures. Returns the first successful response; its body has not been read.
    ///
    /// Response headers must arrive within `idle_timeout`: streaming APIs send them at once.
    pub async fn send(
        &self,
        provider: &str,
        secret: Option<&Secret>,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, LlmError> {
        self.send_within(self.idle_timeout, provider, secret, build)
            .await
    }

    /// Like [`RetryPolicy::send`] for APIs that answer only when the work is done (images):
    /// headers may take up to `body_timeout`.
    pub async fn send_unstreamed(
        &self,
        provider: &str,
        secret: Option<&Secret>,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, LlmError> {
        self.send_within(self.body_timeout, provider, secret, build)
            .await
    }

    async fn send_within(
        &self,
        wait: Duration,
        provider: &str,
        secret: Option<&Secret>,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, LlmError> {
        let attempts = self.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let outcome = self.attempt(wait, provider, secret, build()).await;
            let (error, retry_after) = match outcome {
                Ok(response) => return Ok(response),
                Err(failure) => failure,
            };
            if attempt >= attempts || !is_retryable(&error) {
                return Err(error);
            }
            tokio::time::sleep(self.backoff(attempt, retry_after)).await;
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        wait: Duration,
        provider: &str,
        secret: Option<&Secret>,
        request: RequestBuilder,
    ) -> Result<Response, (LlmError, Option<Duration>)> {
        let response = match tokio::time::timeout(wait, request.send()).await {
            Err(_) => {
                let msg = format!("{provider} did not answer within {wait:?}");
                return Err((LlmError::new(ErrorKind::Timeout, msg), None));
            }
            Ok(Err(e)) => return Err((transport_error(provider, &e, false), None)),
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = retry_after(response.headers(), SystemTime::now());
        let read = read_at_most(response, MAX_ERROR_BODY_BYTES);
        let body = match tokio::time::timeout(self.idle_timeout, read).await {
            Ok(Ok((b, _))) => String::from_utf8_lossy(&b).into_owned(),
            _ => String::new(),
        };
        Err((http_error(provider, status, &body, secret), retry_after))
    }

    /// Checks that a successful response really is a stream. Some servers answer a
    /// streaming request with a plain JSON error and status 200.
    pub async fn expect_event_stream(
        &self,
        provider: &str,
        secret: Option<&Secret>,
        response: Response,
    ) -> Result<Response, LlmError> {
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        if !is_json {
            return Ok(response);
        }
        let body = self.read_body(provider, response).await?;
        let text = String::from_utf8_lossy(&body);
        let detail = ProviderErrorBody::parse(&text)
            .message
            .unwrap_or_else(|| text.trim().to_string());
        Err(LlmError::new(
            ErrorKind::Malformed,
            format!(
                "{provider} answered with JSON instead of a stream: {}",
                scrub(&detail, secret)
            ),
        ))
    }

    /// Reads a whole (non-streamed) body within `body_timeout` and [`MAX_BODY_BYTES`].
    pub async fn read_body(&self, provider: &str, response: Response) -> Result<Bytes, LlmError> {
        let read = read_at_most(response, MAX_BODY_BYTES);
        match tokio::time::timeout(self.body_timeout, read).await {
            Err(_) => Err(LlmError::new(
                ErrorKind::Timeout,
                format!(
                    "{provider} response body took longer than {:?}",
                    self.body_timeout
                ),
            )),
            Ok(Err(e)) => Err(transport_error(provider, &e, true)),
            Ok(Ok((_, true))) => Err(LlmError::new(
                ErrorKind::Malformed,
                format!(
                    "{provider} sent a body larger than {} MiB",
                    MAX_BODY_BYTES >> 20
                ),
            )),
            Ok(Ok((b, false))) => Ok(b),
        }
    }

    /// The body of a streamed response as bytes, each chunk under the idle timeout and
    /// transport failures mapped to `LlmError`. Dropping the stream closes the connection.
    pub fn body_stream(
        &self,
        provider: &str,
        response: Response,
    ) -> impl Stream<Item = Result<Bytes, LlmError>> + Send + 'static {
        idle_limited(
            response.bytes_stream(),
            StreamCaps {
                idle: self.idle_timeout,
                deadline: tokio::time::Instant::now() + self.call_timeout,
                max_bytes: MAX_STREAM_BYTES,
            },
            provider.to_string(),
        )
    }
}

/// Reads at most `max` bytes of a body, chunk by chunk (a body is never buffered whole
/// before its size is known). Returns the bytes and whether more were left unread.
async fn read_at_most(mut response: Response, max: usize) -> reqwest::Result<(Bytes, bool)> {
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await? {
        let room = max - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body.freeze(), true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body.freeze(), false))
}

/// What a streamed body may do: wait `idle` between chunks, end by `deadline`, and send
/// `max_bytes` in all.
#[derive(Debug, Clone, Copy)]
pub struct StreamCaps {
    pub idle: Duration,
    pub deadline: tokio::time::Instant,
    pub max_bytes: usize,
}

/// Wraps a byte stream so that a gap longer than `idle` between chunks, a call that runs past
/// its deadline or a body over its size ends it with an error, and transport errors become
/// `Interrupted`. Each ends the stream, which drops (closes) the connection.
pub fn idle_limited<S>(
    body: S,
    caps: StreamCaps,
    provider: String,
) -> impl Stream<Item = Result<Bytes, LlmError>> + Send + 'static
where
    S: Stream<Item = reqwest::Result<Bytes>> + Send + 'static,
{
    let body = Box::pin(body);
    futures::stream::unfold(Some((body, 0usize)), move |state| {
        let provider = provider.clone();
        async move {
            let (mut body, seen) = state?;
            let now = tokio::time::Instant::now();
            let wait = caps.idle.min(caps.deadline.saturating_duration_since(now));
            match tokio::time::timeout(wait, body.next()).await {
                Err(_) if wait < caps.idle => {
                    let msg = format!("{provider} took too long to finish its answer");
                    Some((Err(LlmError::new(ErrorKind::Timeout, msg)), None))
                }
                Err(_) => {
                    let idle = caps.idle;
                    let msg = format!("{provider} stream stalled for more than {idle:?}");
                    Some((Err(LlmError::new(ErrorKind::Timeout, msg)), None))
                }
                Ok(None) => None,
                Ok(Some(Ok(bytes))) if seen + bytes.len() > caps.max_bytes => {
                    let mib = caps.max_bytes >> 20;
                    let msg = format!("{provider} sent an answer larger than {mib} MiB");
                    Some((Err(LlmError::new(ErrorKind::Malformed, msg)), None))
                }
                Ok(Some(Ok(bytes))) => {
                    let seen = seen + bytes.len();
                    Some((Ok(bytes), Some((body, seen))))
                }
                Ok(Some(Err(e))) => Some((Err(transport_error(&provider, &e, true)), None)),
            }
        }
    })
}

fn is_retryable(e: &LlmError) -> bool {
    match e.kind {
        ErrorKind::Connection | ErrorKind::Timeout => true,
        ErrorKind::RateLimited | ErrorKind::Overloaded | ErrorKind::Server => {
            matches!(
                e.status,
                Some(408 | 429 | 500 | 502 | 503 | 504 | 529) | None
            )
        }
        _ => false,
    }
}

/// Maps a transport failure. Before a response it is a connection problem (retried);
/// once a body is being read it means the stream was cut.
pub(crate) fn transport_error(provider: &str, e: &reqwest::Error, in_body: bool) -> LlmError {
    // reqwest errors print the URL, never headers, so they carry no key; still keep
    // the message short and generic.
    if e.is_timeout() {
        return LlmError::new(ErrorKind::Timeout, format!("{provider} timed out"));
    }
    if in_body {
        return LlmError::new(
            ErrorKind::Interrupted,
            format!("{provider} stream was cut off before it finished"),
        );
    }
    let what = if e.is_connect() {
        "could not connect to"
    } else {
        "lost the connection to"
    };
    LlmError::new(ErrorKind::Connection, format!("{what} {provider}"))
}

/// Classifies an HTTP error response. `body` is the provider's error text; it is scrubbed
/// of `secret` before it reaches the message.
pub fn http_error(
    provider: &str,
    status: StatusCode,
    body: &str,
    secret: Option<&Secret>,
) -> LlmError {
    let detail = ProviderErrorBody::parse(body);
    let code = status.as_u16();
    let lower = body.to_ascii_lowercase();
    let kind = match code {
        402 => ErrorKind::SpendLimit,
        429 if lower.contains("insufficient_quota") => ErrorKind::SpendLimit,
        400 if lower.contains("credit balance") => ErrorKind::SpendLimit,
        400 if detail.code.as_deref().is_some_and(is_content_policy)
            || lower.contains("content_policy_violation") =>
        {
            ErrorKind::Refused
        }
        401 | 403 => ErrorKind::Auth,
        404 => ErrorKind::NotFound,
        408 => ErrorKind::Timeout,
        429 => ErrorKind::RateLimited,
        503 | 529 => ErrorKind::Overloaded,
        500..=599 => ErrorKind::Server,
        _ => ErrorKind::BadRequest,
    };
    let text = detail.message.unwrap_or_else(|| body.trim().to_string());
    let message = if text.is_empty() {
        format!("{provider} returned HTTP {code}")
    } else {
        format!(
            "{provider} returned HTTP {code}: {}",
            super::one_line(&scrub(&text, secret))
        )
    };
    LlmError {
        kind,
        message,
        status: Some(code),
    }
}

fn is_content_policy(code: &str) -> bool {
    matches!(code, "content_policy_violation" | "moderation_blocked")
}

/// The error envelope shared by OpenAI-compatible APIs and Anthropic:
/// `{"error": {"message": ..., "code"|"type": ...}}`.
#[derive(Debug, Default)]
pub(crate) struct ProviderErrorBody {
    pub message: Option<String>,
    pub code: Option<String>,
}

impl ProviderErrorBody {
    pub fn parse(body: &str) -> Self {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
            return Self::default();
        };
        let err = value.get("error").unwrap_or(&value);
        let text = |v: Option<&serde_json::Value>| match v {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        ProviderErrorBody {
            message: text(err.get("message")),
            code: text(err.get("code")).or_else(|| text(err.get("type"))),
        }
    }
}

/// `retry-after-ms` (milliseconds), else `retry-after` as seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = header("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..RetryPolicy::default()
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let p = policy();
        for _ in 0..50 {
            let d1 = p.backoff(1, None);
            assert!(
                d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100),
                "{d1:?}"
            );
            let d3 = p.backoff(3, None);
            assert!(
                d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400),
                "{d3:?}"
            );
            assert!(p.backoff(30, None) <= Duration::from_secs(1));
        }
        assert_eq!(
            p.backoff(1, Some(Duration::from_millis(300))),
            Duration::from_millis(300)
        );
        assert_eq!(
            p.backoff(1, Some(Duration::from_secs(100))),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(2)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(7));
        h.insert("retry-after", HeaderValue::from_str(&date).unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_millis(250)));
        let mut bad = HeaderMap::new();
        bad.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&bad, now), None);
    }

    #[test]
    fn statuses_map_to_kinds() {
        let k = |code: u16, body: &str| {
            http_error("openai", StatusCode::from_u16(code).unwrap(), body, None).kind
        };
        assert_eq!(k(401, ""), ErrorKind::Auth);
        assert_eq!(
            k(429, r#"{"error":{"type":"insufficient_quota"}}"#),
            ErrorKind::SpendLimit
        );
        assert_eq!(
            k(429, r#"{"error":{"type":"requests"}}"#),
            ErrorKind::RateLimited
        );
        assert_eq!(
            k(
                400,
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low"}}"#
            ),
            ErrorKind::SpendLimit
        );
        assert_eq!(k(402, "{}"), ErrorKind::SpendLimit);
        assert_eq!(k(529, ""), ErrorKind::Overloaded);
        assert_eq!(k(502, ""), ErrorKind::Server);
        assert_eq!(k(404, ""), ErrorKind::NotFound);
        assert_eq!(k(422, ""), ErrorKind::BadRequest);
        let e = http_error(
            "openai",
            StatusCode::BAD_REQUEST,
            r#"{"error":{"message":"nope"}}"#,
            None,
        );
        assert_eq!(e.message, "openai returned HTTP 400: nope");
        assert_eq!(e.status, Some(400));
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let e = |kind, status| LlmError {
            kind,
            message: String::new(),
            status,
        };
        assert!(is_retryable(&e(ErrorKind::RateLimited, Some(429))));
        assert!(is_retryable(&e(ErrorKind::Overloaded, Some(529))));
        assert!(is_retryable(&e(ErrorKind::Connection, None)));
        assert!(!is_retryable(&e(ErrorKind::SpendLimit, Some(429))));
        assert!(!is_retryable(&e(ErrorKind::Auth, Some(401))));
        assert!(!is_retryable(&e(ErrorKind::Server, Some(501))));
    }
}
