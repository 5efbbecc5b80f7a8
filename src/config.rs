//! Every setting comes from the environment (and `.env`, loaded by `main`).
//!
//! `Config::from_env` reads all variables at once and reports every problem in one error, so an
//! admin fixes the whole `.env` in one go instead of one variable per restart.

use std::fmt;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

use crate::core::limits::{Limits, Pair, Rate};
use crate::core::models::chat::ModelId;
use crate::llm::ProviderKeys;
use crate::secret::{Secret, SecretUrl};
use crate::storage::DatabaseUrl;

/// What the caller is about to do decides which variables are required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The Discord bot: needs a token and at least one model provider.
    Bot,
    /// Local tools (migrate, play, compare, stats): the database and providers only.
    Tool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Argon2id cost parameters (OWASP's recommendation by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub discord_token: Option<Secret>,
    pub discord_guild_id: Option<u64>,
    /// Test seam: serenity's REST and gateway traffic go to this server instead of Discord.
    /// Only loopback hosts are accepted, since the bot token is sent there.
    pub discord_api_base_url: Option<SecretUrl>,
    pub database_url: DatabaseUrl,
    pub default_model: Option<ModelId>,
    pub image_model: Option<ModelId>,
    pub providers: ProviderKeys,
    pub turn_window: Duration,
    pub edit_interval: Duration,
    /// `DISCORD_CHANNEL_RATE`: the per-channel bucket of posts and edits the bot paces itself
    /// to (Discord's 5 per 5 s); `None` (`off`) only for a stand-in without that limit.
    pub discord_channel_rate: Option<Rate>,
    /// `DISCORD_GLOBAL_RATE`: the requests a second Discord allows this bot in all (50, or
    /// what Discord raised it to for a large bot); the bot paces itself to 4/5 of it.
    pub discord_global_rate: u32,
    pub stats_global: bool,
    /// `STATE_TOOLS`: offer narrations the `change_state` tool (providers with tool calling);
    /// its calls become the same state tags as the text ones.
    pub state_tools: bool,
    pub log_format: LogFormat,
    pub metrics_addr: Option<SocketAddr>,
    pub shard_count: u32,
    pub shard_ids: Option<RangeInclusive<u32>>,
    pub argon2: Argon2Params,
    pub portraits_per_day: u32,
    /// Token buckets per player and per server (`RATE_TURN_PLAYER` and its siblings); the
    /// players' portrait rate is `PORTRAITS_PER_DAY` per day.
    pub limits: Limits,
    pub shutdown_timeout: Duration,
    /// Longest wait for one generated portrait before the placeholder stays.
    pub portrait_timeout: Duration,
    /// How long an arena turn waits for every player's vote before it is decided.
    pub arena_vote_timeout: Duration,
    /// Longest wait for a model's response headers, and between two chunks of its stream.
    pub model_timeout: Duration,
    /// Longest a whole streamed answer may take (`MODEL_CALL_TIMEOUT_SECS`).
    pub model_call_timeout: Duration,
}

/// One problem with one variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub variable: &'static str,
    pub problem: String,
    pub example: &'static str,
}

/// Every problem found in the environment, reported together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "configuration error ({} problem{}); fix these in your environment or .env:",
            self.problems.len(),
            if self.problems.len() == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            writeln!(
                f,
                "  - {}: {} (example: {})",
                p.variable, p.problem, p.example
            )?;
        }
        Ok(())
    }
}

/// Reads variables through a lookup function so tests need not touch the process environment.
struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<ConfigProblem>,
}

