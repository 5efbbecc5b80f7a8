//! AI GameMaster: a Discord bot that runs Dungeons & Dragons games narrated by large language
//! models, and measures which model makes the best game master.

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
