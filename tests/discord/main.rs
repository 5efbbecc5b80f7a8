//! The bot end to end: the real poise bot against the fake Discord, scripted model servers and
//! real SQLite. `harness` checks the fake Discord itself.

#[path = "../support/mod.rs"]
mod support;

mod account;
mod arena;
mod buttons;
mod campaign;
mod character;
mod game;
mod harness;
mod hostile;
mod isolation;
mod ops;
mod party;
mod portraits;
mod presenter;
mod registration;
mod roll;
mod rules;
mod session;
mod settings;
mod state_tools;
mod stats;
mod within_limits;
