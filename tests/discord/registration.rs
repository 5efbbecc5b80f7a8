//! Start-up: command registration (global or in one server), localizations, sharding.

use crate::support;

use serde_json::{Value, json};
use support::bot::{ALICE, BOB, COMMANDS, spawn_bot, spawn_bot_with, world};
use support::fake_discord::{FakeConfig, FakeGuild, FakeUser, perms};

fn valid_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=32).contains(&n)
        && name
            .chars()
            .all(|c| c == '-' || c == '_' || c.is_alphanumeric())
        && name.to_lowercase() == name
}

/// Walks a command and its options, checking every name and description and their
/// localizations against Discord's rules; returns how many French names it saw.
fn check_localized(def: &Value, path: &str) -> usize {
    let mut french = 0;
    let name = def["name"].as_str().unwrap();
    assert!(valid_name(name), "{path}: bad name {name:?}");
    let d = def["description"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .count();
    assert!(
        (1..=100).contains(&d),
        "{path}/{name}: description length {d}"
    );
    if let Some(fr) = def["name_localizations"]["fr"].as_str() {
        assert!(valid_name(fr), "{path}/{name}: bad French name {fr:?}");
        french += 1;
    }
    if let Some(fr) = def["description_localizations"]["fr"].as_str() {
        let n = fr.chars().count();
        assert!(
            (1..=100).contains(&n),
            "{path}/{name}: French description length {n}"
        );
    } else {
        panic!("{path}/{name} has no French description");
    }
    for option in def["options"].as_array().cloned().unwrap_or_default() {
        french += check_localized(&option, &format!("{path}/{name}"));
    }
    french
}

#[tokio::test]
async fn commands_are_registered_globally_with_french_localizations() {
    let bot = spawn_bot().await;
    let registered = bot.fake.registered_commands();
    let mut names: Vec<&str> = registered.iter().map(|c| c.name()).collect();
    names.sort_unstable();
    let mut expected = COMMANDS.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected);
    assert!(registered.iter().all(|c| c.guild_id.is_none()));
    let mut french = 0;
    for c in &registered {
        french += check_localized(&c.definition, "");
    }
    assert!(french > 30, "{french} French names");
    let campaign = registered.iter().find(|c| c.name() == "campaign").unwrap();
    assert_eq!(
        campaign.definition["name_localizations"]["fr"],
        json!("campagne")
    );
    // Server-only commands are offered in servers only; dice work in DMs too.
    assert_eq!(campaign.definition["contexts"], json!([0]));
    let roll = registered.iter().find(|c| c.name() == "roll").unwrap();
    assert!(roll.definition["contexts"].is_null(), "{}", roll.definition);
    // The language option offers exactly the four languages.
    let create = &campaign.definition["options"][0];
    let language = create["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == json!("language"))
        .unwrap();
    let choices: Vec<&str> = language["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(choices, ["English", "Français", "Español", "Deutsch"]);
    bot.assert_clean();
}

#[tokio::test]
async fn discord_guild_id_registers_in_that_server_only() {
    let guild = world().guilds[0].id.to_string();
    let bot = spawn_bot_with(world(), &[("DISCORD_GUILD_ID", &guild)]).await;
    let registered = bot.fake.registered_commands();
    assert_eq!(registered.len(), COMMANDS.len());
    assert!(registered.iter().all(|c| c.guild_id == Some(bot.guild)));
    let r = bot.run(BOB, "roll", json!({"expression": "1d4"})).await;
    assert!(!r.embeds.is_empty());
    bot.assert_clean();
}

fn two_shard_world() -> FakeConfig {
    let mut config = FakeConfig::default();
    let members = vec![
        FakeUser::new(ALICE, "alice").with_permissions(perms::MANAGE_GUILD),
        FakeUser::new(BOB, "bob"),
    ];
    // (id >> 22) % 2 picks the shard.
    config.guilds = vec![
        FakeGuild::new((1 << 22) * 1000, "Even Keep", members.clone()),
        FakeGuild::new((1 << 22) * 1001, "Odd Keep", members),
    ];
    config.recommended_shards = 2;
    config
}

#[tokio::test]
async fn shards_serve_their_own_servers() {
    let bot = spawn_bot_with(two_shard_world(), &[("SHARD_COUNT", "2")]).await;
    for g in bot.fake.config().guilds.clone() {
        let r = bot
            .fake
            .slash(BOB, g.id, g.general(), "roll", json!({"expression": "1d6"}))
            .await
            .wait_response()
            .await;
        assert!(!r.embeds.is_empty(), "{}", g.name);
    }
    bot.assert_clean();
}

#[tokio::test]
async fn a_process_runs_only_its_shard_range() {
    let bot = spawn_bot_with(
        two_shard_world(),
        &[("SHARD_COUNT", "2"), ("SHARD_IDS", "1")],
    )
    .await;
    let odd = bot.fake.config().guilds[1].clone();
    let r = bot
        .fake
        .slash(
            BOB,
            odd.id,
            odd.general(),
            "roll",
            json!({"expression": "1d6"}),
        )
        .await
        .wait_response()
        .await;
    assert!(!r.embeds.is_empty());
    assert!(
        bot.fake.dispatches(0).is_empty(),
        "shard 0 belongs to another process"
    );
    bot.assert_clean();
}
