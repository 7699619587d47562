//! [`AggregateSink`]: the sink thread (`sniffer-sink`) that owns an [`AggregateState`] and an
//! [`AggregateStore`], fed through a bounded channel by cloneable [`SinkHandle`]s.
//!
//! The hot path only ever calls `try_send`: a full input is counted in `input_drops` and handed
//! back as [`RecordError::Full`], never waited on. The thread applies events as they come and, on
//! its timers, writes: every `flush_interval` the touched mints (delta flush), every
//! `full_flush_interval` every live mint (safety net, and the refresh of quiet mints' windows),
//! each time in transactions of `flush_batch_size` rows. After each flush, mints inactive for
//! longer than `prune_threshold` whose last state is written leave memory.
//!
//! A failed batch (busy database, full disk, a lost connection, any database error) is rolled
//! back whole, counted, and retried after a backoff that doubles from `retry_backoff` up to
//! `max_retry_backoff`; its mints stay touched, and the thread keeps applying input meanwhile.
//! Shutdown applies what is queued, makes a final delta flush (retrying until the deadline) and
//! reports what was written and what was left ([`SinkReport`]).
//!
//! The store is any [`Store`] (SQLite by [`AggregateSink::start`], PostgreSQL or another by
//! [`AggregateSink::start_with`]). With a Redis write buffer (`buffer.rs`, feature `redis`) every
//! burst of applied events is mirrored to Redis before the thread waits again, committed batches
//! leave Redis' pending set, and a start first writes what an earlier run left pending.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{bounded, select, Receiver, Sender, TrySendError};
use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::Serialize;

use super::backend::{flush_state, Store, TradeMark};
#[cfg(feature = "redis")]
use super::buffer::{BufferMetrics, RedisBuffer};
use super::error::{RecordError, SinkError, StoreError};
use super::state::AggregateState;
use super::store::{AggregateStore, FlushMode, FlushStats};
use crate::candidate::PremintCandidate;
use crate::candidate::{LaunchMeta, RecentIds, TradeEvent};
use crate::config::SnifferConfig;
use crate::decode::Decoded;
use crate::error::ConfigError;
use crate::metrics::{Counter, LatencySummary, SinkSnapshot};

/// The write buffer the sink thread drives, or nothing without the `redis` feature.
#[cfg(feature = "redis")]
type Buffer = RedisBuffer;
/// The write buffer the sink thread drives, or nothing without the `redis` feature.
#[cfg(not(feature = "redis"))]
type Buffer = NoBuffer;

/// Stands in for the write buffer without the `redis` feature: it cannot exist, so every call
/// on it is unreachable and compiles away.
#[cfg(not(feature = "redis"))]
#[derive(Debug)]
enum NoBuffer {}

#[cfg(not(feature = "redis"))]
impl NoBuffer {
    fn recover(&mut self, _: &mut dyn Store, _: usize) -> Result<u64, String> {
        match *self {}
    }
    fn note(&mut self, _: crate::candidate::Pubkey, _: Option<TradeMark>) {
        match *self {}
    }
    fn committed(&mut self, _: &[crate::candidate::Pubkey]) {
        match *self {}
    }
    fn wants_flush(&self) -> bool {
        match *self {}
    }
    fn note_early_flush(&self) {
        match *self {}
    }
    fn held(&self, _: &AggregateState) -> u64 {
        match *self {}
    }
    fn sync(&mut self, _: &AggregateState, _: Instant, _: i64) {
        match *self {}
    }
}

/// Events applied between two timer checks, so a flood of input cannot postpone a flush.
const DRAIN_BURST: usize = 1024;
/// Highest flush latency the histogram tracks (10 min, in ns).
const FLUSH_LATENCY_MAX_NS: u64 = 600_000_000_000;

/// Unix time in milliseconds (the `now` of the sink's events); 0 if the clock is before 1970.
pub fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Settings of the aggregates sink. The first four come from [`SnifferConfig`]
/// (`SinkConfig::from(&cfg)`); the rest have defaults suited to the sink's own thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkConfig {
    /// Delta flush period (touched mints only).
    pub flush_interval: Duration,
    /// Full flush period (every live mint).
    pub full_flush_interval: Duration,
    /// Rows per transaction.
    pub flush_batch_size: usize,
    /// Mints inactive for longer than this leave memory once written.
    pub prune_threshold: Duration,
    /// Events the input channel holds before `record_*` calls are refused (default 8192).
    pub input_capacity: usize,
    /// How long one transaction waits for another connection's write lock before its batch
    /// fails as busy (default 20 ms; the sink retries with backoff rather than wait longer).
    pub busy_timeout: Duration,
    /// First delay before retrying a failed flush (default 100 ms); doubles at each failure.
    pub retry_backoff: Duration,
    /// Longest delay between retries (default 5 s).
    pub max_retry_backoff: Duration,
    /// At start, load the mints last seen within `prune_threshold` back into memory, and look up
    /// a mint not in memory before its first event, so all-time counters continue across
    /// restarts and pruning (default true).
    pub reload: bool,
}

