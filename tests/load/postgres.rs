//! What a PostgreSQL restart does to the bot. The first test drops only this bot's connections
//! on the shared test server (`pg_terminate_backend` on its `application_name`); the bot plays
//! on with new ones. The second stops a server of its own (`support::pg_server`) for a few
//! seconds, connections refused, while channels play and one narration streams.
//!
//! Both are opt-in: `TEST_DATABASE_URL=postgres://... cargo test --test load -- --ignored`.
//! The first fails when asked for without `TEST_DATABASE_URL`, the second without the
//! PostgreSQL binaries (`initdb`, `pg_ctl`).

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use gamemaster::core::game::transcript::{MessageRole, MessageStatus};
use gamemaster::core::store::MessageStore;
use gamemaster::storage::DatabaseUrl;
use gamemaster::storage::Db;
use serde_json::json;
use support::bot::{ALICE, BOB, CAROL, TestBot, embed_text, spawn_bot_with, world};
use support::db;
use support::fake_llm::Reply;
use support::pg_server::PgServer;

use super::faults::metrics_addr;
use super::load::{sessions_in, wait_finished, world_with_channels};

#[tokio::test]
#[ignore = "needs PostgreSQL: set TEST_DATABASE_URL and pass --ignored"]
async fn the_bot_plays_on_after_postgres_drops_its_connections() {
    let admin_url = std::env::var("TEST_DATABASE_URL")
        .expect("this test needs TEST_DATABASE_URL (a PostgreSQL server)");
    let pg = db::postgres().await.expect("TEST_DATABASE_URL is set");
    let app = format!("gamemaster_{}", rand::random::<u32>());
    let url = format!("{}&application_name={app}", pg.url.expose());
    let bot = spawn_bot_with(world(), &[("DATABASE_URL", url.as_str())]).await;
    let session = sessions_in(&pg.db, bot.guild, &[bot.channel]).await[&bot.channel];
    bot.llm.set_default(Reply::openai_text(
        &["The lights hold."],
        None,
        Duration::ZERO,
    ));

    bot.fake.say(ALICE, bot.channel, "Before.").await;
    bot.wait_bot_message(bot.channel, |m| !m.components.is_empty())
        .await;

    let admin = Db::connect(&DatabaseUrl::parse(&admin_url).unwrap())
        .await
        .unwrap();
    let dropped: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(&app)
    .fetch_all(admin.pool())
    .await
    .unwrap();
    admin.close().await;
    assert!(!dropped.is_empty(), "the bot had connections to drop");

    bot.fake.say(ALICE, bot.channel, "After.").await;
    let started = std::time::Instant::now();
    while finished(&bot) < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no narration after the connections were dropped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all = pg.db.all_messages(session).await.unwrap();
    let players: Vec<&str> = all
        .iter()
        .filter(|m| m.role == MessageRole::User)
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(players, ["Before.", "After."]);
    let narrations = all
        .iter()
        .filter(|m| m.role == MessageRole::Assistant && m.status == MessageStatus::Complete)
        .count();
    assert_eq!(narrations, 2);
    bot.assert_clean();
}

fn finished(bot: &TestBot) -> usize {
    bot.fake
        .messages_in(bot.channel)
        .iter()
        .filter(|m| m.from_bot && !m.components.is_empty())
        .count()
}

