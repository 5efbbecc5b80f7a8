use std::process::ExitCode;

use clap::Parser;
use gamemaster::cli::{Cli, Command};
use gamemaster::config::{Config, Purpose};
use gamemaster::{app, runtime, telemetry, tools};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Rolling dice needs no configuration.
    if let Command::Roll(args) = cli.command() {
        return tools::roll::run(args);
    }
    // A missing .env is fine (the environment may hold everything); a broken one is not.
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("error: cannot read .env: {e}");
        return ExitCode::from(2);
    }
    let purpose = match cli.command() {
        Command::Run => Purpose::Bot,
        _ => Purpose::Tool,
    };
    let config = match Config::from_env(purpose) {
        Ok(config) => config,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let layout = match cli.command() {
        Command::Run | Command::Play(_) | Command::Compare(_) => {
            runtime::Layout::for_database(&config.database_url)
        }
        _ => runtime::Layout::for_command_without_turns(),
    };
    let runtime = match runtime::build(layout) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command() {
            Command::Run => app::run(config).await,
            Command::Migrate => app::migrate(&config).await,
            Command::ImportLegacy { path } => app::import_legacy(&config, path).await,
            Command::Stats(args) => tools::stats::run(&config, args).await,
            Command::Roll(_) => unreachable!("handled before loading the configuration"),
            Command::Play(args) => tools::play::run(&config, args).await,
            Command::Sheet(args) => tools::sheet::run(&config, args).await,
            Command::Compare(args) => tools::compare::run(&config, args).await,
            Command::Healthcheck => app::healthcheck(&config).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line with the causes, never a backtrace.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
