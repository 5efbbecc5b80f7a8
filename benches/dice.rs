use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gamemaster::core::game::dice::DiceExpr;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn parse_and_roll(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(7);
    c.bench_function("parse+roll 4d6kh3+1d20adv+5", |b| {
        b.iter(|| {
            let expr = DiceExpr::parse(black_box("4d6kh3+1d20adv+5")).expect("valid expression");
            expr.roll(&mut rng).expect("rolls within bounds")
        })
    });
}

criterion_group!(benches, parse_and_roll);
criterion_main!(benches);
