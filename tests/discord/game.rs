//! Whole games through the real bot: the session engine, a scripted model server, the fake
//! Discord and SQLite, wired exactly as `gamemaster run` wires them.

use crate::support;

use std::time::Duration;

use gamemaster::core::game::transcript::{MessageRole, MessageStatus, StoredMessage};
use gamemaster::core::ids::ChannelId;
use gamemaster::core::store::{MessageStore, SessionStore};
use serde_json::json;
use support::bot::{ALICE, BOB, TestBot, narrations, spawn_bot_with, world};
use support::fake_discord::StoredMessage as DiscordMessage;
use support::fake_llm::{Reply, StreamEnd, openai_events};

const EDIT_MS: u64 = 250;

async fn game() -> (TestBot, i64) {
    game_with(&[]).await
}

async fn game_with(extra: &[(&str, &str)]) -> (TestBot, i64) {
    let mut env = vec![("TURN_WINDOW_MS", "300"), ("EDIT_INTERVAL_MS", "250")];
    env.extend_from_slice(extra);
    let bot = spawn_bot_with(world(), &env).await;
    let campaign = bot.create_campaign(ALICE, "Rime").await;
    for (user, name, class) in [(ALICE, "Aria", "Bard"), (BOB, "Borin", "Fighter")] {
        let r = bot
            .run(
                user,
                "character create",
                json!({"name": name, "class": class, "race": "Human", "campaign": campaign.to_string()}),
            )
            .await;
        assert!(!r.ephemeral, "{}", r.content);
    }
    (bot, campaign)
}

/// Starts the session with a scripted opening and waits until it is shown with its buttons.
async fn start(bot: &TestBot, campaign: i64, opening: &str) -> DiscordMessage {
    bot.llm.push(Reply::openai_text(
        &[opening],
        Some((40, 8)),
        Duration::ZERO,
    ));
    let r = bot
        .run(
            ALICE,
            "session start",
            json!({"campaign": campaign.to_string()}),
        )
        .await;
    assert!(!r.ephemeral, "{}", r.content);
    finished(bot, opening).await
}

/// Waits for a narration whose last message ends with `tail` and carries the buttons.
async fn finished(bot: &TestBot, tail: &str) -> DiscordMessage {
    let found = tokio::time::timeout(
        Duration::from_secs(8),
        bot.wait_bot_message(bot.channel, |m| {
            m.content.trim_end().ends_with(tail) && !m.components.is_empty()
        }),
    )
    .await;
    match found {
        Ok(m) => m,
        Err(_) => {
            let shown: Vec<(String, usize)> = bot
                .fake
                .messages_in(bot.channel)
                .iter()
                .map(|m| (m.content.clone(), m.components.len()))
                .collect();
            panic!("no finished narration ending with {tail:?}; channel: {shown:#?}")
        }
    }
}

#[tokio::test]
async fn two_players_one_turn_streamed_at_the_allowed_cadence() {
    let (bot, campaign) = game().await;
    let opening = start(&bot, campaign, "Snow falls on the village of Rime.").await;
    assert_eq!(opening.content, "Snow falls on the village of Rime.");

    let pieces: Vec<String> = (0..14).map(|i| format!("Word{i} ")).collect();
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    bot.llm.push(Reply::openai_text(
        &refs,
        Some((120, 14)),
        Duration::from_millis(80),
    ));
    bot.fake
        .say(ALICE, bot.channel, "Aria orders an ale.")
        .await;
    bot.fake
        .say(BOB, bot.channel, "Borin watches the door.")
        .await;
    let full = pieces.concat();
    let narration = finished(&bot, full.trim_end()).await;
    assert_eq!(narration.content.trim_end(), full.trim_end());

    // One model call for both players, both named in it.
    let requests = bot.llm.requests();
    assert_eq!(requests.len(), 2, "opening + one turn");
    let body = String::from_utf8_lossy(&requests[1].body).to_string();
    assert!(
        body.contains("Aria orders an ale.") && body.contains("Borin watches the door."),
        "{body}"
    );

    // Edits kept the cadence (the final edit and the buttons are not throttled).
    let gaps = bot.fake.edit_intervals(narration.id);
    assert!(gaps.len() >= 3, "{gaps:?}");
    for gap in &gaps[..gaps.len() - 2] {
        assert!(*gap >= Duration::from_millis(EDIT_MS - 30), "{gaps:?}");
    }

    // Storage: two player messages, two complete narrations, nothing duplicated.
    let all = bot.story().await;
    let players: Vec<&StoredMessage> = all.iter().filter(|m| m.role == MessageRole::User).collect();
    assert_eq!(players.len(), 2);
    let n = narrations(&all);
    assert_eq!(n.len(), 2);
    assert!(n.iter().all(|m| m.status == MessageStatus::Complete));
    assert_eq!(n[1].content.trim_end(), full.trim_end());
    assert_eq!(n[1].discord_message_id.map(|d| d.0), Some(narration.id));
    bot.assert_clean();
}

