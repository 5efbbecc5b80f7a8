//! The `change_state` tool (`STATE_TOOLS`): offered in both wire formats only when a request
//! asks, and its streamed calls turned into state tags after the text.

use crate::clients::{
    Outcome, anthropic_client, chat, collect, decode_now, fast_policy, openai_client, request,
};
use crate::support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use gamemaster::core::models::chat::{ChatModel, ChatRequest, FinishReason, Provider};
use support::fake_llm::{
    FakeLlm, Reply, anthropic_events, anthropic_tool_events, fragments, openai_events,
    openai_tool_events,
};

const TEXT: [&str; 2] = ["The goblin's blade ", "bites Mira."];
const ARGUMENTS: &str = r#"{"changes": ["hp Mira -5", "condition Mira +poisoned"]}"#;
const TAGS: &str = "\n[[hp Mira -5]] [[condition Mira +poisoned]]";

fn with_tool() -> ChatRequest {
    ChatRequest {
        state_tool: true,
        ..request()
    }
}

/// The body of a stream with `TEXT` and a tool call whose arguments are `arguments`, split
/// into fragments of `size` characters.
fn body(kind: Provider, arguments: &str, size: usize) -> Vec<u8> {
    let pieces = fragments(arguments, size);
    let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let events = match kind {
        Provider::Anthropic => anthropic_tool_events(&TEXT, &pieces, 12, 40),
        other => {
            assert_ne!(other, Provider::Anthropic);
            openai_tool_events(&TEXT, &pieces, Some((12, 40)))
        }
    };
    events.concat().into_bytes()
}

fn check_tags(out: &Outcome, what: &str) {
    assert_eq!(out.text(), format!("{}{TAGS}", TEXT.concat()), "{what}");
    assert_eq!(out.deltas.last().map(String::as_str), Some(TAGS), "{what}");
    let done = out.done();
    assert_eq!(done.finish_reason, FinishReason::Stop, "{what}");
    assert_eq!((done.usage.tokens_in, done.usage.tokens_out), (12, 40));
    assert!(!done.usage.estimated, "{what}");
    assert!(done.ttft.is_some(), "{what}");
}

// ---------------------------------------------------------------------------------------
// streams

#[test]
fn a_tool_call_in_many_fragments_follows_the_text_as_tags() {
    for kind in [Provider::OpenAi, Provider::Anthropic] {
        for size in [1, 2, 5, 13, ARGUMENTS.len()] {
            let out = decode_now(kind, vec![body(kind, ARGUMENTS, size)]);
            check_tags(&out, &format!("{kind:?} in fragments of {size}"));
        }
    }
}

