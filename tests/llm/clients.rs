//! The model clients against recorded provider streams and a scriptable fake server.

use crate::support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use gamemaster::core::models::chat::{
    ChatMessage, ChatModel, ChatRequest, ChatStream, Completion, ErrorKind, FinishReason,
    ImageModel, ImageRequest, LlmError, ModelId, Provider, Role, StreamEvent,
};
use gamemaster::llm::{
    AnthropicClient, OpenAiCompatClient, OpenAiImageClient, PromptText, ProviderKeys,
    ProviderSettings, Registry, RetryPolicy, anthropic, openai_compat,
};
use gamemaster::secret::Secret;
use proptest::prelude::*;
use support::fake_llm::{FakeLlm, Reply, StreamEnd, anthropic_events, openai_events};

// ---------------------------------------------------------------------------------------
// helpers

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

pub(super) fn id(s: &str) -> ModelId {
    ModelId::parse(s).unwrap()
}

/// Millisecond timings so failure paths run fast.
pub(super) fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        connect_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_millis(400),
        body_timeout: Duration::from_secs(2),
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(200),
        call_timeout: Duration::from_secs(5),
    }
}

pub(super) fn http() -> reqwest::Client {
    fast_policy().client_builder().build().unwrap()
}

pub(super) fn request() -> ChatRequest {
    ChatRequest {
        system: "You are the game master.".into(),
        messages: vec![
            ChatMessage {
                role: Role::User,
                content: "I open the door.".into(),
            },
            ChatMessage {
                role: Role::Assistant,
                content: "It creaks.".into(),
            },
            ChatMessage {
                role: Role::User,
                content: "I step inside.".into(),
            },
        ],
        max_tokens: 200,
        temperature: Some(0.7),
        state_tool: false,
    }
}

pub(super) fn openai_client(
    fake: &FakeLlm,
    model: &str,
    policy: RetryPolicy,
) -> OpenAiCompatClient {
    OpenAiCompatClient::new(
        http(),
        &id(model),
        fake.v1(),
        Some(Secret::new("sk-test-key-0123456789")),
        policy,
    )
}

pub(super) fn anthropic_client(fake: &FakeLlm, policy: RetryPolicy) -> AnthropicClient {
    AnthropicClient::new(
        http(),
        &id("anthropic:claude-sonnet-4-5"),
        fake.url(),
        Secret::new("sk-ant-test-0123456789"),
        policy,
    )
}

/// Everything a stream produced: the text deltas, then how it ended.
#[derive(Debug)]
pub(super) struct Outcome {
    pub(super) deltas: Vec<String>,
    pub(super) end: Result<Completion, LlmError>,
}

impl Outcome {
    pub(super) fn text(&self) -> String {
        self.deltas.concat()
    }

    pub(super) fn done(&self) -> &Completion {
        self.end
            .as_ref()
            .unwrap_or_else(|e| panic!("stream failed: {e:?} after {:?}", self.deltas))
    }

    pub(super) fn error(&self) -> &LlmError {
        self.end
            .as_ref()
            .err()
            .unwrap_or_else(|| panic!("stream succeeded: {:?}", self.deltas))
    }
}

pub(super) async fn collect(mut stream: ChatStream) -> Outcome {
    let mut deltas = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(StreamEvent::Delta(t)) => deltas.push(t),
            Ok(StreamEvent::Done(c)) => {
                assert!(stream.next().await.is_none(), "Done must be the last event");
                return Outcome { deltas, end: Ok(c) };
            }
            Err(e) => {
                assert!(
                    stream.next().await.is_none(),
                    "an error must end the stream"
                );
                return Outcome {
                    deltas,
                    end: Err(e),
                };
            }
        }
    }
    panic!("stream ended without Done or an error after {deltas:?}");
}

pub(super) async fn chat(model: &dyn ChatModel) -> Outcome {
    match model.stream_chat(request()).await {
        Ok(stream) => collect(stream).await,
        Err(e) => Outcome {
            deltas: vec![],
            end: Err(e),
        },
    }
}

/// Runs a body, split into the given pieces, through a client's parsing pipeline.
fn decode_pieces(kind: Provider, pieces: Vec<Vec<u8>>) -> ChatStream {
    let body = futures::stream::iter(
        pieces
            .into_iter()
            .map(|p| Ok::<_, LlmError>(Bytes::from(p))),
    );
    let prompt = PromptText::of(&request());
    match kind {
        Provider::Anthropic => anthropic::decode_body(body, prompt, Instant::now()),
        other => openai_compat::decode_body(other, body, prompt, Instant::now()),
    }
}

pub(super) fn decode_now(kind: Provider, pieces: Vec<Vec<u8>>) -> Outcome {
    futures::executor::block_on(collect(decode_pieces(kind, pieces)))
}

/// What a fixture means, read independently of the client: the text of its content
/// (or refusal) deltas, straight from the JSON.
fn oracle_text(kind: Provider, body: &[u8]) -> String {
    let text = String::from_utf8(body.to_vec()).unwrap();
    let mut out = String::new();
    for line in text.lines().filter_map(|l| l.strip_prefix("data: ")) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if kind == Provider::Anthropic {
            if v["delta"]["type"] == "text_delta" {
                out.push_str(v["delta"]["text"].as_str().unwrap());
            }
        } else if let Some(choices) = v["choices"].as_array() {
            for c in choices {
                for field in ["content", "refusal"] {
                    if let Some(s) = c["delta"][field].as_str() {
                        out.push_str(s);
                    }
                }
            }
        }
    }
    out
}

