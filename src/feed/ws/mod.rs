//! [`WsSource`]: a live Solana JSON-RPC WebSocket feed (`ws://` / `wss://`, rustls with the
//! webpki roots), as a [`LineSource`] whose lines are the notifications: a [`LineFeed`] around it
//! decodes, records, deduplicates and pushes them like any other line feed.
//!
//! The connection lives on the feed's own thread and never blocks it for long: its state is the
//! network layer's [`Link`] (down, an [`Attempt`] under way, up), the TCP connect is
//! non-blocking, the TLS and WebSocket handshakes resume across polls, and reads wait at most
//! [`READ_SLICE`] in the kernel (the lowest-latency wait there is: the thread wakes when the bytes
//! arrive; the slice bounds only how long an idle connection goes without a look at its timers).
//! Busy-polling ([`LineSource::set_busy_poll`], the `busy_poll` key) takes the kernel wait out:
//! the socket is non-blocking, a read with nothing there returns at once, and the feed thread
//! spins on it (a write that would block still goes out whole, in blocking mode). Staying
//! connected:
//!
//! - every [`Subscription`] is sent on connect, with ids matched against the acknowledgements;
//!   notifications are routed by subscription id (unknown ones are counted and skipped), error
//!   replies are logged and counted, and a reconnect resubscribes everything;
//! - a ping every `ping_interval`; no pong within one interval counts a stall and reconnects;
//! - a read watchdog: no notification for `stall_timeout` counts a stall and reconnects (pongs do
//!   not count: a provider can keep answering pings on a subscription that has died);
//! - reconnects back off exponentially with jitter; a handshake refused with 401/403/429 waits
//!   longer (at least 5 s, or the server's `Retry-After`) and says so;
//! - frames over `max_line_len` never reach memory whole: [`guard::FrameGuard`] swaps them for an
//!   empty frame on the way in, and they are counted as `too_long`;
//! - a text message that is not UTF-8 fails the connection, as RFC 6455 asks, and is counted as
//!   `not_utf8` (the same bytes in a binary message are counted so and the connection goes on).
//!
//! URLs are displayed through [`Endpoint`], which hides the path, query and credentials (API
//! keys): they appear in no log line, metric, feed name or error. A URL's `user:pass@` is sent as
//! HTTP basic authentication (`Authorization: Basic ...`, percent-decoded) on every handshake;
//! the request line carries the path and query only. `tls_ca_file` roots come checked from
//! `net/tls.rs` (the file is read once per process).
//!
//! [`LineFeed`]: super::LineFeed

mod guard;

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tungstenite::handshake::client::{ClientHandshake, Request};
use tungstenite::handshake::{HandshakeError, MidHandshake};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

use super::lines::{LinePoll, LineSource};
use crate::candidate::Pubkey;
use crate::config::{Commitment, Launchpads, SnifferConfig};
#[cfg(doc)]
use crate::decode::Program;
use crate::decode::{Envelope, MAX_LINE_LEN};
use crate::metrics::FeedStats;
use crate::net::backoff::Backoff;
use crate::net::endpoint::{Endpoint, EndpointError};
use crate::net::link::{Link, READ_SLICE};
use crate::net::tls;

/// Longest a write (subscribe, ping) may block on a wedged peer.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// The WebSocket schemes: name, TLS, default port.
const SCHEMES: &[(&str, bool, u16)] = &[("ws", false, 80), ("wss", true, 443)];

/// What to subscribe to (`--subscribe KIND:ARG`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subscription {
    /// `logsSubscribe` with `mentions: [program]`.
    Logs(Pubkey),
    /// Helius-style `transactionSubscribe` with `accountInclude`, `jsonParsed`, full details.
    Transactions(Vec<Pubkey>),
    /// `blockSubscribe` with `mentionsAccountOrProgram` (base64 transactions, full details).
    Blocks(Pubkey),
}

impl Subscription {
    /// The default: one `logsSubscribe` per launch program ([`Program::ALL`]): a `mentions`
    /// filter takes one address.
    pub fn default_set() -> Vec<Subscription> {
        Subscription::for_launchpads(Launchpads::ALL)
    }

