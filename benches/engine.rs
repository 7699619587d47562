//! One group, one run: raw crossbeam SPSC with the same 384-byte record (the baseline), the seeds'
//! tokio mpsc design, the engine's one-hop ring, and the full engine end to end in every mode.
//! Each sample moves `N` candidates from a producer thread to a consumer thread; the clock runs
//! from a shared barrier to the consumer's last receive (`iter_custom`). A second group,
//! `record_size`, moves 128-, 192-, 256-byte records and the 384-byte record through raw
//! crossbeam, and a 128-byte record plus a write of its cold half into a side table, to choose
//! the record's size.
//!
//! Candidates arrive stamped (`detected_at_ns` set by the producer, one clock read per 64
//! candidates, as a feed stamps what it reads), for the baseline and the engine alike: a clock
//! read costs ~35-80 ns here, more than a whole hop, so an unstamped candidate would measure the
//! clock, not the queue.
//!
//! Placement: two-thread cases run producer and consumer on different cores. In direct mode the
//! engine has no thread of its own, so it is placed like the baseline. In sync/async mode the
//! batcher pins itself to the first core and the bot's producer and consumer share the last.
//!
//! Hot threads per case (2 cores here, so anything above 2 shares cores): base, crossbeam, tokio,
//! ring and engine direct 2 (producer, consumer); engine sync 3 (+ batcher); engine async 5
//! (+ batcher, 2 lane workers); engine handler 2 (producer, batcher running the handler).

// criterion's macros generate undocumented items.
#![allow(missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sniffer::{
    config::BatchSendMode, monotonic_ns, ring::StreamRing, DropPolicy, PremintCandidate, Priority,
    Sniffer, SnifferConfig,
};

const N: u64 = 200_000;

/// The `i`th candidate, stamped with `stamp`.
fn candidate(i: u64, stamp: u64) -> PremintCandidate {
    PremintCandidate {
        seq: i,
        slot: i,
        detected_at_ns: stamp,
        priority: if i.is_multiple_of(4) {
            Priority::High
        } else {
            Priority::Low
        },
        ..Default::default()
    }
}

/// Produces `N` stamped candidates into `send`, reading the clock once per 64.
fn produce(mut send: impl FnMut(PremintCandidate)) {
    let mut stamp = monotonic_ns();
    for i in 0..N {
        if i % 64 == 0 {
            stamp = monotonic_ns();
        }
        send(candidate(i, stamp));
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
    /// The engine's batcher pins itself to the first core, so the bot's producer and consumer
    /// share the last one, as a bot on a 2-core box would place them.
    BesideEngine,
}

fn pin(core: Option<&usize>) {
    if let Some(&id) = core {
        core_affinity::set_for_current(core_affinity::CoreId { id });
    }
}

/// Runs `iters` hops, timing from a barrier shared with the producer to the consumer's last take.
fn timed(iters: u64, placement: Placement, setup: impl Fn() -> Hop) -> Duration {
    let cores = sniffer::config::machine_cores();
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
            produce(|c| {
                std::hint::black_box(c);
            })
        }),
        consume: Box::new(|| {
            (0..N).for_each(|i| {
                std::hint::black_box(candidate(i, 0));
            })
        }),
        finish: nothing(),
    })
}

