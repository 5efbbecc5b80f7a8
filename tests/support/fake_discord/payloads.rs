//! JSON shapes of Discord objects, complete enough for serenity 0.12.5 to deserialise.
//!
//! Serenity drops a dispatch it cannot parse with only a log line, so every builder here is
//! checked against serenity's own types in the tests.

use serde_json::{Value, json};

use super::config::{FakeChannel, FakeConfig, FakeGuild, FakeUser, perms};
use super::state::{StoredMessage, iso8601, unix_ms};

pub fn user(id: u64, name: &str, bot: bool) -> Value {
    json!({
        "id": id.to_string(),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": null,
        "bot": bot,
        "public_flags": 0,
    })
}

pub fn fake_user(u: &FakeUser) -> Value {
    user(u.id, &u.name, false)
}

pub fn bot_user(cfg: &FakeConfig) -> Value {
    let mut u = user(cfg.bot_user_id, &cfg.bot_name, true);
    u["verified"] = json!(true);
    u["mfa_enabled"] = json!(false);
    u["flags"] = json!(0);
    u
}

/// A guild member; `permissions` is only present in interaction payloads.
pub fn member(u: &Value, guild_id: u64, permissions: Option<u64>) -> Value {
    let mut m = json!({
        "user": u,
        "nick": null,
        "avatar": null,
        "roles": [],
        "joined_at": iso8601(unix_ms()),
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "guild_id": guild_id.to_string(),
    });
    if let Some(p) = permissions {
        m["permissions"] = json!(p.to_string());
    }
    m
}

pub fn text_channel(guild_id: u64, c: &FakeChannel, position: usize) -> Value {
    json!({
        "id": c.id.to_string(),
        "type": 0,
        "guild_id": guild_id.to_string(),
        "name": c.name,
        "position": position,
        "permission_overwrites": [],
        "nsfw": false,
        "topic": null,
        "last_message_id": null,
        "rate_limit_per_user": 0,
        "parent_id": null,
        "flags": 0,
    })
}

pub fn thread_channel(id: u64, guild_id: u64, parent_id: u64, name: &str, owner: u64) -> Value {
    json!({
        "id": id.to_string(),
        "type": 11,
        "guild_id": guild_id.to_string(),
        "parent_id": parent_id.to_string(),
        "owner_id": owner.to_string(),
        "name": name,
        "last_message_id": null,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "flags": 0,
        "thread_metadata": {
            "archived": false,
            "auto_archive_duration": 1440,
            "archive_timestamp": iso8601(unix_ms()),
            "locked": false,
            "create_timestamp": iso8601(unix_ms()),
        },
        "total_message_sent": 0,
    })
}

fn everyone_role(guild_id: u64) -> Value {
    json!({
        "id": guild_id.to_string(),
        "name": "@everyone",
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
        "hoist": false,
        "icon": null,
        "unicode_emoji": null,
        "position": 0,
        "permissions": perms::MEMBER.to_string(),
        "managed": false,
        "mentionable": false,
        "flags": 0,
    })
}

/// The full GUILD_CREATE payload for an available guild.
pub fn guild_create(cfg: &FakeConfig, g: &FakeGuild) -> Value {
    let mut members: Vec<Value> = g
        .members
        .iter()
        .map(|u| member(&fake_user(u), g.id, None))
        .collect();
    members.push(member(&bot_user(cfg), g.id, None));
    let channels: Vec<Value> = g
        .channels
        .iter()
        .enumerate()
        .map(|(i, c)| text_channel(g.id, c, i))
        .collect();
    let base = json!({
        "id": g.id.to_string(),
        "name": g.name,
        "icon": null,
        "icon_hash": null,
        "splash": null,
        "discovery_splash": null,
        "owner_id": g.owner_id.to_string(),
        "afk_channel_id": null,
        "afk_timeout": 300,
        "widget_enabled": false,
        "widget_channel_id": null,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": [everyone_role(g.id)],
        "emojis": [],
        "features": [],
        "mfa_level": 0,
        "application_id": null,
        "system_channel_id": null,
        "system_channel_flags": 0,
        "rules_channel_id": null,
        "max_presences": null,
        "max_members": 500000,
        "vanity_url_code": null,
        "description": null,
        "banner": null,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": null,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "nsfw_level": 0,
        "stickers": [],
        "premium_progress_bar_enabled": false,
        "safety_alerts_channel_id": null,
    });
    // Split in two: one `json!` this large exceeds the default macro recursion limit.
    let extra = json!({
        "joined_at": iso8601(unix_ms()),
        "large": false,
        "unavailable": false,
        "member_count": members.len(),
        "voice_states": [],
        "members": members,
        "channels": channels,
        "threads": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "lazy": true,
    });
    let mut guild = base;
    guild
        .as_object_mut()
        .expect("object")
        .extend(extra.as_object().expect("object").clone());
    guild
}

