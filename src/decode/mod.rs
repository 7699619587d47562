//! Decoding layer: one input line (one JSON document) in, zero or more scored launch records out.
//!
//! ```text
//! line ─► json (reader: memchr strings, borrowed) ─► Tx scratch ─► detect ─► score ─► Decoded
//!            ├─ wire      base64 wire transactions (legacy / v0 / v1)
//!            ├─ logs      log lines: invocation frames, announced launches, events
//!            ├─ programs  the launch programs, dispatched by program id to their family:
//!            │    pump          pump.fun create / create_v2 / migrate + CreateEvent / TradeEvent
//!            │    amm           PumpSwap create_pool, Raydium AMM v4 initialize2
//!            │    launchlab     Raydium LaunchLab initialize* / migrate_to_* + events
//!            │    meteora_dbc   Meteora DBC initialize_virtual_pool_* / migration_damm_v2
//!            │    moonshot      Moonshot token_mint
//!            │    boop          Boop create_token + deploy_bonding_curve + events
//!            │    raydium_cpmm  Raydium CPMM initialize / initialize_with_permission
//!            │    meteora_damm  Meteora DAMM v2 initialize_pool (three forms)
//!            ├─ launch    the Launch a family hands back, the Accounts view it reads through
//!            └─ borsh     bounded reader under all binary payloads
//! ```
//! The formats (`logsNotification`, `getTransaction` in json/jsonParsed/base64, `blockSubscribe`)
//! are described in `json.rs`, the detection rules in `detect.rs`, the score formula in
//! `score.rs`. No Solana SDK: keys are 32-byte arrays; base64 comes from `b64.rs` (checked against the
//! `base64` crate), and base58 from `b58.rs`, a
//! limb-based decoder checked against `bs58` by property tests (`bs58` measured 3-7x slower than a
//! plain JSON parse on the transaction paths, which broke the 2x decode budget).
//!
//! Bad input is a typed [`Malformed`] reason, never a panic, and never costs more than the line
//! itself: lines are capped at [`DecoderConfig::max_line_len`], every length read from the input is
//! checked against the bytes that remain, and base58 text is length-capped before the
//! (quadratic) decode. A [`Decoder`] keeps its scratch buffers between lines, so once warmed the
//! `logsNotification` path does not allocate.

pub(crate) mod amm;
mod b58;
mod b64;
mod boop;
mod borsh;
mod detect;
pub(crate) mod entries;
mod json;
mod launch;
mod launchlab;
mod logs;
mod meteora_damm;
mod meteora_dbc;
mod moonshot;
mod parsed;
mod programs;
pub(crate) mod pump;
mod raydium_cpmm;
mod reader;
mod record;
mod scan;
mod score;
pub(crate) mod wire;

use std::fmt;

pub use crate::candidate::pda::{
    associated_token_address, find_program_address, ASSOCIATED_TOKEN_PROGRAM,
};
pub use crate::candidate::{LaunchRecord, Malformed, TradeEvent};
pub use parsed::ParsedTx;
pub use programs::Program;
pub use pump::{decode_pump_event, CreateEvent, PumpEvent};
pub use record::Decoded;
pub use score::ScoreConfig;

use crate::candidate::Signature;
use detect::Tx;
use score::Scorer;

/// Default longest line accepted, in bytes (1 MiB). Whole-block notifications can be larger; raise
/// [`DecoderConfig::max_line_len`] for those feeds.
pub const MAX_LINE_LEN: usize = 1 << 20;

/// Which input format a decoder expects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// Detect the format of each line from its structure.
    #[default]
    Auto,
    /// `logsSubscribe` notifications.
    Logs,
    /// `getTransaction` results (bare or in a JSON-RPC response) and `transactionNotification`s.
    Tx,
    /// `blockSubscribe` notifications.
    Block,
}

