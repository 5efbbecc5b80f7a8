//! Exact, mergeable summaries of model calls.
//!
//! A [`CallSummary`] holds everything [`super::ModelStats`] is computed from: counts, integer
//! sums and exact histograms of latency and time to first token. Summaries of disjoint sets of
//! calls merge into the summary of their union, so storage can keep one per day (a rollup) and
//! a report over a month reads thirty of them instead of every call. Percentiles come from the
//! histograms by rank, with the same interpolation as [`super::percentile`] on the sorted
//! values, so a merged summary gives bit-for-bit the figures of the raw calls. The one
//! exception is the cost total, a floating-point sum: summed in another order it may differ in
//! the last bits (about 1e-16 relative), as it already did between two query plans.

use std::collections::BTreeMap;

use super::aggregate::{CallSample, ModelStats};
use super::interpolate_ranks;

/// An exact multiset of integer values (milliseconds): ascending `(value, count)` runs with
/// distinct values and non-zero counts. Its size grows with the number of distinct values,
/// not of calls, and there is no upper bound or resolution loss: a 90-second timeout is one
/// more run, not an overflow bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    runs: Vec<(i64, u64)>,
}

/// A stored histogram could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed histogram: {0}")]
pub struct HistogramDecodeError(&'static str);

const ENCODING_VERSION: u8 = 1;

impl Histogram {
    pub fn runs(&self) -> &[(i64, u64)] {
        &self.runs
    }

    /// How many values it holds.
    pub fn count(&self) -> u64 {
        self.runs.iter().map(|&(_, c)| c).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The mean of the values; None when there are none.
    pub fn mean(&self) -> Option<f64> {
        let count = self.count();
        let sum: i128 = self
            .runs
            .iter()
            .map(|&(value, count)| i128::from(value) * i128::from(count))
            .sum();
        (count > 0).then(|| sum as f64 / count as f64)
    }

    /// The `p`-th percentile (numpy's linear interpolation), exactly as
    /// [`super::percentile`] computes it on the sorted values.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let n = usize::try_from(self.count()).ok()?;
        interpolate_ranks(n, p, |lower, upper| {
            (self.value_at(lower) as f64, self.value_at(upper) as f64)
        })
    }

    /// The value of rank `rank` (0-based) in ascending order; `rank` must be below `count`.
    fn value_at(&self, rank: usize) -> i64 {
        let mut seen: u64 = 0;
        for &(value, count) in &self.runs {
            seen += count;
            if (rank as u64) < seen {
                return value;
            }
        }
        self.runs.last().map_or(0, |&(v, _)| v)
    }

    /// The histogram of `values`, in any order. Sorting plain values once is cheaper than
    /// a builder's `(value, 1)` runs for the few dozen values of an hour's calls.
    pub fn from_values(mut values: Vec<i64>) -> Histogram {
        values.sort_unstable();
        let mut runs: Vec<(i64, u64)> = values.into_iter().map(|v| (v, 1)).collect();
        merge_equal_neighbours(&mut runs);
        Histogram { runs }
    }

    /// Compact bytes: a version byte, the number of runs, then per run the gap from the
    /// previous value (the first value zigzag-encoded) and the count, as LEB128 varints.
    /// Latencies a few milliseconds apart take two or three bytes a run.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.runs.len() * 3);
        out.push(ENCODING_VERSION);
        put_varint(&mut out, self.runs.len() as u64);
        let mut previous: Option<i64> = None;
        for &(value, count) in &self.runs {
            let gap = match previous {
                None => zigzag(value),
                // Ascending and distinct, so the gap is at least 1 and fits in a u64.
                Some(prev) => value.abs_diff(prev),
            };
            put_varint(&mut out, gap);
            put_varint(&mut out, count);
            previous = Some(value);
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Histogram, HistogramDecodeError> {
        let mut input = bytes;
        let version = take_byte(&mut input).ok_or(HistogramDecodeError("empty"))?;
        if version != ENCODING_VERSION {
            return Err(HistogramDecodeError("unknown version"));
        }
        let len = take_varint(&mut input)?;
        // Each run takes at least two bytes: a length beyond that is corrupt, not a reason to
        // reserve memory.
        if len > input.len() as u64 / 2 {
            return Err(HistogramDecodeError("run count beyond the data"));
        }
        let mut runs = Vec::with_capacity(len as usize);
        let mut previous: Option<i64> = None;
        for _ in 0..len {
            let gap = take_varint(&mut input)?;
            let count = take_varint(&mut input)?;
            let value = match previous {
                None => unzigzag(gap),
                Some(prev) => {
                    if gap == 0 {
                        return Err(HistogramDecodeError("values out of order"));
                    }
                    i64::try_from(i128::from(prev) + i128::from(gap))
                        .map_err(|_| HistogramDecodeError("value out of range"))?
                }
            };
            if count == 0 {
                return Err(HistogramDecodeError("empty run"));
            }
            runs.push((value, count));
            previous = Some(value);
        }
        if !input.is_empty() {
            return Err(HistogramDecodeError("trailing bytes"));
        }
        Ok(Histogram { runs })
    }
}

/// Collects values and histograms in any order into one histogram.
///
/// Values wait in a list that is compacted (sorted, equal values counted once) whenever it
/// has doubled since the last compaction. A month of rollups adds millions of runs over a few
/// thousand distinct latencies: kept until the end, the list grew to megabytes per model, and
/// growing it (copies and fresh pages from the kernel) cost more than decoding the runs.
#[derive(Debug, Clone, Default)]
pub struct HistogramBuilder {
    pending: Vec<(i64, u64)>,
    /// Compacts when `pending` reaches this length (0 until the first add).
    compact_at: usize,
}

/// The shortest list worth compacting: below it, sorting once at the end is as cheap.
const MIN_COMPACT_AT: usize = 4096;

impl HistogramBuilder {
    pub fn add(&mut self, value: i64) {
        self.pending.push((value, 1));
        self.compact_when_doubled();
    }

    pub fn add_histogram(&mut self, histogram: &Histogram) {
        self.pending.extend_from_slice(&histogram.runs);
        self.compact_when_doubled();
    }

    fn compact_when_doubled(&mut self) {
        if self.pending.len() >= self.compact_at.max(MIN_COMPACT_AT) {
            self.compact();
            self.compact_at = self.pending.len() * 2;
        }
    }

    pub fn build(mut self) -> Histogram {
        self.compact();
        Histogram { runs: self.pending }
    }

    /// Turns `pending` into ascending runs of distinct values, in place.
    fn compact(&mut self) {
        let Some(min) = self.pending.iter().map(|&(v, _)| v).min() else {
            return;
        };
        let max = self.pending.iter().map(|&(v, _)| v).max().unwrap_or(min);
        let span = max.abs_diff(min);
        // Latencies span a few seconds to minutes: counting into an array indexed by value
        // costs the span, sorting costs n log n. Count when the span is the smaller, within
        // 2^21 counters (16 MB). A rollup of one hour holds a few dozen calls over a span of
        // thousands: zeroing and scanning that array for each of them made merging a
        // million calls' rollups take 400 ms.
        let n = self.pending.len() as u64;
        let dense_limit = (n * u64::from(64 - n.leading_zeros())).min(1 << 21);
        if span < dense_limit {
            let mut counts = vec![0u64; span as usize + 1];
            for &(value, count) in &self.pending {
                counts[value.abs_diff(min) as usize] += count;
            }
            self.pending.clear();
            self.pending.extend(
                counts
                    .iter()
                    .enumerate()
                    .filter(|&(_, &c)| c > 0)
                    .map(|(offset, &c)| (min + offset as i64, c)),
            );
        } else {
            self.pending.sort_unstable_by_key(|&(v, _)| v);
            merge_equal_neighbours(&mut self.pending);
        }
    }
}

/// Merges the neighbouring runs of equal value of sorted `runs` into one, adding the counts.
fn merge_equal_neighbours(runs: &mut Vec<(i64, u64)>) {
    runs.dedup_by(|later, kept| {
        let equal = later.0 == kept.0;
        if equal {
            kept.1 += later.1;
        }
        equal
    });
}

/// Everything the per-model aggregates are computed from, for one model's calls.
///
/// Latency and TTFT histograms cover successful calls only; counts, token sums and costs
/// cover every call (see [`ModelStats`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallSummary {
    pub model: String,
    pub calls: u64,
    pub errors: u64,
    pub latency_ms: Histogram,
    pub ttft_ms: Histogram,
    pub tokens_in_sum: i64,
    pub tokens_in_known: u64,
    pub tokens_out_sum: i64,
    pub tokens_out_known: u64,
    /// Output tokens of successful calls with a positive generation time, and that time.
    pub generated_tokens: i64,
    pub generation_ms: i64,
    pub cost_sum: f64,
    pub cost_known: u64,
}

impl CallSummary {
    /// The per-model aggregates, without thumbs or arena ratings.
    pub fn stats(&self) -> ModelStats {
        let mean = |sum: i64, known: u64| (known > 0).then(|| sum as f64 / known as f64);
        ModelStats {
            model: self.model.clone(),
            calls: self.calls,
            errors: self.errors,
            error_rate: (self.calls > 0).then(|| self.errors as f64 / self.calls as f64),
            latency_p50: self.latency_ms.percentile(50.0),
            latency_p95: self.latency_ms.percentile(95.0),
            ttft_p50: self.ttft_ms.percentile(50.0),
            tokens_in_mean: mean(self.tokens_in_sum, self.tokens_in_known),
            tokens_out_mean: mean(self.tokens_out_sum, self.tokens_out_known),
            tokens_in_total: self.tokens_in_sum,
            tokens_out_total: self.tokens_out_sum,
            tokens_per_second: (self.generation_ms > 0)
                .then(|| self.generated_tokens as f64 / (self.generation_ms as f64 / 1000.0)),
            cost_total: (self.cost_known > 0).then_some(self.cost_sum),
            cost_per_turn: (self.cost_known > 0).then(|| self.cost_sum / self.cost_known as f64),
            thumbs_up_share: None,
            thumbs_votes: 0,
            arena: None,
        }
    }
}

/// Accumulates calls and summaries (of one model) into one [`CallSummary`].
#[derive(Debug, Clone, Default)]
pub struct SummaryBuilder {
    calls: u64,
    errors: u64,
    latency_ms: HistogramBuilder,
    ttft_ms: HistogramBuilder,
    tokens_in_sum: i64,
    tokens_in_known: u64,
    tokens_out_sum: i64,
    tokens_out_known: u64,
    generated_tokens: i64,
    generation_ms: i64,
    cost_sum: f64,
    cost_known: u64,
}

impl SummaryBuilder {
    pub fn add_call(&mut self, call: &CallSample) {
        self.calls += 1;
        if let Some(tokens) = call.tokens_in {
            self.tokens_in_sum = self.tokens_in_sum.saturating_add(tokens);
            self.tokens_in_known += 1;
        }
        if let Some(tokens) = call.tokens_out {
            self.tokens_out_sum = self.tokens_out_sum.saturating_add(tokens);
            self.tokens_out_known += 1;
        }
        if let Some(cost) = call.cost_usd.filter(|c| c.is_finite()) {
            self.cost_sum += cost;
            self.cost_known += 1;
        }
        if !call.ok {
            self.errors += 1;
            return;
        }
        self.latency_ms.add(call.latency_ms);
        if let Some(ttft) = call.ttft_ms {
            self.ttft_ms.add(ttft);
        }
        if let Some(tokens) = call.tokens_out {
            let generation_ms = match call.ttft_ms {
                Some(ttft) if ttft < call.latency_ms => call.latency_ms - ttft,
                _ => call.latency_ms,
            };
            if generation_ms > 0 {
                self.generated_tokens = self.generated_tokens.saturating_add(tokens);
                self.generation_ms = self.generation_ms.saturating_add(generation_ms);
            }
        }
    }

    pub fn add_summary(&mut self, s: &CallSummary) {
        self.calls += s.calls;
        self.errors += s.errors;
        self.latency_ms.add_histogram(&s.latency_ms);
        self.ttft_ms.add_histogram(&s.ttft_ms);
        self.tokens_in_sum = self.tokens_in_sum.saturating_add(s.tokens_in_sum);
        self.tokens_in_known += s.tokens_in_known;
        self.tokens_out_sum = self.tokens_out_sum.saturating_add(s.tokens_out_sum);
        self.tokens_out_known += s.tokens_out_known;
        self.generated_tokens = self.generated_tokens.saturating_add(s.generated_tokens);
        self.generation_ms = self.generation_ms.saturating_add(s.generation_ms);
        self.cost_sum += s.cost_sum;
        self.cost_known += s.cost_known;
    }

    pub fn build(self, model: String) -> CallSummary {
        CallSummary {
            model,
            calls: self.calls,
            errors: self.errors,
            latency_ms: self.latency_ms.build(),
            ttft_ms: self.ttft_ms.build(),
            tokens_in_sum: self.tokens_in_sum,
            tokens_in_known: self.tokens_in_known,
            tokens_out_sum: self.tokens_out_sum,
            tokens_out_known: self.tokens_out_known,
            generated_tokens: self.generated_tokens,
            generation_ms: self.generation_ms,
            cost_sum: self.cost_sum,
            cost_known: self.cost_known,
        }
    }
}

/// One summary per model (sorted by name) of raw calls.
pub fn summarize(calls: &[CallSample]) -> Vec<CallSummary> {
    let mut per_model: BTreeMap<&str, SummaryBuilder> = BTreeMap::new();
    for call in calls {
        per_model.entry(&call.model).or_default().add_call(call);
    }
    per_model
        .into_iter()
        .map(|(model, builder)| builder.build(model.to_owned()))
        .collect()
}

/// Merges summaries of disjoint sets of calls, per model (sorted by name).
pub fn merge_summaries<'a>(parts: impl IntoIterator<Item = &'a CallSummary>) -> Vec<CallSummary> {
    let mut per_model: BTreeMap<&str, SummaryBuilder> = BTreeMap::new();
    for part in parts {
        per_model.entry(&part.model).or_default().add_summary(part);
    }
    per_model
        .into_iter()
        .map(|(model, builder)| builder.build(model.to_owned()))
        .collect()
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take_byte(input: &mut &[u8]) -> Option<u8> {
    let (&first, rest) = input.split_first()?;
    *input = rest;
    Some(first)
}

fn take_varint(input: &mut &[u8]) -> Result<u64, HistogramDecodeError> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = take_byte(input).ok_or(HistogramDecodeError("truncated"))?;
        let bits = u64::from(byte & 0x7f);
        if shift == 63 && bits > 1 {
            return Err(HistogramDecodeError("varint overflow"));
        }
        value |= bits << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(HistogramDecodeError("varint overflow"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::stats::percentile;

    fn histogram(values: &[i64]) -> Histogram {
        let mut b = HistogramBuilder::default();
        for &v in values {
            b.add(v);
        }
        b.build()
    }

    #[test]
    fn percentiles_match_the_sorted_values_exactly() {
        let values = [5, 1, 9, 1, 1, 300, 42, 42, 7, 0, -3];
        let h = histogram(&values);
        let mut sorted: Vec<f64> = values.iter().map(|&v| v as f64).collect();
        sorted.sort_by(f64::total_cmp);
        for p in [0.0, 2.5, 25.0, 50.0, 90.0, 95.0, 99.9, 100.0] {
            assert_eq!(h.percentile(p), percentile(&sorted, p), "p{p}");
        }
        assert_eq!(h.count(), values.len() as u64);
        assert_eq!(Histogram::default().percentile(50.0), None);
        assert_eq!(h.percentile(101.0), None);
    }

    #[test]
    fn dense_and_sparse_builds_agree() {
        // One far outlier makes the span too wide for counting: the sort path.
        let sparse = histogram(&[3, 3, 1, i64::MAX, i64::MIN, 2]);
        assert_eq!(
            sparse.runs(),
            [(i64::MIN, 1), (1, 1), (2, 1), (3, 2), (i64::MAX, 1)]
        );
        let dense = histogram(&[3, 3, 1, 2]);
        assert_eq!(dense.runs(), [(1, 1), (2, 1), (3, 2)]);
    }

    #[test]
    fn a_histogram_of_plain_values_equals_the_built_one() {
        let values = vec![7, -2, 7, 7, 1_000_000, 0, -2, 3];
        assert_eq!(Histogram::from_values(values.clone()), histogram(&values));
        assert_eq!(Histogram::from_values(Vec::new()), Histogram::default());
    }

    #[test]
    fn compacting_on_the_way_keeps_every_value() {
        // Enough values and runs to compact many times: first over a span that counts
        // (dense), then with outliers that make it sort (sparse).
        let mut expected: BTreeMap<i64, u64> = BTreeMap::new();
        let mut builder = HistogramBuilder::default();
        let mut x: u64 = 7;
        for i in 0..60_000u64 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let value = match i % 1000 {
                0 if i > 30_000 => i64::MAX - (x % 3) as i64,
                1 if i > 30_000 => i64::MIN + (x % 3) as i64,
                _ => 500 + (x >> 33) as i64 % 9000,
            };
            *expected.entry(value).or_default() += 1;
            if i % 3 == 0 {
                builder.add(value);
            } else {
                builder.add_histogram(&histogram(&[value]));
            }
        }
        let built = builder.build();
        assert_eq!(built.runs(), expected.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn encoding_round_trips_and_rejects_garbage() {
        for values in [
            vec![],
            vec![0],
            vec![-5, -5, 0, 1, 2, 90_000],
            vec![i64::MIN, i64::MAX],
        ] {
            let h = histogram(&values);
            assert_eq!(Histogram::decode(&h.encode()).unwrap(), h, "{values:?}");
        }
        let bytes = histogram(&[1, 2, 2, 3]).encode();
        assert!(Histogram::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(Histogram::decode(&trailing).is_err());
        assert!(Histogram::decode(&[]).is_err());
        assert!(Histogram::decode(&[2, 0]).is_err());
        // Two runs with the same value (a zero gap).
        assert!(Histogram::decode(&[1, 2, 2, 1, 0, 1]).is_err());
        // A run count the bytes cannot hold.
        assert!(Histogram::decode(&[1, 0xff, 0xff, 0xff, 0x0f]).is_err());
    }

    #[test]
    fn a_histogram_mean_weighs_each_value_by_its_count() {
        let mut builder = HistogramBuilder::default();
        [100, 100, 400, -50]
            .into_iter()
            .for_each(|v| builder.add(v));
        assert_eq!(builder.build().mean(), Some(137.5));
        assert_eq!(Histogram::default().mean(), None);
    }

    #[test]
    fn merged_summaries_equal_the_summary_of_all_calls() {
        let call = |model: &str, latency_ms: i64, ok: bool| CallSample {
            model: model.into(),
            latency_ms,
            ttft_ms: Some(latency_ms / 3),
            tokens_in: Some(latency_ms * 2),
            tokens_out: ok.then_some(17),
            cost_usd: Some(0.5),
            ok,
        };
        let calls: Vec<CallSample> = (0..200)
            .map(|i| call(if i % 3 == 0 { "a" } else { "b" }, i * 7 % 113, i % 9 != 0))
            .collect();
        let whole = summarize(&calls);
        let parts: Vec<CallSummary> = calls.chunks(13).flat_map(summarize).collect();
        let merged = merge_summaries(&parts);
        assert_eq!(merged, whole);
        let stats: Vec<ModelStats> = merged.iter().map(CallSummary::stats).collect();
        assert_eq!(stats, crate::core::stats::model_stats(&calls, &[], &[]));
    }
}
