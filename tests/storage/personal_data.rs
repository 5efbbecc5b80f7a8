//! A person's data on both engines: export, erasure that keeps shared stories readable, and
//! adoption of imported campaigns into a server.

use crate::support;

use std::sync::Arc;

use gamemaster::core::accounts::auth::{Accounts, HashCost};
use gamemaster::core::accounts::personal_data::{self, Person};
use gamemaster::core::game::campaign::{CampaignName, NewCampaign, Themes};
use gamemaster::core::game::character::{CharacterClass, CharacterName, NewCharacter, Race};
use gamemaster::core::game::language::Language;
use gamemaster::core::game::transcript::{MessageRole, MessageStatus, NewMessage};
use gamemaster::core::game::vote::Rating;
use gamemaster::core::ids::{AccountId, CampaignId, ChannelId, GuildId, ImageId, UserId};
use gamemaster::core::models::chat::ModelId;
use gamemaster::core::models::perf::{CallKind, PerfRecord};
use gamemaster::core::portrait::image::{ImageKind, NewImage};
use gamemaster::core::quality::{QualityChecks, QualityRecord};
use gamemaster::core::store::{
    AccountStore, CampaignStore, CharacterStore, ImageStore, MessageStore, PerfStore,
    PersonalDataStore, QualityStore, SessionStore, VoteStore,
};
use gamemaster::storage::Db;
use support::db::engines;

const ALICE: UserId = UserId(2_000_000_000_000_000_011);
const ALICE_PHONE: UserId = UserId(2_000_000_000_000_000_012);
const BOB: UserId = UserId(2_000_000_000_000_000_013);
const GUILD: GuildId = GuildId(1_100_000_000_000_000_001);
const OTHER_GUILD: GuildId = GuildId(1_100_000_000_000_000_002);
const CHEAP: HashCost = HashCost {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};
const PASSWORD: &str = "Lantern-Keeper7";

async fn campaign(db: &Db, owner: UserId, name: &str) -> CampaignId {
    db.create_campaign(&NewCampaign {
        guild_id: GUILD,
        owner_id: owner,
        name: CampaignName::parse(name).unwrap(),
        themes: Themes::parse("frost").unwrap(),
        language: Language::En,
        tone: None,
        model: ModelId::parse("local:narrator").unwrap(),
    })
    .await
    .unwrap()
    .id
}

async fn character(db: &Db, owner: UserId, name: &str, campaign: CampaignId) {
    db.create_character(&NewCharacter {
        owner_id: owner,
        guild_id: GUILD,
        campaign_id: Some(campaign),
        name: CharacterName::parse(name).unwrap(),
        class: CharacterClass::parse("Bard").unwrap(),
        race: Race::parse("Human").unwrap(),
        gender: None,
        description: None,
    })
    .await
    .unwrap();
}

struct World {
    account: AccountId,
    portrait: ImageId,
    rime: CampaignId,
    narration: gamemaster::core::ids::MessageId,
}

/// Alice (two Discord users on one account) and Bob (no account) play Rime together.
async fn world(db: &Db) -> World {
    let accounts = Accounts::new(Arc::new(db.clone()), CHEAP, 1);
    let account = accounts
        .register(ALICE, "mira@example.org", PASSWORD, PASSWORD)
        .await
        .unwrap()
        .created()
        .expect("a new account");
    accounts
        .link(ALICE_PHONE, "mira@example.org", PASSWORD)
        .await
        .unwrap();
    let rime = campaign(db, ALICE, "Rime").await;
    campaign(db, BOB, "Bob's Keep").await;
    character(db, ALICE, "Aria", rime).await;
    let portrait = db
        .put_image(&NewImage {
            kind: ImageKind::CharacterPortrait,
            mime: "image/png".into(),
            bytes: b"aria".to_vec(),
            sha256: "aria-portrait".into(),
            prompt: Some("a bard".into()),
            model: None,
        })
        .await
        .unwrap();
    let aria = db.list_characters(GUILD, Some(ALICE)).await.unwrap()[0].id;
    db.set_character_portrait(aria, Some(portrait))
        .await
        .unwrap();
    character(db, BOB, "Borin", rime).await;
    let session = db
        .start_session(rime, Some(GUILD), ChannelId(77), Some(ALICE))
        .await
        .unwrap();
    let cast = db.campaign_characters(rime).await.unwrap();
    let mut narration = None;
    for (author, text) in [
        (Some(ALICE), "Aria sings."),
        (Some(BOB), "Borin listens."),
        (None, "The snow hushes."),
        (Some(ALICE_PHONE), "Aria bows."),
    ] {
        let stored = db
            .append_message(&NewMessage {
                session_id: session.id,
                campaign_id: rime,
                author_id: author,
                character_id: author
                    .and_then(|a| cast.iter().find(|c| c.owner_id == Some(a)).map(|c| c.id)),
                role: if author.is_some() {
                    MessageRole::User
                } else {
                    MessageRole::Assistant
                },
                content: text.into(),
                model: author.is_none().then(|| "local:narrator".into()),
                status: MessageStatus::Complete,
                discord_message_id: None,
                author_name: None,
            })
            .await
            .unwrap();
        if author.is_none() {
            narration = Some(stored.id);
        }
    }
    let narration = narration.unwrap();
    for (user, cost) in [(ALICE, Some(0.002)), (BOB, None)] {
        db.record_call(&PerfRecord {
            guild_id: Some(GUILD),
            campaign_id: Some(rime),
            session_id: Some(session.id),
            user_id: Some(user),
            model: "local:narrator".into(),
            latency_ms: 840,
            ttft_ms: Some(120),
            tokens_in: Some(900),
            tokens_out: Some(200),
            cost_usd: cost,
            created_at: gamemaster::core::ids::Timestamp::now(),
            ..crate::support::perf::call()
        })
        .await
        .unwrap();
    }
    db.record_quality(&QualityRecord {
        message_id: narration,
        guild_id: Some(GUILD),
        campaign_id: rime,
        session_id: session.id,
        user_id: Some(ALICE),
        model: "local:narrator".into(),
        kind: CallKind::Narration,
        checks: QualityChecks {
            language: None,
            language_ok: None,
            tag_errors: 0,
            meta_talk: false,
            repetition: Some(0.0),
            budget_use: Some(0.3),
        },
        created_at: gamemaster::core::ids::Timestamp::now(),
    })
    .await
    .unwrap();
    db.set_rating(narration, ALICE, Rating::Up).await.unwrap();
    db.set_rating(narration, BOB, Rating::Down).await.unwrap();
    World {
        account: account.id,
        portrait,
        rime,
        narration,
    }
}

