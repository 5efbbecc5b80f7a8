//! Portraits end to end: the real bot against the fake Discord and a fake OpenAI Images API
//! (wiremock), on real SQLite. Embeds show portraits from uploaded attachments of the stored
//! bytes; the provider is asked once per portrait.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use gamemaster::core::game::guild::GuildSettings;
use gamemaster::core::ids::{CampaignId, CharacterId, GuildId, UserId};
use gamemaster::core::models::perf::PerfRecord;
use gamemaster::core::portrait::image::ImageKind;
use gamemaster::core::store::{CampaignStore, CharacterStore, GuildStore, ImageStore, PerfStore};
use serde_json::{Value, json};
use serenity::all::{CreateAttachment, CreateEmbed, CreateEmbedAuthor, CreateMessage, EditMessage};
use support::bot::{ALICE, BOB, NARRATOR, TestBot, spawn_bot, spawn_bot_with, world};
use support::fake_discord::{FakeConfig, FakeDiscord, RecordedRequest, StoredMessage};
use support::fake_llm::Reply;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// A real 1x1 PNG of one colour, as an image provider would send it.
fn png(rgb: [u8; 3]) -> Vec<u8> {
    png_sized(1, rgb)
}

/// A real square PNG of one colour.
fn png_sized(side: u32, rgb: [u8; 3]) -> Vec<u8> {
    let data: Vec<u8> = (0..side * side).flat_map(|_| rgb).collect();
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&data).unwrap();
    }
    out
}

/// Width, height and the first pixel (RGBA) of a PNG.
fn png_summary(bytes: &[u8]) -> (u32, u32, [u8; 4]) {
    let mut decoder = png::Decoder::new(bytes);
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let first = match reader.output_color_type().0 {
        png::ColorType::Rgba => [buf[0], buf[1], buf[2], buf[3]],
        png::ColorType::Rgb => [buf[0], buf[1], buf[2], 255],
        other => panic!("unexpected colour type {other:?}"),
    };
    (info.width, info.height, first)
}

fn images_ok(bytes: &[u8]) -> ResponseTemplate {
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    ResponseTemplate::new(200).set_body_json(json!({"created": 1, "data": [{"b64_json": b64}]}))
}

async fn images_server() -> MockServer {
    MockServer::start().await
}

/// The bot with OpenAI's Images API at `server` (`IMAGE_MODEL` keeps its default).
async fn painting_bot(server: &MockServer, extra: &[(&str, &str)]) -> TestBot {
    let uri = server.uri();
    let mut env = vec![
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", uri.as_str()),
    ];
    env.extend_from_slice(extra);
    spawn_bot_with(world(), &env).await
}

async fn create_character(bot: &TestBot, user: u64, name: &str, extra: Value) -> CharacterId {
    let mut options = json!({"name": name, "class": "Wizard", "race": "High Elf"});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        options[k] = v;
    }
    let r = bot.run(user, "character create", options).await;
    assert!(!r.ephemeral, "{}", r.content);
    let found = bot
        .db()
        .list_characters(GuildId(bot.guild), Some(UserId(user)))
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name.as_str() == name)
        .unwrap_or_else(|| panic!("{name} was not stored"));
    found.id
}

/// Waits until the reply `message` says something containing `needle` (the final edit).
async fn reply_saying(bot: &TestBot, message: u64, needle: &str) -> StoredMessage {
    let found = tokio::time::timeout(
        Duration::from_secs(15),
        bot.fake.wait_for_message(
            |m| m.id == message && m.content.contains(needle),
            Duration::from_secs(20),
        ),
    )
    .await;
    found.unwrap_or_else(|_| {
        let requests: Vec<(String, String, u16, Value)> = bot
            .fake
            .requests()
            .into_iter()
            .rev()
            .take(6)
            .map(|r| (r.method, r.path, r.status, r.body))
            .collect();
        panic!(
            "message {message} never said {needle:?}: it is {:#?}; last requests {requests:#?}",
            bot.fake.message(message)
        )
    })
}

/// Checks that the message shows exactly one PNG attachment and that its first embed's
/// `part` (thumbnail or author icon) refers to it; returns the bytes.
fn shown_png(m: &StoredMessage, pointer: &str) -> Vec<u8> {
    assert_eq!(m.attachments.len(), 1, "attachments of {}", m.id);
    let a = &m.attachments[0];
    assert!(
        a.bytes.starts_with(PNG_MAGIC),
        "{} is not a PNG",
        a.filename
    );
    let url = m.embeds[0]
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("embed has no {pointer}: {:?}", m.embeds));
    assert_eq!(url, format!("attachment://{}", a.filename));
    a.bytes.clone()
}

