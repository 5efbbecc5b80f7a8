//! A fake of the parts of Discord the bot uses, on 127.0.0.1, for end-to-end tests.
//!
//! The bot reaches it through its test seam, `DISCORD_API_BASE_URL` (`base_url()`): the REST
//! client resolves `discord.com` to this server's HTTPS listener and otherwise runs as in
//! production, serenity's rate limiter included (`gamemaster::discord::rest_client`). The
//! gateway URL comes from this server's `GET /api/v10/gateway/bot`, on a plain listener that
//! also serves attachments.
//!
//! Everything the bot does that Discord would refuse (limits, late or double acknowledgement,
//! unknown routes) is answered as Discord answers and also recorded in `violations()`. Every
//! dispatch is also parsed with serenity's models before it is sent (a failure is an
//! `unparseable_dispatch` violation), and serenity's own log lines about dropped events are
//! captured (`serenity_problems()`), because serenity turns a payload it cannot parse into
//! `Event::Unknown` and only says so at debug level.
//!
//! ```ignore
//! #[tokio::test] // current-thread runtime: the log capture is the test thread's
//! async fn ping() {
//!     let fake = FakeDiscord::start(FakeConfig::default()).await;
//!     // start the bot with DISCORD_API_BASE_URL = fake.base_url() ...
//!     fake.wait_ready(0).await;
//!     fake.wait_commands(&["ping"]).await;
//!     let guild = &fake.config().guilds[0];
//!     let user = guild.members[0].id;
//!     let handle = fake.slash(user, guild.id, guild.general(), "ping", json!({})).await;
//!     assert_eq!(handle.wait_response().await.content, "pong");
//!     fake.assert_no_pings();
//!     fake.assert_clean();
//! }
//! ```

#![allow(dead_code, unused_imports)]

mod commands;
mod config;
mod gateway;
mod interactions;
mod limits;
mod logs;
mod messages;
mod payloads;
mod rest;
mod rules;
mod state;
mod tls;
mod user;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use axum::serve::ListenerExt;
use serde_json::Value;
use tokio::task::JoinHandle;

pub use config::{FakeChannel, FakeConfig, FakeGuild, FakeUser, intents, perms};
pub use logs::LogCapture;
pub use rules::{RateLimitHit, Rules, UPLOAD_LIMIT};
pub use state::{
    AckKind, Fault, FaultKind, RecordedRequest, RegisteredCommand, StoredAttachment, StoredMessage,
    Violation,
};
pub use user::{InteractionHandle, RecordedResponse};

use state::Shared;

/// Builders of Discord JSON, exposed so tests can check them against serenity's models.
pub mod models {
    pub use super::payloads::*;
}

