//! What the fake Discord world looks like: the bot, its guilds, channels and users.

use std::time::Duration;

/// Discord permission bits the tests care about.
pub mod perms {
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    pub const SEND_MESSAGES: u64 = 1 << 11;
    pub const EMBED_LINKS: u64 = 1 << 14;
    pub const ATTACH_FILES: u64 = 1 << 15;
    pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
    pub const USE_APPLICATION_COMMANDS: u64 = 1 << 31;
    pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;
    pub const MANAGE_GUILD: u64 = 1 << 5;
    pub const ADMINISTRATOR: u64 = 1 << 3;
    /// What `@everyone` gets in a fresh guild, roughly.
    pub const MEMBER: u64 = VIEW_CHANNEL
        | SEND_MESSAGES
        | SEND_MESSAGES_IN_THREADS
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | USE_APPLICATION_COMMANDS;
}

/// Gateway intent bits the fake honours.
pub mod intents {
    pub const GUILDS: u64 = 1 << 0;
    pub const GUILD_MESSAGES: u64 = 1 << 9;
    pub const MESSAGE_CONTENT: u64 = 1 << 15;
}

#[derive(Clone, Debug)]
pub struct FakeUser {
    pub id: u64,
    pub name: String,
    /// Permission bits this member has in every channel of the guild.
    pub permissions: u64,
}

impl FakeUser {
    pub fn new(id: u64, name: &str) -> Self {
        Self {
            id,
            name: name.to_string(),
            permissions: perms::MEMBER,
        }
    }

    pub fn with_permissions(mut self, extra: u64) -> Self {
        self.permissions |= extra;
        self
    }
}

#[derive(Clone, Debug)]
pub struct FakeChannel {
    pub id: u64,
    pub name: String,
}

#[derive(Clone, Debug)]
pub struct FakeGuild {
    pub id: u64,
    pub name: String,
    pub owner_id: u64,
    pub channels: Vec<FakeChannel>,
    /// Members besides the bot, which is always a member.
    pub members: Vec<FakeUser>,
}

impl FakeGuild {
    /// A guild with one text channel `general` (id `id + 1`) and the given members.
    /// The owner is a separate account (owners bypass permission checks, which would hide
    /// whether the bot reads member permissions); set `owner_id` to change it.
    pub fn new(id: u64, name: &str, members: Vec<FakeUser>) -> Self {
        Self {
            id,
            name: name.to_string(),
            owner_id: 1_000_000_000_000_000_001,
            channels: vec![FakeChannel {
                id: id + 1,
                name: "general".into(),
            }],
            members,
        }
    }

    pub fn with_channel(mut self, id: u64, name: &str) -> Self {
        self.channels.push(FakeChannel {
            id,
            name: name.to_string(),
        });
        self
    }

    /// The first text channel.
    pub fn general(&self) -> u64 {
        self.channels[0].id
    }
}

#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// The token the bot must present (without or with the `Bot ` prefix).
    pub token: String,
    pub application_id: u64,
    pub bot_user_id: u64,
    pub bot_name: String,
    pub owner_id: u64,
    pub guilds: Vec<FakeGuild>,
    /// What `GET /gateway/bot` recommends.
    pub recommended_shards: u32,
    /// Acknowledgement deadline for interactions (Discord: 3 s).
    pub ack_deadline: Duration,
    /// Default timeout of the scripted user's waits.
    pub wait_timeout: Duration,
    /// Heartbeat interval announced in HELLO.
    pub heartbeat_interval_ms: u64,
    /// Whether the developer portal enables the privileged Message Content intent; when not,
    /// an IDENTIFY asking for it is closed with 4014 "Disallowed intent(s)", as Discord does.
    pub message_content_allowed: bool,
    /// Rate limits, upload limit and token lifetime (Discord's by default).
    pub rules: super::rules::Rules,
}

impl Default for FakeConfig {
    fn default() -> Self {
        let guild = FakeGuild::new(
            // Guild ids are snowflakes; (id >> 22) % shards decides the shard.
            1_100_000_000_000_000_000,
            "Test Tavern",
            vec![
                FakeUser::new(2_000_000_000_000_000_001, "alice")
                    .with_permissions(perms::MANAGE_GUILD),
                FakeUser::new(2_000_000_000_000_000_002, "bob"),
            ],
        );
        Self {
            token: "fake-bot-token".into(),
            application_id: 3_000_000_000_000_000_000,
            bot_user_id: 3_000_000_000_000_000_000,
            bot_name: "GameMaster".into(),
            owner_id: 2_000_000_000_000_000_001,
            guilds: vec![guild],
            recommended_shards: 1,
            ack_deadline: Duration::from_secs(3),
            wait_timeout: Duration::from_secs(10),
            heartbeat_interval_ms: 41_250,
            message_content_allowed: true,
            rules: super::rules::Rules::default(),
        }
    }
}

impl FakeConfig {
    pub fn guild(&self, id: u64) -> Option<&FakeGuild> {
        self.guilds.iter().find(|g| g.id == id)
    }

    pub fn user(&self, id: u64) -> Option<&FakeUser> {
        self.guilds
            .iter()
            .flat_map(|g| g.members.iter())
            .find(|u| u.id == id)
    }

    /// The guild a channel belongs to.
    pub fn guild_of_channel(&self, channel_id: u64) -> Option<&FakeGuild> {
        self.guilds
            .iter()
            .find(|g| g.channels.iter().any(|c| c.id == channel_id))
    }
}
