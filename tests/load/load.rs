//! Many channels playing at once. Two rounds: every channel's player writes, every channel
//! gets its narration streamed (20 tokens, one every 50 ms, like a hosted model), then again.
//! Checked: every player message and every narration is stored exactly once and complete,
//! the fake Discord saw no limit broken and no edit sooner than `EDIT_INTERVAL_MS` after
//! the previous version of the message, and with Discord's rate limits on, the bot met at
//! most one 429 per bucket.
//!
//! `LOAD_CHANNELS` (default 100) sets the number of channels; the full run is
//! `LOAD_CHANNELS=500 cargo test --test load -- --nocapture`.

use crate::support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use gamemaster::core::game::campaign::{CampaignName, NewCampaign, Themes};
use gamemaster::core::game::language::Language;
use gamemaster::core::game::transcript::{MessageRole, MessageStatus};
use gamemaster::core::ids::{ChannelId, GuildId, SessionId, UserId};
use gamemaster::core::models::chat::ModelId;
use gamemaster::core::store::{CampaignStore, MessageStore, SessionStore};
use support::bot::{ALICE, NARRATOR, TestBot, spawn_bot_with, world};
use support::fake_discord::FakeConfig;
use support::fake_llm::Reply;

const EDIT_MS: u64 = 250;
const TOKENS: usize = 20;
const TOKEN_PACE: Duration = Duration::from_millis(50);
/// Upper bound for the whole run at the default size in a debug build on a busy host.
const ROUND_TIMEOUT: Duration = Duration::from_secs(240);

