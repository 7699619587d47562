//! [`LaunchRecord`]: the one JSON form of a launch outside the process, version 1.
//!
//! Every output that carries a launch to another program writes it through this type's serde:
//! the CLI's `--candidates` lines and `decode` output, the NATS and Kafka payloads, and the
//! serde form of [`PremintCandidate`] and `decode::Decoded` in the Rust API. The schema is
//! `docs/launch-record.schema.json`; the README shows one record per launch kind.
//!
//! Its rules, for consumers in any language:
//! - `v` is 1. It changes only when a field changes meaning or type; a new optional field does
//!   not change it, so a reader ignores fields it does not know.
//! - A key the input did not carry is *omitted*, never the all-zero key (which is a real
//!   address, the System Program's). The accounts the input lacks but that follow from what it
//!   carried are derived here, when the record is written (program-address searches, ~9 us
//!   each, paid by the output's thread, never by ingest): pump.fun's bonding curve and its
//!   token account, a pump.fun graduation's source curve.
//! - Integers that can pass 2^53 (where a JavaScript `number` stops being exact) are decimal
//!   strings: the creator's buy and `received_unix_ns`. `received_unix_ms` is the same instant
//!   as a number, exact in every language.
//!
//! Reading accepts the record of earlier sniffers too (no `v`, zero keys, numbers where v1 has
//! strings, the `origin` account): a mixed deployment keeps working while it upgrades.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::pda;
use super::TokenProgram;
use super::{LaunchKind, LaunchMeta, Launchpad, PremintCandidate, Priority, Pubkey, Signature};

/// A launch as the outputs write it (JSON through serde): see the module documentation and
/// `docs/launch-record.schema.json`.
///
/// Made with [`LaunchRecord::new`] from the engine's record, its metadata and the name of the
/// feed that saw it; read back with serde and turned into the engine's types with
/// [`LaunchRecord::candidate`] and [`LaunchRecord::meta`].
///
/// # Examples
///
/// ```
/// use sniffer::decode::LaunchRecord;
/// use sniffer::{LaunchKind, PremintCandidate};
///
/// let c = PremintCandidate { kind: LaunchKind::Moonshot, slot: 7, ..Default::default() };
/// let json = serde_json::to_value(LaunchRecord::new(&c, None, Some("ws-0"))).unwrap();
/// assert_eq!(json["v"], 1);
/// assert_eq!(json["feed"], "ws-0");
/// assert!(json.get("mint").is_none(), "an unknown key is omitted, never 1111...1111");
/// assert_eq!(json["creator_buy_lamports"], "0", "amounts are strings");
/// let back: LaunchRecord<'_> = serde_json::from_value(json).unwrap();
/// assert_eq!(back.candidate().slot, 7);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchRecord<'a> {
    /// The record version, [`LaunchRecord::VERSION`] (0 when read from an earlier sniffer's record).
    #[serde(default)]
    pub v: u32,
    /// What kind of launch it is.
    #[serde(default)]
    pub kind: LaunchKind,
    /// The launchpad, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launchpad: Option<Launchpad>,
    /// The token's mint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mint: Option<Pubkey>,
    /// The launch's creator (none for a graduation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<Pubkey>,
    /// The transaction's first signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
    /// The slot the transaction landed in.
    #[serde(default)]
    pub slot: u64,
    /// The account a buy trades against: the bonding curve or the pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market: Option<Pubkey>,
    /// The market's vault of the token (pump.fun's associated bonding curve).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_token_account: Option<Pubkey>,
    /// The market's vault of the quote token (Boop's SOL vault).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_quote_account: Option<Pubkey>,
    /// The quote mint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_mint: Option<Pubkey>,
    /// The program's configuration account a buy passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Pubkey>,
    /// LaunchLab's platform config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_config: Option<Pubkey>,
    /// The bonding curve a graduation's token left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_curve: Option<Pubkey>,
    /// The mint's token program.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_program: Option<TokenProgram>,
    /// The quote mint's token program.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_token_program: Option<TokenProgram>,
    /// The creator's buy in the launch transaction, in base units of the quote mint.
    #[serde(default, with = "u64_text")]
    pub creator_buy_lamports: u64,
    /// Token base units that buy received.
    #[serde(default, with = "u64_text")]
    pub creator_buy_tokens: u64,
    /// The token's name, when the input carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Cow<'a, str>>,
    /// The token's symbol, when the input carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<Cow<'a, str>>,
    /// The metadata uri, when the input carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<Cow<'a, str>>,
    /// The name of the feed that saw the launch first, when the writer knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<Cow<'a, str>>,
    /// Receive time, milliseconds since the Unix epoch (0 when unknown: then omitted).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub received_unix_ms: u64,
    /// Receive time, nanoseconds since the Unix epoch, as a decimal string (0: omitted).
    #[serde(default, with = "u64_text", skip_serializing_if = "is_zero")]
    pub received_unix_ns: u64,
    /// The deterministic score (higher is better).
    #[serde(default)]
    pub score: u32,
    /// The delivery priority.
    #[serde(default)]
    pub priority: Priority,
    /// False when the launch was read from the leader's entries before execution (ShredStream):
    /// no logs, no meta, no result; the creator buy is what the instruction asked for. Written
    /// only when false (absent: seen after execution).
    #[serde(default = "executed_default", skip_serializing_if = "is_executed")]
    pub executed: bool,
    /// An earlier sniffer's `origin` (platform config or source curve); read, never written.
    #[serde(default, rename = "origin", skip_serializing)]
    legacy_origin: Option<Pubkey>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn executed_default() -> bool {
    true
}

