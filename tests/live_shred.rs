//! The ShredStream feed against a scripted proxy on loopback (`tests/shredserver`): real
//! launches (their signed wire bytes, rebuilt by `tests/samples/launchpads.rs`) inside ledger
//! entries arrive as the same launches as their JSON forms, marked not executed; a launch whose
//! mint sits in an address table is counted `unresolved_lookup`, not guessed; a stream that
//! ends is reconnected and nothing is delivered twice; against a WebSocket provider that lags
//! 200 ms the ShredStream feed wins every launch by at least the lag; `sniffer run --feed
//! shred://` works. Accounting is checked after each run.
#![cfg(all(feature = "shredstream", feature = "ws"))]

mod common;
mod samples;
mod shredserver;
mod wsserver;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use samples::launchpads::{load, Sample};
use shredserver::{entries, Entry, Plan, ShredTestServer};
use sniffer::{
    decode::{Decoded, DecoderConfig},
    feed::{LineFeed, ShredConfig, ShredFeed, Subscription, WsConfig},
    LaunchKind, MetricsSnapshot, PremintCandidate, Pubkey, Sniffer,
};

/// The real launches whose signed bytes can be rebuilt (see `tests/decode_launchpads.rs`).
const LAUNCHES: &[&str] = &[
    "pumpfun_create_v2_blocksubscribe_5EDHe12K",
    "pumpfun_create_v2_alt_jsonparsed_2RoRJxat",
    "launchlab_init_token2022_5RfEZ834",
    "launchlab_init_token2022_v1_zL5q74Xw",
    "dbc_init_spl_token_5hsqkSAZ",
];
/// A real non-launch (a LaunchLab buy through a router) with its signed bytes.
const NOT_A_LAUNCH: &str = "launchlab_buy_exact_in_cpi_8QTg427x";

fn wire(name: &str) -> Vec<u8> {
    load(name)
        .wire()
        .unwrap_or_else(|| panic!("{name}: no signed wire form"))
}

/// The launch of a sample as its `getTransaction` JSON form decodes.
fn json_launch(s: &Sample) -> Decoded {
    let form = s.forms().into_iter().find(|f| f.name == "json").unwrap();
    let mut d = s.decode(&form).unwrap();
    assert_eq!(d.len(), 1, "{}", s.name);
    d.remove(0)
}

fn cu16(out: &mut Vec<u8>, mut v: usize) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// A v0 transaction whose pump.fun `create_v2` (the real one's data) names its mint, curve and
/// user through an address table: what identifies the launch is not in the entry.
fn create_v2_through_a_table() -> Vec<u8> {
    let s = load("pumpfun_create_v2_blocksubscribe_5EDHe12K");
    let ix = &s.message()["instructions"][0];
    let data = bs58::decode(ix["data"].as_str().unwrap())
        .into_vec()
        .unwrap();
    let pump: Pubkey = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"
        .parse()
        .unwrap();
    let mut out = Vec::new();
    cu16(&mut out, 1);
    out.extend_from_slice(&[0x42; 64]);
    out.extend_from_slice(&[0x80, 1, 0, 1]);
    cu16(&mut out, 2);
    out.extend_from_slice(&[0x11; 32]); // the fee payer
    out.extend_from_slice(&pump.0);
    out.extend_from_slice(&[7; 32]); // blockhash
    cu16(&mut out, 1);
    out.push(1);
    let accounts: Vec<u8> = (2..18).collect();
    cu16(&mut out, accounts.len());
    out.extend_from_slice(&accounts);
    cu16(&mut out, data.len());
    out.extend_from_slice(&data);
    cu16(&mut out, 1);
    out.extend_from_slice(&[0x99; 32]); // the table
    cu16(&mut out, 16);
    out.extend(0..16u8);
    cu16(&mut out, 0);
    out
}

