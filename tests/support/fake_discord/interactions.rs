//! Interaction callbacks, followups and `@original`, with Discord's deadline and ack rules.

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use super::gateway;
use super::limits::{self, Rejection};
use super::messages::{check, message_json, new_bot_message};
use super::rest::{ParsedBody, Reply, id};
use super::state::{AckKind, InteractionRecord, Shared};

/// `POST /interactions/{id}/{token}/callback`.
pub(super) fn callback(shared: &Arc<Shared>, iid: u64, token: &str, body: ParsedBody) -> Reply {
    let deadline = shared.config.ack_deadline;
    let Some(rec) = shared.read(|s| s.interactions.get(&iid).cloned()) else {
        shared.update(|s| {
            s.violate(
                "unknown_interaction",
                format!("callback for unknown interaction {iid}"),
            )
        });
        return Reply::error(404, 10062, "Unknown interaction");
    };
    if rec.token != token {
        shared.update(|s| {
            s.violate(
                "unknown_interaction",
                format!("callback with wrong token for {iid}"),
            )
        });
        return Reply::error(404, 10062, "Unknown interaction");
    }
    if rec.ack.is_some() {
        shared.update(|s| {
            s.violate(
                "double_ack",
                format!("interaction {iid} acknowledged twice"),
            )
        });
        return Reply::error(400, 40060, "Interaction has already been acknowledged.");
    }
    let elapsed = rec.created_at.elapsed();
    if elapsed > deadline {
        shared.update(|s| {
            s.violate(
                "late_ack",
                format!("interaction {iid} acknowledged after {elapsed:?} (deadline {deadline:?})"),
            )
        });
        return Reply::error(404, 10062, "Unknown interaction");
    }
    let code = body.json["type"].as_u64().unwrap_or(0);
    let data = body.json.get("data").cloned().unwrap_or(Value::Null);
    let Some(kind) = AckKind::from_code(code).filter(|k| callback_allowed(*k, rec.kind)) else {
        shared.update(|s| {
            s.violate(
                "bad_callback",
                format!("callback type {code} for interaction type {}", rec.kind),
            )
        });
        return Reply::rejected(&Rejection::InvalidForm(vec![limits::FieldError {
            path: vec!["type".into()],
            code: "INTERACTION_RESPONSE_TYPE_INVALID",
            message: format!("Invalid response type {code} for this interaction"),
        }]));
    };
    let checked = match kind {
        AckKind::Message => limits::check_message(&data, body.files.len(), false),
        AckKind::UpdateMessage => limits::check_message(&data, body.files.len(), true),
        AckKind::Modal => limits::check_modal(&data),
        AckKind::AutocompleteResult => limits::check_choices(&data),
        AckKind::DeferredMessage | AckKind::DeferredUpdate => Ok(()),
    };
    if let Err(r) = checked {
        let r = r.under("data");
        let kind = match r {
            Rejection::Empty => "empty_message",
            Rejection::InvalidForm(_) => "limit",
        };
        shared.update(|s| s.violate(kind, format!("interaction callback: {}", r.describe())));
        return Reply::rejected(&r);
    }
    let mut dispatch = None;
    let original = match kind {
        AckKind::Message | AckKind::DeferredMessage => {
            let mut msg = new_bot_message(shared, rec.channel_id, &data, body.files);
            msg.interaction_id = Some(iid);
            msg.loading = kind == AckKind::DeferredMessage;
            if msg.loading {
                msg.content_history.clear();
                msg.allowed_mentions.clear();
            }
            if !msg.ephemeral() && !msg.loading {
                dispatch = Some(msg.clone());
            }
            let id = msg.id;
            shared.update(|s| s.add_message(msg));
            Some(id)
        }
        AckKind::UpdateMessage => {
            let src = rec.source_message_id;
            shared.update(|s| {
                if let Some(id) = src.filter(|id| s.message(*id).is_some()) {
                    s.edit_message(id, &data, body.files);
                }
            });
            src
        }
        AckKind::DeferredUpdate => rec.source_message_id,
        AckKind::AutocompleteResult | AckKind::Modal => None,
    };
    shared.update(|s| {
        let r = s.interactions.get_mut(&iid).expect("exists");
        r.ack = Some(kind);
        r.ack_at = Some(Instant::now());
        r.ack_data = data;
        r.original_message_id = original;
    });
    if let Some(msg) = dispatch {
        let json = message_json(shared, &msg);
        gateway::dispatch_message_create(shared, &msg, json);
    }
    Reply::no_content()
}