pub fn ready(cfg: &FakeConfig, shard: [u32; 2], session_id: &str, resume_url: &str) -> Value {
    let guilds: Vec<Value> = cfg
        .guilds
        .iter()
        .filter(|g| shard_of(g.id, shard[1]) == shard[0])
        .map(|g| json!({"id": g.id.to_string(), "unavailable": true}))
        .collect();
    json!({
        "v": 10,
        "user": bot_user(cfg),
        "guilds": guilds,
        "session_id": session_id,
        "resume_gateway_url": resume_url,
        "shard": shard,
        "application": {"id": cfg.application_id.to_string(), "flags": 0},
        "private_channels": [],
        "presences": [],
        "relationships": [],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": [],
    })
}

/// Which shard receives a guild's events.
pub fn shard_of(guild_id: u64, shard_count: u32) -> u32 {
    ((guild_id >> 22) % u64::from(shard_count.max(1))) as u32
}

pub fn application_info(cfg: &FakeConfig) -> Value {
    let owner = cfg
        .user(cfg.owner_id)
        .map(fake_user)
        .unwrap_or_else(|| user(cfg.owner_id, "owner", false));
    json!({
        "id": cfg.application_id.to_string(),
        "name": cfg.bot_name,
        "icon": null,
        "description": "",
        "rpc_origins": [],
        "bot_public": true,
        "bot_require_code_grant": false,
        "owner": owner,
        "verify_key": "0".repeat(64),
        "team": null,
        "flags": 0,
        "bot": bot_user(cfg),
    })
}

/// Embeds as Discord serves them: `attachment://NAME` becomes the attachment's own URL.
fn served_embeds(m: &StoredMessage, base_url: &str) -> Vec<Value> {
    let mut embeds = m.embeds.clone();
    for e in &mut embeds {
        for (part, key) in [
            ("image", "url"),
            ("thumbnail", "url"),
            ("author", "icon_url"),
            ("footer", "icon_url"),
        ] {
            let Some(url) = e.get_mut(part).and_then(|p| p.get_mut(key)) else {
                continue;
            };
            let Some(name) = url.as_str().and_then(|u| u.strip_prefix("attachment://")) else {
                continue;
            };
            let name = name.to_string();
            if let Some(a) = m.attachments.iter().find(|a| a.filename == name) {
                *url = json!(format!(
                    "{base_url}/attachments/{}/{}/{}",
                    m.channel_id, a.id, a.filename
                ));
            }
        }
    }
    embeds
}

/// A message as Discord returns it from REST and in MESSAGE_CREATE.
pub fn message(m: &StoredMessage, author: &Value, base_url: &str) -> Value {
    let attachments: Vec<Value> = m
        .attachments
        .iter()
        .map(|a| {
            let url = format!(
                "{base_url}/attachments/{}/{}/{}",
                m.channel_id, a.id, a.filename
            );
            json!({
                "id": a.id.to_string(),
                "filename": a.filename,
                "size": a.bytes.len(),
                "url": url,
                "proxy_url": url,
                "content_type": a.content_type,
                "ephemeral": m.ephemeral(),
            })
        })
        .collect();
    let mut v = json!({
        "id": m.id.to_string(),
        "channel_id": m.channel_id.to_string(),
        "author": author,
        "content": m.content,
        "timestamp": iso8601(m.created_unix_ms),
        "edited_timestamp": if m.edits.is_empty() { Value::Null } else { json!(iso8601(unix_ms())) },
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": attachments,
        "embeds": served_embeds(m, base_url),
        "pinned": false,
        "type": if m.interaction_id.is_some() { 20 } else { 0 },
        "flags": m.flags,
        "components": m.components,
    });
    if m.interaction_id.is_some() {
        // Interaction responses are sent through the application's webhook.
        v["webhook_id"] = author["id"].clone();
    }
    if let Some(g) = m.guild_id {
        v["guild_id"] = json!(g.to_string());
    }
    v
}

/// An INTERACTION_CREATE payload in a guild channel.
#[allow(clippy::too_many_arguments)]
pub fn interaction(
    cfg: &FakeConfig,
    id: u64,
    token: &str,
    kind: u8,
    data: Value,
    guild: u64,
    channel: Value,
    member: Value,
) -> Value {
    json!({
        "id": id.to_string(),
        "application_id": cfg.application_id.to_string(),
        "type": kind,
        "data": data,
        "guild_id": guild.to_string(),
        "channel_id": channel["id"],
        "channel": channel,
        "member": member,
        "token": token,
        "version": 1,
        "app_permissions": perms::MEMBER.to_string(),
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": guild.to_string()},
        "context": 0,
        "attachment_size_limit": 26_214_400,
    })
}
