//! The fake Discord against a small real poise bot connected through the proxy seam.

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use poise::serenity_prelude as serenity;
use serde_json::json;
use support::fake_discord::{
    AckKind, FakeConfig, FakeDiscord, FakeGuild, FakeUser, FaultKind, models,
};

type Error = Box<dyn std::error::Error + Send + Sync>;
type Context<'a> = poise::Context<'a, Data, Error>;

/// What the bot saw go wrong, so tests can check it got Discord's answer.
#[derive(Clone, Default)]
struct Data {
    errors: Arc<Mutex<Vec<String>>>,
}

#[poise::command(slash_command)]
async fn ping(ctx: Context<'_>) -> Result<(), Error> {
    ctx.say("pong").await?;
    Ok(())
}

// Defers, then answers twice: the first replaces "thinking", the second is a followup.
#[poise::command(slash_command)]
async fn slow(ctx: Context<'_>) -> Result<(), Error> {
    ctx.defer().await?;
    ctx.say("done thinking").await?;
    ctx.say("and one more thing").await?;
    Ok(())
}

#[poise::command(slash_command, subcommands("create"))]
async fn campaign(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

async fn autocomplete_theme(
    _ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let choices = ["dungeon", "desert", "forest", "swamp"]
        .into_iter()
        .filter(|t| t.starts_with(partial))
        .map(serenity::AutocompleteChoice::from)
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// Create a campaign
#[poise::command(slash_command, required_permissions = "MANAGE_GUILD")]
async fn create(
    ctx: Context<'_>,
    #[description = "Campaign name"] name: String,
    #[description = "Theme"]
    #[autocomplete = "autocomplete_theme"]
    theme: Option<String>,
    #[description = "Players"] players: Option<i64>,
) -> Result<(), Error> {
    let reply = poise::CreateReply::default()
        .content(format!(
            "created {name} ({}) for {}",
            theme.unwrap_or_default(),
            players.unwrap_or(0)
        ))
        .ephemeral(true);
    ctx.send(reply).await?;
    Ok(())
}

#[poise::command(slash_command)]
async fn buttons(ctx: Context<'_>) -> Result<(), Error> {
    let row = serenity::CreateActionRow::Buttons(vec![
        serenity::CreateButton::new("roll")
            .label("Roll")
            .style(serenity::ButtonStyle::Primary),
    ]);
    ctx.send(
        poise::CreateReply::default()
            .content("press to roll")
            .components(vec![row]),
    )
    .await?;
    Ok(())
}

#[derive(Debug, poise::Modal)]
#[name = "Character"]
struct CharacterForm {
    #[name = "Character name"]
    hero: String,
    #[name = "Backstory"]
    #[paragraph]
    backstory: Option<String>,
}

#[poise::command(slash_command)]
async fn form(ctx: poise::ApplicationContext<'_, Data, Error>) -> Result<(), Error> {
    use poise::Modal as _;
    let Some(data) = CharacterForm::execute(ctx).await? else {
        return Ok(());
    };
    ctx.say(format!(
        "welcome {} ({})",
        data.hero,
        data.backstory.unwrap_or_default()
    ))
    .await?;
    Ok(())
}

#[poise::command(slash_command)]
async fn upload(ctx: Context<'_>) -> Result<(), Error> {
    let file = serenity::CreateAttachment::bytes(b"\x89PNG fake".to_vec(), "map.png");
    ctx.send(
        poise::CreateReply::default()
            .content("the map")
            .attachment(file),
    )
    .await?;
    let again = serenity::CreateAttachment::bytes(b"second".to_vec(), "notes.txt");
    ctx.channel_id()
        .send_message(
            ctx,
            serenity::CreateMessage::new()
                .content("notes")
                .add_file(again),
        )
        .await?;
    Ok(())
}

// Serenity's builders refuse content over 2000 characters before sending, so this goes
// through the raw HTTP call to reach the server's check.
#[poise::command(slash_command)]
async fn too_long(ctx: poise::ApplicationContext<'_, Data, Error>) -> Result<(), Error> {
    let body = json!({"type": 4, "data": {"content": "x".repeat(2001)}});
    ctx.serenity_context()
        .http
        .create_interaction_response(ctx.interaction.id, &ctx.interaction.token, &body, vec![])
        .await?;
    Ok(())
}

// A modal that breaks one of Discord's modal rules, chosen by `rule`, sent raw so the fake's
// own checks are what refuses it.
#[poise::command(slash_command)]
async fn bad_modal(
    ctx: poise::ApplicationContext<'_, Data, Error>,
    #[description = "Which rule to break"] rule: String,
) -> Result<(), Error> {
    let input =
        |id: &str, label: &str| json!({"type": 4, "custom_id": id, "label": label, "style": 1});
    let row = |inputs: Vec<serde_json::Value>| json!({"type": 1, "components": inputs});
    let mut rows = vec![row(vec![input("a", "A")])];
    let mut title = "Form".to_string();
    match rule.as_str() {
        "rows" => {
            rows = (0..6)
                .map(|i| row(vec![input(&format!("f{i}"), "F")]))
                .collect()
        }
        "pair" => rows = vec![row(vec![input("a", "A"), input("b", "B")])],
        "label" => rows = vec![row(vec![input("a", &"L".repeat(46))])],
        "input_id" => rows = vec![row(vec![input(&"i".repeat(101), "A")])],
        "duplicate" => rows = vec![row(vec![input("a", "A")]), row(vec![input("a", "B")])],
        "button" => {
            rows = vec![row(vec![
                json!({"type": 2, "custom_id": "b", "label": "B", "style": 1}),
            ])]
        }
        "title" => title = "T".repeat(46),
        _ => {}
    }
    let custom_id = if rule == "modal_id" {
        "m".repeat(101)
    } else {
        "m".into()
    };
    let body =
        json!({"type": 9, "data": {"custom_id": custom_id, "title": title, "components": rows}});
    ctx.serenity_context()
        .http
        .create_interaction_response(ctx.interaction.id, &ctx.interaction.token, &body, vec![])
        .await?;
    Ok(())
}

// Serenity checks only the 6000-character total of an embed, not its description's 4096.
#[poise::command(slash_command)]
async fn big_embed(ctx: Context<'_>) -> Result<(), Error> {
    let embed = serenity::CreateEmbed::new()
        .title("Chapter")
        .description("y".repeat(4097));
    ctx.send(poise::CreateReply::default().embed(embed)).await?;
    Ok(())
}

#[poise::command(slash_command)]
async fn double_ack(ctx: poise::ApplicationContext<'_, Data, Error>) -> Result<(), Error> {
    let defer = serenity::CreateInteractionResponse::Defer(Default::default());
    ctx.interaction.create_response(ctx, defer.clone()).await?;
    ctx.interaction.create_response(ctx, defer).await?;
    Ok(())
}

#[poise::command(slash_command)]
async fn late(ctx: Context<'_>) -> Result<(), Error> {
    tokio::time::sleep(Duration::from_millis(400)).await;
    ctx.say("too late").await?;
    Ok(())
}

#[poise::command(slash_command)]
async fn pins(ctx: Context<'_>) -> Result<(), Error> {
    ctx.channel_id().pins(ctx).await?;
    Ok(())
}

// Mentions the caller without restricting mentions: must be caught by `assert_no_pings`.
#[poise::command(slash_command)]
async fn leak(ctx: Context<'_>) -> Result<(), Error> {
    let sent = ctx
        .channel_id()
        .send_message(
            ctx,
            serenity::CreateMessage::new().content(format!("hey <@{}>", ctx.author().id)),
        )
        .await?;
    // An inline reply without allowed mentions notifies the replied-to author.
    let reply = serenity::CreateMessage::new()
        .content("replying")
        .reference_message(&sent);
    ctx.channel_id().send_message(ctx, reply).await?;
    ctx.say("sent").await?;
    Ok(())
}

// Streams a story: typing, a message edited three times, then a thread for it.
#[poise::command(slash_command)]
async fn story(ctx: Context<'_>) -> Result<(), Error> {
    ctx.defer().await?;
    let channel = ctx.channel_id();
    channel.broadcast_typing(ctx).await?;
    let quiet = serenity::CreateAllowedMentions::new;
    let mut msg = channel
        .send_message(
            ctx,
            serenity::CreateMessage::new()
                .content("Once")
                .allowed_mentions(quiet()),
        )
        .await?;
    let mut text = String::from("Once");
    for word in [" upon", " a", " time"] {
        tokio::time::sleep(Duration::from_millis(60)).await;
        text.push_str(word);
        msg.edit(
            ctx,
            serenity::EditMessage::new()
                .content(&text)
                .allowed_mentions(quiet()),
        )
        .await?;
    }
    let thread = channel
        .create_thread_from_message(ctx, msg.id, serenity::CreateThread::new("Session 1"))
        .await?;
    thread
        .send_message(ctx, serenity::CreateMessage::new().content("in the thread"))
        .await?;
    ctx.say("told").await?;
    Ok(())
}

fn commands() -> Vec<poise::Command<Data, Error>> {
    vec![
        ping(),
        slow(),
        campaign(),
        buttons(),
        form(),
        upload(),
        too_long(),
        bad_modal(),
        big_embed(),
        double_ack(),
        late(),
        pins(),
        leak(),
        story(),
    ]
}

async fn on_event(
    framework: poise::FrameworkContext<'_, Data, Error>,
    event: &serenity::FullEvent,
) -> Result<(), Error> {
    let ctx = framework.serenity_context;
    match event {
        serenity::FullEvent::Message { new_message }
            if !new_message.author.bot && new_message.content == "hello" =>
        {
            let reply = serenity::CreateMessage::new()
                .content(format!("hi <@{}>", new_message.author.id))
                .allowed_mentions(serenity::CreateAllowedMentions::new());
            new_message.channel_id.send_message(ctx, reply).await?;
        }
        serenity::FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Component(c),
        } if c.data.custom_id == "roll" => {
            let update = serenity::CreateInteractionResponseMessage::new()
                .content("rolled a 20")
                .components(vec![]);
            c.create_response(
                ctx,
                serenity::CreateInteractionResponse::UpdateMessage(update),
            )
            .await?;
        }
        _ => {}
    }
    Ok(())
}

pub(super) struct Bot {
    data: Data,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Bot {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Bot {
    fn errors(&self) -> Vec<String> {
        self.data.errors.lock().unwrap().clone()
    }
}

/// Starts the bot the way the product does under `DISCORD_API_BASE_URL`.
async fn start_bot(fake: &FakeDiscord, shards: u32) -> Bot {
    let intents =
        serenity::GatewayIntents::non_privileged() | serenity::GatewayIntents::MESSAGE_CONTENT;
    start_bot_with(fake, shards, intents).await
}

async fn start_bot_with(fake: &FakeDiscord, shards: u32, intents: serenity::GatewayIntents) -> Bot {
    let data = Data::default();
    let setup_data = data.clone();
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: commands(),
            event_handler: |framework, event| Box::pin(on_event(framework, event)),
            on_error: |error| {
                Box::pin(async move {
                    match error {
                        poise::FrameworkError::Command { error, ctx, .. } => {
                            ctx.data()
                                .errors
                                .lock()
                                .unwrap()
                                .push(format!("{}: {error}", ctx.command().name));
                        }
                        other => poise::builtins::on_error(other).await.unwrap_or(()),
                    }
                })
            },
            ..Default::default()
        })
        .setup(move |ctx, _ready, framework| {
            Box::pin(async move {
                poise::builtins::register_globally(ctx, &framework.options().commands).await?;
                Ok(setup_data)
            })
        })
        .build();
    let http = fake.http_allowing_pings().build();
    let mut client = serenity::ClientBuilder::new_with_http(http, intents)
        .framework(framework)
        .await
        .expect("client builds");
    let task = tokio::spawn(async move {
        client.start_shards(shards).await.expect("bot runs");
    });
    Bot { data, task }
}

const ALICE: u64 = 2_000_000_000_000_000_001;
const BOB: u64 = 2_000_000_000_000_000_002;

pub(super) async fn connected(config: FakeConfig) -> (FakeDiscord, Bot) {
    let fake = FakeDiscord::start(config).await;
    let bot = start_bot(&fake, 1).await;
    fake.wait_ready(0).await;
    fake.wait_commands(&["ping", "campaign"]).await;
    (fake, bot)
}

pub(super) fn guild_and_channel(fake: &FakeDiscord) -> (u64, u64) {
    let g = &fake.config().guilds[0];
    (g.id, g.general())
}

#[tokio::test]
async fn startup_uses_the_proxy_for_gateway_application_and_registration() {
    let (fake, _bot) = connected(FakeConfig::default()).await;
    let paths: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        paths.contains(&"GET /api/v10/gateway".to_string()),
        "{paths:?}"
    );
    assert!(
        paths.contains(&"GET /api/v10/oauth2/applications/@me".to_string()),
        "{paths:?}"
    );
    let app = fake.config().application_id;
    assert!(
        paths.contains(&format!("PUT /api/v10/applications/{app}/commands")),
        "{paths:?}"
    );
    let registered: Vec<String> = fake
        .registered_commands()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    assert_eq!(registered.len(), commands().len());
    let campaign = fake
        .registered_commands()
        .into_iter()
        .find(|c| c.name() == "campaign")
        .unwrap();
    assert_eq!(campaign.definition["options"][0]["type"], json!(1));
    assert_eq!(campaign.definition["options"][0]["name"], json!("create"));
    fake.assert_clean();
}