struct Expect {
    path: &'static str,
    kind: Provider,
    finish: FinishReason,
    /// `None`: the provider sent no usage and it must be estimated.
    usage: Option<(u32, u32)>,
}

fn fixtures() -> Vec<Expect> {
    use FinishReason::*;
    let e = |path, kind, finish, usage| Expect {
        path,
        kind,
        finish,
        usage,
    };
    vec![
        e(
            "openai/chat_stream_with_usage.sse",
            Provider::OpenAi,
            Stop,
            Some((14, 47)),
        ),
        e(
            "openai/chat_stream_refusal.sse",
            Provider::OpenAi,
            Refusal,
            Some((79, 11)),
        ),
        e(
            "openai/chat_stream_length_cutoff.sse",
            Provider::OpenAi,
            Length,
            Some((79, 1)),
        ),
        e(
            "openai/llamacpp_local_stream.sse",
            Provider::Local,
            Length,
            None,
        ),
        e(
            "anthropic/basic_response.txt",
            Provider::Anthropic,
            Stop,
            Some((11, 6)),
        ),
        // input 11 + cache write 3 + cache read 5, all arriving in message_delta
        e(
            "anthropic/missing_usage_response.txt",
            Provider::Anthropic,
            Stop,
            Some((19, 1)),
        ),
        e(
            "anthropic/out_of_order_response.txt",
            Provider::Anthropic,
            Other("unspecified".into()),
            Some((11, 1)),
        ),
        e(
            "anthropic/refusal_response.txt",
            Provider::Anthropic,
            Refusal,
            Some((20, 120)),
        ),
    ]
}

fn check_fixture(ex: &Expect, out: &Outcome) {
    let body = fixture(ex.path);
    assert_eq!(out.text(), oracle_text(ex.kind, &body), "{}", ex.path);
    let done = out.done();
    assert_eq!(done.finish_reason, ex.finish, "{}", ex.path);
    match ex.usage {
        Some((i, o)) => {
            assert_eq!(
                (done.usage.tokens_in, done.usage.tokens_out),
                (i, o),
                "{}",
                ex.path
            );
            assert!(!done.usage.estimated, "{}", ex.path);
        }
        None => {
            assert!(done.usage.estimated, "{}", ex.path);
            assert!(
                done.usage.tokens_in > 5 && done.usage.tokens_out > 5,
                "{:?}",
                done.usage
            );
        }
    }
    assert_eq!(done.ttft.is_some(), !out.deltas.is_empty(), "{}", ex.path);
}

// ---------------------------------------------------------------------------------------
// recorded fixtures

#[test]
fn fixtures_decode_whole() {
    for ex in fixtures() {
        let out = decode_now(ex.kind, vec![fixture(ex.path)]);
        check_fixture(&ex, &out);
    }
}

#[test]
fn fixture_texts_are_what_the_providers_said() {
    let out = decode_now(
        Provider::OpenAi,
        vec![fixture("openai/chat_stream_refusal.sse")],
    );
    assert_eq!(out.text(), "I'm sorry, I can't assist with that request.");
    let out = decode_now(
        Provider::Anthropic,
        vec![fixture("anthropic/basic_response.txt")],
    );
    assert_eq!(out.deltas, ["Hello", " there", "!"]);
}

#[test]
fn fixtures_split_at_every_byte_boundary_give_the_same_result() {
    for ex in fixtures() {
        let body = fixture(ex.path);
        let whole = decode_now(ex.kind, vec![body.clone()]);
        let whole_usage = whole.done().usage;
        for cut in 0..=body.len() {
            let out = decode_now(ex.kind, vec![body[..cut].to_vec(), body[cut..].to_vec()]);
            assert_eq!(out.text(), whole.text(), "{} cut at {cut}", ex.path);
            assert_eq!(out.done().usage, whole_usage, "{} cut at {cut}", ex.path);
            assert_eq!(
                out.done().finish_reason,
                ex.finish,
                "{} cut at {cut}",
                ex.path
            );
        }
    }
}

