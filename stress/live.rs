//! `live_latency`: frame sent → candidate received by the bot, over a loopback WebSocket, next to
//! a `stdin`-style pipe feed carrying the same lines at the same pace, in the same run, at 1k and
//! 10k messages per second. Every line is a launch (pump.fun creates as `logsNotification`s), so
//! each one gives a latency sample: send time on the server's (or the pipe writer's) thread to
//! the bot's receive time, both on [`sniffer::monotonic_ns`].
//!
//! Hot threads: the sending thread (server or pipe writer: paced, sleeps between lines), the
//! feed thread (blocked in its socket or pipe read), the batcher, and the bot's receive loop.

use std::collections::HashMap;
use std::io::Write as _;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use sniffer::{
    decode::DecoderConfig,
    feed::{
        Expected, LineFeed, PayloadGenerator, PayloadMix, ReaderSource, Subscription, WsConfig,
    },
    Pubkey, Sniffer, SnifferConfig,
};

use crate::harness::{new_histogram, push_latency_us, Bound, BoundKind};
use crate::scenarios::Outcome;
use crate::wsserver::{Line, Plan, WsServer};

/// `n` launch lines (pump.fun creates via logs) and their mints, in order.
fn launch_lines(seed: u64, n: usize) -> (Vec<Vec<u8>>, Vec<Pubkey>) {
    let mix = PayloadMix {
        logs_create: 1,
        logs_create_v2: 0,
        tx_create: 0,
        pump_swap_pool: 0,
        raydium_pool: 0,
        other: 0,
    };
    let mut g = PayloadGenerator::new(seed, mix, 0.0);
    let (mut lines, mut mints) = (Vec::new(), Vec::new());
    while lines.len() < n {
        let mut l = Vec::new();
        if let Expected::Launch { mint, .. } = g.next_line(&mut l) {
            lines.push(l);
            mints.push(mint);
        }
    }
    (lines, mints)
}

/// What one transport measured.
struct Measured {
    latency: Histogram<u64>,
    delivered: u64,
    accounting: bool,
    metrics: sniffer::MetricsSnapshot,
}

/// Runs an engine on `feed` and receives until `n` candidates arrived (or 30 s passed),
/// returning each mint's receive time.
fn receive(feed: LineFeed, n: usize) -> (HashMap<Pubkey, u64>, bool, sniffer::MetricsSnapshot) {
    let cfg = SnifferConfig::load(None).unwrap_or_default();
    let mut engine = Sniffer::builder()
        .config(cfg)
        .feed(feed)
        .build()
        .expect("engine");
    let rx = engine.take_receiver().expect("receiver");
    let mut at = HashMap::with_capacity(n);
    let until = Instant::now() + Duration::from_secs(30);
    while at.len() < n && Instant::now() < until {
        if let Ok(c) = rx.recv_timeout(Duration::from_millis(20)) {
            at.insert(c.mint, sniffer::monotonic_ns());
        }
    }
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    let extra = rx.try_iter().count() as u64;
    let ok =
        m.accounting_holds() && m.in_flight == 0 && m.candidates_sent == at.len() as u64 + extra;
    (at, ok && extra == 0, m)
}

fn latencies(
    sent: &[(usize, u64)],
    mints: &[Pubkey],
    got: &HashMap<Pubkey, u64>,
) -> Histogram<u64> {
    let mut h = new_histogram();
    for (i, t) in sent {
        if let Some(r) = got.get(&mints[*i]) {
            let _ = h.record(r.saturating_sub(*t).max(1));
        }
    }
    h
}

fn over_ws(lines: &[Vec<u8>], mints: &[Pubkey], rate: u64) -> Measured {
    let notif: Vec<Line> = lines.iter().map(|l| Line::from_text(l)).collect();
    let interval = Duration::from_nanos(1_000_000_000 / rate);
    let server = WsServer::start(notif, vec![Plan::default()], interval);
    let ws = WsConfig {
        subscriptions: Subscription::default_set(),
        ..WsConfig::default()
    };
    let feed = LineFeed::ws(&server.url("/"), ws, DecoderConfig::default()).expect("ws feed");
    let (got, accounting, metrics) = receive(feed, lines.len());
    let log = server.stop();
    Measured {
        latency: latencies(&log.sent, mints, &got),
        delivered: got.len() as u64,
        accounting,
        metrics,
    }
}

fn over_pipe(lines: &[Vec<u8>], mints: &[Pubkey], rate: u64) -> Measured {
    let (reader, mut writer) = std::io::pipe().expect("pipe");
    let src = ReaderSource::spawn("pipe", reader, sniffer::decode::MAX_LINE_LEN).expect("reader");
    let feed = LineFeed::new(src, DecoderConfig::default());
    let interval = Duration::from_nanos(1_000_000_000 / rate);
    let body: Vec<Vec<u8>> = lines.to_vec();
    let writer_thread = std::thread::spawn(move || {
        let start = Instant::now();
        let mut sent = Vec::with_capacity(body.len());
        for (i, l) in body.iter().enumerate() {
            let due = start + interval * i as u32;
            loop {
                let now = Instant::now();
                if now >= due {
                    break;
                }
                let left = due - now;
                if left > Duration::from_micros(300) {
                    std::thread::sleep(left - Duration::from_micros(200));
                } else {
                    std::hint::spin_loop();
                }
            }
            let t = sniffer::monotonic_ns();
            if writer
                .write_all(l)
                .and_then(|()| writer.write_all(b"\n"))
                .is_err()
            {
                break;
            }
            sent.push((i, t));
        }
        sent
    });
    let (got, accounting, metrics) = receive(feed, lines.len());
    let sent = writer_thread.join().unwrap_or_default();
    Measured {
        latency: latencies(&sent, mints, &got),
        delivered: got.len() as u64,
        accounting,
        metrics,
    }
}

/// The scenario: at 1k/s for `d` and at 10k/s for `d`, WebSocket then pipe.
pub(crate) fn live_latency(d: Duration) -> Outcome {
    let mut bounds = Vec::new();
    let mut figures = Vec::new();
    for rate in [1_000u64, 10_000] {
        let n = ((rate as f64) * d.as_secs_f64()).max(50.0) as usize;
        let (lines, mints) = launch_lines(rate, n);
        for (name, m) in [
            ("ws", over_ws(&lines, &mints, rate)),
            ("stdin", over_pipe(&lines, &mints, rate)),
        ] {
            let label = format!("live_latency/{name}/{}k", rate / 1000);
            bounds.push(Bound::holds(
                &format!("{label}: every launch delivered once, accounting exact"),
                BoundKind::Correctness,
                m.delivered == n as u64 && m.accounting,
                format!(
                    "delivered {} of {n}, accounting {}; read {}, dropped {}, feeds {:?}",
                    m.delivered,
                    m.accounting,
                    m.metrics.tx_seen,
                    m.metrics.dropped_total(),
                    m.metrics.feeds
                ),
            ));
            push_latency_us(&mut figures, &label, &m.latency);
        }
    }
    Outcome {
        runs: Vec::new(),
        bounds,
        figures,
    }
}
