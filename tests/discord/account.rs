//! `/account` end to end: forms (modals), private answers, lockouts, export, deletion and the
//! adoption of campaigns imported from the old app, through the real bot and the fake Discord.

use crate::support;

use gamemaster::core::game::transcript::{MessageRole, MessageStatus, NewMessage};
use gamemaster::core::ids::{ChannelId, GuildId, UserId};
use gamemaster::core::store::{
    AccountStore, CampaignStore, CharacterStore, MessageStore, SessionStore,
};
use serde_json::{Value, json};
use support::bot::{
    ALICE, BOB, TestBot, campaign_id, embed_text, spawn_bot, spawn_bot_with, world,
};
use support::fake_discord::{AckKind, RecordedResponse};

const PASSWORD: &str = "Lantern-Keeper7";
const EMAIL: &str = "mira@example.org";
/// Cheap hashing for tests that make many attempts (production cost is tested by the others).
const CHEAP: &[(&str, &str)] = &[("ARGON2_MEMORY_KIB", "64"), ("ARGON2_ITERATIONS", "1")];

/// Opens the form of `path` as `user`, checks it against Discord's modal rules (the fake
/// enforces them too), fills it with `values` and returns the bot's answer to the submission.
async fn fill(bot: &TestBot, user: u64, path: &str, values: &[(&str, &str)]) -> RecordedResponse {
    let opened = bot.slash(user, path, json!({})).await;
    let shown = opened.wait_response().await;
    assert_eq!(shown.ack, AckKind::Modal, "{path}: {}", shown.content);
    let modal = shown.modal.expect("a modal definition");
    let rows = modal["components"].as_array().unwrap();
    assert_eq!(rows.len(), values.len(), "{path}: one row per field");
    let submitted = bot.fake.submit_modal(user, &opened, values).await;
    let answer = submitted.wait_response().await;
    assert_eq!(answer.ack, AckKind::DeferredMessage, "{path}");
    assert!(answer.ephemeral, "{path}: {}", answer.content);
    answer
}

async fn register(bot: &TestBot, user: u64, email: &str, password: &str, again: &str) -> String {
    fill(
        bot,
        user,
        "account register",
        &[("email", email), ("password", password), ("confirm", again)],
    )
    .await
    .content
}

async fn link(bot: &TestBot, user: u64, email: &str, password: &str) -> String {
    fill(
        bot,
        user,
        "account link",
        &[("email", email), ("password", password)],
    )
    .await
    .content
}

/// Fails if `secret` is in anything the bot sent to Discord or logged.
fn assert_nowhere(bot: &TestBot, secret: &str) {
    for r in bot.fake.requests() {
        assert!(
            !r.body.to_string().contains(secret),
            "{} {} carries a password",
            r.method,
            r.path
        );
    }
    for m in bot.fake.messages_in(bot.channel) {
        assert!(m.content_history.iter().all(|(c, _)| !c.contains(secret)));
        assert!(
            m.attachments
                .iter()
                .all(|a| !String::from_utf8_lossy(&a.bytes).contains(secret))
        );
    }
    let lines = bot.fake.log_lines();
    assert!(!lines.is_empty(), "the log capture works");
    for line in &lines {
        // Serenity's spans hold whole gateway events, the submitted form included; the bot's
        // log output never writes them (`telemetry`'s serenity_spans_never_reach_the_log).
        if line.starts_with("span serenity") {
            continue;
        }
        assert!(
            !line.contains(secret),
            "a log line carries a password: {line}"
        );
        assert!(!line.contains("panicked"), "{line}");
    }
}

