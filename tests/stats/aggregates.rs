//! `/stats` end to end: storage queries on both engines (SQLite always, PostgreSQL with
//! `TEST_DATABASE_URL`), the report built on them, and the `gamemaster stats` command.

use crate::support;

use std::path::Path;
use std::process::{Command, Output};

use gamemaster::core::game::campaign::{CampaignName, NewCampaign, Themes};
use gamemaster::core::game::language::Language;
use gamemaster::core::game::transcript::{MessageRole, MessageStatus, NewMessage};
use gamemaster::core::game::vote::{ArenaChoice, Rating};
use gamemaster::core::ids::*;
use gamemaster::core::models::chat::ModelId;
use gamemaster::core::models::perf::{CallKind, PerfRecord};
use gamemaster::core::stats::chart::{Chart, DailyLatency};
use gamemaster::core::stats::{
    ArenaConfig, Battle, Metric, ModelStats, Outcome, StatsQuery, StatsScope, ThumbVotes,
    build_report, report_csv,
};
use gamemaster::core::store::*;
use gamemaster::storage::Db;
use rand::SeedableRng;
use rand::rngs::StdRng;
use support::db::engines;

const GUILD: GuildId = GuildId(111_111_111_111_111_111);
const OTHER_GUILD: GuildId = GuildId(222_222_222_222_222_222);
const ALICE: UserId = UserId(900_000_000_000_000_001);
const BOB: UserId = UserId(900_000_000_000_000_002);
const DAY: i64 = 86_400_000;

fn campaign(guild: GuildId, name: &str) -> NewCampaign {
    NewCampaign {
        guild_id: guild,
        owner_id: ALICE,
        name: CampaignName::parse(name).unwrap(),
        themes: Themes::parse("dragons").unwrap(),
        language: Language::En,
        tone: None,
        model: ModelId::parse("openai:gpt-4o-mini").unwrap(),
    }
}

#[allow(clippy::too_many_arguments)]
fn call(
    guild: GuildId,
    campaign: Option<CampaignId>,
    user: UserId,
    model: &str,
    kind: CallKind,
    latency_ms: i64,
    cost_usd: Option<f64>,
    ok: bool,
    at: i64,
) -> PerfRecord {
    PerfRecord {
        guild_id: Some(guild),
        campaign_id: campaign,
        user_id: Some(user),
        model: model.into(),
        kind,
        latency_ms,
        ttft_ms: ok.then_some(latency_ms / 2),
        tokens_in: Some(1000),
        tokens_out: ok.then_some(100),
        cost_usd,
        ok,
        error_kind: (!ok).then(|| "timeout".into()),
        created_at: Timestamp(at),
        ..crate::support::perf::call()
    }
}

struct Fixture {
    now: i64,
    c1: CampaignId,
    c2: CampaignId,
}

