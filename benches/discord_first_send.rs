//! Time from a player's message to the bot's first message in that channel, through the fake
//! Discord with an instant model, with 200 channels playing at once.
//!
//! `cargo bench --bench discord_first_send` opens 200 sessions, then prints, measured by the
//! fake Discord's own request clock:
//! - play: every channel plays for `PLAY_SECS` (default 30): its player writes, the narration
//!   finishes, and the player writes again after 1 to 3 s (`THINK_MS=1000-3000`), all 200
//!   channels overlapping (about a hundred turns a second in all, far busier than real tables);
//! - burst: all 200 channels send in the same instant, the worst case;
//! - one turn at a time while the 200 sessions stay active.
//!
//! The fake enforces Discord's rate limits (5 posts and edits per 5 s per channel, 50
//! requests a second in all) and the bot runs with serenity's limiter and its own pacing, as
//! in production; the run ends with the number of 429s the bot received.
//!
//! The bot runs on the runtime it builds in production for its SQLite database (one thread on
//! one core, `gamemaster::runtime`), and the fake Discord and the fake model share that thread,
//! which only makes the figures worse. The harness polls the fake's request log
//! once for all channels, so its own bookkeeping does not grow with the number of channels.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::json;
use support::bot::{ALICE, spawn_bot_with, world};
use support::fake_llm::Reply;

const CHANNELS: u64 = 200;

/// Successful message posts per channel, read from the fake's request log incrementally.
#[derive(Default)]
struct PostLog {
    read: usize,
    posts: HashMap<u64, Vec<Instant>>,
    /// When each channel's narrations got their buttons (the narration is over).
    finished: HashMap<u64, Vec<Instant>>,
}

/// The channel a request to `/channels/{id}/messages[/{message}]` is about.
fn message_channel(path: &str) -> Option<u64> {
    let rest = path.strip_prefix("/api/v10/channels/")?;
    let (id, rest) = rest.split_once('/')?;
    rest.starts_with("messages").then(|| id.parse().ok())?
}

impl PostLog {
    /// Reads the requests logged since the last call.
    fn update(&mut self, fake: &support::fake_discord::FakeDiscord) {
        let new = fake.requests_from(self.read);
        self.read += new.len();
        for r in new {
            let Some(channel) = message_channel(&r.path) else {
                continue;
            };
            if r.status >= 300 {
                continue;
            }
            if r.method == "POST" && r.path.ends_with("/messages") {
                self.posts.entry(channel).or_default().push(r.at);
            }
            let buttons = r.body["components"]
                .as_array()
                .is_some_and(|c| !c.is_empty());
            if buttons {
                self.finished.entry(channel).or_default().push(r.at);
            }
        }
    }

    fn first_post_since(&self, channel: u64, since: Instant) -> Option<Instant> {
        self.posts
            .get(&channel)?
            .iter()
            .copied()
            .filter(|&at| at >= since)
            .min()
    }

    fn finished_since(&self, channel: u64, since: Instant) -> bool {
        self.finished
            .get(&channel)
            .is_some_and(|f| f.iter().any(|&at| at >= since))
    }

    /// The first post in each channel of `after` at or after its instant.
    fn first_after(
        &mut self,
        fake: &support::fake_discord::FakeDiscord,
        after: &HashMap<u64, Instant>,
    ) -> HashMap<u64, Instant> {
        self.update(fake);
        after
            .iter()
            .filter_map(|(&channel, &since)| {
                Some((channel, self.first_post_since(channel, since)?))
            })
            .collect()
    }
}

/// Where one channel's player is in its turn.
enum Seat {
    /// Reading; writes again at this instant.
    Thinking(Instant),
    /// Wrote at this instant; waits for the bot's first message.
    Waiting(Instant),
    /// The narration is showing; the turn is over when it has its buttons.
    Reading(Instant),
}

