//! The quality leaderboard behind `/stats metric: narration quality`: models ranked by one
//! score, the aligned table the embed and the command line show, and the CSV `/stats` attaches.
//!
//! The score is the mean of the checks known for a model, each turned so that 1 is best:
//! the share in the campaign's language, the share without tag errors, the share without
//! assistant talk, and one minus the mean repetition. An unknown check is left out of the
//! mean rather than counted as 0 or 1; a model with no check known has no score and ranks
//! last. Budget use is shown in the CSV but not scored: a long answer is not a worse one.

use super::QualitySummary;
use crate::core::stats::csv;
use crate::core::stats::table::aligned;

/// The CSV header, one column per field of [`QualitySummary`] plus the score.
pub const CSV_HEADER: &str = "model,narrations,score,language_ok_rate,tag_error_rate,\
                              meta_talk_rate,repetition_mean,budget_use_mean\n";

/// What the score averages, for the footer of `/stats` and the README.
pub const SCORE_MEANING: &str = "score = mean of: in the campaign's language, no tag errors, \
                                 no assistant talk, 1 − repetition";

/// The model's score in 0..=1; None when none of its checks is known.
pub fn score(s: &QualitySummary) -> Option<f64> {
    let parts = [
        s.language_ok_rate,
        s.tag_error_rate.map(|r| 1.0 - r),
        s.meta_talk_rate.map(|r| 1.0 - r),
        s.repetition_mean.map(|r| 1.0 - r),
    ];
    let known: Vec<f64> = parts
        .into_iter()
        .flatten()
        .map(|v| v.clamp(0.0, 1.0))
        .collect();
    (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64)
}

/// The summaries best first: by score, then by more narrations checked, then by name; models
/// without a score last.
pub fn ranked(mut summaries: Vec<QualitySummary>) -> Vec<QualitySummary> {
    summaries.sort_by(|a, b| {
        let (sa, sb) = (score(a), score(b));
        sb.is_some()
            .cmp(&sa.is_some())
            .then(sb.unwrap_or(0.0).total_cmp(&sa.unwrap_or(0.0)))
            .then(b.count.cmp(&a.count))
            .then(a.model.cmp(&b.model))
    });
    summaries
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or("n/a".into(), |r| {
        format!("{:.0}%", r.clamp(0.0, 1.0) * 100.0)
    })
}

fn hundredths(value: Option<f64>) -> String {
    value.map_or("n/a".into(), |v| format!("{v:.2}"))
}

/// The ranked summaries as an aligned table, model names cut by `label` (the embed shortens
/// them, the command line does not).
pub fn table(ranked: &[QualitySummary], label: impl Fn(&str) -> String) -> String {
    let rows: Vec<Vec<String>> = ranked
        .iter()
        .enumerate()
        .map(|(i, s)| {
            vec![
                (i + 1).to_string(),
                label(&s.model),
                score(s).map_or("n/a".into(), |v| format!("{:.0}", v * 100.0)),
                percent(s.language_ok_rate),
                percent(s.tag_error_rate),
                percent(s.meta_talk_rate),
                hundredths(s.repetition_mean),
                s.count.to_string(),
            ]
        })
        .collect();
    aligned(
        &["#", "model", "score", "lang", "tags", "ai", "rep", "n"],
        &rows,
        &[1],
    )
}

/// The ranked summaries as CSV; an unknown value is an empty field, never 0.
pub fn to_csv(ranked: &[QualitySummary]) -> String {
    let mut out = CSV_HEADER.to_owned();
    for s in ranked {
        out.push_str(&csv::line(&[
            s.model.clone(),
            s.count.to_string(),
            csv::number(score(s)),
            csv::number(s.language_ok_rate),
            csv::number(s.tag_error_rate),
            csv::number(s.meta_talk_rate),
            csv::number(s.repetition_mean),
            csv::number(s.budget_use_mean),
        ]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(model: &str, count: u64, rates: [Option<f64>; 4]) -> QualitySummary {
        QualitySummary {
            model: model.into(),
            count,
            language_ok_rate: rates[0],
            tag_error_rate: rates[1],
            meta_talk_rate: rates[2],
            repetition_mean: rates[3],
            budget_use_mean: None,
        }
    }

    #[test]
    fn the_score_averages_only_the_known_checks() {
        let all = summary("a", 4, [Some(1.0), Some(0.5), Some(0.0), Some(0.5)]);
        assert_eq!(score(&all), Some((1.0 + 0.5 + 1.0 + 0.5) / 4.0));
        let some = summary("b", 4, [None, Some(0.0), Some(1.0), None]);
        assert_eq!(score(&some), Some(0.5));
        assert_eq!(score(&summary("c", 1, [None; 4])), None);
    }

    #[test]
    fn ranking_puts_the_best_first_and_the_unscored_last() {
        let list = vec![
            summary("unknown", 9, [None; 4]),
            summary("weak", 5, [Some(0.2), Some(0.8), Some(0.5), Some(0.6)]),
            summary("strong", 3, [Some(1.0), Some(0.0), Some(0.0), Some(0.1)]),
            summary(
                "strong-more",
                6,
                [Some(1.0), Some(0.0), Some(0.0), Some(0.1)],
            ),
        ];
        let order: Vec<String> = ranked(list).into_iter().map(|s| s.model).collect();
        assert_eq!(order, ["strong-more", "strong", "weak", "unknown"]);
    }

    #[test]
    fn table_and_csv_show_unknowns_as_unknown() {
        let list = ranked(vec![
            summary("m1", 2, [Some(0.5), Some(0.0), Some(0.0), None]),
            summary("m,2", 1, [None; 4]),
        ]);
        let table = table(&list, str::to_owned);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(lines[0].starts_with("#  model  score"), "{table}");
        assert!(
            lines[1].contains("m1") && lines[1].contains(" 83 "),
            "{table}"
        );
        assert!(
            lines[1].contains("50%") && lines[1].contains("n/a"),
            "{table}"
        );
        assert!(lines[2].contains("m,2") && lines[2].matches("n/a").count() == 5);
        let csv = to_csv(&list);
        assert_eq!(
            csv.lines().nth(1).unwrap(),
            format!("m1,2,{},0.5,0,0,,", 2.5 / 3.0)
        );
        assert_eq!(csv.lines().nth(2).unwrap(), "\"m,2\",1,,,,,,");
    }
}
