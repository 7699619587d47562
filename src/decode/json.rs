//! The JSON input formats, read in one pass with serde visitors that feed [`Tx`] directly.
//!
//! Shapes accepted (Solana JSON-RPC / websocket API):
//! - `logsNotification`: `params.result.{context.slot, value.{signature, err, logs}}`;
//! - `getTransaction` results, bare or inside `{"jsonrpc":..,"result":{..}}`, in the `json`,
//!   `jsonParsed` and `base64` encodings: `slot`, `transaction.{signatures, message.{accountKeys,
//!   instructions}}` (keys as strings or `{pubkey,..}` objects; instructions with
//!   `programIdIndex` + index accounts or `programId` + key accounts, base58 `data`), `meta.{err,
//!   logMessages, innerInstructions, loadedAddresses.{writable, readonly}}`;
//! - `blockSubscribe` notifications: `params.result.{context.slot, value.{slot, block.
//!   transactions[].{transaction: ["<base64>", "base64"], meta}}}`. Each transaction of a block
//!   is decoded on its own: one that cannot be decoded is skipped with its reason
//!   ([`Decoder::last_skipped`](super::Decoder::last_skipped)) and the others are kept;
//! - `transactionNotification` (Helius-style `transactionSubscribe`): `params.result.{transaction:
//!   {transaction, meta, version}, signature, slot}`, the inner object read as a `getTransaction`
//!   result (json or jsonParsed, legacy or v0) and finished with the slot beside it.
//!
//! Notifications also yield their `params.subscription`, and replies their `id`, scalar `result`
//! and `error` presence ([`super::Envelope`]), so that a live source can route them.
//!
//! Auto-detection is structural: `value.logs` is a logs notification, `value.block` a block
//! notification, `transaction` a transaction result; a scalar or null `result` (a subscription
//! acknowledgement, a transaction not found) or an `error` response is accepted and yields
//! nothing.
//!
//! Nothing is collected into `serde_json::Value`: strings are borrowed from the line, map keys
//! are matched without allocating, unknown fields are skipped with [`Skip`] (not serde's
//! `IgnoredAny`: serde_json skips nested containers with a heap stack that a fresh deserializer
//! must allocate; `Skip` recurses on the call stack, bounded by serde_json's depth limit).
//! Strings with JSON escapes still go through serde_json's scratch buffer and allocate. The only
//! ordering the visitors rely on is resolved locally: when `meta` (or `instructions`) comes before
//! the keys it refers to (sorted-key dumps do this), it is captured as a borrowed `RawValue` and
//! replayed once the keys are known.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::detect::{key_ref_of, KeyRef, ProgRef, Tx};
use super::programs::Program;
use super::record::Decoded;
use super::score::Scorer;
use super::{b58, wire, Format, Malformed};

/// Longest base58 instruction `data` decoded. A transaction fits a 1232-byte packet, whose base58
/// form is under 1700 characters; base58 decoding is quadratic, so longer text is refused.
const MAX_B58_DATA: usize = b58::MAX_INPUT;

/// What kind of document a line turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Found {
    Nothing,
    Logs,
    Tx,
    Block,
    /// A JSON-RPC reply with no transaction in it (ack, null result, error).
    Ack,
}