#[tokio::test]
async fn ping_defer_followup_and_plain_messages_work() {
    let (fake, _bot) = connected(FakeConfig::default()).await;
    let (guild, channel) = guild_and_channel(&fake);

    let pong = fake
        .slash(BOB, guild, channel, "ping", json!({}))
        .await
        .wait_response()
        .await;
    assert_eq!(pong.ack, AckKind::Message);
    assert_eq!(pong.content, "pong");
    assert!(!pong.ephemeral);

    let slow = fake.slash(BOB, guild, channel, "slow", json!({})).await;
    let first = slow.wait_response().await;
    assert_eq!(first.ack, AckKind::DeferredMessage);
    assert_eq!(first.content, "done thinking");
    let followups = slow.wait_followups(1).await;
    assert_eq!(followups[0].content, "and one more thing");

    let said = fake.say(BOB, channel, "hello").await;
    let reply = fake
        .wait_for_message(
            |m| m.from_bot && m.content == format!("hi <@{BOB}>"),
            Duration::from_secs(10),
        )
        .await;
    assert!(reply.id > said);
    let texts: Vec<String> = fake
        .messages_in(channel)
        .iter()
        .map(|m| m.content.clone())
        .collect();
    assert_eq!(
        texts,
        [
            "pong",
            "done thinking",
            "and one more thing",
            "hello",
            &format!("hi <@{BOB}>")
        ]
    );
    fake.assert_no_pings();
    fake.assert_clean();
}