fn is_executed(v: &bool) -> bool {
    *v
}

fn key(k: Pubkey) -> Option<Pubkey> {
    (k != Pubkey::ZERO).then_some(k)
}

fn text(s: &str) -> Option<Cow<'_, str>> {
    (!s.is_empty()).then_some(Cow::Borrowed(s))
}

impl<'a> LaunchRecord<'a> {
    /// The record version this crate writes.
    pub const VERSION: u32 = 1;

    /// The record of `c`, with its metadata and the name of its feed when known; the accounts
    /// the input lacked are derived here (see the module documentation).
    pub fn new(c: &PremintCandidate, meta: Option<&'a LaunchMeta>, feed: Option<&'a str>) -> Self {
        let pump = matches!(c.kind, LaunchKind::PumpCreate | LaunchKind::PumpCreateV2);
        let mint = key(c.mint);
        let market = key(c.market).or_else(|| {
            // pump.fun's curve is a program address of the mint.
            mint.filter(|_| pump)
                .and_then(|m| pda::pump_bonding_curve(&m))
        });
        let market_token_account = key(c.market_token_account).or_else(|| {
            let (curve, mint) = (market.filter(|_| pump)?, mint?);
            pda::associated_token_address(&curve, &mint, c.token_program)
        });
        LaunchRecord {
            v: Self::VERSION,
            kind: c.kind,
            launchpad: (c.launchpad != Launchpad::Unknown).then_some(c.launchpad),
            mint,
            creator: key(c.creator),
            signature: (c.signature != Signature::ZERO).then_some(c.signature),
            slot: c.slot,
            market,
            market_token_account,
            market_quote_account: key(c.market_quote_account),
            quote_mint: key(c.quote_mint),
            config: key(c.config),
            platform_config: c.platform_config(),
            source_curve: c.source_curve(),
            token_program: (c.token_program != TokenProgram::Unknown).then_some(c.token_program),
            quote_token_program: (c.quote_token_program != TokenProgram::Unknown)
                .then_some(c.quote_token_program),
            creator_buy_lamports: c.creator_buy_lamports,
            creator_buy_tokens: c.creator_buy_tokens,
            name: meta.and_then(|m| text(m.name())),
            symbol: meta.and_then(|m| text(m.symbol())),
            uri: meta.and_then(|m| text(m.uri())),
            feed: feed.filter(|f| !f.is_empty()).map(Cow::Borrowed),
            received_unix_ms: c.received_unix_ns / 1_000_000,
            received_unix_ns: c.received_unix_ns,
            score: c.score,
            priority: c.priority,
            executed: c.executed,
            legacy_origin: None,
        }
    }

