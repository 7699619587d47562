//! Launch and trade history in ClickHouse (`--history clickhouse://HOST:PORT/DB`, feature
//! `clickhouse`): every delivered launch and every decoded trade, appended in batches to
//! MergeTree tables a query engine can read (the schema is in `clickhouse.rs`).
//!
//! ```text
//! the bot's consumer ── HistoryHandle::record_launch ─┐ try_send: full → dropped (counted)
//! feed threads (decoded trades) ── record_trade ──────┤
//!                                                     ▼
//!        bounded queue (history_queue rows) ── level watched by the engine's gate:
//!        │                                     pull feeds pause at pause_pct, resume below
//!        │                                     resume_pct (the seeds' bridge: 80 % / 40 %)
//!        ▼
//! sniffer-history thread: a batch closes at history_batch_size rows or history_batch_age
//!   → one INSERT ... FORMAT JSONEachRow per table → acknowledged (2xx) → written
//!   → failed (down, slow, refused) → counted, retried with backoff; the thread reads no more
//!     rows meanwhile, so the queue fills and the gate pauses the pull feeds; live feeds shed
//!     (counted in `dropped`)
//! shutdown: drain the queue and write until the deadline; what is left counts as `lost`
//! ```
//!
//! Nothing blocks the bot or a feed thread: the handles only `try_send`. A row accepted into the
//! queue is written or counted (`lost` at a shutdown deadline); copies of one trade seen over
//! two feeds are written once (`trade_duplicates`), and an INSERT retried after a lost
//! acknowledgement is collapsed by the tables' `ReplacingMergeTree` keys.

mod clickhouse;

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TrySendError};
use serde::Serialize;

pub use clickhouse::{ClickHouseTarget, CLICKHOUSE_PASSWORD_ENV};

use crate::candidate::{LaunchMeta, PremintCandidate, RecentIds, TradeEvent};
use crate::config::SnifferConfig;
use crate::metrics::{HistoryMetrics, HistorySnapshot, HistoryStats};
use clickhouse::{ChError, ClickHouse};

/// How long a trade's identity is remembered for de-duplication, and how many at most.
const TRADE_MEMORY_MS: i64 = 10 * 60 * 1000;
const TRADE_MEMORY_MAX: usize = 1 << 18;

/// Settings of the history writer; [`HistoryConfig::from`] takes the `history_*` keys of a
/// [`SnifferConfig`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Rows the queue holds (`history_queue`, default 16 384).
    pub queue_capacity: usize,
    /// Most rows per INSERT (`history_batch_size`, default 5 000).
    pub batch_size: usize,
    /// A batch is written once its first row waited this long (`history_batch_age`, 1 s).
    pub batch_age: Duration,
    /// Timeout of each HTTP request (default 10 s).
    pub timeout: Duration,
    /// First delay before retrying a failed INSERT (default 100 ms); doubles at each failure.
    pub retry_backoff: Duration,
    /// Longest delay between retries (default 5 s).
    pub max_retry_backoff: Duration,
}

impl From<&SnifferConfig> for HistoryConfig {
    fn from(c: &SnifferConfig) -> Self {
        HistoryConfig {
            queue_capacity: c.history_queue,
            batch_size: c.history_batch_size,
            batch_age: c.history_batch_age,
            timeout: Duration::from_secs(10),
            retry_backoff: Duration::from_millis(100),
            max_retry_backoff: Duration::from_secs(5),
        }
    }
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig::from(&SnifferConfig::default())
    }
}

/// Why the history writer could not start. No thread is left running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// A setting is out of range (names it).
    #[error("{0}")]
    Config(String),
    /// ClickHouse did not answer, or refused to create the tables.
    #[error("{target}: {message}")]
    Unavailable {
        /// The target, without its password.
        target: String,
        /// What failed.
        message: String,
    },
    /// The operating system refused to start the thread.
    #[error("cannot spawn thread `sniffer-history`: {0}")]
    Spawn(#[source] std::io::Error),
}