/// Which callback types Discord accepts for which interaction types.
fn callback_allowed(ack: AckKind, interaction_kind: u8) -> bool {
    match interaction_kind {
        2 => matches!(
            ack,
            AckKind::Message | AckKind::DeferredMessage | AckKind::Modal
        ),
        3 => !matches!(ack, AckKind::AutocompleteResult),
        4 => ack == AckKind::AutocompleteResult,
        5 => !matches!(ack, AckKind::AutocompleteResult | AckKind::Modal),
        _ => false,
    }
}

fn token_interaction(shared: &Shared, app: &str, token: &str) -> Result<InteractionRecord, Reply> {
    if id(app) != Some(shared.config.application_id) {
        shared.update(|s| s.violate("unknown_webhook", format!("webhook for application {app}")));
        return Err(Reply::error(404, 10015, "Unknown Webhook"));
    }
    match shared.read(|s| s.interaction_by_token(token).cloned()) {
        Some(rec) if rec.ack.is_some() => match super::rules::token_expired(shared, rec.created_at)
        {
            Some(expired) => Err(expired),
            None => Ok(rec),
        },
        Some(rec) => {
            shared.update(|s| {
                s.violate(
                    "webhook_before_ack",
                    format!("interaction {} webhook used before acknowledgement", rec.id),
                )
            });
            Err(Reply::error(404, 10015, "Unknown Webhook"))
        }
        None => {
            shared
                .update(|s| s.violate("unknown_webhook", "webhook with unknown token".to_string()));
            Err(Reply::error(404, 10015, "Unknown Webhook"))
        }
    }
}

/// `POST /webhooks/{app}/{token}`: a followup. The first one after a deferred message
/// response replaces the "thinking" message, as Discord does.
pub(super) fn followup(shared: &Shared, app: &str, token: &str, body: ParsedBody) -> Reply {
    let rec = match token_interaction(shared, app, token) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if let Err(r) = check(
        shared,
        "followup",
        &body.json,
        body.files.len(),
        false,
        None,
    ) {
        return r;
    }
    let loading_original = rec
        .original_message_id
        .filter(|id| shared.read(|s| s.message(*id).is_some_and(|m| m.loading)));
    let msg = if let Some(orig) = loading_original {
        // The deferral fixed the visibility; an edit never changes the flags.
        shared.update(|s| s.edit_message(orig, &body.json, body.files))
    } else {
        let mut msg = new_bot_message(shared, rec.channel_id, &body.json, body.files);
        msg.interaction_id = Some(rec.id);
        shared.update(|s| {
            s.add_message(msg.clone());
            s.interactions
                .get_mut(&rec.id)
                .expect("exists")
                .followup_ids
                .push(msg.id);
        });
        msg
    };
    let json = message_json(shared, &msg);
    if !msg.ephemeral() {
        gateway::dispatch_message_create(shared, &msg, json.clone());
    }
    Reply::ok(json)
}

/// `GET/PATCH/DELETE /webhooks/{app}/{token}/messages/{@original|id}`.
pub(super) fn webhook_message(
    shared: &Shared,
    m: &str,
    app: &str,
    token: &str,
    which: &str,
    body: ParsedBody,
) -> Reply {
    let rec = match token_interaction(shared, app, token) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let target = if which == "@original" {
        rec.original_message_id
    } else {
        // A followup that replaced the deferred "thinking" message is that message: its id
        // is the original's, and Discord edits it under either name.
        id(which)
            .filter(|mid| rec.followup_ids.contains(mid) || rec.original_message_id == Some(*mid))
    };
    let Some(mid) =
        target.filter(|mid| shared.read(|s| s.message(*mid).is_some_and(|x| !x.deleted)))
    else {
        shared.update(|s| {
            s.violate(
                "unknown_message",
                format!("{m} webhook message {which} of interaction {}", rec.id),
            )
        });
        return Reply::error(404, 10008, "Unknown Message");
    };
    match m {
        "GET" => Reply::ok(shared.read(|s| message_json(shared, s.message(mid).expect("checked")))),
        "DELETE" => {
            shared.update(|s| s.message_mut(mid).expect("checked").deleted = true);
            Reply::no_content()
        }
        "PATCH" => {
            if let Err(r) = check(
                shared,
                "webhook edit",
                &body.json,
                body.files.len(),
                true,
                None,
            ) {
                return r;
            }
            let msg = shared.update(|s| s.edit_message(mid, &body.json, body.files));
            Reply::ok(message_json(shared, &msg))
        }
        _ => {
            shared.update(|s| {
                s.violate(
                    "unknown_route",
                    format!("unknown route {m} webhook message"),
                )
            });
            Reply::error(405, 0, "405: Method Not Allowed")
        }
    }
}