impl Reader<'_> {
    /// A set, non-blank value; blank counts as unset (as `.env.example` leaves them).
    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn problem(
        &mut self,
        variable: &'static str,
        problem: impl Into<String>,
        example: &'static str,
    ) {
        self.problems.push(ConfigProblem {
            variable,
            problem: problem.into(),
            example,
        });
    }

    fn secret(&self, name: &str) -> Option<Secret> {
        self.get(name).map(Secret::new)
    }

    fn parsed<T>(
        &mut self,
        name: &'static str,
        example: &'static str,
        default: T,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> T {
        match self.get(name) {
            None => default,
            Some(raw) => match parse(&raw) {
                Ok(v) => v,
                Err(why) => {
                    self.problem(name, why, example);
                    default
                }
            },
        }
    }

    fn number<T>(
        &mut self,
        name: &'static str,
        example: &'static str,
        default: T,
        valid: RangeInclusive<T>,
    ) -> T
    where
        T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
    {
        self.parsed(name, example, default, |raw| {
            let v: T = raw
                .parse()
                .map_err(|_| format!("`{raw}` is not a number"))?;
            if valid.contains(&v) {
                Ok(v)
            } else {
                Err(format!(
                    "{v} is out of range {}..={}",
                    valid.start(),
                    valid.end()
                ))
            }
        })
    }

    fn rate(&mut self, name: &'static str, default: Option<Rate>) -> Option<Rate> {
        self.parsed(name, "10/min", default, |raw| {
            Rate::parse(raw).map_err(|e| e.to_string())
        })
    }

    /// `RATE_<ACTION>_<PLAYER|SERVER>`, each a rate such as `10/min`, or `off`.
    fn limits(&mut self, portraits_per_day: u32) -> Limits {
        let d = Limits::default();
        let mut pair = |player: &'static str, server: &'static str, default: Pair| Pair {
            player: self.rate(player, default.player),
            server: self.rate(server, default.server),
        };
        let turn = pair("RATE_TURN_PLAYER", "RATE_TURN_SERVER", d.turn);
        let regenerate = pair(
            "RATE_REGENERATE_PLAYER",
            "RATE_REGENERATE_SERVER",
            d.regenerate,
        );
        let stats = pair("RATE_STATS_PLAYER", "RATE_STATS_SERVER", d.stats);
        let portrait = Pair {
            // 0 portraits a day is checked by the portrait code itself (none at all).
            player: (portraits_per_day > 0)
                .then(|| Rate::per(portraits_per_day, Duration::from_secs(86_400))),
            server: self.rate("RATE_PORTRAIT_SERVER", d.portrait.server),
        };
        Limits {
            turn,
            regenerate,
            portrait,
            stats,
        }
    }

    fn flag(&mut self, name: &'static str, default: bool) -> bool {
        self.parsed(name, "true", default, |raw| {
            match raw.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(format!("`{raw}` is not true or false")),
            }
        })
    }

    fn base_url(&mut self, name: &'static str) -> Option<String> {
        let example = "http://127.0.0.1:8089/v1";
        self.parsed(name, example, None, |raw| {
            let parsed = url::Url::parse(raw).map_err(|e| format!("not a valid URL ({e})"))?;
            if matches!(parsed.scheme(), "http" | "https") {
                Ok(Some(raw.trim_end_matches('/').to_string()))
            } else {
                Err("must be an http:// or https:// URL".into())
            }
        })
    }

    /// A base URL that receives the bot token: refused unless its host is this machine.
    fn loopback_url(&mut self, name: &'static str) -> Option<SecretUrl> {
        let example = "https://127.0.0.1:3000";
        self.parsed(name, example, None, |raw| {
            let parsed = url::Url::parse(raw).map_err(|e| format!("not a valid URL ({e})"))?;
            let loopback = match parsed.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
                None => false,
            };
            if parsed.scheme() != "https" {
                Err("must be an https:// URL (the bot speaks to Discord over TLS only)".into())
            } else if !loopback {
                Err("must point at this machine (127.0.0.1, ::1 or localhost): the bot token is sent to it".into())
            } else {
                Ok(Some(SecretUrl::new(raw.trim_end_matches('/'))))
            }
        })
    }

    fn model(&mut self, name: &'static str, example: &'static str) -> Option<ModelId> {
        self.parsed(name, example, None, |raw| {
            ModelId::parse(raw).map(Some).map_err(|e| e.to_string())
        })
    }

    fn discord_token(&mut self, purpose: Purpose) -> Option<Secret> {
        let token = self.secret("DISCORD_TOKEN");
        if purpose == Purpose::Bot && token.is_none() {
            self.problem(
                "DISCORD_TOKEN",
                "is required to run the bot (the token from the Discord developer portal, Bot tab)",
                "DISCORD_TOKEN=MTIz...",
            );
        }
        token
    }

    /// The providers' keys and URLs; the bot needs at least one, a local server its models.
    fn providers(&mut self, purpose: Purpose) -> ProviderKeys {
        let providers = ProviderKeys {
            openai_api_key: self.secret("OPENAI_API_KEY"),
            openai_base_url: self.base_url("OPENAI_BASE_URL"),
            anthropic_api_key: self.secret("ANTHROPIC_API_KEY"),
            anthropic_base_url: self.base_url("ANTHROPIC_BASE_URL"),
            deepseek_api_key: self.secret("DEEPSEEK_API_KEY"),
            deepseek_base_url: self.base_url("DEEPSEEK_BASE_URL"),
            openrouter_api_key: self.secret("OPENROUTER_API_KEY"),
            openrouter_base_url: self.base_url("OPENROUTER_BASE_URL"),
            local_base_url: self.base_url("LOCAL_LLM_BASE_URL"),
            local_models: self.list("LOCAL_LLM_MODELS"),
            openrouter_models: self.list("OPENROUTER_MODELS"),
        };
        if purpose == Purpose::Bot && !providers.any_enabled() {
            self.problem(
                "OPENAI_API_KEY",
                "no model provider is configured: set at least one of OPENAI_API_KEY, \
                 ANTHROPIC_API_KEY, DEEPSEEK_API_KEY, OPENROUTER_API_KEY or LOCAL_LLM_BASE_URL",
                "OPENAI_API_KEY=sk-...",
            );
        }
        if providers.local_base_url.is_some() && providers.local_models.is_empty() {
            self.problem(
                "LOCAL_LLM_MODELS",
                "LOCAL_LLM_BASE_URL is set but no local model names are listed",
                "LOCAL_LLM_MODELS=gemma-3-270m,llama3.1:8b",
            );
        }
        providers
    }

    /// A comma-separated list; empty when unset.
    fn list(&mut self, name: &'static str) -> Vec<String> {
        self.get(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `IMAGE_MODEL`, an OpenAI image model (DALL-E 3 unless set).
    fn image_model(&mut self) -> Option<ModelId> {
        let image_model = self
            .model("IMAGE_MODEL", "openai:dall-e-3")
            .or_else(|| ModelId::parse("openai:dall-e-3").ok());
        if let Some(id) = &image_model
            && id.provider() != crate::core::models::chat::Provider::OpenAi
        {
            self.problem(
                "IMAGE_MODEL",
                format!("`{id}` is not an OpenAI image model"),
                "IMAGE_MODEL=openai:gpt-image-1",
            );
        }
        image_model
    }

    fn log_format(&mut self) -> LogFormat {
        self.parsed("LOG_FORMAT", "text", LogFormat::Text, |raw| {
            match raw.to_ascii_lowercase().as_str() {
                "text" => Ok(LogFormat::Text),
                "json" => Ok(LogFormat::Json),
                _ => Err(format!("`{raw}` is neither text nor json")),
            }
        })
    }

    /// `SHARD_COUNT`, and the `SHARD_IDS` this process runs (within the count).
    fn shards(&mut self) -> (u32, Option<RangeInclusive<u32>>) {
        let shard_count = self.number("SHARD_COUNT", "2", 1u32, 1..=1024);
        let shard_ids = self.parsed("SHARD_IDS", "0-3", None, |raw| {
            parse_shard_range(raw).map(Some)
        });
        if let Some(range) = &shard_ids
            && *range.end() >= shard_count
        {
            self.problem(
                "SHARD_IDS",
                format!(
                    "shard {} does not exist when SHARD_COUNT is {shard_count}",
                    range.end()
                ),
                "SHARD_COUNT=4 with SHARD_IDS=0-1",
            );
        }
        (shard_count, shard_ids)
    }
}

impl Config {
    /// Reads the process environment (call `dotenvy::dotenv()` first to include `.env`).
    pub fn from_env(purpose: Purpose) -> Result<Config, ConfigError> {
        Self::from_lookup(purpose, &|name| std::env::var(name).ok())
    }

    pub fn from_lookup(
        purpose: Purpose,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut r = Reader {
            lookup,
            problems: Vec::new(),
        };

        let discord_token = r.discord_token(purpose);
        let discord_guild_id = r.parsed("DISCORD_GUILD_ID", "123456789012345678", None, |raw| {
            raw.parse::<u64>()
                .ok()
                .filter(|id| *id > 0)
                .map(Some)
                .ok_or_else(|| format!("`{raw}` is not a Discord server id"))
        });
        let discord_api_base_url = r.loopback_url("DISCORD_API_BASE_URL");
        let database_url = r.parsed(
            "DATABASE_URL",
            "sqlite://data/gamemaster.db or postgres://user@127.0.0.1:5432/gamemaster",
            DatabaseUrl::default(),
            DatabaseUrl::parse,
        );
        let providers = r.providers(purpose);
        let default_model = r.model("DEFAULT_MODEL", "openai:gpt-4o-mini");
        let image_model = r.image_model();
        let turn_window_ms = r.number("TURN_WINDOW_MS", "3000", 3000u64, 0..=60_000);
        let edit_interval_ms = r.number("EDIT_INTERVAL_MS", "1000", 1000u64, 250..=10_000);
        let discord_channel_rate = r.rate(
            "DISCORD_CHANNEL_RATE",
            Some(Rate::per(5, Duration::from_secs(5))),
        );
        let discord_global_rate = r.number("DISCORD_GLOBAL_RATE", "50", 50u32, 5..=100_000);
        let stats_global = r.flag("STATS_GLOBAL", false);
        let state_tools = r.flag("STATE_TOOLS", false);
        let log_format = r.log_format();
        let metrics_addr = r.parsed("METRICS_ADDR", "127.0.0.1:9100", None, |raw| {
            raw.parse::<SocketAddr>()
                .map(Some)
                .map_err(|_| format!("`{raw}` is not an address with a port"))
        });
        let (shard_count, shard_ids) = r.shards();
        let argon2 = Argon2Params {
            memory_kib: r.number("ARGON2_MEMORY_KIB", "19456", 19_456u32, 8..=4_194_304),
            iterations: r.number("ARGON2_ITERATIONS", "2", 2u32, 1..=100),
            parallelism: r.number("ARGON2_PARALLELISM", "1", 1u32, 1..=64),
        };
        let portraits_per_day = r.number("PORTRAITS_PER_DAY", "10", 10u32, 0..=10_000);
        let limits = r.limits(portraits_per_day);
        let shutdown_secs = r.number("SHUTDOWN_TIMEOUT_SECS", "20", 20u64, 0..=600);
        let portrait_timeout_secs = r.number("PORTRAIT_TIMEOUT_SECS", "90", 90u64, 1..=600);
        let arena_vote_secs = r.number("ARENA_VOTE_TIMEOUT_SECS", "120", 120u64, 1..=3600);
        let model_timeout_secs = r.number("MODEL_TIMEOUT_SECS", "60", 60u64, 1..=600);
        let model_call_secs = r.number("MODEL_CALL_TIMEOUT_SECS", "300", 300u64, 1..=3_600);

        if !r.problems.is_empty() {
            return Err(ConfigError {
                problems: r.problems,
            });
        }
        Ok(Config {
            discord_token,
            discord_guild_id,
            discord_api_base_url,
            database_url,
            default_model,
            image_model,
            providers,
            turn_window: Duration::from_millis(turn_window_ms),
            edit_interval: Duration::from_millis(edit_interval_ms),
            discord_channel_rate,
            discord_global_rate,
            stats_global,
            state_tools,
            log_format,
            metrics_addr,
            shard_count,
            shard_ids,
            argon2,
            portraits_per_day,
            limits,
            shutdown_timeout: Duration::from_secs(shutdown_secs),
            portrait_timeout: Duration::from_secs(portrait_timeout_secs),
            arena_vote_timeout: Duration::from_secs(arena_vote_secs),
            model_timeout: Duration::from_secs(model_timeout_secs),
            model_call_timeout: Duration::from_secs(model_call_secs),
        })
    }
}

fn parse_shard_range(raw: &str) -> Result<RangeInclusive<u32>, String> {
    let bad = || format!("`{raw}` is not a shard id or a range like 0-3");
    let (start, end) = match raw.split_once('-') {
        Some((a, b)) => (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        ),
        None => {
            let id = raw.parse().map_err(|_| bad())?;
            (id, id)
        }
    };
    if start > end {
        return Err(format!("`{raw}` starts after it ends"));
    }
    Ok(start..=end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(purpose: Purpose, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(purpose, &move |name| map.get(name).cloned())
    }

    #[test]
    fn tool_purpose_needs_nothing_and_defaults_to_sqlite() {
        let config = load(Purpose::Tool, &[]).unwrap();
        assert_eq!(config.database_url.expose(), DatabaseUrl::DEFAULT);
        assert_eq!(config.turn_window, Duration::from_secs(3));
        assert_eq!(config.argon2.memory_kib, 19_456);
        assert_eq!(config.shard_count, 1);
    }

    #[test]
    fn bot_purpose_reports_every_missing_value_at_once() {
        let err = load(
            Purpose::Bot,
            &[("SHARD_COUNT", "zero"), ("LOG_FORMAT", "xml")],
        )
        .unwrap_err();
        let vars: Vec<_> = err.problems.iter().map(|p| p.variable).collect();
        assert_eq!(
            vars,
            [
                "DISCORD_TOKEN",
                "OPENAI_API_KEY",
                "LOG_FORMAT",
                "SHARD_COUNT"
            ]
        );
        let text = err.to_string();
        assert!(text.contains("4 problems"), "{text}");
        assert!(text.contains("example: DISCORD_TOKEN="), "{text}");
    }

    #[test]
    fn the_image_model_defaults_to_dall_e_3_and_must_be_openai() {
        let config = load(Purpose::Tool, &[]).unwrap();
        assert_eq!(config.image_model.unwrap().to_string(), "openai:dall-e-3");
        assert_eq!(config.portrait_timeout, Duration::from_secs(90));
        let config = load(Purpose::Tool, &[("IMAGE_MODEL", "openai:gpt-image-1")]).unwrap();
        assert_eq!(
            config.image_model.unwrap().to_string(),
            "openai:gpt-image-1"
        );
        let err = load(
            Purpose::Tool,
            &[("IMAGE_MODEL", "anthropic:claude-sonnet-4-5")],
        )
        .unwrap_err();
        assert_eq!(err.problems[0].variable, "IMAGE_MODEL");
    }

    #[test]
    fn blank_values_count_as_unset() {
        let config = load(
            Purpose::Tool,
            &[("OPENAI_API_KEY", "  "), ("DATABASE_URL", "")],
        )
        .unwrap();
        assert!(config.providers.openai_api_key.is_none());
        assert_eq!(config.database_url.expose(), DatabaseUrl::DEFAULT);
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let config = load(
            Purpose::Bot,
            &[
                ("DISCORD_TOKEN", "token-very-secret"),
                ("OPENAI_API_KEY", "sk-very-secret"),
                ("DATABASE_URL", "postgres://bot:hunter2@db.example:5432/gm"),
                ("OPENAI_BASE_URL", "https://bot:proxy-pass@proxy.example/v1"),
                (
                    "LOCAL_LLM_BASE_URL",
                    "http://me:local-pass@127.0.0.1:8089/v1",
                ),
                ("LOCAL_LLM_MODELS", "gemma"),
                (
                    "DISCORD_API_BASE_URL",
                    "https://fake:fake-pass@127.0.0.1:3000",
                ),
            ],
        )
        .unwrap();
        let debug = format!("{config:?}");
        for secret in [
            "token-very-secret",
            "sk-very-secret",
            "hunter2",
            "proxy-pass",
            "local-pass",
            "fake-pass",
        ] {
            assert!(!debug.contains(secret), "{secret} leaked into {debug}");
        }
        assert!(
            debug.contains("postgres://bot:***@db.example:5432/gm"),
            "{debug}"
        );
    }

    #[test]
    fn malformed_values_are_refused_with_the_variable_name() {
        let err = load(
            Purpose::Tool,
            &[
                ("DATABASE_URL", "mysql://x"),
                ("DEFAULT_MODEL", "gpt-4o"),
                ("SHARD_IDS", "3-1"),
                ("METRICS_ADDR", "localhost"),
                ("LOCAL_LLM_BASE_URL", "ftp://x"),
            ],
        )
        .unwrap_err();
        let vars: Vec<_> = err.problems.iter().map(|p| p.variable).collect();
        assert_eq!(
            vars,
            [
                "DATABASE_URL",
                "LOCAL_LLM_BASE_URL",
                "DEFAULT_MODEL",
                "METRICS_ADDR",
                "SHARD_IDS"
            ]
        );
    }

    #[test]
    fn shard_ids_must_fit_the_shard_count() {
        let ok = load(Purpose::Tool, &[("SHARD_COUNT", "4"), ("SHARD_IDS", "2-3")]).unwrap();
        assert_eq!(ok.shard_ids, Some(2..=3));
        let err = load(Purpose::Tool, &[("SHARD_COUNT", "2"), ("SHARD_IDS", "0-3")]).unwrap_err();
        assert_eq!(err.problems[0].variable, "SHARD_IDS");
    }

    #[test]
    fn the_discord_stand_in_must_be_on_this_machine() {
        for ok in [
            "https://127.0.0.1:3000",
            "https://localhost:3000/",
            "https://[::1]:3000",
        ] {
            let config = load(Purpose::Tool, &[("DISCORD_API_BASE_URL", ok)]).unwrap();
            assert!(config.discord_api_base_url.is_some(), "{ok}");
        }
        for refused in [
            "https://discord.example",
            "http://10.0.0.7:3000",
            "ftp://127.0.0.1",
            "http://127.0.0.1:3000",
        ] {
            let err = load(Purpose::Tool, &[("DISCORD_API_BASE_URL", refused)]).unwrap_err();
            assert_eq!(
                err.problems[0].variable, "DISCORD_API_BASE_URL",
                "{refused}"
            );
        }
    }

    #[test]
    fn local_models_are_a_comma_list() {
        let config = load(
            Purpose::Bot,
            &[
                ("DISCORD_TOKEN", "t"),
                ("LOCAL_LLM_BASE_URL", "http://127.0.0.1:8089/v1/"),
                ("LOCAL_LLM_MODELS", "gemma-3-270m, llama3 ,"),
            ],
        )
        .unwrap();
        assert_eq!(config.providers.local_models, ["gemma-3-270m", "llama3"]);
        assert_eq!(
            config.providers.local_base_url.as_deref(),
            Some("http://127.0.0.1:8089/v1")
        );
    }

    #[test]
    fn state_tools_are_off_unless_asked_and_must_be_a_flag() {
        assert!(!load(Purpose::Tool, &[]).unwrap().state_tools);
        for on in ["true", "1", "yes", "ON"] {
            let config = load(Purpose::Tool, &[("STATE_TOOLS", on)]).unwrap();
            assert!(config.state_tools, "{on}");
        }
        let config = load(Purpose::Tool, &[("STATE_TOOLS", "false")]).unwrap();
        assert!(!config.state_tools);
        let err = load(Purpose::Tool, &[("STATE_TOOLS", "sometimes")]).unwrap_err();
        assert_eq!(err.problems[0].variable, "STATE_TOOLS");
        assert!(err.problems[0].problem.contains("true or false"));
    }

    #[test]
    fn the_arena_vote_timeout_is_in_seconds_with_a_default() {
        let default = load(Purpose::Tool, &[]).unwrap();
        assert_eq!(default.arena_vote_timeout, Duration::from_secs(120));
        let set = load(Purpose::Tool, &[("ARENA_VOTE_TIMEOUT_SECS", "30")]).unwrap();
        assert_eq!(set.arena_vote_timeout, Duration::from_secs(30));
        let err = load(Purpose::Tool, &[("ARENA_VOTE_TIMEOUT_SECS", "0")]).unwrap_err();
        assert_eq!(err.problems[0].variable, "ARENA_VOTE_TIMEOUT_SECS");
    }
}
