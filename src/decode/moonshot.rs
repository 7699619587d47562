//! Moonshot / Moonit (`MoonCVVNZFSYkqNXP6bxHLPL6QQJiMagDL3qcqUQTrG`): `token_mint`.
//!
//! Layout from the IDL-generated decoder `sevenlabs-hq/carbon@6bbf3b26:decoders/moonshot-decoder/
//! src/{instructions/token_mint.rs,types/token_mint_params.rs}` (Moonshot publishes no IDL JSON),
//! checked against the real `token_mint` instruction in `tests/data/launchpads/`. Its `buy`
//! shares pump.fun's `buy` discriminator: only the program id tells them apart. The logs of a
//! `token_mint` name no account, so a logs-only Moonshot launch carries its kind, signature and
//! slot.

use super::borsh::Reader;
use super::launch::{disc, hex8, Accounts, Launch, WSOL};
use crate::candidate::{LaunchKind, LaunchMeta, Launchpad, Malformed, Pubkey};

pub(crate) const PROGRAM: Pubkey = Pubkey::b58("MoonCVVNZFSYkqNXP6bxHLPL6QQJiMagDL3qcqUQTrG");
pub(crate) const PROGRAM_STR: &str = "MoonCVVNZFSYkqNXP6bxHLPL6QQJiMagDL3qcqUQTrG";

const TOKEN_MINT: [u8; 8] = hex8("032ca4b87b0df5b3");

/// True for `token_mint`.
pub(crate) fn keep(data: &[u8]) -> bool {
    matches!(disc(data), Some((TOKEN_MINT, _)))
}

/// `token_mint` (11 accounts): sender 0 (the creator), curve_account 2, mint 3,
/// curve_token_account 5, config_account 6, token_program 7; arguments `TokenMintParams { name,
/// symbol, uri: string, decimals: u8, collateral_currency: u8, amount: u64, curve_type: u8,
/// migration_target: u8 }` (collateral 0 is SOL, which the curve account holds itself).
///
/// # Errors
///
/// The [`Malformed`] reason when the arguments do not parse, or an account index points past
/// every key.
pub(crate) fn launch(data: &[u8], acc: &dyn Accounts) -> Result<Option<Launch>, Malformed> {
    let Some((TOKEN_MINT, args)) = disc(data) else {
        return Ok(None);
    };
    let mut r = Reader::new(args);
    let meta = LaunchMeta::new(r.str()?, r.str()?, r.str()?);
    let _decimals = r.u8()?;
    let collateral = r.u8()?;
    let Some(mint) = acc.get(3)? else {
        return Ok(None);
    };
    let mut l = Launch::new(LaunchKind::Moonshot, Launchpad::Moonshot);
    l.mint = mint;
    l.creator = acc.key(0);
    l.user = l.creator;
    l.market = acc.key(2);
    l.market_token_account = acc.key(5);
    l.config = acc.key(6);
    l.token_program = acc.token_program(7);
    if collateral == 0 {
        l.quote_mint = WSOL;
    }
    l.meta = meta;
    Ok(Some(l))
}

/// The launch a `Program log: Instruction: TokenMint` line announces.
pub(crate) fn log_launch(name: &str) -> Option<Launch> {
    (name == "TokenMint").then(|| Launch::new(LaunchKind::Moonshot, Launchpad::Moonshot))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_constant_matches_its_base58() {
        assert_eq!(PROGRAM.to_string(), PROGRAM_STR);
    }
}
