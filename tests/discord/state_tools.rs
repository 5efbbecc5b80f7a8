//! `STATE_TOOLS=true`: the game master's `change_state` tool call, streamed by an
//! OpenAI-compatible server, changes a character's sheet exactly as a text tag does.

use crate::support;

use std::time::Duration;

use gamemaster::core::game::transcript::MessageStatus;
use serde_json::json;
use support::bot::{ALICE, TestBot, narrations, spawn_bot_with, world};
use support::fake_llm::{Reply, fragments, openai_tool_events};

async fn hp_of(bot: &TestBot, name: &str) -> (i64, i64) {
    let (_, sheet, _) = super::party::sheet_of(bot, name).await;
    (sheet.hp, sheet.max_hp)
}

#[tokio::test]
async fn a_change_state_tool_call_changes_hp() {
    let mut bot = spawn_bot_with(
        world(),
        &[("STATE_TOOLS", "true"), ("TURN_WINDOW_MS", "100")],
    )
    .await;
    let campaign = bot.create_campaign(ALICE, "Rime").await;
    let r = bot
        .run(
            ALICE,
            "character create",
            json!({"name": "Aria", "class": "Fighter", "race": "Human", "campaign": campaign.to_string()}),
        )
        .await;
    assert!(!r.ephemeral, "{}", r.content);
    let (hp, max) = hp_of(&bot, "Aria").await;
    assert_eq!(hp, max);

    bot.llm.push(Reply::openai_text(
        &["Goblins leap from the snow."],
        None,
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
    bot.wait_bot_message(bot.channel, |m| {
        m.content.contains("Goblins leap") && !m.components.is_empty()
    })
    .await;

    // Text, then the tool call with its arguments in many small fragments.
    let arguments = fragments(r#"{"changes": ["hp Aria -4"]}"#, 3);
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    bot.llm.push(Reply::sse_chunks(openai_tool_events(
        &["A goblin spear ", "grazes Aria."],
        &arguments,
        Some((60, 20)),
    )));
    bot.fake.say(ALICE, bot.channel, "Aria charges.").await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let story = bot.story().await;
        let done = narrations(&story);
        if done.len() >= 2
            && done.last().unwrap().status == MessageStatus::Complete
            && hp_of(&bot, "Aria").await.0 == max - 4
        {
            // The stored narration holds the tag the tool call became.
            assert!(
                done.last().unwrap().content.ends_with("\n[[hp Aria -4]]"),
                "{:?}",
                done.last().unwrap().content
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the tool call did not change Aria's HP: {:?}",
            hp_of(&bot, "Aria").await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let line = tokio::time::timeout(
        Duration::from_secs(8),
        bot.wait_bot_message(bot.channel, |m| {
            m.content.starts_with("📋") && m.content.contains("Aria")
        }),
    )
    .await
    .expect("a 📋 line says what changed");
    assert!(
        line.content
            .contains(&format!("Aria −4 HP ({}/{max})", max - 4)),
        "{}",
        line.content
    );
    // Players never see the tag.
    for shown in bot.fake.messages_in(bot.channel) {
        assert!(!shown.content.contains("[["), "{}", shown.content);
    }

    // The narration request offered the tool (and the opening scene's too).
    let requests = bot.llm.requests();
    let narration = requests
        .iter()
        .rev()
        .find(|r| String::from_utf8_lossy(&r.body).contains("Aria charges"))
        .unwrap()
        .json();
    assert_eq!(narration["tools"][0]["function"]["name"], "change_state");
    assert_eq!(narration["tool_choice"], "auto");
    bot.stop().await;
}
