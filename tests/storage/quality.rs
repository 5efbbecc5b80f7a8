//! The quality checks of live narrations on both engines: stored once per narration, summed
//! per model in SQL by scope, window and kind, unknown rates left empty, and gone with their
//! narration.

use crate::support;

use gamemaster::core::game::campaign::{CampaignName, NewCampaign, Themes};
use gamemaster::core::game::language::Language;
use gamemaster::core::game::transcript::{MessageRole, MessageStatus, NewMessage};
use gamemaster::core::ids::{
    CampaignId, ChannelId, GuildId, MessageId, SessionId, Timestamp, UserId,
};
use gamemaster::core::models::chat::ModelId;
use gamemaster::core::models::perf::CallKind;
use gamemaster::core::quality::{Detected, QualityChecks, QualityRecord, QualitySummary};
use gamemaster::core::stats::{StatsQuery, StatsScope};
use gamemaster::core::store::{CampaignStore, MessageStore, QualityStore, SessionStore};
use gamemaster::storage::Db;
use support::db::engines;

const GUILD: GuildId = GuildId(1_200_000_000_000_000_001);
const OTHER: GuildId = GuildId(1_200_000_000_000_000_002);
const MIRA: UserId = UserId(2_100_000_000_000_000_001);
const BRAK: UserId = UserId(2_100_000_000_000_000_002);
const GOOD: &str = "openai:gpt-4o";
const SMALL: &str = "local:gemma-3-270m";

struct Table {
    guild: GuildId,
    campaign: CampaignId,
    session: SessionId,
}

async fn table(db: &Db, guild: GuildId, name: &str, channel: u64) -> Table {
    let campaign = db
        .create_campaign(&NewCampaign {
            guild_id: guild,
            owner_id: MIRA,
            name: CampaignName::parse(name).unwrap(),
            themes: Themes::parse("goblins").unwrap(),
            language: Language::Fr,
            tone: None,
            model: ModelId::parse(GOOD).unwrap(),
        })
        .await
        .unwrap()
        .id;
    let session = db
        .start_session(campaign, Some(guild), ChannelId(channel), Some(MIRA))
        .await
        .unwrap()
        .id;
    Table {
        guild,
        campaign,
        session,
    }
}

fn checks(
    language_ok: Option<bool>,
    tag_errors: u32,
    meta: bool,
    rep: Option<f64>,
) -> QualityChecks {
    QualityChecks {
        language: language_ok.map(|ok| {
            if ok {
                Detected::Campaign(Language::Fr)
            } else {
                Detected::Campaign(Language::En)
            }
        }),
        language_ok,
        tag_errors,
        meta_talk: meta,
        repetition: rep,
        budget_use: Some(0.5),
    }
}

async fn narrate(
    db: &Db,
    t: &Table,
    user: UserId,
    model: &str,
    kind: CallKind,
    checks: QualityChecks,
    at: i64,
) -> MessageId {
    let message = db
        .append_message(&NewMessage {
            model: Some(model.into()),
            ..NewMessage::by_bot(
                t.session,
                t.campaign,
                MessageRole::Assistant,
                "Les gobelins attaquent.".into(),
                MessageStatus::Complete,
            )
        })
        .await
        .unwrap();
    let record = QualityRecord {
        message_id: message.id,
        guild_id: Some(t.guild),
        campaign_id: t.campaign,
        session_id: t.session,
        user_id: Some(user),
        model: model.into(),
        kind,
        checks,
        created_at: Timestamp(at),
    };
    db.record_quality(&record).await.unwrap();
    // A second record of the same narration is ignored.
    db.record_quality(&record).await.unwrap();
    message.id
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

fn find<'a>(all: &'a [QualitySummary], model: &str) -> &'a QualitySummary {
    all.iter()
        .find(|s| s.model == model)
        .unwrap_or_else(|| panic!("{model} in {all:?}"))
}