#[tokio::test]
async fn subcommands_autocomplete_and_permissions() {
    let (fake, bot) = connected(FakeConfig::default()).await;
    let (guild, channel) = guild_and_channel(&fake);

    let choices = fake
        .autocomplete(
            ALICE,
            guild,
            channel,
            "campaign create",
            json!({"name": "x", "theme": "d"}),
            "theme",
        )
        .await;
    let names: Vec<&str> = choices
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dungeon", "desert"]);

    let created = fake
        .slash(
            ALICE,
            guild,
            channel,
            "campaign create",
            json!({"name": "Rime", "theme": "forest", "players": 4}),
        )
        .await
        .wait_response()
        .await;
    assert_eq!(created.content, "created Rime (forest) for 4");
    assert!(created.ephemeral);

    // Bob lacks MANAGE_GUILD: poise refuses from the member permissions in the payload.
    let refused = fake
        .slash(
            BOB,
            guild,
            channel,
            "campaign create",
            json!({"name": "Nope"}),
        )
        .await
        .wait_response()
        .await;
    assert!(
        refused.content.contains("lacking permissions"),
        "{}",
        refused.content
    );
    assert!(refused.ephemeral);
    assert!(bot.errors().is_empty(), "{:?}", bot.errors());
    fake.assert_clean();
}

