//! `gamemaster compare`: the same scripted turns through several models.
//!
//! Each model plays the scenario in a real session of the engine (the prompts, context
//! window, dice tags and rolling summaries the bot uses), on a temporary SQLite database of
//! its own so runs never see each other's story. Every model call is measured as it streams
//! and recorded in the configured database with kind `compare` (so it stays out of the
//! players' `/stats`); the first call of a turn is that turn's narration, which gives the
//! turn's row in `results.csv`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;

use crate::cli::CompareArgs;
use crate::config::Config;
use crate::core::engine::observed::{CallEnd, CallObserver, CallReport, ObservedModels};
use crate::core::engine::{
    Engine, EngineDeps, ModelSource, Notice, PlayerInput, PresentError, Presenter,
};
use crate::core::game::campaign::NewCampaign;
use crate::core::game::character::NewCharacter;
use crate::core::ids::{ChannelId, CharacterId, DiscordMessageId, GuildId, MessageId, UserId};
use crate::core::models::chat::{ErrorKind, LlmError, ModelId, Usage};
use crate::core::models::perf::{CallKind, PerfRecord};
use crate::core::stats::chart::{self, Chart, CostBar, LatencyBar, TokenBar};
use crate::core::stats::csv;
use crate::core::stats::{CallSample, ModelStats, model_stats};
use crate::core::store::{CampaignStore, CharacterStore, PerfStore};
use crate::storage::DatabaseUrl;
use crate::storage::Db;
use crate::tools::harness;
use crate::tools::scenario::Scenario;

/// The pseudo server, channel and players of a compare run (in its temporary database).
const GUILD: GuildId = GuildId(2);
const CHANNEL: ChannelId = ChannelId(2);
fn player(index: usize) -> UserId {
    UserId(100 + index as u64)
}

/// Columns of `results.csv`.
pub const RESULT_COLUMNS: [&str; 11] = [
    "model",
    "turn",
    "latency_ms",
    "ttft_ms",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "ok",
    "error_kind",
    "output_chars",
    "error_message",
];

/// Columns of `summary.csv`.
pub const SUMMARY_COLUMNS: [&str; 14] = [
    "model",
    "turns",
    "errors",
    "error_rate",
    "latency_p50_ms",
    "latency_p95_ms",
    "ttft_p50_ms",
    "tokens_in_mean",
    "tokens_out_mean",
    "tokens_in_total",
    "tokens_out_total",
    "tokens_per_second",
    "cost_total_usd",
    "cost_per_turn_usd",
];

/// One measured model call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallOutcome {
    pub latency_ms: i64,
    pub ttft_ms: Option<i64>,
    pub usage: Option<Usage>,
    pub output_chars: usize,
    pub error: Option<LlmError>,
}

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

/// The calls of one model's run, in order, as `compare` counts them.
#[derive(Default)]
struct Calls(Mutex<Vec<CallOutcome>>);

impl CallObserver for Calls {
    fn call_ended(&self, call: &CallReport<'_>) {
        let ms = |d: Duration| d.as_millis() as i64;
        let outcome = match call.end {
            CallEnd::Done { completion, .. } => CallOutcome {
                latency_ms: ms(completion.latency),
                ttft_ms: completion.ttft.or(call.first_text).map(ms),
                usage: Some(completion.usage),
                output_chars: call.output_chars,
                // An answer without text is a failed narration for the engine too.
                error: (call.output_chars == 0).then(|| {
                    LlmError::new(ErrorKind::Malformed, "the model returned an empty answer")
                }),
            },
            CallEnd::Failed { error, after } => CallOutcome {
                latency_ms: ms(after),
                ttft_ms: call.first_text.map(ms),
                usage: None,
                output_chars: call.output_chars,
                error: Some(error.clone()),
            },
        };
        self.0.lock().unwrap().push(outcome);
    }

    fn model_unavailable(&self, _model: &ModelId, error: &LlmError) {
        self.0.lock().unwrap().push(CallOutcome {
            latency_ms: 0,
            ttft_ms: None,
            usage: None,
            output_chars: 0,
            error: Some(error.clone()),
        });
    }
}

/// A chat surface that shows nothing: compare reads the calls, not the screen.
#[derive(Default)]
struct Silent {
    next: Mutex<u64>,
}

#[async_trait]
impl Presenter for Silent {
    async fn typing(&self, _channel: ChannelId) {}

