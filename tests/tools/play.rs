//! `gamemaster play`: a session in the terminal, driven through stdin against a fake
//! OpenAI-compatible server standing in for a local model.

use crate::support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use gamemaster::core::game::transcript::MessageRole;
use gamemaster::core::ids::ChannelId;
use gamemaster::core::store::{CampaignStore, MessageStore, SessionStore};
use gamemaster::storage::DatabaseUrl;
use gamemaster::storage::Db;
use gamemaster::tools::play::{TERMINAL_CHANNEL, TERMINAL_GUILD};
use support::fake_llm::{FakeLlm, Reply};

async fn play(dir: &Path, fake: &FakeLlm, args: &[&str], stdin: &str) -> Output {
    let args: Vec<&str> = std::iter::once("play")
        .chain(args.iter().copied())
        .collect();
    super::sheet::run(dir, fake, &args, stdin).await
}

async fn open_db(dir: &Path) -> Db {
    Db::open(&DatabaseUrl::parse(&format!("sqlite://{}/gm.db", dir.display())).unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_session_streams_stores_and_continues() {
    let fake = FakeLlm::start().await;
    fake.push(Reply::openai_text(
        &["Rain lashes ", "the tavern windows."],
        None,
        Duration::ZERO,
    ));
    // Paced so the narration is shown in several edits: each piece must print once.
    fake.push(Reply::openai_text(
        &["The door ", "creaks ", "open onto ", "darkness."],
        None,
        Duration::from_millis(150),
    ));
    let dir = tempfile::tempdir().unwrap();
    let out = play(
        dir.path(),
        &fake,
        &["--campaign", "Test Quest", "--model", "local:fake-gm"],
        "\n   \nI open the cellar door.\n/quit\nnever read\n",
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout, "Rain lashes the tavern windows.\nThe door creaks open onto darkness.\n",
        "stderr: {stderr}"
    );
    assert!(
        stderr.contains("Starting Test Quest with local:fake-gm"),
        "{stderr}"
    );
    assert_eq!(
        fake.requests().len(),
        2,
        "blank lines are not turns; /quit stops"
    );
    let last = fake.requests()[1].json().to_string();
    assert!(last.contains("player: I open the cellar door."), "{last}");

    // Stored like any other session, under the terminal's server and channel.
    let db = open_db(dir.path()).await;
    let campaign = db
        .campaign_by_name(TERMINAL_GUILD, "Test Quest")
        .await
        .unwrap()
        .expect("campaign created");
    assert_eq!(campaign.model.to_string(), "local:fake-gm");
    let session = db
        .active_session(TERMINAL_CHANNEL)
        .await
        .unwrap()
        .expect("the session stays open after /quit");
    assert_eq!(session.campaign_id, campaign.id);
    assert_eq!(session.channel_id, ChannelId(1));
    let story = db.all_messages(session.id).await.unwrap();
    let roles: Vec<MessageRole> = story.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            MessageRole::Assistant,
            MessageRole::User,
            MessageRole::Assistant
        ]
    );
    assert_eq!(story[2].content, "The door creaks open onto darkness.");
    db.close().await;

    // Playing again continues the story (no new opening), then /end closes it.
    fake.push(Reply::openai_text(
        &["A rat scurries past."],
        None,
        Duration::ZERO,
    ));
    let out = play(
        dir.path(),
        &fake,
        &["--campaign", "Test Quest"],
        "I light a torch.\n/end\n",
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("Continuing Test Quest"), "{stderr}");
    assert!(
        stdout.contains("Latest: The door creaks open onto darkness."),
        "a recap first: {stdout}"
    );
    assert!(
        stdout.contains("A rat scurries past.\nThe session is over.\n"),
        "{stdout}"
    );
    assert_eq!(fake.requests().len(), 3);
    let db = open_db(dir.path()).await;
    assert!(db.active_session(TERMINAL_CHANNEL).await.unwrap().is_none());
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_model_is_reported_and_the_game_goes_on() {
    let fake = FakeLlm::start().await;
    fake.push(Reply::openai_text(
        &["You wake in a cell."],
        None,
        Duration::ZERO,
    ));
    fake.push(Reply::status(
        400,
        r#"{"error":{"message":"context too long"}}"#,
    ));
    fake.push(Reply::openai_text(
        &["The guard drops his keys."],
        None,
        Duration::ZERO,
    ));
    let dir = tempfile::tempdir().unwrap();
    let out = play(
        dir.path(),
        &fake,
        &["--model", "local:fake-gm"],
        "I shout for the guard.\nI shout louder.\n",
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("You wake in a cell.\n"), "{stdout}");
    assert!(stdout.contains("[local:fake-gm failed: "), "{stdout}");
    assert!(stdout.contains("[turn failed: "), "{stdout}");
    assert!(stdout.ends_with("The guard drops his keys.\n"), "{stdout}");
    // The failed turn's message is kept and answered with the next one.
    let last = fake.requests()[2].json().to_string();
    assert!(last.contains("I shout for the guard.") && last.contains("I shout louder."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_any_model_play_says_what_to_configure() {
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || {
            Command::new(env!("CARGO_BIN_EXE_gamemaster"))
                .current_dir(&dir)
                .arg("play")
                .env_clear()
                .env("DATABASE_URL", format!("sqlite://{}/gm.db", dir.display()))
                .stdin(Stdio::null())
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--model") && err.contains("LOCAL_LLM_BASE_URL"),
        "{err}"
    );
}
