//! `/session` and `/act` end to end: binding channels, refusals, threads.

use crate::support;

use gamemaster::core::game::session::SessionStatus;
use gamemaster::core::ids::ChannelId;
use gamemaster::core::store::SessionStore;
use serde_json::json;
use support::bot::{ALICE, BOB, CAROL, OTHER_GUILD, spawn_bot};
use support::fake_discord::{FakeUser, perms};

#[tokio::test]
async fn a_session_is_ended_by_its_starter_or_a_manager_only() {
    let bot = spawn_bot().await;
    let id = bot.create_campaign(ALICE, "Ashes").await;
    bot.run(ALICE, "session start", json!({"campaign": id.to_string()}))
        .await;
    let refused = bot.run(BOB, "session end", json!({})).await;
    assert!(refused.ephemeral);
    assert!(
        refused.content.contains("Only whoever started the session"),
        "{}",
        refused.content
    );
    let still = bot
        .db()
        .active_session(ChannelId(bot.channel))
        .await
        .unwrap();
    assert!(still.is_some(), "a refused /session end changes nothing");

    // Alice manages the server: she may end anyone's session.
    let ended = bot.run(ALICE, "session end", json!({})).await;
    assert!(
        ended.content.contains("session is over"),
        "{}",
        ended.content
    );

    // Bob is no manager, but he may end the session he started.
    bot.run(BOB, "session start", json!({"campaign": id.to_string()}))
        .await;
    let own = bot.run(BOB, "session end", json!({})).await;
    assert!(own.content.contains("session is over"), "{}", own.content);
    bot.assert_clean();
}

#[tokio::test]
async fn one_session_per_channel_and_end_closes_it() {
    let bot = spawn_bot().await;
    let id = bot.create_campaign(ALICE, "Rime").await;
    let started = bot
        .run(BOB, "session start", json!({"campaign": id.to_string()}))
        .await;
    assert!(!started.ephemeral);
    assert!(started.content.contains("Rime"), "{}", started.content);
    let session = bot.session().await;
    assert_eq!(session.campaign_id.0, id);
    assert_eq!(session.started_by.unwrap().0, BOB);

    let again = bot
        .run(ALICE, "session start", json!({"campaign": id.to_string()}))
        .await;
    assert!(again.ephemeral);
    assert!(
        again.content.contains("already running"),
        "{}",
        again.content
    );

    let ended = bot.run(ALICE, "session end", json!({})).await;
    assert!(
        ended.content.contains("session is over"),
        "{}",
        ended.content
    );
    assert!(
        bot.db()
            .active_session(ChannelId(bot.channel))
            .await
            .unwrap()
            .is_none()
    );
    let stored = bot.db().session(session.id).await.unwrap().unwrap();
    assert_eq!(stored.status, SessionStatus::Ended);

    let nothing = bot.run(ALICE, "session end", json!({})).await;
    assert!(nothing.ephemeral);
    assert!(
        nothing.content.contains("no active session"),
        "{}",
        nothing.content
    );
    bot.assert_clean();
}

#[tokio::test]
async fn a_session_can_run_in_a_new_thread() {
    let bot = spawn_bot().await;
    let id = bot.create_campaign(ALICE, "Deep Roads").await;
    bot.run(BOB, "session start", json!({"campaign": id.to_string()}))
        .await;
    // The channel is busy, but a thread of it is free.
    let threaded = bot
        .run(
            ALICE,
            "session start",
            json!({"campaign": id.to_string(), "thread": true}),
        )
        .await;
    assert!(!threaded.ephemeral, "{}", threaded.content);
    let threads = bot.fake.threads();
    assert_eq!(threads.len(), 1);
    let (thread, parent, name) = threads[0].clone();
    assert_eq!((parent, name.as_str()), (bot.channel, "Deep Roads"));
    assert!(
        threaded.content.contains(&format!("<#{thread}>")),
        "{}",
        threaded.content
    );
    let session = bot
        .db()
        .active_session(ChannelId(thread))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.campaign_id.0, id);
    assert_eq!(bot.db().active_sessions().await.unwrap().len(), 2);

    // /session end inside the thread ends only the thread's session.
    let ended = bot
        .fake
        .slash(ALICE, bot.guild, thread, "session end", json!({}))
        .await
        .wait_response()
        .await;
    assert!(!ended.ephemeral, "{}", ended.content);
    assert_eq!(bot.db().active_sessions().await.unwrap().len(), 1);
    bot.assert_clean();
}

