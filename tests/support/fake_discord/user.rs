//! The scripted user: slash commands, autocomplete, button clicks, modal submits, plain messages.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::FakeDiscord;
use super::config::FakeUser;
use super::gateway;
use super::messages::message_json;
use super::payloads;
use super::state::{AckKind, InteractionRecord, Shared, StoredAttachment, StoredMessage, unix_ms};

/// What the bot answered to one interaction, as it stands now.
#[derive(Clone, Debug)]
pub struct RecordedResponse {
    pub ack: AckKind,
    /// `@original` (for component acks of type 6/7: the message the component is on).
    pub message_id: Option<u64>,
    pub content: String,
    pub embeds: Vec<Value>,
    pub components: Vec<Value>,
    pub attachments: Vec<StoredAttachment>,
    pub ephemeral: bool,
    /// Autocomplete choices (ack type 8).
    pub choices: Vec<Value>,
    /// The modal definition (ack type 9).
    pub modal: Option<Value>,
    /// Time from the interaction to its acknowledgement.
    pub ack_latency: Duration,
}

/// One interaction sent by the scripted user.
#[derive(Clone)]
pub struct InteractionHandle {
    pub(super) shared: Arc<Shared>,
    pub id: u64,
    pub token: String,
}

impl InteractionHandle {
    fn record(&self) -> InteractionRecord {
        self.shared
            .read(|s| s.interactions.get(&self.id).cloned())
            .expect("interaction exists")
    }

