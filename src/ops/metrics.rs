//! Counters the bot keeps in memory for `/metrics` and `/system`: model calls by model and
//! outcome with latency and time-to-first-token histograms, tokens, cost, Discord REST
//! errors, and the last success and last error of each provider.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::core::ids::Timestamp;
use crate::core::models::chat::{Completion, LlmError, ModelId, Provider};

/// Upper bounds of the latency buckets, in seconds: model calls take from a fraction of a
/// second (first token) to a couple of minutes (a long answer from a slow local model).
pub const SECONDS_BUCKETS: [f64; 12] = [
    0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0,
];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// Cumulative counts per bucket of `SECONDS_BUCKETS`.
    pub buckets: [u64; SECONDS_BUCKETS.len()],
    pub count: u64,
    pub sum: f64,
}

impl Histogram {
    pub fn observe(&mut self, seconds: f64) {
        for (bound, slot) in SECONDS_BUCKETS.iter().zip(self.buckets.iter_mut()) {
            if seconds <= *bound {
                *slot += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// What the bot last saw of a provider.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderState {
    pub last_success: Option<Timestamp>,
    /// When, and the error as shown to users (provider messages never hold keys).
    pub last_error: Option<(Timestamp, String)>,
}

impl ProviderState {
    /// The state without the error's text: provider errors are global (any server's call
    /// may have caused one, and its message may quote that call), so a server's managers
    /// learn only that and when a call failed.
    pub fn without_detail(self) -> ProviderState {
        ProviderState {
            last_error: self
                .last_error
                .map(|(at, _)| (at, "a call failed (the bot's owner sees why)".to_string())),
            ..self
        }
    }
}

#[derive(Default)]
struct Inner {
    calls: BTreeMap<(String, String), u64>,
    latency: BTreeMap<String, Histogram>,
    ttft: BTreeMap<String, Histogram>,
    tokens: BTreeMap<(String, &'static str), u64>,
    cost: BTreeMap<String, f64>,
    discord_errors: BTreeMap<String, u64>,
    providers: BTreeMap<&'static str, ProviderState>,
}

/// Shared by the model wrapper, the presenter and the HTTP listener; cheap to update.
pub struct Metrics {
    started: Instant,
    inner: Mutex<Inner>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Values read at scrape time rather than counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gauges {
    /// Player messages the engine accepted since the start.
    pub turns: u64,
    pub active_sessions: u64,
    /// Commands waiting in the channels' queues.
    pub queued_commands: u64,
    /// Narrations being written right now.
    pub narrations_in_progress: u64,
    pub draining: bool,
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            started: Instant::now(),
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn call_succeeded(&self, model: &ModelId, completion: &Completion, cost: Option<f64>) {
        let name = model.to_string();
        let mut inner = self.inner.lock().unwrap();
        *inner.calls.entry((name.clone(), "ok".into())).or_default() += 1;
        inner
            .latency
            .entry(name.clone())
            .or_default()
            .observe(completion.latency.as_secs_f64());
        if let Some(ttft) = completion.ttft {
            inner
                .ttft
                .entry(name.clone())
                .or_default()
                .observe(ttft.as_secs_f64());
        }
        *inner.tokens.entry((name.clone(), "in")).or_default() +=
            u64::from(completion.usage.tokens_in);
        *inner.tokens.entry((name.clone(), "out")).or_default() +=
            u64::from(completion.usage.tokens_out);
        if let Some(cost) = cost {
            *inner.cost.entry(name).or_default() += cost;
        }
        inner
            .providers
            .entry(model.provider().prefix())
            .or_default()
            .last_success = Some(Timestamp::now());
    }

    pub fn call_failed(&self, model: &ModelId, error: &LlmError, elapsed: Duration) {
        let name = model.to_string();
        let mut inner = self.inner.lock().unwrap();
        *inner
            .calls
            .entry((name.clone(), error.kind.as_str().into()))
            .or_default() += 1;
        inner
            .latency
            .entry(name)
            .or_default()
            .observe(elapsed.as_secs_f64());
        inner
            .providers
            .entry(model.provider().prefix())
            .or_default()
            .last_error = Some((Timestamp::now(), error.message.clone()));
    }

    /// A Discord REST call the bot made failed (`operation`: send, edit, ...).
    pub fn discord_error(&self, operation: &str) {
        *self
            .inner
            .lock()
            .unwrap()
            .discord_errors
            .entry(operation.to_string())
            .or_default() += 1;
    }

    pub fn provider_states(&self) -> Vec<(Provider, ProviderState)> {
        let inner = self.inner.lock().unwrap();
        Provider::ALL
            .iter()
            .map(|p| {
                (
                    *p,
                    inner.providers.get(p.prefix()).cloned().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// Calls counted so far for a model and outcome (`ok` or an error kind).
    pub fn calls(&self, model: &str, outcome: &str) -> u64 {
        let inner = self.inner.lock().unwrap();
        inner
            .calls
            .get(&(model.to_string(), outcome.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Everything in the Prometheus text exposition format (version 0.0.4).
    pub fn render_prometheus(&self, gauges: &Gauges) -> String {
        let inner = self.inner.lock().unwrap();
        let mut w = Writer { out: String::new() };
        w.family(
            "gamemaster_uptime_seconds",
            "gauge",
            "Seconds since the bot started.",
        );
        w.line(format!(
            "gamemaster_uptime_seconds {:.3}",
            self.started.elapsed().as_secs_f64()
        ));
        w.family(
            "gamemaster_turns_total",
            "counter",
            "Player messages the session engine accepted.",
        );
        w.line(format!("gamemaster_turns_total {}", gauges.turns));
        w.family(
            "gamemaster_active_sessions",
            "gauge",
            "Channels with a running session actor.",
        );
        w.line(format!(
            "gamemaster_active_sessions {}",
            gauges.active_sessions
        ));
        w.family(
            "gamemaster_queue_depth",
            "gauge",
            "Commands waiting in the channels' queues.",
        );
        w.line(format!("gamemaster_queue_depth {}", gauges.queued_commands));
        w.family(
            "gamemaster_narrations_in_progress",
            "gauge",
            "Narrations being written right now.",
        );
        w.line(format!(
            "gamemaster_narrations_in_progress {}",
            gauges.narrations_in_progress
        ));
        w.family(
            "gamemaster_draining",
            "gauge",
            "1 while the bot is shutting down and takes no new turns.",
        );
        w.line(format!("gamemaster_draining {}", u8::from(gauges.draining)));

        w.family(
            "gamemaster_model_calls_total",
            "counter",
            "Model calls by model and outcome (ok or the error kind).",
        );
        for ((model, outcome), n) in &inner.calls {
            w.line(format!(
                "gamemaster_model_calls_total{{model=\"{}\",outcome=\"{}\"}} {n}",
                escape(model),
                escape(outcome)
            ));
        }
        w.histograms(
            "gamemaster_model_latency_seconds",
            "Time from request to the end of the answer (or the failure).",
            &inner.latency,
        );
        w.histograms(
            "gamemaster_model_ttft_seconds",
            "Time from request to the first token of successful calls.",
            &inner.ttft,
        );
        w.family(
            "gamemaster_model_tokens_total",
            "counter",
            "Tokens of successful calls, by direction (in: prompt, out: answer).",
        );
        for ((model, direction), n) in &inner.tokens {
            w.line(format!(
                "gamemaster_model_tokens_total{{model=\"{}\",direction=\"{direction}\"}} {n}",
                escape(model)
            ));
        }
        w.family(
            "gamemaster_model_cost_usd_total",
            "counter",
            "Cost of successful calls in USD (models of known price only).",
        );
        for (model, cost) in &inner.cost {
            w.line(format!(
                "gamemaster_model_cost_usd_total{{model=\"{}\"}} {cost}",
                escape(model)
            ));
        }
        w.family(
            "gamemaster_discord_rest_errors_total",
            "counter",
            "Discord REST calls that failed, by operation.",
        );
        for (operation, n) in &inner.discord_errors {
            w.line(format!(
                "gamemaster_discord_rest_errors_total{{operation=\"{}\"}} {n}",
                escape(operation)
            ));
        }
        w.out
    }
}

struct Writer {
    out: String,
}

impl Writer {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn line(&mut self, line: String) {
        self.out.push_str(&line);
        self.out.push('\n');
    }

    fn histograms(&mut self, name: &str, help: &str, by_model: &BTreeMap<String, Histogram>) {
        self.family(name, "histogram", help);
        for (model, h) in by_model {
            let model = escape(model);
            for (bound, n) in SECONDS_BUCKETS.iter().zip(h.buckets) {
                self.line(format!(
                    "{name}_bucket{{model=\"{model}\",le=\"{bound}\"}} {n}"
                ));
            }
            self.line(format!(
                "{name}_bucket{{model=\"{model}\",le=\"+Inf\"}} {}",
                h.count
            ));
            self.line(format!("{name}_sum{{model=\"{model}\"}} {}", h.sum));
            self.line(format!("{name}_count{{model=\"{model}\"}} {}", h.count));
        }
    }
}

/// Label values escape backslash, double quote and line feed.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::models::chat::{ErrorKind, FinishReason, Usage};

    fn completion(latency_ms: u64, ttft_ms: u64) -> Completion {
        Completion {
            reported_cost_usd: None,
            usage: Usage {
                tokens_in: 100,
                tokens_out: 20,
                estimated: false,
            },
            finish_reason: FinishReason::Stop,
            ttft: Some(Duration::from_millis(ttft_ms)),
            latency: Duration::from_millis(latency_ms),
        }
    }

    #[test]
    fn counts_calls_and_renders_histograms() {
        let m = Metrics::new();
        let model = ModelId::parse("openai:gpt-4o").unwrap();
        m.call_succeeded(&model, &completion(1500, 300), Some(0.01));
        m.call_succeeded(&model, &completion(700, 200), Some(0.02));
        m.call_failed(
            &model,
            &LlmError::new(ErrorKind::RateLimited, "slow down"),
            Duration::from_millis(50),
        );
        m.discord_error("edit");
        let text = m.render_prometheus(&Gauges {
            turns: 1,
            active_sessions: 3,
            ..Gauges::default()
        });
        for expected in [
            "gamemaster_turns_total 1",
            "gamemaster_active_sessions 3",
            "gamemaster_model_calls_total{model=\"openai:gpt-4o\",outcome=\"ok\"} 2",
            "gamemaster_model_calls_total{model=\"openai:gpt-4o\",outcome=\"rate_limited\"} 1",
            "gamemaster_model_latency_seconds_bucket{model=\"openai:gpt-4o\",le=\"0.1\"} 1",
            "gamemaster_model_latency_seconds_bucket{model=\"openai:gpt-4o\",le=\"1\"} 2",
            "gamemaster_model_latency_seconds_bucket{model=\"openai:gpt-4o\",le=\"+Inf\"} 3",
            "gamemaster_model_latency_seconds_count{model=\"openai:gpt-4o\"} 3",
            "gamemaster_model_ttft_seconds_bucket{model=\"openai:gpt-4o\",le=\"0.25\"} 1",
            "gamemaster_model_tokens_total{model=\"openai:gpt-4o\",direction=\"out\"} 40",
            "gamemaster_discord_rest_errors_total{operation=\"edit\"} 1",
            "# TYPE gamemaster_model_latency_seconds histogram",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        let states = m.provider_states();
        let openai = &states
            .iter()
            .find(|(p, _)| *p == Provider::OpenAi)
            .unwrap()
            .1;
        assert!(openai.last_success.is_some());
        assert_eq!(openai.last_error.as_ref().unwrap().1, "slow down");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