#[tokio::test]
async fn act_works_without_message_content_and_names_the_character() {
    let (bot, campaign) = game().await;
    start(&bot, campaign, "A storm rolls in.").await;
    bot.llm.push(Reply::openai_text(
        &["The wind howls."],
        None,
        Duration::ZERO,
    ));
    let r = bot
        .run(BOB, "act", json!({"text": "I bar the shutters."}))
        .await;
    assert!(!r.ephemeral, "{}", r.content);
    assert_eq!(r.content, "🎭 **Borin**: I bar the shutters.");
    finished(&bot, "The wind howls.").await;
    let all = bot.story().await;
    let player = all.iter().find(|m| m.role == MessageRole::User).unwrap();
    assert_eq!(player.content, "I bar the shutters.");
    assert!(player.character_id.is_some());
    bot.assert_clean();
}

#[tokio::test]
async fn regenerate_replaces_the_latest_narration() {
    let (bot, campaign) = game().await;
    start(&bot, campaign, "The gate is shut.").await;
    bot.llm.push(Reply::openai_text(
        &["A guard yawns."],
        None,
        Duration::ZERO,
    ));
    bot.fake.say(ALICE, bot.channel, "I knock.").await;
    let first = finished(&bot, "A guard yawns.").await;
    let first_id = narrations(&bot.story().await)[1].id;

    bot.llm.push(Reply::openai_text(
        &["A guard glares."],
        None,
        Duration::ZERO,
    ));
    let click = bot
        .fake
        .click(BOB, first.id, &format!("regen:{first_id}"))
        .await;
    click.wait_ack().await;
    finished(&bot, "A guard glares.").await;
    // The old narration lost its buttons and is kept, superseded.
    let old = bot.fake.message(first.id).unwrap();
    assert!(old.components.is_empty(), "{:?}", old.components);
    let all = bot.story().await;
    let n = narrations(&all);
    assert_eq!(n.len(), 3);
    let replaced = all.iter().find(|m| m.id == first_id).unwrap();
    assert_eq!(replaced.status, MessageStatus::Superseded);
    assert_eq!(n[2].content, "A guard glares.");

    // Only the latest narration can be regenerated.
    let stale = bot
        .fake
        .click(
            BOB,
            bot.fake
                .messages_in(bot.channel)
                .iter()
                .find(|m| m.content == "The gate is shut.")
                .unwrap()
                .id,
            &format!("regen:{}", n[0].id),
        )
        .await;
    let followups = stale.wait_followups(1).await;
    assert!(followups[0].ephemeral());
    assert!(
        followups[0].content.contains("latest narration"),
        "{}",
        followups[0].content
    );
    bot.assert_clean();
}