    async fn send(&self, _: ChannelId, _: &str) -> Result<DiscordMessageId, PresentError> {
        let mut next = self.next.lock().unwrap();
        *next += 1;
        Ok(DiscordMessageId(*next))
    }

    async fn edit(&self, _: ChannelId, _: DiscordMessageId, _: &str) -> Result<(), PresentError> {
        Ok(())
    }

    async fn narration_finished(
        &self,
        _: ChannelId,
        _: DiscordMessageId,
        _: MessageId,
        _: &ModelId,
    ) -> Result<(), PresentError> {
        Ok(())
    }

    async fn notice(&self, _: ChannelId, _: &Notice) -> Result<(), PresentError> {
        Ok(())
    }
}

/// Where a run's temporary databases live; removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let dir =
            std::env::temp_dir().join(format!("gamemaster-compare-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating the temporary directory {}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a compare run produced.
pub struct CompareReport {
    pub rows: Vec<TurnRow>,
    pub stats: Vec<ModelStats>,
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
    let registry: Arc<dyn ModelSource> = Arc::new(harness::registry(config)?);
    let db = Db::open(&config.database_url).await?;
    let report = compare(
        &scenario,
        &models,
        registry,
        Some(&db),
        &args.out,
        &mut std::io::stderr(),
    )
    .await;
    db.catch_up_rollups().await;
    db.close().await;
    let report = report?;
    let mut out = std::io::stdout().lock();
    for s in &report.stats {
        writeln!(
            out,
            "{}: {} turns, {} failed, latency p50 {} ms, {} tokens out per turn, cost {}",
            s.model,
            s.calls,
            s.errors,
            s.latency_p50.map_or("-".into(), |v| format!("{v:.0}")),
            s.tokens_out_mean.map_or("-".into(), |v| format!("{v:.0}")),
            s.cost_total
                .map_or("unknown".into(), |v| format!("${v:.6}")),
        )?;
    }
    for file in &report.files {
        writeln!(out, "wrote {}", file.display())?;
    }
    Ok(())
}

/// Plays `scenario` through each model in turn and writes the results under `out`.
/// `record` receives every call as a `compare` performance record.
pub async fn compare(
    scenario: &Scenario,
    models: &[ModelId],
    source: Arc<dyn ModelSource>,
    record: Option<&dyn PerfStore>,
    out: &Path,
    progress: &mut dyn Write,
) -> anyhow::Result<CompareReport> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating the output directory {}", out.display()))?;
    let temp = TempDir::new()?;
    let mut rows = Vec::new();
    for (index, model) in models.iter().enumerate() {
        let db_path = temp.0.join(format!("model-{index}.db"));
        let label = format!("[{}/{}] {model}", index + 1, models.len());
        let model_rows = play_model(
            scenario,
            model,
            Arc::clone(&source),
            record,
            &db_path,
            &label,
            progress,
        )
        .await?;
        rows.extend(model_rows);
    }

    let samples: Vec<CallSample> = rows.iter().map(TurnRow::sample).collect();
    let mut stats = model_stats(&samples, &[], &[]);
    // Keep the order the models were given in, for the CSV and the charts.
    stats.sort_by_key(|s| {
        models
            .iter()
            .position(|m| m.to_string() == s.model)
            .unwrap_or(usize::MAX)
    });

    let mut files = Vec::new();
    let results = out.join("results.csv");
    write_file(&results, results_csv(&rows).as_bytes())?;
    files.push(results);
    let summary = out.join("summary.csv");
    write_file(&summary, summary_csv(&stats).as_bytes())?;
    files.push(summary);
    for (name, chart) in charts(scenario, &stats) {
        let png = chart::render(&chart, chart::DEFAULT_WIDTH, chart::DEFAULT_HEIGHT)
            .with_context(|| format!("drawing {name}"))?;
        let path = out.join(name);
        write_file(&path, &png)?;
        files.push(path);
    }
    Ok(CompareReport { rows, stats, files })
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// One model's run of the scenario, in a fresh session on its own temporary database.
async fn play_model(
    scenario: &Scenario,
    model: &ModelId,
    source: Arc<dyn ModelSource>,
    record: Option<&dyn PerfStore>,
    db_path: &Path,
    label: &str,
    progress: &mut dyn Write,
) -> anyhow::Result<Vec<TurnRow>> {
    let url = DatabaseUrl::parse(&format!("sqlite://{}", db_path.display()))
        .map_err(|e| anyhow::anyhow!("temporary database: {e}"))?;
    let db = Db::open(&url).await?;
    let result = play_on(scenario, model, source, record, &db, label, progress).await;
    db.close().await;
    result
}

async fn play_on(
    scenario: &Scenario,
    model: &ModelId,
    source: Arc<dyn ModelSource>,
    record: Option<&dyn PerfStore>,
    db: &Db,
    label: &str,
    progress: &mut dyn Write,
) -> anyhow::Result<Vec<TurnRow>> {
    let c = &scenario.campaign;
    let campaign = db
        .create_campaign(&NewCampaign {
            guild_id: GUILD,
            owner_id: player(0),
            name: c.name.clone(),
            themes: c.themes.clone(),
            language: c.language,
            tone: c.tone.clone(),
            model: model.clone(),
        })
        .await
        .context("creating the scenario's campaign")?;
    let mut characters: Vec<CharacterId> = Vec::new();
    for (i, ch) in scenario.characters.iter().enumerate() {
        let created = db
            .create_character(&NewCharacter {
                owner_id: player(i),
                guild_id: GUILD,
                campaign_id: Some(campaign.id),
                name: ch.name.clone(),
                class: ch.class.clone(),
                race: ch.race.clone(),
                gender: ch.gender.clone(),
                description: ch.description.clone(),
            })
            .await
            .context("creating the scenario's characters")?;
        characters.push(created.id);
    }

    let calls = Arc::new(Calls::default());
    let settings = crate::core::engine::EngineSettings {
        max_answer_tokens: scenario.max_answer_tokens,
        dice_seed: Some(scenario.dice_seed),
        // Only the model under test narrates: no fallback to a default model.
        default_model: None,
        turn_window: std::time::Duration::ZERO,
        ..crate::core::engine::EngineSettings::default()
    };
    let engine = Engine::new(EngineDeps {
        store: Arc::new(db.clone()),
        models: Arc::new(ObservedModels::new(Arc::clone(&source), calls.clone())),
        presenter: Arc::new(Silent::default()),
        settings,
    });

    let total = scenario.turns.len();
    let mut rows = Vec::with_capacity(total + 1);
    // Turn 0: the opening scene, as `/session start` narrates it.
    let started = engine
        .start_session(&campaign, GUILD, CHANNEL, player(0))
        .await;
    let opened = match started {
        Ok(_) => engine.flush(CHANNEL).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let row = finish_turn(model, 0, opened, &calls, record, &*source).await;
    report(progress, label, &row, total);
    rows.push(row);
    let session_ok = rows[0].error_kind.as_deref() != Some("engine");

    for (i, turn) in scenario.turns.iter().enumerate() {
        let number = i + 1;
        let outcome = if session_ok {
            let (author, character, name) = match turn.character {
                Some(index) => (
                    player(index),
                    characters.get(index).copied(),
                    format!("player{}", index + 1),
                ),
                None => (player(0), None, "player1".to_string()),
            };
            let sent = engine
                .player_message(PlayerInput {
                    channel: CHANNEL,
                    author,
                    author_name: name,
                    character,
                    content: turn.text.clone(),
                    discord_message_id: None,
                })
                .await;
            match sent {
                Ok(()) => engine.flush(CHANNEL).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        } else {
            Err("the session could not start".to_string())
        };
        let row = finish_turn(model, number, outcome, &calls, record, &*source).await;
        report(progress, label, &row, total);
        rows.push(row);
    }
    let _ = engine.end_session(CHANNEL).await;
    Ok(rows)
}

/// Turns the calls of one turn into its row, and records every call.
async fn finish_turn(
    model: &ModelId,
    turn: usize,
    outcome: Result<(), String>,
    calls: &Calls,
    record: Option<&dyn PerfStore>,
    source: &dyn ModelSource,
) -> TurnRow {
    let cost = |model: &ModelId, usage: &Usage| source.cost(model, usage);
    let calls = std::mem::take(&mut *calls.0.lock().unwrap());
    if let Some(store) = record {
        for call in &calls {
            let perf = PerfRecord {
                ttft_ms: call.ttft_ms,
                tokens_in: call.usage.map(|u| i64::from(u.tokens_in)),
                tokens_out: call.usage.map(|u| i64::from(u.tokens_out)),
                tokens_estimated: call.usage.is_some_and(|u| u.estimated),
                cost_usd: call.usage.and_then(|u| cost(model, &u)),
                ok: call.error.is_none(),
                error_kind: call.error.as_ref().map(|e| e.kind.as_str().to_string()),
                ..PerfRecord::call(model.to_string(), CallKind::Compare, call.latency_ms)
            };
            if let Err(e) = store.record_call(&perf).await {
                tracing::warn!(error = %e, "could not record a compare call");
            }
        }
    }
    let base = TurnRow {
        model: model.to_string(),
        turn,
        latency_ms: 0,
        ttft_ms: None,
        tokens_in: None,
        tokens_out: None,
        cost_usd: None,
        ok: false,
        error_kind: None,
        error_message: None,
        output_chars: 0,
    };
    match (calls.into_iter().next(), outcome) {
        (Some(call), _) => TurnRow {
            latency_ms: call.latency_ms,
            ttft_ms: call.ttft_ms,
            tokens_in: call.usage.map(|u| i64::from(u.tokens_in)),
            tokens_out: call.usage.map(|u| i64::from(u.tokens_out)),
            cost_usd: call.usage.and_then(|u| cost(model, &u)),
            ok: call.error.is_none(),
            error_kind: call.error.as_ref().map(|e| e.kind.as_str().to_string()),
            error_message: call.error.map(|e| e.message),
            output_chars: call.output_chars,
            ..base
        },
        (None, Err(message)) => TurnRow {
            error_kind: Some("engine".into()),
            error_message: Some(message),
            ..base
        },
        (None, Ok(())) => TurnRow {
            error_kind: Some("no_call".into()),
            error_message: Some("the engine made no model call for this turn".into()),
            ..base
        },
    }
}

fn report(progress: &mut dyn Write, label: &str, row: &TurnRow, total: usize) {
    let turn = if row.turn == 0 {
        format!("turn 0/{total} (opening)")
    } else {
        format!("turn {}/{total}", row.turn)
    };
    let line = if row.ok {
        format!(
            "{label} {turn}: ok in {} ms (first token {}), {} -> {} tokens, {} chars",
            row.latency_ms,
            row.ttft_ms.map_or("-".into(), |t| format!("{t} ms")),
            opt(row.tokens_in),
            opt(row.tokens_out),
            row.output_chars
        )
    } else {
        format!(
            "{label} {turn}: FAILED ({}) after {} ms: {}",
            row.error_kind.as_deref().unwrap_or("unknown"),
            row.latency_ms,
            row.error_message.as_deref().unwrap_or("")
        )
    };
    let _ = writeln!(progress, "compare: {line}");
    let _ = progress.flush();
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or(String::new(), |v| v.to_string())
}

/// `results.csv`: one row per model and turn; empty fields are unknown values.
pub fn results_csv(rows: &[TurnRow]) -> String {
    let mut out = csv::line(&RESULT_COLUMNS.map(String::from));
    for r in rows {
        out.push_str(&csv::line(&[
            r.model.clone(),
            r.turn.to_string(),
            r.latency_ms.to_string(),
            opt(r.ttft_ms),
            opt(r.tokens_in),
            opt(r.tokens_out),
            csv::number(r.cost_usd),
            r.ok.to_string(),
            r.error_kind.clone().unwrap_or_default(),
            r.output_chars.to_string(),
            r.error_message.clone().unwrap_or_default(),
        ]));
    }
    out
}

/// `summary.csv`: per-model aggregates (`core::stats::model_stats` over the turn rows).
pub fn summary_csv(stats: &[ModelStats]) -> String {
    let mut out = csv::line(&SUMMARY_COLUMNS.map(String::from));
    for s in stats {
        out.push_str(&csv::line(&csv::call_fields(s)));
    }
    out
}

fn charts(scenario: &Scenario, stats: &[ModelStats]) -> Vec<(&'static str, Chart)> {
    let name = scenario.campaign.name.as_str();
    vec![
        (
            "latency.png",
            Chart::Latency {
                title: format!("{name}: latency per turn (p50, p95)"),
                bars: stats.iter().filter_map(LatencyBar::from_stats).collect(),
            },
        ),
        (
            "tokens.png",
            Chart::Tokens {
                title: format!("{name}: tokens per turn (in, out)"),
                bars: stats.iter().filter_map(TokenBar::from_stats).collect(),
            },
        ),
        (
            "cost.png",
            Chart::Cost {
                title: format!("{name}: cost of the scenario (USD)"),
                bars: stats.iter().filter_map(CostBar::from_stats).collect(),
            },
        ),
    ]
}