#[tokio::test]
async fn register_link_and_unlink_through_private_forms() {
    let bot = spawn_bot().await;
    let created = register(&bot, ALICE, " Mira@Example.org ", PASSWORD, PASSWORD).await;
    assert!(
        created.contains("If **mira@example.org** had no account here, it has one now"),
        "{created}"
    );
    let account = bot.db().account_by_email(EMAIL).await.unwrap().unwrap();
    assert!(
        account
            .password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
    let alice = bot.db().discord_link(UserId(ALICE)).await.unwrap().unwrap();
    assert_eq!(alice.account_id, account.id);

    // A Discord user has one account: the form does not even open.
    let again = bot.run(ALICE, "account register", json!({})).await;
    assert_eq!(again.ack, AckKind::Message);
    assert!(
        again.ephemeral && again.content.contains("already linked"),
        "{}",
        again.content
    );

    // An account may have several Discord users.
    let wrong = link(&bot, BOB, EMAIL, "Lantern-Keeper8").await;
    let unknown = link(&bot, BOB, "nobody@example.org", PASSWORD).await;
    assert_eq!(wrong, unknown, "no hint whether the email exists");
    assert!(wrong.contains("don't match an account"), "{wrong}");
    let linked = link(&bot, BOB, "MIRA@example.org", PASSWORD).await;
    assert!(
        linked.contains("now linked to **mira@example.org**"),
        "{linked}"
    );
    let bob = bot.db().discord_link(UserId(BOB)).await.unwrap().unwrap();
    assert_eq!(bob.account_id, account.id);

    let unlinked = bot.run(BOB, "account unlink", json!({})).await;
    assert!(
        unlinked.ephemeral && unlinked.content.starts_with("Unlinked"),
        "{}",
        unlinked.content
    );
    assert!(bot.db().discord_link(UserId(BOB)).await.unwrap().is_none());
    let twice = bot.run(BOB, "account unlink", json!({})).await;
    assert!(
        twice.ephemeral && twice.content.contains("isn't linked"),
        "{}",
        twice.content
    );
    assert!(
        bot.db().account(account.id).await.unwrap().is_some(),
        "the account stays"
    );

    assert_nowhere(&bot, PASSWORD);
    assert_nowhere(&bot, "Lantern-Keeper8");
    assert!(
        bot.fake
            .log_lines()
            .iter()
            .any(|l| l.contains("account registered")),
        "the capture sees the bot's own lines"
    );
    bot.assert_clean();
}

#[tokio::test]
async fn a_form_submitted_after_a_restart_is_told_it_expired() {
    let mut bot = spawn_bot().await;
    let opened = bot.slash(ALICE, "account register", json!({})).await;
    assert_eq!(opened.wait_response().await.ack, AckKind::Modal);
    bot.restart().await;
    let submitted = bot
        .fake
        .submit_modal(
            ALICE,
            &opened,
            &[
                ("email", EMAIL),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    let answer = submitted.wait_response().await;
    assert_eq!(answer.ack, AckKind::Message);
    assert!(
        answer.ephemeral && answer.content.contains("This form expired"),
        "{}",
        answer.content
    );
    assert!(bot.db().account_by_email(EMAIL).await.unwrap().is_none());
    assert_nowhere(&bot, PASSWORD);
    bot.assert_clean();
}

#[tokio::test]
async fn bad_forms_get_a_clear_private_refusal_and_store_nothing() {
    let bot = spawn_bot_with(world(), CHEAP).await;
    for (email, password, again, expected) in [
        ("mira", PASSWORD, PASSWORD, "doesn't look like an email"),
        (EMAIL, PASSWORD, "Lantern-Keeper8", "don't match"),
        (EMAIL, "Short1!", "Short1!", "10 to 128 characters"),
        (EMAIL, "alllowercase", "alllowercase", "at least three of"),
        (EMAIL, "", "", "fill in every field"),
    ] {
        let answer = register(&bot, ALICE, email, password, again).await;
        assert!(answer.contains(expected), "{email}/{password}: {answer}");
    }
    assert!(bot.db().account_by_email(EMAIL).await.unwrap().is_none());
    assert!(
        bot.db()
            .discord_link(UserId(ALICE))
            .await
            .unwrap()
            .is_none()
    );

    let first = register(&bot, ALICE, EMAIL, PASSWORD, PASSWORD).await;
    let taken = register(&bot, BOB, EMAIL, "Other-Pass-99", "Other-Pass-99").await;
    assert_eq!(
        taken, first,
        "one answer whether or not the email had an account"
    );
    assert!(
        bot.db()
            .discord_link(UserId(ALICE))
            .await
            .unwrap()
            .is_some()
    );
    assert!(bot.db().discord_link(UserId(BOB)).await.unwrap().is_none());
    assert_nowhere(&bot, "Other-Pass-99");
    bot.assert_clean();
}

#[tokio::test]
async fn lockout_and_the_hourly_limit_reveal_nothing_about_the_email() {
    let bot = spawn_bot_with(world(), CHEAP).await;
    register(&bot, ALICE, EMAIL, PASSWORD, PASSWORD).await;
    let refusal = link(&bot, BOB, "nobody@example.org", PASSWORD).await;
    for i in 0..5 {
        let answer = link(&bot, BOB, EMAIL, &format!("Wrong-Guess-{i}")).await;
        assert_eq!(answer, refusal, "attempt {i}");
    }
    let account = bot.db().account_by_email(EMAIL).await.unwrap().unwrap();
    assert!(account.locked_until.is_some(), "locked after 5 failures");
    // Locked: even the right password gets the same answer.
    assert_eq!(link(&bot, BOB, EMAIL, PASSWORD).await, refusal);
    assert!(bot.db().discord_link(UserId(BOB)).await.unwrap().is_none());
    // 7 attempts so far; the 11th in the hour is refused before any check.
    for _ in 0..3 {
        assert_eq!(
            link(&bot, BOB, "nobody@example.org", PASSWORD).await,
            refusal
        );
    }
    let limited = link(&bot, BOB, "nobody@example.org", PASSWORD).await;
    assert!(limited.contains("Too many attempts"), "{limited}");
    assert_nowhere(&bot, PASSWORD);
    assert_nowhere(&bot, "Wrong-Guess-");
    bot.assert_clean();
}

/// Alice and Bob play one session of Alice's campaign, each with a character.
async fn shared_story(bot: &TestBot) -> i64 {
    let campaign = bot.create_campaign(ALICE, "Rime").await;
    for (user, name) in [(ALICE, "Aria"), (BOB, "Borin")] {
        let r = bot
            .run(
                user,
                "character create",
                json!({"name": name, "class": "Bard", "race": "Human", "campaign": campaign.to_string()}),
            )
            .await;
        assert!(!r.ephemeral, "{}", r.content);
    }
    let db = bot.db();
    let id = gamemaster::core::ids::CampaignId(campaign);
    let session = db
        .start_session(
            id,
            Some(GuildId(bot.guild)),
            ChannelId(bot.channel),
            Some(UserId(ALICE)),
        )
        .await
        .unwrap();
    let cast = db.campaign_characters(id).await.unwrap();
    for (author, text) in [
        (ALICE, "Aria sings of the frost."),
        (BOB, "Borin keeps watch."),
    ] {
        db.append_message(&NewMessage {
            session_id: session.id,
            campaign_id: id,
            author_id: Some(UserId(author)),
            character_id: cast
                .iter()
                .find(|c| c.owner_id == Some(UserId(author)))
                .map(|c| c.id),
            role: MessageRole::User,
            content: text.into(),
            model: None,
            status: MessageStatus::Complete,
            discord_message_id: None,
            author_name: None,
        })
        .await
        .unwrap();
    }
    campaign
}

#[tokio::test]
async fn export_attaches_everything_stored_about_the_user() {
    let bot = spawn_bot().await;
    register(&bot, ALICE, EMAIL, PASSWORD, PASSWORD).await;
    shared_story(&bot).await;
    let r = bot.run(ALICE, "account export", json!({})).await;
    assert_eq!(r.ack, AckKind::DeferredMessage);
    assert!(r.ephemeral, "{}", r.content);
    assert_eq!(r.attachments.len(), 1);
    assert_eq!(r.attachments[0].filename, "gamemaster-data.json");
    let data: Value = serde_json::from_slice(&r.attachments[0].bytes).unwrap();
    assert_eq!(data["format"], json!("gamemaster-personal-data/1"));
    assert_eq!(data["account"]["email"], json!(EMAIL));
    assert_eq!(
        data["discord_links"][0]["discord_user_id"],
        json!(ALICE.to_string())
    );
    assert_eq!(data["characters"][0]["name"], json!("Aria"));
    assert_eq!(data["campaigns"][0]["name"], json!("Rime"));
    assert_eq!(data["messages"].as_array().unwrap().len(), 1);
    assert_eq!(
        data["messages"][0]["content"],
        json!("Aria sings of the frost.")
    );
    let text = String::from_utf8_lossy(&r.attachments[0].bytes).to_string();
    assert!(
        !text.contains("Borin keeps watch"),
        "only the user's own messages"
    );
    assert!(!text.contains("argon2"), "no password hash");
    assert_nowhere(&bot, PASSWORD);
    bot.assert_clean();
}

#[tokio::test]
async fn delete_after_confirmation_keeps_the_other_players_story() {
    let bot = spawn_bot().await;
    register(&bot, ALICE, EMAIL, PASSWORD, PASSWORD).await;
    let campaign = shared_story(&bot).await;

    let asked = bot.run(ALICE, "account delete", json!({})).await;
    assert!(
        asked.ephemeral && asked.content.contains("can't be undone"),
        "{}",
        asked.content
    );
    let confirm = format!("account-delete:{ALICE}");
    let ids: Vec<&str> = asked.components[0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["custom_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [confirm.as_str(), "account-delete-cancel"]);

    // Cancel first: nothing changes.
    let again = bot.run(ALICE, "account delete", json!({})).await;
    let cancelled = bot
        .fake
        .click(ALICE, again.message_id.unwrap(), "account-delete-cancel")
        .await
        .wait_response()
        .await;
    assert_eq!(cancelled.content, "Nothing was deleted.");
    assert!(bot.db().account_by_email(EMAIL).await.unwrap().is_some());

    let clicked = bot
        .fake
        .click(ALICE, asked.message_id.unwrap(), &confirm)
        .await;
    let done = clicked.wait_response().await;
    assert!(
        done.content.contains("Your account is deleted"),
        "{}",
        done.content
    );
    assert!(done.components.is_empty());

    let db = bot.db();
    assert!(db.account_by_email(EMAIL).await.unwrap().is_none());
    assert!(db.discord_link(UserId(ALICE)).await.unwrap().is_none());
    let guild = GuildId(bot.guild);
    let names: Vec<String> = db
        .list_characters(guild, None)
        .await
        .unwrap()
        .iter()
        .map(|c| c.name.as_str().to_string())
        .collect();
    assert_eq!(names, ["Borin"]);
    let session = db
        .active_session(ChannelId(bot.channel))
        .await
        .unwrap()
        .unwrap();
    let story: Vec<(Option<UserId>, String)> = db
        .all_messages(session.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.author_id, m.content))
        .collect();
    assert_eq!(
        story,
        [
            (None, "Aria sings of the frost.".to_string()),
            (Some(UserId(BOB)), "Borin keeps watch.".to_string()),
        ]
    );
    let kept = db
        .campaign(gamemaster::core::ids::CampaignId(campaign))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        kept.owner_id, None,
        "the campaign stays in the server, without owner"
    );
    assert_eq!(campaign_id(&bot, "Rime").await, campaign);
    bot.assert_clean();
}

#[tokio::test]
async fn only_the_user_can_confirm_their_deletion() {
    let bot = spawn_bot().await;
    register(&bot, ALICE, EMAIL, PASSWORD, PASSWORD).await;
    let asked = bot.run(ALICE, "account delete", json!({})).await;
    // Ephemeral messages are only shown to their user; a forged click is still refused.
    let forged = bot
        .fake
        .click(
            BOB,
            asked.message_id.unwrap(),
            &format!("account-delete:{ALICE}"),
        )
        .await
        .wait_response()
        .await;
    assert!(
        forged.ephemeral && forged.content.contains("someone else's"),
        "{}",
        forged.content
    );
    assert!(bot.db().account_by_email(EMAIL).await.unwrap().is_some());
    bot.assert_clean();
}

/// The old app's tables, as its SQLite files have them.
const LEGACY_SCHEMA: &str = "
CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT UNIQUE NOT NULL, password TEXT NOT NULL,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP, last_login DATETIME, is_active BOOLEAN DEFAULT 1);
CREATE TABLE model_choices (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, model TEXT NOT NULL,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE campaigns (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, name TEXT NOT NULL, themes TEXT,
  language TEXT NOT NULL, ai_model TEXT DEFAULT 'GPT-4o', gm_portrait TEXT, created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME, is_active BOOLEAN DEFAULT 1);
CREATE TABLE characters (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, campaign_id INTEGER, name TEXT NOT NULL,
  class TEXT, race TEXT, gender TEXT, level INTEGER DEFAULT 1, description TEXT, portrait_url TEXT,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP, is_active BOOLEAN DEFAULT 1);
CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, campaign_id INTEGER, role TEXT NOT NULL,
  content TEXT NOT NULL, character_id INTEGER, timestamp DATETIME DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE performance_logs (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, campaign_id INTEGER,
  model TEXT NOT NULL, latency REAL NOT NULL, tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, cost_estimate REAL,
  timestamp DATETIME DEFAULT CURRENT_TIMESTAMP);
";

/// An old app database with Mira's account, her campaign "La Crypte" and character Élodie.
async fn legacy_file(dir: &std::path::Path, hash: &str) -> std::path::PathBuf {
    let path = dir.join("database.db");
    let rows = format!(
        "INSERT INTO users (id, email, password) VALUES (1, 'Mira@Example.org', '{hash}');
         INSERT INTO campaigns (id, user_id, name, themes, language, ai_model) VALUES (7, 1, 'La Crypte', 'horreur', 'Français', 'DeepSeek');
         INSERT INTO campaigns (id, user_id, name, themes, language, ai_model) VALUES (9, 1, 'Rime', 'frost', 'English', 'GPT-4o');
         INSERT INTO characters (id, user_id, campaign_id, name, class, race, level) VALUES (3, 1, 7, 'Élodie', 'Magicienne', 'Elfe', 3);
         INSERT INTO messages (user_id, campaign_id, role, content, character_id) VALUES (1, 7, 'user', 'J''ouvre la porte.', 3)"
    );
    let pool = sqlx::AnyPool::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    for statement in LEGACY_SCHEMA.split(';').chain(rows.split(';')) {
        if !statement.trim().is_empty() {
            sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
                .execute(&pool)
                .await
                .unwrap();
        }
    }
    pool.close().await;
    path
}

#[tokio::test]
async fn imported_campaigns_join_the_server_where_their_owner_lists_campaigns() {
    let bot = spawn_bot().await;
    let dir = tempfile::tempdir().unwrap();
    let old = legacy_file(dir.path(), &bcrypt::hash("streamlit-days", 4).unwrap()).await;
    gamemaster::storage::legacy_import::import_legacy(bot.db(), &old)
        .await
        .unwrap();
    // The server already has a "Rime" of its own.
    bot.create_campaign(BOB, "Rime").await;

    // Before linking, listing adopts nothing.
    let list = bot.run(ALICE, "campaign list", json!({})).await;
    assert!(!embed_text(&list).contains("La Crypte"));
    let adopt = bot.run(ALICE, "account adopt", json!({})).await;
    assert!(
        adopt.ephemeral && adopt.content.contains("`/account link` first"),
        "{}",
        adopt.content
    );

    let linked = link(&bot, ALICE, EMAIL, "streamlit-days").await;
    assert!(linked.contains("`/campaign list`"), "{linked}");
    let account = bot.db().account_by_email(EMAIL).await.unwrap().unwrap();
    assert!(
        account.password_hash.starts_with("$argon2id$"),
        "re-hashed at the first link"
    );

    let opened = bot.slash(ALICE, "campaign list", json!({})).await;
    let list = opened.wait_response().await;
    let shown = embed_text(&list);
    assert!(
        shown.contains("La Crypte") && shown.contains("Rime (imported)"),
        "{shown}"
    );
    let note = opened.wait_followups(1).await;
    assert!(note[0].ephemeral(), "the adoption note is private");
    assert!(
        note[0]
            .content
            .contains("Brought 2 campaigns and 1 character"),
        "{}",
        note[0].content
    );
    assert!(
        note[0]
            .content
            .contains("**Rime** is called **Rime (imported)**"),
        "{}",
        note[0].content
    );

    let crypt = campaign_id(&bot, "La Crypte").await;
    let stored = bot
        .db()
        .campaign(gamemaster::core::ids::CampaignId(crypt))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.owner_id, Some(UserId(ALICE)));
    let mine = bot
        .db()
        .list_characters(GuildId(bot.guild), Some(UserId(ALICE)))
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].name.as_str(), "Élodie");

    // The character shows in the server like any other, and nothing is left to adopt.
    let sheet = bot.run(ALICE, "character list", json!({})).await;
    assert!(embed_text(&sheet).contains("Élodie") || sheet.content.contains("Élodie"));
    let nothing = bot.run(ALICE, "account adopt", json!({})).await;
    assert!(
        nothing.content.contains("Nothing from the old app"),
        "{}",
        nothing.content
    );
    assert_nowhere(&bot, "streamlit-days");
    bot.assert_clean();
}

