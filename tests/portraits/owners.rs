//! Whose portrait is whose, on both engines (SQLite always, PostgreSQL with
//! `TEST_DATABASE_URL`): a placeholder fills an empty place, a generated portrait replaces
//! it, a failed repaint keeps what was there, and deleting the owner deletes the image
//! unless another row shows the same bytes.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use gamemaster::core::game::campaign::{CampaignName, NewCampaign, Themes};
use gamemaster::core::game::character::{CharacterClass, CharacterName, NewCharacter, Race};
use gamemaster::core::game::language::Language;
use gamemaster::core::ids::{GuildId, UserId};
use gamemaster::core::models::chat::ModelId;
use gamemaster::core::portrait::{
    ImageProvider, PlaceholderReason, PortraitOwner, PortraitStyle, Portraits, Subject, sha256_hex,
};
use gamemaster::core::store::{CampaignStore, CharacterStore, ImageStore};
use gamemaster::llm::images::OpenAiImageClient;
use gamemaster::llm::retry::RetryPolicy;
use gamemaster::secret::Secret;
use serde_json::json;
use support::db::engines;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const USER: UserId = UserId(42);
const GUILD: GuildId = GuildId(7);
const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

fn portraits(db: &gamemaster::storage::Db, server: &MockServer) -> Portraits {
    let id = ModelId::parse("openai:gpt-image-1").unwrap();
    let client = OpenAiImageClient::new(
        reqwest::Client::new(),
        &id,
        server.uri(),
        Secret::new("sk-test"),
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        },
    );
    Portraits::new(
        Arc::new(db.clone()),
        Some(ImageProvider {
            id,
            model: Arc::new(client),
        }),
        10,
        Duration::from_secs(5),
    )
}

fn character(name: &str) -> NewCharacter {
    NewCharacter {
        owner_id: USER,
        guild_id: GUILD,
        campaign_id: None,
        name: CharacterName::parse(name).unwrap(),
        class: CharacterClass::parse("Paladin").unwrap(),
        race: Race::parse("Dragonborn").unwrap(),
        gender: None,
        description: None,
    }
}

async fn images(db: &gamemaster::storage::Db) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM images")
        .fetch_one(db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn placeholders_fill_generated_portraits_replace_and_owners_take_their_images_along() {
    for t in engines().await {
        let db = &t.db;
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"data": [{"b64_json": PNG_1X1}]})),
            )
            .up_to_n_times(2)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
                "code": "moderation_blocked", "message": "blocked", "type": "invalid_request_error"}})))
            .mount(&server)
            .await;
        let portraits = portraits(db, &server);
        let kael = db.create_character(&character("Kael")).await.unwrap();
        let owner = PortraitOwner::Character(kael.id);
        let subject = Subject::character(&kael, None);

        let stand_in = portraits.stand_in(owner, &subject).await.unwrap();
        assert_eq!(stand_in.placeholder, Some(PlaceholderReason::Painting));
        let placeholder = stand_in.image;
        assert_eq!(
            db.character(kael.id).await.unwrap().unwrap().portrait_id,
            Some(placeholder),
            "never without a portrait"
        );

        let painted = portraits
            .paint(owner, USER, Some(GUILD), &subject, None)
            .await
            .unwrap();
        assert_eq!(painted.shown.placeholder, None);
        assert!(!painted.kept_previous);
        assert_eq!(painted.note(), None);
        let generated = painted.shown.image;
        assert_eq!(
            db.character(kael.id).await.unwrap().unwrap().portrait_id,
            Some(generated)
        );
        assert!(
            db.image(placeholder).await.unwrap().is_none(),
            "the replaced placeholder is deleted"
        );
        assert_eq!(
            db.image_sha256(generated).await.unwrap(),
            Some(sha256_hex(&painted.shown.bytes))
        );
        assert_eq!(db.image_sha256(placeholder).await.unwrap(), None);
        // While painting again, the current portrait is what is shown.
        assert_eq!(
            portraits.stand_in(owner, &subject).await.unwrap().image,
            generated
        );

        // The same bytes for the campaign's game master: one image for both.
        let campaign = db
            .create_campaign(&NewCampaign {
                guild_id: GUILD,
                owner_id: USER,
                name: CampaignName::parse("Ash").unwrap(),
                themes: Themes::parse("volcanoes").unwrap(),
                language: Language::En,
                tone: None,
                model: ModelId::parse("openai:gpt-4o-mini").unwrap(),
            })
            .await
            .unwrap();
        let gm = PortraitOwner::Campaign(campaign.id);
        let style = PortraitStyle::parse("woodcut").unwrap();
        let gm_painted = portraits
            .paint(
                gm,
                USER,
                Some(GUILD),
                &Subject::game_master(&campaign),
                Some(&style),
            )
            .await
            .unwrap();
        assert_eq!(gm_painted.shown.image, generated);

        // Refused: Kael keeps the portrait, and the note says so in one line.
        let refused = portraits
            .paint(owner, USER, Some(GUILD), &subject, None)
            .await
            .unwrap();
        assert!(refused.kept_previous);
        assert_eq!(refused.shown.image, generated);
        assert_eq!(refused.shown.placeholder, Some(PlaceholderReason::Refused));
        let note = refused.note().unwrap();
        assert_eq!(note.lines().count(), 1);
        assert!(note.ends_with("The current portrait stays."), "{note}");
        assert_eq!(images(db).await, 1, "the refused placeholder is not kept");

        // Deleting the character keeps the image the game master still shows ...
        assert!(db.delete_character(kael.id).await.unwrap());
        assert!(db.image(generated).await.unwrap().is_some());
        // ... and deleting the campaign deletes it.
        assert!(db.delete_campaign(campaign.id).await.unwrap());
        assert!(db.image(generated).await.unwrap().is_none());
        assert_eq!(images(db).await, 0);
    }
}

#[tokio::test]
async fn a_portrait_painted_for_a_deleted_character_is_not_kept() {
    for t in engines().await {
        let db = &t.db;
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"data": [{"b64_json": PNG_1X1}]}))
                    .set_delay(Duration::from_millis(300)),
            )
            .mount(&server)
            .await;
        let portraits = portraits(db, &server);
        let gone = db.create_character(&character("Gone")).await.unwrap();
        let owner = PortraitOwner::Character(gone.id);
        let subject = Subject::character(&gone, None);
        let painting = portraits.paint(owner, USER, None, &subject, None);
        // Whether the deletion lands before or after the portrait is kept, nothing stays.
        let deleting = async { db.delete_character(gone.id).await.unwrap() };
        let (painted, deleted) = tokio::join!(painting, deleting);
        assert!(deleted);
        let painted = painted.unwrap();
        assert!(db.image(painted.shown.image).await.unwrap().is_none());
        assert_eq!(images(db).await, 0);
        let raw = base64::engine::general_purpose::STANDARD
            .decode(PNG_1X1)
            .unwrap();
        assert_eq!(painted.shown.bytes, raw);
    }
}
