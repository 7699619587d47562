//! Kafka against a real Kafka-API broker on loopback (`tests/kafkabroker`: tansu) and
//! librdkafka's mock cluster (in-process brokers on loopback TCP ports, for the outage): two
//! publishers of the same launches reach a consumer engine once each (the identity key); a
//! consumer paused past `max.poll.interval.ms` keeps its group and resumes without loss or
//! duplicate; a broker outage mid-stream (the mock cluster's broker down then up: its log
//! survives, as a broker's on disk does) loses nothing and counts the retries; a real broker
//! (tansu, its log in an S3 bucket served by moto) killed with SIGKILL mid-stream and restarted
//! on the same port and storage loses nothing either; raw notification lines
//! decode like any line feed; an unreachable broker is a clear error that never shows the
//! password; the CLI's `--publish kafka://` and `--feed kafka://`. Every engine's accounting
//! and every publisher's are checked after the run. Waits are bounded and only guard against a
//! hang: outcomes are exact counts.
#![cfg(feature = "kafka")]

mod common;
mod kafkabroker;
mod samples;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use kafkabroker::{Broker, ObjectStore};
use rdkafka::mocking::MockCluster;
use sniffer::decode::{Decoded, Decoder, DecoderConfig};
use sniffer::feed::KafkaFeed;
use sniffer::net::kafka::{KafkaAuth, KafkaConfig, KafkaError, SaslMechanism};
use sniffer::publish::KafkaPublisher;
use sniffer::{
    CandidateReceiver, DropPolicy, LaunchKind, LaunchMeta, MetricsSnapshot, PremintCandidate,
    Priority, Pubkey, Signature, Sniffer, SnifferConfig,
};

/// Bound on every wait for a delivery: a hang guard, not a timing assertion.
const WITHIN: Duration = Duration::from_secs(60);

const KINDS: [LaunchKind; 4] = [
    LaunchKind::PumpCreate,
    LaunchKind::PumpCreateV2,
    LaunchKind::PumpSwapPool,
    LaunchKind::RaydiumPool,
];

fn cfg() -> SnifferConfig {
    SnifferConfig {
        pin_threads: false,
        reconnect_backoff_min: Duration::from_millis(20),
        reconnect_backoff_max: Duration::from_millis(300),
        ..SnifferConfig::default()
    }
}

/// Fast timeouts, so that the fault tests settle in seconds.
fn kcfg(c: &SnifferConfig) -> KafkaConfig {
    KafkaConfig {
        connect_timeout: Duration::from_secs(5),
        message_timeout: Duration::from_secs(2),
        session_timeout: Duration::from_secs(6),
        max_poll_interval: Duration::from_secs(6),
        commit_interval: Duration::from_millis(200),
        ..KafkaConfig::from(c)
    }
}

/// `n` distinct launches (mint and signature = tag + index), every kind and both priorities.
fn launches(tag: u8, n: usize) -> Vec<PremintCandidate> {
    (0..n)
        .map(|i| {
            let mut mint = [0u8; 32];
            mint[0] = tag;
            mint[1..9].copy_from_slice(&(i as u64).to_le_bytes());
            let mut sig = [7u8; 64];
            sig[..32].copy_from_slice(&mint);
            PremintCandidate {
                mint: Pubkey(mint),
                creator: Pubkey([tag; 32]),
                slot: 1_000 + i as u64,
                score: i as u32,
                kind: KINDS[i % 4],
                priority: if i.is_multiple_of(3) {
                    Priority::High
                } else {
                    Priority::Low
                },
                signature: Signature(sig),
                ..Default::default()
            }
        })
        .collect()
}

/// The real launches of `tests/data` (pump.fun old and v2, LaunchLab, Meteora DBC, Moonshot),
/// with their name, symbol and uri.
fn real_launches() -> Vec<Decoded> {
    let mut all = Vec::new();
    for name in [
        "pumpfun_create_v2_alt_jsonparsed_2RoRJxat",
        "launchlab_init_v2_5LzhiGZB",
        "dbc_init_spl_token_5hsqkSAZ",
        "moonshot_token_mint_ix_4C9hua8F",
    ] {
        let s = samples::launchpads::load(name);
        let json = s.forms().into_iter().find(|f| f.name == "json").unwrap();
        all.extend(s.decode(&json).unwrap());
    }
    let line = samples::logs_notification(
        samples::SIG,
        samples::SLOT,
        serde_json::Value::Null,
        &samples::create_logs(),
    );
    Decoder::default()
        .decode_line(line.as_bytes(), &mut all)
        .unwrap();
    assert_eq!(all.len(), 5, "one launch per sample");
    all
}

