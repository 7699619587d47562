//! Per-feed metrics: connection health of live feeds (connects, reconnects, stalls, messages,
//! bytes, silence, downtime, refusals) and each feed's share of first sightings with its lead
//! over the later copies (p50/p99 from a small lock-free histogram).
//!
//! Every counter here is written through the feed's [`FeedStats`] handle: the connection figures
//! by the feed's source, the race figures (`wins`, `duplicates`) by its `FeedSink` on the feed's
//! own thread, except the lead, which the `FeedSink` of the feed that arrived *later* records
//! through the winner's handle (it is the one that measures the lead). Ingest only judges the
//! race (its dedup table) and counts its own totals. All atomics are `Relaxed`: statistics, not
//! synchronisation.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use crossbeam_utils::CachePadded;
use serde::{Deserialize, Serialize};

use super::Counter;
use crate::candidate::monotonic_ns;

/// Sub-buckets per power of two of [`LogHistogram`]: values are kept to within 1/8 (12.5 %).
const SUB_BITS: u32 = 3;
const SUB: usize = 1 << SUB_BITS;
/// Buckets: values below `SUB` exactly, then `SUB` per power of two up to 2^64.
const BUCKETS: usize = SUB + (64 - SUB_BITS as usize) * SUB;

/// A lock-free log-linear histogram of `u64` values (nanoseconds here): `record` is one relaxed
/// add; quantiles come back as the midpoint of their bucket, within 12.5 % of the true value.
/// Small (4 KiB) and fixed, so every feed can have one; HdrHistogram's per-thread recorders
/// would need one recorder per (writer, winner) pair.
#[derive(Debug)]
pub(crate) struct LogHistogram {
    buckets: Box<[AtomicU64]>,
}

impl Default for LogHistogram {
    fn default() -> Self {
        LogHistogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl LogHistogram {
    fn index(v: u64) -> usize {
        if v < SUB as u64 {
            return v as usize;
        }
        let top = 63 - v.leading_zeros(); // >= SUB_BITS
        let sub = (v >> (top - SUB_BITS)) as usize & (SUB - 1);
        SUB + (top - SUB_BITS) as usize * SUB + sub
    }

    /// The smallest and largest value of bucket `i`.
    fn bounds(i: usize) -> (u64, u64) {
        if i < SUB {
            return (i as u64, i as u64);
        }
        let top = (i - SUB) / SUB + SUB_BITS as usize;
        let sub = ((i - SUB) % SUB) as u64;
        let width = 1u64 << (top - SUB_BITS as usize);
        let lo = (1u64 << top) + sub * width;
        (lo, lo + (width - 1))
    }

    pub(crate) fn record(&self, v: u64) {
        self.buckets[Self::index(v)].fetch_add(1, Relaxed);
    }

    /// The value at quantile `q` (0..=1), 0 when empty.
    pub(crate) fn quantile(&self, q: f64) -> u64 {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0;
        }
        // The rank of the value at `q`, 1-based, as HdrHistogram counts it.
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, n) in counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let (lo, hi) = Self::bounds(i);
                return lo + (hi - lo) / 2;
            }
        }
        0
    }
}

/// One feed's counters, written only through its [`FeedStats`] (see the module docs for who
/// calls which method).
#[derive(Debug, Default)]
pub(crate) struct FeedCounters {
    name: String,
    /// False for live sources (sockets that must keep being read).
    can_wait: bool,
    /// Launches this feed saw first (its `FeedSink`).
    wins: Counter,
    /// Launches this feed saw after another feed, or again itself (its `FeedSink`).
    duplicates: Counter,
    /// The lead over later copies: count, sum, max and distribution (the later feed's
    /// `FeedSink`, through this feed's handle).
    lead_count: Counter,
    lead_sum_ns: Counter,
    lead_max_ns: CachePadded<AtomicU64>,
    lead: LogHistogram,
    /// The connection figures below: written by the feed's source on the feed's thread.
    connects: Counter,
    reconnects: Counter,
    stalls: Counter,
    messages: Counter,
    bytes: Counter,
    reply_errors: Counter,
    refusals: Counter,
    connect_failures: Counter,
    unrouted: Counter,
    resumed_skipped: Counter,
    lost: Counter,
    rebalances: Counter,
    /// `monotonic_ns` of the last message (0: none yet).
    last_message_ns: Counter,
    /// `monotonic_ns` when the feed's counters were made (the start of its silence before the
    /// first message).
    created_ns: u64,
    /// Completed disconnected periods.
    downtime_ns: Counter,
    /// `monotonic_ns` since when the feed is disconnected (0: connected, or never disconnected).
    down_since_ns: Counter,
}

