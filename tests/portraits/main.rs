//! Portraits: generation through the real images client against a fake image server, and the
//! local placeholder.

#[path = "../support/mod.rs"]
mod support;

mod generation;
mod owners;
mod placeholder;
