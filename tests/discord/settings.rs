//! `/settings`: the server's models and monthly budget, for members with Manage Server.

use crate::support;

use gamemaster::core::game::guild::GuildSettings;
use gamemaster::core::ids::GuildId;
use gamemaster::core::models::chat::ModelId;
use gamemaster::core::models::perf::PerfRecord;
use gamemaster::core::store::{CampaignStore, GuildStore, PerfStore};
use serde_json::json;
use support::bot::{ALICE, BACKUP, BOB, NARRATOR, TestBot, embed_text, spawn_bot};

async fn stored(bot: &TestBot) -> GuildSettings {
    bot.db().guild_settings(GuildId(bot.guild)).await.unwrap()
}

#[tokio::test]
async fn members_without_manage_server_are_refused_and_nothing_changes() {
    let bot = spawn_bot().await;
    for (path, options) in [
        ("settings show", json!({})),
        ("settings budget", json!({"amount": "5"})),
        ("settings default-model", json!({"model": NARRATOR})),
        ("settings fallback-model", json!({"model": BACKUP})),
    ] {
        let r = bot.run(BOB, path, options).await;
        assert!(r.ephemeral, "{path}");
        assert!(r.content.contains("Manage Server"), "{path}: {}", r.content);
        assert!(r.embeds.is_empty(), "{path}");
    }
    assert_eq!(
        stored(&bot).await,
        GuildSettings::defaults(GuildId(bot.guild))
    );
    bot.assert_clean();
}

#[tokio::test]
async fn the_budget_is_set_shown_with_the_spend_and_turned_off() {
    let bot = spawn_bot().await;
    bot.db()
        .record_call(&PerfRecord {
            guild_id: Some(GuildId(bot.guild)),
            latency_ms: 1000,
            tokens_in: Some(1000),
            tokens_out: Some(100),
            cost_usd: Some(5.0),
            ..crate::support::perf::call()
        })
        .await
        .unwrap();

    let r = bot
        .run(ALICE, "settings budget", json!({"amount": "$25"}))
        .await;
    assert!(r.ephemeral);
    assert!(r.content.contains("$25.00"), "{}", r.content);
    let text = embed_text(&r);
    assert!(
        text.contains("Monthly budget: $25.00 a month · $5.00 spent in"),
        "{text}"
    );
    assert!(text.contains("(20%)"), "{text}");
    assert_eq!(stored(&bot).await.monthly_budget_usd, Some(25.0));

    // A bad amount: a clear message, the budget unchanged.
    let r = bot
        .run(ALICE, "settings budget", json!({"amount": "12,50"}))
        .await;
    assert!(r.ephemeral);
    assert!(r.content.contains("not an amount"), "{}", r.content);
    assert_eq!(stored(&bot).await.monthly_budget_usd, Some(25.0));
    let r = bot
        .run(ALICE, "settings budget", json!({"amount": "-3"}))
        .await;
    assert!(r.ephemeral && r.embeds.is_empty(), "{}", r.content);

    let r = bot
        .run(ALICE, "settings budget", json!({"amount": "off"}))
        .await;
    assert!(embed_text(&r).contains("Monthly budget: off · $5.00 spent"));
    assert_eq!(stored(&bot).await.monthly_budget_usd, None);

    let shown = bot.run(ALICE, "settings show", json!({})).await;
    assert!(shown.ephemeral);
    let text = embed_text(&shown);
    assert!(text.contains("Default model: not set"), "{text}");
    assert!(text.contains("Fallback model: not set"), "{text}");
    bot.assert_clean();
}

#[tokio::test]
async fn server_models_are_chosen_from_the_enabled_ones() {
    let bot = spawn_bot().await;
    let choices = bot
        .autocomplete(
            ALICE,
            "settings default-model",
            json!({"model": "back"}),
            "model",
        )
        .await;
    assert_eq!(choices, [BACKUP]);

    let r = bot
        .run(ALICE, "settings default-model", json!({"model": BACKUP}))
        .await;
    assert!(r.ephemeral);
    assert!(embed_text(&r).contains(&format!("Default model: `{BACKUP}`")));
    let r = bot
        .run(ALICE, "settings fallback-model", json!({"model": NARRATOR}))
        .await;
    assert!(embed_text(&r).contains(&format!("Fallback model: `{NARRATOR}`")));
    let saved = stored(&bot).await;
    assert_eq!(saved.default_model, Some(ModelId::parse(BACKUP).unwrap()));
    assert_eq!(
        saved.fallback_model,
        Some(ModelId::parse(NARRATOR).unwrap())
    );

    // A provider this bot has no key for: refused, the setting kept.
    let r = bot
        .run(
            ALICE,
            "settings default-model",
            json!({"model": "openai:gpt-4o"}),
        )
        .await;
    assert!(r.ephemeral && r.embeds.is_empty());
    assert!(r.content.contains("OPENAI_API_KEY"), "{}", r.content);
    let r = bot
        .run(
            ALICE,
            "settings fallback-model",
            json!({"model": "gibberish"}),
        )
        .await;
    assert!(r.ephemeral && r.embeds.is_empty(), "{}", r.content);
    assert_eq!(stored(&bot).await, saved);

    // New campaigns without a model take the server's default.
    let created = bot
        .run(
            ALICE,
            "campaign create",
            json!({"name": "Defaults", "themes": "rivers", "language": 0}),
        )
        .await;
    assert!(!created.ephemeral, "{}", created.content);
    let campaign = bot
        .db()
        .campaign_by_name(GuildId(bot.guild), "Defaults")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(campaign.model.to_string(), BACKUP);

    let r = bot
        .run(ALICE, "settings fallback-model", json!({"model": "none"}))
        .await;
    assert!(embed_text(&r).contains("Fallback model: not set"));
    assert_eq!(stored(&bot).await.fallback_model, None);
    bot.assert_clean();
}
