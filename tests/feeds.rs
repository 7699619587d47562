//! The line feeds end to end through the engine: record then replay gives identical candidates,
//! malformed lines counted by reason (a 10 MB line included) while valid lines still decode,
//! multi-feed dedup with exact duplicate counts and win shares, the reader-thread (stdin) feed,
//! and the payload generator's exact per-reason counts. Every run checks the accounting
//! invariant with nothing in flight. Pacing is tested with a manual clock in the unit tests of
//! `src/feed/replay.rs` and `src/feed/payload.rs` (no wall-clock pass/fail here).

mod samples;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use samples::*;
use serde_json::{json, Value};
use sniffer::{
    decode::{DecoderConfig, Malformed},
    feed::{
        Expected, Feed, LineFeed, PayloadConfig, PayloadGenerator, PayloadMix, ReaderSource,
        ReplayConfig,
    },
    DropPolicy, MetricsSnapshot, PremintCandidate, Sniffer, SnifferConfig,
};

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sniffer-feeds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn flat() -> ReplayConfig {
    ReplayConfig {
        speed: 0.0,
        ..ReplayConfig::default()
    }
}

/// The invariant with nothing in flight, received == sent, no sequence number twice, and FIFO
/// per feed and priority (sequence numbers increase in receive order: a feed pushes in order).
fn assert_delivery(received: &[PremintCandidate], m: &MetricsSnapshot) {
    assert!(m.accounting_holds(), "accounting invariant broken: {m:#?}");
    assert_eq!(m.in_flight, 0, "{m:#?}");
    assert_eq!(received.len() as u64, m.candidates_sent, "{m:#?}");
    let mut seqs = HashSet::new();
    let mut last = HashMap::new();
    for c in received {
        assert!(seqs.insert(c.seq), "sequence {} delivered twice", c.seq);
        if let Some(prev) = last.insert((c.feed_id, c.priority), c.seq) {
            assert!(
                prev < c.seq,
                "feed {} {:?}: out of order",
                c.feed_id,
                c.priority
            );
        }
    }
}

/// Runs the engine (policy `block`: nothing dropped) on `feeds` until they finish; returns what
/// the consumer received, in engine order, and the final metrics, after checking the invariant.
fn run(feeds: Vec<Box<dyn Feed>>) -> (Vec<PremintCandidate>, MetricsSnapshot) {
    let cfg = SnifferConfig {
        drop_policy: DropPolicy::Block,
        ..SnifferConfig::default()
    };
    let builder = Sniffer::builder().config(cfg);
    let mut engine = feeds
        .into_iter()
        .fold(builder, |b, f| b.boxed_feed(f))
        .build()
        .unwrap();
    let rx = engine.take_receiver().unwrap();
    let consumer = std::thread::spawn(move || rx.iter().collect::<Vec<_>>());
    assert!(engine.wait_feeds(Duration::from_secs(60)));
    let report = engine.shutdown(Duration::from_secs(10));
    let mut got = consumer.join().unwrap();
    let m = report.metrics;
    assert_delivery(&got, &m);
    assert_eq!(m.in_flight, 0);
    assert_eq!(
        m.tx_malformed,
        m.tx_malformed_by_reason.values().sum::<u64>(),
        "{m:#?}"
    );
    got.sort_by_key(|c| c.seq);
    (got, m)
}

/// Sample-built lines: 5 launches, 1 launch-free block. The five are two (mint, signature)
/// pairs (the logs, jsonParsed and json v0 lines are one transaction; the two pool samples share
/// theirs), so one feed delivers 2 and counts 3 as duplicates of its own earlier sightings.
fn sample_lines() -> Vec<String> {
    let pool_meta = json!({"err": null, "logMessages": [],
        "loadedAddresses": {"writable": [POOL_MINT], "readonly": []}});
    vec![
        logs_notification(SIG, SLOT, Value::Null, &create_logs()),
        get_transaction_parsed(Value::Null),
        block_notification_buy(),
        get_transaction_json_v0(),
        block_notification(&[(pump_swap_pool_wire(), pool_meta)]),
        block_notification(&[(raydium_pool_wire(), json!({"err": null}))]),
    ]
}

/// Real-format generated lines; returns (lines, launches expected, malformed by reason).
fn payload_lines(
    seed: u64,
    n: usize,
    malformed_pct: f64,
) -> (Vec<Vec<u8>>, u64, BTreeMap<&'static str, u64>) {
    let mut g = PayloadGenerator::new(seed, PayloadMix::default(), malformed_pct);
    let (mut lines, mut launches, mut bad) = (Vec::new(), 0, BTreeMap::new());
    for _ in 0..n {
        let mut l = Vec::new();
        match g.next_line(&mut l) {
            Expected::Launch { .. } => launches += 1,
            Expected::Nothing => {}
            Expected::Malformed(m) => *bad.entry(m.as_str()).or_insert(0) += 1,
        }
        lines.push(l);
    }
    (lines, launches, bad)
}

