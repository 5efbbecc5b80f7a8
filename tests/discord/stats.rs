//! `/stats` end to end: the leaderboard embed with its chart attached, each scope, the global
//! gate, the empty answer, and other servers' data kept out.

use crate::support;

use gamemaster::core::game::campaign::{CampaignName, NewCampaign, Themes};
use gamemaster::core::game::language::Language;
use gamemaster::core::ids::Timestamp;
use gamemaster::core::ids::{CampaignId, GuildId, UserId};
use gamemaster::core::models::chat::ModelId;
use gamemaster::core::models::perf::PerfRecord;
use gamemaster::core::quality::QualitySummary;
use gamemaster::core::stats::{StatsQuery, StatsScope};
use gamemaster::core::store::{CampaignStore, PerfStore, QualityStore};
use serde_json::json;
use std::time::Duration;
use support::bot::{
    ALICE, BOB, CAROL, OTHER_GUILD, TestBot, embed_text, spawn_bot, spawn_bot_with, world,
};
use support::fake_discord::{AckKind, RecordedResponse};
use support::fake_llm::Reply;

const SCOPE_ME: u64 = 0;
const SCOPE_CAMPAIGN: u64 = 1;
const SCOPE_SERVER: u64 = 2;
const SCOPE_GLOBAL: u64 = 3;
const METRIC_THUMBS: u64 = 7;

/// Only ever called in the other server.
const ELSEWHERE: &str = "local:elsewhere";

fn call(guild: u64, campaign: CampaignId, user: u64, model: &str, latency_ms: i64) -> PerfRecord {
    PerfRecord {
        guild_id: Some(GuildId(guild)),
        campaign_id: Some(campaign),
        user_id: Some(UserId(user)),
        model: model.into(),
        latency_ms,
        ttft_ms: Some(latency_ms / 5),
        tokens_in: Some(900),
        tokens_out: Some(150),
        cost_usd: Some(0.001),
        ..crate::support::perf::call()
    }
}

/// Two campaigns here (alice plays "Rime" on local:narrator, bob "Dune" on local:backup),
/// one in the other server on local:elsewhere.
async fn seeded(extra: &[(&str, &str)]) -> (TestBot, i64, i64, i64) {
    let bot = spawn_bot_with(world(), extra).await;
    let rime = bot.create_campaign(ALICE, "Rime").await;
    let dune = bot.create_campaign(BOB, "Dune").await;
    let keep = bot
        .db()
        .create_campaign(&NewCampaign {
            guild_id: GuildId(OTHER_GUILD),
            owner_id: UserId(CAROL),
            name: CampaignName::parse("Keep").unwrap(),
            themes: Themes::parse("sieges").unwrap(),
            language: Language::En,
            tone: None,
            model: ModelId::parse(ELSEWHERE).unwrap(),
        })
        .await
        .unwrap()
        .id
        .0;
    for i in 0..3 {
        let rows = [
            call(
                bot.guild,
                CampaignId(rime),
                ALICE,
                "local:narrator",
                1200 + i,
            ),
            call(bot.guild, CampaignId(dune), BOB, "local:backup", 800 + i),
            call(OTHER_GUILD, CampaignId(keep), ALICE, ELSEWHERE, 500 + i),
        ];
        for row in rows {
            bot.db().record_call(&row).await.unwrap();
        }
    }
    (bot, rime, dune, keep)
}

/// Width and height from a PNG's IHDR chunk, after checking the signature.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

/// A chart answer: one embed showing the attached 800x500 PNG.
fn assert_chart(r: &RecordedResponse) {
    assert_eq!(r.ack, AckKind::DeferredMessage, "{r:?}");
    assert_eq!(r.embeds.len(), 1, "{r:?}");
    assert_eq!(r.embeds[0]["image"]["url"], json!("attachment://stats.png"));
    assert_eq!(r.attachments.len(), 1);
    assert_eq!(r.attachments[0].filename, "stats.png");
    assert_eq!(png_size(&r.attachments[0].bytes), (800, 500));
}

