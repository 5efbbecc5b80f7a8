//! A `/stats` report: per-model aggregates, the leaderboard of one metric, arena ratings and
//! the chart that shows that metric, built from rows storage fetched. Pure.

use std::fmt::Write as _;

use rand::Rng;

use super::aggregate::{ModelStats, ThumbVotes, model_stats_from_summaries};
use super::bradley_terry::{ArenaConfig, ArenaRating, Battle, fit_arena};
use super::csv;
use super::leaderboard::{LeaderboardRow, Metric, leaderboard};
use super::summary::CallSummary;
use crate::core::stats::chart::{
    Chart, CostBar, DailyLatency, LatencyBar, RatingInterval, TokenBar, ValueBar,
};

/// What storage returned for one `StatsQuery`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsData {
    /// The calls in the window, one exact summary per model (see `core::stats::summarize`).
    pub calls: Vec<CallSummary>,
    pub thumbs: Vec<ThumbVotes>,
    pub battles: Vec<Battle>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatsReport {
    pub metric: Metric,
    /// Every model seen in calls, thumbs or battles, sorted by name.
    pub stats: Vec<ModelStats>,
    /// Models with a value for `metric`, best first.
    pub leaderboard: Vec<LeaderboardRow>,
    /// All fitted arena ratings (ranked or not), best first.
    pub arena: Vec<ArenaRating>,
    /// The chart for `metric`, bars in leaderboard order.
    pub chart: Chart,
}

impl StatsReport {
    /// Nothing to rank for this metric: `/stats` answers with [`StatsReport::empty_message`]
    /// instead of an empty chart.
    pub fn is_empty(&self) -> bool {
        self.leaderboard.is_empty()
    }

    /// A friendly explanation when [`StatsReport::is_empty`].
    pub fn empty_message(&self) -> String {
        if self.stats.is_empty() {
            return "No data yet: no model calls, thumbs or arena votes in this window. \
                    Play a few turns and try again."
                .into();
        }
        match self.metric {
            Metric::Arena => "No arena ratings yet: a model needs enough blind votes \
                              (turn the arena on with /arena on)."
                .into(),
            Metric::ThumbsUp => "No thumbs yet: rate narrations with 👍 or 👎.".into(),
            metric => format!(
                "No {} data yet in this window.",
                metric.label().to_lowercase()
            ),
        }
    }

    /// The leaderboard as aligned plain text, one model a line.
    pub fn table(&self) -> String {
        if self.is_empty() {
            return format!("{}\n", self.empty_message());
        }
        let width = self
            .leaderboard
            .iter()
            .map(|r| r.model.chars().count())
            .max()
            .unwrap_or(5)
            .max(5);
        let mut out = format!(
            "{:>4}  {:<width$}  {:>16}  {:>8}\n",
            "rank",
            "model",
            self.metric.label(),
            "n"
        );
        for row in &self.leaderboard {
            let _ = writeln!(
                out,
                "{:>4}  {:<width$}  {:>16}  {:>8}",
                row.rank, row.model, row.display, row.sample_size
            );
        }
        out
    }
}

/// Builds the report for `metric`; `context` ends the chart title (e.g. "this server, last 30
/// days"). Arena ratings are fitted only when there are battles.
pub fn build_report<R: Rng + ?Sized>(
    metric: Metric,
    data: &StatsData,
    context: &str,
    arena_config: &ArenaConfig,
    rng: &mut R,
) -> StatsReport {
    let arena = if data.battles.is_empty() {
        Vec::new()
    } else {
        fit_arena(&data.battles, arena_config, rng)
    };
    let stats = model_stats_from_summaries(&data.calls, &data.thumbs, &arena);
    let board = leaderboard(&stats, metric);
    let chart = chart_for(metric, &stats, &board, context);
    StatsReport {
        metric,
        stats,
        leaderboard: board,
        arena,
        chart,
    }
}

/// The latency-over-time chart: each model's daily mean latency, one line per model.
pub fn over_time_chart(series: Vec<DailyLatency>, context: &str) -> Chart {
    let title = if context.is_empty() {
        "Latency over time".to_owned()
    } else {
        format!("Latency over time · {context}")
    };
    Chart::LatencyOverTime { title, series }
}