#[tokio::test]
async fn a_model_failing_mid_way_keeps_what_it_wrote_and_says_so() {
    let (bot, campaign) = game().await;
    start(&bot, campaign, "The bridge sways.").await;
    let events = openai_events(&["You step onto ", "the rotten planks and"], None);
    // Cut the connection after the text, before the end of the stream.
    bot.llm
        .push(Reply::sse_chunks(events[..3].to_vec()).ending(StreamEnd::Cut));
    bot.fake.say(BOB, bot.channel, "I cross.").await;
    let notice = bot
        .wait_bot_message(bot.channel, |m| m.content.contains("stopped part way"))
        .await;
    assert!(
        notice.content.contains("local:narrator"),
        "{}",
        notice.content
    );
    let shown = bot
        .wait_bot_message(bot.channel, |m| {
            m.content == "You step onto the rotten planks and"
        })
        .await;
    assert!(!shown.content.is_empty());
    let all = bot.story().await;
    let cut = narrations(&all)[1];
    assert_eq!(cut.status, MessageStatus::Interrupted);
    assert_eq!(cut.content, "You step onto the rotten planks and");
    bot.assert_clean();
}

#[tokio::test]
async fn a_long_narration_is_split_over_messages() {
    let (bot, campaign) = game().await;
    start(&bot, campaign, "The library is vast.").await;
    let paragraph =
        "The shelves stretch into darkness, row after row of crumbling tomes. ".repeat(6);
    let pieces: Vec<String> = (0..11)
        .map(|i| format!("Part {i}. {paragraph}\n\n"))
        .collect();
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let full = pieces.concat();
    assert!(full.chars().count() > 4000);
    bot.llm
        .push(Reply::openai_text(&refs, None, Duration::from_millis(20)));
    bot.fake.say(ALICE, bot.channel, "I read.").await;
    let last = finished(&bot, pieces[10].trim_end()).await;
    let from_bot: Vec<DiscordMessage> = bot
        .fake
        .messages_in(bot.channel)
        .into_iter()
        .filter(|m| m.from_bot && m.id > 0 && m.content.contains("shelves"))
        .collect();
    assert!(from_bot.len() >= 3, "{} messages", from_bot.len());
    assert!(from_bot.iter().all(|m| m.content.chars().count() <= 2000));
    assert_eq!(from_bot.last().unwrap().id, last.id);
    let joined: String = from_bot
        .iter()
        .map(|m| m.content.trim())
        .collect::<Vec<_>>()
        .join("");
    let expected: String = full.split_whitespace().collect();
    assert_eq!(joined.split_whitespace().collect::<String>(), expected);
    let stored = narrations(&bot.story().await)[1].content.clone();
    assert_eq!(stored.trim_end(), full.trim_end());
    bot.assert_clean();
}

#[tokio::test]
async fn a_model_that_tries_to_ping_pings_nobody() {
    let (bot, campaign) = game().await;
    start(&bot, campaign, "@everyone the dragon wakes! <@&123>").await;
    bot.llm.push(Reply::openai_text(
        &["<@", "2000000000000000002> hear me, @here and <@&123>."],
        None,
        Duration::ZERO,
    ));
    bot.fake.say(ALICE, bot.channel, "I hide.").await;
    finished(&bot, "hear me, @here and <@&123>.").await;
    bot.assert_clean();
}

#[tokio::test]
async fn plain_messages_outside_sessions_and_from_bots_are_ignored() {
    let (bot, campaign) = game().await;
    bot.fake
        .say(ALICE, bot.channel, "anyone up for a game?")
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(bot.llm.requests().is_empty());
    start(&bot, campaign, "Dawn.").await;
    let session = bot
        .db()
        .active_session(ChannelId(bot.channel))
        .await
        .unwrap()
        .unwrap();
    bot.run(ALICE, "session end", json!({})).await;
    bot.fake.say(BOB, bot.channel, "still there?").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(bot.llm.requests().len(), 1, "only the opening");
    let ended = bot.db().session(session.id).await.unwrap().unwrap();
    assert!(ended.ended_at.is_some());
    // Nothing the players said after the end was stored.
    let all = bot.db().all_messages(session.id).await.unwrap();
    assert!(all.iter().all(|m| m.role != MessageRole::User), "{all:?}");
    bot.assert_clean();
}

