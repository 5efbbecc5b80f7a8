//! Everything the fake remembers: requests, messages, interactions, commands, violations.
//!
//! One `Shared` sits behind an `Arc` and is reached by the HTTP handlers, the gateway
//! connections and the scripted user. Waiters block on `changed` (no sleeps): every mutation
//! goes through `Shared::update`, which wakes them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::sync::{Notify, mpsc};

use super::config::FakeConfig;

/// Discord's epoch (2015-01-01T00:00:00Z) in unix milliseconds.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// A request as the fake received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// JSON body (for multipart: the `payload_json` part), `Value::Null` when there was none.
    pub body: Value,
    /// Files uploaded with a multipart request.
    pub files: Vec<StoredAttachment>,
    pub status: u16,
    pub at: Instant,
}

/// Something the bot did that real Discord would refuse or that breaks a product rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Short machine-checkable kind, e.g. `"late_ack"`, `"double_ack"`, `"limit"`.
    pub kind: String,
    pub detail: String,
}

#[derive(Clone, Debug)]
pub struct StoredAttachment {
    pub id: u64,
    pub filename: String,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
    /// The `files[n]` index it was uploaded under, for matching the request's `attachments`
    /// entries (`{"id": n}`); meaningless once it is part of a message.
    pub slot: Option<u64>,
}

/// A message as it currently stands, with its history of edits.
#[derive(Clone, Debug)]
pub struct StoredMessage {
    pub id: u64,
    pub channel_id: u64,
    pub guild_id: Option<u64>,
    pub author_id: u64,
    pub from_bot: bool,
    pub content: String,
    pub embeds: Vec<Value>,
    pub components: Vec<Value>,
    pub attachments: Vec<StoredAttachment>,
    pub flags: u64,
    /// `allowed_mentions` as sent on creation and on each edit that set it.
    pub allowed_mentions: Vec<Option<Value>>,
    /// Content as sent on creation and by each edit that set it, with that request's
    /// `allowed_mentions`.
    pub content_history: Vec<(String, Option<Value>)>,
    /// An inline reply that notifies the replied-to author (no `allowed_mentions`, or
    /// `replied_user: true`).
    pub reply_pings_author: bool,
    /// The interaction whose response or followup this is.
    pub interaction_id: Option<u64>,
    /// A deferred response still showing "thinking".
    pub loading: bool,
    pub created_at: Instant,
    pub created_unix_ms: u64,
    /// When each edit landed, in order.
    pub edits: Vec<Instant>,
    pub deleted: bool,
}

impl StoredMessage {
    pub fn ephemeral(&self) -> bool {
        self.flags & super::limits::EPHEMERAL != 0
    }
}

/// How the bot acknowledged an interaction (callback `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckKind {
    Message = 4,
    DeferredMessage = 5,
    DeferredUpdate = 6,
    UpdateMessage = 7,
    AutocompleteResult = 8,
    Modal = 9,
}

