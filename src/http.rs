//! [`HttpServer`] (cargo feature `http`): a listener thread serving `GET /metrics` (the Prometheus
//! text of a fresh snapshot), `GET /health` (JSON: status healthy, degraded or paused, the
//! reasons, readiness and the snapshot; HTTP 503 while not ready), `GET /readyz` (JSON `ready`
//! and why not; 503 while not ready: no live feed connected when live feeds are configured,
//! paused past `paused_alert_after`, a store failing) and `GET /livez` (200 while the process
//! serves); `HEAD` of each, 405 for other methods. It
//! reads snapshots through a [`MetricsSource`], so it adds nothing to the hot path. Off by
//! default; the CLI starts it with `--http 127.0.0.1:9898`.
//!
//! It faces whoever can reach the port, so every resource it spends is bounded
//! ([`HttpLimits`]): the request head is read into a buffer of at most `max_header_bytes` (a
//! larger one gets 431), at most `max_connections` are open at once (one more is answered 503
//! and closed), each connection serves one request and must be done within `request_timeout`
//! (an idle or trickling client is cut off), and a failed `accept` (EMFILE when the process is
//! out of descriptors) is logged and retried after a short pause instead of ending the listener.
//!
//! The HTTP/1 protocol is hyper's (`server::conn::http1`), run on a current-thread tokio runtime
//! inside the one listener thread: no thread per connection, and the limits above are hyper's
//! own (`max_buf_size`, `header_read_timeout`) plus a semaphore and a timeout around each
//! connection. tiny_http, used before, had none of them (a 300 MB header took 300 MB, one OS
//! thread per idle connection, the accept loop died on the first EMFILE).

use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{oneshot, Semaphore};

use crate::engine::MetricsSource;

/// The bounds of an [`HttpServer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Largest request head (request line and headers) read, in bytes; larger ones get 431.
    /// At least 8192 (hyper's floor).
    pub max_header_bytes: usize,
    /// Connections open at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// Time a connection gets to send its request and take the answer; then it is closed.
    pub request_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_header_bytes: 16 * 1024,
            max_connections: 64,
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// Pause after a failed `accept` before the next one: descriptors come back as connections
/// close, and retrying at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The answer to a connection over the cap, written without reading its request.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\
connection: close\r\nretry-after: 1\r\n\r\n";

/// The running listener. Dropping it stops the listener thread (open connections are closed)
/// and joins it.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use sniffer::{Sniffer, http::HttpServer};
///
/// let engine = Sniffer::builder().build()?;
/// let server = HttpServer::start("127.0.0.1:0", engine.metrics_source())?;
/// let mut conn = std::net::TcpStream::connect(server.local_addr())?;
/// conn.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n")?;
/// let mut answer = String::new();
/// conn.read_to_string(&mut answer)?;
/// assert!(answer.starts_with("HTTP/1.1 200"));
/// assert!(answer.contains("sniffer_candidates_detected_total"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct HttpServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
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
    /// `sniffer-http`, with the default [`HttpLimits`].
    ///
    /// # Errors
    ///
    /// When the address cannot be bound or the thread cannot start.
    pub fn start(addr: &str, source: MetricsSource) -> std::io::Result<HttpServer> {
        Self::start_with(addr, source, HttpLimits::default())
    }

    /// [`HttpServer::start`] with explicit limits.
    ///
    /// # Errors
    ///
    /// As [`HttpServer::start`], and `InvalidInput` for `max_header_bytes` below 8192 or
    /// `max_connections` of 0.
    pub fn start_with(
        addr: &str,
        source: MetricsSource,
        limits: HttpLimits,
    ) -> std::io::Result<HttpServer> {
        if limits.max_header_bytes < 8192 || limits.max_connections == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("HTTP limits out of range: {limits:?}"),
            ));
        }
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let (stop_tx, stop_rx) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("sniffer-http".into())
            .spawn(move || {
                // Dropping the runtime at the end drops every connection task.
                runtime.block_on(serve(listener, source, limits, stop_rx));
            })?;
        Ok(HttpServer {
            addr: local,
            stop: Some(stop_tx),
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
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    source: MetricsSource,
    limits: HttpLimits,
    mut stop: oneshot::Receiver<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "http listener cannot start");
            return;
        }
    };
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (mut accept_errors, mut refused) = (0u64, 0u64);
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => return,
            r = listener.accept() => r,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                accept_errors += 1;
                if accept_errors.is_power_of_two() {
                    tracing::warn!(error = %e, accept_errors, "http accept failed; retrying");
                }
                tokio::select! {
                    _ = &mut stop => return,
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                }
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            // Over the cap: a fresh socket's send buffer is empty, so this write does not block;
            // the stream is closed when dropped.
            let _ = stream.try_write(BUSY);
            refused += 1;
            if refused.is_power_of_two() {
                tracing::warn!(
                    refused,
                    limit = limits.max_connections,
                    "http connection cap reached"
                );
            }
            continue;
        };
        let source = source.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let response = respond(&source, &req);
                async move { Ok::<_, Infallible>(response) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.request_timeout)
                .max_buf_size(limits.max_header_bytes)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            match tokio::time::timeout(limits.request_timeout, conn).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(error = %e, "http connection ended with an error"),
                Err(_) => tracing::debug!("http connection timed out"),
            }
        });
    }
}

fn respond(source: &MetricsSource, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let text = |status: StatusCode, body: String, content_type: &'static str| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = status;
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        r
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD\n".into(),
            "text/plain; charset=utf-8",
        );
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    // hyper sends no body for HEAD (it keeps the headers, content-length included).
    match req.uri().path() {
        "/metrics" => {
            let mut body = source.snapshot().to_prometheus();
            crate::metrics::process_exposition(&mut body);
            text(
                StatusCode::OK,
                body,
                "text/plain; version=0.0.4; charset=utf-8",
            )
        }
        "/health" => {
            let health = source.health();
            let body = serde_json::to_string(&health)
                .unwrap_or_else(|e| format!("{{\"status\":\"error\",\"reason\":\"{e}\"}}"));
            text(ready_code(health.ready), body, "application/json")
        }
        "/readyz" => {
            let health = source.health();
            let body = serde_json::json!({"ready": health.ready, "reasons": health.not_ready});
            text(
                ready_code(health.ready),
                body.to_string(),
                "application/json",
            )
        }
        // Answered while the process serves at all: an orchestrator restarts it otherwise.
        "/livez" => text(StatusCode::OK, "ok\n".into(), "text/plain; charset=utf-8"),
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: try /metrics, /health, /readyz or /livez\n".into(),
            "text/plain; charset=utf-8",
        ),
    }
}

/// 200 when ready, 503 otherwise.
fn ready_code(ready: bool) -> StatusCode {
    if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}
