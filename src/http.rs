//! [`HttpServer`] (cargo feature `http`): a listener thread serving `GET /metrics` (the Prometheus
//! text of a fresh snapshot) and `GET /health` (JSON: status healthy, degraded or paused, the
//! reasons and the snapshot; HTTP 503 while paused). It reads snapshots through a
//! [`MetricsSource`], so it adds nothing to the hot path. Off by default; the CLI starts it with
//! `--http 127.0.0.1:9898`.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::engine::{HealthStatus, MetricsSource};

/// The running listener. Dropping it stops the listener thread and joins it.
pub struct HttpServer {
    server: Arc<tiny_http::Server>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl HttpServer {
    /// Binds `addr` (port 0 picks a free port) and serves `source` on a thread named
    /// `sniffer-http`.
    ///
    /// # Errors
    ///
    /// When the address cannot be bound or the thread cannot start.
    pub fn start(addr: &str, source: MetricsSource) -> std::io::Result<HttpServer> {
        let server = Arc::new(tiny_http::Server::http(addr).map_err(std::io::Error::other)?);
        let local = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| std::io::Error::other("not an IP listener"))?;
        let srv = server.clone();
        let thread = std::thread::Builder::new()
            .name("sniffer-http".into())
            .spawn(move || serve(&srv, &source))?;
        Ok(HttpServer {
            server,
            addr: local,
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
        .expect("constant header is valid")
}

fn serve(server: &tiny_http::Server, source: &MetricsSource) {
    // `incoming_requests` ends when `unblock` is called.
    for request in server.incoming_requests() {
        let path = request.url().split('?').next().unwrap_or("");
        let response = match (request.method(), path) {
            (tiny_http::Method::Get, "/metrics") => {
                tiny_http::Response::from_string(source.snapshot().to_prometheus()).with_header(
                    header("Content-Type", "text/plain; version=0.0.4; charset=utf-8"),
                )
            }
            (tiny_http::Method::Get, "/health") => {
                let health = source.health();
                let code = if health.status == HealthStatus::Paused {
                    503
                } else {
                    200
                };
                let body = serde_json::to_string(&health)
                    .unwrap_or_else(|e| format!("{{\"status\":\"error\",\"reason\":\"{e}\"}}"));
                tiny_http::Response::from_string(body)
                    .with_status_code(code)
                    .with_header(header("Content-Type", "application/json"))
            }
            _ => tiny_http::Response::from_string("not found: try /metrics or /health\n")
                .with_status_code(404),
        };
        if let Err(e) = request.respond(response) {
            tracing::debug!(error = %e, "http client went away");
        }
    }
}
