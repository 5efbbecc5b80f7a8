//! `/campaign` end to end: the real bot against the fake Discord and a real SQLite database.

use crate::support;

use gamemaster::core::ids::{CampaignId, GuildId};
use gamemaster::core::store::CampaignStore;
use serde_json::json;
use support::bot::{
    ALICE, BACKUP, BOB, CAROL, NARRATOR, OTHER_GUILD, campaign_id, embed_text, spawn_bot,
};
use support::fake_discord::AckKind;

#[tokio::test]
async fn create_list_and_info_a_campaign() {
    let bot = spawn_bot().await;
    let created = bot
        .run(
            ALICE,
            "campaign create",
            json!({"name": "The Lost Mine", "themes": "goblins, caves", "language": 1, "model": NARRATOR, "tone": "grim"}),
        )
        .await;
    // Deferred: the game master's portrait is painted after the answer.
    assert_eq!(created.ack, AckKind::DeferredMessage);
    assert!(!created.ephemeral);
    let text = embed_text(&created);
    assert!(text.contains("The Lost Mine"), "{text}");
    assert!(text.contains("Français"), "{text}");
    assert!(text.contains(NARRATOR), "{text}");
    assert!(text.contains("grim"), "{text}");

    let stored = bot.db().list_campaigns(GuildId(bot.guild)).await.unwrap();
    assert_eq!(stored.len(), 1);
    let c = &stored[0];
    assert_eq!(c.name.as_str(), "The Lost Mine");
    assert_eq!(c.language.code(), "fr");
    assert_eq!(c.model.to_string(), NARRATOR);
    assert_eq!(c.tone.as_ref().unwrap().as_str(), "grim");
    assert_eq!(c.owner_id.unwrap().0, ALICE);

    let list = bot.run(BOB, "campaign list", json!({})).await;
    assert!(embed_text(&list).contains("The Lost Mine"));

    let info = bot
        .run(
            BOB,
            "campaign info",
            json!({"campaign": c.id.0.to_string()}),
        )
        .await;
    assert!(embed_text(&info).contains("goblins, caves"));
    bot.assert_clean();
}

#[tokio::test]
async fn the_default_model_is_the_first_available_unless_configured() {
    let bot = spawn_bot().await;
    bot.run(
        ALICE,
        "campaign create",
        json!({"name": "Plain", "themes": "pirates", "language": 0}),
    )
    .await;
    let c = bot
        .db()
        .campaign(CampaignId(campaign_id(&bot, "Plain").await))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.model.to_string(), NARRATOR);
    drop(bot);

    let bot =
        support::bot::spawn_bot_with(support::bot::world(), &[("DEFAULT_MODEL", BACKUP)]).await;
    bot.run(
        ALICE,
        "campaign create",
        json!({"name": "Plain", "themes": "pirates", "language": 0}),
    )
    .await;
    let c = bot
        .db()
        .campaign(CampaignId(campaign_id(&bot, "Plain").await))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.model.to_string(), BACKUP);
    bot.assert_clean();
}

#[tokio::test]
async fn bad_input_is_refused_clearly_and_privately() {
    let bot = spawn_bot().await;
    bot.create_campaign(ALICE, "Rime").await;

    let duplicate = bot
        .run(
            BOB,
            "campaign create",
            json!({"name": "rime", "themes": "ice", "language": 0}),
        )
        .await;
    assert!(duplicate.ephemeral);
    assert_eq!(
        duplicate.content,
        "This server already has a campaign named \"rime\"."
    );

    let disabled = bot
        .run(
            ALICE,
            "campaign create",
            json!({"name": "Sky", "themes": "airships", "language": 0, "model": "anthropic:claude-sonnet-4-5"}),
        )
        .await;
    assert!(disabled.ephemeral);
    assert!(
        disabled.content.contains("ANTHROPIC_API_KEY"),
        "{}",
        disabled.content
    );

    let unknown = bot
        .run(
            ALICE,
            "campaign create",
            json!({"name": "Sky", "themes": "airships", "language": 0, "model": "local:nope"}),
        )
        .await;
    assert!(unknown.ephemeral);
    assert!(
        unknown.content.contains("LOCAL_LLM_MODELS"),
        "{}",
        unknown.content
    );

    let garbage = bot
        .run(
            ALICE,
            "campaign create",
            json!({"name": "Sky", "themes": "airships", "language": 0, "model": "gpt4"}),
        )
        .await;
    assert!(garbage.ephemeral);
    assert!(
        garbage.content.contains("provider:model"),
        "{}",
        garbage.content
    );

    let blank = bot
        .run(
            ALICE,
            "campaign create",
            json!({"name": "   ", "themes": "airships", "language": 0}),
        )
        .await;
    assert!(blank.ephemeral);
    assert_eq!(blank.content, "The campaign name can't be empty.");

    let missing = bot
        .run(ALICE, "campaign info", json!({"campaign": "999999"}))
        .await;
    assert!(missing.ephemeral);
    assert!(missing.content.contains("doesn't exist in this server"));

    // Only the first campaign was stored.
    let all = bot.db().list_campaigns(GuildId(bot.guild)).await.unwrap();
    assert_eq!(all.len(), 1);
    bot.assert_clean();
}

