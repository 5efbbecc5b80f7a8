//! Operations through the real bot: `/system`, the `/healthz` and `/metrics` listener, and
//! the graceful shutdown (narrations in progress finish within the grace period).

use crate::support;

use std::time::Duration;

use gamemaster::core::game::transcript::{MessageRole, MessageStatus};
use gamemaster::core::ids::GuildId;
use gamemaster::core::models::perf::PerfRecord;
use gamemaster::core::store::PerfStore;
use serde_json::json;
use support::bot::{
    ALICE, BOB, CAROL, NARRATOR, OTHER_GUILD, embed_text, narrations, spawn_bot_with, world,
};
use support::fake_llm::Reply;

/// A port nobody listens on right now (bound, then released).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn record(guild: u64, model: &str, ok: bool) -> PerfRecord {
    PerfRecord {
        guild_id: Some(GuildId(guild)),
        model: model.into(),
        latency_ms: 900,
        ttft_ms: Some(200),
        tokens_in: Some(100),
        tokens_out: Some(50),
        ok,
        error_kind: (!ok).then(|| "server".to_string()),
        ..crate::support::perf::call()
    }
}

#[tokio::test]
async fn system_needs_manage_server() {
    let bot = spawn_bot_with(world(), &[]).await;
    let r = bot.run(BOB, "system", json!({})).await;
    assert!(r.ephemeral);
    assert!(r.content.contains("Manage Server"), "{}", r.content);
    assert!(r.embeds.is_empty() && r.attachments.is_empty());
    bot.assert_clean();
}

