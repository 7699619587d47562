//! `wire_to_bot`: each message is stamped when the loopback WebSocket server writes it
//! ([`sniffer::monotonic_ns`], in the server's log) and again when the bot's receive returns it,
//! for two feed kinds — `logsNotification` (pump.fun creates) and Helius
//! `transactionNotification` in `jsonParsed` — at 100, 1 000 and 10 000 messages a second.
//!
//! The messages are built from the real pump.fun `create_v2` transaction of
//! `tests/data/launchpads` (its logs, and its `jsonParsed` form): each copy gets a fresh
//! signature, so each one is a distinct launch (the engine deduplicates by mint and signature)
//! and each receive is matched to its write by signature.
//!
//! The same server, messages and pace serve, side by side in the same run:
//! - **ours**: the engine with its WebSocket feed (default wait), the bot on `recv`;
//! - **(a)** what a bot builder writes by hand: a blocking `tungstenite` client, each message
//!   parsed with `serde_json::from_slice::<Value>`, the launch's data decoded (base64 event for
//!   logs, base58 instruction data for the parsed transaction), and a crossbeam channel to a bot
//!   thread that receives;
//! - **(b)** the seeds' design: `tokio-tungstenite` on a multi-thread runtime, the same parse, a
//!   tokio `mpsc` to a bot task;
//! - **ours busy-poll**: the engine with `busy_poll = true` (the feed thread and the bot spin);
//! - **ours inline**: the engine calling the bot's handler on the feed thread
//!   (`SnifferBuilder::inline_handler`), stamped inside the handler: no handoff, no wake-up;
//! - **ours inline busy-poll**: the same with `busy_poll = true` (only the feed thread spins);
//! - **(floor)**: one thread spinning on a non-blocking socket, stamping each frame as the read
//!   returns it (no parse, no decode, no handoff): the soonest any client sees a message here.
//!
//! Correctness is asserted for every client (each message reaches the bot exactly once; for
//! the engine, the accounting is exact); the timing targets (ours and ours inline at or below
//! (a), busy-poll and inline busy-poll p50 at most 10 µs for logs at 1 000/s) are timing bounds.

use std::sync::atomic::{
    AtomicU64, AtomicUsize, Ordering,
    Ordering::{AcqRel, Acquire, Release},
};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use hdrhistogram::Histogram;
use serde_json::Value;
use sniffer::{
    decode::DecoderConfig,
    feed::{LineFeed, Subscription, WsConfig},
    MetricsSnapshot, Pubkey, Sniffer, SnifferBuilder, SnifferConfig,
};

use crate::harness::{new_histogram, push_latency_us, Bound, BoundKind};
use crate::samples::launchpads;
use crate::scenarios::Outcome;
use crate::wsserver::{Line, Plan, WsServer};

/// The pump.fun program.
const PUMP: &str = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P";
/// The real launch every message is a copy of (its logs and its `jsonParsed` transaction).
const SAMPLE: &str = "pumpfun_create_v2_alt_jsonparsed_2RoRJxat";
/// Longest a run waits for its last message (a did-not-hang margin).
const RUN_CAP: Duration = Duration::from_secs(60);

/// The feed kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    Logs,
    TxParsed,
}

impl Form {
    fn name(self) -> &'static str {
        match self {
            Form::Logs => "ws logs",
            Form::TxParsed => "ws tx jsonParsed",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Form::Logs => "logs",
            Form::TxParsed => "tx_parsed",
        }
    }

    /// What a hand-written client subscribes with.
    fn subscribe_request(self) -> String {
        match self {
            Form::Logs => serde_json::json!({
                "jsonrpc": "2.0", "id": 1, "method": "logsSubscribe",
                "params": [{"mentions": [PUMP]}, {"commitment": "processed"}],
            }),
            Form::TxParsed => serde_json::json!({
                "jsonrpc": "2.0", "id": 1, "method": "transactionSubscribe",
                "params": [
                    {"accountInclude": [PUMP], "vote": false, "failed": false},
                    {"commitment": "processed", "encoding": "jsonParsed",
                     "transactionDetails": "full", "maxSupportedTransactionVersion": 0},
                ],
            }),
        }
        .to_string()
    }

    /// What the engine subscribes with.
    fn subscriptions(self) -> Vec<Subscription> {
        match self {
            Form::Logs => Subscription::default_set(),
            Form::TxParsed => vec![Subscription::Transactions(vec![PUMP
                .parse::<Pubkey>()
                .expect("program id")])],
        }
    }
}

