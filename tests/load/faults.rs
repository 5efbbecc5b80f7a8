//! Faults stay in the channel they hit: one channel's model (on its own fake server, as
//! `openai:gpt-4o-mini`) answers 429, 500, 529, hangs or cuts its stream, or Discord refuses
//! that channel's edits, while two other channels play on a healthy model. The healthy
//! channels are served, the affected one is told, and every player message is stored.

use crate::support;

use std::time::Duration;

use gamemaster::core::game::campaign::{CampaignName, NewCampaign, Themes};
use gamemaster::core::game::language::Language;
use gamemaster::core::game::transcript::{MessageRole, MessageStatus, StoredMessage};
use gamemaster::core::ids::{ChannelId, GuildId, SessionId, UserId};
use gamemaster::core::models::chat::ModelId;
use gamemaster::core::store::{CampaignStore, MessageStore, SessionStore};
use support::bot::{ALICE, NARRATOR, TestBot, spawn_bot_with};
use support::fake_discord::FaultKind;
use support::fake_llm::{FakeLlm, Reply, StreamEnd, openai_events};

use super::load::world_with_channels;

const FAULTY_MODEL: &str = "openai:gpt-4o-mini";
const HEARTBEAT_MS: u64 = 500;

struct Table {
    bot: TestBot,
    metrics: String,
    /// The model server of the affected channel.
    faulty: FakeLlm,
    affected: u64,
    healthy: [u64; 2],
    sessions: Vec<(u64, SessionId)>,
}

fn healthy_reply(text: &str) -> Reply {
    let words: Vec<String> = text.split(' ').map(|w| format!("{w} ")).collect();
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    Reply::openai_text(
        &refs,
        Some((80, words.len() as u32)),
        Duration::from_millis(40),
    )
}

/// Where the bot of a fault test serves `/metrics`.
pub fn metrics_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("127.0.0.1:{}", l.local_addr().unwrap().port())
}

async fn table() -> Table {
    let faulty = FakeLlm::start().await;
    let (mut config, channels) = world_with_channels(3);
    // A quick beat, so a stalled runtime shows as a late heartbeat within a test's time.
    config.heartbeat_interval_ms = HEARTBEAT_MS;
    let base = faulty.v1();
    let metrics = metrics_addr();
    let bot = spawn_bot_with(
        config,
        &[
            ("METRICS_ADDR", metrics.as_str()),
            ("TURN_WINDOW_MS", "0"),
            // Hundreds of channels of one fake server stand for many servers' traffic.
            ("RATE_TURN_PLAYER", "off"),
            ("RATE_TURN_SERVER", "off"),
            ("OPENAI_API_KEY", "sk-test-faults"),
            ("OPENAI_BASE_URL", base.as_str()),
            // Only the campaign's own model: a failure is final, not hidden by a fallback.
            ("DEFAULT_MODEL", FAULTY_MODEL),
            ("MODEL_TIMEOUT_SECS", "1"),
            ("MODEL_CALL_TIMEOUT_SECS", "3"),
        ],
    )
    .await;
    let mut sessions = Vec::new();
    for (i, (&channel, model)) in channels
        .iter()
        .zip([FAULTY_MODEL, NARRATOR, NARRATOR])
        .enumerate()
    {
        let campaign = bot
            .db()
            .create_campaign(&NewCampaign {
                guild_id: GuildId(bot.guild),
                owner_id: UserId(ALICE),
                name: CampaignName::parse(&format!("Table {i}")).unwrap(),
                themes: Themes::parse("storms").unwrap(),
                language: Language::En,
                tone: None,
                model: ModelId::parse(model).unwrap(),
            })
            .await
            .unwrap();
        let s = bot
            .db()
            .start_session(
                campaign.id,
                Some(GuildId(bot.guild)),
                ChannelId(channel),
                Some(UserId(ALICE)),
            )
            .await
            .unwrap();
        sessions.push((channel, s.id));
    }
    bot.llm
        .set_default(healthy_reply("The healthy tables play on."));
    Table {
        bot,
        metrics,
        faulty,
        affected: channels[0],
        healthy: [channels[1], channels[2]],
        sessions,
    }
}