#[tokio::test]
async fn system_shows_the_owner_the_host_and_managers_their_server() {
    let bot = spawn_bot_with(world(), &[]).await;
    bot.start_playing("Ops", "The lamps flicker.").await;
    // Calls of the last hour in both servers, besides the opening just narrated.
    for (guild, model, ok) in [
        (bot.guild, "local:backup", false),
        (bot.guild, "local:backup", true),
        (OTHER_GUILD, "openai:gpt-4o", true),
    ] {
        bot.db()
            .record_call(&record(guild, model, ok))
            .await
            .unwrap();
    }

    // The application owner (alice): host figures and every server's calls.
    let owner = bot.run(ALICE, "system", json!({})).await;
    assert!(owner.ephemeral, "operational details are private");
    let text = embed_text(&owner);
    assert!(text.contains("owner view"), "{text}");
    assert!(text.contains("Host: CPU"), "{text}");
    assert!(text.contains("Shard 0: connected"), "{text}");
    assert!(text.contains("Database: SQLite"), "{text}");
    assert!(text.contains("active sessions"), "{text}");
    assert!(text.contains("all servers"), "{text}");
    assert!(
        text.contains("`local:backup`: 2 calls, 50.0% errors"),
        "{text}"
    );
    assert!(
        text.contains("`local:narrator`: 1 calls, 0.0% errors"),
        "{text}"
    );
    assert!(text.contains("`openai:gpt-4o`: 1 calls"), "{text}");
    assert!(text.contains("local: last success"), "{text}");
    assert!(text.contains("openai: not configured"), "{text}");
    let total: usize = text.chars().count();
    assert!(total < 6000, "{total} characters");
    assert_eq!(owner.attachments.len(), 1);
    let chart = &owner.attachments[0];
    assert_eq!(chart.filename, "activity.png");
    assert!(chart.bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert_eq!(
        owner.embeds[0]["image"]["url"].as_str(),
        Some("attachment://activity.png")
    );

    // A manager of the other server: no host figures, only that server's calls.
    let other_channel = bot.fake.config().guild(OTHER_GUILD).unwrap().general();
    let manager = bot
        .fake
        .slash(CAROL, OTHER_GUILD, other_channel, "system", json!({}))
        .await
        .wait_response()
        .await;
    let text = embed_text(&manager);
    assert!(!text.contains("owner view"), "{text}");
    assert!(!text.contains("Host:"), "{text}");
    assert!(text.contains("Bot: Up"), "{text}");
    assert!(text.contains("this server"), "{text}");
    assert!(text.contains("`openai:gpt-4o`: 1 calls"), "{text}");
    assert!(!text.contains("local:backup"), "{text}");
    assert!(manager.attachments[0].bytes.starts_with(b"\x89PNG"));
    bot.assert_clean();
}

#[tokio::test]
async fn provider_error_text_is_for_the_owner_only() {
    let bot = spawn_bot_with(world(), &[]).await;
    bot.llm.push(Reply::status(
        400,
        r#"{"error":{"message":"in Rime, Aria whispers the password"}}"#,
    ));
    let id = bot.create_campaign(ALICE, "Rime").await;
    bot.run(ALICE, "session start", json!({"campaign": id.to_string()}))
        .await;
    // The channel whose call failed is told why.
    bot.wait_bot_message(bot.channel, |m| m.content.contains("Aria whispers"))
        .await;
    let owner = embed_text(&bot.run(ALICE, "system", json!({})).await);
    assert!(owner.contains("Aria whispers"), "{owner}");

    // Another server's manager learns that a call failed, not what it said.
    let other_channel = bot.fake.config().guild(OTHER_GUILD).unwrap().general();
    let manager = bot
        .fake
        .slash(CAROL, OTHER_GUILD, other_channel, "system", json!({}))
        .await
        .wait_response()
        .await;
    let text = embed_text(&manager);
    assert!(!text.contains("Aria"), "{text}");
    assert!(text.contains("local: no success yet; last error"), "{text}");
    assert!(text.contains("the bot's owner sees why"), "{text}");
    bot.assert_clean();
}

#[tokio::test]
async fn healthz_and_metrics_report_the_running_bot() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let bot = spawn_bot_with(world(), &[("METRICS_ADDR", addr.as_str())]).await;
    let http = reqwest::Client::new();

    let health = http
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(health.text().await.unwrap(), "ok\n");

    bot.start_playing("Ops", "Rain on the roof.").await;
    bot.llm
        .push(Reply::status(500, r#"{"error":{"message":"boom"}}"#));
    bot.llm
        .set_default(Reply::status(500, r#"{"error":{"message":"boom"}}"#));
    bot.fake.say(ALICE, bot.channel, "I listen.").await;
    bot.wait_bot_message(bot.channel, |m| {
        m.embeds
            .iter()
            .any(|e| e.to_string().contains("No narration this turn"))
    })
    .await;

    let metrics = http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status().as_u16(), 200);
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = metrics.text().await.unwrap();
    for expected in [
        format!("gamemaster_model_calls_total{{model=\"{NARRATOR}\",outcome=\"ok\"}} 1"),
        format!("gamemaster_model_calls_total{{model=\"{NARRATOR}\",outcome=\"server\"}}"),
        format!("gamemaster_model_latency_seconds_count{{model=\"{NARRATOR}\"}}"),
        format!("gamemaster_model_ttft_seconds_bucket{{model=\"{NARRATOR}\",le=\"+Inf\"}} 1"),
        format!("gamemaster_model_tokens_total{{model=\"{NARRATOR}\",direction=\"in\"}} 30"),
        "gamemaster_turns_total 1".to_string(),
        "gamemaster_active_sessions 1".to_string(),
        "gamemaster_queue_depth 0".to_string(),
        "# TYPE gamemaster_discord_rest_errors_total counter".to_string(),
    ] {
        assert!(text.contains(&expected), "missing {expected:?} in\n{text}");
    }

    // `gamemaster healthcheck`, as the container's HEALTHCHECK runs it.
    let probe = |addr: String| async move {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_gamemaster"))
            .arg("healthcheck")
            .env_clear()
            .env("METRICS_ADDR", addr)
            .output()
            .await
            .unwrap()
    };
    let ok = probe(addr.clone()).await;
    assert!(ok.status.success(), "{ok:?}");

    // The database file disappears (an unmounted volume): unhealthy, with the reason.
    let url = bot.test_db.url.expose().to_string();
    let file = url.trim_start_matches("sqlite://").to_string();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{file}{suffix}"));
    }
    let health = http
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 503);
    let body = health.text().await.unwrap();
    assert!(
        body.contains("database") && body.contains("missing"),
        "{body}"
    );
    let failed = probe(addr.clone()).await;
    assert_eq!(failed.status.code(), Some(1), "{failed:?}");
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("503"),
        "{failed:?}"
    );
}

