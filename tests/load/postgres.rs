//! What a PostgreSQL restart does to the bot: the server drops every connection. Here only
//! this bot's own connections are dropped (`pg_terminate_backend` on its `application_name`;
//! the shared test server itself keeps running). The bot keeps playing on new connections.
//!
//! Needs PostgreSQL: `TEST_DATABASE_URL=postgres://... cargo test --test load -- --ignored`
//! (it fails when asked for without `TEST_DATABASE_URL`).

use crate::support;

use std::time::Duration;

use gamemaster::config::DatabaseUrl;
use gamemaster::core::store::MessageStore;
use gamemaster::core::transcript::{MessageRole, MessageStatus};
use gamemaster::storage::Db;
use support::bot::{ALICE, TestBot, spawn_bot_with, world};
use support::db;
use support::fake_llm::Reply;

use super::load::sessions_in;

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