impl Table {
    async fn metrics(&self) -> String {
        reqwest::get(format!("http://{}/metrics", self.metrics))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn story(&self, channel: u64) -> Vec<StoredMessage> {
        let session = self.sessions.iter().find(|(c, _)| *c == channel).unwrap().1;
        self.bot.db().all_messages(session).await.unwrap()
    }

    /// Everyone writes at once; the healthy tables get their narrations.
    async fn play_round(&self, round: u32) {
        for c in std::iter::once(self.affected).chain(self.healthy) {
            self.bot
                .fake
                .say(ALICE, c, &format!("Round {round} at {c}."))
                .await;
        }
        for c in self.healthy {
            self.bot
                .wait_bot_message(c, |m| {
                    m.content.contains("The healthy tables play on.") && !m.components.is_empty()
                })
                .await;
        }
    }

    /// The healthy tables' stories are whole: every message, every narration complete.
    async fn assert_healthy_tables(&self, rounds: u32) {
        for c in self.healthy {
            let all = self.story(c).await;
            let players = all.iter().filter(|m| m.role == MessageRole::User).count();
            assert_eq!(players, rounds as usize, "channel {c}");
            let narrations: Vec<_> = all
                .iter()
                .filter(|m| m.role == MessageRole::Assistant)
                .collect();
            assert_eq!(narrations.len(), rounds as usize, "channel {c}");
            assert!(
                narrations
                    .iter()
                    .all(|m| m.status == MessageStatus::Complete)
            );
        }
    }

    async fn player_messages(&self, channel: u64) -> Vec<String> {
        self.story(channel)
            .await
            .into_iter()
            .filter(|m| m.role == MessageRole::User)
            .map(|m| m.content)
            .collect()
    }

    /// Once the fault is gone, the affected table plays again.
    async fn recovers(&self) {
        self.faulty.set_default(healthy_reply("The storm passes."));
        self.bot
            .fake
            .say(ALICE, self.affected, "We try again.")
            .await;
        self.bot
            .wait_bot_message(self.affected, |m| {
                m.content.contains("The storm passes.") && !m.components.is_empty()
            })
            .await;
    }
}

/// A model error that lasts: the affected channel is told no model could narrate, its
/// message is kept, the others play, and it plays again once the provider is back.
async fn lasting_model_error(reply: Reply, kind_in_notice: &str, outcome: &str) {
    let t = table().await;
    t.faulty.set_default(reply);
    t.play_round(1).await;
    let told = t
        .bot
        .wait_bot_message(t.affected, |m| m.content.contains(FAULTY_MODEL))
        .await;
    assert!(
        told.content.to_lowercase().contains(kind_in_notice),
        "{:?}",
        told.content
    );
    t.bot
        .wait_bot_message(t.affected, |m| {
            m.embeds
                .iter()
                .any(|e| e.to_string().contains("No narration this turn"))
        })
        .await;
    assert!(t.faulty.requests().len() >= 3, "the client retried");
    t.assert_healthy_tables(1).await;
    let metrics = t.metrics().await;
    assert!(
        metrics.contains(&format!(
            "gamemaster_model_calls_total{{model=\"{NARRATOR}\",outcome=\"ok\"}} 2"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "gamemaster_model_calls_total{{model=\"{FAULTY_MODEL}\",outcome=\"{outcome}\"}} 1"
        )),
        "{metrics}"
    );
    assert_eq!(
        t.player_messages(t.affected).await,
        [format!("Round 1 at {}.", t.affected)]
    );
    t.recovers().await;
    // The kept message is in the context of the next turn.
    let last = t.faulty.requests().last().unwrap().body.clone();
    assert!(
        String::from_utf8_lossy(&last).contains(&format!("Round 1 at {}.", t.affected)),
        "the kept message reaches the model"
    );
    t.bot.assert_clean();
}

#[tokio::test]
async fn rate_limited_model() {
    lasting_model_error(
        Reply::status(
            429,
            r#"{"error":{"message":"Rate limit reached","type":"requests"}}"#,
        )
        .with_header("retry-after", "0"),
        "rate limit",
        "rate_limited",
    )
    .await;
}

#[tokio::test]
async fn failing_model() {
    lasting_model_error(
        Reply::status(500, r#"{"error":{"message":"The server had an error"}}"#),
        "server had an error",
        "server",
    )
    .await;
}

#[tokio::test]
async fn overloaded_model() {
    lasting_model_error(
        Reply::status(
            529,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        ),
        "overloaded",
        "overloaded",
    )
    .await;
}

#[tokio::test]
async fn hanging_model() {
    lasting_model_error(Reply::Hang, "did not answer", "timeout").await;
}

#[tokio::test]
async fn cut_stream_keeps_what_was_written() {
    let t = table().await;
    let events = openai_events(&["The storm ", "breaks the ", "mast"], None);
    t.faulty
        .set_default(Reply::sse_chunks(events[..3].to_vec()).ending(StreamEnd::Cut));
    t.play_round(1).await;
    let told = t
        .bot
        .wait_bot_message(t.affected, |m| m.content.contains("stopped part way"))
        .await;
    assert!(told.content.contains(FAULTY_MODEL), "{:?}", told.content);
    let narrations: Vec<StoredMessage> = t
        .story(t.affected)
        .await
        .into_iter()
        .filter(|m| m.role == MessageRole::Assistant)
        .collect();
    assert_eq!(narrations.len(), 1);
    assert_eq!(narrations[0].status, MessageStatus::Interrupted);
    assert_eq!(narrations[0].content, "The storm breaks the ");
    t.assert_healthy_tables(1).await;
    t.recovers().await;
    t.bot.assert_clean();
}

/// Discord refuses some of one channel's edits (500, then 429): the story is stored whole,
/// the message ends with the full text, and the other channels never notice. The 429 never
/// reaches the bot's code: the rate limiter waits `retry_after` and sends the edit again.
#[tokio::test]
async fn discord_refuses_edits_in_one_channel() {
    let t = table().await;
    t.faulty.set_default(healthy_reply(
        "Thunder rolls over the hills while the crew lashes the sails down tight.",
    ));
    let path = format!("/channels/{}/messages/", t.affected);
    t.bot
        .fake
        .inject_fault(Some("PATCH"), &path, FaultKind::ServerError, 1);
    t.bot.fake.inject_fault(
        Some("PATCH"),
        &path,
        FaultKind::RateLimited {
            retry_after_secs: 0.1,
        },
        1,
    );
    t.play_round(1).await;
    let shown = t
        .bot
        .wait_bot_message(t.affected, |m| {
            m.content
                .trim_end()
                .ends_with("lashes the sails down tight.")
                && !m.components.is_empty()
        })
        .await;
    let failed = t
        .bot
        .fake
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.contains(&path) && r.status >= 400)
        .count();
    assert_eq!(failed, 2, "both faults were hit: {:?}", shown.edits.len());
    let metrics = t.metrics().await;
    assert!(
        metrics.contains("gamemaster_discord_rest_errors_total{operation=\"edit\"} 1"),
        "{metrics}"
    );
    let narrations: Vec<StoredMessage> = t
        .story(t.affected)
        .await
        .into_iter()
        .filter(|m| m.role == MessageRole::Assistant)
        .collect();
    assert_eq!(narrations.len(), 1);
    assert_eq!(narrations[0].status, MessageStatus::Complete);
    t.assert_healthy_tables(1).await;
    t.bot.assert_clean();
}

/// The edit that would show the end of the narration is refused: it is retried, so the
/// channel does not keep showing half of it.
#[tokio::test]
async fn a_refused_final_edit_is_retried() {
    let t = table().await;
    // Two words, 40 ms apart: posted at the first, the second comes before any throttled
    // edit, so the first PATCH is the final text.
    t.faulty.set_default(healthy_reply("Lightning strikes."));
    let path = format!("/channels/{}/messages/", t.affected);
    t.bot
        .fake
        .inject_fault(Some("PATCH"), &path, FaultKind::ServerError, 1);
    t.play_round(1).await;
    t.bot
        .wait_bot_message(t.affected, |m| {
            m.content.trim_end() == "Lightning strikes." && !m.components.is_empty()
        })
        .await;
    let patches: Vec<(u16, String)> = t
        .bot
        .fake
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.contains(&path))
        .map(|r| {
            (
                r.status,
                r.body["content"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        patches[..2],
        [
            (500, "Lightning strikes. ".to_string()),
            (200, "Lightning strikes. ".to_string())
        ],
        "{patches:?}"
    );
    t.assert_healthy_tables(1).await;
    t.bot.assert_clean();
}

/// A hostile model server costs only its own channel: the healthy tables are served while it
/// works, and the gateway heartbeat (on the same runtime thread) keeps its beat.
async fn hostile_stream(reply: Reply) -> Table {
    let t = table().await;
    t.faulty.set_default(reply);
    let from = std::time::Instant::now();
    t.play_round(1).await;
    t.bot
        .wait_bot_message(t.affected, |m| {
            m.content.contains(FAULTY_MODEL) || !m.components.is_empty()
        })
        .await;
    // Long enough for several beats: a stalled thread would show as a gap.
    tokio::time::sleep_until((from + Duration::from_millis(6 * HEARTBEAT_MS)).into()).await;
    let beats: Vec<_> = t
        .bot
        .fake
        .heartbeats()
        .into_iter()
        .filter(|b| *b >= from)
        .collect();
    assert!(beats.len() >= 3, "heartbeats went on: {beats:?}");
    let longest = beats
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    assert!(
        longest < Duration::from_millis(3 * HEARTBEAT_MS),
        "a heartbeat came {longest:?} after the one before"
    );
    t.assert_healthy_tables(1).await;
    t
}

#[tokio::test]
async fn a_model_that_trickles_a_byte_at_a_time_is_cut_at_the_call_timeout() {
    let body = openai_events(&["The fog thickens and thickens."], None).concat();
    let t = hostile_stream(Reply::sse_split(body, 1).paced(Duration::from_millis(400))).await;
    let told = t
        .bot
        .wait_bot_message(t.affected, |m| m.content.contains(FAULTY_MODEL))
        .await;
    assert!(told.content.contains("took too long"), "{:?}", told.content);
    assert!(
        t.faulty.wait_for_disconnect(Duration::from_secs(2)).await,
        "the bot hung up on the trickle"
    );
    t.recovers().await;
    t.bot.assert_clean();
}

#[tokio::test]
async fn a_model_that_sends_a_64_mb_line_is_refused_after_a_mebibyte() {
    let mut line = b"data: ".to_vec();
    line.resize(64 << 20, b'a');
    let chunks: Vec<Vec<u8>> = line.chunks(1 << 16).map(<[u8]>::to_vec).collect();
    let t = hostile_stream(Reply::sse_chunks(chunks)).await;
    t.bot
        .wait_bot_message(t.affected, |m| m.content.contains(FAULTY_MODEL))
        .await;
    assert!(
        t.faulty.disconnects() >= 1,
        "the rest of the line was never read"
    );
    t.recovers().await;
    t.bot.assert_clean();
}

#[tokio::test]
async fn a_model_that_ignores_max_tokens_is_cut_at_the_answer_limit() {
    let words: Vec<String> = (0..20_000).map(|i| format!("wave{i} ")).collect();
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let t = hostile_stream(Reply::sse_chunks(openai_events(&refs, None))).await;
    let narration = t
        .story(t.affected)
        .await
        .into_iter()
        .find(|m| m.role == MessageRole::Assistant)
        .expect("the answer is kept, cut at its limit");
    let tokens = gamemaster::llm::estimate_tokens(&narration.content);
    // The bot asks for 700 tokens; the cut comes at twice that.
    assert!((1_400..=1_450).contains(&tokens), "{tokens} tokens");
    t.bot.assert_clean();
}
