//! The gateway websocket: HELLO, IDENTIFY, READY + GUILD_CREATE, heartbeats, RESUME, dispatches.
//!
//! Serenity connects to `{url}?v=10` (no `encoding`, no `compress` query) and sets
//! `compress: true` in IDENTIFY; it reads both text frames and zlib binary frames, so the fake
//! sends plain JSON text.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::config::intents;
use super::payloads;
use super::state::{ShardSession, Shared, StoredMessage, Violation};

pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if query.get("v").map(String::as_str) != Some("10") {
        shared.update(|s| s.violate("gateway_version", format!("gateway query {query:?}")));
    }
    ws.on_upgrade(move |socket| connection(shared, socket))
}

enum Outgoing {
    Text(String),
    Close(u16, &'static str),
}

async fn connection(shared: Arc<Shared>, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let (ctl_tx, mut ctl_rx) = mpsc::unbounded_channel::<Outgoing>();
    let writer = tokio::spawn(async move {
        loop {
            let out = tokio::select! {
                Some(text) = rx.recv() => Outgoing::Text(text),
                Some(ctl) = ctl_rx.recv() => ctl,
                else => break,
            };
            let msg = match out {
                Outgoing::Text(t) => Message::Text(t.into()),
                Outgoing::Close(code, reason) => {
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame {
                            code,
                            reason: reason.into(),
                        })))
                        .await;
                    break;
                }
            };
            if sink.send(msg).await.is_err() {
                break;
            }
        }
    });
    let hello = json!({"op": 10, "s": null, "t": null, "d": {"heartbeat_interval": shared.config.heartbeat_interval_ms}});
    let _ = tx.send(hello.to_string());
    let mut shard_id: Option<u32> = None;

    while let Some(Ok(frame)) = stream.next().await {
        let text = match frame {
            Message::Text(t) => t.to_string(),
            Message::Close(_) => break,
            _ => continue,
        };
        let Ok(payload) = serde_json::from_str::<Value>(&text) else {
            shared.update(|s| s.violate("gateway_decode", format!("bad gateway frame: {text}")));
            let _ = ctl_tx.send(Outgoing::Close(4002, "Decode error"));
            break;
        };
        match payload["op"].as_u64() {
            Some(1) => {
                shared.update(|s| s.heartbeats.push(std::time::Instant::now()));
                let _ = tx.send(json!({"op": 11, "s": null, "t": null, "d": null}).to_string());
            }
            Some(2) => match identify(&shared, &payload["d"], tx.clone()) {
                Ok(id) => shard_id = Some(id),
                Err((code, reason)) => {
                    let _ = ctl_tx.send(Outgoing::Close(code, reason));
                    break;
                }
            },
            Some(6) => match resume(&shared, &payload["d"], tx.clone()) {
                Some(id) => shard_id = Some(id),
                None => {
                    let _ = tx.send(json!({"op": 9, "s": null, "t": null, "d": false}).to_string());
                }
            },
            // Presence updates, member requests, voice: accepted and ignored.
            Some(3 | 4 | 8 | 31) => {}
            other => {
                shared.update(|s| s.violate("gateway_opcode", format!("unknown opcode {other:?}")));
                let _ = ctl_tx.send(Outgoing::Close(4001, "Unknown opcode"));
                break;
            }
        }
    }
    if let Some(id) = shard_id {
        shared.update(|s| {
            if s.shards
                .get(&id)
                .is_some_and(|sess| sess.outbox.same_channel(&tx))
                && let Some(sess) = s.shards.get_mut(&id)
            {
                sess.ready = false;
            }
        });
    }
    drop(tx);
    drop(ctl_tx);
    let _ = writer.await;
}

