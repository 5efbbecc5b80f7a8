//! The model clients: recorded provider streams, a scriptable fake server, and an opt-in live
//! server.

#[path = "../support/mod.rs"]
mod support;

mod clients;
mod fuzz;
mod live;
mod state_tools;
