//! The fake enforces Discord's rules beyond payload shape: rate limits with Discord's headers,
//! the upload limit, token expiry, and a world that changes under the bot.

use std::time::Duration;

use poise::serenity_prelude as serenity;
use serde_json::{Value, json};
use serenity::{ChannelId, CreateAttachment, CreateMessage, EditMessage};

use super::harness::{connected, guild_and_channel};
use crate::support::fake_discord::{FakeConfig, FakeDiscord, UPLOAD_LIMIT, perms};

/// A client that sees every status and header (serenity's would wait out a 429 itself).
struct Raw<'a> {
    fake: &'a FakeDiscord,
    client: reqwest::Client,
}

impl<'a> Raw<'a> {
    fn new(fake: &'a FakeDiscord) -> Self {
        let client = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .build()
            .unwrap();
        Self { fake, client }
    }

    async fn send(&self, method: &str, path: &str, body: Value) -> reqwest::Response {
        let url = format!("{}/api/v10/{path}", self.fake.base_url());
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        self.client
            .request(method, url)
            .header("authorization", format!("Bot {}", self.fake.config().token))
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

fn header<'r>(response: &'r reqwest::Response, name: &str) -> Option<&'r str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn error_code(response: reqwest::Response) -> (u16, u64) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["code"].as_u64().unwrap_or(0))
}

#[tokio::test]
async fn a_channels_creates_and_edits_share_one_bucket_of_five_per_five_seconds() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let raw = Raw::new(&fake);
    let channel = fake.config().guilds[0].general();
    let path = format!("channels/{channel}/messages");
    let first = raw.send("POST", &path, json!({"content": "one"})).await;
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, "x-ratelimit-limit"), Some("5"));
    assert_eq!(header(&first, "x-ratelimit-remaining"), Some("4"));
    let reset_after: f64 = header(&first, "x-ratelimit-reset-after")
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset_after > 4.0 && reset_after <= 5.0, "{reset_after}");
    assert!(header(&first, "x-ratelimit-reset").is_some());
    let bucket = header(&first, "x-ratelimit-bucket").unwrap().to_string();
    let id = first.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for n in 0..3 {
        let edit = raw
            .send(
                "PATCH",
                &format!("{path}/{id}"),
                json!({"content": n.to_string()}),
            )
            .await;
        assert_eq!(edit.status(), 200);
        assert_eq!(header(&edit, "x-ratelimit-bucket"), Some(bucket.as_str()));
    }
    assert_eq!(
        raw.send("POST", &path, json!({"content": "five"}))
            .await
            .status(),
        200
    );

    let refused = raw
        .send("PATCH", &format!("{path}/{id}"), json!({"content": "six"}))
        .await;
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "x-ratelimit-remaining"), Some("0"));
    assert!(header(&refused, "retry-after").is_some());
    assert!(header(&refused, "x-ratelimit-global").is_none());
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["global"], json!(false));
    assert!(body["retry_after"].as_f64().unwrap() > 4.0);
    // The refused edit changed nothing.
    let message = fake.message(id.parse().unwrap()).unwrap();
    assert_eq!(message.content, "2");
    assert_eq!(fake.rate_limited().len(), 1);
    assert_eq!(fake.rate_limited()[0].bucket, format!("messages:{channel}"));
}

#[tokio::test]
async fn followups_are_limited_per_interaction_token() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let raw = Raw::new(&fake);
    let app = fake.config().application_id;
    for _ in 0..5 {
        let r = raw
            .send(
                "POST",
                &format!("webhooks/{app}/token-a"),
                json!({"content": "x"}),
            )
            .await;
        assert_ne!(r.status(), 429);
    }
    let limited = raw
        .send(
            "POST",
            &format!("webhooks/{app}/token-a"),
            json!({"content": "x"}),
        )
        .await;
    assert_eq!(limited.status(), 429);
    let other = raw
        .send(
            "POST",
            &format!("webhooks/{app}/token-b"),
            json!({"content": "x"}),
        )
        .await;
    assert_ne!(other.status(), 429, "each token has its own bucket");
}

