//! The REST API under `/api/v10`, routed by hand so every request, known or not, is recorded.
//!
//! Handlers live in `messages` (channel messages, threads), `interactions` (callbacks,
//! followups, `@original`) and `commands` (registration).

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::commands::{commands_json, put_commands};
use super::interactions::{callback, followup, webhook_message};
use super::limits::Rejection;
use super::messages::{
    channel_exists, channel_json, channel_message, create_channel_message, create_thread, open_dm,
};
use super::payloads;
use super::rules;
use super::state::{FaultKind, RecordedRequest, Shared, StoredAttachment, unix_ms};

/// A parsed request body: JSON (or `payload_json`) plus uploaded files.
pub(super) struct ParsedBody {
    pub json: Value,
    pub files: Vec<StoredAttachment>,
}

pub(super) struct Reply {
    status: StatusCode,
    body: Option<Value>,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status: StatusCode::from_u16(status).expect("valid status"),
            body: Some(body),
            headers: vec![],
        }
    }
    pub fn ok(body: Value) -> Self {
        Self::json(200, body)
    }
    pub fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: None,
            headers: vec![],
        }
    }
    pub fn error(status: u16, code: u64, message: &str) -> Self {
        Self::json(status, json!({"code": code, "message": message}))
    }
    pub fn rejected(r: &Rejection) -> Self {
        Self::json(400, r.body())
    }
}

pub async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let method = req.method().clone();
    let full_path = req.uri().path().to_string();
    let at = Instant::now();
    let body = match read_body(req, &shared).await {
        Ok(b) => b,
        Err(e) => {
            shared.update(|s| s.violate("bad_body", format!("{method} {full_path}: {e}")));
            return finish(
                &shared,
                &method,
                &full_path,
                (Value::Null, vec![]),
                at,
                Reply::error(400, 50109, "The request body contains invalid JSON."),
            );
        }
    };
    let recorded = (body.json.clone(), body.files.clone());
    let segs = segments(&full_path);
    let bucket_headers = match rules::admit(&shared, method.as_str(), &segs, &full_path) {
        Ok(headers) => headers,
        Err(too_many) => return finish(&shared, &method, &full_path, recorded, at, too_many),
    };
    let uploaded = body.files.iter().map(|f| f.bytes.len()).sum();
    let refusal = rules::upload_too_large(&shared, uploaded)
        .or_else(|| injected_fault(&shared, &method, &full_path))
        .or_else(|| shared.read(|s| rules::world(s, method.as_str(), &segs)));
    let mut reply = match refusal {
        Some(r) => r,
        None => route(&shared, &method, &full_path, body),
    };
    if reply.headers.is_empty() {
        reply.headers = bucket_headers;
    }
    finish(&shared, &method, &full_path, recorded, at, reply)
}

/// The path's segments under `/api/v10/` (empty for anything else).
fn segments(full_path: &str) -> Vec<&str> {
    full_path
        .strip_prefix("/api/v10/")
        .map(|p| p.trim_end_matches('/').split('/').collect())
        .unwrap_or_default()
}

fn finish(
    shared: &Shared,
    method: &Method,
    path: &str,
    (body, files): (Value, Vec<StoredAttachment>),
    at: Instant,
    reply: Reply,
) -> Response {
    shared.update(|s| {
        s.requests.push(RecordedRequest {
            method: method.to_string(),
            path: path.to_string(),
            body,
            files,
            status: reply.status.as_u16(),
            at,
        })
    });
    let mut resp = match reply.body {
        Some(v) => (
            reply.status,
            [(header::CONTENT_TYPE, "application/json")],
            v.to_string(),
        )
            .into_response(),
        None => (reply.status, Body::empty()).into_response(),
    };
    for (name, value) in reply.headers {
        resp.headers_mut()
            .insert(name, HeaderValue::from_str(&value).expect("header value"));
    }
    resp
}

async fn read_body(req: Request, shared: &Shared) -> Result<ParsedBody, String> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if is_multipart {
        let mut form = Multipart::from_request(req, &())
            .await
            .map_err(|e| e.to_string())?;
        let mut json = Value::Null;
        let mut files = Vec::new();
        while let Some(field) = form.next_field().await.map_err(|e| e.to_string())? {
            let name = field.name().unwrap_or_default().to_string();
            let filename = field.file_name().map(str::to_string);
            let content_type = field.content_type().map(str::to_string);
            let bytes = field.bytes().await.map_err(|e| e.to_string())?;
            if name == "payload_json" {
                json = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
            } else if let Some(slot) = name
                .strip_prefix("files[")
                .and_then(|rest| rest.strip_suffix(']'))
            {
                let slot = slot
                    .parse::<u64>()
                    .map_err(|_| format!("bad multipart field {name}"))?;
                files.push(StoredAttachment {
                    id: shared.snowflake(),
                    filename: filename.unwrap_or_else(|| name.clone()),
                    content_type,
                    bytes: bytes.to_vec(),
                    slot: Some(slot),
                });
            } else {
                return Err(format!("unexpected multipart field {name}"));
            }
        }
        return Ok(ParsedBody { json, files });
    }
    let bytes = axum::body::to_bytes(req.into_body(), 64 << 20)
        .await
        .map_err(|e| e.to_string())?;
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())?
    };
    Ok(ParsedBody {
        json,
        files: vec![],
    })
}

