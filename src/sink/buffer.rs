//! [`RedisBuffer`]: the aggregates sink's crash-safe write buffer (`--buffer redis://`), the
//! write-buffering of seed 003 (hash per mint, pending set, batch sync, TTL) with a restart that
//! finishes the job.
//!
//! ```text
//! sink thread: apply a burst of events (≤ 1024) ─► one MULTI/EXEC:
//!     HSET  {prefix}:agg:{mint}    the mint's row, absolute totals   (EXPIRE ttl)
//!     RPUSH {prefix}:trades:{mint} its new trades' marks id:buy:lamports (EXPIRE ttl)
//!     SADD  {prefix}:pending       mint
//!   EXEC ok  → the burst's events are acknowledged: a crash from here on loses none of them
//! flush (delta/full): the store commits a batch ─► then, in the next MULTI/EXEC:
//!     DEL {prefix}:trades:{mint}; SREM {prefix}:pending mint
//! start: every pending mint ─► store, in batches of flush_batch_size (one transaction each),
//!        then DEL + SREM; only then are live mints loaded and the thread started
//! ```
//!
//! The rows hold absolute totals, and the trade marks are counted by identity in stores that
//! count them (PostgreSQL), so writing a pending mint twice (a crash between the store's commit
//! and the SREM) changes nothing. A mint leaves the pending set only after the store committed
//! it.
//!
//! Bounded: at most `max_pending` mints pending; an event of a mint that does not fit is
//! **refused** (counted; it stays in memory and reaches the store at the next flush, but is not
//! crash-safe meanwhile), and a mint refused once stays out of the buffer until the store
//! committed it, so its buffered row and trade marks are never partial. Past 80 % of
//! `max_pending` the sink flushes at once (`early_flushes`), and a warn episode is counted
//! (re-armed below 40 %).
//!
//! A Redis outage never blocks the feeds (they only `try_send` into the sink's input): the sink
//! thread keeps applying events in memory, counts the failed round trip, retries with backoff
//! (every command has a timeout), and mirrors everything still unacknowledged once Redis answers.
//! Events the store wrote before Redis came back are counted `unprotected` (they were never
//! crash-safe, and never lost either).
//!
//! Event accounting: `offered == acknowledged + refused + unprotected + unacknowledged`, where
//! `unacknowledged` are the events of mints still waiting for a successful round trip.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::{Commands, ConnectionInfo, IntoConnectionInfo};

use super::backend::{RowWrite, Store, TradeMark};
use super::state::{AggregateState, LaunchRow, WindowStats};
use super::store::{kind_from_name, kind_name};
use crate::candidate::Pubkey;
use crate::config::SnifferConfig;
use crate::metrics::{BufferSnapshot, Counter};

/// The variable the password is read from when the URL has none.
pub const REDIS_PASSWORD_ENV: &str = "SNIFFER_REDIS_PASSWORD";

/// Where the buffer lives; [`fmt::Display`] shows it without the password.
#[derive(Clone)]
pub struct RedisTarget {
    info: ConnectionInfo,
    prefix: String,
    shown: String,
}

impl fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RedisTarget").field(&self.shown).finish()
    }
}

