//! Channel messages (JSON or multipart), edits, deletes, typing and threads.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::gateway;
use super::limits::{self, Rejection};
use super::payloads;
use super::rest::{ParsedBody, Reply};
use super::state::{Inner, Shared, StoredAttachment, StoredMessage, unix_ms};

pub(super) fn channel_exists(shared: &Shared, channel: u64) -> bool {
    shared.config.guild_of_channel(channel).is_some()
        || shared.read(|s| s.threads.contains_key(&channel) || s.dm_channels.contains_key(&channel))
}

/// Direct-message channels get ids of their own, derived from the user's.
const DM_CHANNEL_BASE: u64 = 1_900_000_000_000_000_000;

/// `POST /users/@me/channels`: opens (or finds) the DM channel with `recipient_id`.
pub(super) fn open_dm(shared: &Shared, body: &Value) -> Reply {
    let recipient = body
        .get("recipient_id")
        .and_then(|v| v.as_str().and_then(|s| s.parse().ok()).or(v.as_u64()));
    let Some(user) = recipient.and_then(|id| shared.config.user(id)) else {
        return Reply::error(400, 50035, "Invalid Form Body");
    };
    let channel = DM_CHANNEL_BASE + user.id % 1_000_000_000_000_000;
    shared.update(|s| s.dm_channels.insert(channel, user.id));
    Reply::ok(json!({
        "id": channel.to_string(),
        "type": 1,
        "last_message_id": null,
        "recipients": [payloads::fake_user(user)],
    }))
}

/// The guild of a channel or thread.
pub(super) fn guild_of(shared: &Shared, channel: u64) -> Option<u64> {
    shared
        .config
        .guild_of_channel(channel)
        .map(|g| g.id)
        .or_else(|| shared.read(|s| s.threads.get(&channel).map(|t| t.0)))
}

pub(super) fn channel_json(shared: &Shared, channel: u64) -> Option<Value> {
    if let Some(g) = shared.config.guild_of_channel(channel) {
        let (pos, c) = g
            .channels
            .iter()
            .enumerate()
            .find(|(_, c)| c.id == channel)?;
        return Some(payloads::text_channel(g.id, c, pos));
    }
    let bot = shared.config.bot_user_id;
    shared.read(|s| {
        s.threads
            .get(&channel)
            .map(|(g, p, n)| payloads::thread_channel(channel, *g, *p, n, bot))
    })
}

pub fn message_json(shared: &Shared, m: &StoredMessage) -> Value {
    let cfg = &shared.config;
    let author = if m.from_bot {
        payloads::bot_user(cfg)
    } else {
        cfg.user(m.author_id)
            .map(payloads::fake_user)
            .unwrap_or_else(|| payloads::user(m.author_id, "unknown", false))
    };
    payloads::message(m, &author, &shared.cdn_url())
}

/// A new bot message from a create payload (already validated).
pub(super) fn new_bot_message(
    shared: &Shared,
    channel: u64,
    payload: &Value,
    mut files: Vec<StoredAttachment>,
) -> StoredMessage {
    let now = Instant::now();
    shared.update(|s| s.check_attachment_entries("new message", payload, &[], &files));
    name_uploads(payload, &mut files);
    StoredMessage {
        id: shared.snowflake(),
        channel_id: channel,
        guild_id: guild_of(shared, channel),
        author_id: shared.config.bot_user_id,
        from_bot: true,
        content: payload["content"].as_str().unwrap_or_default().to_string(),
        embeds: array(&payload["embeds"]),
        components: array(&payload["components"]),
        attachments: files,
        flags: payload["flags"].as_u64().unwrap_or(0),
        allowed_mentions: vec![non_null(&payload["allowed_mentions"])],
        content_history: vec![(
            payload["content"].as_str().unwrap_or_default().to_string(),
            non_null(&payload["allowed_mentions"]),
        )],
        reply_pings_author: payload["message_reference"].is_object()
            && (payload["allowed_mentions"].is_null()
                || payload["allowed_mentions"]["replied_user"] == json!(true)),
        interaction_id: None,
        loading: false,
        created_at: now,
        created_unix_ms: unix_ms(),
        edits: vec![],
        deleted: false,
    }
}

