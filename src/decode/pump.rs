//! pump.fun: the `create` / `create_v2` instructions, the `migrate` graduation (which creates the
//! token's PumpSwap pool by CPI) and the `CreateEvent` / `TradeEvent` events.
//!
//! Layouts follow the official IDL (pump-fun/pump-public-docs `idl/pump.json`, excerpt in
//! `tests/data/REFERENCE_pump_idl_excerpt.json`; `migrate` from the copy at
//! `chainstacklabs/pumpfun-bonkfun-bot@9a3f2c0b:idl/pump_fun_idl.json`). Anchor prefixes instructions and events with
//! `sha256("global:<name>")[..8]` / `sha256("event:<Name>")[..8]`; an event emitted through a
//! self-CPI instruction carries one more 8-byte tag (`sha256("anchor:event")[..8]`) in front.
//! Both events grew fields over the years, so they are decoded as a prefix: the fields every
//! generation has are required, later ones are `Option`s that are `None` when the payload ends
//! before them, and unknown trailing bytes are ignored.

use super::borsh::Reader;
use super::launch::{hex8, Accounts, Launch};
use crate::candidate::pda::PUMP_PROGRAM;
use crate::candidate::TokenProgram;
use crate::candidate::{LaunchKind, LaunchMeta, Launchpad, Malformed, Pubkey, TradeEvent};

/// The pump.fun program id, `6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P`.
pub(crate) const PROGRAM: Pubkey = PUMP_PROGRAM;
/// The same id in base58, compared as text so JSON inputs skip a base58 decode.
pub(crate) const PROGRAM_STR: &str = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P";

pub(crate) const CREATE_DISC: [u8; 8] = [0x18, 0x1e, 0xc8, 0x28, 0x05, 0x1c, 0x07, 0x77];
pub(crate) const CREATE_V2_DISC: [u8; 8] = [0xd6, 0x90, 0x4c, 0xec, 0x5f, 0x8b, 0x31, 0xb4];
pub(crate) const CREATE_EVENT_DISC: [u8; 8] = [0x1b, 0x72, 0xa9, 0x4d, 0xde, 0xeb, 0x63, 0x76];
pub(crate) const TRADE_EVENT_DISC: [u8; 8] = [0xbd, 0xdb, 0x7f, 0xd3, 0x4e, 0xe6, 0x61, 0xee];
pub(crate) const MIGRATE_DISC: [u8; 8] = hex8("9beae792ec9ea21e");
/// Anchor's `emit_cpi!` tag in front of an event carried as instruction data.
pub(crate) const EVENT_IX_TAG: [u8; 8] = [0xe4, 0x45, 0xa5, 0x2e, 0x51, 0xcb, 0x9a, 0x1d];

/// Account positions in the `create` instruction (IDL `account_names`).
pub(crate) const CREATE_MINT_ACCOUNT: usize = 0;
pub(crate) const CREATE_USER_ACCOUNT: usize = 7;
/// `create_v2` moved `user` up: it dropped the Metaplex accounts.
pub(crate) const CREATE_V2_USER_ACCOUNT: usize = 5;
/// The bonding curve and its token account (the associated bonding curve), in both versions.
pub(crate) const CREATE_BONDING_CURVE_ACCOUNT: usize = 2;
pub(crate) const CREATE_ASSOCIATED_BONDING_CURVE_ACCOUNT: usize = 3;
/// The token program: SPL Token for `create`, Token-2022 for `create_v2`.
pub(crate) const CREATE_TOKEN_PROGRAM_ACCOUNT: usize = 9;
pub(crate) const CREATE_V2_TOKEN_PROGRAM_ACCOUNT: usize = 7;

pub(crate) const BUY_DISC: [u8; 8] = hex8("66063d1201daebea");
pub(crate) const BUY_EXACT_SOL_IN_DISC: [u8; 8] = hex8("38fc74089edfcd5f");
/// Account positions in `buy` and `buy_exact_sol_in` (IDL `account_names`).
pub(crate) const BUY_MINT_ACCOUNT: usize = 2;
pub(crate) const BUY_USER_ACCOUNT: usize = 6;

