//! The blind arena end to end: two fake models narrate each turn under hidden names, players
//! vote through the buttons, the names are revealed and the winner continues the story; the
//! battles then rank the models in `/stats metric:arena`.

use crate::support;

use std::time::Duration;

use gamemaster::core::game::transcript::{MessageStatus, StoredMessage};
use gamemaster::core::game::vote::{ArenaBattle, ArenaChoice};
use gamemaster::core::ids::{BattleId, CampaignId, GuildId, MessageId, Timestamp, UserId};
use gamemaster::core::models::perf::CallKind;
use gamemaster::core::stats::{StatsQuery, StatsScope};
use gamemaster::core::store::{CampaignStore, MessageStore, StatsStore, VoteStore};
use serde_json::json;
use support::bot::{
    ALICE, BACKUP, BOB, NARRATOR, TestBot, embed_text, spawn_bot_with, world,
    world_without_rate_limits,
};
use support::fake_discord::StoredMessage as DiscordMessage;
use support::fake_discord::{FakeConfig, FakeUser};
use support::fake_llm::Reply;

const METRIC_ARENA: u64 = 8;

/// A campaign narrated by local:narrator with alice and bob in the party, arena on.
async fn arena_game(extra: &[(&str, &str)]) -> (TestBot, i64) {
    arena_game_in(world(), extra).await
}

async fn arena_game_in(config: FakeConfig, extra: &[(&str, &str)]) -> (TestBot, i64) {
    let mut env = vec![("TURN_WINDOW_MS", "0")];
    env.extend_from_slice(extra);
    let bot = spawn_bot_with(config, &env).await;
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
    let on = bot
        .run(ALICE, "arena on", json!({"campaign": campaign.to_string()}))
        .await;
    assert!(!on.ephemeral, "{}", on.content);
    assert!(
        on.content.contains("The arena is on for **Rime**"),
        "{}",
        on.content
    );
    (bot, campaign)
}

async fn aria_gold(bot: &TestBot) -> i64 {
    use gamemaster::core::store::{CharacterStore, SheetStore};
    let aria = bot
        .db()
        .list_characters(gamemaster::core::ids::GuildId(bot.guild), None)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name.as_str() == "Aria")
        .unwrap();
    bot.db().sheet(aria.id).await.unwrap().unwrap().sheet.gold
}

fn text(reply: &str) -> Reply {
    Reply::openai_text(&[reply], Some((50, 10)), Duration::ZERO)
}

/// Starts the session; A and B narrate the opening; returns its ballot and battle.
async fn opening_ballot(
    bot: &TestBot,
    campaign: i64,
    a: &str,
    b: &str,
) -> (DiscordMessage, ArenaBattle) {
    bot.llm.push(text(a));
    bot.llm.push(text(b));
    bot.run(
        ALICE,
        "session start",
        json!({"campaign": campaign.to_string()}),
    )
    .await;
    ballot_after(bot, 0).await
}

/// The ballot posted after message `after`, and its battle as stored.
async fn ballot_after(bot: &TestBot, after: u64) -> (DiscordMessage, ArenaBattle) {
    let ballot = bot
        .wait_bot_message(bot.channel, |m| {
            m.id > after && custom_ids(m).iter().any(|id| id.starts_with("arena:"))
        })
        .await;
    let id = custom_ids(&ballot)[0]
        .split(':')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let battle = bot
        .db()
        .battle(BattleId(id))
        .await
        .unwrap()
        .expect("stored battle");
    (ballot, battle)
}

fn custom_ids(m: &DiscordMessage) -> Vec<String> {
    m.components
        .iter()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["custom_id"].as_str().map(str::to_string))
        .collect()
}

async fn vote(
    bot: &TestBot,
    user: u64,
    ballot: &DiscordMessage,
    battle: &ArenaBattle,
    choice: &str,
) -> String {
    let r = bot
        .fake
        .click(user, ballot.id, &format!("arena:{}:{choice}", battle.id))
        .await
        .wait_response()
        .await;
    assert!(r.ephemeral, "votes are answered privately: {}", r.content);
    r.content
}

