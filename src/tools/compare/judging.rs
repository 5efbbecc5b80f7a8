//! `compare --judge`: the judge model scores every narration, and with `--pairwise` picks the
//! better of two models' narrations of each turn, shown in both orders so that a judge that
//! favours the first (or second) narration favours no model. The preferences are ranked by
//! Bradley-Terry, as the arena's votes are.

use std::io::Write;

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::TurnRow;
use crate::core::engine::{ModelSource, collect};
use crate::core::game::language::Language;
use crate::core::models::chat::{ChatRequest, ModelId};
use crate::core::quality::judge::{
    self, JudgeTurn, Preference, Verdict, pairwise_request, parse_preference, parse_score,
    score_request,
};
use crate::core::stats::{ArenaConfig, ArenaRating, Battle, Outcome, fit_arena};

/// The judge's answer text, or why there is none.
async fn ask(
    source: &dyn ModelSource,
    judge: &ModelId,
    request: ChatRequest,
) -> Result<String, String> {
    let model = source.chat_model(judge).map_err(|e| e.message)?;
    let (answer, _) = collect(&*model, request).await;
    answer.map(|(text, _)| text).map_err(|e| e.message)
}

/// Scores every row that has a narration; rows without one say so.
pub(super) async fn score_rows(
    rows: &mut [TurnRow],
    judge: &ModelId,
    source: &dyn ModelSource,
    language: Language,
    progress: &mut dyn Write,
) {
    for row in rows.iter_mut() {
        let verdict = match &row.story {
            None => Verdict {
                score: None,
                reason: "no narration to judge".into(),
            },
            Some(story) => {
                let turn = JudgeTurn {
                    language,
                    story: &story.before,
                    action: &story.action,
                };
                match score_request(&turn, &story.narration) {
                    Ok(request) => match ask(source, judge, request).await {
                        Ok(answer) => parse_score(&answer),
                        Err(why) => Verdict::failed(&why),
                    },
                    Err(e) => Verdict::failed(&e.to_string()),
                }
            }
        };
        let score = verdict.score.map_or("-".into(), |s| s.to_string());
        let _ = writeln!(
            progress,
            "compare: judge {judge} on {} turn {}: {score} ({})",
            row.model, row.turn, verdict.reason
        );
        row.judge = Some(verdict);
    }
}

/// One pairwise question: which of two narrations of `turn` is better, `model_a`'s shown first.
#[derive(Debug, Clone, PartialEq)]
pub struct PairwiseRow {
    pub turn: usize,
    pub model_a: String,
    pub model_b: String,
    /// The preferred model, `tie`, or None when the judge failed or answered out of format.
    pub winner: Option<String>,
    pub reason: String,
}

/// What the pairwise judging gave: every question, and the models ranked.
pub struct Pairwise {
    pub rows: Vec<PairwiseRow>,
    pub ranking: Vec<ArenaRating>,
}

/// Asks the judge about every pair of models on every turn both narrated, in both orders.
/// `actions[turn]` is what the players did on that turn (the opening instruction for 0).
#[allow(clippy::too_many_arguments)]
pub(super) async fn pairwise(
    rows: &[TurnRow],
    models: &[ModelId],
    actions: &[String],
    judge: &ModelId,
    source: &dyn ModelSource,
    language: Language,
    seed: u64,
    progress: &mut dyn Write,
) -> Pairwise {
    let narration = |model: &ModelId, turn: usize| {
        let name = model.to_string();
        rows.iter()
            .find(|r| r.model == name && r.turn == turn)
            .and_then(|r| r.story.as_ref())
            .map(|s| s.narration.as_str())
    };
    let mut asked = Vec::new();
    let mut battles = Vec::new();
    for (turn, action) in actions.iter().enumerate() {
        for (i, first) in models.iter().enumerate() {
            for second in &models[i + 1..] {
                let (Some(x), Some(y)) = (narration(first, turn), narration(second, turn)) else {
                    continue;
                };
                for (a, b, text_a, text_b) in [(first, second, x, y), (second, first, y, x)] {
                    let judge_turn = JudgeTurn {
                        language,
                        story: "",
                        action,
                    };
                    let preference = prefer(source, judge, &judge_turn, text_a, text_b).await;
                    let row = pairwise_row(turn, a, b, &preference);
                    let _ = writeln!(
                        progress,
                        "compare: judge {judge} turn {turn}: A {a} vs B {b}: {} ({})",
                        row.winner.as_deref().unwrap_or("-"),
                        row.reason
                    );
                    if let Some(outcome) = preference.outcome {
                        battles.push(Battle {
                            model_a: a.to_string(),
                            model_b: b.to_string(),
                            outcome,
                        });
                    }
                    asked.push(row);
                }
            }
        }
    }
    let config = ArenaConfig {
        min_votes: 1,
        ..ArenaConfig::default()
    };
    let ranking = fit_arena(&battles, &config, &mut StdRng::seed_from_u64(seed));
    Pairwise {
        rows: asked,
        ranking,
    }
}

async fn prefer(
    source: &dyn ModelSource,
    judge: &ModelId,
    turn: &JudgeTurn<'_>,
    a: &str,
    b: &str,
) -> Preference {
    let failed = |why: String| Preference {
        outcome: None,
        reason: judge::one_line(&format!("judge failed: {why}")),
    };
    match pairwise_request(turn, a, b) {
        Ok(request) => match ask(source, judge, request).await {
            Ok(answer) => parse_preference(&answer),
            Err(why) => failed(why),
        },
        Err(e) => failed(e.to_string()),
    }
}

fn pairwise_row(turn: usize, a: &ModelId, b: &ModelId, preference: &Preference) -> PairwiseRow {
    PairwiseRow {
        turn,
        model_a: a.to_string(),
        model_b: b.to_string(),
        winner: preference.outcome.map(|o| match o {
            Outcome::AWins => a.to_string(),
            Outcome::BWins => b.to_string(),
            Outcome::Tie | Outcome::BothBad => "tie".to_string(),
        }),
        reason: preference.reason.clone(),
    }
}