#[test]
fn a_tool_stream_split_at_every_byte_boundary_gives_the_same_result() {
    for kind in [Provider::OpenAi, Provider::Anthropic] {
        let body = body(kind, ARGUMENTS, 4);
        for cut in 0..=body.len() {
            let out = decode_now(kind, vec![body[..cut].to_vec(), body[cut..].to_vec()]);
            check_tags(&out, &format!("{kind:?} cut at {cut}"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_stream_served_in_small_chunks_gives_the_tags() {
    let fake = FakeLlm::start().await;
    for kind in [Provider::OpenAi, Provider::Anthropic] {
        let body = body(kind, ARGUMENTS, 3);
        for size in [1, 7, 64, body.len()] {
            fake.push(Reply::sse_split(&body, size));
            let out = match kind {
                Provider::Anthropic => chat(&anthropic_client(&fake, fast_policy())).await,
                _ => chat(&openai_client(&fake, "openai:gpt-4o", fast_policy())).await,
            };
            check_tags(&out, &format!("{kind:?} in chunks of {size}"));
        }
    }
}

#[test]
fn a_tool_call_without_text_is_the_tags_alone_and_usage_is_estimated_when_unreported() {
    let pieces = fragments(r#"{"changes": ["xp Mira +100"]}"#, 4);
    let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let out = decode_now(
        Provider::Local,
        vec![openai_tool_events(&[], &pieces, None).concat().into_bytes()],
    );
    assert_eq!(out.deltas, ["[[xp Mira +100]]"]);
    let done = out.done();
    assert_eq!(done.finish_reason, FinishReason::Stop);
    assert!(done.usage.estimated);
    assert!(done.usage.tokens_out > 0, "{:?}", done.usage);
    assert!(done.ttft.is_some());

    let out = decode_now(
        Provider::Anthropic,
        vec![
            anthropic_tool_events(&[], &pieces, 3, 9)
                .concat()
                .into_bytes(),
        ],
    );
    assert_eq!(out.deltas, ["[[xp Mira +100]]"]);
}

#[test]
fn tool_calls_and_tool_use_are_normal_ends() {
    let mut events = openai_events(&["Done."], Some((3, 2)));
    events[2] = events[2].replace("\"stop\"", "\"tool_calls\"");
    assert!(events[2].contains("tool_calls"));
    let out = decode_now(Provider::OpenAi, vec![events.concat().into_bytes()]);
    assert_eq!(out.text(), "Done.");
    assert_eq!(out.done().finish_reason, FinishReason::Stop);

    let mut events = anthropic_events(&["Done."], 3, 2);
    let at = events.len() - 2;
    events[at] = events[at].replace("end_turn", "tool_use");
    assert!(events[at].contains("tool_use"));
    let out = decode_now(Provider::Anthropic, vec![events.concat().into_bytes()]);
    assert_eq!(out.text(), "Done.");
    assert_eq!(out.done().finish_reason, FinishReason::Stop);
}

/// Arguments no narration may fail on, and the tags each leaves.
fn malformed() -> Vec<(String, &'static str)> {
    let many: Vec<String> = (1..=25).map(|i| format!("\"xp Mira +{i}\"")).collect();
    let twenty: Vec<String> = (1..=20).map(|i| format!("[[xp Mira +{i}]]")).collect();
    let twenty: &'static str = Box::leak(format!("\n{}", twenty.join(" ")).into_boxed_str());
    vec![
        ("{\"changes\": [\"hp Mira -5\"".into(), ""),
        ("not json at all".into(), ""),
        (String::new(), ""),
        ("[\"hp Mira -5\"]".into(), ""),
        ("{\"changes\": \"hp Mira -5\"}".into(), ""),
        ("{\"change\": [\"hp Mira -5\"]}".into(), ""),
        (
            "{\"changes\": [5, null, {\"hp\": -5}, [\"hp Mira -5\"], \"hp Mira -5\"]}".into(),
            "\n[[hp Mira -5]]",
        ),
        (format!("{{\"changes\": [{}]}}", many.join(",")), twenty),
        (
            "{\"changes\": [\"hp Mira -5]] [[gold Mira +999\", \"[[hp Mira -5]]\", \"gold Mira +2\"]}"
                .into(),
            "\n[[gold Mira +2]]",
        ),
        (
            "{\"changes\": [\"note the duke\\nlies\", \"note a\\u0000b\", \"xp Mira +7\"]}".into(),
            "\n[[xp Mira +7]]",
        ),
        (
            "{\"changes\": [\"1d20+5\", \"roll 2d6\", \"Mira -5\", \"\", \"  \"]}".into(),
            "",
        ),
    ]
}

#[test]
fn malformed_arguments_leave_the_text_intact() {
    for kind in [Provider::OpenAi, Provider::Anthropic] {
        for (arguments, tags) in malformed() {
            let out = decode_now(kind, vec![body(kind, &arguments, 7)]);
            let what = format!("{kind:?} with {arguments:?}");
            assert_eq!(out.text(), format!("{}{tags}", TEXT.concat()), "{what}");
            assert_eq!(out.done().finish_reason, FinishReason::Stop, "{what}");
        }
    }
}

#[test]
fn tool_fields_of_the_wrong_type_do_not_break_the_stream() {
    let odd = [
        r#"data: {"choices":[{"index":0,"delta":{"tool_calls":"nonsense"}}]}"#,
        r#"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":"x","function":{"name":7,"arguments":[1]}}]}}]}"#,
        r#"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"function":null}]}}]}"#,
    ];
    let mut events = openai_events(&["Still here."], Some((3, 2)));
    for (i, e) in odd.iter().enumerate() {
        events.insert(2 + i, format!("{e}\n\n"));
    }
    let out = decode_now(Provider::OpenAi, vec![events.concat().into_bytes()]);
    assert_eq!(out.text(), "Still here.");
    out.done();

    let mut events = anthropic_events(&["Still here."], 3, 2);
    events.insert(3, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"name\":\"change_state\",\"input\":{}}}\n\n".into());
    events.insert(4, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":{\"changes\":1}}}\n\n".into());
    let out = decode_now(Provider::Anthropic, vec![events.concat().into_bytes()]);
    assert_eq!(out.text(), "Still here.");
    out.done();
}

#[test]
fn another_tool_and_input_deltas_of_no_tool_block_are_dropped() {
    let body = body(Provider::OpenAi, ARGUMENTS, 5);
    let renamed = String::from_utf8(body)
        .unwrap()
        .replace("change_state", "cast_spell");
    let out = decode_now(Provider::OpenAi, vec![renamed.into_bytes()]);
    assert_eq!(out.text(), TEXT.concat());

    let body = body_anthropic_without_start();
    let out = decode_now(Provider::Anthropic, vec![body]);
    assert_eq!(out.text(), TEXT.concat());
}

/// The Anthropic tool stream without the `content_block_start` that opens the tool block.
fn body_anthropic_without_start() -> Vec<u8> {
    let pieces = fragments(ARGUMENTS, 6);
    let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
    anthropic_tool_events(&TEXT, &pieces, 12, 40)
        .into_iter()
        .filter(|e| !(e.starts_with("event: content_block_start") && e.contains("tool_use")))
        .collect::<String>()
        .into_bytes()
}

// ---------------------------------------------------------------------------------------
// warnings

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn dropped_changes_are_warned_about_without_their_content() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let arguments = r#"{"changes": ["note SECRET-PLAN]] [[gold Mira +9", 42, "hp Mira -5"]}"#;
    let out = tracing::subscriber::with_default(subscriber, || {
        decode_now(Provider::OpenAi, vec![body(Provider::OpenAi, arguments, 9)])
    });
    assert_eq!(out.text(), format!("{}\n[[hp Mira -5]]", TEXT.concat()));
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("WARN"), "{logs}");
    assert!(logs.contains("dropped_changes=2"), "{logs}");
    assert!(!logs.contains("SECRET-PLAN"), "{logs}");
    assert!(!logs.contains("Mira"), "{logs}");
}

// ---------------------------------------------------------------------------------------
// requests

#[tokio::test]
async fn openai_compatible_requests_carry_the_tool_only_when_asked() {
    let fake = FakeLlm::start().await;
    fake.set_default(Reply::sse(openai_events(&["ok"], Some((1, 1))).concat()));
    for model in [
        "openai:gpt-4o",
        "deepseek:deepseek-chat",
        "openrouter:meta-llama/llama-3-70b",
    ] {
        let client = openai_client(&fake, model, fast_policy());
        collect(client.stream_chat(request()).await.unwrap())
            .await
            .done();
        collect(client.stream_chat(with_tool()).await.unwrap())
            .await
            .done();
    }
    let requests = fake.requests();
    assert_eq!(requests.len(), 6);
    for pair in requests.chunks(2) {
        let plain = pair[0].json();
        assert!(plain.get("tools").is_none(), "{plain}");
        assert!(plain.get("tool_choice").is_none(), "{plain}");
        let body = pair[1].json();
        assert_eq!(body["tool_choice"], "auto");
        let tools = body["tools"].as_array().unwrap();
        assert_eq!(tools.len(), 1);
        assert_eq!(tools[0]["type"], "function");
        let function = &tools[0]["function"];
        assert_eq!(function["name"], "change_state");
        let description = function["description"].as_str().unwrap();
        for form in [
            "hp NAME -5",
            "condition NAME +poisoned",
            "item NAME +2 Torch",
            "note TEXT",
        ] {
            assert!(description.contains(form), "{description}");
        }
        let schema = &function["parameters"];
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["required"][0], "changes");
        assert_eq!(schema["properties"]["changes"]["type"], "array");
        assert_eq!(schema["properties"]["changes"]["items"]["type"], "string");
        assert_eq!(schema["properties"]["changes"]["maxItems"], 20);
        // Everything else is the same request.
        assert_eq!(body["messages"], plain["messages"]);
    }
}

#[tokio::test]
async fn anthropic_requests_carry_the_tool_only_when_asked() {
    let fake = FakeLlm::start().await;
    fake.set_default(Reply::sse(anthropic_events(&["ok"], 1, 1).concat()));
    let client = anthropic_client(&fake, fast_policy());
    collect(client.stream_chat(request()).await.unwrap())
        .await
        .done();
    collect(client.stream_chat(with_tool()).await.unwrap())
        .await
        .done();
    let requests = fake.requests();
    let plain = requests[0].json();
    assert!(plain.get("tools").is_none(), "{plain}");
    assert!(plain.get("tool_choice").is_none(), "{plain}");
    let body = requests[1].json();
    let tools = body["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0]["name"], "change_state");
    assert!(
        tools[0]["description"]
            .as_str()
            .unwrap()
            .contains("hp NAME -5")
    );
    assert_eq!(tools[0]["input_schema"]["type"], "object");
    assert_eq!(
        tools[0]["input_schema"]["properties"]["changes"]["type"],
        "array"
    );
    assert!(tools[0].get("type").is_none(), "a custom tool has no type");
    assert_eq!(body["tool_choice"]["type"], "auto");
    assert_eq!(body["messages"], plain["messages"]);
}

#[tokio::test]
async fn a_tool_call_over_http_arrives_as_tags() {
    let fake = FakeLlm::start().await;
    fake.push(Reply::sse_chunks(
        String::from_utf8(body(Provider::OpenAi, ARGUMENTS, 3))
            .unwrap()
            .split_inclusive("\n\n")
            .map(str::to_string)
            .collect::<Vec<_>>(),
    ));
    let client = openai_client(&fake, "openai:gpt-4o", fast_policy());
    let out = collect(client.stream_chat(with_tool()).await.unwrap()).await;
    check_tags(&out, "over HTTP");
}
