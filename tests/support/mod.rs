//! Helpers shared by the integration tests. Each test binary uses the parts it needs.
#![allow(dead_code, unused_imports)]

pub mod bot;
pub mod csv;
pub mod db;
pub mod fake_discord;
pub mod fake_llm;
pub mod hostile;
pub mod perf;
pub mod pg_server;
pub mod scripted;
