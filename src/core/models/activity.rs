//! The last hour of model calls, as `/system` shows it: calls and error rate per model, and
//! calls per five minutes for the chart.

use std::collections::BTreeMap;

use crate::core::ids::Timestamp;
use crate::core::stats::chart::{Chart, ValueBar};

/// One model call, as much of it as the activity view needs.
#[derive(Debug, Clone, PartialEq)]
pub struct CallPoint {
    pub model: String,
    pub ok: bool,
    pub created_at: Timestamp,
}

/// Calls of one model in the window.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelActivity {
    pub model: String,
    pub calls: u64,
    pub errors: u64,
}

impl ModelActivity {
    /// Failed calls as a share of all calls, 0 to 1.
    pub fn error_rate(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.errors as f64 / self.calls as f64
        }
    }
}

pub const BUCKET_MS: i64 = 5 * 60 * 1000;
pub const WINDOW_MS: i64 = 60 * 60 * 1000;
pub const BUCKETS: usize = (WINDOW_MS / BUCKET_MS) as usize;

#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    /// Start of the window (inclusive).
    pub since: Timestamp,
    /// Busiest model first, then by name.
    pub models: Vec<ModelActivity>,
    /// Calls per five minutes, oldest first; the last bucket ends at the window's end.
    pub buckets: [u64; BUCKETS],
}

impl Activity {
    /// The hour that ends at `now`. Calls outside it are ignored.
    pub fn last_hour(now: Timestamp, calls: &[CallPoint]) -> Activity {
        let since = Timestamp(now.0 - WINDOW_MS);
        let mut per_model: BTreeMap<&str, ModelActivity> = BTreeMap::new();
        let mut buckets = [0u64; BUCKETS];
        for call in calls
            .iter()
            .filter(|c| c.created_at.0 >= since.0 && c.created_at.0 <= now.0)
        {
            let entry = per_model
                .entry(call.model.as_str())
                .or_insert_with(|| ModelActivity {
                    model: call.model.clone(),
                    calls: 0,
                    errors: 0,
                });
            entry.calls += 1;
            entry.errors += u64::from(!call.ok);
            let index = ((call.created_at.0 - since.0) / BUCKET_MS) as usize;
            buckets[index.min(BUCKETS - 1)] += 1;
        }
        let mut models: Vec<ModelActivity> = per_model.into_values().collect();
        models.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.model.cmp(&b.model)));
        Activity {
            since,
            models,
            buckets,
        }
    }

    pub fn total_calls(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// Bars labelled with the UTC time each five minutes start at.
    pub fn chart(&self) -> Chart {
        let bars = self
            .buckets
            .iter()
            .enumerate()
            .map(|(i, &calls)| {
                let start = self.since.0 + i as i64 * BUCKET_MS;
                let minute_of_day = (start.rem_euclid(86_400_000)) / 60_000;
                ValueBar {
                    model: format!("{:02}:{:02}", minute_of_day / 60, minute_of_day % 60),
                    value: calls as f64,
                    label: calls.to_string(),
                }
            })
            .collect();
        Chart::Values {
            title: "Model calls in the last hour (per 5 minutes, UTC)".into(),
            axis: "calls".into(),
            bars,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(model: &str, ok: bool, at: i64) -> CallPoint {
        CallPoint {
            model: model.into(),
            ok,
            created_at: Timestamp(at),
        }
    }

    #[test]
    fn counts_calls_and_errors_per_model_within_the_hour() {
        let now = 10 * WINDOW_MS;
        let calls = [
            call("local:a", true, now - 1000),
            call("local:a", false, now - 2000),
            call("local:b", true, now - WINDOW_MS), // first millisecond of the window
            call("local:b", true, now - WINDOW_MS - 1), // outside
            call("local:a", true, now - 30 * 60 * 1000),
        ];
        let a = Activity::last_hour(Timestamp(now), &calls);
        assert_eq!(a.models.len(), 2);
        assert_eq!(a.models[0].model, "local:a");
        assert_eq!((a.models[0].calls, a.models[0].errors), (3, 1));
        assert!((a.models[0].error_rate() - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!((a.models[1].calls, a.models[1].errors), (1, 0));
        assert_eq!(a.total_calls(), 4);
        assert_eq!(a.buckets[0], 1);
        assert_eq!(a.buckets[6], 1);
        assert_eq!(a.buckets[BUCKETS - 1], 2);
    }

    #[test]
    fn chart_labels_are_utc_times() {
        // 1970-01-01 01:00 UTC ends the window: bars from 00:00 to 00:55.
        let a = Activity::last_hour(Timestamp(WINDOW_MS), &[]);
        let Chart::Values { bars, .. } = a.chart() else {
            panic!("a bar chart")
        };
        assert_eq!(bars.len(), BUCKETS);
        assert_eq!(bars[0].model, "00:00");
        assert_eq!(bars[11].model, "00:55");
    }
}