/// Short timers so that faults resolve in well under a second.
fn shred_config() -> ShredConfig {
    ShredConfig {
        stall_timeout: Duration::from_secs(5),
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        ..ShredConfig::default()
    }
}

fn feed(url: &str) -> ShredFeed {
    ShredFeed::new(url, shred_config(), DecoderConfig::default()).unwrap()
}

/// Runs an engine on one ShredStream feed until `want` candidates arrived (60 s: a
/// did-not-hang margin, never a pass condition) and `done` holds, then shuts down.
fn run(
    url: &str,
    want: usize,
    done: impl Fn(&MetricsSnapshot) -> bool,
) -> (
    Vec<(PremintCandidate, Option<sniffer::LaunchMeta>)>,
    MetricsSnapshot,
) {
    let mut engine = Sniffer::builder().feed(feed(url)).build().unwrap();
    let rx = engine.take_receiver().unwrap();
    let mut got = Vec::new();
    let until = Instant::now() + Duration::from_secs(60);
    while (got.len() < want || !done(&engine.snapshot())) && Instant::now() < until {
        if let Ok(c) = rx.recv_timeout(Duration::from_millis(20)) {
            got.push((c, rx.launch_meta(&c)));
        }
    }
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    got.extend(rx.try_iter().map(|c| (c, rx.launch_meta(&c))));
    let cands: Vec<_> = got.iter().map(|(c, _)| *c).collect();
    common::assert_accounted(&cands, &m);
    (got, m)
}

#[test]
fn real_launches_in_entries_arrive_as_their_json_form_unexecuted() {
    let launches: Vec<Vec<u8>> = LAUNCHES.iter().map(|n| wire(n)).collect();
    let msgs = vec![
        Entry {
            slot: 400,
            entries: entries(&[
                vec![launches[0].clone(), wire(NOT_A_LAUNCH)],
                vec![],
                vec![launches[1].clone(), create_v2_through_a_table()],
            ]),
        },
        Entry {
            slot: 401,
            entries: entries(&[launches[2..].to_vec()]),
        },
        // A transaction cut short: the rest of its message is lost, counted once.
        Entry {
            slot: 402,
            entries: entries(&[vec![launches[0][..100].to_vec()]]),
        },
        Entry {
            slot: 403,
            entries: vec![1, 2, 3],
        },
    ];
    let server = ShredTestServer::start(msgs, vec![Plan::default()]);
    let (got, m) = run(&server.url(), LAUNCHES.len(), |m| m.tx_seen >= 9);
    // Four transactions, three, a cut one and a message that is no entries.
    assert_eq!(m.tx_seen, 9, "{m:#?}");
    let reasons: BTreeMap<_, _> = m
        .tx_malformed_by_reason
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(r, n)| (r.as_str(), *n))
        .collect();
    assert_eq!(
        reasons,
        BTreeMap::from([
            ("bad_wire", 1),
            ("truncated_data", 1),
            ("unresolved_lookup", 1)
        ]),
        "{m:#?}"
    );
    assert_eq!(got.len(), LAUNCHES.len(), "{got:#?}");
    for name in LAUNCHES {
        let s = load(name);
        let want = json_launch(&s);
        let w = &want.candidate;
        let (c, meta) = got
            .iter()
            .find(|(c, _)| c.signature == w.signature)
            .unwrap_or_else(|| panic!("{name} not delivered"));
        assert!(w.executed, "{name}: the JSON form was executed");
        assert!(!c.executed, "{name}: read before execution");
        let at = name;
        assert_eq!((c.kind, c.launchpad), (w.kind, w.launchpad), "{at}");
        assert_eq!((c.mint, c.creator), (w.mint, w.creator), "{at}");
        assert_eq!(c.market, w.market, "{at} market");
        assert_eq!(
            c.slot,
            if LAUNCHES[..2].contains(name) {
                400
            } else {
                401
            }
        );
        assert_eq!(meta.as_ref(), Some(&want.meta), "{at} name/symbol/uri");
        // pump.fun's creator buy is what its instruction asked: at most this much SOL, at
        // least these tokens (the JSON form has what it got).
        let pump = matches!(c.kind, LaunchKind::PumpCreate | LaunchKind::PumpCreateV2);
        if pump {
            let (sol, tokens) = (c.creator_buy_lamports, c.creator_buy_tokens);
            assert!(w.creator_buy_lamports > 0, "{at}");
            assert!(sol >= w.creator_buy_lamports, "{at}: {sol}");
            assert!(
                tokens > 0 && tokens <= w.creator_buy_tokens,
                "{at}: {tokens}"
            );
        }
    }
    // `buy` names its exact tokens and its most SOL (108_000_000; it paid 98_750_018).
    let (c, _) = got
        .iter()
        .find(|(c, _)| c.signature == json_launch(&load(LAUNCHES[0])).signature)
        .unwrap();
    assert_eq!(
        (c.creator_buy_lamports, c.creator_buy_tokens),
        (108_000_000, 3_520_371_073_923)
    );
}

