//! `/character` end to end.

use crate::support;

use gamemaster::core::ids::{CampaignId, GuildId, UserId};
use gamemaster::core::store::CharacterStore;
use serde_json::json;
use support::bot::{ALICE, BOB, CAROL, OTHER_GUILD, embed_text, spawn_bot};

#[tokio::test]
async fn create_show_list_and_delete_a_character() {
    let bot = spawn_bot().await;
    let campaign = bot.create_campaign(ALICE, "Rime").await;
    let created = bot
        .run(
            BOB,
            "character create",
            json!({"name": "Thorin", "class": "Fighter", "race": "Hill Dwarf",
                   "description": "Grumpy, loyal.\nCarries his grandfather's axe.", "campaign": campaign.to_string()}),
        )
        .await;
    assert!(!created.ephemeral, "{}", created.content);
    let text = embed_text(&created);
    for needle in [
        "Thorin",
        "Fighter",
        "Hill Dwarf",
        "Level: 1",
        "grandfather's axe",
        "Rime",
    ] {
        assert!(text.contains(needle), "{needle} missing from {text}");
    }
    // The owner is shown as a mention inside the embed (embeds never ping).
    assert!(text.contains(&format!("<@{BOB}>")), "{text}");
    // Race, class, level, player, campaign, then the sheet: HP, AC, speed, proficiency, XP,
    // gold, abilities, saving throws, conditions and inventory.
    assert_eq!(created.embeds[0]["fields"].as_array().unwrap().len(), 15);

    let stored = bot
        .db()
        .list_characters(GuildId(bot.guild), Some(UserId(BOB)))
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    let thorin = &stored[0];
    assert_eq!(thorin.campaign_id, Some(CampaignId(campaign)));
    assert_eq!(thorin.class.as_str(), "Fighter");
    assert_eq!(thorin.level, 1);

    let shown = bot
        .run(
            ALICE,
            "character show",
            json!({"character": thorin.id.0.to_string()}),
        )
        .await;
    assert!(embed_text(&shown).contains("Thorin"));

    let mine = bot.run(BOB, "character list", json!({})).await;
    assert!(embed_text(&mine).contains("Thorin"));
    let alices = bot.run(ALICE, "character list", json!({})).await;
    assert!(!embed_text(&alices).contains("Thorin"));
    let everyone = bot
        .run(ALICE, "character list", json!({"everyone": true}))
        .await;
    assert!(embed_text(&everyone).contains("Thorin"));

    let refused = bot
        .run(
            ALICE,
            "character delete",
            json!({"character": thorin.id.0.to_string()}),
        )
        .await;
    assert!(refused.ephemeral);
    assert!(refused.content.contains("Only the player who created"));
    assert!(bot.db().character(thorin.id).await.unwrap().is_some());

    let deleted = bot
        .run(BOB, "character delete", json!({"character": "thorin"}))
        .await;
    assert!(deleted.content.contains("Thorin"), "{}", deleted.content);
    assert!(bot.db().character(thorin.id).await.unwrap().is_none());
    bot.assert_clean();
}

#[tokio::test]
async fn class_and_race_autocomplete_from_the_srd_and_accept_custom_values() {
    let bot = spawn_bot().await;
    let opts = json!({"name": "x", "class": "wiz", "race": "elf"});
    let classes = bot
        .autocomplete(BOB, "character create", opts.clone(), "class")
        .await;
    assert_eq!(classes, ["Wizard", "wiz"]);
    let races = bot
        .autocomplete(BOB, "character create", opts, "race")
        .await;
    assert_eq!(races, ["Elf", "High Elf", "Half-Elf"]);
    let all = bot
        .autocomplete(
            BOB,
            "character create",
            json!({"name": "x", "class": ""}),
            "class",
        )
        .await;
    assert_eq!(all.len(), 12);

    let custom = bot
        .run(
            BOB,
            "character create",
            json!({"name": "Zix", "class": "Artificer", "race": "Warforged"}),
        )
        .await;
    assert!(!custom.ephemeral);
    let text = embed_text(&custom);
    assert!(
        text.contains("Artificer") && text.contains("Warforged"),
        "{text}"
    );
    bot.assert_clean();
}

#[tokio::test]
async fn characters_autocomplete_within_the_server_owners_first() {
    let bot = spawn_bot().await;
    for (user, name) in [(ALICE, "Aria"), (BOB, "Arwen"), (BOB, "Borin")] {
        bot.run(
            user,
            "character create",
            json!({"name": name, "class": "Bard", "race": "Elf"}),
        )
        .await;
    }
    let names = bot
        .autocomplete(
            BOB,
            "character show",
            json!({"character": "ar"}),
            "character",
        )
        .await;
    assert_eq!(names, ["Arwen (Elf Bard)", "Aria (Elf Bard)"]);

    let other = bot.fake.config().guild(OTHER_GUILD).unwrap().general();
    let none = bot
        .fake
        .autocomplete(
            CAROL,
            OTHER_GUILD,
            other,
            "character show",
            json!({"character": "ar"}),
            "character",
        )
        .await;
    assert!(none.is_empty());
    let aria = bot
        .db()
        .list_characters(GuildId(bot.guild), Some(UserId(ALICE)))
        .await
        .unwrap()[0]
        .id;
    let hidden = bot
        .fake
        .slash(
            CAROL,
            OTHER_GUILD,
            other,
            "character show",
            json!({"character": aria.0.to_string()}),
        )
        .await
        .wait_response()
        .await;
    assert!(hidden.ephemeral);
    assert!(hidden.content.contains("doesn't exist in this server"));
    bot.assert_clean();
}

#[tokio::test]
async fn bad_characters_are_refused_and_nothing_is_stored() {
    let bot = spawn_bot().await;
    let bad_campaign = bot
        .run(
            BOB,
            "character create",
            json!({"name": "Zed", "class": "Rogue", "race": "Human", "campaign": "424242"}),
        )
        .await;
    assert!(bad_campaign.ephemeral);
    assert!(bad_campaign.content.contains("campaign doesn't exist"));
    let blank = bot
        .run(
            BOB,
            "character create",
            json!({"name": " ", "class": "Rogue", "race": "Human"}),
        )
        .await;
    assert_eq!(blank.content, "The character name can't be empty.");
    let controls = bot
        .run(
            BOB,
            "character create",
            json!({"name": "Zed", "class": "Rogue\u{202E}", "race": "Human"}),
        )
        .await;
    assert!(
        controls.content.contains("invisible or control characters"),
        "{}",
        controls.content
    );
    assert!(
        bot.db()
            .list_characters(GuildId(bot.guild), None)
            .await
            .unwrap()
            .is_empty()
    );
    bot.assert_clean();
}

#[tokio::test]
async fn a_description_full_of_mentions_pings_nobody() {
    let bot = spawn_bot().await;
    let r = bot
        .run(
            BOB,
            "character create",
            json!({"name": "@everyone", "class": "Bard", "race": "Human", "description": "@everyone <@&123> <@2000000000000000001> @here"}),
        )
        .await;
    assert!(!r.ephemeral);
    bot.assert_clean();
}
