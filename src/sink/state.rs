//! [`AggregateState`]: the per-mint rolling state of the aggregates sink. Pure (no I/O, no clock):
//! every method takes `now` (Unix milliseconds) explicitly, so tests and benches drive it with
//! any timeline they like.
//!
//! Windows are time-bucketed counters (the classic "sliding window of sub-window counters" used by
//! rate limiters and by Prometheus-style summaries), kept sparse so an idle mint costs nothing:
//!
//! - fine buckets of [`FINE_BUCKET_MS`] (5 s), at most 60 of them (5 minutes), feed the 1-minute
//!   window (the bucket holding `now` and the 11 before it) and the 5-minute window (that bucket
//!   and the 59 before it);
//! - coarse buckets of [`COARSE_BUCKET_MS`] (1 min), at most 60 of them, feed the 1-hour window.
//!
//! A window therefore covers between `W - bucket` and `W` of wall time; that definition is exact
//! and the tests' model uses the same one.
//!
//! Unique traders use a bounded exact set rather than a sketch: each mint keeps up to
//! [`MAX_TRACKED_TRADERS`] traders with the time of their last trade, and a trader counts in a
//! window when that time falls in the window's buckets. Exact counts are what bots compare
//! launches on, and almost every launch stays far below the cap (a HyperLogLog per bucket would
//! cost more memory than the set for the typical tens of traders and would still be approximate).
//! When the cap is reached, traders older than the hour go first, then the least recently seen
//! one; if that one was still inside the hour, the row's `traders_capped` flag says the counts are
//! lower bounds.
//!
//! The dirty ("touched") set holds the mints changed since their last successful write; a delta
//! flush writes exactly those. Pruning only removes mints that are not dirty, so nothing leaves
//! memory before its last state is in the database.
//!
//! With the trade log on ([`AggregateState::set_trade_log`]; the sink turns it on for stores
//! that count trades by identity, such as PostgreSQL), each touched mint also keeps the
//! [`TradeMark`]s of the trades applied since its last write, handed to the store with its row.

use std::collections::{HashMap, HashSet, VecDeque};

use super::backend::TradeMark;
use crate::candidate::{LaunchKind, PremintCandidate, Pubkey};
use crate::candidate::{LaunchMeta, TradeEvent};

/// Width of a fine bucket (1-minute and 5-minute windows), ms.
pub const FINE_BUCKET_MS: i64 = 5_000;
/// Width of a coarse bucket (1-hour window), ms.
pub const COARSE_BUCKET_MS: i64 = 60_000;
/// Most traders remembered per mint (see the module docs).
pub const MAX_TRACKED_TRADERS: usize = 512;

/// Fine buckets kept: 5 minutes.
const FINE_KEEP: i64 = 60;
/// Coarse buckets kept: 1 hour.
const COARSE_KEEP: i64 = 60;

/// A rolling window of the aggregates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Window {
    /// The last minute (12 buckets of 5 s).
    M1,
    /// The last 5 minutes (60 buckets of 5 s).
    M5,
    /// The last hour (60 buckets of 1 min).
    H1,
}

impl Window {
    /// The three windows, shortest first (the order of [`LaunchRow::windows`]).
    pub const ALL: [Window; 3] = [Window::M1, Window::M5, Window::H1];

    /// Position in [`LaunchRow::windows`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Column-name suffix in the `launches` table (`1m`, `5m`, `1h`).
    pub const fn suffix(self) -> &'static str {
        match self {
            Window::M1 => "1m",
            Window::M5 => "5m",
            Window::H1 => "1h",
        }
    }

    /// Bucket width and the number of buckets the window spans.
    const fn buckets(self) -> (i64, i64) {
        match self {
            Window::M1 => (FINE_BUCKET_MS, 12),
            Window::M5 => (FINE_BUCKET_MS, 60),
            Window::H1 => (COARSE_BUCKET_MS, 60),
        }
    }

    /// True when an event at `t_ms` falls in this window as seen at `now_ms`. Events later than
    /// `now` count too: another thread's clock may run slightly ahead of the flusher's.
    pub fn contains(self, t_ms: i64, now_ms: i64) -> bool {
        let (width, n) = self.buckets();
        t_ms.div_euclid(width) > now_ms.div_euclid(width) - n
    }
}