fn split_at_points(body: &[u8], mut points: Vec<usize>) -> Vec<Vec<u8>> {
    points.iter_mut().for_each(|p| *p %= body.len() + 1);
    points.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for p in points {
        pieces.push(body[start..p].to_vec());
        start = p;
    }
    pieces.push(body[start..].to_vec());
    pieces
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn fixtures_split_anywhere_give_the_same_result(
        which in 0usize..8,
        points in proptest::collection::vec(any::<usize>(), 0..40),
    ) {
        let ex = &fixtures()[which];
        let body = fixture(ex.path);
        let out = decode_now(ex.kind, split_at_points(&body, points));
        check_fixture(ex, &out);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixtures_served_over_http_in_chunks_of_every_small_size() {
    let fake = FakeLlm::start().await;
    for ex in fixtures() {
        let body = fixture(ex.path);
        for size in [1, 2, 3, 7, 64, 1000, body.len()] {
            fake.push(Reply::sse_split(&body, size));
            let out = match ex.kind {
                Provider::Anthropic => chat(&anthropic_client(&fake, fast_policy())).await,
                Provider::Local => {
                    let c = OpenAiCompatClient::new(
                        http(),
                        &id("local:gemma-3-270m"),
                        fake.v1(),
                        None,
                        fast_policy(),
                    );
                    chat(&c).await
                }
                _ => chat(&openai_client(&fake, "openai:gpt-4o", fast_policy())).await,
            };
            check_fixture(&ex, &out);
        }
    }
}

#[test]
fn hundred_kilobyte_body_in_one_piece_parses() {
    let pieces: Vec<String> = (0..2000).map(|i| format!("word{i} ")).collect();
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let body = openai_events(&refs, Some((10, 2000))).concat();
    assert!(body.len() > 100_000);
    // No token limit was asked for, so nothing cuts the answer short.
    let stream = openai_compat::decode_body(
        Provider::OpenAi,
        futures::stream::iter([Ok::<_, LlmError>(Bytes::from(body))]),
        PromptText::new("You are the game master."),
        Instant::now(),
    );
    let out = futures::executor::block_on(collect(stream));
    assert_eq!(out.deltas.len(), 2000);
    assert_eq!(out.text(), pieces.concat());
}

// ---------------------------------------------------------------------------------------
// requests

#[tokio::test]
async fn openai_request_shape() {
    let fake = FakeLlm::with([Reply::sse(openai_events(&["Hi"], Some((3, 1))).concat())]).await;
    let out = chat(&openai_client(&fake, "openai:gpt-4o", fast_policy())).await;
    assert_eq!(out.text(), "Hi");
    let req = &fake.requests()[0];
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/v1/chat/completions")
    );
    assert_eq!(
        req.header("authorization"),
        Some("Bearer sk-test-key-0123456789")
    );
    let body = req.json();
    assert_eq!(body["model"], "gpt-4o");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["max_completion_tokens"], 200);
    assert!(body.get("max_tokens").is_none());
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][0]["content"], "You are the game master.");
    assert_eq!(body["messages"][2]["role"], "assistant");
    assert_eq!(body["messages"].as_array().unwrap().len(), 4);
    assert!((body["temperature"].as_f64().unwrap() - 0.7).abs() < 1e-6);
}

#[tokio::test]
async fn deepseek_and_local_use_max_tokens_and_local_sends_no_auth() {
    let fake = FakeLlm::start().await;
    fake.set_default(Reply::sse(openai_events(&["ok"], Some((1, 1))).concat()));
    chat(&openai_client(
        &fake,
        "deepseek:deepseek-chat",
        fast_policy(),
    ))
    .await
    .done();
    let local = OpenAiCompatClient::new(
        http(),
        &id("local:gemma-3-270m"),
        fake.v1(),
        None,
        fast_policy(),
    );
    chat(&local).await.done();
    let reqs = fake.requests();
    assert_eq!(reqs[0].json()["max_tokens"], 200);
    assert!(reqs[0].json().get("max_completion_tokens").is_none());
    assert_eq!(reqs[1].json()["model"], "gemma-3-270m");
    assert_eq!(reqs[1].header("authorization"), None);
}

#[tokio::test]
async fn anthropic_request_shape() {
    let fake = FakeLlm::with([Reply::sse(anthropic_events(&["Hi"], 5, 2).concat())]).await;
    let out = chat(&anthropic_client(&fake, fast_policy())).await;
    assert_eq!(out.text(), "Hi");
    assert_eq!(out.done().usage.tokens_in, 5);
    assert_eq!(out.done().usage.tokens_out, 2);
    let req = &fake.requests()[0];
    assert_eq!(req.path, "/v1/messages");
    assert_eq!(req.header("x-api-key"), Some("sk-ant-test-0123456789"));
    assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(req.header("authorization"), None);
    let body = req.json();
    assert_eq!(body["system"], "You are the game master.");
    assert_eq!(body["max_tokens"], 200);
    assert_eq!(body["stream"], true);
    assert_eq!(body["messages"][0]["role"], "user");
    assert_eq!(body["messages"].as_array().unwrap().len(), 3);
}

// ---------------------------------------------------------------------------------------
// provider quirks

#[test]
fn deepseek_reasoning_is_kept_out_of_the_narration() {
    let body = [
        r#"data: {"choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":""}}]}"#,
        r#"data: {"choices":[{"index":0,"delta":{"content":null,"reasoning_content":"The player wants to "}}]}"#,
        r#"data: {"choices":[{"index":0,"delta":{"content":null,"reasoning_content":"enter. SECRET PLAN"}}]}"#,
        r#"data: {"choices":[{"index":0,"delta":{"content":"The hall","reasoning_content":null}}]}"#,
        r#"data: {"choices":[{"index":0,"delta":{"content":" is dark."},"finish_reason":"stop"}]}"#,
        r#"data: {"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":30,"completion_tokens_details":{"reasoning_tokens":25}}}"#,
        "data: [DONE]",
    ]
    .map(|l| format!("{l}\n\n"))
    .concat();
    let out = decode_now(Provider::DeepSeek, vec![body.into_bytes()]);
    assert_eq!(out.deltas, ["The hall", " is dark."]);
    assert!(!out.text().contains("SECRET"));
    assert_eq!(out.done().usage.tokens_out, 30);
}

#[tokio::test]
async fn deepseek_reasoning_is_never_sent_back() {
    let body = [
        r#"data: {"choices":[{"index":0,"delta":{"reasoning_content":"hidden thoughts"}}]}"#,
        r#"data: {"choices":[{"index":0,"delta":{"content":"Shown."},"finish_reason":"stop"}]}"#,
        "data: [DONE]",
    ]
    .map(|l| format!("{l}\n\n"))
    .concat();
    let fake = FakeLlm::start().await;
    fake.set_default(Reply::sse(body));
    let client = openai_client(&fake, "deepseek:deepseek-reasoner", fast_policy());
    let first = chat(&client).await;
    let mut next = request();
    next.messages.push(ChatMessage {
        role: Role::Assistant,
        content: first.text(),
    });
    next.messages.push(ChatMessage {
        role: Role::User,
        content: "Go on.".into(),
    });
    collect(client.stream_chat(next).await.unwrap())
        .await
        .done();
    let sent = String::from_utf8(fake.requests()[1].body.clone()).unwrap();
    assert!(sent.contains("Shown."));
    assert!(!sent.contains("hidden thoughts") && !sent.contains("reasoning_content"));
}

