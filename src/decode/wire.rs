//! Solana wire transactions (what `blockSubscribe` / `getTransaction` return with
//! `encoding: base64`): signatures, then a legacy or v0 message; or a version-1 message followed
//! by its signatures.
//!
//! Layout (Solana `sdk/program/src/message/{legacy,versions/v0}.rs`):
//! ```text
//! tx      = compact-u16 n, n x [u8; 64] signatures, message
//! message = [0x80 | version]? (absent = legacy), header [u8; 3],
//!           compact-u16 n, n x [u8; 32] static keys, [u8; 32] recent blockhash,
//!           compact-u16 n, n x instruction,
//!           (v0 only) compact-u16 n, n x { [u8; 32] table, compact-u16 + u8 writable idx,
//!                                          compact-u16 + u8 readonly idx }
//! instruction = u8 program index, compact-u16 + u8 account indices, compact-u16 + data
//! ```
//! Version 1 (SIMD-0385, `solana-foundation/solana-improvement-documents:proposals/
//! 0385-transaction-v1.md`; `anza-xyz/solana-sdk@122f32e5:message/src/versions/v1/`), checked
//! against the signatures of the real v1 launches in `tests/data/launchpads/`: no address
//! tables, the compute budget in the message, fixed-width counts, signatures last:
//! ```text
//! tx      = 0x81, header [u8; 3], u32 LE config mask, [u8; 32] lifetime (blockhash),
//!           u8 n_ix, u8 n_keys, n_keys x [u8; 32] keys,
//!           4 bytes per set mask bit (priority fee u64 = bits 0-1, compute unit limit u32 = bit
//!           2, loaded data limit u32 = bit 3, heap size u32 = bit 4, in bit order),
//!           n_ix x { u8 program index, u8 n_accounts, u16 LE data length },
//!           n_ix x { account indices, data },
//!           header[0] x [u8; 64] signatures
//! ```
//! compact-u16 is 7 bits per byte, low first, at most 3 bytes. Every count is checked against the
//! bytes left before anything is read, so a forged count cannot cause work beyond the input size.
//! Address-table keys are not on the wire: they come from `meta.loadedAddresses` when the feed
//! supplies it, and instructions that need a missing one are skipped.

use super::borsh::Reader;
use super::detect::{KeyRef, ProgRef, Tx};
use super::programs::Program;
use crate::candidate::{Malformed, Pubkey, Signature};

fn compact_u16(r: &mut Reader<'_>) -> Result<usize, Malformed> {
    let mut v = 0usize;
    for i in 0..3 {
        let b = r.u8().map_err(|_| Malformed::BadWire)?;
        v |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            // The third byte may only carry the top 2 bits of a u16.
            return if i == 2 && b > 0x03 {
                Err(Malformed::BadWire)
            } else {
                Ok(v)
            };
        }
    }
    Err(Malformed::BadWire)
}

/// Reads a count of items of `size` bytes each, refusing counts the input cannot hold.
fn count(r: &mut Reader<'_>, size: usize) -> Result<usize, Malformed> {
    let n = compact_u16(r)?;
    if n.saturating_mul(size) > r.remaining() {
        return Err(Malformed::BadWire);
    }
    Ok(n)
}

/// The first byte of a version-1 transaction. No legacy or v0 transaction starts with it: there
/// it would begin a signature count of at least 129.
const V1: u8 = 0x81;
/// The config mask bits SIMD-0385 defines; the priority fee takes bits 0 and 1 together.
const V1_MASK_BITS: u32 = 0b1_1111;

/// Parses a wire transaction into `tx`: first signature, static keys, and every instruction that
/// may be a launch or a self-CPI event.
pub(crate) fn parse(bytes: &[u8], tx: &mut Tx) -> Result<(), Malformed> {
    if parse_prefix(bytes, tx)? != bytes.len() {
        return Err(Malformed::BadWire);
    }
    Ok(())
}

