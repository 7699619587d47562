//! The SQLite aggregates sink through its public API: the database equals a model after every
//! flush, delta flushes write only touched rows, pruning, injected `SQLITE_BUSY` and
//! `SQLITE_FULL` lose nothing, restarts read the state back, input drops are counted, and
//! shutdown reports what it left.
//!
//! Every assertion is on an exact outcome; the threaded tests wait for a condition with a generous
//! guard deadline, never assert on elapsed time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use sniffer::{
    decode::TradeEvent,
    metrics::SinkSnapshot,
    sink::{
        AggregateSink, AggregateState, AggregateStore, FlushMode, LaunchRow, RecordError,
        SinkConfig, StoreError, Window, WindowStats,
    },
    LaunchKind, PremintCandidate, Pubkey, SnifferConfig,
};

fn key(n: u32) -> Pubkey {
    let mut k = [7u8; 32];
    k[..4].copy_from_slice(&n.to_be_bytes());
    Pubkey(k)
}

fn trade(mint: u32, user: u32, sol: u64, is_buy: bool) -> TradeEvent {
    TradeEvent {
        mint: key(mint),
        sol_amount: sol,
        token_amount: 1,
        is_buy,
        user: key(1_000_000 + user),
        ..Default::default()
    }
}

fn launch(mint: u32, creator: u32, slot: u64, kind: LaunchKind) -> PremintCandidate {
    PremintCandidate {
        mint: key(mint),
        creator: key(creator),
        slot,
        kind,
        ..Default::default()
    }
}

fn db_rows(store: &AggregateStore) -> BTreeMap<Pubkey, LaunchRow> {
    store
        .all_rows()
        .unwrap()
        .into_iter()
        .map(|r| (r.mint, r))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The model: every event kept, aggregates recomputed from scratch with the documented windows.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Ev {
    Launch(PremintCandidate),
    Trade(TradeEvent, u64),
}

#[derive(Default)]
struct Model {
    events: HashMap<Pubkey, Vec<(i64, Ev)>>,
    touched: BTreeSet<Pubkey>,
    /// What the database must hold.
    db: BTreeMap<Pubkey, LaunchRow>,
}

/// (bucket width, buckets) of each window, spelled out again rather than taken from the crate.
const WINDOWS: [(i64, i64); 3] = [(5_000, 12), (5_000, 60), (60_000, 60)];

impl Model {
    fn record(&mut self, now: i64, ev: Ev) {
        let mint = match &ev {
            Ev::Launch(c) => c.mint,
            Ev::Trade(t, _) => t.mint,
        };
        self.events.entry(mint).or_default().push((now, ev));
        self.touched.insert(mint);
    }

    fn row(&self, mint: Pubkey, now: i64) -> LaunchRow {
        let evs = &self.events[&mint];
        let mut r = LaunchRow {
            mint,
            first_seen_ms: evs.iter().map(|e| e.0).min().unwrap(),
            last_seen_ms: evs.iter().map(|e| e.0).max().unwrap(),
            updated_ms: now,
            ..LaunchRow::default()
        };
        let mut last_trade: HashMap<Pubkey, i64> = HashMap::new();
        for (t, ev) in evs {
            match ev {
                Ev::Launch(c) => {
                    r.last_slot = r.last_slot.max(c.slot);
                    r.creator.get_or_insert(c.creator);
                    r.kind.get_or_insert(c.kind);
                    r.launch_slot.get_or_insert(c.slot);
                }
                Ev::Trade(tr, slot) => {
                    r.last_slot = r.last_slot.max(*slot);
                    r.trade_count += 1;
                    if tr.is_buy {
                        r.buy_count += 1;
                        r.buy_lamports_total += tr.sol_amount;
                    } else {
                        r.sell_count += 1;
                        r.sell_lamports_total += tr.sol_amount;
                    }
                    let e = last_trade.entry(tr.user).or_insert(*t);
                    *e = (*e).max(*t);
                    for (i, (width, n)) in WINDOWS.into_iter().enumerate() {
                        if t.div_euclid(width) > now.div_euclid(width) - n {
                            let w = &mut r.windows[i];
                            if tr.is_buy {
                                w.buy_lamports += tr.sol_amount;
                            } else {
                                w.sell_lamports += tr.sol_amount;
                            }
                        }
                    }
                }
            }
        }
        for (i, (width, n)) in WINDOWS.into_iter().enumerate() {
            r.windows[i].unique_traders = last_trade
                .values()
                .filter(|t| t.div_euclid(width) > now.div_euclid(width) - n)
                .count() as u64;
        }
        r
    }

    /// Applies a successful flush at `now`; returns how many rows it must have written.
    fn flush(&mut self, mode: FlushMode, now: i64) -> u64 {
        let mints: Vec<Pubkey> = match mode {
            FlushMode::Delta => self.touched.iter().copied().collect(),
            FlushMode::Full => self.events.keys().copied().collect(),
        };
        for m in &mints {
            self.db.insert(*m, self.row(*m, now));
        }
        self.touched.clear();
        mints.len() as u64
    }
}

#[derive(Clone, Debug)]
enum Op {
    Launch {
        mint: u32,
        creator: u32,
        slot: u64,
        kind: u8,
    },
    Trade {
        mint: u32,
        user: u32,
        sol: u64,
        buy: bool,
        slot: u64,
    },
    Advance(i64),
    Flush(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..8u32, 0..3u32, 0..1_000u64, 0..4u8)
            .prop_map(|(mint, creator, slot, kind)| Op::Launch { mint, creator, slot, kind }),
        6 => (0..8u32, 0..6u32, 0..5_000_000_000u64, any::<bool>(), 0..1_000u64)
            .prop_map(|(mint, user, sol, buy, slot)| Op::Trade { mint, user, sol, buy, slot }),
        3 => prop_oneof![0..10_000i64, 0..400_000i64, 0..4_000_000i64].prop_map(Op::Advance),
        2 => any::<bool>().prop_map(Op::Flush),
    ]
}

