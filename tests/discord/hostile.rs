//! Every string of the hostile corpus through every text option of every registered command
//! (read from the registration itself, so new commands are covered without editing this file),
//! through every field of the account forms, and into every autocompleted option.
//!
//! Each input must get a clear private refusal, or be stored exactly as parsed and shown
//! without breaking Discord's rules; never a panic, an unacknowledged interaction, an internal
//! error, a ping, or a row that no longer reads back.

use crate::support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use gamemaster::core::game::campaign::{CampaignName, Themes, Tone};
use gamemaster::core::game::character::{CharacterClass, CharacterName, Description, Race};
use gamemaster::core::game::transcript::MessageRole;
use gamemaster::core::ids::{ChannelId, GuildId, UserId};
use gamemaster::core::store::{
    AccountStore, CampaignStore, CharacterStore, MessageStore, SessionStore, SheetStore,
};
use serde_json::{Map, Value, json};
use support::bot::{ALICE, NARRATOR, TestBot, spawn_bot_with, world_without_rate_limits};
use support::fake_discord::{AckKind, FakeConfig, FakeUser, RecordedResponse};
use support::fake_llm::Reply;
use support::hostile::hostile_strings;

/// Interactions in flight at once: enough to overlap database and model work, few enough
/// that a debug build on a busy host acknowledges each within Discord's 3 s.
const IN_FLIGHT: usize = 8;
const FIRST_PLAYER: u64 = 2_100_000_000_000_000_000;
const PLAYERS: u64 = 400;
const INTERNAL: &str = "Something went wrong on my side";

/// The default world plus a crowd of players, so each form is filled by a fresh Discord user
/// (a user has one account, and ten login attempts an hour).
fn crowded_world() -> FakeConfig {
    let mut config = world_without_rate_limits();
    for i in 0..PLAYERS {
        config.guilds[0]
            .members
            .push(FakeUser::new(FIRST_PLAYER + i, &format!("player{i}")));
    }
    config
}

/// A valid value for a required option, unique per case where names must be unique.
fn valid(option: &Value, case: usize, seed: &Seed) -> Value {
    let name = option["name"].as_str().unwrap_or_default();
    match option["type"].as_u64() {
        Some(4) | Some(10) => match &option["choices"][0]["value"] {
            // Registration sends min_value as a number that may read `1.0`; an integer
            // option's value is a whole number, as Discord sends it.
            Value::Null => match option.get("min_value").and_then(Value::as_f64) {
                Some(min) if option["type"] == json!(4) => json!(min as i64),
                Some(min) => json!(min),
                None => json!(1),
            },
            first => first.clone(),
        },
        Some(5) => json!(false),
        _ => json!(match name {
            "name" => format!("Name {case}"),
            "themes" => "haunted forests".to_string(),
            "model" => NARRATOR.to_string(),
            "tone" => "grim".to_string(),
            "campaign" => seed.campaign.to_string(),
            "character" => seed.character.to_string(),
            "class" => "Bard".to_string(),
            "race" => "Human".to_string(),
            "expression" => "1d20".to_string(),
            "text" => "I look around.".to_string(),
            _ => "plain".to_string(),
        }),
    }
}

struct Seed {
    campaign: i64,
    character: i64,
}

/// A slash command path with its option definitions.
struct Leaf {
    path: String,
    options: Vec<Value>,
}

fn leaves(def: &Value, prefix: &str, out: &mut Vec<Leaf>) {
    let path = format!("{prefix}{}", def["name"].as_str().unwrap());
    let options = def["options"].as_array().cloned().unwrap_or_default();
    let subs: Vec<&Value> = options
        .iter()
        .filter(|o| matches!(o["type"].as_u64(), Some(1 | 2)))
        .collect();
    if subs.is_empty() {
        out.push(Leaf { path, options });
    } else {
        for sub in subs {
            leaves(sub, &format!("{path} "), out);
        }
    }
}

#[derive(Debug)]
enum Outcome {
    Refused,
    Accepted,
}

