//! The command line: `gamemaster run` (the bot, the default) and the local tools.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "gamemaster",
    version,
    about = "AI GameMaster: a Discord bot that runs D&D games narrated by LLMs and compares them as game masters.",
    long_about = "AI GameMaster: a Discord bot that runs D&D games narrated by large language models and \
                  compares them as game masters.\n\nSettings come from the environment and from a .env file \
                  in the working directory (see .env.example). With no subcommand, `run` starts the bot."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the Discord bot (the default). Needs DISCORD_TOKEN and at least one model provider.
    Run,
    /// Create or upgrade the database schema at DATABASE_URL, then exit.
    Migrate,
    /// Import a database of the old Streamlit app (CompareModelPoc): accounts, campaigns,
    /// characters, messages and performance logs. Safe to run twice.
    ImportLegacy {
        /// Path to the old app's SQLite file (usually database.db).
        path: std::path::PathBuf,
    },
}

impl Cli {
    pub fn command(&self) -> &Command {
        self.command.as_ref().unwrap_or(&Command::Run)
    }
}