/// One entry per real launch, each beside a transaction that is not one, from slot `first` on.
fn launches_from(first: u64) -> Vec<Entry> {
    LAUNCHES
        .iter()
        .enumerate()
        .map(|(i, n)| Entry {
            slot: first + i as u64,
            entries: entries(&[vec![wire(NOT_A_LAUNCH), wire(n)]]),
        })
        .collect()
}

/// The first connection ends after three messages; the second starts two messages back (their
/// launches were delivered already).
fn end_then_rewind() -> Vec<Plan> {
    vec![
        Plan {
            send: Some(3),
            ..Plan::default()
        },
        Plan {
            rewind: 2,
            ..Plan::default()
        },
    ]
}

#[test]
fn a_stream_that_ends_is_reconnected_and_nothing_is_delivered_twice() {
    let server = ShredTestServer::start(launches_from(500), end_then_rewind());
    let (got, m) = run(&server.url(), LAUNCHES.len(), |m| {
        m.feeds[0].resumed_skipped >= 2
    });
    let f = &m.feeds[0];
    assert_eq!((f.connects, f.resumed_skipped), (2, 2), "{f:#?}");
    assert_eq!(got.len(), LAUNCHES.len());
    assert_eq!(m.candidates_sent, LAUNCHES.len() as u64);
    assert_eq!(m.duplicates_dropped, 0);
    assert_eq!(server.log().subscribes, 2);
}

/// Busy-polling (`busy_poll = true`): through a stream that ends and a reconnect that starts
/// two messages back, every launch is delivered once with exact accounting; and once the
/// stream is quiet a poll finds nothing at once and says so (`Idle`: the engine yields the core
/// and polls again), where by default it waits for the next message on the feed's runtime
/// (`Ready`, after up to 5 ms) and is never idle while connected.
#[test]
fn busy_polling_never_waits_on_the_runtime_and_delivers_every_launch_once() {
    let msgs = launches_from(700);
    for busy in [false, true] {
        let server = ShredTestServer::start(msgs.clone(), end_then_rewind());
        // No stall within the test: the quiet stream stays connected.
        let cfg = ShredConfig {
            stall_timeout: Duration::from_secs(600),
            ..shred_config()
        };
        let feed = ShredFeed::new(&server.url(), cfg, DecoderConfig::default()).unwrap();
        let (got, m) = common::run_counted(feed, busy, |m| {
            m.candidates_sent >= LAUNCHES.len() as u64 && m.feeds[0].resumed_skipped >= 2
        });
        let mints: std::collections::HashSet<_> = got.iter().map(|c| c.mint).collect();
        assert_eq!(
            (got.len(), mints.len()),
            (LAUNCHES.len(), LAUNCHES.len()),
            "busy {busy}"
        );
        assert_eq!(m.candidates_sent, LAUNCHES.len() as u64, "busy {busy}");
        assert_eq!(m.duplicates_dropped, 0, "busy {busy}");
        let f = &m.feeds[0];
        assert_eq!(
            (f.connects, f.resumed_skipped, f.stalls),
            (2, 2, 0),
            "busy {busy}: {f:#?}"
        );
    }
}