#[tokio::test]
async fn a_failing_model_hands_over_to_the_default_and_says_so() {
    let bot = spawn_bot_with(
        world(),
        &[("TURN_WINDOW_MS", "0"), ("DEFAULT_MODEL", "local:backup")],
    )
    .await;
    let campaign = bot.create_campaign(ALICE, "Rime").await;
    // A 400 is not retried: the narrator fails before writing anything.
    bot.llm.push(Reply::status(
        400,
        r#"{"error": {"message": "model is loading", "type": "invalid_request_error"}}"#,
    ));
    bot.llm.push(Reply::openai_text(
        &["The backup speaks."],
        None,
        Duration::ZERO,
    ));
    bot.run(
        ALICE,
        "session start",
        json!({"campaign": campaign.to_string()}),
    )
    .await;
    let notice = bot
        .wait_bot_message(bot.channel, |m| {
            m.content.starts_with("⚠️ `local:narrator` failed")
        })
        .await;
    assert!(
        notice.content.contains("Trying local:backup instead."),
        "{}",
        notice.content
    );
    finished(&bot, "The backup speaks.").await;
    let n = narrations(&bot.story().await)
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].model.as_deref(), Some("local:backup"));
    bot.assert_clean();
}

#[tokio::test]
async fn dice_the_game_master_asks_for_are_rolled_and_shown() {
    let (bot, campaign) = game().await;
    start(
        &bot,
        campaign,
        "A shadow moves. [[roll 1d20+2 Perception DC 12]]",
    )
    .await;
    let dice = bot
        .wait_bot_message(bot.channel, |m| {
            !m.embeds.is_empty() && m.embeds[0]["title"] == json!("🎲 Perception")
        })
        .await;
    let text = dice.embeds[0]["description"].as_str().unwrap();
    assert!(text.starts_with("Perception: 1d20"), "{text}");
    assert!(text.contains("DC 12"), "{text}");
    let all = bot.story().await;
    assert_eq!(
        all.iter().filter(|m| m.role == MessageRole::Dice).count(),
        1
    );
    bot.assert_clean();
}

#[tokio::test]
async fn recap_tells_the_story_so_far() {
    let (bot, campaign) = game().await;
    start(&bot, campaign, "The caravan reaches the pass.").await;
    let r = bot.run(BOB, "session recap", json!({})).await;
    assert_eq!(r.ack, support::fake_discord::AckKind::DeferredMessage);
    assert!(
        r.content.starts_with("📖 **The story so far**"),
        "{}",
        r.content
    );
    assert!(
        r.content.contains("The caravan reaches the pass."),
        "{}",
        r.content
    );
    bot.assert_clean();
}

#[tokio::test]
async fn a_restart_resumes_sessions_and_marks_cut_narrations() {
    let (mut bot, campaign) = game().await;
    start(&bot, campaign, "Night falls.").await;
    // The bot stops while a narration is streaming.
    let events = openai_events(&["The fire crackles"], None);
    bot.llm
        .push(Reply::sse_chunks(events[..2].to_vec()).ending(StreamEnd::Hang));
    bot.fake.say(ALICE, bot.channel, "I sleep.").await;
    bot.wait_bot_message(bot.channel, |m| m.content == "The fire crackles")
        .await;
    bot.restart().await;

    let n: Vec<StoredMessage> = narrations(&bot.story().await)
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(n.len(), 2);
    assert_eq!(n[1].status, MessageStatus::Interrupted);
    assert_eq!(n[1].content, "The fire crackles");

    // The session goes on after the restart.
    bot.llm.push(Reply::openai_text(
        &["Morning comes."],
        None,
        Duration::ZERO,
    ));
    bot.fake.say(BOB, bot.channel, "I wake.").await;
    finished(&bot, "Morning comes.").await;
    bot.assert_clean();
}