/// What a `buy` or `buy_exact_sol_in` instruction asks for, before it executes: the most SOL it
/// may pay (`max_sol_cost`; `spendable_sol_in`) and the tokens it buys (`amount`, exact; at
/// least `min_tokens_out`). `None` for other instructions or arguments cut short.
pub(crate) fn asked_buy(data: &[u8]) -> Option<(u64, u64)> {
    let (disc, rest) = data.split_first_chunk::<8>()?;
    let mut r = Reader::new(rest);
    let (a, b) = (r.u64().ok()?, r.u64().ok()?);
    match *disc {
        BUY_DISC => Some((b, a)),
        BUY_EXACT_SOL_IN_DISC => Some((a, b)),
        _ => None,
    }
}

/// True for the instructions that make launches: `create`, `create_v2`, `migrate`.
pub(crate) fn keep(data: &[u8]) -> bool {
    data.starts_with(&CREATE_DISC)
        || data.starts_with(&CREATE_V2_DISC)
        || data.starts_with(&MIGRATE_DISC)
}

/// The launch a `create`, `create_v2` or `migrate` makes; `Ok(None)` for other instructions, or
/// when the mint sits in an address table the input did not resolve.
///
/// # Errors
///
/// The [`Malformed`] reason when the arguments of a create do not parse, or an account index
/// points past every key.
pub(crate) fn launch(data: &[u8], acc: &dyn Accounts) -> Result<Option<Launch>, Malformed> {
    if data.starts_with(&MIGRATE_DISC) {
        return migrate(acc);
    }
    let Some(args) = decode_create_ix(data)? else {
        return Ok(None);
    };
    let Some(mint) = acc.get(CREATE_MINT_ACCOUNT)? else {
        return Ok(None);
    };
    let (kind, user_at, token_program_at) = if args.v2 {
        (
            LaunchKind::PumpCreateV2,
            CREATE_V2_USER_ACCOUNT,
            CREATE_V2_TOKEN_PROGRAM_ACCOUNT,
        )
    } else {
        (
            LaunchKind::PumpCreate,
            CREATE_USER_ACCOUNT,
            CREATE_TOKEN_PROGRAM_ACCOUNT,
        )
    };
    let mut l = Launch::new(kind, Launchpad::PumpFun);
    l.mint = mint;
    l.user = acc.get(user_at)?.unwrap_or_default();
    l.creator = args.creator.unwrap_or(l.user);
    l.market = acc.key(CREATE_BONDING_CURVE_ACCOUNT);
    l.market_token_account = acc.key(CREATE_ASSOCIATED_BONDING_CURVE_ACCOUNT);
    l.token_program = acc.token_program(token_program_at);
    l.meta = LaunchMeta::new(args.name, args.symbol, args.uri);
    Ok(Some(l))
}

/// `migrate` (no arguments; 24 accounts in mid-2025, 25 in 2026, the same positions in both
/// real ones in `tests/data/launchpads/`): mint 2, bonding_curve 3, token_program 7, pool 9,
/// amm_global_config 13, wsol_mint 14, pool_base_token_account 17, pool_quote_token_account 18.
/// The signer (`user`, 5) is whoever migrates, not the coin's creator: the PumpSwap
/// `create_pool` it makes by CPI names that one.
fn migrate(acc: &dyn Accounts) -> Result<Option<Launch>, Malformed> {
    let Some(mint) = acc.get(2)? else {
        return Ok(None);
    };
    let mut l = Launch::new(LaunchKind::PumpSwapGraduation, Launchpad::PumpFun);
    l.mint = mint;
    l.origin = acc.key(3);
    l.token_program = acc.token_program(7);
    l.market = acc.key(9);
    l.config = acc.key(13);
    l.quote_mint = acc.key(14);
    l.market_token_account = acc.key(17);
    l.market_quote_account = acc.key(18);
    l.quote_token_program = TokenProgram::Token;
    l.needs_pool = true;
    Ok(Some(l))
}