/// Buy and sell volume and unique traders over one window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct WindowStats {
    /// Lamports spent buying.
    pub buy_lamports: u64,
    /// Lamports received selling.
    pub sell_lamports: u64,
    /// Distinct traders (a lower bound when the row's `traders_capped` is set).
    pub unique_traders: u64,
}

/// One mint's aggregates as written to (and read from) the `launches` table.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct LaunchRow {
    /// The token's mint.
    pub mint: Pubkey,
    /// The launch's creator; `None` while only trades were seen.
    pub creator: Option<Pubkey>,
    /// The launch kind; `None` while only trades were seen.
    pub kind: Option<LaunchKind>,
    /// Token name (empty when unknown).
    pub name: String,
    /// Token symbol (empty when unknown).
    pub symbol: String,
    /// Metadata uri (empty when unknown).
    pub uri: String,
    /// Slot of the launch transaction.
    pub launch_slot: Option<u64>,
    /// Highest slot of any event seen for the mint.
    pub last_slot: u64,
    /// Unix ms of the first event seen.
    pub first_seen_ms: i64,
    /// Unix ms of the last event seen (`last_seen_ts`).
    pub last_seen_ms: i64,
    /// Trades seen (all time).
    pub trade_count: u64,
    /// Buys seen (all time).
    pub buy_count: u64,
    /// Sells seen (all time).
    pub sell_count: u64,
    /// Lamports bought (all time).
    pub buy_lamports_total: u64,
    /// Lamports sold (all time).
    pub sell_lamports_total: u64,
    /// Per-window stats, in [`Window::ALL`] order, as of `updated_ms`.
    pub windows: [WindowStats; 3],
    /// True when the trader cap evicted a trader still inside the hour: trader counts are lower
    /// bounds.
    pub traders_capped: bool,
    /// Unix ms the windows were computed at (the flush time).
    pub updated_ms: i64,
}

impl LaunchRow {
    /// The stats of one window.
    pub fn window(&self, w: Window) -> &WindowStats {
        &self.windows[w.index()]
    }
}

/// Volume summed over one bucket.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    idx: i64,
    buy: u64,
    sell: u64,
}

/// Sparse, sorted buckets of one width; at most `keep` of them, ending at the newest.
#[derive(Clone, Debug, Default)]
struct Buckets(VecDeque<Bucket>);

impl Buckets {
    fn add(&mut self, idx: i64, keep: i64, is_buy: bool, lamports: u64) {
        let newest = self.0.back().map_or(idx, |b| b.idx.max(idx));
        // Older than anything the windows can still see: counted in the totals only.
        if idx <= newest - keep {
            return;
        }
        // Events arrive almost in order: search from the back.
        let pos = self.0.iter().rposition(|b| b.idx <= idx);
        let slot = match pos {
            Some(p) if self.0[p].idx == idx => p,
            Some(p) => {
                self.0.insert(
                    p + 1,
                    Bucket {
                        idx,
                        buy: 0,
                        sell: 0,
                    },
                );
                p + 1
            }
            None => {
                self.0.push_front(Bucket {
                    idx,
                    buy: 0,
                    sell: 0,
                });
                0
            }
        };
        let b = &mut self.0[slot];
        if is_buy {
            b.buy = b.buy.saturating_add(lamports);
        } else {
            b.sell = b.sell.saturating_add(lamports);
        }
        while self.0.front().is_some_and(|b| b.idx <= newest - keep) {
            self.0.pop_front();
        }
    }

    /// (buy, sell) over the buckets with index above `floor`.
    fn sum_after(&self, floor: i64) -> (u64, u64) {
        self.0
            .iter()
            .rev()
            .take_while(|b| b.idx > floor)
            .fold((0u64, 0u64), |(buy, sell), b| {
                (buy.saturating_add(b.buy), sell.saturating_add(b.sell))
            })
    }
}