/// Checks one answer; refusals must be private, clear and not an internal error.
fn judge(what: &str, r: Option<RecordedResponse>) -> Result<Outcome, String> {
    let Some(r) = r else {
        return Err(format!("{what}: never answered"));
    };
    let text = format!("{} {}", r.content, support::bot::embed_text(&r));
    if text.contains(INTERNAL) {
        return Err(format!("{what}: internal error"));
    }
    if r.ephemeral {
        if r.content.trim().is_empty() {
            return Err(format!("{what}: an empty refusal"));
        }
        Ok(Outcome::Refused)
    } else if r.content.trim().is_empty() && r.embeds.is_empty() && r.attachments.is_empty() {
        Err(format!("{what}: an empty public answer"))
    } else {
        Ok(Outcome::Accepted)
    }
}

const WAIT: Duration = Duration::from_secs(30);

/// What a case sent, to check accepted input was stored as parsed.
struct Sent {
    path: String,
    options: Map<String, Value>,
    hostile_option: String,
    value: String,
}

async fn slash_case(bot: &TestBot, user: u64, sent: &Sent) -> Result<Outcome, String> {
    let what = format!(
        "/{} {}={:?}",
        sent.path,
        sent.hostile_option,
        short(&sent.value)
    );
    let opened = bot
        .slash(user, &sent.path, Value::Object(sent.options.clone()))
        .await;
    let r = opened.try_wait_response(WAIT).await;
    if r.as_ref().is_some_and(|r| r.ack == AckKind::Modal) {
        // A form opened (the account commands): it must take valid input without complaint.
        return Err(format!("{what}: unexpected form"));
    }
    judge(&what, r)
}

fn short(s: &str) -> String {
    s.chars().take(24).collect()
}

/// A form's text inputs by custom id, with what the user types in each.
type Fields = Vec<(&'static str, String)>;

/// One field of an account form filled with a hostile string, the others valid.
async fn form_case(
    bot: &TestBot,
    user: u64,
    path: &str,
    fields: Fields,
    label: &str,
) -> Result<Outcome, String> {
    let what = format!("/{path} form {label}");
    let opened = bot.slash(user, path, json!({})).await;
    let shown = opened
        .try_wait_response(WAIT)
        .await
        .ok_or_else(|| format!("{what}: the form never opened"))?;
    if shown.ack != AckKind::Modal {
        return Err(format!(
            "{what}: answered {:?} instead of a form",
            shown.ack
        ));
    }
    let values: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let submitted = bot.fake.submit_modal(user, &opened, &values).await;
    let r = submitted.try_wait_response(WAIT).await;
    match judge(&what, r)? {
        Outcome::Accepted => Err(format!("{what}: a public answer to a form")),
        refused => Ok(refused),
    }
}

/// Checks that accepted creations stored exactly what the parsers make of the input.
async fn stored_as_parsed(bot: &TestBot, sent: &Sent) -> Result<(), String> {
    let db = bot.db();
    let guild = GuildId(bot.guild);
    let v = sent.value.as_str();
    let opt = |name: &str| sent.options[name].as_str().unwrap_or_default().to_string();
    let bad = |field: &str| format!("/{} {field}={:?} stored differently", sent.path, short(v));
    match sent.path.as_str() {
        "campaign create" => {
            let name = CampaignName::parse(&opt("name")).map_err(|_| bad("name"))?;
            let c = db
                .campaign_by_name(guild, name.as_str())
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| bad("name"))?;
            let ok = match sent.hostile_option.as_str() {
                "name" => c.name == name,
                "themes" => Themes::parse(v).is_ok_and(|t| t == c.themes),
                "tone" => Tone::parse(v).ok() == c.tone,
                "model" => c.model.to_string() == v.trim(),
                _ => true,
            };
            if !ok {
                return Err(bad(&sent.hostile_option));
            }
        }
        "character create" => {
            let name = CharacterName::parse(&opt("name")).map_err(|_| bad("name"))?;
            let all = db
                .list_characters(guild, None)
                .await
                .map_err(|e| e.to_string())?;
            let c = all
                .iter()
                .find(|c| c.name == name)
                .ok_or_else(|| bad("name"))?;
            let ok = match sent.hostile_option.as_str() {
                "class" => CharacterClass::parse(v).is_ok_and(|x| x == c.class),
                "race" => Race::parse(v).is_ok_and(|x| x == c.race),
                "description" => Description::parse(v).ok() == c.description,
                _ => true,
            };
            if !ok {
                return Err(bad(&sent.hostile_option));
            }
        }
        "journal add" if sent.hostile_option == "text" => {
            let Ok(text) = gamemaster::core::text::multi_line(v, "text", 500) else {
                return Err(bad("text"));
            };
            // No campaign option: the channel's session's campaign.
            let campaign = bot.session().await.campaign_id;
            let entries = db
                .journal(campaign, 1000, None)
                .await
                .map_err(|e| e.to_string())?;
            if !entries.iter().any(|e| e.text == text) {
                return Err(bad("text"));
            }
        }
        _ => {}
    }
    Ok(())
}

