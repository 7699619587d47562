//! The record that flows through the engine: [`PremintCandidate`], with its [`Priority`],
//! [`LaunchKind`], [`TokenProgram`], 32-byte [`Pubkey`] and 64-byte [`Signature`]; beside it the
//! types that several stages share and that therefore live below all of them: the launch's
//! [`LaunchMeta`], the [`Malformed`] reasons, a decoded [`TradeEvent`], and the program-address
//! derivation (`pda.rs`) that fills a record's derived accounts.
//!
//! The record is fixed-size, `Copy` and heap-free, and it is aligned to a cache line
//! (`#[repr(C, align(64))]`): an unaligned record makes neighbouring ring slots share cache lines
//! (a 128-byte record without the alignment measured 6 M/s against 19 M/s for raw crossbeam on the
//! development machine).
//! It is 256 bytes (four lines) and carries everything a bot needs to send its buy with no further
//! lookup: the signature, the market it trades against (bonding curve and its token account, or
//! the pool), the token program, the creator's initial buy, and a wall-clock receive time. The
//! size was chosen by measurement against a 128-byte record and a 128-byte record plus a cold
//! side table (`benches/engine.rs`, group `record_size`; the figures are in the README). Launch
//! metadata of variable length (name, symbol, uri) stays out of the record: the bot reads it
//! through `CandidateReceiver::launch_meta`.

mod keys;
mod malformed;
mod meta;
pub(crate) mod pda;
mod trade;

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub use keys::{Pubkey, PubkeyParseError, Signature};
pub use malformed::Malformed;
pub use meta::LaunchMeta;
#[cfg(any(feature = "sqlite", feature = "clickhouse"))]
pub(crate) use trade::RecentIds;
pub use trade::TradeEvent;

/// Delivery priority. High candidates are sent before Low ones within each batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum Priority {
    /// Sent first; has its own output lane.
    High = 0,
    /// Sent after High; has its own output lane.
    #[default]
    Low = 1,
}

impl Priority {
    /// Both priorities, in sending order.
    pub const ALL: [Priority; 2] = [Priority::High, Priority::Low];

    /// The lane index of this priority (High = 0, Low = 1).
    pub const fn lane(self) -> usize {
        self as usize
    }
}

/// What kind of launch a candidate reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum LaunchKind {
    /// pump.fun `create` instruction or its `CreateEvent`.
    #[default]
    PumpCreate = 0,
    /// pump.fun `create_v2` instruction.
    PumpCreateV2 = 1,
    /// PumpSwap `create_pool`.
    PumpSwapPool = 2,
    /// Raydium AMM v4 `initialize2`.
    RaydiumPool = 3,
}

/// The token program that owns a mint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum TokenProgram {
    /// Not known from the input.
    #[default]
    Unknown = 0,
    /// SPL Token, `TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA` (pump.fun `create`, Raydium v4).
    Token = 1,
    /// Token-2022, `TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb` (pump.fun `create_v2`).
    Token2022 = 2,
}

impl TokenProgram {
    /// SPL Token's program id.
    pub const TOKEN_ID: Pubkey = Pubkey([
        6, 221, 246, 225, 215, 101, 161, 147, 217, 203, 225, 70, 206, 235, 121, 172, 28, 180, 133,
        237, 95, 91, 55, 145, 58, 140, 245, 133, 126, 255, 0, 169,
    ]);
    /// Token-2022's program id.
    pub const TOKEN_2022_ID: Pubkey = Pubkey([
        6, 221, 246, 225, 238, 117, 143, 222, 24, 66, 93, 188, 228, 108, 205, 218, 182, 26, 252,
        77, 131, 185, 13, 39, 254, 189, 249, 40, 216, 161, 139, 252,
    ]);

    /// The token program with this id, if it is one.
    pub fn of_key(key: &Pubkey) -> Option<TokenProgram> {
        if *key == Self::TOKEN_ID {
            Some(TokenProgram::Token)
        } else if *key == Self::TOKEN_2022_ID {
            Some(TokenProgram::Token2022)
        } else {
            None
        }
    }

    /// The program id (`None` when unknown).
    pub fn id(self) -> Option<Pubkey> {
        match self {
            TokenProgram::Unknown => None,
            TokenProgram::Token => Some(Self::TOKEN_ID),
            TokenProgram::Token2022 => Some(Self::TOKEN_2022_ID),
        }
    }
}

