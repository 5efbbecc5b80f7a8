//! The session engine with a scripted model, a recording chat surface and real SQLite.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use gamemaster::core::engine::{
    Engine, EngineDeps, EngineError, EngineSettings, Notice, PlayerInput,
};
use gamemaster::core::game::campaign::{Campaign, CampaignName, NewCampaign, Themes};
use gamemaster::core::game::character::{CharacterClass, CharacterName, NewCharacter, Race};
use gamemaster::core::game::language::Language;
use gamemaster::core::game::transcript::{MessageRole, MessageStatus, StoredMessage};
use gamemaster::core::ids::*;
use gamemaster::core::models::chat::{ErrorKind, ModelId, Role};
use gamemaster::core::store::*;
use gamemaster::core::streaming::StreamPolicy;
use gamemaster::storage::Db;
use support::db::TestDb;
use support::scripted::{RecordingPresenter, Reply, ScriptedModel, ScriptedModels, Shown};

const GUILD: GuildId = GuildId(1);
const CHANNEL: ChannelId = ChannelId(10);
const ALICE: UserId = UserId(100);
const BOB: UserId = UserId(200);
const CAROL: UserId = UserId(300);

struct Game {
    engine: Engine,
    db: Db,
    _test_db: TestDb,
    models: Arc<ScriptedModels>,
    gm: Arc<ScriptedModel>,
    gm_id: ModelId,
    presenter: Arc<RecordingPresenter>,
}

async fn spawn_game(settings: EngineSettings) -> Game {
    let test_db = support::db::sqlite().await;
    let db = test_db.db.clone();
    game_on(settings, test_db, db)
}

fn game_on(settings: EngineSettings, test_db: TestDb, db: Db) -> Game {
    let models = Arc::new(ScriptedModels::default());
    let gm = ScriptedModel::new("The torchlight flickers. What do you do?");
    let gm_id = models.add("openai:gpt-4o-mini", gm.clone());
    let presenter = RecordingPresenter::new();
    let engine = Engine::new(EngineDeps {
        store: Arc::new(db.clone()),
        models: models.clone(),
        presenter: presenter.clone(),
        settings,
    });
    Game {
        engine,
        db,
        _test_db: test_db,
        models,
        gm,
        gm_id,
        presenter,
    }
}

fn fast() -> EngineSettings {
    EngineSettings {
        turn_window: Duration::from_millis(150),
        stream_policy: StreamPolicy {
            min_edit_interval: Duration::from_millis(50),
            ..StreamPolicy::default()
        },
        dice_seed: Some(7),
        ..EngineSettings::default()
    }
}

impl Game {
    async fn campaign(&self, name: &str, players: &[UserId]) -> Campaign {
        let campaign = self
            .db
            .create_campaign(&NewCampaign {
                guild_id: GUILD,
                owner_id: ALICE,
                name: CampaignName::parse(name).unwrap(),
                themes: Themes::parse("haunted lighthouse").unwrap(),
                language: Language::En,
                tone: None,
                model: self.gm_id.clone(),
            })
            .await
            .unwrap();
        for (i, player) in players.iter().enumerate() {
            self.db
                .create_character(&NewCharacter {
                    owner_id: *player,
                    guild_id: GUILD,
                    campaign_id: Some(campaign.id),
                    name: CharacterName::parse(&format!("Hero{i}")).unwrap(),
                    class: CharacterClass::parse("Rogue").unwrap(),
                    race: Race::parse("Halfling").unwrap(),
                    gender: None,
                    description: None,
                })
                .await
                .unwrap();
        }
        campaign
    }

    async fn start(&self, campaign: &Campaign, channel: ChannelId) -> SessionId {
        let session = self
            .engine
            .start_session(campaign, GUILD, channel, ALICE)
            .await
            .unwrap();
        self.presenter
            .wait_for(
                1,
                |s| matches!(s, Shown::Finished { channel: c, .. } if *c == channel),
            )
            .await;
        session.id
    }

    async fn say(&self, channel: ChannelId, who: UserId, text: &str) {
        self.engine
            .player_message(PlayerInput {
                channel,
                author: who,
                author_name: format!("user{}", who.0),
                character: None,
                content: text.into(),
                discord_message_id: None,
            })
            .await
            .unwrap();
    }

    async fn finished(&self, channel: ChannelId, n: usize) {
        self.presenter
            .wait_for(
                n,
                |s| matches!(s, Shown::Finished { channel: c, .. } if *c == channel),
            )
            .await;
    }

    async fn story(&self, session: SessionId) -> Vec<StoredMessage> {
        self.db.all_messages(session).await.unwrap()
    }
}

fn texts(messages: &[StoredMessage], role: MessageRole) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m.role == role)
        .map(|m| m.content.clone())
        .collect()
}

