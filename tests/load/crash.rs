//! `kill -9` while 50 narrations stream: the real `gamemaster` binary as a child process
//! against the fake Discord, killed without warning, then started again on the same database.
//! What was shown is in storage (the narration rows follow the screen), the next start marks
//! the cut narrations interrupted, and every session plays on.

use crate::support;

use std::time::{Duration, Instant};

use gamemaster::core::game::transcript::{MessageRole, MessageStatus, StoredMessage};
use gamemaster::core::store::{MessageStore, SessionStore};
use support::bot::{ALICE, NARRATOR};
use support::db;
use support::fake_discord::FakeDiscord;
use support::fake_llm::{FakeLlm, Reply};

use super::load::{sessions_in, world_with_channels};

const CHANNELS: usize = 50;

fn bot_process(fake: &FakeDiscord, llm: &FakeLlm, database: &str) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_gamemaster"))
        .arg("run")
        .env_clear()
        .env("DISCORD_TOKEN", &fake.config().token)
        .env("DISCORD_API_BASE_URL", fake.base_url())
        .env("DATABASE_URL", database)
        .env("LOCAL_LLM_BASE_URL", llm.v1())
        .env("LOCAL_LLM_MODELS", "narrator,backup")
        .env("DEFAULT_MODEL", NARRATOR)
        .env("TURN_WINDOW_MS", "0")
        // Many channels of one fake server stand for many servers\' traffic.
        .env("RATE_TURN_PLAYER", "off")
        .env("RATE_TURN_SERVER", "off")
        .env("EDIT_INTERVAL_MS", "250")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start gamemaster")
}

async fn narrations(db: &gamemaster::storage::Db) -> Vec<StoredMessage> {
    let mut out = Vec::new();
    for s in db.active_sessions().await.unwrap() {
        out.extend(
            db.all_messages(s.id)
                .await
                .unwrap()
                .into_iter()
                .filter(|m| m.role == MessageRole::Assistant),
        );
    }
    out
}

async fn until(what: &str, timeout: Duration, mut check: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn kill_9_with_50_narrations_streaming() {
    let (config, channels) = world_with_channels(CHANNELS);
    let fake = FakeDiscord::start(config).await;
    let llm = FakeLlm::start().await;
    let test_db = db::sqlite().await;
    let database = test_db.url.expose().to_string();
    let guild = fake.config().guilds[0].id;
    let sessions = sessions_in(&test_db.db, guild, &channels).await;

    // Slow narrations: 40 words, 150 ms apart (6 s each).
    let words: Vec<String> = (0..40).map(|i| format!("slow{i} ")).collect();
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    llm.set_default(Reply::openai_text(&refs, None, Duration::from_millis(150)));

    let mut first = bot_process(&fake, &llm, &database);
    fake.wait_ready(0).await;
    let session = fake.shard_session(0).unwrap();
    for &c in &channels {
        fake.say(ALICE, c, &format!("Before the crash at {c}."))
            .await;
    }
    // Every channel shows part of its narration, and storage has caught up with the screen.
    until(
        "50 narrations streaming",
        Duration::from_secs(60),
        async || {
            let n = narrations(&test_db.db).await;
            n.len() == CHANNELS
                && n.iter()
                    .all(|m| m.status == MessageStatus::Streaming && m.content.contains("slow1 "))
        },
    )
    .await;
    first.start_kill().unwrap();
    first.wait().await.unwrap();
    let cut = narrations(&test_db.db).await;
    assert!(cut.iter().all(|m| m.status == MessageStatus::Streaming));
    // Storage holds at least what each channel saw.
    for &c in &channels {
        let shown: String = fake
            .messages_in(c)
            .iter()
            .filter(|m| m.from_bot)
            .map(|m| m.content.clone())
            .collect();
        assert!(shown.starts_with("slow0"), "channel {c} shows {shown:?}");
        let stored = test_db
            .db
            .all_messages(sessions[&c])
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.role == MessageRole::Assistant)
            .unwrap();
        assert!(
            stored.content.starts_with(shown.trim_end()),
            "channel {c} shows {shown:?}, stored {:?}",
            stored.content
        );
    }
    assert!(
        cut.iter().all(|m| m.content.len() < words.concat().len()),
        "killed mid-stream"
    );

    // The next start marks them interrupted and resumes every session.
    llm.set_default(Reply::openai_text(
        &["After the crash."],
        None,
        Duration::ZERO,
    ));
    let mut second = bot_process(&fake, &llm, &database);
    fake.wait_new_session(0, &session).await;
    let after = narrations(&test_db.db).await;
    assert_eq!(after.len(), CHANNELS);
    for (before, now) in cut.iter().zip(&after) {
        assert_eq!(now.status, MessageStatus::Interrupted);
        assert!(
            now.content.starts_with(&before.content),
            "nothing shown is lost"
        );
    }
    for &c in &channels {
        fake.say(ALICE, c, "We carry on.").await;
    }
    until(
        "a narration in every channel",
        Duration::from_secs(60),
        async || {
            narrations(&test_db.db)
                .await
                .iter()
                .filter(|m| m.status == MessageStatus::Complete && m.content == "After the crash.")
                .count()
                == CHANNELS
        },
    )
    .await;
    for s in test_db.db.active_sessions().await.unwrap() {
        let players = test_db
            .db
            .all_messages(s.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.role == MessageRole::User)
            .count();
        assert_eq!(players, 2, "both messages of session {} are kept", s.id);
    }
    second.start_kill().unwrap();
    let _ = second.wait().await;
    let v = fake.violations();
    assert!(v.is_empty(), "Discord rule violations: {v:#?}");
    fake.assert_no_pings();
}
