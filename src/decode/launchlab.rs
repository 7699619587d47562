//! Raydium LaunchLab (`LanMV9sAd7wArD4vJFi2qDdfnVhFxYSUg6eADduJ3uj`): the three pool creations
//! (`initialize`, `initialize_v2`, `initialize_with_token_2022`), the two graduations
//! (`migrate_to_cpswap`, `migrate_to_amm`), and the `PoolCreateEvent` / `TradeEvent` events.
//!
//! Layouts from the Anchor IDL v0.2.0 (`chainstacklabs/pumpfun-bonkfun-bot@9a3f2c0b:
//! idl/raydium_launchlab_idl.json`; Raydium publishes no IDL JSON for LaunchLab), checked against
//! Raydium's own CPI interface (`raydium-io/raydium-cpi@62606b07:programs/launch-cpi/src/
//! {lib.rs,context.rs,states.rs}`) and against the real launches in `tests/data/launchpads/`.
//!
//! One program serves several launchpads ("platforms"); a launch names its platform config
//! account (instruction account 3), which [`platform`] maps to a [`Launchpad`]. The logs of a
//! launch carry `PoolCreateEvent` (pool, creator, global config, name/symbol/uri) but not the
//! mint, so a logs-only LaunchLab launch has no mint. `initialize` shares its discriminator with
//! Raydium CPMM's `initialize`: only the program id tells them apart.

use super::borsh::Reader;
use super::launch::{disc, hex8, Accounts, Buy, Launch};
use crate::candidate::{LaunchKind, LaunchMeta, Launchpad, Malformed, Pubkey, TokenProgram};

pub(crate) const PROGRAM: Pubkey = Pubkey::b58("LanMV9sAd7wArD4vJFi2qDdfnVhFxYSUg6eADduJ3uj");
pub(crate) const PROGRAM_STR: &str = "LanMV9sAd7wArD4vJFi2qDdfnVhFxYSUg6eADduJ3uj";

const INITIALIZE: [u8; 8] = hex8("afaf6d1f0d989bed");
const INITIALIZE_V2: [u8; 8] = hex8("4399af27da102620");
const INITIALIZE_WITH_TOKEN_2022: [u8; 8] = hex8("25be7ede2c9aab11");
const MIGRATE_TO_CPSWAP: [u8; 8] = hex8("885cc8671cda908c");
const MIGRATE_TO_AMM: [u8; 8] = hex8("cf52c091fecf91df");
const POOL_CREATE_EVENT: [u8; 8] = hex8("97d7e20976a173ae");
/// The same 8 bytes as pump.fun's `TradeEvent`: the emitting program tells them apart.
const TRADE_EVENT: [u8; 8] = hex8("bddb7fd34ee661ee");

/// Platform configs whose launchpad is known (README, "Launch kinds"): LetsBonk's two
/// (`FfYek5vE…` until October 2025 and `5thqcDwK…` since, both in chainstacklabs/
/// pumpfun-bonkfun-bot's `src/platforms/letsbonk/address_provider.py` history, bb35101 and
/// 68cac87) and StonkFun's (`4E876qZT…`, whose account data names it; the platform of the real
/// launches in `tests/data/launchpads/`).
const PLATFORMS: [(Pubkey, Launchpad); 3] = [
    (
        Pubkey::b58("FfYek5vEz23cMkWsdJwG2oa6EphsvXSHrGpdALN4g6W1"),
        Launchpad::LetsBonk,
    ),
    (
        Pubkey::b58("5thqcDwKp5QQ8US4XRMoseGeGbmLKMmoKZmS6zHrQAsA"),
        Launchpad::LetsBonk,
    ),
    (
        Pubkey::b58("4E876qZTE9FJMrBzgVtBrSrzz2TLivB5Y5QXPjB4gZL7"),
        Launchpad::StonkFun,
    ),
];

/// The launchpad behind a platform config.
pub(crate) fn platform(config: &Pubkey) -> Launchpad {
    PLATFORMS
        .iter()
        .find(|(k, _)| k == config)
        .map_or(Launchpad::LaunchLab, |(_, p)| *p)
}