impl Default for SinkConfig {
    fn default() -> Self {
        SinkConfig::from(&SnifferConfig::default())
    }
}

impl From<&SnifferConfig> for SinkConfig {
    fn from(c: &SnifferConfig) -> Self {
        SinkConfig {
            flush_interval: c.flush_interval,
            full_flush_interval: c.full_flush_interval,
            flush_batch_size: c.flush_batch_size,
            prune_threshold: c.prune_threshold,
            input_capacity: 8192,
            busy_timeout: Duration::from_millis(20),
            retry_backoff: Duration::from_millis(100),
            max_retry_backoff: Duration::from_secs(5),
            reload: true,
        }
    }
}

impl SinkConfig {
    /// Checks every setting. The four taken from [`SnifferConfig`] are checked by its rules
    /// for them (the same rule and error text as [`SnifferConfig::validate`]).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming the first bad key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        SnifferConfig {
            flush_interval: self.flush_interval,
            full_flush_interval: self.full_flush_interval,
            flush_batch_size: self.flush_batch_size,
            prune_threshold: self.prune_threshold,
            ..SnifferConfig::default()
        }
        .validate_sink_keys()?;
        let bad = |key: &'static str, value: String, reason: &str| ConfigError::Invalid {
            key,
            value,
            reason: reason.to_owned(),
        };
        if self.retry_backoff.is_zero() {
            return Err(bad(
                "retry_backoff",
                "0s".into(),
                "must be greater than zero",
            ));
        }
        if self.max_retry_backoff < self.retry_backoff {
            return Err(bad(
                "max_retry_backoff",
                humantime::format_duration(self.max_retry_backoff).to_string(),
                "must not be below retry_backoff",
            ));
        }
        if self.input_capacity == 0 {
            return Err(bad("input_capacity", "0".into(), "must be at least 1"));
        }
        Ok(())
    }
}

/// One event for the sink thread.
// The launch variant carries the inline metadata (~360 bytes) so the hot path never allocates;
// boxing it would put an allocation on every `record_launch`.
#[allow(clippy::large_enum_variant)]
enum SinkEvent {
    Launch {
        candidate: PremintCandidate,
        meta: Option<LaunchMeta>,
        now_ms: i64,
    },
    Trade {
        trade: TradeEvent,
        slot: u64,
        now_ms: i64,
    },
}

/// The sink's counters. Each says who writes it; all are `Relaxed` statistics.
#[derive(Debug)]
struct SinkMetrics {
    /// Handles: events queued.
    input_accepted: Counter,
    /// Handles: events refused because the input was full.
    input_drops: Counter,
    /// Handles: events refused after shutdown.
    input_closed: Counter,
    /// Sink thread, from here on.
    events_applied: Counter,
    rows_written: Counter,
    batches: Counter,
    batch_failures: Counter,
    busy_failures: Counter,
    full_failures: Counter,
    retries: Counter,
    delta_flushes: Counter,
    full_flushes: Counter,
    pruned_mints: Counter,
    reloaded_mints: Counter,
    reload_failures: Counter,
    /// Sink thread: trades already applied from another feed (or twice from one), skipped.
    trade_duplicates: Counter,
    /// Sink thread: launches applied without a row, having no mint to aggregate under.
    launches_without_mint: Counter,
    /// Sink thread: input watermark crossings, once per episode.
    input_warn_events: Counter,
    input_critical_events: Counter,
    /// Sink thread: the input's depth when it last looked, and its capacity (set at start).
    input_depth: Counter,
    input_capacity: Counter,
    /// Sink thread: 1 while a failed flush waits for its retry.
    failing: Counter,
    live_mints: Counter,
    touched_pending: Counter,
    /// Locked once per flush by the sink thread and by snapshots; never on the hot path.
    flush_latency: Mutex<Histogram<u64>>,
    /// The write buffer's counters (its owner is the sink thread too).
    #[cfg(feature = "redis")]
    buffer: Option<Arc<BufferMetrics>>,
}

