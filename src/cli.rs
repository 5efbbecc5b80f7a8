//! The command line: `gamemaster run` (the bot, the default) and the local tools.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::core::stats::Metric;

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
    /// Draw the /stats chart of a metric to a PNG, print the leaderboard, optionally write
    /// the per-model aggregates as CSV.
    Stats(StatsArgs),
    /// Roll dice in Avrae notation (e.g. `4d6kh3`, `1d20+5 adv`) and print the breakdown.
    Roll(RollArgs),
    /// Play a session in the terminal, no Discord: type what your character does, one line a turn.
    #[command(
        long_about = "Play a session in the terminal, no Discord. The narration streams to stdout; each \
                      line on stdin is your character's action (`/sheet` prints the party, `/end` ends the session, `/quit` or the \
                      end of input leaves it open to continue later). The campaign and session are stored \
                      in DATABASE_URL like any other, under the terminal's own server and channel."
    )]
    Play(PlayArgs),
    /// Print a terminal campaign's party: sheets, inventories, gold and the journal.
    Sheet(SheetArgs),
    /// Play the same scripted turns through several models and write CSV results and PNG charts.
    #[command(
        long_about = "Play the same scripted player turns (a TOML scenario, see prompts/scenarios/) through \
                      each model, one model after the other, with the prompts the bot uses. Writes \
                      DIR/results.csv (one row per model and turn, with the quality checks of its narration), \
                      DIR/summary.csv (per-model aggregates), DIR/latency.png, DIR/tokens.png, DIR/cost.png, \
                      DIR/quality.png and DIR/run.json (models, sampling, dice seed, prompt hashes); every \
                      call is also recorded in DATABASE_URL with kind `compare`. A failing model does not stop \
                      the others. --judge adds a judge model's score of each narration; --pairwise its \
                      preferences between models, ranked by Bradley-Terry."
    )]
    Compare(CompareArgs),
    /// Exit 0 when the running bot's /healthz (at METRICS_ADDR) answers 200, 1 otherwise;
    /// for container health checks (the image has no curl).
    Healthcheck,
}

/// Whose data `gamemaster stats` covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    /// One server (needs --guild).
    Server,
    /// One campaign (needs --campaign).
    Campaign,
    /// Every server.
    Global,
    /// One player's turns, thumbs and arena votes (needs --user).
    Me,
}

#[derive(Debug, Clone, Args)]
pub struct StatsArgs {
    /// Where to write the chart (PNG).
    #[arg(long, value_name = "FILE.png")]
    pub out: PathBuf,
    /// Whose data; by default inferred from --campaign, --guild or --user, else global.
    #[arg(long, value_enum)]
    pub scope: Option<ScopeArg>,
    /// Discord server id (for --scope server).
    #[arg(long, value_name = "ID")]
    pub guild: Option<u64>,
    /// Campaign id (for --scope campaign).
    #[arg(long, value_name = "ID")]
    pub campaign: Option<i64>,
    /// Discord user id (for --scope me).
    #[arg(long, value_name = "ID")]
    pub user: Option<u64>,
    /// latency, ttft, tokens, tps, cost, cost-per-turn, errors, thumbs or arena.
    #[arg(long, default_value = "latency", value_parser = parse_metric)]
    pub metric: Metric,
    /// Window in days, ending now.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    #[arg(long, default_value_t = crate::core::stats::chart::DEFAULT_WIDTH)]
    pub width: u32,
    #[arg(long, default_value_t = crate::core::stats::chart::DEFAULT_HEIGHT)]
    pub height: u32,
    /// Also write the per-model aggregates as CSV.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Which chart to draw: the metric's (bars) or daily latency over the window.
    #[arg(long, value_enum, default_value = "metric")]
    pub chart: ChartArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ChartArg {
    /// The chart of --metric, beside its leaderboard.
    Metric,
    /// Each model's daily mean latency, one line per model.
    OverTime,
}

fn parse_metric(raw: &str) -> Result<Metric, String> {
    Metric::parse(raw).map_err(|e| e.to_string())
}

#[derive(Debug, Args)]
pub struct RollArgs {
    /// The dice expression, e.g. `2d6+3` or `4d6kh3`.
    #[arg(allow_hyphen_values = true)]
    pub expression: String,
    /// Seed for reproducible rolls.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print `{"expression", "total", "rolls", "text"}` as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PlayArgs {
    /// The campaign to play: reused when it exists, created otherwise.
    #[arg(long, default_value = "Terminal Adventure")]
    pub campaign: String,
    /// The game master, e.g. `openai:gpt-4o-mini` or `local:gemma-3-270m` (default: the
    /// campaign's model, else DEFAULT_MODEL, else the first configured model).
    #[arg(long)]
    pub model: Option<String>,
    /// Your character: created on first use (with --class and --race), then played.
    #[arg(long)]
    pub character: Option<String>,
    /// The new character's class (an SRD class or your own).
    #[arg(long, default_value = "Fighter", requires = "character")]
    pub class: String,
    /// The new character's race (an SRD race or your own).
    #[arg(long, default_value = "Human", requires = "character")]
    pub race: String,
}

#[derive(Debug, Args)]
pub struct SheetArgs {
    /// The terminal campaign whose party to print.
    #[arg(long, default_value = "Terminal Adventure")]
    pub campaign: String,
    /// Print JSON: {"campaign", "characters": [...], "journal": [...]}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The scenario file (TOML).
    #[arg(long)]
    pub scenario: PathBuf,
    /// A model id to compare; repeat for each model.
    #[arg(long = "model", required = true)]
    pub models: Vec<String>,
    /// Directory for the CSV files and charts (created if needed).
    #[arg(long)]
    pub out: PathBuf,
    /// A judge model that scores each narration 1..10 against prompts/judge/rubric.md.
    #[arg(long, value_name = "MODEL")]
    pub judge: Option<String>,
    /// With --judge: also compare each pair of models' narrations of the same turn, in both
    /// orders, and rank the models by Bradley-Terry (DIR/pairwise.csv, DIR/ranking.csv).
    #[arg(long, requires = "judge")]
    pub pairwise: bool,
    /// Dice seed of the run (default: the scenario's `dice_seed`, else 1).
    #[arg(long)]
    pub seed: Option<u64>,
}

impl Cli {
    pub fn command(&self) -> &Command {
        self.command.as_ref().unwrap_or(&Command::Run)
    }
}
