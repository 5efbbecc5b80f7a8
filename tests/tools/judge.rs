//! `compare` with the quality checks, `--judge` and `--pairwise` against fake model servers:
//! every column is written, a judge that fails or answers out of format leaves the score
//! empty with the reason, the pairwise judge ranks the models, and two runs with the same
//! seed give the same scores.

use crate::compare::gamemaster;
use crate::support;

use std::path::Path;
use std::time::Duration;

use support::csv::Table;
use support::fake_llm::{FakeLlm, Reply};

const SCENARIO: &str = r#"
[campaign]
name = "La Crypte"
themes = "marais, crypte, reliquaire"
language = "fr"

[settings]
max_answer_tokens = 200

[[characters]]
name = "Isaure"
class = "Wizard"
race = "Elf"

[[characters]]
name = "Gaspard"
class = "Fighter"
race = "Dwarf"

[[turns]]
character = "Isaure"
text = "J'examine les inscriptions de la porte."

[[turns]]
character = "Gaspard"
text = "Je pousse la porte de pierre."

[[turns]]
character = "Isaure"
text = "J'avance vers le reliquaire."
"#;

/// A good opening with a roll, then English, then assistant talk with a translated tag, then
/// the opening again word for word.
const OPENING: &str = "La brume recouvre le marais et la porte de la crypte se dresse devant vous, couverte de mousse et de symboles anciens. Isaure, tu remarques des lettres gravées presque effacées. [[roll 1d20+3 Investigation DC 13]] Gaspard, que fais-tu ?";
const ENGLISH: &str = "The heavy stone door groans as Gaspard leans into it, and a breath of cold air escapes from the darkness below, smelling of wet earth and old candles.";
const META: &str = "En tant qu'IA, je ne peux pas décrire ce qui se trouve derrière la porte, mais voici un jet pour la suite : [[jet 1d20+2 Athlétisme DD 12]] avant de continuer l'histoire ensemble.";
const GOOD: &str = "Les torches s'allument une à une le long du couloir humide, révélant des niches creusées dans la roche où reposent des ossements couverts de poussière. Gaspard, le sol tremble sous tes bottes. Que faites-vous ?";

fn scripted(texts: &[&str]) -> Vec<Reply> {
    texts
        .iter()
        .map(|t| Reply::openai_text(&[t], Some((300, 40)), Duration::ZERO))
        .collect()
}

fn judged(answer: &str) -> Reply {
    Reply::openai_text(&[answer], Some((500, 20)), Duration::ZERO)
}

