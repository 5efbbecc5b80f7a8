//! Repository functions on both engines: SQLite always, PostgreSQL with `TEST_DATABASE_URL`.

use crate::support;

use gamemaster::core::game::campaign::{CampaignName, NewCampaign, Themes, Tone};
use gamemaster::core::game::character::{
    CharacterClass, CharacterName, Description, NewCharacter, Race,
};
use gamemaster::core::game::guild::GuildSettings;
use gamemaster::core::game::language::Language;
use gamemaster::core::game::transcript::{MessageRole, MessageStatus, NewMessage};
use gamemaster::core::game::vote::{ArenaChoice, Rating};
use gamemaster::core::ids::*;
use gamemaster::core::models::chat::ModelId;
use gamemaster::core::models::perf::{CallKind, PerfRecord};
use gamemaster::core::portrait::image::{ImageKind, NewImage};
use gamemaster::core::store::*;
use gamemaster::storage::Db;
use support::db::engines;

const GUILD: GuildId = GuildId(111_111_111_111_111_111);
const OTHER_GUILD: GuildId = GuildId(222_222_222_222_222_222);
const ALICE: UserId = UserId(900_000_000_000_000_001);
const BOB: UserId = UserId(900_000_000_000_000_002);

fn new_campaign(guild: GuildId, name: &str) -> NewCampaign {
    NewCampaign {
        guild_id: guild,
        owner_id: ALICE,
        name: CampaignName::parse(name).unwrap(),
        themes: Themes::parse("mines, goblins, a lost forge").unwrap(),
        language: Language::Fr,
        tone: Some(Tone::parse("heroic").unwrap()),
        model: ModelId::parse("openai:gpt-4o-mini").unwrap(),
    }
}

fn new_character(campaign: Option<CampaignId>, owner: UserId, name: &str) -> NewCharacter {
    NewCharacter {
        owner_id: owner,
        guild_id: GUILD,
        campaign_id: campaign,
        name: CharacterName::parse(name).unwrap(),
        class: CharacterClass::parse("Wizard").unwrap(),
        race: Race::parse("High Elf").unwrap(),
        gender: None,
        description: Some(Description::parse("Curious.\nCarries a toad.").unwrap()),
    }
}

async fn session_with_campaign(db: &Db, channel: u64) -> (CampaignId, SessionId) {
    let campaign = db
        .create_campaign(&new_campaign(GUILD, &format!("Story {channel}")))
        .await
        .unwrap();
    let session = db
        .start_session(campaign.id, Some(GUILD), ChannelId(channel), Some(ALICE))
        .await
        .unwrap();
    (campaign.id, session.id)
}

fn message(
    session: SessionId,
    campaign: CampaignId,
    role: MessageRole,
    content: &str,
) -> NewMessage {
    NewMessage {
        session_id: session,
        campaign_id: campaign,
        author_id: (role == MessageRole::User).then_some(ALICE),
        character_id: None,
        role,
        content: content.into(),
        model: (role == MessageRole::Assistant).then(|| "openai:gpt-4o-mini".into()),
        status: MessageStatus::Complete,
        discord_message_id: None,
        author_name: None,
    }
}

