//! The launch programs, and which family decoder answers for each: the rows a new launchpad
//! adds (a new family file beside `pump.rs`, one [`Program`] variant, one row in each `match`).
//!
//! Dispatch is by program id first: several programs share discriminators (LaunchLab's and
//! CPMM's `initialize`, DBC's and DAMM v2's swaps and `EvtInitializePool`, pump.fun's and
//! LaunchLab's `TradeEvent`, pump.fun's and Moonshot's `buy`), so no payload is looked at before
//! its program is known.

use std::fmt;

use super::launch::{Accounts, Buy, Launch};
use super::{amm, boop, launchlab, meteora_damm, meteora_dbc, moonshot, pump, raydium_cpmm};
use crate::candidate::{LaunchKind, Malformed, Pubkey, TradeEvent};

/// A program whose transactions can be launches (the `--launchpads` names).
///
/// # Examples
///
/// ```
/// use sniffer::decode::Program;
///
/// let p = Program::from_name("launchlab").unwrap();
/// assert_eq!(p.id().to_string(), "LanMV9sAd7wArD4vJFi2qDdfnVhFxYSUg6eADduJ3uj");
/// assert_eq!(Program::ALL.len(), 9);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Program {
    /// pump.fun: `create`, `create_v2`, `migrate` (graduation to PumpSwap).
    Pump,
    /// PumpSwap: `create_pool`.
    PumpSwap,
    /// Raydium AMM v4: `initialize2`.
    RaydiumAmm,
    /// Raydium LaunchLab (bonk.fun and other platforms): pool creation and graduations.
    LaunchLab,
    /// Meteora Dynamic Bonding Curve: curve creation and graduation to DAMM v2.
    MeteoraDbc,
    /// Moonshot (Moonit): `token_mint`.
    Moonshot,
    /// Boop: `create_token` + `deploy_bonding_curve`.
    Boop,
    /// Raydium CPMM: `initialize`, `initialize_with_permission`.
    RaydiumCpmm,
    /// Meteora DAMM v2: the three `initialize_*pool` forms.
    MeteoraDammV2,
}

const TABLE: [(Program, Pubkey, &str, &str); 9] = [
    (Program::Pump, pump::PROGRAM, pump::PROGRAM_STR, "pump"),
    (
        Program::PumpSwap,
        amm::PUMP_SWAP_PROGRAM,
        amm::PUMP_SWAP_PROGRAM_STR,
        "pumpswap",
    ),
    (
        Program::RaydiumAmm,
        amm::RAYDIUM_AMM_V4,
        amm::RAYDIUM_AMM_V4_STR,
        "raydium",
    ),
    (
        Program::LaunchLab,
        launchlab::PROGRAM,
        launchlab::PROGRAM_STR,
        "launchlab",
    ),
    (
        Program::MeteoraDbc,
        meteora_dbc::PROGRAM,
        meteora_dbc::PROGRAM_STR,
        "dbc",
    ),
    (
        Program::Moonshot,
        moonshot::PROGRAM,
        moonshot::PROGRAM_STR,
        "moonshot",
    ),
    (Program::Boop, boop::PROGRAM, boop::PROGRAM_STR, "boop"),
    (
        Program::RaydiumCpmm,
        raydium_cpmm::PROGRAM,
        raydium_cpmm::PROGRAM_STR,
        "cpmm",
    ),
    (
        Program::MeteoraDammV2,
        meteora_damm::PROGRAM,
        meteora_damm::PROGRAM_STR,
        "damm",
    ),
];

/// What an event (a `Program data:` log line or a self-CPI instruction) says.
#[derive(Clone, Copy, Debug)]
// Returned once per event and consumed at once; boxing the launch would allocate on the decode path.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Event {
    /// A launch the event names whole, mint included (pump.fun's `CreateEvent`): merged by mint.
    Launch(Launch),
    /// What the event adds to the launch its program's logs announced (no mint, or no market):
    /// used when the input has only logs.
    Detail(Launch),
    /// A pump.fun trade.
    PumpTrade(TradeEvent),
    /// A buy of a curve or pool (for the creator's initial buy).
    Buy(Buy),
}