impl fmt::Display for RedisTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl RedisTarget {
    /// Parses `redis://[USER[:PASSWORD]@]HOST[:PORT][/DB][?prefix=NAME]`. Without a password in
    /// the URL, `password` is used (the CLI passes `SNIFFER_REDIS_PASSWORD`). `prefix` (default
    /// `sniffer`) names the keys: give each sniffer sharing one Redis database its own.
    ///
    /// # Errors
    ///
    /// A message naming the problem, never the password.
    pub fn parse(url: &str, password: Option<&str>) -> Result<RedisTarget, String> {
        if !url.starts_with("redis://") {
            return Err("must start with redis:// (no TLS: loopback or a private network)".into());
        }
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut prefix = "sniffer".to_owned();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("prefix", v)) if !v.is_empty() && !v.contains(char::is_whitespace) => {
                    v.clone_into(&mut prefix)
                }
                _ => {
                    return Err(format!(
                        "unknown or empty query parameter `{pair}` (prefix=NAME)"
                    ))
                }
            }
        }
        let mut info = base
            .into_connection_info()
            .map_err(|e| format!("not a Redis URL ({})", e.category()))?;
        let settings = info.redis_settings().clone();
        if settings.password().is_none() {
            if let Some(p) = password.filter(|p| !p.is_empty()) {
                info = info.set_redis_settings(settings.set_password(p));
            }
        }
        let r = info.redis_settings();
        let who = match (r.username(), r.password().is_some()) {
            (Some(u), true) => format!("{u}:***@"),
            (Some(u), false) => format!("{u}@"),
            (None, true) => ":***@".to_owned(),
            (None, false) => String::new(),
        };
        let shown = format!("redis://{who}{}/{}?prefix={prefix}", info.addr(), r.db());
        Ok(RedisTarget {
            info,
            prefix,
            shown,
        })
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// Settings of the write buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BufferConfig {
    /// Most mints pending at once (`buffer_max_pending`, default 100 000; at least 1).
    pub max_pending: usize,
    /// Expiry of each mint's keys, refreshed at each write (`buffer_ttl`, default 24 h): the
    /// safety net against keys of a sniffer that never comes back. A pending mint whose keys
    /// expired before a restart is lost (counted `expired_mints`).
    pub ttl: Duration,
    /// Connect, read and write timeout of each round trip (default 1 s).
    pub timeout: Duration,
    /// First delay before retrying after a failure (default 100 ms); doubles at each failure.
    pub retry_backoff: Duration,
    /// Longest delay between retries (default 5 s).
    pub max_retry_backoff: Duration,
}

impl Default for BufferConfig {
    fn default() -> Self {
        BufferConfig::from(&SnifferConfig::default())
    }
}

impl From<&SnifferConfig> for BufferConfig {
    fn from(c: &SnifferConfig) -> Self {
        BufferConfig {
            max_pending: c.buffer_max_pending,
            ttl: c.buffer_ttl,
            timeout: Duration::from_secs(1),
            retry_backoff: Duration::from_millis(100),
            max_retry_backoff: Duration::from_secs(5),
        }
    }
}

/// The buffer's counters; the sink thread writes all of them (`Relaxed` statistics).
#[derive(Debug, Default)]
pub(crate) struct BufferMetrics {
    offered: Counter,
    acknowledged: Counter,
    refused: Counter,
    unprotected: Counter,
    failures: Counter,
    reconnects: Counter,
    recovered_mints: Counter,
    recovered_trades: Counter,
    expired_mints: Counter,
    committed_mints: Counter,
    early_flushes: Counter,
    warn_events: Counter,
    pending_mints: Counter,
    max_pending: Counter,
    unacknowledged: Counter,
    connected: Counter,
}

impl BufferMetrics {
    pub(crate) fn snapshot(&self) -> BufferSnapshot {
        BufferSnapshot {
            offered: self.offered.get(),
            acknowledged: self.acknowledged.get(),
            refused: self.refused.get(),
            unprotected: self.unprotected.get(),
            unacknowledged: self.unacknowledged.get(),
            failures: self.failures.get(),
            reconnects: self.reconnects.get(),
            recovered_mints: self.recovered_mints.get(),
            recovered_trades: self.recovered_trades.get(),
            expired_mints: self.expired_mints.get(),
            committed_mints: self.committed_mints.get(),
            early_flushes: self.early_flushes.get(),
            warn_events: self.warn_events.get(),
            pending_mints: self.pending_mints.get(),
            max_pending: self.max_pending.get(),
            connected: self.connected.get() != 0,
        }
    }
}

/// What a mint's events since its last acknowledged round trip added.
#[derive(Debug, Default)]
struct Dirty {
    events: u64,
    trades: Vec<TradeMark>,
}

