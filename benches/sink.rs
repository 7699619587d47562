//! The aggregates sink's delta flush: with 100 000 live mints of which 200 were touched, a delta
//! flush must cost at most twice a flush of those 200 mints alone (the baseline, same group, same
//! batch size, same kind of database), so the flush cost follows the touched mints, not every
//! mint ever seen (the seed pipeline's O(N) flush took ~6 s at 8 797 mints; its target was
//! 300 ms).
//!
//! Two patterns of 200 among 100 000: the most recent launches (the usual shape, since trading
//! follows launches) and an even spread over the whole table (the worst case: every touched mint
//! on its own table page, so each flush writes ~200 pages to the WAL where the baseline writes
//! ~15). Keys are random-looking, like real mint addresses.
//!
//! All databases are temp files in WAL mode (not `:memory:`), `synchronous = NORMAL`, batches of
//! 500 rows. Only the flush is timed (`iter_custom`); touching the 200 mints happens outside.
//! Hot threads: 1.

// criterion's macros generate undocumented items.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sniffer::{
    decode::TradeEvent,
    sink::{AggregateState, AggregateStore, FlushMode},
    Pubkey,
};

const LIVE: u32 = 100_000;
const TOUCHED: u32 = 200;
const BATCH: usize = 500;

/// A random-looking key (splitmix64 of `n`), so mint order says nothing about launch order, as
/// with real mint addresses.
fn key(n: u32) -> Pubkey {
    let mut k = [0u8; 32];
    let mut x = u64::from(n);
    for chunk in k.chunks_mut(8) {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    Pubkey(k)
}

fn trade(mint: u32, user: u32, sol: u64) -> TradeEvent {
    TradeEvent {
        mint: key(mint),
        sol_amount: sol,
        token_amount: 1,
        is_buy: !user.is_multiple_of(3),
        user: key(1_000_000 + user),
        ..Default::default()
    }
}

/// A state with `live` mints (one trade each), written to a fresh temp-file database in launch
/// order, `TOUCHED` new mints per delta flush, as a running sink would have.
fn setup(dir: &tempfile::TempDir, live: u32) -> (AggregateState, AggregateStore) {
    let mut store = AggregateStore::open(dir.path().join("agg.db")).expect("open");
    let mut state = AggregateState::new();
    for m in 0..live {
        state.record_trade(&trade(m, m, 1_000), 1, 0);
        if (m + 1) % TOUCHED == 0 || m + 1 == live {
            store
                .flush(&mut state, FlushMode::Delta, 0, BATCH)
                .expect("initial flush");
        }
    }
    (state, store)
}

/// Which `TOUCHED` mints a cycle touches.
#[derive(Clone, Copy)]
enum Pattern {
    /// The most recently launched ones (the usual shape: trading follows launches).
    Recent,
    /// Spread evenly over every live mint (the worst case: one table page per mint).
    Spread,
}

/// Times `iters` delta flushes; before each, touches `TOUCHED` mints of `live` by `pattern`.
fn delta_flushes(
    state: &mut AggregateState,
    store: &mut AggregateStore,
    live: u32,
    pattern: Pattern,
    iters: u64,
) -> Duration {
    let stride = live / TOUCHED;
    let mut total = Duration::ZERO;
    for i in 0..iters {
        let now = 1_000 + i as i64 * 100;
        let offset = (i as u32) % stride;
        for j in 0..TOUCHED {
            let m = match pattern {
                Pattern::Recent => live - TOUCHED + j,
                Pattern::Spread => j * stride + offset,
            };
            state.record_trade(&trade(m, i as u32 % 50, 500), 2, now);
        }
        let start = Instant::now();
        let s = store
            .flush(state, FlushMode::Delta, now, BATCH)
            .expect("flush");
        total += start.elapsed();
        assert_eq!(s.rows, u64::from(TOUCHED));
        black_box(s);
    }
    total
}

fn delta_flush(c: &mut Criterion) {
    let mut g = c.benchmark_group("sink_delta_flush");
    g.throughput(Throughput::Elements(u64::from(TOUCHED)));
    g.sample_size(30);
    let cases = [
        ("only_touched", TOUCHED, Pattern::Recent),
        ("recent_touched_of", LIVE, Pattern::Recent),
        ("spread_touched_of", LIVE, Pattern::Spread),
    ];
    for (name, live, pattern) in cases {
        let dir = tempfile::tempdir().expect("temp dir");
        let (mut state, mut store) = setup(&dir, live);
        g.bench_function(BenchmarkId::new(name, live), |b| {
            b.iter_custom(|iters| delta_flushes(&mut state, &mut store, live, pattern, iters))
        });
    }
    g.finish();
}

criterion_group!(benches, delta_flush);
criterion_main!(benches);
