//! Discord's rules that are not about payload shape: rate limits (per-route buckets and the
//! global limit, with Discord's headers and 429 bodies), the upload size limit, interaction
//! tokens that expire, and a world that changes under the bot (permissions taken away,
//! channels deleted, threads archived).
//!
//! Buckets follow what Discord documents and reports: a channel's messages (create, edit and
//! delete share one bucket of 5 per 5 s), each interaction token's followups, a channel's
//! typing, and every other route on its own. The global limit (50 requests a second by
//! default) counts every request except interaction callbacks.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;

use super::rest::Reply;
use super::state::{Inner, Shared, unix_ms};

/// Discord's upload limit for a bot's message (all files of one request).
pub const UPLOAD_LIMIT: usize = 10 << 20;

/// What the fake enforces; the defaults are Discord's.
#[derive(Clone, Debug)]
pub struct Rules {
    /// Per-route buckets and the global limit; off only for tests of something else that must
    /// send faster than Discord allows.
    pub rate_limits: bool,
    pub global_per_second: u32,
    /// How long an interaction token accepts followups and `@original` edits (15 minutes).
    pub interaction_token_ttl: Duration,
    pub upload_limit: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            rate_limits: true,
            global_per_second: 50,
            interaction_token_ttl: Duration::from_secs(15 * 60),
            upload_limit: UPLOAD_LIMIT,
        }
    }
}

/// A 429 the fake sent.
#[derive(Clone, Debug)]
pub struct RateLimitHit {
    /// The bucket's key (`messages:CHANNEL`, `followups:TOKEN`, ...), or `global`.
    pub bucket: String,
    pub method: String,
    pub path: String,
    pub at: Instant,
}

/// Rate-limit windows and the changes made to the world.
#[derive(Default)]
pub struct RulesState {
    windows: HashMap<String, Window>,
    global: Option<Window>,
    pub hits: Vec<RateLimitHit>,
    /// Channel id -> permission bits taken from the bot there.
    pub denied: HashMap<u64, u64>,
    pub deleted_channels: Vec<u64>,
    pub archived_threads: Vec<u64>,
}

struct Window {
    started: Instant,
    used: u32,
}

struct Bucket {
    key: String,
    limit: u32,
    per: Duration,
}

/// The bucket a request falls in, from its path under `/api/v10/`.
fn bucket(method: &str, segs: &[&str]) -> Bucket {
    let five_per_five = |key: String| Bucket {
        key,
        limit: 5,
        per: Duration::from_secs(5),
    };
    match segs {
        ["channels", ch, "messages"] | ["channels", ch, "messages", _] if method != "GET" => {
            five_per_five(format!("messages:{ch}"))
        }
        ["channels", ch, "typing"] => five_per_five(format!("typing:{ch}")),
        ["webhooks", _, token, ..] => five_per_five(format!("followups:{token}")),
        ["interactions", id, _, "callback"] => five_per_five(format!("callback:{id}")),
        _ => {
            // Major parameters (channel, guild, webhook) split a route's bucket; other ids
            // do not.
            let shape: Vec<&str> = segs
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let major = i > 0 && matches!(segs[i - 1], "channels" | "guilds");
                    if s.bytes().all(|b| b.is_ascii_digit()) && !major {
                        ":id"
                    } else {
                        s
                    }
                })
                .collect();
            Bucket {
                key: format!("{method} {}", shape.join("/")),
                limit: 50,
                per: Duration::from_secs(1),
            }
        }
    }
}

fn is_exempt_from_global(segs: &[&str]) -> bool {
    matches!(segs, ["interactions", _, _, "callback"])
}