#[test]
fn shredstream_wins_every_launch_against_a_websocket_that_lags() {
    let release = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let msgs = vec![Entry {
        slot: 600,
        entries: entries(&[LAUNCHES.iter().map(|n| wire(n)).collect()]),
    }];
    let shred = ShredTestServer::start(msgs, vec![Plan::default()]);
    let lines: Vec<_> = LAUNCHES
        .iter()
        .map(|n| wsserver::Line::from_text(load(n).block_notification().unwrap().as_bytes()))
        .collect();
    let ws_plan = wsserver::Plan {
        gate: Some(release.clone()),
        ..wsserver::Plan::default()
    };
    let ws = wsserver::WsServer::start(lines, vec![ws_plan], Duration::ZERO);
    let k = |s: &str| s.parse::<Pubkey>().unwrap();
    let ws_feed = LineFeed::ws(
        &ws.url("/"),
        WsConfig {
            subscriptions: vec![Subscription::Blocks(k(
                "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P",
            ))],
            ..WsConfig::default()
        },
        DecoderConfig::default(),
    )
    .unwrap();
    let mut engine = Sniffer::builder()
        .feed(feed(&shred.url()))
        .feed(ws_feed)
        .build()
        .unwrap();
    let rx = engine.take_receiver().unwrap();
    let n = LAUNCHES.len() as u64;
    let until = Instant::now() + Duration::from_secs(60);
    while engine.snapshot().feeds[0].wins < n && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    // The WebSocket provider sends the same launches 200 ms after ShredStream delivered them.
    let lag = Duration::from_millis(200);
    std::thread::sleep(lag);
    release.store(true, std::sync::atomic::Ordering::Release);
    while engine.snapshot().feeds[1].duplicates < n && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    let got: Vec<_> = rx.try_iter().collect();
    common::assert_accounted(&got, &m);
    let (a, b) = (&m.feeds[0], &m.feeds[1]);
    assert_eq!(
        (a.wins, a.duplicates, b.wins, b.duplicates),
        (n, 0, 0, n),
        "{m:#?}"
    );
    assert_eq!(a.lead_ns.count, n);
    // Every lead is at least the lag (within the histogram's 12.5 %).
    assert!(
        a.lead_ns.p50 >= lag.as_nanos() as u64 * 7 / 8,
        "{:?}",
        a.lead_ns
    );
    assert!(
        got.iter().all(|c| !c.executed),
        "the winners are ShredStream's"
    );
}

#[test]
fn the_cli_runs_a_shred_feed() {
    let msgs = vec![Entry {
        slot: 700,
        entries: entries(&[vec![wire(LAUNCHES[0])]]),
    }];
    let server = ShredTestServer::start(msgs, vec![Plan::default()]);
    let json = common::temp_path("shred-metrics.json");
    let cands = common::temp_path("shred-candidates.jsonl");
    let out = common::sniffer_cmd()
        .args([
            "run",
            "--feed",
            &server.url(),
            "--duration",
            "2s",
            "--candidates",
        ])
        .arg(&cands)
        .arg("--metrics-json")
        .arg(&json)
        .output()
        .unwrap();
    common::assert_ok(&out);
    let m: MetricsSnapshot =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!((m.tx_seen, m.candidates_sent), (1, 1), "{m:#?}");
    assert_eq!(m.feeds[0].connects, 1);
    let line = std::fs::read_to_string(&cands).unwrap();
    let v: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    let want = json_launch(&load(LAUNCHES[0]));
    assert_eq!(v["mint"], want.candidate.mint.to_string());
    assert_eq!(v["executed"], false);
}
