//! Per-model aggregates from raw call rows, player thumbs and arena ratings.

use std::collections::BTreeMap;

use super::bradley_terry::ArenaRating;
use super::summary::{CallSummary, summarize};

/// One LLM call as recorded by storage (a row of `llm_calls`, possibly pre-filtered by scope
/// and time window).
#[derive(Debug, Clone, PartialEq)]
pub struct CallSample {
    pub model: String,
    pub latency_ms: i64,
    /// Time to first token, when the call was streamed.
    pub ttft_ms: Option<i64>,
    pub tokens_in: Option<i64>,
    pub tokens_out: Option<i64>,
    /// `None` when the price of the model was unknown: unknown, not free.
    pub cost_usd: Option<f64>,
    pub ok: bool,
}

/// Player thumbs on one model's narration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThumbVotes {
    pub model: String,
    pub up: u64,
    pub down: u64,
}

/// Everything `/stats` knows about one model.
///
/// Latency, TTFT and throughput figures describe successful calls only: a failed call's
/// latency measures a timeout or an error page, not the model. Counts, token totals and
/// costs include failed calls because they were spent all the same.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelStats {
    pub model: String,
    /// All calls, successful or not.
    pub calls: u64,
    pub errors: u64,
    /// `errors / calls`; `None` when the model has no calls (it only appears in votes).
    pub error_rate: Option<f64>,
    pub latency_p50: Option<f64>,
    pub latency_p95: Option<f64>,
    /// Median over successful calls that reported a time to first token.
    pub ttft_p50: Option<f64>,
    /// Mean over calls that reported the count.
    pub tokens_in_mean: Option<f64>,
    pub tokens_out_mean: Option<f64>,
    pub tokens_in_total: i64,
    pub tokens_out_total: i64,
    /// Output tokens per second of generation over successful calls: the sum of output
    /// tokens divided by the summed generation time, where generation time is
    /// `latency - ttft` when a TTFT is known and smaller than the latency, else the latency.
    /// A ratio of sums, so a few tiny calls cannot dominate.
    pub tokens_per_second: Option<f64>,
    /// `None` when no row had a known cost.
    pub cost_total: Option<f64>,
    /// Mean cost over rows with a known cost (each call is one turn of narration).
    pub cost_per_turn: Option<f64>,
    /// `up / (up + down)`; `None` without votes.
    pub thumbs_up_share: Option<f64>,
    /// Thumbs up plus thumbs down behind `thumbs_up_share`.
    pub thumbs_votes: u64,
    pub arena: Option<ArenaRating>,
}

/// Aggregates calls per model and joins in thumbs and arena ratings.
///
/// A model that only appears in votes or ratings still gets a row (with zero calls), so the
/// thumbs and arena leaderboards can show it. Rows are sorted by model name.
/// Cost: O(n) plus the histogram builds (linear for the usual spans of latencies).
pub fn model_stats(
    calls: &[CallSample],
    thumbs: &[ThumbVotes],
    arena: &[ArenaRating],
) -> Vec<ModelStats> {
    model_stats_from_summaries(&summarize(calls), thumbs, arena)
}

/// [`model_stats`] from per-model summaries (one per model, e.g. merged from daily rollups).
pub fn model_stats_from_summaries(
    summaries: &[CallSummary],
    thumbs: &[ThumbVotes],
    arena: &[ArenaRating],
) -> Vec<ModelStats> {
    let mut per_model: BTreeMap<&str, Option<&CallSummary>> = BTreeMap::new();
    for summary in summaries {
        per_model.insert(&summary.model, Some(summary));
    }
    for model in thumbs
        .iter()
        .map(|t| t.model.as_str())
        .chain(arena.iter().map(|a| a.model.as_str()))
    {
        per_model.entry(model).or_default();
    }

    let mut thumb_counts: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for vote in thumbs {
        let counts = thumb_counts.entry(&vote.model).or_default();
        counts.0 += vote.up;
        counts.1 += vote.down;
    }

    per_model
        .into_iter()
        .map(|(model, summary)| {
            let mut stats = match summary {
                Some(summary) => summary.stats(),
                None => CallSummary {
                    model: model.to_owned(),
                    ..CallSummary::default()
                }
                .stats(),
            };
            if let Some(&(up, down)) = thumb_counts.get(model) {
                stats.thumbs_up_share = thumbs_up_share(up, down);
                stats.thumbs_votes = up + down;
            }
            stats.arena = arena.iter().find(|a| a.model == model).cloned();
            stats
        })
        .collect()
}

