//! One group, one run: raw crossbeam SPSC with the same 128-byte record (the baseline), the
//! engine's one-hop ring, and the full engine end to end (sync, async, handler). Each sample moves
//! `N` candidates from a producer thread to a consumer thread; the clock runs from a shared
//! barrier to the consumer's last receive (`iter_custom`).
//!
//! Placement: two-thread cases run producer and consumer on different cores; in the engine's
//! cases the batcher pins itself to the first core and the bot's producer and consumer share the
//! last (see `Placement`). Unpinned, crossbeam's blocking hop swung between 3 and 18 M/s from run
//! to run depending on where the scheduler put its threads.
//!
//! Hot threads per case (2 cores here, so anything above 2 shares cores): base, crossbeam, the
//! seeds' tokio mpsc design and ring 2 (producer, consumer); engine sync 3 (+ batcher); engine async 5 (+ batcher, 2 lane workers);
//! engine handler 2 (producer, batcher running the handler).

// criterion's macros generate undocumented items.
#![allow(missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sniffer::{
    BatchSendMode, DropPolicy, PremintCandidate, Priority, Sniffer, SnifferConfig, StreamRing,
};

const N: u64 = 200_000;

fn candidate(i: u64) -> PremintCandidate {
    PremintCandidate {
        seq: i,
        slot: i,
        priority: if i.is_multiple_of(4) {
            Priority::High
        } else {
            Priority::Low
        },
        ..Default::default()
    }
}

/// One case of the group: `setup` builds the queue and returns the producer (run on its own
/// thread, pushing `N` candidates), the consumer (run on this thread, taking `N`; the timed part)
/// and what to do afterwards (shutdown, checks).
struct Hop {
    produce: Box<dyn FnOnce() + Send>,
    consume: Box<dyn FnOnce()>,
    finish: Box<dyn FnOnce()>,
}

/// Where the bench's own threads run (2 cores here).
#[derive(Clone, Copy)]
enum Placement {
    /// A two-thread hop: producer on the first core, consumer on the last.
    Apart,
    /// The engine's cases: its batcher pins itself to the first core, so the bot's producer and
    /// consumer share the last one, as a bot on a 2-core box would place them.
    BesideEngine,
}

fn pin(core: Option<&usize>) {
    if let Some(&id) = core {
        core_affinity::set_for_current(core_affinity::CoreId { id });
    }
}

/// Runs `iters` hops, timing from a barrier shared with the producer to the consumer's last take.
fn timed(iters: u64, placement: Placement, setup: impl Fn() -> Hop) -> Duration {
    let cores = sniffer::machine_cores();
    let producer_core = match placement {
        Placement::Apart => cores.first(),
        Placement::BesideEngine => cores.last(),
    };
    pin(cores.last());
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let hop = setup();
        let barrier = Arc::new(Barrier::new(2));
        let b = barrier.clone();
        let produce = hop.produce;
        let producer = std::thread::spawn(move || {
            pin(producer_core);
            b.wait();
            produce();
        });
        barrier.wait();
        let start = Instant::now();
        (hop.consume)();
        total += start.elapsed();
        producer.join().unwrap();
        (hop.finish)();
    }
    total
}

fn nothing() -> Box<dyn FnOnce()> {
    Box::new(|| {})
}

/// The harness's own cost: the same thread spawn, barrier and loop, with no queue in between.
fn base(iters: u64) -> Duration {
    timed(iters, Placement::Apart, || Hop {
        produce: Box::new(|| {
            (0..N).for_each(|i| {
                std::hint::black_box(candidate(i));
            })
        }),
        consume: Box::new(|| {
            (0..N).for_each(|i| {
                std::hint::black_box(candidate(i));
            })
        }),
        finish: nothing(),
    })
}

fn raw_crossbeam(iters: u64) -> Duration {
    timed(iters, Placement::Apart, || {
        let (tx, rx) = crossbeam_channel::bounded::<PremintCandidate>(2048);
        Hop {
            produce: Box::new(move || (0..N).for_each(|i| tx.send(candidate(i)).unwrap())),
            consume: Box::new(move || {
                (0..N).for_each(|_| {
                    std::hint::black_box(rx.recv().unwrap());
                })
            }),
            finish: nothing(),
        }
    })
}