fn array(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

pub(super) fn non_null(v: &Value) -> Option<Value> {
    (!v.is_null()).then(|| v.clone())
}

/// The `id` of an `attachments` entry: an upload slot (`0`, `1` ...) or an existing
/// attachment's snowflake, as a number or a string.
fn entry_id(entry: &Value) -> Option<u64> {
    entry["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .or(entry["id"].as_u64())
}

/// Gives uploads the filename their `attachments` entry names (Discord prefers it to the
/// multipart part's own filename).
fn name_uploads(payload: &Value, files: &mut [StoredAttachment]) {
    let entries = payload["attachments"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for file in files.iter_mut() {
        let named = entries
            .iter()
            .find(|e| file.slot.is_some() && entry_id(e) == file.slot)
            .and_then(|e| e["filename"].as_str());
        if let Some(name) = named {
            file.filename = name.to_string();
        }
    }
}

/// Every `attachment://NAME` an embed uses (image, thumbnail, author and footer icons).
pub(super) fn attachment_refs(embeds: &[Value]) -> Vec<String> {
    let mut out = vec![];
    for e in embeds {
        for url in [
            &e["image"]["url"],
            &e["thumbnail"]["url"],
            &e["author"]["icon_url"],
            &e["footer"]["icon_url"],
        ] {
            if let Some(name) = url.as_str().and_then(|u| u.strip_prefix("attachment://")) {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// Applies an edit payload: only the fields present change. As in API v10, an `attachments`
/// array lists every file the message keeps afterwards: existing ones by id, new uploads by
/// slot; an upload it does not list is dropped. Without the array, uploads are appended.
pub(super) fn apply_edit(m: &mut StoredMessage, payload: &Value, mut files: Vec<StoredAttachment>) {
    if let Some(c) = payload.get("content") {
        m.content = c.as_str().unwrap_or_default().to_string();
        m.content_history
            .push((m.content.clone(), non_null(&payload["allowed_mentions"])));
    }
    if let Some(e) = payload.get("embeds") {
        m.embeds = array(e);
    }
    if let Some(c) = payload.get("components") {
        m.components = array(c);
    }
    name_uploads(payload, &mut files);
    if let Some(kept) = payload.get("attachments").and_then(Value::as_array) {
        let keep: Vec<u64> = kept.iter().filter_map(entry_id).collect();
        m.attachments.retain(|a| keep.contains(&a.id));
        files.retain(|f| f.slot.is_some_and(|slot| keep.contains(&slot)));
    }
    m.attachments.extend(files);
    if let Some(am) = payload.get("allowed_mentions").filter(|v| !v.is_null()) {
        m.allowed_mentions.push(Some(am.clone()));
    }
    if m.loading {
        m.loading = false;
    } else {
        m.edits.push(Instant::now());
    }
}

pub(super) fn check(
    shared: &Shared,
    what: &str,
    payload: &Value,
    files: usize,
    is_edit: bool,
    prefix: Option<&str>,
) -> Result<(), Reply> {
    limits::check_message(payload, files, is_edit).map_err(|r| {
        let r = match prefix {
            Some(p) => r.under(p),
            None => r,
        };
        let kind = match r {
            Rejection::Empty => "empty_message",
            Rejection::InvalidForm(_) => "limit",
        };
        shared.update(|s| s.violate(kind, format!("{what}: {}", r.describe())));
        Reply::rejected(&r)
    })
}

pub(super) fn create_channel_message(shared: &Shared, channel: u64, body: ParsedBody) -> Reply {
    if !channel_exists(shared, channel) {
        shared.update(|s| {
            s.violate(
                "unknown_channel",
                format!("message to unknown channel {channel}"),
            )
        });
        return Reply::error(404, 10003, "Unknown Channel");
    }
    if let Err(r) = check(
        shared,
        "channel message",
        &body.json,
        body.files.len(),
        false,
        None,
    ) {
        return r;
    }
    let msg = new_bot_message(shared, channel, &body.json, body.files);
    let json = message_json(shared, &msg);
    shared.update(|s| s.add_message(msg.clone()));
    gateway::dispatch_message_create(shared, &msg, json.clone());
    Reply::ok(json)
}

pub(super) fn channel_message(
    shared: &Shared,
    m: &str,
    channel: u64,
    mid: u64,
    body: ParsedBody,
) -> Reply {
    let exists = shared.read(|s| {
        s.message(mid)
            .is_some_and(|x| x.channel_id == channel && !x.deleted)
    });
    if !exists {
        shared.update(|s| {
            s.violate(
                "unknown_message",
                format!("{m} unknown message {mid} in {channel}"),
            )
        });
        return Reply::error(404, 10008, "Unknown Message");
    }
    match m {
        "GET" => Reply::ok(shared.read(|s| message_json(shared, s.message(mid).expect("checked")))),
        "DELETE" => {
            shared.update(|s| s.message_mut(mid).expect("checked").deleted = true);
            Reply::no_content()
        }
        "PATCH" => {
            let from_bot = shared.read(|s| s.message(mid).expect("checked").from_bot);
            if !from_bot {
                shared.update(|s| {
                    s.violate("edit_foreign", format!("bot edited user message {mid}"))
                });
                return Reply::error(403, 50005, "Cannot edit a message authored by another user");
            }
            if let Err(r) = check(
                shared,
                "message edit",
                &body.json,
                body.files.len(),
                true,
                None,
            ) {
                return r;
            }
            let json = shared.update(|s| s.edit_message(mid, &body.json, body.files));
            Reply::ok(message_json(shared, &json))
        }
        _ => {
            shared.update(|s| {
                s.violate(
                    "unknown_route",
                    format!("unknown route {m} /channels/{channel}/messages/{mid}"),
                )
            });
            Reply::error(405, 0, "405: Method Not Allowed")
        }
    }
}

pub(super) fn create_thread(
    shared: &Shared,
    channel: u64,
    from_message: Option<u64>,
    body: &Value,
) -> Reply {
    let Some(guild) = shared.config.guild_of_channel(channel).map(|g| g.id) else {
        shared.update(|s| {
            s.violate(
                "unknown_channel",
                format!("thread in unknown channel {channel}"),
            )
        });
        return Reply::error(404, 10003, "Unknown Channel");
    };
    let name = body["name"].as_str().unwrap_or_default().to_string();
    let n = name.chars().count();
    if !(1..=100).contains(&n) {
        let r = Rejection::InvalidForm(vec![limits::FieldError {
            path: vec!["name".into()],
            code: "BASE_TYPE_BAD_LENGTH",
            message: "Must be between 1 and 100 in length.".into(),
        }]);
        shared.update(|s| s.violate("limit", format!("thread: {}", r.describe())));
        return Reply::rejected(&r);
    }
    if let Some(mid) = from_message
        && !shared.read(|s| s.message(mid).is_some_and(|m| m.channel_id == channel))
    {
        return Reply::error(404, 10008, "Unknown Message");
    }
    let id = from_message.unwrap_or_else(|| shared.snowflake());
    shared.update(|s| s.threads.insert(id, (guild, channel, name.clone())));
    Reply::json(
        201,
        payloads::thread_channel(id, guild, channel, &name, shared.config.bot_user_id),
    )
}

/// Serves uploaded attachment bytes at the URL given in message payloads.
pub async fn attachment(
    State(shared): State<Arc<Shared>>,
    axum::extract::Path((_channel, aid, _name)): axum::extract::Path<(u64, u64, String)>,
) -> Response {
    let found = shared.read(|s: &Inner| {
        s.messages
            .iter()
            .flat_map(|m| m.attachments.iter())
            .find(|a| a.id == aid)
            .map(|a| a.bytes.clone())
    });
    match found {
        Some(bytes) => (StatusCode::OK, bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