/// Every channel plays for `length`, players writing again `think` milliseconds (a range)
/// after each narration. Returns each turn's time from message to first bot message.
async fn play(
    bot: &support::bot::TestBot,
    posts: &mut PostLog,
    channels: &[u64],
    length: Duration,
    think: std::ops::Range<u64>,
) -> Vec<Duration> {
    let mut rng = rand::rng();
    let start = Instant::now();
    let mut seats: HashMap<u64, Seat> = channels
        .iter()
        .map(|&c| {
            let offset = Duration::from_millis(rng.random_range(0..think.end));
            (c, Seat::Thinking(start + offset))
        })
        .collect();
    let mut latencies = Vec::new();
    let stop_writing = start + length;
    loop {
        tokio::time::sleep(Duration::from_millis(1)).await;
        posts.update(&bot.fake);
        let now = Instant::now();
        let mut busy = 0;
        for (&channel, seat) in seats.iter_mut() {
            match *seat {
                Seat::Thinking(at) if at <= now && now < stop_writing => {
                    let sent = Instant::now();
                    bot.fake.say(ALICE, channel, "I raise my lantern.").await;
                    *seat = Seat::Waiting(sent);
                }
                Seat::Thinking(_) => continue,
                Seat::Waiting(sent) => {
                    if let Some(first) = posts.first_post_since(channel, sent) {
                        latencies.push(first.duration_since(sent));
                        *seat = Seat::Reading(sent);
                    }
                }
                Seat::Reading(sent) => {
                    if posts.finished_since(channel, sent) {
                        let pause = Duration::from_millis(rng.random_range(think.clone()));
                        *seat = Seat::Thinking(Instant::now() + pause);
                        continue;
                    }
                }
            }
            busy += 1;
        }
        if now >= stop_writing && busy == 0 {
            return latencies;
        }
        assert!(
            now < stop_writing + Duration::from_secs(60),
            "{busy} turns did not finish"
        );
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let layout = gamemaster::runtime::Layout::SameCore; // the bot's, for its SQLite database
    gamemaster::runtime::build(layout)
        .unwrap()
        .block_on(bench());
}

async fn bench() {
    let mut config = world();
    let base = config.guilds[0].general();
    let mut guild = config.guilds[0].clone();
    for i in 1..CHANNELS {
        guild = guild.with_channel(base + i, &format!("table-{i}"));
    }
    config.guilds[0] = guild;
    let bot = spawn_bot_with(
        config,
        &[
            ("TURN_WINDOW_MS", "0"),
            ("EDIT_INTERVAL_MS", "1000"),
            // The benchmark sends turn after turn; the limits are not what it measures.
            ("RATE_TURN_PLAYER", "off"),
            ("RATE_TURN_SERVER", "off"),
        ],
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

    let length = Duration::from_secs(
        std::env::var("PLAY_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(30),
    );
    let think = std::env::var("THINK_MS")
        .ok()
        .and_then(|v| {
            let (low, high) = v.split_once('-')?;
            Some(low.parse().ok()?..high.parse().ok()?)
        })
        .unwrap_or(1_000..3_000);
    let mut played = play(&bot, &mut posts, &channels, length, think.clone()).await;
    played.sort();
    println!(
        "player message to first bot message, {CHANNELS} channels playing at once for {length:?}, players writing {think:?} ms after each narration ({} turns, {:.0} turns/s): p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        played.len(),
        played.len() as f64 / length.as_secs_f64(),
        percentile(&played, 0.5),
        percentile(&played, 0.99),
        played.last().unwrap()
    );
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
        "player message to first bot message, {CHANNELS} channels sending in the same instant: p50 {:.2?}, p99 {:.2?}, max {:.2?}",
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
    let hits = bot.fake.rate_limited();
    let mut buckets: std::collections::BTreeMap<String, usize> = Default::default();
    for hit in &hits {
        *buckets.entry(hit.bucket.clone()).or_default() += 1;
    }
    println!(
        "429s the bot received over the whole run: {} in {} buckets, per bucket {buckets:?} (Discord's limits on, serenity's limiter and the bot's pacing on)",
        hits.len(),
        buckets.len()
    );
    bot.assert_clean();
}
