//! Portraits: generated through the real OpenAI Images client against a fake image server,
//! stored once, and a local placeholder with a reason whenever generation can't or mustn't run.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use gamemaster::core::game::guild::GuildSettings;
use gamemaster::core::ids::{GuildId, UserId};
use gamemaster::core::limits::{Action, Rate, Scope};
use gamemaster::core::models::chat::ModelId;
use gamemaster::core::models::perf::PerfRecord;
use gamemaster::core::portrait::image::ImageKind;
use gamemaster::core::portrait::{
    ImageProvider, PlaceholderReason, Portraits, Subject, art_prompt,
};
use gamemaster::core::store::{GuildStore, ImageStore, PerfStore};
use gamemaster::llm::images::OpenAiImageClient;
use gamemaster::llm::retry::RetryPolicy;
use gamemaster::secret::Secret;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const USER: UserId = UserId(42);
const GUILD: GuildId = GuildId(7);
/// A real 1x1 PNG, as the provider would send (base64 in JSON).
const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

fn mira() -> Subject {
    Subject::Character {
        name: "Mira".into(),
        race: "High Elf".into(),
        class: "Wizard".into(),
        gender: Some("female".into()),
        description: Some("silver hair, carries a toad".into()),
        themes: Some("haunted lighthouse".into()),
    }
}

async fn provider(server: &MockServer) -> ImageProvider {
    let id = ModelId::parse("openai:dall-e-3").unwrap();
    let policy = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    let client = OpenAiImageClient::new(
        reqwest::Client::new(),
        &id,
        server.uri(),
        Secret::new("sk-test"),
        policy,
    );
    ImageProvider {
        id,
        model: Arc::new(client),
    }
}

async fn portrait_calls(db: &gamemaster::storage::Db) -> Vec<(bool, Option<f64>)> {
    let rows: Vec<(i64, Option<f64>)> = sqlx::query_as(
        "SELECT ok, cost_usd FROM performance_logs WHERE kind = 'portrait' ORDER BY id",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    rows.into_iter().map(|(ok, cost)| (ok != 0, cost)).collect()
}

#[tokio::test]
async fn a_generated_portrait_is_stored_once_and_measured() {
    let t = support::db::sqlite().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/images/generations"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"created": 1, "data": [{"b64_json": PNG_1X1}]})),
        )
        .mount(&server)
        .await;
    let portraits = Portraits::new(
        Arc::new(t.db.clone()),
        Some(provider(&server).await),
        10,
        Duration::from_secs(5),
    );

    let first = portraits
        .portrait(USER, Some(GUILD), &mira(), None)
        .await
        .unwrap();
    assert_eq!(first.placeholder, None);
    assert_eq!(
        first.bytes,
        base64::engine::general_purpose::STANDARD
            .decode(PNG_1X1)
            .unwrap()
    );
    assert_eq!(first.mime, "image/png");
    let stored = t.db.image(first.image).await.unwrap().unwrap();
    assert_eq!(stored.kind, ImageKind::CharacterPortrait);
    assert!(stored.prompt.unwrap().contains("No text"));

    let again = portraits
        .portrait(USER, Some(GUILD), &mira(), Some("watercolour"))
        .await
        .unwrap();
    assert_eq!(again.image, first.image, "identical bytes are stored once");

    let request: serde_json::Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(request["model"], "dall-e-3");
    assert_eq!(request["response_format"], "b64_json");
    let calls = portrait_calls(&t.db).await;
    assert_eq!(calls.len(), 2);
    assert!(
        calls
            .iter()
            .all(|(ok, cost)| *ok && cost.is_some_and(|c| c > 0.0)),
        "{calls:?}"
    );
}