const KINDS: [LaunchKind; 4] = [
    LaunchKind::PumpCreate,
    LaunchKind::PumpCreateV2,
    LaunchKind::PumpSwapPool,
    LaunchKind::RaydiumPool,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// After every flush (delta or full, any batch size), the table equals the model: touched
    /// rows rewritten at the flush time, untouched rows as last written; each flush wrote exactly
    /// the touched (delta) or live (full) mints.
    #[test]
    fn database_equals_model_after_every_flush(
        ops in prop::collection::vec(op(), 1..120),
        batch in 1..5usize,
        start in -1_000_000i64..2_000_000_000_000,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = AggregateStore::open(dir.path().join("agg.db")).unwrap();
        let mut state = AggregateState::new();
        let mut model = Model::default();
        let mut now = start;
        for op in ops.into_iter().chain([Op::Flush(false)]) {
            match op {
                Op::Launch { mint, creator, slot, kind } => {
                    let c = launch(mint, creator, slot, KINDS[usize::from(kind)]);
                    state.record_launch(&c, None, now);
                    model.record(now, Ev::Launch(c));
                }
                Op::Trade { mint, user, sol, buy, slot } => {
                    let t = trade(mint, user, sol, buy);
                    state.record_trade(&t, slot, now);
                    model.record(now, Ev::Trade(t, slot));
                }
                Op::Advance(dt) => now += dt,
                Op::Flush(full) => {
                    let mode = if full { FlushMode::Full } else { FlushMode::Delta };
                    let stats = store.flush(&mut state, mode, now, batch).unwrap();
                    let expected = model.flush(mode, now);
                    prop_assert_eq!(stats.rows, expected);
                    prop_assert_eq!(stats.batches, expected.div_ceil(batch as u64));
                    prop_assert_eq!(state.touched(), 0);
                    prop_assert_eq!(&db_rows(&store), &model.db);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Delta flush, pruning.
// ---------------------------------------------------------------------------------------------

#[test]
fn delta_flush_writes_only_touched_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = AggregateStore::open(dir.path().join("agg.db")).unwrap();
    let mut state = AggregateState::new();
    for m in 0..1_000 {
        state.record_trade(&trade(m, 1, 10, true), 1, 0);
    }
    let s = store.flush(&mut state, FlushMode::Delta, 0, 500).unwrap();
    assert_eq!((s.rows, s.batches), (1_000, 2));
    // Nothing touched: nothing written.
    let s = store
        .flush(&mut state, FlushMode::Delta, 1_000, 500)
        .unwrap();
    assert_eq!((s.rows, s.batches), (0, 0));
    for m in [3, 500, 999] {
        state.record_trade(&trade(m, 2, 5, false), 2, 2_000);
    }
    assert_eq!(state.touched(), 3);
    let s = store.flush(&mut state, FlushMode::Delta, 3_000, 2).unwrap();
    assert_eq!((s.rows, s.batches), (3, 2));
    let rows = db_rows(&store);
    let fresh: Vec<u32> = (0..1_000)
        .filter(|m| rows[&key(*m)].updated_ms == 3_000)
        .collect();
    assert_eq!(fresh, vec![3, 500, 999]);
    assert_eq!(rows[&key(500)].trade_count, 2);
    assert_eq!(rows[&key(500)].sell_lamports_total, 5);
    assert_eq!(rows[&key(4)].trade_count, 1);
    // A full flush rewrites every live mint.
    let s = store
        .flush(&mut state, FlushMode::Full, 4_000, 500)
        .unwrap();
    assert_eq!((s.rows, s.batches), (1_000, 2));
}

#[test]
fn pruning_removes_only_flushed_mints_past_the_threshold() {
    const HOUR: i64 = 3_600_000;
    let threshold = 2 * HOUR;
    let dir = tempfile::tempdir().unwrap();
    let mut store = AggregateStore::open(dir.path().join("agg.db")).unwrap();
    let mut state = AggregateState::new();
    state.record_trade(&trade(1, 1, 100, true), 1, 0); // goes quiet at 0
    state.record_trade(&trade(2, 1, 100, true), 1, 0);
    store.flush(&mut state, FlushMode::Delta, 0, 500).unwrap();
    state.record_trade(&trade(2, 1, 100, true), 2, HOUR); // still active at 1 h
    state.record_trade(&trade(3, 1, 100, true), 1, 0); // quiet, never written

    // One sink cycle at 2 h + 1 ms: refresh expiring rows, flush, prune.
    let now = threshold + 1;
    assert_eq!(
        state.touch_expiring(now, threshold),
        1,
        "mint 1's row shows live windows"
    );
    // Mint 3's write fails: it must stay in memory.
    let blocker = rusqlite::Connection::open(dir.path().join("agg.db")).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = store
        .flush(&mut state, FlushMode::Delta, now, 500)
        .unwrap_err();
    assert_eq!(err.error, StoreError::Busy);
    assert_eq!(
        state.prune(now, threshold),
        0,
        "every candidate is still unwritten"
    );
    blocker.execute_batch("ROLLBACK").unwrap();
    let s = store.flush(&mut state, FlushMode::Delta, now, 500).unwrap();
    assert_eq!(s.rows, 3);
    assert_eq!(state.prune(now, threshold), 2);
    assert!(!state.contains(&key(1)) && !state.contains(&key(3)));
    assert!(state.contains(&key(2)), "active within the threshold");
    // Their final rows are in the database, windows empty (the hour has passed).
    let rows = db_rows(&store);
    for m in [1, 3] {
        assert_eq!(rows[&key(m)].window(Window::H1), &WindowStats::default());
        assert_eq!(rows[&key(m)].buy_lamports_total, 100);
    }
    assert_eq!(state.live_mints(), 1);
}

// ---------------------------------------------------------------------------------------------
// Faults at the store level: busy and full, with the model checking nothing was lost.
// ---------------------------------------------------------------------------------------------

fn fill(state: &mut AggregateState, model: &mut Model, mints: u32, now: i64) {
    for m in 0..mints {
        let c = launch(m, m + 1, u64::from(m), LaunchKind::PumpCreate);
        state.record_launch(&c, None, now);
        model.record(now, Ev::Launch(c));
        let t = trade(m, m % 7, u64::from(m) * 1_000, m % 3 != 0);
        state.record_trade(&t, u64::from(m) + 1, now);
        model.record(now, Ev::Trade(t, u64::from(m) + 1));
    }
}

#[test]
fn busy_database_fails_whole_batches_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agg.db");
    let mut store = AggregateStore::open(&path).unwrap();
    let mut state = AggregateState::new();
    let mut model = Model::default();
    fill(&mut state, &mut model, 40, 1_000);

    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    for _ in 0..3 {
        let err = store
            .flush(&mut state, FlushMode::Delta, 2_000, 16)
            .unwrap_err();
        assert_eq!(err.error, StoreError::Busy);
        assert_eq!(err.written.rows, 0);
        assert_eq!(state.touched(), 40, "failed batches stay touched");
    }
    other.execute_batch("COMMIT").unwrap();
    assert_eq!(store.count().unwrap(), 0, "nothing partial was committed");

    let s = store
        .flush(&mut state, FlushMode::Delta, 2_000, 16)
        .unwrap();
    assert_eq!((s.rows, s.batches), (40, 3));
    model.flush(FlushMode::Delta, 2_000);
    assert_eq!(db_rows(&store), model.db);
}

#[test]
fn full_disk_rolls_back_the_batch_and_loses_nothing_once_raised() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = AggregateStore::open(dir.path().join("agg.db")).unwrap();
    let mut state = AggregateState::new();
    let mut model = Model::default();
    fill(&mut state, &mut model, 3_000, 5_000);

    let pages = store.page_count().unwrap();
    assert_eq!(store.set_max_page_count(pages + 4).unwrap(), pages + 4);
    let err = store
        .flush(&mut state, FlushMode::Delta, 6_000, 100)
        .unwrap_err();
    assert_eq!(err.error, StoreError::Full);
    // Some whole batches fit before the cap; the failing one was rolled back entirely.
    assert_eq!(err.written.rows, err.written.batches * 100);
    assert_eq!(store.count().unwrap(), err.written.rows);
    assert_eq!(state.touched() as u64, 3_000 - err.written.rows);

    store.set_max_page_count(1 << 30).unwrap();
    let s = store
        .flush(&mut state, FlushMode::Delta, 6_000, 100)
        .unwrap();
    assert_eq!(s.rows + err.written.rows, 3_000);
    model.flush(FlushMode::Delta, 6_000);
    assert_eq!(db_rows(&store), model.db);
}

// ---------------------------------------------------------------------------------------------
// The sink thread.
// ---------------------------------------------------------------------------------------------

fn fast_config() -> SinkConfig {
    SinkConfig {
        flush_interval: Duration::from_millis(10),
        full_flush_interval: Duration::from_secs(3600),
        flush_batch_size: 7,
        busy_timeout: Duration::ZERO,
        retry_backoff: Duration::from_millis(2),
        max_retry_backoff: Duration::from_millis(20),
        ..SinkConfig::default()
    }
}

/// Waits until `cond` holds on the sink's snapshot (the guard deadline only stops a broken test
/// from hanging; it is not what the test checks).
fn wait_for(sink: &AggregateSink, what: &str, cond: impl Fn(&SinkSnapshot) -> bool) {
    let guard = Instant::now() + Duration::from_secs(60);
    loop {
        let s = sink.snapshot();
        if cond(&s) {
            return;
        }
        assert!(Instant::now() < guard, "never reached: {what}; last {s:?}");
        thread::sleep(Duration::from_millis(2));
    }
}

fn expect_trade_counts(path: &Path, expected: &BTreeMap<Pubkey, u64>) {
    let reader = AggregateStore::open_read_only(path).unwrap();
    let got: BTreeMap<Pubkey, u64> = reader
        .all_rows()
        .unwrap()
        .into_iter()
        .map(|r| (r.mint, r.trade_count))
        .collect();
    assert_eq!(&got, expected);
}

#[test]
fn sink_retries_a_busy_database_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agg.db");
    let sink = AggregateSink::start(&path, fast_config()).unwrap();
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();

    let h = sink.handle();
    let mut expected = BTreeMap::new();
    for m in 0..30u32 {
        for u in 0..=(m % 4) {
            h.record_trade(&trade(m, u, 1_000, true), 1, 1_000).unwrap();
        }
        expected.insert(key(m), u64::from(m % 4) + 1);
    }
    wait_for(&sink, "all applied, two busy failures and a retry", |s| {
        s.events_applied == 73 && s.touched_pending == 30 && s.busy_failures >= 2 && s.retries >= 1
    });
    let s = sink.snapshot();
    assert_eq!(s.rows_written, 0);
    assert_eq!(s.touched_pending, 30);
    other.execute_batch("ROLLBACK").unwrap();
    wait_for(&sink, "everything written", |s| {
        s.touched_pending == 0 && s.rows_written >= 30
    });
    let report = sink.shutdown(Duration::from_secs(10));
    assert!(report.complete);
    assert_eq!(
        report.snapshot.busy_failures,
        report.snapshot.batch_failures
    );
    assert_eq!(report.snapshot.events_applied, 73); // sum of (m % 4) + 1 over 0..30
    assert_eq!(report.snapshot.input_drops, 0);
    expect_trade_counts(&path, &expected);
}

#[test]
fn shutdown_writes_what_is_pending_and_reports_what_it_could_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agg.db");
    // Timers that never fire during the test: only the final flush writes.
    let cfg = SinkConfig {
        flush_interval: Duration::from_secs(3600),
        ..fast_config()
    };
    let sink = AggregateSink::start(&path, cfg.clone()).unwrap();
    let h = sink.handle();
    for m in 0..20 {
        h.record_candidate(&launch(m, 1, 5, LaunchKind::RaydiumPool))
            .unwrap();
    }
    let report = sink.shutdown(Duration::from_secs(10));
    assert!(report.complete);
    assert_eq!(report.final_flush.rows, 20);
    assert_eq!(report.final_flush.batches, 3);
    assert_eq!((report.touched_left, report.input_left), (0, 0));
    // Handles outlive the sink: refused and counted, never lost silently.
    assert_eq!(
        h.record_candidate(&launch(99, 1, 5, LaunchKind::RaydiumPool)),
        Err(RecordError::Closed)
    );

    // Now a database that stays busy through the whole shutdown budget.
    let sink = AggregateSink::start(&path, cfg).unwrap();
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let h = sink.handle();
    for m in 100..110 {
        h.record_candidate(&launch(m, 1, 5, LaunchKind::RaydiumPool))
            .unwrap();
    }
    let report = sink.shutdown(Duration::from_millis(30));
    assert!(!report.complete);
    assert_eq!(report.final_flush.rows, 0);
    assert_eq!(report.touched_left, 10);
    assert_eq!(report.input_left, 0);
    assert!(report.snapshot.busy_failures >= 1);
    other.execute_batch("ROLLBACK").unwrap();
    assert_eq!(
        AggregateStore::open_read_only(&path)
            .unwrap()
            .count()
            .unwrap(),
        20
    );
}

