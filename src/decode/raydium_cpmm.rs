//! Raydium CPMM (`CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C`): pool creation, `initialize` and
//! `initialize_with_permission` (the form LaunchLab graduations and other permissioned creators
//! use).
//!
//! `initialize` from Raydium's official IDL v0.2.0 (`raydium-io/raydium-idl@61231043:
//! raydium_cpmm/raydium_cp_swap.json`); `initialize_with_permission` from Raydium's CPI interface
//! (`raydium-io/raydium-cpi@62606b07:programs/cpmm-cpi/src/{lib.rs,context.rs}`). `initialize`
//! shares its discriminator with LaunchLab's deprecated `initialize`: only the program id tells
//! them apart. Inside a LaunchLab `migrate_to_cpswap` the pool merges into that graduation. CPMM
//! emits no event with the pool's accounts, so its logs yield nothing.

use super::launch::{disc, hex8, PoolLayout};
use crate::candidate::{LaunchKind, Pubkey};

pub(crate) const PROGRAM: Pubkey = Pubkey::b58("CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C");
pub(crate) const PROGRAM_STR: &str = "CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C";

const INITIALIZE: [u8; 8] = hex8("afaf6d1f0d989bed");
const INITIALIZE_WITH_PERMISSION: [u8; 8] = hex8("3f37fe4131b25979");

/// `initialize` (20 accounts): creator 0, amm_config 1, pool_state 3, token_0_mint 4,
/// token_1_mint 5, token_0_vault 10, token_1_vault 11, token_0_program 15, token_1_program 16.
const INITIALIZE_LAYOUT: PoolLayout = PoolLayout {
    kind: LaunchKind::RaydiumCpmmPool,
    mints: (4, 5),
    creator: Some(0),
    pool: 3,
    vaults: (10, 11),
    token_programs: (15, 16),
    config: Some(1),
    min_accounts: 17,
};

/// `initialize_with_permission` (21 accounts): payer 0, creator 1, amm_config 2, pool_state 4,
/// token_0_mint 5, token_1_mint 6, token_0_vault 11, token_1_vault 12, token_0_program 17,
/// token_1_program 18.
const WITH_PERMISSION_LAYOUT: PoolLayout = PoolLayout {
    kind: LaunchKind::RaydiumCpmmPool,
    mints: (5, 6),
    creator: Some(1),
    pool: 4,
    vaults: (11, 12),
    token_programs: (17, 18),
    config: Some(2),
    min_accounts: 19,
};

/// The layout of a pool-creating instruction, `None` for any other.
pub(crate) fn pool(data: &[u8]) -> Option<PoolLayout> {
    match disc(data)?.0 {
        INITIALIZE => Some(INITIALIZE_LAYOUT),
        INITIALIZE_WITH_PERMISSION => Some(WITH_PERMISSION_LAYOUT),
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
        assert!(pool(&INITIALIZE).is_some());
        assert!(pool(&hex8("8fbe5adac41e33de")).is_none(), "swap_base_input");
        assert!(
            pool(&hex8("37d96256a34ab4ad")).is_none(),
            "swap_base_output"
        );
    }
}