#[tokio::test]
async fn openrouter_comments_are_ignored_and_attribution_headers_sent() {
    let mut events = vec![
        ": OPENROUTER PROCESSING\n\n".to_string(),
        ": OPENROUTER PROCESSING\n\n".to_string(),
    ];
    let mut text = openai_events(&["Once", " upon"], None);
    // OpenRouter's last usage chunk carries the call's cost.
    let done = text.pop().unwrap();
    text.push(
        "data: {\"id\":\"gen-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2,\"total_tokens\":6,\"cost\":0.0042}}\n\n"
            .to_string(),
    );
    text.push(done);
    events.push(text[0].clone());
    events.push(": OPENROUTER PROCESSING\n\n".to_string());
    events.extend(text[1..].iter().cloned());
    let fake = FakeLlm::with([Reply::sse_chunks(events)]).await;
    let registry = Registry::new(
        ProviderSettings {
            keys: ProviderKeys {
                openrouter_api_key: Some(Secret::new("sk-or-test-0123456789")),
                openrouter_base_url: Some(fake.v1()),
                openrouter_models: vec!["meta-llama/llama-3.3-70b-instruct".into()],
                ..Default::default()
            },
            openrouter_referer: Some("https://example.invalid/gm".into()),
            openrouter_title: Some("AI GameMaster".into()),
            timeouts: fast_policy(),
            ..Default::default()
        },
        http(),
    );
    let model = registry
        .chat_model(&id("openrouter:meta-llama/llama-3.3-70b-instruct"))
        .unwrap();
    let out = chat(model.as_ref()).await;
    assert_eq!(out.deltas, ["Once", " upon"]);
    assert_eq!(out.done().usage.tokens_in, 4);
    assert_eq!(out.done().reported_cost_usd, Some(0.0042));
    let req = &fake.requests()[0];
    assert_eq!(
        req.json()["usage"]["include"],
        true,
        "usage accounting asked for"
    );
    assert_eq!(
        req.header("http-referer"),
        Some("https://example.invalid/gm")
    );
    assert_eq!(req.header("x-title"), Some("AI GameMaster"));
    assert_eq!(req.json()["model"], "meta-llama/llama-3.3-70b-instruct");
}

#[test]
fn openrouter_mid_stream_error_ends_the_stream() {
    let mut events = openai_events(&["The dragon"], None);
    events.truncate(2);
    events.push(
        r#"data: {"id":"x","object":"chat.completion.chunk","error":{"code":502,"message":"Upstream provider went away"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}"#
            .to_string()
            + "\n\n",
    );
    let out = decode_now(Provider::OpenRouter, vec![events.concat().into_bytes()]);
    assert_eq!(out.deltas, ["The dragon"]);
    let e = out.error();
    assert_eq!(e.kind, ErrorKind::Server);
    assert!(
        e.message.contains("Upstream provider went away"),
        "{}",
        e.message
    );
}

#[test]
fn anthropic_mid_stream_overloaded_error() {
    let mut events = anthropic_events(&["The orc"], 5, 3);
    events.truncate(3);
    events.push(
        "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n".into(),
    );
    let out = decode_now(Provider::Anthropic, vec![events.concat().into_bytes()]);
    assert_eq!(out.deltas, ["The orc"]);
    assert_eq!(out.error().kind, ErrorKind::Overloaded);
}