/// `n` real-shaped launches: the real ones in turn, each copy under an identity of its own
/// (mint and signature tagged with `tag` and the index), every other field as decoded.
fn real_shaped(tag: u8, n: usize) -> Vec<(PremintCandidate, LaunchMeta)> {
    let real = real_launches();
    (0..n)
        .map(|i| {
            let d = &real[i % real.len()];
            let mut c = d.candidate;
            c.mint.0[0] = tag;
            c.mint.0[1..9].copy_from_slice(&(i as u64).to_le_bytes());
            c.signature.0[0] = tag;
            c.signature.0[1..9].copy_from_slice(&(i as u64).to_le_bytes());
            (c, d.meta)
        })
        .collect()
}

fn consumer(url: &str, kcfg: KafkaConfig, c: SnifferConfig) -> (Sniffer, CandidateReceiver) {
    let feed = KafkaFeed::new(url, kcfg, DecoderConfig::default()).unwrap();
    let mut engine = Sniffer::builder().config(c).feed(feed).build().unwrap();
    let rx = engine.take_receiver().unwrap();
    (engine, rx)
}

/// Receives until `n` candidates arrived (or the hang guard).
fn receive(rx: &CandidateReceiver, n: usize) -> Vec<PremintCandidate> {
    let until = Instant::now() + WITHIN;
    let mut got = Vec::with_capacity(n);
    while got.len() < n && Instant::now() < until {
        if let Ok(c) = rx.recv_timeout(Duration::from_millis(20)) {
            got.push(c);
        }
    }
    got
}

/// Shuts the engine down, collects what is left, and checks the accounting.
fn finish(
    engine: Sniffer,
    rx: CandidateReceiver,
    got: &mut Vec<PremintCandidate>,
) -> MetricsSnapshot {
    let m = engine.shutdown(Duration::from_secs(10)).metrics;
    got.extend(rx.try_iter());
    common::assert_accounted(got, &m);
    m
}

/// Each launch exactly once, with its record intact (the engine's own fields aside), and in
/// publishing order per key (one key, one partition).
fn assert_each_once(got: &[PremintCandidate], sent: &[PremintCandidate]) {
    let mut seen = HashSet::new();
    for c in got {
        assert!(seen.insert(c.mint), "launch {} delivered twice", c.slot);
    }
    let want: HashSet<Pubkey> = sent.iter().map(|c| c.mint).collect();
    assert_eq!(seen, want, "delivered {} of {}", seen.len(), want.len());
    let by_mint: HashMap<Pubkey, &PremintCandidate> = sent.iter().map(|c| (c.mint, c)).collect();
    for c in got {
        let s = by_mint[&c.mint];
        assert_eq!(
            (c.creator, c.slot, c.score, c.kind, c.priority, c.signature),
            (s.creator, s.slot, s.score, s.kind, s.priority, s.signature)
        );
    }
}