#[tokio::test]
async fn campaigns_of_another_server_are_invisible() {
    let bot = spawn_bot().await;
    let id = bot.create_campaign(ALICE, "Tavern Tales").await;
    let other = bot.fake.config().guild(OTHER_GUILD).unwrap().general();

    let choices = bot
        .fake
        .autocomplete(
            CAROL,
            OTHER_GUILD,
            other,
            "campaign info",
            json!({"campaign": "Tav"}),
            "campaign",
        )
        .await;
    assert!(choices.is_empty(), "{choices:?}");

    for path in ["campaign info", "campaign delete"] {
        let r = bot
            .fake
            .slash(
                CAROL,
                OTHER_GUILD,
                other,
                path,
                json!({"campaign": id.to_string()}),
            )
            .await
            .wait_response()
            .await;
        assert!(r.ephemeral, "{path}");
        assert!(
            r.content.contains("doesn't exist in this server"),
            "{path}: {}",
            r.content
        );
    }
    let r = bot
        .fake
        .slash(
            CAROL,
            OTHER_GUILD,
            other,
            "campaign model",
            json!({"campaign": id.to_string(), "model": BACKUP}),
        )
        .await
        .wait_response()
        .await;
    assert!(r.content.contains("doesn't exist in this server"));
    let c = bot.db().campaign(CampaignId(id)).await.unwrap().unwrap();
    assert_eq!(c.model.to_string(), NARRATOR);
    bot.assert_clean();
}

#[tokio::test]
async fn autocomplete_offers_this_servers_campaigns_and_the_available_models() {
    let bot = spawn_bot().await;
    bot.create_campaign(ALICE, "Curse of Strahd").await;
    bot.create_campaign(ALICE, "Storm King").await;
    bot.create_campaign(ALICE, "Waterdeep").await;

    let names = bot
        .autocomplete(BOB, "campaign info", json!({"campaign": "st"}), "campaign")
        .await;
    assert_eq!(names, ["Storm King", "Curse of Strahd"]);
    let everything = bot
        .autocomplete(BOB, "campaign info", json!({}), "campaign")
        .await;
    assert_eq!(everything.len(), 3);

    // The value is the campaign id.
    let raw = bot
        .fake
        .autocomplete(
            BOB,
            bot.guild,
            bot.channel,
            "campaign info",
            json!({"campaign": "water"}),
            "campaign",
        )
        .await;
    assert_eq!(
        raw[0]["value"],
        json!(campaign_id(&bot, "Waterdeep").await.to_string())
    );

    let models = bot
        .autocomplete(
            ALICE,
            "campaign create",
            json!({"name": "x", "themes": "y", "language": 0, "model": "back"}),
            "model",
        )
        .await;
    assert_eq!(models, [BACKUP]);
    let all = bot
        .autocomplete(
            ALICE,
            "campaign create",
            json!({"name": "x", "themes": "y", "language": 0}),
            "model",
        )
        .await;
    assert_eq!(all, [NARRATOR, BACKUP]);
    bot.assert_clean();
}