/// Two servers, two models, calls of every kind, thumbs and arena battles.
async fn seed(db: &Db) -> Fixture {
    let now = Timestamp::now().0;
    let (d2, d1) = (now - 2 * DAY, now - DAY);
    let c1 = db
        .create_campaign(&campaign(GUILD, "Here"))
        .await
        .unwrap()
        .id;
    let c2 = db
        .create_campaign(&campaign(OTHER_GUILD, "Elsewhere"))
        .await
        .unwrap()
        .id;
    use CallKind::*;
    let rows = [
        // m-fast on GUILD for Alice: four successes, one failure, one unknown cost.
        call(
            GUILD,
            Some(c1),
            ALICE,
            "m-fast",
            Narration,
            100,
            Some(0.001),
            true,
            d2,
        ),
        call(
            GUILD,
            Some(c1),
            ALICE,
            "m-fast",
            Narration,
            200,
            Some(0.002),
            true,
            d2,
        ),
        call(
            GUILD,
            Some(c1),
            ALICE,
            "m-fast",
            Narration,
            300,
            None,
            true,
            d1,
        ),
        call(
            GUILD,
            Some(c1),
            ALICE,
            "m-fast",
            Narration,
            400,
            Some(0.003),
            true,
            d1,
        ),
        call(
            GUILD,
            Some(c1),
            ALICE,
            "m-fast",
            Narration,
            30_000,
            None,
            false,
            d1,
        ),
        // m-slow on GUILD for Bob, arena calls, price unknown.
        call(GUILD, Some(c1), BOB, "m-slow", Arena, 1000, None, true, d1),
        call(GUILD, Some(c1), BOB, "m-slow", Arena, 2000, None, true, d1),
        call(GUILD, Some(c1), BOB, "m-slow", Arena, 3000, None, true, d1),
        // Not narration: left out by default.
        call(
            GUILD,
            Some(c1),
            ALICE,
            "m-fast",
            Summary,
            99_999,
            Some(1.0),
            true,
            d1,
        ),
        call(
            GUILD,
            None,
            ALICE,
            "m-fast",
            Portrait,
            88_888,
            Some(1.0),
            true,
            d1,
        ),
        // Outside a 30-day window.
        call(
            GUILD,
            Some(c1),
            ALICE,
            "m-fast",
            Narration,
            5,
            Some(5.0),
            true,
            now - 40 * DAY,
        ),
        // Another server.
        call(
            OTHER_GUILD,
            Some(c2),
            BOB,
            "m-fast",
            Narration,
            7,
            Some(0.5),
            true,
            d1,
        ),
    ];
    for row in &rows {
        db.record_call(row).await.unwrap();
    }

    // Thumbs: GUILD's narrations, a user message, and one narration on the other server.
    let s1 = db
        .start_session(c1, Some(GUILD), ChannelId(1), Some(ALICE))
        .await
        .unwrap()
        .id;
    let s2 = db
        .start_session(c2, Some(OTHER_GUILD), ChannelId(2), Some(BOB))
        .await
        .unwrap()
        .id;
    let say = |session, campaign, role, model: Option<&str>| NewMessage {
        session_id: session,
        campaign_id: campaign,
        author_id: None,
        character_id: None,
        role,
        content: "…".into(),
        model: model.map(str::to_owned),
        status: MessageStatus::Complete,
        discord_message_id: None,
        author_name: None,
    };
    let m1 = db
        .append_message(&say(s1, c1, MessageRole::Assistant, Some("m-fast")))
        .await
        .unwrap()
        .id;
    let m2 = db
        .append_message(&say(s1, c1, MessageRole::Assistant, Some("m-slow")))
        .await
        .unwrap()
        .id;
    let user_msg = db
        .append_message(&say(s1, c1, MessageRole::User, None))
        .await
        .unwrap()
        .id;
    let m3 = db
        .append_message(&say(s2, c2, MessageRole::Assistant, Some("m-fast")))
        .await
        .unwrap()
        .id;
    db.set_rating(m1, ALICE, Rating::Up).await.unwrap();
    db.set_rating(m1, BOB, Rating::Down).await.unwrap();
    db.set_rating(m2, BOB, Rating::Up).await.unwrap();
    db.set_rating(user_msg, BOB, Rating::Up).await.unwrap();
    db.set_rating(m3, ALICE, Rating::Down).await.unwrap();
    // An old vote, outside the window.
    let m4 = db
        .append_message(&say(s1, c1, MessageRole::Assistant, Some("m-slow")))
        .await
        .unwrap()
        .id;
    db.set_rating(m4, ALICE, Rating::Down).await.unwrap();
    sqlx::query("UPDATE ratings SET created_at = $1 WHERE message_id = $2")
        .bind(now - 40 * DAY)
        .bind(m4.0)
        .execute(db.pool())
        .await
        .unwrap();

    // Arena: decided, undecided and another server's battles.
    let battle = |session, guild, a: &'static str, b: &'static str| async move {
        db.create_battle(session, Some(guild), a, b, m1, m2)
            .await
            .unwrap()
            .id
    };
    let b1 = battle(s1, GUILD, "m-fast", "m-slow").await;
    let b2 = battle(s1, GUILD, "m-slow", "m-fast").await;
    let b3 = battle(s1, GUILD, "m-fast", "m-slow").await;
    let b4 = battle(s1, GUILD, "m-slow", "m-fast").await;
    let b5 = battle(s2, OTHER_GUILD, "m-fast", "m-slow").await;
    assert!(db.arena_vote(b1, ALICE, ArenaChoice::A).await.unwrap());
    assert!(db.arena_vote(b3, ALICE, ArenaChoice::B).await.unwrap());
    db.decide_battle(b1, ArenaChoice::A).await.unwrap();
    db.decide_battle(b2, ArenaChoice::Tie).await.unwrap();
    db.decide_battle(b4, ArenaChoice::BothBad).await.unwrap();
    db.decide_battle(b5, ArenaChoice::B).await.unwrap();
    Fixture { now, c1, c2 }
}

fn by_model<'a>(stats: &'a [ModelStats], model: &str) -> &'a ModelStats {
    stats.iter().find(|s| s.model == model).unwrap()
}

