//! [`TestRng`]: the seeded xorshift64* generator behind the synthetic feeds. Fast and
//! deterministic (the same seed gives the same feed on every run); test data, not cryptography.

use crate::candidate::Pubkey;

#[derive(Clone, Debug)]
pub(crate) struct TestRng(u64);

impl TestRng {
    pub(crate) fn new(seed: u64) -> Self {
        // xorshift must not start at 0.
        TestRng(seed | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// 32 random bytes.
    pub(crate) fn key(&mut self) -> Pubkey {
        let mut k = [0u8; 32];
        for chunk in k.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        Pubkey(k)
    }
}