#[tokio::test]
async fn summaries_per_model_by_scope_window_and_kind() {
    for t in engines().await {
        let db = &t.db;
        let here = table(db, GUILD, "Rime", 1).await;
        let there = table(db, OTHER, "Elsewhere", 2).await;
        let now = 10_000_000;
        use CallKind::{Arena, Narration};
        narrate(
            db,
            &here,
            MIRA,
            GOOD,
            Narration,
            checks(Some(true), 0, false, Some(0.0)),
            now,
        )
        .await;
        narrate(
            db,
            &here,
            BRAK,
            GOOD,
            Arena,
            checks(Some(true), 2, false, Some(0.2)),
            now,
        )
        .await;
        narrate(
            db,
            &here,
            MIRA,
            SMALL,
            Narration,
            checks(Some(false), 1, true, Some(0.5)),
            now,
        )
        .await;
        narrate(
            db,
            &here,
            BRAK,
            SMALL,
            Narration,
            checks(None, 0, false, None),
            now,
        )
        .await;
        narrate(
            db,
            &there,
            MIRA,
            GOOD,
            Narration,
            checks(Some(false), 0, true, Some(1.0)),
            now,
        )
        .await;
        // Too old for the window.
        narrate(
            db,
            &here,
            MIRA,
            SMALL,
            Narration,
            checks(Some(true), 0, false, Some(0.0)),
            5,
        )
        .await;

        let since = Timestamp(1_000);
        let all = db
            .quality_summaries(&StatsQuery::new(StatsScope::Global, since))
            .await
            .unwrap();
        let models: Vec<&str> = all.iter().map(|s| s.model.as_str()).collect();
        assert_eq!(models, [SMALL, GOOD], "{:?}: sorted by model", t.backend());
        let good = find(&all, GOOD);
        assert_eq!(good.count, 3);
        assert!(close(good.language_ok_rate, 2.0 / 3.0), "{good:?}");
        assert!(close(good.tag_error_rate, 1.0 / 3.0));
        assert!(close(good.meta_talk_rate, 1.0 / 3.0));
        assert!(close(good.repetition_mean, 0.4));
        assert!(close(good.budget_use_mean, 0.5));
        let small = find(&all, SMALL);
        assert_eq!(small.count, 2);
        assert!(
            close(small.language_ok_rate, 0.0),
            "only the known one counts"
        );
        assert!(close(small.tag_error_rate, 0.5));
        assert!(close(small.repetition_mean, 0.5));

        let server = db
            .quality_summaries(&StatsQuery::new(StatsScope::Server(GUILD), since))
            .await
            .unwrap();
        assert_eq!(find(&server, GOOD).count, 2);
        assert!(close(find(&server, GOOD).language_ok_rate, 1.0));
        let campaign = db
            .quality_summaries(&StatsQuery::new(
                StatsScope::Campaign(there.campaign),
                since,
            ))
            .await
            .unwrap();
        assert_eq!(campaign.len(), 1);
        assert!(close(campaign[0].meta_talk_rate, 1.0));
        let brak = db
            .quality_summaries(&StatsQuery::new(StatsScope::Me(BRAK), since))
            .await
            .unwrap();
        let unknown = find(&brak, SMALL);
        assert_eq!(unknown.count, 1);
        assert_eq!(unknown.language_ok_rate, None, "unknown, never 0");
        assert_eq!(unknown.repetition_mean, None);
        assert!(close(unknown.tag_error_rate, 0.0));
        let arena_only = db
            .quality_summaries(&StatsQuery::new(StatsScope::Global, since).with_kinds(&[Arena]))
            .await
            .unwrap();
        assert_eq!(arena_only.len(), 1);
        assert_eq!(find(&arena_only, GOOD).count, 1);
        let everything = db
            .quality_summaries(&StatsQuery::new(StatsScope::Global, Timestamp(0)))
            .await
            .unwrap();
        assert_eq!(find(&everything, SMALL).count, 3);
    }
}

#[tokio::test]
async fn checks_go_with_their_campaign() {
    for t in engines().await {
        let db = &t.db;
        let here = table(db, GUILD, "Rime", 1).await;
        narrate(
            db,
            &here,
            MIRA,
            GOOD,
            CallKind::Narration,
            checks(Some(true), 0, false, Some(0.1)),
            50,
        )
        .await;
        let query = StatsQuery::new(StatsScope::Global, Timestamp(0));
        assert_eq!(db.quality_summaries(&query).await.unwrap().len(), 1);
        assert!(db.delete_campaign(here.campaign).await.unwrap());
        assert!(
            db.quality_summaries(&query).await.unwrap().is_empty(),
            "{:?}: deleted with the narration",
            t.backend()
        );
    }
}