/// Multipart requests to the fake Discord that uploaded files, in order.
fn uploads(bot: &TestBot) -> Vec<RecordedRequest> {
    bot.fake
        .requests()
        .into_iter()
        .filter(|r| !r.files.is_empty())
        .collect()
}

async fn image_count(bot: &TestBot) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM images")
        .fetch_one(bot.db().pool())
        .await
        .unwrap()
}

async fn portrait_of(
    bot: &TestBot,
    id: CharacterId,
) -> gamemaster::core::portrait::image::StoredImage {
    let c = bot.db().character(id).await.unwrap().unwrap();
    bot.db()
        .image(c.portrait_id.expect("the character has a portrait"))
        .await
        .unwrap()
        .unwrap()
}

async fn image_requests(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.body_json().unwrap())
        .collect()
}

#[tokio::test]
async fn a_new_character_shows_the_placeholder_at_once_then_its_generated_portrait() {
    let server = images_server().await;
    let generated = png([200, 30, 30]);
    // The campaign's game master first, then Mira.
    Mock::given(method("POST"))
        .respond_with(images_ok(&png([0, 0, 0])))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/images/generations"))
        .respond_with(images_ok(&generated))
        .mount(&server)
        .await;
    let bot = painting_bot(&server, &[]).await;
    let campaign = campaign_with_portrait(&bot, "Lighthouse").await.0;

    let handle = bot
        .slash(
            BOB,
            "character create",
            json!({"name": "Mira", "class": "Wizard", "race": "High Elf", "gender": "female",
                   "description": "silver hair, carries a toad", "campaign": campaign.to_string()}),
        )
        .await;
    let first = handle.wait_response().await;
    assert_eq!(
        first.ack,
        support::fake_discord::AckKind::DeferredMessage,
        "defers before painting"
    );
    let message = first.message_id.unwrap();
    // No note once painted.
    let done = bot
        .fake
        .wait_for_message(
            |m| m.id == message && m.content == "**Mira** joins the story.",
            Duration::from_secs(15),
        )
        .await;
    assert_eq!(shown_png(&done, "/thumbnail/url"), generated);

    // The reply was posted with the placeholder first, then edited with the portrait.
    let sent: Vec<RecordedRequest> = uploads(&bot)
        .into_iter()
        .filter(|r| r.path.contains(&handle.token))
        .collect();
    assert_eq!(sent.len(), 2, "{sent:#?}");
    assert_eq!(sent[0].method, "POST");
    assert!(
        sent[0].body["content"]
            .as_str()
            .unwrap()
            .contains("being painted"),
        "{}",
        sent[0].body
    );
    let placeholder = &sent[0].files[0].bytes;
    assert!(placeholder.starts_with(PNG_MAGIC));
    assert_ne!(placeholder, &generated);
    assert_eq!(sent[1].method, "PATCH");
    assert!(sent[1].path.ends_with(&format!("/messages/{message}")));
    assert_eq!(sent[1].files[0].bytes, generated);

    // Stored once; the placeholder, no longer shown, is gone.
    let mira = bot
        .db()
        .list_characters(GuildId(bot.guild), Some(UserId(BOB)))
        .await
        .unwrap()
        .remove(0);
    let stored = portrait_of(&bot, mira.id).await;
    assert_eq!(stored.kind, ImageKind::CharacterPortrait);
    assert_eq!(stored.bytes, generated);
    let prompt = stored.prompt.unwrap();
    for part in [
        "High Elf",
        "Wizard",
        "female",
        "silver hair",
        "haunted forests",
    ] {
        assert!(prompt.contains(part), "{part} missing from {prompt}");
    }
    let requests = image_requests(&server).await;
    // One for the campaign's game master, one for Mira.
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1]["model"], "dall-e-3");
    assert_eq!(requests[1]["response_format"], "b64_json");

    // Later embeds come from the stored bytes: the provider is not asked again.
    let shown = bot
        .run(
            ALICE,
            "character show",
            json!({"character": mira.id.0.to_string()}),
        )
        .await;
    let shown = bot.fake.message(shown.message_id.unwrap()).unwrap();
    assert_eq!(shown_png(&shown, "/thumbnail/url"), generated);
    assert_eq!(image_requests(&server).await.len(), 2);
    bot.assert_clean();
}

