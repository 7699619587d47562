//! NATS against real `nats-server` processes on loopback (`tests/natsserver`): two publishers
//! of the same launches store each once and a subscriber engine receives each once, in order
//! per subject; `kill -9` of the server mid-stream then a restart loses and duplicates nothing;
//! a paused consumer resumes without loss; a full stream is counted; an unreachable server is a
//! clear error (or waited for); credentials never show; a three-node cluster keeps publishing
//! and consuming with one node stopped; the CLI's `--publish` and `--feed nats://`. Every
//! engine's accounting is checked after its shutdown. Waits are bounded and only guard against
//! a hang: outcomes are exact counts.
#![cfg(feature = "nats")]

mod common;
mod natsserver;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use natsserver::{Cluster, NatsServer};
use sniffer::feed::{CoreNatsFeed, JetStreamFeed};
use sniffer::net::nats::{NatsAuth, NatsConfig, NatsError};
use sniffer::publish::{Publisher, TryPublishError};
use sniffer::{
    config::NatsDiscard, feed::Feed, CandidateReceiver, DropPolicy, LaunchKind, MetricsSnapshot,
    PremintCandidate, Priority, Pubkey, Sniffer, SnifferConfig,
};

/// Bound on every wait for a delivery: a hang guard, not a timing assertion.
const WITHIN: Duration = Duration::from_secs(30);

const KINDS: [LaunchKind; 4] = [
    LaunchKind::PumpCreate,
    LaunchKind::PumpCreateV2,
    LaunchKind::PumpSwapPool,
    LaunchKind::RaydiumPool,
];

/// Fast timeouts and reconnects, so that the fault tests settle in seconds.
fn cfg() -> SnifferConfig {
    SnifferConfig {
        pin_threads: false,
        nats_ack_timeout: Duration::from_millis(1000),
        nats_ack_wait: Duration::from_millis(1000),
        nats_connect_timeout: Duration::from_millis(1000),
        reconnect_backoff_min: Duration::from_millis(20),
        reconnect_backoff_max: Duration::from_millis(300),
        ..SnifferConfig::default()
    }
}

/// `n` distinct launches (mint = tag + index), every kind and both priorities, slots rising.
fn launches(tag: u8, n: usize) -> Vec<PremintCandidate> {
    (0..n)
        .map(|i| {
            let mut mint = [0u8; 32];
            mint[0] = tag;
            mint[1..9].copy_from_slice(&(i as u64).to_le_bytes());
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
                ..Default::default()
            }
        })
        .collect()
}

fn engine_on(feed: impl Feed, cfg: SnifferConfig) -> (Sniffer, CandidateReceiver) {
    let mut engine = Sniffer::builder().config(cfg).feed(feed).build().unwrap();
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
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    got.extend(rx.try_iter());
    common::assert_accounted(got, &m);
    m
}

/// Each launch exactly once, and per subject (kind, priority) in publishing order.
fn assert_each_once_in_order(got: &[PremintCandidate], sent: &[PremintCandidate]) {
    let mut seen = HashSet::new();
    for c in got {
        assert!(seen.insert(c.mint), "launch {} delivered twice", c.slot);
    }
    let want: HashSet<Pubkey> = sent.iter().map(|c| c.mint).collect();
    assert_eq!(seen, want, "delivered {} of {}", seen.len(), want.len());
    let mut last: HashMap<(LaunchKind, Priority), u64> = HashMap::new();
    for c in got {
        if let Some(prev) = last.insert((c.kind, c.priority), c.slot) {
            assert!(
                prev < c.slot,
                "{:?} {:?}: {} after {prev}",
                c.kind,
                c.priority,
                c.slot
            );
        }
    }
    // The record came through intact (the engine's own fields aside).
    let by_mint: HashMap<Pubkey, &PremintCandidate> = sent.iter().map(|c| (c.mint, c)).collect();
    for c in got {
        let s = by_mint[&c.mint];
        assert_eq!(
            (c.creator, c.slot, c.score, c.kind, c.priority),
            (s.creator, s.slot, s.score, s.kind, s.priority)
        );
    }
}

