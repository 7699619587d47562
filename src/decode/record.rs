//! What a decoded launch looks like to the caller: [`Decoded`] = the engine's
//! [`PremintCandidate`] + the transaction [`Signature`] + the launch's [`LaunchMeta`].
//!
//! All three are fixed-size and `Copy`, so decoding a launch never touches the heap.

use serde::{Serialize, Serializer};

use crate::candidate::{LaunchMeta, LaunchRecord, Malformed, PremintCandidate, Signature};

impl Signature {
    /// Parses a base58 signature.
    ///
    /// # Errors
    ///
    /// [`Malformed::InvalidBase58`] when the text is not base58 or longer than any 64-byte value
    /// (88 characters); [`Malformed::SignatureLength`] when it does not decode to 64 bytes.
    pub fn from_base58(s: &str) -> Result<Self, Malformed> {
        if s.len() > 88 {
            return Err(Malformed::InvalidBase58);
        }
        let mut out = [0u8; 64];
        let n = super::b58::decode_onto(s.as_bytes(), &mut out).map_err(|e| match e {
            super::b58::Error::TooLong => Malformed::SignatureLength,
            super::b58::Error::Invalid => Malformed::InvalidBase58,
        })?;
        if n != 64 {
            return Err(Malformed::SignatureLength);
        }
        Ok(Signature(out))
    }
}

/// One launch found in an input line.
///
/// The candidate has `mint`, `creator`, `slot`, `kind`, `creator_buy_lamports`, `score` and
/// `priority` set; `seq`, `detected_at_ns` and `feed_id` are left at 0 for the engine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    /// The record the engine moves.
    pub candidate: PremintCandidate,
    /// The transaction's first signature (its id), for de-duplication across feeds.
    pub signature: Signature,
    /// Name, symbol and uri, when the launch carried them.
    pub meta: LaunchMeta,
}

/// The serde form of a decoded launch is its [`LaunchRecord`], with the metadata (the `decode`
/// subcommand's lines).
impl Serialize for Decoded {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        LaunchRecord::new(&self.candidate, Some(&self.meta), None).serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_rejects_bad_input() {
        assert_eq!(
            Signature::from_base58("0OIl"),
            Err(Malformed::InvalidBase58)
        );
        assert_eq!(
            Signature::from_base58("abc"),
            Err(Malformed::SignatureLength)
        );
        assert_eq!(
            Signature::from_base58(&"z".repeat(88)),
            Err(Malformed::SignatureLength)
        );
        assert_eq!(
            Signature::from_base58(&"1".repeat(89)),
            Err(Malformed::InvalidBase58)
        );
    }
}
