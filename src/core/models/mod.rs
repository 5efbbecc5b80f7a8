//! Models as the game sees them: the chat and image traits the providers implement
//! (`crate::llm` over HTTP, scripted models in tests), what a call costs and counts, and the
//! record every call leaves for `/stats`.

pub mod activity;
pub mod budget;
pub mod chat;
pub mod choice;
pub mod perf;
pub mod pricing;
pub mod tokens;
