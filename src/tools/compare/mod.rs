//! `gamemaster compare`: the same scripted turns through several models.
//!
//! Each model plays the scenario in a real session of the engine (the prompts, context
//! window, dice tags and rolling summaries the bot uses), on a temporary SQLite database of
//! its own so runs never see each other's story. Every model call is measured as it streams
//! and recorded in the configured database with kind `compare` (so it stays out of the
//! players' `/stats`); the first call of a turn is that turn's narration, which gives the
//! turn's row in `results.csv`, with the quality checks of the narration (`core::quality`)
//! and, with `--judge`, the judge model's score.
//!
//! - [`calls`]: what is observed of each call; [`story`]: each turn's narration and story;
//!   [`state`]: the sheet changes and journal notes the turn's narrations made.
//! - [`judging`]: the judge's scores and pairwise preferences; [`output`]: the CSV files
//!   and charts; [`manifest`]: `run.json`.

mod calls;
pub mod judging;
pub mod manifest;
pub mod output;
mod play;
mod state;
pub mod story;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use crate::cli::CompareArgs;
use crate::config::Config;
use crate::core::engine::ModelSource;
use crate::core::game::prompt::PromptSet;
use crate::core::models::chat::ModelId;
use crate::core::quality::chart::render_quality;
use crate::core::quality::judge::Verdict;
use crate::core::quality::{self, QualityChecks, QualityInput, QualitySummary, RECENT_NARRATIONS};
use crate::core::stats::chart;
use crate::core::stats::{CallSample, ModelStats, model_stats};
use crate::core::store::PerfStore;
use crate::storage::Db;
use crate::tools::harness;
use crate::tools::scenario::Scenario;

pub use calls::CallOutcome;
pub use judging::{Pairwise, PairwiseRow};
pub use output::{RESULT_COLUMNS, SUMMARY_COLUMNS};
pub use story::TurnStory;

/// One row of `results.csv`: a model's narration of one turn (turn 0 is the opening scene).
#[derive(Debug, Clone, PartialEq)]
pub struct TurnRow {
    pub model: String,
    pub turn: usize,
    pub latency_ms: i64,
    pub ttft_ms: Option<i64>,
    pub tokens_in: Option<i64>,
    pub tokens_out: Option<i64>,
    pub cost_usd: Option<f64>,
    pub ok: bool,
    pub error_kind: Option<String>,
    pub error_message: Option<String>,
    pub output_chars: usize,
    /// The narration stored for the turn, with its story; None when the model wrote none.
    pub story: Option<TurnStory>,
    /// The checks of the narration; None without one.
    pub checks: Option<QualityChecks>,
    /// The judge's score, with `--judge`.
    pub judge: Option<Verdict>,
    /// The model's changes to the game's state this turn: sheet writes (one per character a
    /// narration changed, however many of its tags did) plus journal notes. None when the
    /// turn has no narration or its changes could not be read.
    pub state_changes: Option<usize>,
    /// What those changes were: each write's summary (`Mira −3 HP (9/12)`), then
    /// `note: TEXT` for each note, in order.
    pub state_log: Vec<String>,
}

impl TurnRow {
    fn sample(&self) -> CallSample {
        CallSample {
            model: self.model.clone(),
            latency_ms: self.latency_ms,
            ttft_ms: self.ttft_ms,
            tokens_in: self.tokens_in,
            tokens_out: self.tokens_out,
            cost_usd: self.cost_usd,
            ok: self.ok,
        }
    }
}

/// What to run: the scenario (and where it came from, for `run.json`), the models, the judge.
pub struct CompareRun<'a> {
    pub scenario: &'a Scenario,
    pub scenario_path: &'a str,
    pub scenario_text: &'a str,
    pub models: &'a [ModelId],
    pub judge: Option<&'a ModelId>,
    pub pairwise: bool,
    /// The dice seed: `--seed`, else the scenario's.
    pub seed: u64,
}

/// What a compare run produced.
pub struct CompareReport {
    pub rows: Vec<TurnRow>,
    pub stats: Vec<ModelStats>,
    pub quality: Vec<QualitySummary>,
    pub pairwise: Option<Pairwise>,
    pub files: Vec<PathBuf>,
}

