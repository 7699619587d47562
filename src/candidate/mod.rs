//! The record that flows through the engine: [`PremintCandidate`], with its [`Priority`],
//! [`LaunchKind`], [`Launchpad`], [`TokenProgram`], 32-byte [`Pubkey`] and 64-byte [`Signature`]; beside it the
//! types that several stages share and that therefore live below all of them: the launch's
//! [`LaunchMeta`], the [`Malformed`] reasons, a decoded [`TradeEvent`], and the program-address
//! derivation (`pda.rs`) that fills a record's derived accounts.
//!
//! The record is fixed-size, `Copy` and heap-free, and it is aligned to a cache line
//! (`#[repr(C, align(64))]`): an unaligned record makes neighbouring ring slots share cache lines
//! (a 128-byte record without the alignment measured 6 M/s against 19 M/s for raw crossbeam on the
//! development machine).
//! It is 384 bytes (six lines) and carries everything a bot needs to send its buy with no further
//! lookup: the signature, the market it trades against (bonding curve or pool) with its token
//! and quote vaults, the quote mint, the program's config account, the platform or source curve,
//! the token programs, the creator's initial buy, and a wall-clock receive time. The size was
//! chosen by measurement against 128-, 256-byte records and a 128-byte record plus a cold side
//! table (`benches/engine.rs`, group `record_size`; the figures are in the README). Launch
//! metadata of variable length (name, symbol, uri) stays out of the record: the bot reads it
//! through `CandidateReceiver::launch_meta`.

mod keys;
mod malformed;
mod meta;
pub(crate) mod pda;
mod record;
mod trade;

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub use keys::{Pubkey, PubkeyParseError, Signature};
pub use malformed::Malformed;
pub use meta::LaunchMeta;
pub use record::LaunchRecord;
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
///
/// A *curve* kind is a new token on a launchpad's bonding curve; a *pool* kind is a new AMM pool;
/// a *graduation* kind is the first pool of a token that left its curve (the record's
/// [`PremintCandidate::source_curve`] names the curve when the transaction shows it). The
/// numbers are stable (they travel in NATS message ids).
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
    /// Raydium LaunchLab (bonk.fun and other platforms) `initialize`, `initialize_v2` or
    /// `initialize_with_token_2022`.
    #[serde(rename = "launchlab")]
    LaunchLab = 4,
    /// Meteora Dynamic Bonding Curve `initialize_virtual_pool_with_spl_token` or
    /// `initialize_virtual_pool_with_token2022`.
    MeteoraDbc = 5,
    /// Moonshot (Moonit) `token_mint`.
    Moonshot = 6,
    /// Boop `create_token` + `deploy_bonding_curve`.
    Boop = 7,
    /// Raydium CPMM `initialize` (or `initialize_with_permission`) outside a graduation.
    RaydiumCpmmPool = 8,
    /// Meteora DAMM v2 `initialize_pool` (or its dynamic-config and customizable forms) outside a
    /// graduation.
    MeteoraDammV2Pool = 9,
    /// pump.fun `migrate`: the curve's token gets its PumpSwap pool.
    PumpSwapGraduation = 10,
    /// LaunchLab `migrate_to_cpswap`: the curve's token gets its Raydium CPMM pool.
    RaydiumCpmmGraduation = 11,
    /// LaunchLab `migrate_to_amm`: the curve's token gets its Raydium AMM v4 pool.
    RaydiumAmmGraduation = 12,
    /// Meteora DBC `migration_damm_v2`: the curve's token gets its DAMM v2 pool.
    MeteoraDammV2Graduation = 13,
}

impl LaunchKind {
    /// Every kind, in number order.
    pub const ALL: [LaunchKind; 14] = [
        LaunchKind::PumpCreate,
        LaunchKind::PumpCreateV2,
        LaunchKind::PumpSwapPool,
        LaunchKind::RaydiumPool,
        LaunchKind::LaunchLab,
        LaunchKind::MeteoraDbc,
        LaunchKind::Moonshot,
        LaunchKind::Boop,
        LaunchKind::RaydiumCpmmPool,
        LaunchKind::MeteoraDammV2Pool,
        LaunchKind::PumpSwapGraduation,
        LaunchKind::RaydiumCpmmGraduation,
        LaunchKind::RaydiumAmmGraduation,
        LaunchKind::MeteoraDammV2Graduation,
    ];