#[tokio::test]
async fn campaigns_round_trip_and_names_are_unique_per_server() {
    for t in engines().await {
        let db = &t.db;
        let created = db
            .create_campaign(&new_campaign(GUILD, "The Lost Mine"))
            .await
            .unwrap();
        assert_eq!(created.name.as_str(), "The Lost Mine");
        assert_eq!(created.language, Language::Fr);
        assert_eq!(created.owner_id, Some(ALICE));
        assert!(!created.arena_enabled);

        let dup = db
            .create_campaign(&new_campaign(GUILD, "the lost MINE "))
            .await
            .unwrap_err();
        assert!(
            matches!(dup, StoreError::Conflict(ref m) if m.contains("already has a campaign")),
            "{dup:?}"
        );
        // The same name is fine in another server.
        db.create_campaign(&new_campaign(OTHER_GUILD, "The Lost Mine"))
            .await
            .unwrap();

        assert_eq!(db.campaign(created.id).await.unwrap().unwrap(), created);
        assert_eq!(
            db.campaign_by_name(GUILD, "THE LOST MINE")
                .await
                .unwrap()
                .unwrap()
                .id,
            created.id
        );
        assert!(
            db.campaign_in_guild(OTHER_GUILD, created.id)
                .await
                .unwrap()
                .is_none(),
            "crossed servers"
        );
        assert_eq!(db.list_campaigns(GUILD).await.unwrap().len(), 1);

        db.create_campaign(&new_campaign(GUILD, "Mines of 100% Peril"))
            .await
            .unwrap();
        let found = db.search_campaigns(GUILD, "min", 10).await.unwrap();
        assert_eq!(found.len(), 2);
        let literal = db.search_campaigns(GUILD, "100%", 10).await.unwrap();
        assert_eq!(literal.len(), 1, "percent signs are literal");
        assert!(
            db.search_campaigns(GUILD, "_", 10)
                .await
                .unwrap()
                .is_empty()
        );

        let model = ModelId::parse("anthropic:claude-sonnet-4-5").unwrap();
        assert!(db.set_campaign_model(created.id, &model).await.unwrap());
        assert!(
            db.set_campaign_fallback(created.id, Some(&model))
                .await
                .unwrap()
        );
        assert!(db.set_arena_enabled(created.id, true).await.unwrap());
        let updated = db.campaign(created.id).await.unwrap().unwrap();
        assert_eq!(updated.model, model);
        assert_eq!(updated.fallback_model, Some(model));
        assert!(updated.arena_enabled);

        assert!(db.delete_campaign(created.id).await.unwrap());
        assert!(!db.delete_campaign(created.id).await.unwrap());
        assert!(db.campaign(created.id).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn characters_belong_to_owners_and_survive_campaign_deletion() {
    for t in engines().await {
        let db = &t.db;
        let campaign = db
            .create_campaign(&new_campaign(GUILD, "Saltmarsh"))
            .await
            .unwrap();
        let mira = db
            .create_character(&new_character(Some(campaign.id), ALICE, "Mira"))
            .await
            .unwrap();
        db.create_character(&new_character(Some(campaign.id), BOB, "Thorn"))
            .await
            .unwrap();
        assert_eq!(mira.level, 1);
        assert_eq!(
            mira.description.as_ref().unwrap().as_str(),
            "Curious.\nCarries a toad."
        );
        assert_eq!(db.character(mira.id).await.unwrap().unwrap(), mira);
        assert_eq!(
            db.list_characters(GUILD, Some(ALICE)).await.unwrap(),
            vec![mira.clone()]
        );
        assert_eq!(db.list_characters(GUILD, None).await.unwrap().len(), 2);
        assert!(
            db.list_characters(OTHER_GUILD, None)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(db.campaign_characters(campaign.id).await.unwrap().len(), 2);

        db.delete_campaign(campaign.id).await.unwrap();
        let orphan = db.character(mira.id).await.unwrap().unwrap();
        assert_eq!(
            orphan.campaign_id, None,
            "characters outlive their campaign"
        );
        assert!(db.delete_character(mira.id).await.unwrap());
        assert!(db.character(mira.id).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn one_active_session_per_channel() {
    for t in engines().await {
        let db = &t.db;
        let (campaign, session) = session_with_campaign(db, 42).await;
        let second = db
            .start_session(campaign, Some(GUILD), ChannelId(42), Some(BOB))
            .await
            .unwrap_err();
        assert!(matches!(second, StoreError::Conflict(_)), "{second:?}");
        assert_eq!(
            db.active_session(ChannelId(42)).await.unwrap().unwrap().id,
            session
        );
        assert_eq!(db.active_sessions().await.unwrap().len(), 1);

        assert!(db.end_session(session).await.unwrap());
        assert!(
            !db.end_session(session).await.unwrap(),
            "ending twice changes nothing"
        );
        assert!(db.active_session(ChannelId(42)).await.unwrap().is_none());
        // The channel is free again.
        let again = db
            .start_session(campaign, Some(GUILD), ChannelId(42), Some(BOB))
            .await
            .unwrap();
        assert_ne!(again.id, session);
        let ended = db.session(session).await.unwrap().unwrap();
        assert!(ended.ended_at.is_some());

        db.update_summary(again.id, "The party entered the mine.", MessageId(7))
            .await
            .unwrap();
        let s = db.session(again.id).await.unwrap().unwrap();
        assert_eq!(
            (s.summary.as_str(), s.summary_through),
            ("The party entered the mine.", Some(MessageId(7)))
        );
    }
}

#[tokio::test]
async fn the_story_tail_is_ordered_bounded_and_skips_superseded_narrations() {
    for t in engines().await {
        let db = &t.db;
        let (campaign, session) = session_with_campaign(db, 7).await;
        let mut ids = Vec::new();
        for i in 0..10 {
            let role = if i % 2 == 0 {
                MessageRole::User
            } else {
                MessageRole::Assistant
            };
            ids.push(
                db.append_message(&message(session, campaign, role, &format!("m{i}")))
                    .await
                    .unwrap()
                    .id,
            );
        }
        db.update_message(ids[9], "m9", MessageStatus::Superseded)
            .await
            .unwrap();
        let tail = db.story_tail(session, None, 4).await.unwrap();
        let texts: Vec<_> = tail.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(texts, ["m5", "m6", "m7", "m8"]);
        let after = db.story_tail(session, Some(ids[6]), 100).await.unwrap();
        assert_eq!(after.len(), 2);
        assert_eq!(
            db.all_messages(session).await.unwrap().len(),
            10,
            "superseded rows are kept"
        );

        let streaming = db
            .append_message(&NewMessage {
                status: MessageStatus::Streaming,
                ..message(session, campaign, MessageRole::Assistant, "half a sen")
            })
            .await
            .unwrap();
        db.set_discord_message_id(streaming.id, DiscordMessageId(555))
            .await
            .unwrap();
        assert_eq!(db.interrupt_streaming().await.unwrap(), 1);
        let cut = db.message(streaming.id).await.unwrap().unwrap();
        assert_eq!(cut.status, MessageStatus::Interrupted);
        assert_eq!(cut.content, "half a sen", "nothing stored is lost");
        assert_eq!(cut.discord_message_id, Some(DiscordMessageId(555)));
    }
}

#[tokio::test]
async fn performance_records_feed_budgets() {
    for t in engines().await {
        let db = &t.db;
        let now = Timestamp::now();
        let record = |kind, cost: Option<f64>, at: Timestamp| PerfRecord {
            guild_id: Some(GUILD),
            user_id: Some(ALICE),
            kind,
            latency_ms: 1200,
            ttft_ms: Some(300),
            tokens_in: Some(900),
            tokens_out: Some(250),
            cost_usd: cost,
            created_at: at,
            ..crate::support::perf::call()
        };
        db.record_call(&record(CallKind::Narration, Some(0.25), now))
            .await
            .unwrap();
        db.record_call(&record(CallKind::Narration, None, now))
            .await
            .unwrap();
        db.record_call(&record(CallKind::Portrait, Some(0.04), now))
            .await
            .unwrap();
        db.record_call(&record(CallKind::Portrait, Some(0.04), now.minus_days(2)))
            .await
            .unwrap();
        let spent = db
            .guild_spend_since(GUILD, now.minus_days(1))
            .await
            .unwrap();
        assert!((spent - 0.29).abs() < 1e-9, "{spent}");
        assert_eq!(
            db.guild_spend_since(OTHER_GUILD, now.minus_days(1))
                .await
                .unwrap(),
            0.0
        );
    }
}

#[tokio::test]
async fn ratings_replace_and_arena_votes_count_once() {
    for t in engines().await {
        let db = &t.db;
        let (campaign, session) = session_with_campaign(db, 9).await;
        let a = db
            .append_message(&message(session, campaign, MessageRole::Assistant, "A"))
            .await
            .unwrap();
        let b = db
            .append_message(&message(session, campaign, MessageRole::Assistant, "B"))
            .await
            .unwrap();

        db.set_rating(a.id, ALICE, Rating::Up).await.unwrap();
        db.set_rating(a.id, BOB, Rating::Up).await.unwrap();
        db.set_rating(a.id, ALICE, Rating::Down).await.unwrap();
        assert_eq!(db.rating_counts(a.id).await.unwrap(), (1, 1));

        let battle = db
            .create_battle(
                session,
                Some(GUILD),
                "openai:gpt-4o",
                "anthropic:claude-sonnet-4-5",
                a.id,
                b.id,
            )
            .await
            .unwrap();
        assert!(
            db.arena_vote(battle.id, ALICE, ArenaChoice::A)
                .await
                .unwrap()
        );
        assert!(
            !db.arena_vote(battle.id, ALICE, ArenaChoice::B)
                .await
                .unwrap(),
            "second vote refused"
        );
        assert!(
            db.arena_vote(battle.id, BOB, ArenaChoice::Tie)
                .await
                .unwrap()
        );
        assert_eq!(
            db.arena_votes(battle.id).await.unwrap(),
            vec![(ALICE, ArenaChoice::A), (BOB, ArenaChoice::Tie)]
        );
        assert!(db.decide_battle(battle.id, ArenaChoice::A).await.unwrap());
        assert!(
            !db.decide_battle(battle.id, ArenaChoice::B).await.unwrap(),
            "decided once"
        );
        let decided = db.battle(battle.id).await.unwrap().unwrap();
        assert_eq!(decided.winner, Some(ArenaChoice::A));
        assert!(decided.decided_at.is_some());
    }
}

#[tokio::test]
async fn images_are_deduplicated_and_deleted_only_when_unused() {
    for t in engines().await {
        let db = &t.db;
        let png = NewImage {
            kind: ImageKind::CharacterPortrait,
            mime: "image/png".into(),
            bytes: vec![0x89, b'P', b'N', b'G', 0, 1, 2, 255],
            sha256: "ab".repeat(32),
            prompt: Some("a wizard".into()),
            model: Some("openai:dall-e-3".into()),
        };
        let first = db.put_image(&png).await.unwrap();
        let second = db.put_image(&png).await.unwrap();
        assert_eq!(first, second, "same bytes, same row");
        let stored = db.image(first).await.unwrap().unwrap();
        assert_eq!(stored.bytes, png.bytes);
        assert_eq!(stored.kind, ImageKind::CharacterPortrait);

        let character = db
            .create_character(&new_character(None, ALICE, "Mira"))
            .await
            .unwrap();
        db.set_character_portrait(character.id, Some(first))
            .await
            .unwrap();
        assert!(
            !db.delete_image_if_unused(first).await.unwrap(),
            "still shown by a character"
        );
        // Deleting its last owner deletes the image.
        db.delete_character(character.id).await.unwrap();
        assert!(db.image(first).await.unwrap().is_none());
        assert!(
            !db.delete_image_if_unused(first).await.unwrap(),
            "already gone"
        );
    }
}

#[tokio::test]
async fn accounts_links_and_lockouts() {
    for t in engines().await {
        let db = &t.db;
        let account = db
            .create_account(
                "mira@example.org",
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
            )
            .await
            .unwrap();
        assert!(matches!(
            db.create_account("mira@example.org", "x").await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            db.account_by_email("mira@example.org")
                .await
                .unwrap()
                .unwrap()
                .id,
            account.id
        );

        let now = Timestamp::now();
        let window = std::time::Duration::from_secs(900);
        for attempt in 1..=5 {
            assert!(
                db.reserve_login(account.id, now, window, 5).await.unwrap(),
                "attempt {attempt} may still succeed"
            );
        }
        assert!(!db.reserve_login(account.id, now, window, 5).await.unwrap());
        let locked = db.account(account.id).await.unwrap().unwrap();
        assert_eq!(
            (locked.failed_logins, locked.locked_until),
            (6, Some(Timestamp(now.0 + 900_000)))
        );
        db.record_login(account.id, Timestamp::now()).await.unwrap();
        let fresh = db.account(account.id).await.unwrap().unwrap();
        assert_eq!((fresh.failed_logins, fresh.locked_until), (0, None));

        db.link_discord(ALICE, account.id).await.unwrap();
        db.link_discord(BOB, account.id).await.unwrap();
        assert_eq!(
            db.discord_link(BOB).await.unwrap().unwrap().account_id,
            account.id
        );
        assert!(db.unlink_discord(BOB).await.unwrap());
        assert!(db.discord_link(BOB).await.unwrap().is_none());

        db.set_password_hash(account.id, "new-hash").await.unwrap();
        assert_eq!(
            db.account(account.id).await.unwrap().unwrap().password_hash,
            "new-hash"
        );
        assert!(db.delete_account(account.id).await.unwrap());
        assert!(
            db.discord_link(ALICE).await.unwrap().is_none(),
            "links go with the account"
        );
    }
}

#[tokio::test]
async fn guild_settings_default_then_upsert() {
    for t in engines().await {
        let db = &t.db;
        assert_eq!(
            db.guild_settings(GUILD).await.unwrap(),
            GuildSettings::defaults(GUILD)
        );
        let mut settings = GuildSettings::defaults(GUILD);
        settings.default_model = Some(ModelId::parse("deepseek:deepseek-chat").unwrap());
        settings.monthly_budget_usd = Some(12.5);
        settings.arena_default = true;
        db.save_guild_settings(&settings).await.unwrap();
        assert_eq!(db.guild_settings(GUILD).await.unwrap(), settings);
        settings.monthly_budget_usd = None;
        db.save_guild_settings(&settings).await.unwrap();
        assert_eq!(db.guild_settings(GUILD).await.unwrap(), settings);
    }
}

#[tokio::test]
async fn size_and_ping_answer_on_both_engines() {
    for t in engines().await {
        t.db.ping().await.unwrap();
        assert!(
            t.db.size_bytes().await.unwrap() > 0,
            "{}",
            t.backend().name()
        );
    }
}

#[tokio::test]
async fn an_arena_vote_can_be_changed_and_still_counts_once() {
    for t in engines().await {
        let db = &t.db;
        let (campaign, session) = session_with_campaign(db, 10).await;
        let a = db
            .append_message(&message(session, campaign, MessageRole::Assistant, "A"))
            .await
            .unwrap();
        let b = db
            .append_message(&message(session, campaign, MessageRole::Assistant, "B"))
            .await
            .unwrap();
        let battle = db
            .create_battle(session, Some(GUILD), "local:one", "local:two", a.id, b.id)
            .await
            .unwrap();
        let vote = |who, choice| db.set_arena_vote(battle.id, who, choice);
        assert_eq!(vote(ALICE, ArenaChoice::A).await.unwrap(), None);
        assert_eq!(vote(BOB, ArenaChoice::BothBad).await.unwrap(), None);
        assert_eq!(
            vote(ALICE, ArenaChoice::B).await.unwrap(),
            Some(ArenaChoice::A),
            "the earlier vote is returned"
        );
        assert_eq!(
            db.arena_votes(battle.id).await.unwrap(),
            vec![(ALICE, ArenaChoice::B), (BOB, ArenaChoice::BothBad)],
            "one vote per voter, the latest one"
        );
    }
}

#[tokio::test]
async fn a_narration_is_finished_in_one_write_keeping_an_earlier_discord_id() {
    for t in engines().await {
        let db = &t.db;
        let (campaign, session) = session_with_campaign(db, 8).await;
        let streaming = |text: &str| NewMessage {
            status: MessageStatus::Streaming,
            ..message(session, campaign, MessageRole::Assistant, text)
        };
        let shown = db.append_message(&streaming("The door")).await.unwrap();
        db.finish_message(
            shown.id,
            "The door opens.",
            MessageStatus::Complete,
            Some(DiscordMessageId(777)),
        )
        .await
        .unwrap();
        let done = db.message(shown.id).await.unwrap().unwrap();
        assert_eq!(
            (done.content.as_str(), done.status, done.discord_message_id),
            (
                "The door opens.",
                MessageStatus::Complete,
                Some(DiscordMessageId(777))
            )
        );

        // No message shown this time (the send failed): an id set earlier stays.
        let cut = db.append_message(&streaming("Half")).await.unwrap();
        db.set_discord_message_id(cut.id, DiscordMessageId(888))
            .await
            .unwrap();
        db.finish_message(cut.id, "Half a", MessageStatus::Interrupted, None)
            .await
            .unwrap();
        let cut = db.message(cut.id).await.unwrap().unwrap();
        assert_eq!(
            (cut.content.as_str(), cut.status, cut.discord_message_id),
            (
                "Half a",
                MessageStatus::Interrupted,
                Some(DiscordMessageId(888))
            )
        );
    }
}

#[tokio::test]
async fn the_settings_revision_moves_with_every_write_a_turn_reads() {
    for t in engines().await {
        let db = &t.db;
        let (campaign, session) = session_with_campaign(db, 9).await;
        let mut last = db
            .settings_revision()
            .expect("the database tracks revisions");
        let mut moved = |what: &str| {
            let now = db.settings_revision().unwrap();
            assert!(now > last, "{what} moves the revision");
            last = now;
        };
        let model = ModelId::parse("anthropic:claude-sonnet-4-5").unwrap();
        db.set_campaign_model(campaign, &model).await.unwrap();
        moved("the campaign's model");
        db.set_campaign_fallback(campaign, Some(&model))
            .await
            .unwrap();
        moved("the campaign's fallback");
        db.set_arena_enabled(campaign, true).await.unwrap();
        moved("arena on");
        let hero = db
            .create_character(&new_character(Some(campaign), BOB, "Pip"))
            .await
            .unwrap();
        moved("a character joining");
        db.delete_character(hero.id).await.unwrap();
        moved("a character leaving");
        db.save_guild_settings(&GuildSettings::defaults(GUILD))
            .await
            .unwrap();
        moved("server settings");
        let before = db.settings_revision();
        let m = db
            .append_message(&message(session, campaign, MessageRole::User, "hi"))
            .await
            .unwrap();
        db.record_call(&PerfRecord {
            guild_id: Some(GUILD),
            ..crate::support::perf::call()
        })
        .await
        .unwrap();
        assert_eq!(
            db.settings_revision(),
            before,
            "the story and the measurements do not"
        );
        db.update_summary(session, "So far.", m.id).await.unwrap();
        moved("the summary");
        db.end_session(session).await.unwrap();
        moved("the session ending");
        db.delete_campaign(campaign).await.unwrap();
        moved("the campaign's deletion");
    }
}

/// A broken rule is a refusal, not an outage: the engine waits out an unreachable database
/// but must not retry a statement that can never succeed.
#[tokio::test]
async fn a_broken_rule_is_refused_and_a_closed_pool_is_unavailable() {
    for t in engines().await {
        let db = &t.db;
        let (campaign, _) = session_with_campaign(db, 77).await;
        let orphan = NewMessage::by_bot(
            SessionId(987_654),
            campaign,
            MessageRole::Assistant,
            "Nobody's narration.".into(),
            MessageStatus::Complete,
        );
        let refused = db.append_message(&orphan).await.unwrap_err();
        assert!(
            matches!(refused, StoreError::Refused(_)),
            "{:?}: {refused:?}",
            t.backend()
        );
        db.close().await;
        let closed = db.campaign(campaign).await.unwrap_err();
        assert!(
            matches!(closed, StoreError::Unavailable(_)),
            "{:?}: {closed:?}",
            t.backend()
        );
    }
}

/// The story window reads back every field exactly as stored, whatever the text holds (on
/// SQLite it travels as one JSON row).
#[tokio::test]
async fn the_story_tail_reads_back_every_field_exactly() {
    let contents = [
        "\"Quotes\", \\backslashes\\ and\nnew\tlines",
        "ünïcödé ✨ 🐉 and a zero-width\u{200b}joiner",
        "[1, 2] {\"json\": true} null",
        &"long ".repeat(400),
        "",
    ];
    for t in engines().await {
        let db = &t.db;
        let (campaign, session) = session_with_campaign(db, 8).await;
        for (i, content) in contents.iter().enumerate() {
            let role = if i % 2 == 0 {
                MessageRole::User
            } else {
                MessageRole::Assistant
            };
            let new = NewMessage {
                discord_message_id: (i == 1).then_some(DiscordMessageId(u64::MAX >> 1)),
                author_name: None,
                ..message(session, campaign, role, content)
            };
            db.append_message(&new).await.unwrap();
        }
        let tail = db.story_tail(session, None, 100).await.unwrap();
        let stored = db.all_messages(session).await.unwrap();
        assert_eq!(tail, stored, "{:?}", t.backend());
    }
}