/// The judge's answers, in the order compare asks: the four scores of the first model (one
/// good, one in Markdown, one out of format, one refused), the four of the second, then the
/// pairwise questions (each turn in both orders), always for the second model.
fn judge_replies() -> Vec<Reply> {
    let mut replies = vec![
        judged("SCORE: 8\nREASON: Coherent opening, with a fair roll."),
        judged("**Score:** 3/10\n**Reason:** Written in English, not French."),
        judged("I would rather not grade this narration."),
        Reply::status(401, r#"{"error":{"message":"judge key revoked"}}"#),
    ];
    for _ in 0..4 {
        replies.push(judged(
            "SCORE: 9\nREASON: Atmospheric, in French, lets the players act.",
        ));
    }
    for _ in 0..4 {
        replies.push(judged("WINNER: B\nREASON: B stays in French."));
        replies.push(judged("WINNER: A\nREASON: A stays in French."));
    }
    replies
}

struct Servers {
    first: FakeLlm,
    second: FakeLlm,
    judge: FakeLlm,
}

async fn servers() -> Servers {
    let first = FakeLlm::with(scripted(&[OPENING, ENGLISH, META, OPENING])).await;
    let second = FakeLlm::with(scripted(&[GOOD, GOOD, GOOD, GOOD])).await;
    let judge = FakeLlm::with(judge_replies()).await;
    Servers {
        first,
        second,
        judge,
    }
}

async fn run(dir: &Path, s: &Servers, out: &str, seed: &str) -> String {
    let args = [
        "compare",
        "--scenario",
        "crypte.toml",
        "--model",
        "openai:gpt-4o-mini",
        "--model",
        "deepseek:deepseek-chat",
        "--judge",
        "local:judge",
        "--pairwise",
        "--seed",
        seed,
        "--out",
        out,
    ];
    let env = vec![
        ("DATABASE_URL", format!("sqlite://{}/gm.db", dir.display())),
        ("OPENAI_API_KEY", "sk-test-openai".into()),
        ("OPENAI_BASE_URL", s.first.v1()),
        ("DEEPSEEK_API_KEY", "sk-test-deepseek".into()),
        ("DEEPSEEK_BASE_URL", s.second.v1()),
        ("LOCAL_LLM_BASE_URL", s.judge.v1()),
        ("LOCAL_LLM_MODELS", "judge".into()),
    ];
    let output = gamemaster(dir, args.map(String::from).to_vec(), env).await;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every column but the two clocks, row by row.
fn timeless(table: &Table) -> Vec<Vec<String>> {
    let clocks = [table.col("latency_ms"), table.col("ttft_ms")];
    table
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .filter(|(i, _)| !clocks.contains(i))
                .map(|(_, v)| v.clone())
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_judge_scores_ranks_and_explains_and_a_seed_repeats_a_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("crypte.toml"), SCENARIO).unwrap();
    let s = servers().await;
    let stdout = run(dir.path(), &s, "one", "42").await;

    let results = Table::read(&dir.path().join("one/results.csv"));
    assert_eq!(results.rows.len(), 8);
    // The first model: a good opening, English, assistant talk with a bad tag, a repeat.
    assert_eq!(results.column("language")[..4], ["fr", "en", "fr", "fr"]);
    assert_eq!(
        results.column("language_ok")[..4],
        ["true", "false", "true", "true"]
    );
    assert_eq!(results.column("tag_errors")[..4], ["0", "0", "1", "0"]);
    assert_eq!(
        results.column("meta_talk")[..4],
        ["false", "false", "true", "false"]
    );
    assert_eq!(results.get(0, "repetition"), "0");
    assert_eq!(
        results.get(3, "repetition"),
        "1",
        "the opening word for word"
    );
    assert_eq!(results.get(0, "budget_use"), "0.2", "40 of 200 tokens");
    assert_eq!(results.column("judge_score")[..4], ["8", "3", "", ""]);
    assert_eq!(
        results.get(0, "judge_reason"),
        "Coherent opening, with a fair roll."
    );
    assert!(
        results.get(2, "judge_reason").starts_with("out of format")
            && results.get(2, "judge_reason").contains("rather not grade"),
        "{}",
        results.get(2, "judge_reason")
    );
    assert!(
        results.get(3, "judge_reason").starts_with("judge failed")
            && results.get(3, "judge_reason").contains("judge key revoked"),
        "{}",
        results.get(3, "judge_reason")
    );
    assert!(results.column("judge_score")[4..].iter().all(|s| *s == "9"));

    let summary = Table::read(&dir.path().join("one/summary.csv"));
    assert_eq!(
        summary.column("model"),
        ["openai:gpt-4o-mini", "deepseek:deepseek-chat"]
    );
    assert_eq!(summary.get(0, "language_ok_rate"), "0.75");
    assert_eq!(summary.get(0, "tag_error_rate"), "0.25");
    assert_eq!(summary.get(0, "meta_talk_rate"), "0.25");
    assert_eq!(
        summary.get(0, "judge_score_mean"),
        "5.5",
        "only the two scores count"
    );
    assert_eq!(summary.get(1, "language_ok_rate"), "1");
    assert_eq!(summary.get(1, "judge_score_mean"), "9");

    // The pairwise judge saw every turn in both orders and ranks the second model first.
    let pairwise = Table::read(&dir.path().join("one/pairwise.csv"));
    assert_eq!(pairwise.rows.len(), 8);
    assert!(
        pairwise
            .column("winner")
            .iter()
            .all(|w| *w == "deepseek:deepseek-chat")
    );
    assert_eq!(pairwise.get(0, "model_a"), "openai:gpt-4o-mini");
    assert_eq!(pairwise.get(1, "model_a"), "deepseek:deepseek-chat");
    let ranking = Table::read(&dir.path().join("one/ranking.csv"));
    assert_eq!(
        ranking.column("model"),
        ["deepseek:deepseek-chat", "openai:gpt-4o-mini"]
    );
    assert_eq!(ranking.get(0, "wins"), "8");
    assert!(
        stdout.contains("judge ranking 1: deepseek:deepseek-chat"),
        "{stdout}"
    );

    // The judge was shown the rubric, the story and the narration.
    let asked = s.judge.request_bodies();
    assert_eq!(asked.len(), 16);
    assert!(asked[0].contains("Player agency") && asked[0].contains("Investigation DC 13"));
    assert!(
        asked[1].contains("J'examine les inscriptions"),
        "the turn's action"
    );
    assert!(
        asked[1].contains("[Dice rolled by the bot]"),
        "the dice results"
    );

    // run.json: models, judge, sampling, seed and the prompt files' hashes.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("one/run.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["dice_seed"], 42);
    assert_eq!(manifest["judge"], "local:judge");
    assert_eq!(manifest["sampling"]["narration_temperature"], 0.8);
    let prompts: Vec<&str> = manifest["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        prompts,
        [
            "prompts/fr/system.md",
            "prompts/fr/opening.md",
            "prompts/fr/summarize.md",
            "prompts/judge/rubric.md",
            "prompts/judge/pairwise.md"
        ]
    );
    assert!(manifest["prompts"][0]["sha256"].as_str().unwrap().len() == 64);
    assert!(dir.path().join("one/quality.png").exists());

    // The same seed against freshly scripted servers: the same prompts, rows and scores.
    let again = servers().await;
    run(dir.path(), &again, "two", "42").await;
    let repeated = Table::read(&dir.path().join("two/results.csv"));
    assert_eq!(timeless(&repeated), timeless(&results));
    for name in ["summary.csv", "pairwise.csv", "ranking.csv"] {
        let a = Table::read(&dir.path().join("one").join(name));
        let b = Table::read(&dir.path().join("two").join(name));
        if name == "summary.csv" {
            for col in [
                "language_ok_rate",
                "tag_error_rate",
                "repetition_mean",
                "judge_score_mean",
            ] {
                assert_eq!(a.column(col), b.column(col), "{col}");
            }
        } else {
            assert_eq!(a.rows, b.rows, "{name}");
        }
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("one/run.json")).unwrap(),
        std::fs::read_to_string(dir.path().join("two/run.json")).unwrap()
    );
    assert_eq!(
        s.first.request_bodies(),
        again.first.request_bodies(),
        "same dice, same prompts"
    );
    assert_eq!(s.judge.request_bodies(), again.judge.request_bodies());

    // Another seed rolls other dice, which the next prompt reports.
    let other = servers().await;
    run(dir.path(), &other, "three", "7").await;
    assert_ne!(s.first.request_bodies()[1], other.first.request_bodies()[1]);
}
