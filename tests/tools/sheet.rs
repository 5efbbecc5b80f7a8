//! The game remembers in the terminal: `gamemaster play --character` creates the character,
//! the game master's tags change its sheet, `gamemaster sheet --json` prints the party, and
//! the next session's narrations read the state.

use crate::support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::fake_llm::{FakeLlm, Reply};

fn gamemaster(dir: &Path, base: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gamemaster"))
        .current_dir(dir)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", format!("sqlite://{}/gm.db", dir.display()))
        .env("LOCAL_LLM_BASE_URL", base)
        .env("LOCAL_LLM_MODELS", "fake-gm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gamemaster");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `gamemaster ARGS` in `dir` on its own SQLite file, with `fake` as the local model
/// server, feeding `stdin`.
pub(crate) async fn run(dir: &Path, fake: &FakeLlm, args: &[&str], stdin: &str) -> Output {
    let (dir, args, stdin) = (
        dir.to_path_buf(),
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        stdin.to_string(),
    );
    let base = fake.v1();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        gamemaster(&dir, &base, &args, &stdin)
    })
    .await
    .unwrap()
}

fn party(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("gamemaster sheet --json prints JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_fight_changes_the_sheet_and_the_next_session_reads_it() {
    let fake = FakeLlm::start().await;
    fake.push(Reply::openai_text(
        &["Wolves circle the camp."],
        None,
        Duration::ZERO,
    ));
    fake.push(Reply::openai_text(
        &[
            "A wolf bites Mira. [[hp Mira -4]] [[condition Mira +prone]] ",
            "She finds a silver key. [[item Mira +Silver key]] [[gold mira +12]] [[note The wolves fear fire]]",
        ],
        None,
        Duration::ZERO,
    ));
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "play",
        "--campaign",
        "Wolf Night",
        "--model",
        "local:fake-gm",
        "--character",
        "Mira",
        "--class",
        "Rogue",
        "--race",
        "Elf",
    ];
    let out = run(dir.path(), &fake, &args, "I draw my dagger.\n/quit\n").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("Mira the Elf Rogue joins Wolf Night"),
        "{stderr}"
    );
    assert!(!stdout.contains("[[hp"), "tags are not shown: {stdout}");
    assert!(stdout.contains("Mira −4 HP"), "the change line: {stdout}");
    let turn = fake.requests()[1].json().to_string();
    assert!(
        turn.contains("Mira (played by player): I draw my dagger."),
        "{turn}"
    );

    let out = run(
        dir.path(),
        &fake,
        &["sheet", "--campaign", "Wolf Night", "--json"],
        "",
    )
    .await;
    let json = party(&out);
    assert_eq!(json["campaign"], "Wolf Night");
    let mira = &json["characters"][0];
    assert_eq!(mira["name"], "Mira");
    assert_eq!(
        (mira["class"].as_str(), mira["race"].as_str()),
        (Some("Rogue"), Some("Elf"))
    );
    assert_eq!(mira["level"], 1);
    assert_eq!(
        (mira["xp"].as_i64(), mira["vitals"].as_str()),
        (Some(0), Some("up"))
    );
    let max = mira["max_hp"].as_i64().unwrap();
    assert_eq!(mira["hp"].as_i64().unwrap(), max - 4);
    assert_eq!(mira["conditions"], serde_json::json!(["prone"]));
    assert!(
        mira["inventory"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["name"] == "Silver key" && i["quantity"] == 1),
        "{mira}"
    );
    assert!(mira["gold"].as_i64().unwrap() >= 12);
    assert_eq!(json["journal"], serde_json::json!(["The wolves fear fire"]));
    for key in ["ac", "max_hp"] {
        assert!(mira[key].as_i64().unwrap() > 0, "{key}");
    }

    // Playing again (a new process) finds the character and tells the model its state.
    fake.push(Reply::openai_text(
        &["The fire crackles."],
        None,
        Duration::ZERO,
    ));
    let again = ["play", "--campaign", "Wolf Night", "--character", "mira"];
    let out = run(dir.path(), &fake, &again, "I rest.\n/sheet\n/quit\n").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("HP {}/{max}", max - 4)),
        "/sheet prints the party: {stdout}"
    );
    let body = fake.requests().last().unwrap().json().to_string();
    assert!(body.contains(&format!("HP {}/{max}", max - 4)), "{body}");
    assert!(
        body.contains("prone") && body.contains("Silver key") && body.contains("wolves fear fire"),
        "{body}"
    );
    let out = run(
        dir.path(),
        &fake,
        &["sheet", "--campaign", "Wolf Night", "--json"],
        "",
    )
    .await;
    assert_eq!(
        party(&out)["characters"].as_array().unwrap().len(),
        1,
        "no second Mira"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sheet_of_an_unknown_campaign_says_so() {
    let fake = FakeLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &fake, &["sheet", "--campaign", "Nowhere"], "").await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no terminal campaign named \"Nowhere\""),
        "{stderr}"
    );
}