#[tokio::test]
async fn the_opening_scene_is_narrated_stored_and_measured() {
    let game = spawn_game(fast()).await;
    let campaign = game.campaign("Lighthouse", &[ALICE]).await;
    let session = game.start(&campaign, CHANNEL).await;

    let story = game.story(session).await;
    assert_eq!(story.len(), 1);
    assert_eq!(story[0].role, MessageRole::Assistant);
    assert_eq!(story[0].status, MessageStatus::Complete);
    assert_eq!(story[0].model.as_deref(), Some("openai:gpt-4o-mini"));
    assert_eq!(
        game.presenter.final_texts(CHANNEL),
        ["The torchlight flickers. What do you do?"]
    );
    assert!(
        game.presenter.shown()[0] == Shown::Typing(CHANNEL),
        "typing before the first token"
    );

    let request = game.gm.request(0);
    assert!(request.system.contains("Lighthouse") && request.system.contains("haunted lighthouse"));
    assert!(
        request.system.contains("Hero0"),
        "the party's sheets are in the prompt"
    );
    assert_eq!(request.messages.last().unwrap().role, Role::User);
    assert!(
        request
            .messages
            .last()
            .unwrap()
            .content
            .contains("Open the campaign")
    );

    let spent = game
        .db
        .guild_spend_since(GUILD, Timestamp(0))
        .await
        .unwrap();
    assert!(spent > 0.0, "the call was recorded with its cost");
}

#[tokio::test]
async fn a_lone_player_is_answered_without_waiting_for_the_window() {
    let mut settings = fast();
    settings.turn_window = Duration::from_secs(30);
    let game = spawn_game(settings).await;
    let campaign = game.campaign("Solo", &[ALICE]).await;
    let session = game.start(&campaign, CHANNEL).await;
    let started = std::time::Instant::now();
    game.say(CHANNEL, ALICE, "I climb the stairs.").await;
    game.finished(CHANNEL, 2).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no 30 s window for one player"
    );
    let story = game.story(session).await;
    assert_eq!(texts(&story, MessageRole::User), ["I climb the stairs."]);
    let last = game.gm.request(1);
    assert!(
        last.messages
            .last()
            .unwrap()
            .content
            .contains("Hero0 (played by user100): I climb the stairs.")
    );
}

#[tokio::test]
async fn a_turn_gathers_the_party_and_later_messages_wait_for_the_next_turn() {
    let game = spawn_game(fast()).await;
    let slow = ScriptedModel::with(
        "The lamp swings as the wind howls through the gallery.",
        Duration::from_millis(15),
    );
    let slow_id = game.models.add("anthropic:claude-sonnet-4-5", slow.clone());
    let campaign = game.campaign("Party", &[ALICE, BOB, CAROL]).await;
    game.db
        .set_campaign_model(campaign.id, &slow_id)
        .await
        .unwrap();
    let campaign = game.db.campaign(campaign.id).await.unwrap().unwrap();
    let session = game.start(&campaign, CHANNEL).await;

    // Three players within the window: one narration for all three.
    tokio::join!(
        game.say(CHANNEL, ALICE, "A: I light a torch."),
        game.say(CHANNEL, BOB, "B: I guard the door."),
        game.say(CHANNEL, CAROL, "C: I read the logbook."),
    );
    // Wait until the turn's narration is streaming, then speak: that goes to the next turn.
    game.presenter
        .wait_for(2, |s| matches!(s, Shown::Send { .. }))
        .await;
    game.say(CHANNEL, ALICE, "A: I run upstairs.").await;
    game.finished(CHANNEL, 3).await;

    assert_eq!(
        slow.calls(),
        3,
        "opening, the gathered turn, the late message"
    );
    let gathered = slow.request(1).messages.last().unwrap().content.clone();
    for line in [
        "A: I light a torch.",
        "B: I guard the door.",
        "C: I read the logbook.",
    ] {
        assert!(gathered.contains(line), "{line} missing from {gathered}");
    }
    assert!(!gathered.contains("I run upstairs"));
    assert!(
        slow.request(2)
            .messages
            .last()
            .unwrap()
            .content
            .contains("A: I run upstairs.")
    );

    let story = game.story(session).await;
    let roles: Vec<_> = story.iter().map(|m| m.role).collect();
    use MessageRole::*;
    assert_eq!(
        roles,
        [Assistant, User, User, User, Assistant, User, Assistant]
    );
}

