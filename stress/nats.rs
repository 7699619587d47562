//! `nats_latency`: `try_publish` on one side → candidate received by the bot of another engine,
//! over a loopback `nats-server`, JetStream (JetStream publish with acknowledgements → pull
//! consumer feed) next to core NATS (core publish → subscription feed), in the same run: paced at
//! 1k and 10k launches per second (p50, p99, max), then flat out (the highest rate sustained
//! with every launch delivered). Both ends are in this process, so both times are on
//! [`sniffer::monotonic_ns`]. Each path gets a fresh server (JetStream with a file store).
//!
//! Hot threads: the publishing thread (paced: sleeps between launches), the publisher thread,
//! `nats-server` (Go, several threads), the feed thread, the batcher and the bot's receive
//! loop, on 2 cores: the figures include that contention.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use sniffer::feed::{CoreNatsFeed, JetStreamFeed};
use sniffer::net::nats::NatsConfig;
use sniffer::publish::{PublishHandle, Publisher};
use sniffer::{
    feed::Feed, CandidateReceiver, LaunchKind, PremintCandidate, Priority, Pubkey, Sniffer,
    SnifferConfig,
};

use crate::harness::{new_histogram, push_latency_us, Bound, BoundKind};
use crate::natsserver::NatsServer;
use crate::scenarios::Outcome;

/// Flat out: launches sent and not yet received, at most.
const WINDOW: u64 = 4096;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    JetStream,
    Core,
}

impl Path {
    fn name(self) -> &'static str {
        match self {
            Path::JetStream => "jetstream",
            Path::Core => "core",
        }
    }
}

/// Launch `i`: its index is in the mint, so the receiver finds its send time without a map.
fn launch(i: usize) -> PremintCandidate {
    let mut mint = [0u8; 32];
    mint[..8].copy_from_slice(&(i as u64).to_le_bytes());
    mint[8] = 0x5a;
    PremintCandidate {
        mint: Pubkey(mint),
        slot: 1 + i as u64,
        kind: LaunchKind::PumpCreate,
        priority: if i.is_multiple_of(5) {
            Priority::High
        } else {
            Priority::Low
        },
        ..Default::default()
    }
}

fn index(c: &PremintCandidate) -> usize {
    let mut b = [0u8; 8];
    b.copy_from_slice(&c.mint.0[..8]);
    u64::from_le_bytes(b) as usize
}

struct Measured {
    latency: Histogram<u64>,
    /// `try_publish` to the remote feed's read: the NATS part of `latency`.
    transit: Histogram<u64>,
    delivered: u64,
    twice: u64,
    /// Launches per second from the first send to the last receive.
    rate: f64,
    accounting: bool,
    published: u64,
    publish_dropped: u64,
    lost: u64,
    reconnects: u64,
}

/// One path: a fresh server, a publisher, an engine on the matching feed; `n` launches, paced
/// at `rate` per second (0: flat out, waiting for room in the publisher's queue).
fn measure(path: Path, n: usize, rate: u64) -> Measured {
    let server = NatsServer::start();
    let cfg = SnifferConfig::load(None).unwrap_or_default();
    let ncfg = NatsConfig {
        // Flat out the queue absorbs bursts of the paced sender; nothing may be dropped.
        queue: 65_536,
        ..NatsConfig::from(&cfg)
    };
    let (publisher, feed) = ends(path, &server, ncfg);
    let mut engine = Sniffer::builder()
        .config(cfg)
        .boxed_feed(feed)
        .build()
        .expect("engine");
    let rx = engine.take_receiver().expect("receiver");
    let received = Arc::new(AtomicU64::new(0));
    let sender = send(publisher.handle(), n, rate, received.clone());
    let r = receive(&rx, n, &received);
    let sent = sender.join().unwrap_or_default();
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    let extra = rx.try_iter().count() as u64;
    let p = publisher.shutdown(Duration::from_secs(5));
    let first = sent.first().copied().unwrap_or(0);
    Measured {
        transit: latencies(&sent, &r.read),
        latency: latencies(&sent, &r.got),
        delivered: r.delivered,
        twice: r.twice + extra,
        rate: n as f64 / (r.last.saturating_sub(first).max(1) as f64 / 1e9),
        accounting: m.accounting_holds() && m.in_flight == 0 && p.accounting_holds(),
        published: p.published,
        publish_dropped: p.dropped,
        lost: m.feeds.first().map_or(0, |f| f.lost),
        reconnects: m.feeds.first().map_or(0, |f| f.reconnects),
    }
}

/// The publisher and the feed of `path` on `server`.
fn ends(path: Path, server: &NatsServer, ncfg: NatsConfig) -> (Publisher, Box<dyn Feed>) {
    match path {
        Path::JetStream => {
            let p = Publisher::start(&server.url(), ncfg.clone()).expect("publisher");
            let f = JetStreamFeed::new(&format!("{}/SNIFFER", server.url()), ncfg)
                .expect("JetStream feed");
            (p, Box::new(f))
        }
        Path::Core => {
            let url = format!("nats+core://127.0.0.1:{}", server.port);
            let p = Publisher::start(&url, ncfg.clone()).expect("publisher");
            let f = CoreNatsFeed::new(&url, ncfg).expect("core feed");
            (p, Box::new(f))
        }
    }
}

