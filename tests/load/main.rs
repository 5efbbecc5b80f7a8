//! The real bot under load and under faults, on loopback: many channels playing at once
//! through the fake Discord with a fake model that streams at a realistic pace
//! (`LOAD_CHANNELS` sets the size, see `load.rs`), and model and Discord failures that must
//! stay confined to the channel they hit.

#[path = "../support/mod.rs"]
mod support;

mod crash;
mod faults;
mod load;
mod postgres;
mod sharding;
