//! [`TradeEvent`]: one bonding-curve trade as a decoder read it. The aggregates sink reads it,
//! so it lives here, below both.

use super::Pubkey;

/// pump.fun's `TradeEvent`, emitted by every buy and sell on the bonding curve.
///
/// The first five fields are in every generation; the 16-field mid-2025 layout ends at
/// `creator_fee`, and later additions are ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TradeEvent {
    /// The traded mint.
    pub mint: Pubkey,
    /// Lamports paid (buy) or received (sell).
    pub sol_amount: u64,
    /// Token base units bought or sold.
    pub token_amount: u64,
    /// True for a buy.
    pub is_buy: bool,
    /// The trader.
    pub user: Pubkey,
    /// Unix time of the trade.
    pub timestamp: Option<i64>,
    /// Virtual SOL reserves after the trade.
    pub virtual_sol_reserves: Option<u64>,
    /// Virtual token reserves after the trade.
    pub virtual_token_reserves: Option<u64>,
    /// Real SOL reserves after the trade.
    pub real_sol_reserves: Option<u64>,
    /// Real token reserves after the trade.
    pub real_token_reserves: Option<u64>,
    /// Protocol fee recipient.
    pub fee_recipient: Option<Pubkey>,
    /// Protocol fee rate.
    pub fee_basis_points: Option<u64>,
    /// Protocol fee paid, lamports.
    pub fee: Option<u64>,
    /// The coin's creator.
    pub creator: Option<Pubkey>,
    /// Creator fee rate.
    pub creator_fee_basis_points: Option<u64>,
    /// Creator fee paid, lamports.
    pub creator_fee: Option<u64>,
}

impl TradeEvent {
    /// The trade's identity: the same 64 bits whichever feed, format or process carried it, so
    /// copies of one trade are recognised across feeds, restarts and sniffers sharing a database
    /// or a history table. The first 8 bytes (little-endian) of SHA-256 over the mint, the
    /// trader, the direction, the amounts, the on-chain time and the curve's reserves after the
    /// trade (which move with every trade on that curve, so two equal trades of one trader in
    /// one second still differ).
    ///
    /// # Examples
    ///
    /// ```
    /// use sniffer::decode::TradeEvent;
    ///
    /// let t = TradeEvent { sol_amount: 5, is_buy: true, ..Default::default() };
    /// assert_eq!(t.identity(), t.identity());
    /// assert_ne!(t.identity(), TradeEvent { sol_amount: 6, ..t }.identity());
    /// ```
    pub fn identity(&self) -> u64 {
        use sha2::{Digest, Sha256};
        let opt = |v: Option<u64>| v.map_or([0u8; 9], |v| widen(1, v));
        let mut h = Sha256::new();
        h.update(self.mint.0);
        h.update(self.user.0);
        h.update([u8::from(self.is_buy)]);
        h.update(self.sol_amount.to_le_bytes());
        h.update(self.token_amount.to_le_bytes());
        h.update(self.timestamp.map_or([0u8; 9], |t| widen(1, t as u64)));
        for r in [
            self.virtual_sol_reserves,
            self.virtual_token_reserves,
            self.real_sol_reserves,
            self.real_token_reserves,
        ] {
            h.update(opt(r));
        }
        let d = h.finalize();
        u64::from_le_bytes(d[..8].try_into().expect("SHA-256 has 32 bytes"))
    }
}

/// A present optional value as a tag byte and its 8 bytes: `None` and `Some(0)` differ.
fn widen(tag: u8, v: u64) -> [u8; 9] {
    let mut out = [tag; 9];
    out[1..].copy_from_slice(&v.to_le_bytes());
    out
}

/// Identities seen recently ([`TradeEvent::identity`]), each remembered for a while, oldest
/// first: first sighting wins, copies within the memory are recognised. The aggregates sink and
/// the history writer each keep one on their own thread.
#[cfg(any(feature = "sqlite", feature = "clickhouse"))]
#[derive(Debug)]
pub(crate) struct RecentIds {
    keys: std::collections::HashSet<u64>,
    order: std::collections::VecDeque<(i64, u64)>,
    memory_ms: i64,
    max: usize,
}

#[cfg(any(feature = "sqlite", feature = "clickhouse"))]
impl RecentIds {
    /// Remembers each identity for `memory_ms`, and at most `max` of them (the oldest go first).
    pub(crate) fn new(memory_ms: i64, max: usize) -> Self {
        RecentIds {
            keys: std::collections::HashSet::new(),
            order: std::collections::VecDeque::new(),
            memory_ms,
            max: max.max(1),
        }
    }

    /// True the first time `id` is offered within the memory (at `now_ms`); false for a copy.
    pub(crate) fn first(&mut self, id: u64, now_ms: i64) -> bool {
        while let Some(&(at, old)) = self.order.front() {
            if now_ms.saturating_sub(at) < self.memory_ms && self.order.len() < self.max {
                break;
            }
            self.order.pop_front();
            self.keys.remove(&old);
        }
        if !self.keys.insert(id) {
            return false;
        }
        self.order.push_back((now_ms, id));
        true
    }
}
