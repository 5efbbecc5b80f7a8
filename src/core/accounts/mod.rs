//! Accounts that Discord users link to, what the bot keeps about a person, and the old app's
//! data.

pub mod account;
pub mod auth;
pub mod legacy;
pub mod personal_data;