/// The write buffer, owned by the sink thread (see the module docs).
///
/// [`AggregateSink::start_buffered`](super::AggregateSink::start_buffered) drives it: it
/// [`recover`](Self::recover)s at start, [`note`](Self::note)s each applied event,
/// [`sync`](Self::sync)s after each burst, and reports each committed store batch
/// ([`committed`](Self::committed)). Those calls are public so that a program with its own loop
/// and clock (the WAL benchmark, `benches/pg_wal.rs`) drives the same buffer.
pub struct RedisBuffer {
    target: RedisTarget,
    cfg: BufferConfig,
    client: redis::Client,
    con: Option<redis::Connection>,
    /// Mints with events not yet acknowledged, and what those events added.
    dirty: HashMap<Pubkey, Dirty>,
    /// Mints this process put into the pending set (and has not removed yet).
    pending: HashSet<Pubkey>,
    /// Mints refused while the buffer was full: kept out until the store committed them.
    refused: HashSet<Pubkey>,
    /// Mints the store committed, to remove from the pending set at the next round trip.
    unpend: HashSet<Pubkey>,
    /// Events noted and not yet acknowledged, refused or written.
    unacked: u64,
    retry_at: Option<Instant>,
    backoff: Duration,
    warned: bool,
    pub(crate) metrics: Arc<BufferMetrics>,
}

impl fmt::Debug for RedisBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBuffer")
            .field("target", &self.target.shown)
            .field("pending", &self.pending.len())
            .field("dirty", &self.dirty.len())
            .finish_non_exhaustive()
    }
}

impl RedisBuffer {
    /// Connects (a `PING` round trip).
    ///
    /// # Errors
    ///
    /// A message naming the target (never its password) and the failure.
    pub fn connect(target: RedisTarget, cfg: BufferConfig) -> Result<RedisBuffer, String> {
        let client = redis::Client::open(target.info.clone())
            .map_err(|e| format!("{target}: {}", e.category()))?;
        let metrics = Arc::new(BufferMetrics::default());
        metrics.max_pending.set(cfg.max_pending as u64);
        let mut b = RedisBuffer {
            client,
            con: None,
            dirty: HashMap::new(),
            pending: HashSet::new(),
            refused: HashSet::new(),
            unpend: HashSet::new(),
            unacked: 0,
            retry_at: None,
            backoff: cfg.retry_backoff,
            warned: false,
            metrics,
            target,
            cfg,
        };
        let shown = b.target.shown.clone();
        let con = b.connection().map_err(|e| format!("{shown}: {e}"))?;
        let _: String = redis::cmd("PING")
            .query(con)
            .map_err(|e| format!("{shown}: {}", describe(&e)))?;
        b.metrics.reconnects.set(0);
        Ok(b)
    }

    /// The target, without the password.
    pub fn target(&self) -> &RedisTarget {
        &self.target
    }

    /// The buffer's counters now.
    pub fn snapshot(&self) -> BufferSnapshot {
        self.metrics.snapshot()
    }

    fn key(&self, what: &str, mint: &Pubkey) -> String {
        format!("{}:{what}:{mint}", self.target.prefix)
    }

    fn pending_key(&self) -> String {
        format!("{}:pending", self.target.prefix)
    }

    fn connection(&mut self) -> Result<&mut redis::Connection, String> {
        if self.con.is_none() {
            let t = Some(self.cfg.timeout);
            let con = self
                .client
                .get_connection_with_timeout(self.cfg.timeout)
                .map_err(|e| describe(&e))?;
            con.set_read_timeout(t).map_err(|e| describe(&e))?;
            con.set_write_timeout(t).map_err(|e| describe(&e))?;
            self.metrics.reconnects.incr();
            self.con = Some(con);
        }
        Ok(self.con.as_mut().expect("connected above"))
    }