/// The chart that shows `metric`: latency bars with p95 whiskers, stacked tokens, cost bars,
/// arena intervals, or plain value bars for the rest.
pub fn chart_for(
    metric: Metric,
    stats: &[ModelStats],
    board: &[LeaderboardRow],
    context: &str,
) -> Chart {
    let title = if context.is_empty() {
        metric.label().to_owned()
    } else {
        format!("{} · {context}", metric.label())
    };
    // Leaderboard order, best first.
    let ranked: Vec<&ModelStats> = board
        .iter()
        .filter_map(|row| stats.iter().find(|s| s.model == row.model))
        .collect();
    let values = |axis: &str, scale: f64| Chart::Values {
        title: title.clone(),
        axis: axis.to_owned(),
        bars: board
            .iter()
            .map(|row| ValueBar {
                model: row.model.clone(),
                value: row.value * scale,
                label: row.display.clone(),
            })
            .collect(),
    };
    match metric {
        Metric::Latency => Chart::Latency {
            title,
            bars: ranked
                .iter()
                .filter_map(|s| LatencyBar::from_stats(s))
                .collect(),
        },
        Metric::Ttft => values("time to first token (ms)", 1.0),
        // The chart stacks both kinds of tokens: its title says so, the ranking stays by output.
        Metric::TokensOut => Chart::Tokens {
            title: title.replacen(
                metric.label(),
                "Tokens per call: input (faded) under output",
                1,
            ),
            bars: ranked
                .iter()
                .filter_map(|s| TokenBar::from_stats(s))
                .collect(),
        },
        Metric::TokensPerSecond => values("output tokens per second", 1.0),
        Metric::Cost => Chart::Cost {
            title,
            bars: ranked
                .iter()
                .filter_map(|s| CostBar::from_stats(s))
                .collect(),
        },
        Metric::CostPerTurn => Chart::Cost {
            title,
            bars: ranked
                .iter()
                .filter_map(|s| {
                    Some(CostBar {
                        model: s.model.clone(),
                        cost_usd: s.cost_per_turn?,
                    })
                })
                .collect(),
        },
        Metric::ErrorRate => values("error rate (%)", 100.0),
        Metric::ThumbsUp => values("thumbs up (%)", 100.0),
        Metric::Arena => Chart::Ratings {
            title,
            ratings: ranked
                .iter()
                .filter_map(|s| RatingInterval::from_stats(s))
                .collect(),
        },
    }
}

pub const CSV_HEADER: &str = "model,calls,errors,error_rate,latency_p50_ms,latency_p95_ms,\
ttft_p50_ms,tokens_in_mean,tokens_out_mean,tokens_in_total,tokens_out_total,tokens_per_second,\
cost_total_usd,cost_per_turn_usd,thumbs_up_share,thumbs_votes,arena_rating,arena_ci_low,\
arena_ci_high,arena_battles";

