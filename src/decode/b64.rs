//! Base64 (standard alphabet, canonical padding) decoding: `base64-simd`'s vector decoder.
//!
//! Accepts exactly what the `base64` crate's `STANDARD` engine accepts (padding required and
//! canonical, no trailing bits, no whitespace; checked against it by property tests), and
//! writes the same bytes. That engine went through its general decoder per call and was a
//! fifth of a block notification's decode; the scalar decoder that replaced it (four digits per
//! step through per-position tables) was still 28 % of a block's instructions under callgrind.
//! `base64-simd` decodes 32 digits per AVX2 step (SSE4.1 / NEON / scalar fallbacks chosen at
//! run time): a block's base64 fell from ~34.7k to ~6.6k instructions. It appends into the
//! decoder's warmed scratch vectors, so a warmed decoder still does not allocate.

/// The input is not canonical base64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Invalid;

/// Decodes `s`, appending to `out` (whose length on entry is kept, also on error).
pub(crate) fn decode_append(s: &[u8], out: &mut Vec<u8>) -> Result<(), Invalid> {
    base64_simd::STANDARD
        .decode_append(s, out)
        .map_err(|_| Invalid)
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