    /// The stable name (serde's, the NATS subject's and the metric label's).
    ///
    /// # Examples
    ///
    /// ```
    /// use sniffer::LaunchKind;
    ///
    /// assert_eq!(LaunchKind::LaunchLab.as_str(), "launchlab");
    /// assert_eq!(LaunchKind::MeteoraDammV2Graduation.as_str(), "meteora_damm_v2_graduation");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            LaunchKind::PumpCreate => "pump_create",
            LaunchKind::PumpCreateV2 => "pump_create_v2",
            LaunchKind::PumpSwapPool => "pump_swap_pool",
            LaunchKind::RaydiumPool => "raydium_pool",
            LaunchKind::LaunchLab => "launchlab",
            LaunchKind::MeteoraDbc => "meteora_dbc",
            LaunchKind::Moonshot => "moonshot",
            LaunchKind::Boop => "boop",
            LaunchKind::RaydiumCpmmPool => "raydium_cpmm_pool",
            LaunchKind::MeteoraDammV2Pool => "meteora_damm_v2_pool",
            LaunchKind::PumpSwapGraduation => "pump_swap_graduation",
            LaunchKind::RaydiumCpmmGraduation => "raydium_cpmm_graduation",
            LaunchKind::RaydiumAmmGraduation => "raydium_amm_graduation",
            LaunchKind::MeteoraDammV2Graduation => "meteora_damm_v2_graduation",
        }
    }

    /// The kind with this [`LaunchKind::as_str`] name.
    pub fn from_name(name: &str) -> Option<LaunchKind> {
        LaunchKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// A new token on a launchpad's bonding curve (its market is the curve).
    pub const fn is_curve(self) -> bool {
        matches!(
            self,
            LaunchKind::PumpCreate
                | LaunchKind::PumpCreateV2
                | LaunchKind::LaunchLab
                | LaunchKind::MeteoraDbc
                | LaunchKind::Moonshot
                | LaunchKind::Boop
        )
    }

    /// A curve's token getting its first AMM pool (its market is the pool).
    pub const fn is_graduation(self) -> bool {
        matches!(
            self,
            LaunchKind::PumpSwapGraduation
                | LaunchKind::RaydiumCpmmGraduation
                | LaunchKind::RaydiumAmmGraduation
                | LaunchKind::MeteoraDammV2Graduation
        )
    }
}

/// The launchpad (platform) behind a launch, where the program tells it: LaunchLab serves several
/// platforms, told apart by the launch's platform config account (table in the README and in
/// `decode/launchlab.rs`). Pool kinds outside a graduation have none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Launchpad {
    /// Not a launchpad launch, or not known from the input.
    #[default]
    Unknown = 0,
    /// pump.fun.
    PumpFun = 1,
    /// LetsBonk (bonk.fun) on Raydium LaunchLab.
    LetsBonk = 2,
    /// StonkFun on Raydium LaunchLab.
    StonkFun = 3,
    /// Raydium LaunchLab under another platform config, or one the input did not name.
    LaunchLab = 4,
    /// Meteora DBC (the platform is the record's `config`: see the README).
    MeteoraDbc = 5,
    /// Moonshot (Moonit).
    Moonshot = 6,
    /// Boop.
    Boop = 7,
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
/// A key the input did not carry is the zero key. A launch seen only through its logs lacks
/// what the logs do not name: LaunchLab's logs name the pool, creator and global config but not
/// the mint; Meteora DBC's and Moonshot's name nothing but the instruction (see the README's
/// launch table). Such a record keeps the signature, so the bot can fetch the rest.
///
/// # Examples
///
/// ```
/// use sniffer::{LaunchKind, PremintCandidate, Priority};
///
/// let c = PremintCandidate { slot: 284_682_639, priority: Priority::High, ..Default::default() };
/// assert_eq!(std::mem::size_of_val(&c), 384);
/// assert_eq!(std::mem::align_of_val(&c), 64);
/// assert_eq!(c.bonding_curve(), None, "a default record has no market");
/// ```
// Its serde form is its `LaunchRecord` (`record.rs`): one JSON shape for every output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct PremintCandidate {
    /// The new token's mint address (zero when the input did not name it: see above).
    pub mint: Pubkey,
    /// The launch's creator (the signer, or the `creator` argument when present); zero for a
    /// graduation, whose transaction is signed by whoever migrates the curve.
    pub creator: Pubkey,
    /// The launch transaction's first signature (its id); zero when the input had none.
    pub signature: Signature,
    /// The account a buy trades against: the bonding curve (pump.fun's curve, LaunchLab's pool
    /// state, DBC's virtual pool, Moonshot's curve account, Boop's bonding curve) or the pool
    /// (see [`PremintCandidate::bonding_curve`] and [`PremintCandidate::pool`]); zero when unknown.
    pub market: Pubkey,
    /// The market's vault of the launched token: pump.fun's associated bonding curve, the
    /// curve's or pool's base vault, as the input named it; zero when it did not (for pump.fun,
    /// [`PremintCandidate::associated_bonding_curve`] then derives it).
    pub market_token_account: Pubkey,
    /// The market's vault of the quote token (LaunchLab, DBC, pools), or Boop's SOL vault; zero
    /// when there is none or the input did not name it.
    pub market_quote_account: Pubkey,
    /// The quote mint the market trades against (wrapped SOL, USD1, USDC, ...); zero when unknown.
    pub quote_mint: Pubkey,
    /// The program's configuration account a buy passes: LaunchLab's global config, DBC's pool
    /// config (which also names the platform), the CPMM amm config, the DAMM v2 config,
    /// Moonshot's and Boop's config, PumpSwap's global config; zero when unknown.
    pub config: Pubkey,
    /// Where the launch comes from: LaunchLab's platform config for a LaunchLab launch, the curve
    /// the token left for a graduation (see [`PremintCandidate::platform_config`] and
    /// [`PremintCandidate::source_curve`]); zero otherwise.
    pub origin: Pubkey,
    /// The slot the transaction landed in.
    pub slot: u64,
    /// Detection time on the [`monotonic_ns`] clock.
    pub detected_at_ns: u64,
    /// Receive time in nanoseconds since the Unix epoch (wall clock).
    pub received_unix_ns: u64,
    /// Engine sequence number, assigned at ingest.
    pub seq: u64,
    /// What the creator paid for its own buy in the launch transaction, in base units of the
    /// quote mint (lamports when it is SOL; 0 when none).
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
    /// The quote mint's token program.
    pub quote_token_program: TokenProgram,
    /// The launchpad (platform) behind the launch.
    pub launchpad: Launchpad,
    /// True when the input showed the transaction executed (its logs, its meta, or a feed that
    /// sends only successful transactions); false when the launch was read from the
    /// transaction alone, before any execution (a ShredStream entry): it may yet fail, and the
    /// creator's buy is what its instruction asked for, not what it got. Default true (a
    /// record from an older sender was executed). It fills one byte of the record's padding.
    pub executed: bool,
}