/// The decoding context shared by every visitor of one line.
#[derive(Debug)]
pub(crate) struct Cx<'a> {
    pub(crate) line: &'a str,
    pub(crate) tx: &'a mut Tx,
    pub(crate) scorer: &'a mut Scorer,
    pub(crate) out: &'a mut Vec<Decoded>,
    pub(crate) want: Format,
    pub(crate) err: Option<Malformed>,
    pub(crate) found: Found,
    pub(crate) ctx_slot: Option<u64>,
    pub(crate) value_slot: Option<u64>,
    pub(crate) value_failed: bool,
    /// `params` was present: the line is a subscription notification.
    pub(crate) notification: bool,
    /// `params.subscription` of a notification.
    pub(crate) subscription: Option<u64>,
    /// The JSON-RPC `id` of a reply (numeric ids only).
    pub(crate) reply_id: Option<u64>,
    /// A scalar numeric `result` (a subscription acknowledgement carries the subscription id).
    pub(crate) reply_result: Option<u64>,
    /// The line held an `error` member.
    pub(crate) reply_error: bool,
    /// A `transactionNotification`'s transaction was read; it is finished with the slot that
    /// sits beside it in `params.result`, which may come later in the text.
    pub(crate) pending_tx: bool,
    /// Transactions of a block that could not be decoded and were skipped, with their reasons.
    pub(crate) skipped: &'a mut Vec<Malformed>,
    /// Set when a block transaction decoded in place failed: the line is read again, with the
    /// transactions before it skipped (their launches are kept) and the rest one by one.
    pub(crate) block_retry: Option<BlockRetry>,
    /// On that second reading, how many leading block transactions were already decoded.
    pub(crate) block_done: Option<usize>,
}

/// Where the in-place reading of a block stopped ([`Cx::block_retry`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct BlockRetry {
    /// Transactions decoded before the failing one.
    done: usize,
    /// `out` and `last_trades` lengths before the failing one.
    out: usize,
    trades: usize,
}

impl Cx<'_> {
    /// Records the typed reason and aborts the parse with a serde error.
    fn fail<E: de::Error>(&mut self, m: Malformed) -> E {
        self.err.get_or_insert(m);
        E::custom(m.as_str())
    }

    fn check<T, E: de::Error>(&mut self, r: Result<T, Malformed>) -> Result<T, E> {
        r.map_err(|m| self.fail(m))
    }

    fn expect_format<E: de::Error>(&mut self, f: Format, found: Found) -> Result<(), E> {
        if self.want != Format::Auto && self.want != f {
            return Err(self.fail(Malformed::UnknownFormat));
        }
        self.found = found;
        Ok(())
    }

    /// Forgets what a first reading of the line found, for a second one.
    fn restart(&mut self) {
        self.err = None;
        self.found = Found::Nothing;
        self.ctx_slot = None;
        self.value_slot = None;
        self.value_failed = false;
        self.notification = false;
        self.subscription = None;
        self.reply_id = None;
        self.reply_result = None;
        self.reply_error = false;
        self.pending_tx = false;
        self.tx.reset();
    }

    fn finish_tx<E: de::Error>(&mut self, slot: u64) -> Result<(), E> {
        self.tx.slot = slot;
        let r = self.tx.finish(self.line, self.scorer, self.out);
        self.check(r).map(drop)
    }
}

/// One reading of the whole line.
fn parse(cx: &mut Cx<'_>) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(cx.line);
    ObjV {
        cx: &mut *cx,
        root: true,
        defer: false,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end())
}

/// Parses one line and runs detection; candidates are appended to `cx.out`.
pub(crate) fn decode(cx: &mut Cx<'_>) -> Result<(), Malformed> {
    let start = cx.out.len();
    let mut r = parse(cx);
    if let (Err(_), Some(retry)) = (&r, cx.block_retry.take()) {
        // A block transaction failed while read in place: read the line again, keeping what
        // the transactions before it gave (their scores are taken) and isolating the rest.
        cx.out.truncate(retry.out);
        cx.tx.last_trades.truncate(retry.trades);
        cx.restart();
        cx.block_done = Some(retry.done);
        r = parse(cx);
    }
    if let Err(e) = r {
        return Err(cx.err.take().unwrap_or_else(|| Malformed::from_json(&e)));
    }
    match cx.found {
        Found::Nothing => Err(Malformed::UnknownFormat),
        Found::Logs => {
            cx.tx.failed |= cx.value_failed;
            cx.tx.slot = cx.ctx_slot.or(cx.value_slot).unwrap_or(0);
            cx.tx.finish(cx.line, cx.scorer, cx.out).map(drop)
        }
        Found::Block => {
            // `value.slot` may follow `value.block` in the text; it is the block's own slot
            // (its launches', and its trades' as `last_slot` reports them).
            if let Some(slot) = cx.value_slot {
                for d in cx.out.iter_mut().skip(start) {
                    d.candidate.slot = slot;
                }
                cx.tx.slot = slot;
            }
            Ok(())
        }
        Found::Tx | Found::Ack => Ok(()),
    }
}

