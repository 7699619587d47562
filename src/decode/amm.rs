//! Pool launches: PumpSwap `create_pool` and Raydium AMM v4 `initialize2`.
//!
//! Only the instruction tag and the account positions matter for detection, so this module
//! answers one question: "is this instruction a pool launch, and which accounts hold the mint and
//! the creator?". Positions come from the PumpSwap IDL (`pool, global_config, creator, base_mint,
//! quote_mint, ...`) and Raydium's `AmmInstruction::Initialize2` account list (coin mint 8, pc
//! mint 9, user wallet 17). A pool is reported under its non-WSOL mint: a launch pairs the new
//! token with SOL, and either side may be the base.

use crate::candidate::{LaunchKind, Pubkey};

/// PumpSwap, `pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA`.
pub(crate) const PUMP_SWAP_PROGRAM: Pubkey = Pubkey([
    12, 20, 222, 252, 130, 94, 198, 118, 148, 37, 8, 24, 187, 101, 64, 101, 244, 41, 141, 49, 86,
    213, 113, 180, 212, 248, 9, 12, 24, 233, 168, 99,
]);
pub(crate) const PUMP_SWAP_PROGRAM_STR: &str = "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA";

/// Raydium AMM v4, `675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8`.
pub(crate) const RAYDIUM_AMM_V4: Pubkey = Pubkey([
    75, 217, 73, 196, 54, 2, 195, 63, 32, 119, 144, 237, 22, 163, 82, 76, 161, 185, 151, 92, 241,
    33, 162, 169, 12, 255, 236, 125, 248, 182, 138, 205,
]);
pub(crate) const RAYDIUM_AMM_V4_STR: &str = "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8";

/// Wrapped SOL, `So11111111111111111111111111111111111111112`.
pub(crate) const WSOL: Pubkey = Pubkey([
    6, 155, 136, 87, 254, 171, 129, 132, 251, 104, 127, 99, 70, 24, 192, 53, 218, 196, 57, 220, 26,
    235, 59, 85, 152, 160, 240, 0, 0, 0, 0, 1,
]);

pub(crate) const CREATE_POOL_DISC: [u8; 8] = [0xe9, 0x92, 0xd1, 0x8e, 0xcf, 0x68, 0x40, 0xbc];
/// `initialize2` data: tag 1, nonce u8, open_time u64, init_pc_amount u64, init_coin_amount u64.
pub(crate) const INITIALIZE2_TAG: u8 = 1;
pub(crate) const INITIALIZE2_LEN: usize = 1 + 1 + 8 * 3;

/// Where a pool launch keeps its mints and its creator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PoolLayout {
    pub(crate) kind: LaunchKind,
    pub(crate) mint: usize,
    /// The other side, reported instead when `mint` is WSOL.
    pub(crate) other_mint: usize,
    pub(crate) creator: usize,
    /// Fewer accounts than this and the program would have rejected the instruction.
    pub(crate) min_accounts: usize,
    /// The pool account.
    pub(crate) pool: usize,
    /// The pool's vaults of `mint` and of `other_mint`.
    pub(crate) vaults: (usize, usize),
    /// The token programs of `mint` and `other_mint` (Raydium v4 has one for both).
    pub(crate) token_programs: (usize, usize),
}

/// PumpSwap `create_pool` (IDL): pool, global_config, creator, base_mint, quote_mint, lp_mint,
/// user_base_token_account, user_quote_token_account, user_pool_token_account,
/// pool_base_token_account, pool_quote_token_account, system_program, token_2022_program,
/// base_token_program, quote_token_program, ...
const PUMP_SWAP_LAYOUT: PoolLayout = PoolLayout {
    kind: LaunchKind::PumpSwapPool,
    mint: 3,
    other_mint: 4,
    creator: 2,
    min_accounts: 5,
    pool: 0,
    vaults: (9, 10),
    token_programs: (13, 14),
};

/// Raydium AMM v4 `initialize2`: token_program, associated token program, system, rent, amm,
/// amm_authority, amm_open_orders, lp_mint, coin_mint, pc_mint, pool_coin_token_account,
/// pool_pc_token_account, ..., user_wallet (17).
const RAYDIUM_LAYOUT: PoolLayout = PoolLayout {
    kind: LaunchKind::RaydiumPool,
    mint: 8,
    other_mint: 9,
    creator: 17,
    min_accounts: 18,
    pool: 4,
    vaults: (10, 11),
    token_programs: (0, 0),
};

/// The layout of a PumpSwap instruction when it is `create_pool`.
pub(crate) fn pump_swap_pool(data: &[u8]) -> Option<PoolLayout> {
    data.starts_with(&CREATE_POOL_DISC)
        .then_some(PUMP_SWAP_LAYOUT)
}

/// The layout of a Raydium AMM v4 instruction when it is `initialize2`.
///
/// The length check keeps a stray 1-byte tag from counting: a real `initialize2` carries its
/// three amounts, and anything shorter fails on chain.
pub(crate) fn raydium_pool(data: &[u8]) -> Option<PoolLayout> {
    (data.first() == Some(&INITIALIZE2_TAG) && data.len() >= INITIALIZE2_LEN)
        .then_some(RAYDIUM_LAYOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_their_base58() {
        assert_eq!(PUMP_SWAP_PROGRAM.to_string(), PUMP_SWAP_PROGRAM_STR);
        assert_eq!(RAYDIUM_AMM_V4.to_string(), RAYDIUM_AMM_V4_STR);
        assert_eq!(
            WSOL.to_string(),
            "So11111111111111111111111111111111111111112"
        );
    }

    #[test]
    fn recognises_only_the_launch_instructions() {
        let mut d = CREATE_POOL_DISC.to_vec();
        d.extend_from_slice(&[0; 18]);
        assert_eq!(pump_swap_pool(&d).map(|l| l.mint), Some(3));
        assert_eq!(pump_swap_pool(&d[..7]), None);
        let mut r = vec![1u8; INITIALIZE2_LEN];
        assert_eq!(
            raydium_pool(&r).map(|l| (l.mint, l.other_mint)),
            Some((8, 9))
        );
        r[0] = 9; // swapBaseIn
        assert_eq!(raydium_pool(&r), None);
        assert_eq!(raydium_pool(&[1]), None);
    }
}
