//! The WebSocket feed against a scripted server on loopback (`tests/wsserver`): subscriptions
//! and routing, reconnects with overlap (each launch delivered once), stalls, withheld pongs,
//! refused handshakes, error replies, garbage / binary / oversized / not-UTF-8 frames, a live feed
//! behind a stalled bot (it keeps reading under `block`, the gate never pauses it), and secrets
//! kept out of every log line and metric. Each test checks the accounting invariant and exact
//! counts.

mod common;
mod samples;
mod wsserver;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use sniffer::{
    decode::DecoderConfig,
    feed::{
        Expected, LineFeed, LinePoll, LineSource, PayloadGenerator, PayloadMix, Subscription,
        WsConfig, WsSource,
    },
    DropPolicy, HealthStatus, MetricsSnapshot, PremintCandidate, Pubkey, Sniffer, SnifferConfig,
};
use wsserver::{After, Extra, Kind, Line, Plan, WsServer};

/// Valid payload lines (no malformed ones), as notifications, with the mints of their launches.
fn lines(seed: u64, n: usize) -> (Vec<Line>, Vec<Option<Pubkey>>) {
    let mut g = PayloadGenerator::new(seed, PayloadMix::default(), 0.0);
    let (mut out, mut mints) = (Vec::new(), Vec::new());
    while out.len() < n {
        let mut l = Vec::new();
        let mint = match g.next_line(&mut l) {
            Expected::Launch { mint, .. } => Some(mint),
            Expected::Nothing => None,
            Expected::Malformed(_) => continue,
        };
        out.push(Line::from_text(&l));
        mints.push(mint);
    }
    (out, mints)
}

fn all_subscriptions() -> Vec<Subscription> {
    let k = |s: &str| s.parse::<Pubkey>().unwrap();
    vec![
        Subscription::Logs(k("6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P")),
        Subscription::Transactions(vec![k("6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P")]),
        Subscription::Blocks(k("pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA")),
    ]
}

/// Short timers so that faults resolve in well under a second.
fn ws_config(subs: Vec<Subscription>) -> WsConfig {
    WsConfig {
        subscriptions: subs,
        ping_interval: Duration::from_millis(300),
        stall_timeout: Duration::from_millis(1000),
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        ..WsConfig::default()
    }
}

/// Runs an engine on one WebSocket feed until `want` candidates arrived (or 60 s passed: a
/// did-not-hang margin, never a pass condition), then shuts down.
fn run(
    url: &str,
    ws: WsConfig,
    decoder: DecoderConfig,
    want: usize,
) -> (Vec<PremintCandidate>, MetricsSnapshot) {
    run_with(url, ws, decoder, want, SnifferConfig::default())
}

/// [`run`] with an engine configuration.
fn run_with(
    url: &str,
    ws: WsConfig,
    decoder: DecoderConfig,
    want: usize,
    cfg: SnifferConfig,
) -> (Vec<PremintCandidate>, MetricsSnapshot) {
    let feed = LineFeed::ws(url, ws, decoder).unwrap();
    let mut engine = Sniffer::builder().config(cfg).feed(feed).build().unwrap();
    let rx = engine.take_receiver().unwrap();
    let mut got = Vec::new();
    let until = Instant::now() + Duration::from_secs(60);
    while got.len() < want && Instant::now() < until {
        if let Ok(c) = rx.recv_timeout(Duration::from_millis(50)) {
            got.push(c);
        }
    }
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    got.extend(rx.try_iter());
    common::assert_accounted(&got, &m);
    (got, m)
}

/// Serves `lines` under `plans`, runs an engine subscribed to every kind until the `want`
/// launches came (each once: checked), and stops the server. Returns what the bot got, the
/// snapshot and the server's log.
fn serve_every_kind(
    lines: Vec<Line>,
    plans: Vec<Plan>,
    want: &HashSet<Pubkey>,
) -> (Vec<PremintCandidate>, MetricsSnapshot, wsserver::Log) {
    serve_every_kind_with(lines, plans, want, SnifferConfig::default())
}

