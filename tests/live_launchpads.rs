//! Every launch program, live: the WebSocket feed with its default subscriptions against the
//! scripted loopback server (`tests/wsserver`), which routes each logs notification only to the
//! `logsSubscribe` whose `mentions` program the transaction invokes, as a node does. The lines
//! are the real logs of `tests/data/launchpads/` (a launch and the programs' buys, sells and
//! swaps): each launch arrives once, through its own program's subscription, and nothing else
//! does. The same transactions as Yellowstone gRPC updates (static keys, loaded addresses,
//! instructions, inner instructions and logs as a node sends them) arrive as the records the
//! `getTransaction` forms decode to.

mod common;
mod geyserserver;
mod samples;
mod wsserver;

use std::time::{Duration, Instant};

use samples::launchpads::{load, Sample};
use sniffer::{
    config::Launchpads,
    decode::{DecoderConfig, Program},
    feed::{GeyserConfig, GeyserFeed, LineFeed, WsConfig},
    LaunchKind, MetricsSnapshot, PremintCandidate, Sniffer, SnifferConfig,
};
use wsserver::{Line, Plan, WsServer};

/// The launches: (sample, kind of the record its logs give).
const LAUNCHES: &[(&str, LaunchKind)] = &[
    ("launchlab_init_token2022_5RfEZ834", LaunchKind::LaunchLab),
    (
        "launchlab_init_token2022_v1_zL5q74Xw",
        LaunchKind::LaunchLab,
    ),
    ("launchlab_init_v2_5LzhiGZB", LaunchKind::LaunchLab),
    ("dbc_init_spl_token_5hsqkSAZ", LaunchKind::MeteoraDbc),
    (
        "pumpfun_create_v2_alt_jsonparsed_2RoRJxat",
        LaunchKind::PumpCreateV2,
    ),
    (
        "pumpfun_create_v2_blocksubscribe_5EDHe12K",
        LaunchKind::PumpCreateV2,
    ),
];

/// Not launches, one or more per program that has real logs.
const OTHERS: &[&str] = &[
    "launchlab_buy_exact_out_3USu3YAs",
    "launchlab_buy_exact_in_cpi_8QTg427x",
    "dbc_swap_23BXcBmn",
    "dammv2_swap_N2jtQtjj",
    "moonshot_buy_5UWcde33",
    "boop_sell_token_53mugqLK",
    "cpmm_swap_base_input_4RoVbE9H",
    "cpmm_swap_base_input_cpi_2bhr1FWq",
    "pumpfun_buy_via_router_22K6ixTV",
];

fn line(name: &str) -> Line {
    Line::from_text(load(name).logs_notification().unwrap().as_bytes())
}

/// Serves the launches and the others, runs an engine on one WebSocket feed configured from
/// `cfg` (its `launchpads` decide the subscriptions) until `want` launches came (or 60 s: a
/// did-not-hang margin, never a pass condition).
fn run(cfg: SnifferConfig, want: usize) -> (Vec<PremintCandidate>, MetricsSnapshot, wsserver::Log) {
    let mut lines: Vec<Line> = LAUNCHES.iter().map(|(n, _)| line(n)).collect();
    lines.extend(OTHERS.iter().map(|n| line(n)));
    let server = WsServer::start(lines, vec![Plan::default()], Duration::ZERO);
    let ws = WsConfig {
        ping_interval: Duration::from_millis(300),
        stall_timeout: Duration::from_secs(5),
        ..WsConfig::from(&cfg)
    };
    let feed = LineFeed::ws(&server.url("/"), ws, DecoderConfig::default()).unwrap();
    let mut engine = Sniffer::builder().config(cfg).feed(feed).build().unwrap();
    let rx = engine.take_receiver().unwrap();
    let mut got = Vec::new();
    let until = Instant::now() + Duration::from_secs(60);
    while got.len() < want && Instant::now() < until {
        if let Ok(c) = rx.recv_timeout(Duration::from_millis(50)) {
            got.push(c);
        }
    }
    // Every line was sent before the last launch arrived; give the others time to be read.
    std::thread::sleep(Duration::from_millis(200));
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    got.extend(rx.try_iter());
    let log = server.stop();
    common::assert_accounted(&got, &m);
    (got, m, log)
}