/// `gamemaster compare`.
pub async fn run(config: &Config, args: &CompareArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.scenario)
        .with_context(|| format!("reading the scenario {}", args.scenario.display()))?;
    let scenario = Scenario::parse(&text)
        .with_context(|| format!("in the scenario {}", args.scenario.display()))?;
    let models = args
        .models
        .iter()
        .map(|m| ModelId::parse(m))
        .collect::<Result<Vec<_>, _>>()?;
    let judge = args
        .judge
        .as_deref()
        .map(ModelId::parse)
        .transpose()
        .context("--judge")?;
    let registry: Arc<dyn ModelSource> = Arc::new(harness::registry(config)?);
    let db = Db::open(&config.database_url).await?.serving_no_turns();
    let path = args.scenario.display().to_string();
    let plan = CompareRun {
        scenario: &scenario,
        scenario_path: &path,
        scenario_text: &text,
        models: &models,
        judge: judge.as_ref(),
        pairwise: args.pairwise,
        seed: args.seed.unwrap_or(scenario.dice_seed),
    };
    let report = compare(
        &plan,
        registry,
        Some(&db),
        &args.out,
        &mut std::io::stderr(),
    )
    .await;
    db.catch_up_rollups().await;
    db.close().await;
    print_report(&report?)
}

fn percent(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:.0}%", v * 100.0))
}

fn print_report(report: &CompareReport) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for s in &report.stats {
        let q = report.quality.iter().find(|q| q.model == s.model);
        let judge = output::judge_score_mean(&report.rows, &s.model);
        let changes = output::state_changes_mean(&report.rows, &s.model);
        writeln!(
            out,
            "{}: {} turns, {} failed, latency p50 {} ms, {} tokens out per turn, cost {}; \
             language ok {}, tag errors {}, assistant talk {}, repetition {}, judge {}, \
             state changes {} per turn",
            s.model,
            s.calls,
            s.errors,
            s.latency_p50.map_or("-".into(), |v| format!("{v:.0}")),
            s.tokens_out_mean.map_or("-".into(), |v| format!("{v:.0}")),
            s.cost_total
                .map_or("unknown".into(), |v| format!("${v:.6}")),
            percent(q.and_then(|q| q.language_ok_rate)),
            percent(q.and_then(|q| q.tag_error_rate)),
            percent(q.and_then(|q| q.meta_talk_rate)),
            q.and_then(|q| q.repetition_mean)
                .map_or("-".into(), |v| format!("{v:.2}")),
            judge.map_or("-".into(), |v| format!("{v:.1}/10")),
            changes.map_or("-".into(), |v| format!("{v:.1}")),
        )?;
    }
    if let Some(pairwise) = &report.pairwise {
        for (i, r) in pairwise.ranking.iter().enumerate() {
            writeln!(
                out,
                "judge ranking {}: {} rating {:.0} ({:.0} to {:.0}), {} wins, {} ties, {} losses",
                i + 1,
                r.model,
                r.rating,
                r.ci_low,
                r.ci_high,
                r.wins,
                r.ties,
                r.losses
            )?;
        }
    }
    for file in &report.files {
        writeln!(out, "wrote {}", file.display())?;
    }
    Ok(())
}

/// Plays the scenario through each model in turn, checks and judges the narrations, and
/// writes the results under `out`. `record` receives every call as a `compare` record.
pub async fn compare(
    plan: &CompareRun<'_>,
    source: Arc<dyn ModelSource>,
    record: Option<&dyn PerfStore>,
    out: &Path,
    progress: &mut dyn Write,
) -> anyhow::Result<CompareReport> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating the output directory {}", out.display()))?;
    let mut rows = play::play_all(plan, Arc::clone(&source), record, progress).await?;
    check_rows(plan.scenario, &mut rows);
    let language = plan.scenario.campaign.language;
    if let Some(judge) = plan.judge {
        judging::score_rows(&mut rows, judge, &*source, language, progress).await;
    }
    let pairwise = match plan.judge.filter(|_| plan.pairwise) {
        Some(judge) => {
            let actions = actions(plan.scenario);
            let asked = judging::pairwise(
                &rows,
                plan.models,
                &actions,
                judge,
                &*source,
                language,
                plan.seed,
                progress,
            );
            Some(asked.await)
        }
        None => None,
    };

    let samples: Vec<CallSample> = rows.iter().map(TurnRow::sample).collect();
    let mut stats = model_stats(&samples, &[], &[]);
    // Keep the order the models were given in, for the CSV and the charts.
    let order = |model: &str| {
        plan.models
            .iter()
            .position(|m| m.to_string() == model)
            .unwrap_or(usize::MAX)
    };
    stats.sort_by_key(|s| order(&s.model));
    let quality = quality_summaries(&rows, &stats);
    let files = write_outputs(plan, out, &rows, &stats, &quality, pairwise.as_ref())?;
    Ok(CompareReport {
        rows,
        stats,
        quality,
        pairwise,
        files,
    })
}