/// [`serve_every_kind`] with an engine configuration.
fn serve_every_kind_with(
    lines: Vec<Line>,
    plans: Vec<Plan>,
    want: &HashSet<Pubkey>,
    cfg: SnifferConfig,
) -> (Vec<PremintCandidate>, MetricsSnapshot, wsserver::Log) {
    let server = WsServer::start(lines, plans, Duration::ZERO);
    let (got, m) = run_with(
        &server.url("/"),
        ws_config(all_subscriptions()),
        DecoderConfig::default(),
        want.len(),
        cfg,
    );
    let log = server.stop();
    assert_eq!(&got.iter().map(|c| c.mint).collect::<HashSet<_>>(), want);
    assert_eq!(got.len(), want.len(), "each launch delivered once");
    (got, m, log)
}

fn expected_mints(mints: &[Option<Pubkey>], lines: &[Line], kinds: &[Kind]) -> HashSet<Pubkey> {
    mints
        .iter()
        .zip(lines)
        .filter(|(_, l)| kinds.contains(&l.kind))
        .filter_map(|(m, _)| *m)
        .collect()
}

fn reasons(m: &MetricsSnapshot) -> BTreeMap<&str, u64> {
    m.tx_malformed_by_reason
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| (k.as_str(), *n))
        .collect()
}

#[test]
fn every_launch_once_across_dropped_connections_with_overlap() {
    let (lines, mints) = lines(11, 120);
    let want = expected_mints(
        &mints,
        &lines,
        &[Kind::Logs, Kind::Transactions, Kind::Blocks],
    );
    let plans = vec![
        Plan {
            send: Some(40),
            then: After::Drop,
            ..Plan::default()
        },
        Plan {
            send: Some(40),
            overlap: 10,
            then: After::Drop,
            ..Plan::default()
        },
        Plan {
            overlap: 10,
            ..Plan::default()
        },
    ];
    let (_, m, log) = serve_every_kind(lines.clone(), plans, &want);
    // The 2 x 10 overlapped lines carried their launches a second time: counted, not delivered.
    let overlapped = (30..40)
        .chain(70..80)
        .filter(|&i| mints[i].is_some())
        .count() as u64;
    assert_eq!(m.duplicates_dropped, overlapped, "{m:#?}");
    let f = &m.feeds[0];
    assert_eq!((f.connects, f.reconnects), (3, 2), "{f:#?}");
    assert_eq!(log.connections, 3);
    assert_eq!(
        log.requests.len(),
        9,
        "three subscriptions on each connection"
    );
    assert!(f.live && f.downtime_ms < 60_000);
    assert_eq!(reasons(&m), BTreeMap::new());
}

#[test]
fn garbage_binary_oversized_and_unknown_subscription_frames_are_counted_and_survived() {
    let (lines, mints) = lines(12, 40);
    let want = expected_mints(
        &mints,
        &lines,
        &[Kind::Logs, Kind::Transactions, Kind::Blocks],
    );
    let plans = vec![Plan {
        extras: vec![
            Extra::Garbage,
            Extra::Oversized(3 << 20),
            Extra::UnknownSubscription,
            Extra::Oversized(70_000),
            Extra::BinaryNext,
        ],
        ..Plan::default()
    }];
    let server = WsServer::start(lines, plans, Duration::ZERO);
    let decoder = DecoderConfig {
        max_line_len: 64 * 1024,
        ..DecoderConfig::default()
    };
    let (got, m) = run(
        &server.url("/"),
        ws_config(all_subscriptions()),
        decoder,
        want.len(),
    );
    drop(server);
    assert_eq!(got.iter().map(|c| c.mint).collect::<HashSet<_>>(), want);
    let want_reasons: BTreeMap<&str, u64> = [("json_syntax", 1), ("too_long", 2)].into();
    assert_eq!(reasons(&m), want_reasons, "{m:#?}");
    let f = &m.feeds[0];
    assert_eq!((f.connects, f.reconnects, f.unrouted), (1, 0, 1), "{f:#?}");
}

#[test]
fn silence_and_withheld_pongs_count_stalls_and_reconnect() {
    let (lines, mints) = lines(13, 60);
    let want = expected_mints(
        &mints,
        &lines,
        &[Kind::Logs, Kind::Transactions, Kind::Blocks],
    );
    let plans = vec![
        Plan {
            send: Some(20),
            then: After::Silence,
            ..Plan::default()
        },
        Plan {
            send: Some(20),
            then: After::WithholdPongs,
            ..Plan::default()
        },
        Plan::default(),
    ];
    let (_, m, log) = serve_every_kind(lines, plans, &want);
    let f = &m.feeds[0];
    // One silence past the 1 s watchdog, one ping unanswered for 300 ms.
    assert_eq!((f.stalls, f.connects, f.reconnects), (2, 3, 2), "{f:#?}");
    assert!(log.pings >= 1, "the client pings: {log:?}");
    assert!(f.downtime_ms > 0);
}

