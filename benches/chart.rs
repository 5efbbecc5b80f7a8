use criterion::{Criterion, black_box, criterion_group, criterion_main};
use gamemaster::core::stats::chart::{Chart, LatencyBar, render};

fn latency_chart() -> Chart {
    let models = [
        "gpt-4o-mini",
        "claude-3-5-sonnet",
        "deepseek-chat",
        "llama-3.1-70b",
        "mistral-large",
        "qwen-2.5-72b",
    ];
    Chart::Latency {
        title: "Latency by model (last 7 days)".into(),
        bars: models
            .iter()
            .enumerate()
            .map(|(i, m)| LatencyBar {
                model: (*m).to_owned(),
                p50_ms: 600.0 + 250.0 * i as f64,
                p95_ms: 1200.0 + 400.0 * i as f64,
            })
            .collect(),
    }
}

fn bench_bar_chart(c: &mut Criterion) {
    let chart = latency_chart();
    c.bench_function("latency bar chart 800x500 png", |b| {
        b.iter(|| render(black_box(&chart), 800, 500).expect("render"))
    });
}

criterion_group!(benches, bench_bar_chart);
criterion_main!(benches);
