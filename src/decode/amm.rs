//! Pool launches of the two AMMs the first decoders knew: PumpSwap `create_pool` and Raydium
//! AMM v4 `initialize2`.
//!
//! Positions come from the PumpSwap IDL (`pool, global_config, creator, base_mint, quote_mint,
//! ...`; `chainstacklabs/pumpfun-bonkfun-bot@9a3f2c0b:idl/pump_swap_idl.json`) and Raydium's
//! `AmmInstruction::Initialize2` account list (coin mint 8, pc mint 9, user wallet 17). A pool is
//! reported under its non-quote mint (`launch.rs`): either side may be the base. Inside a pump.fun
//! `migrate` (or a LaunchLab `migrate_to_amm`) the pool merges into that graduation.

use super::borsh::Reader;
use super::launch::{disc, hex8, Accounts, Launch, PoolLayout};

/// Wrapped SOL (the synthetic payload generator pairs its pools with it).
pub(crate) use super::launch::WSOL;
use crate::candidate::{LaunchKind, Malformed, Pubkey};

/// PumpSwap, `pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA`.
pub(crate) const PUMP_SWAP_PROGRAM: Pubkey =
    Pubkey::b58("pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA");
pub(crate) const PUMP_SWAP_PROGRAM_STR: &str = "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA";

/// Raydium AMM v4, `675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8`.
pub(crate) const RAYDIUM_AMM_V4: Pubkey =
    Pubkey::b58("675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8");
pub(crate) const RAYDIUM_AMM_V4_STR: &str = "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8";

pub(crate) const CREATE_POOL_DISC: [u8; 8] = hex8("e992d18ecf6840bc");
/// `initialize2` data: tag 1, nonce u8, open_time u64, init_pc_amount u64, init_coin_amount u64.
pub(crate) const INITIALIZE2_TAG: u8 = 1;
pub(crate) const INITIALIZE2_LEN: usize = 1 + 1 + 8 * 3;

/// PumpSwap `create_pool` (IDL): pool 0, global_config 1, creator 2, base_mint 3, quote_mint 4,
/// pool_base_token_account 9, pool_quote_token_account 10, base_token_program 13,
/// quote_token_program 14.
const PUMP_SWAP_LAYOUT: PoolLayout = PoolLayout {
    kind: LaunchKind::PumpSwapPool,
    mints: (3, 4),
    creator: Some(2),
    pool: 0,
    vaults: (9, 10),
    token_programs: (13, 14),
    config: Some(1),
    min_accounts: 5,
};

/// Raydium AMM v4 `initialize2`: token_program 0, amm 4, coin_mint 8, pc_mint 9,
/// pool_coin_token_account 10, pool_pc_token_account 11, ..., user_wallet 17. One token
/// program for both sides, no config a swap passes.
const RAYDIUM_LAYOUT: PoolLayout = PoolLayout {
    kind: LaunchKind::RaydiumPool,
    mints: (8, 9),
    creator: Some(17),
    pool: 4,
    vaults: (10, 11),
    token_programs: (0, 0),
    config: None,
    min_accounts: 18,
};

/// True for PumpSwap's `create_pool`.
pub(crate) fn is_pump_swap_pool(data: &[u8]) -> bool {
    data.starts_with(&CREATE_POOL_DISC)
}

/// The launch a PumpSwap `create_pool` makes. Its `coin_creator` argument (after `index: u16,
/// base_amount_in: u64, quote_amount_in: u64`), when present and set, is the token's creator:
/// the account `creator` is whoever made the pool (pump.fun's migration authority when a curve
/// graduates).
///
/// # Errors
///
/// [`Malformed::AccountIndex`] when a mint's index points past every key.
pub(crate) fn pump_swap_pool(
    data: &[u8],
    acc: &dyn Accounts,
    fee_payer: Pubkey,
) -> Result<Option<Launch>, Malformed> {
    let Some(mut l) = PUMP_SWAP_LAYOUT.launch(acc, fee_payer)? else {
        return Ok(None);
    };
    let coin_creator = disc(data).and_then(|(_, args)| {
        let mut r = Reader::new(args);
        r.bytes(2 + 8 + 8).ok()?;
        r.pubkey().ok()
    });
    if let Some(c) = coin_creator.filter(|c| *c != Pubkey::ZERO) {
        l.creator = c;
    }
    Ok(Some(l))
}

/// True for Raydium AMM v4's `initialize2`. The length check keeps a stray 1-byte tag from
/// counting: a real `initialize2` carries its three amounts, and anything shorter fails on chain.
pub(crate) fn is_raydium_pool(data: &[u8]) -> bool {
    data.first() == Some(&INITIALIZE2_TAG) && data.len() >= INITIALIZE2_LEN
}

/// The launch a Raydium AMM v4 `initialize2` makes.
///
/// # Errors
///
/// [`Malformed::AccountIndex`] when a mint's index points past every key.
pub(crate) fn raydium_pool(
    acc: &dyn Accounts,
    fee_payer: Pubkey,
) -> Result<Option<Launch>, Malformed> {
    RAYDIUM_LAYOUT.launch(acc, fee_payer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_their_base58() {
        assert_eq!(PUMP_SWAP_PROGRAM.to_string(), PUMP_SWAP_PROGRAM_STR);
        assert_eq!(RAYDIUM_AMM_V4.to_string(), RAYDIUM_AMM_V4_STR);
    }

    #[test]
    fn recognises_only_the_launch_instructions() {
        let mut d = CREATE_POOL_DISC.to_vec();
        d.extend_from_slice(&[0; 18]);
        assert!(is_pump_swap_pool(&d));
        assert!(!is_pump_swap_pool(&d[..7]));
        let mut r = vec![1u8; INITIALIZE2_LEN];
        assert!(is_raydium_pool(&r));
        r[0] = 9; // swapBaseIn
        assert!(!is_raydium_pool(&r));
        assert!(!is_raydium_pool(&[1]));
    }
}