impl Format {
    /// The CLI name (`auto`, `logs`, `tx`, `block`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Logs => "logs",
            Format::Tx => "tx",
            Format::Block => "block",
        }
    }

    /// Parses a CLI name.
    ///
    /// # Examples
    ///
    /// ```
    /// use sniffer::decode::Format;
    ///
    /// assert_eq!(Format::from_name("block"), Some(Format::Block));
    /// assert_eq!(Format::from_name("xml"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Format> {
        [Format::Auto, Format::Logs, Format::Tx, Format::Block]
            .into_iter()
            .find(|f| f.as_str() == name)
    }
}

/// What kind of JSON-RPC message a line was ([`Decoder::last_envelope`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Envelope {
    /// A subscription notification, with its `params.subscription` when numeric.
    Notification {
        /// The subscription it belongs to.
        subscription: Option<u64>,
    },
    /// A reply to a request.
    Reply {
        /// The request's numeric `id`.
        id: Option<u64>,
        /// A numeric scalar `result` (a subscription acknowledgement's subscription id).
        result: Option<u64>,
        /// True when the reply was an `error`.
        error: bool,
    },
    /// Neither (a bare transaction object, or nothing was read).
    #[default]
    Other,
}

/// Decoder settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecoderConfig {
    /// Expected input format.
    pub format: Format,
    /// Longer lines are rejected with [`Malformed::TooLong`] before any parsing.
    pub max_line_len: usize,
    /// Scoring threshold and history size.
    pub score: ScoreConfig,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            format: Format::Auto,
            max_line_len: MAX_LINE_LEN,
            score: ScoreConfig::default(),
        }
    }
}

/// Turns input lines into scored launch records, reusing its buffers from line to line.
///
/// One decoder per feed thread: it is `Send` but takes `&mut self`, and the creator history it
/// scores with is part of its state (same lines in the same order → same scores).
///
/// # Examples
///
/// ```
/// use sniffer::decode::{Decoder, Format};
///
/// let line = br#"{"jsonrpc":"2.0","method":"logsNotification","params":{"result":{
///     "context":{"slot":5},"value":{"signature":"52ar89rghM8EwKZkxFnBMC4LaMReqtVdpxqXxGWBCMYV1DnYdLrdsqJo8Hbn9KjVpckAokqGNHzTSVfK5xuLepdC",
///     "err":null,"logs":["Program ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL invoke [1]","Program log: Create"]}},"subscription":1}}"#;
/// let mut dec = Decoder::new(Format::Auto);
/// let mut out = Vec::new();
/// // The associated-token program's `Create` is not a launch.
/// assert_eq!(dec.decode_line(line, &mut out), Ok(0));
/// assert!(out.is_empty());
/// ```
pub struct Decoder {
    cfg: DecoderConfig,
    tx: Tx,
    scorer: Scorer,
    envelope: Envelope,
    /// The last line was a reply with no transaction in it (see [`Decoder::last_was_ack`]).
    ack: bool,
    skipped: Vec<Malformed>,
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::with_config(DecoderConfig::default())
    }
}

impl Decoder {
    /// A decoder for `format` with default limits and scoring.
    pub fn new(format: Format) -> Self {
        Decoder::with_config(DecoderConfig {
            format,
            ..DecoderConfig::default()
        })
    }

    /// A decoder with explicit settings.
    pub fn with_config(cfg: DecoderConfig) -> Self {
        Decoder {
            cfg,
            tx: Tx::default(),
            scorer: Scorer::new(cfg.score),
            envelope: Envelope::Other,
            ack: false,
            skipped: Vec::new(),
        }
    }

    /// The settings this decoder runs with.
    pub fn config(&self) -> &DecoderConfig {
        &self.cfg
    }