/// The sending thread: `n` launches, paced at `rate` per second, or flat out (`rate` 0) with at
/// most [`WINDOW`] launches between itself and the bot (`received`): core NATS has no flow
/// control, and a subscriber overrun by an open loop loses messages (at-most-once), so the rate
/// measured is the rate the whole path sustains. It returns each launch's send time (0: refused
/// by the publisher's full queue, counted in publish_dropped; the bound reports it).
fn send(
    handle: PublishHandle,
    n: usize,
    rate: u64,
    received: Arc<AtomicU64>,
) -> std::thread::JoinHandle<Vec<u64>> {
    std::thread::spawn(move || {
        let interval = (rate > 0).then(|| Duration::from_nanos(1_000_000_000 / rate));
        let start = Instant::now();
        let mut sent = vec![0u64; n];
        for (i, t) in sent.iter_mut().enumerate() {
            match interval {
                // Sleeps only (no spinning: a spinning sender takes one of the two cores from
                // the server and the engines); the schedule is absolute, so a late wake-up is
                // made up by the next sends.
                Some(iv) => {
                    let due = start + iv * i as u32;
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                }
                None => {
                    while i as u64 >= received.load(Ordering::Relaxed) + WINDOW {
                        std::thread::yield_now();
                    }
                }
            }
            let c = launch(i);
            *t = sniffer::monotonic_ns();
            if handle.try_publish(&c).is_err() {
                *t = 0;
            }
        }
        sent
    })
}

/// What the bot received, by launch index (0: not received).
struct Received {
    /// When the bot received each launch.
    got: Vec<u64>,
    /// When the feed read each one (its detection time in the receiving engine).
    read: Vec<u64>,
    delivered: u64,
    twice: u64,
    /// When the last new launch arrived.
    last: u64,
}

/// Receives until all `n` launches have arrived (or a minute has passed), publishing the count
/// in `received` for the flat-out sender.
fn receive(rx: &CandidateReceiver, n: usize, received: &AtomicU64) -> Received {
    let mut r = Received {
        got: vec![0u64; n],
        read: vec![0u64; n],
        delivered: 0,
        twice: 0,
        last: 0,
    };
    let until = Instant::now() + Duration::from_secs(60);
    while r.delivered < n as u64 && Instant::now() < until {
        if let Ok(c) = rx.recv_timeout(Duration::from_millis(20)) {
            let now = sniffer::monotonic_ns();
            let i = index(&c);
            match r.got.get_mut(i) {
                Some(slot) if *slot == 0 => {
                    *slot = now;
                    r.read[i] = c.detected_at_ns;
                    r.delivered += 1;
                    received.store(r.delivered, Ordering::Relaxed);
                    r.last = now;
                }
                _ => r.twice += 1,
            }
        }
    }
    r
}

/// The times from `sent` to `at` of the launches both have a time for.
fn latencies(sent: &[u64], at: &[u64]) -> Histogram<u64> {
    let mut h = new_histogram();
    for (s, r) in sent.iter().zip(at) {
        if *r != 0 && *s != 0 {
            let _ = h.record(r.saturating_sub(*s).max(1));
        }
    }
    h
}

/// The scenario: paced at 1k/s and 10k/s for `d` each, then `flat` launches flat out;
/// JetStream then core NATS at each step.
pub(crate) fn nats_latency(d: Duration, flat: usize) -> Outcome {
    let mut bounds = Vec::new();
    let mut figures = Vec::new();
    for (rate, n) in [
        (1_000u64, ((1_000.0 * d.as_secs_f64()) as usize).max(50)),
        (10_000, ((10_000.0 * d.as_secs_f64()) as usize).max(50)),
        (0, flat),
    ] {
        for path in [Path::JetStream, Path::Core] {
            let m = measure(path, n, rate);
            let step = if rate == 0 {
                "max".to_owned()
            } else {
                format!("{}k", rate / 1000)
            };
            let label = format!("nats_latency/{}/{step}", path.name());
            let detail = format!(
                "delivered {} of {n}, {} twice, accounting {}; published {}, publish_dropped {}, lost {}, reconnects {}",
                m.delivered, m.twice, m.accounting, m.published, m.publish_dropped, m.lost, m.reconnects
            );
            match path {
                // JetStream is at-least-once with dedup: every launch exactly once.
                Path::JetStream => bounds.push(Bound::holds(
                    &format!("{label}: every launch delivered once, accounting exact"),
                    BoundKind::Correctness,
                    m.delivered == n as u64 && m.twice == 0 && m.accounting,
                    detail,
                )),
                // Core NATS is at-most-once: a subscriber's client buffer that overflows loses
                // messages (counted in `lost` only as far as the client reports them), so the
                // correctness bound is no duplicate and exact accounting; the share delivered
                // is a timing figure (a loaded machine's stalls lose a few).
                Path::Core => {
                    bounds.push(Bound::holds(
                        &format!("{label}: no launch delivered twice, accounting exact"),
                        BoundKind::Correctness,
                        m.twice == 0 && m.accounting && m.delivered <= n as u64,
                        detail.clone(),
                    ));
                    bounds.push(Bound::at_least(
                        &format!("{label}: share delivered (at-most-once)"),
                        BoundKind::Timing,
                        m.delivered as f64 / n as f64,
                        1.0,
                    ));
                }
            }
            if rate == 0 {
                // Flat out, latency is the window's queueing: only the rate means something.
                figures.push((format!("{label}: sustained (launches/s)"), m.rate));
                continue;
            }
            push_latency_us(&mut figures, &label, &m.latency);
            figures.push((
                format!("{label}: p50 to the feed's read (us)"),
                m.transit.value_at_quantile(0.5) as f64 / 1e3,
            ));
        }
    }
    Outcome {
        runs: Vec::new(),
        bounds,
        figures,
    }
}