pub struct FakeDiscord {
    shared: Arc<Shared>,
    server: JoinHandle<()>,
    logs: LogCapture,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeDiscord {
    /// Starts the fake on an ephemeral port and captures the bot's tracing output.
    ///
    /// Tests run on a current-thread runtime (`#[tokio::test]`): the bot's tasks run on the
    /// test's thread, and the capture is that thread's. On a multi-threaded runtime (the
    /// benchmarks) the capture is the process's global subscriber, so one fake per process.
    pub async fn start(config: FakeConfig) -> FakeDiscord {
        let logs = match tokio::runtime::Handle::current().runtime_flavor() {
            tokio::runtime::RuntimeFlavor::CurrentThread => LogCapture::install(),
            _ => LogCapture::install_global(),
        };
        let bind = || async {
            tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind 127.0.0.1")
        };
        let (plain, rest) = (bind().await, bind().await);
        let port = plain.local_addr().expect("local addr").port();
        let rest_port = rest.local_addr().expect("local addr").port();
        let shared = Arc::new(Shared::new(config, port, rest_port, logs.problem_list()));
        // The gateway and attachment downloads on plain HTTP; the REST API over TLS.
        let plain_app = Router::new()
            .route("/gateway", get(gateway::upgrade))
            .route(
                "/attachments/{channel}/{id}/{name}",
                get(messages::attachment),
            )
            .with_state(shared.clone());
        // Uploads are read whole, so that one over Discord's limit gets Discord's 413.
        let rest_app = Router::new()
            .fallback(rest::handle)
            .layer(axum::extract::DefaultBodyLimit::max(4 * UPLOAD_LIMIT))
            .with_state(shared.clone());
        // Discord answers without Nagle's delay; left on, a burst of small gateway frames would
        // wait out the bot's delayed ACKs (40 ms on Linux), which is this fake's, not the bot's.
        let plain = plain.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let rest = tls::TlsListener::new(rest);
        let server = tokio::spawn(async move {
            let plain = axum::serve(plain, plain_app);
            let rest = axum::serve(rest, rest_app);
            let (a, b) = tokio::join!(plain.into_future(), rest.into_future());
            a.and(b).expect("fake discord server");
        });
        FakeDiscord {
            shared,
            server,
            logs,
        }
    }

    /// `https://127.0.0.1:PORT`: the value for `DISCORD_API_BASE_URL` (where the bot's
    /// `discord.com` resolves to).
    pub fn base_url(&self) -> String {
        self.shared.base_url()
    }

    /// Where attachments are served (plain HTTP, as Discord's CDN links are fetched).
    pub fn cdn_url(&self) -> String {
        self.shared.cdn_url()
    }

    /// The gateway URL this fake hands out.
    pub fn gateway_url(&self) -> String {
        format!("ws://127.0.0.1:{}/gateway", self.shared.port)
    }

    /// A REST client for this fake, built as the bot builds its own (rate limiter on).
    pub fn http(&self) -> serenity::all::Http {
        self.http_allowing_pings()
            .default_allowed_mentions(serenity::all::CreateAllowedMentions::new())
            .build()
    }

    /// [`Self::http`] without the bot's "never ping" default: for tests of ping detection.
    pub fn http_allowing_pings(&self) -> serenity::all::HttpBuilder {
        gamemaster::discord::rest_client_builder(
            &gamemaster::secret::Secret::new(self.config().token.clone()),
            Some(&gamemaster::secret::SecretUrl::new(self.base_url())),
        )
        .expect("REST client for the fake Discord")
    }

    pub fn config(&self) -> &FakeConfig {
        &self.shared.config
    }

    /// Waits until `shard` identified and received READY and its GUILD_CREATEs.
    pub async fn wait_ready(&self, shard: u32) {
        let timeout = self.shared.config.wait_timeout;
        self.shared
            .wait_for(timeout, &format!("shard {shard} READY"), |s| {
                s.shards.get(&shard).filter(|x| x.ready).map(|_| ())
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// The gateway session a shard identified with, while it is connected and ready.
    pub fn shard_session(&self, shard: u32) -> Option<String> {
        self.shared.read(|s| {
            s.shards
                .get(&shard)
                .filter(|x| x.ready)
                .map(|x| x.session_id.clone())
        })
    }

    /// Waits until `shard` is ready on a gateway session other than `previous` (a bot that
    /// restarted and identified again).
    pub async fn wait_new_session(&self, shard: u32, previous: &str) {
        let timeout = self.shared.config.wait_timeout;
        self.shared
            .wait_for(timeout, &format!("shard {shard} to identify again"), |s| {
                s.shards
                    .get(&shard)
                    .filter(|x| x.ready && x.session_id != previous)
                    .map(|_| ())
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Sends op 7 RECONNECT to a shard; pair with `wait_resumed`.
    pub fn request_reconnect(&self, shard: u32) {
        assert!(
            gateway::request_reconnect(&self.shared, shard),
            "shard {shard} is not connected"
        );
    }

    /// Waits until `shard` has resumed its session at least `times` times.
    pub async fn wait_resumed(&self, shard: u32, times: u32) {
        let timeout = self.shared.config.wait_timeout;
        self.shared
            .wait_for(timeout, &format!("shard {shard} to resume"), |s| {
                s.shards
                    .get(&shard)
                    .filter(|x| x.ready && x.resumes >= times)
                    .map(|_| ())
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Waits until every named command is registered (globally or in some guild).
    pub async fn wait_commands(&self, names: &[&str]) -> Vec<RegisteredCommand> {
        let timeout = self.shared.config.wait_timeout;
        self.shared
            .wait_for(timeout, &format!("registration of {names:?}"), |s| {
                let found: Vec<RegisteredCommand> = names
                    .iter()
                    .filter_map(|n| s.commands.iter().find(|c| c.name() == *n).cloned())
                    .collect();
                (found.len() == names.len()).then_some(found)
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn registered_commands(&self) -> Vec<RegisteredCommand> {
        self.shared.read(|s| s.commands.clone())
    }

    /// Every 429 the fake sent, oldest first.
    pub fn rate_limited(&self) -> Vec<RateLimitHit> {
        self.shared.read(|s| s.rules.hits.clone())
    }

    /// Takes `bits` (e.g. `perms::SEND_MESSAGES`) from the bot in `channel`: Discord answers
    /// 50013 Missing Permissions from then on.
    pub fn deny_bot(&self, channel: u64, bits: u64) {
        self.shared
            .update(|s| *s.rules.denied.entry(channel).or_default() |= bits);
    }

    /// Deletes a channel: every request to it gets 10003 Unknown Channel.
    pub fn delete_channel(&self, channel: u64) {
        self.shared
            .update(|s| s.rules.deleted_channels.push(channel));
    }

    /// Archives a thread: posts and edits in it get 50083.
    pub fn archive_thread(&self, thread: u64) {
        self.shared
            .update(|s| s.rules.archived_threads.push(thread));
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.read(|s| s.requests.clone())
    }

    /// The requests recorded after the first `from`: a cursor to poll the log without copying
    /// all of it each time.
    pub fn requests_from(&self, from: usize) -> Vec<RecordedRequest> {
        self.shared.read(|s| {
            s.requests
                .get(from..)
                .map(<[_]>::to_vec)
                .unwrap_or_default()
        })
    }

    pub fn violations(&self) -> Vec<Violation> {
        self.shared.read(|s| s.violations.clone())
    }

    /// Waits for a violation of `kind` (e.g. `"late_ack"`) and returns the first one.
    pub async fn wait_violation(&self, kind: &str) -> Violation {
        let timeout = self.shared.config.wait_timeout;
        self.shared
            .wait_for(timeout, &format!("a {kind} violation"), |s| {
                s.violations.iter().find(|v| v.kind == kind).cloned()
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Waits until at least `n` violations were recorded and returns them all.
    pub async fn wait_for_violations(&self, n: usize) -> Vec<Violation> {
        let timeout = self.shared.config.wait_timeout;
        self.shared
            .wait_for(timeout, &format!("{n} violations"), |s| {
                (s.violations.len() >= n).then(|| s.violations.clone())
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Waits for a recorded request matching `predicate` and returns the first one.
    pub async fn wait_request(
        &self,
        predicate: impl Fn(&RecordedRequest) -> bool,
    ) -> RecordedRequest {
        let timeout = self.shared.config.wait_timeout;
        self.shared
            .wait_for(timeout, "a matching request", |s| {
                s.requests.iter().find(|r| predicate(r)).cloned()
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every log line captured on this thread (debug and above).
    pub fn log_lines(&self) -> Vec<String> {
        self.logs.lines()
    }

    /// Serenity log lines that show a dropped or misread event.
    pub fn serenity_problems(&self) -> Vec<String> {
        self.logs.problems()
    }

    /// Waits until at least `n` serenity problem lines were captured.
    pub async fn wait_serenity_problems(&self, n: usize) -> Vec<String> {
        self.logs
            .wait_problems(n, self.shared.config.wait_timeout)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fails unless no violation was recorded and serenity parsed everything.
    pub fn assert_clean(&self) {
        let v = self.violations();
        assert!(v.is_empty(), "Discord rule violations: {v:#?}");
        let p = self.serenity_problems();
        assert!(p.is_empty(), "serenity dropped or misread events: {p:#?}");
    }

    /// The message with this id, as it currently stands (deleted ones included).
    pub fn message(&self, id: u64) -> Option<StoredMessage> {
        self.shared.read(|s| s.message(id).cloned())
    }

    /// Messages in a channel, oldest first, after edits, without deleted ones and without
    /// "thinking" placeholders.
    pub fn messages_in(&self, channel: u64) -> Vec<StoredMessage> {
        self.shared.read(|s| {
            s.messages
                .iter()
                .filter(|m| m.channel_id == channel && !m.deleted && !m.loading)
                .cloned()
                .collect()
        })
    }

    /// When the bot's heartbeats arrived, oldest first.
    pub fn heartbeats(&self) -> Vec<std::time::Instant> {
        self.shared.read(|s| s.heartbeats.clone())
    }

    /// The direct-message channel the bot opened with `user`, if it did.
    pub fn dm_channel(&self, user: u64) -> Option<u64> {
        self.shared.read(|s| {
            s.dm_channels
                .iter()
                .find(|(_, u)| **u == user)
                .map(|(c, _)| *c)
        })
    }

    /// Waits for a message (any channel, current state) matching `predicate`.
    pub async fn wait_for_message(
        &self,
        predicate: impl Fn(&StoredMessage) -> bool,
        timeout: Duration,
    ) -> StoredMessage {
        self.shared
            .wait_for(timeout, "a matching message", |s| {
                s.messages
                    .iter()
                    .find(|m| !m.deleted && !m.loading && predicate(m))
                    .cloned()
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Gaps between successive versions of a message (creation, then each edit): the edit
    /// cadence the bot kept.
    pub fn edit_intervals(&self, message_id: u64) -> Vec<Duration> {
        let m = self
            .message(message_id)
            .unwrap_or_else(|| panic!("no message {message_id}"));
        let mut times = vec![m.created_at];
        times.extend(m.edits.iter().copied());
        times.windows(2).map(|w| w[1] - w[0]).collect()
    }

    /// Channels where the bot triggered typing, with when.
    pub fn typing(&self) -> Vec<(u64, std::time::Instant)> {
        self.shared.read(|s| s.typing.clone())
    }

    /// Threads the bot created: (thread id, parent channel id, name).
    pub fn threads(&self) -> Vec<(u64, u64, String)> {
        self.shared.read(|s| {
            s.threads
                .iter()
                .map(|(id, (_, p, n))| (*id, *p, n.clone()))
                .collect()
        })
    }

    /// Makes the next `times` requests whose path contains `path_contains` (and whose method
    /// matches, if given) fail with `kind`.
    pub fn inject_fault(
        &self,
        method: Option<&str>,
        path_contains: &str,
        kind: FaultKind,
        times: u32,
    ) {
        let fault = Fault {
            method: method.map(str::to_uppercase),
            path_contains: path_contains.to_string(),
            kind,
            remaining: times,
        };
        self.shared.update(|s| s.faults.push(fault));
    }

    /// Dispatches sent on a shard's current session (event name, payload), oldest first.
    pub fn dispatches(&self, shard: u32) -> Vec<(String, Value)> {
        self.shared.read(|s| {
            s.shards
                .get(&shard)
                .map(|x| x.sent.clone())
                .unwrap_or_default()
        })
    }

    /// Sends a dispatch as-is on a shard, without any check (to test parse-failure detection).
    pub fn send_raw_dispatch(&self, shard: u32, event: &str, data: Value) {
        assert!(
            gateway::send_raw(&self.shared, shard, event, data),
            "shard {shard} is not connected"
        );
    }

    /// Fails if any bot message could ping: mention syntax in content without
    /// `allowed_mentions` that parses nothing and lists no users or roles, or `@everyone`
    /// parsing allowed at all.
    pub fn assert_no_pings(&self) {
        let problems = self.ping_problems();
        assert!(
            problems.is_empty(),
            "bot messages that could ping: {problems:#?}"
        );
    }

    /// What `assert_no_pings` would report.
    pub fn ping_problems(&self) -> Vec<String> {
        self.shared.read(|s| {
            s.messages
                .iter()
                .filter(|m| m.from_bot)
                .flat_map(ping_problems)
                .collect()
        })
    }
}

fn has_mention_syntax(text: &str) -> bool {
    text.contains("@everyone") || text.contains("@here") || text.contains("<@")
}

fn allows_nothing(am: &Option<Value>) -> bool {
    let Some(am) = am else { return false };
    let empty = |k: &str| {
        am.get(k)
            .is_none_or(|v| v.is_null() || v.as_array().is_some_and(Vec::is_empty))
    };
    am.get("parse")
        .is_some_and(|p| p.as_array().is_some_and(Vec::is_empty))
        && empty("users")
        && empty("roles")
}

fn ping_problems(m: &StoredMessage) -> Vec<String> {
    let mut out = vec![];
    if m.reply_pings_author {
        out.push(format!("message {} is a reply that pings its author", m.id));
    }
    for am in m.allowed_mentions.iter().flatten() {
        if am["parse"]
            .as_array()
            .is_some_and(|p| p.iter().any(|x| x == "everyone"))
        {
            out.push(format!("message {} allows @everyone: {am}", m.id));
        }
    }
    for (i, (content, am)) in m.content_history.iter().enumerate() {
        if has_mention_syntax(content) && !allows_nothing(am) {
            out.push(format!(
                "message {} version {i} {content:?} has allowed_mentions {am:?}",
                m.id
            ));
        }
    }
    out
}