impl Default for SinkMetrics {
    fn default() -> Self {
        SinkMetrics {
            input_accepted: Counter::default(),
            input_drops: Counter::default(),
            input_closed: Counter::default(),
            events_applied: Counter::default(),
            rows_written: Counter::default(),
            batches: Counter::default(),
            batch_failures: Counter::default(),
            busy_failures: Counter::default(),
            full_failures: Counter::default(),
            retries: Counter::default(),
            delta_flushes: Counter::default(),
            full_flushes: Counter::default(),
            pruned_mints: Counter::default(),
            reloaded_mints: Counter::default(),
            reload_failures: Counter::default(),
            trade_duplicates: Counter::default(),
            launches_without_mint: Counter::default(),
            input_warn_events: Counter::default(),
            input_critical_events: Counter::default(),
            input_depth: Counter::default(),
            input_capacity: Counter::default(),
            failing: Counter::default(),
            live_mints: Counter::default(),
            touched_pending: Counter::default(),
            flush_latency: Mutex::new(
                Histogram::new_with_bounds(1, FLUSH_LATENCY_MAX_NS, 3)
                    .expect("constant histogram bounds are valid"),
            ),
            #[cfg(feature = "redis")]
            buffer: None,
        }
    }
}

impl SinkMetrics {
    fn snapshot(&self) -> SinkSnapshot {
        // Applied before accepted: an event is accepted before it is applied, so the difference
        // never goes negative.
        let events_applied = self.events_applied.get();
        let input_accepted = self.input_accepted.get();
        SinkSnapshot {
            flush_latency_ns: LatencySummary::from_histogram(&self.flush_latency.lock()),
            rows_written: self.rows_written.get(),
            batches: self.batches.get(),
            batch_failures: self.batch_failures.get(),
            busy_failures: self.busy_failures.get(),
            full_failures: self.full_failures.get(),
            retries: self.retries.get(),
            delta_flushes: self.delta_flushes.get(),
            full_flushes: self.full_flushes.get(),
            live_mints: self.live_mints.get(),
            pruned_mints: self.pruned_mints.get(),
            touched_pending: self.touched_pending.get(),
            input_accepted,
            events_applied,
            input_pending: input_accepted.saturating_sub(events_applied),
            input_drops: self.input_drops.get(),
            input_closed: self.input_closed.get(),
            reloaded_mints: self.reloaded_mints.get(),
            reload_failures: self.reload_failures.get(),
            trade_duplicates: self.trade_duplicates.get(),
            launches_without_mint: self.launches_without_mint.get(),
            input_depth: self.input_depth.get(),
            input_capacity: self.input_capacity.get(),
            input_warn_events: self.input_warn_events.get(),
            input_critical_events: self.input_critical_events.get(),
            failing: self.failing.get() != 0,
            #[cfg(feature = "redis")]
            buffer: self.buffer.as_ref().map(|b| b.snapshot()),
            #[cfg(not(feature = "redis"))]
            buffer: None,
        }
    }
}

/// What a shutdown did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SinkReport {
    /// Written by the final flush.
    pub final_flush: FlushStats,
    /// Touched mints not written by the deadline (0 on a clean shutdown).
    pub touched_left: u64,
    /// Queued events not applied by the deadline (0 on a clean shutdown).
    pub input_left: u64,
    /// Of `touched_left`, the mints whose last state Redis acknowledged: the next start with the
    /// same write buffer writes them (0 without a buffer).
    pub held_in_buffer: u64,
    /// True when everything queued was applied and written.
    pub complete: bool,
    /// The metrics after the thread stopped.
    pub snapshot: SinkSnapshot,
}

/// The producer side of the sink: cheap to clone, never blocks.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sniffer::{PremintCandidate, Pubkey, sink::{AggregateSink, AggregateStore, SinkConfig}};
///
/// let dir = std::env::temp_dir().join(format!("sniffer-doc-sink-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let sink = AggregateSink::start(dir.join("agg.db"), SinkConfig::default())?;
/// let mint = Pubkey::new([7; 32]);
/// sink.handle().record_candidate(&PremintCandidate { mint, slot: 1, ..Default::default() })?;
/// let report = sink.shutdown(Duration::from_secs(5));
/// assert!(report.complete);
/// // Written by a timed flush or by the final one, depending on how long this took.
/// assert_eq!(report.snapshot.rows_written, 1);
/// assert_eq!(AggregateStore::open_read_only(dir.join("agg.db"))?.count()?, 1);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SinkHandle {
    tx: Sender<SinkEvent>,
    metrics: Arc<SinkMetrics>,
}

impl fmt::Debug for SinkHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinkHandle")
            .field("queued", &self.tx.len())
            .finish()
    }
}

