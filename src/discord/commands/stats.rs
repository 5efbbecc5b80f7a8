//! `/stats [scope] [metric] [days] [campaign] [format]`: the leaderboard of the models by one
//! metric, with its chart, the latency-over-time chart or the aggregates as CSV attached. The same report as `gamemaster stats` (`core::store::stats_report`).

use anyhow::Context as _;
use poise::ChoiceParameter;
use serenity::all::{CreateAttachment, CreateEmbed};

use crate::core::ids::{GuildId, Timestamp, UserId};
use crate::core::limits::{Action, LimitError};
use crate::core::quality::QualitySummary;
use crate::core::quality::board;
use crate::core::quality::chart::render_quality;
use crate::core::stats::chart::ChartError;
use crate::core::stats::chart::{self, DEFAULT_HEIGHT, DEFAULT_WIDTH, truncate_label};
use crate::core::stats::table::aligned;
use crate::core::stats::{
    MAX_DAYS, Metric, StatsQuery, StatsReport, StatsScope, report_csv, window_phrase,
};
use crate::core::store::{over_time_report, quality_report, stats_report};
use crate::discord::commands::{self, autocomplete_campaign, campaign_option, guild, reply, send};
use crate::discord::embeds::{BLUE, DESCRIPTION_MAX, Embed};
use crate::discord::error::{BotResult, user};
use crate::discord::{Context, Data};

/// The chart's file name, referenced by the embed as `attachment://stats.png`.
pub const CHART_FILE: &str = "stats.png";
/// The leaderboard's aggregates, as `gamemaster stats --csv` writes them.
pub const CSV_FILE: &str = "stats.csv";
/// The quality chart and leaderboard, for `metric: narration quality`.
pub const QUALITY_CHART_FILE: &str = "quality.png";
pub const QUALITY_CSV_FILE: &str = "quality.csv";
/// Rows shown in the embed; the chart and `gamemaster stats --csv` have them all.
const ROWS_SHOWN: usize = 20;
/// Model names are cut to this many characters in the table.
const MODEL_CHARS: usize = 36;
const DEFAULT_DAYS: u32 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ChoiceParameter)]
pub enum ScopeChoice {
    #[name = "me (your own games)"]
    Me,
    #[name = "campaign"]
    Campaign,
    #[name = "server"]
    Server,
    #[name = "global (every server)"]
    Global,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ChoiceParameter)]
pub enum MetricChoice {
    #[name = "latency (p50)"]
    Latency,
    #[name = "time to first token (p50)"]
    Ttft,
    #[name = "output tokens per call"]
    TokensOut,
    #[name = "output speed (tokens/s)"]
    TokensPerSecond,
    #[name = "total cost"]
    Cost,
    #[name = "cost per turn"]
    CostPerTurn,
    #[name = "error rate"]
    ErrorRate,
    #[name = "thumbs up"]
    ThumbsUp,
    #[name = "arena rating"]
    Arena,
    #[name = "narration quality"]
    Quality,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ChoiceParameter)]
pub enum FormatChoice {
    #[name = "chart"]
    Chart,
    #[name = "latency over time"]
    OverTime,
    #[name = "csv"]
    Csv,
}

impl MetricChoice {
    /// The call or vote metric; None for narration quality, which has its own leaderboard.
    fn stats_metric(self) -> Option<Metric> {
        Some(match self {
            MetricChoice::Latency => Metric::Latency,
            MetricChoice::Ttft => Metric::Ttft,
            MetricChoice::TokensOut => Metric::TokensOut,
            MetricChoice::TokensPerSecond => Metric::TokensPerSecond,
            MetricChoice::Cost => Metric::Cost,
            MetricChoice::CostPerTurn => Metric::CostPerTurn,
            MetricChoice::ErrorRate => Metric::ErrorRate,
            MetricChoice::ThumbsUp => Metric::ThumbsUp,
            MetricChoice::Arena => Metric::Arena,
            MetricChoice::Quality => return None,
        })
    }
}

