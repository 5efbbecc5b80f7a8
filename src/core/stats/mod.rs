//! Statistics behind `/stats`: per-model aggregates of LLM calls, leaderboards by metric and
//! Bradley-Terry ratings from blind arena votes.
//!
//! Everything here is pure: storage hands over plain rows and gets plain values back.

pub mod aggregate;
pub mod bradley_terry;
pub mod chart;
pub mod csv;
pub mod glyphs;
pub mod leaderboard;
pub mod palette;
pub mod query;
pub mod report;
pub mod summary;
pub mod table;

pub use aggregate::{
    CallSample, ModelStats, ThumbVotes, model_stats, model_stats_from_summaries, thumbs_up_share,
};
pub use bradley_terry::{ArenaConfig, ArenaRating, Battle, Outcome, fit_arena, fit_strengths};
pub use leaderboard::{LeaderboardRow, Metric, ParseMetricError, leaderboard};
pub use query::{DEFAULT_KINDS, MAX_DAYS, StatsQuery, StatsScope, window_phrase};
pub use report::{StatsData, StatsReport, build_report, over_time_chart, report_csv};
pub use summary::{CallSummary, Histogram, SummaryBuilder, merge_summaries, summarize};

/// The `p`-th percentile (`p` in `0.0..=100.0`) of an ascending, NaN-free slice.
///
/// Uses linear interpolation between closest ranks, the same definition as numpy's default
/// (`method="linear"`, Hyndman & Fan type 7): with `h = (n - 1) * p / 100`, the result is
/// `x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)])`.
///
/// Returns `None` for an empty slice or a `p` outside `0..=100` (or NaN). The slice is not
/// checked for order: sorting is the caller's job so it is done once for many percentiles.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    interpolate_ranks(sorted.len(), p, |lower, upper| {
        (sorted[lower], sorted[upper])
    })
}

/// The interpolation behind [`percentile`] over `n` ascending values, given the values at two
/// ranks: shared by slices and histograms so both give bit-for-bit the same result.
pub(crate) fn interpolate_ranks(
    n: usize,
    p: f64,
    values_at: impl FnOnce(usize, usize) -> (f64, f64),
) -> Option<f64> {
    if n == 0 || !(0.0..=100.0).contains(&p) {
        return None;
    }
    let h = (n - 1) as f64 * p / 100.0;
    let lower = h.floor() as usize;
    let upper = (lower + 1).min(n - 1);
    let fraction = h - lower as f64;
    let (low, high) = values_at(lower, upper);
    Some(low + fraction * (high - low))
}

/// Sorts values ascending in place with a total order (NaN would sort last; callers keep it out).
pub(crate) fn sort_f64(values: &mut [f64]) {
    values.sort_unstable_by(f64::total_cmp);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_matches_numpy_linear() {
        // numpy.percentile([1, 2, 3, 4], [0, 25, 50, 90, 100]) == [1.0, 1.75, 2.5, 3.7, 4.0]
        let xs = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&xs, 0.0), Some(1.0));
        assert_eq!(percentile(&xs, 25.0), Some(1.75));
        assert_eq!(percentile(&xs, 50.0), Some(2.5));
        assert!((percentile(&xs, 90.0).unwrap() - 3.7).abs() < 1e-12);
        assert_eq!(percentile(&xs, 100.0), Some(4.0));
        // numpy.percentile([10, 20, 30, 40, 50], 95) == 48.0
        let ys = [10.0, 20.0, 30.0, 40.0, 50.0];
        assert_eq!(percentile(&ys, 95.0), Some(48.0));
        assert_eq!(percentile(&ys, 50.0), Some(30.0));
    }

    #[test]
    fn percentile_edge_cases() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7.0], 0.0), Some(7.0));
        assert_eq!(percentile(&[7.0], 95.0), Some(7.0));
        assert_eq!(percentile(&[1.0, 2.0], -1.0), None);
        assert_eq!(percentile(&[1.0, 2.0], 100.5), None);
        assert_eq!(percentile(&[1.0, 2.0], f64::NAN), None);
    }
}