#[tokio::test]
async fn modals_that_break_discords_rules_are_refused() {
    let (fake, _bot) = connected(FakeConfig::default()).await;
    let (guild, channel) = guild_and_channel(&fake);
    for (rule, expected) in [
        (
            "rows",
            "data.components: Must be between 1 and 5 in length.",
        ),
        (
            "pair",
            "data.components.0.components: Must be between 1 and 1",
        ),
        (
            "label",
            "data.components.0.components.0.label: Must be between 1 and 45",
        ),
        (
            "input_id",
            "data.components.0.components.0.custom_id: Must be between 1 and 100",
        ),
        (
            "duplicate",
            "data.components: Component custom id cannot be duplicated.",
        ),
        (
            "button",
            "data.components.0.components.0.type: Modals accept text inputs only.",
        ),
        ("title", "data.title: Must be between 1 and 45 in length."),
        (
            "modal_id",
            "data.custom_id: Must be between 1 and 100 in length.",
        ),
    ] {
        let before = fake.violations().len();
        fake.slash(BOB, guild, channel, "bad_modal", json!({"rule": rule}))
            .await;
        let found = fake
            .wait_for_violations(before + 1)
            .await
            .into_iter()
            .skip(before)
            .find(|v| v.kind == "limit")
            .unwrap_or_else(|| panic!("{rule}: no limit violation"));
        assert!(found.detail.contains(expected), "{rule}: {found:?}");
    }
    // A valid one passes.
    let before = fake.violations().len();
    let ok = fake
        .slash(BOB, guild, channel, "bad_modal", json!({"rule": "none"}))
        .await
        .wait_response()
        .await;
    assert_eq!(ok.ack, AckKind::Modal);
    assert_eq!(fake.violations().len(), before);
}