#[tokio::test]
async fn the_export_holds_everything_about_the_person_and_no_password_hash() {
    for t in engines().await {
        let w = world(&t.db).await;
        let data = personal_data::export(&t.db, ALICE_PHONE).await.unwrap();
        let account = data.account.as_ref().expect("the account");
        assert_eq!(account.email, "mira@example.org");
        assert_eq!(account.id, w.account.0);
        assert_eq!(data.discord_user_id, ALICE_PHONE.0.to_string());
        let mut linked: Vec<&str> = data
            .discord_links
            .iter()
            .map(|l| l.discord_user_id.as_str())
            .collect();
        linked.sort_unstable();
        let (a, p) = (ALICE.0.to_string(), ALICE_PHONE.0.to_string());
        assert_eq!(linked, [a.as_str(), p.as_str()]);
        let names: Vec<&str> = data.characters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Aria"]);
        let campaigns: Vec<&str> = data.campaigns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(campaigns, ["Rime"]);
        let said: Vec<&str> = data.messages.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(said, ["Aria sings.", "Aria bows."]);
        assert_eq!(data.ratings.len(), 1);
        assert_eq!(data.ratings[0].message_id, w.narration.0);
        let attempts: Vec<bool> = data.login_attempts.iter().map(|a| a.ok).collect();
        assert_eq!(
            attempts,
            [true, true],
            "the registration and the phone's link"
        );
        assert_eq!(data.model_calls.len(), 1);
        assert_eq!(data.model_calls[0].cost_usd, Some(0.002));
        assert_eq!(data.model_calls[0].tokens_out, Some(200));
        assert_eq!(
            data.narration_checks.len(),
            1,
            "the checks of her turn's narration"
        );
        assert_eq!(data.narration_checks[0].message_id, w.narration.0);
        assert_eq!(data.narration_checks[0].language_ok, None);

        let json = data.to_json();
        let hash =
            t.db.account(w.account)
                .await
                .unwrap()
                .unwrap()
                .password_hash;
        assert!(!json.contains(&hash), "{:?}", t.backend());
        assert!(!json.contains("argon2") && !json.contains("password"));
        // Snowflakes are strings, exact in any JSON reader.
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["discord_user_id"], serde_json::json!(p));

        // Someone without an account gets their Discord-keyed rows.
        let bob = personal_data::export(&t.db, BOB).await.unwrap();
        assert!(bob.account.is_none());
        assert_eq!(bob.characters.len(), 1);
        assert_eq!(bob.campaigns.len(), 1);
        assert_eq!(bob.messages.len(), 1);
    }
}