/// Raw crossbeam one hop with a record of `T` (blocking send and receive).
fn raw_crossbeam<T: Send + 'static>(iters: u64, make: fn(PremintCandidate) -> T) -> Duration {
    timed(iters, Placement::Apart, || {
        let (tx, rx) = crossbeam_channel::bounded::<T>(2048);
        Hop {
            produce: Box::new(move || produce(|c| tx.send(make(c)).unwrap())),
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
                produce(|c| match tx.try_send(c) {
                    Ok(()) => {}
                    Err(tokio::sync::mpsc::error::TrySendError::Full(c)) => {
                        tx.blocking_send(c).unwrap()
                    }
                    Err(e) => panic!("{e}"),
                })
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
                produce(|c| {
                    r.push(c).unwrap();
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

/// How the engine's consumer takes candidates.
#[derive(Clone, Copy)]
enum Take {
    One,
    Batch,
}

fn engine_e2e(iters: u64, mode: BatchSendMode, take: Take) -> Duration {
    let placement = match mode {
        BatchSendMode::Direct => Placement::Apart,
        _ => Placement::BesideEngine,
    };
    timed(iters, placement, || {
        let mut engine = Sniffer::builder()
            .config(engine_config(mode))
            .build()
            .unwrap();
        let rx = engine.take_receiver().unwrap();
        let h = engine.ingest_handle();
        Hop {
            produce: Box::new(move || produce(|c| h.ingest(c).unwrap())),
            consume: Box::new(move || match take {
                Take::One => (0..N).for_each(|_| {
                    std::hint::black_box(rx.recv().unwrap());
                }),
                Take::Batch => {
                    let mut buf = Vec::with_capacity(256);
                    let mut n = 0;
                    while n < N as usize {
                        buf.clear();
                        n += rx.recv_batch(&mut buf, 256).unwrap();
                        std::hint::black_box(&buf);
                    }
                }
            }),
            finish: Box::new(move || {
                let report = engine.shutdown(Duration::from_secs(5));
                assert_eq!(report.delivered(), N);
                assert!(report.metrics.accounting_holds());
            }),
        }
    })
}

fn engine_handler(iters: u64) -> Duration {
    // The producer (this thread) on the last core; the batcher runs the handler on the first.
    pin(sniffer::config::machine_cores().last());
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
        produce(|c| h.ingest(c).unwrap());
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
        "engine bench: {} cores; hot threads: base 2, crossbeam 2, tokio 2, ring 2, engine_direct 2, \
         engine_sync 3, engine_async 5, engine_handler 2",
        sniffer::config::machine_cores().len()
    );
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(N));
    g.sample_size(10);
    g.bench_function(BenchmarkId::new("base", N), |b| b.iter_custom(base));
    g.bench_function(BenchmarkId::new("raw_crossbeam_spsc", N), |b| {
        b.iter_custom(|i| raw_crossbeam(i, |c| c))
    });
    g.bench_function(BenchmarkId::new("seed_tokio_mpsc", N), |b| {
        b.iter_custom(seed_tokio_mpsc)
    });
    g.bench_function(BenchmarkId::new("ring_one_hop", N), |b| {
        b.iter_custom(ring_one_hop)
    });
    g.bench_function(BenchmarkId::new("engine_direct_recv", N), |b| {
        b.iter_custom(|i| engine_e2e(i, BatchSendMode::Direct, Take::One))
    });
    g.bench_function(BenchmarkId::new("engine_direct_recv_batch", N), |b| {
        b.iter_custom(|i| engine_e2e(i, BatchSendMode::Direct, Take::Batch))
    });
    g.bench_function(BenchmarkId::new("engine_e2e_sync", N), |b| {
        b.iter_custom(|i| engine_e2e(i, BatchSendMode::Sync, Take::One))
    });
    g.bench_function(BenchmarkId::new("engine_e2e_async", N), |b| {
        b.iter_custom(|i| engine_e2e(i, BatchSendMode::Async, Take::One))
    });
    g.bench_function(BenchmarkId::new("engine_handler_sync", N), |b| {
        b.iter_custom(engine_handler)
    });
    // The baseline once more at the end: the machine is shared, so a drift shows.
    g.bench_function(BenchmarkId::new("raw_crossbeam_spsc_again", N), |b| {
        b.iter_custom(|i| raw_crossbeam(i, |c| c))
    });
    g.finish();
}

/// A record of 128, 192 or 256 bytes with the hot fields of `PremintCandidate`, for
/// `record_size`.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Hot<const PAD: usize> {
    mint: [u8; 32],
    creator: [u8; 32],
    slot: u64,
    detected_at_ns: u64,
    seq: u64,
    pad: [u8; PAD],
}

type Hot128 = Hot<40>;
type Hot192 = Hot<104>;
type Hot256 = Hot<168>;
const _: () = assert!(std::mem::size_of::<Hot128>() == 128);
const _: () = assert!(std::mem::size_of::<Hot192>() == 192);
const _: () = assert!(std::mem::size_of::<Hot256>() == 256);
const _: () = assert!(std::mem::size_of::<PremintCandidate>() == 384);

fn hot<const PAD: usize>(c: PremintCandidate) -> Hot<PAD> {
    Hot {
        mint: c.mint.0,
        creator: c.creator.0,
        slot: c.slot,
        detected_at_ns: c.detected_at_ns,
        seq: c.seq,
        pad: [0; PAD],
    }
}

/// The cold half of the record in a side table indexed by sequence number, written by the
/// producer before it sends the 128-byte hot record and read by the consumer after: the
/// alternative to one big record.
fn hot_plus_cold_table(iters: u64) -> Duration {
    const SLOTS: usize = 4096;
    timed(iters, Placement::Apart, || {
        let table: Arc<Vec<[AtomicU64; 16]>> = Arc::new(
            (0..SLOTS)
                .map(|_| std::array::from_fn(|_| AtomicU64::new(0)))
                .collect(),
        );
        let (tx, rx) = crossbeam_channel::bounded::<Hot128>(2048);
        let t = table.clone();
        Hop {
            produce: Box::new(move || {
                produce(|c| {
                    let row = &t[c.seq as usize % SLOTS];
                    for (i, w) in row.iter().enumerate() {
                        w.store(c.seq ^ i as u64, Ordering::Relaxed);
                    }
                    tx.send(hot(c)).unwrap()
                })
            }),
            consume: Box::new(move || {
                (0..N).for_each(|_| {
                    let h = rx.recv().unwrap();
                    let row = &table[h.seq as usize % SLOTS];
                    let mut x = 0;
                    for w in row.iter() {
                        x ^= w.load(Ordering::Relaxed);
                    }
                    std::hint::black_box((h, x));
                })
            }),
            finish: nothing(),
        }
    })
}

fn record_size_group(c: &mut Criterion) {
    let mut g = c.benchmark_group("record_size");
    g.throughput(Throughput::Elements(N));
    g.sample_size(10);
    g.bench_function(BenchmarkId::new("crossbeam_128B", N), |b| {
        b.iter_custom(|i| raw_crossbeam(i, hot::<40>))
    });
    g.bench_function(BenchmarkId::new("crossbeam_192B", N), |b| {
        b.iter_custom(|i| raw_crossbeam(i, hot::<104>))
    });
    g.bench_function(BenchmarkId::new("crossbeam_256B", N), |b| {
        b.iter_custom(|i| raw_crossbeam(i, hot::<168>))
    });
    g.bench_function(BenchmarkId::new("crossbeam_384B_record", N), |b| {
        b.iter_custom(|i| raw_crossbeam(i, |c| c))
    });
    g.bench_function(BenchmarkId::new("crossbeam_128B_plus_cold_table", N), |b| {
        b.iter_custom(hot_plus_cold_table)
    });
    g.finish();
}

criterion_group!(benches, engine_group, record_size_group);
criterion_main!(benches);