async fn wait_reveal(bot: &TestBot, ballot: &DiscordMessage) -> DiscordMessage {
    bot.wait_bot_message(bot.channel, |m| {
        m.id == ballot.id && m.content.contains("The vote is over")
    })
    .await
}

/// The model name a request was sent for (`local:narrator` is sent as `narrator`).
fn requested_model(bot: &TestBot, index: usize) -> String {
    let requests = bot.llm.requests();
    format!(
        "local:{}",
        requests[index].json()["model"].as_str().unwrap()
    )
}

fn request_body(bot: &TestBot, index: usize) -> String {
    String::from_utf8_lossy(&bot.llm.requests()[index].body).to_string()
}

#[tokio::test]
async fn a_blind_turn_one_vote_each_then_the_reveal_and_the_winner_goes_on() {
    let (bot, campaign) = arena_game(&[]).await;
    // Requests are answered in order: Narrator A is called first, then Narrator B.
    let (ballot, battle) = opening_ballot(
        &bot,
        campaign,
        "The gate creaks open.",
        "Rain lashes the gate.",
    )
    .await;

    // Two different models, the campaign's among them, called as A then B.
    let models = [battle.model_a.as_str(), battle.model_b.as_str()];
    assert_ne!(models[0], models[1]);
    assert!(
        models.contains(&NARRATOR) && models.contains(&BACKUP),
        "{models:?}"
    );
    assert_eq!(requested_model(&bot, 0), battle.model_a);
    assert_eq!(requested_model(&bot, 1), battle.model_b);

    // What Discord shows: headings and narrations, in order, never a model's name.
    let shown: Vec<String> = bot
        .fake
        .messages_in(bot.channel)
        .into_iter()
        .filter(|m| m.from_bot && m.id <= ballot.id && m.interaction_id.is_none())
        .map(|m| m.content)
        .collect();
    let at = |needle: &str| {
        shown
            .iter()
            .position(|c| c.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} not shown: {shown:#?}"))
    };
    assert!(at("Narrator A") < at("The gate creaks open."));
    assert!(at("The gate creaks open.") < at("Narrator B"));
    assert!(at("Narrator B") < at("Rain lashes the gate."));
    assert!(at("Rain lashes the gate.") < at("Which narrator told it better?"));
    for content in &shown {
        assert!(!content.contains("local:"), "a model name shows: {content}");
    }
    assert!(ballot.content.contains("Which narrator told it better?"));
    assert_eq!(custom_ids(&ballot).len(), 4, "A, B, tie, both bad");

    // One vote per player: bob changes his mind, and only his last vote counts.
    let first = vote(&bot, BOB, &ballot, &battle, "a").await;
    assert!(first.contains("Your vote: **A**"), "{first}");
    let changed = vote(&bot, BOB, &ballot, &battle, "b").await;
    assert!(changed.contains("changed from **A** to **B**"), "{changed}");
    assert_eq!(
        bot.db().arena_votes(battle.id).await.unwrap(),
        vec![(UserId(BOB), ArenaChoice::B)]
    );
    assert!(
        bot.fake
            .message(ballot.id)
            .unwrap()
            .content
            .contains("Which narrator"),
        "the vote stays open until the whole party voted"
    );
    vote(&bot, ALICE, &ballot, &battle, "b").await;

    // The reveal: the ballot tells the result, the headings name the models.
    let revealed = wait_reveal(&bot, &ballot).await;
    assert!(revealed.components.is_empty(), "voting is closed");
    assert!(
        revealed
            .content
            .contains(&format!("Narrator A was `{}`", battle.model_a))
            && revealed
                .content
                .contains(&format!("Narrator B was `{}`", battle.model_b)),
        "{}",
        revealed.content
    );
    assert!(
        revealed.content.contains("A 0 · B 2"),
        "{}",
        revealed.content
    );
    assert!(
        revealed
            .content
            .contains("Narrator B wins: its narration continues the story."),
        "{}",
        revealed.content
    );
    let heading_b = bot
        .wait_bot_message(bot.channel, |m| {
            m.content.starts_with("🅱️ **Narrator B** · ") && m.content.contains("✅")
        })
        .await;
    assert!(
        heading_b.content.contains(&battle.model_b),
        "{}",
        heading_b.content
    );
    let heading_a = bot
        .wait_bot_message(bot.channel, |m| {
            m.content.starts_with("🅰️ **Narrator A** · ")
        })
        .await;
    assert!(
        heading_a.content.contains(&battle.model_a) && !heading_a.content.contains("✅"),
        "{}",
        heading_a.content
    );
    // The winner gets the usual narration buttons.
    let canon = bot
        .wait_bot_message(bot.channel, |m| {
            m.content == "Rain lashes the gate." && !m.components.is_empty()
        })
        .await;
    assert!(
        custom_ids(&canon)
            .iter()
            .any(|id| id.starts_with("rate:up:"))
    );

    // Storage: B is canon, A kept but superseded; the battle is decided; both calls are
    // arena calls.
    let decided = bot.db().battle(battle.id).await.unwrap().unwrap();
    assert_eq!(decided.winner, Some(ArenaChoice::B));
    let all = bot.story().await;
    let a = all
        .iter()
        .find(|m| Some(m.id) == battle.message_a_id)
        .unwrap();
    let b = all
        .iter()
        .find(|m| Some(m.id) == battle.message_b_id)
        .unwrap();
    assert_eq!(
        (a.status, a.content.as_str()),
        (MessageStatus::Superseded, "The gate creaks open.")
    );
    assert_eq!(
        (b.status, b.content.as_str()),
        (MessageStatus::Complete, "Rain lashes the gate.")
    );
    assert_eq!(a.model.as_deref(), Some(battle.model_a.as_str()));
    let arena_calls = bot
        .db()
        .call_samples(
            &StatsQuery::new(StatsScope::Server(GuildId(bot.guild)), Timestamp(0))
                .with_kinds(&[CallKind::Arena]),
        )
        .await
        .unwrap();
    let mut called: Vec<&str> = arena_calls.iter().map(|c| c.model.as_str()).collect();
    called.sort();
    assert_eq!(called, [BACKUP, NARRATOR]);

    // The story goes on from the winner: the next turn's context has B, not A.
    bot.llm.push(text("Inside, a fire."));
    bot.llm.push(text("Inside, darkness."));
    bot.fake.say(ALICE, bot.channel, "Aria steps inside.").await;
    let (next_ballot, _) = ballot_after(&bot, ballot.id).await;
    assert_eq!(bot.llm.requests().len(), 4);
    for index in [2, 3] {
        let body = request_body(&bot, index);
        assert!(body.contains("Aria steps inside."), "{body}");
        assert!(
            body.contains("Rain lashes the gate."),
            "the winner is in the context: {body}"
        );
        assert!(
            !body.contains("The gate creaks open."),
            "the loser is not: {body}"
        );
    }
    // A tie keeps A, and says so.
    vote(
        &bot,
        ALICE,
        &next_ballot,
        &next_battle(&bot, &next_ballot).await,
        "tie",
    )
    .await;
    vote(
        &bot,
        BOB,
        &next_ballot,
        &next_battle(&bot, &next_ballot).await,
        "both_bad",
    )
    .await;
    let tie = wait_reveal(&bot, &next_ballot).await;
    assert!(
        tie.content
            .contains("A tie: Narrator A's narration continues the story."),
        "{}",
        tie.content
    );
    bot.assert_clean();
}

async fn next_battle(bot: &TestBot, ballot: &DiscordMessage) -> ArenaBattle {
    ballot_after(bot, ballot.id - 1).await.1
}

#[tokio::test]
async fn the_vote_closes_after_the_timeout_with_the_votes_so_far() {
    let (bot, campaign) = arena_game(&[("ARENA_VOTE_TIMEOUT_SECS", "1")]).await;
    let gold = aria_gold(&bot).await;
    let (ballot, battle) = opening_ballot(
        &bot,
        campaign,
        "Snow. [[gold Aria +5]]",
        "Sleet. [[gold Aria +9]]",
    )
    .await;
    vote(&bot, BOB, &ballot, &battle, "b").await;
    // Alice never votes: the timeout decides with bob's vote.
    let revealed = wait_reveal(&bot, &ballot).await;
    assert!(
        revealed.content.contains("Narrator B wins"),
        "{}",
        revealed.content
    );
    assert_eq!(
        bot.db().battle(battle.id).await.unwrap().unwrap().winner,
        Some(ArenaChoice::B)
    );
    // Only the canon narration's tags change the party: B's, never A's.
    bot.wait_bot_message(bot.channel, |m| {
        m.content.starts_with("📋") && m.content.contains("+9 gp")
    })
    .await;
    assert_eq!(aria_gold(&bot).await, gold + 9);

    // Nobody votes: A continues, and the battle stays undecided (it ranks nobody).
    bot.llm.push(text("Wind."));
    bot.llm.push(text("Hail."));
    bot.fake.say(BOB, bot.channel, "Borin waits.").await;
    let (second, second_battle) = ballot_after(&bot, ballot.id).await;
    let revealed = wait_reveal(&bot, &second).await;
    assert!(
        revealed
            .content
            .contains("No votes: Narrator A's narration continues the story."),
        "{}",
        revealed.content
    );
    assert_eq!(
        bot.db()
            .battle(second_battle.id)
            .await
            .unwrap()
            .unwrap()
            .winner,
        None
    );
    let all = bot.story().await;
    let a = all
        .iter()
        .find(|m| Some(m.id) == second_battle.message_a_id)
        .unwrap();
    let b = all
        .iter()
        .find(|m| Some(m.id) == second_battle.message_b_id)
        .unwrap();
    assert_eq!(a.status, MessageStatus::Complete);
    assert_eq!(b.status, MessageStatus::Superseded);
    bot.assert_clean();
}

#[tokio::test]
async fn arena_votes_rank_the_models_in_stats() {
    // Ten battles post about eighty messages and edits to one channel.
    let (bot, campaign) = arena_game_in(world_without_rate_limits(), &[]).await;
    bot.llm.push(text("Turn 0 by A."));
    bot.llm.push(text("Turn 0 by B."));
    bot.run(
        ALICE,
        "session start",
        json!({"campaign": campaign.to_string()}),
    )
    .await;
    let mut after = 0;
    // Ten decided battles (the minimum for a ranking), local:backup winning each.
    for turn in 0..10 {
        let (ballot, battle) = ballot_after(&bot, after).await;
        let side = if battle.model_a == BACKUP { "a" } else { "b" };
        for user in [ALICE, BOB] {
            vote(&bot, user, &ballot, &battle, side).await;
        }
        wait_reveal(&bot, &ballot).await;
        after = ballot.id;
        if turn == 0 {
            let early = bot.run(BOB, "stats", json!({"metric": METRIC_ARENA})).await;
            assert!(
                early.content.contains("No arena ratings yet"),
                "{}",
                early.content
            );
            assert!(early.attachments.is_empty());
        }
        if turn < 9 {
            bot.llm.push(text(&format!("Turn {} by A.", turn + 1)));
            bot.llm.push(text(&format!("Turn {} by B.", turn + 1)));
            bot.fake
                .say(ALICE, bot.channel, &format!("Action {turn}."))
                .await;
        }
    }
    let r = bot.run(BOB, "stats", json!({"metric": METRIC_ARENA})).await;
    assert_eq!(r.attachments.len(), 1, "{r:?}");
    let table = embed_text(&r);
    assert!(table.contains("Arena rating"), "{table}");
    let backup = table.find(BACKUP).expect(&table);
    let narrator = table.find(NARRATOR).expect(&table);
    assert!(backup < narrator, "the winner ranks first: {table}");
    let rows: Vec<&str> = table.lines().filter(|l| l.contains("local:")).collect();
    assert!(
        rows.iter().all(|l| l.trim_end().ends_with(" 10")),
        "{table}"
    );
    let stored = bot
        .db()
        .campaign(CampaignId(campaign))
        .await
        .unwrap()
        .unwrap();
    assert!(stored.arena_enabled);
    bot.assert_clean();
}

#[tokio::test]
async fn only_the_owner_or_a_manager_switches_the_arena() {
    let bot = spawn_bot_with(world(), &[("TURN_WINDOW_MS", "0")]).await;
    let campaign = bot.create_campaign(ALICE, "Rime").await;
    let refused = bot
        .run(BOB, "arena on", json!({"campaign": campaign.to_string()}))
        .await;
    assert!(refused.ephemeral);
    assert!(
        refused.content.contains("Only the campaign's owner"),
        "{}",
        refused.content
    );
    let stored = |bot: &TestBot| {
        let db = bot.db().clone();
        async move {
            db.campaign(CampaignId(campaign))
                .await
                .unwrap()
                .unwrap()
                .arena_enabled
        }
    };
    assert!(!stored(&bot).await, "a refusal changes nothing");
    let no_session = bot.run(ALICE, "arena on", json!({})).await;
    assert!(no_session.ephemeral && no_session.content.contains("name the campaign"));

    bot.run(ALICE, "arena on", json!({"campaign": campaign.to_string()}))
        .await;
    assert!(stored(&bot).await);
    let off = bot
        .run(
            ALICE,
            "arena off",
            json!({"campaign": campaign.to_string()}),
        )
        .await;
    assert!(off.content.contains("The arena is off"), "{}", off.content);
    assert!(!stored(&bot).await);

    // Off: one model narrates, with the usual buttons and no ballot.
    bot.llm.push(text("A quiet road."));
    bot.run(
        ALICE,
        "session start",
        json!({"campaign": campaign.to_string()}),
    )
    .await;
    let narration = bot
        .wait_bot_message(bot.channel, |m| {
            m.content == "A quiet road." && !m.components.is_empty()
        })
        .await;
    assert!(
        custom_ids(&narration)
            .iter()
            .all(|id| !id.starts_with("arena:"))
    );
    assert_eq!(bot.llm.requests().len(), 1);
    bot.assert_clean();
}

const LOADING: &str =
    r#"{"error": {"message": "model is loading", "type": "invalid_request_error"}}"#;

#[tokio::test]
async fn when_narrator_b_fails_a_continues_without_a_vote() {
    let (bot, campaign) = arena_game(&[]).await;
    bot.llm.push(text("The gate creaks open."));
    // A 400 is not retried: B fails before writing anything.
    bot.llm.push(Reply::status(400, LOADING));
    bot.run(
        ALICE,
        "session start",
        json!({"campaign": campaign.to_string()}),
    )
    .await;
    let notice = bot
        .wait_bot_message(bot.channel, |m| m.content.contains("no vote this turn"))
        .await;
    assert!(
        notice.content.contains("model is loading"),
        "{}",
        notice.content
    );
    let canon = bot
        .wait_bot_message(bot.channel, |m| {
            m.content == "The gate creaks open." && !m.components.is_empty()
        })
        .await;
    assert!(
        custom_ids(&canon)
            .iter()
            .any(|id| id.starts_with("rate:up:"))
    );
    let ballots = bot
        .fake
        .messages_in(bot.channel)
        .iter()
        .filter(|m| custom_ids(m).iter().any(|id| id.starts_with("arena:")))
        .count();
    assert_eq!(ballots, 0, "no vote without two narrations");
    assert!(bot.db().battle(BattleId(1)).await.unwrap().is_none());
    let calls = bot
        .db()
        .call_samples(
            &StatsQuery::new(StatsScope::Server(GuildId(bot.guild)), Timestamp(0))
                .with_kinds(&[CallKind::Arena]),
        )
        .await
        .unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls.iter().filter(|c| !c.ok).count(),
        1,
        "the failure is recorded"
    );
    let narrations: Vec<StoredMessage> = bot
        .story()
        .await
        .into_iter()
        .filter(|m| m.status == MessageStatus::Complete && m.model.is_some())
        .collect();
    assert_eq!(narrations.len(), 1);
    bot.assert_clean();
}

