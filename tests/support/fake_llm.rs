//! A scriptable fake model server speaking HTTP/1.1 on 127.0.0.1, for tests that need what
//! a mock library cannot express: paced streams, streams cut mid-chunk, servers that hang,
//! and observing that the client closed the connection.
//!
//! Replies are taken from a queue, one per request, whatever the path (so the same server
//! stands in for OpenAI-compatible and Anthropic endpoints); when the queue is empty the
//! default reply is used, or a 500 saying nothing was scripted.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// How a streamed reply ends after its chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// The chunked body is terminated properly.
    Complete,
    /// The connection is closed without the terminating chunk.
    Cut,
    /// Nothing more is sent; the server waits until the client goes away.
    Hang,
}

#[derive(Debug, Clone)]
pub enum Reply {
    /// `200 text/event-stream`, sent as HTTP chunks with `pace` before each one.
    Stream {
        chunks: Vec<Vec<u8>>,
        pace: Duration,
        end: StreamEnd,
    },
    /// A whole response.
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Read the request and never answer.
    Hang,
    /// Read the request and close the connection without answering.
    Close,
}

impl Reply {
    /// A complete SSE body sent in one chunk.
    pub fn sse(body: impl Into<Vec<u8>>) -> Reply {
        Reply::Stream {
            chunks: vec![body.into()],
            pace: Duration::ZERO,
            end: StreamEnd::Complete,
        }
    }

    /// An SSE body sent as the given chunks.
    pub fn sse_chunks<I, C>(chunks: I) -> Reply
    where
        I: IntoIterator<Item = C>,
        C: Into<Vec<u8>>,
    {
        Reply::Stream {
            chunks: chunks.into_iter().map(Into::into).collect(),
            pace: Duration::ZERO,
            end: StreamEnd::Complete,
        }
    }

    /// An SSE body split into chunks of `size` bytes.
    pub fn sse_split(body: impl AsRef<[u8]>, size: usize) -> Reply {
        Reply::sse_chunks(body.as_ref().chunks(size.max(1)).map(<[u8]>::to_vec))
    }

    /// Waits `pace` before each chunk.
    pub fn paced(self, pace: Duration) -> Reply {
        match self {
            Reply::Stream { chunks, end, .. } => Reply::Stream { chunks, pace, end },
            other => other,
        }
    }

    pub fn ending(self, end: StreamEnd) -> Reply {
        match self {
            Reply::Stream { chunks, pace, .. } => Reply::Stream { chunks, pace, end },
            other => other,
        }
    }