impl Program {
    /// Every program, in the order of the table above.
    pub const ALL: [Program; 9] = [
        Program::Pump,
        Program::PumpSwap,
        Program::RaydiumAmm,
        Program::LaunchLab,
        Program::MeteoraDbc,
        Program::Moonshot,
        Program::Boop,
        Program::RaydiumCpmm,
        Program::MeteoraDammV2,
    ];

    fn row(self) -> &'static (Program, Pubkey, &'static str, &'static str) {
        // `TABLE` lists every variant, in `ALL` order.
        &TABLE[self as usize]
    }

    /// The program id.
    pub fn id(self) -> Pubkey {
        self.row().1
    }

    /// The `--launchpads` name (`pump`, `pumpswap`, `raydium`, `launchlab`, `dbc`, `moonshot`,
    /// `boop`, `cpmm`, `damm`).
    pub fn name(self) -> &'static str {
        self.row().3
    }

    /// The program with this [`Program::name`].
    pub fn from_name(name: &str) -> Option<Program> {
        TABLE.iter().find(|r| r.3 == name).map(|r| r.0)
    }

    /// The launch program with this id. Every instruction and every `invoke` log line asks, so
    /// the first byte (base58 text: the first digit) picks the one or two candidates and only
    /// those are compared whole (checked against the table in the tests).
    pub(crate) fn of_key(k: &Pubkey) -> Option<Program> {
        use Program::*;
        let candidates: &[Program] = match k.0[0] {
            1 => &[Pump],
            12 => &[PumpSwap],
            75 => &[RaydiumAmm],
            5 => &[LaunchLab, Moonshot],
            9 => &[MeteoraDbc, MeteoraDammV2],
            8 => &[Boop],
            169 => &[RaydiumCpmm],
            _ => return None,
        };
        candidates.iter().copied().find(|p| p.id() == *k)
    }

    /// The same, from base58 text: JSON inputs skip a base58 decode.
    pub(crate) fn of_text(s: &str) -> Option<Program> {
        use Program::*;
        let candidates: &[Program] = match s.as_bytes().first() {
            Some(b'6') => &[Pump, RaydiumAmm],
            Some(b'p') => &[PumpSwap],
            Some(b'L') => &[LaunchLab],
            Some(b'd') => &[MeteoraDbc],
            Some(b'M') => &[Moonshot],
            Some(b'b') => &[Boop],
            Some(b'C') => &[RaydiumCpmm],
            Some(b'c') => &[MeteoraDammV2],
            _ => return None,
        };
        candidates.iter().copied().find(|p| p.row().2 == s)
    }

    /// True when the instruction may be a launch and must be kept for [`Program::launch`].
    pub(crate) fn keeps(self, data: &[u8]) -> bool {
        match self {
            Program::Pump => pump::keep(data),
            Program::PumpSwap => amm::is_pump_swap_pool(data),
            Program::RaydiumAmm => amm::is_raydium_pool(data),
            Program::LaunchLab => launchlab::keep(data),
            Program::MeteoraDbc => meteora_dbc::keep(data),
            Program::Moonshot => moonshot::keep(data),
            Program::Boop => boop::keep(data),
            Program::RaydiumCpmm => raydium_cpmm::pool(data).is_some(),
            Program::MeteoraDammV2 => meteora_damm::pool(data).is_some(),
        }
    }

    /// The launch a kept instruction makes. `fee_payer` stands in for a pool's creator when the
    /// input did not resolve it.
    pub(crate) fn launch(
        self,
        data: &[u8],
        acc: &dyn Accounts,
        fee_payer: Pubkey,
    ) -> Result<Option<Launch>, Malformed> {
        match self {
            Program::Pump => pump::launch(data, acc),
            Program::PumpSwap => amm::pump_swap_pool(data, acc, fee_payer),
            Program::RaydiumAmm => amm::raydium_pool(acc, fee_payer),
            Program::LaunchLab => launchlab::launch(data, acc),
            Program::MeteoraDbc => meteora_dbc::launch(data, acc),
            Program::Moonshot => moonshot::launch(data, acc),
            Program::Boop => boop::launch(data, acc),
            Program::RaydiumCpmm => match raydium_cpmm::pool(data) {
                Some(layout) => layout.launch(acc, fee_payer),
                None => Ok(None),
            },
            Program::MeteoraDammV2 => match meteora_damm::pool(data) {
                Some(layout) => layout.launch(acc, fee_payer),
                None => Ok(None),
            },
        }
    }

    /// The launch a `Program log: Instruction: <name>` line of this program announces.
    pub(crate) fn log_launch(self, name: &str) -> Option<Launch> {
        match self {
            Program::Pump => pump::log_launch(name),
            Program::LaunchLab => launchlab::log_launch(name),
            Program::MeteoraDbc => meteora_dbc::log_launch(name),
            Program::Moonshot => moonshot::log_launch(name),
            Program::Boop => boop::log_launch(name),
            // Pools: their logs name no account, and they are not launchpads.
            Program::PumpSwap
            | Program::RaydiumAmm
            | Program::RaydiumCpmm
            | Program::MeteoraDammV2 => None,
        }
    }

    /// True when [`Program::event`] decodes some of this program's events: the others'
    /// `Program data:` lines are not even base64-decoded.
    pub(crate) fn has_events(self) -> bool {
        matches!(self, Program::Pump | Program::LaunchLab | Program::Boop)
    }

    /// Decodes an event this program emitted (without the self-CPI tag). `create_v2` says
    /// whether the pump.fun frame that emitted it announced `CreateV2`.
    pub(crate) fn event(self, data: &[u8], create_v2: bool) -> Result<Option<Event>, Malformed> {
        match self {
            Program::Pump => Ok(match pump::decode_pump_event(data)? {
                Some(pump::PumpEvent::Create(e)) => Some(Event::Launch(pump::event_launch(
                    &e,
                    if create_v2 {
                        LaunchKind::PumpCreateV2
                    } else {
                        LaunchKind::PumpCreate
                    },
                ))),
                Some(pump::PumpEvent::Trade(t)) => Some(Event::PumpTrade(t)),
                None => None,
            }),
            Program::LaunchLab => Ok(launchlab::event(data)?.map(|e| match e {
                launchlab::Event::Created(l) => Event::Detail(l),
                launchlab::Event::Bought(b) => Event::Buy(b),
            })),
            Program::Boop => Ok(boop::event(data)?.map(Event::Detail)),
            // Keep `has_events` in step: these decode no event.
            _ => Ok(None),
        }
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_every_program_once_in_order() {
        for (i, p) in Program::ALL.into_iter().enumerate() {
            assert_eq!(TABLE[i].0, p);
            assert_eq!(Program::of_key(&p.id()), Some(p));
            assert_eq!(Program::of_text(TABLE[i].2), Some(p));
            assert_eq!(p.id().to_string(), TABLE[i].2);
            assert_eq!(Program::from_name(p.name()), Some(p));
        }
        assert_eq!(Program::from_name("nope"), None);
        // Keys and texts that only share a first byte or digit with a program are none of them.
        for other in [
            "11111111111111111111111111111111",
            "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
            "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6Q",
            "ComputeBudget111111111111111111111111111111",
            "cpamdpZCGKUy5JxQXB4dcpGPiikHawvSWAd6mEn1sGH",
        ] {
            assert_eq!(Program::of_text(other), None, "{other}");
            let key: Pubkey = other.parse().unwrap();
            assert_eq!(Program::of_key(&key), None, "{other}");
        }
    }
}