#[test]
fn anthropic_ignores_thinking_tool_input_and_unknown_events() {
    let mut events = anthropic_events(&["Visible"], 5, 3);
    events.insert(2, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\n\n".into());
    events.insert(2, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\"}}\n\n".into());
    events.insert(
        2,
        "event: brand_new\ndata: {\"type\":\"brand_new\",\"x\":1}\n\n".into(),
    );
    let out = decode_now(Provider::Anthropic, vec![events.concat().into_bytes()]);
    assert_eq!(out.deltas, ["Visible"]);
    assert_eq!(out.done().usage.tokens_out, 3);
}

#[test]
fn anthropic_max_tokens_and_running_output_total() {
    let body = [
        ("message_start", r#"{"type":"message_start","message":{"usage":{"input_tokens":9,"output_tokens":1}}}"#),
        ("content_block_delta", r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}}"#),
        ("message_delta", r#"{"type":"message_delta","delta":{"stop_reason":null},"usage":{"output_tokens":4}}"#),
        ("message_delta", r#"{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":10}}"#),
        ("message_stop", r#"{"type":"message_stop"}"#),
    ]
    .map(|(e, d)| format!("event: {e}\ndata: {d}\n\n"))
    .concat();
    let out = decode_now(Provider::Anthropic, vec![body.into_bytes()]);
    assert_eq!(out.done().finish_reason, FinishReason::Length);
    assert_eq!(out.done().usage.tokens_out, 10);
}

#[test]
fn empty_completion_finishes_without_text() {
    let body = openai_events(&[], Some((7, 0))).concat();
    let out = decode_now(Provider::OpenAi, vec![body.into_bytes()]);
    assert!(out.deltas.is_empty());
    let done = out.done();
    assert_eq!(done.finish_reason, FinishReason::Stop);
    assert_eq!(done.ttft, None);
    assert_eq!((done.usage.tokens_in, done.usage.tokens_out), (7, 0));
}

#[test]
fn malformed_json_is_reported() {
    let mut events = openai_events(&["fine"], Some((1, 1)));
    events.insert(2, "data: {\"choices\": [ this is not json\n\n".into());
    let out = decode_now(Provider::OpenAi, vec![events.concat().into_bytes()]);
    assert_eq!(out.deltas, ["fine"]);
    assert_eq!(out.error().kind, ErrorKind::Malformed);
}

#[test]
fn stream_without_done_or_finish_reason_is_interrupted() {
    let mut events = openai_events(&["half a", " sentence"], Some((1, 1)));
    events.truncate(3);
    let out = decode_now(Provider::OpenAi, vec![events.concat().into_bytes()]);
    assert_eq!(out.text(), "half a sentence");
    assert_eq!(out.error().kind, ErrorKind::Interrupted);

    let mut events = anthropic_events(&["half"], 3, 3);
    events.truncate(3);
    let out = decode_now(Provider::Anthropic, vec![events.concat().into_bytes()]);
    assert_eq!(out.error().kind, ErrorKind::Interrupted);
}

#[test]
fn finish_reason_without_done_still_completes_with_estimated_usage() {
    let mut events = openai_events(&["The end."], None);
    events.pop(); // no [DONE]
    let out = decode_now(Provider::Local, vec![events.concat().into_bytes()]);
    assert_eq!(out.done().finish_reason, FinishReason::Stop);
    assert!(out.done().usage.estimated);
    assert!(out.done().usage.tokens_out >= 2);
}

// ---------------------------------------------------------------------------------------
// streaming behaviour over HTTP

#[tokio::test]
async fn slow_stream_arrives_piece_by_piece() {
    let events = openai_events(&["Slow", " and", " steady"], Some((3, 3)));
    let fake = FakeLlm::with([Reply::sse_chunks(events).paced(Duration::from_millis(60))]).await;
    let client = openai_client(&fake, "openai:gpt-4o", fast_policy());
    let started = Instant::now();
    let mut stream = client.stream_chat(request()).await.unwrap();
    let mut arrivals = Vec::new();
    let mut done = None;
    while let Some(item) = stream.next().await {
        match item.unwrap() {
            StreamEvent::Delta(t) => arrivals.push((t, started.elapsed())),
            StreamEvent::Done(c) => done = Some(c),
        }
    }
    let texts: Vec<&str> = arrivals.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(texts, ["Slow", " and", " steady"]);
    // each piece comes in its own paced chunk, not buffered until the end
    assert!(
        arrivals[2].1 - arrivals[0].1 >= Duration::from_millis(100),
        "{arrivals:?}"
    );
    let done = done.unwrap();
    let ttft = done.ttft.unwrap();
    assert!(
        ttft >= Duration::from_millis(100) && ttft < done.latency,
        "{done:?}"
    );
}

#[tokio::test]
async fn stream_cut_mid_chunk_is_interrupted_and_not_retried() {
    let body = openai_events(&["The bridge", " collapses", " and"], Some((1, 1))).concat();
    let cut = body.find(" collapses").unwrap() + 4;
    let fake = FakeLlm::start().await;
    fake.set_default(Reply::sse_chunks([body[..cut].to_string()]).ending(StreamEnd::Cut));
    let out = chat(&openai_client(&fake, "openai:gpt-4o", fast_policy())).await;
    assert_eq!(out.deltas, ["The bridge"]);
    assert_eq!(out.error().kind, ErrorKind::Interrupted);
    assert_eq!(fake.requests().len(), 1, "output had started: no retry");
}

#[tokio::test]
async fn stream_that_goes_silent_times_out() {
    let events = openai_events(&["Waiting"], None);
    let fake = FakeLlm::start().await;
    fake.set_default(Reply::sse_chunks(events[..2].to_vec()).ending(StreamEnd::Hang));
    let policy = RetryPolicy {
        idle_timeout: Duration::from_millis(150),
        ..fast_policy()
    };
    let started = Instant::now();
    let out = chat(&openai_client(&fake, "openai:gpt-4o", policy)).await;
    assert_eq!(out.deltas, ["Waiting"]);
    assert_eq!(out.error().kind, ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn server_that_never_answers_times_out_after_every_attempt() {
    let fake = FakeLlm::start().await;
    fake.set_default(Reply::Hang);
    let policy = RetryPolicy {
        idle_timeout: Duration::from_millis(100),
        max_attempts: 2,
        ..fast_policy()
    };
    let out = chat(&openai_client(&fake, "openai:gpt-4o", policy)).await;
    assert_eq!(out.error().kind, ErrorKind::Timeout);
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn refused_connection_is_a_connection_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = OpenAiCompatClient::new(
        http(),
        &id("local:gemma-3-270m"),
        format!("http://127.0.0.1:{port}/v1"),
        None,
        fast_policy(),
    );
    let started = Instant::now();
    let out = chat(&client).await;
    assert_eq!(out.error().kind, ErrorKind::Connection);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn dropping_the_stream_closes_the_connection() {
    let events = openai_events(&["One", " two", " three", " four"], None);
    let fake = FakeLlm::with([Reply::sse_chunks(events)
        .paced(Duration::from_millis(50))
        .ending(StreamEnd::Hang)])
    .await;
    let policy = RetryPolicy {
        idle_timeout: Duration::from_secs(10),
        ..fast_policy()
    };
    let client = openai_client(&fake, "openai:gpt-4o", policy);
    let mut stream = client.stream_chat(request()).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first, StreamEvent::Delta("One".into()));
    assert_eq!(fake.disconnects(), 0);
    drop(stream);
    assert!(
        fake.wait_for_disconnect(Duration::from_secs(3)).await,
        "server never saw the disconnect"
    );
}

// ---------------------------------------------------------------------------------------
// retries and failures

#[tokio::test]
async fn rate_limit_with_retry_after_then_success() {
    let fake = FakeLlm::with([
        Reply::status(
            429,
            r#"{"error":{"message":"Rate limit reached","type":"requests"}}"#,
        )
        .with_header("retry-after-ms", "150"),
        Reply::sse(openai_events(&["Back"], Some((2, 1))).concat()),
    ])
    .await;
    let started = Instant::now();
    let out = chat(&openai_client(&fake, "openai:gpt-4o", fast_policy())).await;
    assert_eq!(out.text(), "Back");
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "retry-after not honoured"
    );
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn retry_after_in_seconds_is_capped() {
    let fake = FakeLlm::with([
        Reply::status(429, "{}").with_header("retry-after", "30"),
        Reply::sse(openai_events(&["ok"], Some((2, 1))).concat()),
    ])
    .await;
    let started = Instant::now();
    let out = chat(&openai_client(&fake, "openai:gpt-4o", fast_policy())).await;
    assert_eq!(out.text(), "ok");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}

#[tokio::test]
async fn anthropic_529_then_success() {
    let fake = FakeLlm::with([
        Reply::status(
            529,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        ),
        Reply::sse(anthropic_events(&["Recovered"], 4, 2).concat()),
    ])
    .await;
    let out = chat(&anthropic_client(&fake, fast_policy())).await;
    assert_eq!(out.text(), "Recovered");
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn server_error_then_success_and_give_up_after_max_attempts() {
    let fake = FakeLlm::with([
        Reply::status(500, r#"{"error":{"message":"boom"}}"#),
        Reply::status(502, "bad gateway"),
        Reply::sse(openai_events(&["Third time"], Some((1, 2))).concat()),
    ])
    .await;
    let out = chat(&openai_client(&fake, "openai:gpt-4o", fast_policy())).await;
    assert_eq!(out.text(), "Third time");

    let fake = FakeLlm::start().await;
    fake.set_default(Reply::status(503, r#"{"error":{"message":"busy"}}"#));
    let out = chat(&openai_client(&fake, "openai:gpt-4o", fast_policy())).await;
    let e = out.error();
    assert_eq!((e.kind, e.status), (ErrorKind::Overloaded, Some(503)));
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn unauthorized_is_not_retried_and_never_leaks_the_key() {
    let key = "sk-test-key-0123456789";
    let fake = FakeLlm::start().await;
    fake.set_default(Reply::status(
        401,
        format!(r#"{{"error":{{"message":"Incorrect API key provided: {key}. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","code":"invalid_api_key"}}}}"#),
    ));
    let out = chat(&openai_client(&fake, "openai:gpt-4o", fast_policy())).await;
    let e = out.error();
    assert_eq!((e.kind, e.status), (ErrorKind::Auth, Some(401)));
    assert!(
        !e.message.contains(key) && !e.message.contains("0123456789"),
        "{}",
        e.message
    );
    assert!(!format!("{e:?}").contains("0123456789"));
    assert!(
        e.message.contains("Incorrect API key provided"),
        "{}",
        e.message
    );
    assert_eq!(fake.requests().len(), 1);

    // Anthropic echoing its key, via the x-api-key header path
    let fake = FakeLlm::start().await;
    fake.set_default(Reply::status(
        401,
        r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key sk-ant-test-0123456789"}}"#,
    ));
    let e = chat(&anthropic_client(&fake, fast_policy()))
        .await
        .end
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth);
    assert!(!e.message.contains("0123456789"), "{}", e.message);
}

#[tokio::test]
async fn spend_limits_are_not_retried() {
    let cases: [(u16, &str, bool); 3] = [
        (
            429,
            r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#,
            false,
        ),
        (
            402,
            r#"{"error":{"code":402,"message":"Insufficient credits"}}"#,
            false,
        ),
        (
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}}"#,
            true,
        ),
    ];
    for (status, body, anthropic) in cases {
        let fake = FakeLlm::start().await;
        fake.set_default(Reply::status(status, body));
        let out = if anthropic {
            chat(&anthropic_client(&fake, fast_policy())).await
        } else {
            chat(&openai_client(
                &fake,
                "openrouter:openai/gpt-4o-mini",
                fast_policy(),
            ))
            .await
        };
        assert_eq!(out.error().kind, ErrorKind::SpendLimit, "{status} {body}");
        assert_eq!(fake.requests().len(), 1, "{status}");
    }
}

#[tokio::test]
async fn not_found_and_bad_request_are_not_retried() {
    for (status, kind) in [
        (404, ErrorKind::NotFound),
        (400, ErrorKind::BadRequest),
        (403, ErrorKind::Auth),
    ] {
        let fake = FakeLlm::start().await;
        fake.set_default(Reply::status(status, r#"{"error":{"message":"no"}}"#));
        let out = chat(&openai_client(&fake, "openai:gpt-4o", fast_policy())).await;
        assert_eq!(out.error().kind, kind);
        assert_eq!(fake.requests().len(), 1);
    }
}

#[tokio::test]
async fn dropped_connection_before_answer_is_retried() {
    let fake = FakeLlm::with([
        Reply::Close,
        Reply::sse(openai_events(&["ok"], Some((1, 1))).concat()),
    ])
    .await;
    let out = chat(&openai_client(&fake, "openai:gpt-4o", fast_policy())).await;
    assert_eq!(out.text(), "ok");
    assert_eq!(fake.requests().len(), 2);
}

// ---------------------------------------------------------------------------------------
// images (wiremock: plain request/response)

mod images {
    use super::*;
    use base64::Engine;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR fake png body";

    fn client(server: &MockServer, model: &str) -> OpenAiImageClient {
        OpenAiImageClient::new(
            http(),
            &id(model),
            format!("{}/v1", server.uri()),
            Secret::new("sk-img-0123456789abc"),
            fast_policy(),
        )
    }

    fn ok_body(bytes: &[u8]) -> serde_json::Value {
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        serde_json::json!({"created": 1, "data": [{"b64_json": b64, "revised_prompt": "x"}]})
    }

    fn req() -> ImageRequest {
        ImageRequest {
            prompt: "A dwarf cleric".into(),
            size: "1024x1024".into(),
        }
    }

    #[tokio::test]
    async fn gpt_image_decodes_base64_and_sends_no_response_format() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/images/generations"))
            .respond_with(ResponseTemplate::new(200).set_body_json(ok_body(PNG)))
            .expect(1)
            .mount(&server)
            .await;
        let img = client(&server, "openai:gpt-image-1")
            .generate(req())
            .await
            .unwrap();
        assert_eq!(img.bytes, PNG);
        assert_eq!(img.mime, "image/png");
        let sent: serde_json::Value = server.received_requests().await.unwrap()[0]
            .body_json()
            .unwrap();
        assert_eq!(sent["model"], "gpt-image-1");
        assert!(sent.get("response_format").is_none());
        assert_eq!(sent["quality"], "medium");
        assert_eq!(sent["size"], "1024x1024");
    }

    #[tokio::test]
    async fn dall_e_asks_for_base64_and_jpeg_is_sniffed() {
        let server = MockServer::start().await;
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3];
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(ok_body(&jpeg)))
            .mount(&server)
            .await;
        let img = client(&server, "openai:dall-e-3")
            .generate(req())
            .await
            .unwrap();
        assert_eq!(img.mime, "image/jpeg");
        let sent: serde_json::Value = server.received_requests().await.unwrap()[0]
            .body_json()
            .unwrap();
        assert_eq!(sent["response_format"], "b64_json");
        assert_eq!(sent["quality"], "standard");
    }

    #[tokio::test]
    async fn safety_refusal_is_refused_and_not_retried() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({"error": {"code": "content_policy_violation", "message": "Your request was rejected as a result of our safety system.", "type": "invalid_request_error"}})))
            .expect(1)
            .mount(&server)
            .await;
        let e = client(&server, "openai:dall-e-3")
            .generate(req())
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Refused);
        assert!(e.message.contains("safety system"));
    }

    #[tokio::test]
    async fn garbage_image_data_is_malformed() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(ok_body(b"GIF89a not supported")),
            )
            .mount(&server)
            .await;
        let e = client(&server, "openai:gpt-image-1")
            .generate(req())
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Malformed);
    }

    #[tokio::test]
    async fn registry_image_model_uses_the_openai_base_url() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/images/generations"))
            .respond_with(ResponseTemplate::new(200).set_body_json(ok_body(PNG)))
            .expect(1)
            .mount(&server)
            .await;
        let registry = Registry::new(
            ProviderSettings {
                keys: ProviderKeys {
                    openai_api_key: Some(Secret::new("sk-x-0123456789")),
                    openai_base_url: Some(format!("{}/v1", server.uri())),
                    ..Default::default()
                },
                image_model: Some(id("openai:gpt-image-1")),
                timeouts: fast_policy(),
                ..Default::default()
            },
            http(),
        );
        let img = registry
            .image_model()
            .unwrap()
            .generate(req())
            .await
            .unwrap();
        assert_eq!(img.bytes, PNG);
    }
}