#[tokio::test]
async fn without_an_image_model_the_placeholder_stays_and_says_why() {
    let bot = spawn_bot().await;
    let r = bot
        .run(
            ALICE,
            "character create",
            json!({"name": "Thorin", "class": "Fighter", "race": "Hill Dwarf"}),
        )
        .await;
    assert_eq!(
        r.content,
        "**Thorin** joins the story.\nNo image model is configured, so here is a placeholder portrait."
    );
    let m = bot.fake.message(r.message_id.unwrap()).unwrap();
    let bytes = shown_png(&m, "/thumbnail/url");
    let thorin = bot
        .db()
        .list_characters(GuildId(bot.guild), None)
        .await
        .unwrap()
        .remove(0);
    let stored = portrait_of(&bot, thorin.id).await;
    assert_eq!(stored.kind, ImageKind::Placeholder);
    assert_eq!(stored.bytes, bytes);
    // A repaint without an image model says so at once, keeping the placeholder.
    let again = bot
        .run(
            ALICE,
            "character portrait",
            json!({"character": thorin.id.0.to_string()}),
        )
        .await;
    assert_eq!(
        again.content,
        "A new portrait of **Thorin**.\nNo image model is configured, so here is a placeholder portrait."
    );
    let m = bot.fake.message(again.message_id.unwrap()).unwrap();
    assert_eq!(shown_png(&m, "/thumbnail/url"), bytes);
    assert_eq!(portrait_of(&bot, thorin.id).await.id, stored.id);
    assert_eq!(image_count(&bot).await, 1);
    // Exactly one answer each: nothing to edit when nothing is being painted.
    assert_eq!(
        uploads(&bot)
            .iter()
            .filter(|r| r.path.contains("/webhooks/") && r.method == "PATCH")
            .count(),
        0
    );
    bot.assert_clean();
}

#[tokio::test]
async fn refusals_errors_and_timeouts_keep_the_placeholder_with_one_line_why() {
    let server = images_server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "code": "content_policy_violation",
            "message": "Your request was rejected as a result of our safety system.",
            "type": "invalid_request_error"}})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "code": null, "message": "Invalid size.", "type": "invalid_request_error"}})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(images_ok(&png([1, 2, 3])).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let bot = painting_bot(&server, &[("PORTRAIT_TIMEOUT_SECS", "1")]).await;

    for (name, expected) in [
        ("Refused", "safety system refused this portrait"),
        ("Failed", "could not be generated"),
        ("Slow", "took too long"),
    ] {
        let handle = bot
            .slash(
                ALICE,
                "character create",
                json!({"name": name, "class": "Rogue", "race": "Tiefling"}),
            )
            .await;
        let first = handle.wait_response().await;
        let done = reply_saying(&bot, first.message_id.unwrap(), expected).await;
        let lines: Vec<&str> = done.content.lines().collect();
        assert_eq!(lines.len(), 2, "{}", done.content);
        assert_eq!(lines[0], format!("**{name}** joins the story."));
        let bytes = shown_png(&done, "/thumbnail/url");
        let id = bot
            .db()
            .list_characters(GuildId(bot.guild), None)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.name.as_str() == name)
            .unwrap()
            .id;
        let stored = portrait_of(&bot, id).await;
        assert_eq!(stored.kind, ImageKind::Placeholder, "{name}");
        assert_eq!(stored.bytes, bytes);
    }
    bot.assert_clean();
}