#[test]
fn a_refused_handshake_backs_off_longer_and_then_connects() {
    let (lines, mints) = lines(14, 20);
    let want = expected_mints(&mints, &lines, &[Kind::Logs]);
    let plans = vec![
        Plan {
            refuse: Some(429),
            ..Plan::default()
        },
        Plan::default(),
    ];
    let server = WsServer::start(lines, plans, Duration::ZERO);
    let logs_only = vec![all_subscriptions().remove(0)];
    let started = Instant::now();
    let (got, m) = run(
        &server.url("/"),
        ws_config(logs_only),
        DecoderConfig::default(),
        want.len(),
    );
    let log = server.stop();
    assert_eq!(got.iter().map(|c| c.mint).collect::<HashSet<_>>(), want);
    let f = &m.feeds[0];
    assert_eq!((f.refusals, f.connects), (1, 1), "{f:#?}");
    assert_eq!((log.connections, log.refused), (2, 1));
    // The 50 ms backoff cap does not apply to a refusal: at least 5 s passed.
    assert!(started.elapsed() >= Duration::from_secs(5));
    assert!(f.downtime_ms >= 5_000, "{f:#?}");
}

/// An error reply to one subscription, or an acknowledgement whose `result` is no subscription
/// id (which leaves it unroutable, and was silently dropped), is counted in `reply_errors`; the
/// other subscriptions go on.
#[test]
fn an_error_reply_or_an_odd_acknowledgement_is_counted_and_the_others_go_on() {
    let plans = [
        Plan {
            error_on: Some(Kind::Blocks),
            ..Plan::default()
        },
        Plan {
            odd_ack_on: Some(Kind::Blocks),
            ..Plan::default()
        },
    ];
    for (seed, plan) in (15..).zip(plans) {
        let (lines, mints) = lines(seed, 60);
        let want = expected_mints(&mints, &lines, &[Kind::Logs, Kind::Transactions]);
        let (_, m, log) = serve_every_kind(lines, vec![plan], &want);
        let f = &m.feeds[0];
        assert_eq!((f.reply_errors, f.connects), (1, 1), "seed {seed}: {f:#?}");
        assert!(log.unsubscribed > 0);
    }
}

#[test]
fn two_racing_endpoints_the_lagging_one_loses_every_launch_by_its_lag() {
    let (lines, mints) = lines(16, 50);
    let want = expected_mints(
        &mints,
        &lines,
        &[Kind::Logs, Kind::Transactions, Kind::Blocks],
    );
    let release = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let fast = WsServer::start(lines.clone(), vec![Plan::default()], Duration::ZERO);
    let slow_plan = Plan {
        gate: Some(release.clone()),
        ..Plan::default()
    };
    let slow = WsServer::start(lines, vec![slow_plan], Duration::ZERO);
    let feed = |url: &str| {
        LineFeed::ws(
            url,
            ws_config(all_subscriptions()),
            DecoderConfig::default(),
        )
        .unwrap()
    };
    let mut engine = Sniffer::builder()
        .feed(feed(&fast.url("/")))
        .feed(feed(&slow.url("/")))
        .build()
        .unwrap();
    let rx = engine.take_receiver().unwrap();
    let until = Instant::now() + Duration::from_secs(60);
    // The slow endpoint sends only once the fast one's launches were all seen, 200 ms later.
    while engine.snapshot().feeds[0].wins < want.len() as u64 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(200));
    release.store(true, std::sync::atomic::Ordering::Release);
    let lag = Duration::from_millis(200);
    while engine.snapshot().feeds[1].duplicates < want.len() as u64 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    let got: Vec<_> = rx.try_iter().collect();
    common::assert_accounted(&got, &m);
    let (a, b) = (&m.feeds[0], &m.feeds[1]);
    let n = want.len() as u64;
    assert_eq!(
        (a.wins, a.duplicates, b.wins, b.duplicates),
        (n, 0, 0, n),
        "{m:#?}"
    );
    assert_eq!((a.win_share, b.win_share), (1.0, 0.0));
    assert_eq!(a.lead_ns.count, n);
    // Every lead is at least the lag (within the histogram's 12.5 %).
    let floor = lag.as_nanos() as u64 * 7 / 8;
    assert!(
        a.lead_ns.p50 >= floor && a.lead_ns.p99 >= a.lead_ns.p50,
        "{:?}",
        a.lead_ns
    );
    assert_eq!(m.candidates_sent, n);
}

