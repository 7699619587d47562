//! Solana's two identifiers: the 32-byte [`Pubkey`] and the 64-byte transaction [`Signature`],
//! both `Copy` and shown in base58.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// A 32-byte Solana public key, shown in base58.
///
/// # Examples
///
/// ```
/// use sniffer::Pubkey;
///
/// let key: Pubkey = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P".parse()?;
/// assert_eq!(key.to_string(), "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P");
/// # Ok::<(), sniffer::PubkeyParseError>(())
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(transparent)]
pub struct Pubkey(pub [u8; 32]);

impl Pubkey {
    /// The all-zero key (the System Program's address).
    pub const ZERO: Pubkey = Pubkey([0; 32]);

    /// Wraps 32 raw bytes.
    pub const fn new(bytes: [u8; 32]) -> Self {
        Pubkey(bytes)
    }

    /// A key from its base58 text at compile time (`const KEY: Pubkey = Pubkey::b58("...")`): the
    /// program ids and well-known accounts are written as the text everyone reads. An invalid
    /// digit or a value that is not 32 bytes stops the build.
    pub(crate) const fn b58(s: &str) -> Pubkey {
        const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        let s = s.as_bytes();
        let mut out = [0u8; 32];
        let mut i = 0;
        while i < s.len() {
            let mut digit = 0;
            while digit < 58 && ALPHABET[digit] != s[i] {
                digit += 1;
            }
            assert!(digit < 58, "not a base58 digit");
            // out = out * 58 + digit, big-endian.
            let mut carry = digit as u32;
            let mut j = 32;
            while j > 0 {
                j -= 1;
                let v = out[j] as u32 * 58 + carry;
                out[j] = v as u8;
                carry = v >> 8;
            }
            assert!(carry == 0, "more than 32 bytes");
            i += 1;
        }
        Pubkey(out)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Reads a key from a slice that must be exactly 32 bytes long.
    ///
    /// # Errors
    ///
    /// [`PubkeyParseError::WrongLength`] when `bytes` is not 32 bytes long.
    pub fn try_from_slice(bytes: &[u8]) -> Result<Self, PubkeyParseError> {
        <[u8; 32]>::try_from(bytes)
            .map(Pubkey)
            .map_err(|_| PubkeyParseError::WrongLength(bytes.len()))
    }
}

impl fmt::Display for Pubkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // 32 bytes never need more than 44 base58 digits; encode on the stack.
        let mut buf = [0u8; 64];
        let n = bs58::encode(&self.0)
            .onto(&mut buf[..])
            .map_err(|_| fmt::Error)?;
        let s = std::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?;
        f.write_str(s)
    }
}

impl fmt::Debug for Pubkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pubkey({self})")
    }
}

impl FromStr for Pubkey {
    type Err = PubkeyParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // A 32-byte key is at most 44 characters; refuse longer input before decoding it.
        if s.len() > 44 {
            return Err(PubkeyParseError::TooLong(s.len()));
        }
        let mut out = [0u8; 32];
        let n = bs58::decode(s)
            .onto(&mut out[..])
            .map_err(|_| PubkeyParseError::InvalidBase58)?;
        if n != 32 {
            return Err(PubkeyParseError::WrongLength(n));
        }
        Ok(Pubkey(out))
    }
}

impl Serialize for Pubkey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Pubkey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A 64-byte transaction signature (the transaction id), shown in base58.
///
/// # Examples
///
/// ```
/// use sniffer::Signature;
///
/// let s = "52ar89rghM8EwKZkxFnBMC4LaMReqtVdpxqXxGWBCMYV1DnYdLrdsqJo8Hbn9KjVpckAokqGNHzTSVfK5xuLepdC";
/// let sig = Signature::from_base58(s).unwrap();
/// assert_eq!(sig.to_string(), s);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signature(pub [u8; 64]);

impl Default for Signature {
    fn default() -> Self {
        Signature([0; 64])
    }
}

impl Signature {
    /// The all-zero signature (none known).
    pub const ZERO: Signature = Signature([0; 64]);

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // 64 bytes need at most 88 base58 digits; encode on the stack.
        let mut buf = [0u8; 96];
        let n = bs58::encode(&self.0[..])
            .onto(&mut buf[..])
            .map_err(|_| fmt::Error)?;
        f.write_str(std::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({self})")
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        if s.len() > 88 {
            return Err(serde::de::Error::custom(
                "a signature has at most 88 base58 digits",
            ));
        }
        let mut out = [0u8; 64];
        match bs58::decode(s.as_ref()).onto(&mut out[..]) {
            Ok(64) => Ok(Signature(out)),
            _ => Err(serde::de::Error::custom("not a 64-byte base58 signature")),
        }
    }
}

/// Why a string or slice is not a 32-byte public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PubkeyParseError {
    /// The text is not base58.
    #[error("invalid base58")]
    InvalidBase58,
    /// The key does not have 32 bytes.
    #[error("a public key has 32 bytes, got {0}")]
    WrongLength(usize),
    /// The text is longer than any 32-byte key in base58 (44 characters).
    #[error("a base58 public key has at most 44 characters, got {0}")]
    TooLong(usize),
}
