//! `/roll` and `/models` end to end.

use crate::support;

use serde_json::json;
use support::bot::{ALICE, BACKUP, BOB, NARRATOR, embed_text, spawn_bot, spawn_bot_with, world};
use support::fake_discord::AckKind;

#[tokio::test]
async fn a_roll_shows_the_breakdown_and_total() {
    let bot = spawn_bot().await;
    let r = bot
        .run(
            BOB,
            "roll",
            json!({"expression": "4d6kh3 + 2", "reason": "strength"}),
        )
        .await;
    assert_eq!(r.ack, AckKind::Message);
    assert!(!r.ephemeral);
    let e = &r.embeds[0];
    assert_eq!(e["title"], json!("🎲 bob rolls for strength"));
    let total: i64 = e["fields"][0]["value"]
        .as_str()
        .unwrap()
        .trim_matches('*')
        .parse()
        .unwrap();
    assert!((5..=20).contains(&total), "{total}");
    assert!(e["description"].as_str().unwrap().contains("4d6kh3"), "{e}");
    bot.assert_clean();
}

#[tokio::test]
async fn bad_dice_are_explained_privately() {
    let bot = spawn_bot().await;
    let r = bot.run(BOB, "roll", json!({"expression": "1d0"})).await;
    assert!(r.ephemeral);
    assert_eq!(
        r.content,
        "I can't roll that: a die needs at least one side: `d0` cannot be rolled."
    );
    let r = bot.run(BOB, "roll", json!({"expression": "2d6 +"})).await;
    assert!(r.ephemeral);
    assert!(
        r.content.starts_with("I can't roll that: unexpected"),
        "{}",
        r.content
    );
    let r = bot
        .run(BOB, "roll", json!({"expression": "1000000d6"}))
        .await;
    assert!(r.ephemeral);
    bot.assert_clean();
}

#[tokio::test]
async fn huge_rolls_stay_within_embed_limits() {
    let bot = spawn_bot().await;
    let r = bot.run(BOB, "roll", json!({"expression": "900d100"})).await;
    assert!(!r.ephemeral, "{}", r.content);
    let d = r.embeds[0]["description"].as_str().unwrap();
    assert!(d.chars().count() <= 4096);
    bot.assert_clean();
}

#[tokio::test]
async fn rolls_work_in_direct_messages() {
    let bot = spawn_bot().await;
    let r = bot
        .fake
        .slash_dm(BOB, "roll", json!({"expression": "1d20"}))
        .await
        .wait_response()
        .await;
    assert!(embed_text(&r).contains("1d20"));
    bot.assert_clean();
}

#[tokio::test]
async fn models_lists_enabled_models_with_their_status() {
    let bot = spawn_bot_with(
        world(),
        &[
            ("OPENAI_API_KEY", "sk-test"),
            ("DEFAULT_MODEL", "openai:gpt-4o-mini"),
        ],
    )
    .await;
    let r = bot.run(ALICE, "models", json!({})).await;
    let text = embed_text(&r);
    assert!(
        text.contains("Default model: `openai:gpt-4o-mini`"),
        "{text}"
    );
    assert!(text.contains("openai:gpt-4o"), "{text}");
    assert!(text.contains("per million tokens"), "{text}");
    assert!(text.contains(NARRATOR) && text.contains(BACKUP), "{text}");
    assert!(text.contains("context size unknown"), "{text}");
    assert!(!text.contains("anthropic"), "{text}");
    assert!(!text.contains("sk-test"));
    bot.assert_clean();
}