    pub fn status(status: u16, body: impl Into<String>) -> Reply {
        Reply::Status {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn with_header(self, name: &str, value: &str) -> Reply {
        match self {
            Reply::Status {
                status,
                mut headers,
                body,
            } => {
                headers.push((name.to_string(), value.to_string()));
                Reply::Status {
                    status,
                    headers,
                    body,
                }
            }
            other => other,
        }
    }
}

/// One request as the server saw it. Header names are lowercase.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Reply>>,
    default: Mutex<Option<Reply>>,
    requests: Mutex<Vec<Recorded>>,
    disconnects: AtomicUsize,
    disconnected: Notify,
}

/// A running fake server; it stops when dropped (its accept task is aborted).
pub struct FakeLlm {
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeLlm {
    pub async fn start() -> FakeLlm {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake server");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let accept_shared = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                // Providers stream each event at once; Nagle would hold small SSE chunks back.
                let _ = socket.set_nodelay(true);
                tokio::spawn(serve_connection(socket, accept_shared.clone()));
            }
        });
        FakeLlm { addr, shared, task }
    }

    /// A server already scripted with `replies`.
    pub async fn with(replies: impl IntoIterator<Item = Reply>) -> FakeLlm {
        let fake = FakeLlm::start().await;
        for r in replies {
            fake.push(r);
        }
        fake
    }

    pub fn push(&self, reply: Reply) {
        self.shared.script.lock().unwrap().push_back(reply);
    }

    /// The reply used once the queue is empty.
    pub fn set_default(&self, reply: Reply) {
        *self.shared.default.lock().unwrap() = Some(reply);
    }

    /// `http://127.0.0.1:PORT` (the Anthropic base URL form).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/v1` (the OpenAI-compatible base URL form).
    pub fn v1(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The body of every request so far, as text.
    pub fn request_bodies(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .collect()
    }

    /// Connections the client closed while the server was still streaming or waiting.
    pub fn disconnects(&self) -> usize {
        self.shared.disconnects.load(Ordering::SeqCst)
    }

    /// Waits until the client has closed a connection mid-reply; false on timeout.
    pub async fn wait_for_disconnect(&self, timeout: Duration) -> bool {
        let wait = async {
            loop {
                let notified = self.shared.disconnected.notified();
                if self.disconnects() > 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }
}

async fn serve_connection(socket: TcpStream, shared: Arc<Shared>) {
    let (mut rd, mut wr) = socket.into_split();
    let mut buf = Vec::new();
    loop {
        let Some(request) = read_request(&mut rd, &mut buf).await else {
            return;
        };
        shared.requests.lock().unwrap().push(request);
        let reply = {
            let next = shared.script.lock().unwrap().pop_front();
            next.or_else(|| shared.default.lock().unwrap().clone())
        };
        let reply = reply
            .unwrap_or_else(|| Reply::status(500, r#"{"error":{"message":"no scripted reply"}}"#));
        match reply {
            Reply::Status {
                status,
                headers,
                body,
            } => {
                let mut head = format!(
                    "HTTP/1.1 {status} Scripted\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
                    body.len()
                );
                for (n, v) in headers {
                    head.push_str(&format!("{n}: {v}\r\n"));
                }
                head.push_str("\r\n");
                if wr.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                if wr.write_all(body.as_bytes()).await.is_err() {
                    // The client went away before the whole body (it reads error bodies
                    // only up to a bound).
                    note_disconnect(&shared);
                    return;
                }
            }
            Reply::Close => return,
            Reply::Hang => {
                wait_for_eof(&mut rd).await;
                note_disconnect(&shared);
                return;
            }
            Reply::Stream { chunks, pace, end } => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n";
                if wr.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for chunk in chunks {
                    if !pace.is_zero() {
                        tokio::select! {
                            _ = tokio::time::sleep(pace) => {}
                            _ = wait_for_eof(&mut rd) => { note_disconnect(&shared); return; }
                        }
                    }
                    if chunk.is_empty() {
                        continue;
                    }
                    if write_chunk(&mut wr, &chunk).await.is_err() {
                        note_disconnect(&shared);
                        return;
                    }
                }
                match end {
                    StreamEnd::Complete => {
                        if wr.write_all(b"0\r\n\r\n").await.is_err() {
                            return;
                        }
                    }
                    StreamEnd::Cut => {
                        let _ = wr.flush().await;
                        return;
                    }
                    StreamEnd::Hang => {
                        wait_for_eof(&mut rd).await;
                        note_disconnect(&shared);
                        return;
                    }
                }
            }
        }
    }
}

fn note_disconnect(shared: &Shared) {
    shared.disconnects.fetch_add(1, Ordering::SeqCst);
    shared.disconnected.notify_waiters();
}

async fn write_chunk(wr: &mut OwnedWriteHalf, chunk: &[u8]) -> std::io::Result<()> {
    wr.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
        .await?;
    wr.write_all(chunk).await?;
    wr.write_all(b"\r\n").await?;
    wr.flush().await
}

/// Resolves when the peer has closed its side (or the socket failed).
async fn wait_for_eof(rd: &mut OwnedReadHalf) {
    let mut scratch = [0u8; 1024];
    loop {
        match rd.read(&mut scratch).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

async fn read_request(rd: &mut OwnedReadHalf, buf: &mut Vec<u8>) -> Option<Recorded> {
    let mut scratch = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let n = rd.read(&mut scratch).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&scratch[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut start = lines.next()?.split(' ');
    let method = start.next()?.to_string();
    let path = start.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = rd.read(&mut scratch).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&scratch[..n]);
    }
    let body = buf[head_end..head_end + len].to_vec();
    buf.drain(..head_end + len);
    Some(Recorded {
        method,
        path,
        headers,
        body,
    })
}

/// An OpenAI-compatible stream: one chunk per piece, `finish_reason: stop`, then (when
/// given) a `choices: []` usage chunk, then `[DONE]`. Returns one string per SSE event.
pub fn openai_events(pieces: &[&str], usage: Option<(u32, u32)>) -> Vec<String> {
    let chunk = |choices: serde_json::Value| {
        format!(
            "data: {}\n\n",
            serde_json::json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": "fake", "choices": choices})
        )
    };
    let mut out = vec![chunk(
        serde_json::json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]),
    )];
    for p in pieces {
        out.push(chunk(
            serde_json::json!([{"index": 0, "delta": {"content": p}, "finish_reason": null}]),
        ));
    }
    out.push(chunk(
        serde_json::json!([{"index": 0, "delta": {}, "finish_reason": "stop"}]),
    ));
    if let Some((i, o)) = usage {
        out.push(format!(
            "data: {}\n\n",
            serde_json::json!({"id": "chatcmpl-fake", "choices": [], "usage": {"prompt_tokens": i, "completion_tokens": o, "total_tokens": i + o}})
        ));
    }
    out.push("data: [DONE]\n\n".to_string());
    out
}

/// An Anthropic Messages stream with the given text pieces and usage.
pub fn anthropic_events(pieces: &[&str], input: u32, output: u32) -> Vec<String> {
    let ev = |name: &str, data: serde_json::Value| format!("event: {name}\ndata: {data}\n\n");
    let mut out = vec![
        ev(
            "message_start",
            serde_json::json!({"type": "message_start", "message": {"id": "msg_fake", "type": "message", "role": "assistant", "content": [], "model": "fake", "usage": {"input_tokens": input, "output_tokens": 1}}}),
        ),
        ev(
            "content_block_start",
            serde_json::json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
    ];
    for p in pieces {
        out.push(ev("content_block_delta", serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}})));
    }
    out.push(ev(
        "content_block_stop",
        serde_json::json!({"type": "content_block_stop", "index": 0}),
    ));
    out.push(ev("message_delta", serde_json::json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": output}})));
    out.push(ev(
        "message_stop",
        serde_json::json!({"type": "message_stop"}),
    ));
    out
}

impl Reply {
    /// An OpenAI-compatible stream of `pieces`, one chunk per event, `pace` before each.
    pub fn openai_text(pieces: &[&str], usage: Option<(u32, u32)>, pace: Duration) -> Reply {
        Reply::sse_chunks(openai_events(pieces, usage)).paced(pace)
    }

    /// An Anthropic Messages stream of `pieces`, one chunk per event, `pace` before each.
    pub fn anthropic_text(pieces: &[&str], input: u32, output: u32, pace: Duration) -> Reply {
        Reply::sse_chunks(anthropic_events(pieces, input, output)).paced(pace)
    }
}

/// An OpenAI-compatible stream that writes `pieces` of text, then calls the `change_state`
/// tool with its arguments JSON split into `arguments` (one chunk each), and ends with
/// `finish_reason: "tool_calls"`, the usage chunk and `[DONE]`.
pub fn openai_tool_events(
    pieces: &[&str],
    arguments: &[&str],
    usage: Option<(u32, u32)>,
) -> Vec<String> {
    let chunk = |choices: serde_json::Value| {
        format!(
            "data: {}\n\n",
            serde_json::json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": "fake", "choices": choices})
        )
    };
    let mut out = openai_events(pieces, usage);
    // Keep the role chunk and the text; the rest is rebuilt around the tool call.
    out.truncate(1 + pieces.len());
    out.push(chunk(serde_json::json!([{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "call_fake", "type": "function", "function": {"name": "change_state", "arguments": ""}}
    ]}, "finish_reason": null}])));
    for a in arguments {
        out.push(chunk(
            serde_json::json!([{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "function": {"arguments": a}}
        ]}, "finish_reason": null}]),
        ));
    }
    out.push(chunk(
        serde_json::json!([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]),
    ));
    if let Some((i, o)) = usage {
        out.push(format!(
            "data: {}\n\n",
            serde_json::json!({"id": "chatcmpl-fake", "choices": [], "usage": {"prompt_tokens": i, "completion_tokens": o, "total_tokens": i + o}})
        ));
    }
    out.push("data: [DONE]\n\n".to_string());
    out
}