/// A string, borrowed from the line unless it had escapes.
struct CowStr<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// Skips any JSON value without allocating (for strings without escapes).
struct Skip;

impl<'de> de::Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Skip)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = Skip;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_none<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Skip, D::Error> {
        d.deserialize_any(Skip)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_key::<Skip>()?.is_some() {
            map.next_value::<Skip>()?;
        }
        Ok(Skip)
    }
}

/// Matches a map key against a list without allocating; `usize::MAX` for unknown keys.
struct KeyOf(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for KeyOf {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl Visitor<'_> for KeyOf {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<usize, E> {
        Ok(self.0.iter().position(|k| *k == v).unwrap_or(usize::MAX))
    }
}

/// A JSON-RPC id or subscription id: a number, or `None` for any other value (skipped).
struct IdV(Option<u64>);

impl<'de> de::Deserialize<'de> for IdV {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IdVisitor)
    }
}

struct IdVisitor;

impl<'de> Visitor<'de> for IdVisitor {
    type Value = IdV;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an id")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<IdV, E> {
        Ok(IdV(Some(v)))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<IdV, E> {
        Ok(IdV(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<IdV, E> {
        Ok(IdV(None))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<IdV, E> {
        Ok(IdV(None))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<IdV, E> {
        Ok(IdV(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<IdV, E> {
        Ok(IdV(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<IdV, A::Error> {
        Skip.visit_seq(seq).map(|_| IdV(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<IdV, A::Error> {
        Skip.visit_map(map).map(|_| IdV(None))
    }
}

/// Re-reads a captured value with `seed`.
fn replay<'de, S, E>(raw: &'de RawValue, seed: S) -> Result<(), E>
where
    S: DeserializeSeed<'de, Value = ()>,
    E: de::Error,
{
    let mut de = serde_json::Deserializer::from_str(raw.get());
    seed.deserialize(&mut de).map_err(E::custom)
}

/// Declares a visitor struct holding the context, with a `DeserializeSeed` that calls `$how`.
macro_rules! node {
    ($name:ident, $how:ident) => {
        struct $name<'c, 'a> {
            cx: &'c mut Cx<'a>,
        }
        impl<'de> DeserializeSeed<'de> for $name<'_, '_> {
            type Value = ();
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                d.$how(self)
            }
        }
    };
}

/// An object that may be the whole line or a JSON-RPC `result`: the union of every top-level
/// shape.
struct ObjV<'c, 'a> {
    cx: &'c mut Cx<'a>,
    root: bool,
    /// Leave the transaction unfinished (`pending_tx`): its slot is outside this object.
    defer: bool,
}

impl<'de> DeserializeSeed<'de> for ObjV<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.root {
            d.deserialize_map(self)
        } else {
            d.deserialize_any(self)
        }
    }
}

const OBJ_KEYS: &[&str] = &[
    "params",
    "result",
    "transaction",
    "meta",
    "slot",
    "context",
    "value",
    "error",
    "id",
];

impl<'de> Visitor<'de> for ObjV<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC message or a transaction object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let cx = self.cx;
        let mut had_tx = false;
        let mut slot = None;
        let mut stash: Option<&'de RawValue> = None;
        while let Some(k) = map.next_key_seed(KeyOf(OBJ_KEYS))? {
            match k {
                0 => {
                    cx.notification = true;
                    map.next_value_seed(ParamsV { cx: &mut *cx })?
                }
                1 => map.next_value_seed(ObjV {
                    cx: &mut *cx,
                    root: false,
                    defer: false,
                })?,
                2 => {
                    cx.expect_format(Format::Tx, Found::Tx)?;
                    map.next_value_seed(TransactionV { cx: &mut *cx })?;
                    had_tx = true;
                }
                3 if had_tx => map.next_value_seed(MetaV { cx: &mut *cx })?,
                3 => stash = Some(map.next_value()?),
                4 => slot = map.next_value::<Option<u64>>()?,
                5 => map.next_value_seed(ContextV { cx: &mut *cx })?,
                6 => map.next_value_seed(ValueV { cx: &mut *cx })?,
                7 => {
                    map.next_value::<Skip>()?;
                    cx.reply_error = true;
                    if cx.found == Found::Nothing {
                        cx.found = Found::Ack;
                    }
                }
                8 if self.root => cx.reply_id = map.next_value::<IdV>()?.0,
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        if let Some(raw) = stash {
            replay(raw, MetaV { cx: &mut *cx })?;
        }
        if had_tx {
            if self.defer {
                cx.pending_tx = true;
            } else {
                cx.finish_tx(slot.unwrap_or(0))?;
            }
        }
        Ok(())
    }

    // A non-object `result`: a subscription id, a transaction not found, another method's reply.
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.ack()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.ack()
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.cx.reply_result = Some(v);
        self.ack()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.ack()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.ack()
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.ack()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.ack()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        self.ack()
    }
}

impl ObjV<'_, '_> {
    fn ack<E>(self) -> Result<(), E> {
        if self.cx.found == Found::Nothing {
            self.cx.found = Found::Ack;
        }
        Ok(())
    }
}

node!(ParamsV, deserialize_map);
impl<'de> Visitor<'de> for ParamsV<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("notification params")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(k) = map.next_key_seed(KeyOf(&["result", "subscription"]))? {
            match k {
                0 => map.next_value_seed(NotifResultV { cx: &mut *self.cx })?,
                1 => self.cx.subscription = map.next_value::<IdV>()?.0,
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(())
    }
}

node!(NotifResultV, deserialize_map);
impl<'de> Visitor<'de> for NotifResultV<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a notification result")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let cx = self.cx;
        let keys = &["context", "value", "transaction", "signature", "slot"];
        let mut slot = None;
        while let Some(k) = map.next_key_seed(KeyOf(keys))? {
            match k {
                0 => map.next_value_seed(ContextV { cx: &mut *cx })?,
                1 => map.next_value_seed(ValueV { cx: &mut *cx })?,
                // `transactionNotification`: `{transaction: {transaction, meta, version},
                // signature, slot}`; the inner object is a `getTransaction` result without its slot.
                2 => {
                    cx.expect_format(Format::Tx, Found::Tx)?;
                    map.next_value_seed(ObjV {
                        cx: &mut *cx,
                        root: false,
                        defer: true,
                    })?;
                }
                3 => {
                    let s: CowStr<'de> = map.next_value()?;
                    let r = cx.tx.set_signature_text(cx.line, &s.0);
                    cx.check(r)?;
                }
                4 => slot = map.next_value::<Option<u64>>()?,
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        if std::mem::take(&mut cx.pending_tx) {
            cx.finish_tx(slot.unwrap_or(0))?;
        }
        Ok(())
    }
}

node!(ContextV, deserialize_map);
impl<'de> Visitor<'de> for ContextV<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a context object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(k) = map.next_key_seed(KeyOf(&["slot"]))? {
            match k {
                0 => self.cx.ctx_slot = Some(map.next_value()?),
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(())
    }
}

node!(ValueV, deserialize_map);
impl<'de> Visitor<'de> for ValueV<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a notification value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let cx = self.cx;
        let keys = &["signature", "err", "logs", "block", "slot"];
        while let Some(k) = map.next_key_seed(KeyOf(keys))? {
            match k {
                0 => {
                    let s: CowStr<'de> = map.next_value()?;
                    let r = cx.tx.set_signature_text(cx.line, &s.0);
                    cx.check(r)?;
                }
                1 => cx.value_failed = map.next_value::<Option<Skip>>()?.is_some(),
                2 => {
                    cx.expect_format(Format::Logs, Found::Logs)?;
                    map.next_value_seed(LogsV { cx: &mut *cx })?;
                }
                3 => {
                    cx.expect_format(Format::Block, Found::Block)?;
                    map.next_value_seed(BlockV { cx: &mut *cx })?;
                }
                4 => cx.value_slot = map.next_value()?,
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(())
    }
}

node!(LogsV, deserialize_any);
impl<'de> Visitor<'de> for LogsV<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of log lines or null")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(s) = seq.next_element::<CowStr<'de>>()? {
            let r = self.cx.tx.on_log(&s.0);
            self.cx.check(r)?;
        }
        Ok(())
    }
}

node!(BlockV, deserialize_any);
impl<'de> Visitor<'de> for BlockV<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a block or null")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(k) = map.next_key_seed(KeyOf(&["transactions"]))? {
            match k {
                0 => map.next_value_seed(BlockTxsV { cx: &mut *self.cx })?,
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(())
    }
}

node!(BlockTxsV, deserialize_any);
impl<'de> Visitor<'de> for BlockTxsV<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of transactions or null")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let cx = self.cx;
        let Some(done) = cx.block_done else {
            return block_in_place(cx, seq);
        };
        // The second reading: the transactions the first one decoded are skipped; each of the
        // others is captured whole (a borrowed `RawValue`) and decoded on its own: one that
        // cannot be decoded is counted and skipped, and the rest of the block is kept. Only a
        // line that is not JSON at all loses the whole block.
        let mut i = 0usize;
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            i += 1;
            if i <= done {
                continue;
            }
            let (launches, trades) = (cx.out.len(), cx.tx.last_trades.len());
            let mut de = serde_json::Deserializer::from_str(raw.get());
            let r = BlockTxV { cx: &mut *cx }
                .deserialize(&mut de)
                .and_then(|()| de.end());
            if let Err(e) = r {
                let reason = cx.err.take().unwrap_or_else(|| Malformed::from_json(&e));
                cx.out.truncate(launches);
                cx.tx.last_trades.truncate(trades);
                cx.skipped.push(reason);
            }
        }
        Ok(())
    }
}

/// The first reading of a block: each transaction decoded in place, in one pass over its text
/// (capturing it first, then decoding the capture, read every byte twice). The first failure
/// stops the reading and asks for the second ([`Cx::block_retry`]).
fn block_in_place<'de, A: SeqAccess<'de>>(cx: &mut Cx<'_>, mut seq: A) -> Result<(), A::Error> {
    let mut done = 0usize;
    loop {
        let mark = (cx.out.len(), cx.tx.last_trades.len());
        match seq.next_element_seed(BlockTxV { cx: &mut *cx }) {
            Ok(Some(())) => done += 1,
            Ok(None) => return Ok(()),
            Err(e) => {
                cx.block_retry = Some(BlockRetry {
                    done,
                    out: mark.0,
                    trades: mark.1,
                });
                return Err(e);
            }
        }
    }
}

node!(BlockTxV, deserialize_map);
impl<'de> Visitor<'de> for BlockTxV<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a block transaction")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let cx = self.cx;
        cx.tx.reset();
        let mut had_tx = false;
        let mut stash: Option<&'de RawValue> = None;
        while let Some(k) = map.next_key_seed(KeyOf(&["transaction", "meta"]))? {
            match k {
                0 => {
                    map.next_value_seed(TransactionV { cx: &mut *cx })?;
                    had_tx = true;
                }
                1 if had_tx => map.next_value_seed(MetaV { cx: &mut *cx })?,
                1 => stash = Some(map.next_value()?),
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        if let Some(raw) = stash {
            replay(raw, MetaV { cx: &mut *cx })?;
        }
        if had_tx {
            let slot = cx.ctx_slot.or(cx.value_slot).unwrap_or(0);
            cx.finish_tx(slot)?;
        }
        Ok(())
    }
}

node!(TransactionV, deserialize_any);
impl<'de> Visitor<'de> for TransactionV<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a transaction object or a [data, encoding] pair")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let cx = self.cx;
        let data: CowStr<'de> = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &"a [data, encoding] pair"))?;
        let enc: Option<CowStr<'de>> = seq.next_element()?;
        while seq.next_element::<Skip>()?.is_some() {}
        if enc.as_ref().map(|e| e.0.as_ref()) != Some("base64") {
            return Err(cx.fail(Malformed::WrongShape));
        }
        let mut buf = std::mem::take(&mut cx.tx.wire);
        buf.clear();
        let r = base64::engine::general_purpose::STANDARD
            .decode_vec(data.0.as_bytes(), &mut buf)
            .map_err(|_| Malformed::InvalidBase64)
            .and_then(|()| wire::parse(&buf, cx.tx));
        cx.tx.wire = buf;
        cx.check(r)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let cx = self.cx;
        while let Some(k) = map.next_key_seed(KeyOf(&["signatures", "message"]))? {
            match k {
                0 => map.next_value_seed(SignaturesV { cx: &mut *cx })?,
                1 => map.next_value_seed(MessageV { cx: &mut *cx })?,
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(())
    }
}

node!(SignaturesV, deserialize_seq);
impl<'de> Visitor<'de> for SignaturesV<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of signatures")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if let Some(s) = seq.next_element::<CowStr<'de>>()? {
            let r = self.cx.tx.set_signature_text(self.cx.line, &s.0);
            self.cx.check(r)?;
        }
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(())
    }
}

