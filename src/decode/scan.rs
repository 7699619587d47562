//! Byte searches for the JSON reader and the log lines: `memchr`'s vector searchers, built once
//! per line and called directly.
//!
//! `memchr::memchr2` picks its implementation through a function pointer and rebuilds its
//! needle vectors on every call; the strings of a line are short (keys, ids, log lines), so that
//! set-up was more than half of each search (about 70 instructions a string under callgrind, of
//! which the vector compares themselves are a handful). Here the searcher is built with the
//! reader ([`Rd::new`](super::reader::Rd::new)) and each search goes straight to the vector loop.
//! AVX2 when the CPU has it, SSE2 otherwise (always present on x86-64); other targets use
//! `memchr`'s portable functions.

#[cfg(target_arch = "x86_64")]
use memchr::arch::x86_64::{avx2, sse2};

/// Finds the first of two bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TwoBytes(TwoImpl);

#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
enum TwoImpl {
    Avx2(avx2::memchr::Two),
    Sse2(sse2::memchr::Two),
    Scalar(u8, u8),
}

#[cfg(not(target_arch = "x86_64"))]
#[derive(Clone, Copy, Debug)]
enum TwoImpl {
    Scalar(u8, u8),
}

impl TwoBytes {
    pub(crate) fn new(a: u8, b: u8) -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(s) = avx2::memchr::Two::new(a, b) {
                return TwoBytes(TwoImpl::Avx2(s));
            }
            if let Some(s) = sse2::memchr::Two::new(a, b) {
                return TwoBytes(TwoImpl::Sse2(s));
            }
        }
        TwoBytes(TwoImpl::Scalar(a, b))
    }

    /// Where the first of the two bytes is in `hay`.
    #[inline]
    pub(crate) fn find(&self, hay: &[u8]) -> Option<usize> {
        match &self.0 {
            #[cfg(target_arch = "x86_64")]
            TwoImpl::Avx2(s) => s.find(hay),
            #[cfg(target_arch = "x86_64")]
            TwoImpl::Sse2(s) => s.find(hay),
            TwoImpl::Scalar(a, b) => memchr::memchr2(*a, *b, hay),
        }
    }
}

/// Finds one byte.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OneByte(OneImpl);

#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
enum OneImpl {
    Avx2(avx2::memchr::One),
    Sse2(sse2::memchr::One),
    Scalar(u8),
}

#[cfg(not(target_arch = "x86_64"))]
#[derive(Clone, Copy, Debug)]
enum OneImpl {
    Scalar(u8),
}

impl OneByte {
    pub(crate) fn new(a: u8) -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(s) = avx2::memchr::One::new(a) {
                return OneByte(OneImpl::Avx2(s));
            }
            if let Some(s) = sse2::memchr::One::new(a) {
                return OneByte(OneImpl::Sse2(s));
            }
        }
        OneByte(OneImpl::Scalar(a))
    }

    /// Where the byte first is in `hay`.
    #[inline]
    pub(crate) fn find(&self, hay: &[u8]) -> Option<usize> {
        match &self.0 {
            #[cfg(target_arch = "x86_64")]
            OneImpl::Avx2(s) => s.find(hay),
            #[cfg(target_arch = "x86_64")]
            OneImpl::Sse2(s) => s.find(hay),
            OneImpl::Scalar(a) => memchr::memchr(*a, hay),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every implementation finds what a byte-by-byte search finds, at any distance.
        #[test]
        fn finds_what_a_plain_search_finds(s in "[a-z \u{e9}]{0,90}[\"\\\\]?[a-z \"\\\\]{0,60}") {
            let b = s.as_bytes();
            let two = b.iter().position(|&c| c == b'"' || c == b'\\');
            let one = b.iter().position(|&c| c == b' ');
            prop_assert_eq!(TwoBytes::new(b'"', b'\\').find(b), two);
            prop_assert_eq!(TwoBytes(TwoImpl::Scalar(b'"', b'\\')).find(b), two);
            prop_assert_eq!(OneByte::new(b' ').find(b), one);
            prop_assert_eq!(OneByte(OneImpl::Scalar(b' ')).find(b), one);
            #[cfg(target_arch = "x86_64")]
            {
                let s2 = sse2::memchr::Two::new(b'"', b'\\').map(TwoImpl::Sse2).map(TwoBytes);
                prop_assert_eq!(s2.and_then(|t| t.find(b)), two);
            }
        }
    }
}
