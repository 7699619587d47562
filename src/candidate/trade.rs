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