#[test]
fn restart_reads_back_the_persisted_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agg.db");
    let now = sniffer::sink::unix_ms();
    let sink = AggregateSink::start(&path, fast_config()).unwrap();
    let h = sink.handle();
    h.record_candidate(&launch(1, 42, 77, LaunchKind::PumpCreateV2))
        .unwrap();
    for u in 0..5 {
        h.record_trade(&trade(1, u, 2_000, u != 4), 78, now)
            .unwrap();
    }
    h.record_trade(&trade(2, 0, 9, true), 80, now).unwrap();
    assert!(sink.shutdown(Duration::from_secs(10)).complete);

    let reader = AggregateStore::open_read_only(&path).unwrap();
    let r = reader.get(&key(1)).unwrap().unwrap();
    assert_eq!(r.creator, Some(key(42)));
    assert_eq!(r.kind, Some(LaunchKind::PumpCreateV2));
    assert_eq!((r.launch_slot, r.last_slot), (Some(77), 78));
    assert_eq!((r.trade_count, r.buy_count, r.sell_count), (5, 4, 1));
    assert_eq!(
        (r.buy_lamports_total, r.sell_lamports_total),
        (8_000, 2_000)
    );
    assert_eq!(r.window(Window::H1).unique_traders, 5);
    assert_eq!(reader.get(&key(3)).unwrap(), None);
    let top = reader.top_by_buy_volume(Window::H1, 1).unwrap();
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].mint, key(1));

    // A new sink reloads both live mints, and all-time counters continue.
    let sink = AggregateSink::start(&path, fast_config()).unwrap();
    assert_eq!(sink.snapshot().reloaded_mints, 2);
    assert_eq!(sink.snapshot().live_mints, 2);
    sink.handle()
        .record_trade(&trade(1, 9, 1, false), 90, now + 1)
        .unwrap();
    assert!(sink.shutdown(Duration::from_secs(10)).complete);
    let r = AggregateStore::open_read_only(&path)
        .unwrap()
        .get(&key(1))
        .unwrap()
        .unwrap();
    assert_eq!((r.trade_count, r.sell_count, r.last_slot), (6, 2, 90));
    assert_eq!(r.sell_lamports_total, 2_001);
    assert_eq!(r.creator, Some(key(42)));
}

