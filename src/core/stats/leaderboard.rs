//! Ranking models by one metric.

use std::fmt;

use super::aggregate::ModelStats;

/// What a leaderboard ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Median latency of successful calls.
    Latency,
    /// Median time to first token.
    Ttft,
    /// Mean output tokens per call.
    TokensOut,
    TokensPerSecond,
    /// Total cost in the window.
    Cost,
    CostPerTurn,
    ErrorRate,
    ThumbsUp,
    /// Bradley-Terry arena rating; only ranked models (enough votes) appear.
    Arena,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown metric {0:?}; expected one of: {list}", list = Metric::NAMES.join(", "))]
pub struct ParseMetricError(pub String);

impl Metric {
    pub const ALL: [Metric; 9] = [
        Metric::Latency,
        Metric::Ttft,
        Metric::TokensOut,
        Metric::TokensPerSecond,
        Metric::Cost,
        Metric::CostPerTurn,
        Metric::ErrorRate,
        Metric::ThumbsUp,
        Metric::Arena,
    ];

    /// Canonical names, in the order of [`Metric::ALL`] (what [`Metric::name`] returns).
    pub const NAMES: [&'static str; 9] = [
        "latency",
        "ttft",
        "tokens_out",
        "tokens_per_second",
        "cost",
        "cost_per_turn",
        "error_rate",
        "thumbs_up",
        "arena",
    ];

    /// Accepts the canonical names and a few aliases, case-insensitively, with `-`, `_` or
    /// spaces as separators (`"tokens/s"`, `"tps"`, `"errors"`, `"elo"`, ...).
    pub fn parse(input: &str) -> Result<Metric, ParseMetricError> {
        let key: String = input
            .trim()
            .to_lowercase()
            .chars()
            .map(|c| if c == '-' || c == ' ' { '_' } else { c })
            .collect();
        let metric = match key.as_str() {
            "latency" | "latency_p50" | "p50" => Metric::Latency,
            "ttft" | "time_to_first_token" => Metric::Ttft,
            "tokens" | "tokens_out" | "output_tokens" => Metric::TokensOut,
            "tokens_per_second" | "tokens/s" | "tps" | "throughput" | "speed" => {
                Metric::TokensPerSecond
            }
            "cost" | "cost_total" => Metric::Cost,
            "cost_per_turn" | "turn_cost" => Metric::CostPerTurn,
            "error_rate" | "errors" => Metric::ErrorRate,
            "thumbs_up" | "thumbs" | "rating" | "ratings" => Metric::ThumbsUp,
            "arena" | "elo" => Metric::Arena,
            _ => return Err(ParseMetricError(input.to_owned())),
        };
        Ok(metric)
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[Self::ALL.iter().position(|m| *m == self).unwrap_or(0)]
    }

