//! Prompt isolation: what the model receives holds the current campaign and nothing else, and
//! never a key, a token or the database's address.

use crate::support;

use std::time::Duration;

use serde_json::json;
use support::bot::{ALICE, BOB, spawn_bot_with, world};
use support::fake_llm::Reply;

const OPENAI_KEY: &str = "sk-isolation-7f3a9c";

#[tokio::test]
async fn the_model_sees_only_this_campaign_and_no_secret() {
    let bot = spawn_bot_with(
        world(),
        &[("TURN_WINDOW_MS", "0"), ("OPENAI_API_KEY", OPENAI_KEY)],
    )
    .await;
    let here = bot.create_campaign(ALICE, "Rime").await;
    let elsewhere = bot
        .run(
            BOB,
            "campaign create",
            json!({"name": "Obsidian Court", "themes": "volcanic intrigue", "language": 0, "model": support::bot::NARRATOR}),
        )
        .await;
    assert!(!elsewhere.ephemeral, "{}", elsewhere.content);
    let other = support::bot::campaign_id(&bot, "Obsidian Court").await;
    for (user, name, campaign) in [(ALICE, "Aria", here), (BOB, "Zephyrine", other)] {
        let r = bot
            .run(
                user,
                "character create",
                json!({"name": name, "class": "Bard", "race": "Elf", "description": format!("{name}'s secret past"), "campaign": campaign.to_string()}),
            )
            .await;
        assert!(!r.ephemeral, "{}", r.content);
    }

    let zero = Duration::ZERO;
    bot.llm
        .push(Reply::openai_text(&["Snow falls."], None, zero));
    bot.llm
        .push(Reply::openai_text(&["The ice cracks."], None, zero));
    bot.run(
        ALICE,
        "session start",
        json!({"campaign": here.to_string()}),
    )
    .await;
    bot.wait_bot_message(bot.channel, |m| {
        m.content.contains("Snow falls.") && !m.components.is_empty()
    })
    .await;
    bot.fake.say(ALICE, bot.channel, "Aria listens.").await;
    bot.wait_bot_message(bot.channel, |m| {
        m.content.contains("The ice cracks.") && !m.components.is_empty()
    })
    .await;

    let bodies: Vec<String> = bot.llm.request_bodies();
    assert_eq!(bodies.len(), 2, "the opening and one turn");
    let token = bot.fake.config().token.clone();
    let database = bot.test_db.url.expose().to_string();
    for body in &bodies {
        assert!(body.contains("Rime") && body.contains("Aria"), "{body}");
        for leak in [
            "Obsidian Court",
            "volcanic intrigue",
            "Zephyrine",
            OPENAI_KEY,
            token.as_str(),
            database.as_str(),
        ] {
            assert!(!body.contains(leak), "{leak:?} reached the model: {body}");
        }
    }
    bot.assert_clean();
}