#[tokio::test]
async fn when_narrator_a_fails_b_continues_without_a_vote() {
    let (bot, campaign) = arena_game(&[]).await;
    bot.llm.push(Reply::status(400, LOADING));
    bot.llm.push(text("A plain opening."));
    bot.run(
        ALICE,
        "session start",
        json!({"campaign": campaign.to_string()}),
    )
    .await;
    let notice = bot
        .wait_bot_message(bot.channel, |m| {
            m.content
                .contains("Narrator B's narration continues the story; no vote this turn.")
        })
        .await;
    assert!(
        notice.content.starts_with("⚠️ `local:"),
        "{}",
        notice.content
    );
    let narration = bot
        .wait_bot_message(bot.channel, |m| {
            m.content == "A plain opening." && !m.components.is_empty()
        })
        .await;
    assert!(
        custom_ids(&narration)
            .iter()
            .any(|id| id.starts_with("regen:"))
    );
    let heading = bot
        .wait_bot_message(bot.channel, |m| m.content == "🅱️ **Narrator B**")
        .await;
    assert!(heading.id < narration.id, "B's heading comes first");
    assert_eq!(bot.llm.requests().len(), 2, "no third call");
    let all = bot.story().await;
    let shown = all
        .iter()
        .find(|m| m.content == "A plain opening.")
        .unwrap();
    assert_eq!(shown.status, MessageStatus::Complete);
    assert_eq!(shown.discord_message_id.map(|d| d.0), Some(narration.id));
    bot.assert_clean();
}