#[tokio::test]
async fn erasure_deletes_the_person_and_keeps_the_shared_story() {
    for t in engines().await {
        let w = world(&t.db).await;
        let erasure = personal_data::erase(&t.db, ALICE).await.unwrap();
        assert!(erasure.account_deleted);
        assert_eq!(erasure.links_deleted, 2);
        assert_eq!(erasure.characters_deleted, 1);
        assert_eq!(erasure.messages_anonymised, 2);
        assert_eq!(erasure.votes_deleted, 1);
        assert_eq!(erasure.campaigns_released, 1);

        assert!(t.db.account(w.account).await.unwrap().is_none());
        assert!(
            t.db.image(w.portrait).await.unwrap().is_none(),
            "Aria's portrait"
        );
        assert!(t.db.discord_link(ALICE).await.unwrap().is_none());
        assert!(t.db.discord_link(ALICE_PHONE).await.unwrap().is_none());
        let cast: Vec<String> =
            t.db.campaign_characters(w.rime)
                .await
                .unwrap()
                .iter()
                .map(|c| c.name.as_str().to_string())
                .collect();
        assert_eq!(cast, ["Borin"]);

        let session = t.db.active_session(ChannelId(77)).await.unwrap().unwrap();
        assert_eq!(session.started_by, None);
        let story = t.db.all_messages(session.id).await.unwrap();
        let lines: Vec<(Option<UserId>, &str)> = story
            .iter()
            .map(|m| (m.author_id, m.content.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                (None, "Aria sings."),
                (Some(BOB), "Borin listens."),
                (None, "The snow hushes."),
                (None, "Aria bows."),
            ]
        );
        assert!(story[0].character_id.is_none());
        assert!(story[1].character_id.is_some(), "Bob's character stays");
        assert_eq!(t.db.rating_counts(w.narration).await.unwrap(), (0, 1));
        let rime = t.db.campaign(w.rime).await.unwrap().unwrap();
        assert_eq!(rime.owner_id, None);
        assert_eq!(rime.guild_id, Some(GUILD));

        // Nothing is left that points at Alice.
        let left = personal_data::export(&t.db, ALICE).await.unwrap();
        assert!(left.account.is_none() && left.characters.is_empty());
        assert!(left.messages.is_empty() && left.ratings.is_empty());
        assert!(left.campaigns.is_empty() && left.login_attempts.is_empty());
        assert!(
            left.model_calls.is_empty(),
            "performance records lose the user id"
        );
        assert!(
            left.narration_checks.is_empty(),
            "quality records lose the user id"
        );
        // Bob's data is untouched.
        let bob = personal_data::export(&t.db, BOB).await.unwrap();
        assert_eq!(bob.characters.len(), 1);
        assert_eq!(bob.ratings.len(), 1);
        assert_eq!(bob.model_calls.len(), 1);
        assert_eq!(bob.model_calls[0].cost_usd, None);
    }
}

async fn imported_campaign(db: &Db, account: AccountId, name: &str) -> i64 {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO campaigns (account_id, name, name_key, themes, language, model, created_at) \
         VALUES ($1, $2, $3, 'crypts', 'fr', 'deepseek:deepseek-chat', 1) RETURNING id",
    )
    .bind(account.0)
    .bind(name)
    .bind(gamemaster::core::text::name_key(name))
    .fetch_one(db.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO characters (account_id, campaign_id, name, class, race, level, created_at) \
         VALUES ($1, $2, 'Élodie', 'Magicienne', 'Elfe', 3, 1)",
    )
    .bind(account.0)
    .bind(id)
    .execute(db.pool())
    .await
    .unwrap();
    id
}

#[tokio::test]
async fn imported_campaigns_join_the_first_server_that_adopts_them() {
    for t in engines().await {
        let w = world(&t.db).await;
        let crypt = imported_campaign(&t.db, w.account, "La Crypte").await;
        let clash = imported_campaign(&t.db, w.account, "rime").await;
        assert!(t.db.list_campaigns(GUILD).await.unwrap().len() == 2);

        // Not linked: nothing happens.
        let none = personal_data::adopt(&t.db, UserId(5), GUILD).await.unwrap();
        assert!(none.is_empty());

        let adoption = personal_data::adopt(&t.db, ALICE_PHONE, GUILD)
            .await
            .unwrap();
        assert_eq!(adoption.campaigns, 2);
        assert_eq!(adoption.characters, 2);
        assert_eq!(
            adoption.renamed,
            [("rime".to_string(), "rime (imported)".to_string())]
        );
        let crypt = t.db.campaign(CampaignId(crypt)).await.unwrap().unwrap();
        assert_eq!(crypt.guild_id, Some(GUILD));
        assert_eq!(crypt.owner_id, Some(ALICE_PHONE));
        assert_eq!(crypt.account_id, Some(w.account));
        let clash = t.db.campaign(CampaignId(clash)).await.unwrap().unwrap();
        assert_eq!(clash.name.as_str(), "rime (imported)");
        let mine: Vec<String> =
            t.db.list_characters(GUILD, Some(ALICE_PHONE))
                .await
                .unwrap()
                .iter()
                .map(|c| c.name.as_str().to_string())
                .collect();
        assert_eq!(mine, ["Élodie", "Élodie"]);

        // Adopted once: another server gets nothing.
        let again = personal_data::adopt(&t.db, ALICE, OTHER_GUILD)
            .await
            .unwrap();
        assert!(again.is_empty());
        assert!(t.db.list_campaigns(OTHER_GUILD).await.unwrap().is_empty());

        // The account's links, for completeness of the person.
        let person = Person::resolve(&t.db, ALICE).await.unwrap();
        assert_eq!(person.users, [ALICE, ALICE_PHONE]);
        assert_eq!(t.db.account_links(w.account).await.unwrap().len(), 2);
    }
}