// ---------------------------------------------------------------------------------------
// registry end to end

#[tokio::test]
async fn registry_routes_each_provider_to_its_base_url() {
    let oa = FakeLlm::with([Reply::sse(
        openai_events(&["from openai"], Some((1, 1))).concat(),
    )])
    .await;
    let an = FakeLlm::with([Reply::sse(
        anthropic_events(&["from anthropic"], 1, 1).concat(),
    )])
    .await;
    let ds = FakeLlm::with([Reply::sse(
        openai_events(&["from deepseek"], Some((1, 1))).concat(),
    )])
    .await;
    let lo = FakeLlm::with([Reply::sse(openai_events(&["from local"], None).concat())]).await;
    let registry = Registry::new(
        ProviderSettings {
            keys: ProviderKeys {
                openai_api_key: Some(Secret::new("k1-0123456789")),
                openai_base_url: Some(oa.v1()),
                anthropic_api_key: Some(Secret::new("k2-0123456789")),
                anthropic_base_url: Some(an.url()),
                deepseek_api_key: Some(Secret::new("k3-0123456789")),
                deepseek_base_url: Some(ds.v1()),
                local_base_url: Some(lo.v1()),
                local_models: vec!["gemma-3-270m".into()],
                ..Default::default()
            },
            timeouts: fast_policy(),
            ..Default::default()
        },
        http(),
    );
    for (model, text) in [
        ("openai:gpt-4o-mini", "from openai"),
        ("anthropic:claude-haiku-4-5", "from anthropic"),
        ("deepseek:deepseek-chat", "from deepseek"),
        ("local:gemma-3-270m", "from local"),
    ] {
        let m = registry.chat_model(&id(model)).unwrap();
        assert_eq!(chat(m.as_ref()).await.text(), text, "{model}");
    }
    let local_usage = {
        lo.push(Reply::sse(openai_events(&["again"], None).concat()));
        let m = registry.chat_model(&id("local:gemma-3-270m")).unwrap();
        chat(m.as_ref()).await.done().usage
    };
    assert!(local_usage.estimated);
    let models = registry.available_models();
    assert!(models.iter().any(|m| m.id == id("local:gemma-3-270m")));
    assert!(
        !models
            .iter()
            .any(|m| m.id.provider() == Provider::OpenRouter)
    );
}

