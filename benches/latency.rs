//! One-way latency under sparse load: the engine end to end with the default wait strategy
//! against the seeds' tokio mpsc design. Each iteration sleeps (the producer idles like a feed
//! waiting on its socket; a 10 µs sleep lasts ~80 µs here), stamps one candidate and sends it;
//! the consumer thread adds its receive time minus the stamp to a total, so criterion's time per
//! iteration is the mean one-way latency.
//!
//! Hot threads: engine 2 (batcher, consumer; the producer sleeps, then yields until its candidate
//! arrived), tokio 1 (the consumer runtime). The consumer is pinned to the last core, away from
//! the engine's batcher (first core), as a latency-minded bot would do.

// criterion's macros generate undocumented items.
#![allow(missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use sniffer::{monotonic_ns, PremintCandidate, Sniffer};

/// Pins the calling thread to the last core (the engine's batcher takes the first).
fn pin_last_core() {
    if let Some(&id) = sniffer::machine_cores().last() {
        core_affinity::set_for_current(core_affinity::CoreId { id });
    }
}

fn one_way(
    iters: u64,
    send: &dyn Fn(PremintCandidate),
    received: &AtomicU64,
    total_ns: &AtomicU64,
) -> Duration {
    let before = total_ns.load(Ordering::Acquire);
    let start_count = received.load(Ordering::Acquire);
    for i in 0..iters {
        std::thread::sleep(Duration::from_micros(10));
        send(PremintCandidate {
            seq: i,
            detected_at_ns: monotonic_ns(),
            ..Default::default()
        });
        // Yield while waiting: this thread must not take a core from the engine.
        while received.load(Ordering::Acquire) < start_count + i + 1 {
            std::thread::yield_now();
        }
    }
    Duration::from_nanos(total_ns.load(Ordering::Acquire) - before)
}

fn latency(c: &mut Criterion) {
    let mut g = c.benchmark_group("one_way_latency_sparse");
    g.sample_size(20);
    g.throughput(criterion::Throughput::Elements(1));

    let received = Arc::new(AtomicU64::new(0));
    let total_ns = Arc::new(AtomicU64::new(0));
    let mut engine = Sniffer::builder().build().unwrap();
    let rx = engine.take_receiver().unwrap();
    let (r, t) = (received.clone(), total_ns.clone());
    let consumer = std::thread::spawn(move || {
        pin_last_core();
        for c in rx.iter() {
            t.fetch_add(monotonic_ns() - c.detected_at_ns, Ordering::Release);
            r.fetch_add(1, Ordering::Release);
        }
    });
    let h = engine.ingest_handle();
    g.bench_function("engine_default_wait", |b| {
        b.iter_custom(|iters| one_way(iters, &|c| h.ingest(c).unwrap(), &received, &total_ns))
    });
    engine.shutdown(Duration::from_secs(5));
    consumer.join().unwrap();

    let received = Arc::new(AtomicU64::new(0));
    let total_ns = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::channel::<PremintCandidate>(2048);
    let (r, t) = (received.clone(), total_ns.clone());
    let consumer = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            while let Some(c) = rx.recv().await {
                t.fetch_add(monotonic_ns() - c.detected_at_ns, Ordering::Release);
                r.fetch_add(1, Ordering::Release);
            }
        });
    });
    g.bench_function("seed_tokio_mpsc", |b| {
        b.iter_custom(|iters| {
            one_way(
                iters,
                &|c| match tx.try_send(c) {
                    Ok(()) => {}
                    Err(tokio::sync::mpsc::error::TrySendError::Full(c)) => {
                        tx.blocking_send(c).unwrap()
                    }
                    Err(e) => panic!("{e}"),
                },
                &received,
                &total_ns,
            )
        })
    });
    drop(tx);
    consumer.join().unwrap();
    g.finish();
}

criterion_group!(benches, latency);
criterion_main!(benches);