/// Compare the models: a leaderboard and a chart
#[poise::command(
    slash_command,
    guild_only,
    description_localized("fr", "Comparer les modèles : classement et graphique")
)]
pub async fn stats(
    ctx: Context<'_>,
    #[description = "Whose games (default: this server, or the campaign if you name one)"]
    #[description_localized("fr", "Quelles parties (par défaut : ce serveur)")]
    scope: Option<ScopeChoice>,
    #[description = "What to rank the models by (default: latency)"]
    #[description_localized("fr", "Le critère du classement (par défaut : la latence)")]
    metric: Option<MetricChoice>,
    #[description = "How many days back (default 30)"]
    #[description_localized("fr", "Combien de jours en arrière (30 par défaut)")]
    #[min = 1]
    #[max = 3650]
    days: Option<u32>,
    #[description = "The campaign (for scope campaign; default: the one playing here)"]
    #[description_localized("fr", "La campagne (par défaut : celle de ce salon)")]
    #[autocomplete = "autocomplete_campaign"]
    campaign: Option<String>,
    #[description = "What to attach: the metric's chart (default), latency over time, or CSV"]
    #[description_localized(
        "fr",
        "La pièce jointe : le graphique (par défaut), la latence dans le temps, ou CSV"
    )]
    format: Option<FormatChoice>,
) -> BotResult {
    let days = days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(user(format!("`days` must be between 1 and {MAX_DAYS}.")));
    }
    let (scope, whose) = resolve_scope(ctx, scope, campaign.as_deref()).await?;
    let player = UserId(ctx.author().id.get());
    let server = ctx.guild_id().map(|g| GuildId(g.get()));
    match ctx
        .data()
        .engine
        .limiter()
        .take(Action::Stats, player, server)
        .await
    {
        Ok(()) => {}
        Err(LimitError::Limited(limited)) => return Err(user(limited.to_string())),
        Err(LimitError::Store(e)) => return Err(e.into()),
    }
    // Your own games may span other servers: only you see them.
    let private = matches!(scope, StatsScope::Me(_));
    if private {
        ctx.defer_ephemeral().await?;
    } else {
        ctx.defer().await?;
    }
    let query = StatsQuery::last_days(scope, days, Timestamp::now());
    let context = format!("{whose}, {}", window_phrase(days));
    let format = format.unwrap_or(FormatChoice::Chart);
    let Some(metric) = metric.map_or(Some(Metric::Latency), MetricChoice::stats_metric) else {
        return quality(ctx, &query, &context, format, private).await;
    };
    let report = stats_report(&*ctx.data().store, &query, metric, &context).await?;
    if report.is_empty() {
        send(
            ctx,
            reply().content(report.empty_message()).ephemeral(private),
        )
        .await?;
        return Ok(());
    }
    let embed = stats_embed(&report).build();
    let attachment = match format {
        FormatChoice::Csv => {
            let csv = report_csv(&report.stats).into_bytes();
            send(
                ctx,
                reply()
                    .embed(embed)
                    .attachment(CreateAttachment::bytes(csv, CSV_FILE))
                    .ephemeral(private),
            )
            .await?;
            return Ok(());
        }
        FormatChoice::Chart => report.chart,
        FormatChoice::OverTime => over_time_report(&*ctx.data().store, &query, &context).await?,
    };
    send_png(ctx, embed, CHART_FILE, private, move || {
        chart::render(&attachment, DEFAULT_WIDTH, DEFAULT_HEIGHT)
    })
    .await
}

/// Sends `embed` showing the PNG that `draw` renders, attached as `file`.
async fn send_png(
    ctx: Context<'_>,
    embed: CreateEmbed,
    file: &str,
    private: bool,
    draw: impl FnOnce() -> Result<Vec<u8>, ChartError> + Send + 'static,
) -> BotResult {
    // A millisecond or two of CPU, kept off the threads that serve Discord all the same.
    let png = tokio::task::spawn_blocking(draw)
        .await
        .context("the chart task stopped")?
        .context("drawing the chart")?;
    send(
        ctx,
        reply()
            .embed(embed.image(format!("attachment://{file}")))
            .attachment(CreateAttachment::bytes(png, file))
            .ephemeral(private),
    )
    .await?;
    Ok(())
}