#[tokio::test]
async fn hostile_strings_through_every_option_of_every_command() {
    let bot = spawn_bot_with(
        crowded_world(),
        &[("ARGON2_MEMORY_KIB", "64"), ("ARGON2_ITERATIONS", "1")],
    )
    .await;
    // The model's own text tries to ping as well.
    bot.llm.set_default(Reply::openai_text(
        &["The wind howls. @everyone <@123456789012345678> <@&1>"],
        Some((10, 5)),
        Duration::ZERO,
    ));
    let campaign = bot.create_campaign(ALICE, "Seed").await;
    let made = bot
        .run(
            ALICE,
            "character create",
            json!({"name": "Seedling", "class": "Bard", "race": "Human", "campaign": campaign.to_string()}),
        )
        .await;
    assert!(!made.ephemeral, "{}", made.content);
    let character = bot
        .db()
        .list_characters(GuildId(bot.guild), Some(UserId(ALICE)))
        .await
        .unwrap()[0]
        .id
        .0;
    let started = bot
        .run(
            ALICE,
            "session start",
            json!({"campaign": campaign.to_string()}),
        )
        .await;
    assert!(!started.ephemeral, "{}", started.content);
    let seed = Seed {
        campaign,
        character,
    };

    let corpus = hostile_strings();
    let mut all = vec![];
    for c in bot.fake.registered_commands() {
        leaves(&c.definition, "", &mut all);
    }
    let mut slash_cases = vec![];
    let mut autocompletes = vec![];
    let counter = AtomicUsize::new(0);
    for leaf in &all {
        for option in leaf.options.iter().filter(|o| o["type"] == json!(3)) {
            let hostile_option = option["name"].as_str().unwrap().to_string();
            for value in &corpus {
                let case = counter.fetch_add(1, Ordering::Relaxed);
                let mut options = Map::new();
                for o in leaf.options.iter().filter(|o| o["required"] == json!(true)) {
                    options.insert(o["name"].as_str().unwrap().into(), valid(o, case, &seed));
                }
                options.insert(hostile_option.clone(), json!(value));
                if option["autocomplete"] == json!(true) {
                    autocompletes.push((
                        leaf.path.clone(),
                        options.clone(),
                        hostile_option.clone(),
                    ));
                }
                slash_cases.push(Sent {
                    path: leaf.path.clone(),
                    options,
                    hostile_option: hostile_option.clone(),
                    value: value.clone(),
                });
            }
        }
    }
    let paths: Vec<&str> = all.iter().map(|l| l.path.as_str()).collect();
    for expected in [
        "campaign create",
        "character create",
        "act",
        "roll",
        "account register",
    ] {
        assert!(paths.contains(&expected), "{expected} in {paths:?}");
    }

    // Slash options, round-robin over the crowd (ALICE keeps her seed campaign's rights).
    let (accepted, refused) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let problems: Vec<String> = futures::stream::iter(slash_cases.iter().enumerate())
        .map(|(i, sent)| {
            let (bot, accepted, refused) = (&bot, &accepted, &refused);
            async move {
                let user = FIRST_PLAYER + (i as u64 % PLAYERS);
                match slash_case(bot, user, sent).await {
                    Ok(Outcome::Accepted) => {
                        accepted.fetch_add(1, Ordering::Relaxed);
                        stored_as_parsed(bot, sent).await.err()
                    }
                    Ok(Outcome::Refused) => {
                        refused.fetch_add(1, Ordering::Relaxed);
                        None
                    }
                    Err(e) => Some(e),
                }
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .filter_map(|p| async move { p })
        .collect()
        .await;

    // The forms: each case by a fresh player; the password goes in both password fields.
    let mut forms: Vec<(&str, Fields, String)> = vec![];
    for (i, value) in corpus.iter().enumerate() {
        let email = format!("p{i}@example.org");
        let good = "Lantern-Keeper7".to_string();
        forms.push((
            "account register",
            vec![
                ("email", value.clone()),
                ("password", good.clone()),
                ("confirm", good.clone()),
            ],
            format!("email={:?}", short(value)),
        ));
        forms.push((
            "account register",
            vec![
                ("email", email.clone()),
                ("password", value.clone()),
                ("confirm", value.clone()),
            ],
            format!("password={:?}", short(value)),
        ));
        forms.push((
            "account register",
            vec![
                ("email", email.clone()),
                ("password", good.clone()),
                ("confirm", value.clone()),
            ],
            format!("confirm={:?}", short(value)),
        ));
        forms.push((
            "account link",
            vec![("email", value.clone()), ("password", good.clone())],
            format!("email={:?}", short(value)),
        ));
        forms.push((
            "account link",
            vec![("email", email), ("password", value.clone())],
            format!("password={:?}", short(value)),
        ));
    }
    assert!(forms.len() <= PLAYERS as usize, "a fresh player per form");
    let form_problems: Vec<String> = futures::stream::iter(forms.into_iter().enumerate())
        .map(|(i, (path, fields, label))| {
            let bot = &bot;
            async move {
                let user = FIRST_PLAYER + i as u64;
                form_case(bot, user, path, fields, &label).await.err()
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .filter_map(|p| async move { p })
        .collect()
        .await;

    // Autocomplete: the fake checks every choice against Discord's limits.
    futures::stream::iter(autocompletes.into_iter())
        .for_each_concurrent(IN_FLIGHT, |(path, options, focused)| {
            let bot = &bot;
            async move {
                bot.fake
                    .autocomplete(
                        ALICE,
                        bot.guild,
                        bot.channel,
                        &path,
                        Value::Object(options),
                        &focused,
                    )
                    .await;
            }
        })
        .await;

    let mut problems = problems;
    problems.extend(form_problems);

    // Turns reach the story through the session's actor, after `/act` answered: every
    // accepted action must arrive there, exactly as the engine trims it.
    let acted: Vec<String> = slash_cases
        .iter()
        .filter(|s| s.path == "act" && s.hostile_option == "text")
        .filter(|s| {
            let t = s.value.trim();
            !t.is_empty() && t.chars().count() <= 2000
        })
        .map(|s| s.value.trim().to_string())
        .collect();
    let session = bot.session().await;
    let mut missing = acted.clone();
    for _ in 0..100 {
        let story = bot
            .db()
            .all_messages(session.id)
            .await
            .expect("messages read back");
        missing.retain(|t| {
            !story
                .iter()
                .any(|m| m.role == MessageRole::User && &m.content == t)
        });
        if missing.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!acted.is_empty());
    for t in missing {
        problems.push(format!("/act text={:?} never reached the story", short(&t)));
    }
    assert!(
        problems.is_empty(),
        "{} of {} cases failed, e.g.: {:#?}",
        problems.len(),
        slash_cases.len(),
        &problems[..problems.len().min(20)]
    );

    // Every stored row still reads back through the parsers.
    let db = bot.db();
    let guild = GuildId(bot.guild);
    db.list_campaigns(guild).await.expect("campaigns read back");
    db.list_characters(guild, None)
        .await
        .expect("characters read back");
    let session = db
        .active_session(ChannelId(bot.channel))
        .await
        .unwrap()
        .expect("the seeded session still runs");
    db.all_messages(session.id)
        .await
        .expect("messages read back");
    let mut linked = 0;
    for i in 0..PLAYERS {
        let link = db
            .discord_link(UserId(FIRST_PLAYER + i))
            .await
            .expect("links read back");
        linked += usize::from(link.is_some());
    }
    // The corpus is a real mix: some inputs are fine (stored), most are refused.
    let (accepted, refused) = (accepted.into_inner(), refused.into_inner());
    assert!(
        accepted > 100 && refused > 100,
        "{accepted} accepted, {refused} refused"
    );
    assert!(
        linked > 0,
        "some hostile passwords meet the policy and create accounts"
    );
    for line in bot.fake.log_lines() {
        assert!(!line.contains("panicked"), "{line}");
    }
    bot.assert_clean();
}