#[tokio::test]
async fn the_daily_limit_and_the_server_budget_keep_the_placeholder() {
    let server = images_server().await;
    Mock::given(method("POST"))
        .respond_with(images_ok(&png([9, 9, 9])))
        .mount(&server)
        .await;
    let bot = painting_bot(&server, &[("PORTRAITS_PER_DAY", "1")]).await;
    let first = bot
        .slash(
            ALICE,
            "character create",
            json!({"name": "One", "class": "Cleric", "race": "Human"}),
        )
        .await
        .wait_response()
        .await;
    reply_saying(&bot, first.message_id.unwrap(), "joins the story").await;
    bot.fake
        .wait_for_message(
            |m| m.id == first.message_id.unwrap() && !m.content.contains("being painted"),
            Duration::from_secs(15),
        )
        .await;
    let second = bot
        .slash(
            ALICE,
            "character create",
            json!({"name": "Two", "class": "Cleric", "race": "Human"}),
        )
        .await
        .wait_response()
        .await;
    let limited = reply_saying(
        &bot,
        second.message_id.unwrap(),
        "portraits are limited to 1 per day",
    )
    .await;
    shown_png(&limited, "/thumbnail/url");

    // Bob still has his allowance, but the server's budget is spent.
    let mut settings = GuildSettings::defaults(GuildId(bot.guild));
    settings.monthly_budget_usd = Some(1.0);
    bot.db().save_guild_settings(&settings).await.unwrap();
    bot.db()
        .record_call(&PerfRecord {
            guild_id: Some(GuildId(bot.guild)),
            user_id: Some(UserId(ALICE)),
            cost_usd: Some(1.5),
            ..crate::support::perf::call()
        })
        .await
        .unwrap();
    let third = bot
        .slash(
            BOB,
            "character create",
            json!({"name": "Three", "class": "Cleric", "race": "Human"}),
        )
        .await
        .wait_response()
        .await;
    let broke = reply_saying(&bot, third.message_id.unwrap(), "monthly model budget").await;
    shown_png(&broke, "/thumbnail/url");
    assert_eq!(
        image_requests(&server).await.len(),
        1,
        "refused portraits never reach the provider"
    );
    bot.assert_clean();
}

#[tokio::test]
async fn identical_portraits_are_stored_once_and_deleted_with_their_last_owner() {
    let server = images_server().await;
    let same = png([40, 80, 160]);
    Mock::given(method("POST"))
        .respond_with(images_ok(&same))
        .mount(&server)
        .await;
    let bot = painting_bot(&server, &[]).await;
    let mut ids = vec![];
    for (user, name) in [(ALICE, "Twin"), (BOB, "Other Twin")] {
        let handle = bot
            .slash(
                user,
                "character create",
                json!({"name": name, "class": "Monk", "race": "Human"}),
            )
            .await;
        let first = handle.wait_response().await;
        bot.fake
            .wait_for_message(
                |m| m.id == first.message_id.unwrap() && m.content.ends_with("joins the story."),
                Duration::from_secs(15),
            )
            .await;
        ids.push(
            bot.db()
                .list_characters(GuildId(bot.guild), Some(UserId(user)))
                .await
                .unwrap()
                .remove(0)
                .id,
        );
    }
    let a = portrait_of(&bot, ids[0]).await;
    let b = portrait_of(&bot, ids[1]).await;
    assert_eq!(a.id, b.id, "the same bytes are one image");
    assert_eq!(image_count(&bot).await, 1, "placeholders were removed");

    let gone = bot
        .run(
            ALICE,
            "character delete",
            json!({"character": ids[0].0.to_string()}),
        )
        .await;
    assert!(
        gone.content.contains("has left the story"),
        "{}",
        gone.content
    );
    assert!(
        bot.db().image(a.id).await.unwrap().is_some(),
        "still shown by the other character"
    );
    bot.run(
        BOB,
        "character delete",
        json!({"character": ids[1].0.to_string()}),
    )
    .await;
    assert!(bot.db().image(a.id).await.unwrap().is_none());
    assert_eq!(image_count(&bot).await, 0);
    bot.assert_clean();
}

/// Creates a campaign and waits until its game master's portrait is painted.
async fn campaign_with_portrait(bot: &TestBot, name: &str) -> CampaignId {
    let handle = bot
        .slash(
            ALICE,
            "campaign create",
            json!({"name": name, "themes": "haunted forests", "language": 0, "model": NARRATOR}),
        )
        .await;
    let first = handle.wait_response().await;
    assert!(!first.ephemeral, "{}", first.content);
    bot.fake
        .wait_for_message(
            |m| m.id == first.message_id.unwrap() && m.content.ends_with("`/session start`."),
            Duration::from_secs(15),
        )
        .await;
    CampaignId(support::bot::campaign_id(bot, name).await)
}