/// [`parse`] of the transaction at the start of `bytes` (more may follow, as in a ledger entry,
/// where transactions are written back to back with no length in front); returns its length.
pub(crate) fn parse_prefix(bytes: &[u8], tx: &mut Tx) -> Result<usize, Malformed> {
    if bytes.first() == Some(&V1) {
        return parse_v1(bytes, tx);
    }
    let mut r = Reader::new(bytes);
    let n_sigs = count(&mut r, 64)?;
    if n_sigs == 0 {
        return Err(Malformed::BadWire);
    }
    for i in 0..n_sigs {
        let s = r.bytes(64).map_err(|_| Malformed::BadWire)?;
        if i == 0 {
            let mut sig = [0u8; 64];
            sig.copy_from_slice(s);
            tx.signature = Signature(sig);
        }
    }
    let first = r.bytes(1).map_err(|_| Malformed::BadWire)?[0];
    let versioned = first & 0x80 != 0;
    if versioned && first & 0x7f != 0 {
        return Err(Malformed::BadWire);
    }
    let header = if versioned {
        r.bytes(3)
    } else {
        // A legacy message starts directly with its header; `first` was its first byte.
        r.bytes(2)
    }
    .map_err(|_| Malformed::BadWire)?;
    let num_required_signatures = if versioned { header[0] } else { first };
    if usize::from(num_required_signatures) != n_sigs {
        return Err(Malformed::BadWire);
    }
    let n_keys = count(&mut r, 32)?;
    for _ in 0..n_keys {
        let k = r.pubkey().map_err(|_| Malformed::BadWire)?;
        tx.keys.push(KeyRef::Raw(k));
    }
    r.bytes(32).map_err(|_| Malformed::BadWire)?; // recent blockhash
                                                  // Each instruction takes at least 3 bytes (index and two zero counts).
    let n_ix = count(&mut r, 3)?;
    for _ in 0..n_ix {
        let prog_idx = usize::from(r.u8().map_err(|_| Malformed::BadWire)?);
        let n_acc = count(&mut r, 1)?;
        let accs = r.bytes(n_acc).map_err(|_| Malformed::BadWire)?;
        let n_data = count(&mut r, 1)?;
        let data = r.bytes(n_data).map_err(|_| Malformed::BadWire)?;
        instruction(tx, prog_idx, accs, data)?;
    }
    if versioned {
        let n_lookups = count(&mut r, 34)?;
        for _ in 0..n_lookups {
            r.bytes(32).map_err(|_| Malformed::BadWire)?;
            let w = count(&mut r, 1)?;
            r.bytes(w).map_err(|_| Malformed::BadWire)?;
            let ro = count(&mut r, 1)?;
            r.bytes(ro).map_err(|_| Malformed::BadWire)?;
        }
    }
    Ok(bytes.len() - r.remaining())
}

/// One top-level instruction: its program is a static key (in every version).
fn instruction(tx: &mut Tx, prog_idx: usize, accs: &[u8], data: &[u8]) -> Result<(), Malformed> {
    let prog = match tx.keys.get(prog_idx) {
        Some(KeyRef::Raw(k)) => Program::of_key(k),
        _ => return Err(Malformed::AccountIndex),
    };
    if prog.is_some() {
        let start = tx.begin_ix();
        for &a in accs {
            tx.push_acc(KeyRef::Idx(u16::from(a)));
        }
        tx.end_ix(start, prog.map(ProgRef::Known), data)?;
    }
    Ok(())
}

/// Parses a version-1 transaction (layout in the module doc); returns its length.
fn parse_v1(bytes: &[u8], tx: &mut Tx) -> Result<usize, Malformed> {
    let bad = |_| Malformed::BadWire;
    let mut r = Reader::new(bytes);
    r.u8().map_err(bad)?; // the version byte
    let num_signatures = usize::from(r.bytes(3).map_err(bad)?[0]);
    let mask = r.u32().map_err(bad)?;
    // The priority fee is one u64 over bits 0 and 1: both or neither.
    if mask & !V1_MASK_BITS != 0 || (mask & 1) != (mask >> 1 & 1) || num_signatures == 0 {
        return Err(Malformed::BadWire);
    }
    r.bytes(32).map_err(bad)?; // lifetime
    let n_ix = usize::from(r.u8().map_err(bad)?);
    let n_keys = usize::from(r.u8().map_err(bad)?);
    for _ in 0..n_keys {
        tx.keys.push(KeyRef::Raw(r.pubkey().map_err(bad)?));
    }
    r.bytes(4 * mask.count_ones() as usize).map_err(bad)?;
    let mut heads = Reader::new(r.bytes(4 * n_ix).map_err(bad)?);
    for _ in 0..n_ix {
        let h = heads.bytes(4).map_err(bad)?;
        let (prog_idx, n_acc) = (usize::from(h[0]), usize::from(h[1]));
        let n_data = usize::from(u16::from_le_bytes([h[2], h[3]]));
        let accs = r.bytes(n_acc).map_err(bad)?;
        let data = r.bytes(n_data).map_err(bad)?;
        instruction(tx, prog_idx, accs, data)?;
    }
    let end = bytes.len() - r.remaining() + 64 * num_signatures;
    let mut sig = [0u8; 64];
    sig.copy_from_slice(r.bytes(64).map_err(bad)?);
    tx.signature = Signature(sig);
    r.bytes(64 * (num_signatures - 1)).map_err(bad)?;
    Ok(end)
}

/// Appends a compact-u16 (the wire format's little-endian base-128 length).
pub(crate) fn write_compact_u16(out: &mut Vec<u8>, mut v: usize) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// One instruction for [`encode`]: program index, account indices, data.
pub(crate) type EncIx<'a> = (u8, &'a [u8], &'a [u8]);
/// One address-table lookup for [`encode`]: table, writable indices, readonly indices.
pub(crate) type EncLookup<'a> = (Pubkey, &'a [u8], &'a [u8]);

