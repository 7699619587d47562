//! Boop (`boop8hVGQGqehUK2iVEMEnMrL5RbjywRzHKBmBE7ry4`): a launch is two instructions, usually in
//! one transaction: `create_token` (the mint and its metadata) and `deploy_bonding_curve` (the
//! curve and its vaults), each with a `_fallback` twin of the same layout, and their events
//! `TokenCreatedEvent` / `BondingCurveDeployedEvent` in `Program data:` logs.
//!
//! Layouts from the IDL-generated decoder `sevenlabs-hq/carbon@1a4b4230:decoders/boop-decoder/
//! src/{instructions,events}/` (Boop publishes no IDL JSON). No real Boop launch transaction was
//! found (README, "Launch kinds"): these layouts are checked against the IDL only; a real Boop
//! sell in `tests/data/launchpads/` checks that trades are not launches.

use super::borsh::Reader;
use super::launch::{disc, hex8, Accounts, Launch, WSOL};
use crate::candidate::{LaunchKind, LaunchMeta, Launchpad, Malformed, Pubkey};

pub(crate) const PROGRAM: Pubkey = Pubkey::b58("boop8hVGQGqehUK2iVEMEnMrL5RbjywRzHKBmBE7ry4");
pub(crate) const PROGRAM_STR: &str = "boop8hVGQGqehUK2iVEMEnMrL5RbjywRzHKBmBE7ry4";

const CREATE_TOKEN: [u8; 8] = hex8("5434cce4188cea4b");
const CREATE_TOKEN_FALLBACK: [u8; 8] = hex8("fdb87ec7ebe8aca2");
const DEPLOY_BONDING_CURVE: [u8; 8] = hex8("b459c74ca8ecd98a");
const DEPLOY_BONDING_CURVE_FALLBACK: [u8; 8] = hex8("35e6ac544dae163d");
const TOKEN_CREATED_EVENT: [u8; 8] = hex8("607a718a32e39539");
const BONDING_CURVE_DEPLOYED_EVENT: [u8; 8] = hex8("e150b222d927b894");

/// True for the two halves of a launch.
pub(crate) fn keep(data: &[u8]) -> bool {
    matches!(
        disc(data),
        Some((
            CREATE_TOKEN
                | CREATE_TOKEN_FALLBACK
                | DEPLOY_BONDING_CURVE
                | DEPLOY_BONDING_CURVE_FALLBACK,
            _
        ))
    )
}

/// One half of a launch; the two merge by mint.
///
/// `create_token` (8 accounts): config 0, mint 2, payer 3, token_program 6; arguments `{ salt:
/// u64, name, symbol, uri }`. `deploy_bonding_curve` (10 accounts): mint 0, bonding_curve 2,
/// bonding_curve_sol_vault 3, bonding_curve_vault 4, config 5, payer 6, token_program 8;
/// arguments `{ creator: pubkey, salt: u64 }`.
///
/// # Errors
///
/// The [`Malformed`] reason when the arguments do not parse, or an account index points past
/// every key.
pub(crate) fn launch(data: &[u8], acc: &dyn Accounts) -> Result<Option<Launch>, Malformed> {
    let Some((d, args)) = disc(data) else {
        return Ok(None);
    };
    let mut r = Reader::new(args);
    let mut l = Launch::new(LaunchKind::Boop, Launchpad::Boop);
    l.quote_mint = WSOL;
    let mint_at = match d {
        CREATE_TOKEN | CREATE_TOKEN_FALLBACK => {
            let _salt = r.u64()?;
            l.meta = LaunchMeta::new(r.str()?, r.str()?, r.str()?);
            l.config = acc.key(0);
            l.user = acc.key(3);
            l.creator = l.user;
            l.token_program = acc.token_program(6);
            2
        }
        DEPLOY_BONDING_CURVE | DEPLOY_BONDING_CURVE_FALLBACK => {
            l.creator = r.pubkey()?;
            l.market = acc.key(2);
            l.market_quote_account = acc.key(3);
            l.market_token_account = acc.key(4);
            l.config = acc.key(5);
            l.user = acc.key(6);
            l.token_program = acc.token_program(8);
            0
        }
        _ => return Ok(None),
    };
    let Some(mint) = acc.get(mint_at)? else {
        return Ok(None);
    };
    l.mint = mint;
    Ok(Some(l))
}

/// The launch a `Program log: Instruction: CreateToken` line announces.
pub(crate) fn log_launch(name: &str) -> Option<Launch> {
    matches!(name, "CreateToken" | "CreateTokenFallback")
        .then(|| Launch::new(LaunchKind::Boop, Launchpad::Boop))
}

/// What `TokenCreatedEvent { name, symbol, uri }` or `BondingCurveDeployedEvent { mint,
/// creator }` adds to the launch the logs announced; `Ok(None)` for other events.
///
/// # Errors
///
/// The [`Malformed`] reason when a known event is truncated.
pub(crate) fn event(data: &[u8]) -> Result<Option<Launch>, Malformed> {
    let Some((d, body)) = disc(data) else {
        return Ok(None);
    };
    let mut r = Reader::new(body);
    let mut l = Launch::new(LaunchKind::Boop, Launchpad::Boop);
    match d {
        TOKEN_CREATED_EVENT => l.meta = LaunchMeta::new(r.str()?, r.str()?, r.str()?),
        BONDING_CURVE_DEPLOYED_EVENT => {
            l.mint = r.pubkey()?;
            l.creator = r.pubkey()?;
        }
        _ => return Ok(None),
    }
    l.quote_mint = WSOL;
    Ok(Some(l))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_constant_matches_its_base58() {
        assert_eq!(PROGRAM.to_string(), PROGRAM_STR);
    }

    #[test]
    fn trades_are_not_kept() {
        assert!(keep(&DEPLOY_BONDING_CURVE));
        assert!(!keep(&hex8("8a7f0e5b26577369")), "buy_token");
        assert!(!keep(&hex8("6d3d28bbe6b087ae")), "sell_token");
    }
}