/// One row for the writer.
// The launch variant carries the candidate and its inline metadata so the bot never allocates.
#[allow(clippy::large_enum_variant)]
enum Row {
    Launch {
        candidate: PremintCandidate,
        meta: Option<LaunchMeta>,
    },
    Trade {
        trade: TradeEvent,
        slot: u64,
        received_ms: i64,
    },
}

/// The producer side: cheap to clone, never blocks.
#[derive(Clone)]
pub struct HistoryHandle {
    tx: Sender<Row>,
    metrics: Arc<HistoryMetrics>,
}

impl fmt::Debug for HistoryHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistoryHandle")
            .field("queued", &self.tx.len())
            .finish()
    }
}

impl HistoryHandle {
    fn send(&self, row: Row) -> bool {
        let is_launch = matches!(row, Row::Launch { .. });
        match self.tx.try_send(row) {
            Ok(()) => {
                if is_launch {
                    self.metrics.launches_offered.incr();
                } else {
                    self.metrics.trades_offered.incr();
                }
                true
            }
            Err(TrySendError::Full(_)) => {
                self.metrics.dropped.incr();
                false
            }
            Err(TrySendError::Disconnected(_)) => {
                self.metrics.closed.incr();
                false
            }
        }
    }

    /// Queues a delivered launch with its name, symbol and uri when known. Returns false when
    /// the queue refused it (counted in `dropped` or `closed`); never blocks.
    pub fn record_launch(&self, c: &PremintCandidate, meta: Option<LaunchMeta>) -> bool {
        self.send(Row::Launch {
            candidate: *c,
            meta: meta.filter(|m| !m.is_empty()),
        })
    }

    /// Queues a decoded trade of `slot` received at `received_ms` (Unix ms). Returns false when
    /// the queue refused it (counted); never blocks.
    pub fn record_trade(&self, t: &TradeEvent, slot: u64, received_ms: i64) -> bool {
        self.send(Row::Trade {
            trade: *t,
            slot,
            received_ms,
        })
    }

    /// The queue's level `(rows, capacity)`: hand it to the engine's gate
    /// ([`SnifferBuilder::watch_queue`](crate::SnifferBuilder::watch_queue)) so pull feeds pause
    /// when ClickHouse falls behind.
    pub fn level(&self) -> (usize, usize) {
        (self.tx.len(), self.tx.capacity().unwrap_or(usize::MAX))
    }
}

/// What a shutdown did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HistoryReport {
    /// Rows not written by the deadline (0 on a clean shutdown).
    pub lost: u64,
    /// True when every accepted row was written.
    pub complete: bool,
    /// The counters after the thread stopped.
    pub snapshot: HistorySnapshot,
}

/// The history writer: a named thread (`sniffer-history`) and its bounded queue.
///
/// Dropping it shuts it down as [`shutdown`](Self::shutdown) does with a 5-second budget.
pub struct HistoryWriter {
    handle: HistoryHandle,
    stop: Option<Sender<Instant>>,
    thread: Option<JoinHandle<HistoryReport>>,
    target: String,
    feeds: Arc<OnceLock<Vec<String>>>,
}

impl fmt::Debug for HistoryWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistoryWriter")
            .field("target", &self.target)
            .field("running", &self.thread.is_some())
            .finish()
    }
}

