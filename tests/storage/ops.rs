//! What `/system` and `/healthz` read from the database, on both engines.

use crate::support;

use gamemaster::core::ids::{GuildId, Timestamp};
use gamemaster::core::models::perf::PerfRecord;
use gamemaster::core::store::{OpsStore, PerfStore};
use gamemaster::storage::Backend;
use support::db::{engines, sqlite};

const GUILD: GuildId = GuildId(111_111_111_111_111_111);
const OTHER_GUILD: GuildId = GuildId(222_222_222_222_222_222);

fn call(guild: Option<GuildId>, model: &str, ok: bool, at: Timestamp) -> PerfRecord {
    PerfRecord {
        guild_id: guild,
        model: model.into(),
        latency_ms: 800,
        ok,
        error_kind: (!ok).then(|| "timeout".into()),
        created_at: at,
        ..crate::support::perf::call()
    }
}

#[tokio::test]
async fn calls_since_filters_by_time_and_server() {
    for t in engines().await {
        let db = &t.db;
        let now = Timestamp::now();
        let hour_ago = Timestamp(now.0 - 3_600_000);
        for record in [
            call(Some(GUILD), "local:a", true, now),
            call(Some(GUILD), "local:a", false, now),
            call(Some(OTHER_GUILD), "local:b", true, now),
            call(None, "local:c", true, now),
            call(Some(GUILD), "local:old", true, Timestamp(hour_ago.0 - 1)),
        ] {
            db.record_call(&record).await.unwrap();
        }
        let all = db.calls_since(hour_ago, None).await.unwrap();
        let mut models: Vec<&str> = all.iter().map(|c| c.model.as_str()).collect();
        models.sort();
        assert_eq!(
            models,
            ["local:a", "local:a", "local:b", "local:c"],
            "{:?}",
            t.backend()
        );
        let mine = db.calls_since(hour_ago, Some(GUILD)).await.unwrap();
        assert_eq!(mine.len(), 2);
        assert_eq!(mine.iter().filter(|c| !c.ok).count(), 1);

        assert!(db.database_size().await.unwrap() > 0);
        db.health_check().await.unwrap();
        let expected = match t.backend() {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        };
        assert_eq!(db.database_engine(), expected);
    }
}

#[tokio::test]
async fn a_vanished_sqlite_file_fails_the_health_check() {
    let t = sqlite().await;
    t.db.health_check().await.unwrap();
    let file = t.url.expose().trim_start_matches("sqlite://").to_string();
    std::fs::remove_file(&file).unwrap();
    let err = t.db.health_check().await.unwrap_err().to_string();
    assert!(err.contains("missing") && err.contains(&file), "{err}");
}

#[tokio::test]
async fn interrupting_one_session_leaves_the_others_streaming() {
    use gamemaster::core::game::campaign::{CampaignName, NewCampaign, Themes};
    use gamemaster::core::game::language::Language;
    use gamemaster::core::game::transcript::{MessageRole, MessageStatus, NewMessage};
    use gamemaster::core::ids::{ChannelId, UserId};
    use gamemaster::core::models::chat::ModelId;
    use gamemaster::core::store::{CampaignStore, MessageStore, SessionStore};

    for t in engines().await {
        let db = &t.db;
        let campaign = db
            .create_campaign(&NewCampaign {
                guild_id: GUILD,
                owner_id: UserId(1),
                name: CampaignName::parse("Shards").unwrap(),
                themes: Themes::parse("ice").unwrap(),
                language: Language::En,
                tone: None,
                model: ModelId::parse("local:a").unwrap(),
            })
            .await
            .unwrap();
        let mut rows = Vec::new();
        for channel in [1, 2] {
            let s = db
                .start_session(campaign.id, Some(GUILD), ChannelId(channel), None)
                .await
                .unwrap();
            let row = db
                .append_message(&NewMessage::by_bot(
                    s.id,
                    campaign.id,
                    MessageRole::Assistant,
                    "half".into(),
                    MessageStatus::Streaming,
                ))
                .await
                .unwrap();
            rows.push((s.id, row.id));
        }
        assert_eq!(db.interrupt_streaming_in(rows[0].0).await.unwrap(), 1);
        let status = |id| async move { db.message(id).await.unwrap().unwrap().status };
        assert_eq!(status(rows[0].1).await, MessageStatus::Interrupted);
        assert_eq!(status(rows[1].1).await, MessageStatus::Streaming);
    }
}
