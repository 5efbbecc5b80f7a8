//! Engine overhead with an instant scripted model and SQLite storage.
//!
//! `cargo bench --bench engine` prints: turns per second with 1,000 active channels, the p50/p99
//! time from a player's message to the finished narration (all of it engine and storage
//! overhead, since the model answers instantly), context building on a 100,000-message
//! session, and memory per idle session. Last, untimed, it counts the SQL statements of one
//! turn (sqlx reports each statement as a `sqlx::query` event; counting is switched on only
//! for that phase, so the timings pay nothing for it).

#[path = "../tests/support/scripted.rs"]
#[allow(dead_code)]
mod scripted;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use gamemaster::core::engine::context::{self, Budget, Cast, TokenCache};
use gamemaster::core::engine::{
    Engine, EngineDeps, EngineSettings, Notice, PlayerInput, PresentError, Presenter,
};
use gamemaster::core::game::campaign::{CampaignName, NewCampaign, Themes};
use gamemaster::core::game::language::Language;
use gamemaster::core::ids::*;
use gamemaster::core::models::chat::ModelId;
use gamemaster::core::store::*;
use gamemaster::runtime;
use gamemaster::storage::DatabaseUrl;
use gamemaster::storage::Db;
use scripted::{ScriptedModel, ScriptedModels};
use tokio::sync::Notify;
use tracing::subscriber::Interest;
use tracing_subscriber::layer::{Context, SubscriberExt};

/// Counts the statements sqlx runs while `on` is set.
#[derive(Default)]
struct StatementCounter {
    on: AtomicBool,
    count: AtomicU64,
}

