//! Client overhead per streamed token: SSE framing + JSON parsing + event dispatch, from
//! memory (no network), through the same pipeline the clients use.

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use gamemaster::core::models::chat::{LlmError, Provider, StreamEvent};
use gamemaster::llm::{PromptText, anthropic, openai_compat};

/// An OpenAI-shaped stream (same chunk JSON as the recorded gpt-4o fixture) of about
/// `target` bytes. Returns the body and the number of text tokens in it.
fn openai_body(target: usize) -> (Vec<u8>, usize) {
    let mut body = String::new();
    let mut tokens = 0;
    while body.len() < target {
        body.push_str(&format!(
            "data: {{\"id\":\"chatcmpl-9tXjg9DdaOfymTPDrSLfxslQEH0C2\",\"object\":\"chat.completion.chunk\",\"created\":1723024748,\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_845eaabc1f\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" word{tokens}\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"
        ));
        tokens += 1;
    }
    body.push_str("data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
    body.push_str("data: {\"id\":\"x\",\"choices\":[],\"usage\":{\"prompt_tokens\":14,\"completion_tokens\":47,\"total_tokens\":61}}\n\ndata: [DONE]\n\n");
    (body.into_bytes(), tokens)
}

fn anthropic_body(target: usize) -> (Vec<u8>, usize) {
    let mut body = String::from(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":11,\"output_tokens\":1}}}\n\n",
    );
    let mut tokens = 0;
    while body.len() < target {
        body.push_str(&format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\" word{tokens}\"}}}}\n\n"
        ));
        tokens += 1;
    }
    body.push_str("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":6}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    (body.into_bytes(), tokens)
}

/// Feeds `body` in chunks of `chunk` bytes and counts the deltas.
fn run(provider: Provider, body: &Bytes, chunk: usize) -> usize {
    let pieces: Vec<Result<Bytes, LlmError>> = (0..body.len())
        .step_by(chunk)
        .map(|s| Ok(body.slice(s..(s + chunk).min(body.len()))))
        .collect();
    let stream = futures::stream::iter(pieces);
    let prompt = PromptText::new("system prompt");
    let mut events = match provider {
        Provider::Anthropic => anthropic::decode_body(stream, prompt, Instant::now()),
        p => openai_compat::decode_body(p, stream, prompt, Instant::now()),
    };
    futures::executor::block_on(async {
        let mut n = 0;
        while let Some(e) = events.next().await {
            match e.expect("bench body parses") {
                StreamEvent::Delta(_) => n += 1,
                StreamEvent::Done(_) => {}
            }
        }
        n
    })
}

fn ns_per_token(provider: Provider, body: &Bytes, chunk: usize, tokens: usize) -> f64 {
    let rounds = 20;
    let started = Instant::now();
    for _ in 0..rounds {
        assert_eq!(run(provider, body, chunk), tokens);
    }
    started.elapsed().as_nanos() as f64 / (rounds * tokens) as f64
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("stream_parse");
    group
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    for (name, provider, (body, tokens)) in [
        ("openai", Provider::OpenAi, openai_body(100_000)),
        ("anthropic", Provider::Anthropic, anthropic_body(100_000)),
    ] {
        let body = Bytes::from(body);
        group.throughput(Throughput::Elements(tokens as u64));
        for chunk in [64, 1024, body.len()] {
            group.bench_with_input(
                BenchmarkId::new(name, format!("100KB/chunk{chunk}")),
                &chunk,
                |b, &chunk| b.iter(|| run(provider, &body, chunk)),
            );
        }
        // Linearity: ten times the body should cost about ten times as much, even when it
        // arrives as one chunk.
        let (big, big_tokens) = match provider {
            Provider::Anthropic => anthropic_body(1_000_000),
            _ => openai_body(1_000_000),
        };
        let big = Bytes::from(big);
        let small_ns = ns_per_token(provider, &body, body.len(), tokens);
        let big_ns = ns_per_token(provider, &big, big.len(), big_tokens);
        eprintln!(
            "{name}: {tokens} tokens in 100 KB: {small_ns:.0} ns/token (one chunk); 1 MB: {big_ns:.0} ns/token (ratio {:.2}, 1.0 = linear)",
            big_ns / small_ns
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