/// The clients compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Client {
    Ours,
    HandBlocking,
    SeedsTokio,
    OursBusy,
    OursInline,
    OursInlineBusy,
    Floor,
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Ours => "ours",
            Client::HandBlocking => "(a) tungstenite+Value+crossbeam",
            Client::SeedsTokio => "(b) tokio-tungstenite+mpsc",
            Client::OursBusy => "ours busy-poll",
            Client::OursInline => "ours inline",
            Client::OursInlineBusy => "ours inline busy-poll",
            Client::Floor => "(floor) spinning read, no parse",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Client::Ours => "ours",
            Client::HandBlocking => "a",
            Client::SeedsTokio => "b",
            Client::OursBusy => "ours_busy",
            Client::OursInline => "ours_inline",
            Client::OursInlineBusy => "ours_inline_busy",
            Client::Floor => "floor",
        }
    }
}

/// `n` copies of the sample in `form`, each with its own signature.
struct Messages {
    lines: Vec<Line>,
    sigs: Vec<String>,
}

fn messages(form: Form, n: usize, seed: u64) -> Messages {
    let sample = launchpads::load(SAMPLE);
    let original = sample.signature().to_owned();
    let text = match form {
        Form::Logs => sample.logs_notification().expect("the sample has logs"),
        Form::TxParsed => sample.transaction_notification(&sample.get_transaction_json_parsed()),
    };
    let mut state = seed;
    let mut next = move || {
        // splitmix64
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let (mut lines, mut sigs) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let mut sig = [0u8; 64];
        for chunk in sig.chunks_mut(8) {
            chunk.copy_from_slice(&next().to_le_bytes());
        }
        let sig = bs58::encode(sig).into_string();
        lines.push(Line::from_text(text.replace(&original, &sig).as_bytes()));
        sigs.push(sig);
    }
    Messages { lines, sigs }
}

/// What a bot builder's reader does with one message: parse it into a `Value`, and for a
/// pump.fun create decode its data (the event's base64 for logs, the instruction's base58 for
/// a parsed transaction); returns the signature of a create.
fn hand_parse(bytes: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let result = &v["params"]["result"];
    match v["method"].as_str()? {
        "logsNotification" => {
            let value = &result["value"];
            let logs = value["logs"].as_array()?;
            let create = logs.iter().any(|l| {
                l.as_str()
                    .is_some_and(|l| l.starts_with("Program log: Instruction: Create"))
            });
            if !create {
                return None;
            }
            let event = logs
                .iter()
                .filter_map(|l| l.as_str()?.strip_prefix("Program data: "))
                .find_map(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())?;
            (event.len() > 8).then(|| value["signature"].as_str().map(str::to_owned))?
        }
        "transactionNotification" => {
            let message = &result["transaction"]["transaction"]["message"];
            let ix = message["instructions"]
                .as_array()?
                .iter()
                .find(|ix| ix["programId"] == PUMP)?;
            let data = bs58::decode(ix["data"].as_str()?).into_vec().ok()?;
            let mint = ix["accounts"][0].as_str()?;
            (data.len() > 8 && !mint.is_empty())
                .then(|| result["signature"].as_str().map(str::to_owned))?
        }
        _ => None,
    }
}

/// What one client measured.
struct Measured {
    latency: Histogram<u64>,
    /// For the engine: server write -> the feed's read of the line (`detected_at_ns`).
    to_feed: Option<Histogram<u64>>,
    delivered_once: usize,
    duplicates: usize,
    /// For the engine: its accounting was exact.
    accounting: Option<(bool, MetricsSnapshot)>,
    hot_threads: String,
}