#[tokio::test]
async fn json_instead_of_a_stream_is_malformed() {
    let fake = FakeLlm::with([Reply::status(
        200,
        r#"{"error":{"message":"model not loaded"}}"#,
    )])
    .await;
    let out = chat(&openai_client(&fake, "openai:gpt-4o", fast_policy())).await;
    let e = out.error();
    assert_eq!(e.kind, ErrorKind::Malformed);
    assert!(e.message.contains("model not loaded"), "{}", e.message);
}

#[tokio::test]
async fn paced_text_helpers_script_both_apis() {
    let fake = FakeLlm::with([
        Reply::openai_text(&["a", "b"], Some((1, 2)), Duration::from_millis(5)),
        Reply::anthropic_text(&["c", "d"], 3, 4, Duration::from_millis(5)),
    ])
    .await;
    let out = chat(&openai_client(&fake, "openai:gpt-4o", fast_policy())).await;
    assert_eq!(
        (out.deltas.clone(), out.done().usage.tokens_out),
        (vec!["a".to_string(), "b".into()], 2)
    );
    let out = chat(&anthropic_client(&fake, fast_policy())).await;
    assert_eq!(
        (out.text(), out.done().usage.tokens_in),
        ("cd".to_string(), 3)
    );
}

#[test]
fn multibyte_text_split_inside_characters_survives() {
    let body = openai_events(&["Élodie ", "lève l’épée ", "🐉!"], Some((2, 3)))
        .concat()
        .into_bytes();
    for cut in 0..=body.len() {
        let out = decode_now(
            Provider::OpenAi,
            vec![body[..cut].to_vec(), body[cut..].to_vec()],
        );
        assert_eq!(out.text(), "Élodie lève l’épée 🐉!", "cut at {cut}");
    }
}

