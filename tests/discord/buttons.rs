//! Buttons under narrations: ratings are stored once per player; stale or foreign buttons are
//! refused clearly.

use crate::support;

use std::sync::Arc;

use gamemaster::core::engine::Presenter;
use gamemaster::core::game::transcript::{MessageRole, MessageStatus, NewMessage};
use gamemaster::core::ids::{ChannelId, MessageId};
use gamemaster::core::models::chat::ModelId;
use gamemaster::core::store::{MessageStore, VoteStore};
use gamemaster::discord::DiscordPresenter;
use serde_json::json;
use support::bot::{ALICE, BOB, NARRATOR, TestBot, spawn_bot};
use support::fake_discord::AckKind;

/// A narration stored and shown with its buttons, as the engine leaves it.
async fn narration(bot: &TestBot, text: &str) -> (MessageId, u64) {
    let session = bot.session().await;
    let stored = bot
        .db()
        .append_message(&NewMessage {
            session_id: session.id,
            campaign_id: session.campaign_id,
            author_id: None,
            character_id: None,
            role: MessageRole::Assistant,
            content: text.into(),
            model: Some(NARRATOR.into()),
            status: MessageStatus::Complete,
            discord_message_id: None,
            author_name: None,
        })
        .await
        .unwrap();
    let http = bot.fake.http();
    let p = DiscordPresenter::new(Arc::new(http));
    let channel = ChannelId(bot.channel);
    let posted = p.send(channel, text).await.unwrap();
    p.narration_finished(
        channel,
        posted,
        stored.id,
        &ModelId::parse(NARRATOR).unwrap(),
    )
    .await
    .unwrap();
    (stored.id, posted.0)
}

#[tokio::test]
async fn ratings_are_one_per_player_and_can_change() {
    let bot = spawn_bot().await;
    let id = bot.create_campaign(ALICE, "Rime").await;
    bot.run(ALICE, "session start", json!({"campaign": id.to_string()}))
        .await;
    let (narration, message) = narration(&bot, "A wolf howls.").await;

    let up = bot
        .fake
        .click(BOB, message, &format!("rate:up:{narration}"))
        .await
        .wait_response()
        .await;
    assert_eq!(up.ack, AckKind::Message);
    assert!(up.ephemeral);
    assert!(up.content.contains("1 👍 and 0 👎"), "{}", up.content);
    bot.fake
        .click(ALICE, message, &format!("rate:up:{narration}"))
        .await
        .wait_response()
        .await;
    let changed = bot
        .fake
        .click(BOB, message, &format!("rate:down:{narration}"))
        .await
        .wait_response()
        .await;
    assert!(
        changed.content.contains("1 👍 and 1 👎"),
        "{}",
        changed.content
    );
    assert_eq!(bot.db().rating_counts(narration).await.unwrap(), (1, 1));
    bot.assert_clean();
}

#[tokio::test]
async fn regenerate_refusals_are_private_and_keep_the_buttons() {
    let bot = spawn_bot().await;
    let id = bot.create_campaign(ALICE, "Rime").await;
    bot.run(ALICE, "session start", json!({"campaign": id.to_string()}))
        .await;
    let (narration, message) = narration(&bot, "A wolf howls.").await;
    bot.run(ALICE, "session end", json!({})).await;
    let click = bot
        .fake
        .click(BOB, message, &format!("regen:{narration}"))
        .await;
    assert_eq!(click.wait_ack().await, AckKind::DeferredUpdate);
    let followup = click.wait_followups(1).await;
    assert!(followup[0].ephemeral());
    assert!(
        followup[0].content.contains("no active session"),
        "{}",
        followup[0].content
    );
    assert_eq!(bot.fake.message(message).unwrap().components.len(), 1);
    bot.assert_clean();
}