    /// The engine's record of this launch. The process-local fields (`seq`, `detected_at_ns`,
    /// `feed_id`) are 0; what the record omits is the zero key; derived accounts are kept.
    pub fn candidate(&self) -> PremintCandidate {
        let k = |k: Option<Pubkey>| k.unwrap_or(Pubkey::ZERO);
        let origin = self
            .platform_config
            .or(self.source_curve)
            .or(self.legacy_origin);
        PremintCandidate {
            mint: k(self.mint),
            creator: k(self.creator),
            signature: self.signature.unwrap_or(Signature::ZERO),
            market: k(self.market),
            market_token_account: k(self.market_token_account),
            market_quote_account: k(self.market_quote_account),
            quote_mint: k(self.quote_mint),
            config: k(self.config),
            origin: k(origin),
            slot: self.slot,
            received_unix_ns: self.received_unix_ns,
            creator_buy_lamports: self.creator_buy_lamports,
            creator_buy_tokens: self.creator_buy_tokens,
            score: self.score,
            kind: self.kind,
            priority: self.priority,
            token_program: self.token_program.unwrap_or_default(),
            quote_token_program: self.quote_token_program.unwrap_or_default(),
            launchpad: self.launchpad.unwrap_or_default(),
            executed: self.executed,
            ..PremintCandidate::default()
        }
    }

    /// The launch's name, symbol and uri (empty when the record had none).
    pub fn meta(&self) -> LaunchMeta {
        let s = |t: &Option<Cow<'a, str>>| t.as_deref().unwrap_or_default().to_owned();
        LaunchMeta::new(&s(&self.name), &s(&self.symbol), &s(&self.uri))
    }
}

/// The serde form of the engine's record is its [`LaunchRecord`] (no metadata, no feed name).
impl Serialize for PremintCandidate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        LaunchRecord::new(self, None, None).serialize(serializer)
    }
}

/// Reads a [`LaunchRecord`] (of any version this crate reads) into the engine's record.
impl<'de> Deserialize<'de> for PremintCandidate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        LaunchRecord::deserialize(deserializer).map(|r| r.candidate())
    }
}

/// A `u64` written as a decimal string (exact in JavaScript), read from a string or a number.
mod u64_text {
    use super::*;

    pub(super) fn serialize<S: Serializer>(v: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(v)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        deserializer.deserialize_any(Text)
    }

    struct Text;

    impl Visitor<'_> for Text {
        type Value = u64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an unsigned integer, or one as a decimal string")
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
            v.parse().map_err(E::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_omits_what_is_unknown() {
        let c = PremintCandidate {
            mint: Pubkey([1; 32]),
            kind: LaunchKind::RaydiumPool,
            slot: 9,
            creator_buy_tokens: u64::MAX,
            received_unix_ns: 1_800_000_000_123_456_789,
            ..Default::default()
        };
        let json = serde_json::to_value(c).unwrap();
        assert_eq!(json["creator_buy_tokens"], u64::MAX.to_string());
        assert_eq!(json["received_unix_ns"], "1800000000123456789");
        assert_eq!(json["received_unix_ms"], 1_800_000_000_123u64);
        for absent in [
            "creator",
            "signature",
            "market",
            "launchpad",
            "token_program",
        ] {
            assert!(json.get(absent).is_none(), "{absent}: {json}");
        }
        let back: PremintCandidate = serde_json::from_value(json).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn an_earlier_sniffers_record_still_reads() {
        let zero = Pubkey::ZERO.to_string();
        let body = format!(
            r#"{{"mint":"{zero}","origin":"{}","slot":3,"received_unix_ns":17,
                "creator_buy_lamports":5,"feed_id":2,"kind":"launchlab","launchpad":"unknown"}}"#,
            Pubkey([4; 32])
        );
        let r: LaunchRecord<'_> = serde_json::from_str(&body).unwrap();
        assert_eq!(r.v, 0);
        let c = r.candidate();
        assert_eq!(
            (c.slot, c.received_unix_ns, c.creator_buy_lamports),
            (3, 17, 5)
        );
        assert_eq!((c.mint, c.origin), (Pubkey::ZERO, Pubkey([4; 32])));
    }
}