#[tokio::test]
async fn account_commands_work_in_direct_messages_except_adopt() {
    let bot = spawn_bot().await;
    let export = bot
        .fake
        .slash_dm(BOB, "account export", json!({}))
        .await
        .wait_response()
        .await;
    assert!(export.ephemeral, "{}", export.content);
    assert_eq!(export.attachments.len(), 1);
    let data: Value = serde_json::from_slice(&export.attachments[0].bytes).unwrap();
    assert_eq!(data["discord_user_id"], json!(BOB.to_string()));
    assert!(data["account"].is_null());
    let adopt = bot
        .fake
        .slash_dm(BOB, "account adopt", json!({}))
        .await
        .wait_response()
        .await;
    assert!(
        adopt.ephemeral && adopt.content.contains("server channel"),
        "{}",
        adopt.content
    );
    bot.assert_clean();
}

#[tokio::test]
async fn a_deleted_players_character_leaves_the_running_story() {
    use support::fake_llm::Reply;
    let bot = spawn_bot_with(world(), &[("TURN_WINDOW_MS", "0")]).await;
    register(&bot, ALICE, EMAIL, PASSWORD, PASSWORD).await;
    shared_story(&bot).await;
    let zero = std::time::Duration::ZERO;
    bot.llm
        .push(Reply::openai_text(&["The frost deepens."], None, zero));
    bot.llm
        .push(Reply::openai_text(&["The torch gutters."], None, zero));

    // Bob's turn starts the channel's game, which keeps the party between turns.
    bot.fake
        .say(BOB, bot.channel, "Borin lights a torch.")
        .await;
    bot.wait_bot_message(bot.channel, |m| {
        m.content.contains("The frost deepens.") && !m.components.is_empty()
    })
    .await;

    let asked = bot.run(ALICE, "account delete", json!({})).await;
    let confirm = format!("account-delete:{ALICE}");
    bot.fake
        .click(ALICE, asked.message_id.unwrap(), &confirm)
        .await
        .wait_response()
        .await;

    bot.fake.say(BOB, bot.channel, "Borin looks around.").await;
    bot.wait_bot_message(bot.channel, |m| {
        m.content.contains("The torch gutters.") && !m.components.is_empty()
    })
    .await;
    let bodies: Vec<String> = bot.llm.request_bodies();
    assert_eq!(bodies.len(), 2, "one call per turn");
    let aria = "Aria — level 1 Human Bard";
    assert!(bodies[0].contains(aria), "{}", bodies[0]);
    assert!(!bodies[1].contains(aria), "{}", bodies[1]);
    assert!(
        bodies[1].contains("Borin — level 1 Human Bard"),
        "{}",
        bodies[1]
    );
    bot.assert_clean();
}
