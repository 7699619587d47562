//! Ledger entries as a validator's block carries them (what a Jito ShredStream proxy streams,
//! `ShredstreamProxy/SubscribeEntries`): the bincode of `Vec<Entry>`, read without the Solana
//! SDK.
//!
//! Layout (`anza-xyz/agave@09d49409:entry/src/entry.rs`, `struct Entry`, serde derive; bincode's
//! default: little-endian fixed-width integers, a `u64` count in front of a `Vec`):
//! ```text
//! entries = u64 n, n x entry
//! entry   = u64 num_hashes, [u8; 32] hash, u64 n_txs, n_txs x transaction
//! ```
//! A transaction inside is a `VersionedTransaction`, whose serde form is its wire form
//! (`anza-xyz/solana-sdk@2685adba:transaction/src/versioned/mod.rs`: `signatures` with
//! `short_vec`, i.e. compact-u16, then the `VersionedMessage`, a legacy message or `0x80 | v`
//! and the versioned one): `wire.rs` reads it. Nothing says where a transaction ends but the
//! transaction itself, so they are read one after another, each parsed to find the next.
//!
//! Every count is checked against the bytes left (an entry takes at least 48 bytes, a
//! transaction at least 65), so a forged count costs no more than the message's size.

use super::borsh::Reader;
use crate::candidate::Malformed;

/// Smallest entry: num_hashes, hash, transaction count.
const ENTRY_MIN: usize = 8 + 32 + 8;
/// Smallest transaction: a signature count and one signature, before any message.
const TX_MIN: usize = 1 + 64;

/// Walks the transactions of one message's entries: [`EntryReader::next_tx`] gives the bytes
/// where the next transaction starts, [`EntryReader::advance`] steps over it once parsed.
#[derive(Debug)]
pub(crate) struct EntryReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    entries_left: u64,
    txs_left: u64,
}

impl<'a> EntryReader<'a> {
    /// A reader of `bytes`, the bincode of `Vec<Entry>`.
    ///
    /// # Errors
    ///
    /// [`Malformed::TruncatedData`] when the count is missing, [`Malformed::BorshLength`] when
    /// the bytes cannot hold that many entries.
    pub(crate) fn new(bytes: &'a [u8]) -> Result<Self, Malformed> {
        let mut r = Reader::new(bytes);
        let n = r.u64()?;
        check_count(n, ENTRY_MIN, r.remaining())?;
        Ok(EntryReader {
            bytes,
            pos: 8,
            entries_left: n,
            txs_left: 0,
        })
    }

    /// The bytes from the next transaction on (its end is for the caller's parser to find), or
    /// `None` after the last one.
    ///
    /// # Errors
    ///
    /// As [`EntryReader::new`] for an entry's header or count; [`Malformed::BadWire`] for bytes
    /// left over after the last entry.
    pub(crate) fn next_tx(&mut self) -> Result<Option<&'a [u8]>, Malformed> {
        while self.txs_left == 0 {
            if self.entries_left == 0 {
                if self.pos != self.bytes.len() {
                    return Err(Malformed::BadWire);
                }
                return Ok(None);
            }
            let mut r = Reader::new(&self.bytes[self.pos..]);
            r.bytes(8 + 32)?; // num_hashes, hash
            let n = r.u64()?;
            check_count(n, TX_MIN, r.remaining())?;
            self.pos += ENTRY_MIN;
            self.entries_left -= 1;
            self.txs_left = n;
        }
        Ok(Some(&self.bytes[self.pos..]))
    }

    /// Steps over the transaction [`EntryReader::next_tx`] gave, `len` bytes long.
    pub(crate) fn advance(&mut self, len: usize) {
        self.pos = (self.pos + len).min(self.bytes.len());
        self.txs_left = self.txs_left.saturating_sub(1);
    }
}

fn check_count(n: u64, each: usize, left: usize) -> Result<(), Malformed> {
    match usize::try_from(n) {
        Ok(n) if n.saturating_mul(each) <= left => Ok(()),
        _ => Err(Malformed::BorshLength),
    }
}

/// Writes `txs` (wire transactions) as the bincode of `Vec<Entry>`, one entry per group: what
/// a ShredStream proxy sends.
#[cfg(test)]
pub(crate) fn encode(groups: &[&[&[u8]]]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(groups.len() as u64).to_le_bytes());
    for (i, txs) in groups.iter().enumerate() {
        out.extend_from_slice(&(1 + i as u64).to_le_bytes()); // num_hashes
        out.extend_from_slice(&[i as u8; 32]); // hash
        out.extend_from_slice(&(txs.len() as u64).to_le_bytes());
        for tx in *txs {
            out.extend_from_slice(tx);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::detect::Tx;
    use super::super::wire;
    use super::*;
    use crate::candidate::Pubkey;
    use proptest::prelude::*;

    fn txs(b: &[u8]) -> Result<Vec<[u8; 64]>, Malformed> {
        let mut r = EntryReader::new(b)?;
        let mut sigs = Vec::new();
        while let Some(rest) = r.next_tx()? {
            let mut tx = Tx::default();
            let n = wire::parse_prefix(rest, &mut tx)?;
            sigs.push(tx.signature.0);
            r.advance(n);
        }
        Ok(sigs)
    }

    #[test]
    fn walks_entries_and_their_transactions() {
        let keys = [Pubkey([1; 32]), Pubkey([2; 32])];
        let a = wire::encode(false, &[1; 64], &keys, &[(1, &[0], &[5, 5])], &[]);
        let b = wire::encode(true, &[2; 64], &keys, &[], &[(Pubkey([9; 32]), &[1], &[])]);
        let c = wire::encode(true, &[3; 64], &keys, &[(1, &[0, 2], &[])], &[]);
        let bytes = encode(&[&[&a, &b], &[], &[&c]]);
        assert_eq!(txs(&bytes), Ok(vec![[1; 64], [2; 64], [3; 64]]));
        assert_eq!(txs(&encode(&[])), Ok(vec![]));
        // Trailing bytes, a cut entry, a forged count.
        let mut more = bytes.clone();
        more.push(0);
        assert_eq!(txs(&more), Err(Malformed::BadWire));
        assert!(txs(&bytes[..bytes.len() - 1]).is_err());
        let mut forged = bytes.clone();
        forged[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(txs(&forged), Err(Malformed::BorshLength));
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = txs(&data);
        }
    }
}