/// `up / (up + down)`, or `None` when nobody voted.
pub fn thumbs_up_share(up: u64, down: u64) -> Option<f64> {
    let total = up + down;
    (total > 0).then(|| up as f64 / total as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(model: &str, latency_ms: i64, ok: bool) -> CallSample {
        CallSample {
            model: model.to_owned(),
            latency_ms,
            ttft_ms: None,
            tokens_in: None,
            tokens_out: None,
            cost_usd: None,
            ok,
        }
    }

    #[test]
    fn exact_aggregates_on_a_small_set() {
        let calls = vec![
            CallSample {
                ttft_ms: Some(200),
                tokens_in: Some(1000),
                tokens_out: Some(100),
                cost_usd: Some(0.01),
                ..call("a", 1200, true)
            },
            CallSample {
                ttft_ms: Some(400),
                tokens_in: Some(2000),
                tokens_out: Some(300),
                cost_usd: None,
                ..call("a", 2400, true)
            },
            CallSample {
                tokens_in: Some(3000),
                tokens_out: Some(50),
                cost_usd: Some(0.03),
                ..call("a", 500, true)
            },
            CallSample {
                tokens_in: Some(500),
                cost_usd: Some(0.0),
                ..call("a", 30_000, false)
            },
            call("b", 100, true),
        ];
        let stats = model_stats(&calls, &[], &[]);
        assert_eq!(stats.len(), 2);
        let a = &stats[0];
        assert_eq!(a.model, "a");
        assert_eq!((a.calls, a.errors), (4, 1));
        assert_eq!(a.error_rate, Some(0.25));
        // Successful latencies 500, 1200, 2400: the failed 30 s call is left out.
        assert_eq!(a.latency_p50, Some(1200.0));
        assert!((a.latency_p95.unwrap() - 2280.0).abs() < 1e-9);
        assert_eq!(a.ttft_p50, Some(300.0));
        assert_eq!(a.tokens_in_total, 6500);
        assert_eq!(a.tokens_in_mean, Some(1625.0));
        assert_eq!(a.tokens_out_total, 450);
        assert_eq!(a.tokens_out_mean, Some(150.0));
        // 450 tokens over (1000 + 2000 + 500) ms of generation.
        assert!((a.tokens_per_second.unwrap() - 450.0 / 3.5).abs() < 1e-9);
        // The NULL cost is unknown, not zero: 3 known costs.
        assert!((a.cost_total.unwrap() - 0.04).abs() < 1e-12);
        assert!((a.cost_per_turn.unwrap() - 0.04 / 3.0).abs() < 1e-12);

        let b = &stats[1];
        assert_eq!(b.error_rate, Some(0.0));
        assert_eq!(b.latency_p50, Some(100.0));
        assert_eq!(b.cost_total, None);
        assert_eq!(b.cost_per_turn, None);
        assert_eq!(b.tokens_out_mean, None);
        assert_eq!(b.tokens_per_second, None);
    }

    #[test]
    fn all_failed_calls_have_no_latency() {
        let stats = model_stats(&[call("x", 10, false), call("x", 20, false)], &[], &[]);
        assert_eq!(stats[0].error_rate, Some(1.0));
        assert_eq!(stats[0].latency_p50, None);
        assert_eq!(stats[0].latency_p95, None);
    }

    #[test]
    fn thumbs_join_and_models_without_calls() {
        let thumbs = vec![
            ThumbVotes {
                model: "a".into(),
                up: 3,
                down: 1,
            },
            ThumbVotes {
                model: "a".into(),
                up: 1,
                down: 3,
            },
            ThumbVotes {
                model: "only-votes".into(),
                up: 0,
                down: 2,
            },
            ThumbVotes {
                model: "silent".into(),
                up: 0,
                down: 0,
            },
        ];
        let stats = model_stats(&[call("a", 10, true)], &thumbs, &[]);
        let names: Vec<_> = stats.iter().map(|s| s.model.as_str()).collect();
        assert_eq!(names, ["a", "only-votes", "silent"]);
        assert_eq!(stats[0].thumbs_up_share, Some(0.5));
        assert_eq!(stats[0].thumbs_votes, 8);
        assert_eq!(stats[1].thumbs_up_share, Some(0.0));
        assert_eq!(stats[1].calls, 0);
        assert_eq!(stats[1].error_rate, None);
        assert_eq!(stats[2].thumbs_up_share, None);
    }

    #[test]
    fn a_million_samples_aggregate_exactly() {
        let calls: Vec<CallSample> = (0..1_000_000i64)
            .map(|i| CallSample {
                tokens_out: Some(10),
                ..call(if i % 2 == 0 { "even" } else { "odd" }, i, true)
            })
            .collect();
        let stats = model_stats(&calls, &[], &[]);
        assert_eq!(stats[0].calls, 500_000);
        assert_eq!(stats[0].tokens_out_total, 5_000_000);
        // Even latencies 0, 2, ..., 999_998: the median is the mean of the two middle ones.
        assert_eq!(stats[0].latency_p50, Some(499_999.0));
        assert_eq!(stats[1].latency_p50, Some(500_000.0));
    }
}