impl HistoryWriter {
    /// Checks the settings, reaches ClickHouse, creates the database and tables when missing,
    /// and starts the writer thread.
    ///
    /// # Errors
    ///
    /// [`HistoryError::Config`] for a bad setting, [`HistoryError::Unavailable`] when ClickHouse
    /// does not answer or refuses the tables, [`HistoryError::Spawn`] when the thread cannot
    /// start.
    pub fn start(
        target: ClickHouseTarget,
        cfg: HistoryConfig,
    ) -> Result<HistoryWriter, HistoryError> {
        for (key, n) in [
            ("history_queue", cfg.queue_capacity),
            ("history_batch_size", cfg.batch_size),
        ] {
            if n == 0 {
                return Err(HistoryError::Config(format!("{key} must be at least 1")));
            }
        }
        if cfg.batch_age.is_zero() || cfg.retry_backoff.is_zero() {
            return Err(HistoryError::Config(
                "history_batch_age and retry_backoff must be greater than zero".into(),
            ));
        }
        let shown = target.to_string();
        let ch = ClickHouse::new(target, cfg.timeout);
        ch.ensure_tables().map_err(|e| HistoryError::Unavailable {
            target: shown.clone(),
            message: e.to_string(),
        })?;
        let metrics = Arc::new(HistoryMetrics::default());
        metrics.queue_capacity.set(cfg.queue_capacity as u64);
        let (tx, rx) = bounded(cfg.queue_capacity);
        let (stop_tx, stop_rx) = bounded(1);
        let feeds = Arc::new(OnceLock::new());
        let writer = Writer {
            ch,
            backoff: cfg.retry_backoff,
            cfg,
            metrics: Arc::clone(&metrics),
            seen: RecentIds::new(TRADE_MEMORY_MS, TRADE_MEMORY_MAX),
            feeds: Arc::clone(&feeds),
            launches: Vec::new(),
            trades: Vec::new(),
            rows: 0,
        };
        let thread = thread::Builder::new()
            .name("sniffer-history".into())
            .spawn(move || writer.run(&rx, &stop_rx))
            .map_err(HistoryError::Spawn)?;
        Ok(HistoryWriter {
            handle: HistoryHandle { tx, metrics },
            stop: Some(stop_tx),
            thread: Some(thread),
            target: shown,
            feeds,
        })
    }

    /// A producer handle (cloneable, never blocks).
    pub fn handle(&self) -> HistoryHandle {
        self.handle.clone()
    }

    /// A read-only handle on the counters, for
    /// [`MetricsSource::attach_history`](crate::MetricsSource::attach_history).
    pub fn stats(&self) -> HistoryStats {
        HistoryStats(Arc::clone(&self.handle.metrics))
    }

    /// The target, without its password.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Names the engine's feeds (by `feed_id`) for the launch rows' `feed` column; set once,
    /// before the first launch is recorded (rows written before carry the feed's number).
    pub fn set_feed_names(&self, names: Vec<String>) {
        let _ = self.feeds.set(names);
    }

    /// Stops the writer: writes what is queued (retrying until the deadline), joins the thread
    /// and reports what was left. Handles refuse rows afterwards (counted in `closed`).
    pub fn shutdown(mut self, timeout: Duration) -> HistoryReport {
        self.stop_and_join(timeout)
    }

    fn stop_and_join(&mut self, timeout: Duration) -> HistoryReport {
        if let Some(stop) = self.stop.take() {
            let _ = stop.try_send(Instant::now() + timeout);
        }
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(report)) => report,
            _ => {
                let snapshot = self.handle.metrics.snapshot();
                HistoryReport {
                    lost: snapshot.pending,
                    complete: false,
                    snapshot,
                }
            }
        }
    }
}

impl Drop for HistoryWriter {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop_and_join(Duration::from_secs(5));
        }
    }
}

/// The writer thread's state.
struct Writer {
    ch: ClickHouse,
    cfg: HistoryConfig,
    metrics: Arc<HistoryMetrics>,
    seen: RecentIds,
    feeds: Arc<OnceLock<Vec<String>>>,
    backoff: Duration,
    /// The open batch, rendered as JSONEachRow lines per table.
    launches: Vec<u8>,
    trades: Vec<u8>,
    /// Rows in the open batch (both tables).
    rows: usize,
}

