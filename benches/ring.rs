//! The stream ring alone: push+pop on one thread for each policy (the per-operation cost), and
//! the two ways of doing `drop_oldest` side by side on a full ring with a concurrent consumer:
//! `ArrayQueue::force_push` (what the ring uses) and a crossbeam-channel `try_send` that, when
//! full, evicts with a receiver clone's `try_recv` and retries.
//!
//! Hot threads: 1 for `push_pop`, 2 for `drop_oldest_*` (producer, consumer).

// criterion's macros generate undocumented items.
#![allow(missing_docs)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use crossbeam_channel::TrySendError;
use sniffer::{ring::StreamRing, DropPolicy, PremintCandidate};

const OPS: u64 = 100_000;
const CAP: usize = 1024;

fn push_pop(c: &mut Criterion) {
    let mut g = c.benchmark_group("ring_push_pop");
    g.throughput(Throughput::Elements(OPS));
    for policy in DropPolicy::ALL {
        let ring = StreamRing::new(CAP, policy);
        g.bench_function(BenchmarkId::new(policy.as_str(), OPS), |b| {
            b.iter(|| {
                for i in 0..OPS {
                    let _ = ring.try_push(PremintCandidate {
                        seq: i,
                        ..Default::default()
                    });
                    std::hint::black_box(ring.try_pop());
                }
            })
        });
    }
    g.finish();
}

/// Runs a producer that overflows on purpose against a consumer that pops flat out; returns the
/// time for `OPS` pushes and checks that every item was popped or evicted exactly once.
fn overflow_run(
    iters: u64,
    push: impl Fn(u64) -> bool + Sync,
    pop: impl Fn() -> bool + Sync,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let done = AtomicBool::new(false);
        let popped = AtomicU64::new(0);
        let mut evicted = 0u64;
        std::thread::scope(|s| {
            s.spawn(|| {
                while !done.load(Ordering::Acquire) {
                    if pop() {
                        popped.fetch_add(1, Ordering::Relaxed);
                    }
                }
                while pop() {
                    popped.fetch_add(1, Ordering::Relaxed);
                }
            });
            let start = Instant::now();
            for i in 0..OPS {
                if push(i) {
                    evicted += 1;
                }
            }
            total += start.elapsed();
            done.store(true, Ordering::Release);
        });
        let popped = popped.load(Ordering::Relaxed);
        assert_eq!(
            popped + evicted,
            OPS,
            "exactly one eviction per overflowing push"
        );
    }
    total
}

fn drop_oldest_variants(c: &mut Criterion) {
    let mut g = c.benchmark_group("drop_oldest");
    g.throughput(Throughput::Elements(OPS));
    g.sample_size(20);
    g.bench_function(BenchmarkId::new("array_queue_force_push", OPS), |b| {
        b.iter_custom(|iters| {
            let ring = Arc::new(StreamRing::new(CAP, DropPolicy::DropOldest));
            overflow_run(
                iters,
                |i| {
                    ring.push(PremintCandidate {
                        seq: i,
                        ..Default::default()
                    })
                    .unwrap()
                    .is_some()
                },
                || ring.try_pop().is_some(),
            )
        })
    });
    g.bench_function(BenchmarkId::new("bare_array_queue_force_push", OPS), |b| {
        b.iter_custom(|iters| {
            let q = crossbeam_queue::ArrayQueue::new(CAP);
            overflow_run(
                iters,
                |i| {
                    q.force_push(PremintCandidate {
                        seq: i,
                        ..Default::default()
                    })
                    .is_some()
                },
                || q.pop().is_some(),
            )
        })
    });
    g.bench_function(BenchmarkId::new("channel_try_recv_evict", OPS), |b| {
        b.iter_custom(|iters| {
            let (tx, rx) = crossbeam_channel::bounded::<PremintCandidate>(CAP);
            let evictor = rx.clone();
            overflow_run(
                iters,
                |i| {
                    let mut item = PremintCandidate {
                        seq: i,
                        ..Default::default()
                    };
                    let mut evicted = false;
                    loop {
                        match tx.try_send(item) {
                            Ok(()) => return evicted,
                            Err(TrySendError::Full(back)) => {
                                item = back;
                                // With one producer this evicts at most once per push; with
                                // several, a racing producer can refill the slot and force a
                                // second eviction: the exactness problem the ring avoids.
                                if evictor.try_recv().is_ok() {
                                    evicted = true;
                                }
                            }
                            Err(TrySendError::Disconnected(_)) => unreachable!(),
                        }
                    }
                },
                || rx.try_recv().is_ok(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, push_pop, drop_oldest_variants);
criterion_main!(benches);