#[tokio::test]
async fn turn_order_is_exact_across_many_channels_and_players() {
    let mut settings = fast();
    settings.turn_window = Duration::from_millis(20);
    let game = spawn_game(settings).await;
    let campaign_players = [ALICE, BOB];
    let mut channels = Vec::new();
    for c in 0..20u64 {
        let campaign = game.campaign(&format!("C{c}"), &campaign_players).await;
        let channel = ChannelId(1000 + c);
        let session = game
            .engine
            .start_session(&campaign, GUILD, channel, ALICE)
            .await
            .unwrap();
        channels.push((channel, session.id));
    }
    let mut senders = Vec::new();
    for &(channel, _) in &channels {
        for player in campaign_players {
            let engine = game.engine.clone();
            senders.push(tokio::spawn(async move {
                for i in 0..10 {
                    engine
                        .player_message(PlayerInput {
                            channel,
                            author: player,
                            author_name: format!("p{}", player.0),
                            character: None,
                            content: format!("{}-{i}", player.0),
                            discord_message_id: None,
                        })
                        .await
                        .unwrap();
                    if i % 3 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            }));
        }
    }
    for s in senders {
        s.await.unwrap();
    }
    for &(channel, session) in &channels {
        // Every message is stored once, each player's in the order sent, and every stored
        // message precedes a narration (nothing left unanswered).
        let mut story = game.story(session).await;
        for _ in 0..200 {
            if story.last().is_some_and(|m| {
                m.role == MessageRole::Assistant && m.status == MessageStatus::Complete
            }) && story.iter().filter(|m| m.role == MessageRole::User).count() == 20
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
            story = game.story(session).await;
        }
        for player in campaign_players {
            let mine: Vec<_> = story
                .iter()
                .filter(|m| m.author_id == Some(player))
                .map(|m| m.content.clone())
                .collect();
            let expected: Vec<_> = (0..10).map(|i| format!("{}-{i}", player.0)).collect();
            let notices: Vec<_> = game
                .presenter
                .shown()
                .into_iter()
                .filter(|s| matches!(s, Shown::Notice(..)))
                .collect();
            assert_eq!(mine, expected, "channel {channel}: {notices:?}");
        }
        assert_eq!(
            story.last().unwrap().role,
            MessageRole::Assistant,
            "channel {channel}"
        );
    }
}

#[tokio::test]
async fn a_failing_model_falls_back_and_the_narration_records_who_wrote_it() {
    let game = spawn_game(fast()).await;
    let backup = ScriptedModel::new("The backup narrator speaks.");
    let backup_id = game.models.add("deepseek:deepseek-chat", backup.clone());
    let campaign = game.campaign("Fallback", &[ALICE]).await;
    game.db
        .set_campaign_fallback(campaign.id, Some(&backup_id))
        .await
        .unwrap();
    let campaign = game.db.campaign(campaign.id).await.unwrap().unwrap();
    game.gm.push(Reply::FailBefore(ErrorKind::Overloaded));
    let session = game.start(&campaign, CHANNEL).await;

    let story = game.story(session).await;
    assert_eq!(story.len(), 1);
    assert_eq!(story[0].model.as_deref(), Some("deepseek:deepseek-chat"));
    assert_eq!(story[0].content, "The backup narrator speaks.");
    let failed = game.presenter.count(|s| {
        matches!(s, Shown::Notice(_, Notice::ModelFailed { model, next, .. })
            if model.to_string() == "openai:gpt-4o-mini" && next.contains("deepseek:deepseek-chat"))
    });
    assert_eq!(
        failed, 1,
        "the channel is told which model failed and what happens next"
    );
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM performance_logs WHERE ok = 0 AND error_kind = 'overloaded'",
    )
    .fetch_one(game.db.pool())
    .await
    .unwrap();
    assert_eq!(count, 1, "the failed call is measured too");
    let ok: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM performance_logs WHERE ok = 1 AND model = 'deepseek:deepseek-chat'",
    )
    .fetch_one(game.db.pool())
    .await
    .unwrap();
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn a_narration_cut_mid_way_keeps_its_text_and_can_be_regenerated() {
    let game = spawn_game(fast()).await;
    let campaign = game.campaign("Cut", &[ALICE]).await;
    let session = game.start(&campaign, CHANNEL).await;
    game.gm.push(Reply::FailAfter(
        "The stairs groan and".into(),
        ErrorKind::Server,
    ));
    game.say(CHANNEL, ALICE, "I go up.").await;
    game.presenter
        .wait_for(1, |s| {
            matches!(s, Shown::Notice(_, Notice::NarrationCut { .. }))
        })
        .await;
    game.finished(CHANNEL, 2).await;

    let story = game.story(session).await;
    let cut = story.last().unwrap();
    assert_eq!(
        (cut.status, cut.content.as_str()),
        (MessageStatus::Interrupted, "The stairs groan and")
    );

    game.engine
        .regenerate(CHANNEL, cut.id, ALICE)
        .await
        .unwrap();
    game.finished(CHANNEL, 3).await;
    let story = game.story(session).await;
    assert_eq!(
        story.iter().find(|m| m.id == cut.id).unwrap().status,
        MessageStatus::Superseded
    );
    let last = story.last().unwrap();
    assert_eq!(
        (last.status, last.content.as_str()),
        (
            MessageStatus::Complete,
            "The torchlight flickers. What do you do?"
        )
    );
    // The regenerated narration saw the same story: the player's message, not the cut text.
    assert_eq!(game.gm.request(2).messages, game.gm.request(1).messages);
    // Only the latest narration can be regenerated.
    assert_eq!(
        game.engine.regenerate(CHANNEL, cut.id, ALICE).await,
        Err(EngineError::NotLatestNarration)
    );
}

#[tokio::test]
async fn a_regeneration_no_model_can_answer_keeps_the_narration_it_would_replace() {
    let game = spawn_game(fast()).await;
    let campaign = game.campaign("Kept", &[ALICE]).await;
    let session = game.start(&campaign, CHANNEL).await;
    game.say(CHANNEL, ALICE, "I open the door.").await;
    game.finished(CHANNEL, 2).await;
    let before = game.story(session).await;
    let narration = before.last().unwrap().clone();
    assert_eq!(narration.role, MessageRole::Assistant);

    game.gm.push(Reply::FailBefore(ErrorKind::Server));
    game.engine
        .regenerate(CHANNEL, narration.id, ALICE)
        .await
        .unwrap();
    game.presenter
        .wait_for(1, |s| {
            matches!(s, Shown::Notice(_, Notice::TurnFailed { .. }))
        })
        .await;
    game.engine.flush(CHANNEL).await.unwrap();

    let after = game.story(session).await;
    let kept = after.iter().find(|m| m.id == narration.id).unwrap();
    assert_eq!(kept.status, MessageStatus::Complete);
    assert_eq!(after.len(), before.len(), "no row was added or removed");
    // It is still the latest narration, so it can be regenerated again.
    game.engine
        .regenerate(CHANNEL, narration.id, ALICE)
        .await
        .unwrap();
    game.finished(CHANNEL, 3).await;
    let last = game.story(session).await;
    assert_eq!(
        last.iter().find(|m| m.id == narration.id).unwrap().status,
        MessageStatus::Superseded
    );
}