    /// Decodes one line (one JSON document; surrounding whitespace and a trailing `\r\n` are
    /// ignored) and appends one [`Decoded`] per launch found to `out`. Returns how many were
    /// appended; lines that are valid but hold no launch (trades, failed transactions,
    /// subscription acknowledgements) return `Ok(0)`.
    ///
    /// # Errors
    ///
    /// The [`Malformed`] reason the line was rejected for. Nothing is appended to `out` then.
    pub fn decode_line(&mut self, line: &[u8], out: &mut Vec<Decoded>) -> Result<usize, Malformed> {
        self.tx.reset();
        self.tx.last_trades.clear();
        self.skipped.clear();
        self.ack = false;
        if line.len() > self.cfg.max_line_len {
            return Err(Malformed::TooLong);
        }
        let line = line.trim_ascii();
        if line.is_empty() {
            return Err(Malformed::Empty);
        }
        // `simdutf8` (vector checks, AVX2 when present) accepts exactly what `std::str::from_utf8`
        // accepts; std's word-at-a-time check was 4-5 % of a line's decode.
        let line = simdutf8::basic::from_utf8(line).map_err(|_| Malformed::NotUtf8)?;
        let start = out.len();
        let mut cx = json::Cx {
            line,
            tx: &mut self.tx,
            scorer: &mut self.scorer,
            out: &mut *out,
            want: self.cfg.format,
            found: json::Found::Nothing,
            ctx_slot: None,
            value_slot: None,
            value_failed: false,
            notification: false,
            subscription: None,
            reply_id: None,
            reply_result: None,
            reply_error: false,
            pending_tx: false,
            skipped: &mut self.skipped,
        };
        let r = json::decode(&mut cx);
        self.envelope = if cx.notification {
            Envelope::Notification {
                subscription: cx.subscription,
            }
        } else if cx.reply_id.is_some() || cx.reply_error || cx.reply_result.is_some() {
            Envelope::Reply {
                id: cx.reply_id,
                result: cx.reply_result,
                error: cx.reply_error,
            }
        } else {
            Envelope::Other
        };
        match r {
            Ok(()) => {
                self.ack = cx.found == json::Found::Ack;
                Ok(out.len() - start)
            }
            Err(m) => {
                out.truncate(start);
                self.tx.reset();
                self.tx.last_trades.clear();
                self.skipped.clear();
                Err(m)
            }
        }
    }

    /// What kind of JSON-RPC message the last line was (set even when it was malformed, as far
    /// as it was read): how a live source matches replies to its requests and routes
    /// notifications by subscription.
    pub fn last_envelope(&self) -> Envelope {
        self.envelope
    }

    /// True when the last line decoded was a JSON-RPC reply with no transaction in it (a
    /// subscription's acknowledgement, an error, a null result): a message, not a transaction
    /// (`tx_seen` does not count it). False for a `getTransaction` reply that carries one, and
    /// for a line that was rejected.
    pub fn last_was_ack(&self) -> bool {
        self.ack
    }