/// The aggregates as CSV: a header and one row per model. Numbers in plain decimal (never
/// exponent notation), shares as fractions, an empty field for an unknown value (an unknown
/// cost is empty, not 0). Model names are quoted when they need it (RFC 4180).
pub fn report_csv(stats: &[ModelStats]) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for s in stats {
        let arena = s.arena.as_ref();
        let mut fields = csv::call_fields(s);
        fields.extend([
            csv::number(s.thumbs_up_share),
            s.thumbs_votes.to_string(),
            csv::number(arena.map(|a| a.rating)),
            csv::number(arena.map(|a| a.ci_low)),
            csv::number(arena.map(|a| a.ci_high)),
            arena.map(|a| a.battles.to_string()).unwrap_or_default(),
        ]);
        out.push_str(&csv::line(&fields));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::stats::{CallSample, Outcome, summarize};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn call(model: &str, latency_ms: i64, cost: Option<f64>) -> CallSample {
        CallSample {
            model: model.into(),
            latency_ms,
            ttft_ms: Some(latency_ms / 4),
            tokens_in: Some(1000),
            tokens_out: Some(200),
            cost_usd: cost,
            ok: true,
        }
    }

    fn report(metric: Metric, data: &StatsData) -> StatsReport {
        build_report(
            metric,
            data,
            "this server, last 30 days",
            &ArenaConfig {
                bootstrap_rounds: 20,
                min_votes: 2,
                ..ArenaConfig::default()
            },
            &mut StdRng::seed_from_u64(1),
        )
    }

    fn data() -> StatsData {
        let mut battles = Vec::new();
        for i in 0..6 {
            battles.push(Battle {
                model_a: "a".into(),
                model_b: "b".into(),
                outcome: if i < 5 { Outcome::AWins } else { Outcome::Tie },
            });
        }
        StatsData {
            calls: summarize(&[
                call("a", 2000, Some(0.02)),
                call("a", 4000, None),
                call("b", 1000, Some(0.00000005)),
            ]),
            thumbs: vec![ThumbVotes {
                model: "a".into(),
                up: 3,
                down: 1,
            }],
            battles,
        }
    }

    #[test]
    fn each_metric_gets_its_chart() {
        let data = data();
        let kind = |metric| match report(metric, &data).chart {
            Chart::Latency { .. } => "latency",
            Chart::Tokens { .. } => "tokens",
            Chart::Cost { .. } => "cost",
            Chart::Ratings { .. } => "ratings",
            Chart::LatencyOverTime { .. } => "over-time",
            Chart::Values { .. } => "values",
        };
        assert_eq!(kind(Metric::Latency), "latency");
        assert_eq!(kind(Metric::TokensOut), "tokens");
        assert_eq!(kind(Metric::Cost), "cost");
        assert_eq!(kind(Metric::CostPerTurn), "cost");
        assert_eq!(kind(Metric::Arena), "ratings");
        for metric in [
            Metric::Ttft,
            Metric::TokensPerSecond,
            Metric::ErrorRate,
            Metric::ThumbsUp,
        ] {
            assert_eq!(kind(metric), "values");
        }
    }

    #[test]
    fn bars_follow_the_leaderboard() {
        let r = report(Metric::Latency, &data());
        assert_eq!(r.leaderboard[0].model, "b");
        let Chart::Latency { title, bars } = &r.chart else {
            panic!("{:?}", r.chart)
        };
        assert_eq!(title, "Latency (p50) · this server, last 30 days");
        let order: Vec<_> = bars.iter().map(|b| b.model.as_str()).collect();
        assert_eq!(order, ["b", "a"]);
        assert!(!r.is_empty());
        assert!(r.table().contains("rank") && r.table().contains("1.00 s"));

        let arena = report(Metric::Arena, &data());
        assert_eq!(arena.leaderboard[0].model, "a");
        assert_eq!(arena.arena.len(), 2);
        let thumbs = report(Metric::ThumbsUp, &data());
        let Chart::Values { bars, .. } = &thumbs.chart else {
            panic!()
        };
        assert_eq!(
            (bars.len(), bars[0].value, bars[0].label.as_str()),
            (1, 75.0, "75.0%")
        );
    }

    #[test]
    fn empty_data_is_a_friendly_empty_report() {
        let r = report(Metric::Latency, &StatsData::default());
        assert!(r.is_empty() && r.chart.is_empty());
        assert!(r.empty_message().starts_with("No data yet"));
        let arena = report(
            Metric::Arena,
            &StatsData {
                calls: summarize(&[call("a", 10, None)]),
                ..StatsData::default()
            },
        );
        assert!(arena.is_empty());
        assert!(arena.empty_message().contains("arena"));
    }

    #[test]
    fn csv_has_a_row_per_model_in_plain_decimal() {
        let r = report(Metric::Cost, &data());
        let csv = report_csv(&r.stats);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], CSV_HEADER);
        let header: Vec<&str> = lines[0].split(',').collect();
        let a: Vec<&str> = lines[1].split(',').collect();
        let b: Vec<&str> = lines[2].split(',').collect();
        assert_eq!(a.len(), header.len());
        let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
        assert_eq!(a[col("model")], "a");
        assert_eq!(a[col("calls")], "2");
        assert_eq!(a[col("latency_p50_ms")], "3000");
        assert_eq!(a[col("cost_total_usd")], "0.02");
        assert_eq!(a[col("thumbs_up_share")], "0.75");
        assert_eq!(b[col("cost_total_usd")], "0.00000005");
        assert_eq!(b[col("thumbs_up_share")], "");
        assert!(!csv.contains("e-"), "{csv}");
        assert_eq!(csv::field("x,\"y\""), "\"x,\"\"y\"\"\"");
    }
}