#[tokio::test]
async fn narrations_left_streaming_by_a_crash_become_interrupted_and_the_session_resumes() {
    let game = spawn_game(fast()).await;
    let campaign = game.campaign("Crash", &[ALICE]).await;
    let session = game.start(&campaign, CHANNEL).await;
    // What a crash leaves behind: a narration still marked streaming.
    let cut = game
        .db
        .append_message(&gamemaster::core::game::transcript::NewMessage {
            session_id: session,
            campaign_id: campaign.id,
            author_id: None,
            character_id: None,
            role: MessageRole::Assistant,
            content: "Half a senten".into(),
            model: Some("openai:gpt-4o-mini".into()),
            status: MessageStatus::Streaming,
            discord_message_id: None,
            author_name: None,
        })
        .await
        .unwrap();

    // A new process on the same database.
    let presenter = RecordingPresenter::new();
    let restarted = Engine::new(EngineDeps {
        store: Arc::new(game.db.clone()),
        models: game.models.clone(),
        presenter: presenter.clone(),
        settings: fast(),
    });
    assert_eq!(game.db.interrupt_streaming().await.unwrap(), 1);
    assert_eq!(restarted.resume().await.unwrap(), 1);
    let stored = game.db.message(cut.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.content.as_str()),
        (MessageStatus::Interrupted, "Half a senten")
    );

    restarted.regenerate(CHANNEL, cut.id, ALICE).await.unwrap();
    presenter
        .wait_for(1, |s| matches!(s, Shown::Finished { .. }))
        .await;
    restarted
        .player_message(PlayerInput {
            channel: CHANNEL,
            author: ALICE,
            author_name: "alice".into(),
            character: None,
            content: "I continue.".into(),
            discord_message_id: None,
        })
        .await
        .unwrap();
    presenter
        .wait_for(2, |s| matches!(s, Shown::Finished { .. }))
        .await;
    let story = game.story(session).await;
    assert_eq!(texts(&story, MessageRole::User), ["I continue."]);
}

#[tokio::test]
async fn a_narration_full_of_roll_tags_gives_one_dice_notice() {
    let game = spawn_game(fast()).await;
    let campaign = game.campaign("Many dice", &[ALICE]).await;
    let session = game.start(&campaign, CHANNEL).await;
    game.gm.push(Reply::Text(
        "Chaos. [[roll 1d20 Stealth]] [[roll 2d6 Damage]] [[roll 1d0 Nothing]] \
         [[roll 1d4 Luck]] [[roll 1d8 Fire]] [[roll 1d6 Extra]] [[roll 1d6 More]]"
            .into(),
    ));
    game.say(CHANNEL, ALICE, "I cast everything.").await;
    game.finished(CHANNEL, 2).await;
    game.engine.flush(CHANNEL).await.unwrap();

    let dice: Vec<Notice> = game
        .presenter
        .shown()
        .into_iter()
        .filter_map(|s| match s {
            Shown::Notice(_, n @ Notice::Dice { .. }) => Some(n),
            _ => None,
        })
        .collect();
    assert_eq!(
        dice.len(),
        1,
        "one notice for the whole narration: {dice:?}"
    );
    let Notice::Dice { rolls, problems } = &dice[0] else {
        unreachable!()
    };
    // The first five tags are honoured (one of them cannot be rolled), the rest refused.
    let labels: Vec<&str> = rolls.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["Stealth", "Damage", "Luck", "Fire"]);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert_eq!(
        texts(&game.story(session).await, MessageRole::Dice).len(),
        4
    );
}

#[tokio::test]
async fn roll_tags_are_rolled_by_the_bot_and_fed_into_the_next_narration() {
    let game = spawn_game(fast()).await;
    let campaign = game.campaign("Dice", &[ALICE]).await;
    let session = game.start(&campaign, CHANNEL).await;
    game.gm.push(Reply::Text(
        "A shadow moves. [[roll 1d20+3 Perception DC 13]]".into(),
    ));
    game.say(CHANNEL, ALICE, "I look around.").await;
    game.presenter
        .wait_for(1, |s| matches!(s, Shown::Notice(_, Notice::Dice { .. })))
        .await;

    let story = game.story(session).await;
    let dice = texts(&story, MessageRole::Dice);
    assert_eq!(dice.len(), 1);
    assert!(dice[0].starts_with("Perception: 1d20"), "{}", dice[0]);
    assert!(dice[0].contains("DC 13"), "{}", dice[0]);

    game.say(CHANNEL, ALICE, "What do I see?").await;
    game.finished(CHANNEL, 3).await;
    let next = game.gm.request(2);
    let joined: String = next
        .messages
        .iter()
        .map(|m| m.content.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        joined.contains(&format!("[Dice rolled by the bot] {}", dice[0])),
        "{joined}"
    );
}