#[tokio::test]
async fn ending_the_session_closes_an_open_vote() {
    let (bot, campaign) = arena_game(&[]).await;
    let (ballot, battle) = opening_ballot(&bot, campaign, "Fog.", "Mist.").await;
    vote(&bot, ALICE, &ballot, &battle, "a").await;
    let ended = bot.run(ALICE, "session end", json!({})).await;
    assert!(!ended.ephemeral, "{}", ended.content);
    // Well before the 120 s timeout, the votes so far decide.
    let revealed = tokio::time::timeout(Duration::from_secs(8), wait_reveal(&bot, &ballot))
        .await
        .expect("the vote closes when the session ends");
    assert!(
        revealed.content.contains("Narrator A wins"),
        "{}",
        revealed.content
    );
    assert_eq!(
        bot.db().battle(battle.id).await.unwrap().unwrap().winner,
        Some(ArenaChoice::A)
    );
    bot.assert_clean();
}

#[tokio::test]
async fn b_is_written_while_a_streams_and_shown_after_it() {
    let (bot, campaign) = arena_game(&[]).await;
    // A streams slowly; B answers at once.
    bot.llm.push(Reply::openai_text(
        &["The long ", "road ", "winds on."],
        Some((50, 10)),
        Duration::from_millis(700),
    ));
    bot.llm.push(text("A short path."));
    bot.run(
        ALICE,
        "session start",
        json!({"campaign": campaign.to_string()}),
    )
    .await;
    // B's call is made while A is still streaming...
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while bot.llm.requests().len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "B was never called");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let a_done = bot
        .fake
        .messages_in(bot.channel)
        .iter()
        .any(|m| m.content == "The long road winds on.");
    assert!(!a_done, "B is generated alongside A, not after it");
    // ...but shown only once A is complete, under its own heading.
    let (ballot, battle) = ballot_after(&bot, 0).await;
    let shown: Vec<DiscordMessage> = bot
        .fake
        .messages_in(bot.channel)
        .into_iter()
        .filter(|m| m.from_bot && m.id < ballot.id && m.interaction_id.is_none())
        .collect();
    let position = |text: &str| {
        shown
            .iter()
            .position(|m| m.content == text)
            .unwrap_or_else(|| panic!("{text:?} not shown"))
    };
    assert!(position("🅰️ **Narrator A**") < position("The long road winds on."));
    assert!(position("The long road winds on.") < position("🅱️ **Narrator B**"));
    assert!(position("🅱️ **Narrator B**") < position("A short path."));
    let b = shown[position("A short path.")].clone();
    assert!(
        b.content_history.len() == 1,
        "B is shown whole: {:?}",
        b.content_history
    );
    let stored = bot
        .db()
        .message(battle.message_b_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.discord_message_id.map(|d| d.0), Some(b.id));
    bot.assert_clean();
}