/// The rolling state of one mint.
#[derive(Clone, Debug, Default)]
struct MintState {
    creator: Option<Pubkey>,
    kind: Option<LaunchKind>,
    name: String,
    symbol: String,
    uri: String,
    launch_slot: Option<u64>,
    last_slot: u64,
    first_seen_ms: i64,
    last_seen_ms: i64,
    trade_count: u64,
    buy_count: u64,
    sell_count: u64,
    buy_total: u64,
    sell_total: u64,
    fine: Buckets,
    coarse: Buckets,
    traders: HashMap<Pubkey, i64>,
    /// Latest last-trade time of a trader the cap evicted (`i64::MIN`: none).
    evicted_last_seen_ms: i64,
    /// `updated_ms` of the last successful write (`None`: never written).
    written_at_ms: Option<i64>,
    /// The row's `id` in the `launches` table, once a write by this process committed it.
    row_id: Option<i64>,
    /// Trades applied since the last successful write (only with the trade log on).
    pending_trades: Vec<TradeMark>,
}

impl MintState {
    fn new(now_ms: i64) -> Self {
        MintState {
            first_seen_ms: now_ms,
            last_seen_ms: now_ms,
            evicted_last_seen_ms: i64::MIN,
            ..MintState::default()
        }
    }

    fn seen(&mut self, slot: u64, now_ms: i64) {
        self.first_seen_ms = self.first_seen_ms.min(now_ms);
        self.last_seen_ms = self.last_seen_ms.max(now_ms);
        self.last_slot = self.last_slot.max(slot);
    }

    fn note_trader(&mut self, user: Pubkey, now_ms: i64) {
        if let Some(t) = self.traders.get_mut(&user) {
            *t = (*t).max(now_ms);
            return;
        }
        if self.traders.len() >= MAX_TRACKED_TRADERS {
            let newest = self.last_seen_ms.max(now_ms);
            self.traders.retain(|_, t| Window::H1.contains(*t, newest));
        }
        if self.traders.len() >= MAX_TRACKED_TRADERS {
            let oldest = self
                .traders
                .iter()
                .min_by_key(|(k, t)| (**t, **k))
                .map(|(k, t)| (*k, *t));
            if let Some((k, t)) = oldest {
                self.traders.remove(&k);
                self.evicted_last_seen_ms = self.evicted_last_seen_ms.max(t);
            }
        }
        self.traders.insert(user, now_ms);
    }

    fn row(&self, mint: Pubkey, now_ms: i64) -> LaunchRow {
        let mut windows = [WindowStats::default(); 3];
        for w in Window::ALL {
            let (width, n) = w.buckets();
            let floor = now_ms.div_euclid(width) - n;
            let buckets = if width == FINE_BUCKET_MS {
                &self.fine
            } else {
                &self.coarse
            };
            let (buy, sell) = buckets.sum_after(floor);
            let unique = self
                .traders
                .values()
                .filter(|t| w.contains(**t, now_ms))
                .count();
            windows[w.index()] = WindowStats {
                buy_lamports: buy,
                sell_lamports: sell,
                unique_traders: unique as u64,
            };
        }
        LaunchRow {
            mint,
            creator: self.creator,
            kind: self.kind,
            name: self.name.clone(),
            symbol: self.symbol.clone(),
            uri: self.uri.clone(),
            launch_slot: self.launch_slot,
            last_slot: self.last_slot,
            first_seen_ms: self.first_seen_ms,
            last_seen_ms: self.last_seen_ms,
            trade_count: self.trade_count,
            buy_count: self.buy_count,
            sell_count: self.sell_count,
            buy_lamports_total: self.buy_total,
            sell_lamports_total: self.sell_total,
            windows,
            traders_capped: self.evicted_last_seen_ms != i64::MIN
                && Window::H1.contains(self.evicted_last_seen_ms, now_ms),
            updated_ms: now_ms,
        }
    }
}

/// Per-mint rolling aggregates plus the set of mints touched since their last write.
///
/// Memory is bounded by the live mints: each holds at most 60 + 60 buckets and
/// [`MAX_TRACKED_TRADERS`] traders, and [`prune`](Self::prune) removes the inactive ones.
///
/// # Examples
///
/// ```
/// use sniffer::{PremintCandidate, Pubkey, sink::{AggregateState, Window}};
///
/// let mut state = AggregateState::new();
/// let launch = PremintCandidate { mint: Pubkey::new([7; 32]), slot: 9, ..Default::default() };
/// state.record_launch(&launch, None, 1_000);
/// assert_eq!(state.live_mints(), 1);
/// assert_eq!(state.touched(), 1);
/// let row = state.row(&launch.mint, 2_000).unwrap();
/// assert_eq!(row.launch_slot, Some(9));
/// assert_eq!(row.window(Window::M1).buy_lamports, 0);
/// ```
#[derive(Debug, Default)]
pub struct AggregateState {
    mints: HashMap<Pubkey, MintState>,
    touched: HashSet<Pubkey>,
    /// Keep each touched mint's [`TradeMark`]s until its next write.
    trade_log: bool,
}

