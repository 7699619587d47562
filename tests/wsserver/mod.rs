//! A scripted Solana JSON-RPC WebSocket server for the live-feed tests and benches (tungstenite's
//! server side on a loopback port): it answers `logsSubscribe` / `transactionSubscribe` /
//! `blockSubscribe` with subscription ids, streams notification lines routed to them, and injects
//! the faults each connection's [`Plan`] asks for. Connections are served one at a time, in
//! order; connection `k` follows `plans[k]` (the last plan repeats).
// Each test binary uses a different subset, and `pub` is how the including crate sees the items.
#![allow(dead_code, unreachable_pub)]

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tungstenite::{Message, WebSocket};

/// The server side of a connection: plain TCP, or rustls over TCP (for `wss://`).
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// A self-signed certificate for `localhost` and a server config presenting it; the DER is
/// what a client adds to its roots. (Tests only: rcgen is a dev-dependency.)
#[cfg(test)]
pub fn self_signed_tls() -> (Arc<rustls::ServerConfig>, Vec<u8>) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = ck.cert.der().to_vec();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone().into()], key)
        .unwrap();
    (Arc::new(cfg), cert)
}

/// The subscription a notification belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Logs,
    Transactions,
    Blocks,
}

impl Kind {
    fn of_method(m: &str) -> Option<Kind> {
        match m {
            "logsSubscribe" => Some(Kind::Logs),
            "transactionSubscribe" => Some(Kind::Transactions),
            "blockSubscribe" => Some(Kind::Blocks),
            _ => None,
        }
    }
}

/// One notification to stream: its JSON (its `params.subscription` is set when sent).
#[derive(Clone, Debug)]
pub struct Line {
    pub kind: Kind,
    pub json: Value,
}

impl Line {
    /// A line built by the payload generator or the sample builders (a `logsNotification`, a
    /// `getTransaction` result turned into a `transactionNotification`, or a
    /// `blockNotification`).
    pub fn from_text(text: &[u8]) -> Line {
        let v: Value = serde_json::from_slice(text).expect("test line is JSON");
        match v["method"].as_str() {
            Some("logsNotification") => Line {
                kind: Kind::Logs,
                json: v,
            },
            Some("blockNotification") => Line {
                kind: Kind::Blocks,
                json: v,
            },
            Some("transactionNotification") => Line {
                kind: Kind::Transactions,
                json: v,
            },
            _ => Line {
                kind: Kind::Transactions,
                json: transaction_notification(&v),
            },
        }
    }
}

/// A `getTransaction` result (bare or in a reply) as a Helius `transactionNotification`.
pub fn transaction_notification(get_tx: &Value) -> Value {
    let r = if get_tx.get("result").is_some() {
        &get_tx["result"]
    } else {
        get_tx
    };
    let sig = r["transaction"]["signatures"][0].clone();
    json!({
        "jsonrpc": "2.0",
        "method": "transactionNotification",
        "params": {
            "subscription": 0,
            "result": {
                "transaction": {
                    "transaction": r["transaction"],
                    "meta": r["meta"],
                    "version": 0,
                },
                "signature": sig,
                "slot": r["slot"],
            }
        }
    })
}

/// What the server does once a connection has sent its lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    /// Keep the connection open, answer pings, send a heartbeat every 50 ms.
    Heartbeat,
    /// Close the TCP connection without a close frame.
    Drop,
    /// Keep it open and answer pings, but send nothing.
    Silence,
    /// Keep sending heartbeats but never read again (pings go unanswered).
    WithholdPongs,
}

/// An extra frame sent first on a connection.
#[derive(Clone, Debug)]
pub enum Extra {
    /// A text frame that is not JSON.
    Garbage,
    /// A text frame of this many bytes.
    Oversized(usize),
    /// The next line as a binary frame instead of text.
    BinaryNext,
    /// A notification for a subscription id never handed out.
    UnknownSubscription,
    /// A text frame whose payload is not UTF-8 (written raw: tungstenite builds no such
    /// message). RFC 6455 has the client fail the connection; what follows it is not read.
    TextNotUtf8,
}

/// One connection's script.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Refuse the handshake with this HTTP status (and `Retry-After: 1` for 429).
    pub refuse: Option<u16>,
    /// Answer the subscription of this kind with an error reply.
    pub error_on: Option<Kind>,
    /// Acknowledge the subscription of this kind with a non-numeric `result` (and never send
    /// its notifications).
    pub odd_ack_on: Option<Kind>,
    /// Lines to send on this connection (`None`: all that remain).
    pub send: Option<usize>,
    /// Re-send this many lines already sent on earlier connections first.
    pub overlap: usize,
    pub then: After,
    pub extras: Vec<Extra>,
    /// Hold the lines back (after subscribing) until this flag is set.
    pub gate: Option<Arc<AtomicBool>>,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            refuse: None,
            error_on: None,
            odd_ack_on: None,
            send: None,
            overlap: 0,
            then: After::Heartbeat,
            extras: Vec::new(),
            gate: None,
        }
    }
}

