//! The real bot (`gamemaster::app::run`) against the fake Discord, a fresh SQLite database and
//! a fake model server: what `gamemaster run` does in production, configured only through the
//! environment variables it reads.

use std::collections::HashMap;
use std::time::Duration;

use gamemaster::config::{Config, Purpose};
use gamemaster::core::game::session::Session;
use gamemaster::core::game::transcript::{self, MessageRole};
use gamemaster::core::ids::ChannelId;
use gamemaster::core::store::{MessageStore, SessionStore};
use gamemaster::storage::Db;
use serde_json::{Value, json};

use super::db::{self, TestDb};
use super::fake_discord::{
    FakeConfig, FakeDiscord, FakeGuild, FakeUser, InteractionHandle, RecordedResponse, perms,
};
use super::fake_llm::{FakeLlm, Reply};

pub const ALICE: u64 = 2_000_000_000_000_000_001;
pub const BOB: u64 = 2_000_000_000_000_000_002;
/// A member of the second server only.
pub const CAROL: u64 = 2_000_000_000_000_000_003;
pub const OTHER_GUILD: u64 = 1_200_000_000_000_000_000;

/// Every top-level command the bot registers.
pub const COMMANDS: [&str; 15] = [
    "campaign",
    "character",
    "sheet",
    "inventory",
    "journal",
    "init",
    "session",
    "act",
    "roll",
    "models",
    "stats",
    "arena",
    "system",
    "settings",
    "account",
];

/// The local model the fake model server stands in for, and a second one.
pub const NARRATOR: &str = "local:narrator";
pub const BACKUP: &str = "local:backup";

pub struct TestBot {
    pub fake: FakeDiscord,
    pub llm: FakeLlm,
    pub test_db: TestDb,
    pub guild: u64,
    pub channel: u64,
    config: Config,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// Set once `stop` has seen the bot finish.
    stopped: bool,
    /// The gateway session when the stop signal was sent, for `restart`.
    previous_session: Option<String>,
}