impl AggregateState {
    /// An empty state.
    pub fn new() -> Self {
        AggregateState::default()
    }

    /// Mints held in memory.
    pub fn live_mints(&self) -> usize {
        self.mints.len()
    }

    /// Mints changed since their last successful write.
    pub fn touched(&self) -> usize {
        self.touched.len()
    }

    /// True when `mint` is held in memory.
    pub fn contains(&self, mint: &Pubkey) -> bool {
        self.mints.contains_key(mint)
    }

    /// True when `mint` changed since its last successful write.
    pub fn is_touched(&self, mint: &Pubkey) -> bool {
        self.touched.contains(mint)
    }

    /// Records a launch (from a decoded record or a bare candidate). Identity fields (creator,
    /// kind, launch slot, name, symbol, uri) keep their first known value: a second feed
    /// reporting the same launch does not overwrite them, and a candidate without metadata does
    /// not blank names set earlier.
    ///
    /// Returns false, recording nothing, for a launch without a mint: one seen only through
    /// logs that do not name it (LaunchLab, DBC, Moonshot) has nothing to aggregate under (the
    /// sink counts it in `launches_without_mint`).
    pub fn record_launch(
        &mut self,
        c: &PremintCandidate,
        meta: Option<&LaunchMeta>,
        now_ms: i64,
    ) -> bool {
        if c.mint == Pubkey::ZERO {
            return false;
        }
        let m = self
            .mints
            .entry(c.mint)
            .or_insert_with(|| MintState::new(now_ms));
        m.seen(c.slot, now_ms);
        m.creator.get_or_insert(c.creator);
        m.kind.get_or_insert(c.kind);
        m.launch_slot.get_or_insert(c.slot);
        if let Some(meta) = meta {
            for (field, value) in [
                (&mut m.name, meta.name()),
                (&mut m.symbol, meta.symbol()),
                (&mut m.uri, meta.uri()),
            ] {
                if field.is_empty() {
                    value.clone_into(field);
                }
            }
        }
        self.touched.insert(c.mint);
        true
    }

    /// Keeps (or stops keeping) the [`TradeMark`]s of each touched mint until its next write
    /// (see the module docs). Off by default.
    pub fn set_trade_log(&mut self, on: bool) {
        self.trade_log = on;
    }

    /// The trades applied to `mint` since its last write (empty with the trade log off).
    pub fn pending_trades(&self, mint: &Pubkey) -> &[TradeMark] {
        self.mints
            .get(mint)
            .map_or(&[][..], |m| m.pending_trades.as_slice())
    }

    /// Records a trade seen at `now_ms` in `slot`.
    pub fn record_trade(&mut self, t: &TradeEvent, slot: u64, now_ms: i64) {
        let id = if self.trade_log { t.identity() } else { 0 };
        self.record_trade_with_id(t, id, slot, now_ms);
    }

    /// [`record_trade`](Self::record_trade) with the trade's identity computed by the caller.
    pub(crate) fn record_trade_with_id(&mut self, t: &TradeEvent, id: u64, slot: u64, now_ms: i64) {
        let m = self
            .mints
            .entry(t.mint)
            .or_insert_with(|| MintState::new(now_ms));
        if self.trade_log {
            m.pending_trades.push(TradeMark {
                id,
                is_buy: t.is_buy,
                lamports: t.sol_amount,
            });
        }
        m.seen(slot, now_ms);
        m.trade_count = m.trade_count.saturating_add(1);
        if t.is_buy {
            m.buy_count = m.buy_count.saturating_add(1);
            m.buy_total = m.buy_total.saturating_add(t.sol_amount);
        } else {
            m.sell_count = m.sell_count.saturating_add(1);
            m.sell_total = m.sell_total.saturating_add(t.sol_amount);
        }
        m.fine.add(
            now_ms.div_euclid(FINE_BUCKET_MS),
            FINE_KEEP,
            t.is_buy,
            t.sol_amount,
        );
        m.coarse.add(
            now_ms.div_euclid(COARSE_BUCKET_MS),
            COARSE_KEEP,
            t.is_buy,
            t.sol_amount,
        );
        m.note_trader(t.user, now_ms);
        self.touched.insert(t.mint);
    }

