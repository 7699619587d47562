//! The JSON input formats, read in one pass by functions over [`Rd`] that feed [`Tx`] directly.
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
//! Nothing is collected into a tree: each shape is a function reading the line with [`Rd`]
//! (`reader.rs`), strings are borrowed from the line, map keys are matched as they are, and
//! unknown fields are skipped by a grammar-checking skipper that finds string ends with `memchr`
//! (serde_json's tokenizer, used here before, cost as much as a whole `Value` parse). Strings with
//! JSON escapes are unescaped into a new `String`. The only ordering the readers rely on is
//! resolved locally: when `meta.innerInstructions` (or `instructions`) comes before the keys it
//! refers to (sorted-key documents do this, the RPC's own among them), its position is noted, it
//! is skipped, and it is read again once the keys are known; the rest of `meta` is read in place.

use std::borrow::Cow;

use super::detect::{key_ref_of, KeyRef, ProgRef, Tx};
use super::programs::Program;
use super::reader::{Mark, Rd, OBJ, R};
use super::record::Decoded;
use super::score::Scorer;
use super::{b58, b64, wire, Format, Malformed};

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

/// The decoding context shared by every reader of one line.
#[derive(Debug)]
pub(crate) struct Cx<'a> {
    pub(crate) line: &'a str,
    pub(crate) tx: &'a mut Tx,
    pub(crate) scorer: &'a mut Scorer,
    pub(crate) out: &'a mut Vec<Decoded>,
    pub(crate) want: Format,
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
}

impl Cx<'_> {
    fn expect_format(&mut self, f: Format, found: Found) -> R {
        if self.want != Format::Auto && self.want != f {
            return Err(Malformed::UnknownFormat);
        }
        self.found = found;
        Ok(())
    }

    fn finish_tx(&mut self, slot: u64) -> R {
        self.tx.slot = slot;
        self.tx.finish(self.line, self.scorer, self.out).map(drop)
    }

    fn ack(&mut self) -> R {
        if self.found == Found::Nothing {
            self.found = Found::Ack;
        }
        Ok(())
    }
}

