//! Application command registration (bulk overwrite), validated like Discord.

use serde_json::{Value, json};

use super::limits::{self, Rejection};
use super::rest::{Reply, id};
use super::state::{RegisteredCommand, Shared};

pub(super) fn put_commands(shared: &Shared, app: &str, guild: Option<u64>, body: Value) -> Reply {
    if id(app) != Some(shared.config.application_id) {
        shared.update(|s| {
            s.violate(
                "wrong_application",
                format!("commands registered for application {app}"),
            )
        });
        return Reply::error(403, 50001, "Missing Access");
    }
    if let Some(g) = guild
        && shared.config.guild(g).is_none()
    {
        shared.update(|s| {
            s.violate(
                "unknown_guild",
                format!("commands registered in unknown guild {g}"),
            )
        });
        return Reply::error(403, 50001, "Missing Access");
    }
    let Some(list) = body.as_array() else {
        return Reply::rejected(&Rejection::InvalidForm(vec![]));
    };
    if let Err(r) = limits::check_commands(list) {
        shared.update(|s| s.violate("command_limit", r.describe()));
        return Reply::rejected(&r);
    }
    let stored: Vec<RegisteredCommand> = list
        .iter()
        .map(|def| RegisteredCommand {
            id: shared.snowflake(),
            guild_id: guild,
            definition: def.clone(),
        })
        .collect();
    shared.update(|s| {
        s.commands.retain(|c| c.guild_id != guild);
        s.commands.extend(stored);
    });
    Reply::ok(commands_json(shared, guild))
}

pub(super) fn commands_json(shared: &Shared, guild: Option<u64>) -> Value {
    let app = shared.config.application_id.to_string();
    shared.read(|s| {
        let list: Vec<Value> = s
            .commands
            .iter()
            .filter(|c| c.guild_id == guild)
            .map(|c| {
                let mut v = c.definition.clone();
                v["id"] = json!(c.id.to_string());
                v["application_id"] = json!(app);
                v["version"] = json!(c.id.to_string());
                if v.get("type").is_none_or(Value::is_null) {
                    v["type"] = json!(1);
                }
                if v.get("default_member_permissions").is_none() {
                    v["default_member_permissions"] = Value::Null;
                }
                if let Some(g) = c.guild_id {
                    v["guild_id"] = json!(g.to_string());
                }
                v
            })
            .collect();
        Value::Array(list)
    })
}