struct CountLayer(Arc<StatementCounter>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountLayer {
    // Asked again at every event, so switching `on` takes effect at once.
    fn register_callsite(&self, meta: &'static tracing::Metadata<'static>) -> Interest {
        if meta.target() == "sqlx::query" {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        meta.target() == "sqlx::query" && self.0.on.load(Ordering::Relaxed)
    }

    fn on_event(&self, _: &tracing::Event<'_>, _: Context<'_, S>) {
        self.0.count.fetch_add(1, Ordering::Relaxed);
    }
}

const CHANNELS: u64 = 1000;
const TURNS_PER_CHANNEL: u64 = 5;

/// Counts finished narrations per channel and remembers when each finished.
#[derive(Default)]
struct Timing {
    finished: Mutex<HashMap<ChannelId, Vec<Instant>>>,
    changed: Notify,
}

#[async_trait]
impl Presenter for Timing {
    async fn typing(&self, _: ChannelId) {}
    async fn send(&self, _: ChannelId, _: &str) -> Result<DiscordMessageId, PresentError> {
        Ok(DiscordMessageId(1))
    }
    async fn edit(&self, _: ChannelId, _: DiscordMessageId, _: &str) -> Result<(), PresentError> {
        Ok(())
    }
    async fn narration_finished(
        &self,
        channel: ChannelId,
        _: DiscordMessageId,
        _: MessageId,
        _: &ModelId,
    ) -> Result<(), PresentError> {
        self.finished
            .lock()
            .unwrap()
            .entry(channel)
            .or_default()
            .push(Instant::now());
        self.changed.notify_waiters();
        Ok(())
    }
    async fn notice(&self, _: ChannelId, notice: &Notice) -> Result<(), PresentError> {
        panic!("unexpected notice {notice:?}");
    }
}

impl Timing {
    fn total(&self) -> usize {
        self.finished.lock().unwrap().values().map(Vec::len).sum()
    }

    /// When the channel's latest narration finished (not when the waiting task woke up).
    fn last_finished(&self, channel: ChannelId) -> Instant {
        *self.finished.lock().unwrap()[&channel].last().unwrap()
    }

    async fn wait_total(&self, n: usize) {
        loop {
            let notified = self.changed.notified();
            if self.total() >= n {
                return;
            }
            notified.await;
        }
    }
}

fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::parse(&format!("sqlite://{}/bench.db", dir.path().display())).unwrap();
    // The runtime the bot itself builds for this database.
    let runtime = runtime::build(runtime::Layout::for_database(&url)).unwrap();
    runtime.block_on(bench(url));
}

async fn bench(url: DatabaseUrl) {
    let statements = Arc::new(StatementCounter::default());
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(CountLayer(statements.clone())),
    )
    .unwrap();
    let db = Db::open(&url).await.unwrap();
    let models = Arc::new(ScriptedModels::default());
    let model = ScriptedModels::add(
        &models,
        "openai:gpt-4o-mini",
        ScriptedModel::new("The door opens onto a quiet hall. What do you do?"),
    );
    let timing = Arc::new(Timing::default());
    let engine = Engine::new(EngineDeps {
        store: Arc::new(db.clone()),
        models: models.clone(),
        presenter: timing.clone(),
        settings: EngineSettings {
            turn_window: Duration::ZERO,
            dice_seed: Some(1),
            ..EngineSettings::default()
        },
    });

    let rss_before = rss_kib();
    for c in 0..CHANNELS {
        let campaign = db
            .create_campaign(&NewCampaign {
                guild_id: GuildId(1),
                owner_id: UserId(1),
                name: CampaignName::parse(&format!("Bench {c}")).unwrap(),
                themes: Themes::parse("benchmarks").unwrap(),
                language: Language::En,
                tone: None,
                model: model.clone(),
            })
            .await
            .unwrap();
        engine
            .start_session(&campaign, GuildId(1), ChannelId(10_000 + c), UserId(1))
            .await
            .unwrap();
    }
    timing.wait_total(CHANNELS as usize).await;
    let rss_idle = rss_kib();
    println!(
        "memory: {:.1} KiB per idle session ({} sessions, RSS {} -> {} KiB)",
        (rss_idle.saturating_sub(rss_before)) as f64 / CHANNELS as f64,
        CHANNELS,
        rss_before,
        rss_idle
    );

    // Turns: every channel plays TURNS_PER_CHANNEL turns, one player each, all at once.
    let started = Instant::now();
    for turn in 0..TURNS_PER_CHANNEL {
        for c in 0..CHANNELS {
            let channel = ChannelId(10_000 + c);
            engine
                .player_message(PlayerInput {
                    channel,
                    author: UserId(1),
                    author_name: "bench".into(),
                    character: None,
                    content: format!("I take step {turn}."),
                    discord_message_id: None,
                })
                .await
                .unwrap();
        }
        // Wait for this round before the next, so each turn is its own narration.
        timing.wait_total((CHANNELS * (turn + 2)) as usize).await;
    }
    let elapsed = started.elapsed();
    let turns = CHANNELS * TURNS_PER_CHANNEL;
    println!(
        "throughput: {turns} turns in {elapsed:.2?} = {:.0} turns/s",
        turns as f64 / elapsed.as_secs_f64()
    );

    // Overhead of one turn while the other channels stay active: one message at a time, so
    // the figure is the engine's and storage's own work, not queueing behind other turns.
    let mut latencies: Vec<Duration> = Vec::new();
    for i in 0..2000u64 {
        let channel = ChannelId(10_000 + (i * 7919) % CHANNELS);
        let before = timing.total();
        let t = Instant::now();
        engine
            .player_message(PlayerInput {
                channel,
                author: UserId(1),
                author_name: "bench".into(),
                character: None,
                content: "I listen at the door.".into(),
                discord_message_id: None,
            })
            .await
            .unwrap();
        timing.wait_total(before + 1).await;
        latencies.push(timing.last_finished(channel) - t);
    }
    latencies.sort();
    println!(
        "turn overhead with {CHANNELS} active channels: p50 {:.2?}, p99 {:.2?} (message to finished narration, instant model)",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );

    // Statements per turn, untimed: the same single turns, counted.
    const COUNTED: u64 = 100;
    statements.on.store(true, Ordering::Relaxed);
    for i in 0..COUNTED {
        let channel = ChannelId(10_000 + (i * 7919) % CHANNELS);
        let before = timing.total();
        engine
            .player_message(PlayerInput {
                channel,
                author: UserId(1),
                author_name: "bench".into(),
                character: None,
                content: "I count the steps.".into(),
                discord_message_id: None,
            })
            .await
            .unwrap();
        timing.wait_total(before + 1).await;
    }
    statements.on.store(false, Ordering::Relaxed);
    println!(
        "SQL statements per turn: {:.1} ({} statements over {COUNTED} turns)",
        statements.count.load(Ordering::Relaxed) as f64 / COUNTED as f64,
        statements.count.load(Ordering::Relaxed)
    );

    // Context building on a 100,000-message session: read the window, count, render.
    let campaign = db
        .campaign_by_name(GuildId(1), "Bench 0")
        .await
        .unwrap()
        .unwrap();
    let session = db.active_session(ChannelId(10_000)).await.unwrap().unwrap();
    let mut tx = db.pool().begin().await.unwrap();
    for i in 0..100_000 {
        sqlx::query("INSERT INTO messages (session_id, campaign_id, author_id, role, content, status, created_at) VALUES ($1, $2, 1, $3, $4, 'complete', 0)")
            .bind(session.id.0)
            .bind(campaign.id.0)
            .bind(if i % 2 == 0 { "user" } else { "assistant" })
            .bind(format!("Message {i}: the party presses on through the long dark corridor."))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let characters = Vec::new();
    let cast = Cast {
        characters: &characters,
        state: "",
    };
    let budget = Budget {
        context_window: 128_000,
        max_answer_tokens: 700,
    };
    let mut cache = TokenCache::default();
    let mut samples = Vec::new();
    for round in 0..50 {
        let t = Instant::now();
        let tail = db.story_tail(session.id, None, 200).await.unwrap();
        let system = context::system_prompt(&campaign, &session, &cast).unwrap();
        let built = context::build(system, &tail, None, &cast, &budget, &mut cache, false);
        let took = t.elapsed();
        assert!(built.request.messages.len() >= 200);
        if round > 0 {
            samples.push(took); // the first round fills the token cache
        }
    }
    samples.sort();
    println!(
        "context for a 100,000-message session: p50 {:.2?}, p99 {:.2?} (200-message window, warm token cache)",
        percentile(&samples, 0.5),
        percentile(&samples, 0.99)
    );
}