impl Drop for TestBot {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Runs the bot as `gamemaster run` does, stopping when `stop` fires (or is dropped).
fn launch(
    config: Config,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(gamemaster::app::run_until(config, async move {
        let _ = stopped.await;
    }));
    (stop, task)
}

/// The default world: "Test Tavern" (alice with Manage Server, bob without) and
/// "Other Keep" (carol with Manage Server).
pub fn world() -> FakeConfig {
    // Discord's own 3 s acknowledgement deadline (a tighter one makes tests flaky on a busy
    // host running many bots at once in debug builds).
    let mut config = FakeConfig::default();
    config.guilds.push(FakeGuild::new(
        OTHER_GUILD,
        "Other Keep",
        vec![FakeUser::new(CAROL, "carol").with_permissions(perms::MANAGE_GUILD)],
    ));
    config
}

/// [`world`] with Discord's rate limits off in the fake: for tests whose subject is something
/// else and that send hundreds of messages to one channel, which at Discord's 5 per 5 s would
/// take minutes. The bot is told so as an admin would tell it of such a server
/// (`DISCORD_CHANNEL_RATE=off`, and a `DISCORD_GLOBAL_RATE` of 100,000, as Discord can raise
/// it for a large bot); serenity's limiter stays on. Pacing is
/// tested in `tests/discord/rules.rs` and `within_limits.rs`, and with the limits on
/// everywhere else.
pub fn world_without_rate_limits() -> FakeConfig {
    let mut config = world();
    config.rules.rate_limits = false;
    config
}

pub async fn spawn_bot() -> TestBot {
    spawn_bot_with(world(), &[]).await
}

/// Starts the bot with extra environment variables (`("TURN_WINDOW_MS", "0")`, ...).
pub async fn spawn_bot_with(fake_config: FakeConfig, extra: &[(&str, &str)]) -> TestBot {
    let fake = FakeDiscord::start(fake_config).await;
    let llm = FakeLlm::start().await;
    let test_db = db::sqlite().await;
    let mut env: HashMap<String, String> = HashMap::new();
    for (k, v) in [
        ("DISCORD_TOKEN", fake.config().token.clone()),
        ("DISCORD_API_BASE_URL", fake.base_url()),
        ("DATABASE_URL", test_db.url.expose().to_string()),
        ("LOCAL_LLM_BASE_URL", llm.v1()),
        ("LOCAL_LLM_MODELS", "narrator,backup".into()),
        ("TURN_WINDOW_MS", "50".into()),
        ("EDIT_INTERVAL_MS", "250".into()),
        // Narrations still running at a stop get this long (`stop` waits at most 20 s).
        ("SHUTDOWN_TIMEOUT_SECS", "2".into()),
    ] {
        env.insert(k.to_string(), v);
    }
    let rules = &fake.config().rules;
    if rules.rate_limits {
        env.insert(
            "DISCORD_GLOBAL_RATE".into(),
            rules.global_per_second.to_string(),
        );
    } else {
        env.insert("DISCORD_CHANNEL_RATE".into(), "off".into());
        env.insert("DISCORD_GLOBAL_RATE".into(), "100000".into());
    }
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    let config = Config::from_lookup(Purpose::Bot, &|k| env.get(k).cloned())
        .unwrap_or_else(|e| panic!("test configuration: {e}"));
    let shards: Vec<u32> = match &config.shard_ids {
        Some(range) => range.clone().collect(),
        None => (0..config.shard_count).collect(),
    };
    let (stop, mut task) = launch(config.clone());
    for shard in shards {
        tokio::select! {
            stopped = &mut task => panic!("the bot stopped while starting: {stopped:?}"),
            () = fake.wait_ready(shard) => {}
        }
    }
    fake.wait_commands(&COMMANDS).await;
    let guild = fake.config().guilds[0].id;
    let channel = fake.config().guilds[0].general();
    TestBot {
        fake,
        llm,
        test_db,
        guild,
        channel,
        config,
        stop: Some(stop),
        task,
        stopped: false,
        previous_session: None,
    }
}

impl TestBot {
    /// Sends the shutdown signal without waiting (the bot drains, then disconnects); `stop`
    /// then waits for the end.
    pub fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            self.previous_session = self.fake.shard_session(0);
            let _ = stop.send(());
        }
    }

    /// Stops the bot the way SIGTERM does and waits until it has disconnected.
    pub async fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.signal_stop();
        // The drain waits for narrations in progress, whose last edits wait for the
        // channel's bucket.
        let finished = tokio::time::timeout(Duration::from_secs(20), &mut self.task)
            .await
            .expect("the bot stops within 20 s");
        finished
            .expect("the bot task")
            .expect("the bot stops cleanly");
        self.stopped = true;
    }

    /// Stops the bot and starts it again on the same database and fake Discord.
    pub async fn restart(&mut self) {
        let previous = self
            .previous_session
            .take()
            .or_else(|| self.fake.shard_session(0))
            .expect("shard 0 is connected");
        self.stop().await;
        let (stop, task) = launch(self.config.clone());
        self.stop = Some(stop);
        self.task = task;
        self.stopped = false;
        self.fake.wait_new_session(0, &previous).await;
    }

    pub fn db(&self) -> &Db {
        &self.test_db.db
    }

    /// The session running in the general channel.
    pub async fn session(&self) -> Session {
        self.db()
            .active_session(ChannelId(self.channel))
            .await
            .unwrap()
            .expect("a session runs in the general channel")
    }

    /// Every stored message of the session running in the general channel, in order.
    pub async fn story(&self) -> Vec<transcript::StoredMessage> {
        let session = self.session().await;
        self.db().all_messages(session.id).await.unwrap()
    }

    /// A slash command in the first server's general channel.
    pub async fn slash(&self, user: u64, path: &str, options: Value) -> InteractionHandle {
        self.fake
            .slash(user, self.guild, self.channel, path, options)
            .await
    }

    /// Runs a command and waits for the visible answer.
    pub async fn run(&self, user: u64, path: &str, options: Value) -> RecordedResponse {
        self.slash(user, path, options).await.wait_response().await
    }

    pub async fn autocomplete(
        &self,
        user: u64,
        path: &str,
        options: Value,
        focused: &str,
    ) -> Vec<String> {
        self.fake
            .autocomplete(user, self.guild, self.channel, path, options, focused)
            .await
            .iter()
            .map(|c| c["name"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Creates a campaign as `user` and returns its id (as the bot stored it).
    pub async fn create_campaign(&self, user: u64, name: &str) -> i64 {
        let r = self
            .run(
                user,
                "campaign create",
                json!({"name": name, "themes": "haunted forests", "language": 0, "model": NARRATOR}),
            )
            .await;
        assert!(!r.ephemeral, "campaign create refused: {}", r.content);
        campaign_id(self, name).await
    }

    /// Checks that nothing could ping and Discord saw no rule broken.
    pub fn assert_clean(&self) {
        self.fake.assert_no_pings();
        self.fake.assert_clean();
    }

    /// Waits for a bot message in `channel` matching `predicate`.
    /// Starts a session in the general channel on a new campaign `name` whose opening is
    /// `opening`, and waits until the opening is shown with its buttons.
    pub async fn start_playing(&self, name: &str, opening: &str) {
        let campaign = self.create_campaign(ALICE, name).await;
        self.llm.push(Reply::openai_text(
            &[opening],
            Some((30, 5)),
            Duration::ZERO,
        ));
        let r = self
            .run(
                ALICE,
                "session start",
                json!({"campaign": campaign.to_string()}),
            )
            .await;
        assert!(!r.ephemeral, "{}", r.content);
        self.wait_bot_message(self.channel, |m| {
            m.content.contains(opening) && !m.components.is_empty()
        })
        .await;
    }

    pub async fn wait_bot_message(
        &self,
        channel: u64,
        predicate: impl Fn(&super::fake_discord::StoredMessage) -> bool,
    ) -> super::fake_discord::StoredMessage {
        self.fake
            .wait_for_message(
                |m| m.from_bot && m.channel_id == channel && predicate(m),
                Duration::from_secs(10),
            )
            .await
    }
}

/// The id of a campaign by name in the first server.
pub async fn campaign_id(bot: &TestBot, name: &str) -> i64 {
    use gamemaster::core::ids::GuildId;
    use gamemaster::core::store::CampaignStore;
    bot.db()
        .campaign_by_name(GuildId(bot.guild), name)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("campaign {name} was not stored"))
        .id
        .0
}

/// Text of the first embed's title and description, for assertions.
pub fn embed_text(r: &RecordedResponse) -> String {
    r.embeds
        .iter()
        .map(|e| {
            let fields: Vec<String> = e["fields"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|f| {
                    format!(
                        "{}: {}",
                        f["name"].as_str().unwrap_or(""),
                        f["value"].as_str().unwrap_or("")
                    )
                })
                .collect();
            format!(
                "{}\n{}\n{}\n{}",
                e["title"].as_str().unwrap_or(""),
                e["description"].as_str().unwrap_or(""),
                fields.join("\n"),
                e["footer"]["text"].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n---\n")
}

/// The narrations among a story's messages.
pub fn narrations(all: &[transcript::StoredMessage]) -> Vec<&transcript::StoredMessage> {
    all.iter()
        .filter(|m| m.role == MessageRole::Assistant)
        .collect()
}
