//! Meteora DAMM v2 (`cpamdpZCGKUy5JxQXB4dcpGPiikHawvSWAd6mEn1sGG`): pool creation in its three
//! forms, `initialize_pool`, `initialize_pool_with_dynamic_config` and
//! `initialize_customizable_pool`.
//!
//! Layouts from Meteora's official IDL v0.2.0 (`MeteoraAg/damm-v2-sdk@1872ee31:src/idl/
//! cp_amm.json`). Its `swap`/`swap2` share their discriminators with DBC's, and its
//! `EvtInitializePool` with DBC's event of another layout: only the program id tells them
//! apart. Inside a DBC `migration_damm_v2` the pool merges into that graduation. DAMM v2 emits
//! its events by self-CPI only, so its logs yield nothing.

use super::launch::{disc, hex8, PoolLayout};
use crate::candidate::{LaunchKind, Pubkey};

pub(crate) const PROGRAM: Pubkey = Pubkey::b58("cpamdpZCGKUy5JxQXB4dcpGPiikHawvSWAd6mEn1sGG");
pub(crate) const PROGRAM_STR: &str = "cpamdpZCGKUy5JxQXB4dcpGPiikHawvSWAd6mEn1sGG";

const INITIALIZE_POOL: [u8; 8] = hex8("5fb40aac54aee828");
const WITH_DYNAMIC_CONFIG: [u8; 8] = hex8("955248c5fdfc440f");
const CUSTOMIZABLE: [u8; 8] = hex8("14a1f118bdddb402");

/// `initialize_pool` (20 accounts): creator 0, config 4, pool 6, token_a_mint 8, token_b_mint 9,
/// token_a_vault 10, token_b_vault 11, token_a_program 14, token_b_program 15.
const INITIALIZE_POOL_LAYOUT: PoolLayout = PoolLayout {
    kind: LaunchKind::MeteoraDammV2Pool,
    mints: (8, 9),
    creator: Some(0),
    pool: 6,
    vaults: (10, 11),
    token_programs: (14, 15),
    config: Some(4),
    min_accounts: 16,
};

/// `initialize_pool_with_dynamic_config` (21): as `initialize_pool` with `pool_creator_authority`
/// inserted at 4, so config 5, pool 7, mints 9/10, vaults 11/12, programs 15/16.
const WITH_DYNAMIC_CONFIG_LAYOUT: PoolLayout = PoolLayout {
    kind: LaunchKind::MeteoraDammV2Pool,
    mints: (9, 10),
    creator: Some(0),
    pool: 7,
    vaults: (11, 12),
    token_programs: (15, 16),
    config: Some(5),
    min_accounts: 17,
};

/// `initialize_customizable_pool` (19): no config; pool 5, mints 7/8, vaults 9/10, programs
/// 13/14.
const CUSTOMIZABLE_LAYOUT: PoolLayout = PoolLayout {
    kind: LaunchKind::MeteoraDammV2Pool,
    mints: (7, 8),
    creator: Some(0),
    pool: 5,
    vaults: (9, 10),
    token_programs: (13, 14),
    config: None,
    min_accounts: 15,
};

/// The layout of a pool-creating instruction, `None` for any other.
pub(crate) fn pool(data: &[u8]) -> Option<PoolLayout> {
    match disc(data)?.0 {
        INITIALIZE_POOL => Some(INITIALIZE_POOL_LAYOUT),
        WITH_DYNAMIC_CONFIG => Some(WITH_DYNAMIC_CONFIG_LAYOUT),
        CUSTOMIZABLE => Some(CUSTOMIZABLE_LAYOUT),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_constant_matches_its_base58() {
        assert_eq!(PROGRAM.to_string(), PROGRAM_STR);
    }

    #[test]
    fn swaps_are_not_pools() {
        assert!(pool(&CUSTOMIZABLE).is_some());
        assert!(pool(&hex8("f8c69e91e17587c8")).is_none(), "swap");
        assert!(pool(&hex8("414b3f4ceb5b5b88")).is_none(), "swap2");
    }
}