#[tokio::test]
async fn server_scope_ranks_this_servers_models_with_an_800x500_chart() {
    let (bot, ..) = seeded(&[]).await;
    let r = bot.run(BOB, "stats", json!({})).await;
    assert_chart(&r);
    assert!(!r.ephemeral);
    let text = embed_text(&r);
    assert!(
        text.contains("Latency (p50) · this server, last 30 days"),
        "{text}"
    );
    let backup = text.find("local:backup").expect(&text);
    let narrator = text.find("local:narrator").expect(&text);
    assert!(backup < narrator, "the faster model ranks first: {text}");
    assert!(text.contains("0.80 s") || text.contains("801 ms"), "{text}");
    assert!(!text.contains(ELSEWHERE), "another server's model: {text}");
    // Header, two models, each with its three calls.
    let table: Vec<&str> = text.lines().filter(|l| l.contains("local:")).collect();
    assert_eq!(table.len(), 2, "{text}");
    assert!(table.iter().all(|l| l.trim_end().ends_with(" 3")), "{text}");
    bot.assert_clean();
}

#[tokio::test]
async fn campaign_scope_stays_in_this_server() {
    let (bot, rime, _, keep) = seeded(&[]).await;
    let r = bot
        .run(
            ALICE,
            "stats",
            json!({"campaign": rime.to_string(), "days": 7}),
        )
        .await;
    assert_chart(&r);
    let text = embed_text(&r);
    assert!(text.contains("campaign Rime, last 7 days"), "{text}");
    assert!(
        text.contains("local:narrator") && !text.contains("local:backup"),
        "{text}"
    );

    // The other server's campaign id finds nothing here, and changes nothing.
    let foreign = bot
        .run(
            ALICE,
            "stats",
            json!({"scope": SCOPE_CAMPAIGN, "campaign": keep.to_string()}),
        )
        .await;
    assert!(foreign.ephemeral);
    assert!(foreign.embeds.is_empty() && foreign.attachments.is_empty());
    assert!(
        foreign.content.contains("doesn't exist in this server"),
        "{}",
        foreign.content
    );
    // Autocomplete offers this server's campaigns only.
    let offered = bot
        .autocomplete(ALICE, "stats", json!({}), "campaign")
        .await;
    assert_eq!(offered.len(), 2, "{offered:?}");
    assert!(!offered.iter().any(|c| c == "Keep"), "{offered:?}");
    // Without a campaign or a session in the channel, scope campaign asks for one.
    let none = bot
        .run(ALICE, "stats", json!({"scope": SCOPE_CAMPAIGN}))
        .await;
    assert!(
        none.ephemeral && none.content.contains("name the campaign"),
        "{}",
        none.content
    );
    bot.assert_clean();
}

#[tokio::test]
async fn me_scope_is_private_and_shows_only_the_callers_games() {
    let (bot, ..) = seeded(&[]).await;
    let r = bot.run(BOB, "stats", json!({"scope": SCOPE_ME})).await;
    assert_chart(&r);
    assert!(
        r.ephemeral,
        "personal statistics are shown to their owner only"
    );
    let text = embed_text(&r);
    assert!(text.contains("your games"), "{text}");
    assert!(text.contains("local:backup"), "{text}");
    assert!(
        !text.contains("local:narrator") && !text.contains(ELSEWHERE),
        "{text}"
    );
    bot.assert_clean();
}

#[tokio::test]
async fn global_scope_needs_stats_global() {
    let (bot, ..) = seeded(&[]).await;
    let refused = bot
        .run(ALICE, "stats", json!({"scope": SCOPE_GLOBAL}))
        .await;
    assert_eq!(refused.ack, AckKind::Message, "refused before deferring");
    assert!(refused.ephemeral);
    assert!(
        refused.content.contains("STATS_GLOBAL=true"),
        "{}",
        refused.content
    );
    assert!(refused.attachments.is_empty());
    drop(bot);

    let (bot, ..) = seeded(&[("STATS_GLOBAL", "true")]).await;
    let r = bot
        .run(ALICE, "stats", json!({"scope": SCOPE_GLOBAL}))
        .await;
    assert_chart(&r);
    let text = embed_text(&r);
    assert!(text.contains("all servers"), "{text}");
    for model in ["local:narrator", "local:backup", ELSEWHERE] {
        assert!(text.contains(model), "{model} missing: {text}");
    }
    bot.assert_clean();
}

