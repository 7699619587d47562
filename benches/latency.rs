//! One-way latency under sparse load, side by side in one run with the same 384-byte record: the
//! engine with the default wait (backoff: spin, yield, park), a bare crossbeam channel's blocking
//! `recv`, the seeds' tokio mpsc design, and the engine with a spinning wait on a dedicated core.
//!
//! Group `sparse_1ms`: one candidate every millisecond (the real launch cadence: every receiver
//! parks between candidates, so this measures the wake-up path). Group `dense_10us`: a 10 µs
//! sleep between candidates (~80 µs here), inside the backoff's spin-and-yield window.
//!
//! Each iteration sleeps (the producer idles like a feed waiting on its socket), stamps one
//! candidate and sends it; the receiving thread adds its receive time minus the stamp to a total,
//! so criterion's time per iteration is the mean one-way latency. Every latency also goes into a
//! histogram, and the bench prints p50 and p99 per case at the end.
//!
//! Hot threads: engine 1 (the receiver; direct mode has no engine thread; the producer sleeps,
//! then yields until its candidate arrived), crossbeam 1, tokio 1 (the consumer runtime), engine
//! spin 1 (spinning). The receiver is pinned to the last core, the producer to the first.

// criterion's macros generate undocumented items.
#![allow(missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use hdrhistogram::Histogram;
use sniffer::{config::WaitStrategy, monotonic_ns, PremintCandidate, Sniffer, SnifferConfig};

fn pin(core: Option<&usize>) {
    if let Some(&id) = core {
        core_affinity::set_for_current(core_affinity::CoreId { id });
    }
}

/// What the receiving thread shares with the producer.
#[derive(Default)]
struct Seen {
    received: AtomicU64,
    total_ns: AtomicU64,
    hist: Mutex<Option<Histogram<u64>>>,
}

impl Seen {
    fn new() -> Arc<Self> {
        let s = Seen::default();
        *s.hist.lock().unwrap() = Some(Histogram::new_with_bounds(1, 60_000_000_000, 3).unwrap());
        Arc::new(s)
    }

    /// Called by the receiver for each candidate, right after its receive returned.
    fn record(&self, c: &PremintCandidate) {
        let d = monotonic_ns().saturating_sub(c.detected_at_ns).max(1);
        if let Some(h) = self.hist.lock().unwrap().as_mut() {
            h.saturating_record(d);
        }
        self.total_ns.fetch_add(d, Ordering::Release);
        self.received.fetch_add(1, Ordering::Release);
    }

    fn report(&self, case: &str) -> String {
        let h = self.hist.lock().unwrap();
        let h = h.as_ref().unwrap();
        format!(
            "{case:<28} n={:<6} p50={:>8} ns  p99={:>9} ns  max={:>9} ns",
            h.len(),
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.max()
        )
    }
}

fn one_way(iters: u64, gap: Duration, send: &dyn Fn(PremintCandidate), seen: &Seen) -> Duration {
    let before = seen.total_ns.load(Ordering::Acquire);
    let start_count = seen.received.load(Ordering::Acquire);
    for i in 0..iters {
        std::thread::sleep(gap);
        send(PremintCandidate {
            seq: i,
            detected_at_ns: monotonic_ns(),
            ..Default::default()
        });
        // Yield while waiting: this thread must not take a core from the receiver.
        while seen.received.load(Ordering::Acquire) < start_count + i + 1 {
            std::thread::yield_now();
        }
    }
    Duration::from_nanos(seen.total_ns.load(Ordering::Acquire) - before)
}

fn group(c: &mut Criterion, name: &str, gap: Duration) {
    let cores = sniffer::config::machine_cores();
    pin(cores.first());
    let mut g = c.benchmark_group(name);
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(5));
    g.warm_up_time(Duration::from_millis(500));
    g.throughput(criterion::Throughput::Elements(1));
    let mut lines = Vec::new();

    for (case, wait) in [
        ("engine_default_wait", WaitStrategy::Backoff),
        ("engine_spin_wait", WaitStrategy::Spin),
    ] {
        let seen = Seen::new();
        let cfg = SnifferConfig {
            wait_strategy: wait,
            ..SnifferConfig::default()
        };
        let mut engine = Sniffer::builder().config(cfg).build().unwrap();
        let rx = engine.take_receiver().unwrap();
        let s = seen.clone();
        let consumer = std::thread::spawn(move || {
            pin(sniffer::config::machine_cores().last());
            for c in rx.iter() {
                s.record(&c);
            }
        });
        let h = engine.ingest_handle();
        g.bench_function(case, |b| {
            b.iter_custom(|iters| one_way(iters, gap, &|c| h.ingest(c).unwrap(), &seen))
        });
        engine.shutdown(Duration::from_secs(5));
        consumer.join().unwrap();
        lines.push(seen.report(case));
        if case == "engine_default_wait" {
            // The bare channel right after the engine's default wait, the comparison that counts.
            let seen = Seen::new();
            let (tx, rx) = crossbeam_channel::bounded::<PremintCandidate>(2048);
            let s = seen.clone();
            let consumer = std::thread::spawn(move || {
                pin(sniffer::config::machine_cores().last());
                while let Ok(c) = rx.recv() {
                    s.record(&c);
                }
            });
            g.bench_function("crossbeam_blocking_recv", |b| {
                b.iter_custom(|iters| one_way(iters, gap, &|c| tx.send(c).unwrap(), &seen))
            });
            drop(tx);
            consumer.join().unwrap();
            lines.push(seen.report("crossbeam_blocking_recv"));
        }
    }

    let seen = Seen::new();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<PremintCandidate>(2048);
    let s = seen.clone();
    let consumer = std::thread::spawn(move || {
        pin(sniffer::config::machine_cores().last());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            while let Some(c) = rx.recv().await {
                s.record(&c);
            }
        });
    });
    g.bench_function("seed_tokio_mpsc", |b| {
        b.iter_custom(|iters| {
            one_way(
                iters,
                gap,
                &|c| match tx.try_send(c) {
                    Ok(()) => {}
                    Err(tokio::sync::mpsc::error::TrySendError::Full(c)) => {
                        tx.blocking_send(c).unwrap()
                    }
                    Err(e) => panic!("{e}"),
                },
                &seen,
            )
        })
    });
    drop(tx);
    consumer.join().unwrap();
    lines.push(seen.report("seed_tokio_mpsc"));
    g.finish();
    eprintln!("\n{name}: one-way latency percentiles (same run)");
    for l in lines {
        eprintln!("  {l}");
    }
}

fn latency(c: &mut Criterion) {
    group(c, "sparse_1ms", Duration::from_millis(1));
    group(c, "dense_10us", Duration::from_micros(10));
}

criterion_group!(benches, latency);
criterion_main!(benches);