impl FeedCounters {
    fn snapshot(&self, id: u16, total_wins: u64, now_ns: u64) -> FeedSnapshot {
        let (wins, count) = (self.wins.get(), self.lead_count.get());
        let down_since = self.down_since_ns.get();
        let current_down = if down_since == 0 {
            0
        } else {
            now_ns.saturating_sub(down_since)
        };
        let last = self.last_message_ns.get();
        FeedSnapshot {
            id,
            name: self.name.clone(),
            live: !self.can_wait,
            wins,
            duplicates: self.duplicates.get(),
            win_share: if total_wins == 0 {
                0.0
            } else {
                wins as f64 / total_wins as f64
            },
            lead_ns: LeadSummary {
                count,
                mean: self.lead_sum_ns.get().checked_div(count).unwrap_or(0),
                max: self.lead_max_ns.load(Relaxed),
                p50: self.lead.quantile(0.50),
                p99: self.lead.quantile(0.99),
            },
            connects: self.connects.get(),
            reconnects: self.reconnects.get(),
            stalls: self.stalls.get(),
            messages: self.messages.get(),
            bytes: self.bytes.get(),
            last_message_age_ms: (last != 0).then(|| now_ns.saturating_sub(last) / 1_000_000),
            silent_ms: now_ns.saturating_sub(if last != 0 { last } else { self.created_ns })
                / 1_000_000,
            downtime_ms: (self.downtime_ns.get() + current_down) / 1_000_000,
            connected: down_since == 0 && self.connects.get() > 0,
            reply_errors: self.reply_errors.get(),
            refusals: self.refusals.get(),
            connect_failures: self.connect_failures.get(),
            unrouted: self.unrouted.get(),
            resumed_skipped: self.resumed_skipped.get(),
            lost: self.lost.get(),
            rebalances: self.rebalances.get(),
        }
    }
}

/// A feed's handle on its own counters: what a live source reports about its connection. Clone
/// it into the source's state; every call is a relaxed atomic write.
///
/// # Examples
///
/// ```
/// use sniffer::feed::FeedStats;
///
/// let stats = FeedStats::detached("example");
/// stats.disconnected();
/// stats.connected();
/// stats.message(512);
/// assert_eq!(stats.snapshot().connects, 1);
/// assert_eq!(stats.snapshot().bytes, 512);
/// ```
#[derive(Clone, Debug)]
pub struct FeedStats(Arc<FeedCounters>);

impl FeedStats {
    /// Counters that belong to no engine (tests, a source used on its own).
    pub fn detached(name: &str) -> Self {
        FeedStats::named(name, true)
    }

    /// The counters of the engine's feed `name`; `can_wait` is false for a live source.
    pub(crate) fn named(name: &str, can_wait: bool) -> Self {
        FeedStats(Arc::new(FeedCounters {
            name: name.to_owned(),
            can_wait,
            created_ns: monotonic_ns(),
            ..FeedCounters::default()
        }))
    }

    /// This feed saw a launch first (its `FeedSink`, after the dedup table's verdict).
    pub(crate) fn won(&self) {
        self.0.wins.incr();
    }

    /// This feed saw a launch another feed (or itself) had delivered (its `FeedSink`).
    pub(crate) fn duplicate(&self) {
        self.0.duplicates.incr();
    }

    /// This feed, the winner, led a later copy by `lead_ns` (the later feed's `FeedSink`, which
    /// measured it).
    pub(crate) fn record_lead(&self, lead_ns: u64) {
        let m = &self.0;
        m.lead_count.incr();
        m.lead_sum_ns.add(lead_ns);
        m.lead_max_ns.fetch_max(lead_ns, Relaxed);
        m.lead.record(lead_ns);
    }

    /// Launches won so far.
    pub(crate) fn wins(&self) -> u64 {
        self.0.wins.get()
    }

