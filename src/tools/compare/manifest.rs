//! `run.json`: what a compare run needs to be repeated: the models, the judge, the sampling
//! settings, the dice seed, and the SHA-256 of the scenario and of every prompt file used
//! (as embedded in this binary, which is what the models were sent).

use sha2::{Digest, Sha256};

use super::CompareRun;

use crate::core::engine::context::{NARRATION_TEMPERATURE, SUMMARY_TEMPERATURE};
use crate::core::game::prompt::PromptSet;
use crate::core::quality::judge::{
    JUDGE_MAX_TOKENS, JUDGE_TEMPERATURE, PAIRWISE, PAIRWISE_PATH, RUBRIC, RUBRIC_PATH,
};

/// The version of the `run.json` layout.
pub const FORMAT: &str = "gamemaster-compare-run/1";

/// An `f32` setting as the decimal it was written as (0.8, not 0.800000011920929).
fn decimal(value: f32) -> f64 {
    (f64::from(value) * 1e6).round() / 1e6
}

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The prompt files the run sends, with their paths in the repository.
fn prompt_files(m: &CompareRun<'_>) -> Vec<(String, &'static str)> {
    let code = m.scenario.campaign.language.code();
    let set = PromptSet::for_language(m.scenario.campaign.language);
    let mut files = vec![
        (format!("prompts/{code}/system.md"), set.system),
        (format!("prompts/{code}/opening.md"), set.opening),
        (format!("prompts/{code}/summarize.md"), set.summarize),
    ];
    if m.judge.is_some() {
        files.push((RUBRIC_PATH.to_string(), RUBRIC));
    }
    if m.pairwise {
        files.push((PAIRWISE_PATH.to_string(), PAIRWISE));
    }
    files
}

/// The JSON text of `run.json`, pretty-printed, keys sorted: two runs with the same inputs
/// write the same file.
pub fn to_json(run: &CompareRun<'_>) -> String {
    let prompts: Vec<serde_json::Value> = prompt_files(run)
        .into_iter()
        .map(|(path, text)| serde_json::json!({ "path": path, "sha256": sha256(text) }))
        .collect();
    let value = serde_json::json!({
        "format": FORMAT,
        "gamemaster_version": env!("CARGO_PKG_VERSION"),
        "scenario": {
            "path": run.scenario_path,
            "sha256": sha256(run.scenario_text),
            "campaign": run.scenario.campaign.name.as_str(),
            "language": run.scenario.campaign.language.code(),
            "turns": run.scenario.turns.len(),
        },
        "models": run.models.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "judge": run.judge.map(ToString::to_string),
        "pairwise": run.pairwise,
        "dice_seed": run.seed,
        "sampling": {
            "narration_temperature": decimal(NARRATION_TEMPERATURE),
            "summary_temperature": decimal(SUMMARY_TEMPERATURE),
            "max_answer_tokens": run.scenario.max_answer_tokens,
            "judge_temperature": run.judge.map(|_| decimal(JUDGE_TEMPERATURE)),
            "judge_max_tokens": run.judge.map(|_| JUDGE_MAX_TOKENS),
        },
        "prompts": prompts,
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}
