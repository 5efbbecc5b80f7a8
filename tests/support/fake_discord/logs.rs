//! Captures the bot's tracing output and keeps the lines that mean serenity dropped something.
//!
//! Serenity does not surface a dispatch it cannot parse: it logs `Err deserializing text` (warn)
//! for a known event with a bad payload, and `An unknown event was received` (debug) for an event
//! name it does not know, then carries on. The capture is installed as the thread's default
//! subscriber, so it sees the bot only when the bot runs on the test's thread: use
//! `#[tokio::test]` (the current-thread runtime). A benchmark on a multi-threaded runtime
//! installs it as the process's global subscriber instead (`install_global`, once per process).

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::DefaultGuard;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

/// Serenity log lines that mean an event or response was lost.
const DROPPED_EVENT_MARKERS: &[&str] = &[
    "An unknown event was received",
    "Err deserializing",
    "Failed to deserialize",
    "Unhandled error",
    "Mismatched successful response status",
];

pub struct LogCapture {
    problems: Arc<Mutex<Vec<String>>>,
    lines: Arc<Mutex<Vec<String>>>,
    found: Arc<Notify>,
    /// None when installed globally (it then stays for the life of the process).
    _guard: Option<DefaultGuard>,
}

impl LogCapture {
    /// Installs the capture for the current thread. Set `FAKE_DISCORD_LOG=1` to also print
    /// every captured line to stderr.
    pub fn install() -> Self {
        let (capture, layer) = Self::new();
        let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
        Self {
            _guard: Some(guard),
            ..capture
        }
    }

    /// Installs the capture for every thread of the process (a multi-threaded runtime).
    /// Panics if the process already has a global subscriber.
    pub fn install_global() -> Self {
        let (capture, layer) = Self::new();
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .expect("one global log capture per process");
        capture
    }

    fn new() -> (Self, CaptureLayer) {
        let problems = Arc::new(Mutex::new(Vec::new()));
        let found = Arc::new(Notify::new());
        let lines = Arc::new(Mutex::new(Vec::new()));
        let layer = CaptureLayer {
            problems: problems.clone(),
            lines: lines.clone(),
            found: found.clone(),
            echo: std::env::var_os("FAKE_DISCORD_LOG").is_some(),
        };
        let capture = Self {
            problems,
            lines,
            found,
            _guard: None,
        };
        (capture, layer)
    }

    /// Waits until at least `n` problem lines were captured.
    pub async fn wait_problems(&self, n: usize, timeout: Duration) -> Result<Vec<String>, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.found.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let now = self.problems();
            if now.len() >= n {
                return Ok(now);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(format!(
                    "timed out after {timeout:?} waiting for {n} serenity problem lines"
                ));
            }
        }
    }

    /// The shared list the capture appends to.
    pub fn problem_list(&self) -> Arc<Mutex<Vec<String>>> {
        self.problems.clone()
    }

    /// Every captured line (debug and above), in order: for checks that secrets never reach
    /// the logs.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("log capture poisoned").clone()
    }

    /// Lines showing serenity dropped or misread something, in order.
    pub fn problems(&self) -> Vec<String> {
        self.problems.lock().expect("log capture poisoned").clone()
    }
}

struct CaptureLayer {
    problems: Arc<Mutex<Vec<String>>>,
    lines: Arc<Mutex<Vec<String>>>,
    found: Arc<Notify>,
    echo: bool,
}

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?} ");
        } else {
            let _ = write!(self.0, "{}={value:?} ", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for CaptureLayer {
    // Only serenity's and poise's lines can hold a marker, and the secrets checks read what
    // the bot itself logs and every line at info and above; other crates' debug lines (sqlx
    // logs every statement) are not even formatted unless echoed.
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        let level = *metadata.level();
        let target = metadata.target();
        level <= Level::DEBUG
            && (self.echo
                || level <= Level::INFO
                || from_serenity(target)
                || target.starts_with("gamemaster"))
    }

    // Span fields are printed with every event inside the span, so they are kept too.
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        let mut line = Line(String::new());
        attrs.record(&mut line);
        let meta = attrs.metadata();
        let text = format!(
            "span {} {}: {}",
            meta.target(),
            meta.name(),
            line.0.trim_end()
        );
        self.lines.lock().expect("log capture poisoned").push(text);
    }

    fn on_record(&self, _id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut line = Line(String::new());
        values.record(&mut line);
        self.lines
            .lock()
            .expect("log capture poisoned")
            .push(format!("span record: {}", line.0.trim_end()));
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut line = Line(String::new());
        event.record(&mut line);
        let text = format!("{} {}: {}", meta.level(), meta.target(), line.0.trim_end());
        if self.echo {
            eprintln!("{text}");
        }
        self.lines
            .lock()
            .expect("log capture poisoned")
            .push(text.clone());
        if from_serenity(meta.target()) && DROPPED_EVENT_MARKERS.iter().any(|m| text.contains(m)) {
            self.problems
                .lock()
                .expect("log capture poisoned")
                .push(text);
            self.found.notify_waiters();
        }
    }
}

fn from_serenity(target: &str) -> bool {
    target.starts_with("serenity") || target.starts_with("poise")
}