node!(MessageV, deserialize_map);
impl<'de> Visitor<'de> for MessageV<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a transaction message")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let cx = self.cx;
        let mut keys_done = false;
        let mut stash: Option<&'de RawValue> = None;
        while let Some(k) = map.next_key_seed(KeyOf(&["accountKeys", "instructions"]))? {
            match k {
                0 => {
                    map.next_value_seed(KeyListV {
                        cx: &mut *cx,
                        to: KeyList::Static,
                    })?;
                    keys_done = true;
                }
                1 if keys_done => map.next_value_seed(InstrListV { cx: &mut *cx })?,
                1 => stash = Some(map.next_value()?),
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        if let Some(raw) = stash {
            replay(raw, InstrListV { cx: &mut *cx })?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum KeyList {
    Static,
    Writable,
    Readonly,
}

struct KeyListV<'c, 'a> {
    cx: &'c mut Cx<'a>,
    to: KeyList,
}

impl<'de> DeserializeSeed<'de> for KeyListV<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for KeyListV<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of keys")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let cx = self.cx;
        while let Some(k) = seq.next_element_seed(KeyElemV { line: cx.line })? {
            let k = cx.check(k)?;
            match self.to {
                KeyList::Static => cx.tx.keys.push(k),
                KeyList::Writable => cx.tx.loaded_writable.push(k),
                KeyList::Readonly => cx.tx.loaded_readonly.push(k),
            }
        }
        Ok(())
    }
}

/// One key: a base58 string, or a `jsonParsed` `{ "pubkey": .., "signer": .. }` object.
struct KeyElemV<'a> {
    line: &'a str,
}