/// Messages the stream holds, asked with the client directly.
fn stream_messages(url: &str, stream: &str) -> u64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = url.to_owned();
    let stream = stream.to_owned();
    rt.block_on(async move {
        let client = async_nats::connect(url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut s = js.get_stream(&stream).await.unwrap();
        s.info().await.unwrap().state.messages
    })
}

/// Messages the stream holds, or 0 while it does not exist yet.
fn stream_messages_or_0(url: &str, stream: &str) -> u64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (url, stream) = (url.to_owned(), stream.to_owned());
    rt.block_on(async move {
        let client = async_nats::connect(url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        match js.get_stream(&stream).await {
            Ok(mut s) => s.info().await.map_or(0, |i| i.state.messages),
            Err(_) => 0,
        }
    })
}

/// The name of the server leading the stream's RAFT group (`n0`, `n1`, `n2`).
fn stream_leader(url: &str, stream: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = url.to_owned();
    let stream = stream.to_owned();
    rt.block_on(async move {
        let client = async_nats::connect(url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut s = js.get_stream(&stream).await.unwrap();
        let info = s.info().await.unwrap();
        info.cluster
            .clone()
            .and_then(|c| c.leader)
            .expect("a replicated stream has a leader")
    })
}

/// Waits until the publisher settled everything offered (or the hang guard).
fn settle(p: &Publisher) {
    let until = Instant::now() + WITHIN;
    while p.snapshot().pending > 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn two_publishers_store_each_launch_once_and_engines_receive_each_once_in_order() {
    let server = NatsServer::start();
    let c = cfg();
    let ncfg = NatsConfig::from(&c);
    // Publishers first: they create the stream. Then the subscribers, before anything is sent.
    let a = Publisher::start(&server.url(), ncfg.clone()).unwrap();
    let b = Publisher::start(&server.url(), ncfg.clone()).unwrap();
    let js = JetStreamFeed::new(
        &format!("{}/SNIFFER?durable=bot", server.url()),
        ncfg.clone(),
    )
    .unwrap();
    let core = CoreNatsFeed::new(&format!("nats+core://127.0.0.1:{}", server.port), ncfg).unwrap();
    let (js_engine, js_rx) = engine_on(js, c.clone());
    let (core_engine, core_rx) = engine_on(core, c);

    let sent = launches(1, 600);
    let (ha, hb) = (a.handle(), b.handle());
    let (sa, sb) = (sent.clone(), sent.clone());
    let ta = std::thread::spawn(move || sa.iter().for_each(|c| ha.try_publish(c).unwrap()));
    let tb = std::thread::spawn(move || sb.iter().for_each(|c| hb.try_publish(c).unwrap()));
    ta.join().unwrap();
    tb.join().unwrap();
    settle(&a);
    settle(&b);
    let (pa, pb) = (a.shutdown(WITHIN), b.shutdown(WITHIN));
    for p in [&pa, &pb] {
        assert!(p.accounting_holds(), "{p:?}");
        assert_eq!(
            (p.offered, p.published, p.dropped, p.failed),
            (600, 600, 0, 0),
            "{p:?}"
        );
    }
    // Every launch reached the stream twice and was stored once: the other copy was
    // acknowledged as a duplicate of its Nats-Msg-Id.
    assert_eq!(pa.duplicates + pb.duplicates, 600, "{pa:?} {pb:?}");
    assert_eq!(stream_messages(&server.url(), "SNIFFER"), 600);

    // The JetStream consumer gets the stream: each launch once.
    let mut got = receive(&js_rx, 600);
    std::thread::sleep(Duration::from_millis(200)); // a late extra copy would show now
    let m = finish(js_engine, js_rx, &mut got);
    assert_each_once_in_order(&got, &sent);
    assert_eq!((m.candidates_sent, m.dropped_total()), (600, 0));

    // Core NATS has no de-duplication: the subscriber saw both copies, and the engine's
    // first-sighting dedup delivered each launch once.
    let mut got = receive(&core_rx, 600);
    std::thread::sleep(Duration::from_millis(200));
    let m = finish(core_engine, core_rx, &mut got);
    assert_each_once_in_order(&got, &sent);
    assert_eq!(m.tx_seen, 1200);
    assert_eq!((m.candidates_sent, m.duplicates_dropped), (600, 600));
}

#[test]
fn kill_9_mid_stream_then_restart_loses_nothing_and_stores_nothing_twice() {
    let mut server = NatsServer::start();
    let c = cfg();
    let ncfg = NatsConfig::from(&c);
    let publisher = Publisher::start(&server.url(), ncfg.clone()).unwrap();
    let feed = JetStreamFeed::new(&format!("{}/SNIFFER?durable=bot", server.url()), ncfg).unwrap();
    let (engine, rx) = engine_on(feed, c);

    let sent = launches(2, 1500);
    let mut got = Vec::new();
    for (i, l) in sent.iter().enumerate() {
        publisher.try_publish(l).unwrap();
        if i == 500 {
            // Mid-stream: some published and consumed, some in flight, the rest to come.
            got.extend(receive(&rx, 100));
            server.kill_9();
            std::thread::sleep(Duration::from_millis(300));
            server.restart();
        }
        if i % 10 == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let left = sent.len() - got.len();
    got.extend(receive(&rx, left));
    settle(&publisher);
    let p = publisher.shutdown(WITHIN);
    eprintln!("kill -9: publisher {p:?}");
    assert!(p.accounting_holds(), "{p:?}");
    assert_eq!(
        (p.offered, p.published, p.dropped, p.failed),
        (1500, 1500, 0, 0),
        "{p:?}"
    );
    // Re-sent after the crash, and stored once all the same.
    assert_eq!(stream_messages(&server.url(), "SNIFFER"), 1500, "{p:?}");

    std::thread::sleep(Duration::from_millis(200));
    let m = finish(engine, rx, &mut got);
    assert_each_once_in_order_of_a_resumed_stream(&got, &sent);
    eprintln!("kill -9: feed {:?}", m.feeds[0]);
    assert_eq!((m.candidates_sent, m.dropped_total()), (1500, 0), "{m:#?}");
    let f = &m.feeds[0];
    assert!(f.reconnects >= 1, "{f:?}");
}

/// Each launch once. Order: publishes re-sent after the crash may land after later ones,
/// so only the launches stored before the crash and those published after the restart keep
/// their relative order; delivery itself follows the stream.
fn assert_each_once_in_order_of_a_resumed_stream(
    got: &[PremintCandidate],
    sent: &[PremintCandidate],
) {
    let mut seen = HashSet::new();
    for c in got {
        assert!(seen.insert(c.mint), "launch {} delivered twice", c.slot);
    }
    assert_eq!(
        seen.len(),
        sent.len(),
        "delivered {} of {}",
        seen.len(),
        sent.len()
    );
}

#[test]
fn a_paused_consumer_stops_fetching_and_resumes_without_loss() {
    let server = NatsServer::start();
    // A slow bot under `block`: the lanes fill, then the ring; the gate pauses the pull feed.
    let c = SnifferConfig {
        drop_policy: DropPolicy::Block,
        stream_buffer_capacity: 64,
        output_lane_capacity: 64,
        batch_size: 16,
        ..cfg()
    };
    let ncfg = NatsConfig::from(&c);
    let publisher = Publisher::start(&server.url(), ncfg.clone()).unwrap();
    for l in &launches(3, 2000) {
        publisher.try_publish(l).unwrap();
    }
    settle(&publisher);
    assert_eq!(publisher.snapshot().published, 2000);
    let feed = JetStreamFeed::new(&format!("{}/SNIFFER?deliver=all", server.url()), ncfg).unwrap();
    let (engine, rx) = engine_on(feed, c);
    // The bot reads nothing until the gate has paused the feed.
    let until = Instant::now() + WITHIN;
    while !engine.snapshot().paused && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    let paused = engine.snapshot();
    assert!(paused.paused, "{paused:#?}");
    // Paused means not fetching: most of the stream is still waiting on the server.
    assert!(paused.tx_seen < 1000, "{paused:#?}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(engine.snapshot().tx_seen < 1000);
    let mut got = receive(&rx, 2000);
    let m = finish(engine, rx, &mut got);
    assert_each_once_in_order(&got, &launches(3, 2000));
    assert_eq!((m.candidates_sent, m.dropped_total()), (2000, 0), "{m:#?}");
    assert!(m.pause_count >= 1, "{m:#?}");
    drop(publisher);
}

#[test]
fn a_full_stream_refuses_and_the_publisher_counts_it() {
    let server = NatsServer::start();
    let c = SnifferConfig {
        nats_stream: "SMALL".into(),
        nats_max_msgs: 100,
        nats_discard: NatsDiscard::New,
        ..cfg()
    };
    let publisher = Publisher::start(&server.url(), NatsConfig::from(&c)).unwrap();
    for l in &launches(4, 150) {
        publisher.try_publish(l).unwrap();
    }
    settle(&publisher);
    let p = publisher.shutdown(WITHIN);
    assert!(p.accounting_holds(), "{p:?}");
    assert_eq!(
        (p.offered, p.published, p.failed, p.stream_full, p.dropped),
        (150, 100, 50, 50, 0),
        "{p:?}"
    );
    assert_eq!(stream_messages(&server.url(), "SMALL"), 100);
}

#[test]
fn a_full_queue_drops_and_counts_without_blocking() {
    // No server yet (waited for in the background): the publisher takes nothing from its
    // queue, so exactly its capacity is accepted and every other offer is refused at once.
    let port = natsserver::free_port();
    let c = SnifferConfig {
        nats_publish_queue: 4,
        nats_connect_retry: true,
        ..cfg()
    };
    let publisher =
        Publisher::start(&format!("nats://127.0.0.1:{port}"), NatsConfig::from(&c)).unwrap();
    let sent = launches(5, 1000);
    let mut refused = 0u64;
    for l in &sent {
        match publisher.try_publish(l) {
            Ok(()) => {}
            Err(TryPublishError::Full(back)) => {
                assert_eq!(back.mint, l.mint);
                refused += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(refused, 996);
    let server = NatsServer::start_at(port);
    settle(&publisher);
    let handle = publisher.handle();
    let p = publisher.shutdown(WITHIN);
    assert!(p.accounting_holds(), "{p:?}");
    assert_eq!(
        (p.offered, p.published, p.dropped, p.failed),
        (1000, 4, 996, 0),
        "{p:?}"
    );
    assert_eq!(stream_messages(&server.url(), "SNIFFER"), 4);
    // After the shutdown: refused, and counted too.
    assert!(matches!(
        handle.try_publish(&sent[0]),
        Err(TryPublishError::Closed(_))
    ));
    let after = handle.snapshot();
    assert_eq!((after.offered, after.dropped), (1001, 997));
    assert!(after.accounting_holds(), "{after:?}");
}

#[test]
fn an_unreachable_server_is_a_clear_error_or_is_waited_for() {
    let port = natsserver::free_port();
    let c = SnifferConfig {
        nats_connect_timeout: Duration::from_millis(300),
        ..cfg()
    };
    let url = format!("nats://alice:hunter2secret@127.0.0.1:{port}");
    for e in [
        Publisher::start(&url, NatsConfig::from(&c)).unwrap_err(),
        JetStreamFeed::new(&format!("{url}/SNIFFER"), NatsConfig::from(&c)).unwrap_err(),
        CoreNatsFeed::new(
            &format!("nats+core://127.0.0.1:{port}"),
            NatsConfig::from(&c),
        )
        .unwrap_err(),
    ] {
        assert!(matches!(e, NatsError::Connect(_)), "{e:?}");
        let text = e.to_string();
        assert!(
            text.contains(&format!("cannot connect to nats://127.0.0.1:{port}")),
            "{text}"
        );
        assert!(
            !text.contains("hunter2") && !text.contains("alice"),
            "{text}"
        );
    }

    // With connect_retry, the publisher starts anyway, queues, and publishes once the server
    // comes up; the consumer is set up in the background too.
    let c = SnifferConfig {
        nats_connect_retry: true,
        ..c
    };
    let publisher =
        Publisher::start(&format!("nats://127.0.0.1:{port}"), NatsConfig::from(&c)).unwrap();
    let feed = JetStreamFeed::new(
        &format!("nats://127.0.0.1:{port}/SNIFFER?durable=late&deliver=all"),
        NatsConfig::from(&c),
    )
    .unwrap();
    let (engine, rx) = engine_on(feed, c);
    let sent = launches(6, 50);
    for l in &sent {
        publisher.try_publish(l).unwrap();
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(publisher.snapshot().published, 0);
    let _server = NatsServer::start_at(port);
    let mut got = receive(&rx, 50);
    settle(&publisher);
    let p = publisher.shutdown(WITHIN);
    assert_eq!((p.published, p.failed, p.dropped), (50, 0, 0), "{p:?}");
    let m = finish(engine, rx, &mut got);
    assert_each_once_in_order(&got, &sent);
    assert_eq!(m.candidates_sent, 50);
}

#[test]
fn credentials_never_show_in_names_metrics_or_errors() {
    let server = NatsServer::start_with(|_| {
        vec![
            "--user".into(),
            "alice".into(),
            "--pass".into(),
            "hunter2secret".into(),
        ]
    });
    let c = cfg();
    let base = format!("127.0.0.1:{}", server.port);
    // A wrong password: refused, and the error shows neither password.
    let e = JetStreamFeed::new(
        &format!("nats://alice:wrongpass77@{base}/SNIFFER"),
        NatsConfig::from(&c),
    )
    .unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(matches!(e, NatsError::Connect(_)), "{text}");
    assert!(
        !text.contains("wrongpass77") && !text.contains("hunter2secret"),
        "{text}"
    );

    // The right ones, from the URL (feed) and from the configuration (publisher).
    let ncfg = NatsConfig {
        auth: NatsAuth::UserPassword {
            user: "alice".into(),
            password: "hunter2secret".into(),
        },
        ..NatsConfig::from(&c)
    };
    assert!(!format!("{ncfg:?}").contains("hunter2secret"));
    let publisher = Publisher::start(&format!("nats://{base}"), ncfg).unwrap();
    let feed = JetStreamFeed::new(
        &format!("nats://alice:hunter2secret@{base}/SNIFFER?deliver=all"),
        NatsConfig::from(&c),
    )
    .unwrap();
    let shown = format!("{} {feed:?}", feed.name());
    let (engine, rx) = engine_on(feed, c);
    engine.metrics_source().attach_publisher(&publisher.stats());
    for l in &launches(7, 20) {
        publisher.try_publish(l).unwrap();
    }
    let mut got = receive(&rx, 20);
    settle(&publisher);
    let live = engine.snapshot();
    assert_eq!(
        live.published, 20,
        "the engine's snapshot carries the publisher's counters"
    );
    let everything = format!(
        "{shown} {publisher:?} {} {}",
        live.to_json(),
        live.to_prometheus()
    );
    for secret in ["hunter2secret", "alice"] {
        assert!(
            !everything.contains(secret),
            "{secret} shown in: {everything}"
        );
    }
    assert!(live.to_prometheus().contains("sniffer_published_total 20"));
    let m = finish(engine, rx, &mut got);
    assert_eq!(m.candidates_sent, 20);
}

#[test]
fn a_three_node_cluster_keeps_publishing_and_consuming_with_one_node_stopped() {
    let mut cluster = Cluster::start();
    // Replicated on all three nodes; clients know every node. The stream and the consumer are
    // set up in the background while the cluster elects its leaders.
    let c = SnifferConfig {
        nats_replicas: 3,
        nats_connect_retry: true,
        ..cfg()
    };
    let ncfg = NatsConfig::from(&c);
    let publisher = Publisher::start(&cluster.url(), ncfg.clone()).unwrap();
    let feed = JetStreamFeed::new(
        &format!("{}/SNIFFER?durable=bot&deliver=all", cluster.url()),
        ncfg,
    )
    .unwrap();
    let (engine, rx) = engine_on(feed, c);
    let sent = launches(8, 400);
    for l in &sent[..200] {
        publisher.try_publish(l).unwrap();
    }
    let mut got = receive(&rx, 200);
    assert_eq!(got.len(), 200, "before the stop");
    // The stream's leader goes down (a crash, not a clean shutdown): the two others keep the
    // quorum and elect a new one; the clients move to a live node.
    let leader = stream_leader(
        &format!("nats://127.0.0.1:{}", cluster.nodes[0].port),
        "SNIFFER",
    );
    let down: usize = leader.trim_start_matches('n').parse().unwrap();
    cluster.nodes[down].kill_9();
    for l in &sent[200..] {
        publisher.try_publish(l).unwrap();
    }
    got.extend(receive(&rx, 200));
    settle(&publisher);
    let p = publisher.shutdown(WITHIN);
    eprintln!("cluster: publisher {p:?}");
    assert_eq!((p.published, p.failed, p.dropped), (400, 0, 0), "{p:?}");
    let alive = format!("nats://127.0.0.1:{}", cluster.nodes[(down + 1) % 3].port);
    assert_eq!(stream_messages(&alive, "SNIFFER"), 400);
    std::thread::sleep(Duration::from_millis(200));
    let m = finish(engine, rx, &mut got);
    assert_each_once_in_order_of_a_resumed_stream(&got, &sent);
    assert_eq!((m.candidates_sent, m.dropped_total()), (400, 0), "{m:#?}");
}

#[test]
fn cli_publishes_and_consumes_and_refuses_bad_nats_settings() {
    let server = NatsServer::start();
    let json = common::temp_path("nats-pub.json");
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
        .args(["--publish", &server.url(), "--metrics-json"])
        .arg(&json)
        .output()
        .unwrap();
    common::assert_ok(&out);
    let m: MetricsSnapshot = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert!(m.candidates_sent > 0);
    assert_eq!(m.publish_offered, m.candidates_sent);
    assert_eq!(
        (m.published, m.publish_dropped, m.publish_failed),
        (m.candidates_sent, 0, 0)
    );
    assert_eq!(m.publish_pending, 0);

    // Another process consumes the whole stream.
    let json2 = common::temp_path("nats-sub.json");
    let out = common::sniffer_cmd()
        .args([
            "run",
            "--feed",
            &format!("{}/SNIFFER?deliver=all", server.url()),
        ])
        .args(["--duration", "2s", "--metrics-json"])
        .arg(&json2)
        .output()
        .unwrap();
    common::assert_ok(&out);
    let m2: MetricsSnapshot = serde_json::from_slice(&std::fs::read(&json2).unwrap()).unwrap();
    assert_eq!(m2.candidates_sent, m.published, "{m2:#?}");
    assert!(
        m2.feeds[0].name.starts_with("nats://127.0.0.1:"),
        "{:?}",
        m2.feeds[0].name
    );

    // A bad stream name: bad usage (2), nothing started, the password not shown.
    let free = natsserver::free_port();
    let out = common::sniffer_cmd()
        .args([
            "run",
            "--publish",
            &format!("nats://u:hunter2@127.0.0.1:{free}/bad.name"),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("stream name") && !err.contains("hunter2"),
        "{err}"
    );
    // Nobody listening: a runtime failure (1) that says what to do.
    let out = common::sniffer_cmd()
        .args(["run", "--publish", &format!("nats://127.0.0.1:{free}")])
        .env("SNIFFER_NATS_CONNECT_TIMEOUT", "300ms")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot connect to nats://127.0.0.1") && err.contains("--nats-connect-retry"),
        "{err}"
    );
    // A NATS key out of its range: named, before anything starts.
    let out = common::sniffer_cmd()
        .args(["run", "--feed", &format!("{}/SNIFFER", server.url())])
        .env("SNIFFER_NATS_REPLICAS", "9")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("nats_replicas") && err.contains('9'), "{err}");
}

#[test]
fn nats_keys_are_validated_naming_key_and_value() {
    for (toml, key) in [
        ("nats_stream = \"a.b\"", "nats_stream"),
        ("nats_stream = \"\"", "nats_stream"),
        ("nats_duplicate_window = \"0s\"", "nats_duplicate_window"),
        (
            "nats_max_age = \"1m\"\nnats_duplicate_window = \"2m\"",
            "nats_duplicate_window",
        ),
        ("nats_replicas = 0", "nats_replicas"),
        ("nats_publish_queue = 0", "nats_publish_queue"),
        ("nats_max_msgs = 9223372036854775808", "nats_max_msgs"),
        ("nats_storage = \"disk\"", "nats_storage"),
        ("nats_discard = \"newest\"", "nats_discard"),
        ("nats_ack_timeout = \"0s\"", "nats_ack_timeout"),
    ] {
        let e = SnifferConfig::from_toml_str(toml)
            .and_then(|c| c.validate())
            .unwrap_err();
        assert_eq!(e.key(), Some(key), "{toml}: {e}");
    }
    // Unlimited age with any window; memory storage.
    let c = SnifferConfig::from_toml_str(
        "nats_max_age = \"0s\"\nnats_duplicate_window = \"10m\"\nnats_storage = \"memory\"",
    )
    .unwrap();
    c.validate().unwrap();
}

/// Issue 23, item 6: NATS goes away mid-run and stays away. The launches published after it
/// left are lost to the bus's consumers, as lost aggregates are: the run exits 1 with an ERROR
/// naming them, the final metrics count every one, and the last line's `shutdown_ms` is the
/// whole exit, not the engine's part of it.
#[test]
fn nats_down_at_shutdown_is_a_failure_that_counts_every_lost_launch() {
    let mut server = NatsServer::start();
    let json = common::temp_path("nats-down.json");
    let child = common::sniffer_cmd()
        .args(["run", "--feed", "synthetic", "--rate", "2000"])
        .args(["--duration", "1500ms", "--shutdown-timeout", "1s"])
        .args(["--publish", &server.url(), "--metrics-json"])
        .arg(&json)
        .env("SNIFFER_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until launches are published, then take the server away for good.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while stream_messages_or_0(&server.url(), "SNIFFER") < 100 {
        assert!(std::time::Instant::now() < deadline, "nothing published");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill_9();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("ERROR") && err.contains("not published"),
        "{err}"
    );
    let m: MetricsSnapshot = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert!(m.accounting_holds && m.accounting_holds(), "{m:#?}");
    assert_eq!(m.publish_offered, m.candidates_sent, "{m:#?}");
    assert_eq!(m.publish_pending, 0, "{m:#?}");
    let lost = m.publish_dropped + m.publish_failed;
    assert!(lost > 0, "{m:#?}");
    assert_eq!(m.published + lost, m.publish_offered, "{m:#?}");
    assert!(
        err.contains(&format!(
            "{lost} of {} launches not published",
            m.publish_offered
        )),
        "{err}"
    );
    // The last line names the whole exit and the engine's part apart.
    let last = err
        .lines()
        .rfind(|l| l.contains("run finished"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        last.contains("engine_shutdown_ms=") && last.contains("accounting_holds=true"),
        "{last}"
    );
    let field = |name: &str| -> u64 {
        let at = last.find(&format!(" {name}=")).unwrap() + name.len() + 2;
        last[at..].split(' ').next().unwrap().parse().unwrap()
    };
    assert!(
        field("shutdown_ms") >= field("engine_shutdown_ms"),
        "{last}"
    );
    eprintln!("{last}");
}