#[tokio::test]
async fn long_histories_stay_within_the_budget_and_are_summarised() {
    let game = spawn_game(fast()).await;
    // The system prompt alone is about 950 tokens (it teaches the roll and state tags), the
    // answer keeps 700: 2,000 leaves a few hundred for the story.
    game.models.set_window(&game.gm_id, 2000);
    let campaign = game.campaign("Long", &[ALICE]).await;
    let session = game.start(&campaign, CHANNEL).await;
    let filler =
        "The corridor goes on and on, lined with portraits of keepers long dead. ".repeat(4);
    for i in 0..12 {
        game.say(CHANNEL, ALICE, &format!("Step {i}. {filler}"))
            .await;
        game.finished(CHANNEL, 2 + i).await;
    }
    // Every request fits: prompt tokens + the answer reserve within the window.
    for request in game.gm.requests.lock().unwrap().iter() {
        let prompt: u32 = gamemaster::core::models::tokens::count(&request.system)
            + request
                .messages
                .iter()
                .map(|m| gamemaster::core::models::tokens::count(&m.content))
                .sum::<u32>();
        assert!(
            prompt + request.max_tokens <= 2000 + 40,
            "prompt {prompt} + answer {} over budget",
            request.max_tokens
        );
    }
    let summaries: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM performance_logs WHERE kind = 'summary'")
            .fetch_one(game.db.pool())
            .await
            .unwrap();
    assert!(summaries >= 1, "older messages were summarised");
    let session = game.db.session(session).await.unwrap().unwrap();
    assert!(session.summary_through.is_some());
    assert!(!session.summary.is_empty());
}

#[tokio::test]
async fn switching_the_model_takes_effect_at_the_next_turn() {
    let game = spawn_game(fast()).await;
    let other = ScriptedModel::new("A different voice narrates.");
    let other_id = game
        .models
        .add("openrouter:meta-llama/llama-3-70b", other.clone());
    let campaign = game.campaign("Switch", &[ALICE]).await;
    let session = game.start(&campaign, CHANNEL).await;
    game.db
        .set_campaign_model(campaign.id, &other_id)
        .await
        .unwrap();
    game.say(CHANNEL, ALICE, "Hello?").await;
    game.finished(CHANNEL, 2).await;
    let story = game.story(session).await;
    let models: Vec<_> = story.iter().filter_map(|m| m.model.clone()).collect();
    assert_eq!(
        models,
        ["openai:gpt-4o-mini", "openrouter:meta-llama/llama-3-70b"]
    );
    assert_eq!(other.calls(), 1);
}

#[tokio::test]
async fn streamed_edits_respect_the_interval_and_end_with_the_full_text() {
    let mut settings = fast();
    settings.stream_policy.min_edit_interval = Duration::from_millis(100);
    let game = spawn_game(settings).await;
    let long = "Waves crash against the rocks below. ".repeat(120); // over 4,000 characters
    let model = ScriptedModel::with(&long, Duration::from_millis(1));
    let id = game.models.add("local:gemma-3-270m", model);
    let campaign = game.campaign("Stream", &[ALICE]).await;
    game.db.set_campaign_model(campaign.id, &id).await.unwrap();
    let campaign = game.db.campaign(campaign.id).await.unwrap().unwrap();
    let session = game.start(&campaign, CHANNEL).await;

    let finals = game.presenter.final_texts(CHANNEL);
    assert!(
        finals.len() >= 3,
        "split over several messages: {}",
        finals.len()
    );
    assert!(finals.iter().all(|t| t.chars().count() <= 2000));
    assert_eq!(finals.concat().trim_end(), long.trim_end());
    let story = game.story(session).await;
    assert_eq!(story[0].content, long);

    // Per message, edits (except the final one) are at least the interval apart.
    let events = game.presenter.events.lock().unwrap().clone();
    let mut by_message: std::collections::HashMap<DiscordMessageId, Vec<std::time::Instant>> =
        Default::default();
    for (at, shown) in &events {
        if let Shown::Send { id, .. } | Shown::Edit { id, .. } = shown {
            by_message.entry(*id).or_default().push(*at);
        }
    }
    for times in by_message.values() {
        let throttled = &times[..times.len().saturating_sub(1)];
        for pair in throttled.windows(2) {
            assert!(
                pair[1] - pair[0] >= Duration::from_millis(95),
                "edits {:?} apart",
                pair[1] - pair[0]
            );
        }
    }
}

#[tokio::test]
async fn sessions_are_one_per_channel_and_end_cleanly() {
    let game = spawn_game(fast()).await;
    let campaign = game.campaign("Once", &[ALICE]).await;
    game.start(&campaign, CHANNEL).await;
    assert_eq!(
        game.engine
            .start_session(&campaign, GUILD, CHANNEL, BOB)
            .await
            .unwrap_err(),
        EngineError::SessionExists
    );
    let other_guild = game
        .engine
        .start_session(&campaign, GuildId(99), ChannelId(11), BOB)
        .await;
    assert_eq!(other_guild.unwrap_err(), EngineError::UnknownCampaign);
    game.engine.end_session(CHANNEL).await.unwrap();
    let after = game
        .engine
        .player_message(PlayerInput {
            channel: CHANNEL,
            author: ALICE,
            author_name: "alice".into(),
            character: None,
            content: "hello?".into(),
            discord_message_id: None,
        })
        .await;
    assert_eq!(after.unwrap_err(), EngineError::NoSession);
    assert_eq!(
        game.engine.end_session(CHANNEL).await.unwrap_err(),
        EngineError::NoSession
    );
    assert!(game.engine.recap(CHANNEL).await.is_err());
}

