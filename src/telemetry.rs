//! Logging: `RUST_LOG` filters, `LOG_FORMAT=json` switches to one JSON object per line.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{FilterExt, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Layer, SubscriberExt};

use crate::config::LogFormat;

/// Serenity's module that reads gateway frames; its only log lines quote unparsable payloads.
const GATEWAY_READER: &str = "serenity::gateway::ws";

const DEFAULT_FILTER: &str = "info,serenity=warn,poise=warn,sqlx=warn,hyper=warn,reqwest=warn";

/// Builds the subscriber without installing it, so tests can capture what it writes.
pub fn subscriber<W>(
    format: LogFormat,
    filter: Option<&str>,
    ansi: bool,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = filter
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER));
    // Serenity's spans record whole gateway events as fields (a submitted form with the
    // password typed in it, for one), and every line logged inside a span repeats its fields:
    // they are never written, whatever RUST_LOG asks. Serenity's own events still are.
    // Likewise serenity's gateway reader quotes a payload it cannot parse, whole: such a line
    // is dropped (the fake Discord's tests fail on every such payload instead).
    let no_serenity_secrets = filter_fn(|meta| {
        let serenity_span = meta.is_span() && meta.target().starts_with("serenity");
        !(serenity_span || meta.target() == GATEWAY_READER)
    });
    let filter = filter.and(no_serenity_secrets);
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(Scrubbed(writer));
    match format {
        LogFormat::Text => Box::new(tracing_subscriber::registry().with(layer.with_filter(filter))),
        LogFormat::Json => Box::new(
            tracing_subscriber::registry()
                .with(layer.json().flatten_event(true).with_filter(filter)),
        ),
    }
}

/// Writes each log line with Discord's webhook and interaction tokens scrubbed out: HTTP errors
/// from serenity and reqwest quote the URL they failed on, and those URLs carry the tokens.
/// The fmt layer formats a whole event and writes it at once, so no token is split across
/// two writes.
struct Scrubbed<W>(W);

struct ScrubbedWriter<W>(W);

impl<'a, W: MakeWriter<'a>> MakeWriter<'a> for Scrubbed<W> {
    type Writer = ScrubbedWriter<W::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        ScrubbedWriter(self.0.make_writer())
    }
}

impl<W: std::io::Write> std::io::Write for ScrubbedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0
            .write_all(crate::secret::scrub_discord_tokens(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Installs the process-wide subscriber, reading `RUST_LOG`; logs go to stderr.
pub fn init(format: LogFormat) {
    let filter = std::env::var("RUST_LOG").ok();
    let _ = tracing::subscriber::set_global_default(subscriber(
        format,
        filter.as_deref(),
        std::io::stderr().is_terminal(),
        std::io::stderr,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What the subscriber writes while `log` runs.
    fn logged(format: LogFormat, filter: &str, log: impl FnOnce()) -> String {
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let subscriber = subscriber(format, Some(filter), false, move || sink.clone());
        tracing::subscriber::with_default(subscriber, log);
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    fn captured(format: LogFormat) -> String {
        logged(format, "info", || {
            tracing::info!(campaign = "Lost Mine", "session started");
            tracing::debug!("hidden by the filter");
        })
    }

    #[test]
    fn json_format_writes_one_object_per_line() {
        let out = captured(LogFormat::Json);
        let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(line["message"], "session started");
        assert_eq!(line["campaign"], "Lost Mine");
        assert!(!out.contains("hidden"));
    }

    #[test]
    fn serenity_spans_and_unparsable_payloads_never_reach_the_log() {
        for format in [LogFormat::Text, LogFormat::Json] {
            let buffer = Buffer::default();
            let sink = buffer.clone();
            let subscriber = subscriber(format, Some("trace"), false, move || sink.clone());
            tracing::subscriber::with_default(subscriber, || {
                let span = tracing::info_span!(
                    target: "serenity::gateway::bridge::shard_runner",
                    "handle_event",
                    event = "password: Lantern-Keeper7"
                );
                let _inside = span.enter();
                tracing::warn!(target: "serenity::gateway::bridge::shard_runner", "heartbeat late");
                tracing::warn!(
                    target: "serenity::gateway::ws",
                    "Err deserializing text: missing field; text: {{\"value\":\"Lantern-Keeper7\"}}"
                );
                tracing::info!(user = 7, "account linked");
            });
            let out = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
            assert!(
                out.contains("heartbeat late") && out.contains("account linked"),
                "{out}"
            );
            assert!(!out.contains("Lantern-Keeper7"), "{out}");
        }
    }

    #[test]
    fn interaction_and_webhook_tokens_never_reach_the_log() {
        for format in [LogFormat::Text, LogFormat::Json] {
            let out = logged(format, "info", || {
                tracing::warn!(
                    error = "error sending request for url (https://discord.com/api/v10/webhooks/42/secret-token_1/messages/@original)",
                    "could not update a reply"
                );
            });
            assert!(out.contains("could not update a reply"), "{out}");
            assert!(!out.contains("secret-token_1"), "{out}");
            assert!(out.contains("webhooks/42/[token]/messages"), "{out}");
        }
    }

    #[test]
    fn text_format_is_human_readable() {
        let out = captured(LogFormat::Text);
        assert!(
            out.contains("session started") && out.contains("campaign=\"Lost Mine\""),
            "{out}"
        );
    }
}