    /// Writes every pending mint of an earlier run to `store`, in batches of `batch_size` (one
    /// transaction each), and removes each batch from the pending set once committed. Returns
    /// the mints recovered. Call it before anything else touches the store.
    ///
    /// # Errors
    ///
    /// A message when Redis or the store fails; what was committed before stays committed, the
    /// rest stays pending for the next start.
    pub fn recover(&mut self, store: &mut dyn Store, batch_size: usize) -> Result<u64, String> {
        let pending_key = self.pending_key();
        let shown = self.target.shown.clone();
        let members: HashSet<String> = self
            .connection()
            .and_then(|c| c.smembers(&pending_key).map_err(|e| describe(&e)))
            .map_err(|e| format!("{shown}: reading the pending set: {e}"))?;
        let mut members: Vec<String> = members.into_iter().collect();
        members.sort_unstable();
        let mut recovered = 0;
        for chunk in members.chunks(batch_size.max(1)) {
            recovered += self.recover_batch(store, chunk)?;
        }
        Ok(recovered)
    }

    fn recover_batch(&mut self, store: &mut dyn Store, chunk: &[String]) -> Result<u64, String> {
        let shown = self.target.shown.clone();
        let keys: Vec<(String, String)> = chunk
            .iter()
            .map(|m| {
                let p = &self.target.prefix;
                (format!("{p}:agg:{m}"), format!("{p}:trades:{m}"))
            })
            .collect();
        let mut read = redis::pipe();
        for (agg, trades) in &keys {
            read.hgetall(agg).lrange(trades, 0, -1);
        }
        let got: Vec<redis::Value> = self
            .connection()
            .and_then(|c| read.query(c).map_err(|e| describe(&e)))
            .map_err(|e| format!("{shown}: reading pending mints: {e}"))?;
        let mut batch = Vec::with_capacity(chunk.len());
        for (mint, pair) in chunk.iter().zip(got.chunks(2)) {
            let fields: HashMap<String, String> =
                redis::from_redis_value(pair[0].clone()).unwrap_or_default();
            let marks: Vec<String> = redis::from_redis_value(pair[1].clone()).unwrap_or_default();
            match row_from_fields(&fields) {
                Some(row) => {
                    let trades: Vec<TradeMark> = marks.iter().filter_map(|t| unmark(t)).collect();
                    self.metrics.recovered_trades.add(trades.len() as u64);
                    batch.push(RowWrite {
                        row,
                        trades,
                        id: None,
                    });
                }
                None => {
                    self.metrics.expired_mints.incr();
                    tracing::warn!(
                        "write buffer {shown}: pending mint {mint} has no (or an unreadable) row: \
                         expired past buffer_ttl; its events since the last flush are lost"
                    );
                }
            }
        }
        if !batch.is_empty() {
            store
                .write_batch(&mut batch)
                .map_err(|e| format!("writing recovered mints to the {}: {e}", store.kind()))?;
        }
        let pending_key = self.pending_key();
        let mut done = redis::pipe();
        done.atomic();
        for ((_, trades), mint) in keys.iter().zip(chunk) {
            done.del(trades).ignore().srem(&pending_key, mint).ignore();
        }
        self.connection()
            .and_then(|c| done.query::<()>(c).map_err(|e| describe(&e)))
            .map_err(|e| format!("{shown}: clearing recovered mints: {e}"))?;
        self.metrics.recovered_mints.add(batch.len() as u64);
        Ok(batch.len() as u64)
    }

    /// Notes one event of `mint` the caller applied to its [`AggregateState`] (with its trade
    /// mark for a trade); the next [`sync`](Self::sync) mirrors it.
    pub fn note(&mut self, mint: Pubkey, trade: Option<TradeMark>) {
        self.metrics.offered.incr();
        if self.refused.contains(&mint) {
            self.metrics.refused.incr();
            return;
        }
        let d = self.dirty.entry(mint).or_default();
        d.events += 1;
        d.trades.extend(trade);
        self.unacked += 1;
        self.metrics.unacknowledged.set(self.unacked);
    }

    /// The store committed these mints: they leave the pending set at the next round trip.
    /// Events not acknowledged by then were never crash-safe: counted `unprotected`.
    pub fn committed(&mut self, mints: &[Pubkey]) {
        for m in mints {
            if let Some(d) = self.dirty.remove(m) {
                self.metrics.unprotected.add(d.events);
                self.unacked -= d.events;
                self.metrics.unacknowledged.set(self.unacked);
            }
            self.refused.remove(m);
            if self.pending.contains(m) {
                self.unpend.insert(*m);
            }
        }
    }