#[tokio::test]
async fn buttons_modals_and_attachments_work() {
    let (fake, _bot) = connected(FakeConfig::default()).await;
    let (guild, channel) = guild_and_channel(&fake);

    let shown = fake
        .slash(BOB, guild, channel, "buttons", json!({}))
        .await
        .wait_response()
        .await;
    assert_eq!(
        shown.components[0]["components"][0]["custom_id"],
        json!("roll")
    );
    let msg_id = shown.message_id.unwrap();
    let clicked = fake.click(BOB, msg_id, "roll").await.wait_response().await;
    assert_eq!(clicked.ack, AckKind::UpdateMessage);
    let after = fake.message(msg_id).unwrap();
    assert_eq!(after.content, "rolled a 20");
    assert!(after.components.is_empty());
    assert_eq!(after.edits.len(), 1);

    let opened = fake.slash(BOB, guild, channel, "form", json!({})).await;
    let modal = opened.wait_response().await.modal.expect("a modal");
    assert_eq!(modal["title"], json!("Character"));
    let submit = fake
        .submit_modal(BOB, &opened, &[("hero", "Thorin"), ("backstory", "exiled")])
        .await;
    assert_eq!(submit.wait_ack().await, AckKind::DeferredUpdate);
    let welcome = opened.wait_followups(1).await;
    assert_eq!(welcome[0].content, "welcome Thorin (exiled)");

    let up = fake
        .slash(BOB, guild, channel, "upload", json!({}))
        .await
        .wait_response()
        .await;
    assert_eq!(up.attachments.len(), 1);
    assert_eq!(up.attachments[0].filename, "map.png");
    assert_eq!(up.attachments[0].bytes, b"\x89PNG fake");
    let notes = fake
        .wait_for_message(|m| m.content == "notes", Duration::from_secs(10))
        .await;
    assert_eq!(notes.attachments[0].filename, "notes.txt");
    assert_eq!(notes.attachments[0].bytes, b"second");
    let multipart_posts = fake
        .requests()
        .into_iter()
        .filter(|r| {
            r.path == format!("/api/v10/channels/{channel}/messages")
                && r.body["attachments"].is_array()
        })
        .count();
    assert_eq!(multipart_posts, 1);
    fake.assert_clean();
}

#[tokio::test]
async fn limit_double_ack_and_unknown_route_are_violations() {
    let (fake, bot) = connected(FakeConfig::default()).await;
    let (guild, channel) = guild_and_channel(&fake);

    fake.slash(BOB, guild, channel, "too_long", json!({})).await;
    let limit = fake.wait_violation("limit").await;
    assert!(
        limit
            .detail
            .contains("data.content: Must be 2000 or fewer in length."),
        "{limit:?}"
    );
    let refused = fake.wait_request(|r| r.status == 400).await;
    assert!(refused.path.ends_with("/callback"));

    fake.slash(BOB, guild, channel, "big_embed", json!({}))
        .await;
    fake.wait_request(|r| r.status == 400 && r.body["data"]["embeds"].is_array())
        .await;
    let limits: Vec<_> = fake
        .violations()
        .into_iter()
        .filter(|v| v.kind == "limit")
        .collect();
    assert!(
        limits[1]
            .detail
            .contains("data.embeds.0.description: Must be 4096 or fewer"),
        "{limits:?}"
    );

    let twice = fake
        .slash(BOB, guild, channel, "double_ack", json!({}))
        .await;
    assert_eq!(twice.wait_ack().await, AckKind::DeferredMessage);
    fake.wait_violation("double_ack").await;

    fake.slash(BOB, guild, channel, "pins", json!({})).await;
    let unknown = fake.wait_violation("unknown_route").await;
    assert_eq!(
        unknown.detail,
        format!("unknown route GET /api/v10/channels/{channel}/pins")
    );

    let errors = bot.errors();
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("too_long") && e.contains("Invalid Form Body")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("big_embed") && e.contains("Invalid Form Body")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("double_ack") && e.contains("already been acknowledged")),
        "{errors:?}"
    );
    assert!(
        fake.serenity_problems().is_empty(),
        "{:?}",
        fake.serenity_problems()
    );
}

#[tokio::test]
async fn a_late_acknowledgement_is_refused_and_recorded() {
    let config = FakeConfig {
        ack_deadline: Duration::from_millis(150),
        ..FakeConfig::default()
    };
    let (fake, bot) = connected(config).await;
    let (guild, channel) = guild_and_channel(&fake);
    let handle = fake.slash(BOB, guild, channel, "late", json!({})).await;
    let late = fake.wait_violation("late_ack").await;
    assert!(late.detail.contains(&handle.id.to_string()));
    assert!(
        handle
            .try_wait_response(Duration::from_millis(50))
            .await
            .is_none()
    );
    let refused = fake
        .requests()
        .into_iter()
        .find(|r| r.path.contains("/callback"))
        .unwrap();
    assert_eq!(refused.status, 404);
    let _ = bot;
}