#[tokio::test]
async fn the_game_master_portrait_signs_narrations_and_goes_with_its_campaign() {
    let server = images_server().await;
    let gm = png_sized(512, [10, 200, 10]);
    Mock::given(method("POST"))
        .respond_with(images_ok(&gm))
        .mount(&server)
        .await;
    let bot = painting_bot(&server, &[]).await;
    let id = campaign_with_portrait(&bot, "Greenwood").await;
    let campaign = bot.db().campaign(id).await.unwrap().unwrap();
    let portrait = bot
        .db()
        .image(campaign.gm_portrait_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(portrait.kind, ImageKind::GameMasterPortrait);
    assert_eq!(portrait.bytes, gm);
    assert!(portrait.prompt.unwrap().contains("haunted forests"));

    // The opening narration: its text is exactly the model's (mentions included, pinging
    // nobody), signed by the game master with the stored portrait.
    let opening = "The trees lean close. @everyone <@2000000000000000002> hears a branch snap.";
    bot.llm.push(Reply::openai_text(
        &[opening],
        Some((40, 12)),
        Duration::ZERO,
    ));
    let r = bot
        .run(
            ALICE,
            "session start",
            json!({"campaign": id.0.to_string()}),
        )
        .await;
    assert!(!r.ephemeral, "{}", r.content);
    let narration = bot
        .wait_bot_message(bot.channel, |m| {
            m.content == opening && !m.components.is_empty()
        })
        .await;
    // A 128-pixel icon of the portrait, not the whole image, rides on every narration.
    let icon = shown_png(&narration, "/author/icon_url");
    assert_eq!(png_summary(&icon), (128, 128, [10, 200, 10, 255]));
    assert!(icon.len() < gm.len(), "{} >= {}", icon.len(), gm.len());
    assert_eq!(
        narration.embeds[0]["author"]["name"],
        "The game master of Greenwood"
    );
    let info = bot
        .run(BOB, "campaign info", json!({"campaign": id.0.to_string()}))
        .await;
    let info = bot.fake.message(info.message_id.unwrap()).unwrap();
    assert_eq!(shown_png(&info, "/thumbnail/url"), gm);
    assert_eq!(image_requests(&server).await.len(), 1, "painted once");
    bot.run(ALICE, "session end", json!({})).await;

    // Deleting the campaign deletes its portrait.
    let ask = bot
        .run(
            ALICE,
            "campaign delete",
            json!({"campaign": id.0.to_string()}),
        )
        .await;
    bot.fake
        .click(
            ALICE,
            ask.message_id.unwrap(),
            &format!("campaign-delete:{}", id.0),
        )
        .await
        .wait_response()
        .await;
    assert!(bot.db().campaign(id).await.unwrap().is_none());
    assert!(bot.db().image(portrait.id).await.unwrap().is_none());
    bot.assert_clean();
}

#[tokio::test]
async fn repainting_is_for_owners_and_a_failed_repaint_keeps_the_portrait() {
    let server = images_server().await;
    let first = png([1, 1, 200]);
    let second = png([200, 200, 1]);
    Mock::given(method("POST"))
        .respond_with(images_ok(&first))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(images_ok(&second))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "code": "content_policy_violation", "message": "rejected", "type": "invalid_request_error"}})))
        .mount(&server)
        .await;
    let bot = painting_bot(&server, &[]).await;
    let campaign = campaign_with_portrait(&bot, "Dunes").await;
    let mira = create_character(&bot, ALICE, "Mira", json!({})).await;
    bot.fake
        .wait_for_message(
            |m| m.content == "**Mira** joins the story.",
            Duration::from_secs(15),
        )
        .await;
    let old = portrait_of(&bot, mira).await;
    assert_eq!(old.bytes, first);

    let refused = bot
        .run(
            BOB,
            "character portrait",
            json!({"character": mira.0.to_string()}),
        )
        .await;
    assert!(refused.ephemeral);
    assert!(
        refused.content.contains("Only the player who created"),
        "{}",
        refused.content
    );
    let refused = bot
        .run(
            BOB,
            "campaign portrait",
            json!({"campaign": campaign.0.to_string()}),
        )
        .await;
    assert!(refused.ephemeral);
    assert!(refused.content.contains("Only the campaign's owner"));
    let too_long = bot
        .run(
            ALICE,
            "character portrait",
            json!({"character": mira.0.to_string(), "style": "a\nb"}),
        )
        .await;
    assert!(too_long.ephemeral, "{}", too_long.content);
    assert_eq!(
        image_requests(&server).await.len(),
        2,
        "refusals cost nothing"
    );

    let repaint = bot
        .slash(
            ALICE,
            "character portrait",
            json!({"character": mira.0.to_string(), "style": "watercolour"}),
        )
        .await
        .wait_response()
        .await;
    let done = bot
        .fake
        .wait_for_message(
            |m| m.id == repaint.message_id.unwrap() && m.content == "A new portrait of **Mira**.",
            Duration::from_secs(15),
        )
        .await;
    assert_eq!(shown_png(&done, "/thumbnail/url"), second);
    let requests = image_requests(&server).await;
    assert!(
        requests[2]["prompt"]
            .as_str()
            .unwrap()
            .contains("watercolour")
    );
    let new = portrait_of(&bot, mira).await;
    assert_eq!(new.bytes, second);
    assert!(
        bot.db().image(old.id).await.unwrap().is_some(),
        "the old bytes are still the game master's"
    );

    // The provider refuses the next one: the portrait Mira has stays, and the reply says so.
    let again = bot
        .slash(
            ALICE,
            "character portrait",
            json!({"character": mira.0.to_string()}),
        )
        .await
        .wait_response()
        .await;
    let kept = reply_saying(&bot, again.message_id.unwrap(), "current portrait stays").await;
    assert_eq!(kept.content.lines().count(), 2, "{}", kept.content);
    assert_eq!(shown_png(&kept, "/thumbnail/url"), second);
    assert_eq!(portrait_of(&bot, mira).await.id, new.id);

    let gm = bot
        .slash(
            ALICE,
            "campaign portrait",
            json!({"campaign": campaign.0.to_string()}),
        )
        .await
        .wait_response()
        .await;
    reply_saying(&bot, gm.message_id.unwrap(), "current portrait stays").await;
    bot.assert_clean();
}