/// The launch a `Program log: Instruction: Migrate` line announces (creates are announced by
/// their `CreateEvent`, which names everything); it stands once PumpSwap logs its `CreatePool`
/// inside it (`logs.rs`).
pub(crate) fn log_launch(name: &str) -> Option<Launch> {
    (name == "Migrate").then(|| Launch {
        needs_pool: true,
        ..Launch::new(LaunchKind::PumpSwapGraduation, Launchpad::PumpFun)
    })
}

/// The arguments of `create` / `create_v2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CreateArgs<'a> {
    pub(crate) v2: bool,
    pub(crate) name: &'a str,
    pub(crate) symbol: &'a str,
    pub(crate) uri: &'a str,
    /// Absent in the 3-argument 2024 `create`.
    pub(crate) creator: Option<Pubkey>,
    pub(crate) is_mayhem_mode: Option<bool>,
    pub(crate) is_cashback_enabled: Option<bool>,
}

/// Decodes a `create` or `create_v2` instruction; `Ok(None)` for any other instruction.
///
/// # Errors
///
/// A [`Malformed`] reason when the discriminator matches but the arguments do not parse.
pub(crate) fn decode_create_ix(data: &[u8]) -> Result<Option<CreateArgs<'_>>, Malformed> {
    let Some((disc, rest)) = data.split_first_chunk::<8>() else {
        return Ok(None);
    };
    let v2 = match *disc {
        CREATE_DISC => false,
        CREATE_V2_DISC => true,
        _ => return Ok(None),
    };
    let mut r = Reader::new(rest);
    let name = r.str()?;
    let symbol = r.str()?;
    let uri = r.str()?;
    let (creator, is_mayhem_mode, is_cashback_enabled) = if v2 {
        // `OptionBool` is a one-field struct in the IDL: a single bool byte.
        (
            Some(r.pubkey()?),
            r.opt(Reader::bool)?,
            r.opt(Reader::bool)?,
        )
    } else {
        (r.opt(Reader::pubkey)?, None, None)
    };
    Ok(Some(CreateArgs {
        v2,
        name,
        symbol,
        uri,
        creator,
        is_mayhem_mode,
        is_cashback_enabled,
    }))
}

/// pump.fun's `CreateEvent`, emitted once per token launch.
///
/// The 2024 layout has the first six fields; the rest are `None` on older payloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreateEvent<'a> {
    /// Token name.
    pub name: &'a str,
    /// Token symbol.
    pub symbol: &'a str,
    /// Metadata uri.
    pub uri: &'a str,
    /// The new mint.
    pub mint: Pubkey,
    /// The bonding-curve account.
    pub bonding_curve: Pubkey,
    /// The signer that created the token.
    pub user: Pubkey,
    /// The creator recorded on the curve (2025 and later).
    pub creator: Option<Pubkey>,
    /// Unix time of the launch.
    pub timestamp: Option<i64>,
    /// Initial virtual token reserves.
    pub virtual_token_reserves: Option<u64>,
    /// Initial virtual SOL reserves.
    pub virtual_sol_reserves: Option<u64>,
    /// Initial real token reserves.
    pub real_token_reserves: Option<u64>,
    /// Total token supply.
    pub token_total_supply: Option<u64>,
    /// Token program of the mint (SPL Token or Token-2022).
    pub token_program: Option<Pubkey>,
    /// Mayhem-mode flag.
    pub is_mayhem_mode: Option<bool>,
    /// Cashback flag.
    pub is_cashback_enabled: Option<bool>,
    /// Quote mint of the curve.
    pub quote_mint: Option<Pubkey>,
    /// Initial virtual quote reserves.
    pub virtual_quote_reserves: Option<u64>,
}

/// The launch a `CreateEvent` names, as `kind` (the instruction that emitted it, when known).
pub(crate) fn event_launch(e: &CreateEvent<'_>, kind: LaunchKind) -> Launch {
    let mut l = Launch::new(kind, Launchpad::PumpFun);
    l.mint = e.mint;
    l.user = e.user;
    l.creator = e.creator.unwrap_or(e.user);
    l.market = e.bonding_curve;
    l.token_program = e
        .token_program
        .and_then(|k| TokenProgram::of_key(&k))
        .unwrap_or_default();
    l.quote_mint = e.quote_mint.unwrap_or_default();
    l.meta = LaunchMeta::new(e.name, e.symbol, e.uri);
    l
}