#[tokio::test]
async fn without_the_message_content_intent_players_use_act() {
    let mut config = world();
    config.message_content_allowed = false;
    let bot = spawn_bot_with(config, &[("TURN_WINDOW_MS", "0")]).await;
    let campaign = bot.create_campaign(ALICE, "Quiet").await;
    start(&bot, campaign, "The hall is silent.").await;
    // Discord blanks the content of plain messages: they are not turns.
    bot.fake.say(BOB, bot.channel, "I shout!").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(bot.llm.requests().len(), 1, "only the opening");
    bot.llm.push(Reply::openai_text(
        &["Echoes answer."],
        None,
        Duration::ZERO,
    ));
    let r = bot.run(BOB, "act", json!({"text": "I shout!"})).await;
    assert!(!r.ephemeral, "{}", r.content);
    finished(&bot, "Echoes answer.").await;
    let players: Vec<StoredMessage> = bot
        .story()
        .await
        .into_iter()
        .filter(|m| m.role == MessageRole::User)
        .collect();
    assert_eq!(players.len(), 1);
    bot.assert_clean();
}

#[tokio::test]
async fn a_player_over_the_turn_limit_is_told_privately_and_the_table_plays_on() {
    let (bot, campaign) = game_with(&[("RATE_TURN_PLAYER", "1/min")]).await;
    start(&bot, campaign, "The gate is shut.").await;
    bot.llm.push(Reply::openai_text(
        &["A guard yawns."],
        None,
        Duration::ZERO,
    ));
    bot.fake.say(ALICE, bot.channel, "I knock.").await;
    finished(&bot, "A guard yawns.").await;

    bot.fake.say(ALICE, bot.channel, "I knock again.").await;
    bot.fake.say(ALICE, bot.channel, "And again.").await;
    let told = bot
        .fake
        .wait_for_message(|m| m.content.contains("Slow down"), Duration::from_secs(5))
        .await;
    assert_eq!(
        Some(told.channel_id),
        bot.fake.dm_channel(ALICE),
        "told privately"
    );
    assert!(told.content.contains("Try again in"), "{}", told.content);
    assert!(told.content.contains("1 per minute"), "{}", told.content);

    // Bob has his own allowance.
    bot.llm.push(Reply::openai_text(
        &["The guard turns to Borin."],
        None,
        Duration::ZERO,
    ));
    bot.fake.say(BOB, bot.channel, "I wave.").await;
    finished(&bot, "The guard turns to Borin.").await;
    let story = bot.story().await;
    assert!(
        !story.iter().any(|m| m.content.contains("again")),
        "refused messages are not taken as turns"
    );
    assert_eq!(
        bot.fake.messages_in(told.channel_id).len(),
        1,
        "told once, not once a message"
    );
    bot.assert_clean();
}

#[tokio::test]
async fn regenerate_over_its_limit_is_refused_privately() {
    let (bot, campaign) = game_with(&[("RATE_REGENERATE_PLAYER", "1/10min")]).await;
    start(&bot, campaign, "The gate is shut.").await;
    bot.llm.push(Reply::openai_text(
        &["A guard yawns."],
        None,
        Duration::ZERO,
    ));
    bot.fake.say(ALICE, bot.channel, "I knock.").await;
    let first = finished(&bot, "A guard yawns.").await;
    let first_id = narrations(&bot.story().await)[1].id;
    bot.llm.push(Reply::openai_text(
        &["A guard glares."],
        None,
        Duration::ZERO,
    ));
    bot.fake
        .click(BOB, first.id, &format!("regen:{first_id}"))
        .await
        .wait_ack()
        .await;
    let second = finished(&bot, "A guard glares.").await;
    let second_id = narrations(&bot.story().await)[2].id;

    let refused = bot
        .fake
        .click(BOB, second.id, &format!("regen:{second_id}"))
        .await;
    let followups = refused.wait_followups(1).await;
    assert!(followups[0].ephemeral());
    assert!(
        followups[0]
            .content
            .contains("regenerations are limited to 1 per 10 minutes for each player"),
        "{}",
        followups[0].content
    );
    assert!(followups[0].content.contains("Try again in"));
    let story = bot.story().await;
    assert_eq!(narrations(&story).len(), 3, "nothing was regenerated");
    bot.assert_clean();
}
