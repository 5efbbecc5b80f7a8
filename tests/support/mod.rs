//! Helpers shared by the integration tests. Each test binary uses the parts it needs.
#![allow(dead_code)]

pub mod db;
pub mod hostile;
