//! The pure domain: game rules, parsing, statistics. Nothing here knows Discord, SQL or HTTP,
//! so every rule can be tested with a scripted model in milliseconds.

pub mod account;
pub mod activity;
pub mod auth;
pub mod budget;
pub mod campaign;
pub mod character;
pub mod chart;
pub mod dice;
pub mod engine;
pub mod guild;
pub mod ids;
pub mod image;
pub mod language;
pub mod legacy;
pub mod llm;
pub mod perf;
pub mod personal_data;
pub mod portrait;
pub mod portrait_icon;
pub mod portrait_placeholder;
pub mod pricing;
pub mod prompt_template;
pub mod roll_tag;
pub mod session;
pub mod shards;
pub mod srd;
pub mod stats;
pub mod store;
pub mod streaming;
pub mod text;
pub mod tokens;
pub mod transcript;
pub mod vote;