    /// The counters as feed `id` of an engine whose feeds won `total_wins` in all.
    pub(crate) fn snapshot_as(&self, id: u16, total_wins: u64, now_ns: u64) -> FeedSnapshot {
        self.0.snapshot(id, total_wins, now_ns)
    }

    /// The connection is up (and subscribed): counts a connect, a reconnect after the first,
    /// and ends the current downtime.
    pub fn connected(&self) {
        let m = &self.0;
        if m.connects.get() > 0 {
            m.reconnects.incr();
        }
        m.connects.incr();
        let since = m.down_since_ns.get();
        if since != 0 {
            m.downtime_ns
                .add(monotonic_ns().saturating_sub(since).max(1));
            m.down_since_ns.set(0);
        }
    }

    /// The connection is down (or not up yet): downtime runs from now until the next
    /// [`FeedStats::connected`].
    pub fn disconnected(&self) {
        if self.0.down_since_ns.get() == 0 {
            self.0.down_since_ns.set(monotonic_ns().max(1));
        }
    }

    /// The read watchdog fired (silence past the stall timeout, or a ping left unanswered).
    pub fn stall(&self) {
        self.0.stalls.incr();
    }

    /// One message of `bytes` bytes was read.
    #[inline]
    pub fn message(&self, bytes: usize) {
        self.message_at(bytes, monotonic_ns());
    }

    /// One message of `bytes` bytes was read at `now_ns` ([`monotonic_ns`](crate::monotonic_ns)).
    #[inline]
    pub fn message_at(&self, bytes: usize, now_ns: u64) {
        let m = &self.0;
        m.messages.incr();
        m.bytes.add(bytes as u64);
        m.last_message_ns.set(now_ns);
    }

    /// The server answered a request with an error.
    pub fn reply_error(&self) {
        self.0.reply_errors.incr();
    }

    /// The server refused the connection (HTTP 401/403/429 at the handshake, say).
    pub fn refused(&self) {
        self.0.refusals.incr();
    }

    /// A connection attempt failed (no route, refused TCP, a TLS certificate not trusted, a
    /// timeout, a failed handshake or subscription); refusals are counted apart as well.
    pub fn connect_failed(&self) {
        self.0.connect_failures.incr();
    }

    /// A notification for a subscription this connection did not make (skipped).
    pub fn unrouted(&self) {
        self.0.unrouted.incr();
    }

    /// A resumed subscription replayed a transaction already handled (skipped).
    pub fn resumed_skipped(&self) {
        self.0.resumed_skipped.incr();
    }

    /// The transport dropped `n` messages before the feed could read them (a core-NATS client
    /// whose subscription buffer overflowed): lost before detection, so outside the engine's
    /// accounting, and counted here.
    pub fn lost(&self, n: u64) {
        self.0.lost.add(n);
    }

    /// The consumer group took this feed's partitions away (a Kafka rebalance: a member joined
    /// or left, or this one was evicted).
    pub fn rebalanced(&self) {
        self.0.rebalances.incr();
    }

    /// The counters now.
    pub fn snapshot(&self) -> FeedSnapshot {
        self.0.snapshot(0, self.0.wins.get(), monotonic_ns())
    }
}

/// How much earlier a feed saw the launches it won than the feeds whose copies came later.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadSummary {
    /// Late copies this feed led (one per duplicate another feed delivered).
    pub count: u64,
    /// Mean lead, ns.
    pub mean: u64,
    /// Largest lead, ns.
    pub max: u64,
    /// Median lead, ns (within 12.5 %).
    #[serde(default)]
    pub p50: u64,
    /// 99th percentile of the lead, ns (within 12.5 %).
    #[serde(default)]
    pub p99: u64,
}

