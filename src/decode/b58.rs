//! Base58 (Bitcoin alphabet) decoding with 64-bit limbs.
//!
//! The textbook decoder (the `bs58` crate's) multiplies the whole output by 58 once per input
//! character, byte by byte: for a 230-byte self-CPI event that is ~40k byte operations and
//! dominated the `getTransaction` path. Here ten digits are folded at a time (58^10 < 2^64) into
//! little-endian u64 limbs, each step one 64x64->128-bit multiply: ~100x fewer operations than
//! the textbook loop (and 4x fewer than 32-bit limbs of five digits, the previous version).
//! Leading `1`s are leading zero bytes, as in every base58 codec. The limb buffer lives on the
//! stack; inputs longer than [`MAX_INPUT`] are refused before any work.

/// Longest text decoded (a 1232-byte transaction packet is under 1700 base58 digits).
pub(crate) const MAX_INPUT: usize = 2048;
/// Enough u64 limbs for MAX_INPUT digits (2048 * log(58)/log(2^64) < 188).
const LIMBS: usize = 192;
/// Digits folded into one multiply-add over the limbs.
const CHUNK: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Error {
    /// A character outside the alphabet.
    Invalid,
    /// The text is longer than `MAX_INPUT` or the value does not fit the output.
    TooLong,
}

