//! The pure core: dice, roll tags, the streaming policy and the session engine with a scripted
//! model, a recording chat surface and real SQLite.

#[path = "../support/mod.rs"]
mod support;

mod dice;
mod dice_properties;
mod engine;
mod hostile;
mod roll_tag;
mod streaming;