impl SinkHandle {
    fn send(&self, ev: SinkEvent) -> Result<(), RecordError> {
        match self.tx.try_send(ev) {
            Ok(()) => {
                self.metrics.input_accepted.incr();
                Ok(())
            }
            Err(TrySendError::Full(_)) => {
                self.metrics.input_drops.incr();
                Err(RecordError::Full)
            }
            Err(TrySendError::Disconnected(_)) => {
                self.metrics.input_closed.incr();
                Err(RecordError::Closed)
            }
        }
    }

    /// Records a decoded launch (candidate + name, symbol, uri) seen now.
    ///
    /// # Errors
    ///
    /// [`RecordError::Full`] (counted in `input_drops`) or [`RecordError::Closed`] (counted in
    /// `input_closed`); never blocks.
    pub fn record_launch(&self, d: &Decoded) -> Result<(), RecordError> {
        self.record_launch_at(d, unix_ms())
    }

    /// Records a decoded launch seen at `now_ms` (Unix ms).
    ///
    /// # Errors
    ///
    /// As [`record_launch`](Self::record_launch).
    pub fn record_launch_at(&self, d: &Decoded, now_ms: i64) -> Result<(), RecordError> {
        self.send(SinkEvent::Launch {
            candidate: d.candidate,
            meta: (!d.meta.is_empty()).then_some(d.meta),
            now_ms,
        })
    }

    /// Records a launch known only by its candidate (no name or symbol), seen now.
    ///
    /// # Errors
    ///
    /// As [`record_launch`](Self::record_launch).
    pub fn record_candidate(&self, c: &PremintCandidate) -> Result<(), RecordError> {
        self.send(SinkEvent::Launch {
            candidate: *c,
            meta: None,
            now_ms: unix_ms(),
        })
    }

    /// Records a trade seen at `now_ms` (Unix ms, e.g. [`unix_ms()`]) in `slot`.
    ///
    /// # Errors
    ///
    /// As [`record_launch`](Self::record_launch).
    pub fn record_trade(&self, t: &TradeEvent, slot: u64, now_ms: i64) -> Result<(), RecordError> {
        self.send(SinkEvent::Trade {
            trade: *t,
            slot,
            now_ms,
        })
    }

    /// Events queued and not yet applied.
    pub fn queued(&self) -> usize {
        self.tx.len()
    }
}

/// A read-only handle on the sink's metrics, for an engine's snapshots and `/health`
/// ([`SnifferBuilder::aggregates`](crate::SnifferBuilder::aggregates)). It holds no part of the
/// sink's input: keeping it never keeps the sink alive.
#[derive(Clone)]
pub struct SinkStats(Arc<SinkMetrics>);

impl fmt::Debug for SinkStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinkStats").finish_non_exhaustive()
    }
}

impl SinkStats {
    /// The sink's metrics now.
    pub fn snapshot(&self) -> SinkSnapshot {
        self.0.snapshot()
    }
}

/// The aggregates sink: a named thread (`sniffer-sink`) that keeps per-mint rolling state off the
/// hot path and persists it to a [`Store`] (SQLite, PostgreSQL; see the module docs of `sink`
/// for the whole story).
///
/// Dropping it shuts it down as [`shutdown`](Self::shutdown) does with a 5-second budget, and
/// joins the thread.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sniffer::sink::{AggregateSink, SinkConfig};
/// use sniffer::{PremintCandidate, Pubkey, Sniffer};
///
/// let dir = std::env::temp_dir().join(format!("sniffer-doc-aggregates-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let sink = AggregateSink::start(dir.join("agg.db"), SinkConfig::default())?;
/// let handle = sink.handle();
/// // Every delivered launch goes to the sink; the sink's metrics join the engine's snapshot.
/// let engine = Sniffer::builder()
///     .handler(move |c: &PremintCandidate| {
///         let _ = handle.record_candidate(c); // a refusal is counted by the sink
///     })
///     .aggregates(sink.stats())
///     .build()?;
/// let mint = Pubkey::new([7; 32]);
/// engine.ingest_handle().ingest(PremintCandidate { mint, slot: 9, ..Default::default() })?;
/// // A launch whose mint is unknown (seen only through logs that do not name it) has nothing
/// // to aggregate under: applied without a row, and counted.
/// engine.ingest_handle().ingest(PremintCandidate { slot: 10, ..Default::default() })?;
/// let metrics = engine.shutdown(Duration::from_secs(5)).metrics;
/// assert_eq!(metrics.sink.map(|s| s.input_accepted), Some(2));
/// let report = sink.shutdown(Duration::from_secs(5));
/// // Written by a timed flush or by the final one, depending on how long this took.
/// assert_eq!(report.snapshot.rows_written, 1);
/// assert_eq!(report.snapshot.launches_without_mint, 1);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AggregateSink {
    handle: SinkHandle,
    stop: Option<Sender<Instant>>,
    thread: Option<JoinHandle<SinkReport>>,
    store: &'static str,
}