#[tokio::test]
async fn the_monthly_budget_warns_at_80_percent_and_stops_narration_at_100() {
    use gamemaster::core::game::guild::GuildSettings;
    use gamemaster::core::models::perf::PerfRecord;
    let game = spawn_game(fast()).await;
    let campaign = game.campaign("Budget", &[ALICE]).await;
    let session = game.start(&campaign, CHANNEL).await;
    let mut settings = GuildSettings::defaults(GUILD);
    settings.monthly_budget_usd = Some(1.0);
    game.db.save_guild_settings(&settings).await.unwrap();
    let spend = |usd: f64| PerfRecord {
        guild_id: Some(GUILD),
        cost_usd: Some(usd),
        ..crate::support::perf::call()
    };
    game.db.record_call(&spend(0.85)).await.unwrap();
    for turn in 0..2 {
        game.say(CHANNEL, ALICE, &format!("Turn {turn}")).await;
        game.finished(CHANNEL, 2 + turn).await;
    }
    let warnings = game
        .presenter
        .count(|s| matches!(s, Shown::Notice(_, Notice::BudgetWarning { .. })));
    assert_eq!(warnings, 1, "warned once this month");

    game.db.record_call(&spend(0.2)).await.unwrap();
    let calls_before = game.gm.calls();
    game.say(CHANNEL, ALICE, "Are you there?").await;
    game.presenter
        .wait_for(1, |s| {
            matches!(s, Shown::Notice(_, Notice::BudgetExhausted { .. }))
        })
        .await;
    assert_eq!(
        game.gm.calls(),
        calls_before,
        "no model call once the budget is spent"
    );
    let story = game.story(session).await;
    assert_eq!(
        story.last().unwrap().content,
        "Are you there?",
        "the message is kept"
    );
}

#[tokio::test]
async fn flush_returns_once_the_turn_its_dice_and_its_failures_are_done() {
    let game = spawn_game(fast()).await;
    let campaign = game.campaign("Flush", &[ALICE]).await;
    assert_eq!(
        game.engine.flush(CHANNEL).await,
        Err(EngineError::NoSession),
        "nothing to wait for without a session"
    );
    let session = game
        .engine
        .start_session(&campaign, GUILD, CHANNEL, ALICE)
        .await
        .unwrap()
        .id;
    game.engine.flush(CHANNEL).await.unwrap();
    assert_eq!(game.story(session).await.len(), 1, "the opening is stored");

    // No waiting on the presenter: after flush, the narration and its dice are in storage.
    game.gm.push(Reply::Text(
        "The lock clicks. [[roll 1d20+2 Stealth DC 12]]".into(),
    ));
    game.say(CHANNEL, ALICE, "I pick the lock.").await;
    game.engine.flush(CHANNEL).await.unwrap();
    let story = game.story(session).await;
    let roles: Vec<MessageRole> = story.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            MessageRole::Assistant,
            MessageRole::User,
            MessageRole::Assistant,
            MessageRole::Dice
        ]
    );

    // A failed turn is over too when flush returns: its notice is already shown.
    game.gm.push(Reply::FailBefore(ErrorKind::Server));
    game.say(CHANNEL, ALICE, "I open the door.").await;
    game.engine.flush(CHANNEL).await.unwrap();
    assert_eq!(
        game.presenter
            .count(|s| matches!(s, Shown::Notice(_, Notice::TurnFailed { .. }))),
        1
    );
}

// The actor keeps the session, campaign, party and server settings between turns; each
// change below must reach the very next turn.

#[tokio::test]
async fn a_character_joining_mid_session_is_in_the_next_turn() {
    let game = spawn_game(fast()).await;
    let campaign = game.campaign("Joining", &[]).await;
    let session = game.start(&campaign, CHANNEL).await;
    game.say(CHANNEL, ALICE, "I look around.").await;
    game.finished(CHANNEL, 2).await;
    let joined = game
        .db
        .create_character(&NewCharacter {
            owner_id: ALICE,
            guild_id: GUILD,
            campaign_id: Some(campaign.id),
            name: CharacterName::parse("Wren").unwrap(),
            class: CharacterClass::parse("Ranger").unwrap(),
            race: Race::parse("Elf").unwrap(),
            gender: None,
            description: None,
        })
        .await
        .unwrap();
    game.say(CHANNEL, ALICE, "I draw my bow.").await;
    game.finished(CHANNEL, 3).await;
    let story = game.story(session).await;
    let players: Vec<_> = story
        .iter()
        .filter(|m| m.role == MessageRole::User)
        .map(|m| (m.content.as_str(), m.character_id))
        .collect();
    assert_eq!(
        players,
        [
            ("I look around.", None),
            ("I draw my bow.", Some(joined.id))
        ]
    );
    let request = game.gm.request(2);
    assert!(request.system.contains("Wren"), "{}", request.system);
    assert!(
        request
            .messages
            .last()
            .unwrap()
            .content
            .contains("Wren (played by user100): I draw my bow."),
        "{:?}",
        request.messages
    );
}

