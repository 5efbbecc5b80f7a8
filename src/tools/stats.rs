//! `gamemaster stats`: the `/stats` chart and leaderboard from the command line.
//!
//! Exit status: 0 when the chart was written, including when there is no data yet (the
//! leaderboard line then says so and the PNG shows a "No data yet" notice, the CSV holds
//! only its header); 1 with a one-line error for bad options or an unreachable database.

use std::path::Path;

use anyhow::{Context, bail};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::cli::{ScopeArg, StatsArgs};
use crate::config::Config;
use crate::core::chart::{self, MAX_SIDE, MIN_SIDE};
use crate::core::ids::{CampaignId, GuildId, Timestamp, UserId};
use crate::core::stats::{
    ArenaConfig, StatsQuery, StatsReport, StatsScope, build_report, report_csv,
};
use crate::core::store::fetch_stats_data;
use crate::storage::Db;

/// The longest window accepted, in days (ten years).
pub const MAX_DAYS: u32 = 3650;
/// Bootstrap intervals are random; a fixed seed makes the same data give the same chart.
const ARENA_SEED: u64 = 0x5eed_a7e4a;

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
    let window = if days == 1 {
        "last 24 hours".to_owned()
    } else {
        format!("last {days} days")
    };
    format!("{whose}, {window}")
}

/// Builds the report the way `/stats` does: fetch, aggregate, choose the chart.
pub async fn report(db: &Db, args: &StatsArgs, scope: StatsScope) -> anyhow::Result<StatsReport> {
    let query = StatsQuery::last_days(scope, args.days, Timestamp::now());
    let data = fetch_stats_data(db, &query)
        .await
        .context("reading the statistics")?;
    Ok(build_report(
        args.metric,
        &data,
        &describe(scope, args.days),
        &ArenaConfig::default(),
        &mut StdRng::seed_from_u64(ARENA_SEED),
    ))
}

pub async fn run(config: &Config, args: &StatsArgs) -> anyhow::Result<()> {
    let scope = validate(args)?;
    let db = Db::open(&config.database_url).await?;
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