    /// True when the pending set is past 80 % of `max_pending`: the sink should flush now.
    pub fn wants_flush(&self) -> bool {
        self.pending.len().saturating_sub(self.unpend.len()) * 100 >= self.cfg.max_pending * 80
    }

    /// Counts a flush that [`wants_flush`](Self::wants_flush) started.
    pub(crate) fn note_early_flush(&self) {
        self.metrics.early_flushes.incr();
    }

    /// Touched mints whose state is safe in Redis (pending, nothing unacknowledged): a restart
    /// writes them.
    pub fn held(&self, state: &AggregateState) -> u64 {
        state
            .touched_mints()
            .iter()
            .filter(|m| self.pending.contains(*m) && !self.dirty.contains_key(*m))
            .count() as u64
    }

    /// One round trip: removes the committed mints, then writes every dirty mint's row and
    /// trade marks (see the module docs). Skipped while a failure's backoff runs.
    pub fn sync(&mut self, state: &AggregateState, now: Instant, now_ms: i64) {
        if (self.dirty.is_empty() && self.unpend.is_empty())
            || self.retry_at.is_some_and(|t| now < t)
        {
            return;
        }
        let pending_key = self.pending_key();
        let ttl = i64::try_from(self.cfg.ttl.as_secs())
            .unwrap_or(i64::MAX)
            .max(1);
        let mut pipe = redis::pipe();
        pipe.atomic();
        for m in &self.unpend {
            pipe.del(self.key("trades", m))
                .ignore()
                .srem(&pending_key, m.to_string())
                .ignore();
        }
        let mut room = self
            .cfg
            .max_pending
            .saturating_sub(self.pending.len().saturating_sub(self.unpend.len()));
        let (mut sent, mut refused) = (Vec::new(), Vec::new());
        for (mint, d) in &self.dirty {
            let known = self.pending.contains(mint) && !self.unpend.contains(mint);
            if !known && room == 0 {
                refused.push(*mint);
                continue;
            }
            let Some(row) = state.row(mint, now_ms) else {
                continue;
            };
            let agg = self.key("agg", mint);
            pipe.hset_multiple(&agg, &row_fields(&row))
                .ignore()
                .expire(&agg, ttl)
                .ignore();
            if !d.trades.is_empty() {
                let trades = self.key("trades", mint);
                let marks: Vec<String> = d.trades.iter().map(mark).collect();
                pipe.rpush(&trades, marks)
                    .ignore()
                    .expire(&trades, ttl)
                    .ignore();
            }
            pipe.sadd(&pending_key, mint.to_string()).ignore();
            if !known {
                room -= 1;
            }
            sent.push(*mint);
        }
        for m in refused {
            if let Some(d) = self.dirty.remove(&m) {
                self.metrics.refused.add(d.events);
                self.unacked -= d.events;
                self.metrics.unacknowledged.set(self.unacked);
            }
            self.refused.insert(m);
        }
        let res = self
            .connection()
            .and_then(|c| pipe.query::<()>(c).map_err(|e| describe(&e)));
        match res {
            Ok(()) => self.acknowledged(&sent),
            Err(e) => self.failed(now, &e),
        }
    }

    fn acknowledged(&mut self, sent: &[Pubkey]) {
        for m in self.unpend.drain() {
            self.pending.remove(&m);
            self.metrics.committed_mints.incr();
        }
        for m in sent {
            if let Some(d) = self.dirty.remove(m) {
                self.metrics.acknowledged.add(d.events);
                self.unacked -= d.events;
                self.metrics.unacknowledged.set(self.unacked);
            }
            self.pending.insert(*m);
        }
        if self.retry_at.take().is_some() {
            tracing::info!("write buffer {}: Redis answers again", self.target.shown);
        }
        self.backoff = self.cfg.retry_backoff;
        self.metrics.connected.set(1);
        self.watch_level();
    }