/// `/stats metric: narration quality`: the models ranked by the checks of their live
/// narrations, with the quality chart, the latency over time or the CSV attached.
async fn quality(
    ctx: Context<'_>,
    query: &StatsQuery,
    context: &str,
    format: FormatChoice,
    private: bool,
) -> BotResult {
    let store = &*ctx.data().store;
    let ranked = quality_report(store, query).await?;
    if ranked.is_empty() {
        let text = format!("No narration has been checked yet for {context}; play a turn first.");
        send(ctx, reply().content(text).ephemeral(private)).await?;
        return Ok(());
    }
    let title = format!("Narration quality · {context}");
    let embed = quality_embed(&title, &ranked).build();
    match format {
        FormatChoice::Csv => {
            let csv = board::to_csv(&ranked).into_bytes();
            let attachment = CreateAttachment::bytes(csv, QUALITY_CSV_FILE);
            send(
                ctx,
                reply()
                    .embed(embed)
                    .attachment(attachment)
                    .ephemeral(private),
            )
            .await?;
            Ok(())
        }
        FormatChoice::Chart => {
            send_png(ctx, embed, QUALITY_CHART_FILE, private, move || {
                render_quality(&title, &ranked, DEFAULT_WIDTH, DEFAULT_HEIGHT)
            })
            .await
        }
        FormatChoice::OverTime => {
            let over_time = over_time_report(store, query, context).await?;
            send_png(ctx, embed, CHART_FILE, private, move || {
                chart::render(&over_time, DEFAULT_WIDTH, DEFAULT_HEIGHT)
            })
            .await
        }
    }
}

/// The quality leaderboard (score, language, tag errors, assistant talk, repetition, n).
pub fn quality_embed(title: &str, ranked: &[QualitySummary]) -> Embed {
    let shown = &ranked[..ranked.len().min(ROWS_SHOWN)];
    let description = table_description(&board::table(shown, table_label), ranked.len());
    Embed::new(title)
        .description(description)
        .footer(format!(
            "{}. lang = in the campaign's language, tags = with tag errors, ai = with \
             assistant talk, n = narrations checked",
            board::SCORE_MEANING
        ))
        .colour(BLUE)
}

/// The scope and how to name it in the title. Campaigns are looked up in this server only;
/// `global` needs `STATS_GLOBAL=true`.
async fn resolve_scope(
    ctx: Context<'_>,
    scope: Option<ScopeChoice>,
    campaign: Option<&str>,
) -> BotResult<(StatsScope, String)> {
    let data: &Data = ctx.data();
    let scope = scope.unwrap_or(if campaign.is_some() {
        ScopeChoice::Campaign
    } else {
        ScopeChoice::Server
    });
    Ok(match scope {
        ScopeChoice::Me => (StatsScope::Me(commands::author(ctx)), "your games".into()),
        ScopeChoice::Server => (StatsScope::Server(guild(ctx)?), "this server".into()),
        ScopeChoice::Global => {
            if !data.stats_global {
                return Err(user(
                    "Statistics across every server are turned off on this bot (its admin can \
                     set STATS_GLOBAL=true). Try scope `server` or `campaign`.",
                ));
            }
            (StatsScope::Global, "all servers".into())
        }
        ScopeChoice::Campaign => {
            let found = match campaign {
                Some(raw) => campaign_option(ctx, raw).await?,
                None => {
                    let session = data.store.active_session(commands::channel(ctx)).await?;
                    let session = session.ok_or_else(|| {
                        user("No session is running in this channel; name the campaign with `campaign`.")
                    })?;
                    data.store
                        .campaign_in_guild(guild(ctx)?, session.campaign_id)
                        .await?
                        .ok_or_else(|| {
                            user("The campaign of this channel's session no longer exists.")
                        })?
                }
            };
            (
                StatsScope::Campaign(found.id),
                format!("campaign {}", found.name.as_str()),
            )
        }
    })
}