#[tokio::test]
async fn edits_are_timed_and_threads_and_typing_recorded() {
    let (fake, bot) = connected(FakeConfig::default()).await;
    let (guild, channel) = guild_and_channel(&fake);
    let told = fake
        .slash(BOB, guild, channel, "story", json!({}))
        .await
        .wait_response()
        .await;
    assert_eq!(told.content, "told", "{:?}", bot.errors());
    let story = fake
        .wait_for_message(|m| m.content == "Once upon a time", Duration::from_secs(5))
        .await;
    let gaps = fake.edit_intervals(story.id);
    assert_eq!(gaps.len(), 3);
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(60)),
        "{gaps:?}"
    );
    assert_eq!(
        fake.threads(),
        vec![(story.id, channel, "Session 1".to_string())]
    );
    assert_eq!(fake.messages_in(story.id)[0].content, "in the thread");
    assert_eq!(
        fake.typing().iter().filter(|(c, _)| *c == channel).count(),
        1
    );
    fake.assert_no_pings();
    fake.assert_clean();
}

#[tokio::test]
async fn pings_are_detected() {
    let (fake, _bot) = connected(FakeConfig::default()).await;
    let (guild, channel) = guild_and_channel(&fake);
    fake.slash(BOB, guild, channel, "leak", json!({}))
        .await
        .wait_response()
        .await;
    let problems = fake.ping_problems();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains(&format!("<@{BOB}>")));
    assert!(problems[1].contains("a reply that pings its author"));
}

#[tokio::test]
async fn malformed_and_unknown_dispatches_are_caught_from_serenity_logs() {
    let (fake, _bot) = connected(FakeConfig::default()).await;
    // Serenity turns a known event it cannot parse into `Event::Unknown` too.
    fake.send_raw_dispatch(0, "MESSAGE_CREATE", json!({"id": "not a snowflake"}));
    let first = fake.wait_serenity_problems(1).await;
    assert!(
        first[0].contains("An unknown event was received") && first[0].contains("MESSAGE_CREATE"),
        "{first:?}"
    );
    fake.send_raw_dispatch(0, "SOMETHING_DISCORD_ADDED_LATER", json!({}));
    let lines = fake.wait_serenity_problems(2).await;
    assert!(
        lines[1].contains("SOMETHING_DISCORD_ADDED_LATER"),
        "{lines:?}"
    );
}

#[tokio::test]
async fn injected_faults_reach_the_bot() {
    let (fake, bot) = connected(FakeConfig::default()).await;
    let (guild, channel) = guild_and_channel(&fake);
    fake.inject_fault(
        Some("POST"),
        "/callback",
        FaultKind::RateLimited {
            retry_after_secs: 0.5,
        },
        1,
    );
    let handle = fake.slash(BOB, guild, channel, "ping", json!({})).await;
    let limited = fake.wait_request(|r| r.status == 429).await;
    assert!(limited.path.ends_with("/callback"));
    assert!(
        handle
            .try_wait_response(Duration::from_millis(100))
            .await
            .is_none()
    );
    fake.inject_fault(None, "/callback", FaultKind::ServerError, 1);
    fake.slash(BOB, guild, channel, "ping", json!({})).await;
    fake.wait_request(|r| r.status == 500).await;
    let pong = fake
        .slash(BOB, guild, channel, "ping", json!({}))
        .await
        .wait_response()
        .await;
    assert_eq!(pong.content, "pong");
    let _ = bot;
    fake.assert_clean();
}

#[tokio::test]
async fn guilds_are_spread_over_shards() {
    let mut config = FakeConfig::default();
    let members = config.guilds[0].members.clone();
    // (id >> 22) % 2 == 1 puts this guild on shard 1.
    config
        .guilds
        .push(FakeGuild::new((1 << 22) * 1001, "Second Keep", members));
    let fake = FakeDiscord::start(config).await;
    let _bot = start_bot(&fake, 2).await;
    fake.wait_ready(0).await;
    fake.wait_ready(1).await;
    fake.wait_commands(&["ping"]).await;
    let second = &fake.config().guilds[1];
    let pong = fake
        .slash(BOB, second.id, second.general(), "ping", json!({}))
        .await
        .wait_response()
        .await;
    assert_eq!(pong.content, "pong");
    fake.assert_clean();
}

