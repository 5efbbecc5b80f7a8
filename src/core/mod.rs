//! The pure domain: game rules, parsing, statistics. Nothing here knows Discord, SQL or HTTP,
//! so every rule can be tested with a scripted model in milliseconds
//! (`tests/architecture` keeps it that way).
//!
//! - [`ids`], [`text`], [`time`]: identifiers, user text and calendar helpers shared by all.
//! - [`limits`]: stored token buckets that limit turns, Regenerate, portraits and `/stats`.
//! - [`store`]: the storage traits the core needs; `crate::storage` implements them.
//! - [`engine`]: the session engine (one task per playing channel), the arena, outages.
//! - [`streaming`]: how a streamed narration becomes Discord-sized messages and edits.
//! - [`game`]: campaigns, characters, sessions, the story, dice, roll tags, prompts, votes.
//! - [`sheet`]: SRD 5.1 character sheets, the state tags that change them, death saves,
//!   initiative and the party state the game master reads.
//! - [`party`]: what the party's commands (`/sheet`, `/journal`, `/init`) do, over the store.
//! - [`models`]: the chat and image model traits, prices, token counts, budgets, call records.
//! - [`accounts`]: accounts, linking, personal data, the old app's data.
//! - [`portrait`]: generated portraits, placeholders and icons.
//! - [`stats`]: aggregates, leaderboards, arena ratings and charts behind `/stats`.
//! - [`quality`]: per-turn checks of a narration (language, tags, assistant talk, repetition)
//!   and the judge model's prompts.

pub mod accounts;
pub mod engine;
pub mod game;
pub mod ids;
pub mod limits;
pub mod models;
pub mod party;
pub mod portrait;
pub mod quality;
pub mod sheet;
pub mod stats;
pub mod store;
pub mod streaming;
pub mod text;
pub mod time;