#[tokio::test]
async fn raising_a_spent_budget_lets_the_next_turn_narrate() {
    use gamemaster::core::game::guild::GuildSettings;
    use gamemaster::core::models::perf::PerfRecord;
    let game = spawn_game(fast()).await;
    let campaign = game.campaign("Raise", &[ALICE]).await;
    game.start(&campaign, CHANNEL).await;
    game.db
        .record_call(&PerfRecord {
            guild_id: Some(GUILD),
            cost_usd: Some(2.0),
            ..crate::support::perf::call()
        })
        .await
        .unwrap();
    game.say(CHANNEL, ALICE, "Anyone?").await;
    game.engine.flush(CHANNEL).await.unwrap();
    assert_eq!(game.gm.calls(), 2, "no budget yet: the turn is narrated");

    let mut settings = GuildSettings::defaults(GUILD);
    settings.monthly_budget_usd = Some(1.0);
    game.db.save_guild_settings(&settings).await.unwrap();
    game.say(CHANNEL, ALICE, "Hello?").await;
    game.engine.flush(CHANNEL).await.unwrap();
    assert_eq!(game.gm.calls(), 2, "the new budget applies at once");
    assert_eq!(
        game.presenter
            .count(|s| matches!(s, Shown::Notice(_, Notice::BudgetExhausted { .. }))),
        1
    );

    settings.monthly_budget_usd = Some(10.0);
    game.db.save_guild_settings(&settings).await.unwrap();
    game.say(CHANNEL, ALICE, "Now?").await;
    game.finished(CHANNEL, 3).await;
    assert_eq!(game.gm.calls(), 3, "the raised budget applies at once");
}

#[tokio::test]
async fn a_new_fallback_and_server_default_apply_at_the_next_turn() {
    use gamemaster::core::game::guild::GuildSettings;
    let game = spawn_game(fast()).await;
    let backup = ScriptedModel::new("The backup narrator speaks.");
    let backup_id = game.models.add("deepseek:deepseek-chat", backup.clone());
    let house = ScriptedModel::new("The house narrator speaks.");
    let house_id = game
        .models
        .add("anthropic:claude-sonnet-4-5", house.clone());
    let campaign = game.campaign("Chain", &[ALICE]).await;
    let session = game.start(&campaign, CHANNEL).await;

    game.db
        .set_campaign_fallback(campaign.id, Some(&backup_id))
        .await
        .unwrap();
    game.gm.push(Reply::FailBefore(ErrorKind::Overloaded));
    game.say(CHANNEL, ALICE, "First.").await;
    game.finished(CHANNEL, 2).await;

    game.db
        .set_campaign_fallback(campaign.id, None)
        .await
        .unwrap();
    let mut settings = GuildSettings::defaults(GUILD);
    settings.default_model = Some(house_id.clone());
    game.db.save_guild_settings(&settings).await.unwrap();
    game.gm.push(Reply::FailBefore(ErrorKind::Overloaded));
    game.say(CHANNEL, ALICE, "Second.").await;
    game.finished(CHANNEL, 3).await;

    let models: Vec<_> = game
        .story(session)
        .await
        .iter()
        .filter_map(|m| m.model.clone())
        .collect();
    assert_eq!(
        models,
        [
            "openai:gpt-4o-mini",
            "deepseek:deepseek-chat",
            "anthropic:claude-sonnet-4-5"
        ]
    );
    assert_eq!((backup.calls(), house.calls()), (1, 1));
}

#[tokio::test]
async fn a_model_without_a_price_never_narrates_where_a_budget_is_set() {
    use gamemaster::core::game::guild::GuildSettings;
    let game = spawn_game(fast()).await;
    let campaign = game.campaign("Unpriced", &[ALICE]).await;
    let session = game.start(&campaign, CHANNEL).await;
    game.models
        .unpriced
        .lock()
        .unwrap()
        .push(game.gm_id.clone());
    let mut settings = GuildSettings::defaults(GUILD);
    settings.monthly_budget_usd = Some(10.0);
    game.db.save_guild_settings(&settings).await.unwrap();
    let calls_before = game.gm.calls();
    game.say(CHANNEL, ALICE, "What does this cost?").await;
    game.presenter
        .wait_for(1, |s| {
            matches!(s, Shown::Notice(_, Notice::ModelFailed { reason, .. }) if reason.contains("no known price"))
        })
        .await;
    assert_eq!(
        game.gm.calls(),
        calls_before,
        "counted as free, it could spend without limit"
    );
    let story = game.story(session).await;
    assert_eq!(
        story.last().unwrap().content,
        "What does this cost?",
        "the message is kept"
    );

    // Without a budget there is nothing to protect: it narrates.
    settings.monthly_budget_usd = None;
    game.db.save_guild_settings(&settings).await.unwrap();
    game.say(CHANNEL, ALICE, "And now?").await;
    game.finished(CHANNEL, 2).await;
    assert!(game.gm.calls() > calls_before);
}

#[tokio::test]
async fn a_players_name_lives_with_their_messages_and_goes_with_an_erasure() {
    let game = spawn_game(fast()).await;
    let campaign = game.campaign("Names", &[ALICE]).await;
    let session = game.start(&campaign, CHANNEL).await;
    // Bob has no character: the game master knows him by the name he writes under.
    game.say(CHANNEL, BOB, "I hum a tune.").await;
    game.finished(CHANNEL, 2).await;
    assert!(prompt(game.gm.request(1)).contains("user200"));

    // After a restart the name is still known: it was stored with the message.
    let presenter = RecordingPresenter::new();
    let restarted = Engine::new(EngineDeps {
        store: Arc::new(game.db.clone()),
        models: game.models.clone(),
        presenter: presenter.clone(),
        settings: fast(),
    });
    let say = |who: UserId, text: &str| PlayerInput {
        channel: CHANNEL,
        author: who,
        author_name: format!("user{}", who.0),
        character: None,
        content: text.into(),
        discord_message_id: None,
    };
    restarted
        .player_message(say(ALICE, "I listen."))
        .await
        .unwrap();
    presenter
        .wait_for(1, |s| matches!(s, Shown::Finished { .. }))
        .await;
    assert!(prompt(game.gm.request(2)).contains("user200"));

    // Bob erases his data: the running session no longer has his name.
    gamemaster::core::accounts::personal_data::erase(&game.db, BOB)
        .await
        .unwrap();
    restarted
        .player_message(say(ALICE, "And now?"))
        .await
        .unwrap();
    presenter
        .wait_for(2, |s| matches!(s, Shown::Finished { .. }))
        .await;
    let after = prompt(game.gm.request(3));
    assert!(after.contains("I hum a tune."), "the shared story stays");
    assert!(!after.contains("user200"), "{after}");
    let stored = game.story(session).await;
    assert!(
        stored
            .iter()
            .all(|m| m.author_name.as_deref() != Some("user200"))
    );
}

