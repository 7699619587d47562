//! Base58 (Bitcoin alphabet) decoding with 32-bit limbs.
//!
//! The textbook decoder (the `bs58` crate's) multiplies the whole output by 58 once per input
//! character, byte by byte: for a 230-byte self-CPI event that is ~40k byte operations and
//! dominated the `getTransaction` path. Here five digits are folded at a time (58^5 < 2^32) into
//! little-endian u32 limbs, which is ~25x fewer operations. Leading `1`s are leading zero bytes,
//! as in every base58 codec. The limb buffer lives on the stack; inputs longer than
//! [`MAX_INPUT`] are refused before any work.

/// Longest text decoded (a 1232-byte transaction packet is under 1700 base58 digits).
pub(crate) const MAX_INPUT: usize = 2048;
/// Enough u32 limbs for MAX_INPUT digits (2048 * log(58)/log(2^32) < 376).
const LIMBS: usize = 384;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Error {
    /// A character outside the alphabet.
    Invalid,
    /// The text is longer than `MAX_INPUT` or the value does not fit the output.
    TooLong,
}

const fn digit_table() -> [u8; 128] {
    let alphabet = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut t = [0xffu8; 128];
    let mut i = 0;
    while i < alphabet.len() {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
}

static DIGITS: [u8; 128] = digit_table();

fn digit(c: u8) -> Result<u32, Error> {
    match DIGITS.get(usize::from(c)) {
        Some(&d) if d != 0xff => Ok(u32::from(d)),
        _ => Err(Error::Invalid),
    }
}

/// Decodes `s` into the front of `out`, returning the number of bytes written.
pub(crate) fn decode_onto(s: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    if s.len() > MAX_INPUT {
        return Err(Error::TooLong);
    }
    let zeros = s.iter().take_while(|&&c| c == b'1').count();
    let mut limbs = [0u32; LIMBS];
    let mut len = 0usize;
    for chunk in s[zeros..].chunks(5) {
        let mut mul = 1u64;
        let mut add = 0u64;
        for &c in chunk {
            add = add * 58 + u64::from(digit(c)?);
            mul *= 58;
        }
        let mut carry = add;
        for limb in &mut limbs[..len] {
            let t = u64::from(*limb) * mul + carry;
            *limb = t as u32;
            carry = t >> 32;
        }
        while carry > 0 {
            let slot = limbs.get_mut(len).ok_or(Error::TooLong)?;
            *slot = carry as u32;
            len += 1;
            carry >>= 32;
        }
    }
    // Big-endian bytes of the number, without its leading zero bytes.
    let mut nbytes = len * 4;
    if let Some(top) = len.checked_sub(1).map(|i| limbs[i]) {
        nbytes -= (top.leading_zeros() / 8) as usize;
    }
    let total = zeros + nbytes;
    let dst = out.get_mut(..total).ok_or(Error::TooLong)?;
    dst[..zeros].fill(0);
    for (i, b) in dst[zeros..].iter_mut().rev().enumerate() {
        *b = (limbs[i / 4] >> (8 * (i % 4))) as u8;
    }
    Ok(total)
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

    proptest! {
        #[test]
        fn matches_the_bs58_crate(bytes in proptest::collection::vec(any::<u8>(), 0..300), zeros in 0usize..4) {
            let mut input = vec![0u8; zeros];
            input.extend_from_slice(&bytes);
            let text = bs58::encode(&input).into_string();
            let mut out = Vec::new();
            decode_append(text.as_bytes(), &mut out).unwrap();
            prop_assert_eq!(out, input);
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