    /// Waits for the acknowledgement only.
    pub async fn wait_ack(&self) -> AckKind {
        let timeout = self.shared.config.wait_timeout;
        let id = self.id;
        self.shared
            .wait_for(
                timeout,
                &format!("acknowledgement of interaction {id}"),
                |s| s.interactions.get(&id)?.ack,
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Waits until the bot's answer is visible: the ack, and for a deferred message the first
    /// followup or `@original` edit that replaces "thinking", for a deferred update an edit of
    /// the component's message after the ack.
    pub async fn wait_response(&self) -> RecordedResponse {
        let timeout = self.shared.config.wait_timeout;
        self.try_wait_response(timeout).await.unwrap_or_else(|| {
            panic!(
                "timed out after {timeout:?} waiting for the response to interaction {}",
                self.id
            )
        })
    }

    /// Like `wait_response`, `None` on timeout.
    pub async fn try_wait_response(&self, timeout: Duration) -> Option<RecordedResponse> {
        let id = self.id;
        self.shared
            .wait_for(timeout, "response", |s| {
                let rec = s.interactions.get(&id)?;
                let ack = rec.ack?;
                let msg = rec.original_message_id.and_then(|m| s.message(m));
                match ack {
                    AckKind::DeferredMessage if msg.is_none_or(|m| m.loading) => return None,
                    AckKind::DeferredUpdate => {
                        let edited = msg.is_some_and(|m| {
                            m.edits.last().is_some_and(|t| Some(*t) >= rec.ack_at)
                        });
                        if !edited {
                            return None;
                        }
                    }
                    _ => {}
                }
                Some(response_of(rec, msg))
            })
            .await
            .ok()
    }

    /// Followup messages (not counting the one that replaced a deferral), current state.
    pub fn followups(&self) -> Vec<StoredMessage> {
        let rec = self.record();
        self.shared.read(|s| {
            rec.followup_ids
                .iter()
                .filter_map(|id| s.message(*id).cloned())
                .collect()
        })
    }

    /// Waits until at least `n` followups exist.
    pub async fn wait_followups(&self, n: usize) -> Vec<StoredMessage> {
        let id = self.id;
        let timeout = self.shared.config.wait_timeout;
        self.shared
            .wait_for(
                timeout,
                &format!("{n} followups of interaction {id}"),
                |s| {
                    let rec = s.interactions.get(&id)?;
                    (rec.followup_ids.len() >= n).then(|| {
                        rec.followup_ids
                            .iter()
                            .filter_map(|m| s.message(*m).cloned())
                            .collect()
                    })
                },
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

fn response_of(rec: &InteractionRecord, msg: Option<&StoredMessage>) -> RecordedResponse {
    let ack = rec.ack.expect("acknowledged");
    RecordedResponse {
        ack,
        message_id: msg.map(|m| m.id),
        content: msg.map(|m| m.content.clone()).unwrap_or_default(),
        embeds: msg.map(|m| m.embeds.clone()).unwrap_or_default(),
        components: msg.map(|m| m.components.clone()).unwrap_or_default(),
        attachments: msg.map(|m| m.attachments.clone()).unwrap_or_default(),
        ephemeral: msg.is_some_and(StoredMessage::ephemeral),
        choices: if ack == AckKind::AutocompleteResult {
            rec.ack_data["choices"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        } else {
            vec![]
        },
        modal: (ack == AckKind::Modal).then(|| rec.ack_data.clone()),
        ack_latency: rec.ack_at.map(|t| t - rec.created_at).unwrap_or_default(),
    }
}

impl FakeDiscord {
    fn member_json(&self, user: &FakeUser, guild: u64) -> Value {
        payloads::member(&payloads::fake_user(user), guild, Some(user.permissions))
    }

    fn user(&self, user_id: u64) -> FakeUser {
        self.shared
            .config
            .user(user_id)
            .cloned()
            .unwrap_or_else(|| panic!("unknown fake user {user_id}"))
    }

    /// Common interaction envelope; registers the interaction before dispatching it.
    fn send_interaction(
        &self,
        kind: u8,
        user_id: u64,
        guild: u64,
        channel: u64,
        data: Value,
        message: Option<&StoredMessage>,
    ) -> InteractionHandle {
        let shared = &self.shared;
        let user = self.user(user_id);
        let g = shared
            .config
            .guild(guild)
            .unwrap_or_else(|| panic!("unknown guild {guild}"));
        let chan = g
            .channels
            .iter()
            .enumerate()
            .find(|(_, c)| c.id == channel)
            .map(|(i, c)| payloads::text_channel(guild, c, i))
            .or_else(|| {
                shared.read(|s| {
                    s.threads.get(&channel).map(|(gid, p, n)| {
                        payloads::thread_channel(channel, *gid, *p, n, shared.config.bot_user_id)
                    })
                })
            })
            .unwrap_or_else(|| panic!("unknown channel {channel} in guild {guild}"));
        let id = shared.snowflake();
        let token = format!("itoken-{id}-{}", unix_ms());
        let member = self.member_json(&user, guild);
        let mut payload =
            payloads::interaction(&shared.config, id, &token, kind, data, guild, chan, member);
        if let Some(m) = message {
            payload["message"] = message_json(shared, m);
        }
        shared.update(|s| {
            s.interactions.insert(
                id,
                InteractionRecord {
                    id,
                    token: token.clone(),
                    kind,
                    guild_id: guild,
                    channel_id: channel,
                    user_id,
                    source_message_id: message.map(|m| m.id),
                    created_at: Instant::now(),
                    ack: None,
                    ack_at: None,
                    ack_data: Value::Null,
                    original_message_id: None,
                    followup_ids: vec![],
                },
            )
        });
        if !gateway::dispatch_to_guild(shared, guild, "INTERACTION_CREATE", payload, 0) {
            panic!("no gateway shard connected for guild {guild}");
        }
        InteractionHandle {
            shared: shared.clone(),
            id,
            token,
        }
    }

    /// Waits until a command named `name` is registered (globally or in `guild`).
    async fn registered(&self, name: &str, guild: u64) -> (u64, Value) {
        let timeout = self.shared.config.wait_timeout;
        self.shared
            .wait_for(timeout, &format!("registration of /{name}"), |s| {
                s.commands
                    .iter()
                    .find(|c| c.name() == name && c.guild_id.is_none_or(|g| g == guild))
                    .map(|c| (c.id, c.definition.clone()))
            })
            .await
            .unwrap_or_else(|e| {
                self.shared.update(|s| {
                    s.violate(
                        "unregistered_command",
                        format!("/{name} was never registered"),
                    )
                });
                panic!("{e}")
            })
    }

    async fn command_data(
        &self,
        guild: u64,
        path: &str,
        options: &Value,
        focused: Option<&str>,
    ) -> Value {
        let mut parts = path.split_whitespace();
        let name = parts.next().expect("command path is empty");
        let (cmd_id, def) = self.registered(name, guild).await;
        // Walk subcommand groups and subcommands, building the nested option list inside out.
        let mut chain: Vec<(String, u64)> = vec![];
        let mut defs = def["options"].as_array().cloned().unwrap_or_default();
        for sub in parts {
            let d = defs
                .iter()
                .find(|o| o["name"] == json!(sub) && matches!(o["type"].as_u64(), Some(1 | 2)))
                .cloned()
                .unwrap_or_else(|| panic!("/{path}: no subcommand {sub:?} registered"));
            chain.push((sub.to_string(), d["type"].as_u64().expect("type")));
            defs = d["options"].as_array().cloned().unwrap_or_default();
        }
        let mut leaf = leaf_options(&defs, options, focused, path);
        for (sub, kind) in chain.into_iter().rev() {
            leaf = vec![json!({"name": sub, "type": kind, "options": leaf})];
        }
        let mut data = json!({"id": cmd_id.to_string(), "name": name, "type": 1, "options": leaf});
        if def.get("guild_id").is_some() {
            data["guild_id"] = json!(guild.to_string());
        }
        data
    }

    /// Runs a slash command. `path` is the command and subcommands (`"campaign create"`),
    /// `options` a JSON object of option name to value; types come from the registration.
    pub async fn slash(
        &self,
        user: u64,
        guild: u64,
        channel: u64,
        path: &str,
        options: Value,
    ) -> InteractionHandle {
        let data = self.command_data(guild, path, &options, None).await;
        self.send_interaction(2, user, guild, channel, data, None)
    }

    /// Runs a slash command in the user's direct messages with the bot (no guild, no member:
    /// the interaction carries `user` and a DM channel, on shard 0).
    pub async fn slash_dm(&self, user: u64, path: &str, options: Value) -> InteractionHandle {
        let shared = &self.shared;
        let u = self.user(user);
        let guild_for_lookup = shared.config.guilds[0].id;
        let data = self
            .command_data(guild_for_lookup, path, &options, None)
            .await;
        let id = shared.snowflake();
        let dm_channel = shared.snowflake();
        let token = format!("itoken-{id}-{}", unix_ms());
        let mut data = data;
        if let Some(o) = data.as_object_mut() {
            o.remove("guild_id");
        }
        let payload = json!({
            "id": id.to_string(),
            "application_id": shared.config.application_id.to_string(),
            "type": 2,
            "data": data,
            "channel_id": dm_channel.to_string(),
            "channel": {"id": dm_channel.to_string(), "type": 1},
            "user": payloads::fake_user(&u),
            "token": token,
            "version": 1,
            "app_permissions": super::perms::MEMBER.to_string(),
            "locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": shared.config.guilds[0].id.to_string()},
            "context": 1,
            "attachment_size_limit": 26_214_400,
        });
        shared.update(|s| {
            s.interactions.insert(
                id,
                InteractionRecord {
                    id,
                    token: token.clone(),
                    kind: 2,
                    guild_id: 0,
                    channel_id: dm_channel,
                    user_id: user,
                    source_message_id: None,
                    created_at: Instant::now(),
                    ack: None,
                    ack_at: None,
                    ack_data: Value::Null,
                    original_message_id: None,
                    followup_ids: vec![],
                },
            )
        });
        if !gateway::dispatch_direct(shared, "INTERACTION_CREATE", payload) {
            panic!("shard 0 is not connected");
        }
        InteractionHandle {
            shared: shared.clone(),
            id,
            token,
        }
    }

    /// Types into an autocompleted option and returns the choices the bot offered.
    pub async fn autocomplete(
        &self,
        user: u64,
        guild: u64,
        channel: u64,
        path: &str,
        options: Value,
        focused: &str,
    ) -> Vec<Value> {
        let data = self
            .command_data(guild, path, &options, Some(focused))
            .await;
        let handle = self.send_interaction(4, user, guild, channel, data, None);
        let response = handle.wait_response().await;
        assert_eq!(
            response.ack,
            AckKind::AutocompleteResult,
            "autocomplete answered with {:?}",
            response.ack
        );
        response.choices
    }

    /// Clicks the button with `custom_id` on a message.
    pub async fn click(&self, user: u64, message_id: u64, custom_id: &str) -> InteractionHandle {
        let msg = self
            .message(message_id)
            .unwrap_or_else(|| panic!("no message {message_id}"));
        let button = msg
            .components
            .iter()
            .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
            .find(|c| c["custom_id"] == json!(custom_id))
            .unwrap_or_else(|| panic!("message {message_id} has no component {custom_id:?}"));
        if button["disabled"] == json!(true) {
            panic!("button {custom_id:?} on message {message_id} is disabled");
        }
        let guild = msg.guild_id.expect("component messages are in guilds");
        let data = json!({"custom_id": custom_id, "component_type": button["type"]});
        self.send_interaction(3, user, guild, msg.channel_id, data, Some(&msg))
    }

    /// Fills and submits the modal the bot opened in answer to `opened_by`.
    /// `values` maps text-input custom ids to what the user typed.
    pub async fn submit_modal(
        &self,
        user: u64,
        opened_by: &InteractionHandle,
        values: &[(&str, &str)],
    ) -> InteractionHandle {
        let response = opened_by.wait_response().await;
        let modal = response
            .modal
            .unwrap_or_else(|| panic!("interaction {} did not open a modal", opened_by.id));
        let rec = opened_by.record();
        let rows: Vec<Value> = modal["components"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|row| {
                let inputs: Vec<Value> = row["components"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|input| {
                        let id = input["custom_id"].as_str().unwrap_or_default();
                        let value = values
                            .iter()
                            .find(|(k, _)| *k == id)
                            .map(|(_, v)| *v)
                            .unwrap_or_default();
                        json!({"type": 4, "custom_id": id, "value": value})
                    })
                    .collect();
                json!({"type": 1, "components": inputs})
            })
            .collect();
        for (k, _) in values {
            if !rows.iter().any(|r| {
                r["components"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|i| i["custom_id"] == json!(k)))
            }) {
                panic!("modal has no text input {k:?}");
            }
        }
        let data = json!({"custom_id": modal["custom_id"], "components": rows});
        let source = rec.source_message_id.and_then(|m| self.message(m));
        self.send_interaction(5, user, rec.guild_id, rec.channel_id, data, source.as_ref())
    }

    /// Posts a plain message as `user`; the bot sees it as MESSAGE_CREATE (content blank
    /// unless it asked for the MESSAGE_CONTENT intent). Returns the message id.
    pub async fn say(&self, user: u64, channel: u64, content: &str) -> u64 {
        let shared = &self.shared;
        let _ = self.user(user);
        let guild = shared
            .config
            .guild_of_channel(channel)
            .map(|g| g.id)
            .or_else(|| shared.read(|s| s.threads.get(&channel).map(|t| t.0)))
            .unwrap_or_else(|| panic!("unknown channel {channel}"));
        let msg = StoredMessage {
            id: shared.snowflake(),
            channel_id: channel,
            guild_id: Some(guild),
            author_id: user,
            from_bot: false,
            content: content.to_string(),
            embeds: vec![],
            components: vec![],
            attachments: vec![],
            flags: 0,
            allowed_mentions: vec![],
            content_history: vec![(content.to_string(), None)],
            reply_pings_author: false,
            interaction_id: None,
            loading: false,
            created_at: Instant::now(),
            created_unix_ms: unix_ms(),
            edits: vec![],
            deleted: false,
        };
        shared.update(|s| s.messages.push(msg.clone()));
        if gateway::shard_intents(shared, guild).is_none() {
            panic!("no gateway shard connected for guild {guild}");
        }
        let json = message_json(shared, &msg);
        gateway::dispatch_message_create(shared, &msg, json);
        msg.id
    }
}

/// Converts `{"name": value}` into typed interaction options following the registered
/// definitions; `focused` marks the option being typed (autocomplete).
fn leaf_options(defs: &[Value], options: &Value, focused: Option<&str>, path: &str) -> Vec<Value> {
    let given: Map<String, Value> = options.as_object().cloned().unwrap_or_default();
    let mut out = vec![];
    for (name, value) in given {
        let def = defs
            .iter()
            .find(|d| d["name"] == json!(name))
            .unwrap_or_else(|| panic!("/{path} has no option {name:?}"));
        let kind = def["type"].as_u64().expect("option type");
        let is_focused = focused == Some(name.as_str());
        let value = match kind {
            // Users, channels, roles, mentionables and attachments travel as id strings.
            6..=9 | 11 => json!(
                value
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| value.to_string())
            ),
            _ if is_focused => value,
            3 => json!(
                value
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| value.to_string())
            ),
            _ => value,
        };
        let mut opt = json!({"name": name, "type": kind, "value": value});
        if is_focused {
            opt["focused"] = json!(true);
        }
        out.push(opt);
    }
    if let Some(f) = focused
        && !out.iter().any(|o| o["name"] == json!(f))
    {
        out.push(json!({"name": f, "type": 3, "value": "", "focused": true}));
    }
    out
}