#[test]
fn a_full_input_counts_drops_and_never_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SinkConfig {
        input_capacity: 1,
        ..fast_config()
    };
    let sink = AggregateSink::start(dir.path().join("agg.db"), cfg).unwrap();
    let h = sink.handle();
    let (mut ok, mut full) = (0u64, 0u64);
    for i in 0..20_000u32 {
        match h.record_trade(&trade(i % 50, 0, 1, true), 1, 1) {
            Ok(()) => ok += 1,
            Err(RecordError::Full) => full += 1,
            Err(e) => unreachable!("the sink is running: {e}"),
        }
    }
    let report = sink.shutdown(Duration::from_secs(10));
    let s = &report.snapshot;
    assert!(report.complete);
    assert_eq!((s.input_accepted, s.input_drops), (ok, full));
    assert_eq!(s.events_applied, ok);
    assert_eq!(s.input_pending, 0);
}

#[test]
fn config_comes_from_the_engine_config_and_is_validated() {
    let cfg = SinkConfig::from(&SnifferConfig::default());
    assert_eq!(cfg.flush_interval, Duration::from_secs(5));
    assert_eq!(cfg.full_flush_interval, Duration::from_secs(60));
    assert_eq!(cfg.flush_batch_size, 500);
    assert_eq!(cfg.prune_threshold, Duration::from_secs(7200));
    cfg.validate().unwrap();
    let bad = SinkConfig {
        input_capacity: 0,
        ..cfg.clone()
    };
    assert_eq!(bad.validate().unwrap_err().key(), Some("input_capacity"));
    let bad = SinkConfig {
        max_retry_backoff: Duration::from_millis(1),
        ..cfg
    };
    let dir = tempfile::tempdir().unwrap();
    let err = AggregateSink::start(dir.path().join("agg.db"), bad).unwrap_err();
    assert!(err.to_string().contains("max_retry_backoff"), "{err}");
}