/// Encodes a one-signature wire transaction, the inverse of [`parse`]: the payload generator
/// and the tests build their transactions with it.
pub(crate) fn encode(
    v0: bool,
    sig: &[u8; 64],
    keys: &[Pubkey],
    ixs: &[EncIx<'_>],
    lookups: &[EncLookup<'_>],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + 32 * keys.len());
    write_compact_u16(&mut out, 1);
    out.extend_from_slice(sig);
    if v0 {
        out.push(0x80);
    }
    out.extend_from_slice(&[1, 0, 1]); // header: 1 signer, 0 readonly signed, 1 readonly unsigned
    write_compact_u16(&mut out, keys.len());
    for k in keys {
        out.extend_from_slice(&k.0);
    }
    out.extend_from_slice(&[7; 32]); // recent blockhash
    write_compact_u16(&mut out, ixs.len());
    for (program, accounts, data) in ixs {
        out.push(*program);
        write_compact_u16(&mut out, accounts.len());
        out.extend_from_slice(accounts);
        write_compact_u16(&mut out, data.len());
        out.extend_from_slice(data);
    }
    if v0 {
        write_compact_u16(&mut out, lookups.len());
        for (table, writable, readonly) in lookups {
            out.extend_from_slice(&table.0);
            write_compact_u16(&mut out, writable.len());
            out.extend_from_slice(writable);
            write_compact_u16(&mut out, readonly.len());
            out.extend_from_slice(readonly);
        }
    }
    out
}

/// [`encode`] with owned parts and a fixed signature (the unit tests' shape).
#[cfg(test)]
pub(crate) fn build(
    v0: bool,
    keys: &[Pubkey],
    ixs: &[(u8, Vec<u8>, Vec<u8>)],
    lookups: &[(Pubkey, Vec<u8>, Vec<u8>)],
) -> Vec<u8> {
    let ixs: Vec<EncIx<'_>> = ixs.iter().map(|(p, a, d)| (*p, &a[..], &d[..])).collect();
    let lookups: Vec<EncLookup<'_>> = lookups
        .iter()
        .map(|(t, w, r)| (*t, &w[..], &r[..]))
        .collect();
    encode(v0, &[7; 64], keys, &ixs, &lookups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidate::Pubkey;
    use proptest::prelude::*;

    #[test]
    fn compact_u16_bounds() {
        let read = |b: &[u8]| compact_u16(&mut Reader::new(b));
        assert_eq!(read(&[0x05]), Ok(5));
        assert_eq!(read(&[0x80, 0x01]), Ok(128));
        assert_eq!(read(&[0xff, 0xff, 0x03]), Ok(0xffff));
        assert_eq!(read(&[0xff, 0xff, 0x04]), Err(Malformed::BadWire));
        assert_eq!(read(&[0xff, 0xff, 0xff]), Err(Malformed::BadWire));
        assert_eq!(read(&[0x80]), Err(Malformed::BadWire));
    }

    #[test]
    fn parses_legacy_and_v0() {
        let keys = [Pubkey([1; 32]), crate::decode::pump::PROGRAM];
        for v0 in [false, true] {
            let lookups = vec![(Pubkey([9; 32]), vec![0, 1], vec![2])];
            let b = build(v0, &keys, &[(1, vec![0], vec![1, 2, 3])], &lookups);
            let mut tx = Tx::default();
            parse(&b, &mut tx).unwrap();
            assert_eq!(tx.keys.len(), 2);
            assert_eq!(tx.signature.0, [7; 64]);
            // Trailing garbage is an error.
            let mut bad = b.clone();
            bad.push(0);
            assert_eq!(parse(&bad, &mut Tx::default()), Err(Malformed::BadWire));
        }
    }

    #[test]
    fn rejects_bad_versions_and_indices() {
        let keys = [Pubkey([1; 32])];
        let mut b = build(true, &keys, &[], &[]);
        b[65] = 0x82; // version 2 does not exist
        assert_eq!(parse(&b, &mut Tx::default()), Err(Malformed::BadWire));
        let b = build(false, &keys, &[(5, vec![], vec![])], &[]);
        assert_eq!(parse(&b, &mut Tx::default()), Err(Malformed::AccountIndex));
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let mut tx = Tx::default();
            let _ = parse(&data, &mut tx);
            prop_assert!(tx.keys.len() <= data.len() / 32 + 1);
        }

        #[test]
        fn mutated_transactions_never_panic(flips in proptest::collection::vec((0usize..400, any::<u8>()), 1..8), cut in 0usize..400) {
            let keys = [Pubkey([1; 32]), crate::decode::pump::PROGRAM, Pubkey([3; 32])];
            let mut b = build(true, &keys, &[(1, vec![0, 2], vec![0x18; 40]), (1, vec![0], vec![0xe4; 30])], &[(Pubkey([4; 32]), vec![1], vec![])]);
            for (i, v) in flips {
                let n = b.len();
                b[i % n] = v;
            }
            b.truncate(cut.max(1));
            let _ = parse(&b, &mut Tx::default());
        }
    }
}