/// Everything a model call was given, system prompt included.
fn prompt(request: gamemaster::core::models::chat::ChatRequest) -> String {
    let mut text = request.system.clone();
    for m in &request.messages {
        text.push('\n');
        text.push_str(&m.content);
    }
    text
}

#[tokio::test]
async fn a_shard_process_sees_an_erasure_made_by_another() {
    // Two processes on one database: this one runs the session; in the other, Alice erased
    // her data.
    let test_db = support::db::sqlite().await;
    let here = Db::open(&test_db.url)
        .await
        .unwrap()
        .shared_with_other_processes();
    let elsewhere = Db::open(&test_db.url)
        .await
        .unwrap()
        .shared_with_other_processes();
    let game = game_on(fast(), test_db, here);
    let campaign = game.campaign("Shards", &[ALICE]).await;
    game.start(&campaign, CHANNEL).await;
    // A turn, so the session's table is read (and, in one process, kept) after every write
    // this process made.
    game.say(CHANNEL, ALICE, "I look around.").await;
    game.finished(CHANNEL, 2).await;
    assert!(prompt(game.gm.request(1)).contains("Hero0"));

    gamemaster::core::accounts::personal_data::erase(&elsewhere, ALICE)
        .await
        .unwrap();
    game.say(CHANNEL, BOB, "Where did she go?").await;
    game.finished(CHANNEL, 3).await;
    let after = prompt(game.gm.request(2));
    assert!(!after.contains("Hero0"), "{after}");
}

#[tokio::test]
async fn a_turn_that_panics_is_told_to_the_channel_and_the_next_message_is_narrated() {
    let game = spawn_game(fast()).await;
    let campaign = game.campaign("Fragile", &[ALICE]).await;
    let session = game.start(&campaign, CHANNEL).await;
    game.gm.push(Reply::Panic);
    game.say(CHANNEL, ALICE, "I pull the lever.").await;
    game.presenter
        .wait_for(1, |s| {
            matches!(s, Shown::Notice(c, Notice::TurnFailed { reason })
                if *c == CHANNEL && reason.contains("internal error"))
        })
        .await;
    // The channel's narrator lives on: the next message is narrated as usual.
    game.say(CHANNEL, ALICE, "I pull it again.").await;
    game.finished(CHANNEL, 2).await;
    let story = game.story(session).await;
    assert_eq!(
        texts(&story, MessageRole::User),
        ["I pull the lever.", "I pull it again."],
        "nothing the player wrote is lost"
    );
    assert_eq!(texts(&story, MessageRole::Assistant).len(), 2);
    let last = game.gm.request(2);
    let asked = &last.messages.last().unwrap().content;
    assert!(asked.contains("I pull it again."), "{asked}");
}

#[tokio::test]
async fn every_stored_narration_gets_its_quality_checks() {
    use gamemaster::core::stats::{StatsQuery, StatsScope};
    let game = spawn_game(fast()).await;
    game.gm.push(Reply::Text(
        "The lighthouse door creaks open onto a spiral stair. Salt wind howls through the broken \
         panes above, and somewhere high in the tower a lamp swings on its chain. What do you do?"
            .into(),
    ));
    game.gm.push(Reply::Text(
        "En tant qu'IA, je ne peux pas décrire la suite de cette histoire, mais voici un jet : \
         [[jet 1d20+3 Perception DD 13]] pour voir si tu remarques quelque chose dans l'escalier."
            .into(),
    ));
    let campaign = game.campaign("Checked", &[ALICE]).await;
    game.start(&campaign, CHANNEL).await;
    game.say(CHANNEL, ALICE, "I climb the stairs.").await;
    game.finished(CHANNEL, 2).await;

    let query = StatsQuery::new(StatsScope::Campaign(campaign.id), Timestamp(0));
    let summaries = game.db.quality_summaries(&query).await.unwrap();
    assert_eq!(summaries.len(), 1, "{summaries:?}");
    let s = &summaries[0];
    assert_eq!((s.model.as_str(), s.count), ("openai:gpt-4o-mini", 2));
    assert_eq!(
        s.language_ok_rate,
        Some(0.5),
        "the French one is off-language"
    );
    assert_eq!(s.tag_error_rate, Some(0.5), "[[jet ...]] is not a roll tag");
    assert_eq!(s.meta_talk_rate, Some(0.5));
    assert_eq!(s.repetition_mean, Some(0.0));

    // The turn's narration is Alice's (for /stats scope:me); the opening is no one's.
    let mine = game
        .db
        .quality_summaries(&StatsQuery::new(StatsScope::Me(ALICE), Timestamp(0)))
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!((mine[0].count, mine[0].meta_talk_rate), (1, Some(1.0)));
}
