//! `gamemaster stats`: the `/stats` chart and leaderboard from the command line.
//!
//! Exit status: 0 when the chart was written, including when there is no data yet (the
//! leaderboard line then says so and the PNG shows a "No data yet" notice, the CSV holds
//! only its header); 1 with a one-line error for bad options or an unreachable database.

use std::path::Path;

use anyhow::{Context, bail};

use crate::cli::{ChartArg, ScopeArg, StatsArgs};
use crate::config::Config;
use crate::core::ids::{CampaignId, GuildId, Timestamp, UserId};
use crate::core::stats::chart::{self, MAX_SIDE, MIN_SIDE};
use crate::core::stats::{StatsQuery, StatsReport, StatsScope, report_csv, window_phrase};
use crate::core::store::{over_time_report, stats_report};
use crate::storage::Db;

pub use crate::core::stats::MAX_DAYS;

/// Checks the options and turns them into a scope, before anything is opened.
pub fn scope_of(args: &StatsArgs) -> anyhow::Result<StatsScope> {
    let scope = args.scope.unwrap_or(if args.campaign.is_some() {
        ScopeArg::Campaign
    } else if args.guild.is_some() {
        ScopeArg::Server
    } else if args.user.is_some() {
        ScopeArg::Me
    } else {
        ScopeArg::Global
    });
    Ok(match scope {
        ScopeArg::Server => StatsScope::Server(GuildId(
            args.guild.context("--scope server needs --guild ID")?,
        )),
        ScopeArg::Campaign => StatsScope::Campaign(CampaignId(
            args.campaign
                .context("--scope campaign needs --campaign ID")?,
        )),
        ScopeArg::Me => StatsScope::Me(UserId(args.user.context("--scope me needs --user ID")?)),
        ScopeArg::Global => StatsScope::Global,
    })
}

pub fn validate(args: &StatsArgs) -> anyhow::Result<StatsScope> {
    if !(1..=MAX_DAYS).contains(&args.days) {
        bail!("--days must be between 1 and {MAX_DAYS}, got {}", args.days);
    }
    for (name, side) in [("--width", args.width), ("--height", args.height)] {
        if !(MIN_SIDE..=MAX_SIDE).contains(&side) {
            bail!("{name} must be between {MIN_SIDE} and {MAX_SIDE} pixels, got {side}");
        }
    }
    scope_of(args)
}

fn describe(scope: StatsScope, days: u32) -> String {
    let whose = match scope {
        StatsScope::Me(user) => format!("user {user}"),
        StatsScope::Campaign(id) => format!("campaign {id}"),
        StatsScope::Server(guild) => format!("server {guild}"),
        StatsScope::Global => "all servers".into(),
    };
    format!("{whose}, {}", window_phrase(days))
}

/// Builds the report the way `/stats` does (the same functions): fetch, aggregate, chart.
pub async fn report(db: &Db, args: &StatsArgs, scope: StatsScope) -> anyhow::Result<StatsReport> {
    let query = StatsQuery::last_days(scope, args.days, Timestamp::now());
    let context = describe(scope, args.days);
    let mut report = stats_report(db, &query, args.metric, &context)
        .await
        .context("reading the statistics")?;
    if args.chart == ChartArg::OverTime {
        report.chart = over_time_report(db, &query, &context)
            .await
            .context("reading the daily latency")?;
    }
    Ok(report)
}

pub async fn run(config: &Config, args: &StatsArgs) -> anyhow::Result<()> {
    let scope = validate(args)?;
    let db = Db::open_for_command(&config.database_url).await?;
    let report = report(&db, args, scope).await;
    db.close().await;
    let report = report?;

    let png = chart::render(&report.chart, args.width, args.height).context("drawing the chart")?;
    write(&args.out, &png)?;
    if let Some(csv) = &args.csv {
        write(csv, report_csv(&report.stats).as_bytes())?;
    }

    println!("{}", report.chart.title());
    print!("{}", report.table());
    println!(
        "chart ({}x{}) written to {}",
        args.width,
        args.height,
        args.out.display()
    );
    if let Some(csv) = &args.csv {
        println!(
            "aggregates for {} models written to {}",
            report.stats.len(),
            csv.display()
        );
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
