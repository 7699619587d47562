//! A tiny bounded Borsh reader: just the primitives the pump.fun and AMM layouts use.
//!
//! Borsh (borsh.io) writes integers little-endian, `bool` as one byte 0/1, and `String` as a u32
//! length followed by UTF-8 bytes. The reader never allocates: strings are borrowed from the
//! input, and every length is checked against the bytes left and against [`MAX_STR_LEN`] before
//! it is used, so an absurd length prefix is a [`Malformed::BorshLength`], not a huge allocation.

use crate::candidate::Malformed;
use crate::candidate::Pubkey;

/// Longest Borsh string accepted. Metaplex caps name/symbol/uri at 32/10/200 bytes; 1 KiB leaves
/// room for token-2022 metadata while still refusing garbage.
pub(crate) const MAX_STR_LEN: usize = 1024;

/// A cursor over a byte slice.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if n > self.buf.len() {
            return Err(Malformed::TruncatedData);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        let b = self.bytes(N)?;
        // `bytes(N)` returned exactly N bytes, so the conversion cannot fail.
        <[u8; N]>::try_from(b).map_err(|_| Malformed::TruncatedData)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn bool(&mut self) -> Result<bool, Malformed> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Malformed::InvalidValue),
        }
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Malformed> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Malformed> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, Malformed> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    pub(crate) fn pubkey(&mut self) -> Result<Pubkey, Malformed> {
        Ok(Pubkey(self.array()?))
    }

    /// A Borsh `String`, borrowed.
    pub(crate) fn str(&mut self) -> Result<&'a str, Malformed> {
        let len = self.u32()? as usize;
        if len > MAX_STR_LEN || len > self.buf.len() {
            return Err(Malformed::BorshLength);
        }
        std::str::from_utf8(self.bytes(len)?).map_err(|_| Malformed::InvalidValue)
    }

    /// Reads an optional trailing field: `None` when the input ends exactly here (an older
    /// layout), an error when it ends in the middle of the field.
    pub(crate) fn opt<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, Malformed>,
    ) -> Result<Option<T>, Malformed> {
        if self.is_empty() {
            Ok(None)
        } else {
            f(self).map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_primitives_little_endian() {
        let mut b = vec![1u8, 0x78, 0x56, 0x34, 0x12];
        b.extend_from_slice(&7u64.to_le_bytes());
        let mut r = Reader::new(&b);
        assert!(r.bool().unwrap());
        assert_eq!(r.u32().unwrap(), 0x1234_5678);
        assert_eq!(r.u64().unwrap(), 7);
        assert!(r.is_empty());
        assert_eq!(r.u8(), Err(Malformed::TruncatedData));
    }

    #[test]
    fn absurd_string_length_is_rejected_without_allocating() {
        let mut b = u32::MAX.to_le_bytes().to_vec();
        b.extend_from_slice(b"abc");
        assert_eq!(Reader::new(&b).str(), Err(Malformed::BorshLength));
        // Within the cap but longer than what is left.
        let mut b = 10u32.to_le_bytes().to_vec();
        b.extend_from_slice(b"abc");
        assert_eq!(Reader::new(&b).str(), Err(Malformed::BorshLength));
        // Over the cap even though the bytes are there.
        let mut b = ((MAX_STR_LEN + 1) as u32).to_le_bytes().to_vec();
        b.resize(b.len() + MAX_STR_LEN + 1, b'a');
        assert_eq!(Reader::new(&b).str(), Err(Malformed::BorshLength));
    }

    #[test]
    fn bad_bool_and_bad_utf8_are_invalid_values() {
        assert_eq!(Reader::new(&[2]).bool(), Err(Malformed::InvalidValue));
        let b = [2, 0, 0, 0, 0xff, 0xfe];
        assert_eq!(Reader::new(&b).str(), Err(Malformed::InvalidValue));
    }

    #[test]
    fn optional_fields_read_as_a_prefix() {
        let mut r = Reader::new(&[]);
        assert_eq!(r.opt(Reader::u64), Ok(None));
        let mut r = Reader::new(&[1, 2]);
        assert_eq!(r.opt(Reader::u64), Err(Malformed::TruncatedData));
    }
}