#[test]
fn payloads_deserialise_as_serenity_models() {
    let config = FakeConfig::default();
    let guild: serenity::Guild =
        serde_json::from_value(models::guild_create(&config, &config.guilds[0])).unwrap();
    assert_eq!(guild.members.len(), 3);
    assert_eq!(guild.channels.len(), 1);
    let ready: serenity::Ready =
        serde_json::from_value(models::ready(&config, [0, 1], "s", "ws://x")).unwrap();
    assert_eq!(ready.guilds.len(), 1);
    let app: serenity::CurrentApplicationInfo =
        serde_json::from_value(models::application_info(&config)).unwrap();
    assert_eq!(app.owner.unwrap().id.get(), config.owner_id);
    let user = FakeUser::new(5, "eve");
    let member: serenity::Member = serde_json::from_value(models::member(
        &models::fake_user(&user),
        1,
        Some(user.permissions),
    ))
    .unwrap();
    assert!(
        member
            .permissions
            .unwrap()
            .contains(serenity::Permissions::SEND_MESSAGES)
    );
}

#[test]
fn interaction_payloads_deserialise_as_serenity_models() {
    let config = FakeConfig::default();
    let g = &config.guilds[0];
    let user = &g.members[0];
    let member = models::member(&models::fake_user(user), g.id, Some(user.permissions));
    let channel = models::text_channel(g.id, &g.channels[0], 0);
    let data = json!({"id": "42", "name": "campaign", "type": 1, "options": [
        {"name": "create", "type": 1, "options": [{"name": "name", "type": 3, "value": "Rime"}]}
    ]});
    let payload = models::interaction(&config, 7, "tok", 2, data, g.id, channel, member);
    let parsed: serenity::Interaction = serde_json::from_value(payload).unwrap();
    let command = parsed.command().expect("a command interaction");
    assert_eq!(command.data.name, "campaign");
    assert_eq!(
        command.member.unwrap().permissions.unwrap(),
        serenity::Permissions::from_bits_truncate(user.permissions)
    );
}

fn raw_http(fake: &FakeDiscord) -> serenity::Http {
    let http = fake.http_allowing_pings().build();
    http.set_application_id(serenity::ApplicationId::new(fake.config().application_id));
    http
}

fn discord_error(err: serenity::Error) -> (u16, isize, String) {
    match err {
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(e)) => (
            e.status_code.as_u16(),
            e.error.code,
            serde_json::to_string(&e.error.errors).unwrap(),
        ),
        other => panic!("expected a Discord error, got {other:?}"),
    }
}

#[tokio::test]
async fn command_registration_follows_discord_rules() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let http = raw_http(&fake);
    let choices: Vec<_> = (0..26)
        .map(|i| json!({"name": format!("c{i}"), "value": i}))
        .collect();
    let bad = json!([
        {"name": "Bad Name", "description": "fine", "type": 1},
        {"name": "ok", "description": "d".repeat(101), "type": 1},
        {"name": "order", "description": "options", "options": [
            {"name": "a", "description": "optional", "type": 3},
            {"name": "b", "description": "required", "type": 3, "required": true},
            {"name": "c", "description": "too many choices", "type": 4, "choices": choices},
        ]},
    ]);
    let (status, code, errors) =
        discord_error(http.create_global_commands(&bad).await.unwrap_err());
    assert_eq!((status, code), (400, 50035));
    // Serenity flattens Discord's nested error tree into dotted paths.
    for field in [
        "0.name",
        "1.description",
        "2.options.1.required",
        "2.options.2.choices",
    ] {
        assert!(errors.contains(field), "{field} missing from {errors}");
    }
    assert!(fake.registered_commands().is_empty());
    assert_eq!(fake.violations().len(), 1);
    assert_eq!(fake.violations()[0].kind, "command_limit");

    let good = json!([{"name": "roll", "description": "Roll dice", "options": [
        {"name": "expression", "description": "Dice", "type": 3, "required": true},
        {"name": "reason", "description": "Why", "type": 3},
    ]}]);
    let created = http.create_global_commands(&good).await.unwrap();
    assert_eq!(created[0].name, "roll");
    assert_eq!(fake.registered_commands()[0].id, created[0].id.get());
}