impl fmt::Debug for AggregateSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AggregateSink")
            .field("store", &self.store)
            .field("running", &self.thread.is_some())
            .finish()
    }
}

impl AggregateSink {
    /// Opens (or creates) the database at `path`, reloads its live mints when `cfg.reload` is set,
    /// and starts the sink thread.
    ///
    /// # Errors
    ///
    /// [`SinkError::Config`] for a bad setting, [`SinkError::Store`] when the database cannot be
    /// opened or read, [`SinkError::Spawn`] when the thread cannot start.
    pub fn start(path: impl AsRef<Path>, cfg: SinkConfig) -> Result<AggregateSink, SinkError> {
        cfg.validate()?;
        let store = AggregateStore::open(path.as_ref())?;
        store.set_busy_timeout(cfg.busy_timeout)?;
        Self::launch(Box::new(store), None, cfg)
    }

    /// Starts the sink on any [`Store`] (a [`PgStore`](super::PgStore), or SQLite opened by the
    /// caller), reloading its live mints when `cfg.reload` is set.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub fn start_with(store: Box<dyn Store>, cfg: SinkConfig) -> Result<AggregateSink, SinkError> {
        Self::launch(store, None, cfg)
    }

    /// Starts the sink with a Redis write buffer: first writes every mint an earlier run left
    /// pending in the buffer to `store` (in batches of `flush_batch_size`, one transaction
    /// each), then reloads live mints and starts the thread (see `buffer.rs`).
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start), plus [`SinkError::Buffer`] when the recovery fails (what it
    /// did not write stays pending in Redis for the next start).
    #[cfg(feature = "redis")]
    pub fn start_buffered(
        store: Box<dyn Store>,
        buffer: RedisBuffer,
        cfg: SinkConfig,
    ) -> Result<AggregateSink, SinkError> {
        Self::launch(store, Some(buffer), cfg)
    }

    fn launch(
        mut store: Box<dyn Store>,
        #[allow(unused_mut)] mut buffer: Option<Buffer>,
        cfg: SinkConfig,
    ) -> Result<AggregateSink, SinkError> {
        cfg.validate()?;
        #[allow(unused_mut)] // the buffer's counters join only with the `redis` feature
        let mut metrics = SinkMetrics::default();
        if let Some(b) = &mut buffer {
            let n = b
                .recover(store.as_mut(), cfg.flush_batch_size)
                .map_err(SinkError::Buffer)?;
            if n > 0 {
                tracing::info!(
                    mints = n,
                    "write buffer: recovered the pending mints of an earlier run"
                );
            }
            #[cfg(feature = "redis")]
            {
                metrics.buffer = Some(Arc::clone(&b.metrics));
            }
        }
        let metrics = Arc::new(metrics);
        let mut state = AggregateState::new();
        state.set_trade_log(store.counts_trades());
        if cfg.reload {
            let since = unix_ms().saturating_sub(ms(cfg.prune_threshold));
            for row in store.live_rows(since)? {
                state.seed(&row);
                metrics.reloaded_mints.incr();
            }
            metrics.live_mints.set(state.live_mints() as u64);
        }
        let (tx, rx) = bounded(cfg.input_capacity);
        metrics.input_capacity.set(cfg.input_capacity as u64);
        let (stop_tx, stop_rx) = bounded(1);
        let now = Instant::now();
        let kind = store.kind();
        let core = Core {
            next_flush: now + cfg.flush_interval,
            next_full: now + cfg.full_flush_interval,
            backoff: cfg.retry_backoff,
            retry_at: None,
            full_due: false,
            seen_trades: RecentIds::new(TRADE_MEMORY_MS, TRADE_MEMORY_MAX),
            input_marks: InputMarks::default(),
            state,
            store,
            buffer,
            cfg,
            metrics: Arc::clone(&metrics),
        };
        let thread = thread::Builder::new()
            .name("sniffer-sink".into())
            .spawn(move || core.run(&rx, &stop_rx))
            .map_err(SinkError::Spawn)?;
        Ok(AggregateSink {
            handle: SinkHandle { tx, metrics },
            stop: Some(stop_tx),
            thread: Some(thread),
            store: kind,
        })
    }

    /// A producer handle (cloneable, never blocks).
    pub fn handle(&self) -> SinkHandle {
        self.handle.clone()
    }

    /// The sink's metrics now.
    pub fn snapshot(&self) -> SinkSnapshot {
        self.handle.metrics.snapshot()
    }

    /// A read-only handle on the sink's metrics (see [`SinkStats`]).
    pub fn stats(&self) -> SinkStats {
        SinkStats(Arc::clone(&self.handle.metrics))
    }

    /// Stops the sink: applies the queued events, writes every touched mint (retrying failed
    /// batches until the deadline), joins the thread and reports what was written and what was
    /// left. Handles refuse events afterwards ([`RecordError::Closed`]).
    pub fn shutdown(mut self, timeout: Duration) -> SinkReport {
        self.stop_and_join(timeout)
    }

    fn stop_and_join(&mut self, timeout: Duration) -> SinkReport {
        if let Some(stop) = self.stop.take() {
            // The thread is the only receiver; if it is gone, the join below reports it.
            let _ = stop.try_send(Instant::now() + timeout);
        }
        let joined = self.thread.take().map(JoinHandle::join);
        match joined {
            Some(Ok(report)) => report,
            // Already joined, or the thread panicked: report the counters as they are.
            _ => {
                let snapshot = self.snapshot();
                SinkReport {
                    touched_left: snapshot.touched_pending,
                    input_left: snapshot.input_pending,
                    complete: false,
                    snapshot,
                    ..SinkReport::default()
                }
            }
        }
    }
}

