//! Inline delivery (`SnifferBuilder::inline_handler`): the handler runs on the thread that
//! ingests each candidate — a feed's own thread, or the bot's for `IngestHandle` — with exact
//! accounting (a panicking call counted in `send_failures`), the multi-feed race delivering each
//! launch once while two feed threads call the handler at once, conflicting options refused at
//! build, and a live WebSocket feed under busy-poll. Every run checks the accounting invariant
//! with nothing in flight.

mod wsserver;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sniffer::{
    config::BatchSendMode,
    decode::DecoderConfig,
    feed::Subscription,
    feed::{Expected, Feed, LineFeed, PayloadGenerator, PayloadMix, ReplayConfig, WsConfig},
    metrics::Delivery,
    BuildError, ConfigError, HealthStatus, MetricsSnapshot, PremintCandidate, Priority, Pubkey,
    Sniffer, SnifferConfig, TryIngestError,
};
use wsserver::{Line, Plan, WsServer};

/// What the handler saw: each candidate with the name of the thread that called it.
type Calls = Arc<Mutex<Vec<(PremintCandidate, String)>>>;

/// A handler that records every call with its thread's name.
fn recording() -> (Calls, impl Fn(&PremintCandidate) + Send + Sync + 'static) {
    let calls: Calls = Arc::default();
    let sink = calls.clone();
    let handler = move |c: &PremintCandidate| {
        let name = std::thread::current().name().unwrap_or("").to_owned();
        sink.lock().unwrap().push((*c, name));
    };
    (calls, handler)
}

fn taken(calls: &Calls) -> Vec<(PremintCandidate, String)> {
    std::mem::take(&mut *calls.lock().unwrap())
}

/// The invariant with nothing in flight, every sent candidate handed to the handler, no
/// sequence number twice.
fn assert_accounted(got: &[(PremintCandidate, String)], m: &MetricsSnapshot) {
    assert!(m.accounting_holds(), "accounting invariant broken: {m:#?}");
    assert_eq!(m.in_flight, 0, "{m:#?}");
    assert_eq!(got.len() as u64, m.candidates_sent, "{m:#?}");
    assert_eq!(m.delivery, Delivery::Inline);
    let mut seqs = HashSet::new();
    for (c, _) in got {
        assert!(seqs.insert(c.seq), "sequence {} delivered twice", c.seq);
    }
}

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sniffer-inline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// `n` generated notification lines (no malformed ones) and the number of launches among them.
fn payload_lines(seed: u64, n: usize) -> (Vec<Vec<u8>>, HashSet<Pubkey>) {
    let mut g = PayloadGenerator::new(seed, PayloadMix::default(), 0.0);
    let (mut lines, mut mints) = (Vec::new(), HashSet::new());
    while lines.len() < n {
        let mut l = Vec::new();
        match g.next_line(&mut l) {
            Expected::Launch { mint, .. } => assert!(mints.insert(mint)),
            Expected::Nothing => {}
            Expected::Malformed(_) => continue,
        }
        lines.push(l);
    }
    (lines, mints)
}

fn write_lines(path: &Path, lines: &[Vec<u8>]) {
    let body: Vec<u8> = lines
        .iter()
        .flat_map(|l| l.iter().chain(b"\n"))
        .copied()
        .collect();
    std::fs::write(path, body).unwrap();
}

fn replay(path: &Path) -> LineFeed {
    let cfg = ReplayConfig {
        speed: 0.0,
        ..ReplayConfig::default()
    };
    LineFeed::replay(path, cfg, DecoderConfig::default()).unwrap()
}

/// Runs `feeds` with a recording inline handler until they end, shuts down and returns the
/// calls (candidate, thread) and the metrics, with the accounting checked.
fn run_to_the_end(feeds: Vec<LineFeed>) -> (Vec<(PremintCandidate, String)>, MetricsSnapshot) {
    let (calls, handler) = recording();
    let engine = feeds
        .into_iter()
        .fold(Sniffer::builder(), |b, f| b.feed(f))
        .inline_handler(handler)
        .build()
        .unwrap();
    assert!(engine.wait_feeds(Duration::from_secs(60)));
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    let got = taken(&calls);
    assert_accounted(&got, &m);
    (got, m)
}