/// An Anthropic Messages stream that writes `pieces` of text in block 0, then a `tool_use`
/// block 1 of the `change_state` tool with its input JSON split into `partial_json`, and
/// ends with `stop_reason: "tool_use"`.
pub fn anthropic_tool_events(
    pieces: &[&str],
    partial_json: &[&str],
    input: u32,
    output: u32,
) -> Vec<String> {
    let ev = |name: &str, data: serde_json::Value| format!("event: {name}\ndata: {data}\n\n");
    let mut out = anthropic_events(pieces, input, output);
    // Keep message_start, the text block and its stop; the rest is rebuilt.
    out.truncate(3 + pieces.len());
    out.push(ev(
        "content_block_start",
        serde_json::json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_fake", "name": "change_state", "input": {}}}),
    ));
    for p in std::iter::once(&"").chain(partial_json) {
        out.push(ev(
            "content_block_delta",
            serde_json::json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": p}}),
        ));
    }
    out.push(ev(
        "content_block_stop",
        serde_json::json!({"type": "content_block_stop", "index": 1}),
    ));
    out.push(ev("message_delta", serde_json::json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": output}})));
    out.push(ev(
        "message_stop",
        serde_json::json!({"type": "message_stop"}),
    ));
    out
}

/// `text` cut into pieces of `size` characters (for arguments streamed in many fragments).
pub fn fragments(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(size.max(1))
        .map(|c| c.iter().collect())
        .collect()
}