#[test]
fn one_launch_on_two_subscriptions_of_one_connection_is_delivered_once() {
    use serde_json::Value;
    // The real 2024 create, as a logs notification and as a transaction notification.
    let logs = samples::logs_notification(
        samples::SIG,
        samples::SLOT,
        Value::Null,
        &samples::create_logs(),
    );
    let tx = samples::transaction_notification(&samples::get_transaction_parsed(Value::Null), 0);
    let lines = vec![
        Line::from_text(logs.as_bytes()),
        Line::from_text(tx.as_bytes()),
    ];
    assert_eq!(lines[1].kind, Kind::Transactions);
    let server = WsServer::start(lines, vec![Plan::default()], Duration::ZERO);
    let subs = all_subscriptions()[..2].to_vec();
    let feed = LineFeed::ws(&server.url("/"), ws_config(subs), DecoderConfig::default()).unwrap();
    let mut engine = Sniffer::builder().feed(feed).build().unwrap();
    let rx = engine.take_receiver().unwrap();
    let until = Instant::now() + Duration::from_secs(60);
    while engine.snapshot().duplicates_dropped < 1 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    let got: Vec<_> = rx.try_iter().collect();
    common::assert_accounted(&got, &m);
    assert_eq!((m.candidates_sent, m.duplicates_dropped), (1, 1), "{m:#?}");
    assert_eq!(got[0].mint, samples::MINT.parse().unwrap());
    assert_eq!(
        (
            m.feeds[0].wins,
            m.feeds[0].duplicates,
            m.feeds[0].lead_ns.count
        ),
        (1, 1, 0)
    );
}

#[test]
fn wss_over_rustls_with_a_private_root_delivers_every_launch() {
    let (lines, mints) = lines(17, 30);
    let want = expected_mints(
        &mints,
        &lines,
        &[Kind::Logs, Kind::Transactions, Kind::Blocks],
    );
    let (tls, cert) = wsserver::self_signed_tls();
    let server = WsServer::start_tls(lines, vec![Plan::default()], Duration::ZERO, tls);
    let ws = WsConfig {
        extra_roots: vec![cert],
        ..ws_config(all_subscriptions())
    };
    let (got, m) = run(
        &server.tls_url("/?api-key=x"),
        ws,
        DecoderConfig::default(),
        want.len(),
    );
    drop(server);
    assert_eq!(got.iter().map(|c| c.mint).collect::<HashSet<_>>(), want);
    let f = &m.feeds[0];
    assert_eq!((f.connects, f.reconnects), (1, 0), "{f:#?}");
    assert!(f.name.starts_with("wss://localhost:"), "{}", f.name);
}

#[test]
fn wss_refuses_a_certificate_it_does_not_trust() {
    let (lines, _) = lines(18, 5);
    let (tls, _) = wsserver::self_signed_tls();
    let server = WsServer::start_tls(lines, vec![Plan::default()], Duration::ZERO, tls);
    let feed = LineFeed::ws(
        &server.tls_url("/"),
        ws_config(all_subscriptions()),
        DecoderConfig::default(),
    )
    .unwrap();
    let mut engine = Sniffer::builder().feed(feed).build().unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    while server.log().connections < 2 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    let m = engine.snapshot();
    let _ = engine.take_receiver();
    drop(engine);
    // The handshake failed (unknown issuer) and was retried; it never connected.
    assert!(server.log().connections >= 2);
    assert_eq!(m.feeds[0].connects, 0, "{:?}", m.feeds[0]);
    // The client failed the first handshake before it came back for the second.
    assert!(m.feeds[0].connect_failures >= 1, "{:?}", m.feeds[0]);
}