    /// Starts decoding a transaction that the caller has already parsed (a Yellowstone gRPC
    /// update, say), through the same detection rules as the JSON formats. Give the static keys,
    /// then the instructions (outer and inner, in order), the loaded address-table keys and the
    /// log lines, then [`ParsedTx::finish`].
    ///
    /// # Errors
    ///
    /// [`Malformed::SignatureLength`] when `signature` is not 64 bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use sniffer::decode::{Decoder, Format};
    ///
    /// let mut dec = Decoder::new(Format::Auto);
    /// let mut tx = dec.begin_parsed(7, &[1u8; 64], false)?;
    /// tx.account_key(&[2u8; 32])?;
    /// tx.instruction(0, &[], &[9, 9])?; // not a launch program
    /// let mut out = Vec::new();
    /// assert_eq!(tx.finish(&mut out)?, 0);
    /// # Ok::<(), sniffer::decode::Malformed>(())
    /// ```
    pub fn begin_parsed(
        &mut self,
        slot: u64,
        signature: &[u8],
        failed: bool,
    ) -> Result<ParsedTx<'_>, Malformed> {
        self.tx.reset();
        self.tx.last_trades.clear();
        self.envelope = Envelope::Other;
        self.ack = false;
        let sig: [u8; 64] = signature
            .try_into()
            .map_err(|_| Malformed::SignatureLength)?;
        self.tx.slot = slot;
        self.tx.signature = Signature(sig);
        self.tx.failed = failed;
        self.skipped.clear();
        Ok(ParsedTx { dec: self })
    }

    /// Decodes the transaction at the start of `bytes` (a ledger entry's, more may follow) from
    /// its instructions alone: no logs, no meta, no execution result, no address-table keys.
    /// Its launches go to `out` marked `executed: false`; a launch that cannot be identified
    /// without the tables is not guessed: it is left out and [`Malformed::UnresolvedLookup`]
    /// is put in [`Decoder::last_skipped`].
    ///
    /// # Errors
    ///
    /// The wire format's reasons; nothing is appended then, and the transaction's end (so
    /// any that follow it) is unknown.
    pub(crate) fn decode_unexecuted(
        &mut self,
        slot: u64,
        bytes: &[u8],
        out: &mut Vec<Decoded>,
    ) -> Result<Unexecuted, Malformed> {
        self.tx.reset();
        self.tx.last_trades.clear();
        self.skipped.clear();
        self.envelope = Envelope::Other;
        self.tx.slot = slot;
        self.tx.unexecuted = true;
        self.tx.last_unresolved = false;
        let start = out.len();
        let len = match wire::parse_prefix(bytes, &mut self.tx) {
            Ok(len) => len,
            Err(m) => {
                self.tx.reset();
                return Err(m);
            }
        };
        let signature = self.tx.signature;
        let r = self.tx.finish("", &mut self.scorer, out);
        if self.tx.last_unresolved {
            self.skipped.push(Malformed::UnresolvedLookup);
        }
        match r {
            Ok(launches) => Ok(Unexecuted {
                len,
                signature,
                launches,
            }),
            Err(m) => {
                out.truncate(start);
                self.skipped.clear();
                Err(m)
            }
        }
    }

    /// The transactions of the last line (a block notification) that could not be decoded and
    /// were skipped, with their reasons; the rest of the block was decoded. Empty for other
    /// lines, and for a line rejected whole (that one error is `decode_line`'s).
    pub fn last_skipped(&self) -> &[Malformed] {
        &self.skipped
    }

    /// The slot of the last line decoded (0 when it carried none).
    pub fn last_slot(&self) -> u64 {
        self.tx.slot
    }

    /// The pump.fun trades decoded from the last line (de-duplicated when both its logs and its
    /// inner instructions carried them; empty for failed transactions).
    pub fn last_trades(&self) -> &[TradeEvent] {
        &self.tx.last_trades
    }
}
/// What [`Decoder::decode_unexecuted`] read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Unexecuted {
    /// The transaction's length in bytes (the next one starts there).
    pub(crate) len: usize,
    /// Its first signature.
    pub(crate) signature: Signature,
    /// Launches appended.
    pub(crate) launches: usize,
}

#[cfg(test)]
mod envelope_tests {
    use super::*;

    #[test]
    fn replies_and_notifications_are_told_apart() {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        let err =
            br#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":3}"#;
        let r = d.decode_line(err, &mut out);
        assert_eq!(r, Ok(0));
        assert_eq!(
            d.last_envelope(),
            Envelope::Reply {
                id: Some(3),
                result: None,
                error: true
            }
        );
        assert!(d.last_was_ack());
        let ack = br#"{"jsonrpc":"2.0","result":24040,"id":1}"#;
        assert_eq!(d.decode_line(ack, &mut out), Ok(0));
        assert!(d.last_was_ack());
        assert_eq!(
            d.last_envelope(),
            Envelope::Reply {
                id: Some(1),
                result: Some(24040),
                error: false
            }
        );
    }
}