fn write_lines(path: &Path, lines: &[Vec<u8>]) {
    let mut body = Vec::new();
    for l in lines {
        body.extend_from_slice(l);
        body.push(b'\n');
    }
    std::fs::write(path, body).unwrap();
}

/// What must be identical between two runs (engine stamps aside).
fn essence(c: &PremintCandidate) -> impl PartialEq + std::fmt::Debug {
    (
        c.mint,
        c.creator,
        c.slot,
        c.kind,
        c.score,
        c.priority,
        c.creator_buy_lamports,
    )
}

fn nonzero(m: &MetricsSnapshot) -> BTreeMap<&str, u64> {
    m.tx_malformed_by_reason
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| (k.as_str(), *n))
        .collect()
}

#[test]
fn recording_a_feed_and_replaying_it_gives_identical_candidates() {
    let (mut lines, launches, bad) = payload_lines(11, 3000, 8.0);
    lines.extend(sample_lines().into_iter().map(String::into_bytes));
    let plain = temp_path("rec-input.jsonl");
    write_lines(&plain, &lines);
    let rec = temp_path("rec-output.rec");

    let feed = LineFeed::replay(&plain, flat(), DecoderConfig::default())
        .unwrap()
        .record_to(&rec)
        .unwrap();
    let (first, m1) = run(vec![Box::new(feed)]);
    assert_eq!(m1.tx_seen, lines.len() as u64);
    assert_eq!(m1.candidates_sent, launches + 2);
    assert_eq!(m1.duplicates_dropped, 3);
    assert_eq!(nonzero(&m1), bad);

    // The recording is detected as one and replays the same lines: at speed 0 (flat out) and at
    // a high speed factor (recorded pace / 1000) alike.
    for speed in [0.0, 1000.0] {
        let cfg = ReplayConfig {
            speed,
            ..ReplayConfig::default()
        };
        let feed = LineFeed::replay(&rec, cfg, DecoderConfig::default()).unwrap();
        let (again, m2) = run(vec![Box::new(feed)]);
        assert_eq!(
            first.iter().map(essence).collect::<Vec<_>>(),
            again.iter().map(essence).collect::<Vec<_>>()
        );
        assert_eq!(
            (m1.tx_seen, m1.tx_malformed, &m1.tx_malformed_by_reason),
            (m2.tx_seen, m2.tx_malformed, &m2.tx_malformed_by_reason)
        );
    }
    let text = std::fs::read(&rec).unwrap();
    assert!(text.starts_with(b"#sniffer-record v1\n"));
}