    /// One `logsSubscribe` per selected launch program (the `launchpads` key).
    ///
    /// # Examples
    ///
    /// ```
    /// use sniffer::feed::Subscription;
    ///
    /// let s = Subscription::for_launchpads("pump,dbc".parse().unwrap());
    /// assert_eq!(s.len(), 2);
    /// assert_eq!(s[1].to_string(), "logs:dbcij3LWUppWqq96dh6gJWwBifmcGfLSB5D4DuSMaqN");
    /// ```
    pub fn for_launchpads(launchpads: Launchpads) -> Vec<Subscription> {
        launchpads
            .programs()
            .map(|p| Subscription::Logs(p.id()))
            .collect()
    }

    /// `logs`, `transactions` or `blocks`.
    pub fn kind(&self) -> &'static str {
        match self {
            Subscription::Logs(_) => "logs",
            Subscription::Transactions(_) => "transactions",
            Subscription::Blocks(_) => "blocks",
        }
    }

    /// The JSON-RPC request with `id`.
    fn request(&self, id: u64, commitment: Commitment) -> String {
        let c = commitment.as_str();
        let v = match self {
            Subscription::Logs(p) => serde_json::json!({
                "jsonrpc": "2.0", "id": id, "method": "logsSubscribe",
                "params": [{ "mentions": [p.to_string()] }, { "commitment": c }],
            }),
            Subscription::Transactions(accounts) => serde_json::json!({
                "jsonrpc": "2.0", "id": id, "method": "transactionSubscribe",
                "params": [
                    {
                        "accountInclude": accounts.iter().map(Pubkey::to_string).collect::<Vec<_>>(),
                        "vote": false,
                        "failed": false,
                    },
                    {
                        "commitment": c,
                        "encoding": "jsonParsed",
                        "transactionDetails": "full",
                        "maxSupportedTransactionVersion": 0,
                    },
                ],
            }),
            // `blockSubscribe` does not take `processed`: the earliest it offers is `confirmed`.
            Subscription::Blocks(a) => serde_json::json!({
                "jsonrpc": "2.0", "id": id, "method": "blockSubscribe",
                "params": [
                    { "mentionsAccountOrProgram": a.to_string() },
                    {
                        "commitment": if commitment == Commitment::Processed { "confirmed" } else { c },
                        "encoding": "base64",
                        "transactionDetails": "full",
                        "maxSupportedTransactionVersion": 0,
                        "showRewards": false,
                    },
                ],
            }),
        };
        v.to_string()
    }
}

impl fmt::Display for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subscription::Logs(p) | Subscription::Blocks(p) => write!(f, "{}:{p}", self.kind()),
            Subscription::Transactions(a) => {
                write!(f, "transactions:")?;
                for (i, k) in a.iter().enumerate() {
                    write!(f, "{}{k}", if i > 0 { "," } else { "" })?;
                }
                Ok(())
            }
        }
    }
}

impl FromStr for Subscription {
    type Err = String;

    /// `logs:PROGRAM`, `transactions:ACCOUNT[,ACCOUNT...]`, `blocks:ACCOUNT` (base58 keys).
    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, arg) = s
            .split_once(':')
            .ok_or_else(|| format!("`{s}`: expected KIND:ARG (logs:, transactions:, blocks:)"))?;
        let key = |k: &str| {
            k.trim()
                .parse::<Pubkey>()
                .map_err(|e| format!("`{s}`: `{k}` is not a base58 public key ({e})"))
        };
        match kind {
            "logs" => key(arg).map(Subscription::Logs),
            "blocks" => key(arg).map(Subscription::Blocks),
            "transactions" => arg
                .split(',')
                .map(key)
                .collect::<Result<Vec<_>, _>>()
                .map(Subscription::Transactions),
            _ => Err(format!(
                "`{s}`: unknown subscription kind `{kind}` (logs, transactions, blocks)"
            )),
        }
    }
}