/// Waits until the publisher settled everything offered (or the hang guard).
fn settle(p: &KafkaPublisher) {
    let until = Instant::now() + WITHIN;
    while p.snapshot().pending > 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let until = Instant::now() + WITHIN;
    while !ok() {
        assert!(Instant::now() < until, "waited in vain for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn two_publishers_of_the_same_launches_reach_the_consumer_once_each() {
    let broker = Broker::start();
    broker.create_topic("launches", 3);
    let c = cfg();
    let k = kcfg(&c);
    let url = broker.url("launches");
    let a = KafkaPublisher::start(&url, k.clone()).unwrap();
    let b = KafkaPublisher::start(&url, k.clone()).unwrap();
    let (engine, rx) = consumer(&format!("{url}?group=bot&offset=earliest"), k, c);

    let sent = launches(1, 600);
    let (ha, hb) = (a.handle(), b.handle());
    let (sa, sb) = (sent.clone(), sent.clone());
    let ta = std::thread::spawn(move || sa.iter().for_each(|c| ha.try_publish(c).unwrap()));
    let tb = std::thread::spawn(move || sb.iter().for_each(|c| hb.try_publish(c).unwrap()));
    ta.join().unwrap();
    tb.join().unwrap();
    settle(&a);
    settle(&b);
    for p in [a.shutdown(WITHIN), b.shutdown(WITHIN)] {
        assert!(p.accounting_holds(), "{p:?}");
        assert_eq!(
            (p.offered, p.published, p.dropped, p.failed, p.pending),
            (600, 600, 0, 0, 0),
            "{p:?}"
        );
    }

    // The topic holds both copies of every launch, under one key, in one partition: the
    // consumer reads 1200 messages and the engine's first-sighting dedup keeps one of each.
    let mut got = receive(&rx, 600);
    wait_for("the second copies", || engine.snapshot().tx_seen == 1200);
    let m = finish(engine, rx, &mut got);
    assert_each_once(&got, &sent);
    assert_eq!(
        (m.tx_seen, m.candidates_sent, m.duplicates_dropped),
        (1200, 600, 600),
        "{m:#?}"
    );
    let f = &m.feeds[0];
    assert_eq!(
        (f.messages, f.duplicates, f.rebalances),
        (1200, 600, 0),
        "{f:?}"
    );
    assert!(f.name.starts_with("kafka://127.0.0.1:"), "{f:?}");
}

#[test]
fn a_consumer_paused_past_max_poll_interval_keeps_its_group_and_resumes_without_loss() {
    let broker = Broker::start();
    broker.create_topic("launches", 2);
    // A slow bot under `block`: the lanes fill, then the ring; the gate pauses the feed.
    let c = SnifferConfig {
        drop_policy: DropPolicy::Block,
        stream_buffer_capacity: 64,
        output_lane_capacity: 64,
        batch_size: 16,
        ..cfg()
    };
    let k = kcfg(&c);
    let url = broker.url("launches");
    let publisher = KafkaPublisher::start(&url, k.clone()).unwrap();
    let sent = launches(3, 2000);
    for l in &sent {
        publisher.try_publish(l).unwrap();
    }
    settle(&publisher);
    let p = publisher.shutdown(WITHIN);
    assert_eq!((p.published, p.failed), (2000, 0), "{p:?}");

    let (engine, rx) = consumer(&format!("{url}?group=slow&offset=earliest"), k.clone(), c);
    // The bot reads nothing until the gate has paused the feed.
    wait_for("the pause", || engine.snapshot().paused);
    // Paused past the group's max.poll.interval.ms (and its session timeout): a consumer that
    // stopped polling would be evicted and its partitions revoked.
    std::thread::sleep(k.max_poll_interval + Duration::from_secs(2));
    let paused = engine.snapshot();
    assert!(paused.paused, "{paused:#?}");
    assert!(
        paused.tx_seen < 2000,
        "paused means not reading: {paused:#?}"
    );
    assert_eq!(paused.feeds[0].rebalances, 0, "{:?}", paused.feeds[0]);

    let mut got = receive(&rx, 2000);
    std::thread::sleep(Duration::from_millis(300)); // a late extra copy would show now
    let m = finish(engine, rx, &mut got);
    assert_each_once(&got, &sent);
    assert_eq!(
        (
            m.tx_seen,
            m.candidates_sent,
            m.duplicates_dropped,
            m.dropped_total()
        ),
        (2000, 2000, 0, 0),
        "{m:#?}"
    );
    assert!(m.pause_count >= 1, "{m:#?}");
    // The group kept this member through the pause: no revocation, no second assignment.
    let f = &m.feeds[0];
    assert_eq!((f.rebalances, f.connects), (0, 1), "{f:?}");
}

#[test]
fn a_broker_outage_mid_stream_loses_nothing_and_counts_the_retries() {
    // The mock cluster keeps its log while its broker is down, as a broker with disks does.
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("launches", 3, 1).unwrap();
    let c = cfg();
    let k = kcfg(&c);
    let url = format!("kafka://{}/launches", mock.bootstrap_servers());
    let publisher = KafkaPublisher::start(&url, k.clone()).unwrap();
    let (engine, rx) = consumer(&format!("{url}?group=bot&offset=earliest"), k, c);

    let sent = launches(4, 1500);
    let (before, rest) = sent.split_at(500);
    let (during, after) = rest.split_at(500);
    before
        .iter()
        .for_each(|l| publisher.try_publish(l).unwrap());
    let mut got = receive(&rx, 100);
    mock.broker_down(1).unwrap();
    during
        .iter()
        .for_each(|l| publisher.try_publish(l).unwrap());
    // Nothing can be delivered while the broker is down: librdkafka's own retries run out
    // (message_timeout) and the publisher sends those messages again.
    wait_for("a re-send", || publisher.snapshot().retries > 0);
    mock.broker_up(1).unwrap();
    after.iter().for_each(|l| publisher.try_publish(l).unwrap());
    settle(&publisher);
    let p = publisher.shutdown(WITHIN);
    eprintln!("outage: publisher {p:?}");
    assert!(p.accounting_holds(), "{p:?}");
    assert_eq!(
        (p.offered, p.published, p.dropped, p.failed),
        (1500, 1500, 0, 0),
        "{p:?}"
    );
    assert!(p.retries > 0, "{p:?}");

    let left = sent.len() - got.len();
    got.extend(receive(&rx, left));
    std::thread::sleep(Duration::from_millis(300));
    let m = finish(engine, rx, &mut got);
    eprintln!("outage: feed {:?}", m.feeds[0]);
    assert_each_once(&got, &sent);
    // A re-send of a message whose first attempt did land is a second copy in the log: the
    // dedup dropped it.
    assert_eq!(m.candidates_sent, 1500, "{m:#?}");
    assert_eq!(m.tx_seen, 1500 + m.duplicates_dropped, "{m:#?}");
    assert_eq!(m.dropped_total(), 0, "{m:#?}");
}

#[test]
fn a_broker_killed_and_restarted_mid_stream_loses_nothing_and_counts_the_retries() {
    // A real broker process whose log outlives it (an S3 bucket), SIGKILLed mid-stream and
    // started again on the same port and storage.
    let store = ObjectStore::start("tansu");
    let mut broker = Broker::start_on(&store);
    broker.create_topic("launches", 3);
    let c = cfg();
    let k = kcfg(&c);
    let url = broker.url("launches");
    let publisher = KafkaPublisher::start(&url, k.clone()).unwrap();
    let (engine, rx) = consumer(&format!("{url}?group=bot&offset=earliest"), k, c);

    let sent = real_shaped(9, 600);
    let (before, rest) = sent.split_at(200);
    let (during, after) = rest.split_at(200);
    let publish = |part: &[(PremintCandidate, LaunchMeta)]| {
        for (l, meta) in part {
            publisher
                .handle()
                .try_publish_with_meta(l, Some(meta))
                .unwrap();
        }
    };
    publish(before);
    // The group is formed and has read (and committed) part of the stream.
    let mut got = receive(&rx, 50);
    assert_eq!(got.len(), 50);
    broker.kill_9();
    publish(during);
    // Nothing is acknowledged while the broker is dead: librdkafka's own retries run out
    // (message_timeout) and the publisher sends those messages again, counted.
    wait_for("a re-send", || publisher.snapshot().retries > 0);
    broker.restart();
    publish(after);
    settle(&publisher);
    let p = publisher.shutdown(WITHIN);
    eprintln!("kill -9: publisher {p:?}");
    assert!(p.accounting_holds(), "{p:?}");
    assert_eq!(
        (p.offered, p.published, p.dropped, p.failed, p.pending),
        (600, 600, 0, 0, 0),
        "{p:?}"
    );
    assert!(p.retries > 0, "{p:?}");

    got.extend(receive(&rx, sent.len() - got.len()));
    std::thread::sleep(Duration::from_millis(300)); // a late extra copy would show now
    let metas: Vec<Option<LaunchMeta>> = got.iter().map(|c| rx.launch_meta(c)).collect();
    let m = finish(engine, rx, &mut got);
    eprintln!("kill -9: feed {:?}", m.feeds[0]);
    let launches: Vec<PremintCandidate> = sent.iter().map(|(l, _)| *l).collect();
    assert_each_once(&got, &launches);
    let by_mint: HashMap<Pubkey, &LaunchMeta> = sent.iter().map(|(l, m)| (l.mint, m)).collect();
    for (c, meta) in got.iter().zip(&metas) {
        assert_eq!(meta.as_ref(), Some(by_mint[&c.mint]), "launch {}", c.slot);
    }
    // A re-send of a message whose first attempt did land (its acknowledgement died with the
    // broker), and a message read again after the restart past the last committed offset,
    // are second copies: the identity dedup drops them, counted.
    assert_eq!(m.candidates_sent, 600, "{m:#?}");
    assert_eq!(m.tx_seen, 600 + m.duplicates_dropped, "{m:#?}");
    assert_eq!(m.feeds[0].duplicates, m.duplicates_dropped, "{m:#?}");
    assert_eq!(m.dropped_total(), 0, "{m:#?}");
    // The consumer lost its broker once and found it again.
    let f = &m.feeds[0];
    assert_eq!((f.connects, f.reconnects), (2, 1), "{f:?}");
    // The log is in the bucket, not in the broker.
    assert!(
        store.keys().iter().any(|k| k.contains("/topics/launches/")),
        "{:?}",
        store.keys()
    );
}

#[test]
fn notification_lines_decode_like_any_line_feed() {
    let broker = Broker::start();
    broker.create_topic("lines", 1);
    let c = cfg();
    let k = kcfg(&c);
    // Real mainnet samples (tests/data/SOURCES.md) in their feeds' envelopes, one per message:
    // a create's logs, a block with a buy (no launch), the create as a getTransaction result;
    // then a bad line.
    let lines = vec![
        samples::logs_notification(
            samples::SIG,
            samples::SLOT,
            serde_json::Value::Null,
            &samples::create_logs(),
        ),
        samples::block_notification_buy(),
        samples::get_transaction_json_v0(),
        "{not json".to_owned(),
    ];
    // The logs and the getTransaction result are one launch: the second is a duplicate.
    let mut expected = Vec::new();
    let mut dec = sniffer::decode::Decoder::default();
    let _ = dec.decode_line(lines[0].as_bytes(), &mut expected);
    assert_eq!(expected.len(), 1, "the create holds one launch");
    let producer: rdkafka::producer::BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .unwrap();
    for l in &lines {
        producer
            .send(rdkafka::producer::BaseRecord::<(), _>::to("lines").payload(l.as_bytes()))
            .unwrap();
    }
    rdkafka::producer::Producer::flush(&producer, Duration::from_secs(10)).unwrap();

    let url = format!(
        "{}?group=g&format=lines&offset=earliest",
        broker.url("lines")
    );
    let (engine, rx) = consumer(&url, k, c);
    let mut got = receive(&rx, expected.len());
    wait_for("every line", || engine.snapshot().tx_seen == 4);
    let m = finish(engine, rx, &mut got);
    let mints = |v: &mut Vec<Pubkey>| {
        v.sort();
        v.clone()
    };
    assert_eq!(
        mints(&mut got.iter().map(|c| c.mint).collect()),
        mints(&mut expected.iter().map(|d| d.candidate.mint).collect())
    );
    assert_eq!(
        (m.tx_malformed, m.candidates_sent, m.duplicates_dropped),
        (1, 1, 1),
        "{m:#?}"
    );
}

#[test]
fn an_unreachable_broker_is_a_clear_error_that_never_shows_the_password() {
    let port = kafkabroker::free_port();
    let k = KafkaConfig {
        connect_timeout: Duration::from_millis(500),
        auth: KafkaAuth::Sasl {
            mechanism: SaslMechanism::Plain,
            user: "alice".into(),
            password: "hunter2".into(),
        },
        ..KafkaConfig::default()
    };
    let url = format!("kafka://127.0.0.1:{port}/launches");
    let e = KafkaPublisher::start(&url, k.clone()).unwrap_err();
    assert!(matches!(e, KafkaError::Connect(_)), "{e:?}");
    let e2 = KafkaFeed::new(
        &format!("{url}?group=g"),
        k.clone(),
        DecoderConfig::default(),
    )
    .unwrap_err();
    assert!(matches!(e2, KafkaError::Connect(_)), "{e2:?}");
    let shown = format!("{e} {e:?} {e2} {e2:?} {k:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains(&format!("127.0.0.1:{port}")), "{shown}");

    // With connect_retry the publisher starts and waits; what it could not deliver by the
    // shutdown deadline is counted.
    let p = KafkaPublisher::start(
        &url,
        KafkaConfig {
            connect_retry: true,
            auth: KafkaAuth::None,
            ..k
        },
    )
    .unwrap();
    for l in &launches(6, 10) {
        p.try_publish(l).unwrap();
    }
    let s = p.shutdown(Duration::from_millis(300));
    assert!(s.accounting_holds(), "{s:?}");
    assert_eq!(
        (s.offered, s.published, s.failed, s.pending),
        (10, 0, 10, 0),
        "{s:?}"
    );
}

/// Starts `sniffer run ...` with periodic metrics, waits until `done` holds for them, then
/// stops it with SIGTERM; returns the final metrics.
fn run_until(args: &[&str], done: impl Fn(&MetricsSnapshot) -> bool) -> MetricsSnapshot {
    let json = common::temp_path("kafka-cli.json");
    let mut child = common::sniffer_cmd()
        .arg("run")
        .args(args)
        .args(["--metrics-interval", "100ms", "--metrics-json"])
        .arg(&json)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let read =
        || -> Option<MetricsSnapshot> { serde_json::from_slice(&std::fs::read(&json).ok()?).ok() };
    let until = Instant::now() + WITHIN;
    while !read().is_some_and(|m| done(&m)) && Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    common::assert_ok(&out);
    read().expect("the final metrics")
}

#[test]
fn cli_publishes_to_kafka_and_consumes_from_it() {
    let broker = Broker::start();
    broker.create_topic("launches", 2);
    let url = broker.url("launches");
    let out = common::sniffer_cmd()
        .args([
            "run",
            "--feed",
            "synthetic",
            "--rate",
            "2000",
            "--duration",
            "1s",
        ])
        .args(["--publish", &url, "--metrics-json"])
        .arg(common::temp_path("kafka-pub.json"))
        .output()
        .unwrap();
    common::assert_ok(&out);
    let m: MetricsSnapshot =
        serde_json::from_slice(&std::fs::read(common::temp_path("kafka-pub.json")).unwrap())
            .unwrap();
    assert!(m.candidates_sent > 0);
    assert_eq!(
        (
            m.publish_offered,
            m.published,
            m.publish_dropped,
            m.publish_failed,
            m.publish_pending
        ),
        (m.candidates_sent, m.candidates_sent, 0, 0, 0)
    );

    // Another process consumes the topic: every launch, once.
    let feed = format!("{url}?group=cli&offset=earliest");
    let m2 = run_until(&["--feed", &feed], |s| s.candidates_sent >= m.published);
    assert_eq!(m2.candidates_sent, m.published, "{m2:#?}");
    assert!(m2.accounting_holds(), "{m2:#?}");
    assert!(
        m2.feeds[0].name.starts_with("kafka://127.0.0.1:"),
        "{:?}",
        m2.feeds[0]
    );

    // Bad usage (2) names the problem; credentials in the URL are refused without echo.
    for (args, needle) in [
        (vec!["--feed", url.as_str()], "group=NAME"),
        (
            vec!["--publish", "kafka://u:hunter2@127.0.0.1/t"],
            "credentials",
        ),
        (
            vec!["--feed", "kafka://127.0.0.1/t?group=g&formt=lines"],
            "unknown parameter",
        ),
    ] {
        let out = common::sniffer_cmd()
            .arg("run")
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle) && !err.contains("hunter2"), "{err}");
    }
    // Nobody listening: a runtime failure (1); the SASL password shows nowhere, even at trace.
    let free = kafkabroker::free_port();
    let out = common::sniffer_cmd()
        .args(["run", "--publish", &format!("kafka://127.0.0.1:{free}/t")])
        .env("SNIFFER_KAFKA_USER", "alice")
        .env("SNIFFER_KAFKA_PASSWORD", "hunter2")
        .env("SNIFFER_LOG", "trace")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no broker answered") && !err.contains("hunter2"),
        "{err}"
    );
}
