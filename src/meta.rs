//! [`MetaTable`]: a bounded, lock-free side table of launch metadata (name, symbol, uri), so that
//! the 384-byte record stays fixed-size while a bot still reads the strings without a callback.
//!
//! Ingest writes a decoded launch's metadata under the candidate's sequence number; the receiver
//! reads it back (`CandidateReceiver::launch_meta`). Slot `seq % capacity` holds one entry behind
//! a sequence lock built from atomics only (writer: version odd, Release fence, words, version
//! even with Release; reader: Acquire version, words, Acquire fence, version again), so neither
//! side ever blocks and no `unsafe` is needed. An entry is overwritten `capacity` launches later;
//! a reader then gets `None`, never another launch's strings. Two writers racing for one slot
//! (launches exactly `capacity` apart) leave it to the first; the second's strings are not kept.

use std::sync::atomic::{
    fence, AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};

use crate::candidate::LaunchMeta;

/// Launches whose metadata is kept (the most recent ones).
pub(crate) const META_CAPACITY: usize = 2048;

const WORDS: usize = LaunchMeta::BYTES / 8;

#[derive(Debug)]
struct Slot {
    /// Even: stable; odd: a write is in progress.
    version: AtomicU64,
    /// The sequence number of the candidate whose metadata this is, plus one (0: empty).
    seq: AtomicU64,
    words: [AtomicU64; WORDS],
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct MetaTable {
    slots: Box<[Slot]>,
}

impl Default for MetaTable {
    fn default() -> Self {
        let slots = (0..META_CAPACITY)
            .map(|_| Slot {
                version: AtomicU64::new(0),
                seq: AtomicU64::new(0),
                words: std::array::from_fn(|_| AtomicU64::new(0)),
            })
            .collect();
        MetaTable { slots }
    }
}

impl MetaTable {
    fn slot(&self, seq: u64) -> &Slot {
        &self.slots[(seq % self.slots.len() as u64) as usize]
    }

    /// Stores `meta` for the candidate numbered `seq`.
    pub(crate) fn put(&self, seq: u64, meta: &LaunchMeta) {
        let slot = self.slot(seq);
        let v = slot.version.load(Relaxed);
        if v & 1 == 1
            || slot
                .version
                .compare_exchange(v, v + 1, Relaxed, Relaxed)
                .is_err()
        {
            return;
        }
        fence(Release);
        slot.seq.store(seq + 1, Relaxed);
        let bytes = meta.encode();
        for (w, chunk) in slot.words.iter().zip(bytes.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            w.store(u64::from_le_bytes(b), Relaxed);
        }
        slot.version.store(v + 2, Release);
    }

    /// The metadata stored for `seq`, if it is still there.
    pub(crate) fn get(&self, seq: u64) -> Option<LaunchMeta> {
        let slot = self.slot(seq);
        let v1 = slot.version.load(Acquire);
        if v1 & 1 == 1 || slot.seq.load(Relaxed) != seq + 1 {
            return None;
        }
        let mut bytes = [0u8; LaunchMeta::BYTES];
        for (w, chunk) in slot.words.iter().zip(bytes.chunks_exact_mut(8)) {
            chunk.copy_from_slice(&w.load(Relaxed).to_le_bytes());
        }
        fence(Acquire);
        let v2 = slot.version.load(Relaxed);
        // A write that started after our first read would have moved the version on.
        (v1 == v2).then(|| LaunchMeta::decode(&bytes))
    }
}

#[cfg(all(test, not(sniffer_loom)))]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_capacity_entries_and_never_mixes_them_up() {
        let t = MetaTable::default();
        let meta = |i: u64| LaunchMeta::new(&format!("n{i}"), &format!("S{i}"), "u");
        for seq in 0..(META_CAPACITY as u64 + 10) {
            t.put(seq, &meta(seq));
        }
        assert_eq!(t.get(3), None, "overwritten by seq capacity + 3");
        let last = META_CAPACITY as u64 + 9;
        assert_eq!(t.get(last).unwrap().name(), format!("n{last}"));
        assert_eq!(t.get(last).unwrap().symbol(), format!("S{last}"));
        assert_eq!(t.get(20).unwrap().name(), "n20");
        assert_eq!(t.get(last + 1), None, "never written");
    }

    #[test]
    fn round_trips_long_and_truncated_strings() {
        let t = MetaTable::default();
        let m = LaunchMeta::new(&"é".repeat(40), "SYM", &"u".repeat(300));
        t.put(7, &m);
        let got = t.get(7).unwrap();
        assert_eq!(got, m);
        assert!(got.is_truncated());
    }
}