#[test]
fn a_file_that_is_not_a_database_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.db");
    std::fs::write(&path, vec![0xA5u8; 8192]).unwrap();
    assert!(AggregateStore::open(&path).is_err());
    assert!(AggregateStore::open_read_only(&path).is_err());
    assert!(AggregateSink::start(&path, SinkConfig::default()).is_err());
    assert!(AggregateStore::open_read_only(dir.path().join("missing.db")).is_err());
}

#[test]
fn the_same_trade_from_two_feeds_counts_once_and_distinct_trades_all_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agg.db");
    let sink = AggregateSink::start(&path, fast_config()).unwrap();
    let (a, b) = (sink.handle(), sink.handle());
    let t = TradeEvent {
        timestamp: Some(1_700_000_000),
        virtual_sol_reserves: Some(31_000_000_000),
        ..trade(1, 1, 500, true)
    };
    // The same trade as two feeds deliver it, then two real trades that differ only in the
    // reserves after them (the same trader buying the same amount twice in one second).
    a.record_trade(&t, 9, 1_700_000_000_100).unwrap();
    b.record_trade(&t, 9, 1_700_000_000_300).unwrap();
    let again = TradeEvent {
        virtual_sol_reserves: Some(31_000_000_500),
        ..t
    };
    a.record_trade(&again, 9, 1_700_000_000_400).unwrap();
    wait_for(&sink, "applied", |s| s.events_applied == 3);
    let report = sink.shutdown(Duration::from_secs(5));
    assert!(report.complete);
    assert_eq!(report.snapshot.trade_duplicates, 1);
    expect_trade_counts(&path, &[(key(1), 2)].into_iter().collect());
    let row = AggregateStore::open_read_only(&path)
        .unwrap()
        .get(&key(1))
        .unwrap()
        .unwrap();
    assert_eq!(row.buy_lamports_total, 1000);
}

