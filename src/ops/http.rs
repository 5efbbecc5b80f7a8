//! The `METRICS_ADDR` listener: `/healthz` for orchestrators (200 or 503 with the reasons)
//! and `/metrics` for Prometheus. Plain HTTP/1.1, meant for a private network.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use super::{Ops, health};
use crate::core::store::OpsStore;

#[derive(Clone)]
struct AppState {
    ops: Arc<Ops>,
    store: Arc<dyn OpsStore>,
}

/// Binds `addr` (so a taken port fails the start, not a later scrape).
pub async fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on METRICS_ADDR {addr}"))
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    ops: Arc<Ops>,
    store: Arc<dyn OpsStore>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(AppState { ops, store });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let health = health::check(&state.ops, &*state.store).await;
    let status = if health.is_healthy() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        health.body(),
    )
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let text = state.ops.metrics.render_prometheus(&state.ops.gauges());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

/// `gamemaster healthcheck`: GETs `/healthz` at `addr` and says whether it answered 200.
/// A wildcard address (`0.0.0.0`) is reached on loopback.
pub async fn probe(addr: SocketAddr) -> anyhow::Result<String> {
    let mut target = addr;
    if target.ip().is_unspecified() {
        target.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let url = format!("http://{target}/healthz");
    let response = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .context("building the HTTP client")?
        .get(&url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status.is_success() {
        Ok(body)
    } else {
        anyhow::bail!("{url} answered {status}: {}", body.trim())
    }
}