const fn digit_table() -> [u8; 256] {
    let alphabet = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < alphabet.len() {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
}

/// Each byte's digit value, `0xff` for bytes outside the alphabet.
static DIGITS: [u8; 256] = digit_table();

/// True when every byte of `s` is a base58 digit: one table load and one OR per byte, no branch
/// (keys and signatures are checked whole, and almost always pass). Digits are below 58, so
/// only the `0xff` of a byte outside the alphabet sets the top bit.
pub(crate) fn is_text(s: &[u8]) -> bool {
    s.iter().fold(0u8, |acc, &c| acc | DIGITS[usize::from(c)]) & 0x80 == 0
}

/// Inputs up to this many digits use a small limb buffer (100 digits < 586 bits < 10 limbs):
/// every key and signature. Zeroing a larger buffer for each key cost more than decoding it.
const KEY_INPUT: usize = 100;
const KEY_LIMBS: usize = 12;
/// Inputs up to this many digits (500 digits < 2930 bits < 46 limbs): nearly all instruction
/// data.
const SHORT_INPUT: usize = 500;
const SHORT_LIMBS: usize = 48;

/// 58^10, the multiplier of a full chunk.
const CHUNK_MUL: u64 = 58u64.pow(CHUNK as u32);

/// Decodes `s` into the front of `out`, returning the number of bytes written.
pub(crate) fn decode_onto(s: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    if s.len() > MAX_INPUT {
        return Err(Error::TooLong);
    }
    if s.len() <= KEY_INPUT {
        decode_with::<KEY_LIMBS>(s, out)
    } else if s.len() <= SHORT_INPUT {
        decode_with::<SHORT_LIMBS>(s, out)
    } else {
        decode_with::<LIMBS>(s, out)
    }
}

/// The value of `digits` (at most ten), and the OR of their table entries: only a byte outside
/// the alphabet (0xff) sets its top bit, digits being below 58. An invalid byte's 0xff enters
/// the sum, which cannot overflow (ten of them stay under 2^61); the caller refuses the chunk.
#[inline(always)]
fn fold(digits: &[u8]) -> (u64, u8) {
    let mut add = 0u64;
    let mut bad = 0u8;
    for &c in digits {
        let d = DIGITS[usize::from(c)];
        bad |= d;
        add = add * 58 + u64::from(d);
    }
    (add, bad)
}

/// Multiplies the number in `limbs` by `mul` and adds `add`; false when it no longer fits.
#[inline(always)]
fn mul_add(limbs: &mut [u64], len: &mut usize, mul: u64, add: u64) -> bool {
    let mut carry = add;
    for limb in &mut limbs[..*len] {
        let t = u128::from(*limb) * u128::from(mul) + u128::from(carry);
        *limb = t as u64;
        carry = (t >> 64) as u64;
    }
    if carry > 0 {
        let Some(slot) = limbs.get_mut(*len) else {
            return false;
        };
        *slot = carry;
        *len += 1;
    }
    true
}

/// [`decode_onto`] with `N` limbs (enough for `s`). The digits after the leading `1`s are read
/// as a short first chunk and then whole chunks of ten, each a constant multiply (58^10) over
/// the limbs; the chunk's digits are folded fully unrolled.
fn decode_with<const N: usize>(s: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    let zeros = s.iter().take_while(|&&c| c == b'1').count();
    let digits = &s[zeros..];
    let mut limbs = [0u64; N];
    let mut len = 0usize;
    let (head, body) = digits.split_at(digits.len() % CHUNK);
    if !head.is_empty() {
        let (add, bad) = fold(head);
        if bad & 0x80 != 0 {
            return Err(Error::Invalid);
        }
        if !mul_add(&mut limbs, &mut len, 1, add) {
            return Err(Error::TooLong);
        }
    }
    let (chunks, _) = body.as_chunks::<CHUNK>();
    for chunk in chunks {
        let (add, bad) = fold(chunk);
        if bad & 0x80 != 0 {
            return Err(Error::Invalid);
        }
        if !mul_add(&mut limbs, &mut len, CHUNK_MUL, add) {
            return Err(Error::TooLong);
        }
    }
    // Big-endian bytes of the number, without its leading zero bytes: the top limb's
    // significant bytes, then each lower limb whole.
    let Some(&top) = len.checked_sub(1).and_then(|i| limbs.get(i)) else {
        let dst = out.get_mut(..zeros).ok_or(Error::TooLong)?;
        dst.fill(0);
        return Ok(zeros);
    };
    let top_bytes = 8 - (top.leading_zeros() / 8) as usize;
    let total = zeros + top_bytes + (len - 1) * 8;
    let dst = out.get_mut(..total).ok_or(Error::TooLong)?;
    let (lead, rest) = dst.split_at_mut(zeros + top_bytes);
    lead[..zeros].fill(0);
    lead[zeros..].copy_from_slice(&top.to_be_bytes()[8 - top_bytes..]);
    for (chunk, limb) in rest.chunks_exact_mut(8).zip(limbs[..len - 1].iter().rev()) {
        chunk.copy_from_slice(&limb.to_be_bytes());
    }
    Ok(total)
}

/// Most digits a 32-byte key can have (58^44 > 2^256 > 58^43).
const KEY_DIGITS: usize = 44;

/// Decodes a 32-byte key: `Ok` exactly when [`decode_onto`] into 32 bytes writes all 32,
/// [`Error::Invalid`] for a byte outside the alphabet, [`Error::TooLong`] for valid digits of
/// another size. Keys are most of the base58 a decoder reads (every account it resolves); at
/// most 44 digits fit five fixed limbs, so each chunk is one unrolled multiply over them, with
/// no limb count to track and no buffer to clear: about half of [`decode_onto`]'s instructions
/// for a key (callgrind).
pub(crate) fn decode_key(s: &[u8]) -> Result<[u8; 32], Error> {
    if s.len() > KEY_DIGITS {
        let mut out = [0u8; 32];
        return match decode_onto(s, &mut out)? {
            32 => Ok(out),
            _ => Err(Error::TooLong),
        };
    }
    let zeros = s.iter().take_while(|&&c| c == b'1').count();
    let digits = &s[zeros..];
    // Little-endian; 44 digits are under 2^258, so the fifth limb never carries out.
    let mut limbs = [0u64; 5];
    let (head, body) = digits.split_at(digits.len() % CHUNK);
    let (first, mut bad) = fold(head);
    limbs[0] = first;
    let (chunks, _) = body.as_chunks::<CHUNK>();
    for chunk in chunks {
        let (add, b) = fold(chunk);
        bad |= b;
        let mut carry = add;
        for limb in &mut limbs {
            let t = u128::from(*limb) * u128::from(CHUNK_MUL) + u128::from(carry);
            *limb = t as u64;
            carry = (t >> 64) as u64;
        }
    }
    if bad & 0x80 != 0 {
        return Err(Error::Invalid);
    }
    // The number's own bytes (without leading zero bytes) plus the leading `1`s must be 32.
    let significant = match limbs.iter().rposition(|&l| l != 0) {
        Some(i) => i * 8 + 8 - (limbs[i].leading_zeros() / 8) as usize,
        None => 0,
    };
    if zeros + significant != 32 {
        return Err(Error::TooLong);
    }
    let mut out = [0u8; 32];
    for (chunk, limb) in out.chunks_exact_mut(8).zip(limbs[..4].iter().rev()) {
        chunk.copy_from_slice(&limb.to_be_bytes());
    }
    Ok(out)
}

/// Decodes `s`, appending to `out` (whose length on entry is kept).
pub(crate) fn decode_append(s: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
    if s.len() > MAX_INPUT {
        return Err(Error::TooLong);
    }
    let start = out.len();
    // Base58 never decodes to more bytes than it has digits.
    out.resize(start + s.len(), 0);
    let r = decode_onto(s, &mut out[start..]);
    out.truncate(start + r.unwrap_or(0));
    r.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        let mut out = [0u8; 64];
        let n = decode_onto(b"6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P", &mut out).unwrap();
        assert_eq!(&out[..n], &crate::decode::pump::PROGRAM.0);
        assert_eq!(decode_onto(b"", &mut out), Ok(0));
        assert_eq!(decode_onto(b"111", &mut out), Ok(3));
        assert_eq!(&out[..3], &[0, 0, 0]);
        assert_eq!(decode_onto(b"0", &mut out), Err(Error::Invalid));
        assert_eq!(decode_onto("é".as_bytes(), &mut out), Err(Error::Invalid));
        assert_eq!(
            decode_onto(&[b'z'; 45], &mut out[..32]),
            Err(Error::TooLong)
        );
        assert_eq!(
            decode_onto(&[b'2'; MAX_INPUT + 1], &mut out),
            Err(Error::TooLong)
        );
        // The largest input still fits the limbs.
        let mut big = vec![0u8; MAX_INPUT];
        assert!(decode_onto(&[b'z'; MAX_INPUT], &mut big).is_ok());
    }

    /// The key decoder's edges, beside its property test: all-`1` keys (the system program is
    /// 32 of them), a tiny number behind many `1`s, the empty text and a non-ASCII byte.
    #[test]
    fn key_decoder_edges() {
        let ones = |n: usize| "1".repeat(n);
        assert_eq!(decode_key(ones(32).as_bytes()), Ok([0u8; 32]));
        for n in [0, 1, 31, 33, 44, 45] {
            assert_eq!(
                decode_key(ones(n).as_bytes()),
                Err(Error::TooLong),
                "{n} ones"
            );
        }
        let mut one = [0u8; 32];
        one[31] = 1;
        assert_eq!(decode_key(format!("{}2", ones(31)).as_bytes()), Ok(one));
        assert_eq!(
            decode_key(format!("{}2", ones(30)).as_bytes()),
            Err(Error::TooLong)
        );
        let mut text = b"6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P".to_vec();
        assert_eq!(decode_key(&text), Ok(crate::decode::pump::PROGRAM.0));
        text[5] = 0xe9;
        assert_eq!(decode_key(&text), Err(Error::Invalid));
    }

    proptest! {
        #[test]
        fn matches_the_bs58_crate(bytes in proptest::collection::vec(any::<u8>(), 0..900), zeros in 0usize..4) {
            let mut input = vec![0u8; zeros];
            input.extend_from_slice(&bytes);
            let text = bs58::encode(&input).into_string();
            let mut out = Vec::new();
            decode_append(text.as_bytes(), &mut out).unwrap();
            prop_assert_eq!(out, input);
        }

        /// The key decoder agrees with the general one on every text near a key's length:
        /// real keys (with leading zero bytes), digits of other sizes and invalid bytes.
        #[test]
        fn key_decoder_agrees_with_the_general_one(
            bytes in proptest::collection::vec(any::<u8>(), 28..34),
            zeros in 0usize..3,
            text in "[1-9A-Za-z0OIl+/]{0,48}",
        ) {
            let mut key = vec![0u8; zeros];
            key.extend_from_slice(&bytes);
            for t in [bs58::encode(&key).into_string(), text] {
                let mut out = [0u8; 32];
                let general = match decode_onto(t.as_bytes(), &mut out) {
                    Ok(32) => Ok(out),
                    Ok(_) => Err(Error::TooLong),
                    Err(e) => Err(e),
                };
                prop_assert_eq!(decode_key(t.as_bytes()), general, "{}", t);
            }
        }

        #[test]
        fn agrees_with_bs58_on_any_text(text in "[1-9A-Za-z]{0,120}") {
            let ours = {
                let mut v = Vec::new();
                decode_append(text.as_bytes(), &mut v).map(|()| v)
            };
            let theirs = bs58::decode(&text).into_vec();
            prop_assert_eq!(ours.is_ok(), theirs.is_ok());
            if let (Ok(a), Ok(b)) = (ours, theirs) {
                prop_assert_eq!(a, b);
            }
        }
    }
}