#[tokio::test]
async fn messages_are_checked_like_discord() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let http = raw_http(&fake);
    let channel = serenity::ChannelId::new(fake.config().guilds[0].general());

    let (status, code, _) = discord_error(
        http.send_message(channel, vec![], &json!({}))
            .await
            .unwrap_err(),
    );
    assert_eq!((status, code), (400, 50006));

    let fields: Vec<_> = (0..26)
        .map(|i| json!({"name": format!("f{i}"), "value": "v"}))
        .collect();
    let buttons: Vec<_> = (0..6)
        .map(|i| json!({"type": 2, "style": 1, "custom_id": format!("b{i}"), "label": "l"}))
        .collect();
    let body = json!({
        "embeds": [{"title": "t".repeat(257), "fields": fields, "footer": {"text": "f".repeat(2049)}}],
        "components": [{"type": 1, "components": buttons}],
    });
    let (status, code, errors) =
        discord_error(http.send_message(channel, vec![], &body).await.unwrap_err());
    assert_eq!((status, code), (400, 50035));
    for needle in [
        "embeds.0.title",
        "embeds.0.fields",
        "embeds.0.footer.text",
        "components.0.components",
    ] {
        assert!(errors.contains(needle), "{needle} missing from {errors}");
    }

    let embeds: Vec<_> = (0..2)
        .map(|_| json!({"description": "d".repeat(3500)}))
        .collect();
    let (_, code, errors) = discord_error(
        http.send_message(channel, vec![], &json!({"embeds": embeds}))
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 50035);
    assert!(errors.contains("MAX_EMBED_SIZE_EXCEEDED"), "{errors}");

    let file = serenity::CreateAttachment::bytes(b"abc".to_vec(), "a.txt");
    let sent = http
        .send_message(
            channel,
            vec![file],
            &json!({"attachments": [{"id": 0, "filename": "a.txt"}]}),
        )
        .await
        .unwrap();
    assert_eq!(sent.attachments[0].filename, "a.txt");
    assert_eq!(
        fake.message(sent.id.get()).unwrap().attachments[0].bytes,
        b"abc"
    );

    let kinds: Vec<String> = fake.violations().into_iter().map(|v| v.kind).collect();
    assert_eq!(kinds, ["empty_message", "limit", "limit"]);
}

#[tokio::test]
async fn rest_identity_endpoints_parse_in_serenity() {
    let mut config = FakeConfig {
        recommended_shards: 3,
        ..FakeConfig::default()
    };
    config.bot_name = "Narrator".into();
    let fake = FakeDiscord::start(config).await;
    let http = raw_http(&fake);
    let gateway = http.get_gateway().await.unwrap();
    assert_eq!(gateway.url, fake.gateway_url());
    let bot_gateway = http.get_bot_gateway().await.unwrap();
    assert_eq!(bot_gateway.shards, 3);
    let me = http.get_current_user().await.unwrap();
    assert_eq!((me.name.as_str(), me.bot), ("Narrator", true));
    let app = http.get_current_application_info().await.unwrap();
    assert_eq!(app.id.get(), fake.config().application_id);
    let pins = http
        .get_pins(serenity::ChannelId::new(fake.config().guilds[0].general()))
        .await;
    assert_eq!(discord_error(pins.unwrap_err()).0, 404);
    assert_eq!(fake.violations()[0].kind, "unknown_route");
    assert_eq!(fake.requests().len(), 5);
}

#[tokio::test]
async fn a_reconnect_request_is_resumed() {
    let (fake, _bot) = connected(FakeConfig::default()).await;
    let (guild, channel) = guild_and_channel(&fake);
    fake.request_reconnect(0);
    fake.wait_resumed(0, 1).await;
    let pong = fake
        .slash(BOB, guild, channel, "ping", json!({}))
        .await
        .wait_response()
        .await;
    assert_eq!(pong.content, "pong");
    fake.assert_clean();
}

#[tokio::test]
async fn message_content_needs_its_intent() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let _bot = start_bot_with(&fake, 1, serenity::GatewayIntents::non_privileged()).await;
    fake.wait_ready(0).await;
    let (_, channel) = guild_and_channel(&fake);
    let said = fake.say(BOB, channel, "hello").await;
    let seen: Vec<_> = fake
        .dispatches(0)
        .into_iter()
        .filter(|(t, d)| t == "MESSAGE_CREATE" && d["id"] == json!(said.to_string()))
        .collect();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].1["content"], json!(""));
    let mention = format!("<@{}> hello", fake.config().bot_user_id);
    let said = fake.say(BOB, channel, &mention).await;
    let seen = fake
        .dispatches(0)
        .into_iter()
        .find(|(_, d)| d["id"] == json!(said.to_string()))
        .unwrap();
    assert_eq!(
        seen.1["content"],
        json!(mention),
        "mentions of the bot keep their content"
    );
    fake.assert_clean();
}