#[tokio::test]
async fn no_data_gets_a_friendly_message_and_no_chart() {
    let bot = spawn_bot().await;
    let r = bot
        .run(ALICE, "stats", json!({"scope": SCOPE_SERVER}))
        .await;
    assert_eq!(r.ack, AckKind::DeferredMessage);
    assert!(r.content.starts_with("No data yet"), "{}", r.content);
    assert!(r.content.contains("Play a few turns"), "{}", r.content);
    assert!(r.attachments.is_empty() && r.embeds.is_empty());

    // Calls but no thumbs: the message says how to give some.
    let (bot, ..) = seeded(&[]).await;
    let r = bot
        .run(ALICE, "stats", json!({"metric": METRIC_THUMBS}))
        .await;
    assert!(r.content.contains("👍"), "{}", r.content);
    assert!(r.attachments.is_empty());
    bot.assert_clean();
}

#[tokio::test]
async fn campaign_scope_defaults_to_the_campaign_playing_here() {
    let (bot, rime, ..) = seeded(&[("TURN_WINDOW_MS", "0")]).await;
    bot.llm.push(support::fake_llm::Reply::openai_text(
        &["Frost."],
        None,
        std::time::Duration::ZERO,
    ));
    bot.run(
        ALICE,
        "session start",
        json!({"campaign": rime.to_string()}),
    )
    .await;
    let r = bot
        .run(BOB, "stats", json!({"scope": SCOPE_CAMPAIGN}))
        .await;
    assert_chart(&r);
    let text = embed_text(&r);
    assert!(text.contains("campaign Rime"), "{text}");
    assert!(!text.contains("local:backup"), "{text}");
    bot.assert_clean();
}

#[tokio::test]
async fn stats_over_the_limit_is_refused_privately_with_when_to_try_again() {
    let (bot, ..) = seeded(&[("RATE_STATS_PLAYER", "1/min")]).await;
    assert_chart(&bot.run(ALICE, "stats", json!({})).await);
    let refused = bot.run(ALICE, "stats", json!({})).await;
    assert!(refused.ephemeral);
    assert!(
        refused.content.contains("Try again in"),
        "{}",
        refused.content
    );
    assert!(refused.attachments.is_empty());
    // Another member's allowance is their own.
    assert_chart(&bot.run(BOB, "stats", json!({})).await);
    bot.assert_clean();
}

const FORMAT_OVER_TIME: u64 = 1;
const FORMAT_CSV: u64 = 2;

#[tokio::test]
async fn format_csv_attaches_the_aggregates_of_every_model_ranked() {
    let (bot, ..) = seeded(&[]).await;
    let r = bot.run(BOB, "stats", json!({"format": FORMAT_CSV})).await;
    assert_eq!(r.embeds.len(), 1, "{r:?}");
    assert!(r.embeds[0].get("image").is_none(), "{r:?}");
    assert_eq!(r.attachments.len(), 1);
    assert_eq!(r.attachments[0].filename, "stats.csv");
    let csv = String::from_utf8(r.attachments[0].bytes.clone()).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("model,calls,errors,"), "{csv}");
    assert_eq!(
        lines.len(),
        3,
        "a header and this server's two models: {csv}"
    );
    let backup = lines
        .iter()
        .find(|l| l.starts_with("local:backup,"))
        .expect(&csv);
    assert!(backup.starts_with("local:backup,3,0,"), "{csv}");
    assert!(!csv.contains(ELSEWHERE), "{csv}");
    bot.assert_clean();
}