/// True for the instructions that make launches.
pub(crate) fn keep(data: &[u8]) -> bool {
    matches!(
        disc(data),
        Some((
            INITIALIZE
                | INITIALIZE_V2
                | INITIALIZE_WITH_TOKEN_2022
                | MIGRATE_TO_CPSWAP
                | MIGRATE_TO_AMM,
            _
        ))
    )
}

/// The launch an instruction makes; `Ok(None)` for other instructions, or when the mint sits in
/// an address table the input did not resolve.
///
/// # Errors
///
/// The [`Malformed`] reason when the arguments of a pool creation do not parse, or an account
/// index points past every key.
pub(crate) fn launch(data: &[u8], acc: &dyn Accounts) -> Result<Option<Launch>, Malformed> {
    let Some((d, args)) = disc(data) else {
        return Ok(None);
    };
    match d {
        INITIALIZE | INITIALIZE_V2 => initialize(args, acc, (11, 12)),
        INITIALIZE_WITH_TOKEN_2022 => initialize(args, acc, (10, 11)),
        MIGRATE_TO_CPSWAP => migrate_to_cpswap(acc),
        MIGRATE_TO_AMM => migrate_to_amm(acc),
        _ => Ok(None),
    }
}

/// The `MintParams` argument every pool creation starts with: decimals, name, symbol, uri
/// (the curve, vesting and fee arguments after it are not needed, and clients pad them).
fn mint_params(r: &mut Reader<'_>) -> Result<LaunchMeta, Malformed> {
    let _decimals = r.u8()?;
    Ok(LaunchMeta::new(r.str()?, r.str()?, r.str()?))
}

/// Accounts of `initialize`, `initialize_v2` (18) and `initialize_with_token_2022` (15): payer 0,
/// creator 1, global_config 2, platform_config 3, pool_state 5, base_mint 6, quote_mint 7,
/// base_vault 8, quote_vault 9, then the two token programs at `programs`. The quote mint and its
/// token program are read, never assumed: the IDL pins `initialize_with_token_2022`'s
/// quote_token_program to SPL Token, but the program takes Token-2022 quote mints (the StonkFun
/// launches of `tests/data/launchpads/` are quoted in xStocks, one global config per quote mint,
/// and pass a 16th, remaining account).
fn initialize(
    args: &[u8],
    acc: &dyn Accounts,
    programs: (usize, usize),
) -> Result<Option<Launch>, Malformed> {
    let meta = mint_params(&mut Reader::new(args))?;
    let Some(mint) = acc.get(6)? else {
        return Ok(None);
    };
    let origin = acc.key(3);
    let mut l = Launch::new(LaunchKind::LaunchLab, platform(&origin));
    l.mint = mint;
    l.user = acc.key(0);
    l.creator = acc.key(1);
    l.config = acc.key(2);
    l.origin = origin;
    l.market = acc.key(5);
    l.quote_mint = acc.key(7);
    l.market_token_account = acc.key(8);
    l.market_quote_account = acc.key(9);
    l.token_program = acc.token_program(programs.0);
    l.quote_token_program = acc.token_program(programs.1);
    l.meta = meta;
    Ok(Some(l))
}

/// `migrate_to_cpswap` (28 accounts, no arguments): base_mint 1, quote_mint 2, platform_config 3,
/// cpswap_pool 5, cpswap_base_vault 8, cpswap_quote_vault 9, cpswap_config 10, pool_state 17,
/// base_token_program 22, quote_token_program 23.
fn migrate_to_cpswap(acc: &dyn Accounts) -> Result<Option<Launch>, Malformed> {
    let Some(mint) = acc.get(1)? else {
        return Ok(None);
    };
    let mut l = Launch::new(LaunchKind::RaydiumCpmmGraduation, platform(&acc.key(3)));
    l.mint = mint;
    l.quote_mint = acc.key(2);
    l.market = acc.key(5);
    l.market_token_account = acc.key(8);
    l.market_quote_account = acc.key(9);
    l.config = acc.key(10);
    l.origin = acc.key(17);
    l.token_program = acc.token_program(22);
    l.quote_token_program = acc.token_program(23);
    Ok(Some(l))
}

