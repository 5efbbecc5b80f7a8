//! Planning a 100 KB narration streamed in 5-character deltas, and splitting it in one go.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gamemaster::core::streaming::{
    DISCORD_MESSAGE_CHARS, StreamPlanner, StreamPolicy, split_message,
};

fn narration(bytes: usize) -> String {
    let paragraph = "The lantern gutters as **Mira** steps into the crypt. Dust hangs in the \
        air, and somewhere below, water drips on stone. *Something* shifts behind the \
        sarcophagus. [[roll 1d20+3 Perception DC 13]]\n\n```text\nHere lies the last \
        warden of the vale.\n```\n\n";
    let mut text = String::with_capacity(bytes + paragraph.len());
    while text.len() < bytes {
        text.push_str(paragraph);
    }
    let end = text
        .char_indices()
        .map(|(b, _)| b)
        .take_while(|&b| b <= bytes)
        .last();
    text.truncate(end.unwrap_or(0));
    text
}

fn deltas(text: &str, chars: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest
            .char_indices()
            .nth(chars)
            .map_or(rest.len(), |(b, _)| b);
        let (delta, tail) = rest.split_at(end);
        out.push(delta);
        rest = tail;
    }
    out
}

fn bench(c: &mut Criterion) {
    let text = narration(100 * 1024);
    let pieces = deltas(&text, 5);
    let mut group = c.benchmark_group("streaming");
    group.throughput(Throughput::Bytes(text.len() as u64));

    group.bench_function("plan_100kb_in_5_char_deltas", |b| {
        b.iter(|| {
            let start = Instant::now();
            let mut planner = StreamPlanner::new(StreamPolicy::default());
            let mut ops = 0;
            for (i, delta) in pieces.iter().enumerate() {
                // One delta a millisecond: about one edit per thousand deltas.
                let now = start + Duration::from_millis(i as u64);
                ops += planner.push(black_box(delta), now).len();
            }
            let end = start + Duration::from_millis(pieces.len() as u64);
            ops += planner.finish(end).len();
            black_box(ops)
        })
    });

    group.bench_function("split_message_100kb", |b| {
        b.iter(|| black_box(split_message(black_box(&text), DISCORD_MESSAGE_CHARS)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
