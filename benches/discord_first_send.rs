//! Time from a player's message to the bot's first message in that channel, through the fake
//! Discord with an instant model, with 200 channels playing at once.
//!
//! `cargo bench --bench discord_first_send` prints p50/p99 over one round of 200 simultaneous
//! turns (after the 200 opening scenes), measured by the fake Discord's own request clock.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::bot::{ALICE, spawn_bot_with, world};
use support::fake_llm::Reply;

const CHANNELS: u64 = 200;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut config = world();
    let base = config.guilds[0].general();
    let mut guild = config.guilds[0].clone();
    for i in 1..CHANNELS {
        guild = guild.with_channel(base + i, &format!("table-{i}"));
    }
    config.guilds[0] = guild;
    let bot = spawn_bot_with(
        config,
        &[("TURN_WINDOW_MS", "0"), ("EDIT_INTERVAL_MS", "1000")],
    )
    .await;
    bot.llm.set_default(Reply::openai_text(
        &["The ", "torch ", "gutters."],
        Some((50, 3)),
        Duration::ZERO,
    ));
    let campaign = bot.create_campaign(ALICE, "Bench").await;
    let channels: Vec<u64> = (0..CHANNELS).map(|i| base + i).collect();

    for &channel in &channels {
        let started = bot
            .fake
            .slash(
                ALICE,
                bot.guild,
                channel,
                "session start",
                json!({"campaign": campaign.to_string()}),
            )
            .await;
        started.wait_response().await;
    }
    let posted_in = |channel: u64, after: Instant| {
        let path = format!("/api/v10/channels/{channel}/messages");
        bot.fake
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == path && r.at >= after && r.status < 300)
            .map(|r| r.at)
            .min()
    };
    let opened = Instant::now();
    for &channel in &channels {
        while posted_in(channel, opened - Duration::from_secs(600)).is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Let the opening scenes' final edits and buttons settle.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut sent = Vec::new();
    for &channel in &channels {
        sent.push((channel, Instant::now()));
        bot.fake.say(ALICE, channel, "I raise my lantern.").await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut latencies = Vec::new();
    for (channel, at) in sent {
        let first = loop {
            if let Some(first) = posted_in(channel, at) {
                break first;
            }
            assert!(
                Instant::now() < deadline,
                "channel {channel} got no narration"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        latencies.push(first.duration_since(at));
    }
    latencies.sort();
    println!(
        "player message to first bot message, {CHANNELS} channels at once: p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().unwrap()
    );

    // One turn at a time while the 200 sessions stay active: the bot's own latency, without
    // queueing behind 199 other turns on this single-threaded harness.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut single = Vec::new();
    for i in 0..100 {
        let channel = channels[(i * 37) % channels.len()];
        let at = Instant::now();
        bot.fake.say(ALICE, channel, "I listen.").await;
        let first = loop {
            if let Some(first) = posted_in(channel, at) {
                break first;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        single.push(first.duration_since(at));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    single.sort();
    println!(
        "player message to first bot message, one turn at a time with {CHANNELS} active sessions: p50 {:.2?}, p99 {:.2?}",
        percentile(&single, 0.5),
        percentile(&single, 0.99)
    );
    bot.assert_clean();
}