fn channel_count() -> usize {
    std::env::var("LOAD_CHANNELS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}

/// The default world with `n` more text channels in the first server.
pub fn world_with_channels(n: usize) -> (FakeConfig, Vec<u64>) {
    let mut config = world();
    let base = config.guilds[0].id + 10_000;
    let ids: Vec<u64> = (0..n as u64).map(|i| base + i).collect();
    let guild = config.guilds.remove(0);
    let guild = ids
        .iter()
        .fold(guild, |g, id| g.with_channel(*id, &format!("table-{id}")));
    config.guilds.insert(0, guild);
    (config, ids)
}

/// One campaign with a session in each channel, stored directly (no opening narration).
pub async fn sessions(bot: &TestBot, channels: &[u64]) -> HashMap<u64, SessionId> {
    sessions_in(bot.db(), bot.guild, channels).await
}

pub async fn sessions_in(
    db: &gamemaster::storage::Db,
    guild: u64,
    channels: &[u64],
) -> HashMap<u64, SessionId> {
    let campaign = db
        .create_campaign(&NewCampaign {
            guild_id: GuildId(guild),
            owner_id: UserId(ALICE),
            name: CampaignName::parse("Many Tables").unwrap(),
            themes: Themes::parse("a busy city").unwrap(),
            language: Language::En,
            tone: None,
            model: ModelId::parse(NARRATOR).unwrap(),
        })
        .await
        .unwrap();
    let mut out = HashMap::new();
    for &c in channels {
        let s = db
            .start_session(
                campaign.id,
                Some(GuildId(guild)),
                ChannelId(c),
                Some(UserId(ALICE)),
            )
            .await
            .unwrap();
        out.insert(c, s.id);
    }
    out
}

/// Waits until `n` finished narrations (bot messages with buttons) are in the fake Discord.
pub async fn wait_finished(bot: &TestBot, channels: &[u64], n: usize, timeout: Duration) {
    let started = Instant::now();
    loop {
        let done: usize = channels
            .iter()
            .map(|c| {
                bot.fake
                    .messages_in(*c)
                    .iter()
                    .filter(|m| m.from_bot && !m.components.is_empty())
                    .count()
            })
            .sum();
        if done >= n {
            return;
        }
        assert!(
            started.elapsed() < timeout,
            "only {done} of {n} narrations finished within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test]
async fn many_channels_play_at_once() {
    let n = channel_count();
    let (config, channels) = world_with_channels(n);
    let bot = spawn_bot_with(
        config,
        &[
            ("TURN_WINDOW_MS", "0"),
            // Hundreds of channels of one fake server stand for many servers' traffic.
            ("RATE_TURN_PLAYER", "off"),
            ("RATE_TURN_SERVER", "off"),
            ("EDIT_INTERVAL_MS", &EDIT_MS.to_string()),
        ],
    )
    .await;
    let sessions = sessions(&bot, &channels).await;
    let words: Vec<String> = (0..TOKENS).map(|i| format!("w{i} ")).collect();
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let expected = words.concat().trim_end().to_string();
    bot.llm.set_default(Reply::openai_text(
        &refs,
        Some((200, TOKENS as u32)),
        TOKEN_PACE,
    ));

    let started = Instant::now();
    let mut first_send = Vec::new();
    for round in 1..=2 {
        let mut said = HashMap::new();
        for &c in &channels {
            let id = bot
                .fake
                .say(ALICE, c, &format!("Round {round} at table {c}."))
                .await;
            said.insert(c, id);
        }
        wait_finished(&bot, &channels, n * round, ROUND_TIMEOUT).await;
        // Player message to the first message of its narration, by the fake Discord's clock.
        for &c in &channels {
            let all = bot.fake.messages_in(c);
            let player = all.iter().find(|m| m.id == said[&c]).unwrap();
            let reply = all
                .iter()
                .filter(|m| m.from_bot && m.created_at > player.created_at)
                .min_by_key(|m| m.created_at)
                .expect("a narration after the message");
            first_send.push(reply.created_at - player.created_at);
        }
    }
    let elapsed = started.elapsed();

    // Storage: exactly the two player messages and two complete narrations per channel.
    for &c in &channels {
        let all = bot.db().all_messages(sessions[&c]).await.unwrap();
        let players: Vec<&str> = all
            .iter()
            .filter(|m| m.role == MessageRole::User)
            .map(|m| m.content.as_str())
            .collect();
        assert_eq!(
            players,
            [
                format!("Round 1 at table {c}."),
                format!("Round 2 at table {c}.")
            ],
            "channel {c}"
        );
        let narrations: Vec<_> = all
            .iter()
            .filter(|m| m.role == MessageRole::Assistant)
            .collect();
        assert_eq!(narrations.len(), 2, "channel {c}: {narrations:#?}");
        for m in narrations {
            assert_eq!(m.status, MessageStatus::Complete, "channel {c}");
            assert_eq!(m.content.trim_end(), expected, "channel {c}");
        }
    }

    // Discord: no rule broken, no ping, and the edit cadence kept under load (the final
    // edit and the buttons are not throttled).
    let mut shortest = Duration::MAX;
    let mut edits = 0;
    for &c in &channels {
        for m in bot.fake.messages_in(c).iter().filter(|m| m.from_bot) {
            assert_eq!(m.content.trim_end(), expected);
            let gaps = bot.fake.edit_intervals(m.id);
            edits += gaps.len();
            for gap in gaps.iter().take(gaps.len().saturating_sub(2)) {
                shortest = shortest.min(*gap);
            }
        }
    }
    // The bot waits a full interval after Discord answered the previous version, so even
    // queued requests arrive at least that far apart.
    assert!(
        shortest >= Duration::from_millis(EDIT_MS),
        "an edit came {shortest:?} after the previous one (policy: {EDIT_MS} ms)"
    );
    bot.assert_clean();
    // Discord's limits were on: the bot's pacing met at most one 429 per bucket.
    let hits = bot.fake.rate_limited();
    let mut per_bucket: HashMap<&str, usize> = HashMap::new();
    for hit in &hits {
        *per_bucket.entry(hit.bucket.as_str()).or_default() += 1;
    }
    assert!(
        per_bucket.values().all(|&n| n <= 1),
        "several 429s in one bucket: {per_bucket:?}"
    );

    first_send.sort();
    println!(
        "load: {n} channels x 2 rounds, {} narrations of {TOKENS} tokens at {} ms a token in {:.1} s \
         ({:.1} narrations/s); {edits} edits; {} 429s; shortest throttled edit gap {}; first send p50 {} ms, \
         p99 {} ms, max {} ms",
        2 * n,
        TOKEN_PACE.as_millis(),
        elapsed.as_secs_f64(),
        (2 * n) as f64 / elapsed.as_secs_f64(),
        hits.len(),
        match shortest {
            Duration::MAX => "none (no throttled edits)".to_string(),
            gap => format!("{} ms", gap.as_millis()),
        },
        percentile(&first_send, 0.5).as_millis(),
        percentile(&first_send, 0.99).as_millis(),
        first_send.last().unwrap().as_millis(),
    );
}
