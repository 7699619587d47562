//! `wire_to_bot_grpc`: message written by a loopback server -> the bot's `recv` returned, for
//! Yellowstone gRPC and Jito ShredStream, at 100, 1 000 and 10 000 messages per second, for
//! ours and two hand-written designs on the same server and messages in the same run (the
//! rig is `wire_grpc_rig.rs`; each message is a real pump.fun `create_v2` with its own mint):
//!
//! - `ours`: the engine on `GeyserFeed` / `ShredFeed`; hot threads: the feed thread (its
//!   current-thread runtime), the engine's handoff, the bot in `recv_timeout`.
//! - `a` (what a bot builder writes by hand): tonic's client on `#[tokio::main]`'s runtime
//!   (a worker per core), prost decoding (for ShredStream, the entries decoded into owned
//!   transactions as `bincode` into `solana_entry::Entry` would), a crossbeam channel to a bot
//!   thread blocked in `recv`; hot threads: the tokio workers and the bot.
//! - `b` (the seeds' design): the same feed, a tokio mpsc channel, the bot a tokio task
//!   awaiting `recv`; hot threads: the tokio workers.
//! - `ours_inline`: the engine calling the bot's handler on the feed thread
//!   (`SnifferBuilder::inline_handler`), which stamps the receive; hot thread: the feed thread.
//! - `ours_inline_busy`: the same with `busy_poll` (the feed thread never sleeps).
//!
//! Baseline c, the public SDK (`solana-streamer-sdk` over `sol-parser-sdk`), builds hundreds of
//! Solana crates, so it lives in the workspace-excluded `bench/sdk-baseline` crate (`make
//! bench-sdk`), which runs this rig's servers and designs next to it.
//!
//! The server stamps each message when its codec copies it into the HTTP/2 frame, and each
//! design stamps when its bot's receive returns, both on [`sniffer::monotonic_ns`].

use std::path::Path;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::harness::{new_histogram, push_latency_us, Bound, BoundKind};
use crate::scenarios::Outcome;
use crate::wire_grpc_rig::{self as rig, Kind, Launches, PacedServer};

const RATES: [u64; 3] = [100, 1_000, 10_000];
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

fn histogram(latencies: &[u64]) -> Histogram<u64> {
    let mut h = new_histogram();
    for &v in latencies {
        let _ = h.record(v);
    }
    h
}

/// The process's CPU time so far (user + system), in milliseconds.
fn cpu_ms() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) * 10.0
}

fn rate_label(rate: u64) -> String {
    if rate >= 1000 {
        format!("{}k", rate / 1000)
    } else {
        rate.to_string()
    }
}

/// The designs, in the order they run against each server.
const DESIGNS: [&str; 5] = ["ours", "a", "b", "ours_inline", "ours_inline_busy"];

/// Runs one design against `server`: what it received, and whether its accounting held.
fn run_design(
    design: &str,
    kind: Kind,
    server: &PacedServer,
    l: &Launches,
    interval: Duration,
) -> (rig::Received, bool) {
    match design {
        "ours" => rig::ours(kind, &server.url(kind), l, interval),
        "ours_inline" => rig::ours_inline(kind, &server.url(kind), l, interval, false),
        "ours_inline_busy" => rig::ours_inline(kind, &server.url(kind), l, interval, true),
        "a" => (rig::baseline_a(kind, &server.http_url(), l, interval), true),
        _ => (rig::baseline_b(kind, &server.http_url(), l, interval), true),
    }
}

/// One feed kind at one rate: the designs in turn against one server.
fn one(
    kind: Kind,
    rate: u64,
    l: &Launches,
    bounds: &mut Vec<Bound>,
    figures: &mut Vec<(String, f64)>,
) {
    let n = l.mints.len();
    let interval = Duration::from_nanos(1_000_000_000 / rate);
    let server = PacedServer::start(l.messages(kind), interval);
    let label = format!("wire_to_bot_grpc/{}/{}", kind.name(), rate_label(rate));
    let mut p = Vec::new();
    for design in DESIGNS {
        let cpu = cpu_ms();
        let (got, accounting) = run_design(design, kind, &server, l, interval);
        let cpu = cpu_ms() - cpu;
        let stamps = server.last_stamps().expect("a subscription");
        let h = histogram(&got.latencies(&stamps));
        bounds.push(Bound::holds(
            &format!("{label}/{design}: every launch received once"),
            BoundKind::Correctness,
            got.delivered == n && got.unexpected == 0 && accounting,
            format!(
                "received {} of {n}, {} unexpected, accounting {accounting}",
                got.delivered, got.unexpected
            ),
        ));
        push_latency_us(figures, &format!("{label}/{design}"), &h);
        if design.starts_with("ours") {
            // Where ours spends it: server write -> the feed's read (socket, HTTP/2, tonic),
            // and the rest is the feed's decode and the engine's handoff to the bot.
            let feed = histogram(&got.feed_latencies(&stamps));
            push_latency_us(
                figures,
                &format!("{label}/{design} (write to feed read)"),
                &feed,
            );
        }
        figures.push((
            format!("{label}/{design}: process CPU (ms, server included)"),
            cpu,
        ));
        p.push((h.value_at_quantile(0.5), h.value_at_quantile(0.99)));
    }
    let a = p[1];
    for (design, ours) in [("ours", p[0]), ("ours_inline", p[3])] {
        bounds.push(Bound::at_most(
            &format!("{label}: {design} p50 / baseline a p50"),
            BoundKind::Timing,
            ours.0 as f64 / a.0.max(1) as f64,
            1.0,
        ));
        bounds.push(Bound::at_most(
            &format!("{label}: {design} p99 / baseline a p99"),
            BoundKind::Timing,
            ours.1 as f64 / a.1.max(1) as f64,
            1.0,
        ));
    }
}

/// The scenario: each feed kind at each rate for `d` (at least `min` messages each).
pub(crate) fn wire_to_bot_grpc(d: Duration, min: usize) -> Outcome {
    let mut bounds = Vec::new();
    let mut figures = Vec::new();
    for rate in RATES {
        let n = ((rate as f64) * d.as_secs_f64()).max(min as f64) as usize;
        let l = rig::launches(Path::new(DATA), n);
        for kind in [Kind::Grpc, Kind::Shred] {
            one(kind, rate, &l, &mut bounds, &mut figures);
        }
    }
    Outcome {
        runs: Vec::new(),
        bounds,
        figures,
    }
}