/// Settings of one WebSocket feed.
#[derive(Clone)]
pub struct WsConfig {
    /// What to subscribe to (default: the logs of every launch program).
    pub subscriptions: Vec<Subscription>,
    /// Commitment of the subscriptions.
    pub commitment: Commitment,
    /// Ping period; a missing pong after one period reconnects.
    pub ping_interval: Duration,
    /// Silence (no notification) that counts a stall and reconnects.
    pub stall_timeout: Duration,
    /// First reconnect delay.
    pub backoff_min: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// Longest time from the first connect attempt to an open WebSocket.
    pub connect_timeout: Duration,
    /// Longest message kept; longer ones are skipped as `too_long` without being buffered.
    pub max_line_len: usize,
    /// Extra trusted root certificates (DER), beside the webpki roots: a private endpoint's CA.
    pub extra_roots: Vec<Vec<u8>>,
    /// A PEM file of more roots (the `tls_ca_file` key), read when the feed is built.
    pub ca_file: Option<PathBuf>,
}

impl fmt::Debug for WsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsConfig")
            .field("subscriptions", &self.subscriptions)
            .field("commitment", &self.commitment)
            .field("ping_interval", &self.ping_interval)
            .field("stall_timeout", &self.stall_timeout)
            .field("max_line_len", &self.max_line_len)
            .finish_non_exhaustive()
    }
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig::from(&SnifferConfig::default())
    }
}

impl From<&SnifferConfig> for WsConfig {
    /// The engine's live-feed keys (`ws_ping_interval`, `feed_stall_timeout`,
    /// `reconnect_backoff_*`, `commitment`), the logs of the `launchpads` programs, a 10 s
    /// connect timeout.
    fn from(c: &SnifferConfig) -> Self {
        WsConfig {
            subscriptions: Subscription::for_launchpads(c.launchpads),
            commitment: c.commitment,
            ping_interval: c.ws_ping_interval,
            stall_timeout: c.feed_stall_timeout,
            backoff_min: c.reconnect_backoff_min,
            backoff_max: c.reconnect_backoff_max,
            connect_timeout: Duration::from_secs(10),
            max_line_len: MAX_LINE_LEN,
            extra_roots: Vec::new(),
            ca_file: c.tls_ca_file.clone(),
        }
    }
}

/// Why a WebSocket feed could not be set up (before any connection is tried).
#[derive(Debug)]
pub struct WsError(String);

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WsError {}

impl From<EndpointError> for WsError {
    fn from(e: EndpointError) -> Self {
        WsError(e.0)
    }
}

/// The TCP connection. Under busy-polling its socket is non-blocking, so a read with nothing
/// there is `WouldBlock` at once; a write that would block (rare: a subscribe, a ping or a pong
/// against a full send buffer) goes out in blocking mode under [`WRITE_TIMEOUT`] instead, so it
/// is never left half-sent.
struct Tcp {
    stream: TcpStream,
    dont_wait: bool,
}

impl Read for Tcp {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf)
    }
}

impl Write for Tcp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.stream.write(buf) {
            Err(e) if self.dont_wait && e.kind() == io::ErrorKind::WouldBlock => {
                self.stream.set_nonblocking(false)?;
                let r = self.stream.write(buf);
                self.stream.set_nonblocking(true)?;
                r
            }
            r => r,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// The byte stream under the WebSocket: plain TCP or rustls over TCP.
enum Transport {
    Plain(Tcp),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, Tcp>>),
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf),
            Transport::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write(buf),
            Transport::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.flush(),
            Transport::Tls(s) => s.flush(),
        }
    }
}

type Stream = guard::FrameGuard<Transport>;

/// One live connection.
struct Session {
    ws: WebSocket<Stream>,
    /// Request id → index into the subscriptions, until acknowledged.
    pending: HashMap<u64, usize>,
    /// Subscription id → index into the subscriptions.
    active: HashMap<u64, usize>,
    /// Last notification (or the connect time).
    last_data: Instant,
    last_ping: Instant,
    /// A ping awaiting its pong: when it was sent and its payload.
    ping_out: Option<(Instant, [u8; 8])>,
    /// The guard's `too_long` count already reported.
    too_long_seen: u64,
    /// Data arrived on this connection (it proved healthy: the backoff may reset).
    got_data: bool,
}