impl AckKind {
    pub fn from_code(code: u64) -> Option<Self> {
        Some(match code {
            4 => Self::Message,
            5 => Self::DeferredMessage,
            6 => Self::DeferredUpdate,
            7 => Self::UpdateMessage,
            8 => Self::AutocompleteResult,
            9 => Self::Modal,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug)]
pub struct InteractionRecord {
    pub id: u64,
    pub token: String,
    /// Interaction type: 2 command, 3 component, 4 autocomplete, 5 modal submit.
    pub kind: u8,
    pub guild_id: u64,
    pub channel_id: u64,
    pub user_id: u64,
    /// For component interactions: the message the component is on.
    pub source_message_id: Option<u64>,
    pub created_at: Instant,
    pub ack: Option<AckKind>,
    pub ack_at: Option<Instant>,
    /// The callback's `data` (modal definition, autocomplete choices, message payload).
    pub ack_data: Value,
    /// Message id of `@original`, once there is one.
    pub original_message_id: Option<u64>,
    pub followup_ids: Vec<u64>,
}

#[derive(Clone, Debug)]
pub struct RegisteredCommand {
    pub id: u64,
    /// `None` for global commands.
    pub guild_id: Option<u64>,
    pub definition: Value,
}

impl RegisteredCommand {
    pub fn name(&self) -> &str {
        self.definition["name"].as_str().unwrap_or_default()
    }
}

/// Which response to fake for the next matching requests.
#[derive(Clone, Debug)]
pub enum FaultKind {
    ServerError,
    RateLimited { retry_after_secs: f64 },
}

#[derive(Clone, Debug)]
pub struct Fault {
    /// Upper-case HTTP method, or `None` for any.
    pub method: Option<String>,
    /// Matches when the request path (after `/api/v10`) contains this.
    pub path_contains: String,
    pub kind: FaultKind,
    pub remaining: u32,
}

/// One identified gateway connection.
pub struct ShardSession {
    pub shard_count: u32,
    pub intents: u64,
    pub session_id: String,
    pub seq: u64,
    pub outbox: mpsc::UnboundedSender<String>,
    pub ready: bool,
    /// Successful RESUMEs of this session.
    pub resumes: u32,
    /// Every dispatch sent on this session: event name and payload.
    pub sent: Vec<(String, Value)>,
}

#[derive(Default)]
pub struct Inner {
    pub requests: Vec<RecordedRequest>,
    pub violations: Vec<Violation>,
    pub messages: Vec<StoredMessage>,
    pub interactions: HashMap<u64, InteractionRecord>,
    pub commands: Vec<RegisteredCommand>,
    pub shards: HashMap<u32, ShardSession>,
    pub faults: Vec<Fault>,
    /// Threads created by the bot: channel id -> (guild id, parent id, name).
    pub threads: HashMap<u64, (u64, u64, String)>,
    /// When each heartbeat arrived (any shard).
    pub heartbeats: Vec<Instant>,
    /// Direct-message channels the bot opened: channel id -> the user.
    pub dm_channels: HashMap<u64, u64>,
    pub typing: Vec<(u64, Instant)>,
    /// Rate-limit windows, 429s sent, and changes to the world (see `rules`).
    pub rules: super::rules::RulesState,
}

impl Inner {
    pub fn violate(&mut self, kind: &str, detail: impl Into<String>) {
        self.violations.push(Violation {
            kind: kind.to_string(),
            detail: detail.into(),
        });
    }

    pub fn message(&self, id: u64) -> Option<&StoredMessage> {
        self.messages.iter().find(|m| m.id == id)
    }

    pub fn message_mut(&mut self, id: u64) -> Option<&mut StoredMessage> {
        self.messages.iter_mut().find(|m| m.id == id)
    }

    /// Adds a bot message, checking its attachment references.
    pub fn add_message(&mut self, msg: StoredMessage) {
        self.check_attachment_refs(&msg);
        self.messages.push(msg);
    }

    /// An `attachments` entry must name an upload of this request (by slot) or, on an edit,
    /// a file the message already has (by id); Discord refuses anything else.
    pub fn check_attachment_entries(
        &mut self,
        what: &str,
        payload: &Value,
        existing: &[StoredAttachment],
        files: &[StoredAttachment],
    ) {
        for entry in payload["attachments"].as_array().into_iter().flatten() {
            let id = entry["id"]
                .as_str()
                .and_then(|s| s.parse::<u64>().ok())
                .or(entry["id"].as_u64());
            let known = id.is_some_and(|id| {
                existing.iter().any(|a| a.id == id) || files.iter().any(|f| f.slot == Some(id))
            });
            if !known {
                self.violate(
                    "unknown_attachment",
                    format!("{what}: attachments entry {entry} names no upload or kept file"),
                );
            }
        }
    }

    /// Applies an edit to message `id` (which must exist) and returns it as it now stands.
    pub fn edit_message(
        &mut self,
        id: u64,
        payload: &Value,
        files: Vec<StoredAttachment>,
    ) -> StoredMessage {
        let existing = self
            .message(id)
            .expect("message exists")
            .attachments
            .clone();
        self.check_attachment_entries(&format!("edit of {id}"), payload, &existing, &files);
        let msg = self.message_mut(id).expect("message exists");
        super::messages::apply_edit(msg, payload, files);
        let msg = msg.clone();
        self.check_attachment_refs(&msg);
        msg
    }

    /// Discord shows nothing for an embed image that names no attachment of its message: a
    /// bug in the bot, recorded as `dangling_attachment`.
    fn check_attachment_refs(&mut self, msg: &StoredMessage) {
        for name in super::messages::attachment_refs(&msg.embeds) {
            if !msg.attachments.iter().any(|a| a.filename == name) {
                let have: Vec<&str> = msg
                    .attachments
                    .iter()
                    .map(|a| a.filename.as_str())
                    .collect();
                self.violate(
                    "dangling_attachment",
                    format!(
                        "message {} refers to attachment://{name} but has {have:?}",
                        msg.id
                    ),
                );
            }
        }
    }

    pub fn interaction_by_token(&self, token: &str) -> Option<&InteractionRecord> {
        self.interactions.values().find(|i| i.token == token)
    }

    pub fn interaction_by_token_mut(&mut self, token: &str) -> Option<&mut InteractionRecord> {
        self.interactions.values_mut().find(|i| i.token == token)
    }
}

pub struct Shared {
    pub config: FakeConfig,
    pub inner: Mutex<Inner>,
    changed: Notify,
    next_id: AtomicU64,
    /// The plain HTTP listener: gateway and attachments.
    pub port: u16,
    /// The HTTPS listener: the REST API.
    pub rest_port: u16,
    /// Serenity log lines showing dropped events (shared with the log capture).
    pub log_problems: Arc<Mutex<Vec<String>>>,
}

impl Shared {
    pub fn new(
        config: FakeConfig,
        port: u16,
        rest_port: u16,
        log_problems: Arc<Mutex<Vec<String>>>,
    ) -> Self {
        Self {
            config,
            inner: Mutex::new(Inner::default()),
            changed: Notify::new(),
            next_id: AtomicU64::new(1),
            port,
            rest_port,
            log_problems,
        }
    }

    /// A fresh snowflake carrying the current time, as Discord's do.
    pub fn snowflake(&self) -> u64 {
        let ms = unix_ms().saturating_sub(DISCORD_EPOCH_MS);
        (ms << 22) | (self.next_id.fetch_add(1, Ordering::Relaxed) & 0x3F_FFFF)
    }

    pub fn read<T>(&self, f: impl FnOnce(&Inner) -> T) -> T {
        f(&self.inner.lock().expect("fake state poisoned"))
    }

    /// Mutates the state and wakes every waiter.
    pub fn update<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let out = f(&mut self.inner.lock().expect("fake state poisoned"));
        self.changed.notify_waiters();
        out
    }

    /// Waits until `probe` returns `Some`, re-checking after every state change.
    pub async fn wait_for<T>(
        &self,
        timeout: Duration,
        what: &str,
        mut probe: impl FnMut(&Inner) -> Option<T>,
    ) -> Result<T, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(found) = self.read(&mut probe) {
                return Ok(found);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let problems = self
                    .log_problems
                    .lock()
                    .expect("log problems poisoned")
                    .clone();
                let violations = self.read(|s| s.violations.clone());
                return Err(format!(
                    "timed out after {timeout:?} waiting for {what}; violations: {violations:#?}; \
                     serenity problems: {problems:#?}"
                ));
            }
        }
    }

    pub fn base_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.rest_port)
    }

    /// Where attachments are downloaded from (Discord's CDN).
    pub fn cdn_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// RFC 3339 timestamp for a unix millisecond instant, as Discord formats them.
pub fn iso8601(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let millis = unix_ms % 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let (y, mo, d) = civil_from_days(days as i64);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}.{millis:03}000+00:00")
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}