#[test]
fn last_seen_is_the_trades_on_chain_time_not_the_receive_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agg.db");
    let sink = AggregateSink::start(&path, fast_config()).unwrap();
    let h = sink.handle();
    let chain_s = 1_700_000_000i64;
    let t = TradeEvent {
        timestamp: Some(chain_s),
        ..trade(2, 1, 7, true)
    };
    // Received 45 s after the block time (a slow feed, or a replay).
    h.record_trade(&t, 3, chain_s * 1000 + 45_000).unwrap();
    // A trade without a timestamp keeps its receive time; one from the far future is clamped
    // to a minute past its receive time.
    h.record_trade(&trade(3, 1, 7, true), 3, 1_800_000_000_000)
        .unwrap();
    let future = TradeEvent {
        timestamp: Some(4_000_000_000),
        ..trade(4, 1, 7, true)
    };
    h.record_trade(&future, 3, 1_800_000_000_000).unwrap();
    let report = sink.shutdown(Duration::from_secs(5));
    assert!(report.complete);
    let store = AggregateStore::open_read_only(&path).unwrap();
    let seen = |m: u32| store.get(&key(m)).unwrap().unwrap().last_seen_ms;
    assert_eq!(seen(2), chain_s * 1000);
    assert_eq!(seen(3), 1_800_000_000_000);
    assert_eq!(seen(4), 1_800_000_060_000);
}

