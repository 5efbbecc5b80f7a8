//! Fuzzing the SSE parsers of both clients: arbitrary bytes, and recorded streams corrupted
//! at random, each cut into arbitrary pieces. Whatever arrives, the pipeline never panics,
//! never invents text, ends with exactly one `Done` or one error, and its errors are short
//! and printable.

use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt;
use gamemaster::core::models::chat::{LlmError, Provider, StreamEvent};
use gamemaster::llm::{PromptText, anthropic, openai_compat};
use proptest::prelude::*;

/// The longest error message a stream may produce (it reaches logs and the channel notice).
const MESSAGE_MAX: usize = 300;

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

const FIXTURES: &[(Provider, &str)] = &[
    (Provider::OpenAi, "openai/chat_stream_with_usage.sse"),
    (Provider::OpenAi, "openai/chat_stream_length_cutoff.sse"),
    (Provider::OpenAi, "openai/chat_stream_refusal.sse"),
    (Provider::Local, "openai/llamacpp_local_stream.sse"),
    (Provider::Anthropic, "anthropic/basic_response.txt"),
    (Provider::Anthropic, "anthropic/missing_usage_response.txt"),
    (Provider::Anthropic, "anthropic/out_of_order_response.txt"),
    (Provider::Anthropic, "anthropic/refusal_response.txt"),
];

const PROVIDERS: &[Provider] = &[
    Provider::OpenAi,
    Provider::DeepSeek,
    Provider::Local,
    Provider::Anthropic,
];

/// Cuts `body` at the given positions (any order, duplicates and out-of-range ones ignored).
fn split(body: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
    at.push(0);
    at.push(body.len());
    at.sort_unstable();
    at.dedup();
    at.windows(2).map(|w| body[w[0]..w[1]].to_vec()).collect()
}

#[derive(Debug)]
struct Run {
    text: String,
    end: Result<(), LlmError>,
}

/// Runs the pieces through a client's pipeline and checks the stream's shape on the way.
fn run(kind: Provider, pieces: Vec<Vec<u8>>) -> Result<Run, TestCaseError> {
    let body = futures::stream::iter(
        pieces
            .into_iter()
            .map(|p| Ok::<_, LlmError>(Bytes::from(p))),
    );
    let prompt = PromptText::new("You are the game master.");
    let mut stream = match kind {
        Provider::Anthropic => anthropic::decode_body(body, prompt, Instant::now()),
        other => openai_compat::decode_body(other, body, prompt, Instant::now()),
    };
    futures::executor::block_on(async {
        let mut text = String::new();
        while let Some(item) = stream.next().await {
            let end = match item {
                Ok(StreamEvent::Delta(t)) => {
                    prop_assert!(!t.is_empty(), "empty delta");
                    text.push_str(&t);
                    continue;
                }
                Ok(StreamEvent::Done(_)) => Ok(()),
                Err(e) => Err(e),
            };
            prop_assert!(stream.next().await.is_none(), "events after the end");
            return Ok(Run { text, end });
        }
        Err(TestCaseError::fail(
            "the stream ended without Done or an error",
        ))
    })
}

/// Checks what any input, however broken, may produce.
fn check_clean(input_len: usize, run: &Run) -> Result<(), TestCaseError> {
    prop_assert!(
        run.text.len() <= input_len,
        "{} bytes of text out of {input_len} bytes of input",
        run.text.len()
    );
    if let Err(e) = &run.end {
        let shown = e.to_string();
        prop_assert!(
            shown.chars().count() <= MESSAGE_MAX,
            "error of {} characters",
            shown.chars().count()
        );
        prop_assert!(
            !shown.chars().any(char::is_control),
            "control characters in {shown:?}"
        );
    }
    Ok(())
}

/// A random change to a recorded stream.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (
            any::<usize>(),
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 1..16),
                // Pieces of the wire format, so corruptions stay close to real streams.
                prop_oneof![
                    Just(b"\n\n".to_vec()),
                    Just(b"data: ".to_vec()),
                    Just(b"data: [DONE]\n\n".to_vec()),
                    Just(b"event: error\n".to_vec()),
                    Just(b"\r\n".to_vec()),
                    Just(b"{\"type\":".to_vec()),
                    Just("\"\u{202E}\u{0}\"".as_bytes().to_vec()),
                    Just(vec![0xF0, 0x9F]),
                ],
            ]
        )
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut body: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = body.len();
        match m {
            Mutation::Flip(i, b) if len > 0 => body[i % len] = *b,
            Mutation::Insert(i, bytes) => {
                let at = i % (len + 1);
                body.splice(at..at, bytes.iter().copied());
            }
            Mutation::Delete(i, n) if len > 0 => {
                let at = i % len;
                body.drain(at..(at + n).min(len));
            }
            Mutation::Truncate(i) => body.truncate(i % (len + 1)),
            _ => {}
        }
    }
    body
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_in_arbitrary_pieces(
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        cuts in proptest::collection::vec(any::<usize>(), 0..32),
        which in 0..PROVIDERS.len(),
    ) {
        let out = run(PROVIDERS[which], split(&body, &cuts))?;
        check_clean(body.len(), &out)?;
    }

    #[test]
    fn sse_shaped_garbage_in_arbitrary_pieces(
        events in proptest::collection::vec(
            (
                prop_oneof![Just("data"), Just("event"), Just("id"), Just(""), Just("retry")],
                "[ -~\u{80}-\u{10FFFF}]{0,40}",
                prop_oneof![Just("\n"), Just("\n\n"), Just("\r\n"), Just("\r")],
            ),
            0..24,
        ),
        cuts in proptest::collection::vec(any::<usize>(), 0..32),
        which in 0..PROVIDERS.len(),
    ) {
        let body: String = events
            .iter()
            .map(|(field, value, end)| format!("{field}: {value}{end}"))
            .collect();
        let out = run(PROVIDERS[which], split(body.as_bytes(), &cuts))?;
        check_clean(body.len(), &out)?;
    }

    #[test]
    fn corrupted_recordings_in_arbitrary_pieces(
        which in 0..FIXTURES.len(),
        mutations in proptest::collection::vec(mutation(), 1..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..48),
    ) {
        let (kind, path) = FIXTURES[which];
        let body = apply(fixture(path), &mutations);
        let out = run(kind, split(&body, &cuts))?;
        check_clean(body.len(), &out)?;
    }

    /// Unchanged recordings mean the same thing however they are cut.
    #[test]
    fn recordings_mean_the_same_in_any_pieces(
        which in 0..FIXTURES.len(),
        cuts in proptest::collection::vec(any::<usize>(), 0..64),
    ) {
        let (kind, path) = FIXTURES[which];
        let body = fixture(path);
        let whole = run(kind, vec![body.clone()])?;
        let pieces = run(kind, split(&body, &cuts))?;
        prop_assert_eq!(&whole.text, &pieces.text);
        prop_assert_eq!(whole.end.is_ok(), pieces.end.is_ok());
        check_clean(body.len(), &pieces)?;
    }
}

#[test]
fn a_huge_unknown_event_type_gives_a_short_error() {
    let name = "x".repeat(10_000);
    let body = format!("event: {name}\ndata: {{\"type\":\"{name}\",\"choices\":\"{name}\"}}\n\n");
    for kind in PROVIDERS {
        let out = run(*kind, vec![body.clone().into_bytes()]).unwrap();
        check_clean(body.len(), &out).unwrap();
        assert!(out.end.is_err(), "{kind:?} accepted a broken event");
    }
}