    fn failed(&mut self, now: Instant, e: &str) {
        self.con = None;
        self.metrics.failures.incr();
        self.metrics.connected.set(0);
        if self.retry_at.is_none() {
            tracing::warn!(
                "write buffer {}: {e}; events stay in memory (not crash-safe) and are retried",
                self.target.shown
            );
        }
        self.retry_at = Some(now + self.backoff);
        self.backoff = (self.backoff * 2).min(self.cfg.max_retry_backoff);
    }

    /// The pending set's level and its warn episodes (80 %, re-armed below 40 %).
    fn watch_level(&mut self) {
        let n = self.pending.len();
        let max = self.cfg.max_pending.max(1);
        self.metrics.pending_mints.set(n as u64);
        if !self.warned && n * 100 >= max * 80 {
            self.warned = true;
            self.metrics.warn_events.incr();
            tracing::warn!(
                pending = n,
                max_pending = max,
                "write buffer past 80 %: flushing early; mints beyond buffer_max_pending are \
                 refused (kept in memory only)"
            );
        } else if self.warned && n * 100 < max * 40 {
            self.warned = false;
        }
    }
}

/// A Redis error without anything the server or the URL could have put in it but its kind and
/// the server's own message.
fn describe(e: &redis::RedisError) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connection_refusal() {
        "connection refused".into()
    } else if e.is_connection_dropped() || e.is_io_error() {
        format!("connection lost ({})", e.category())
    } else {
        format!("{} ({})", e.category(), e.detail().unwrap_or(""))
    }
}

fn mark(t: &TradeMark) -> String {
    format!("{}:{}:{}", t.id, u8::from(t.is_buy), t.lamports)
}

fn unmark(s: &str) -> Option<TradeMark> {
    let mut it = s.split(':');
    let id = it.next()?.parse().ok()?;
    let is_buy = match it.next()? {
        "1" => true,
        "0" => false,
        _ => return None,
    };
    let lamports = it.next()?.parse().ok()?;
    Some(TradeMark {
        id,
        is_buy,
        lamports,
    })
}

/// A row as hash fields named like the table's columns; absent values are empty strings.
fn row_fields(r: &LaunchRow) -> Vec<(&'static str, String)> {
    let opt = |v: Option<String>| v.unwrap_or_default();
    let [m1, m5, h1] = &r.windows;
    vec![
        ("mint", r.mint.to_string()),
        ("creator", opt(r.creator.map(|c| c.to_string()))),
        ("kind", r.kind.map(kind_name).unwrap_or_default().to_owned()),
        ("name", r.name.clone()),
        ("symbol", r.symbol.clone()),
        ("uri", r.uri.clone()),
        ("launch_slot", opt(r.launch_slot.map(|s| s.to_string()))),
        ("last_slot", r.last_slot.to_string()),
        ("first_seen_ms", r.first_seen_ms.to_string()),
        ("last_seen_ms", r.last_seen_ms.to_string()),
        ("trade_count", r.trade_count.to_string()),
        ("buy_count", r.buy_count.to_string()),
        ("sell_count", r.sell_count.to_string()),
        ("buy_lamports_total", r.buy_lamports_total.to_string()),
        ("sell_lamports_total", r.sell_lamports_total.to_string()),
        ("buy_lamports_1m", m1.buy_lamports.to_string()),
        ("sell_lamports_1m", m1.sell_lamports.to_string()),
        ("traders_1m", m1.unique_traders.to_string()),
        ("buy_lamports_5m", m5.buy_lamports.to_string()),
        ("sell_lamports_5m", m5.sell_lamports.to_string()),
        ("traders_5m", m5.unique_traders.to_string()),
        ("buy_lamports_1h", h1.buy_lamports.to_string()),
        ("sell_lamports_1h", h1.sell_lamports.to_string()),
        ("traders_1h", h1.unique_traders.to_string()),
        ("traders_capped", u8::from(r.traders_capped).to_string()),
        ("updated_ms", r.updated_ms.to_string()),
    ]
}