#[tokio::test]
async fn votes_cast_before_a_restart_are_counted_after_it() {
    // The vote outlasts the shutdown drain (2 s here, 20 s against 120 s by default).
    let (mut bot, campaign) = arena_game(&[("ARENA_VOTE_TIMEOUT_SECS", "8")]).await;
    let gold = aria_gold(&bot).await;
    let (ballot, battle) = opening_ballot(
        &bot,
        campaign,
        "Snow. [[gold Aria +5]]",
        "Sleet. [[gold Aria +9]]",
    )
    .await;
    vote(&bot, BOB, &ballot, &battle, "b").await;
    bot.restart().await;

    // The same ballot still takes votes in the new process.
    let answer = vote(&bot, ALICE, &ballot, &battle, "b").await;
    assert!(!answer.contains("closed"), "{answer}");
    let told = bot
        .wait_bot_message(bot.channel, |m| m.content.contains("is counted"))
        .await;
    assert!(told.content.contains("(2 votes)"), "{}", told.content);
    assert!(
        told.content
            .contains("Narrator B won, and its narration now continues the story"),
        "{}",
        told.content
    );
    let settled = bot.db().battle(battle.id).await.unwrap().unwrap();
    assert_eq!(settled.winner, Some(ArenaChoice::B));
    assert!(settled.settled_at.is_some());
    let all = bot.story().await;
    let status = |id: Option<MessageId>| all.iter().find(|m| Some(m.id) == id).unwrap().status;
    assert_eq!(status(battle.message_b_id), MessageStatus::Complete);
    assert_eq!(status(battle.message_a_id), MessageStatus::Superseded);
    // The process that counted the vote applied the winner's tags, once.
    bot.wait_bot_message(bot.channel, |m| {
        m.content.starts_with("📋") && m.content.contains("+9 gp")
    })
    .await;
    assert_eq!(aria_gold(&bot).await, gold + 9);
    // Once counted, the ballot is closed.
    let late = vote(&bot, BOB, &ballot, &battle, "a").await;
    assert!(late.contains("closed"), "{late}");
    bot.assert_clean();
}

#[tokio::test]
async fn only_the_players_of_the_session_vote() {
    const DAVE: u64 = 2_000_000_000_000_000_044;
    let mut config = world();
    config.guilds[0].members.push(FakeUser::new(DAVE, "dave"));
    let (bot, campaign) = arena_game_in(config, &[("ARENA_VOTE_TIMEOUT_SECS", "2")]).await;
    let (ballot, battle) = opening_ballot(&bot, campaign, "Snow.", "Sleet.").await;
    let refused = vote(&bot, DAVE, &ballot, &battle, "b").await;
    assert!(refused.contains("Only the players"), "{refused}");
    assert!(bot.db().arena_votes(battle.id).await.unwrap().is_empty());
    wait_reveal(&bot, &ballot).await;
    bot.assert_clean();
}
