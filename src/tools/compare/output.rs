//! The files a compare run writes: `results.csv`, `summary.csv`, the pairwise judge's
//! `pairwise.csv` and `ranking.csv`, and the charts. An unknown value is an empty field,
//! never 0.

use super::TurnRow;
use super::judging::Pairwise;
use crate::core::quality::QualitySummary;
use crate::core::stats::chart::{Chart, CostBar, LatencyBar, TokenBar};
use crate::core::stats::{ModelStats, csv};

/// Columns of `results.csv`.
pub const RESULT_COLUMNS: [&str; 21] = [
    "model",
    "turn",
    "latency_ms",
    "ttft_ms",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "ok",
    "error_kind",
    "output_chars",
    "error_message",
    "language",
    "language_ok",
    "tag_errors",
    "meta_talk",
    "repetition",
    "budget_use",
    "judge_score",
    "judge_reason",
    "state_changes",
    "state_log",
];

/// Columns of `summary.csv`.
pub const SUMMARY_COLUMNS: [&str; 21] = [
    "model",
    "turns",
    "errors",
    "error_rate",
    "latency_p50_ms",
    "latency_p95_ms",
    "ttft_p50_ms",
    "tokens_in_mean",
    "tokens_out_mean",
    "tokens_in_total",
    "tokens_out_total",
    "tokens_per_second",
    "cost_total_usd",
    "cost_per_turn_usd",
    "language_ok_rate",
    "tag_error_rate",
    "meta_talk_rate",
    "repetition_mean",
    "budget_use_mean",
    "judge_score_mean",
    "state_changes_mean",
];

/// Columns of `pairwise.csv`.
pub const PAIRWISE_COLUMNS: [&str; 5] = ["turn", "model_a", "model_b", "winner", "reason"];

/// Columns of `ranking.csv`.
pub const RANKING_COLUMNS: [&str; 9] = [
    "rank", "model", "rating", "ci_low", "ci_high", "battles", "wins", "ties", "losses",
];

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or(String::new(), |v| v.to_string())
}

fn quality_fields(r: &TurnRow) -> Vec<String> {
    let Some(c) = &r.checks else {
        return vec![String::new(); 6];
    };
    vec![
        opt(c.language.map(|l| l.code())),
        opt(c.language_ok),
        c.tag_errors.to_string(),
        c.meta_talk.to_string(),
        csv::number(c.repetition),
        csv::number(c.budget_use),
    ]
}

/// `results.csv`: one row per model and turn.
pub fn results_csv(rows: &[TurnRow]) -> String {
    let mut out = csv::line(&RESULT_COLUMNS.map(String::from));
    for r in rows {
        let mut fields = vec![
            r.model.clone(),
            r.turn.to_string(),
            r.latency_ms.to_string(),
            opt(r.ttft_ms),
            opt(r.tokens_in),
            opt(r.tokens_out),
            csv::number(r.cost_usd),
            r.ok.to_string(),
            r.error_kind.clone().unwrap_or_default(),
            r.output_chars.to_string(),
            r.error_message.clone().unwrap_or_default(),
        ];
        fields.extend(quality_fields(r));
        fields.push(opt(r.judge.as_ref().and_then(|j| j.score)));
        fields.push(
            r.judge
                .as_ref()
                .map(|j| j.reason.clone())
                .unwrap_or_default(),
        );
        fields.push(opt(r.state_changes));
        fields.push(r.state_log.join(" | "));
        out.push_str(&csv::line(&fields));
    }
    out
}

/// The mean judge score of a model's rows, None when no row has one.
pub fn judge_score_mean(rows: &[TurnRow], model: &str) -> Option<f64> {
    let scores: Vec<f64> = rows
        .iter()
        .filter(|r| r.model == model)
        .filter_map(|r| r.judge.as_ref()?.score)
        .map(f64::from)
        .collect();
    (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64)
}

/// The mean state changes per turn of a model's rows, over the turns where it is known.
pub fn state_changes_mean(rows: &[TurnRow], model: &str) -> Option<f64> {
    let counts: Vec<f64> = rows
        .iter()
        .filter(|r| r.model == model)
        .filter_map(|r| r.state_changes)
        .map(|n| n as f64)
        .collect();
    (!counts.is_empty()).then(|| counts.iter().sum::<f64>() / counts.len() as f64)
}

/// `summary.csv`: per-model call aggregates (`core::stats::model_stats`), then quality.
pub fn summary_csv(stats: &[ModelStats], quality: &[QualitySummary], rows: &[TurnRow]) -> String {
    let mut out = csv::line(&SUMMARY_COLUMNS.map(String::from));
    for s in stats {
        let mut fields = csv::call_fields(s);
        let q = quality.iter().find(|q| q.model == s.model);
        fields.extend(
            [
                q.and_then(|q| q.language_ok_rate),
                q.and_then(|q| q.tag_error_rate),
                q.and_then(|q| q.meta_talk_rate),
                q.and_then(|q| q.repetition_mean),
                q.and_then(|q| q.budget_use_mean),
                judge_score_mean(rows, &s.model),
                state_changes_mean(rows, &s.model),
            ]
            .map(csv::number),
        );
        out.push_str(&csv::line(&fields));
    }
    out
}

/// `pairwise.csv` and `ranking.csv`.
pub fn pairwise_csvs(pairwise: &Pairwise) -> (String, String) {
    let mut asked = csv::line(&PAIRWISE_COLUMNS.map(String::from));
    for r in &pairwise.rows {
        asked.push_str(&csv::line(&[
            r.turn.to_string(),
            r.model_a.clone(),
            r.model_b.clone(),
            r.winner.clone().unwrap_or_default(),
            r.reason.clone(),
        ]));
    }
    let mut ranking = csv::line(&RANKING_COLUMNS.map(String::from));
    for (i, r) in pairwise.ranking.iter().enumerate() {
        ranking.push_str(&csv::line(&[
            (i + 1).to_string(),
            r.model.clone(),
            format!("{:.1}", r.rating),
            format!("{:.1}", r.ci_low),
            format!("{:.1}", r.ci_high),
            r.battles.to_string(),
            r.wins.to_string(),
            r.ties.to_string(),
            r.losses.to_string(),
        ]));
    }
    (asked, ranking)
}

/// The `/stats` charts of the run's models.
pub fn charts(name: &str, stats: &[ModelStats]) -> Vec<(&'static str, Chart)> {
    vec![
        (
            "latency.png",
            Chart::Latency {
                title: format!("{name}: latency per turn (p50, p95)"),
                bars: stats.iter().filter_map(LatencyBar::from_stats).collect(),
            },
        ),
        (
            "tokens.png",
            Chart::Tokens {
                title: format!("{name}: tokens per turn (in, out)"),
                bars: stats.iter().filter_map(TokenBar::from_stats).collect(),
            },
        ),
        (
            "cost.png",
            Chart::Cost {
                title: format!("{name}: cost of the scenario (USD)"),
                bars: stats.iter().filter_map(CostBar::from_stats).collect(),
            },
        ),
    ]
}