/// One detected token launch: the fixed-size record the engine moves, with what a bot needs to
/// send its buy.
///
/// `seq` is assigned by the engine when the candidate is accepted (unique per engine, increasing
/// per producer within a priority); `detected_at_ns` is on the [`monotonic_ns`] clock and is filled in at ingest when
/// the producer left it at 0 (a clock read: stamp candidates where they are detected, as the
/// feeds do); `received_unix_ns` is derived from it when left at 0 (see [`unix_ns_at`]).
///
/// # Examples
///
/// ```
/// use sniffer::{LaunchKind, PremintCandidate, Priority};
///
/// let c = PremintCandidate { slot: 284_682_639, priority: Priority::High, ..Default::default() };
/// assert_eq!(std::mem::size_of_val(&c), 256);
/// assert_eq!(std::mem::align_of_val(&c), 64);
/// assert_eq!(c.bonding_curve(), None, "a default record has no market");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
// A field a sender did not write (an older sniffer publishing to NATS) reads as its default.
#[serde(default)]
#[repr(C, align(64))]
pub struct PremintCandidate {
    /// The new token's mint address.
    pub mint: Pubkey,
    /// The launch's creator (the signer, or the `creator` argument when present).
    pub creator: Pubkey,
    /// The launch transaction's first signature (its id); zero when the input had none.
    pub signature: Signature,
    /// The account a buy trades against: pump.fun's bonding curve, or the PumpSwap / Raydium pool
    /// (see [`PremintCandidate::bonding_curve`] and [`PremintCandidate::pool`]); zero when unknown.
    pub market: Pubkey,
    /// The market's token account: pump.fun's associated bonding curve, or the pool's vault of
    /// the launched token, as the input named it; zero when it did not (for pump.fun,
    /// [`PremintCandidate::associated_bonding_curve`] then derives it).
    pub market_token_account: Pubkey,
    /// The slot the transaction landed in.
    pub slot: u64,
    /// Detection time on the [`monotonic_ns`] clock.
    pub detected_at_ns: u64,
    /// Receive time in nanoseconds since the Unix epoch (wall clock).
    pub received_unix_ns: u64,
    /// Engine sequence number, assigned at ingest.
    pub seq: u64,
    /// Lamports of the creator's own buy in the launch transaction (0 when none).
    pub creator_buy_lamports: u64,
    /// Token base units that buy received (0 when none).
    pub creator_buy_tokens: u64,
    /// Deterministic score (higher is better).
    pub score: u32,
    /// Which feed saw it first.
    pub feed_id: u16,
    /// What kind of launch it is.
    pub kind: LaunchKind,
    /// Delivery priority.
    pub priority: Priority,
    /// The mint's token program.
    pub token_program: TokenProgram,
}

const _: () = assert!(std::mem::size_of::<PremintCandidate>() == 256);
const _: () = assert!(std::mem::align_of::<PremintCandidate>() == 64);

impl PremintCandidate {
    /// pump.fun's bonding curve, for pump.fun launches with a known market.
    pub fn bonding_curve(&self) -> Option<Pubkey> {
        let pump = matches!(self.kind, LaunchKind::PumpCreate | LaunchKind::PumpCreateV2);
        (pump && self.market != Pubkey::ZERO).then_some(self.market)
    }

    /// pump.fun's associated bonding curve (the curve's token account, which every buy passes).
    ///
    /// Taken from the record when the input named it (a create instruction); otherwise (a
    /// logs-only launch, whose `CreateEvent` names the curve but not its token account) derived
    /// from the curve, the mint and the token program as the associated-token program does. The
    /// derivation costs ~9 us (a program-address search: see
    /// [`decode::find_program_address`](crate::decode::find_program_address)) and is not cached:
    /// keep the result. `None` for other kinds, or when the curve or the token program is unknown.
    pub fn associated_bonding_curve(&self) -> Option<Pubkey> {
        let pump = matches!(self.kind, LaunchKind::PumpCreate | LaunchKind::PumpCreateV2);
        if !pump {
            return None;
        }
        if self.market_token_account != Pubkey::ZERO {
            return Some(self.market_token_account);
        }
        let curve = self.bonding_curve()?;
        pda::associated_token_address(&curve, &self.mint, self.token_program)
    }

    /// The pool, for PumpSwap and Raydium launches.
    pub fn pool(&self) -> Option<Pubkey> {
        let pool = matches!(
            self.kind,
            LaunchKind::PumpSwapPool | LaunchKind::RaydiumPool
        );
        (pool && self.market != Pubkey::ZERO).then_some(self.market)
    }
}

/// Nanoseconds on the process-wide monotonic clock used for `detected_at_ns` and latency.
///
/// The epoch is the first call in the process, so values are small and never 0 after start-up
/// work has begun; they are comparable across threads.
pub fn monotonic_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    // Saturates after 584 years of uptime.
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Unix time (ns) of a [`monotonic_ns`] instant: the wall clock read once, with the monotonic
/// clock, at the process's first call, plus the monotonic time since. No clock read per call, and
/// never backwards; it drifts from the wall clock only by the machine clock's adjustments since
/// start-up.
///
/// # Examples
///
/// ```
/// let t = sniffer::monotonic_ns();
/// assert!(sniffer::unix_ns_at(t) > 1_600_000_000_000_000_000);
/// ```
pub fn unix_ns_at(monotonic: u64) -> u64 {
    unix_base_ns().saturating_add(monotonic)
}

fn unix_base_ns() -> u64 {
    static BASE: OnceLock<u64> = OnceLock::new();
    *BASE.get_or_init(|| {
        let mono = monotonic_ns();
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        wall.saturating_sub(mono)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pubkey_round_trips_base58() {
        let s = "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA";
        let k: Pubkey = s.parse().unwrap();
        assert_eq!(k.to_string(), s);
        assert_eq!(format!("{k:?}"), format!("Pubkey({s})"));
    }

    #[test]
    fn pubkey_rejects_bad_input() {
        assert_eq!(
            "0OIl".parse::<Pubkey>(),
            Err(PubkeyParseError::InvalidBase58)
        );
        assert_eq!(
            "abc".parse::<Pubkey>(),
            Err(PubkeyParseError::WrongLength(3))
        );
        assert!(matches!(
            "1".repeat(45).parse::<Pubkey>(),
            Err(PubkeyParseError::TooLong(45))
        ));
        assert_eq!(
            Pubkey::try_from_slice(&[1; 31]),
            Err(PubkeyParseError::WrongLength(31))
        );
    }

    #[test]
    fn zero_key_is_all_ones_in_base58() {
        assert_eq!(Pubkey::ZERO.to_string(), "1".repeat(32));
    }

    #[test]
    fn clock_is_monotonic() {
        let a = monotonic_ns();
        let b = monotonic_ns();
        assert!(b >= a);
    }
}
