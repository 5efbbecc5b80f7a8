//! Time from a player's message to the bot's first message in that channel, through the fake
//! Discord with an instant model, with 200 channels playing at once.
//!
//! `cargo bench --bench discord_first_send` prints p50/p99 over one round of 200 simultaneous
//! turns (after the 200 opening scenes), measured by the fake Discord's own request clock.
//!
//! The bot, the fake Discord and the fake model share a two-thread runtime, as the bot does in
//! production (the log capture is then process-wide). The harness polls the fake's request log
//! once for all channels, so its own bookkeeping does not grow with the number of channels.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;
use support::bot::{ALICE, spawn_bot_with, world};
use support::fake_llm::Reply;

const CHANNELS: u64 = 200;

/// Successful message posts per channel, read from the fake's request log incrementally.
#[derive(Default)]
struct PostLog {
    read: usize,
    posts: HashMap<u64, Vec<Instant>>,
}

impl PostLog {
    /// The first post in each channel of `after` at or after its instant.
    fn first_after(
        &mut self,
        fake: &support::fake_discord::FakeDiscord,
        after: &HashMap<u64, Instant>,
    ) -> HashMap<u64, Instant> {
        let new = fake.requests_from(self.read);
        self.read += new.len();
        for r in new {
            let channel = r
                .path
                .strip_prefix("/api/v10/channels/")
                .and_then(|rest| rest.strip_suffix("/messages"))
                .and_then(|id| id.parse::<u64>().ok());
            if let Some(channel) = channel
                && r.method == "POST"
                && r.status < 300
            {
                self.posts.entry(channel).or_default().push(r.at);
            }
        }
        after
            .iter()
            .filter_map(|(channel, &since)| {
                let first = self
                    .posts
                    .get(channel)?
                    .iter()
                    .filter(|&&at| at >= since)
                    .min()?;
                Some((*channel, *first))
            })
            .collect()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
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
    let mut posts = PostLog::default();
    let long_ago = Instant::now() - Duration::from_secs(600);
    let opened: HashMap<u64, Instant> = channels.iter().map(|&c| (c, long_ago)).collect();
    while posts.first_after(&bot.fake, &opened).len() < channels.len() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the opening scenes' final edits and buttons settle.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut sent = HashMap::new();
    for &channel in &channels {
        sent.insert(channel, Instant::now());
        bot.fake.say(ALICE, channel, "I raise my lantern.").await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let firsts = loop {
        let firsts = posts.first_after(&bot.fake, &sent);
        if firsts.len() == channels.len() {
            break firsts;
        }
        assert!(
            Instant::now() < deadline,
            "{} channels got no narration",
            channels.len() - firsts.len()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let mut latencies: Vec<Duration> = firsts
        .iter()
        .map(|(channel, first)| first.duration_since(sent[channel]))
        .collect();
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
        let at = HashMap::from([(channel, Instant::now())]);
        bot.fake.say(ALICE, channel, "I listen.").await;
        let first = loop {
            if let Some(&first) = posts.first_after(&bot.fake, &at).get(&channel) {
                break first;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        single.push(first.duration_since(at[&channel]));
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