/// Receive times by signature, with what the engine stamped at read (when it is the engine).
type Got = Vec<(String, u64, Option<u64>)>;

/// Matches the server's writes with the receives.
fn measure(
    msgs: &Messages,
    sent: &[(usize, u64)],
    got: &Got,
) -> (Histogram<u64>, Option<Histogram<u64>>, usize, usize) {
    let mut at = std::collections::HashMap::with_capacity(got.len());
    let mut duplicates = 0;
    for (sig, t, detected) in got {
        if at.insert(sig.as_str(), (*t, *detected)).is_some() {
            duplicates += 1;
        }
    }
    let (mut h, mut feed) = (new_histogram(), new_histogram());
    let mut any_detected = false;
    let mut delivered = 0;
    for (i, t) in sent {
        if let Some((r, d)) = at.get(msgs.sigs[*i].as_str()) {
            delivered += 1;
            let _ = h.record(r.saturating_sub(*t).max(1));
            if let Some(d) = d {
                any_detected = true;
                let _ = feed.record(d.saturating_sub(*t).max(1));
            }
        }
    }
    (h, any_detected.then_some(feed), delivered, duplicates)
}

/// What a baseline client measured (no engine: no feed-read stamps, no accounting).
fn baseline_measured(
    msgs: &Messages,
    sent: &[(usize, u64)],
    got: &Got,
    hot_threads: &str,
) -> Measured {
    let (latency, _, delivered_once, duplicates) = measure(msgs, sent, got);
    Measured {
        latency,
        to_feed: None,
        delivered_once,
        duplicates,
        accounting: None,
        hot_threads: hot_threads.into(),
    }
}

/// A blocking tungstenite client connected to `addr` (no Nagle) with `request` sent.
fn subscribed_client(
    url: &str,
    addr: std::net::SocketAddr,
    request: String,
) -> tungstenite::WebSocket<std::net::TcpStream> {
    let tcp = std::net::TcpStream::connect(addr).expect("connect");
    let _ = tcp.set_nodelay(true);
    let (mut ws, _) = tungstenite::client(url, tcp).expect("handshake");
    ws.send(tungstenite::Message::text(request))
        .expect("subscribe");
    ws
}

fn interval(rate: u64) -> Duration {
    Duration::from_nanos(1_000_000_000 / rate)
}

/// Waits until `count` reaches `n`, or the server has sent everything and a second passed
/// without the count moving, or [`RUN_CAP`].
fn wait_for(count: &AtomicUsize, n: usize, server: &WsServer) {
    let started = Instant::now();
    let mut last = (0, Instant::now());
    while count.load(Ordering::Acquire) < n && started.elapsed() < RUN_CAP {
        std::thread::sleep(Duration::from_millis(5));
        let c = count.load(Ordering::Acquire);
        if c != last.0 {
            last = (c, Instant::now());
        } else if server.log().sent.len() >= n && last.1.elapsed() > Duration::from_secs(1) {
            break;
        }
    }
}

/// A server pacing `msgs` at `rate`, and an engine builder with our WebSocket feed on it.
fn engine_on_server(
    form: Form,
    msgs: &Messages,
    rate: u64,
    busy_poll: bool,
) -> (WsServer, SnifferBuilder) {
    let server = WsServer::start(msgs.lines.clone(), vec![Plan::default()], interval(rate));
    let ws = WsConfig {
        subscriptions: form.subscriptions(),
        ..WsConfig::default()
    };
    let feed = LineFeed::ws(&server.url("/"), ws, DecoderConfig::default()).expect("ws feed");
    let cfg = SnifferConfig {
        busy_poll,
        ..SnifferConfig::load(None).unwrap_or_default()
    };
    (server, Sniffer::builder().config(cfg).feed(feed))
}