fn identify(
    shared: &Shared,
    d: &Value,
    outbox: mpsc::UnboundedSender<String>,
) -> Result<u32, (u16, &'static str)> {
    let cfg = &shared.config;
    let token = d["token"].as_str().unwrap_or_default();
    if token.trim_start_matches("Bot ") != cfg.token.trim_start_matches("Bot ") {
        shared.update(|s| s.violate("gateway_auth", "IDENTIFY with a wrong token".to_string()));
        return Err((4004, "Authentication failed."));
    }
    let shard = d["shard"]
        .as_array()
        .and_then(|a| Some([a.first()?.as_u64()? as u32, a.get(1)?.as_u64()? as u32]));
    let [id, count] = shard.unwrap_or([0, 1]);
    if count == 0 || id >= count {
        shared.update(|s| {
            s.violate(
                "gateway_shard",
                format!("IDENTIFY with shard [{id}, {count}]"),
            )
        });
        return Err((4010, "Invalid shard."));
    }
    let Some(intents) = d["intents"].as_u64() else {
        shared.update(|s| s.violate("gateway_intents", "IDENTIFY without intents".to_string()));
        return Err((4013, "Invalid intent(s)."));
    };
    if intents & intents::MESSAGE_CONTENT != 0 && !cfg.message_content_allowed {
        return Err((4014, "Disallowed intent(s)."));
    }
    let session_id = format!("session-{}-{}", id, shared.snowflake());
    let resume_url = format!("ws://127.0.0.1:{}/gateway", shared.port);
    let ready = payloads::ready(cfg, [id, count], &session_id, &resume_url);
    let guilds: Vec<Value> = cfg
        .guilds
        .iter()
        .filter(|g| payloads::shard_of(g.id, count) == id)
        .map(|g| payloads::guild_create(cfg, g))
        .collect();
    shared.update(|s| {
        let mut session = ShardSession {
            shard_count: count,
            intents,
            session_id,
            seq: 0,
            outbox,
            ready: false,
            resumes: 0,
            sent: vec![],
        };
        send_checked(&mut s.violations, &mut session, "READY", ready);
        for g in guilds {
            send_checked(&mut s.violations, &mut session, "GUILD_CREATE", g);
        }
        session.ready = true;
        s.shards.insert(id, session);
    });
    Ok(id)
}

fn resume(shared: &Shared, d: &Value, outbox: mpsc::UnboundedSender<String>) -> Option<u32> {
    let session_id = d["session_id"].as_str()?;
    let token = d["token"].as_str().unwrap_or_default();
    if token.trim_start_matches("Bot ") != shared.config.token.trim_start_matches("Bot ") {
        shared.update(|s| s.violate("gateway_auth", "RESUME with a wrong token".to_string()));
        return None;
    }
    shared.update(|s| {
        let (id, sess) = s
            .shards
            .iter_mut()
            .find(|(_, sess)| sess.session_id == session_id)?;
        sess.outbox = outbox;
        sess.ready = true;
        sess.resumes += 1;
        send(sess, "RESUMED", json!({}));
        Some(*id)
    })
}

/// Parses a dispatch with serenity's own models, as the bot will. Serenity turns a payload it
/// cannot parse into `Event::Unknown` and loses the reason; this keeps it.
fn serenity_parse_error(event: &str, d: &Value) -> Option<String> {
    use serenity::model::prelude as m;
    fn check<T: serde::de::DeserializeOwned>(d: &Value) -> Option<String> {
        serde_json::from_value::<T>(d.clone())
            .err()
            .map(|e| e.to_string())
    }
    match event {
        "READY" => check::<m::Ready>(d),
        "GUILD_CREATE" => check::<m::Guild>(d),
        "INTERACTION_CREATE" => check::<m::Interaction>(d),
        "MESSAGE_CREATE" => check::<m::Message>(d),
        _ => match serde_json::from_value::<m::Event>(json!({"t": event, "d": d})) {
            Ok(m::Event::Unknown(_)) => Some("not a known event".into()),
            Ok(_) => None,
            Err(e) => Some(e.to_string()),
        },
    }
}