#[tokio::test]
async fn format_over_time_attaches_the_latency_over_time_chart() {
    let (bot, ..) = seeded(&[]).await;
    let r = bot
        .run(BOB, "stats", json!({"format": FORMAT_OVER_TIME}))
        .await;
    assert_chart(&r);
    // The leaderboard stays in the embed; the chart is the one over time.
    let text = embed_text(&r);
    assert!(text.contains("local:backup"), "{text}");
    bot.assert_clean();
}

const METRIC_QUALITY: u64 = 9;

const CLEAN: &str = "The caravan rolls into the valley at dusk, and the lanterns of the inn glow \
                     warmly through the thickening fog.";
const ASSISTANT: &str = "As an AI language model, I cannot continue this story, but I would be \
                         happy to help you with something else today.";

/// Waits until the checks of `count` narrations are stored (they are written just after the
/// narration is shown).
async fn wait_checked(bot: &TestBot, count: u64) -> Vec<QualitySummary> {
    let query = StatsQuery::last_days(StatsScope::Server(GuildId(bot.guild)), 30, Timestamp::now());
    for _ in 0..200 {
        let summaries = bot.db().quality_summaries(&query).await.unwrap();
        if summaries.iter().map(|s| s.count).sum::<u64>() >= count {
            return summaries;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the checks of {count} narrations were not stored");
}

#[tokio::test]
async fn quality_ranks_models_by_the_checks_of_their_live_narrations() {
    let bot = spawn_bot().await;
    bot.start_playing("Fogvale", CLEAN).await;
    bot.llm
        .push(Reply::openai_text(&[ASSISTANT], None, Duration::ZERO));
    bot.fake
        .say(ALICE, bot.channel, "Aria knocks on the inn's door.")
        .await;
    bot.wait_bot_message(bot.channel, |m| m.content.contains("happy to help"))
        .await;
    wait_checked(&bot, 2).await;

    let r = bot
        .run(ALICE, "stats", json!({"metric": METRIC_QUALITY}))
        .await;
    assert_eq!(r.ack, AckKind::DeferredMessage, "{r:?}");
    assert_eq!(r.embeds.len(), 1, "{r:?}");
    assert_eq!(
        r.embeds[0]["image"]["url"],
        json!("attachment://quality.png")
    );
    assert_eq!(r.attachments[0].filename, "quality.png");
    assert_eq!(png_size(&r.attachments[0].bytes), (800, 500));
    let text = embed_text(&r);
    assert!(
        text.contains("Narration quality · this server, last 30 days"),
        "{text}"
    );
    let row = text
        .lines()
        .find(|l| l.contains("local:narrator"))
        .expect(&text);
    // Both narrations in English, one with assistant talk: 100% language, 50% ai, n = 2.
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[0], "1", "{text}");
    assert_eq!(cells[3], "100%", "{text}");
    assert_eq!(cells[5], "50%", "{text}");
    assert_eq!(cells.last(), Some(&"2"), "{text}");

    let r = bot
        .run(
            ALICE,
            "stats",
            json!({"metric": METRIC_QUALITY, "format": FORMAT_CSV}),
        )
        .await;
    assert_eq!(r.attachments[0].filename, "quality.csv");
    let csv = String::from_utf8(r.attachments[0].bytes.clone()).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("model,narrations,score,"), "{csv}");
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].starts_with("local:narrator,2,"), "{csv}");
    assert!(
        lines[1].contains(",1,0,0.5,"),
        "language ok, no tag errors, half assistant talk: {csv}"
    );
    bot.assert_clean();
}

#[tokio::test]
async fn quality_without_checked_narrations_says_so() {
    let (bot, ..) = seeded(&[]).await;
    let r = bot
        .run(BOB, "stats", json!({"metric": METRIC_QUALITY}))
        .await;
    assert!(r.embeds.is_empty() && r.attachments.is_empty(), "{r:?}");
    assert!(
        r.content.contains("No narration has been checked yet"),
        "{}",
        r.content
    );
    bot.assert_clean();
}