    /// Human label for titles and embeds.
    pub fn label(self) -> &'static str {
        match self {
            Metric::Latency => "Latency (p50)",
            Metric::Ttft => "Time to first token (p50)",
            Metric::TokensOut => "Output tokens per call",
            Metric::TokensPerSecond => "Output speed",
            Metric::Cost => "Total cost",
            Metric::CostPerTurn => "Cost per turn",
            Metric::ErrorRate => "Error rate",
            Metric::ThumbsUp => "Thumbs up",
            Metric::Arena => "Arena rating",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            Metric::Latency | Metric::Ttft => "ms",
            Metric::TokensOut => "tokens",
            Metric::TokensPerSecond => "tokens/s",
            Metric::Cost | Metric::CostPerTurn => "USD",
            Metric::ErrorRate | Metric::ThumbsUp => "%",
            Metric::Arena => "Elo",
        }
    }

    pub fn higher_is_better(self) -> bool {
        matches!(
            self,
            Metric::TokensOut | Metric::TokensPerSecond | Metric::ThumbsUp | Metric::Arena
        )
    }

    /// The model's value for this metric, if it has one. Shares are fractions in `0..=1`.
    pub fn value(self, stats: &ModelStats) -> Option<f64> {
        let value = match self {
            Metric::Latency => stats.latency_p50,
            Metric::Ttft => stats.ttft_p50,
            Metric::TokensOut => stats.tokens_out_mean,
            Metric::TokensPerSecond => stats.tokens_per_second,
            Metric::Cost => stats.cost_total,
            Metric::CostPerTurn => stats.cost_per_turn,
            Metric::ErrorRate => stats.error_rate,
            Metric::ThumbsUp => stats.thumbs_up_share,
            Metric::Arena => stats.arena.as_ref().filter(|a| a.ranked).map(|a| a.rating),
        };
        value.filter(|v| v.is_finite())
    }

    /// How many observations stand behind the value (calls, votes or battles).
    pub fn sample_size(self, stats: &ModelStats) -> u64 {
        match self {
            Metric::Latency
            | Metric::Ttft
            | Metric::TokensOut
            | Metric::TokensPerSecond
            | Metric::Cost
            | Metric::CostPerTurn
            | Metric::ErrorRate => stats.calls,
            Metric::ThumbsUp => stats.thumbs_votes,
            Metric::Arena => stats.arena.as_ref().map_or(0, |a| a.battles),
        }
    }

    /// Formats a value with its unit, e.g. `"1.23 s"`, `"$0.0042"`, `"12.5%"`.
    pub fn display(self, value: f64) -> String {
        match self {
            Metric::Latency | Metric::Ttft if value >= 1000.0 => {
                format!("{:.2} s", value / 1000.0)
            }
            Metric::Latency | Metric::Ttft => format!("{value:.0} ms"),
            Metric::TokensOut => format!("{value:.0} tokens"),
            Metric::TokensPerSecond => format!("{value:.1} tokens/s"),
            Metric::Cost | Metric::CostPerTurn if value >= 1.0 => format!("${value:.2}"),
            Metric::Cost | Metric::CostPerTurn => format!("${value:.4}"),
            Metric::ErrorRate | Metric::ThumbsUp => format!("{:.1}%", value * 100.0),
            Metric::Arena => format!("{value:.0}"),
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Metric {
    type Err = ParseMetricError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Metric::parse(s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LeaderboardRow {
    /// 1-based; equal values share a rank ("1, 2, 2, 4").
    pub rank: usize,
    pub model: String,
    pub value: f64,
    pub display: String,
    pub sample_size: u64,
}

/// Models ranked best first by `metric`; models without a value are left out. Equal values
/// are ordered by model name so the output is stable.
pub fn leaderboard(stats: &[ModelStats], metric: Metric) -> Vec<LeaderboardRow> {
    let mut rows: Vec<(&ModelStats, f64)> = stats
        .iter()
        .filter_map(|s| metric.value(s).map(|v| (s, v)))
        .collect();
    rows.sort_by(|(a, x), (b, y)| {
        let order = if metric.higher_is_better() {
            y.total_cmp(x)
        } else {
            x.total_cmp(y)
        };
        order.then_with(|| a.model.cmp(&b.model))
    });
    let mut out: Vec<LeaderboardRow> = Vec::with_capacity(rows.len());
    for (position, (stats, value)) in rows.into_iter().enumerate() {
        let rank = match out.last() {
            Some(previous) if previous.value == value => previous.rank,
            _ => position + 1,
        };
        out.push(LeaderboardRow {
            rank,
            model: stats.model.clone(),
            value,
            display: metric.display(value),
            sample_size: metric.sample_size(stats),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::stats::bradley_terry::ArenaRating;

    fn stats(model: &str) -> ModelStats {
        ModelStats {
            model: model.into(),
            calls: 10,
            errors: 0,
            error_rate: Some(0.0),
            latency_p50: None,
            latency_p95: None,
            ttft_p50: None,
            tokens_in_mean: None,
            tokens_out_mean: None,
            tokens_in_total: 0,
            tokens_out_total: 0,
            tokens_per_second: None,
            cost_total: None,
            cost_per_turn: None,
            thumbs_up_share: None,
            thumbs_votes: 0,
            arena: None,
        }
    }

    #[test]
    fn parse_names_and_aliases() {
        for (metric, name) in Metric::ALL.iter().zip(Metric::NAMES) {
            assert_eq!(Metric::parse(name), Ok(*metric));
            assert_eq!(metric.name(), name);
            assert_eq!(metric.to_string().parse::<Metric>(), Ok(*metric));
        }
        assert_eq!(
            Metric::parse(" Tokens-Per-Second "),
            Ok(Metric::TokensPerSecond)
        );
        assert_eq!(Metric::parse("ELO"), Ok(Metric::Arena));
        assert_eq!(Metric::parse("errors"), Ok(Metric::ErrorRate));
        let err = Metric::parse("vibes").unwrap_err();
        assert!(err.to_string().contains("vibes") && err.to_string().contains("latency"));
    }

    #[test]
    fn lower_latency_ranks_first_and_missing_values_are_left_out() {
        let rows = leaderboard(
            &[
                ModelStats {
                    latency_p50: Some(900.0),
                    ..stats("slow")
                },
                ModelStats {
                    latency_p50: Some(300.0),
                    ..stats("fast")
                },
                stats("no-data"),
                ModelStats {
                    latency_p50: Some(900.0),
                    ..stats("also-slow")
                },
            ],
            Metric::Latency,
        );
        let order: Vec<_> = rows.iter().map(|r| (r.rank, r.model.as_str())).collect();
        assert_eq!(order, [(1, "fast"), (2, "also-slow"), (2, "slow")]);
        assert_eq!(rows[0].display, "300 ms");
        assert_eq!(rows[0].sample_size, 10);
    }

    #[test]
    fn higher_is_better_metrics_rank_descending() {
        let input = [
            ModelStats {
                tokens_per_second: Some(20.0),
                thumbs_up_share: Some(0.9),
                thumbs_votes: 20,
                ..stats("a")
            },
            ModelStats {
                tokens_per_second: Some(80.0),
                thumbs_up_share: Some(0.25),
                ..stats("b")
            },
        ];
        assert_eq!(leaderboard(&input, Metric::TokensPerSecond)[0].model, "b");
        let thumbs = leaderboard(&input, Metric::ThumbsUp);
        assert_eq!(thumbs[0].model, "a");
        assert_eq!(thumbs[0].display, "90.0%");
        assert_eq!(thumbs[0].sample_size, 20);
    }

    #[test]
    fn arena_leaves_out_unranked_models() {
        let rating = |model: &str, rating: f64, ranked: bool| ArenaRating {
            model: model.into(),
            rating,
            ci_low: rating - 10.0,
            ci_high: rating + 10.0,
            battles: 12,
            wins: 6,
            ties: 0,
            losses: 6,
            ranked,
        };
        let input = [
            ModelStats {
                arena: Some(rating("a", 1010.0, true)),
                ..stats("a")
            },
            ModelStats {
                arena: Some(rating("b", 1200.0, false)),
                ..stats("b")
            },
            ModelStats {
                arena: Some(rating("c", 990.0, true)),
                ..stats("c")
            },
        ];
        let rows = leaderboard(&input, Metric::Arena);
        let order: Vec<_> = rows.iter().map(|r| r.model.as_str()).collect();
        assert_eq!(order, ["a", "c"]);
        assert_eq!(rows[0].sample_size, 12);
    }

    #[test]
    fn displays_with_units() {
        assert_eq!(Metric::Latency.display(1534.0), "1.53 s");
        assert_eq!(Metric::CostPerTurn.display(0.00421), "$0.0042");
        assert_eq!(Metric::Cost.display(12.345), "$12.35");
        assert_eq!(Metric::ErrorRate.display(0.125), "12.5%");
        assert_eq!(Metric::TokensPerSecond.unit(), "tokens/s");
        assert!(!Metric::Cost.higher_is_better());
    }
}