#[test]
fn a_disconnected_live_feed_degrades_health() {
    // Nothing listens on this port: the feed never connects.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("ws://127.0.0.1:{port}/");
    let feed = LineFeed::ws(
        &url,
        ws_config(all_subscriptions()),
        DecoderConfig::default(),
    )
    .unwrap();
    let engine = Sniffer::builder().feed(feed).build().unwrap();
    let h = engine.metrics_source().health();
    assert_eq!(h.status, sniffer::HealthStatus::Degraded, "{:?}", h.reasons);
    assert!(
        h.reasons
            .iter()
            .any(|r| r.contains("live feed ws://127.0.0.1:") && r.contains("disconnected")),
        "{:?}",
        h.reasons
    );
    drop(engine);
}

/// A host name is resolved off the feed thread; one that does not resolve (the reserved
/// `.invalid` domain) is a counted connect failure, retried, and never a connect.
#[test]
fn a_host_that_does_not_resolve_is_a_counted_connect_failure() {
    let cfg = WsConfig {
        backoff_min: Duration::from_millis(5),
        backoff_max: Duration::from_millis(20),
        ..ws_config(all_subscriptions())
    };
    let feed = LineFeed::ws(
        "ws://no-such-host.invalid:8900/",
        cfg,
        DecoderConfig::default(),
    )
    .unwrap();
    let engine = Sniffer::builder().feed(feed).build().unwrap();
    let until = Instant::now() + Duration::from_secs(60);
    while engine.snapshot().feeds[0].connect_failures < 2 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    // Its only live feed is down: not ready, and `/readyz` says why (issue 20).
    let health = engine.metrics_source().health();
    assert!(!health.ready, "{health:?}");
    assert_eq!(
        health.not_ready,
        ["no live feed connected (1 configured)".to_string()]
    );
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    let f = &m.feeds[0];
    assert!(f.connect_failures >= 2, "{f:#?}");
    assert_eq!((f.connects, f.messages), (0, 0), "{f:#?}");
    assert!(m.accounting_holds() && m.in_flight == 0, "{m:#?}");
}

#[test]
fn a_text_message_that_is_not_utf8_fails_the_connection_and_is_counted() {
    let (lines, mints) = lines(14, 40);
    let want = expected_mints(
        &mints,
        &lines,
        &[Kind::Logs, Kind::Transactions, Kind::Blocks],
    );
    let plans = vec![
        // The bad frame first, then nothing: the client fails this connection.
        Plan {
            extras: vec![Extra::TextNotUtf8],
            send: Some(0),
            then: After::Silence,
            ..Plan::default()
        },
        Plan::default(),
    ];
    let (_, m, log) = serve_every_kind(lines, plans, &want);
    // Counted as the same bytes in a binary frame are, and the feed came back for the rest.
    let want_reasons: BTreeMap<&str, u64> = [("not_utf8", 1)].into();
    assert_eq!(reasons(&m), want_reasons, "{m:#?}");
    let f = &m.feeds[0];
    assert_eq!((f.connects, f.reconnects), (2, 1), "{f:#?}");
    assert_eq!(log.connections, 2);
}