#[tokio::test]
async fn session_refusals_are_clear() {
    let bot = spawn_bot().await;
    let id = bot.create_campaign(ALICE, "Rime").await;
    let unknown = bot
        .run(BOB, "session start", json!({"campaign": "987654"}))
        .await;
    assert!(unknown.ephemeral);
    assert!(unknown.content.contains("doesn't exist in this server"));

    let other = bot.fake.config().guild(OTHER_GUILD).unwrap().general();
    let foreign = bot
        .fake
        .slash(
            CAROL,
            OTHER_GUILD,
            other,
            "session start",
            json!({"campaign": id.to_string()}),
        )
        .await
        .wait_response()
        .await;
    assert!(foreign.content.contains("doesn't exist in this server"));
    assert!(bot.db().active_sessions().await.unwrap().is_empty());

    let act = bot.run(BOB, "act", json!({"text": "I look around"})).await;
    assert!(act.ephemeral);
    assert!(act.content.contains("no active session"), "{}", act.content);
    let recap = bot.run(BOB, "session recap", json!({})).await;
    assert!(recap.ephemeral);
    assert!(recap.content.contains("no active session"));

    let dm = bot
        .fake
        .slash_dm(BOB, "session start", json!({"campaign": id.to_string()}))
        .await
        .wait_response()
        .await;
    assert!(dm.ephemeral);
    assert!(dm.content.contains("not in direct messages"));
    bot.assert_clean();
}

#[tokio::test]
async fn act_refuses_someone_elses_character() {
    let bot = spawn_bot().await;
    let id = bot.create_campaign(ALICE, "Rime").await;
    bot.run(
        ALICE,
        "character create",
        json!({"name": "Aria", "class": "Bard", "race": "Elf", "campaign": id.to_string()}),
    )
    .await;
    bot.run(BOB, "session start", json!({"campaign": id.to_string()}))
        .await;
    let r = bot
        .run(BOB, "act", json!({"text": "I sing", "character": "Aria"}))
        .await;
    assert!(r.ephemeral);
    assert!(r.content.contains("your own characters"), "{}", r.content);
    let blank = bot.run(BOB, "act", json!({"text": "   "})).await;
    assert!(blank.ephemeral);
    bot.assert_clean();
}

#[tokio::test]
async fn act_is_refused_to_a_member_who_cannot_post_in_the_channel() {
    const DAN: u64 = 2_000_000_000_000_000_009;
    let mut world = support::bot::world();
    let mut muted = FakeUser::new(DAN, "dan");
    muted.permissions = perms::VIEW_CHANNEL | perms::USE_APPLICATION_COMMANDS;
    world.guilds[0].members.push(muted);
    let bot = support::bot::spawn_bot_with(world, &[]).await;
    let id = bot.create_campaign(ALICE, "Hush").await;
    bot.run(ALICE, "session start", json!({"campaign": id.to_string()}))
        .await;
    let before = bot.story().await.len();

    let r = bot
        .run(DAN, "act", json!({"text": "@everyone free loot"}))
        .await;
    assert!(r.ephemeral);
    assert!(r.content.contains("can't send messages"), "{}", r.content);
    assert_eq!(bot.story().await.len(), before, "nothing was stored");

    let ok = bot.run(BOB, "act", json!({"text": "I listen."})).await;
    assert!(
        !ok.content.contains("can't send messages"),
        "{}",
        ok.content
    );
    bot.assert_clean();
}
