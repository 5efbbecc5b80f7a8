//! Local command-line tools built on the library (everything but the bot itself).

pub mod stats;
