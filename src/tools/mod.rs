//! Terminal tools built on the library (everything but the bot itself): `roll`, `play`,
//! `sheet`, `compare` and `stats`. They drive the same core as the bot without Discord.

pub mod compare;
pub mod harness;
pub mod play;
pub mod roll;
pub mod scenario;
pub mod sheet;
pub mod stats;