// ---------------------------------------------------------------------------------------
// hostile servers: every body has a bound in bytes, per line and in time

#[tokio::test]
async fn a_line_without_end_is_refused_after_a_mebibyte() {
    let mut line = b"data: ".to_vec();
    line.resize(64 << 20, b'a');
    let fake = FakeLlm::with([Reply::sse_chunks(
        line.chunks(1 << 16).map(<[u8]>::to_vec).collect::<Vec<_>>(),
    )])
    .await;
    let out = chat(&openai_client(&fake, "openai:gpt-4o", fast_policy())).await;
    let error = out.error();
    assert_eq!(error.kind, ErrorKind::Malformed);
    assert!(
        error.message.contains("line longer than"),
        "{}",
        error.message
    );
    assert!(
        fake.wait_for_disconnect(Duration::from_secs(3)).await,
        "the rest of the line is never read"
    );
}

#[tokio::test]
async fn an_answer_that_ignores_max_tokens_is_cut_at_its_limit() {
    let words: Vec<String> = (0..5_000).map(|i| format!("word{i} ")).collect();
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let fake = FakeLlm::with([Reply::sse_chunks(openai_events(&refs, None))]).await;
    let out = chat(&openai_client(&fake, "openai:gpt-4o", fast_policy())).await;
    let done = out.done();
    assert_eq!(done.finish_reason, FinishReason::Length);
    // request() asks for 200 tokens: the cut comes at twice that, not 5,000 words later.
    let tokens = gamemaster::llm::estimate_tokens(&out.text());
    assert!((400..=420).contains(&tokens), "{tokens} tokens");
    assert!(out.deltas.len() < 400, "{} deltas", out.deltas.len());
}

#[tokio::test]
async fn a_stream_that_trickles_ends_at_the_call_timeout() {
    // A byte every 100 ms never trips the idle timeout; the whole call has a bound all the same.
    let body = openai_events(&["Slowly, very slowly, the door opens."], None).concat();
    let fake = FakeLlm::with([Reply::sse_split(body, 1).paced(Duration::from_millis(100))]).await;
    let policy = RetryPolicy {
        call_timeout: Duration::from_secs(1),
        ..fast_policy()
    };
    let started = Instant::now();
    let out = chat(&openai_client(&fake, "openai:gpt-4o", policy)).await;
    let error = out.error();
    assert_eq!(error.kind, ErrorKind::Timeout);
    assert!(error.message.contains("too long"), "{}", error.message);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn error_bodies_are_read_only_up_to_a_bound() {
    let huge = format!(
        r#"{{"error":{{"message":"Bad gateway"}},"padding":"{}"}}"#,
        "x".repeat(32 << 20)
    );
    let fake = FakeLlm::with([Reply::status(500, huge)]).await;
    let policy = RetryPolicy {
        max_attempts: 1,
        ..fast_policy()
    };
    let out = chat(&openai_client(&fake, "openai:gpt-4o", policy)).await;
    let error = out.error();
    assert_eq!(error.kind, ErrorKind::Server);
    assert!(error.message.chars().count() < 400, "{}", error.message);
    assert!(
        fake.wait_for_disconnect(Duration::from_secs(3)).await,
        "the client stopped reading after the first 64 KiB"
    );
}
