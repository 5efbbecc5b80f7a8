//! HTTPS for the fake's REST API, so the bot reaches it on Discord's own URLs
//! (`https://discord.com/api/v10/...`, resolved to this listener) with serenity's rate
//! limiter on, exactly as in production. The certificate is `tests/fixtures/tls/`.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

const CERT: &[u8] = include_bytes!("../../fixtures/tls/fake-discord.crt");
const KEY: &[u8] = include_bytes!("../../fixtures/tls/fake-discord.key");

/// Accepts TCP connections and hands over those whose TLS handshake succeeded. Handshakes run
/// concurrently, so one slow client never holds up the others.
pub struct TlsListener {
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    _acceptor_task: AbortOnDrop,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl TlsListener {
    pub fn new(tcp: TcpListener) -> TlsListener {
        let local = tcp.local_addr().expect("local addr");
        let acceptor = TlsAcceptor::from(Arc::new(server_config()));
        let (tx, accepted) = mpsc::channel(64);
        let task = tokio::spawn(async move {
            while let Ok((stream, peer)) = tcp.accept().await {
                let _ = stream.set_nodelay(true);
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(stream).await {
                        let _ = tx.send((tls, peer)).await;
                    }
                });
            }
        });
        TlsListener {
            accepted,
            local,
            _acceptor_task: AbortOnDrop(task),
        }
    }
}

fn server_config() -> ServerConfig {
    let certs = CertificateDer::pem_slice_iter(CERT)
        .collect::<Result<Vec<_>, _>>()
        .expect("fixture certificate");
    let key = PrivateKeyDer::from_pem_slice(KEY).expect("fixture key");
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("fixture certificate and key")
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(conn) => conn,
            // The acceptor stopped (the fake is shutting down): never accept again.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