/// The row back from its hash fields; `None` when the hash is gone (expired) or unreadable.
fn row_from_fields(f: &HashMap<String, String>) -> Option<LaunchRow> {
    let s = |k: &str| f.get(k).map(String::as_str);
    let num = |k: &str| s(k)?.parse::<u64>().ok();
    let ms = |k: &str| s(k)?.parse::<i64>().ok();
    let key = |k: &str| match s(k) {
        None | Some("") => Some(None),
        Some(v) => v.parse::<Pubkey>().ok().map(Some),
    };
    let window = |w: &str| -> Option<WindowStats> {
        Some(WindowStats {
            buy_lamports: num(&format!("buy_lamports_{w}"))?,
            sell_lamports: num(&format!("sell_lamports_{w}"))?,
            unique_traders: num(&format!("traders_{w}"))?,
        })
    };
    Some(LaunchRow {
        mint: key("mint")??,
        creator: key("creator")?,
        kind: match s("kind")? {
            "" => None,
            k => Some(kind_from_name(k)?),
        },
        name: s("name")?.to_owned(),
        symbol: s("symbol")?.to_owned(),
        uri: s("uri")?.to_owned(),
        launch_slot: match s("launch_slot")? {
            "" => None,
            v => Some(v.parse().ok()?),
        },
        last_slot: num("last_slot")?,
        first_seen_ms: ms("first_seen_ms")?,
        last_seen_ms: ms("last_seen_ms")?,
        trade_count: num("trade_count")?,
        buy_count: num("buy_count")?,
        sell_count: num("sell_count")?,
        buy_lamports_total: num("buy_lamports_total")?,
        sell_lamports_total: num("sell_lamports_total")?,
        windows: [window("1m")?, window("5m")?, window("1h")?],
        traders_capped: s("traders_capped")? == "1",
        updated_ms: ms("updated_ms")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_marks_survive_their_redis_form() {
        let row = LaunchRow {
            mint: Pubkey([7; 32]),
            creator: Some(Pubkey([8; 32])),
            kind: Some(crate::candidate::LaunchKind::PumpCreateV2),
            name: "Na:me".into(),
            launch_slot: Some(5),
            last_slot: u64::MAX,
            first_seen_ms: -3,
            trade_count: 9,
            windows: [WindowStats {
                buy_lamports: 1,
                sell_lamports: 2,
                unique_traders: 3,
            }; 3],
            traders_capped: true,
            updated_ms: 77,
            ..LaunchRow::default()
        };
        let fields: HashMap<String, String> = row_fields(&row)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        assert_eq!(row_from_fields(&fields), Some(row.clone()));
        let bare = LaunchRow {
            creator: None,
            kind: None,
            launch_slot: None,
            ..row
        };
        let fields: HashMap<String, String> = row_fields(&bare)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        assert_eq!(row_from_fields(&fields), Some(bare));
        assert_eq!(row_from_fields(&HashMap::new()), None, "an expired hash");
        let t = TradeMark {
            id: u64::MAX,
            is_buy: true,
            lamports: 42,
        };
        assert_eq!(unmark(&mark(&t)), Some(t));
        assert_eq!(unmark("1:2:3"), None);
    }

    #[test]
    fn urls_keep_the_password_out_of_sight() {
        let t = RedisTarget::parse("redis://u:hunter2@127.0.0.1:6390/3?prefix=bot1", None).unwrap();
        assert_eq!(t.prefix(), "bot1");
        let shown = format!("{t} {t:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("127.0.0.1:6390/3"), "{shown}");
        let t = RedisTarget::parse("redis://127.0.0.1:6390/0", Some("s3cret")).unwrap();
        assert_eq!(t.info.redis_settings().password(), Some("s3cret"));
        assert!(!t.to_string().contains("s3cret"));
        for bad in ["http://h/0", "redis://h:1/0?x=1", "redis://h:1/0?prefix="] {
            assert!(RedisTarget::parse(bad, None).is_err(), "{bad}");
        }
    }
}
