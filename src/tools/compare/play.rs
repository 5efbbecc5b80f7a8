//! One model after the other plays the scenario in a real session of the engine, on a
//! temporary SQLite database of its own; each turn gives one row.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;

use super::calls::{Calls, Silent, TempDir};
use super::state::StateReader;
use super::story::{StoryReader, TurnStory};
use super::{CompareRun, TurnRow};
use crate::core::engine::observed::ObservedModels;
use crate::core::engine::{Engine, EngineDeps, EngineSettings, ModelSource, PlayerInput};
use crate::core::game::campaign::{Campaign, NewCampaign};
use crate::core::game::character::{Character, NewCharacter};
use crate::core::game::prompt::PromptSet;
use crate::core::ids::{ChannelId, GuildId, UserId};
use crate::core::models::chat::{ModelId, Usage};
use crate::core::models::perf::{CallKind, PerfRecord};
use crate::core::store::{CampaignStore, PerfStore, SheetStore};
use crate::storage::{DatabaseUrl, Db};
use crate::tools::scenario::Scenario;

/// The pseudo server, channel and players of a compare run (in its temporary database).
const GUILD: GuildId = GuildId(2);
const CHANNEL: ChannelId = ChannelId(2);
fn player(index: usize) -> UserId {
    UserId(100 + index as u64)
}

/// Every model's rows, models in the order given.
pub(super) async fn play_all(
    plan: &CompareRun<'_>,
    source: Arc<dyn ModelSource>,
    record: Option<&dyn PerfStore>,
    progress: &mut dyn Write,
) -> anyhow::Result<Vec<TurnRow>> {
    let temp = TempDir::new()?;
    let mut rows = Vec::new();
    for (index, model) in plan.models.iter().enumerate() {
        let url = format!(
            "sqlite://{}",
            temp.0.join(format!("model-{index}.db")).display()
        );
        let url =
            DatabaseUrl::parse(&url).map_err(|e| anyhow::anyhow!("temporary database: {e}"))?;
        let db = Db::open(&url).await?;
        let player = Player {
            scenario: plan.scenario,
            model,
            source: Arc::clone(&source),
            record,
            label: format!("[{}/{}] {model}", index + 1, plan.models.len()),
            seed: plan.seed,
        };
        let result = player.play_on(&db, progress).await;
        db.close().await;
        rows.extend(result?);
    }
    Ok(rows)
}

/// One model's run of the scenario.
struct Player<'a> {
    scenario: &'a Scenario,
    model: &'a ModelId,
    source: Arc<dyn ModelSource>,
    record: Option<&'a dyn PerfStore>,
    label: String,
    seed: u64,
}

