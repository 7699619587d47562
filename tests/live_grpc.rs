//! The Yellowstone gRPC feed against a scripted tonic server on loopback
//! (`tests/geyserserver`): the real 2024 create as an update decodes to the same launch as its
//! JSON form; a stream that ends mid-way resumes with `from_slot` and no transaction is
//! delivered twice; the server's pings are answered; a wrong token is a counted refusal; a
//! recorded gRPC session replays to the same candidates; `grpcs://` trusts a private CA from
//! `tls_ca_file` and nothing else; a feed asking for zstd or gzip gets its updates compressed
//! and decodes them. Accounting is checked after each run.
#![cfg(feature = "geyser")]

mod common;
mod geyserserver;
mod samples;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use geyserserver::{GeyserTestServer, Plan, Tx};
use samples::*;
use serde_json::Value;
use sniffer::{
    decode::{Decoder, DecoderConfig, Format},
    feed::{
        Expected, GeyserConfig, GeyserFeed, LineFeed, PayloadGenerator, PayloadMix, ReplayConfig,
    },
    MetricsSnapshot, PremintCandidate, Pubkey, Sniffer,
};

fn b58(s: &str) -> Vec<u8> {
    bs58::decode(s).into_vec().unwrap()
}

/// The real 2024 create (outer `create`, self-CPI event, 57 log lines) as a gRPC update.
fn real_create(slot: u64) -> Tx {
    let v: Value = serde_json::from_str(&get_transaction_json_v0()).unwrap();
    from_get_transaction(&v, slot)
}

/// A `getTransaction` result in the `json` encoding as a gRPC transaction.
fn from_get_transaction(v: &Value, slot: u64) -> Tx {
    let r = if v.get("result").is_some() {
        &v["result"]
    } else {
        v
    };
    Tx::from_json(slot, &r["transaction"], &r["meta"])
}