/// What the server saw and did.
#[derive(Clone, Debug, Default)]
pub struct Log {
    /// Connections accepted (handshakes attempted).
    pub connections: usize,
    /// Handshakes refused.
    pub refused: usize,
    /// Subscribe requests, as received (one `Value` each).
    pub requests: Vec<Value>,
    /// Request paths (with their query) of the handshakes.
    pub paths: Vec<String>,
    /// `Authorization` headers of the handshakes, as received.
    pub authorizations: Vec<Option<String>>,
    /// Pings received (answered or not).
    pub pings: usize,
    /// Line sends: (line index, `sniffer::monotonic_ns()` when written).
    pub sent: Vec<(usize, u64)>,
    /// Heartbeats sent.
    pub heartbeats: usize,
    /// Lines skipped because no subscription of their kind was made (for logs lines: none whose
    /// `mentions` key the transaction invokes).
    pub unsubscribed: usize,
}

/// The running server; dropping it stops it.
pub struct WsServer {
    pub addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Log>>,
    thread: Option<JoinHandle<()>>,
}

impl WsServer {
    /// Serves `lines` with one plan per connection, pacing lines `interval` apart (zero: flat
    /// out).
    pub fn start(lines: Vec<Line>, plans: Vec<Plan>, interval: Duration) -> WsServer {
        Self::start_with(lines, plans, interval, None)
    }

    /// The same over TLS (`wss://localhost:PORT`).
    pub fn start_tls(
        lines: Vec<Line>,
        plans: Vec<Plan>,
        interval: Duration,
        tls: Arc<rustls::ServerConfig>,
    ) -> WsServer {
        Self::start_with(lines, plans, interval, Some(tls))
    }

    fn start_with(
        lines: Vec<Line>,
        plans: Vec<Plan>,
        interval: Duration,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> WsServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Log::default()));
        let (s, l) = (stop.clone(), log.clone());
        let thread = std::thread::Builder::new()
            .name("test-ws-server".into())
            .spawn(move || serve(listener, lines, plans, interval, tls, s, l))
            .unwrap();
        WsServer {
            addr,
            stop,
            log,
            thread: Some(thread),
        }
    }

    /// `ws://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// `wss://localhost:PORT` + `path` (the name the self-signed certificate carries).
    pub fn tls_url(&self, path: &str) -> String {
        format!("wss://localhost:{}{path}", self.addr.port())
    }

    pub fn log(&self) -> Log {
        self.log.lock().unwrap().clone()
    }

    /// Stops the server and returns its log.
    pub fn stop(mut self) -> Log {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.log()
    }
}

impl Drop for WsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    listener: TcpListener,
    lines: Vec<Line>,
    plans: Vec<Plan>,
    interval: Duration,
    tls: Option<Arc<rustls::ServerConfig>>,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Log>>,
) {
    let mut next = 0usize;
    let mut conn = 0usize;
    while !stop.load(Ordering::Acquire) {
        let tcp = match listener.accept() {
            Ok((tcp, _)) => tcp,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            Err(_) => continue,
        };
        let plan = plans
            .get(conn)
            .or(plans.last())
            .cloned()
            .unwrap_or_default();
        conn += 1;
        log.lock().unwrap().connections += 1;
        let _ = tcp.set_nonblocking(false);
        let _ = tcp.set_nodelay(true);
        let _ = tcp.set_read_timeout(Some(Duration::from_millis(1)));
        let stream = match &tls {
            None => Stream::Plain(tcp),
            Some(cfg) => match rustls::ServerConnection::new(cfg.clone()) {
                Ok(c) => Stream::Tls(Box::new(rustls::StreamOwned::new(c, tcp))),
                Err(_) => continue,
            },
        };
        next = connection(stream, &plan, &lines, next, interval, conn, &stop, &log);
    }
}