fn close(actual: Option<f64>, expected: f64) {
    let actual = actual.expect("a value");
    assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
}

async fn stats_for(db: &Db, query: &StatsQuery) -> Vec<ModelStats> {
    let data = fetch_stats_data(db, query).await.unwrap();
    gamemaster::core::stats::model_stats_from_summaries(&data.calls, &[], &[])
}

#[tokio::test]
async fn call_aggregates_are_exact_and_scoped_on_both_engines() {
    for t in engines().await {
        let db = &t.db;
        let f = seed(db).await;
        let engine = t.backend().name();
        let since = Timestamp(f.now - 30 * DAY);

        let server = stats_for(db, &StatsQuery::new(StatsScope::Server(GUILD), since)).await;
        assert_eq!(server.len(), 2, "{engine}");
        let fast = by_model(&server, "m-fast");
        // Another server's 7 ms call, the old 5 ms call, the summary and the portrait are out.
        assert_eq!((fast.calls, fast.errors), (5, 1), "{engine}");
        close(fast.error_rate, 0.2);
        close(fast.latency_p50, 250.0);
        close(fast.latency_p95, 385.0);
        close(fast.ttft_p50, 125.0);
        // Known costs 0.001 + 0.002 + 0.003; the two NULL costs are unknown, not zero.
        close(fast.cost_total, 0.006);
        close(fast.cost_per_turn, 0.002);
        assert_eq!(fast.tokens_in_total, 5000);
        assert_eq!(fast.tokens_out_total, 400);
        let slow = by_model(&server, "m-slow");
        close(slow.latency_p50, 2000.0);
        close(slow.latency_p95, 2900.0);
        close(slow.error_rate, 0.0);
        assert_eq!(
            slow.cost_total, None,
            "{engine}: NULL costs must stay unknown"
        );
        assert_eq!(slow.cost_per_turn, None);

        let other = stats_for(db, &StatsQuery::new(StatsScope::Server(OTHER_GUILD), since)).await;
        assert_eq!(other.len(), 1);
        assert_eq!(other[0].calls, 1);
        close(other[0].latency_p50, 7.0);

        let global = stats_for(db, &StatsQuery::new(StatsScope::Global, since)).await;
        assert_eq!(by_model(&global, "m-fast").calls, 6);
        close(by_model(&global, "m-fast").cost_total, 0.506);

        let alice = stats_for(db, &StatsQuery::new(StatsScope::Me(ALICE), since)).await;
        assert_eq!(alice.len(), 1);
        assert_eq!(alice[0].calls, 5);
        let bob = stats_for(db, &StatsQuery::new(StatsScope::Me(BOB), since)).await;
        assert_eq!(by_model(&bob, "m-slow").calls, 3);
        assert_eq!(by_model(&bob, "m-fast").calls, 1);

        let c1 = stats_for(db, &StatsQuery::new(StatsScope::Campaign(f.c1), since)).await;
        assert_eq!(c1.iter().map(|s| s.calls).sum::<u64>(), 8);
        let c2 = stats_for(db, &StatsQuery::new(StatsScope::Campaign(f.c2), since)).await;
        assert_eq!(c2.iter().map(|s| s.calls).sum::<u64>(), 1);

        // A wider window takes the 40-day-old call in; other kinds on request.
        let wide = StatsQuery::new(StatsScope::Server(GUILD), Timestamp(f.now - 50 * DAY));
        assert_eq!(by_model(&stats_for(db, &wide).await, "m-fast").calls, 6);
        let summaries = StatsQuery::new(StatsScope::Server(GUILD), since)
            .with_kinds(&[CallKind::Summary, CallKind::Portrait]);
        let samples = db.call_samples(&summaries).await.unwrap();
        let mut latencies: Vec<i64> = samples.iter().map(|s| s.latency_ms).collect();
        latencies.sort();
        assert_eq!(latencies, [88_888, 99_999]);
        assert!(
            db.call_samples(&summaries.with_kinds(&[]))
                .await
                .unwrap()
                .is_empty()
        );
        // A window starting in the future is empty.
        let future = StatsQuery::new(StatsScope::Global, Timestamp(f.now + DAY));
        assert!(db.call_samples(&future).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn thumbs_join_assistant_messages_per_model() {
    for t in engines().await {
        let db = &t.db;
        let f = seed(db).await;
        let since = Timestamp(f.now - 30 * DAY);
        let thumbs = |scope| {
            let query = StatsQuery::new(scope, since);
            async move { db.thumb_votes(&query).await.unwrap() }
        };
        let votes = |model: &str, up: u64, down: u64| ThumbVotes {
            model: model.into(),
            up,
            down,
        };
        // The vote on a player's message and the 40-day-old vote are not counted.
        assert_eq!(
            thumbs(StatsScope::Server(GUILD)).await,
            [votes("m-fast", 1, 1), votes("m-slow", 1, 0)],
            "{}",
            t.backend().name()
        );
        assert_eq!(
            thumbs(StatsScope::Global).await,
            [votes("m-fast", 1, 2), votes("m-slow", 1, 0)]
        );
        assert_eq!(thumbs(StatsScope::Me(ALICE)).await, [votes("m-fast", 1, 1)]);
        assert_eq!(
            thumbs(StatsScope::Campaign(f.c2)).await,
            [votes("m-fast", 0, 1)]
        );
        let all_time = StatsQuery::new(StatsScope::Server(GUILD), Timestamp(0));
        assert_eq!(
            db.thumb_votes(&all_time).await.unwrap()[1],
            votes("m-slow", 1, 1)
        );
    }
}

#[tokio::test]
async fn arena_battles_map_decisions_to_outcomes() {
    for t in engines().await {
        let db = &t.db;
        let f = seed(db).await;
        let since = Timestamp(f.now - 30 * DAY);
        let battles = |scope| {
            let query = StatsQuery::new(scope, since);
            async move { db.arena_battles(&query).await.unwrap() }
        };
        let battle = |a: &str, b: &str, outcome| Battle {
            model_a: a.into(),
            model_b: b.into(),
            outcome,
        };
        // The undecided battle is left out; the other server's battle too.
        assert_eq!(
            battles(StatsScope::Server(GUILD)).await,
            [
                battle("m-fast", "m-slow", Outcome::AWins),
                battle("m-slow", "m-fast", Outcome::Tie),
                battle("m-slow", "m-fast", Outcome::BothBad),
            ],
            "{}",
            t.backend().name()
        );
        assert_eq!(battles(StatsScope::Global).await.len(), 4);
        assert_eq!(
            battles(StatsScope::Campaign(f.c2)).await,
            [battle("m-fast", "m-slow", Outcome::BWins)]
        );
        // Alice's own votes, decided or not.
        assert_eq!(
            battles(StatsScope::Me(ALICE)).await,
            [
                battle("m-fast", "m-slow", Outcome::AWins),
                battle("m-fast", "m-slow", Outcome::BWins),
            ]
        );
        let future = StatsQuery::new(StatsScope::Global, Timestamp(f.now + DAY));
        assert!(db.arena_battles(&future).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn daily_latency_is_a_mean_per_model_per_utc_day() {
    for t in engines().await {
        let db = &t.db;
        let f = seed(db).await;
        let query = StatsQuery::new(StatsScope::Server(GUILD), Timestamp(f.now - 30 * DAY));
        let series = db.daily_latency(&query).await.unwrap();
        let (d2, d1) = (
            ((f.now - 2 * DAY) / DAY) as i32,
            ((f.now - DAY) / DAY) as i32,
        );
        // The failed 30 s call is not a latency.
        assert_eq!(
            series,
            [
                DailyLatency {
                    model: "m-fast".into(),
                    points: vec![(d2, 150.0), (d1, 350.0)],
                },
                DailyLatency {
                    model: "m-slow".into(),
                    points: vec![(d1, 2000.0)],
                },
            ],
            "{}",
            t.backend().name()
        );
    }
}

#[tokio::test]
async fn the_report_picks_the_chart_of_the_metric() {
    let t = support::db::sqlite().await;
    let f = seed(&t.db).await;
    let query = StatsQuery::new(StatsScope::Server(GUILD), Timestamp(f.now - 30 * DAY));
    let data = fetch_stats_data(&t.db, &query).await.unwrap();
    let report = |metric| {
        build_report(
            metric,
            &data,
            "this server, last 30 days",
            &ArenaConfig {
                bootstrap_rounds: 10,
                min_votes: 1,
                ..ArenaConfig::default()
            },
            &mut StdRng::seed_from_u64(3),
        )
    };
    let latency = report(Metric::Latency);
    let Chart::Latency { bars, .. } = &latency.chart else {
        panic!("{:?}", latency.chart)
    };
    assert_eq!(bars[0].model, "m-fast");
    assert_eq!((bars[0].p50_ms, bars[0].p95_ms), (250.0, 385.0));
    // Only m-fast has a known cost.
    let cost = report(Metric::Cost);
    let Chart::Cost { bars, .. } = &cost.chart else {
        panic!("{:?}", cost.chart)
    };
    assert_eq!(bars.len(), 1);
    assert_eq!(cost.leaderboard.len(), 1);
    assert!(matches!(
        report(Metric::TokensOut).chart,
        Chart::Tokens { .. }
    ));
    assert!(matches!(report(Metric::Arena).chart, Chart::Ratings { .. }));
    assert!(matches!(
        report(Metric::ThumbsUp).chart,
        Chart::Values { .. }
    ));
    assert_eq!(report(Metric::Arena).arena.len(), 2);
    for metric in Metric::ALL {
        let png = gamemaster::core::stats::chart::render(&report(metric).chart, 400, 300).unwrap();
        assert_eq!(png_size(&png), (400, 300), "{metric}");
    }
    let csv = report_csv(&latency.stats);
    assert_eq!(csv.lines().count(), 3);
    assert!(
        csv.lines()
            .nth(2)
            .unwrap()
            .starts_with("m-slow,3,0,0,2000,2900,")
    );
}

// ---- the command line ----

fn gamemaster(dir: &Path, args: &[&str], database_url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gamemaster"))
        .current_dir(dir)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .output()
        .expect("run gamemaster")
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

#[tokio::test]
async fn the_stats_command_writes_the_chart_the_table_and_the_csv() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/gm.db", dir.path().display());
    let db = Db::open(&gamemaster::storage::DatabaseUrl::parse(&url).unwrap())
        .await
        .unwrap();
    seed(&db).await;
    db.close().await;

    let guild = GUILD.0.to_string();
    let out = gamemaster(
        dir.path(),
        &[
            "stats",
            "--out",
            "chart.png",
            "--guild",
            &guild,
            "--metric",
            "latency",
            "--width",
            "640",
            "--height",
            "360",
            "--csv",
            "stats.csv",
        ],
        &url,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(dir.path().join("chart.png")).unwrap();
    assert_eq!(png_size(&png), (640, 360));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("Latency (p50) · server 111111111111111111"),
        "{stdout}"
    );
    let first = lines.iter().position(|l| l.contains("m-fast")).unwrap();
    let second = lines.iter().position(|l| l.contains("m-slow")).unwrap();
    assert!(first < second, "best first: {stdout}");
    assert!(lines[first].contains("250 ms"), "{stdout}");

    let csv = std::fs::read_to_string(dir.path().join("stats.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(rows[0].starts_with("model,calls,errors,error_rate,latency_p50_ms"));
    assert!(rows[1].starts_with("m-fast,5,1,0.2,250,385,125,"), "{csv}");
    assert!(rows[2].starts_with("m-slow,3,0,0,2000,2900,"), "{csv}");

    // Another metric, scope and the default size.
    let out = gamemaster(
        dir.path(),
        &[
            "stats", "--out", "cost.png", "--scope", "global", "--metric", "cost",
        ],
        &url,
    );
    assert!(out.status.success());
    assert_eq!(
        png_size(&std::fs::read(dir.path().join("cost.png")).unwrap()),
        (800, 500)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("$0.5060"));
}

#[test]
fn the_stats_command_without_data_says_so_and_still_draws() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/empty.db", dir.path().display());
    let out = gamemaster(
        dir.path(),
        &["stats", "--out", "empty.png", "--csv", "empty.csv"],
        &url,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("No data yet"), "{stdout}");
    assert_eq!(
        png_size(&std::fs::read(dir.path().join("empty.png")).unwrap()),
        (800, 500)
    );
    let csv = std::fs::read_to_string(dir.path().join("empty.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1);
}

#[test]
fn bad_stats_options_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/gm.db", dir.path().display());
    for (args, needle) in [
        (vec!["--scope", "server"], "--scope server needs --guild"),
        (vec!["--scope", "me"], "--scope me needs --user"),
        (
            vec!["--campaign", "1", "--scope", "campaign", "--width", "10"],
            "--width must be between 200 and 4096",
        ),
        (vec!["--days", "0"], "--days must be between 1 and 3650"),
    ] {
        let mut full = vec!["stats", "--out", "x.png"];
        full.extend(args);
        let out = gamemaster(dir.path(), &full, &url);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{full:?}: {stderr}");
        assert!(stderr.contains(needle), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(!dir.path().join("x.png").exists());
    }
    // Unknown metrics are refused by the argument parser, with the list of metrics.
    let out = gamemaster(
        dir.path(),
        &["stats", "--out", "x.png", "--metric", "vibes"],
        &url,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("latency"));
}