#[tokio::test]
async fn fifty_requests_a_second_in_all_then_a_global_429_but_callbacks_are_exempt() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let raw = Raw::new(&fake);
    // Distinct channels: every request is in a bucket of its own, so only the global limit
    // can refuse.
    for n in 0..50u64 {
        let r = raw
            .send("GET", &format!("channels/{}", 100 + n), Value::Null)
            .await;
        assert_ne!(r.status(), 429, "request {n}");
    }
    let refused = raw.send("GET", "channels/999", Value::Null).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "x-ratelimit-global"), Some("true"));
    assert_eq!(header(&refused, "x-ratelimit-scope"), Some("global"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["global"], json!(true));
    let callback = raw
        .send(
            "POST",
            "interactions/1/some-token/callback",
            json!({"type": 1}),
        )
        .await;
    assert_ne!(
        callback.status(),
        429,
        "interaction callbacks are not globally limited"
    );
    assert_eq!(fake.rate_limited().len(), 1);
    assert_eq!(fake.rate_limited()[0].bucket, "global");
}

#[tokio::test]
async fn serenitys_limiter_waits_out_the_bucket_instead_of_being_refused() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let http = fake.http();
    let channel = ChannelId::new(fake.config().guilds[0].general());
    let started = std::time::Instant::now();
    for n in 0..6 {
        channel.say(&http, format!("line {n}")).await.unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(fake.rate_limited().is_empty(), "{:?}", fake.rate_limited());
    assert_eq!(fake.messages_in(channel.get()).len(), 6);
}

#[tokio::test]
async fn uploads_up_to_ten_mib_are_accepted_and_larger_ones_get_40005() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let http = fake.http();
    let channel = ChannelId::new(fake.config().guilds[0].general());
    let legal = CreateAttachment::bytes(vec![7u8; UPLOAD_LIMIT], "portrait.png");
    let sent = channel
        .send_message(&http, CreateMessage::new().add_file(legal))
        .await
        .expect("a 10 MiB upload is legal");
    assert_eq!(
        fake.message(sent.id.get()).unwrap().attachments[0]
            .bytes
            .len(),
        UPLOAD_LIMIT
    );

    let too_big = CreateAttachment::bytes(vec![7u8; UPLOAD_LIMIT + 1], "portrait.png");
    let err = channel
        .send_message(&http, CreateMessage::new().add_file(too_big))
        .await
        .unwrap_err();
    assert_eq!(discord_code(&err), Some((413, 40005)), "{err:?}");
}

fn discord_code(err: &serenity::Error) -> Option<(u16, isize)> {
    match err {
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(r)) => {
            Some((r.status_code.as_u16(), r.error.code))
        }
        _ => None,
    }
}

#[tokio::test]
async fn interaction_tokens_expire() {
    let mut config = FakeConfig::default();
    config.rules.interaction_token_ttl = Duration::from_millis(300);
    let (fake, _bot) = connected(config).await;
    let (guild, channel) = guild_and_channel(&fake);
    let user = fake.config().guilds[0].members[1].id;
    let handle = fake.slash(user, guild, channel, "ping", json!({})).await;
    handle.wait_response().await;
    let raw = Raw::new(&fake);
    let app = fake.config().application_id;
    let path = format!("webhooks/{app}/{}", handle.token);
    let fresh = raw.send("POST", &path, json!({"content": "in time"})).await;
    assert_eq!(fresh.status(), 200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let late = raw
        .send("POST", &path, json!({"content": "too late"}))
        .await;
    assert_eq!(error_code(late).await, (401, 50027));
}

#[tokio::test]
async fn permissions_taken_channels_deleted_and_threads_archived_are_refused() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let http = fake.http();
    let guild = &fake.config().guilds[0];
    let channel = ChannelId::new(guild.general());
    let thread = channel
        .create_thread(
            &http,
            serenity::CreateThread::new("Quest").kind(serenity::ChannelType::PublicThread),
        )
        .await
        .unwrap();
    let message = thread.id.say(&http, "before").await.unwrap();

    fake.archive_thread(thread.id.get());
    let err = thread.id.say(&http, "after").await.unwrap_err();
    assert_eq!(discord_code(&err), Some((400, 50083)));
    let err = thread
        .id
        .edit_message(&http, message.id, EditMessage::new().content("changed"))
        .await
        .unwrap_err();
    assert_eq!(discord_code(&err), Some((400, 50083)));

    fake.deny_bot(channel.get(), perms::SEND_MESSAGES);
    let err = channel.say(&http, "hello").await.unwrap_err();
    assert_eq!(discord_code(&err), Some((403, 50013)));

    fake.delete_channel(channel.get());
    let err = channel.say(&http, "hello").await.unwrap_err();
    assert_eq!(discord_code(&err), Some((404, 10003)));
    assert!(fake.messages_in(channel.get()).is_empty());
}