/// The fake Discord applies attachments on edits as Discord's API v10 does, and flags embeds
/// that name a file the message doesn't carry.
#[tokio::test]
async fn the_fake_discord_resolves_attachments_on_edits_as_discord_does() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let http = Arc::new(fake.http());
    let channel = serenity::all::ChannelId::new(fake.config().guilds[0].general());
    let one = png([1, 0, 0]);
    let two = png([0, 1, 0]);
    let sent = channel
        .send_message(
            &http,
            CreateMessage::new()
                .embed(
                    CreateEmbed::new()
                        .thumbnail("attachment://one.png")
                        .title("x"),
                )
                .add_file(CreateAttachment::bytes(one.clone(), "one.png")),
        )
        .await
        .unwrap();
    // The embed Discord returns points at the uploaded file, not at `attachment://`.
    let served = sent.embeds[0].thumbnail.as_ref().unwrap().url.clone();
    assert!(served.starts_with("http://"), "{served}");
    assert_eq!(
        reqwest::get(&served)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec(),
        one
    );

    // A new attachment replaces the old one (serenity lists only the new upload).
    channel
        .edit_message(
            &http,
            sent.id,
            EditMessage::new()
                .embed(
                    CreateEmbed::new()
                        .thumbnail("attachment://two.png")
                        .title("x"),
                )
                .new_attachment(CreateAttachment::bytes(two.clone(), "two.png")),
        )
        .await
        .unwrap();
    let m = fake.message(sent.id.get()).unwrap();
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].filename, "two.png");
    assert_eq!(m.attachments[0].bytes, two);

    // A content-only edit keeps embeds and files.
    channel
        .edit_message(&http, sent.id, EditMessage::new().content("text"))
        .await
        .unwrap();
    let m = fake.message(sent.id.get()).unwrap();
    assert_eq!((m.attachments.len(), m.embeds.len()), (1, 1));
    fake.assert_clean();

    // An embed naming a file the message doesn't have is a bug Discord would show as nothing.
    channel
        .edit_message(
            &http,
            sent.id,
            EditMessage::new().embed(
                CreateEmbed::new()
                    .author(CreateEmbedAuthor::new("gm").icon_url("attachment://gone.png")),
            ),
        )
        .await
        .unwrap();
    let v = fake.violations();
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_eq!(v[0].kind, "dangling_attachment");

    // Keeping a file the message does not have is refused by Discord.
    channel
        .edit_message(
            &http,
            sent.id,
            EditMessage::new().keep_existing_attachment(serenity::all::AttachmentId::new(42)),
        )
        .await
        .unwrap();
    let v = fake.violations();
    assert!(
        v[1..].iter().any(|v| v.kind == "unknown_attachment"),
        "{v:#?}"
    );
}

