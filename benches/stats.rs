use criterion::{Criterion, black_box, criterion_group, criterion_main};
use gamemaster::core::stats::{ArenaConfig, Battle, CallSample, Outcome, fit_arena, model_stats};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const MODELS: [&str; 8] = ["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"];

fn samples(count: usize, rng: &mut StdRng) -> Vec<CallSample> {
    (0..count)
        .map(|_| CallSample {
            model: MODELS[rng.random_range(0..MODELS.len())].to_owned(),
            latency_ms: rng.random_range(200..20_000),
            ttft_ms: Some(rng.random_range(50..2_000)),
            tokens_in: Some(rng.random_range(500..8_000)),
            tokens_out: Some(rng.random_range(50..800)),
            cost_usd: rng.random_bool(0.9).then(|| rng.random::<f64>() / 100.0),
            ok: rng.random_bool(0.97),
        })
        .collect()
}

fn battles(count: usize, rng: &mut StdRng) -> Vec<Battle> {
    (0..count)
        .map(|_| {
            let a = rng.random_range(0..MODELS.len());
            let b = (a + rng.random_range(1..MODELS.len())) % MODELS.len();
            let outcome = match rng.random_range(0..10) {
                0 => Outcome::Tie,
                1 => Outcome::BothBad,
                k if k < 6 + a % 3 => Outcome::AWins,
                _ => Outcome::BWins,
            };
            Battle {
                model_a: MODELS[a].to_owned(),
                model_b: MODELS[b].to_owned(),
                outcome,
            }
        })
        .collect()
}

fn bench_stats(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(42);
    let calls = samples(1_000_000, &mut rng);
    let mut group = c.benchmark_group("stats");
    group.sample_size(10);
    group.bench_function("model_stats 1M calls x 8 models", |b| {
        b.iter(|| model_stats(black_box(&calls), &[], &[]))
    });
    let votes = battles(10_000, &mut rng);
    group.bench_function("fit_arena 10k battles, 200 bootstrap rounds", |b| {
        b.iter(|| {
            fit_arena(
                black_box(&votes),
                &ArenaConfig::default(),
                &mut StdRng::seed_from_u64(1),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench_stats);
criterion_main!(benches);