fn ours(form: Form, msgs: &Messages, rate: u64, busy_poll: bool) -> Measured {
    let n = msgs.lines.len();
    let (server, builder) = engine_on_server(form, msgs, rate, busy_poll);
    let mut engine = builder.build().expect("engine");
    let rx = engine.take_receiver().expect("receiver");
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let bot = std::thread::spawn(move || {
        let mut got = Vec::with_capacity(n);
        while let Ok(c) = rx.recv() {
            let t = sniffer::monotonic_ns();
            got.push((c.signature, t, c.detected_at_ns));
            seen.store(got.len(), Ordering::Release);
        }
        got
    });
    wait_for(&count, n, &server);
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    let got: Got = bot
        .join()
        .unwrap_or_default()
        .into_iter()
        .map(|(s, t, d)| (s.to_string(), t, Some(d)))
        .collect();
    let log = server.stop();
    let (latency, to_feed, delivered_once, duplicates) = measure(msgs, &log.sent, &got);
    let exact = m.accounting_holds() && m.in_flight == 0 && m.candidates_sent == got.len() as u64;
    Measured {
        latency,
        to_feed,
        delivered_once,
        duplicates,
        accounting: Some((exact, m)),
        hot_threads: if busy_poll {
            "2 spinning (feed, bot) + the server's".into()
        } else {
            "2 (feed, bot)".into()
        },
    }
}

/// Ours inline: the engine calls the handler on its feed thread; the handler stamps the receive
/// first thing and notes it without a lock in a slot per message (found by signature).
fn ours_inline(form: Form, msgs: &Messages, rate: u64, busy_poll: bool) -> Measured {
    let n = msgs.lines.len();
    let (server, builder) = engine_on_server(form, msgs, rate, busy_poll);
    let slots = Arc::new(InlineSlots::new(msgs));
    let seen = slots.clone();
    let engine = builder
        .inline_handler(move |c| seen.got(c, sniffer::monotonic_ns()))
        .build()
        .expect("engine");
    wait_for(&slots.count, n, &server);
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    let log = server.stop();
    let got = slots.received(msgs);
    let (latency, to_feed, delivered_once, duplicates) = measure(msgs, &log.sent, &got);
    let extra = slots.extra.load(Acquire);
    let calls = (got.len() + extra) as u64;
    let exact = m.accounting_holds() && m.in_flight == 0 && m.candidates_sent == calls;
    Measured {
        latency,
        to_feed,
        delivered_once,
        duplicates: duplicates + extra,
        accounting: Some((exact, m)),
        hot_threads: if busy_poll {
            "1 spinning (feed) + the server's".into()
        } else {
            "1 (feed)".into()
        },
    }
}

/// What an inline handler notes from the feed thread, without a lock: per message (by
/// signature) the receive and detection times, and every call's count (a copy of a signature
/// not ours, or a second one, lands in `extra`).
struct InlineSlots {
    index: std::collections::HashMap<sniffer::Signature, usize>,
    at: Vec<(AtomicU64, AtomicU64)>,
    extra: AtomicUsize,
    count: AtomicUsize,
}

impl InlineSlots {
    fn new(msgs: &Messages) -> Self {
        let index = msgs
            .sigs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let bytes = bs58::decode(s).into_vec().expect("base58");
                (sniffer::Signature(bytes.try_into().expect("64 bytes")), i)
            })
            .collect();
        InlineSlots {
            index,
            at: (0..msgs.sigs.len())
                .map(|_| (AtomicU64::new(0), AtomicU64::new(0)))
                .collect(),
            extra: AtomicUsize::new(0),
            count: AtomicUsize::new(0),
        }
    }

    fn got(&self, c: &sniffer::PremintCandidate, t: u64) {
        let slot = self.index.get(&c.signature).map(|&i| &self.at[i]);
        match slot.filter(|(at, _)| at.compare_exchange(0, t, AcqRel, Acquire).is_ok()) {
            Some((_, detected)) => detected.store(c.detected_at_ns, Release),
            None => {
                self.extra.fetch_add(1, AcqRel);
            }
        }
        self.count.fetch_add(1, Release);
    }

    /// The first receive of each message so far, as [`Got`] (the other calls are `extra`).
    fn received(&self, msgs: &Messages) -> Got {
        self.at
            .iter()
            .zip(&msgs.sigs)
            .filter(|((at, _), _)| at.load(Acquire) != 0)
            .map(|((at, d), sig)| (sig.clone(), at.load(Acquire), Some(d.load(Acquire))))
            .collect()
    }
}