/// A model name as the embed's table shows it: cut short, and without backticks, which would
/// end the code block early.
fn table_label(model: &str) -> String {
    truncate_label(model, MODEL_CHARS).replace('`', "'")
}

/// A leaderboard's table in a code block, saying how many of the `ranked` models it leaves
/// out (it shows [`ROWS_SHOWN`]), or only their number when it would not fit an embed.
fn table_description(table: &str, ranked: usize) -> String {
    let mut description = format!("```\n{table}```");
    let hidden = ranked.saturating_sub(ROWS_SHOWN);
    if hidden > 0 {
        description.push_str(&format!("\n…and {hidden} more models (see the chart)."));
    }
    if description.chars().count() > DESCRIPTION_MAX {
        description = format!("{ranked} models ranked; see the chart.");
    }
    description
}

/// The leaderboard as a monospaced table (rank, model, the metric, sample size).
pub fn stats_embed(report: &StatsReport) -> Embed {
    let rows: Vec<Vec<String>> = report
        .leaderboard
        .iter()
        .take(ROWS_SHOWN)
        .map(|r| {
            vec![
                r.rank.to_string(),
                table_label(&r.model),
                r.display.clone(),
                r.sample_size.to_string(),
            ]
        })
        .collect();
    let table = aligned(&["#", "model", report.metric.label(), "n"], &rows, &[1]);
    let description = table_description(&table, report.leaderboard.len());
    let sample = match report.metric {
        Metric::ThumbsUp => "n = thumbs given",
        Metric::Arena => "n = arena battles; a model needs enough votes to be ranked",
        _ => "n = model calls",
    };
    Embed::new(report.chart.title())
        .description(description)
        .footer(sample)
        .colour(BLUE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::stats::{ArenaConfig, CallSample, StatsData, build_report, summarize};
    use rand::SeedableRng;

    fn report(models: usize) -> StatsReport {
        let calls: Vec<CallSample> = (0..models)
            .map(|i| CallSample {
                model: format!("openrouter:vendor/a-model-with-a-very-long-name-{i:03}"),
                latency_ms: 1000 + i as i64,
                ttft_ms: Some(100),
                tokens_in: Some(10),
                tokens_out: Some(10),
                cost_usd: None,
                ok: true,
            })
            .collect();
        build_report(
            Metric::Latency,
            &StatsData {
                calls: summarize(&calls),
                ..StatsData::default()
            },
            "this server, last 30 days",
            &ArenaConfig::default(),
            &mut rand::rngs::StdRng::seed_from_u64(1),
        )
    }

    #[test]
    fn the_table_fits_an_embed_and_says_what_is_left_out() {
        let embed = stats_embed(&report(60));
        assert!(embed.description.chars().count() <= DESCRIPTION_MAX);
        assert_eq!(embed.description.matches('\n').count(), 2 + ROWS_SHOWN + 1);
        assert!(
            embed
                .description
                .ends_with("…and 40 more models (see the chart).")
        );
        let small = stats_embed(&report(2));
        let lines: Vec<&str> = small.description.lines().collect();
        assert_eq!(lines[0], "```");
        assert!(lines[1].starts_with("#  model"), "{}", lines[1]);
        assert!(
            lines[2].starts_with("1  openrouter:vendor/"),
            "{}",
            lines[2]
        );
        assert!(lines[2].ends_with("  1"), "{}", lines[2]);
    }

    #[test]
    fn every_metric_has_a_choice_and_quality_comes_last() {
        let choices = MetricChoice::list().len();
        let mapped: Vec<Metric> = (0..choices)
            .filter_map(|i| MetricChoice::from_index(i).unwrap().stats_metric())
            .collect();
        assert_eq!(mapped, Metric::ALL.to_vec());
        assert_eq!(
            MetricChoice::from_index(choices - 1),
            Some(MetricChoice::Quality)
        );
    }
}