impl<'de> DeserializeSeed<'de> for KeyElemV<'_> {
    type Value = Result<KeyRef, Malformed>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeyElemV<'_> {
    type Value = Result<KeyRef, Malformed>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a base58 key or an object with a pubkey")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(key_ref_of(self.line, v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(key_ref_of(self.line, v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut key = None;
        while let Some(k) = map.next_key_seed(KeyOf(&["pubkey"]))? {
            match k {
                0 => key = Some(map.next_value_seed(KeyElemV { line: self.line })?),
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        key.ok_or_else(|| de::Error::missing_field("pubkey"))
    }
}

node!(InstrListV, deserialize_any);
impl<'de> Visitor<'de> for InstrListV<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of instructions")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(InstrV { cx: &mut *self.cx })?
            .is_some()
        {}
        Ok(())
    }
}

node!(InstrV, deserialize_map);
impl<'de> Visitor<'de> for InstrV<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an instruction")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let cx = self.cx;
        let start = cx.tx.begin_ix();
        let mut prog_idx: Option<u64> = None;
        let mut prog_id: Option<CowStr<'de>> = None;
        let mut data: Option<CowStr<'de>> = None;
        let keys = &["programIdIndex", "programId", "accounts", "data"];
        while let Some(k) = map.next_key_seed(KeyOf(keys))? {
            match k {
                0 => prog_idx = Some(map.next_value()?),
                1 => prog_id = Some(map.next_value()?),
                2 => map.next_value_seed(AccountsV { cx: &mut *cx })?,
                3 => data = Some(map.next_value()?),
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        let prog = match (prog_idx, &prog_id) {
            (Some(i), _) => {
                let i = usize::try_from(i).unwrap_or(usize::MAX);
                let r = cx.tx.classify(cx.line, i);
                cx.check(r)?
            }
            (None, Some(id)) => Program::of_text(&id.0).map(ProgRef::Known),
            (None, None) => return Err(de::Error::missing_field("programIdIndex")),
        };
        let (Some(prog), Some(data)) = (prog, data) else {
            let r = cx.tx.end_ix(start, None, &[]);
            return cx.check(r);
        };
        let text = data.0.as_ref();
        if text.len() > MAX_B58_DATA {
            return Err(cx.fail(Malformed::InvalidBase58));
        }
        let mut buf = std::mem::take(&mut cx.tx.tmp);
        buf.clear();
        let r = match b58::decode_append(text.as_bytes(), &mut buf) {
            Ok(()) => cx.tx.end_ix(start, Some(prog), &buf),
            Err(_) => Err(Malformed::InvalidBase58),
        };
        cx.tx.tmp = buf;
        cx.check(r)
    }
}

