//! `gamemaster roll EXPR [--seed N] [--json]`: the bot's dice in the terminal.

use std::io::Write;

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::cli::RollArgs;
use crate::core::game::dice::{DiceError, DiceExpr, RollResult};

/// Parses and rolls `args.expression` (seeded when `--seed` is given).
pub fn roll(args: &RollArgs) -> Result<RollResult, DiceError> {
    let expr = DiceExpr::parse(&args.expression)?;
    let mut rng = match args.seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_os_rng(),
    };
    expr.roll(&mut rng)
}

/// What the command prints: the breakdown, or the JSON report with `--json`.
pub fn render(args: &RollArgs, result: &RollResult) -> String {
    if args.json {
        result.to_json(args.expression.trim()).to_string()
    } else {
        result.text.clone()
    }
}

/// Runs the command: 0 on success, 1 with a one-line error for a bad expression.
pub fn run(args: &RollArgs) -> std::process::ExitCode {
    match roll(args) {
        Ok(result) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", render(args, &result));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