/// The `mentions` keys of the `logsSubscribe` requests the server received.
fn mentioned(log: &wsserver::Log) -> Vec<String> {
    log.requests
        .iter()
        .filter(|r| r["method"] == "logsSubscribe")
        .map(|r| r["params"][0]["mentions"][0].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_launch_program_is_subscribed_by_default_and_its_launches_arrive() {
    let (got, m, log) = run(SnifferConfig::default(), LAUNCHES.len());
    // One logsSubscribe per launch program, nothing else.
    let want: Vec<String> = Program::ALL.iter().map(|p| p.id().to_string()).collect();
    assert_eq!(mentioned(&log), want);
    assert_eq!(log.requests.len(), Program::ALL.len());
    // Every line had a subscription of its program to go to.
    assert_eq!(log.unsubscribed, 0);
    assert_eq!(log.sent.len(), LAUNCHES.len() + OTHERS.len());
    // Each launch once, as its logs give it; nothing for the others.
    assert_eq!(got.len(), LAUNCHES.len(), "{got:?}");
    for (name, kind) in LAUNCHES {
        let s = load(name);
        let c: Vec<_> = got
            .iter()
            .filter(|c| c.signature.to_string() == s.signature())
            .collect();
        assert_eq!(c.len(), 1, "{name}");
        assert_eq!(c[0].kind, *kind, "{name}");
        assert_eq!(c[0].slot, s.slot(), "{name}");
    }
    let by_kind = &m.candidates_detected_by_kind;
    assert_eq!(by_kind["launchlab"], 3);
    assert_eq!(by_kind["meteora_dbc"], 1);
    assert_eq!(by_kind["pump_create_v2"], 2);
    assert_eq!(by_kind.values().sum::<u64>(), 6);
}

/// `launchpads = "pump,launchlab"`: two subscriptions; DBC's launch and the other programs'
/// logs never come.
#[test]
fn the_launchpads_key_selects_the_subscriptions() {
    let cfg = SnifferConfig {
        launchpads: "pump,launchlab".parse::<Launchpads>().unwrap(),
        ..SnifferConfig::default()
    };
    let (got, m, log) = run(cfg, 5);
    assert_eq!(
        mentioned(&log),
        [
            Program::Pump.id().to_string(),
            Program::LaunchLab.id().to_string()
        ]
    );
    // Not sent: the DBC launch, the DBC and DAMM v2 swaps, the Moonshot buy, the Boop sell and
    // the two CPMM swaps. Sent: the pump.fun and LaunchLab lines (the router's CPMM swap that
    // also buys on LaunchLab among them), which are three launches short of the default set.
    assert_eq!(log.unsubscribed, 7);
    assert_eq!(log.sent.len(), LAUNCHES.len() + OTHERS.len() - 7);
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|c| c.kind != LaunchKind::MeteoraDbc));
    assert_eq!(m.candidates_detected_by_kind["meteora_dbc"], 0);
}

/// A sample as the Yellowstone update a node would stream.
fn grpc_tx(s: &Sample) -> geyserserver::Tx {
    geyserserver::Tx::from_json(s.slot(), s.tx(), s.meta())
}

#[test]
fn every_launch_arrives_over_grpc_as_its_transaction_decodes() {
    let launches = [
        "launchlab_init_token2022_5RfEZ834",
        "launchlab_init_v2_5LzhiGZB",
        "dbc_init_spl_token_5hsqkSAZ",
        "dbc_migration_damm_v2_helius_4hhaf2y5",
        "moonshot_token_mint_ix_4C9hua8F",
        "pumpfun_create_v2_alt_jsonparsed_2RoRJxat",
        "pumpfun_create_v2_blocksubscribe_5EDHe12K",
    ];
    let samples: Vec<Sample> = launches.iter().chain(OTHERS).map(|n| load(n)).collect();
    let txs: Vec<_> = samples.iter().map(grpc_tx).collect();
    let server = geyserserver::GeyserTestServer::start(
        txs,
        vec![geyserserver::Plan::default()],
        None,
        Duration::ZERO,
    );
    let cfg = GeyserConfig {
        stall_timeout: Duration::from_secs(5),
        ..GeyserConfig::from(&SnifferConfig::default())
    };
    let feed = GeyserFeed::new(&server.url(), cfg, DecoderConfig::default()).unwrap();
    let mut engine = Sniffer::builder().feed(feed).build().unwrap();
    let rx = engine.take_receiver().unwrap();
    let until = Instant::now() + Duration::from_secs(60);
    let n = samples.len() as u64;
    while engine.snapshot().tx_seen < n && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    let got: Vec<_> = rx.try_iter().collect();
    common::assert_accounted(&got, &m);
    assert_eq!(m.tx_seen, n);
    assert_eq!(got.len(), launches.len(), "{got:?}");
    for s in &samples[..launches.len()] {
        let json = s.forms().into_iter().find(|f| f.name == "json").unwrap();
        let want = s.decode(&json).unwrap()[0].candidate;
        let c = got
            .iter()
            .find(|c| c.signature == want.signature)
            .unwrap_or_else(|| panic!("{} not delivered", s.name));
        // The engine's own fields aside, the same record.
        let local = PremintCandidate {
            seq: c.seq,
            detected_at_ns: c.detected_at_ns,
            received_unix_ns: c.received_unix_ns,
            feed_id: c.feed_id,
            ..want
        };
        assert_eq!(*c, local, "{}", s.name);
    }
}