fn injected_fault(shared: &Shared, method: &Method, path: &str) -> Option<Reply> {
    let kind = shared.update(|s| {
        let fault = s.faults.iter_mut().find(|f| {
            f.remaining > 0
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
                && path.contains(&f.path_contains)
        })?;
        fault.remaining -= 1;
        Some(fault.kind.clone())
    })?;
    Some(match kind {
        FaultKind::ServerError => Reply::error(500, 0, "500: Internal Server Error"),
        FaultKind::RateLimited { retry_after_secs } => {
            let mut r = Reply::json(
                429,
                json!({"message": "You are being rate limited.", "retry_after": retry_after_secs, "global": false}),
            );
            let reset = unix_ms() as f64 / 1000.0 + retry_after_secs;
            r.headers = vec![
                ("retry-after", format!("{}", retry_after_secs.ceil() as u64)),
                ("x-ratelimit-limit", "5".into()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", format!("{reset:.3}")),
                ("x-ratelimit-reset-after", format!("{retry_after_secs:.3}")),
                ("x-ratelimit-bucket", "fakebucket".into()),
                ("x-ratelimit-scope", "user".into()),
            ];
            r
        }
    })
}

pub(super) fn id(seg: &str) -> Option<u64> {
    seg.parse().ok()
}

fn route(shared: &Arc<Shared>, method: &Method, full_path: &str, body: ParsedBody) -> Reply {
    let unknown = || {
        shared.update(|s| {
            s.violate(
                "unknown_route",
                format!("unknown route {method} {full_path}"),
            )
        });
        Reply::error(404, 0, "404: Not Found")
    };
    let Some(path) = full_path.strip_prefix("/api/v10/") else {
        return unknown();
    };
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let cfg = &shared.config;
    let m = method.as_str();
    match (m, segs.as_slice()) {
        ("GET", ["gateway"]) => Reply::ok(json!({"url": gateway_url(shared)})),
        ("GET", ["gateway", "bot"]) => Reply::ok(json!({
            "url": gateway_url(shared),
            "shards": cfg.recommended_shards,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1},
        })),
        ("GET", ["oauth2", "applications", "@me"]) => Reply::ok(payloads::application_info(cfg)),
        ("GET", ["users", "@me"]) => Reply::ok(payloads::bot_user(cfg)),
        ("POST", ["users", "@me", "channels"]) => open_dm(shared, &body.json),
        ("PUT", ["applications", app, "commands"]) => put_commands(shared, app, None, body.json),
        ("PUT", ["applications", app, "guilds", guild, "commands"]) => match id(guild) {
            Some(g) => put_commands(shared, app, Some(g), body.json),
            None => unknown(),
        },
        ("GET", ["applications", _, "commands"]) => Reply::ok(commands_json(shared, None)),
        ("GET", ["applications", _, "guilds", guild, "commands"]) => {
            Reply::ok(commands_json(shared, id(guild)))
        }
        ("POST", ["interactions", iid, token, "callback"]) => match id(iid) {
            Some(i) => callback(shared, i, token, body),
            None => unknown(),
        },
        ("POST", ["webhooks", app, token]) => followup(shared, app, token, body),
        (_, ["webhooks", app, token, "messages", which]) => {
            webhook_message(shared, m, app, token, which, body)
        }
        ("GET", ["channels", ch]) => match id(ch).and_then(|c| channel_json(shared, c)) {
            Some(v) => Reply::ok(v),
            None => Reply::error(404, 10003, "Unknown Channel"),
        },
        ("POST", ["channels", ch, "messages"]) => match id(ch) {
            Some(c) => create_channel_message(shared, c, body),
            None => unknown(),
        },
        (_, ["channels", ch, "messages", mid]) => match (id(ch), id(mid)) {
            (Some(c), Some(msg)) => channel_message(shared, m, c, msg, body),
            _ => unknown(),
        },
        ("POST", ["channels", ch, "typing"]) => match id(ch) {
            Some(c) if channel_exists(shared, c) => {
                shared.update(|s| s.typing.push((c, Instant::now())));
                Reply::no_content()
            }
            _ => Reply::error(404, 10003, "Unknown Channel"),
        },
        ("POST", ["channels", ch, "threads"]) => match id(ch) {
            Some(c) => create_thread(shared, c, None, &body.json),
            None => unknown(),
        },
        ("POST", ["channels", ch, "messages", mid, "threads"]) => match (id(ch), id(mid)) {
            (Some(c), Some(msg)) => create_thread(shared, c, Some(msg), &body.json),
            _ => unknown(),
        },
        _ => unknown(),
    }
}

fn gateway_url(shared: &Shared) -> String {
    format!("ws://127.0.0.1:{}/gateway", shared.port)
}