#[test]
fn every_candidate_is_delivered_or_counted_once_panics_in_send_failures() {
    let (calls, record) = recording();
    let handler = move |c: &PremintCandidate| {
        if c.slot.is_multiple_of(5) {
            panic!("the bot's handler failed on slot {}", c.slot);
        }
        record(c);
    };
    let cfg = SnifferConfig {
        max_slot_lag: Some(10),
        ..SnifferConfig::default()
    };
    let mut engine = Sniffer::builder()
        .config(cfg)
        .inline_handler(handler)
        .build()
        .unwrap();
    assert!(
        engine.take_receiver().is_none(),
        "inline delivery has no receiver"
    );
    let bot = engine.ingest_handle();
    let priority = |n: u64| {
        if n.is_multiple_of(3) {
            Priority::High
        } else {
            Priority::Low
        }
    };
    // Slots 1000..1100: 20 panics (every fifth), then one stale launch (slot lag 90 > 10).
    for slot in 1000..1100 {
        let c = PremintCandidate {
            slot,
            priority: priority(slot),
            ..Default::default()
        };
        bot.try_ingest(c).unwrap();
        // Delivered (or failed) before `try_ingest` returned, on this thread.
        let n = calls.lock().unwrap().len() as u64;
        assert_eq!(n, slot - 1000 + 1 - (slot - 1000) / 5 - 1, "slot {slot}");
    }
    let stale = PremintCandidate {
        slot: 1010,
        ..Default::default()
    };
    assert!(matches!(
        bot.try_ingest(stale),
        Err(TryIngestError::Stale(_))
    ));
    let report = engine.shutdown(Duration::from_secs(5));
    let m = &report.metrics;
    let got = taken(&calls);
    assert_accounted(&got, m);
    let this = std::thread::current().name().unwrap().to_owned();
    assert!(
        got.iter().all(|(_, t)| *t == this),
        "called on the bot's thread"
    );
    assert_eq!(
        (m.candidates_detected, m.candidates_sent, m.send_failures),
        (101, 80, 20)
    );
    assert_eq!((m.dropped_full_buffer, m.dropped_stale), (20, 1));
    let high = got
        .iter()
        .filter(|(c, _)| c.priority == Priority::High)
        .count() as u64;
    assert_eq!((m.high_sent, m.low_sent), (high, 80 - high));
    let high_failed = (1000..1100u64)
        .filter(|s| s.is_multiple_of(5) && priority(*s) == Priority::High)
        .count() as u64;
    assert_eq!(
        (report.high.failed, report.low.failed),
        (high_failed, 20 - high_failed)
    );
    assert_eq!((report.delivered(), report.abandoned()), (80, 0));
    assert!(m
        .to_prometheus()
        .contains("\nsniffer_delivery_info{mode=\"inline\"} 1\n"));
    assert!(m.to_json().contains("\"delivery\": \"inline\""));
}

#[test]
fn an_engine_without_buffers_is_healthy() {
    let (calls, handler) = recording();
    let engine = Sniffer::builder().inline_handler(handler).build().unwrap();
    engine
        .ingest_handle()
        .try_ingest(PremintCandidate::default())
        .unwrap();
    let health = engine.metrics_source().health();
    assert_eq!(health.status, HealthStatus::Healthy, "{:?}", health.reasons);
    let s = &health.snapshot;
    assert_eq!((s.stream_buffer_capacity, s.lane_capacity), (0, 0));
    let m = engine.shutdown(Duration::from_secs(1)).metrics;
    assert_accounted(&taken(&calls), &m);
}

#[test]
fn after_shutdown_a_bots_candidate_is_handed_back_uncounted() {
    let (calls, handler) = recording();
    let engine = Sniffer::builder().inline_handler(handler).build().unwrap();
    let bot = engine.ingest_handle();
    bot.try_ingest(PremintCandidate::default()).unwrap();
    let m = engine.shutdown(Duration::from_secs(1)).metrics;
    let late = bot.try_ingest(PremintCandidate {
        slot: 9,
        ..Default::default()
    });
    assert!(matches!(late, Err(TryIngestError::Closed(c)) if c.slot == 9));
    assert_accounted(&taken(&calls), &m);
    assert_eq!((m.candidates_detected, m.candidates_sent), (1, 1));
}

#[test]
fn conflicting_options_are_refused_at_build() {
    let invalid_key = |r: Result<Sniffer, BuildError>| match r {
        Err(BuildError::Config(ConfigError::Invalid { key, reason, .. })) => (key, reason),
        other => panic!("expected a config error, got {other:?}"),
    };
    let (key, reason) = invalid_key(
        Sniffer::builder()
            .handler(|_| {})
            .inline_handler(|_| {})
            .build(),
    );
    assert_eq!(key, "inline_handler");
    assert!(reason.contains("`handler`"), "{reason}");
    for mode in [BatchSendMode::Sync, BatchSendMode::Async] {
        let cfg = SnifferConfig {
            batch_send_mode: mode,
            ..SnifferConfig::default()
        };
        let (key, reason) = invalid_key(
            Sniffer::builder()
                .config(cfg)
                .inline_handler(|_| {})
                .build(),
        );
        assert_eq!(key, "inline_handler");
        assert!(reason.contains("batch_send_mode = \"direct\""), "{reason}");
    }
}