    /// Restores a mint from its stored row (after a restart): identity, first/last seen and the
    /// all-time totals come back; window buckets and the trader set are not stored, so windows
    /// restart empty. Does nothing when the mint is already in memory; the mint is not touched.
    pub fn seed(&mut self, row: &LaunchRow) {
        self.mints.entry(row.mint).or_insert_with(|| MintState {
            creator: row.creator,
            kind: row.kind,
            name: row.name.clone(),
            symbol: row.symbol.clone(),
            uri: row.uri.clone(),
            launch_slot: row.launch_slot,
            last_slot: row.last_slot,
            first_seen_ms: row.first_seen_ms,
            last_seen_ms: row.last_seen_ms,
            trade_count: row.trade_count,
            buy_count: row.buy_count,
            sell_count: row.sell_count,
            buy_total: row.buy_lamports_total,
            sell_total: row.sell_lamports_total,
            evicted_last_seen_ms: i64::MIN,
            written_at_ms: Some(row.updated_ms),
            ..MintState::default()
        });
    }

    /// The row `mint` would be written as at `now_ms`.
    pub fn row(&self, mint: &Pubkey, now_ms: i64) -> Option<LaunchRow> {
        self.mints.get(mint).map(|m| m.row(*mint, now_ms))
    }

    /// The touched mints, sorted (so batches are deterministic).
    pub fn touched_mints(&self) -> Vec<Pubkey> {
        let mut v: Vec<Pubkey> = self.touched.iter().copied().collect();
        v.sort_unstable();
        v
    }

    /// Every live mint, sorted.
    pub fn all_mints(&self) -> Vec<Pubkey> {
        let mut v: Vec<Pubkey> = self.mints.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// Marks rows as written at `written_at_ms`: they leave the touched set. Call only after the
    /// transaction holding them committed.
    pub fn mark_written<'a>(
        &mut self,
        mints: impl IntoIterator<Item = &'a Pubkey>,
        written_at_ms: i64,
    ) {
        for mint in mints {
            self.touched.remove(mint);
            if let Some(m) = self.mints.get_mut(mint) {
                m.written_at_ms = Some(written_at_ms);
                m.pending_trades.clear();
            }
        }
    }

    /// The table row id learned at the mint's last committed write.
    pub(crate) fn row_id(&self, mint: &Pubkey) -> Option<i64> {
        self.mints.get(mint).and_then(|m| m.row_id)
    }

    /// Records the table row id of a committed write.
    pub(crate) fn set_row_id(&mut self, mint: &Pubkey, id: i64) {
        if let Some(m) = self.mints.get_mut(mint) {
            m.row_id = Some(id);
        }
    }

    /// Prepares pruning: every mint inactive for longer than `threshold_ms` whose last written
    /// row may still show non-zero windows is touched again, so the next flush writes its final
    /// (quiet) state before [`prune`](Self::prune) drops it. Returns how many were touched.
    pub fn touch_expiring(&mut self, now_ms: i64, threshold_ms: i64) -> usize {
        let mut n = 0;
        for (mint, m) in &self.mints {
            let inactive = m.last_seen_ms < now_ms.saturating_sub(threshold_ms);
            // Every window is empty once the hour (plus a bucket) has passed since the last event.
            let quiet_from = m
                .last_seen_ms
                .saturating_add(COARSE_BUCKET_MS * (COARSE_KEEP + 1));
            let stale_row = m.written_at_ms.is_none_or(|w| w < quiet_from);
            if inactive && stale_row && self.touched.insert(*mint) {
                n += 1;
            }
        }
        n
    }

