//! Storage on both engines (SQLite always, PostgreSQL with `TEST_DATABASE_URL`): repositories,
//! accounts, rate-limit buckets and the legacy import.

#[path = "../support/mod.rs"]
mod support;

mod accounts;
mod checkpoints;
mod legacy_import;
mod limits;
mod migrations;
mod ops;
mod personal_data;
mod quality;
mod repositories;
mod rollups;
mod sheets;
mod tls;