/// Serves one connection; returns the index of the next line not yet sent.
#[allow(clippy::too_many_arguments)]
fn connection(
    stream: Stream,
    plan: &Plan,
    lines: &[Line],
    mut next: usize,
    interval: Duration,
    conn: usize,
    stop: &AtomicBool,
    log: &Mutex<Log>,
) -> usize {
    let refuse = plan.refuse;
    let path = Arc::new(Mutex::new(String::new()));
    let seen_path = path.clone();
    let seen_log = log;
    let callback = move |req: &Request, resp: Response| {
        *seen_path.lock().unwrap() = req.uri().to_string();
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        seen_log.lock().unwrap().authorizations.push(auth);
        match refuse {
            None => Ok(resp),
            Some(status) => {
                let mut r = ErrorResponse::new(Some("refused".into()));
                *r.status_mut() = tungstenite::http::StatusCode::from_u16(status).unwrap();
                if status == 429 {
                    r.headers_mut()
                        .insert("retry-after", tungstenite::http::HeaderValue::from(1));
                }
                Err(r)
            }
        }
    };
    let mut ws = match accept(stream, callback) {
        Some(ws) => ws,
        None => {
            let mut l = log.lock().unwrap();
            l.paths.push(path.lock().unwrap().clone());
            if refuse.is_some() {
                l.refused += 1;
            }
            return next;
        }
    };
    log.lock().unwrap().paths.push(path.lock().unwrap().clone());
    // Subscriptions: wait for as many requests as the client sends in its first 200 ms.
    // (kind, id, the `mentions` key of a logsSubscribe)
    let mut subs: Vec<(Kind, u64, Option<String>)> = Vec::new();
    let mut replies = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(200) && !stop.load(Ordering::Acquire) {
        match ws.read() {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                let id = v["id"].clone();
                let kind = v["method"].as_str().and_then(Kind::of_method);
                let mentions = v["params"][0]["mentions"][0].as_str().map(str::to_owned);
                log.lock().unwrap().requests.push(v);
                let reply = match kind {
                    Some(k) if Some(k) == plan.odd_ack_on => {
                        json!({"jsonrpc": "2.0", "result": "notanumber", "id": id})
                    }
                    Some(k) if Some(k) != plan.error_on => {
                        let sub = (conn as u64) * 1000 + subs.len() as u64 + 1;
                        subs.push((k, sub, mentions.clone()));
                        json!({"jsonrpc": "2.0", "result": sub, "id": id})
                    }
                    _ => json!({
                        "jsonrpc": "2.0",
                        "error": {"code": -32601, "message": "Method not found\u{7}"},
                        "id": id
                    }),
                };
                if ws.send(Message::text(reply.to_string())).is_err() {
                    return next;
                }
                replies += 1;
                // One per kind, or one logsSubscribe per launch program (nine), and a few more.
                if replies >= 16 {
                    break;
                }
            }
            Ok(Message::Ping(_)) => log.lock().unwrap().pings += 1,
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                if replies > 0 && started.elapsed() > Duration::from_millis(50) {
                    break;
                }
            }
            Err(_) => return next,
        }
    }
    let sub_of_kind = |k: Kind| subs.iter().find(|s| s.0 == k).map(|s| s.1);
    // As a node routes: a logs line to the `logsSubscribe` whose `mentions` key the
    // transaction invokes (a line invoking no subscribed program is not sent), other lines to the
    // subscription of their kind.
    let sub_of = |line: &Line| match line.kind {
        Kind::Logs => {
            let logs = line.json["params"]["result"]["value"]["logs"].as_array();
            let invokes = |key: &str| {
                let prefix = format!("Program {key} invoke");
                logs.into_iter()
                    .flatten()
                    .any(|l| l.as_str().is_some_and(|l| l.starts_with(&prefix)))
            };
            subs.iter()
                .find(|s| s.0 == Kind::Logs && s.2.as_deref().is_some_and(invokes))
                .map(|s| s.1)
        }
        k => sub_of_kind(k),
    };
    // From here on the socket is non-blocking: a read-timeout wait is rounded up to the kernel's
    // tick (4-8 ms here), which would cap the pace at ~150 lines/s. A send that would block
    // stays queued in tungstenite and goes out with the next flush.
    if ws.get_ref().tcp().set_nonblocking(true).is_err() {
        return next;
    }
    let send = |ws: &mut WebSocket<Stream>, msg: Message| match ws.send(msg) {
        Ok(()) => true,
        Err(tungstenite::Error::Io(e)) => e.kind() == ErrorKind::WouldBlock,
        Err(_) => false,
    };
    let mut binary_next = false;
    for e in &plan.extras {
        let msg = match e {
            Extra::Garbage => Message::text("this is not json {"),
            Extra::Oversized(n) => Message::text("x".repeat(*n)),
            Extra::BinaryNext => {
                binary_next = true;
                continue;
            }
            Extra::TextNotUtf8 => {
                // FIN + text, unmasked (server to client), 4 bytes: `{`, two bytes that are
                // never UTF-8, `}`. Put it first in `extras`: the subscription replies went out
                // blocking, so nothing is queued in tungstenite and the raw frame cannot land
                // inside another.
                let frame = [0x81, 4, b'{', 0xff, 0xfe, b'}'];
                let raw = ws.get_mut();
                if raw.write_all(&frame).and_then(|()| raw.flush()).is_err() {
                    return next;
                }
                continue;
            }
            Extra::UnknownSubscription => {
                let mut l = lines.first().cloned().expect("a line").json;
                l["params"]["subscription"] = json!(987_654_321u64);
                Message::text(l.to_string())
            }
        };
        if !send(&mut ws, msg) {
            return next;
        }
    }
    let from = next.saturating_sub(plan.overlap);
    let until = plan
        .send
        .map_or(lines.len(), |n| (next + n).min(lines.len()));
    let start = Instant::now();
    let mut i = from;
    let mut reading = true;
    let mut last_heartbeat = Instant::now();
    let mut last_read = Instant::now();
    loop {
        if stop.load(Ordering::Acquire) {
            let _ = ws.close(None);
            let _ = ws.flush();
            return next;
        }
        // Non-blocking reads (pings, close): every iteration when idle, every millisecond while
        // lines stream. Queued sends are flushed on the way.
        let streaming = i < until;
        if reading && (!streaming || last_read.elapsed() >= Duration::from_millis(1)) {
            last_read = Instant::now();
            match ws.read() {
                Ok(Message::Ping(_)) => log.lock().unwrap().pings += 1,
                Ok(Message::Close(_)) => return next,
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return next,
            }
        }
        if i < until {
            let held = plan
                .gate
                .as_ref()
                .is_some_and(|g| !g.load(Ordering::Acquire));
            if held {
                std::thread::sleep(Duration::from_micros(200));
                continue;
            }
            // Lines go out on a fixed schedule (no drift): sleep most of a long gap, spin the
            // end of it.
            let due = start + interval * (i - from) as u32;
            let now = Instant::now();
            if now < due {
                let left = due - now;
                if left > Duration::from_micros(300) {
                    std::thread::sleep(left - Duration::from_micros(200));
                } else {
                    std::hint::spin_loop();
                }
                continue;
            }
            let line = &lines[i];
            let Some(sub) = sub_of(line) else {
                log.lock().unwrap().unsubscribed += 1;
                i += 1;
                next = next.max(i);
                continue;
            };
            let mut v = line.json.clone();
            v["params"]["subscription"] = json!(sub);
            let text = v.to_string();
            let msg = if binary_next {
                binary_next = false;
                Message::binary(text.into_bytes())
            } else {
                Message::text(text)
            };
            let at = sniffer::monotonic_ns();
            if !send(&mut ws, msg) {
                return next;
            }
            log.lock().unwrap().sent.push((i, at));
            i += 1;
            next = next.max(i);
            continue;
        }
        match plan.then {
            After::Drop => {
                // No close frame: the peer sees the TCP connection end after what was sent.
                // Drain until it hangs up, so that closing never resets unread data.
                let tcp = ws.get_mut();
                let _ = tcp.tcp().shutdown(std::net::Shutdown::Write);
                let until = Instant::now() + Duration::from_secs(2);
                let mut sink = [0u8; 4096];
                while Instant::now() < until {
                    match tcp.read(&mut sink) {
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(e)
                            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                        {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        Err(_) => break,
                    }
                }
                return next;
            }
            After::Silence => {}
            After::Heartbeat | After::WithholdPongs => {
                reading = plan.then == After::Heartbeat;
                if last_heartbeat.elapsed() >= Duration::from_millis(50) {
                    last_heartbeat = Instant::now();
                    if let Some(sub) = sub_of_kind(Kind::Logs).or(subs.first().map(|s| s.1)) {
                        let hb = heartbeat(sub);
                        if !send(&mut ws, Message::text(hb)) {
                            return next;
                        }
                        log.lock().unwrap().heartbeats += 1;
                    }
                }
            }
        }
        if !streaming {
            match ws.flush() {
                Ok(()) => {}
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => return next,
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

fn accept<C>(tcp: Stream, callback: C) -> Option<WebSocket<Stream>>
where
    C: tungstenite::handshake::server::Callback,
{
    let mut r = tungstenite::accept_hdr(tcp, callback);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match r {
            Ok(ws) => return Some(ws),
            Err(tungstenite::HandshakeError::Interrupted(mid)) if Instant::now() < deadline => {
                r = mid.handshake();
            }
            Err(_) => return None,
        }
    }
}

/// A launch-free logs notification.
fn heartbeat(sub: u64) -> String {
    json!({
        "jsonrpc": "2.0",
        "method": "logsNotification",
        "params": {
            "result": {
                "context": {"slot": 1},
                "value": {
                    "signature": "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW",
                    "err": null,
                    "logs": []
                }
            },
            "subscription": sub
        }
    })
    .to_string()
}