#[test]
fn malformed_lines_are_counted_by_reason_and_valid_lines_still_decode() {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for (i, l) in sample_lines().into_iter().enumerate() {
        lines.push(l.into_bytes());
        match i {
            0 => lines.push(b"{\"jsonrpc\":\"2.0\",\"method\":\"logsNo".to_vec()),
            1 => lines.push(vec![0xff, 0xfe, b'{', 0x80]),
            2 => lines.push(vec![b'x'; 10 * 1024 * 1024]), // 10 MB: skipped, never buffered
            3 => lines.push(b"   \t ".to_vec()),
            4 => lines.push(b"{\"a\":1} trailing".to_vec()),
            _ => lines.push(b"[1,2,3]".to_vec()),
        }
    }
    // A signature that is not base58.
    lines.push(logs_notification(&"0".repeat(88), SLOT, Value::Null, &create_logs()).into_bytes());
    let path = temp_path("malformed.jsonl");
    write_lines(&path, &lines);
    let feed = LineFeed::replay(&path, flat(), DecoderConfig::default()).unwrap();
    let (got, m) = run(vec![Box::new(feed)]);
    assert_eq!(m.tx_seen, 13);
    // All five valid launches decoded: two delivered, three seen again (same feed, same launch).
    assert_eq!((m.candidates_sent, m.duplicates_dropped), (2, 3));
    assert_eq!(got[0].mint, MINT.parse().unwrap());
    let want: BTreeMap<&str, u64> = [
        ("truncated_json", 1),
        ("not_utf8", 1),
        ("too_long", 1),
        ("empty", 1),
        ("json_syntax", 1),
        ("wrong_shape", 1),
        ("invalid_base58", 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(nonzero(&m), want, "{m:#?}");
    assert_eq!(m.tx_malformed, 7);
    assert_eq!(m.tx_malformed_by_reason.len(), Malformed::ALL.len());
}

#[test]
fn two_feeds_first_sighting_wins_with_exact_counts() {
    let (lines, launches, _) = payload_lines(5, 4000, 0.0);
    let path = temp_path("dedup.jsonl");
    write_lines(&path, &lines);
    let feed = || {
        Box::new(LineFeed::replay(&path, flat(), DecoderConfig::default()).unwrap())
            as Box<dyn Feed>
    };
    let (got, m) = run(vec![feed(), feed()]);
    assert_eq!(m.candidates_sent, launches);
    assert_eq!(m.duplicates_dropped, launches);
    assert_eq!((m.dedup_untracked, m.dedup_evicted_fresh), (0, 0));
    assert_eq!(m.tx_seen, 2 * lines.len() as u64);
    let mints: HashSet<_> = got.iter().map(|c| c.mint).collect();
    assert_eq!(mints.len() as u64, launches);
    let [a, b] = &m.feeds[..] else {
        panic!("{:?}", m.feeds)
    };
    assert_eq!(a.wins + b.wins, launches);
    // Every launch won by one feed arrives once more on the other.
    assert_eq!((a.duplicates, b.duplicates), (b.wins, a.wins));
    assert_eq!((a.lead_ns.count, b.lead_ns.count), (a.wins, b.wins));
    assert!((a.win_share + b.win_share - 1.0).abs() < 1e-9);
    assert_eq!(a.win_share, a.wins as f64 / launches as f64);
    assert!(a.lead_ns.max >= a.lead_ns.mean);
    // The delivered candidate carries the winner's feed id.
    let from_a = got.iter().filter(|c| c.feed_id == 0).count() as u64;
    assert_eq!(from_a, a.wins);
}

#[test]
fn dedup_can_be_turned_off() {
    let (lines, launches, _) = payload_lines(6, 500, 0.0);
    let path = temp_path("nodedup.jsonl");
    write_lines(&path, &lines);
    let feed = || LineFeed::replay(&path, flat(), DecoderConfig::default()).unwrap();
    let cfg = SnifferConfig {
        drop_policy: DropPolicy::Block,
        ..SnifferConfig::default()
    };
    let mut engine = Sniffer::builder()
        .config(cfg)
        .feed(feed())
        .feed(feed())
        .dedup(false)
        .build()
        .unwrap();
    let rx = engine.take_receiver().unwrap();
    let consumer = std::thread::spawn(move || rx.iter().collect::<Vec<_>>());
    assert!(engine.wait_feeds(Duration::from_secs(60)));
    let m = engine.shutdown(Duration::from_secs(10)).metrics;
    let got = consumer.join().unwrap();
    assert_delivery(&got, &m);
    assert_eq!(m.candidates_sent, 2 * launches);
    assert_eq!(m.duplicates_dropped, 0);
    assert!(
        m.feeds.iter().all(|f| f.wins == 0 && f.duplicates == 0),
        "{:?}",
        m.feeds
    );
}

#[test]
fn reader_thread_feed_reads_a_stream_to_its_end() {
    let mut body = Vec::new();
    for l in sample_lines() {
        body.extend_from_slice(l.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"not json\n");
    // More lines than the buffer pool, so the reader thread has to wait for buffers back.
    let (lines, launches, _) = payload_lines(9, 3 * 64, 0.0);
    for l in &lines {
        body.extend_from_slice(l);
        body.push(b'\n');
    }
    let src = ReaderSource::spawn("test-pipe", std::io::Cursor::new(body), 1 << 20).unwrap();
    let feed = LineFeed::new(src, DecoderConfig::default());
    let (got, m) = run(vec![Box::new(feed)]);
    assert_eq!(m.tx_seen, 7 + lines.len() as u64);
    assert_eq!(m.candidates_sent, 2 + launches);
    assert_eq!(m.duplicates_dropped, 3);
    assert_eq!(got.len() as u64, 2 + launches);
    assert_eq!(nonzero(&m), [("json_syntax", 1)].into_iter().collect());
}

#[test]
fn payload_feed_counts_match_the_generator_exactly() {
    let (lines, launches, bad) = payload_lines(77, 5000, 12.5);
    let cfg = PayloadConfig {
        seed: 77,
        rate: 0,
        duration: Duration::from_secs(600),
        max_lines: Some(lines.len() as u64),
        malformed_pct: 12.5,
        ..PayloadConfig::default()
    };
    let (_, m) = run(vec![Box::new(LineFeed::payloads(
        cfg,
        DecoderConfig::default(),
    ))]);
    assert_eq!(m.tx_seen, 5000);
    assert_eq!(m.candidates_sent, launches);
    assert_eq!(nonzero(&m), bad);
}