/// A real-size portrait PNG cannot compress much: RGB noise from a small generator, about
/// 3 MB at 1024x1024, as heavy as a detailed generated painting.
fn noise_png(side: u32) -> Vec<u8> {
    let mut state = 0x9e37_79b9_u32;
    let data: Vec<u8> = (0..side * side * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder
            .write_header()
            .unwrap()
            .write_image_data(&data)
            .unwrap();
    }
    out
}

/// Creates a character and waits for its reply's final version (the portrait painted).
async fn paint_one(bot: &TestBot, name: &str) -> StoredMessage {
    let handle = bot
        .slash(
            ALICE,
            "character create",
            json!({"name": name, "class": "Wizard", "race": "Human"}),
        )
        .await;
    let first = handle.wait_response().await;
    let message = first.message_id.unwrap();
    bot.fake
        .wait_for_message(
            |m| m.id == message && m.content == format!("**{name}** joins the story."),
            Duration::from_secs(60),
        )
        .await
}

#[tokio::test]
async fn a_real_size_portrait_of_several_megabytes_goes_through_character_create() {
    let generated = noise_png(1024);
    assert!(generated.len() > 3 << 20, "{} bytes", generated.len());
    let server = images_server().await;
    Mock::given(method("POST"))
        .respond_with(images_ok(&generated))
        .mount(&server)
        .await;
    let bot = painting_bot(&server, &[]).await;
    let done = paint_one(&bot, "Vesna").await;
    assert_eq!(shown_png(&done, "/thumbnail/url"), generated);
    let refused: Vec<u16> = bot
        .fake
        .requests()
        .iter()
        .map(|r| r.status)
        .filter(|s| *s == 413)
        .collect();
    assert!(refused.is_empty(), "uploads refused: {refused:?}");
    bot.assert_clean();
}

#[tokio::test]
async fn a_portrait_over_the_upload_limit_is_scaled_down_before_it_is_sent() {
    let generated = noise_png(2048);
    assert!(generated.len() > support::fake_discord::UPLOAD_LIMIT);
    let server = images_server().await;
    Mock::given(method("POST"))
        .respond_with(images_ok(&generated))
        .mount(&server)
        .await;
    let bot = painting_bot(&server, &[]).await;
    let done = paint_one(&bot, "Goran").await;
    let shown = shown_png(&done, "/thumbnail/url");
    assert!(shown.len() <= support::fake_discord::UPLOAD_LIMIT);
    let (width, height, _) = png_summary(&shown);
    assert_eq!(width, height);
    assert!((1024..2048).contains(&width), "{width}");
    // What is stored is what was sent, so every later embed fits too.
    let goran = bot
        .db()
        .list_characters(GuildId(bot.guild), None)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name.as_str() == "Goran")
        .unwrap();
    assert_eq!(portrait_of(&bot, goran.id).await.bytes, shown);
    assert!(bot.fake.requests().iter().all(|r| r.status != 413));
    bot.assert_clean();
}

#[tokio::test]
async fn a_portrait_painted_after_the_interaction_expired_is_posted_in_the_channel() {
    let generated = png_sized(64, [10, 200, 10]);
    let server = images_server().await;
    Mock::given(method("POST"))
        .respond_with(images_ok(&generated).set_delay(Duration::from_millis(2_500)))
        .mount(&server)
        .await;
    let mut fake = world();
    fake.rules.interaction_token_ttl = Duration::from_secs(2);
    let uri = server.uri();
    let bot = spawn_bot_with(
        fake,
        &[
            ("OPENAI_API_KEY", "sk-test"),
            ("OPENAI_BASE_URL", uri.as_str()),
        ],
    )
    .await;
    let handle = bot
        .slash(
            ALICE,
            "character create",
            json!({"name": "Late", "class": "Bard", "race": "Human"}),
        )
        .await;
    let first = handle.wait_response().await;
    let posted = bot
        .fake
        .wait_for_message(
            |m| {
                m.from_bot
                    && m.channel_id == bot.channel
                    && Some(m.id) != first.message_id
                    && m.content == "**Late** joins the story."
            },
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(shown_png(&posted, "/thumbnail/url"), generated);
    let expired = bot
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.status == 401 && r.path.contains(&handle.token))
        .count();
    assert_eq!(expired, 1, "one edit refused, then the channel message");
}