/// Counts the request against its bucket and the global limit: `Ok` with the headers every
/// response carries, or the 429 Discord would send.
pub fn admit(shared: &Shared, method: &str, segs: &[&str], path: &str) -> Result<Headers, Reply> {
    let rules = &shared.config.rules;
    let bucket = bucket(method, segs);
    let now = Instant::now();
    shared.update(|s| {
        let state = &mut s.rules;
        if rules.rate_limits && !is_exempt_from_global(segs) {
            let global = state.global.get_or_insert(Window {
                started: now,
                used: 0,
            });
            let per = Duration::from_secs(1);
            refresh(global, now, per);
            if global.used >= rules.global_per_second {
                let wait = per.saturating_sub(now - global.started);
                state.hits.push(hit("global", method, path, now));
                return Err(too_many(wait, None, true));
            }
            global.used += 1;
        }
        if !rules.rate_limits {
            // Headers that never tell the bot's limiter to wait.
            return Ok(headers(&bucket, bucket.limit, bucket.per));
        }
        let window = state.windows.entry(bucket.key.clone()).or_insert(Window {
            started: now,
            used: 0,
        });
        refresh(window, now, bucket.per);
        let reset_after = bucket.per.saturating_sub(now - window.started);
        if window.used >= bucket.limit {
            state.hits.push(hit(&bucket.key, method, path, now));
            let headers = headers(&bucket, 0, reset_after);
            return Err(too_many(reset_after, Some(headers), false));
        }
        window.used += 1;
        Ok(headers(
            &bucket,
            bucket.limit - window.used.min(bucket.limit),
            reset_after,
        ))
    })
}

fn refresh(window: &mut Window, now: Instant, per: Duration) {
    if now - window.started >= per {
        window.started = now;
        window.used = 0;
    }
}

fn hit(bucket: &str, method: &str, path: &str, at: Instant) -> RateLimitHit {
    RateLimitHit {
        bucket: bucket.to_string(),
        method: method.to_string(),
        path: path.to_string(),
        at,
    }
}

pub type Headers = Vec<(&'static str, String)>;

fn headers(bucket: &Bucket, remaining: u32, reset_after: Duration) -> Headers {
    let reset = unix_ms() as f64 / 1000.0 + reset_after.as_secs_f64();
    vec![
        ("x-ratelimit-limit", bucket.limit.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-reset", format!("{reset:.3}")),
        (
            "x-ratelimit-reset-after",
            format!("{:.3}", reset_after.as_secs_f64()),
        ),
        // Discord's bucket ids are opaque hashes; the key's hash is as opaque.
        (
            "x-ratelimit-bucket",
            format!("{:016x}", fxhash(&bucket.key)),
        ),
    ]
}

fn fxhash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// A 429 as Discord sends it: `retry_after` in seconds in the body, `Retry-After` in whole
/// seconds, and for the global limit `X-RateLimit-Global` and scope `global`.
fn too_many(wait: Duration, bucket_headers: Option<Headers>, global: bool) -> Reply {
    let secs = wait.as_secs_f64().max(0.001);
    let mut reply = Reply::json(
        429,
        json!({"message": "You are being rate limited.", "retry_after": secs, "global": global}),
    );
    let mut headers = bucket_headers.unwrap_or_default();
    headers.push(("retry-after", format!("{}", secs.ceil() as u64)));
    if global {
        headers.push(("x-ratelimit-global", "true".into()));
        headers.push(("x-ratelimit-scope", "global".into()));
    } else {
        headers.push(("x-ratelimit-scope", "user".into()));
    }
    reply.headers = headers;
    reply
}

/// Refuses what the changed world no longer allows: 10003 for a deleted channel, 50013 for a
/// channel where the bot lost Send Messages, 50083 for a post or edit in an archived thread.
pub fn world(s: &Inner, method: &str, segs: &[&str]) -> Option<Reply> {
    let ["channels", ch, rest @ ..] = segs else {
        return None;
    };
    let channel: u64 = ch.parse().ok()?;
    if s.rules.deleted_channels.contains(&channel) {
        return Some(Reply::error(404, 10003, "Unknown Channel"));
    }
    let writes = method != "GET" && !rest.is_empty();
    let denied = s.rules.denied.get(&channel).copied().unwrap_or(0);
    if writes && denied & super::config::perms::SEND_MESSAGES != 0 {
        return Some(Reply::error(403, 50013, "Missing Permissions"));
    }
    if writes && s.rules.archived_threads.contains(&channel) {
        return Some(Reply::error(400, 50083, "Thread is archived"));
    }
    None
}

/// 413 with code 40005 when the files of one request exceed the upload limit.
pub fn upload_too_large(shared: &Shared, total_bytes: usize) -> Option<Reply> {
    (total_bytes > shared.config.rules.upload_limit)
        .then(|| Reply::error(413, 40005, "Request entity too large"))
}

/// 401 with code 50027 once an interaction token is older than its lifetime.
pub fn token_expired(shared: &Shared, created: Instant) -> Option<Reply> {
    (created.elapsed() > shared.config.rules.interaction_token_ttl)
        .then(|| Reply::error(401, 50027, "Invalid Webhook Token"))
}