/// The steps of a connection attempt, each under the deadline of the feed's [`Link`].
enum Attempt {
    /// The host name is being resolved on a short-lived thread (`getaddrinfo` blocks, for
    /// seconds when a resolver is slow): the feed thread polls for the answer.
    Resolving(mpsc::Receiver<io::Result<Vec<SocketAddr>>>),
    /// A non-blocking TCP connect.
    Tcp(Socket),
    /// The TLS and WebSocket handshakes, resumed at each poll.
    Handshake(Box<MidHandshake<ClientHandshake<Stream>>>),
}

/// A live WebSocket feed; see the module documentation.
///
/// Dropping it closes the connection (no thread of its own).
pub struct WsSource {
    name: String,
    endpoint: Endpoint,
    cfg: WsConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    conn: Link<Attempt, Box<Session>>,
    backoff: Backoff,
    stats: FeedStats,
    next_request_id: u64,
    ping_seq: u64,
    /// Busy-polling (see [`LineSource::set_busy_poll`]): reads never wait in the kernel.
    busy_poll: bool,
}

impl fmt::Debug for WsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsSource")
            .field("endpoint", &self.endpoint)
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl WsSource {
    /// A feed of `url` (`ws://` or `wss://`); nothing connects until the first poll.
    ///
    /// # Errors
    ///
    /// [`WsError`] for a URL that is not `ws`/`wss`, has no host or a bad port, for no
    /// subscriptions, or a bad extra root certificate. The message never repeats the URL's path,
    /// query or credentials.
    pub fn new(url: &str, cfg: WsConfig) -> Result<Self, WsError> {
        let endpoint = Endpoint::parse(url, SCHEMES)?;
        if cfg.subscriptions.is_empty() {
            return Err(WsError("no subscriptions".into()));
        }
        if cfg.max_line_len == 0 {
            return Err(WsError("max_line_len must be > 0".into()));
        }
        // A URL the handshake can never send is bad input now, not a reconnect loop later.
        // (The message does not repeat the path or query: keys live there.)
        if handshake_request(&endpoint).is_none() {
            return Err(WsError(format!(
                "{endpoint}: the path or query is not a valid request URI \
                 (spaces and other such characters must be percent-encoded)"
            )));
        }
        let client_tls = if endpoint.tls {
            // Checked now (read once per process): a bad file fails here, not at each connect.
            let ca = match &cfg.ca_file {
                Some(path) => Some(tls::ca_file(path).map_err(WsError)?),
                None => None,
            };
            Some(tls::rustls_client(&cfg.extra_roots, ca.as_deref()).map_err(WsError)?)
        } else {
            None
        };
        let backoff = Backoff::new(cfg.backoff_min, cfg.backoff_max);
        Ok(WsSource {
            name: endpoint.to_string(),
            endpoint,
            tls: client_tls,
            conn: Link::new(),
            backoff,
            stats: FeedStats::detached("ws"),
            next_request_id: 1,
            ping_seq: 0,
            busy_poll: false,
            cfg,
        })
    }

    /// Drops the connection (counted in the feed's downtime) and schedules the next attempt.
    fn down(&mut self, delay: Duration) {
        if let Some(s) = self.conn.up_mut() {
            let _ = s.ws.close(None);
            let _ = s.ws.flush();
        }
        self.stats.disconnected();
        self.conn = Link::down(delay);
    }

    /// A failed attempt to connect (before the WebSocket opened): counted, then as `fail`.
    fn fail_connect(&mut self, what: &str, err: &dyn fmt::Display) {
        self.stats.connect_failed();
        self.fail(what, err);
    }

    fn fail(&mut self, what: &str, err: &dyn fmt::Display) {
        let delay = self.backoff.next_delay();
        tracing::warn!(feed = %self.name, error = %err, retry_in_ms = delay.as_millis() as u64, "{what}");
        self.down(delay);
    }

    /// Starts a connection: straight to the TCP connect for an IP address, otherwise through a
    /// resolution off the feed thread (see [`Attempt::Resolving`]).
    fn start_connect(&mut self) {
        let authority = self.endpoint.authority();
        if let Ok(addr) = authority.parse::<SocketAddr>() {
            return self.start_tcp(addr);
        }
        let (tx, answer) = mpsc::sync_channel(1);
        let spawned = std::thread::Builder::new()
            .name("sniffer-resolve".into())
            .spawn(move || {
                // The feed may have given up (deadline, shutdown): nobody to tell then.
                let _ = tx.send(authority.to_socket_addrs().map(Iterator::collect));
            });
        match spawned {
            Ok(_) => {
                self.conn = Link::connecting(Attempt::Resolving(answer), self.cfg.connect_timeout)
            }
            Err(e) => self.fail_connect("cannot start a resolver thread", &e),
        }
    }

    /// The resolver's answer, if it came: connect to its first address.
    fn poll_resolve(&mut self, now: Instant) {
        let Link::Connecting {
            attempt: Attempt::Resolving(answer),
            deadline,
        } = &self.conn
        else {
            return;
        };
        match answer.try_recv() {
            Ok(Ok(addrs)) => match addrs.first() {
                Some(addr) => self.start_tcp(*addr),
                None => self.fail_connect("cannot resolve the host", &"no address"),
            },
            Ok(Err(e)) => self.fail_connect("cannot resolve the host", &e),
            Err(mpsc::TryRecvError::Disconnected) => {
                self.fail_connect("cannot resolve the host", &"the resolver thread ended")
            }
            Err(mpsc::TryRecvError::Empty) if now >= *deadline => {
                self.fail_connect("resolving the host timed out", &"no answer")
            }
            Err(mpsc::TryRecvError::Empty) => {}
        }
    }

    /// Starts a non-blocking TCP connect to `addr`.
    fn start_tcp(&mut self, addr: SocketAddr) {
        let socket = match Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .and_then(|s| s.set_nonblocking(true).map(|()| s))
        {
            Ok(s) => s,
            Err(e) => {
                self.fail_connect("cannot create a socket", &e);
                return;
            }
        };
        match socket.connect(&SockAddr::from(addr)) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => {
                self.fail_connect("connect failed", &e);
                return;
            }
        }
        // The resolution had its own deadline: the connect gets the whole timeout again.
        self.conn = Link::connecting(Attempt::Tcp(socket), self.cfg.connect_timeout);
    }

    /// The TCP connection is up: wrap it (TLS, frame guard) and start the WebSocket handshake.
    fn start_handshake(&mut self, socket: Socket, deadline: Instant) {
        let tcp: TcpStream = socket.into();
        // Busy-polling: reads never wait in the kernel (see `Tcp`).
        let setup = tcp
            .set_nonblocking(self.busy_poll)
            .and_then(|()| tcp.set_nodelay(true))
            .and_then(|()| tcp.set_read_timeout(Some(READ_SLICE)))
            .and_then(|()| tcp.set_write_timeout(Some(WRITE_TIMEOUT)));
        if let Err(e) = setup {
            self.fail_connect("socket setup failed", &e);
            return;
        }
        let tcp = Tcp {
            stream: tcp,
            dont_wait: self.busy_poll,
        };
        let transport = match &self.tls {
            None => Transport::Plain(tcp),
            Some(cfg) => {
                let name = match ServerName::try_from(self.endpoint.host.clone()) {
                    Ok(n) => n,
                    Err(e) => {
                        self.fail_connect("bad TLS server name", &e);
                        return;
                    }
                };
                match rustls::ClientConnection::new(cfg.clone(), name) {
                    Ok(c) => Transport::Tls(Box::new(rustls::StreamOwned::new(c, tcp))),
                    Err(e) => {
                        self.fail_connect("TLS setup failed", &e);
                        return;
                    }
                }
            }
        };
        let stream = guard::FrameGuard::new(transport, self.cfg.max_line_len);
        let ws_cfg = WebSocketConfig::default()
            .read_buffer_size(64 * 1024)
            // The guard already cut anything larger than max_line_len (+ one header).
            .max_frame_size(Some(self.cfg.max_line_len + 64))
            .max_message_size(Some(self.cfg.max_line_len + 64));
        let Some(request) = handshake_request(&self.endpoint) else {
            // `new` refused such a URL; kept as a counted failure rather than a panic.
            self.fail_connect("bad handshake request", &"invalid request URI");
            return;
        };
        let r = tungstenite::client::client_with_config(request, stream, Some(ws_cfg));
        self.on_handshake(r, deadline);
    }

    fn on_handshake(
        &mut self,
        r: Result<
            (WebSocket<Stream>, tungstenite::handshake::client::Response),
            HandshakeError<ClientHandshake<Stream>>,
        >,
        deadline: Instant,
    ) {
        match r {
            Ok((ws, _)) => self.open(ws),
            Err(HandshakeError::Interrupted(mid)) => {
                if Instant::now() >= deadline {
                    self.fail_connect("handshake timed out", &"no answer");
                } else {
                    self.conn = Link::Connecting {
                        attempt: Attempt::Handshake(Box::new(mid)),
                        deadline,
                    };
                }
            }
            Err(HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
                let status = resp.status();
                let refused = matches!(status.as_u16(), 401 | 403 | 429);
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                if refused {
                    self.stats.refused();
                    self.stats.connect_failed();
                    let delay = self.backoff.refused_delay(retry_after);
                    tracing::warn!(
                        feed = %self.name,
                        status = status.as_u16(),
                        retry_in_ms = delay.as_millis() as u64,
                        "handshake refused ({}): {}; backing off",
                        status,
                        match status.as_u16() {
                            429 => "rate limited",
                            _ => "check the API key",
                        }
                    );
                    self.down(delay);
                } else {
                    self.fail_connect("handshake rejected", &status);
                }
            }
            Err(HandshakeError::Failure(e)) => self.fail_connect("handshake failed", &e),
        }
    }

    /// The WebSocket is open: subscribe to everything.
    fn open(&mut self, ws: WebSocket<Stream>) {
        let now = Instant::now();
        let mut s = Box::new(Session {
            ws,
            pending: HashMap::new(),
            active: HashMap::new(),
            last_data: now,
            last_ping: now,
            ping_out: None,
            too_long_seen: 0,
            got_data: false,
        });
        for (i, sub) in self.cfg.subscriptions.iter().enumerate() {
            let id = self.next_request_id;
            self.next_request_id += 1;
            s.pending.insert(id, i);
            let req = sub.request(id, self.cfg.commitment);
            if let Err(e) = s.ws.write(Message::text(req)) {
                self.conn = Link::Up(s);
                self.fail("subscribing failed", &e);
                return;
            }
        }
        if let Err(e) = s.ws.flush() {
            self.conn = Link::Up(s);
            self.fail("subscribing failed", &e);
            return;
        }
        tracing::info!(feed = %self.name, subscriptions = self.cfg.subscriptions.len(), "connected");
        self.stats.connected();
        self.conn = Link::Up(s);
    }

    /// Timers of an open connection: ping, pong deadline, stall watchdog. False when it was
    /// dropped.
    fn check_timers(&mut self, now: Instant) -> bool {
        let Some(s) = self.conn.up_mut() else {
            return true;
        };
        if now.duration_since(s.last_data) >= self.cfg.stall_timeout {
            let silent = now.duration_since(s.last_data);
            self.stats.stall();
            tracing::warn!(feed = %self.name, silent_ms = silent.as_millis() as u64, "no notification: stalled; reconnecting");
            // A stall is the server's doing, not a refusal: retry at the short end.
            let delay = self.backoff.next_delay();
            self.down(delay);
            return false;
        }
        if let Some((sent, _)) = s.ping_out {
            if now.duration_since(sent) >= self.cfg.ping_interval {
                self.stats.stall();
                tracing::warn!(feed = %self.name, "no pong: reconnecting");
                let delay = self.backoff.next_delay();
                self.down(delay);
                return false;
            }
        } else if now.duration_since(s.last_ping) >= self.cfg.ping_interval {
            self.ping_seq += 1;
            let payload = self.ping_seq.to_be_bytes();
            s.last_ping = now;
            s.ping_out = Some((now, payload));
            if let Err(e) = s.ws.send(Message::Ping(payload.to_vec().into())) {
                self.fail("ping failed", &e);
                return false;
            }
        }
        true
    }

    /// Reads one message of an open connection.
    fn read_up(&mut self, buf: &mut Vec<u8>) -> LinePoll {
        let Some(s) = self.conn.up_mut() else {
            return LinePoll::Idle;
        };
        match s.ws.read() {
            Ok(Message::Text(t)) => self.data(buf, t.as_bytes()),
            Ok(Message::Binary(b)) => self.data(buf, &b),
            Ok(Message::Pong(p)) => {
                if s.ping_out.is_some_and(|(_, want)| p[..] == want[..]) {
                    s.ping_out = None;
                }
                LinePoll::Pending
            }
            // tungstenite queues the pong and sends it with the next read or write.
            Ok(Message::Ping(_) | Message::Frame(_)) => LinePoll::Pending,
            Ok(Message::Close(frame)) => {
                let reason = frame.map(|f| f.code.to_string()).unwrap_or_default();
                self.fail("server closed the connection", &reason);
                LinePoll::Pending
            }
            // Busy-polling, nothing there yet: the feed thread spins and asks again.
            Err(tungstenite::Error::Io(e))
                if self.busy_poll && e.kind() == io::ErrorKind::WouldBlock =>
            {
                LinePoll::Idle
            }
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                LinePoll::Waited
            }
            // RFC 6455 §8.1: a text message that is not UTF-8 fails the connection. It is
            // counted as the same bytes in a binary message are (`not_utf8`); the server's bytes
            // stay out of the log.
            Err(tungstenite::Error::Utf8(_)) => {
                self.fail(
                    "a text message was not UTF-8 (counted as not_utf8); reconnecting",
                    &"invalid UTF-8",
                );
                LinePoll::NotUtf8
            }
            Err(e) => {
                self.fail("connection lost", &e);
                LinePoll::Pending
            }
        }
    }

    /// A data message: a line for the feed, or a `too_long` stand-in from the guard.
    fn data(&mut self, buf: &mut Vec<u8>, bytes: &[u8]) -> LinePoll {
        let Some(s) = self.conn.up_mut() else {
            return LinePoll::Idle;
        };
        let too_long = s.ws.get_ref().too_long();
        if too_long > s.too_long_seen {
            s.too_long_seen = too_long;
            s.last_data = Instant::now();
            return LinePoll::TooLong;
        }
        buf.clear();
        buf.extend_from_slice(bytes);
        LinePoll::Line
    }
}