#[test]
fn the_periodic_full_flush_writes_a_mint_no_delta_flush_would_yet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agg.db");
    // Delta flushes an hour apart: only the full-flush timer can write before shutdown.
    let cfg = SinkConfig {
        flush_interval: Duration::from_secs(3600),
        full_flush_interval: Duration::from_millis(20),
        ..fast_config()
    };
    let sink = AggregateSink::start(&path, cfg).unwrap();
    sink.handle()
        .record_candidate(&launch(5, 6, 7, LaunchKind::PumpCreate))
        .unwrap();
    wait_for(&sink, "a full flush wrote the row", |s| {
        s.full_flushes >= 1 && s.rows_written >= 1
    });
    let s = sink.snapshot();
    assert_eq!(s.delta_flushes, 0, "{s:?}");
    // The row is in the database while the sink still runs.
    let store = AggregateStore::open_read_only(&path).unwrap();
    assert_eq!(store.get(&key(5)).unwrap().unwrap().launch_slot, Some(7));
    drop(store);
    assert!(sink.shutdown(Duration::from_secs(5)).complete);
}

#[test]
fn a_joined_sink_shows_in_the_engines_snapshot_and_degrades_health_while_failing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agg.db");
    let sink = AggregateSink::start(&path, fast_config()).unwrap();
    let engine = sniffer::Sniffer::builder()
        .aggregates(sink.stats())
        .build()
        .unwrap();
    let source = engine.metrics_source();
    assert_eq!(source.health().status, sniffer::HealthStatus::Healthy);
    assert!(source.health().ready);
    // Another connection holds the write lock: the sink's flushes fail and are retried.
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    sink.handle()
        .record_candidate(&launch(1, 2, 3, LaunchKind::PumpCreate))
        .unwrap();
    wait_for(&sink, "a failing flush", |s| s.failing);
    let h = source.health();
    assert_eq!(h.status, sniffer::HealthStatus::Degraded, "{:?}", h.reasons);
    assert!(
        h.reasons
            .iter()
            .any(|r| r.contains("aggregates sink flushes failing")),
        "{:?}",
        h.reasons
    );
    let snap = h
        .snapshot
        .sink
        .expect("the sink's metrics are in the engine's snapshot");
    assert!(snap.busy_failures >= 1 && snap.touched_pending == 1);
    // Not ready while the store fails (`/readyz` and `/health` answer 503).
    assert!(!h.ready);
    assert_eq!(h.not_ready, ["aggregates sink flushes failing".to_string()]);
    assert!(source
        .snapshot()
        .to_prometheus()
        .contains("sniffer_sink_failing 1\n"));
    other.execute_batch("ROLLBACK").unwrap();
    wait_for(&sink, "the retry succeeded", |s| {
        !s.failing && s.touched_pending == 0
    });
    assert_eq!(source.health().status, sniffer::HealthStatus::Healthy);
    assert!(source.health().ready);
    drop(engine);
    assert!(sink.shutdown(Duration::from_secs(5)).complete);
}