#[test]
fn a_feeds_candidates_are_delivered_on_that_feeds_thread() {
    let (lines, mints) = payload_lines(21, 600);
    let path = temp_path("one.jsonl");
    write_lines(&path, &lines);
    let feed = replay(&path);
    let thread = format!("sniffer-feed-{}", feed.name());
    let (got, m) = run_to_the_end(vec![feed]);
    assert_eq!(m.candidates_sent, mints.len() as u64);
    let threads: HashSet<&str> = got.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(threads, HashSet::from([thread.as_str()]));
    let delivered: HashSet<Pubkey> = got.iter().map(|(c, _)| c.mint).collect();
    assert_eq!(delivered, mints);
    // In the feed's order: its sequence numbers increase per priority as it read them.
    let mut last: HashMap<Priority, u64> = HashMap::new();
    for (c, _) in &got {
        assert!(last
            .insert(c.priority, c.seq)
            .is_none_or(|prev| prev < c.seq));
    }
}

#[test]
fn two_feeds_racing_deliver_each_launch_once_from_the_winners_thread() {
    let (lines, mints) = payload_lines(22, 3000);
    let (pa, pb) = (temp_path("race-a.jsonl"), temp_path("race-b.jsonl"));
    write_lines(&pa, &lines);
    write_lines(&pb, &lines);
    let (a, b) = (replay(&pa), replay(&pb));
    let threads = [
        format!("sniffer-feed-{}", a.name()),
        format!("sniffer-feed-{}", b.name()),
    ];
    let (got, m) = run_to_the_end(vec![a, b]);
    let launches = mints.len() as u64;
    assert_eq!(
        (m.candidates_sent, m.duplicates_dropped),
        (launches, launches)
    );
    let mut once: BTreeMap<Pubkey, u32> = BTreeMap::new();
    for (c, _) in &got {
        *once.entry(c.mint).or_default() += 1;
    }
    assert_eq!(once.len() as u64, launches);
    assert!(once.values().all(|n| *n == 1), "a launch delivered twice");
    // Each delivery ran on the thread of the feed that won it.
    for (c, t) in &got {
        assert_eq!(*t, threads[usize::from(c.feed_id)]);
    }
    let wins: Vec<u64> = m.feeds.iter().map(|f| f.wins).collect();
    let by_feed = |id: u16| got.iter().filter(|(c, _)| c.feed_id == id).count() as u64;
    assert_eq!(wins, vec![by_feed(0), by_feed(1)]);
}

#[test]
fn a_live_websocket_feed_under_busy_poll_delivers_inline() {
    let (lines, mints) = payload_lines(23, 400);
    let served: Vec<Line> = lines.iter().map(|l| Line::from_text(l)).collect();
    let server = WsServer::start(served, vec![Plan::default()], Duration::from_micros(200));
    let k = |s: &str| s.parse::<Pubkey>().unwrap();
    let ws = WsConfig {
        subscriptions: vec![
            Subscription::Logs(k("6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P")),
            Subscription::Transactions(vec![k("6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P")]),
            Subscription::Blocks(k("pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA")),
        ],
        ..WsConfig::default()
    };
    let feed = LineFeed::ws(&server.url("/"), ws, DecoderConfig::default()).unwrap();
    let thread = format!("sniffer-feed-{}", feed.name());
    let (calls, handler) = recording();
    let mut engine = Sniffer::builder()
        .busy_poll(true)
        .feed(feed)
        .inline_handler(handler)
        .build()
        .unwrap();
    assert!(engine.take_receiver().is_none());
    // A did-not-hang margin, never a pass condition.
    let until = Instant::now() + Duration::from_secs(60);
    while calls.lock().unwrap().len() < mints.len() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    let log = server.stop();
    let got = taken(&calls);
    assert_accounted(&got, &m);
    assert_eq!(log.sent.len(), lines.len());
    let delivered: HashSet<Pubkey> = got.iter().map(|(c, _)| c.mint).collect();
    assert_eq!((got.len(), delivered), (mints.len(), mints));
    assert!(got.iter().all(|(_, t)| *t == thread));
}
