//! Base64 (standard alphabet, canonical padding) decoding, eight digits per step.
//!
//! Accepts exactly what the `base64` crate's `STANDARD` engine accepts (padding required and
//! canonical, no trailing bits, no whitespace; checked against it by property tests), and
//! writes the same bytes. That engine went through its general decoder per call and was a
//! fifth of a block notification's decode; here eight digits are folded into one 48-bit word
//! with one table load each, the alphabet is checked once per word (no branch per digit), and
//! six bytes are written at a time.

/// The input is not canonical base64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Invalid;

const fn value_table() -> [u8; 256] {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < alphabet.len() {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
}

/// Each byte's digit value, `0xff` outside the alphabet (only that sets the top bit).
static VALUES: [u8; 256] = value_table();

/// Folds `digits` into the low bits of a word; ORs their table values into `bad`.
#[inline(always)]
fn fold(digits: &[u8], bad: &mut u8) -> u64 {
    let mut v = 0u64;
    for &c in digits {
        let d = VALUES[usize::from(c)];
        *bad |= d;
        v = (v << 6) | u64::from(d & 0x3f);
    }
    v
}

/// Decodes `s`, appending to `out` (whose length on entry is kept, also on error).
pub(crate) fn decode_append(s: &[u8], out: &mut Vec<u8>) -> Result<(), Invalid> {
    if s.len() % 4 != 0 {
        return Err(Invalid);
    }
    let Some(body_len) = s.len().checked_sub(4) else {
        return Ok(());
    };
    let (body, last) = s.split_at(body_len);
    let pad = match (last[2], last[3]) {
        (b'=', b'=') => 2,
        (_, b'=') => 1,
        _ => 0,
    };
    let start = out.len();
    out.resize(start + body_len / 4 * 3 + 3 - pad, 0);
    let dst = &mut out[start..];
    let mut bad = 0u8;
    let mut words = body.chunks_exact(8);
    let mut six = dst.chunks_exact_mut(6);
    for (w, o) in (&mut words).zip(&mut six) {
        o.copy_from_slice(&fold(w, &mut bad).to_be_bytes()[2..]);
    }
    let rest = &mut dst[body_len / 8 * 6..];
    let mut at = 0;
    if !words.remainder().is_empty() {
        let v = fold(words.remainder(), &mut bad);
        rest[..3].copy_from_slice(&v.to_be_bytes()[5..]);
        at = 3;
    }
    let v = fold(&last[..4 - pad], &mut bad);
    let ok = match pad {
        0 => {
            rest[at..].copy_from_slice(&v.to_be_bytes()[5..]);
            true
        }
        // Three digits: 18 bits, two bytes and two bits that must be zero.
        1 => {
            rest[at..].copy_from_slice(&((v >> 2) as u16).to_be_bytes());
            v & 0x3 == 0
        }
        // Two digits: 12 bits, one byte and four bits that must be zero.
        _ => {
            rest[at] = (v >> 4) as u8;
            v & 0xf == 0
        }
    };
    if bad & 0x80 != 0 || !ok {
        out.truncate(start);
        return Err(Invalid);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use proptest::prelude::*;

    fn ours(s: &[u8]) -> Result<Vec<u8>, Invalid> {
        let mut v = vec![7u8];
        let r = decode_append(s, &mut v).map(|()| v[1..].to_vec());
        if r.is_err() {
            assert_eq!(v, [7], "nothing is left behind on error");
        }
        r
    }

    fn theirs(s: &[u8]) -> Option<Vec<u8>> {
        base64::engine::general_purpose::STANDARD.decode(s).ok()
    }

    #[test]
    fn known_values() {
        assert_eq!(ours(b""), Ok(vec![]));
        assert_eq!(ours(b"TWFu"), Ok(b"Man".to_vec()));
        assert_eq!(ours(b"TWE="), Ok(b"Ma".to_vec()));
        assert_eq!(ours(b"TQ=="), Ok(b"M".to_vec()));
        assert_eq!(ours(b"TWFuTWFuTWFuTQ=="), Ok(b"ManManManM".to_vec()));
        for bad in [
            &b"TQ"[..],
            b"TQ=",
            b"TR==",
            b"TWF=",
            b"T===",
            b"====",
            b"TW=u",
            b"TWFu TWFu",
            b"TWFu\nTWE=",
            b"TW*u",
        ] {
            assert_eq!(ours(bad), Err(Invalid), "{bad:?}");
            assert_eq!(theirs(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
            let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
            prop_assert_eq!(ours(text.as_bytes()), Ok(bytes));
        }

        /// Text near the alphabet (padding anywhere, a few strangers): accepted exactly when the
        /// `base64` crate accepts it, with the same bytes.
        #[test]
        fn agrees_with_the_base64_crate(text in "[A-Da-d0-3+/=*\\- ]{0,24}") {
            prop_assert_eq!(ours(text.as_bytes()).ok(), theirs(text.as_bytes()), "{:?}", text);
        }
    }
}