/// A logs notification as a gRPC transaction: the signer and pump.fun as keys, the logs.
fn from_logs(v: &Value, slot: u64) -> Tx {
    let value = &v["params"]["result"]["value"];
    Tx {
        slot,
        signature: b58(value["signature"].as_str().unwrap()),
        account_keys: vec![vec![7; 32], b58(PUMP)],
        instructions: vec![],
        inner: vec![],
        logs: value["logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_owned())
            .collect(),
        loaded_writable: vec![],
        loaded_readonly: vec![],
        failed: !value["err"].is_null(),
    }
}

/// Generated launches (logs and getTransaction kinds) as gRPC transactions, four per slot,
/// with the mint of each one's launch.
fn generated(seed: u64, n: usize) -> (Vec<Tx>, Vec<Option<Pubkey>>) {
    let mix = PayloadMix {
        pump_swap_pool: 0,
        raydium_pool: 0,
        ..PayloadMix::default()
    };
    let mut g = PayloadGenerator::new(seed, mix, 0.0);
    let (mut txs, mut mints) = (Vec::new(), Vec::new());
    while txs.len() < n {
        let mut l = Vec::new();
        let mint = match g.next_line(&mut l) {
            Expected::Launch { mint, .. } => Some(mint),
            Expected::Nothing => None,
            Expected::Malformed(_) => continue,
        };
        let v: Value = serde_json::from_slice(&l).unwrap();
        let slot = 5_000 + txs.len() as u64 / 4;
        let tx = if v["method"] == "logsNotification" {
            from_logs(&v, slot)
        } else {
            from_get_transaction(&v, slot)
        };
        txs.push(tx);
        mints.push(mint);
    }
    (txs, mints)
}

fn cfg(token: Option<&str>) -> GeyserConfig {
    GeyserConfig {
        x_token: token.map(str::to_owned),
        stall_timeout: Duration::from_secs(2),
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        ..GeyserConfig::default()
    }
}

/// Runs an engine on `feed` until `done` says so (or 60 s: a did-not-hang margin).
fn run(
    feed: GeyserFeed,
    done: impl Fn(&MetricsSnapshot) -> bool,
) -> (Vec<PremintCandidate>, MetricsSnapshot) {
    let mut engine = Sniffer::builder().feed(feed).build().unwrap();
    let rx = engine.take_receiver().unwrap();
    let until = Instant::now() + Duration::from_secs(60);
    while !done(&engine.snapshot()) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    let got: Vec<_> = rx.try_iter().collect();
    common::assert_accounted(&got, &m);
    (got, m)
}

#[test]
fn the_real_create_as_a_grpc_update_is_the_same_launch_as_its_json() {
    let server = GeyserTestServer::start(
        vec![real_create(SLOT)],
        vec![Plan::default()],
        Some("tok"),
        Duration::ZERO,
    );
    let feed = GeyserFeed::new(&server.url(), cfg(Some("tok")), DecoderConfig::default()).unwrap();
    let (got, m) = run(feed, |m| m.candidates_sent >= 1);
    let log = server.log();
    assert_eq!(got.len(), 1, "{m:#?}");
    // The JSON decoder's reading of the same transaction.
    let mut dec = Decoder::new(Format::Auto);
    let mut out = Vec::new();
    dec.decode_line(get_transaction_json_v0().as_bytes(), &mut out)
        .unwrap();
    let (a, b) = (&got[0], &out[0].candidate);
    assert_eq!(
        (a.mint, a.creator, a.slot, a.kind, a.score, a.priority),
        (b.mint, b.creator, b.slot, b.kind, b.score, b.priority)
    );
    assert_eq!(a.mint, MINT.parse().unwrap());
    // What a buy needs came through the parsed path too.
    assert_eq!(
        (
            a.signature,
            a.market,
            a.market_token_account,
            a.token_program
        ),
        (
            b.signature,
            b.market,
            b.market_token_account,
            b.token_program
        )
    );
    assert_eq!(a.signature.to_string(), SIG);
    assert_eq!(a.bonding_curve(), Some(BONDING_CURVE.parse().unwrap()));
    // The subscription asked for what a sniper needs.
    let req = &log.requests[0];
    let f = &req.transactions["sniffer"];
    assert_eq!((f.vote, f.failed), (Some(false), Some(false)));
    assert!(f.account_include.contains(&PUMP.to_owned()));
    // By default, every launch program's transactions.
    let every: Vec<String> = sniffer::decode::Program::ALL
        .iter()
        .map(|p| p.id().to_string())
        .collect();
    assert_eq!(f.account_include, every);
    assert_eq!(req.commitment, Some(0), "processed");
    assert_eq!(req.from_slot, None);
    assert_eq!(log.tokens[0].as_deref(), Some("tok"));
}

/// `user:pass@` in a gRPC URL travels as `authorization: Basic ...` metadata beside the
/// `x-token` (percent-decoded), and shows in neither the feed's name nor its `Debug`.
#[test]
fn credentials_in_the_url_are_sent_as_basic_authentication_and_never_shown() {
    use base64::Engine as _;
    let server = GeyserTestServer::start(
        vec![real_create(SLOT)],
        vec![Plan::default()],
        Some("tok"),
        Duration::ZERO,
    );
    let url = server
        .url()
        .replacen("grpc://", "grpc://bot:hunter%232@", 1);
    let feed = GeyserFeed::new(&url, cfg(Some("tok")), DecoderConfig::default()).unwrap();
    let shown = format!("{feed:?} {}", sniffer::feed::Feed::name(&feed));
    assert!(
        !shown.contains("hunter") && !shown.contains("bot"),
        "{shown}"
    );
    let (got, m) = run(feed, |m| m.candidates_sent >= 1);
    assert_eq!(got.len(), 1, "{m:#?}");
    assert!(!m.feeds[0].name.contains("hunter"), "{}", m.feeds[0].name);
    let basic = base64::engine::general_purpose::STANDARD.encode("bot:hunter#2");
    let log = server.log();
    assert_eq!(log.authorizations, vec![Some(format!("Basic {basic}"))]);
    assert_eq!(log.tokens, vec![Some("tok".to_owned())]);
}

/// A feed with `compression` tells the server it decodes that encoding; the server then
/// compresses every update, and the feed decodes them to the same launches. A feed without it
/// asks for nothing.
#[test]
fn zstd_and_gzip_compressed_updates_are_decoded() {
    use sniffer::config::Compression;
    let (txs, mints) = generated(23, 40);
    let want: HashSet<Pubkey> = mints.iter().flatten().copied().collect();
    for (c, name) in [
        (Compression::Zstd, Some("zstd")),
        (Compression::Gzip, Some("gzip")),
        (Compression::None, None),
    ] {
        let server =
            GeyserTestServer::start(txs.clone(), vec![Plan::default()], None, Duration::ZERO);
        let cfg = GeyserConfig {
            compression: c,
            ..cfg(None)
        };
        let feed = GeyserFeed::new(&server.url(), cfg, DecoderConfig::default()).unwrap();
        // Every launch delivered, not only every transaction seen: a candidate still between
        // the feed and the bot at shutdown is counted as a shutdown drop, not delivered.
        let (got, m) = run(feed, |m| {
            m.tx_seen >= txs.len() as u64 && m.candidates_sent >= want.len() as u64
        });
        let log = server.log();
        // tonic lists `identity` after what it decodes besides.
        let accepted = name.map(|n| format!("{n},identity"));
        assert_eq!(log.accept_encodings, vec![accepted], "{c:?}");
        assert_eq!(
            got.iter().map(|c| c.mint).collect::<HashSet<_>>(),
            want,
            "{c:?}"
        );
        assert_eq!(m.tx_seen, txs.len() as u64, "{c:?}");
        assert_eq!(m.feeds[0].connects, 1, "{c:?}");
    }
}

/// The first stream ends after 50 transactions; the second resumes.
fn end_after_50() -> Vec<Plan> {
    vec![
        Plan {
            send: Some(50),
            ..Plan::default()
        },
        Plan::default(),
    ]
}

#[test]
fn a_stream_that_ends_resumes_from_slot_and_delivers_every_transaction_once() {
    let (txs, mints) = generated(21, 120);
    let want: HashSet<Pubkey> = mints.iter().flatten().copied().collect();
    let n = txs.len() as u64;
    let server = GeyserTestServer::start(txs.clone(), end_after_50(), None, Duration::ZERO);
    let feed = GeyserFeed::new(&server.url(), cfg(None), DecoderConfig::default()).unwrap();
    let (got, m) = run(feed, |m| {
        m.candidates_sent >= want.len() as u64 && m.feeds[0].connects >= 2
    });
    let log = server.log();
    assert_eq!(got.iter().map(|c| c.mint).collect::<HashSet<_>>(), want);
    assert_eq!(got.len(), want.len());
    let f = &m.feeds[0];
    assert_eq!((f.connects, f.reconnects), (2, 1), "{f:#?}");
    // The resume asked for two slots before the highest seen (slot of tx 49), and the server
    // replayed from there: those transactions were skipped, not decoded again.
    let highest = txs[49].slot;
    assert_eq!(log.requests[1].from_slot, Some(highest - 2));
    let replayed = txs[..50].iter().filter(|t| t.slot >= highest - 2).count() as u64;
    assert!(replayed > 0);
    assert_eq!(f.resumed_skipped, replayed, "{f:#?}");
    assert_eq!(m.tx_seen, n, "every transaction decoded exactly once");
    assert_eq!(m.duplicates_dropped, 0);
}

/// Busy-polling (`busy_poll = true`): through a stream that ends and a resume, every
/// transaction is delivered once with exact accounting; and once the stream is quiet (the
/// server's pings aside) a poll finds nothing at once and says so (`Idle`: the engine yields
/// the core and polls again), where by default it waits for the next update on the feed's
/// runtime (`Ready`, after up to 5 ms) and is never idle while connected.
#[test]
fn busy_polling_never_waits_on_the_runtime_and_delivers_every_transaction_once() {
    let (txs, mints) = generated(23, 120);
    let want: HashSet<Pubkey> = mints.iter().flatten().copied().collect();
    let n = txs.len() as u64;
    for busy in [false, true] {
        let server = GeyserTestServer::start(txs.clone(), end_after_50(), None, Duration::ZERO);
        // No stall within the test: the quiet stream stays connected.
        let cfg = GeyserConfig {
            stall_timeout: Duration::from_secs(600),
            ..cfg(None)
        };
        let feed = GeyserFeed::new(&server.url(), cfg, DecoderConfig::default()).unwrap();
        let (got, m) = common::run_counted(feed, busy, |m| {
            m.candidates_sent >= want.len() as u64 && m.feeds[0].connects >= 2
        });
        assert_eq!(
            got.iter().map(|c| c.mint).collect::<HashSet<_>>(),
            want,
            "busy {busy}"
        );
        assert_eq!(got.len(), want.len(), "busy {busy}");
        assert_eq!(m.tx_seen, n, "busy {busy}: every transaction decoded once");
        let f = &m.feeds[0];
        assert_eq!((f.connects, f.reconnects, f.stalls), (2, 1, 0), "{f:#?}");
    }
}

#[test]
fn the_servers_pings_are_answered() {
    let (txs, _) = generated(22, 4);
    let server = GeyserTestServer::start(txs, vec![Plan::default()], None, Duration::ZERO);
    let feed = GeyserFeed::new(&server.url(), cfg(None), DecoderConfig::default()).unwrap();
    let log = &server;
    let (_, m) = run(feed, |_| log.log().client_pings >= 2);
    assert!(server.log().client_pings >= 2);
    assert_eq!(m.feeds[0].stalls, 0);
}

#[test]
fn a_wrong_token_is_a_counted_refusal_and_never_connects() {
    let (txs, _) = generated(23, 4);
    let server = GeyserTestServer::start(txs, vec![Plan::default()], Some("right"), Duration::ZERO);
    let feed =
        GeyserFeed::new(&server.url(), cfg(Some("wrong")), DecoderConfig::default()).unwrap();
    let (got, m) = run(feed, |m| m.feeds[0].refusals >= 1);
    let f = &m.feeds[0];
    assert_eq!((f.refusals, f.connects), (1, 0), "{f:#?}");
    assert!(got.is_empty());
    // Refusals wait at least 5 s: no second attempt happened meanwhile.
    assert_eq!(server.log().subscribes, 1);
}

#[test]
fn a_recorded_grpc_session_replays_to_the_same_candidates() {
    let (mut txs, mints) = generated(24, 60);
    txs.push(real_create(SLOT));
    let want = mints.iter().flatten().count() + 1;
    let server = GeyserTestServer::start(txs, vec![Plan::default()], None, Duration::ZERO);
    let rec = common::temp_path("grpc.rec");
    let feed = GeyserFeed::new(&server.url(), cfg(None), DecoderConfig::default())
        .unwrap()
        .record_to(&rec)
        .unwrap();
    let (live, m1) = run(feed, |m| m.candidates_sent >= want as u64);
    drop(server);
    assert_eq!(live.len(), want);
    let cfg = ReplayConfig {
        speed: 0.0,
        ..ReplayConfig::default()
    };
    let replay = LineFeed::replay(&rec, cfg, DecoderConfig::default()).unwrap();
    let mut engine = Sniffer::builder().feed(replay).build().unwrap();
    let rx = engine.take_receiver().unwrap();
    assert!(engine.wait_feeds(Duration::from_secs(60)));
    let m2 = engine.shutdown(Duration::from_secs(5)).metrics;
    let again: Vec<_> = rx.try_iter().collect();
    common::assert_accounted(&again, &m2);
    let essence = |c: &PremintCandidate| {
        (
            c.mint,
            c.creator,
            c.slot,
            c.kind,
            c.score,
            c.priority,
            c.creator_buy_lamports,
        )
    };
    assert_eq!(
        live.iter().map(essence).collect::<Vec<_>>(),
        again.iter().map(essence).collect::<Vec<_>>()
    );
    assert_eq!((m1.tx_seen, m1.tx_malformed), (m2.tx_seen, m2.tx_malformed));
}

/// `grpcs://` to a node whose certificate only a private CA vouches for: with `tls_ca_file`
/// the real create arrives over TLS; without it every attempt fails the handshake (the webpki
/// roots do not know the CA), counted in `connect_failures`, and nothing is delivered; a file
/// with no certificate is refused when the feed is built, naming the key.
#[test]
fn grpcs_trusts_a_private_ca_from_tls_ca_file_and_nothing_else() {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (ck.cert.pem(), ck.signing_key.serialize_pem());
    let ca = common::temp_path("grpc-ca.pem");
    std::fs::write(&ca, &cert).unwrap();
    let server = GeyserTestServer::start_tls(
        vec![real_create(SLOT)],
        vec![Plan::default(), Plan::default()],
        (cert, key),
    );
    let trusting = GeyserConfig {
        ca_file: Some(ca.clone()),
        ..cfg(None)
    };
    let feed = GeyserFeed::new(&server.tls_url(), trusting, DecoderConfig::default()).unwrap();
    let (got, m) = run(feed, |m| m.candidates_sent >= 1);
    assert_eq!(got.len(), 1, "{m:#?}");
    assert_eq!(got[0].mint, MINT.parse().unwrap());
    let f = &m.feeds[0];
    assert!(f.name.starts_with("grpcs://localhost:"), "{}", f.name);
    assert_eq!((f.connects, f.connect_failures), (1, 0), "{f:#?}");

    let feed = GeyserFeed::new(&server.tls_url(), cfg(None), DecoderConfig::default()).unwrap();
    let (got, m) = run(feed, |m| m.feeds[0].connect_failures >= 2);
    assert!(got.is_empty());
    let f = &m.feeds[0];
    assert!(f.connect_failures >= 2, "{f:#?}");
    assert_eq!((f.connects, f.messages), (0, 0), "{f:#?}");
    drop(server);

    let not_pem = common::temp_path("not-a-ca.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let bad = GeyserConfig {
        ca_file: Some(not_pem),
        ..cfg(None)
    };
    let e = GeyserFeed::new("grpcs://localhost:1", bad, DecoderConfig::default()).unwrap_err();
    assert!(e.to_string().contains("tls_ca_file"), "{e}");
    assert!(e.to_string().contains("no PEM certificate"), "{e}");
}