    /// Removes the mints inactive for longer than `threshold_ms` (last seen before
    /// `now_ms - threshold_ms`) that are not touched, i.e. whose last state is written. Returns how
    /// many were removed.
    pub fn prune(&mut self, now_ms: i64, threshold_ms: i64) -> usize {
        let cutoff = now_ms.saturating_sub(threshold_ms);
        let before = self.mints.len();
        let touched = &self.touched;
        self.mints
            .retain(|mint, m| m.last_seen_ms >= cutoff || touched.contains(mint));
        before - self.mints.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> Pubkey {
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(&n.to_be_bytes());
        Pubkey(k)
    }

    fn trade(mint: u32, user: u32, sol: u64, is_buy: bool) -> TradeEvent {
        TradeEvent {
            mint: key(mint),
            sol_amount: sol,
            token_amount: 1,
            is_buy,
            user: key(user),
            ..Default::default()
        }
    }

    #[test]
    fn windows_follow_their_buckets() {
        let mut s = AggregateState::new();
        s.record_trade(&trade(1, 10, 100, true), 1, 0);
        s.record_trade(&trade(1, 11, 7, false), 1, 4_999);
        s.record_trade(&trade(1, 10, 50, true), 2, 61_000);
        let r = s.row(&key(1), 61_000).unwrap();
        // 61 s: fine bucket 12; the 1-minute window holds buckets 1..=12, so not bucket 0.
        assert_eq!(r.window(Window::M1).buy_lamports, 50);
        assert_eq!(r.window(Window::M1).sell_lamports, 0);
        assert_eq!(r.window(Window::M1).unique_traders, 1);
        assert_eq!(r.window(Window::M5).buy_lamports, 150);
        assert_eq!(r.window(Window::M5).sell_lamports, 7);
        // Trader 10 traded again at 61 s; trader 11 last traded at 4.999 s.
        assert_eq!(r.window(Window::M5).unique_traders, 2);
        assert_eq!(r.window(Window::H1).buy_lamports, 150);
        assert_eq!((r.trade_count, r.buy_count, r.sell_count), (3, 2, 1));
        assert_eq!(
            (r.first_seen_ms, r.last_seen_ms, r.last_slot),
            (0, 61_000, 2)
        );
        let later = s.row(&key(1), 3_600_000 + 60_000).unwrap();
        assert_eq!(later.window(Window::H1), &WindowStats::default());
        assert_eq!(later.buy_lamports_total, 150);
    }

    #[test]
    fn out_of_order_and_ancient_events_never_panic() {
        let mut s = AggregateState::new();
        for t in [i64::MAX, 0, i64::MIN, 5_000, -5_000, i64::MAX - 1] {
            s.record_trade(&trade(1, 1, u64::MAX, true), u64::MAX, t);
        }
        let r = s.row(&key(1), i64::MAX).unwrap();
        assert_eq!(r.buy_lamports_total, u64::MAX);
        assert_eq!(r.trade_count, 6);
        let _ = s.row(&key(1), i64::MIN);
        let _ = s.touch_expiring(i64::MIN, i64::MAX);
        assert_eq!(s.prune(i64::MAX, 0), 0, "touched mints stay");
    }

    #[test]
    fn buckets_stay_bounded() {
        let mut s = AggregateState::new();
        for i in 0..10_000i64 {
            s.record_trade(&trade(1, 1, 1, true), 0, i * 1_000);
        }
        let m = &s.mints[&key(1)];
        assert!(m.fine.0.len() <= FINE_KEEP as usize);
        assert!(m.coarse.0.len() <= COARSE_KEEP as usize);
        let r = s.row(&key(1), 9_999_000).unwrap();
        // Fine bucket of 9 999 s is 1999; the window holds buckets 1988..=1999 = 9 940..9 999 s.
        assert_eq!(r.window(Window::M1).buy_lamports, 60);
        assert_eq!(r.window(Window::M5).buy_lamports, 300);
        // Coarse bucket of 9 999 s is 166 (9 960..10 019 s); the hour holds buckets 107..=166, so
        // trades from 6 420 s to 9 999 s: the current bucket is only partly elapsed.
        assert_eq!(r.window(Window::H1).buy_lamports, 3_580);
    }

    #[test]
    fn trader_cap_evicts_oldest_and_flags_lower_bounds() {
        let mut s = AggregateState::new();
        let n = MAX_TRACKED_TRADERS as u32;
        for u in 0..n {
            s.record_trade(&trade(1, u, 1, true), 0, i64::from(u));
        }
        let r = s.row(&key(1), 1_000).unwrap();
        assert_eq!(r.window(Window::M1).unique_traders, u64::from(n));
        assert!(!r.traders_capped);
        s.record_trade(&trade(1, n, 1, true), 0, 2_000);
        let r = s.row(&key(1), 2_000).unwrap();
        assert_eq!(r.window(Window::M1).unique_traders, u64::from(n));
        assert!(r.traders_capped);
        assert_eq!(s.mints[&key(1)].traders.len(), MAX_TRACKED_TRADERS);
        // Once the evicted trader is older than the hour, counts are exact again.
        let r = s.row(&key(1), 2 * 3_600_000).unwrap();
        assert!(!r.traders_capped);
    }

    #[test]
    fn launch_identity_keeps_first_values() {
        let mut s = AggregateState::new();
        let c = PremintCandidate {
            mint: key(1),
            creator: key(2),
            slot: 5,
            kind: LaunchKind::PumpCreateV2,
            ..Default::default()
        };
        s.record_trade(&trade(1, 3, 10, true), 4, 100);
        s.record_launch(&c, Some(&LaunchMeta::new("Name", "SYM", "u")), 200);
        let again = PremintCandidate {
            creator: key(9),
            slot: 6,
            kind: LaunchKind::RaydiumPool,
            ..c
        };
        s.record_launch(&again, None, 300);
        let r = s.row(&key(1), 300).unwrap();
        assert_eq!(r.creator, Some(key(2)));
        assert_eq!(r.kind, Some(LaunchKind::PumpCreateV2));
        assert_eq!(r.launch_slot, Some(5));
        assert_eq!((r.name.as_str(), r.symbol.as_str()), ("Name", "SYM"));
        assert_eq!(
            (r.first_seen_ms, r.last_seen_ms, r.last_slot),
            (100, 300, 6)
        );
    }

    #[test]
    fn a_launch_without_a_mint_is_not_aggregated() {
        let mut s = AggregateState::new();
        let c = PremintCandidate {
            kind: LaunchKind::MeteoraDbc,
            slot: 5,
            ..Default::default()
        };
        s.record_launch(&c, None, 100);
        assert!(!s.contains(&Pubkey::ZERO));
        assert!(!s.is_touched(&Pubkey::ZERO));
    }

    #[test]
    fn prune_removes_only_written_mints_past_the_threshold() {
        let mut s = AggregateState::new();
        s.record_trade(&trade(1, 1, 1, true), 0, 0);
        s.record_trade(&trade(2, 1, 1, true), 0, 1_000);
        s.record_trade(&trade(3, 1, 1, true), 0, 0);
        // Mints 1 and 2 are written; 3 is not.
        s.mark_written(&[key(1), key(2)], 1_000);
        let threshold = 10_000;
        // At 10 500 ms, mint 1 (last seen 0) is past the threshold; mint 2 (1 000) is not.
        assert_eq!(s.prune(10_500, threshold), 1);
        assert!(!s.contains(&key(1)));
        assert!(s.contains(&key(2)));
        assert!(s.contains(&key(3)), "never written: must stay");
        // Exactly at the threshold is not past it.
        assert_eq!(s.prune(11_000, threshold), 0);
        assert_eq!(s.prune(11_001, threshold), 1);
        assert!(s.contains(&key(3)));
        s.mark_written(&[key(3)], 11_001);
        assert_eq!(s.prune(11_001, threshold), 1);
        assert_eq!(s.live_mints(), 0);
    }

    #[test]
    fn expiring_mints_get_one_final_write() {
        let mut s = AggregateState::new();
        s.record_trade(&trade(1, 1, 1, true), 0, 0);
        s.mark_written(&[key(1)], 0);
        // Inactive past the threshold, last row written with live windows: touched once more.
        assert_eq!(s.touch_expiring(20_000, 10_000), 1);
        assert_eq!(s.prune(20_000, 10_000), 0);
        s.mark_written(&[key(1)], 20_000);
        // Its last write is still inside the hour, but it is already untouched: no re-touch loop.
        assert_eq!(s.prune(20_000, 10_000), 1);
        // A row written after the hour needs no refresh.
        s.record_trade(&trade(2, 1, 1, true), 0, 0);
        s.mark_written(&[key(2)], 4 * 3_600_000);
        assert_eq!(s.touch_expiring(4 * 3_600_000, 10_000), 0);
    }
}
