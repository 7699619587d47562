//! [`LaunchMeta`]: a launch's name, symbol and uri, stored inline.
//!
//! The strings are kept inline with caps well above the Metaplex limits (name 32, symbol 10, uri
//! 200 bytes), so the type is fixed-size and `Copy` and decoding a launch never touches the heap.
//! Several stages share it (decoders fill it, the side table `meta.rs` stores it, the receiver
//! and the aggregates sink read it), so it lives here, below all of them.

use std::fmt;

use serde::{Serialize, Serializer};

/// A UTF-8 string of at most `N` bytes stored inline; longer input is cut at a char boundary.
#[derive(Clone, Copy, PartialEq, Eq)]
struct InlineStr<const N: usize> {
    len: u16,
    truncated: bool,
    buf: [u8; N],
}

impl<const N: usize> Default for InlineStr<N> {
    fn default() -> Self {
        InlineStr {
            len: 0,
            truncated: false,
            buf: [0; N],
        }
    }
}

impl<const N: usize> InlineStr<N> {
    fn set(&mut self, s: &str) {
        let mut end = s.len().min(N);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.buf[..end].copy_from_slice(&s.as_bytes()[..end]);
        // N is at most a few hundred, so `end` always fits.
        self.len = u16::try_from(end).unwrap_or(0);
        self.truncated = end < s.len();
    }

    fn as_str(&self) -> &str {
        let b = self.buf.get(..usize::from(self.len)).unwrap_or_default();
        // `set` only ever stores a prefix of a `&str` cut at a char boundary.
        std::str::from_utf8(b).unwrap_or_default()
    }
}

/// Launch metadata (name, symbol, uri) as the launch instruction or `CreateEvent` carried it.
///
/// Empty when the source had none (pool launches, and pump.fun launches seen only through an
/// instruction whose arguments could not be read).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct LaunchMeta {
    name: InlineStr<64>,
    symbol: InlineStr<32>,
    uri: InlineStr<256>,
}

impl LaunchMeta {
    /// Longest name kept, in bytes.
    pub const NAME_CAP: usize = 64;
    /// Longest symbol kept, in bytes.
    pub const SYMBOL_CAP: usize = 32;
    /// Longest uri kept, in bytes.
    pub const URI_CAP: usize = 256;

    pub(crate) fn new(name: &str, symbol: &str, uri: &str) -> Self {
        let mut m = LaunchMeta::default();
        m.name.set(name);
        m.symbol.set(symbol);
        m.uri.set(uri);
        m
    }

    /// The token name.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The token symbol.
    pub fn symbol(&self) -> &str {
        self.symbol.as_str()
    }

    /// The metadata uri.
    pub fn uri(&self) -> &str {
        self.uri.as_str()
    }

    /// True when a field was longer than its cap and was cut.
    pub fn is_truncated(&self) -> bool {
        self.name.truncated || self.symbol.truncated || self.uri.truncated
    }

    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        self.name.len == 0 && self.symbol.len == 0 && self.uri.len == 0
    }

    /// Size of [`LaunchMeta::encode`]: 8 header bytes (lengths, truncation flags) + the caps.
    pub(crate) const BYTES: usize = 8 + Self::NAME_CAP + Self::SYMBOL_CAP + Self::URI_CAP;

    /// A fixed-size copy for the side table (`meta.rs`).
    pub(crate) fn encode(&self) -> [u8; Self::BYTES] {
        let mut b = [0u8; Self::BYTES];
        b[0..2].copy_from_slice(&self.name.len.to_le_bytes());
        b[2..4].copy_from_slice(&self.symbol.len.to_le_bytes());
        b[4..6].copy_from_slice(&self.uri.len.to_le_bytes());
        b[6] = u8::from(self.name.truncated)
            | u8::from(self.symbol.truncated) << 1
            | u8::from(self.uri.truncated) << 2;
        let (n, rest) = b[8..].split_at_mut(Self::NAME_CAP);
        let (s, u) = rest.split_at_mut(Self::SYMBOL_CAP);
        n.copy_from_slice(&self.name.buf);
        s.copy_from_slice(&self.symbol.buf);
        u.copy_from_slice(&self.uri.buf);
        b
    }

    /// The inverse of [`LaunchMeta::encode`]; lengths past a cap are cut to it.
    pub(crate) fn decode(b: &[u8; Self::BYTES]) -> Self {
        let len = |i: usize, cap: usize| u16::from_le_bytes([b[i], b[i + 1]]).min(cap as u16);
        let mut m = LaunchMeta::default();
        m.name.len = len(0, Self::NAME_CAP);
        m.symbol.len = len(2, Self::SYMBOL_CAP);
        m.uri.len = len(4, Self::URI_CAP);
        m.name.truncated = b[6] & 1 != 0;
        m.symbol.truncated = b[6] & 2 != 0;
        m.uri.truncated = b[6] & 4 != 0;
        let (n, rest) = b[8..].split_at(Self::NAME_CAP);
        let (s, u) = rest.split_at(Self::SYMBOL_CAP);
        m.name.buf.copy_from_slice(n);
        m.symbol.buf.copy_from_slice(s);
        m.uri.buf.copy_from_slice(u);
        m
    }
}

impl fmt::Debug for LaunchMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LaunchMeta")
            .field("name", &self.name())
            .field("symbol", &self.symbol())
            .field("uri", &self.uri())
            .finish()
    }
}

impl Serialize for LaunchMeta {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("LaunchMeta", 3)?;
        s.serialize_field("name", self.name())?;
        s.serialize_field("symbol", self.symbol())?;
        s.serialize_field("uri", self.uri())?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_str_cuts_at_a_char_boundary() {
        let long = "é".repeat(40); // 80 bytes
        let m = LaunchMeta::new(&long, "S", "u");
        assert_eq!(m.name().len(), 64);
        assert!(m.is_truncated());
        assert_eq!(m.symbol(), "S");
        let m = LaunchMeta::new("ab", "", "");
        assert!(!m.is_truncated());
        assert_eq!(m.name(), "ab");
    }
}
