//! The engine end to end: accounting for every policy and both modes, drop counting with a
//! deterministically stalled consumer, `block` without loss, shutdown with a stalled consumer,
//! handlers, and more threads than cores.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{assert_delivery, priority_of, stalled_handler, tagged, Stalled};
use sniffer::{
    config::{BatchSendMode, WaitStrategy},
    feed::{SyntheticConfig, SyntheticFeed},
    DropPolicy, IngestError, PremintCandidate, Priority, Sniffer, SnifferConfig, TryIngestError,
};

fn config(policy: DropPolicy, mode: BatchSendMode) -> SnifferConfig {
    SnifferConfig {
        drop_policy: policy,
        batch_send_mode: mode,
        ..SnifferConfig::default()
    }
}

/// Several producers push tagged candidates while a consumer, slowed now and then, drains the
/// receiver; the invariant, uniqueness and FIFO per producer and priority must hold exactly.
fn run_accounting(policy: DropPolicy, mode: BatchSendMode, wait: WaitStrategy) {
    const PRODUCERS: u16 = 3;
    const PER_PRODUCER: u64 = 20_000;
    let cfg = SnifferConfig {
        stream_buffer_capacity: 256,
        output_lane_capacity: 128,
        batch_size: 32,
        send_retry_delay: Duration::from_micros(10),
        wait_strategy: wait,
        ..config(policy, mode)
    };
    let mut engine = Sniffer::builder().config(cfg).build().unwrap();
    let rx = engine.take_receiver().unwrap();
    let consumer = std::thread::spawn(move || {
        let mut got = Vec::new();
        for c in rx.iter() {
            got.push(c);
            if got.len() % 4096 == 0 {
                // Fall behind now and then so that the drop paths are exercised.
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        got
    });
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let h = engine.ingest_handle();
            std::thread::spawn(move || {
                let mut refused = 0u64;
                for n in 0..PER_PRODUCER {
                    match h.ingest(tagged(p, n, priority_of(n))) {
                        Ok(()) => {}
                        Err(IngestError::Full(_)) => refused += 1,
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
                refused
            })
        })
        .collect();
    let refused: u64 = producers.into_iter().map(|p| p.join().unwrap()).sum();
    let report = engine.shutdown(Duration::from_secs(10));
    let received = consumer.join().unwrap();
    let m = &report.metrics;
    assert_delivery(&received, m);
    assert_eq!(m.candidates_detected, u64::from(PRODUCERS) * PER_PRODUCER);
    assert_eq!(report.abandoned(), 0, "the drain finished: {report:#?}");
    match policy {
        DropPolicy::Block => {
            assert_eq!(m.dropped_total(), 0, "block drops nothing: {m:#?}");
            assert_eq!(m.candidates_sent, m.candidates_detected);
        }
        DropPolicy::DropNewest => {
            assert_eq!(m.dropped_oldest, 0);
            assert_eq!(m.dropped_full_buffer, refused + m.send_failures);
        }
        DropPolicy::DropOldest => {
            assert_eq!(refused, 0, "drop_oldest accepts every push");
            assert_eq!(m.dropped_full_buffer, m.send_failures);
        }
    }
}

#[test]
fn accounting_drop_newest_sync() {
    run_accounting(
        DropPolicy::DropNewest,
        BatchSendMode::Sync,
        WaitStrategy::Backoff,
    );
}

#[test]
fn accounting_drop_newest_async() {
    run_accounting(
        DropPolicy::DropNewest,
        BatchSendMode::Async,
        WaitStrategy::Backoff,
    );
}

#[test]
fn accounting_drop_oldest_sync() {
    run_accounting(
        DropPolicy::DropOldest,
        BatchSendMode::Sync,
        WaitStrategy::Backoff,
    );
}

#[test]
fn accounting_drop_oldest_async() {
    run_accounting(
        DropPolicy::DropOldest,
        BatchSendMode::Async,
        WaitStrategy::Backoff,
    );
}

#[test]
fn accounting_block_sync() {
    run_accounting(
        DropPolicy::Block,
        BatchSendMode::Sync,
        WaitStrategy::Backoff,
    );
}

#[test]
fn accounting_block_async() {
    run_accounting(
        DropPolicy::Block,
        BatchSendMode::Async,
        WaitStrategy::Backoff,
    );
}

#[test]
fn accounting_drop_newest_direct() {
    run_accounting(
        DropPolicy::DropNewest,
        BatchSendMode::Direct,
        WaitStrategy::Backoff,
    );
}

#[test]
fn accounting_drop_oldest_direct() {
    run_accounting(
        DropPolicy::DropOldest,
        BatchSendMode::Direct,
        WaitStrategy::Backoff,
    );
}

#[test]
fn accounting_block_direct() {
    run_accounting(
        DropPolicy::Block,
        BatchSendMode::Direct,
        WaitStrategy::Backoff,
    );
}

#[test]
fn accounting_with_park_and_yield_strategies() {
    run_accounting(DropPolicy::Block, BatchSendMode::Sync, WaitStrategy::Park);
    run_accounting(DropPolicy::Block, BatchSendMode::Direct, WaitStrategy::Park);
    run_accounting(
        DropPolicy::DropOldest,
        BatchSendMode::Direct,
        WaitStrategy::Spin,
    );
    run_accounting(
        DropPolicy::DropOldest,
        BatchSendMode::Async,
        WaitStrategy::Yield,
    );
}

fn drop_counting(policy: DropPolicy) {
    const CAP: usize = 8;
    const EXTRA: u64 = 5;
    let cfg = SnifferConfig {
        stream_buffer_capacity: CAP,
        batch_size: 1,
        drop_policy: policy,
        ..SnifferConfig::default()
    };
    let Stalled {
        engine,
        delivered,
        release: guard,
    } = stalled_handler(cfg, tagged(0, 0, Priority::Low));
    // The batcher now holds candidate 0 inside the stalled handler; the ring is empty.
    let h = engine.ingest_handle();
    for n in 1..=CAP as u64 {
        h.ingest(tagged(0, n, Priority::Low)).unwrap();
    }
    let mut rejected = Vec::new();
    // `ingest` applies the policy whatever the backpressure gate says (the ring is past
    // pause_pct now, so `try_ingest` may answer `Backpressure` once the gate has seen it).
    for n in CAP as u64 + 1..=CAP as u64 + EXTRA {
        match h.ingest(tagged(0, n, Priority::Low)) {
            Ok(()) => {}
            Err(IngestError::Full(c)) => rejected.push(c.slot),
            Err(e) => panic!("unexpected {e}"),
        }
    }
    let live = engine.snapshot();
    drop(guard);
    let report = engine.shutdown(Duration::from_secs(10));
    let m = &report.metrics;
    let got: Vec<u64> = delivered.lock().unwrap().iter().map(|c| c.slot).collect();
    assert!(m.accounting_holds(), "{m:#?}");
    assert_eq!(m.in_flight, 0);
    assert_eq!(m.candidates_detected, 1 + CAP as u64 + EXTRA);
    assert_eq!(live.stream_buffer_depth, CAP as u64);
    match policy {
        DropPolicy::DropNewest => {
            assert_eq!(
                rejected,
                (CAP as u64 + 1..=CAP as u64 + EXTRA).collect::<Vec<_>>()
            );
            assert_eq!(m.dropped_full_buffer, EXTRA);
            assert_eq!(m.dropped_oldest, 0);
            assert_eq!(got, (0..=CAP as u64).collect::<Vec<_>>());
        }
        DropPolicy::DropOldest => {
            assert!(rejected.is_empty());
            assert_eq!(m.dropped_oldest, EXTRA);
            assert_eq!(m.dropped_full_buffer, 0);
            let mut expected = vec![0];
            expected.extend(1 + EXTRA..=CAP as u64 + EXTRA);
            assert_eq!(got, expected, "the {EXTRA} oldest queued were evicted");
        }
        DropPolicy::Block => unreachable!(),
    }
    assert_eq!(m.backpressure_events, EXTRA);
    assert_eq!(m.candidates_sent, got.len() as u64);
}

#[test]
fn drop_newest_counts_exactly() {
    drop_counting(DropPolicy::DropNewest);
}

#[test]
fn drop_oldest_counts_exactly() {
    drop_counting(DropPolicy::DropOldest);
}

#[test]
fn block_with_stalled_consumer_times_out_and_loses_nothing() {
    let cfg = SnifferConfig {
        stream_buffer_capacity: 4,
        output_lane_capacity: 4,
        batch_size: 2,
        drop_policy: DropPolicy::Block,
        block_timeout: Some(Duration::from_millis(50)),
        ..SnifferConfig::default()
    };
    let mut engine = Sniffer::builder().config(cfg).build().unwrap();
    let rx = engine.take_receiver().unwrap();
    let h = engine.ingest_handle();
    // Nobody reads: the lanes fill, the batcher waits on them, the ring fills, ingest times out.
    let mut accepted = 0u64;
    let timed_out = loop {
        let start = Instant::now();
        match h.ingest(tagged(0, accepted, Priority::Low)) {
            Ok(()) => accepted += 1,
            Err(IngestError::Timeout(c)) => break (c.slot, start.elapsed()),
            Err(e) => panic!("unexpected {e}"),
        }
        assert!(accepted < 1000, "the engine never pushed back");
    };
    assert_eq!(
        timed_out.0, accepted,
        "the timed-out candidate is handed back"
    );
    assert!(
        timed_out.1 >= Duration::from_millis(50),
        "the timeout was honoured"
    );
    let live = engine.snapshot();
    assert_eq!(live.dropped_total(), 0);
    assert_eq!(
        live.candidates_detected, accepted,
        "a timed-out candidate is not counted"
    );
    // The consumer wakes up: everything accepted arrives, in order.
    let consumer = std::thread::spawn(move || rx.iter().collect::<Vec<_>>());
    let report = engine.shutdown(Duration::from_secs(10));
    let got = consumer.join().unwrap();
    assert_delivery(&got, &report.metrics);
    assert_eq!(report.metrics.dropped_total(), 0);
    assert_eq!(got.len() as u64, accepted);
}

#[test]
fn shutdown_releases_a_producer_blocked_forever() {
    let cfg = SnifferConfig {
        stream_buffer_capacity: 2,
        output_lane_capacity: 1,
        batch_size: 1,
        drop_policy: DropPolicy::Block,
        ..SnifferConfig::default()
    };
    let mut engine = Sniffer::builder().config(cfg).build().unwrap();
    let _rx = engine.take_receiver().unwrap();
    let h = engine.ingest_handle();
    let producer = std::thread::spawn(move || {
        let mut n = 0;
        loop {
            match h.ingest(tagged(0, n, Priority::High)) {
                Ok(()) => n += 1,
                Err(IngestError::Closed(c)) => return (n, c.slot),
                Err(e) => panic!("unexpected {e}"),
            }
        }
    });
    std::thread::sleep(Duration::from_millis(50));
    let report = engine.shutdown(Duration::from_millis(200));
    let (accepted, handed_back) = producer.join().unwrap();
    assert_eq!(handed_back, accepted);
    let m = &report.metrics;
    assert!(m.accounting_holds(), "{m:#?}");
    assert_eq!(m.candidates_detected, accepted);
    assert_eq!(m.candidates_sent + m.dropped_shutdown, accepted);
    assert_eq!(report.delivered() + report.abandoned(), accepted);
}

#[test]
fn shutdown_with_stalled_consumer_returns_in_time_and_adds_up() {
    for mode in [BatchSendMode::Sync, BatchSendMode::Async] {
        let timeout = Duration::from_millis(300);
        let cfg = SnifferConfig {
            stream_buffer_capacity: 4096,
            output_lane_capacity: 16,
            ..config(DropPolicy::DropNewest, mode)
        };
        let mut engine = Sniffer::builder().config(cfg).build().unwrap();
        let rx = engine.take_receiver().unwrap();
        let h = engine.ingest_handle();
        let mut accepted = 0;
        for n in 0..3000 {
            if h.try_ingest(tagged(0, n, priority_of(n))).is_ok() {
                accepted += 1;
            }
        }
        let start = Instant::now();
        let report = engine.shutdown(timeout);
        let took = start.elapsed();
        // A generous margin: the machines are shared; the point is that it does not hang.
        assert!(
            took < timeout + Duration::from_secs(3),
            "{mode:?}: shutdown took {took:?}"
        );
        let m = &report.metrics;
        assert!(m.accounting_holds(), "{m:#?}");
        assert_eq!(m.in_flight, 0);
        assert_eq!(m.candidates_detected, accepted);
        let lanes = report.high.delivered
            + report.low.delivered
            + report.high.abandoned
            + report.low.abandoned
            + report.high.failed
            + report.low.failed;
        assert_eq!(lanes, accepted, "{mode:?}: {report:#?}");
        assert!(
            report.abandoned() > 0,
            "the stalled consumer left work behind"
        );
        assert_eq!(m.dropped_shutdown, report.abandoned());
        assert_eq!(rx.try_iter().count() as u64, m.candidates_sent);
    }
}

#[test]
fn handler_runs_on_sender_thread_in_both_modes_and_panics_are_counted() {
    for mode in [BatchSendMode::Sync, BatchSendMode::Async] {
        let seen = Arc::new(AtomicU64::new(0));
        let names = Arc::new(Mutex::new(std::collections::HashSet::new()));
        let (s, n) = (seen.clone(), names.clone());
        let engine = Sniffer::builder()
            .config(config(DropPolicy::Block, mode))
            .handler(move |c: &PremintCandidate| {
                n.lock()
                    .unwrap()
                    .insert(std::thread::current().name().unwrap_or("").to_string());
                if c.slot % 10 == 7 {
                    panic!("handler fault injected for {}", c.slot);
                }
                s.fetch_add(1, Ordering::Relaxed);
            })
            .build()
            .unwrap();
        let h = engine.ingest_handle();
        for n in 0..1000 {
            h.ingest(tagged(0, n, priority_of(n))).unwrap();
        }
        let report = engine.shutdown(Duration::from_secs(10));
        let m = &report.metrics;
        assert!(m.accounting_holds(), "{m:#?}");
        assert_eq!(m.send_failures, 100, "{mode:?}");
        assert_eq!(m.candidates_sent, 900);
        assert_eq!(seen.load(Ordering::Relaxed), 900);
        let names = names.lock().unwrap();
        match mode {
            BatchSendMode::Sync | BatchSendMode::Direct => {
                assert_eq!(*names, ["sniffer-batcher".to_string()].into())
            }
            BatchSendMode::Async => assert_eq!(
                *names,
                [
                    "sniffer-lane-high".to_string(),
                    "sniffer-lane-low".to_string()
                ]
                .into()
            ),
        }
    }
}

#[test]
fn more_threads_than_cores_still_runs() {
    let cores: Vec<usize> = sniffer::config::machine_cores()
        .iter()
        .copied()
        .take(1)
        .collect();
    let mut builder = Sniffer::builder()
        .config(config(DropPolicy::Block, BatchSendMode::Async))
        .pin_at_core(cores);
    for seed in 0..4 {
        builder = builder.feed(SyntheticFeed::new(SyntheticConfig {
            rate: 0,
            duration: Duration::from_secs(30),
            max_candidates: Some(5_000),
            seed,
            ..SyntheticConfig::default()
        }));
    }
    let mut engine = builder.build().unwrap();
    let rx = engine.take_receiver().unwrap();
    let consumer = std::thread::spawn(move || rx.iter().collect::<Vec<_>>());
    assert!(engine.wait_feeds(Duration::from_secs(60)));
    let report = engine.shutdown(Duration::from_secs(10));
    let got = consumer.join().unwrap();
    let m = &report.metrics;
    assert!(m.accounting_holds(), "{m:#?}");
    assert_eq!(m.candidates_detected, 20_000);
    assert_eq!(m.tx_seen, 20_000);
    assert_eq!(m.candidates_sent, 20_000, "block loses nothing: {m:#?}");
    assert_eq!(got.len(), 20_000);
}

/// Each sender thread's name and the cores it may run on (read back from the kernel), as a
/// handler on that thread sees them.
fn sender_affinities(
    mode: BatchSendMode,
    pin: Option<Vec<usize>>,
) -> std::collections::BTreeMap<String, Vec<usize>> {
    let seen = Arc::new(Mutex::new(std::collections::BTreeMap::new()));
    let s = seen.clone();
    let mut builder = Sniffer::builder()
        .config(SnifferConfig {
            pin_threads: false,
            ..config(DropPolicy::Block, mode)
        })
        .handler(move |_: &PremintCandidate| {
            let mut cores: Vec<usize> = core_affinity::get_core_ids()
                .unwrap_or_default()
                .iter()
                .map(|c| c.id)
                .collect();
            cores.sort_unstable();
            let name = std::thread::current().name().unwrap_or("").to_string();
            s.lock().unwrap().insert(name, cores);
        });
    if let Some(cores) = pin {
        builder = builder.pin_at_core(cores);
    }
    let engine = builder.build().unwrap();
    let h = engine.ingest_handle();
    for n in 0..100 {
        h.ingest(tagged(0, n, priority_of(n))).unwrap();
    }
    let report = engine.shutdown(Duration::from_secs(10));
    assert_eq!(report.metrics.candidates_sent, 100);
    let seen = seen.lock().unwrap().clone();
    seen
}

/// Engine threads are pinned where they were told to be, read back from the kernel: to each core
/// in turn, round-robin over a list, and not at all with pinning off. A one-core machine cannot
/// tell pinned from unpinned: it checks that pinning runs there, nothing more.
#[test]
fn engine_threads_are_pinned_to_their_cores() {
    let mut machine = sniffer::config::machine_cores().to_vec();
    machine.sort_unstable();
    for mode in [BatchSendMode::Sync, BatchSendMode::Async] {
        let senders = match mode {
            BatchSendMode::Async => vec!["sniffer-lane-high", "sniffer-lane-low"],
            _ => vec!["sniffer-batcher"],
        };
        let unpinned = sender_affinities(mode, None);
        assert_eq!(unpinned.keys().collect::<Vec<_>>(), senders, "{mode:?}");
        assert!(unpinned.values().all(|c| *c == machine), "{unpinned:?}");
        if machine.len() < 2 {
            assert_eq!(sender_affinities(mode, Some(machine.clone())), unpinned);
            continue;
        }
        for &core in &machine {
            let pinned = sender_affinities(mode, Some(vec![core]));
            assert!(
                pinned.values().all(|c| *c == [core]),
                "{mode:?} on core {core}: {pinned:?}"
            );
        }
        // Round-robin over the list: every thread gets one core of it.
        let shared = sender_affinities(mode, Some(machine.clone()));
        assert!(
            shared
                .values()
                .all(|c| c.len() == 1 && machine.contains(&c[0])),
            "{mode:?}: {shared:?}"
        );
    }
}

#[test]
fn dropping_the_engine_drains_and_joins() {
    let seen = Arc::new(AtomicU64::new(0));
    {
        let s = seen.clone();
        let engine = Sniffer::builder()
            .config(config(DropPolicy::Block, BatchSendMode::Sync))
            .handler(move |_c: &PremintCandidate| {
                s.fetch_add(1, Ordering::Relaxed);
            })
            .build()
            .unwrap();
        let h = engine.ingest_handle();
        for n in 0..500 {
            h.ingest(tagged(0, n, Priority::Low)).unwrap();
        }
        // Dropped here: shutdown with the configured timeout, threads joined.
    }
    assert_eq!(seen.load(Ordering::Relaxed), 500);
}

#[test]
fn ingest_after_shutdown_hands_the_candidate_back() {
    let engine = Sniffer::builder().build().unwrap();
    let h = engine.ingest_handle();
    let report = engine.shutdown(Duration::from_secs(1));
    assert!(report.drained());
    let c = tagged(0, 42, Priority::High);
    assert!(matches!(h.try_ingest(c), Err(TryIngestError::Closed(back)) if back.slot == 42));
    assert!(matches!(h.ingest(c), Err(IngestError::Closed(_))));
}

#[test]
fn invalid_config_is_rejected_before_any_thread_starts() {
    let cfg = SnifferConfig {
        stream_buffer_capacity: 0,
        ..SnifferConfig::default()
    };
    let err = Sniffer::builder().config(cfg).build().unwrap_err();
    assert!(err.to_string().contains("stream_buffer_capacity"), "{err}");
}

#[test]
fn flush_at_batch_timeout_when_not_flushing_on_idle() {
    let cfg = SnifferConfig {
        batch_send_mode: BatchSendMode::Sync,
        flush_on_idle: false,
        batch_size: 1000,
        batch_timeout: Duration::from_millis(20),
        ..SnifferConfig::default()
    };
    let mut engine = Sniffer::builder().config(cfg).build().unwrap();
    let rx = engine.take_receiver().unwrap();
    let h = engine.ingest_handle();
    for n in 0..10 {
        h.ingest(tagged(0, n, priority_of(n))).unwrap();
    }
    // Far fewer than batch_size: only the timeout can flush them, as one batch, High first.
    let got: Vec<_> = (0..10)
        .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
        .collect();
    let report = engine.shutdown(Duration::from_secs(1));
    assert_eq!(report.metrics.batches_sent, 1);
    let highs = got
        .iter()
        .take_while(|c| c.priority == Priority::High)
        .count();
    assert_eq!(highs, 4, "High first within the batch");
    assert_delivery(&got, &report.metrics);
}

/// `candidates_detected` split by launch kind adds up to it, under a policy that drops (the
/// drops stay detected) and one that hands candidates back (those are not detected).
#[test]
fn candidates_detected_by_kind_adds_up() {
    use sniffer::LaunchKind;
    for policy in [DropPolicy::DropNewest, DropPolicy::Block] {
        let cfg = SnifferConfig {
            output_lane_capacity: 4,
            ..config(policy, BatchSendMode::Direct)
        };
        let mut engine = Sniffer::builder().config(cfg).build().unwrap();
        let rx = engine.take_receiver().unwrap();
        let h = engine.ingest_handle();
        let kinds = [
            (LaunchKind::LaunchLab, 3000),
            (LaunchKind::MeteoraDbc, 2000),
            (LaunchKind::PumpSwapGraduation, 1000),
        ];
        let mut accepted = std::collections::BTreeMap::new();
        for (kind, n) in kinds {
            for i in 0..n {
                let c = PremintCandidate {
                    kind,
                    slot: i,
                    priority: Priority::Low,
                    ..PremintCandidate::default()
                };
                let ok = h.try_ingest(c).is_ok();
                // drop_newest counts a refusal as detected and dropped; block hands it back.
                if ok || policy == DropPolicy::DropNewest {
                    *accepted.entry(kind.as_str()).or_insert(0u64) += 1;
                }
            }
        }
        drop(rx);
        let m = engine.shutdown(Duration::from_secs(1)).metrics;
        assert!(m.accounting_holds());
        let by_kind = &m.candidates_detected_by_kind;
        assert_eq!(by_kind.len(), LaunchKind::ALL.len(), "every kind listed");
        assert_eq!(by_kind.values().sum::<u64>(), m.candidates_detected);
        for k in LaunchKind::ALL {
            let want = accepted.get(k.as_str()).copied().unwrap_or(0);
            assert_eq!(by_kind[k.as_str()], want, "{policy:?} {k:?}");
        }
        // The lane filled: some were refused.
        if policy == DropPolicy::Block {
            assert!(m.candidates_detected < 6000, "some handed back");
        } else {
            assert_eq!(m.candidates_detected, 6000);
            assert!(m.dropped_full_buffer > 0, "some dropped");
        }
    }
}