/// `migrate_to_amm` (32 accounts): base_mint 1, quote_mint 2, amm_pool 13, amm_base_vault 17,
/// amm_quote_vault 18, pool_state 23, spl_token_program 28 (both sides are SPL Token). No
/// platform config among them.
fn migrate_to_amm(acc: &dyn Accounts) -> Result<Option<Launch>, Malformed> {
    let Some(mint) = acc.get(1)? else {
        return Ok(None);
    };
    let mut l = Launch::new(LaunchKind::RaydiumAmmGraduation, Launchpad::LaunchLab);
    l.mint = mint;
    l.quote_mint = acc.key(2);
    l.market = acc.key(13);
    l.market_token_account = acc.key(17);
    l.market_quote_account = acc.key(18);
    l.origin = acc.key(23);
    l.token_program = acc.token_program(28);
    l.quote_token_program = l.token_program;
    Ok(Some(l))
}

/// The launch a `Program log: Instruction: <name>` line of this program announces (what the logs
/// alone will ever say of it, until its event adds more).
pub(crate) fn log_launch(name: &str) -> Option<Launch> {
    let (kind, token_program) = match name {
        "Initialize" | "InitializeV2" => (LaunchKind::LaunchLab, TokenProgram::Token),
        "InitializeWithToken2022" => (LaunchKind::LaunchLab, TokenProgram::Token2022),
        "MigrateToCpswap" => (LaunchKind::RaydiumCpmmGraduation, TokenProgram::Unknown),
        "MigrateToAmm" => (LaunchKind::RaydiumAmmGraduation, TokenProgram::Token),
        _ => return None,
    };
    let mut l = Launch::new(kind, Launchpad::LaunchLab);
    l.token_program = token_program;
    Some(l)
}

/// What an event of this program says.
#[derive(Clone, Copy, Debug)]
// Returned once per event and consumed at once; boxing the launch would allocate on the decode path.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Event {
    /// `PoolCreateEvent`: pool, creator, global config and name/symbol/uri of a new launch.
    Created(Launch),
    /// A `TradeEvent` that was a buy.
    Bought(Buy),
}

/// Decodes `PoolCreateEvent` and the buys among `TradeEvent`s; `Ok(None)` for other events and
/// for sells.
///
/// `TradeEvent` grew `creator_fee` and `exact_in` in 2025 (the July 2025 buys of
/// `tests/data/launchpads/` carry 130 bytes, the 2026 launches 139): both generations have the
/// amounts at the same place, and the direction after three or four fee fields.
///
/// # Errors
///
/// The [`Malformed`] reason when a known event is truncated.
pub(crate) fn event(data: &[u8]) -> Result<Option<Event>, Malformed> {
    let Some((d, body)) = disc(data) else {
        return Ok(None);
    };
    let mut r = Reader::new(body);
    match d {
        POOL_CREATE_EVENT => {
            let mut l = Launch::new(LaunchKind::LaunchLab, Launchpad::LaunchLab);
            l.market = r.pubkey()?;
            l.creator = r.pubkey()?;
            l.config = r.pubkey()?;
            l.meta = mint_params(&mut r)?;
            Ok(Some(Event::Created(l)))
        }
        TRADE_EVENT => {
            let market = r.pubkey()?;
            // total_base_sell, virtual_base, virtual_quote, real_{base,quote}_{before,after}
            r.bytes(7 * 8)?;
            let (quote_in, tokens_out) = (r.u64()?, r.u64()?);
            // protocol_fee, platform_fee, [creator_fee,] share_fee: then the direction.
            let fees = if r.remaining() >= 4 * 8 + 3 { 4 } else { 3 };
            r.bytes(fees * 8)?;
            let buy = r.u8()? == 0;
            Ok(buy.then_some(Event::Bought(Buy {
                market,
                quote_in,
                tokens_out,
            })))
        }
        _ => Ok(None),
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
    fn platforms_map_to_their_launchpads() {
        assert_eq!(platform(&PLATFORMS[0].0), Launchpad::LetsBonk);
        assert_eq!(platform(&PLATFORMS[2].0), Launchpad::StonkFun);
        assert_eq!(platform(&Pubkey([7; 32])), Launchpad::LaunchLab);
    }

    #[test]
    fn only_launch_instructions_are_kept() {
        assert!(keep(&INITIALIZE_V2));
        assert!(keep(&MIGRATE_TO_AMM));
        assert!(!keep(&hex8("faea0d7bd59c13ec")), "buy_exact_in");
        assert!(!keep(&[0x43, 0x99]));
    }
}