impl Writer {
    fn run(mut self, rx: &Receiver<Row>, stop: &Receiver<Instant>) -> HistoryReport {
        let mut opened: Option<Instant> = None;
        let deadline = loop {
            if let Ok(d) = stop.try_recv() {
                break d;
            }
            let wait = opened.map_or(Duration::from_millis(50), |t| {
                (t + self.cfg.batch_age).saturating_duration_since(Instant::now())
            });
            match rx.recv_timeout(wait.min(Duration::from_millis(50))) {
                Ok(row) => {
                    opened.get_or_insert_with(Instant::now);
                    self.add(row);
                    while self.rows < self.cfg.batch_size {
                        match rx.try_recv() {
                            Ok(row) => self.add(row),
                            Err(_) => break,
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break Instant::now(),
            }
            self.metrics.queue_depth.set(rx.len() as u64);
            let aged = opened.is_some_and(|t| t.elapsed() >= self.cfg.batch_age);
            if self.rows > 0 && (self.rows >= self.cfg.batch_size || aged) {
                if let Err(d) = self.write(stop) {
                    break d;
                }
                opened = None;
            }
        };
        self.finish(rx, deadline)
    }

    /// Renders one row into the open batch (a trade seen before is counted and skipped).
    fn add(&mut self, row: Row) {
        match row {
            Row::Launch { candidate, meta } => {
                let feeds = self.feeds.get().map(Vec::as_slice).unwrap_or_default();
                write_launch(&mut self.launches, &candidate, meta.as_ref(), feeds);
            }
            Row::Trade {
                trade,
                slot,
                received_ms,
            } => {
                let id = trade.identity();
                if !self.seen.first(id, received_ms) {
                    self.metrics.trade_duplicates.incr();
                    return;
                }
                write_trade(&mut self.trades, &trade, id, slot, received_ms);
            }
        }
        self.rows += 1;
    }

    /// Writes the open batch, retrying with backoff until it is acknowledged; a stop request
    /// during the retries returns its deadline (the batch stays open for `finish`).
    fn write(&mut self, stop: &Receiver<Instant>) -> Result<(), Instant> {
        loop {
            match self.try_write() {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::warn!(
                        "history {}: {e}; retrying in {} (pull feeds pause when the queue fills)",
                        self.ch.target(),
                        humantime::format_duration(self.backoff)
                    );
                    self.metrics.failing.set(1);
                    if let Ok(d) = stop.recv_timeout(self.backoff) {
                        return Err(d);
                    }
                    self.backoff = (self.backoff * 2).min(self.cfg.max_retry_backoff);
                }
            }
        }
    }

    /// One attempt: an INSERT per table with rows; a table written stays written.
    fn try_write(&mut self) -> Result<(), ChError> {
        for (table, launches) in [("launches", true), ("trades", false)] {
            let body = if launches {
                &self.launches
            } else {
                &self.trades
            };
            if body.is_empty() {
                continue;
            }
            let n = body.iter().filter(|b| **b == b'\n').count() as u64;
            if let Err(e) = self.ch.insert(table, body) {
                self.metrics.insert_failures.incr();
                return Err(e);
            }
            self.metrics.inserts.incr();
            if n > self.metrics.max_batch_rows.get() {
                self.metrics.max_batch_rows.set(n);
            }
            if launches {
                self.metrics.launches_written.add(n);
                self.launches.clear();
            } else {
                self.metrics.trades_written.add(n);
                self.trades.clear();
            }
            self.rows -= n as usize;
        }
        self.metrics.failing.set(0);
        self.backoff = self.cfg.retry_backoff;
        Ok(())
    }

    /// Shutdown: everything queued, in batches, until the deadline; the rest is lost.
    fn finish(mut self, rx: &Receiver<Row>, deadline: Instant) -> HistoryReport {
        loop {
            while self.rows < self.cfg.batch_size {
                match rx.try_recv() {
                    Ok(row) => self.add(row),
                    Err(_) => break,
                }
            }
            if self.rows == 0 {
                break;
            }
            let ok = loop {
                if self.try_write().is_ok() {
                    break true;
                }
                let now = Instant::now();
                if now >= deadline {
                    break false;
                }
                thread::sleep(self.backoff.min(deadline - now));
                self.backoff = (self.backoff * 2).min(self.cfg.max_retry_backoff);
            };
            if !ok {
                break;
            }
        }
        let lost = self.rows as u64 + rx.len() as u64;
        self.metrics.lost.add(lost);
        self.metrics.queue_depth.set(0);
        if lost > 0 {
            tracing::error!(
                lost,
                "history {}: rows not written by the shutdown deadline",
                self.ch.target()
            );
        }
        HistoryReport {
            lost,
            complete: lost == 0,
            snapshot: self.metrics.snapshot(),
        }
    }
}

/// One launch as a JSONEachRow line (the fields of the `--candidates` record).
fn write_launch(
    out: &mut Vec<u8>,
    c: &PremintCandidate,
    meta: Option<&LaunchMeta>,
    feeds: &[String],
) {
    let received_ms = c.received_unix_ns / 1_000_000;
    let feed = feeds
        .get(usize::from(c.feed_id))
        .cloned()
        .unwrap_or_else(|| c.feed_id.to_string());
    // Derived for logs-only pump.fun launches (~9 µs, on this thread, off the bot's path).
    let token_account = c
        .associated_bonding_curve()
        .unwrap_or(c.market_token_account);
    let row = serde_json::json!({
        "received": received_ms / 1000,
        "received_unix_ms": received_ms,
        "mint": c.mint.to_string(),
        "signature": c.signature.to_string(),
        "kind": c.kind,
        "creator": c.creator.to_string(),
        "slot": c.slot,
        "market": c.market.to_string(),
        "market_token_account": token_account.to_string(),
        "token_program": c.token_program,
        "creator_buy_lamports": c.creator_buy_lamports,
        "creator_buy_tokens": c.creator_buy_tokens,
        "name": meta.map_or("", |m| m.name()),
        "symbol": meta.map_or("", |m| m.symbol()),
        "uri": meta.map_or("", |m| m.uri()),
        "score": c.score,
        "priority": c.priority,
        "feed": feed,
    });
    line(out, &row);
}

/// One trade as a JSONEachRow line; `time` is its on-chain time when it has one.
fn write_trade(out: &mut Vec<u8>, t: &TradeEvent, id: u64, slot: u64, received_ms: i64) {
    let time = t.timestamp.filter(|s| *s > 0).unwrap_or(received_ms / 1000);
    let row = serde_json::json!({
        "time": time,
        "received_unix_ms": received_ms.max(0),
        "mint": t.mint.to_string(),
        "trade_id": id,
        "slot": slot,
        "trader": t.user.to_string(),
        "is_buy": u8::from(t.is_buy),
        "sol_amount": t.sol_amount,
        "token_amount": t.token_amount,
        "virtual_sol_reserves": t.virtual_sol_reserves,
        "virtual_token_reserves": t.virtual_token_reserves,
        "real_sol_reserves": t.real_sol_reserves,
        "real_token_reserves": t.real_token_reserves,
        "fee": t.fee,
        "creator_fee": t.creator_fee,
    });
    line(out, &row);
}

fn line(out: &mut Vec<u8>, v: &serde_json::Value) {
    // Serializing a `Value` into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, v);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_render_as_one_json_object_per_line() {
        let c = PremintCandidate {
            slot: 7,
            received_unix_ns: 1_764_698_400_123_000_000,
            ..Default::default()
        };
        let mut out = Vec::new();
        write_launch(
            &mut out,
            &c,
            Some(&LaunchMeta::new("N\n", "S", "u")),
            &["ws".into()],
        );
        let t = TradeEvent {
            sol_amount: u64::MAX,
            is_buy: true,
            timestamp: Some(1_764_698_401),
            ..Default::default()
        };
        write_trade(&mut out, &t, t.identity(), 9, 1_764_698_402_000);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["received"], 1_764_698_400);
        assert_eq!(lines[0]["received_unix_ms"], 1_764_698_400_123u64);
        assert_eq!(lines[0]["name"], "N\n");
        assert_eq!(lines[0]["feed"], "ws");
        assert_eq!(lines[0]["kind"], "pump_create");
        assert_eq!(lines[1]["time"], 1_764_698_401);
        assert_eq!(lines[1]["sol_amount"], u64::MAX);
        assert_eq!(lines[1]["trade_id"], t.identity());
        assert!(lines[1]["fee"].is_null());
    }
}