#[tokio::test]
async fn placeholders_say_why_for_refusals_errors_and_timeouts() {
    let t = support::db::sqlite().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "code": "content_policy_violation", "message": "Your request was rejected by the safety system.", "type": "invalid_request_error"}})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(3))
                .set_body_json(json!({"data": []})),
        )
        .mount(&server)
        .await;
    let portraits = Portraits::new(
        Arc::new(t.db.clone()),
        Some(provider(&server).await),
        10,
        Duration::from_millis(300),
    );

    let refused = portraits.portrait(USER, None, &mira(), None).await.unwrap();
    assert_eq!(refused.placeholder, Some(PlaceholderReason::Refused));
    let failed = portraits.portrait(USER, None, &mira(), None).await.unwrap();
    assert!(
        matches!(failed.placeholder, Some(PlaceholderReason::Failed(_))),
        "{:?}",
        failed.placeholder
    );
    let slow = portraits.portrait(USER, None, &mira(), None).await.unwrap();
    assert_eq!(slow.placeholder, Some(PlaceholderReason::TimedOut));

    // Placeholders are real PNGs, the same for the same character, stored once.
    assert_eq!(&refused.bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(refused.image, slow.image);
    assert_eq!(
        t.db.image(refused.image).await.unwrap().unwrap().kind,
        ImageKind::Placeholder
    );
    let calls = portrait_calls(&t.db).await;
    assert_eq!(
        calls,
        [(false, None), (false, None), (false, None)],
        "failed calls are measured and cost nothing"
    );
    for reason in [refused.placeholder.unwrap(), slow.placeholder.unwrap()] {
        assert_eq!(reason.explain().lines().count(), 1);
    }
}

#[tokio::test]
async fn no_provider_daily_limit_and_budget_fall_back_to_placeholders() {
    let t = support::db::sqlite().await;
    let none = Portraits::new(Arc::new(t.db.clone()), None, 10, Duration::from_secs(1));
    assert_eq!(
        none.portrait(USER, None, &mira(), None)
            .await
            .unwrap()
            .placeholder,
        Some(PlaceholderReason::NoProvider)
    );

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": [{"b64_json": PNG_1X1}]})),
        )
        .mount(&server)
        .await;
    let limited = Portraits::new(
        Arc::new(t.db.clone()),
        Some(provider(&server).await),
        1,
        Duration::from_secs(5),
    );
    assert_eq!(
        limited
            .portrait(USER, None, &mira(), None)
            .await
            .unwrap()
            .placeholder,
        None
    );
    let refused = limited
        .portrait(USER, None, &mira(), None)
        .await
        .unwrap()
        .placeholder;
    let Some(PlaceholderReason::Limited(refusal)) = refused else {
        panic!("the second portrait of the day is refused: {refused:?}");
    };
    assert_eq!(
        (refusal.action, refusal.scope, refusal.rate),
        (
            Action::Portrait,
            Scope::Player,
            Rate::per(1, Duration::from_secs(86_400))
        )
    );
    assert!(refusal.retry_after > Duration::from_secs(86_000));
    // Another user still has their allowance, unless the server's budget is spent.
    let mut settings = GuildSettings::defaults(GUILD);
    settings.monthly_budget_usd = Some(1.0);
    t.db.save_guild_settings(&settings).await.unwrap();
    t.db.record_call(&PerfRecord {
        guild_id: Some(GUILD),
        user_id: Some(UserId(1)),
        cost_usd: Some(1.5),
        ..crate::support::perf::call()
    })
    .await
    .unwrap();
    assert_eq!(
        limited
            .portrait(UserId(43), Some(GUILD), &mira(), None)
            .await
            .unwrap()
            .placeholder,
        Some(PlaceholderReason::BudgetSpent)
    );
    assert_eq!(
        limited
            .portrait(UserId(43), None, &mira(), None)
            .await
            .unwrap()
            .placeholder,
        None
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        2,
        "refused portraits never reach the provider"
    );
}

#[test]
fn the_art_direction_is_safe_and_text_free() {
    let prompt = art_prompt(&mira(), Some("oil painting\u{0}"));
    for part in [
        "Head-and-shoulders",
        "High Elf",
        "Wizard",
        "haunted lighthouse",
        "oil painting",
        "No text",
    ] {
        assert!(prompt.contains(part), "{part} missing: {prompt}");
    }
    assert!(!prompt.contains('\u{0}'));
    let gm = art_prompt(
        &Subject::GameMaster {
            campaign: "La Crypte".into(),
            themes: "vampires".into(),
        },
        None,
    );
    assert!(gm.contains("game master") && gm.contains("vampires"));
}