fn hand_blocking(form: Form, msgs: &Messages, rate: u64) -> Measured {
    let n = msgs.lines.len();
    let server = WsServer::start(msgs.lines.clone(), vec![Plan::default()], interval(rate));
    let (tx, rx) = crossbeam_channel::unbounded::<String>();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let bot = std::thread::spawn(move || {
        let mut got: Got = Vec::with_capacity(n);
        while let Ok(sig) = rx.recv() {
            got.push((sig, sniffer::monotonic_ns(), None));
            seen.store(got.len(), Ordering::Release);
        }
        got
    });
    let (url, addr) = (server.url("/"), server.addr);
    let request = form.subscribe_request();
    let reader = std::thread::spawn(move || {
        let mut ws = subscribed_client(&url, addr, request);
        while let Ok(msg) = ws.read() {
            if let tungstenite::Message::Text(t) = msg {
                if let Some(sig) = hand_parse(t.as_bytes()) {
                    if tx.send(sig).is_err() {
                        break;
                    }
                }
            }
        }
    });
    wait_for(&count, n, &server);
    let log = server.stop();
    let _ = reader.join();
    let got = bot.join().unwrap_or_default();
    baseline_measured(msgs, &log.sent, &got, "2 (reader, bot)")
}

/// The floor of this machine: one thread spinning on a non-blocking socket (tungstenite's
/// frame read, nothing else), stamping each text frame the moment the read returns it; the
/// signature is then found by a byte search, no JSON parse and no decode. No client can
/// see a message sooner over this loopback; what separates it from the busy-poll rows is
/// the engine's work (parse, decode, dedupe, delivery).
fn floor(form: Form, msgs: &Messages, rate: u64) -> Measured {
    let n = msgs.lines.len();
    let server = WsServer::start(msgs.lines.clone(), vec![Plan::default()], interval(rate));
    let count = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (seen, halt) = (count.clone(), stop.clone());
    let (url, addr) = (server.url("/"), server.addr);
    let request = form.subscribe_request();
    // Only this run's messages count: the server's heartbeats (a notification with a
    // signature of its own, every 50 ms once the lines are sent) are not messages.
    let expected: std::collections::HashSet<String> = msgs.sigs.iter().cloned().collect();
    let reader = std::thread::spawn(move || {
        let mut ws = subscribed_client(&url, addr, request);
        ws.get_mut().set_nonblocking(true).expect("non-blocking");
        let mut got: Got = Vec::with_capacity(n);
        while !halt.load(Ordering::Acquire) {
            match ws.read() {
                Ok(tungstenite::Message::Text(t)) => {
                    let at = sniffer::monotonic_ns();
                    if let Some(sig) = signature_in(t.as_bytes()).filter(|s| expected.contains(s)) {
                        got.push((sig, at, None));
                        seen.store(got.len(), Ordering::Release);
                    }
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::hint::spin_loop();
                }
                Err(_) => break,
            }
        }
        got
    });
    wait_for(&count, n, &server);
    stop.store(true, Ordering::Release);
    let log = server.stop();
    let got = reader.join().unwrap_or_default();
    baseline_measured(msgs, &log.sent, &got, "1 (reader spins)")
}

/// The value of the first `"signature":"..."` in a notification.
fn signature_in(bytes: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"\"signature\":\"";
    let at = memchr::memmem::find(bytes, KEY)? + KEY.len();
    let len = memchr::memchr(b'"', &bytes[at..])?;
    String::from_utf8(bytes[at..at + len].to_vec()).ok()
}

