//! AI GameMaster: a Discord bot that runs Dungeons & Dragons games narrated by large language
//! models, and measures which model makes the best game master.
//!
//! # Layout
//!
//! ```text
//! core/          the game, pure: no Discord, SQL or HTTP (tests drive it with scripted models)
//!   game/        campaigns, characters, sessions, dice, roll tags, prompts, member rules
//!   models/      the chat and image traits, model choice, prices, tokens, call records
//!   accounts/    account linking (argon2), the legacy accounts, personal data
//!   portrait/    character and game-master portraits
//!   stats/       aggregates, Bradley-Terry arena ratings, leaderboard, charts, CSV
//!   engine/      one actor per channel: turns, narration streaming, arena, requests
//!   store.rs     the storage traits the engine and commands use
//! discord/       the serenity/poise adapter: commands, buttons, events, the presenter
//! llm/           the providers over HTTP (OpenAI-compatible, Anthropic, images)
//! storage/       SQLite and PostgreSQL behind sqlx's AnyPool, migrations, legacy import
//! ops/           metrics, health, host readings, the /metrics and /healthz listener
//! tools/         the command line's compare, play, stats and roll
//! app.rs         the one wiring point: builds every part and owns shutdown
//! config.rs      the environment, parsed once; cli.rs the command line; main.rs the entry
//! ```

pub mod app;
pub mod cli;
pub mod config;
pub mod core;
pub mod discord;
pub mod llm;
pub mod ops;
pub mod runtime;
pub mod secret;
pub mod storage;
pub mod telemetry;
pub mod tools;