/// A decoded pump.fun event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PumpEvent<'a> {
    /// A token launch.
    Create(CreateEvent<'a>),
    /// A bonding-curve trade.
    Trade(TradeEvent),
}

/// Decodes a pump.fun event from the bytes of a `Program data:` log line (after base64) or of a
/// self-CPI event instruction (with or without its leading Anchor event tag).
///
/// Returns `Ok(None)` for events of other kinds.
///
/// # Errors
///
/// A [`Malformed`] reason when the discriminator is `CreateEvent` or `TradeEvent` but the payload
/// is truncated or holds out-of-range values.
///
/// # Examples
///
/// ```
/// use sniffer::decode::{PumpEvent, decode_pump_event};
///
/// let mut data = vec![0xbd, 0xdb, 0x7f, 0xd3, 0x4e, 0xe6, 0x61, 0xee]; // TradeEvent
/// data.extend_from_slice(&[7; 32]); // mint
/// data.extend_from_slice(&1_000_000u64.to_le_bytes()); // sol_amount
/// data.extend_from_slice(&5u64.to_le_bytes()); // token_amount
/// data.push(1); // is_buy
/// data.extend_from_slice(&[9; 32]); // user
/// let Some(PumpEvent::Trade(t)) = decode_pump_event(&data)? else { panic!() };
/// assert!(t.is_buy);
/// assert_eq!(t.sol_amount, 1_000_000);
/// assert_eq!(t.timestamp, None);
/// # Ok::<(), sniffer::decode::Malformed>(())
/// ```
pub fn decode_pump_event(data: &[u8]) -> Result<Option<PumpEvent<'_>>, Malformed> {
    let data = match data.split_first_chunk::<8>() {
        Some((&EVENT_IX_TAG, rest)) => rest,
        _ => data,
    };
    let Some((disc, rest)) = data.split_first_chunk::<8>() else {
        return Ok(None);
    };
    match *disc {
        CREATE_EVENT_DISC => decode_create_event(rest).map(|e| Some(PumpEvent::Create(e))),
        TRADE_EVENT_DISC => decode_trade_event(rest).map(|e| Some(PumpEvent::Trade(e))),
        _ => Ok(None),
    }
}

fn decode_create_event(body: &[u8]) -> Result<CreateEvent<'_>, Malformed> {
    let mut r = Reader::new(body);
    Ok(CreateEvent {
        name: r.str()?,
        symbol: r.str()?,
        uri: r.str()?,
        mint: r.pubkey()?,
        bonding_curve: r.pubkey()?,
        user: r.pubkey()?,
        creator: r.opt(Reader::pubkey)?,
        timestamp: r.opt(Reader::i64)?,
        virtual_token_reserves: r.opt(Reader::u64)?,
        virtual_sol_reserves: r.opt(Reader::u64)?,
        real_token_reserves: r.opt(Reader::u64)?,
        token_total_supply: r.opt(Reader::u64)?,
        token_program: r.opt(Reader::pubkey)?,
        is_mayhem_mode: r.opt(Reader::bool)?,
        is_cashback_enabled: r.opt(Reader::bool)?,
        quote_mint: r.opt(Reader::pubkey)?,
        virtual_quote_reserves: r.opt(Reader::u64)?,
    })
}