node!(AccountsV, deserialize_seq);
impl<'de> Visitor<'de> for AccountsV<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of account indices or keys")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let cx = self.cx;
        while let Some(r) = seq.next_element_seed(AccElemV { line: cx.line })? {
            let r = cx.check(r)?;
            cx.tx.push_acc(r);
        }
        Ok(())
    }
}

struct AccElemV<'a> {
    line: &'a str,
}

impl<'de> DeserializeSeed<'de> for AccElemV<'_> {
    type Value = Result<KeyRef, Malformed>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AccElemV<'_> {
    type Value = Result<KeyRef, Malformed>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an account index or key")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(u16::try_from(v)
            .map(KeyRef::Idx)
            .map_err(|_| Malformed::AccountIndex))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(key_ref_of(self.line, v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(key_ref_of(self.line, v))
    }
}

node!(MetaV, deserialize_any);
impl<'de> Visitor<'de> for MetaV<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("transaction meta or null")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let cx = self.cx;
        let keys = &["err", "logMessages", "innerInstructions", "loadedAddresses"];
        while let Some(k) = map.next_key_seed(KeyOf(keys))? {
            match k {
                0 => {
                    if map.next_value::<Option<Skip>>()?.is_some() {
                        cx.tx.failed = true;
                    }
                }
                1 => map.next_value_seed(LogsV { cx: &mut *cx })?,
                2 => map.next_value_seed(InnerV { cx: &mut *cx })?,
                3 => map.next_value_seed(LoadedV { cx: &mut *cx })?,
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(())
    }
}

node!(InnerV, deserialize_any);
impl<'de> Visitor<'de> for InnerV<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("inner instructions or null")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(InnerItemV { cx: &mut *self.cx })?
            .is_some()
        {}
        Ok(())
    }
}

node!(InnerItemV, deserialize_map);
impl<'de> Visitor<'de> for InnerItemV<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an inner-instruction group")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(k) = map.next_key_seed(KeyOf(&["instructions"]))? {
            match k {
                0 => map.next_value_seed(InstrListV { cx: &mut *self.cx })?,
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(())
    }
}

node!(LoadedV, deserialize_any);
impl<'de> Visitor<'de> for LoadedV<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("loaded addresses or null")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let cx = self.cx;
        cx.tx.loaded_known = true;
        while let Some(k) = map.next_key_seed(KeyOf(&["writable", "readonly"]))? {
            let to = match k {
                0 => KeyList::Writable,
                1 => KeyList::Readonly,
                _ => {
                    map.next_value::<Skip>()?;
                    continue;
                }
            };
            map.next_value_seed(KeyListV { cx: &mut *cx, to })?;
        }
        Ok(())
    }
}