impl LineSource for WsSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn can_wait(&self) -> bool {
        false
    }

    fn set_busy_poll(&mut self) {
        self.busy_poll = true;
    }

    fn attach(&mut self, stats: FeedStats) {
        self.stats = stats;
        self.stats.disconnected();
    }

    fn next_line(&mut self, buf: &mut Vec<u8>) -> LinePoll {
        let now = Instant::now();
        if self.conn.due(now) {
            self.start_connect();
            return LinePoll::Idle;
        }
        match &mut self.conn {
            Link::Down { .. } => LinePoll::Idle,
            Link::Connecting {
                attempt: Attempt::Resolving(_),
                ..
            } => {
                self.poll_resolve(now);
                LinePoll::Idle
            }
            Link::Connecting {
                attempt: Attempt::Tcp(socket),
                deadline,
            } => {
                let deadline = *deadline;
                match socket.take_error() {
                    Ok(Some(e)) | Err(e) => {
                        self.fail_connect("connect failed", &e);
                        return LinePoll::Idle;
                    }
                    Ok(None) => {}
                }
                if socket.peer_addr().is_ok() {
                    let Link::Connecting {
                        attempt: Attempt::Tcp(socket),
                        ..
                    } = self.conn.take()
                    else {
                        unreachable!("matched above")
                    };
                    self.start_handshake(socket, deadline);
                    return LinePoll::Pending;
                }
                if now >= deadline {
                    self.fail_connect("connect timed out", &"no answer");
                }
                LinePoll::Idle
            }
            Link::Connecting {
                attempt: Attempt::Handshake(_),
                ..
            } => {
                let Link::Connecting {
                    attempt: Attempt::Handshake(mid),
                    deadline,
                } = self.conn.take()
                else {
                    unreachable!("matched above")
                };
                let r = (*mid).handshake();
                self.on_handshake(r, deadline);
                LinePoll::Waited
            }
            Link::Up(_) => {
                if !self.check_timers(now) {
                    return LinePoll::Pending;
                }
                self.read_up(buf)
            }
        }
    }

    fn route(&mut self, line: &[u8], envelope: Envelope) -> bool {
        let Some(s) = self.conn.up_mut() else {
            return false;
        };
        match envelope {
            Envelope::Notification { subscription } => {
                let known = subscription.is_none_or(|id| s.active.contains_key(&id));
                if known {
                    s.last_data = Instant::now();
                    if !s.got_data {
                        s.got_data = true;
                        self.backoff.reset();
                    }
                } else {
                    self.stats.unrouted();
                }
                known
            }
            Envelope::Reply { id, result, error } => {
                let sub = id.and_then(|id| s.pending.remove(&id));
                let what = sub
                    .and_then(|i| self.cfg.subscriptions.get(i))
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "an unknown request".into());
                match (error, result, sub) {
                    (false, Some(sub_id), Some(i)) => {
                        s.active.insert(sub_id, i);
                        tracing::info!(feed = %self.name, subscription = %what, id = sub_id, "subscribed");
                    }
                    (true, _, _) => {
                        self.stats.reply_error();
                        tracing::warn!(
                            feed = %self.name,
                            request = %what,
                            error = %error_message(line),
                            "the server refused a request"
                        );
                    }
                    (false, None, Some(_)) => {
                        // Without a numeric id its notifications cannot be routed: as good as
                        // refused (the stall watchdog then reconnects and subscribes again).
                        self.stats.reply_error();
                        tracing::warn!(
                            feed = %self.name,
                            request = %what,
                            "the server acknowledged a subscription without a numeric subscription id"
                        );
                    }
                    _ => {}
                }
                false
            }
            Envelope::Other => true,
        }
    }
}

