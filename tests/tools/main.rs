//! The `gamemaster` binary and its terminal tools: configuration errors, migrate, roll, play,
//! compare and scenarios.

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod compare;
mod judge;
mod play;
mod roll;
mod scenario;
mod sheet;