/// Polls `cond` every millisecond for at most `limit` (a did-not-hang margin); whether it held.
fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while !cond() {
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

/// Lines the server sent, once it has dealt with all `n` (sent, or skipped as unsubscribed).
fn all_sent(server: &WsServer, n: usize) -> Option<Vec<usize>> {
    let log = server.log();
    (log.sent.len() + log.unsubscribed == n).then(|| log.sent.iter().map(|s| s.0).collect())
}

/// An engine on one WebSocket feed of `server` under `cfg`, with stall timers long enough that
/// the connection is never dropped for silence.
fn live_engine(server: &WsServer, cfg: SnifferConfig) -> Sniffer {
    let ws = WsConfig {
        stall_timeout: Duration::from_secs(600),
        ..ws_config(all_subscriptions())
    };
    let feed = LineFeed::ws(&server.url("/"), ws, DecoderConfig::default()).unwrap();
    Sniffer::builder().config(cfg).feed(feed).build().unwrap()
}

/// Issue 23: under `block` a live feed behind a slow bot waited at the full lane for each
/// candidate, every wait under `live_block_timeout`, so nothing was counted and the socket was
/// read at the bot's pace. Its waits now add up to at most `live_block_timeout` per second: behind
/// a bot that takes nothing, the feed reads every frame and counts what it sheds. (At 500 ms per
/// candidate the ~150 launches here would take over a minute; the budget takes about a second.)
#[test]
fn under_block_a_live_feed_behind_a_stalled_bot_keeps_reading_and_counts_what_it_sheds() {
    let (lines, mints) = lines(21, 300);
    let n = lines.len();
    let plans = vec![Plan {
        then: After::Silence,
        ..Plan::default()
    }];
    let server = WsServer::start(lines, plans, Duration::ZERO);
    let cfg = SnifferConfig {
        drop_policy: DropPolicy::Block,
        stream_buffer_capacity: 4,
        batch_size: 1,
        live_block_timeout: Duration::from_millis(500),
        ..SnifferConfig::default()
    };
    let mut engine = live_engine(&server, cfg);
    let rx = engine.take_receiver().unwrap();
    // The bot takes nothing until the feed has read every frame the server sent.
    let mut sent = Vec::new();
    let read_all = wait_until(Duration::from_secs(30), || {
        all_sent(&server, n).is_some_and(|s| {
            sent = s;
            engine.snapshot().tx_seen == sent.len() as u64
        })
    });
    let stalled = engine.snapshot();
    let mut got: Vec<PremintCandidate> = rx.try_iter().collect();
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    got.extend(rx.try_iter());
    drop(server);
    assert!(
        read_all,
        "the feed stopped reading behind the stalled bot: {stalled:#?}"
    );
    common::assert_accounted(&got, &m);
    let launches = sent.iter().filter(|&&i| mints[i].is_some()).count() as u64;
    assert!(launches > 100, "{launches}");
    assert_eq!(m.candidates_detected, launches, "{m:#?}");
    assert_eq!(
        got.len() as u64 + m.dropped_full_buffer + m.dropped_shutdown,
        launches,
        "delivered + dropped == sent: {m:#?}"
    );
    // While the bot stalled, the two lanes held 4 each and one push at most was waiting: the
    // rest was shed, and counted, while the feed went on reading.
    assert!(
        stalled.dropped_full_buffer >= launches - 9,
        "{launches} launches: {stalled:#?}"
    );
    let f = &m.feeds[0];
    assert_eq!((f.connects, f.reconnects), (1, 0), "{f:#?}");
}

/// Issue 23: a live-only engine behind a stalled bot under `drop_oldest` fills its lanes; the
/// gate used to pause (with no pull feed to pause), so `/health` said 503 "paused", the health
/// line `paused=true`, and `paused_total_ms` grew. Paused now means a producer is held back.
#[test]
fn a_live_only_engine_behind_a_stalled_bot_is_degraded_never_paused() {
    let (lines, _) = lines(22, 100);
    let n = lines.len();
    let server = WsServer::start(lines, vec![Plan::default()], Duration::ZERO);
    let cfg = SnifferConfig {
        drop_policy: DropPolicy::DropOldest,
        stream_buffer_capacity: 4,
        batch_size: 1,
        ..SnifferConfig::default()
    };
    let mut engine = live_engine(&server, cfg);
    let rx = engine.take_receiver().unwrap();
    // Every line read and a heartbeat after them: the feed thread observed the full lanes (it
    // does before each poll) before it read that heartbeat.
    let seen = wait_until(Duration::from_secs(30), || {
        all_sent(&server, n).is_some_and(|s| engine.snapshot().tx_seen > s.len() as u64)
    });
    let h = engine.metrics_source().health();
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    let got: Vec<PremintCandidate> = rx.try_iter().collect();
    drop(server);
    assert!(seen, "{:#?}", h.snapshot);
    let s = &h.snapshot;
    assert!(s.dropped_oldest > 0, "the lanes were full: {s:#?}");
    assert_eq!(h.status, HealthStatus::Degraded, "{:?}", h.reasons);
    assert!(
        h.reasons.iter().all(|r| !r.contains("paused")),
        "{:?}",
        h.reasons
    );
    assert_eq!(
        (s.paused, s.pause_count, s.paused_total_ms),
        (false, 0, 0),
        "{s:#?}"
    );
    assert!(sniffer::metrics::health_line(s, s).contains(" paused=false "));
    common::assert_accounted(&got, &m);
    assert_eq!((m.pause_count, m.paused_total_ms), (0, 0), "{m:#?}");
}

/// Issue 23: `tx_seen` counted the subscriptions' acknowledgements as transactions. They are
/// messages (`messages`), not transactions.
#[test]
fn subscription_acknowledgements_are_not_counted_as_transactions() {
    let (lines, _) = lines(23, 30);
    let n = lines.len();
    let plans = vec![Plan {
        then: After::Silence,
        ..Plan::default()
    }];
    let server = WsServer::start(lines, plans, Duration::ZERO);
    let engine = live_engine(&server, SnifferConfig::default());
    // Every frame read: one reply per request, then the lines.
    let read_all = wait_until(Duration::from_secs(30), || {
        let log = server.log();
        let frames = log.sent.len() + log.requests.len();
        all_sent(&server, n).is_some() && engine.snapshot().feeds[0].messages == frames as u64
    });
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    let log = server.stop();
    assert!(read_all, "{m:#?}");
    assert_eq!(
        log.requests.len(),
        3,
        "logs, transactions and blocks subscribed"
    );
    assert_eq!(m.tx_seen, log.sent.len() as u64, "{m:#?}");
    assert!(m.accounting_holds(), "{m:#?}");
}

/// Busy-polling (`busy_poll = true`): through a dropped connection with overlap, a silent one
/// (the stall watchdog) and one that withholds pongs, every launch still arrives once, the
/// duplicates are counted, both stalls are seen and the accounting is exact — the spinning feed
/// thread keeps its timers, and shutdown ends the spinning receiver.
#[test]
fn busy_polling_keeps_the_watchdogs_and_delivers_every_launch_once() {
    let (lines, mints) = lines(17, 100);
    let want = expected_mints(
        &mints,
        &lines,
        &[Kind::Logs, Kind::Transactions, Kind::Blocks],
    );
    let plans = vec![
        Plan {
            send: Some(30),
            then: After::Drop,
            ..Plan::default()
        },
        Plan {
            send: Some(30),
            overlap: 10,
            then: After::Silence,
            ..Plan::default()
        },
        Plan {
            send: Some(20),
            then: After::WithholdPongs,
            ..Plan::default()
        },
        Plan::default(),
    ];
    let cfg = SnifferConfig {
        busy_poll: true,
        ..SnifferConfig::default()
    };
    let (_, m, log) = serve_every_kind_with(lines, plans, &want, cfg);
    let overlapped = (20..30).filter(|&i| mints[i].is_some()).count() as u64;
    assert_eq!(m.duplicates_dropped, overlapped, "{m:#?}");
    let f = &m.feeds[0];
    assert_eq!((f.connects, f.reconnects, f.stalls), (4, 3, 2), "{f:#?}");
    assert_eq!(log.connections, 4);
    assert_eq!(reasons(&m), BTreeMap::new());
}

/// Polls `src` until `n` lines (the subscription acknowledgements) came; false after 10 s (a
/// did-not-hang margin).
fn poll_lines(src: &mut WsSource, n: usize) -> bool {
    let (mut buf, mut lines) = (Vec::new(), 0);
    let until = Instant::now() + Duration::from_secs(10);
    while lines < n && Instant::now() < until {
        if src.next_line(&mut buf) == LinePoll::Line {
            lines += 1;
        }
    }
    lines == n
}

/// An open connection with nothing to read: by default each poll waits for input in the kernel
/// (a bounded read: `Waited`); busy-polling, a poll never waits and says so (`Idle`), and the
/// feed thread spins on it.
#[test]
fn busy_polling_never_waits_in_the_kernel() {
    let gate = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let plan = Plan {
        gate: Some(gate.clone()),
        ..Plan::default()
    };
    let (lines, _) = lines(18, 4);
    for busy in [false, true] {
        let server = WsServer::start(lines.clone(), vec![plan.clone()], Duration::ZERO);
        // No ping and no watchdog within the test: nothing but silence after the acknowledgement.
        let cfg = WsConfig {
            ping_interval: Duration::from_secs(600),
            stall_timeout: Duration::from_secs(600),
            ..ws_config(vec![Subscription::Logs(
                "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"
                    .parse()
                    .unwrap(),
            )])
        };
        let mut src = WsSource::new(&server.url("/"), cfg).unwrap();
        if busy {
            src.set_busy_poll();
        }
        assert!(poll_lines(&mut src, 1), "the subscription is acknowledged");
        let mut buf = Vec::new();
        let polls: Vec<LinePoll> = (0..20).map(|_| src.next_line(&mut buf)).collect();
        let want = if busy {
            LinePoll::Idle
        } else {
            LinePoll::Waited
        };
        assert!(polls.iter().all(|p| *p == want), "busy {busy}: {polls:?}");
        drop(src);
        server.stop();
    }
}