/// `error.code` and `error.message` of a JSON-RPC reply, cut short (the server's text, not ours:
/// it is bounded and stripped of control characters before it reaches a log).
fn error_message(line: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Reply {
        error: Option<ErrorBody>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        code: Option<i64>,
        message: Option<String>,
    }
    let Ok(Reply { error: Some(e) }) = serde_json::from_slice::<Reply>(line) else {
        return "unreadable error reply".into();
    };
    let msg: String = e
        .message
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    format!("{} {msg}", e.code.unwrap_or(0))
}

/// The URL of the handshake request (credentials before `@` left out).
fn request_url(endpoint: &Endpoint) -> String {
    format!(
        "{}://{}{}",
        endpoint.scheme,
        endpoint.authority(),
        endpoint.path_and_query
    )
}

/// The handshake request: the URL without its credentials, which travel as HTTP basic
/// authentication instead (`Authorization: Basic ...`, marked sensitive so that the HTTP types
/// never print it). `None` when the path or query cannot be sent.
fn handshake_request(endpoint: &Endpoint) -> Option<Request> {
    use tungstenite::client::IntoClientRequest;
    use tungstenite::http::{header::AUTHORIZATION, HeaderValue};
    let mut request = request_url(endpoint).into_client_request().ok()?;
    if let Some(userinfo) = &endpoint.userinfo {
        let mut value = HeaderValue::from_str(userinfo.basic_authorization().expose()).ok()?;
        value.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, value);
    }
    Some(request)
}
