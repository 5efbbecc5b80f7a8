//! Opt-in: a real OpenAI-compatible server (see scripts/local-llm.sh). Ignored by a plain
//! `cargo test`, so it is never counted as passed without a server; run it with
//! `LIVE_LLM_BASE_URL=http://127.0.0.1:8089/v1 cargo test --test llm live -- --ignored`.
//! Asked for without the variable, or with the server down, it fails.

use std::time::Duration;

use futures::StreamExt;
use gamemaster::core::models::chat::{ChatMessage, ChatRequest, ModelId, Role, StreamEvent};
use gamemaster::llm::{ProviderKeys, ProviderSettings, Registry, RetryPolicy};

#[test]
#[ignore = "needs a live model server: set LIVE_LLM_BASE_URL and run with --ignored"]
fn live_llm_opt_in_local_gemma_streams_text_with_estimated_usage() {
    let base_url = std::env::var("LIVE_LLM_BASE_URL")
        .expect("LIVE_LLM_BASE_URL must point at the model server (see scripts/local-llm.sh)");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let policy = RetryPolicy {
            max_attempts: 1,
            idle_timeout: Duration::from_secs(120),
            ..RetryPolicy::default()
        };
        let registry = Registry::new(
            ProviderSettings {
                keys: ProviderKeys {
                    local_base_url: Some(base_url),
                    local_models: vec!["gemma-3-270m".into()],
                    ..Default::default()
                },
                timeouts: policy.clone(),
                ..Default::default()
            },
            policy.client_builder().build().unwrap(),
        );
        let model = registry
            .chat_model(&ModelId::parse("local:gemma-3-270m").unwrap())
            .unwrap();
        let request = ChatRequest {
            system: "You are a game master. Answer in one short sentence.".into(),
            messages: vec![ChatMessage {
                role: Role::User,
                content: "Describe a tavern.".into(),
            }],
            max_tokens: 40,
            temperature: Some(0.2),
            state_tool: false,
        };
        let mut stream = model
            .stream_chat(request)
            .await
            .expect("local server reachable");
        let mut text = String::new();
        let mut done = None;
        while let Some(event) = stream.next().await {
            match event.expect("stream ok") {
                StreamEvent::Delta(t) => text.push_str(&t),
                StreamEvent::Done(c) => done = Some(c),
            }
        }
        let done = done.expect("stream finished");
        assert!(!text.trim().is_empty(), "no text");
        // llama-cpp-python sends no usage chunk, so the counts are estimated.
        assert!(done.usage.estimated, "{:?}", done.usage);
        assert!(
            done.usage.tokens_in > 5 && done.usage.tokens_out > 0,
            "{:?}",
            done.usage
        );
        assert!(done.ttft.is_some() && done.ttft.unwrap() <= done.latency);
        eprintln!("live model said: {text:?} ({:?})", done);
    });
}
