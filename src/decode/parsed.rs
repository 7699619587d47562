//! [`ParsedTx`]: the decode entry for transactions that arrive already parsed (Yellowstone gRPC
//! updates: raw 32-byte keys, `u8` account indices, raw instruction data, log lines). It fills the
//! same per-transaction scratch ([`Tx`]) as the JSON visitors and finishes through the same
//! detection rules, so a launch is the same `Decoded` whichever format carried it.

use super::detect::{KeyRef, Tx};
use super::record::Decoded;
use super::{Decoder, Malformed};
use crate::candidate::Pubkey;

/// A transaction being handed to a [`Decoder`] piece by piece ([`Decoder::begin_parsed`]).
///
/// Order matters where Solana's does: static keys before the instructions that index them
/// (program ids are always static keys). Loaded address-table keys (writable, then readonly)
/// may come at any point before [`ParsedTx::finish`]; once one list was given, an account index
/// past every key is an error rather than a key we were not told about.
#[derive(Debug)]
pub struct ParsedTx<'d> {
    pub(super) dec: &'d mut Decoder,
}

fn key(bytes: &[u8]) -> Result<KeyRef, Malformed> {
    let k: [u8; 32] = bytes.try_into().map_err(|_| Malformed::KeyLength)?;
    Ok(KeyRef::Raw(Pubkey(k)))
}

impl ParsedTx<'_> {
    fn tx(&mut self) -> &mut Tx {
        &mut self.dec.tx
    }

    /// Appends a static account key (32 bytes).
    ///
    /// # Errors
    ///
    /// [`Malformed::KeyLength`] for any other length.
    pub fn account_key(&mut self, bytes: &[u8]) -> Result<(), Malformed> {
        let k = key(bytes)?;
        self.tx().keys.push(k);
        Ok(())
    }

    /// Appends a writable key loaded from an address table.
    ///
    /// # Errors
    ///
    /// [`Malformed::KeyLength`] unless 32 bytes.
    pub fn loaded_writable(&mut self, bytes: &[u8]) -> Result<(), Malformed> {
        let k = key(bytes)?;
        let tx = self.tx();
        tx.loaded_known = true;
        tx.loaded_writable.push(k);
        Ok(())
    }

    /// Appends a readonly key loaded from an address table.
    ///
    /// # Errors
    ///
    /// [`Malformed::KeyLength`] unless 32 bytes.
    pub fn loaded_readonly(&mut self, bytes: &[u8]) -> Result<(), Malformed> {
        let k = key(bytes)?;
        let tx = self.tx();
        tx.loaded_known = true;
        tx.loaded_readonly.push(k);
        Ok(())
    }

    /// Marks the loaded address lists as complete even when both are empty.
    pub fn loaded_addresses_known(&mut self) {
        self.tx().loaded_known = true;
    }

    /// One instruction (top-level or inner): the index of its program (a static key, or for an
    /// inner instruction possibly a loaded address-table key), its account indices and its data.
    ///
    /// # Errors
    ///
    /// [`Malformed::AccountIndex`] when the program index points past every key of a
    /// transaction whose loaded addresses were given; the errors of decoding a self-CPI event
    /// carried in `data`.
    pub fn instruction(
        &mut self,
        program_id_index: u32,
        accounts: &[u8],
        data: &[u8],
    ) -> Result<(), Malformed> {
        let tx = self.tx();
        let idx = usize::try_from(program_id_index).unwrap_or(usize::MAX);
        let prog = tx.classify("", idx)?;
        let start = tx.begin_ix();
        if prog.is_some() {
            for a in accounts {
                tx.push_acc(KeyRef::Idx(u16::from(*a)));
            }
        }
        tx.end_ix(start, prog, data)
    }

    /// One log line (`Program ... invoke [1]`, `Program data: ...`).
    ///
    /// # Errors
    ///
    /// The errors of decoding a `Program data:` event payload.
    pub fn log(&mut self, line: &str) -> Result<(), Malformed> {
        self.tx().on_log(line)
    }

    /// Applies the detection rules and appends one [`Decoded`] per launch to `out`; returns
    /// how many. A failed transaction yields none. The trades are then in
    /// [`Decoder::last_trades`].
    ///
    /// # Errors
    ///
    /// [`Malformed::AccountIndex`] when a launch instruction points past every key it was
    /// given; nothing is appended then.
    pub fn finish(self, out: &mut Vec<Decoded>) -> Result<usize, Malformed> {
        let start = out.len();
        let dec = self.dec;
        let r = dec.tx.finish("", &mut dec.scorer, out);
        if r.is_err() {
            out.truncate(start);
            dec.tx.last_trades.clear();
        }
        r
    }
}
