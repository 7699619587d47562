//! Base64 (standard alphabet, canonical padding) decoding, four digits per table step.
//!
//! Accepts exactly what the `base64` crate's `STANDARD` engine accepts (padding required and
//! canonical, no trailing bits, no whitespace; checked against it by property tests), and
//! writes the same bytes. That engine went through its general decoder per call and was a
//! fifth of a block notification's decode; here a group of four digits is four table loads and
//! three ORs, and the alphabet is checked once for the whole text (no branch per digit).

/// The input is not canonical base64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Invalid;

/// One table per digit position of a group of four: the digit's value already shifted to its
/// place in the group's 24 bits, and bits 24-31 set for a byte outside the alphabet. A group is
/// four loads and three ORs (the layout of Chromium's base64 decoder).
const fn table(shift: u32) -> [u32; 256] {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut t = [0xff00_0000u32; 256];
    let mut i = 0;
    while i < alphabet.len() {
        t[alphabet[i] as usize] = (i as u32) << shift;
        i += 1;
    }
    t
}

static D0: [u32; 256] = table(18);
static D1: [u32; 256] = table(12);
static D2: [u32; 256] = table(6);
static D3: [u32; 256] = table(0);

/// The 24 bits of four digits, bits 24-31 set when one is outside the alphabet.
#[inline(always)]
fn group(q: &[u8]) -> u32 {
    D0[usize::from(q[0])] | D1[usize::from(q[1])] | D2[usize::from(q[2])] | D3[usize::from(q[3])]
}

/// Decodes `s`, appending to `out` (whose length on entry is kept, also on error).
pub(crate) fn decode_append(s: &[u8], out: &mut Vec<u8>) -> Result<(), Invalid> {
    if !s.len().is_multiple_of(4) {
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
    let mut bad = 0u32;
    let (head, tail) = dst.split_at_mut(body_len / 4 * 3);
    for (q, o) in body.chunks_exact(4).zip(head.chunks_exact_mut(3)) {
        let x = group(q);
        bad |= x;
        o.copy_from_slice(&x.to_be_bytes()[1..]);
    }
    // The last group: its padding stands for zero digits, whose bits must be zero.
    let mut q = [b'A'; 4];
    q[..4 - pad].copy_from_slice(&last[..4 - pad]);
    let x = group(&q);
    bad |= x;
    let bytes = x.to_be_bytes();
    tail.copy_from_slice(&bytes[1..4 - pad]);
    let ok = match pad {
        0 => true,
        // Three digits: two bytes, and the third digit's two low bits must be zero.
        1 => x & 0xff == 0,
        // Two digits: one byte, and the second digit's four low bits must be zero.
        _ => x & 0xffff == 0,
    };
    if bad >> 24 != 0 || !ok {
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