impl Drop for AggregateSink {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop_and_join(Duration::from_secs(5));
        }
    }
}

/// When a trade happened: its on-chain timestamp when it carries one (not later than the receive
/// time plus a minute: a bad clock must not pin `last_seen` in the future), else `now_ms`.
fn trade_time_ms(t: &TradeEvent, now_ms: i64) -> i64 {
    match t.timestamp {
        Some(s) if s > 0 => s.saturating_mul(1000).min(now_ms.saturating_add(60_000)),
        _ => now_ms,
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The sink thread's state: everything it owns, and its timers.
struct Core {
    state: AggregateState,
    store: Box<dyn Store>,
    buffer: Option<Buffer>,
    cfg: SinkConfig,
    metrics: Arc<SinkMetrics>,
    next_flush: Instant,
    next_full: Instant,
    /// Set while a failed flush waits for its retry.
    retry_at: Option<Instant>,
    backoff: Duration,
    /// A full flush is due (its timer passed) and has not succeeded yet.
    full_due: bool,
    /// Trades applied recently, by identity: first sighting wins across feeds.
    seen_trades: RecentIds,
    input_marks: InputMarks,
}

/// The sink input's watermark episodes, with the ring's hysteresis: warn at 80 % (re-armed
/// below 40 %), critical at 95 % (re-armed below 80 %).
#[derive(Debug, Default)]
struct InputMarks {
    warned: bool,
    critical: bool,
}

impl InputMarks {
    /// Looks at the depth; returns which episodes began now (warn, critical).
    fn observe(&mut self, depth: usize, cap: usize) -> (bool, bool) {
        let pct = depth * 100 / cap.max(1);
        let warn = !self.warned && pct >= 80;
        if warn {
            self.warned = true;
        } else if self.warned && pct < 40 {
            self.warned = false;
        }
        let critical = !self.critical && pct >= 95;
        if critical {
            self.critical = true;
        } else if self.critical && pct < 80 {
            self.critical = false;
        }
        (warn, critical)
    }
}

/// How long a trade's identity is remembered, and how many at most: copies of one transaction
/// over several feeds arrive seconds apart at most.
const TRADE_MEMORY_MS: i64 = 10 * 60 * 1000;
const TRADE_MEMORY_MAX: usize = 1 << 18;

impl Core {
    fn run(mut self, rx: &Receiver<SinkEvent>, stop: &Receiver<Instant>) -> SinkReport {
        let deadline = loop {
            let now = Instant::now();
            let due = self
                .retry_at
                .unwrap_or_else(|| self.next_flush.min(self.next_full));
            select! {
                recv(rx) -> ev => {
                    if let Ok(ev) = ev {
                        self.watch_input(rx.len() + 1);
                        self.apply(ev);
                        for ev in rx.try_iter().take(DRAIN_BURST) {
                            self.apply(ev);
                        }
                    }
                }
                recv(stop) -> d => break d.unwrap_or_else(|_| Instant::now() + Duration::from_secs(5)),
                default(due.saturating_duration_since(now)) => {}
            }
            let now = Instant::now();
            // The burst goes to the write buffer before the thread waits again; a buffer past
            // its level asks for the flush now (unless a failed flush waits for its retry).
            if let Some(b) = &mut self.buffer {
                b.sync(&self.state, now, unix_ms());
                if b.wants_flush() && self.retry_at.is_none() && self.state.touched() > 0 {
                    b.note_early_flush();
                    self.next_flush = now;
                }
            }
            if now >= self.next_full {
                self.full_due = true;
            }
            let flush_now = match self.retry_at {
                Some(t) => now >= t,
                None => now >= self.next_flush || self.full_due,
            };
            if flush_now {
                self.cycle(now);
            }
        };
        self.finish(rx, deadline)
    }

    fn apply(&mut self, ev: SinkEvent) {
        let trade_id = match &ev {
            SinkEvent::Trade { trade, now_ms, .. } => {
                let id = trade.identity();
                if !self.seen_trades.first(id, *now_ms) {
                    self.metrics.trade_duplicates.incr();
                    self.metrics.events_applied.incr();
                    return;
                }
                id
            }
            SinkEvent::Launch { .. } => 0,
        };
        let mint = match &ev {
            SinkEvent::Launch { candidate, .. } => candidate.mint,
            SinkEvent::Trade { trade, .. } => trade.mint,
        };
        if self.cfg.reload && !self.state.contains(&mint) {
            match self.store.get_row(&mint) {
                Ok(Some(row)) => {
                    self.state.seed(&row);
                    self.metrics.reloaded_mints.incr();
                }
                Ok(None) => {}
                Err(e) => {
                    self.metrics.reload_failures.incr();
                    tracing::warn!("aggregates sink: cannot reload mint {mint}: {e}");
                }
            }
        }
        match ev {
            SinkEvent::Launch {
                candidate,
                meta,
                now_ms,
            } => {
                if !self.state.record_launch(&candidate, meta.as_ref(), now_ms) {
                    self.metrics.launches_without_mint.incr();
                }
            }
            SinkEvent::Trade {
                trade,
                slot,
                now_ms,
            } => {
                let at = trade_time_ms(&trade, now_ms);
                self.state.record_trade_with_id(&trade, trade_id, slot, at);
                if let Some(b) = &mut self.buffer {
                    b.note(
                        mint,
                        Some(TradeMark {
                            id: trade_id,
                            is_buy: trade.is_buy,
                            lamports: trade.sol_amount,
                        }),
                    );
                }
                self.metrics.events_applied.incr();
                return;
            }
        }
        if let Some(b) = &mut self.buffer {
            b.note(mint, None);
        }
        self.metrics.events_applied.incr();
    }

    /// The input's watermarks (see [`InputMarks`]); one count and one log line per episode.
    fn watch_input(&mut self, depth: usize) {
        let cap = self.cfg.input_capacity.max(1);
        self.metrics.input_depth.set(depth as u64);
        let (warn, critical) = self.input_marks.observe(depth, cap);
        if warn {
            self.metrics.input_warn_events.incr();
            tracing::warn!(
                depth,
                capacity = cap,
                "aggregates sink: input past 80 %; events will be refused if it fills"
            );
        }
        if critical {
            self.metrics.input_critical_events.incr();
            tracing::error!(depth, capacity = cap, "aggregates sink: input past 95 %");
        }
    }

    /// One flush (delta, or full when due), then pruning.
    fn cycle(&mut self, now: Instant) {
        let now_ms = unix_ms();
        let threshold_ms = ms(self.cfg.prune_threshold);
        let full = self.full_due;
        if self.retry_at.is_some() {
            self.metrics.retries.incr();
        }
        self.state.touch_expiring(now_ms, threshold_ms);
        let mode = if full {
            FlushMode::Full
        } else {
            FlushMode::Delta
        };
        match self.flush(mode, now_ms) {
            Ok(_) => {
                self.retry_at = None;
                self.metrics.failing.set(0);
                self.backoff = self.cfg.retry_backoff;
                if full {
                    self.full_due = false;
                    self.next_full = now + self.cfg.full_flush_interval;
                    // What the store keeps beside the rows (trade identities) ages out with the
                    // mints: a failure here is logged and tried again at the next full flush.
                    if let Err(e) = self.store.prune(now_ms.saturating_sub(threshold_ms)) {
                        tracing::warn!("aggregates sink: pruning the {}: {e}", self.store.kind());
                    }
                }
            }
            Err(e) => {
                tracing::warn!(
                    "aggregates sink: {e}; retrying in {}",
                    humantime::format_duration(self.backoff)
                );
                self.retry_at = Some(now + self.backoff);
                self.metrics.failing.set(1);
                self.backoff = (self.backoff * 2).min(self.cfg.max_retry_backoff);
            }
        }
        self.next_flush = now + self.cfg.flush_interval;
        let pruned = self.state.prune(now_ms, threshold_ms);
        self.metrics.pruned_mints.add(pruned as u64);
        self.publish_levels();
    }

    /// One flush with its accounting. Skips the database when there is nothing to write.
    fn flush(&mut self, mode: FlushMode, now_ms: i64) -> Result<FlushStats, StoreError> {
        let m = &self.metrics;
        match mode {
            FlushMode::Delta => m.delta_flushes.incr(),
            FlushMode::Full => m.full_flushes.incr(),
        }
        let empty = match mode {
            FlushMode::Delta => self.state.touched() == 0,
            FlushMode::Full => self.state.live_mints() == 0,
        };
        if empty {
            return Ok(FlushStats::default());
        }
        let started = Instant::now();
        let buffer = &mut self.buffer;
        let res = flush_state(
            self.store.as_mut(),
            &mut self.state,
            mode,
            now_ms,
            self.cfg.flush_batch_size,
            &mut |mints| {
                if let Some(b) = buffer.as_mut() {
                    b.committed(mints);
                }
            },
        );
        let ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let _ = m
            .flush_latency
            .lock()
            .record(ns.clamp(1, FLUSH_LATENCY_MAX_NS));
        let (written, err) = match res {
            Ok(s) => (s, None),
            Err(e) => (e.written, Some(e.error)),
        };
        m.rows_written.add(written.rows);
        m.batches.add(written.batches);
        match err {
            None => Ok(written),
            Some(e) => {
                m.batch_failures.incr();
                match e {
                    StoreError::Busy => m.busy_failures.incr(),
                    StoreError::Full => m.full_failures.incr(),
                    _ => {}
                }
                Err(e)
            }
        }
    }

    fn publish_levels(&self) {
        self.metrics.live_mints.set(self.state.live_mints() as u64);
        self.metrics
            .touched_pending
            .set(self.state.touched() as u64);
    }

    /// Shutdown: apply what is queued, then a final delta flush, retried until `deadline`.
    fn finish(mut self, rx: &Receiver<SinkEvent>, deadline: Instant) -> SinkReport {
        while Instant::now() < deadline {
            match rx.try_recv() {
                Ok(ev) => self.apply(ev),
                Err(_) => break,
            }
        }
        if let Some(b) = &mut self.buffer {
            b.sync(&self.state, Instant::now(), unix_ms());
        }
        let mut final_flush = FlushStats::default();
        let mut backoff = self.cfg.retry_backoff;
        let mut first = true;
        loop {
            if !first {
                self.metrics.retries.incr();
            }
            first = false;
            let before = self.metrics.rows_written.get();
            let before_batches = self.metrics.batches.get();
            let res = self.flush(FlushMode::Delta, unix_ms());
            final_flush.rows += self.metrics.rows_written.get() - before;
            final_flush.batches += self.metrics.batches.get() - before_batches;
            if res.is_ok() {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            thread::sleep(backoff.min(deadline - now));
            backoff = (backoff * 2).min(self.cfg.max_retry_backoff);
        }
        // Committed mints leave Redis' pending set (a restart would only rewrite them, which
        // changes nothing, but costs a write each).
        if let Some(b) = &mut self.buffer {
            b.sync(&self.state, Instant::now(), unix_ms());
        }
        self.publish_levels();
        let snapshot = self.metrics.snapshot();
        let touched_left = self.state.touched() as u64;
        let held_in_buffer = self.buffer.as_ref().map_or(0, |b| b.held(&self.state));
        // Events still in the channel: counted in `input_pending`, never applied.
        let input_left = snapshot.input_pending;
        SinkReport {
            final_flush,
            touched_left,
            input_left,
            held_in_buffer,
            complete: touched_left == 0 && input_left == 0,
            snapshot,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::InputMarks;

    #[test]
    fn input_watermarks_fire_once_per_episode_with_hysteresis() {
        let mut m = InputMarks::default();
        let cap = 100;
        let fired: Vec<(bool, bool)> = [50, 80, 90, 79, 85, 96, 99, 81, 96, 79, 96, 39, 80]
            .into_iter()
            .map(|d| m.observe(d, cap))
            .collect();
        assert_eq!(
            fired,
            [
                (false, false), // 50
                (true, false),  // 80: warn
                (false, false), // 90
                (false, false), // 79: still in the warn episode (re-arms below 40)
                (false, false), // 85
                (false, true),  // 96: critical
                (false, false), // 99
                (false, false), // 81: critical re-arms only below 80
                (false, false), // 96
                (false, false), // 79: critical re-armed
                (false, true),  // 96: a second critical episode
                (false, false), // 39: warn re-armed (critical too)
                (true, false),  // 80: a second warn episode
            ]
        );
    }
}
