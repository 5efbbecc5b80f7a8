//! The engine's Discord presenter against the fake Discord's REST API.

use crate::support;

use std::sync::Arc;

use gamemaster::core::engine::{BadRollTag, DiceRolled, Notice, Presenter};
use gamemaster::core::ids::{ChannelId, MessageId};
use gamemaster::core::models::chat::ModelId;
use gamemaster::discord::DiscordPresenter;
use serde_json::json;
use support::fake_discord::{FakeConfig, FakeDiscord};

async fn presenter() -> (FakeDiscord, DiscordPresenter, ChannelId) {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let http = fake.http();
    let channel = ChannelId(fake.config().guilds[0].general());
    (fake, DiscordPresenter::new(Arc::new(http)), channel)
}

#[tokio::test]
async fn model_text_never_pings_even_when_it_tries() {
    let (fake, p, channel) = presenter().await;
    let hostile = "@everyone look! <@&123> and <@2000000000000000001> @here";
    let id = p.send(channel, hostile).await.unwrap();
    p.edit(channel, id, &format!("{hostile} again"))
        .await
        .unwrap();
    let m = fake.message(id.0).unwrap();
    assert_eq!(m.content, format!("{hostile} again"));
    assert_eq!(m.content_history.len(), 2);
    fake.assert_no_pings();
    fake.assert_clean();
}

#[tokio::test]
async fn a_finished_narration_gets_regenerate_and_rating_buttons() {
    let (fake, p, channel) = presenter().await;
    let id = p.send(channel, "The door creaks open.").await.unwrap();
    let model = ModelId::parse("local:narrator").unwrap();
    p.narration_finished(channel, id, MessageId(42), &model)
        .await
        .unwrap();
    let m = fake.message(id.0).unwrap();
    assert_eq!(m.content, "The door creaks open.");
    let ids: Vec<String> = m.components[0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["custom_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["regen:42", "rate:up:42", "rate:down:42"]);
    fake.assert_no_pings();
    fake.assert_clean();
}

#[tokio::test]
async fn notices_are_short_and_say_what_happens_next() {
    let (fake, p, channel) = presenter().await;
    let model = ModelId::parse("openai:gpt-4o").unwrap();
    for notice in [
        Notice::Dice {
            rolls: vec![DiceRolled {
                label: "Perception for Aria".into(),
                text: "1d20 (**20**) + 3 = 23".into(),
            }],
            problems: vec![BadRollTag {
                tag: "1d0".into(),
                problem: "a die needs at least one side".into(),
            }],
        },
        Notice::ModelFailed {
            model: model.clone(),
            reason: "the provider is overloaded".into(),
            next: "trying local:backup instead".into(),
        },
        Notice::NarrationCut {
            model: model.clone(),
            reason: "the connection dropped".into(),
        },
        Notice::TurnFailed {
            reason: "no model could narrate this turn; your messages are kept and the next turn includes them".into(),
        },
    ] {
        p.notice(channel, &notice).await.unwrap();
    }
    let messages = fake.messages_in(channel.0);
    assert_eq!(
        messages.len(),
        4,
        "the rolls and the refused tag share one message"
    );
    assert_eq!(
        messages[0].embeds[0]["title"],
        json!("🎲 Perception for Aria")
    );
    assert!(messages[0].content.contains("`1d0`"));
    assert!(
        messages[1].content.contains("openai:gpt-4o") && messages[1].content.contains("Trying")
    );
    assert!(messages[2].content.contains("Regenerate"));
    assert!(
        messages[3].embeds[0]["description"]
            .as_str()
            .unwrap()
            .contains("kept")
    );
    p.typing(channel).await;
    assert_eq!(fake.typing().len(), 1);
    fake.assert_no_pings();
    fake.assert_clean();
}

#[tokio::test]
async fn text_over_the_message_limit_is_cut_rather_than_refused() {
    let (fake, p, channel) = presenter().await;
    let id = p.send(channel, &"a".repeat(2500)).await.unwrap();
    assert_eq!(fake.message(id.0).unwrap().content.chars().count(), 2000);
    fake.assert_clean();
}

#[tokio::test]
async fn many_rolls_and_refused_tags_fit_one_message_within_discord_limits() {
    let (fake, p, channel) = presenter().await;
    let rolls = (0..5)
        .map(|i| DiceRolled {
            label: format!("Save {i}"),
            text: format!("1d20 ({i}) = {i}"),
        })
        .collect();
    // Hostile tags: long bodies and many of them.
    let problems = (0..40)
        .map(|i| BadRollTag {
            tag: format!("{i}d{}", "9".repeat(1500)),
            problem: "the die is too large".into(),
        })
        .collect();
    p.notice(channel, &Notice::Dice { rolls, problems })
        .await
        .unwrap();
    let messages = fake.messages_in(channel.0);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].embeds[0]["fields"].as_array().unwrap().len(), 5);
    assert!(messages[0].content.contains("40 rolls I can't make"));
    assert!(messages[0].content.contains("37 more"));
    assert!(messages[0].content.chars().count() <= 2000);
    fake.assert_no_pings();
    fake.assert_clean();
}
