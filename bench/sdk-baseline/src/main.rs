//! `make bench-sdk`: `wire_to_bot_grpc` with baseline c, the public SDK bots use
//! (`solana-streamer-sdk` 6.0.0 over `sol-parser-sdk` 0.11.0 with its zero-copy parser), next
//! to ours (lane and inline delivery) and baselines a and b, on the same loopback servers and the same messages in the same
//! run (the rig `stress/wire_grpc_rig.rs`). Each line: feed kind, rate, design, p50 and p99 of
//! server write -> bot receive (microseconds), messages received.
//!
//! Baseline c is the SDK's own subscription (`YellowstoneGrpc::subscribe_events_immediate`,
//! `ShredStreamGrpc::shredstream_subscribe`, plain `http://` on loopback: tonic connects
//! without TLS to an `http` URL even with a TLS config set) with the SDK's callback sending each
//! create's mint through a crossbeam channel to a bot thread blocked in `recv`, as baseline a
//! does. Hot threads: the SDK's tokio workers (a multi-threaded runtime, a worker per core) and
//! the bot.
//!
//! Usage: `sdk-baseline [SECONDS_PER_RATE] [RATE...]` (default 2 s; 100 1000 10000), or
//! `sdk-baseline --decode [RUNS] [MS_PER_MEASUREMENT]` (default 3 runs, 300 ms): the decode
//! comparison of `compare.rs` (`make bench-sdk-decode`).

mod compare;
#[path = "../../../stress/wire_grpc_rig.rs"]
mod rig;
mod samples;

use std::path::Path;
use std::time::{Duration, Instant};

use rig::{Kind, Launches, PacedServer, Received};
use solana_streamer_sdk::streaming::event_parser::common::filter::EventTypeFilter;
use solana_streamer_sdk::streaming::event_parser::common::EventType;
use solana_streamer_sdk::streaming::event_parser::{DexEvent, Protocol};
use solana_streamer_sdk::streaming::shred::StreamClientConfig;
use solana_streamer_sdk::streaming::yellowstone_grpc::TransactionFilter;
use solana_streamer_sdk::streaming::{ShredStreamGrpc, YellowstoneGrpc};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data");

/// The mint of a create event.
fn create_mint(e: &DexEvent) -> Option<[u8; 32]> {
    match e {
        DexEvent::PumpFunCreateTokenEvent(c) => Some(c.mint.to_bytes()),
        DexEvent::PumpFunCreateV2TokenEvent(c) => Some(c.mint.to_bytes()),
        _ => None,
    }
}

fn creates() -> Option<EventTypeFilter> {
    Some(EventTypeFilter::include_only(vec![
        EventType::PumpFunCreateToken,
        EventType::PumpFunCreateV2Token,
    ]))
}

/// Baseline c: the SDK's subscription, its callback handing each mint to a bot thread.
fn sdk(kind: Kind, url: &str, l: &Launches, interval: Duration) -> Received {
    let n = l.mints.len();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (tx, rx) = crossbeam_channel::bounded::<[u8; 32]>(65_536);
    let callback = move |e: DexEvent| {
        if let Some(m) = create_mint(&e) {
            let _ = tx.send(m);
        }
    };
    let url = url.to_owned();
    let handle = rt.block_on(async move {
        match kind {
            Kind::Grpc => {
                let grpc =
                    YellowstoneGrpc::new_with_config(url, None, StreamClientConfig::default())
                        .expect("the SDK's gRPC client");
                let filter = TransactionFilter {
                    account_include: vec![rig::PUMP_ID.to_owned()],
                    account_exclude: vec![],
                    account_required: vec![],
                };
                grpc.subscribe_events_immediate(
                    vec![Protocol::PumpFun],
                    None,
                    vec![filter],
                    vec![],
                    creates(),
                    None,
                    callback,
                )
                .await
                .expect("the SDK's gRPC subscription");
                Box::new(grpc) as Box<dyn std::any::Any + Send>
            }
            Kind::Shred => {
                let shred = ShredStreamGrpc::new_with_config(url, StreamClientConfig::default())
                    .await
                    .expect("the SDK's ShredStream client");
                shred
                    .shredstream_subscribe(vec![Protocol::PumpFun], None, creates(), callback)
                    .await
                    .expect("the SDK's ShredStream subscription");
                Box::new(shred) as Box<dyn std::any::Any + Send>
            }
        }
    });
    let mut got = Received::new(n);
    let until = rig::deadline(n, interval);
    while got.delivered < n && Instant::now() < until {
        if let Ok(m) = rx.recv_timeout(Duration::from_millis(50)) {
            got.got(&l.index, &m, sniffer::monotonic_ns());
        }
    }
    drop(handle);
    rt.shutdown_timeout(Duration::from_secs(1));
    got
}

fn quantiles(got: &Received, server: &PacedServer) -> (f64, f64) {
    let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)
        .expect("constant bounds");
    if let Some(stamps) = server.last_stamps() {
        for v in got.latencies(&stamps) {
            let _ = h.record(v);
        }
    }
    (
        h.value_at_quantile(0.5) as f64 / 1e3,
        h.value_at_quantile(0.99) as f64 / 1e3,
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--decode") {
        let runs = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3);
        let ms = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(300);
        compare::run(runs, ms);
        return;
    }
    let secs: f64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(2.0);
    let mut rates: Vec<u64> = args.iter().skip(1).filter_map(|a| a.parse().ok()).collect();
    if rates.is_empty() {
        rates = vec![100, 1_000, 10_000];
    }
    println!("kind  rate  design  p50_us  p99_us  received");
    let mut failed = false;
    for rate in rates {
        let n = ((rate as f64) * secs).max(200.0) as usize;
        let l = rig::launches(Path::new(DATA), n);
        let interval = Duration::from_nanos(1_000_000_000 / rate);
        for kind in [Kind::Grpc, Kind::Shred] {
            let server = PacedServer::start(l.messages(kind), interval);
            for design in ["ours", "inline", "a", "b", "c"] {
                let got = match design {
                    "ours" => rig::ours(kind, &server.url(kind), &l, interval).0,
                    "inline" => rig::ours_inline(kind, &server.url(kind), &l, interval, false).0,
                    "a" => rig::baseline_a(kind, &server.http_url(), &l, interval),
                    "b" => rig::baseline_b(kind, &server.http_url(), &l, interval),
                    _ => sdk(kind, &server.http_url(), &l, interval),
                };
                let (p50, p99) = quantiles(&got, &server);
                failed |= got.delivered != n;
                println!(
                    "{:<5} {rate:>5} {design:<6} {p50:>8.1} {p99:>8.1}  {}/{n}",
                    kind.name(),
                    got.delivered
                );
            }
        }
    }
    if failed {
        eprintln!("some design did not receive every launch");
        std::process::exit(1);
    }
}