/// Parses one line and runs detection; candidates are appended to `cx.out`.
pub(crate) fn decode(cx: &mut Cx<'_>) -> R {
    let start = cx.out.len();
    let mut rd = Rd::new(cx.line);
    let n = rd.object()?;
    obj(&mut rd, cx, n, true, false)?;
    rd.end()?;
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

/// `null` (nothing to read), or the container `open` enters.
fn opt<'a>(rd: &mut Rd<'a>, open: fn(&mut Rd<'a>) -> R<usize>) -> R<Option<usize>> {
    if rd.null()? {
        return Ok(None);
    }
    open(rd).map(Some)
}

/// A JSON-RPC `result`: an object (read as [`obj`]), or a scalar or array (an acknowledgement,
/// a transaction not found, another method's reply).
fn result(rd: &mut Rd<'_>, cx: &mut Cx<'_>) -> R {
    match rd.peek()? {
        OBJ => {
            let n = rd.object()?;
            obj(rd, cx, n, false, false)
        }
        _ => {
            if let Some(v) = rd.any_u64()? {
                cx.reply_result = Some(v);
            }
            cx.ack()
        }
    }
}

/// An object that may be the whole line or a JSON-RPC `result`: the union of every top-level
/// shape. `defer` leaves the transaction unfinished (`pending_tx`): its slot is outside this
/// object.
fn obj(rd: &mut Rd<'_>, cx: &mut Cx<'_>, mut n: usize, root: bool, defer: bool) -> R {
    let mut had_tx = false;
    let mut slot = None;
    let mut inner_at = None;
    while let Some(k) = rd.key(&mut n)? {
        match &*k {
            b"params" => {
                cx.notification = true;
                params(rd, cx)?;
            }
            b"result" => result(rd, cx)?,
            b"transaction" => {
                cx.expect_format(Format::Tx, Found::Tx)?;
                transaction(rd, cx)?;
                had_tx = true;
            }
            b"meta" => inner_at = meta(rd, cx, !had_tx)?.or(inner_at),
            b"slot" => slot = rd.opt_u64()?,
            b"context" => context(rd, cx)?,
            b"value" => value(rd, cx)?,
            b"error" => {
                rd.skip()?;
                cx.reply_error = true;
                cx.ack()?;
            }
            b"id" if root => cx.reply_id = rd.any_u64()?,
            _ => rd.skip()?,
        }
    }
    if let Some(at) = inner_at {
        inner(&mut Rd::at(cx.line, at), cx)?;
    }
    if had_tx {
        if defer {
            cx.pending_tx = true;
        } else {
            cx.finish_tx(slot.unwrap_or(0))?;
        }
    }
    Ok(())
}

fn params(rd: &mut Rd<'_>, cx: &mut Cx<'_>) -> R {
    let mut n = rd.object()?;
    while let Some(k) = rd.key(&mut n)? {
        match &*k {
            b"result" => notif_result(rd, cx)?,
            b"subscription" => cx.subscription = rd.any_u64()?,
            _ => rd.skip()?,
        }
    }
    Ok(())
}

fn notif_result(rd: &mut Rd<'_>, cx: &mut Cx<'_>) -> R {
    let mut n = rd.object()?;
    let mut slot = None;
    while let Some(k) = rd.key(&mut n)? {
        match &*k {
            b"context" => context(rd, cx)?,
            b"value" => value(rd, cx)?,
            // `transactionNotification`: `{transaction: {transaction, meta, version},
            // signature, slot}`; the inner object is a `getTransaction` result without its slot.
            b"transaction" => {
                cx.expect_format(Format::Tx, Found::Tx)?;
                match rd.peek()? {
                    OBJ => {
                        let m = rd.object()?;
                        obj(rd, cx, m, false, true)?;
                    }
                    _ => result(rd, cx)?,
                }
            }
            b"signature" => {
                let s = rd.str()?;
                cx.tx.set_signature_text(cx.line, &s)?;
            }
            b"slot" => slot = rd.opt_u64()?,
            _ => rd.skip()?,
        }
    }
    if std::mem::take(&mut cx.pending_tx) {
        cx.finish_tx(slot.unwrap_or(0))?;
    }
    Ok(())
}

fn context(rd: &mut Rd<'_>, cx: &mut Cx<'_>) -> R {
    let mut n = rd.object()?;
    while let Some(k) = rd.key(&mut n)? {
        match &*k {
            b"slot" => cx.ctx_slot = Some(rd.u64()?),
            _ => rd.skip()?,
        }
    }
    Ok(())
}

fn value(rd: &mut Rd<'_>, cx: &mut Cx<'_>) -> R {
    let mut n = rd.object()?;
    while let Some(k) = rd.key(&mut n)? {
        match &*k {
            b"signature" => {
                let s = rd.str()?;
                cx.tx.set_signature_text(cx.line, &s)?;
            }
            b"err" => cx.value_failed = failed(rd)?,
            b"logs" => {
                cx.expect_format(Format::Logs, Found::Logs)?;
                logs(rd, cx)?;
            }
            b"block" => {
                cx.expect_format(Format::Block, Found::Block)?;
                block(rd, cx)?;
            }
            b"slot" => cx.value_slot = rd.opt_u64()?,
            _ => rd.skip()?,
        }
    }
    Ok(())
}

/// `err`: true when it is not null (the value is skipped).
fn failed(rd: &mut Rd<'_>) -> R<bool> {
    if rd.null()? {
        return Ok(false);
    }
    rd.skip().map(|()| true)
}

fn logs(rd: &mut Rd<'_>, cx: &mut Cx<'_>) -> R {
    let Some(mut n) = opt(rd, Rd::array)? else {
        return Ok(());
    };
    while rd.elem(&mut n)? {
        let s = rd.str()?;
        cx.tx.on_log(&s)?;
    }
    Ok(())
}

fn block(rd: &mut Rd<'_>, cx: &mut Cx<'_>) -> R {
    let Some(mut n) = opt(rd, Rd::object)? else {
        return Ok(());
    };
    while let Some(k) = rd.key(&mut n)? {
        match &*k {
            b"transactions" => block_txs(rd, cx)?,
            _ => rd.skip()?,
        }
    }
    Ok(())
}

/// A block's transactions, each decoded in place. One that cannot be decoded is skipped (read
/// again by the skipper from where it started) and counted with its reason, what it added is
/// taken back, and the rest of the block is kept; only a line that is not JSON at all loses the
/// whole block.
fn block_txs(rd: &mut Rd<'_>, cx: &mut Cx<'_>) -> R {
    let Some(mut n) = opt(rd, Rd::array)? else {
        return Ok(());
    };
    while rd.elem(&mut n)? {
        let at = rd.mark();
        let marks = (cx.out.len(), cx.tx.last_trades.len());
        if let Err(reason) = block_tx(rd, cx) {
            rd.rewind(at);
            rd.skip()?;
            cx.out.truncate(marks.0);
            cx.tx.last_trades.truncate(marks.1);
            cx.skipped.push(reason);
        }
    }
    Ok(())
}

fn block_tx(rd: &mut Rd<'_>, cx: &mut Cx<'_>) -> R {
    let mut n = rd.object()?;
    cx.tx.reset();
    let mut had_tx = false;
    let mut inner_at = None;
    while let Some(k) = rd.key(&mut n)? {
        match &*k {
            b"transaction" => {
                transaction(rd, cx)?;
                had_tx = true;
            }
            b"meta" => inner_at = meta(rd, cx, !had_tx)?.or(inner_at),
            _ => rd.skip()?,
        }
    }
    if let Some(at) = inner_at {
        inner(&mut Rd::at(cx.line, at), cx)?;
    }
    if had_tx {
        let slot = cx.ctx_slot.or(cx.value_slot).unwrap_or(0);
        cx.finish_tx(slot)?;
    }
    Ok(())
}

/// A transaction object, or a `[data, encoding]` pair (base64 wire bytes).
fn transaction(rd: &mut Rd<'_>, cx: &mut Cx<'_>) -> R {
    match rd.peek()? {
        b'[' => wire_pair(rd, cx),
        OBJ => {
            let mut n = rd.object()?;
            while let Some(k) = rd.key(&mut n)? {
                match &*k {
                    b"signatures" => signatures(rd, cx)?,
                    b"message" => message(rd, cx)?,
                    _ => rd.skip()?,
                }
            }
            Ok(())
        }
        _ => Err(rd.wrong()),
    }
}

fn wire_pair(rd: &mut Rd<'_>, cx: &mut Cx<'_>) -> R {
    let mut n = rd.array()?;
    if !rd.elem(&mut n)? {
        return Err(Malformed::WrongShape);
    }
    let data = rd.str()?;
    let enc = match rd.elem(&mut n)? {
        true if rd.null()? => None,
        true => Some(rd.str()?),
        false => None,
    };
    while rd.elem(&mut n)? {
        rd.skip()?;
    }
    if enc.as_deref() != Some("base64") {
        return Err(Malformed::WrongShape);
    }
    let mut buf = std::mem::take(&mut cx.tx.wire);
    buf.clear();
    let r = b64::decode_append(data.as_bytes(), &mut buf)
        .map_err(|_| Malformed::InvalidBase64)
        .and_then(|()| wire::parse(&buf, cx.tx));
    cx.tx.wire = buf;
    r
}

fn signatures(rd: &mut Rd<'_>, cx: &mut Cx<'_>) -> R {
    let mut n = rd.array()?;
    if rd.elem(&mut n)? {
        let s = rd.str()?;
        cx.tx.set_signature_text(cx.line, &s)?;
    }
    while rd.elem(&mut n)? {
        rd.skip()?;
    }
    Ok(())
}

fn message(rd: &mut Rd<'_>, cx: &mut Cx<'_>) -> R {
    let mut n = rd.object()?;
    let mut keys_done = false;
    let mut stash = None;
    while let Some(k) = rd.key(&mut n)? {
        match &*k {
            b"accountKeys" => {
                key_list(rd, cx, KeyList::Static)?;
                keys_done = true;
            }
            b"instructions" if keys_done => instr_list(rd, cx)?,
            b"instructions" => {
                stash = Some(rd.mark());
                rd.skip()?;
            }
            _ => rd.skip()?,
        }
    }
    if let Some(at) = stash {
        instr_list(&mut Rd::at(cx.line, at), cx)?;
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum KeyList {
    Static,
    Writable,
    Readonly,
}

fn key_list(rd: &mut Rd<'_>, cx: &mut Cx<'_>, to: KeyList) -> R {
    let mut n = rd.array()?;
    while rd.elem(&mut n)? {
        let k = key_elem(rd, cx.line)??;
        match to {
            KeyList::Static => cx.tx.keys.push(k),
            KeyList::Writable => cx.tx.loaded_writable.push(k),
            KeyList::Readonly => cx.tx.loaded_readonly.push(k),
        }
    }
    Ok(())
}

/// One key: a base58 string, or a `jsonParsed` `{ "pubkey": .., "signer": .. }` object. The
/// inner result is the key's own problem, reported once the value is read.
fn key_elem(rd: &mut Rd<'_>, line: &str) -> R<R<KeyRef>> {
    match rd.peek()? {
        b'"' => {
            let s = rd.str()?;
            Ok(key_ref_of(line, &s))
        }
        OBJ => {
            let mut n = rd.object()?;
            let mut key = None;
            while let Some(k) = rd.key(&mut n)? {
                match &*k {
                    b"pubkey" => key = Some(key_elem(rd, line)?),
                    _ => rd.skip()?,
                }
            }
            key.ok_or(Malformed::WrongShape)
        }
        _ => Err(rd.wrong()),
    }
}

fn instr_list(rd: &mut Rd<'_>, cx: &mut Cx<'_>) -> R {
    let Some(mut n) = opt(rd, Rd::array)? else {
        return Ok(());
    };
    while rd.elem(&mut n)? {
        instr(rd, cx)?;
    }
    Ok(())
}

fn instr(rd: &mut Rd<'_>, cx: &mut Cx<'_>) -> R {
    let mut n = rd.object()?;
    let start = cx.tx.begin_ix();
    let mut prog_idx: Option<u64> = None;
    let mut prog_id: Option<Cow<'_, str>> = None;
    let mut data: Option<Cow<'_, str>> = None;
    while let Some(k) = rd.key(&mut n)? {
        match &*k {
            b"programIdIndex" => prog_idx = Some(rd.u64()?),
            b"programId" => prog_id = Some(rd.str()?),
            b"accounts" => accounts(rd, cx)?,
            b"data" => data = Some(rd.str()?),
            _ => rd.skip()?,
        }
    }
    let prog = match (prog_idx, &prog_id) {
        (Some(i), _) => {
            let i = usize::try_from(i).unwrap_or(usize::MAX);
            cx.tx.classify(cx.line, i)?
        }
        (None, Some(id)) => Program::of_text(id).map(ProgRef::Known),
        (None, None) => return Err(Malformed::WrongShape),
    };
    let (Some(prog), Some(data)) = (prog, data) else {
        return cx.tx.end_ix(start, None, &[]);
    };
    if data.len() > MAX_B58_DATA {
        return Err(Malformed::InvalidBase58);
    }
    let mut buf = std::mem::take(&mut cx.tx.tmp);
    buf.clear();
    let r = match b58::decode_append(data.as_bytes(), &mut buf) {
        Ok(()) => cx.tx.end_ix(start, Some(prog), &buf),
        Err(_) => Err(Malformed::InvalidBase58),
    };
    cx.tx.tmp = buf;
    r
}

fn accounts(rd: &mut Rd<'_>, cx: &mut Cx<'_>) -> R {
    let mut n = rd.array()?;
    while rd.elem(&mut n)? {
        let r = match rd.peek()? {
            b'"' => {
                let s = rd.str()?;
                key_ref_of(cx.line, &s)?
            }
            _ => {
                let i = rd.u64()?;
                KeyRef::Idx(u16::try_from(i).map_err(|_| Malformed::AccountIndex)?)
            }
        };
        cx.tx.push_acc(r);
    }
    Ok(())
}

/// `meta`, read once wherever it stands. Only its inner instructions need the transaction's
/// keys (their programs are key indexes); when the keys come later in the text (`keys_later`:
/// sorted-key documents, the RPC's own order, put `meta` first), they are skipped and their
/// position is returned, to be read once the keys are known. The rest, the logs above all, is
/// read here: skipping a whole `meta` to read it again later cost a fifth of a block.
fn meta(rd: &mut Rd<'_>, cx: &mut Cx<'_>, keys_later: bool) -> R<Option<Mark>> {
    let Some(mut n) = opt(rd, Rd::object)? else {
        return Ok(None);
    };
    let mut inner_at = None;
    while let Some(k) = rd.key(&mut n)? {
        match &*k {
            b"err" => {
                if failed(rd)? {
                    cx.tx.failed = true;
                }
            }
            b"logMessages" => logs(rd, cx)?,
            b"innerInstructions" if keys_later => {
                inner_at = Some(rd.mark());
                rd.skip()?;
            }
            b"innerInstructions" => inner(rd, cx)?,
            b"loadedAddresses" => loaded(rd, cx)?,
            _ => rd.skip()?,
        }
    }
    Ok(inner_at)
}

fn inner(rd: &mut Rd<'_>, cx: &mut Cx<'_>) -> R {
    let Some(mut n) = opt(rd, Rd::array)? else {
        return Ok(());
    };
    while rd.elem(&mut n)? {
        let mut m = rd.object()?;
        while let Some(k) = rd.key(&mut m)? {
            match &*k {
                b"instructions" => instr_list(rd, cx)?,
                _ => rd.skip()?,
            }
        }
    }
    Ok(())
}

fn loaded(rd: &mut Rd<'_>, cx: &mut Cx<'_>) -> R {
    let Some(mut n) = opt(rd, Rd::object)? else {
        return Ok(());
    };
    cx.tx.loaded_known = true;
    while let Some(k) = rd.key(&mut n)? {
        match &*k {
            b"writable" => key_list(rd, cx, KeyList::Writable)?,
            b"readonly" => key_list(rd, cx, KeyList::Readonly)?,
            _ => rd.skip()?,
        }
    }
    Ok(())
}