/// Sends a dispatch after checking serenity can read it (a failure is a violation).
fn send_checked(
    violations: &mut Vec<Violation>,
    session: &mut ShardSession,
    event: &str,
    d: Value,
) {
    if let Some(err) = serenity_parse_error(event, &d) {
        violations.push(Violation {
            kind: "unparseable_dispatch".into(),
            detail: format!("{event}: {err}"),
        });
    }
    send(session, event, d);
}

fn send(session: &mut ShardSession, event: &str, d: Value) {
    session.seq += 1;
    let frame = json!({"op": 0, "s": session.seq, "t": event, "d": d});
    let _ = session.outbox.send(frame.to_string());
    session.sent.push((event.to_string(), d));
}

/// Sends a dispatch on the shard that owns `guild_id`. Returns false when no shard is connected.
pub fn dispatch_to_guild(
    shared: &Shared,
    guild_id: u64,
    event: &str,
    d: Value,
    required_intents: u64,
) -> bool {
    shared.update(|s| {
        let Some(count) = s.shards.values().map(|x| x.shard_count).next() else {
            return false;
        };
        let id = payloads::shard_of(guild_id, count);
        match s.shards.get_mut(&id) {
            Some(sess) if sess.ready => {
                if sess.intents & required_intents == required_intents {
                    send_checked(&mut s.violations, sess, event, d);
                }
                true
            }
            _ => false,
        }
    })
}

/// Sends a dispatch that belongs to no guild (direct messages) on shard 0, as Discord does.
pub fn dispatch_direct(shared: &Shared, event: &str, d: Value) -> bool {
    shared.update(|s| match s.shards.get_mut(&0) {
        Some(sess) if sess.ready => {
            send_checked(&mut s.violations, sess, event, d);
            true
        }
        _ => false,
    })
}

/// Sends a raw frame to a shard, bypassing all checks (to test malformed payloads).
pub fn send_raw(shared: &Shared, shard: u32, event: &str, d: Value) -> bool {
    shared.update(|s| match s.shards.get_mut(&shard) {
        Some(sess) => {
            send(sess, event, d);
            true
        }
        None => false,
    })
}

/// The intents a shard identified with, if connected.
pub fn shard_intents(shared: &Shared, guild_id: u64) -> Option<u64> {
    shared.read(|s| {
        let count = s.shards.values().map(|x| x.shard_count).next()?;
        s.shards
            .get(&payloads::shard_of(guild_id, count))
            .map(|x| x.intents)
    })
}

/// MESSAGE_CREATE for a message in a guild channel, as Discord sends for every message
/// (the bot's own included), with content blanked without the MESSAGE_CONTENT intent.
pub fn dispatch_message_create(shared: &Shared, m: &StoredMessage, mut json: Value) {
    let Some(guild) = m.guild_id else { return };
    let bot = shared.config.bot_user_id;
    let mentioned = m.content.contains(&format!("<@{bot}>"));
    let can_read = shard_intents(shared, guild).is_some_and(|i| i & intents::MESSAGE_CONTENT != 0);
    if !can_read && !m.from_bot && !mentioned {
        json["content"] = json!("");
        json["embeds"] = json!([]);
        json["attachments"] = json!([]);
        json["components"] = json!([]);
    }
    if !m.from_bot && shared.config.user(m.author_id).is_some() {
        let mut member = payloads::member(&Value::Null, guild, None);
        member
            .as_object_mut()
            .expect("member object")
            .remove("user");
        json["member"] = member;
    }
    dispatch_to_guild(
        shared,
        guild,
        "MESSAGE_CREATE",
        json,
        intents::GUILD_MESSAGES,
    );
}

/// Asks a shard to reconnect (op 7), as Discord does before moving a session; the bot is
/// expected to RESUME. Dispatches sent while it is away are lost (the fake does not replay).
pub fn request_reconnect(shared: &Shared, shard: u32) -> bool {
    shared.read(|s| match s.shards.get(&shard) {
        Some(sess) => sess
            .outbox
            .send(json!({"op": 7, "s": null, "t": null, "d": null}).to_string())
            .is_ok(),
        None => false,
    })
}
