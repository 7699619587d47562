//! Meteora Dynamic Bonding Curve (`dbcij3LWUppWqq96dh6gJWwBifmcGfLSB5D4DuSMaqN`): the two curve
//! creations (`initialize_virtual_pool_with_spl_token`, `initialize_virtual_pool_with_token2022`)
//! and the graduation to DAMM v2 (`migration_damm_v2`).
//!
//! Layouts from Meteora's Anchor IDL 0.1.10 (`MeteoraAg/dynamic-bonding-curve-sdk@ce9afb71:
//! packages/dynamic-bonding-curve/src/idl/dynamic-bonding-curve/idl.json`). The program serves
//! several launchpads (bags, believe, Jupiter Studio, ...), each through its own pool configs:
//! the record carries the config (instruction account 0) so a bot can tell them apart; no
//! config-to-platform table is sourced yet (README, "Launch kinds").
//!
//! DBC emits its events only through self-CPI (`EvtInitializePool`, whose discriminator DAMM v2
//! reuses with another layout), so its logs say nothing but the instruction name: a logs-only
//! DBC launch carries its kind, signature and slot. The migration to DAMM v1
//! (`migrate_meteora_damm`) is not decoded.

use super::borsh::Reader;
use super::launch::{disc, hex8, Accounts, Launch};
use crate::candidate::{LaunchKind, LaunchMeta, Launchpad, Malformed, Pubkey, TokenProgram};

pub(crate) const PROGRAM: Pubkey = Pubkey::b58("dbcij3LWUppWqq96dh6gJWwBifmcGfLSB5D4DuSMaqN");
pub(crate) const PROGRAM_STR: &str = "dbcij3LWUppWqq96dh6gJWwBifmcGfLSB5D4DuSMaqN";

const WITH_SPL_TOKEN: [u8; 8] = hex8("8c55d7b06636684f");
const WITH_TOKEN_2022: [u8; 8] = hex8("a976334e916edc9b");
const MIGRATION_DAMM_V2: [u8; 8] = hex8("9ca9e66735e45040");

/// True for the instructions that make launches.
pub(crate) fn keep(data: &[u8]) -> bool {
    matches!(
        disc(data),
        Some((WITH_SPL_TOKEN | WITH_TOKEN_2022 | MIGRATION_DAMM_V2, _))
    )
}

/// The launch an instruction makes; `Ok(None)` for other instructions, or when the mint sits in
/// an address table the input did not resolve.
///
/// # Errors
///
/// The [`Malformed`] reason when the arguments do not parse, or an account index points past
/// every key.
pub(crate) fn launch(data: &[u8], acc: &dyn Accounts) -> Result<Option<Launch>, Malformed> {
    let Some((d, args)) = disc(data) else {
        return Ok(None);
    };
    match d {
        // spl (16 accounts): payer 10, token_quote_program 11, token_program 12.
        WITH_SPL_TOKEN => create(args, acc, 10, (12, 11)),
        // token2022 (14 accounts): payer 8, token_quote_program 9, token_program 10.
        WITH_TOKEN_2022 => create(args, acc, 8, (10, 9)),
        MIGRATION_DAMM_V2 => migration_damm_v2(acc),
        _ => Ok(None),
    }
}

/// Both creations: config 0, creator 2, base_mint 3, quote_mint 4, pool 5, base_vault 6,
/// quote_vault 7; argument `InitializePoolParameters { name, symbol, uri }`.
fn create(
    args: &[u8],
    acc: &dyn Accounts,
    payer: usize,
    programs: (usize, usize),
) -> Result<Option<Launch>, Malformed> {
    let mut r = Reader::new(args);
    let meta = LaunchMeta::new(r.str()?, r.str()?, r.str()?);
    let Some(mint) = acc.get(3)? else {
        return Ok(None);
    };
    let mut l = Launch::new(LaunchKind::MeteoraDbc, Launchpad::MeteoraDbc);
    l.mint = mint;
    l.config = acc.key(0);
    l.creator = acc.key(2);
    l.user = acc.key(payer);
    l.quote_mint = acc.key(4);
    l.market = acc.key(5);
    l.market_token_account = acc.key(6);
    l.market_quote_account = acc.key(7);
    l.token_program = acc.token_program(programs.0);
    l.quote_token_program = acc.token_program(programs.1);
    l.meta = meta;
    Ok(Some(l))
}

/// `migration_damm_v2` (25 accounts, no arguments): virtual_pool 0, config 2, pool 4 (the new
/// DAMM v2 pool), base_mint 13, quote_mint 14, token_a_vault 15, token_b_vault 16,
/// token_base_program 20, token_quote_program 21. It creates the pool by CPI (DAMM v2
/// `initialize_pool` or `initialize_pool_with_dynamic_config`, by config), which is merged
/// into this graduation.
fn migration_damm_v2(acc: &dyn Accounts) -> Result<Option<Launch>, Malformed> {
    let Some(mint) = acc.get(13)? else {
        return Ok(None);
    };
    let mut l = Launch::new(LaunchKind::MeteoraDammV2Graduation, Launchpad::MeteoraDbc);
    l.mint = mint;
    l.origin = acc.key(0);
    l.config = acc.key(2);
    l.market = acc.key(4);
    l.quote_mint = acc.key(14);
    l.market_token_account = acc.key(15);
    l.market_quote_account = acc.key(16);
    l.token_program = acc.token_program(20);
    l.quote_token_program = acc.token_program(21);
    Ok(Some(l))
}

/// The launch a `Program log: Instruction: <name>` line of this program announces.
pub(crate) fn log_launch(name: &str) -> Option<Launch> {
    let (kind, token_program) = match name {
        "InitializeVirtualPoolWithSplToken" => (LaunchKind::MeteoraDbc, TokenProgram::Token),
        "InitializeVirtualPoolWithToken2022" => (LaunchKind::MeteoraDbc, TokenProgram::Token2022),
        "MigrationDammV2" => (LaunchKind::MeteoraDammV2Graduation, TokenProgram::Unknown),
        _ => return None,
    };
    let mut l = Launch::new(kind, Launchpad::MeteoraDbc);
    l.token_program = token_program;
    Some(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_constant_matches_its_base58() {
        assert_eq!(PROGRAM.to_string(), PROGRAM_STR);
    }

    #[test]
    fn swaps_are_not_kept() {
        assert!(keep(&WITH_TOKEN_2022));
        assert!(!keep(&hex8("f8c69e91e17587c8")), "swap");
        assert!(!keep(&hex8("414b3f4ceb5b5b88")), "swap2");
    }
}