fn decode_trade_event(body: &[u8]) -> Result<TradeEvent, Malformed> {
    let mut r = Reader::new(body);
    Ok(TradeEvent {
        mint: r.pubkey()?,
        sol_amount: r.u64()?,
        token_amount: r.u64()?,
        is_buy: r.bool()?,
        user: r.pubkey()?,
        timestamp: r.opt(Reader::i64)?,
        virtual_sol_reserves: r.opt(Reader::u64)?,
        virtual_token_reserves: r.opt(Reader::u64)?,
        real_sol_reserves: r.opt(Reader::u64)?,
        real_token_reserves: r.opt(Reader::u64)?,
        fee_recipient: r.opt(Reader::pubkey)?,
        fee_basis_points: r.opt(Reader::u64)?,
        fee: r.opt(Reader::u64)?,
        creator: r.opt(Reader::pubkey)?,
        creator_fee_basis_points: r.opt(Reader::u64)?,
        creator_fee: r.opt(Reader::u64)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn borsh_str(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }

    #[test]
    fn program_constant_matches_its_base58() {
        assert_eq!(PROGRAM.to_string(), PROGRAM_STR);
    }

    #[test]
    fn create_v2_reads_every_argument() {
        let mut d = CREATE_V2_DISC.to_vec();
        borsh_str(&mut d, "n");
        borsh_str(&mut d, "S");
        borsh_str(&mut d, "u");
        d.extend_from_slice(&[3; 32]);
        d.extend_from_slice(&[1, 0]);
        let a = decode_create_ix(&d).unwrap().unwrap();
        assert!(a.v2);
        assert_eq!(a.creator, Some(Pubkey([3; 32])));
        assert_eq!(a.is_mayhem_mode, Some(true));
        assert_eq!(a.is_cashback_enabled, Some(false));
        // create_v2 without its creator is truncated, not a prefix.
        assert_eq!(
            decode_create_ix(&d[..d.len() - 34]),
            Err(Malformed::TruncatedData)
        );
    }

    #[test]
    fn create_event_layouts_decode_as_a_prefix() {
        let mut d = CREATE_EVENT_DISC.to_vec();
        borsh_str(&mut d, "excited");
        borsh_str(&mut d, "excited");
        borsh_str(&mut d, "https://x");
        for k in 1..=3u8 {
            d.extend_from_slice(&[k; 32]);
        }
        let six = d.clone();
        d.extend_from_slice(&[4; 32]); // creator
        d.extend_from_slice(&1_700_000_000i64.to_le_bytes());
        let eight = d.clone();
        for v in 1..=4u64 {
            d.extend_from_slice(&v.to_le_bytes());
        }
        d.extend_from_slice(&[5; 32]);
        d.push(1);
        d.push(0);
        d.extend_from_slice(&[6; 32]);
        d.extend_from_slice(&99u64.to_le_bytes());
        d.extend_from_slice(b"future fields");
        let Some(PumpEvent::Create(e)) = decode_pump_event(&six).unwrap() else {
            panic!("not a create")
        };
        assert_eq!(
            (e.user, e.creator, e.timestamp),
            (Pubkey([3; 32]), None, None)
        );
        let Some(PumpEvent::Create(e)) = decode_pump_event(&eight).unwrap() else {
            panic!("not a create")
        };
        assert_eq!(e.creator, Some(Pubkey([4; 32])));
        assert_eq!(e.virtual_token_reserves, None);
        let Some(PumpEvent::Create(e)) = decode_pump_event(&d).unwrap() else {
            panic!("not a create")
        };
        assert_eq!(e.is_mayhem_mode, Some(true));
        assert_eq!(e.is_cashback_enabled, Some(false));
        assert_eq!(e.virtual_quote_reserves, Some(99));
        // Cut in the middle of a field: truncated.
        assert_eq!(
            decode_pump_event(&eight[..eight.len() - 3]),
            Err(Malformed::TruncatedData)
        );
    }

    #[test]
    fn other_discriminators_are_not_pump_events() {
        assert_eq!(decode_pump_event(&[0; 16]), Ok(None));
        assert_eq!(decode_pump_event(&[1, 2]), Ok(None));
        assert_eq!(decode_create_ix(&[0; 3]), Ok(None));
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(mut data in proptest::collection::vec(any::<u8>(), 0..600), which in 0u8..5) {
            let disc = match which {
                0 => CREATE_EVENT_DISC,
                1 => TRADE_EVENT_DISC,
                2 => CREATE_DISC,
                3 => CREATE_V2_DISC,
                _ => EVENT_IX_TAG,
            };
            if data.len() >= 8 {
                data[..8].copy_from_slice(&disc);
            }
            let _ = decode_pump_event(&data);
            let _ = decode_create_ix(&data);
        }
    }
}