impl Default for PremintCandidate {
    fn default() -> Self {
        let z = Pubkey::ZERO;
        PremintCandidate {
            mint: z,
            creator: z,
            signature: Signature::default(),
            market: z,
            market_token_account: z,
            market_quote_account: z,
            quote_mint: z,
            config: z,
            origin: z,
            slot: 0,
            detected_at_ns: 0,
            received_unix_ns: 0,
            seq: 0,
            creator_buy_lamports: 0,
            creator_buy_tokens: 0,
            score: 0,
            feed_id: 0,
            kind: LaunchKind::default(),
            priority: Priority::default(),
            token_program: TokenProgram::default(),
            quote_token_program: TokenProgram::default(),
            launchpad: Launchpad::default(),
            executed: true,
        }
    }
}

// Six cache lines: 9 keys and the signature (352 bytes) and the scalars (`executed` took one of
// the four bytes of padding at the end). Measured against the
// 256-byte record in `benches/engine.rs` (group `record_size`; figures in the README).
const _: () = assert!(std::mem::size_of::<PremintCandidate>() == 384);
const _: () = assert!(std::mem::align_of::<PremintCandidate>() == 64);

impl PremintCandidate {
    /// The bonding curve, for curve kinds with a known market (pump.fun, LaunchLab, DBC,
    /// Moonshot, Boop).
    pub fn bonding_curve(&self) -> Option<Pubkey> {
        (self.kind.is_curve() && self.market != Pubkey::ZERO).then_some(self.market)
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

    /// The pool, for pool and graduation kinds.
    pub fn pool(&self) -> Option<Pubkey> {
        let pool = !self.kind.is_curve();
        (pool && self.market != Pubkey::ZERO).then_some(self.market)
    }

    /// LaunchLab's platform config (which platform launched the token).
    pub fn platform_config(&self) -> Option<Pubkey> {
        (self.kind == LaunchKind::LaunchLab && self.origin != Pubkey::ZERO).then_some(self.origin)
    }

    /// The bonding curve a graduation's token left. Taken from the record when the transaction
    /// named it; for pump.fun derived from the mint (`["bonding-curve", mint]`, one
    /// program-address search of a few microseconds: keep the result). `None` for other kinds.
    pub fn source_curve(&self) -> Option<Pubkey> {
        if !self.kind.is_graduation() {
            return None;
        }
        if self.origin != Pubkey::ZERO {
            return Some(self.origin);
        }
        (self.kind == LaunchKind::PumpSwapGraduation && self.mint != Pubkey::ZERO)
            .then(|| pda::pump_bonding_curve(&self.mint))
            .flatten()
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