/// What the players do on each turn, as the pairwise judge is told: the opening instruction,
/// then each scripted message under its character's name.
fn actions(scenario: &Scenario) -> Vec<String> {
    let opening = PromptSet::for_language(scenario.campaign.language).opening;
    std::iter::once(opening.trim().to_string())
        .chain(scenario.turns.iter().map(|t| {
            match t.character.and_then(|i| scenario.characters.get(i)) {
                Some(c) => format!("{}: {}", c.name.as_str(), t.text),
                None => t.text.clone(),
            }
        }))
        .collect()
}

/// Runs the quality checks on each narration, against that model's narrations before it.
fn check_rows(scenario: &Scenario, rows: &mut [TurnRow]) {
    for i in 0..rows.len() {
        let Some(story) = &rows[i].story else {
            continue;
        };
        let recent: Vec<&str> = rows[..i]
            .iter()
            .filter(|r| r.model == rows[i].model)
            .filter_map(|r| r.story.as_ref().map(|s| s.narration.as_str()))
            .collect();
        let recent = &recent[recent.len().saturating_sub(RECENT_NARRATIONS)..];
        let checks = quality::check(&QualityInput {
            narration: &story.narration,
            language: scenario.campaign.language,
            recent,
            max_answer_tokens: scenario.max_answer_tokens,
            tokens_out: rows[i].tokens_out.and_then(|t| u32::try_from(t).ok()),
        });
        rows[i].checks = Some(checks);
    }
}

/// Per-model quality, in the order of `stats`; a model without any narration has every rate
/// unknown.
fn quality_summaries(rows: &[TurnRow], stats: &[ModelStats]) -> Vec<QualitySummary> {
    let checked = quality::summarize(
        rows.iter()
            .filter_map(|r| r.checks.as_ref().map(|c| (r.model.as_str(), c))),
    );
    stats
        .iter()
        .map(|s| {
            checked
                .iter()
                .find(|q| q.model == s.model)
                .cloned()
                .unwrap_or(QualitySummary {
                    model: s.model.clone(),
                    count: 0,
                    language_ok_rate: None,
                    tag_error_rate: None,
                    meta_talk_rate: None,
                    repetition_mean: None,
                    budget_use_mean: None,
                })
        })
        .collect()
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn write_outputs(
    plan: &CompareRun<'_>,
    out: &Path,
    rows: &[TurnRow],
    stats: &[ModelStats],
    quality: &[QualitySummary],
    pairwise: Option<&Pairwise>,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut texts = vec![
        ("results.csv", output::results_csv(rows)),
        ("summary.csv", output::summary_csv(stats, quality, rows)),
    ];
    if let Some(pairwise) = pairwise {
        let (asked, ranking) = output::pairwise_csvs(pairwise);
        texts.push(("pairwise.csv", asked));
        texts.push(("ranking.csv", ranking));
    }
    texts.push(("run.json", manifest::to_json(plan)));
    let mut files = Vec::new();
    for (name, text) in texts {
        let path = out.join(name);
        write_file(&path, text.as_bytes())?;
        files.push(path);
    }
    let name = plan.scenario.campaign.name.as_str();
    let (width, height) = (chart::DEFAULT_WIDTH, chart::DEFAULT_HEIGHT);
    let mut pngs = Vec::new();
    for (file, chart) in output::charts(name, stats) {
        let png =
            chart::render(&chart, width, height).with_context(|| format!("drawing {file}"))?;
        pngs.push((file, png));
    }
    let title = format!("{name}: quality per turn");
    let png = render_quality(&title, quality, width, height).context("drawing quality.png")?;
    pngs.push(("quality.png", png));
    for (file, png) in pngs {
        let path = out.join(file);
        write_file(&path, &png)?;
        files.push(path);
    }
    Ok(files)
}
