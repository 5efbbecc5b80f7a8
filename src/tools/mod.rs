//! Terminal tools: `roll`, `play` and `compare`. They drive the same core as the bot (dice,
//! session engine, prompts, statistics, charts) without Discord.

pub mod compare;
pub mod harness;
pub mod play;
pub mod roll;
pub mod scenario;