impl Player<'_> {
    /// The scenario's campaign and party in the run's database, each character with its
    /// starting sheet.
    async fn set_table(&self, db: &Db) -> anyhow::Result<(Campaign, Vec<Character>)> {
        let c = &self.scenario.campaign;
        let campaign = db
            .create_campaign(&NewCampaign {
                guild_id: GUILD,
                owner_id: player(0),
                name: c.name.clone(),
                themes: c.themes.clone(),
                language: c.language,
                tone: c.tone.clone(),
                model: self.model.clone(),
            })
            .await
            .context("creating the scenario's campaign")?;
        let mut characters = Vec::new();
        for (i, ch) in self.scenario.characters.iter().enumerate() {
            let new = NewCharacter {
                owner_id: player(i),
                guild_id: GUILD,
                campaign_id: Some(campaign.id),
                name: ch.name.clone(),
                class: ch.class.clone(),
                race: ch.race.clone(),
                gender: ch.gender.clone(),
                description: ch.description.clone(),
            };
            let (created, _) = db
                .create_character_with_sheet(&new, &ch.sheet)
                .await
                .context("creating the scenario's characters")?;
            characters.push(created);
        }
        Ok((campaign, characters))
    }

    fn engine(&self, db: &Db, calls: &Arc<Calls>) -> Engine {
        let settings = EngineSettings {
            max_answer_tokens: self.scenario.max_answer_tokens,
            dice_seed: Some(self.seed),
            // Only the model under test narrates: no fallback to a default model.
            default_model: None,
            turn_window: std::time::Duration::ZERO,
            ..EngineSettings::default()
        };
        Engine::new(EngineDeps {
            store: Arc::new(db.clone()),
            models: Arc::new(ObservedModels::new(Arc::clone(&self.source), calls.clone())),
            presenter: Arc::new(Silent::default()),
            settings,
        })
    }

    async fn play_on(&self, db: &Db, progress: &mut dyn Write) -> anyhow::Result<Vec<TurnRow>> {
        let (campaign, characters) = self.set_table(db).await?;
        let calls = Arc::new(Calls::default());
        let engine = self.engine(db, &calls);
        let total = self.scenario.turns.len();
        let mut rows = Vec::with_capacity(total + 1);
        // Turn 0: the opening scene, as `/session start` narrates it.
        let started = engine
            .start_session(&campaign, GUILD, CHANNEL, player(0))
            .await;
        let opening = PromptSet::for_language(campaign.language).opening;
        let mut changes = StateReader::new(campaign.id);
        let mut reader = started
            .as_ref()
            .ok()
            .map(|s| StoryReader::new(s.id, &characters, opening));
        let opened = match started {
            Ok(_) => engine.flush(CHANNEL).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let story = read_story(&mut reader, db).await;
        let state = read_state(&mut changes, db, story.is_some()).await;
        let row = self.finish_turn(0, opened, &calls, story, state).await;
        report(progress, &self.label, &row, total);
        rows.push(row);

        for (i, turn) in self.scenario.turns.iter().enumerate() {
            let outcome = match reader {
                Some(_) => {
                    let (author, character, name) = match turn.character {
                        Some(index) => (
                            player(index),
                            characters.get(index).map(|c| c.id),
                            format!("player{}", index + 1),
                        ),
                        None => (player(0), None, "player1".to_string()),
                    };
                    let input = PlayerInput {
                        channel: CHANNEL,
                        author,
                        author_name: name,
                        character,
                        content: turn.text.clone(),
                        discord_message_id: None,
                    };
                    match engine.player_message(input).await {
                        Ok(()) => engine.flush(CHANNEL).await.map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    }
                }
                None => Err("the session could not start".to_string()),
            };
            let story = read_story(&mut reader, db).await;
            let state = read_state(&mut changes, db, story.is_some()).await;
            let row = self.finish_turn(i + 1, outcome, &calls, story, state).await;
            report(progress, &self.label, &row, total);
            rows.push(row);
        }
        let _ = engine.end_session(CHANNEL).await;
        Ok(rows)
    }

    /// Turns the calls of one turn into its row, and records every call.
    async fn finish_turn(
        &self,
        turn: usize,
        outcome: Result<(), String>,
        calls: &Calls,
        story: Option<TurnStory>,
        state: Option<Vec<String>>,
    ) -> TurnRow {
        let model = self.model;
        let cost = |usage: &Usage| self.source.cost(model, usage);
        let calls = std::mem::take(&mut *calls.0.lock().unwrap());
        if let Some(store) = self.record {
            for call in &calls {
                let perf = PerfRecord {
                    ttft_ms: call.ttft_ms,
                    tokens_in: call.usage.map(|u| i64::from(u.tokens_in)),
                    tokens_out: call.usage.map(|u| i64::from(u.tokens_out)),
                    tokens_estimated: call.usage.is_some_and(|u| u.estimated),
                    cost_usd: call.usage.and_then(|u| cost(&u)),
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
            story,
            checks: None,
            judge: None,
            state_changes: state.as_ref().map(Vec::len),
            state_log: state.unwrap_or_default(),
        };
        match (calls.into_iter().next(), outcome) {
            (Some(call), _) => TurnRow {
                latency_ms: call.latency_ms,
                ttft_ms: call.ttft_ms,
                tokens_in: call.usage.map(|u| i64::from(u.tokens_in)),
                tokens_out: call.usage.map(|u| i64::from(u.tokens_out)),
                cost_usd: call.usage.and_then(|u| cost(&u)),
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
}

/// The turn's narration, if the session runs and the model wrote one. A failure to read the
/// run's own database leaves the turn without checks rather than stopping the run.
async fn read_story(reader: &mut Option<StoryReader<'_>>, db: &Db) -> Option<TurnStory> {
    match reader.as_mut()?.next(db).await {
        Ok(story) => story,
        Err(e) => {
            tracing::warn!(error = %e, "could not read a compare turn's narration");
            None
        }
    }
}

/// The model's state changes since the last turn; None when the turn has no narration (so
/// nothing of the model's to count) or the run's database could not be read.
async fn read_state(reader: &mut StateReader, db: &Db, narrated: bool) -> Option<Vec<String>> {
    match reader.next(db).await {
        Ok(log) => narrated.then_some(log),
        Err(e) => {
            tracing::warn!(error = %e, "could not read a compare turn's state changes");
            None
        }
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or(String::new(), |v| v.to_string())
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