/// The whole server stops (every connection closed, new ones refused for a few seconds) and
/// starts again while six channels play, one of them in the middle of a streaming narration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs a PostgreSQL server of its own (initdb, pg_ctl): pass --ignored"]
async fn the_bot_rides_out_a_postgres_restart() {
    let pg = Arc::new(PgServer::start());
    let (config, channels) = world_with_channels(6);
    let metrics = metrics_addr();
    let url = pg.url();
    let bot = spawn_bot_with(
        config,
        &[
            ("DATABASE_URL", url.as_str()),
            ("METRICS_ADDR", metrics.as_str()),
            ("TURN_WINDOW_MS", "0"),
            // Hundreds of channels of one fake server stand for many servers' traffic.
            ("RATE_TURN_PLAYER", "off"),
            ("RATE_TURN_SERVER", "off"),
        ],
    )
    .await;
    let db = Db::connect(&DatabaseUrl::parse(&url).unwrap())
        .await
        .unwrap();
    let sessions = sessions_in(&db, bot.guild, &channels).await;
    bot.llm.set_default(Reply::openai_text(
        &["The ", "lights ", "hold."],
        None,
        Duration::ZERO,
    ));
    for &c in &channels {
        bot.fake.say(ALICE, c, "Before.").await;
    }
    wait_finished(&bot, &channels, channels.len(), Duration::from_secs(30)).await;

    // Channel 0 is mid-narration when the server goes away.
    let streaming = channels[0];
    let pieces: Vec<String> = (0..24)
        .map(|i| format!("Step {i} of the long stair. "))
        .collect();
    let full_text: String = pieces.concat();
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    bot.llm
        .push(Reply::openai_text(&refs, None, Duration::from_millis(200)));
    bot.fake.say(ALICE, streaming, "We climb.").await;
    bot.fake
        .wait_for_message(
            |m| m.channel_id == streaming && m.from_bot && m.content.starts_with("Step 0"),
            Duration::from_secs(10),
        )
        .await;
    let server = Arc::clone(&pg);
    tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", pg.port)).is_err(),
        "connections are refused while the server is down"
    );

    let held = &channels[1..];
    for &c in held {
        bot.fake.say(BOB, c, "During the outage.").await;
    }
    // Every affected channel is told, and the health check says why it fails.
    for &c in held {
        bot.fake
            .wait_for_message(
                |m| {
                    m.channel_id == c
                        && m.from_bot
                        && m.content.contains("database is not answering")
                },
                Duration::from_secs(20),
            )
            .await;
    }
    let health = reqwest::get(format!("http://{metrics}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 503);
    assert!(health.text().await.unwrap().contains("database"));
    // What does not need the database goes on: dice, and the narration already streaming.
    let roll = bot.run(CAROL, "roll", json!({"expression": "2d6+1"})).await;
    assert!(embed_text(&roll).contains("2d6"), "{roll:?}");
    bot.fake
        .wait_for_message(
            |m| m.channel_id == streaming && m.from_bot && m.content == full_text,
            Duration::from_secs(20),
        )
        .await;

    let server = Arc::clone(&pg);
    tokio::task::spawn_blocking(move || server.start_again())
        .await
        .unwrap();

    // Without a restart of the bot, every held message is saved and narrated, once.
    wait_finished(&bot, &channels, 2 * channels.len(), Duration::from_secs(60)).await;
    for &c in held {
        bot.fake
            .wait_for_message(
                |m| m.channel_id == c && m.from_bot && m.content.contains("database is back"),
                Duration::from_secs(10),
            )
            .await;
    }
    let db = Db::connect(&DatabaseUrl::parse(&url).unwrap())
        .await
        .unwrap();
    for &c in &channels {
        let story = db.all_messages(sessions[&c]).await.unwrap();
        let players: Vec<&str> = story
            .iter()
            .filter(|m| m.role == MessageRole::User)
            .map(|m| m.content.as_str())
            .collect();
        let expected = if c == streaming {
            ["Before.", "We climb."]
        } else {
            ["Before.", "During the outage."]
        };
        assert_eq!(players, expected, "channel {c}");
        let roles: Vec<MessageRole> = story.iter().map(|m| m.role).collect();
        assert_eq!(
            roles,
            [
                MessageRole::User,
                MessageRole::Assistant,
                MessageRole::User,
                MessageRole::Assistant
            ],
            "channel {c}: the story in order"
        );
        assert!(
            story
                .iter()
                .filter(|m| m.role == MessageRole::Assistant)
                .all(|m| m.status == MessageStatus::Complete),
            "channel {c}: {story:?}"
        );
        if c == streaming {
            assert_eq!(
                story[3].content, full_text,
                "the narration shown is the one stored"
            );
        }
    }
    let health = reqwest::get(format!("http://{metrics}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    db.close().await;
    bot.assert_clean();
}