/// One feed: its connection health and its share of first sightings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedSnapshot {
    /// The feed's id (its position in the builder).
    pub id: u16,
    /// The feed's name (a live feed's URL with its secrets removed).
    pub name: String,
    /// True for a live source (read continuously, never paused by the gate).
    #[serde(default)]
    pub live: bool,
    /// Launches this feed saw first (delivered from it).
    pub wins: u64,
    /// Launches this feed saw after another feed, or again itself (dropped as duplicates).
    pub duplicates: u64,
    /// `wins` over the wins of every feed (0 when none).
    pub win_share: f64,
    /// This feed's lead over the later copies.
    pub lead_ns: LeadSummary,
    /// Connections made (live feeds).
    #[serde(default)]
    pub connects: u64,
    /// Connections made after the first.
    #[serde(default)]
    pub reconnects: u64,
    /// Read-watchdog firings: silence past `feed_stall_timeout` or an unanswered ping.
    #[serde(default)]
    pub stalls: u64,
    /// Messages (lines, frames, updates) read.
    #[serde(default)]
    pub messages: u64,
    /// Bytes of those messages.
    #[serde(default)]
    pub bytes: u64,
    /// Time since the last message, ms (`None` before the first).
    #[serde(default)]
    pub last_message_age_ms: Option<u64>,
    /// Time since the last message, or since the feed was made when nothing came yet, ms: what
    /// a "silent for N s" alert reads (Prometheus `sniffer_feed_last_message_age_seconds`).
    #[serde(default)]
    pub silent_ms: u64,
    /// Time spent disconnected (live feeds), including a disconnection in progress, ms.
    #[serde(default)]
    pub downtime_ms: u64,
    /// True while a live feed is connected.
    #[serde(default)]
    pub connected: bool,
    /// Error replies to the feed's requests (subscriptions).
    #[serde(default)]
    pub reply_errors: u64,
    /// Connections the server refused (HTTP 401/403/429 and the like).
    #[serde(default)]
    pub refusals: u64,
    /// Connection attempts that failed (unreachable, TLS not trusted, timeout, failed handshake
    /// or subscription), refusals included.
    #[serde(default)]
    pub connect_failures: u64,
    /// Notifications for unknown subscriptions (skipped).
    #[serde(default)]
    pub unrouted: u64,
    /// Transactions a resumed gRPC subscription (`from_slot`) replayed, or JetStream messages
    /// delivered again, that had been handled before (skipped, not delivered twice).
    #[serde(default)]
    pub resumed_skipped: u64,
    /// Messages the transport dropped before the feed read them (core NATS: the client's
    /// subscription buffer overflowed; a lower bound).
    #[serde(default)]
    pub lost: u64,
    /// Times a consumer group revoked this feed's partitions (Kafka).
    #[serde(default)]
    pub rebalances: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn buckets_cover_every_value_in_order() {
        for i in 0..BUCKETS {
            let (lo, hi) = LogHistogram::bounds(i);
            assert!(lo <= hi);
            assert_eq!(LogHistogram::index(lo), i);
            assert_eq!(LogHistogram::index(hi), i);
            if i + 1 < BUCKETS {
                assert_eq!(LogHistogram::bounds(i + 1).0, hi + 1);
            }
        }
        assert_eq!(LogHistogram::bounds(BUCKETS - 1).1, u64::MAX);
    }

    #[test]
    fn quantiles_of_a_known_distribution() {
        let h = LogHistogram::default();
        assert_eq!(h.quantile(0.5), 0);
        for v in 1..=100u64 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5);
        let p99 = h.quantile(0.99);
        assert!((43_750..=56_250).contains(&p50), "{p50}");
        assert!((86_625..=111_375).contains(&p99), "{p99}");
    }

    proptest! {
        #[test]
        fn a_bucket_midpoint_is_within_an_eighth(v in any::<u64>()) {
            let (lo, hi) = LogHistogram::bounds(LogHistogram::index(v));
            prop_assert!(lo <= v && v <= hi);
            let mid = lo + (hi - lo) / 2;
            prop_assert!(mid.abs_diff(v) <= v / 8 + 1);
        }
    }

    #[test]
    fn downtime_runs_from_disconnect_to_connect() {
        let s = FeedStats::detached("t");
        assert_eq!(s.snapshot().downtime_ms, 0);
        s.disconnected();
        std::thread::sleep(std::time::Duration::from_millis(3));
        s.connected();
        let snap = s.snapshot();
        assert!(snap.downtime_ms >= 3, "{snap:?}");
        assert_eq!((snap.connects, snap.reconnects), (1, 0));
        s.disconnected();
        s.connected();
        assert_eq!(s.snapshot().reconnects, 1);
    }
}