fn seeds_tokio(form: Form, msgs: &Messages, rate: u64) -> Measured {
    use futures_util::{SinkExt as _, StreamExt as _};
    let n = msgs.lines.len();
    let server = WsServer::start(msgs.lines.clone(), vec![Plan::default()], interval(rate));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let workers = rt.metrics().num_workers();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(16 * 1024);
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let bot = rt.spawn(async move {
        let mut got: Got = Vec::with_capacity(n);
        while let Some(sig) = rx.recv().await {
            got.push((sig, sniffer::monotonic_ns(), None));
            seen.store(got.len(), Ordering::Release);
        }
        got
    });
    let (url, addr) = (server.url("/"), server.addr);
    let request = form.subscribe_request();
    let reader = rt.spawn(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let _ = tcp.set_nodelay(true);
        let (mut ws, _) = tokio_tungstenite::client_async(url.as_str(), tcp)
            .await
            .expect("handshake");
        ws.send(tokio_tungstenite::tungstenite::Message::text(request))
            .await
            .expect("subscribe");
        while let Some(Ok(msg)) = ws.next().await {
            if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
                if let Some(sig) = hand_parse(t.as_bytes()) {
                    if tx.send(sig).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    wait_for(&count, n, &server);
    let log = server.stop();
    let _ = rt.block_on(reader);
    let got = rt.block_on(bot).unwrap_or_default();
    baseline_measured(
        msgs,
        &log.sent,
        &got,
        &format!("{workers} tokio workers (reader task, bot task)"),
    )
}

fn run_client(client: Client, form: Form, msgs: &Messages, rate: u64) -> Measured {
    match client {
        Client::Ours => ours(form, msgs, rate, false),
        Client::OursBusy => ours(form, msgs, rate, true),
        Client::OursInline => ours_inline(form, msgs, rate, false),
        Client::OursInlineBusy => ours_inline(form, msgs, rate, true),
        Client::HandBlocking => hand_blocking(form, msgs, rate),
        Client::SeedsTokio => seeds_tokio(form, msgs, rate),
        Client::Floor => floor(form, msgs, rate),
    }
}

/// The correctness bound of one client's run.
fn delivered_bound(label: &str, n: usize, m: &Measured) -> Bound {
    let (exact, detail) = match &m.accounting {
        Some((exact, s)) => (
            *exact,
            format!(
                "; accounting {exact}: read {}, sent {}, dropped {}, malformed {}",
                s.tx_seen,
                s.candidates_sent,
                s.dropped_total(),
                s.tx_malformed
            ),
        ),
        None => (true, String::new()),
    };
    Bound::holds(
        &format!("{label}: every message reached the bot once"),
        BoundKind::Correctness,
        m.delivered_once == n && m.duplicates == 0 && exact,
        format!(
            "{} of {n} once, {} twice{detail}",
            m.delivered_once, m.duplicates
        ),
    )
}

fn us(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1e3
}

/// Messages at `rate` (a run of about `secs`, at least 50).
fn count_at(rate: u64, secs: f64) -> usize {
    ((rate as f64 * secs) as usize).max(50)
}

/// The scenario. `smoke`: the engine only (default, busy-poll, inline and inline busy-poll),
/// 1 000/s, 50 messages per form, correctness only.
pub(crate) fn wire_to_bot(smoke: bool) -> Outcome {
    let (rates, clients): (&[(u64, f64)], &[Client]) = if smoke {
        (
            &[(1_000, 0.05)],
            &[
                Client::Ours,
                Client::OursBusy,
                Client::OursInline,
                Client::OursInlineBusy,
            ],
        )
    } else {
        (
            &[(100, 3.0), (1_000, 2.0), (10_000, 1.0)],
            &[
                Client::Ours,
                Client::HandBlocking,
                Client::SeedsTokio,
                Client::OursBusy,
                Client::OursInline,
                Client::OursInlineBusy,
                Client::Floor,
            ],
        )
    };
    let mut bounds = Vec::new();
    let mut figures = Vec::new();
    let mut table = Vec::new();
    for form in [Form::Logs, Form::TxParsed] {
        for &(rate, secs) in rates {
            let n = count_at(rate, secs);
            let msgs = messages(form, n, rate ^ form as u64);
            let mut row = Vec::new();
            for &client in clients {
                let m = run_client(client, form, &msgs, rate);
                let label = format!("wire_to_bot/{}/{rate}/{}", form.tag(), client.tag());
                bounds.push(delivered_bound(&label, n, &m));
                push_latency_us(&mut figures, &label, &m.latency);
                if let Some(f) = &m.to_feed {
                    push_latency_us(&mut figures, &format!("{label}/write_to_feed_read"), f);
                }
                row.push((client, m));
            }
            // A smoke run asserts correctness only: no timing bounds, not even reported ones.
            if !smoke {
                timing_bounds(&mut bounds, form, rate, &row);
                over_the_floor(&mut figures, form, rate, &row);
            }
            table.push((form, rate, n, row));
        }
    }
    print_table(&table);
    Outcome {
        runs: Vec::new(),
        bounds,
        figures,
    }
}

/// Ours and ours inline at or below (a) at p50 and p99; busy-poll and inline busy-poll p50 at
/// most 10 µs for logs at 1 000/s.
fn timing_bounds(bounds: &mut Vec<Bound>, form: Form, rate: u64, row: &[(Client, Measured)]) {
    let get = |c: Client| row.iter().find(|(k, _)| *k == c).map(|(_, m)| &m.latency);
    let label = format!("wire_to_bot/{}/{rate}", form.tag());
    for client in [Client::Ours, Client::OursInline] {
        let (Some(ours), Some(a)) = (get(client), get(Client::HandBlocking)) else {
            continue;
        };
        for (q, v) in [("p50", 0.5), ("p99", 0.99)] {
            bounds.push(Bound::at_most(
                &format!("{label}: {} {q} (us) <= baseline (a) {q}", client.name()),
                BoundKind::Timing,
                us(ours, v),
                us(a, v),
            ));
        }
    }
    if (form, rate) != (Form::Logs, 1_000) {
        return;
    }
    for client in [Client::OursBusy, Client::OursInlineBusy] {
        if let Some(busy) = get(client) {
            bounds.push(Bound::at_most(
                &format!("{label}: {} p50 (us)", client.name()),
                BoundKind::Timing,
                us(busy, 0.5),
                10.0,
            ));
        }
    }
}

/// What the busy-poll rows add to the floor (p50 over the floor's p50): the engine's own share
/// of a message's way, the rest being the machine's.
fn over_the_floor(
    figures: &mut Vec<(String, f64)>,
    form: Form,
    rate: u64,
    row: &[(Client, Measured)],
) {
    let get = |c: Client| row.iter().find(|(k, _)| *k == c).map(|(_, m)| &m.latency);
    let Some(floor) = get(Client::Floor) else {
        return;
    };
    for client in [Client::OursBusy, Client::OursInlineBusy] {
        if let Some(busy) = get(client) {
            figures.push((
                format!(
                    "wire_to_bot/{}/{rate}/{}: p50 over the floor's p50 (us)",
                    form.tag(),
                    client.tag()
                ),
                us(busy, 0.5) - us(floor, 0.5),
            ));
        }
    }
}

type Row = (Form, u64, usize, Vec<(Client, Measured)>);

fn print_table(table: &[Row]) {
    println!("\nwire_to_bot: server write -> bot recv over loopback WebSocket (µs)");
    println!(
        "{:<18} {:>7} {:<34} {:>9} {:>9} {:>9}  {:>14}  hot threads",
        "feed", "rate/s", "client", "p50", "p99", "max", "write->read p50"
    );
    for (form, rate, n, row) in table {
        for (client, m) in row {
            let feed = m
                .to_feed
                .as_ref()
                .map_or("-".to_owned(), |f| format!("{:.1}", us(f, 0.5)));
            println!(
                "{:<18} {:>7} {:<34} {:>9.1} {:>9.1} {:>9.1}  {:>14}  {} [{}/{n}]",
                form.name(),
                rate,
                client.name(),
                us(&m.latency, 0.5),
                us(&m.latency, 0.99),
                m.latency.max() as f64 / 1e3,
                feed,
                m.hot_threads,
                m.delivered_once,
            );
        }
    }
    let cores = sniffer::config::machine_cores().len();
    if cores <= 2 {
        println!(
            "note: {cores} cores: busy-poll's spinning feed thread and spinning bot, with the \
             server's thread, oversubscribe this machine"
        );
    }
}