/// The seeds' design, the baseline sniffer replaces: a tokio mpsc channel, the producer
/// `try_send`s and falls back to a blocking send when full, the consumer awaits `recv` on a
/// tokio runtime.
fn seed_tokio_mpsc(iters: u64) -> Duration {
    timed(iters, Placement::Apart, || {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<PremintCandidate>(2048);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        Hop {
            produce: Box::new(move || {
                for i in 0..N {
                    match tx.try_send(candidate(i)) {
                        Ok(()) => {}
                        Err(tokio::sync::mpsc::error::TrySendError::Full(c)) => {
                            tx.blocking_send(c).unwrap()
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            }),
            consume: Box::new(move || {
                rt.block_on(async {
                    for _ in 0..N {
                        std::hint::black_box(rx.recv().await.unwrap());
                    }
                })
            }),
            finish: nothing(),
        }
    })
}

fn ring_one_hop(iters: u64) -> Duration {
    timed(iters, Placement::Apart, || {
        let ring = Arc::new(StreamRing::new(2048, DropPolicy::Block));
        let r = ring.clone();
        Hop {
            produce: Box::new(move || {
                (0..N).for_each(|i| {
                    r.push(candidate(i)).unwrap();
                })
            }),
            consume: Box::new(move || {
                (0..N).for_each(|_| {
                    std::hint::black_box(ring.pop_deadline(None).unwrap());
                })
            }),
            finish: nothing(),
        }
    })
}

fn engine_config(mode: BatchSendMode) -> SnifferConfig {
    SnifferConfig {
        drop_policy: DropPolicy::Block,
        batch_send_mode: mode,
        ..SnifferConfig::default()
    }
}

fn engine_e2e(iters: u64, mode: BatchSendMode) -> Duration {
    timed(iters, Placement::BesideEngine, || {
        let mut engine = Sniffer::builder()
            .config(engine_config(mode))
            .build()
            .unwrap();
        let rx = engine.take_receiver().unwrap();
        let h = engine.ingest_handle();
        Hop {
            produce: Box::new(move || (0..N).for_each(|i| h.ingest(candidate(i)).unwrap())),
            consume: Box::new(move || {
                (0..N).for_each(|_| {
                    std::hint::black_box(rx.recv().unwrap());
                })
            }),
            finish: Box::new(move || {
                let report = engine.shutdown(Duration::from_secs(5));
                assert_eq!(report.delivered(), N);
            }),
        }
    })
}

fn engine_handler(iters: u64) -> Duration {
    // The producer (this thread) on the last core; the batcher runs the handler on the first.
    pin(sniffer::machine_cores().last());
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let seen = Arc::new(AtomicU64::new(0));
        let s = seen.clone();
        let engine = Sniffer::builder()
            .config(engine_config(BatchSendMode::Sync))
            .handler(move |c: &PremintCandidate| {
                std::hint::black_box(c);
                s.fetch_add(1, Ordering::Relaxed);
            })
            .build()
            .unwrap();
        let h = engine.ingest_handle();
        let start = Instant::now();
        for i in 0..N {
            h.ingest(candidate(i)).unwrap();
        }
        while seen.load(Ordering::Relaxed) < N {
            std::hint::spin_loop();
        }
        total += start.elapsed();
        engine.shutdown(Duration::from_secs(5));
    }
    total
}

fn engine_group(c: &mut Criterion) {
    eprintln!(
        "engine bench: {} cores; hot threads: base 2, crossbeam 2, tokio 2, ring 2, engine_sync 3, engine_async 5, engine_handler 2",
        sniffer::machine_cores().len()
    );
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(N));
    g.sample_size(10);
    g.bench_function(BenchmarkId::new("base", N), |b| b.iter_custom(base));
    g.bench_function(BenchmarkId::new("seed_tokio_mpsc", N), |b| {
        b.iter_custom(seed_tokio_mpsc)
    });
    g.bench_function(BenchmarkId::new("raw_crossbeam_spsc", N), |b| {
        b.iter_custom(raw_crossbeam)
    });
    g.bench_function(BenchmarkId::new("ring_one_hop", N), |b| {
        b.iter_custom(ring_one_hop)
    });
    g.bench_function(BenchmarkId::new("engine_e2e_sync", N), |b| {
        b.iter_custom(|i| engine_e2e(i, BatchSendMode::Sync))
    });
    g.bench_function(BenchmarkId::new("engine_e2e_async", N), |b| {
        b.iter_custom(|i| engine_e2e(i, BatchSendMode::Async))
    });
    g.bench_function(BenchmarkId::new("engine_handler_sync", N), |b| {
        b.iter_custom(engine_handler)
    });
    g.finish();
}

criterion_group!(benches, engine_group);
criterion_main!(benches);
