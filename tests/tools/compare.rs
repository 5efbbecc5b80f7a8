//! `gamemaster compare` against fake model servers: one model answers, one is refused; one
//! keeps the party's sheets with its state tags, one writes only bad ones.

use crate::support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use gamemaster::storage::DatabaseUrl;
use gamemaster::storage::Db;
use gamemaster::tools::compare::{RESULT_COLUMNS, SUMMARY_COLUMNS};
use support::fake_llm::{FakeLlm, Reply};

const SCENARIO: &str = r#"
[campaign]
name = "Goblin Test"
themes = "forest road, goblins"
language = "en"

[settings]
max_answer_tokens = 200

[[characters]]
name = "Mira"
class = "Rogue"
race = "Halfling"

[[characters]]
name = "Brak"
class = "Fighter"
race = "Half-Orc"

[[turns]]
character = "Mira"
text = "I scout ahead."

[[turns]]
character = "Brak"
text = "I shout a challenge."

[[turns]]
character = "Mira"
text = "I strike from the shadows."
"#;

pub(crate) async fn gamemaster(
    dir: &Path,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
) -> Output {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gamemaster"));
        cmd.current_dir(&dir)
            .args(&args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run gamemaster")
    })
    .await
    .unwrap()
}

fn csv(path: &Path) -> Vec<Vec<String>> {
    // The fake servers' texts have no commas or quotes, so a plain split is enough here.
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

fn assert_png(path: &Path) {
    let file = std::fs::File::open(path).unwrap();
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{} is not a PNG: {e}", path.display()));
    let info = reader.info();
    assert_eq!((info.width, info.height), (800, 500), "{}", path.display());
    let mut buf = vec![0; reader.output_buffer_size()];
    reader.next_frame(&mut buf).expect("PNG data decodes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_models_one_refused_give_rows_summaries_charts_and_records() {
    let good = FakeLlm::start().await;
    good.set_default(Reply::openai_text(
        &["The goblins ", "leap from ", "the bushes."],
        Some((120, 30)),
        Duration::from_millis(5),
    ));
    let refused = FakeLlm::start().await;
    refused.set_default(Reply::status(
        401,
        r#"{"error":{"message":"Invalid API key","type":"invalid_request_error"}}"#,
    ));

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("scenario.toml"), SCENARIO).unwrap();
    let db_url = format!("sqlite://{}/gm.db", dir.path().display());
    let out = gamemaster(
        dir.path(),
        [
            "compare",
            "--scenario",
            "scenario.toml",
            "--model",
            "openai:gpt-4o-mini",
            "--model",
            "deepseek:deepseek-chat",
            "--out",
            "results",
        ]
        .map(String::from)
        .to_vec(),
        vec![
            ("DATABASE_URL", db_url.clone()),
            ("OPENAI_API_KEY", "sk-test-openai-key".into()),
            ("OPENAI_BASE_URL", good.v1()),
            ("DEEPSEEK_API_KEY", "sk-test-deepseek-key".into()),
            ("DEEPSEEK_BASE_URL", refused.v1()),
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "stderr: {stderr}\nstdout: {stdout}");

    // Progress: one line per model and turn, the failure with its reason.
    let progress: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("compare: "))
        .collect();
    assert_eq!(progress.len(), 8, "{stderr}");
    assert!(
        progress[0].starts_with("compare: [1/2] openai:gpt-4o-mini turn 0/3 (opening): ok in ")
    );
    assert!(progress[3].contains("turn 3/3: ok"), "{}", progress[3]);
    assert!(
        progress[5].starts_with("compare: [2/2] deepseek:deepseek-chat turn 1/3: FAILED (auth)"),
        "{}",
        progress[5]
    );
    assert!(!stderr.contains("sk-test"), "keys never printed: {stderr}");

    // results.csv: header, then 2 models x (opening + 3 turns).
    let results = csv(&dir.path().join("results/results.csv"));
    assert_eq!(results[0], RESULT_COLUMNS);
    assert_eq!(results.len(), 1 + 8);
    let col = |name: &str| RESULT_COLUMNS.iter().position(|c| *c == name).unwrap();
    for (i, row) in results[1..5].iter().enumerate() {
        assert_eq!(row.len(), RESULT_COLUMNS.len());
        assert_eq!(row[col("model")], "openai:gpt-4o-mini");
        assert_eq!(row[col("turn")], i.to_string());
        assert_eq!(row[col("ok")], "true");
        assert_eq!(row[col("tokens_in")], "120");
        assert_eq!(row[col("tokens_out")], "30");
        assert_eq!(row[col("output_chars")], "33");
        assert_eq!(row[col("error_kind")], "");
        let cost: f64 = row[col("cost_usd")].parse().unwrap();
        assert!(cost > 0.0, "priced model has a cost");
        assert!(!row[col("ttft_ms")].is_empty());
        let latency: i64 = row[col("latency_ms")].parse().unwrap();
        assert!(latency >= 15, "the paced stream took time: {latency}");
    }
    for (i, row) in results[5..].iter().enumerate() {
        assert_eq!(row.len(), RESULT_COLUMNS.len());
        assert_eq!(row[col("model")], "deepseek:deepseek-chat");
        assert_eq!(row[col("turn")], i.to_string());
        assert_eq!(row[col("ok")], "false");
        assert_eq!(row[col("error_kind")], "auth");
        assert!(
            row[col("error_message")].contains("Invalid API key"),
            "{row:?}"
        );
        assert_eq!(row[col("tokens_out")], "");
        assert_eq!(row[col("cost_usd")], "");
        assert_eq!(row[col("output_chars")], "0");
    }

    // summary.csv: one row per model, in the order given.
    let summary = csv(&dir.path().join("results/summary.csv"));
    assert_eq!(summary[0], SUMMARY_COLUMNS);
    assert_eq!(summary.len(), 3);
    let scol = |name: &str| SUMMARY_COLUMNS.iter().position(|c| *c == name).unwrap();
    assert_eq!(summary[1][scol("model")], "openai:gpt-4o-mini");
    assert_eq!(summary[1][scol("turns")], "4");
    assert_eq!(summary[1][scol("errors")], "0");
    assert_eq!(summary[1][scol("tokens_out_total")], "120");
    assert_eq!(summary[2][scol("model")], "deepseek:deepseek-chat");
    assert_eq!(summary[2][scol("errors")], "4");
    assert_eq!(summary[2][scol("error_rate")], "1");
    assert_eq!(summary[2][scol("latency_p50_ms")], "", "no successful call");

    for chart in ["latency.png", "tokens.png", "cost.png", "quality.png"] {
        assert_png(&dir.path().join("results").join(chart));
    }

    // Quality: the short answer is too short to tell its language, has no tag and no
    // assistant talk, and repeats itself from the second turn on; without --judge the
    // judge's columns are empty; a model that never answered has every check unknown.
    let table = support::csv::Table::read(&dir.path().join("results/results.csv"));
    assert_eq!(table.column("language")[..4], ["", "", "", ""]);
    assert_eq!(table.column("tag_errors")[..4], ["0", "0", "0", "0"]);
    assert_eq!(table.column("meta_talk")[..4], ["false"; 4]);
    assert_eq!(table.column("repetition")[..4], ["0", "1", "1", "1"]);
    assert_eq!(table.get(0, "budget_use"), "0.15", "30 of 200 tokens");
    assert!(table.column("judge_score").iter().all(|v| v.is_empty()));
    assert!(table.column("judge_reason").iter().all(|v| v.is_empty()));
    // No state tag: nothing changed on a narrated turn; unknown without a narration.
    assert_eq!(
        table.column("state_changes"),
        ["0", "0", "0", "0", "", "", "", ""]
    );
    assert!(table.column("state_log").iter().all(|v| v.is_empty()));
    assert!(
        table.rows[4..]
            .iter()
            .all(|r| r[11..17].iter().all(String::is_empty))
    );
    let sums = support::csv::Table::read(&dir.path().join("results/summary.csv"));
    assert_eq!(sums.get(0, "language_ok_rate"), "", "unknown, not 0");
    assert_eq!(sums.get(0, "tag_error_rate"), "0");
    assert_eq!(sums.get(0, "repetition_mean"), "0.75");
    assert_eq!(
        sums.get(1, "tag_error_rate"),
        "",
        "no narration, nothing known"
    );
    assert_eq!(sums.get(1, "judge_score_mean"), "");
    assert_eq!(sums.get(0, "state_changes_mean"), "0");
    assert_eq!(sums.get(1, "state_changes_mean"), "");
    let manifest = std::fs::read_to_string(dir.path().join("results/run.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(manifest["dice_seed"], 1, "the scenario's default seed");
    assert_eq!(manifest["judge"], serde_json::Value::Null);
    assert_eq!(manifest["models"][1], "deepseek:deepseek-chat");

    // The prompts are the game's: the campaign, the party and the player's words.
    let requests = good.requests();
    assert_eq!(requests.len(), 4);
    let first = requests[0].json();
    let system = first["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("Goblin Test") && system.contains("Mira") && system.contains("Brak"));
    let last = requests[3].json().to_string();
    assert!(
        last.contains("Mira (played by player1): I strike from the shadows."),
        "{last}"
    );
    assert!(
        last.contains("The goblins leap from the bushes."),
        "history is in the context"
    );

    // Every call is recorded with kind `compare`, none as narration.
    let db = Db::open(&DatabaseUrl::parse(&db_url).unwrap())
        .await
        .unwrap();
    let rows: Vec<(String, String, i64, Option<String>)> =
        sqlx::query_as("SELECT model, kind, ok, error_kind FROM performance_logs ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(rows.len(), 8);
    assert!(rows.iter().all(|r| r.1 == "compare"));
    assert_eq!(rows.iter().filter(|r| r.2 == 1).count(), 4);
    assert!(
        rows.iter()
            .filter(|r| r.2 == 0)
            .all(|r| r.0 == "deepseek:deepseek-chat" && r.3.as_deref() == Some("auth"))
    );
    let campaigns: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM campaigns")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(
        campaigns, 0,
        "the runs' stories stay out of the configured database"
    );
    db.close().await;
}

/// SCENARIO with Mira's starting sheet.
fn scenario_with_sheet() -> String {
    SCENARIO.replace(
        "race = \"Halfling\"\n",
        "race = \"Halfling\"\n\n[characters.sheet]\nmax_hp = 12\nhp = 12\ngold = 7\n\
         items = [\"Rope\"]\n",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changes_are_counted_per_turn_and_bad_tags_change_nothing() {
    let keeper = FakeLlm::start().await;
    keeper.set_default(Reply::openai_text(
        &[
            "An arrow grazes Mira. [[hp Mira -3]] ",
            "Brak finds torches in the cart. [[item Brak +2 Torch]] ",
            "[[note The cart belongs to the duke]]",
        ],
        Some((200, 40)),
        Duration::ZERO,
    ));
    let breaker = FakeLlm::start().await;
    breaker.set_default(Reply::openai_text(
        &[
            "Chaos on the road. [[hp Mira lots]] [[condition Mira +sleepy]] ",
            "[[gold Mira +]] [[hp Gandalf -3]] [[item Mira -Lantern]]",
        ],
        Some((200, 40)),
        Duration::ZERO,
    ));

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("scenario.toml"), scenario_with_sheet()).unwrap();
    let out = gamemaster(
        dir.path(),
        [
            "compare",
            "--scenario",
            "scenario.toml",
            "--model",
            "openai:gpt-4o-mini",
            "--model",
            "deepseek:deepseek-chat",
            "--out",
            "results",
        ]
        .map(String::from)
        .to_vec(),
        vec![
            (
                "DATABASE_URL",
                format!("sqlite://{}/gm.db", dir.path().display()),
            ),
            ("OPENAI_API_KEY", "sk-test-openai-key".into()),
            ("OPENAI_BASE_URL", keeper.v1()),
            ("DEEPSEEK_API_KEY", "sk-test-deepseek-key".into()),
            ("DEEPSEEK_BASE_URL", breaker.v1()),
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "stderr: {stderr}\nstdout: {stdout}");

    // The game master read the scenario's sheet for Mira and the standard one for Brak.
    let first = keeper.requests()[0].json().to_string();
    assert!(
        first.contains("HP 12/12") && first.contains("7 gp"),
        "{first}"
    );
    assert!(first.contains("Rope"), "{first}");

    let table = support::csv::Table::read(&dir.path().join("results/results.csv"));
    assert_eq!(table.header, RESULT_COLUMNS);
    assert_eq!(table.rows.len(), 8);
    assert_eq!(
        RESULT_COLUMNS[RESULT_COLUMNS.len() - 2..],
        ["state_changes", "state_log"],
        "the new columns come last"
    );
    // Each narration writes Mira's sheet, Brak's sheet and one note: 3 changes a turn.
    assert_eq!(table.column("state_changes")[..4], ["3"; 4]);
    for (turn, hp) in [(0, 9), (1, 6), (2, 3), (3, 0)] {
        let log = table.get(turn, "state_log");
        let parts: Vec<&str> = log.split(" | ").collect();
        assert_eq!(parts.len(), 3, "turn {turn}: {log}");
        assert!(
            parts[0].starts_with("Mira ") && parts[0].contains(&format!("{hp}/12")),
            "turn {turn}: {log}"
        );
        assert!(
            parts[1].starts_with("Brak ") && parts[1].contains("Torch"),
            "turn {turn}: {log}"
        );
        assert_eq!(parts[2], "note: The cart belongs to the duke");
        assert_eq!(table.get(turn, "tag_errors"), "0", "turn {turn}");
    }
    // Mira went down on the last turn: the death save the bot rolls is not the model's.
    assert!(!table.get(3, "state_log").contains("death save"));

    // Every tag of the other model is refused: no change, and the errors are counted.
    assert_eq!(table.column("model")[4..], ["deepseek:deepseek-chat"; 4]);
    assert_eq!(table.column("ok")[4..], ["true"; 4]);
    assert_eq!(table.column("state_changes")[4..], ["0"; 4]);
    assert!(table.column("state_log")[4..].iter().all(|v| v.is_empty()));
    for turn in 4..8 {
        let errors: u32 = table.get(turn, "tag_errors").parse().unwrap();
        assert!(errors >= 3, "the unreadable state tags count: {errors}");
    }

    let sums = support::csv::Table::read(&dir.path().join("results/summary.csv"));
    assert_eq!(sums.header, SUMMARY_COLUMNS);
    assert_eq!(sums.get(0, "state_changes_mean"), "3");
    assert_eq!(sums.get(1, "state_changes_mean"), "0");
    assert!(
        stdout.contains("state changes 3.0 per turn") && stdout.contains("state changes 0.0"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_scenario_or_model_id_fails_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        SCENARIO.replace("language = \"en\"", "language = \"klingon\""),
    )
    .unwrap();
    std::fs::write(dir.path().join("good.toml"), SCENARIO).unwrap();
    let env = || {
        vec![(
            "DATABASE_URL",
            format!("sqlite://{}/gm.db", dir.path().display()),
        )]
    };
    let args = |scenario: &str, model: &str| {
        [
            "compare",
            "--scenario",
            scenario,
            "--model",
            model,
            "--out",
            "out",
        ]
        .map(String::from)
        .to_vec()
    };

    let out = gamemaster(dir.path(), args("bad.toml", "openai:gpt-4o"), env()).await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("campaign.language") && err.contains("klingon"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");

    let out = gamemaster(dir.path(), args("good.toml", "gpt-4o"), env()).await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("provider:model"), "{err}");

    let out = gamemaster(dir.path(), args("missing.toml", "openai:gpt-4o"), env()).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
    assert!(
        !dir.path().join("out").exists(),
        "nothing written on bad input"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconfigured_provider_fails_its_rows_without_stopping_the_run() {
    let good = FakeLlm::start().await;
    good.set_default(Reply::openai_text(&["Onward."], None, Duration::ZERO));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), SCENARIO).unwrap();
    let out = gamemaster(
        dir.path(),
        [
            "compare",
            "--scenario",
            "s.toml",
            "--model",
            "anthropic:claude-sonnet-4-5",
            "--model",
            "local:tiny",
            "--out",
            "o",
        ]
        .map(String::from)
        .to_vec(),
        vec![
            (
                "DATABASE_URL",
                format!("sqlite://{}/gm.db", dir.path().display()),
            ),
            ("LOCAL_LLM_BASE_URL", good.v1()),
            ("LOCAL_LLM_MODELS", "tiny".into()),
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let results = csv(&dir.path().join("o/results.csv"));
    assert_eq!(results.len(), 9);
    assert!(
        results[1..5]
            .iter()
            .all(|r| r[7] == "false" && r[8] == "disabled")
    );
    assert!(
        results[1][10].contains("ANTHROPIC_API_KEY"),
        "{:?}",
        results[1]
    );
    // The local server sends no usage: tokens are estimated, a local model costs nothing.
    assert!(results[5..].iter().all(|r| r[7] == "true" && r[6] == "0"));
    assert!(results[5][5].parse::<u32>().unwrap() > 0);
}