#[tokio::test]
async fn healthcheck_fails_when_nothing_listens() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_gamemaster"))
        .arg("healthcheck")
        .env_clear()
        .env("METRICS_ADDR", format!("127.0.0.1:{}", free_port()))
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

/// Twelve words, `pace` apart: long enough to be in progress when the shutdown starts.
fn slow_narration(pace: Duration) -> (Reply, String) {
    let words: Vec<String> = (0..12).map(|i| format!("Step{i} ")).collect();
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    (
        Reply::openai_text(&refs, Some((50, 12)), pace),
        words.concat(),
    )
}

#[tokio::test]
async fn shutdown_lets_a_narration_in_progress_finish() {
    let mut bot = spawn_bot_with(world(), &[("SHUTDOWN_TIMEOUT_SECS", "8")]).await;
    bot.start_playing("Ops", "The inn is quiet.").await;
    let (reply, full) = slow_narration(Duration::from_millis(150));
    bot.llm.push(reply);
    bot.fake
        .say(ALICE, bot.channel, "I climb the stairs.")
        .await;
    bot.wait_bot_message(bot.channel, |m| m.content.starts_with("Step0"))
        .await;

    bot.signal_stop();
    // While draining, a new message is kept and its author told the bot is restarting.
    bot.fake.say(BOB, bot.channel, "I follow quietly.").await;
    bot.wait_bot_message(bot.channel, |m| m.content.contains("restarting"))
        .await;
    bot.stop().await;

    let all = bot.story().await;
    let n = narrations(&all);
    assert_eq!(
        n.len(),
        2,
        "opening + the turn in progress, nothing started after"
    );
    assert_eq!(n[1].status, MessageStatus::Complete);
    assert_eq!(n[1].content.trim_end(), full.trim_end());
    let players: Vec<&str> = all
        .iter()
        .filter(|m| m.role == MessageRole::User)
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(players, ["I climb the stairs.", "I follow quietly."]);
    assert_eq!(
        bot.llm.requests().len(),
        2,
        "no model call after the signal"
    );

    // After the restart the kept message is narrated, without anyone writing again.
    bot.llm.push(Reply::openai_text(
        &["The stairs creak."],
        None,
        Duration::ZERO,
    ));
    bot.restart().await;
    bot.wait_bot_message(bot.channel, |m| {
        m.content.contains("The stairs creak.") && !m.components.is_empty()
    })
    .await;
    let body = String::from_utf8_lossy(&bot.llm.requests()[2].body).to_string();
    assert!(body.contains("I follow quietly."), "{body}");
    bot.assert_clean();
}

#[tokio::test]
async fn shutdown_interrupts_a_narration_that_outlasts_the_grace_period() {
    let mut bot = spawn_bot_with(world(), &[("SHUTDOWN_TIMEOUT_SECS", "1")]).await;
    bot.start_playing("Ops", "Fog rolls in.").await;
    let (reply, full) = slow_narration(Duration::from_millis(700));
    bot.llm.push(reply);
    bot.fake.say(ALICE, bot.channel, "I wait.").await;
    bot.wait_bot_message(bot.channel, |m| m.content.starts_with("Step0"))
        .await;

    bot.signal_stop();
    bot.stop().await;
    let all = bot.story().await;
    let n = narrations(&all);
    assert_eq!(n.len(), 2);
    assert_eq!(n[1].status, MessageStatus::Interrupted);
    assert!(n[1].content.starts_with("Step0"), "{:?}", n[1].content);
    assert_ne!(n[1].content.trim_end(), full.trim_end(), "it was cut");
    assert!(
        bot.llm.wait_for_disconnect(Duration::from_secs(5)).await,
        "the model call was cancelled"
    );

    bot.restart().await;
    bot.llm.push(Reply::openai_text(
        &["The fog lifts."],
        None,
        Duration::ZERO,
    ));
    bot.fake.say(ALICE, bot.channel, "I keep waiting.").await;
    bot.wait_bot_message(bot.channel, |m| {
        m.content.contains("The fog lifts.") && !m.components.is_empty()
    })
    .await;
    let again = narrations(&bot.story().await)
        .iter()
        .map(|m| m.status)
        .collect::<Vec<_>>();
    assert_eq!(
        again,
        [
            MessageStatus::Complete,
            MessageStatus::Interrupted,
            MessageStatus::Complete
        ]
    );
    bot.assert_clean();
}