#[tokio::test]
async fn only_the_owner_or_a_manager_changes_the_model() {
    let bot = spawn_bot().await;
    let id = bot.create_campaign(ALICE, "Rime").await;

    let refused = bot
        .run(
            BOB,
            "campaign model",
            json!({"campaign": id.to_string(), "model": BACKUP}),
        )
        .await;
    assert!(refused.ephemeral);
    assert!(
        refused
            .content
            .contains("owner or members with Manage Server"),
        "{}",
        refused.content
    );
    assert_eq!(
        bot.db()
            .campaign(CampaignId(id))
            .await
            .unwrap()
            .unwrap()
            .model
            .to_string(),
        NARRATOR
    );

    let changed = bot
        .run(
            ALICE,
            "campaign model",
            json!({"campaign": id.to_string(), "model": BACKUP}),
        )
        .await;
    assert!(!changed.ephemeral);
    assert!(changed.content.contains(BACKUP), "{}", changed.content);
    assert_eq!(
        bot.db()
            .campaign(CampaignId(id))
            .await
            .unwrap()
            .unwrap()
            .model
            .to_string(),
        BACKUP
    );

    // Bob owns his own campaign and may change it without Manage Server.
    let bobs = bot.create_campaign(BOB, "Bob's Game").await;
    let own = bot
        .run(
            BOB,
            "campaign model",
            json!({"campaign": bobs.to_string(), "model": BACKUP}),
        )
        .await;
    assert!(!own.ephemeral, "{}", own.content);

    let disabled = bot
        .run(
            ALICE,
            "campaign model",
            json!({"campaign": id.to_string(), "model": "openai:gpt-4o"}),
        )
        .await;
    assert!(
        disabled.content.contains("OPENAI_API_KEY"),
        "{}",
        disabled.content
    );
    bot.assert_clean();
}

#[tokio::test]
async fn delete_asks_for_confirmation_and_cancel_keeps_everything() {
    let bot = spawn_bot().await;
    let id = bot.create_campaign(ALICE, "Doomed").await;

    let refused = bot
        .run(BOB, "campaign delete", json!({"campaign": id.to_string()}))
        .await;
    assert!(refused.ephemeral);
    assert!(
        refused
            .content
            .contains("owner or members with Manage Server")
    );

    let ask = bot
        .run(
            ALICE,
            "campaign delete",
            json!({"campaign": id.to_string()}),
        )
        .await;
    assert!(ask.ephemeral);
    assert!(ask.content.contains("can't be undone"), "{}", ask.content);
    let msg = ask.message_id.unwrap();

    let cancel = bot.fake.click(ALICE, msg, "campaign-delete-cancel").await;
    let cancelled = cancel.wait_response().await;
    assert_eq!(cancelled.ack, AckKind::UpdateMessage);
    assert_eq!(cancelled.content, "Nothing was deleted.");
    assert!(cancelled.components.is_empty());
    assert!(bot.db().campaign(CampaignId(id)).await.unwrap().is_some());

    let ask = bot
        .run(
            ALICE,
            "campaign delete",
            json!({"campaign": id.to_string()}),
        )
        .await;
    let confirm = bot
        .fake
        .click(
            ALICE,
            ask.message_id.unwrap(),
            &format!("campaign-delete:{id}"),
        )
        .await;
    let done = confirm.wait_response().await;
    assert!(done.content.contains("Doomed"), "{}", done.content);
    assert!(bot.db().campaign(CampaignId(id)).await.unwrap().is_none());
    bot.assert_clean();
}

#[tokio::test]
async fn a_manager_may_delete_anyones_campaign() {
    let bot = spawn_bot().await;
    let id = bot.create_campaign(BOB, "Bob's").await;
    let ask = bot
        .run(
            ALICE,
            "campaign delete",
            json!({"campaign": id.to_string()}),
        )
        .await;
    // Bob cannot click Alice's prompt through the fake (it is ephemeral to her), but the click
    // handler re-checks rights anyway; Alice confirms.
    let done = bot
        .fake
        .click(
            ALICE,
            ask.message_id.unwrap(),
            &format!("campaign-delete:{id}"),
        )
        .await
        .wait_response()
        .await;
    assert!(done.content.contains("deleted"));
    assert!(bot.db().campaign(CampaignId(id)).await.unwrap().is_none());
    bot.assert_clean();
}

#[tokio::test]
async fn campaign_commands_are_refused_in_direct_messages() {
    let bot = spawn_bot().await;
    let r = bot
        .fake
        .slash_dm(BOB, "campaign list", json!({}))
        .await
        .wait_response()
        .await;
    assert!(r.ephemeral);
    assert!(
        r.content.contains("not in direct messages"),
        "{}",
        r.content
    );
    bot.assert_clean();
}

