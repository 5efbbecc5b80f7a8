//! Two bot processes sharing one database, each running one of two gateway shards: the
//! deployment past one machine. On PostgreSQL when `TEST_DATABASE_URL` is set, else on one
//! SQLite file shared by both processes.

use crate::support;

use std::time::{Duration, Instant};

use gamemaster::core::game::transcript::{MessageRole, MessageStatus, NewMessage};
use gamemaster::core::ids::{GuildId, Timestamp};
use gamemaster::core::stats::{Metric, StatsQuery, StatsScope};
use gamemaster::core::store::{MessageStore, SessionStore, stats_report};
use support::bot::{ALICE, BOB, NARRATOR};
use support::db;
use support::fake_discord::{FakeConfig, FakeDiscord, FakeGuild, FakeUser, perms};
use support::fake_llm::{FakeLlm, Reply};

use super::load::sessions_in;

fn two_shard_world() -> FakeConfig {
    let mut config = FakeConfig::default();
    let members = vec![
        FakeUser::new(ALICE, "alice").with_permissions(perms::MANAGE_GUILD),
        FakeUser::new(BOB, "bob"),
    ];
    // (id >> 22) % 2 picks the shard.
    config.guilds = vec![
        FakeGuild::new((1 << 22) * 1000, "Even Keep", members.clone()),
        FakeGuild::new((1 << 22) * 1001, "Odd Keep", members),
    ];
    config.recommended_shards = 2;
    config
}

fn shard_process(
    fake: &FakeDiscord,
    llm: &FakeLlm,
    database: &str,
    shard: u32,
) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_gamemaster"))
        .arg("run")
        .env_clear()
        .env("DISCORD_TOKEN", &fake.config().token)
        .env("DISCORD_API_BASE_URL", fake.base_url())
        .env("DATABASE_URL", database)
        .env("LOCAL_LLM_BASE_URL", llm.v1())
        .env("LOCAL_LLM_MODELS", "narrator")
        .env("DEFAULT_MODEL", NARRATOR)
        .env("TURN_WINDOW_MS", "0")
        // Many channels of one fake server stand for many servers\' traffic.
        .env("RATE_TURN_PLAYER", "off")
        .env("RATE_TURN_SERVER", "off")
        .env("SHARD_COUNT", "2")
        .env("SHARD_IDS", shard.to_string())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start gamemaster")
}

/// Finished narrations (bot messages with buttons) in a channel.
fn finished(fake: &FakeDiscord, channel: u64) -> usize {
    fake.messages_in(channel)
        .iter()
        .filter(|m| m.from_bot && !m.components.is_empty())
        .count()
}

async fn wait_finished(fake: &FakeDiscord, channel: u64, n: usize) {
    let started = Instant::now();
    while finished(fake, channel) < n {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "channel {channel}: {} of {n} narrations",
            finished(fake, channel)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn two_processes_each_run_one_shard_on_one_database() {
    let test_db = match db::postgres().await {
        Some(pg) => pg,
        None => db::sqlite().await,
    };
    let database = test_db.url.expose().to_string();
    let fake = FakeDiscord::start(two_shard_world()).await;
    let llm = FakeLlm::start().await;
    llm.set_default(Reply::openai_text(
        &["The keep answers."],
        None,
        Duration::ZERO,
    ));
    let guilds = fake.config().guilds.clone();
    let mut sessions = Vec::new();
    for g in &guilds {
        let s = sessions_in(&test_db.db, g.id, &[g.general()]).await;
        sessions.push(s[&g.general()]);
    }

    let _even = shard_process(&fake, &llm, &database, 0);
    let mut odd = shard_process(&fake, &llm, &database, 1);
    fake.wait_ready(0).await;
    fake.wait_ready(1).await;

    for g in &guilds {
        fake.say(ALICE, g.general(), &format!("Hello from {}.", g.name))
            .await;
    }
    for g in &guilds {
        wait_finished(&fake, g.general(), 1).await;
    }
    // Each message was handled by exactly one process: one model call, one stored turn.
    assert_eq!(llm.requests().len(), 2);
    for (g, session) in guilds.iter().zip(&sessions) {
        let all = test_db.db.all_messages(*session).await.unwrap();
        let count = |role| all.iter().filter(|m| m.role == role).count();
        assert_eq!(count(MessageRole::User), 1, "{}", g.name);
        assert_eq!(count(MessageRole::Assistant), 1, "{}", g.name);
    }
    // Stats see both processes' calls: one narration in each server, two in all.
    let now = Timestamp::now();
    let calls = async |scope| {
        let query = StatsQuery::last_days(scope, 1, now);
        let report = stats_report(&test_db.db, &query, Metric::Latency, "sharding")
            .await
            .unwrap();
        report.stats.iter().map(|s| s.calls).sum::<u64>()
    };
    assert_eq!(calls(StatsScope::Global).await, 2);
    for g in &guilds {
        assert_eq!(
            calls(StatsScope::Server(GuildId(g.id))).await,
            1,
            "{}",
            g.name
        );
    }

    // The process of shard 1 dies: the server on shard 0 plays on.
    odd.start_kill().unwrap();
    odd.wait().await.unwrap();
    fake.say(ALICE, guilds[0].general(), "Still here?").await;
    wait_finished(&fake, guilds[0].general(), 2).await;
    assert_eq!(finished(&fake, guilds[1].general()), 1);
    // A process that starts marks only its own shard's cut narrations interrupted: the
    // other process may be streaming its own right now.
    let mut streaming = Vec::new();
    for session in &sessions {
        let campaign = test_db
            .db
            .session(*session)
            .await
            .unwrap()
            .unwrap()
            .campaign_id;
        let row = test_db
            .db
            .append_message(&NewMessage::by_bot(
                *session,
                campaign,
                MessageRole::Assistant,
                "Half a sentence".into(),
                MessageStatus::Streaming,
            ))
            .await
            .unwrap();
        streaming.push(row.id);
    }
    let previous = fake.shard_session(1);
    let _odd_again = shard_process(&fake, &llm, &database, 1);
    match previous {
        Some(p) => fake.wait_new_session(1, &p).await,
        None => fake.wait_ready(1).await,
    }
    let status = async |id| test_db.db.message(id).await.unwrap().unwrap().status;
    let started = Instant::now();
    while status(streaming[1]).await != MessageStatus::Interrupted {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "shard 1's narration"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        status(streaming[0]).await,
        MessageStatus::Streaming,
        "shard 0's narration is left to its own process"
    );

    let v = fake.violations();
    assert!(v.is_empty(), "Discord rule violations: {v:#?}");
    fake.assert_no_pings();
    println!(
        "sharding: two processes on {} served their own shard",
        test_db.backend().name()
    );
}
