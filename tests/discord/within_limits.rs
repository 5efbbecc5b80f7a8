//! The bot lives within Discord's rules, with the fake enforcing them: a narration's messages,
//! edits, dice notice and buttons share the channel's bucket without a 429; a channel the bot
//! loses ends its session after one refusal, and the session's starter is told.

use crate::support;

use std::time::Duration;

use gamemaster::core::game::transcript::MessageStatus;
use gamemaster::core::ids::ChannelId;
use gamemaster::core::store::{MessageStore, SessionStore};
use serde_json::json;
use support::bot::{ALICE, BOB, narrations, spawn_bot_with, world};
use support::fake_discord::perms;
use support::fake_llm::Reply;

#[tokio::test]
async fn a_long_narration_with_dice_and_buttons_shares_the_channel_bucket_without_a_429() {
    let bot = spawn_bot_with(
        world(),
        &[("TURN_WINDOW_MS", "0"), ("EDIT_INTERVAL_MS", "250")],
    )
    .await;
    bot.start_playing("Ashfall", "Ash drifts over the road.")
        .await;

    // Three messages' worth of text over about four seconds: edits every 250 ms would be
    // four times what the channel's bucket allows.
    let paragraph = "The caravan creaks past charred milestones and silent farms. ".repeat(8);
    let mut pieces: Vec<String> = (0..8)
        .map(|i| format!("Part {i}. {paragraph}\n\n"))
        .collect();
    pieces.push("A bandit steps out. [[roll 1d20+3 Initiative]] The end.".into());
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let full = pieces.concat();
    assert!(full.chars().count() > 4000);
    bot.llm
        .push(Reply::openai_text(&refs, None, Duration::from_millis(450)));
    bot.fake.say(BOB, bot.channel, "We ride on.").await;

    let last = tokio::time::timeout(
        Duration::from_secs(60),
        bot.wait_bot_message(bot.channel, |m| {
            m.content.trim_end().ends_with("The end.") && !m.components.is_empty()
        }),
    )
    .await
    .expect("the narration ends with its buttons");
    bot.wait_bot_message(bot.channel, |m| {
        m.embeds
            .first()
            .is_some_and(|e| e["title"] == json!("🎲 Initiative"))
    })
    .await;

    let hits = bot.fake.rate_limited();
    assert!(hits.is_empty(), "429s: {hits:#?}");
    // Every piece of text shown once, in order, and the last message has the buttons.
    let shown: Vec<String> = bot
        .fake
        .messages_in(bot.channel)
        .into_iter()
        .filter(|m| m.from_bot && m.id <= last.id)
        .map(|m| m.content)
        .filter(|c| c.contains("caravan") || c.contains("The end."))
        .collect();
    assert!(shown.len() >= 3, "{shown:#?}");
    let joined: String = shown.concat().split_whitespace().collect();
    assert_eq!(joined, full.split_whitespace().collect::<String>());
    let stored = narrations(&bot.story().await)[1].clone();
    assert_eq!(stored.status, MessageStatus::Complete);
    assert_eq!(stored.content.trim_end(), full.trim_end());
    bot.assert_clean();
}

#[tokio::test]
async fn a_channel_the_bot_may_no_longer_post_in_ends_its_session_and_tells_the_starter() {
    let bot = spawn_bot_with(world(), &[("TURN_WINDOW_MS", "0")]).await;
    bot.start_playing("Ashfall", "The gate is shut.").await;
    let session = bot.session().await;
    bot.fake.deny_bot(bot.channel, perms::SEND_MESSAGES);
    let before = bot.fake.requests().len();

    bot.llm.push(Reply::openai_text(
        &[
            "The guard ",
            "looks down ",
            "at you. [[roll 1d20 Persuasion]]",
        ],
        None,
        Duration::from_millis(50),
    ));
    bot.fake.say(BOB, bot.channel, "I knock.").await;

    // The session ends, and Alice (who started it) reads why in a direct message.
    let note = tokio::time::timeout(
        Duration::from_secs(15),
        bot.fake.wait_for_message(
            |m| m.from_bot && m.content.contains("I ended the game session"),
            Duration::from_secs(15),
        ),
    )
    .await
    .expect("the starter is told");
    assert_eq!(
        Some(note.channel_id),
        bot.fake.dm_channel(ALICE),
        "in a direct message"
    );
    assert!(
        note.content.contains(&format!("<#{}>", bot.channel)),
        "{}",
        note.content
    );
    assert!(note.content.contains("/session start"), "{}", note.content);
    assert!(note.content.contains("permission"), "{}", note.content);
    let active = bot
        .db()
        .active_session(ChannelId(bot.channel))
        .await
        .unwrap();
    assert!(active.is_none(), "the session ended");

    // The narration was stored whole; Discord saw one refused post (and the typing
    // indicator's), no retries and no notices.
    let story = bot.db().all_messages(session.id).await.unwrap();
    let stored = narrations(&story).last().unwrap().content.clone();
    assert!(stored.contains("The guard looks down at you."), "{stored}");
    let to_channel = |from: usize| -> Vec<(String, String, u16)> {
        bot.fake
            .requests_from(from)
            .into_iter()
            .filter(|r| r.path.contains(&format!("/channels/{}/", bot.channel)))
            .map(|r| (r.method, r.path, r.status))
            .collect()
    };
    let refused = to_channel(before);
    assert!(
        refused.iter().all(|(_, _, status)| *status == 403),
        "{refused:#?}"
    );
    let posts = refused
        .iter()
        .filter(|(_, p, _)| p.ends_with("/messages"))
        .count();
    assert_eq!(posts, 1, "{refused:#?}");

    // Later messages are plain chat: nothing is sent to the channel for them.
    let after = bot.fake.requests().len();
    bot.fake.say(BOB, bot.channel, "I knock again.").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(to_channel(after).is_empty(), "{:#?}", to_channel(after));
}