#[tokio::test]
async fn internal_failures_show_a_short_apology_and_no_details() {
    let bot = spawn_bot().await;
    let id = bot.create_campaign(ALICE, "Broken").await;
    sqlx::query("UPDATE campaigns SET model = 'not a model id' WHERE id = $1")
        .bind(id)
        .execute(bot.db().pool())
        .await
        .unwrap();
    let r = bot.run(BOB, "campaign list", json!({})).await;
    assert!(r.ephemeral);
    assert!(
        r.content.starts_with("Something went wrong on my side."),
        "{}",
        r.content
    );
    assert!(!r.content.contains("not a model id"), "{}", r.content);
    assert!(!r.content.contains("panicked") && !r.content.contains(".rs:"));
    bot.assert_clean();
}

#[tokio::test]
async fn info_without_a_campaign_shows_the_one_playing_here() {
    let bot = spawn_bot().await;
    let none = bot.run(BOB, "campaign info", json!({})).await;
    assert!(none.ephemeral);
    assert!(
        none.content.contains("name the campaign"),
        "{}",
        none.content
    );
    let id = bot.create_campaign(ALICE, "Here And Now").await;
    bot.run(ALICE, "session start", json!({"campaign": id.to_string()}))
        .await;
    let info = bot.run(BOB, "campaign info", json!({})).await;
    let text = embed_text(&info);
    assert!(
        text.contains("Here And Now") && text.contains("running here"),
        "{text}"
    );
    bot.assert_clean();
}

#[tokio::test]
async fn deleting_a_campaign_ends_its_sessions_everywhere() {
    use gamemaster::core::store::SessionStore;
    let bot = spawn_bot().await;
    let id = bot.create_campaign(ALICE, "Short Lived").await;
    bot.run(
        ALICE,
        "session start",
        json!({"campaign": id.to_string(), "thread": true}),
    )
    .await;
    assert_eq!(bot.db().active_sessions().await.unwrap().len(), 1);
    let ask = bot
        .run(
            ALICE,
            "campaign delete",
            json!({"campaign": id.to_string()}),
        )
        .await;
    bot.fake
        .click(
            ALICE,
            ask.message_id.unwrap(),
            &format!("campaign-delete:{id}"),
        )
        .await
        .wait_response()
        .await;
    assert!(bot.db().active_sessions().await.unwrap().is_empty());
    assert!(bot.db().campaign(CampaignId(id)).await.unwrap().is_none());
    bot.assert_clean();
}

#[tokio::test]
async fn the_servers_default_model_comes_before_the_bots() {
    use gamemaster::core::game::guild::GuildSettings;
    use gamemaster::core::models::chat::ModelId;
    use gamemaster::core::store::GuildStore;
    let bot =
        support::bot::spawn_bot_with(support::bot::world(), &[("DEFAULT_MODEL", NARRATOR)]).await;
    let mut settings = GuildSettings::defaults(GuildId(bot.guild));
    settings.default_model = Some(ModelId::parse(BACKUP).unwrap());
    bot.db().save_guild_settings(&settings).await.unwrap();
    bot.run(
        ALICE,
        "campaign create",
        json!({"name": "Served", "themes": "ruins", "language": 3}),
    )
    .await;
    let c = bot
        .db()
        .campaign(CampaignId(campaign_id(&bot, "Served").await))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.model.to_string(), BACKUP);
    assert_eq!(c.language.code(), "de");
    bot.assert_clean();
}

#[tokio::test]
async fn a_crowded_campaign_still_fits_in_one_embed() {
    use gamemaster::core::ids::UserId;
    let bot = spawn_bot().await;
    let id = bot.create_campaign(ALICE, "Crowded").await;
    for i in 0..12 {
        let user = if i % 2 == 0 { ALICE } else { BOB };
        let r = bot
            .run(
                user,
                "character create",
                json!({"name": format!("Hero {i}"), "class": "Fighter", "race": "Human",
                       "description": "d".repeat(1000), "campaign": id.to_string()}),
            )
            .await;
        assert!(!r.ephemeral, "{}", r.content);
    }
    let info = bot
        .run(BOB, "campaign info", json!({"campaign": id.to_string()}))
        .await;
    let e = &info.embeds[0];
    let characters = e["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == json!("Characters (12)"))
        .unwrap();
    let value = characters["value"].as_str().unwrap();
    assert!(value.chars().count() <= 1024);
    assert!(
        value.contains("Hero 11"),
        "short lines fit all twelve: {value}"
    );
    let everyone = bot
        .run(BOB, "character list", json!({"everyone": true}))
        .await;
    assert!(
        everyone.embeds[0]["description"]
            .as_str()
            .unwrap()
            .contains("Hero 11")
    );
    let _ = UserId(BOB);
    bot.assert_clean();
}
