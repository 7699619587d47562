//! [`Recent`]: a bounded memory of the keys a live connection handled lately, so that what a
//! reconnect hands over again is skipped instead of pushed twice: the transactions a gRPC
//! subscription resumed a few slots back replays (keys: signatures, order: slots), the messages
//! JetStream delivers again after a lost acknowledgement (keys and order: stream sequences).
//!
//! Each key comes with an order value (a slot, a sequence). Keys are forgotten oldest first, by
//! insertion: once more than `max_len` are kept, and, with a window, once their order falls more
//! than `window` below the highest order seen. Inserting an already known key changes nothing
//! but the highest order. Memory is bounded by `max_len` in every case.

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;

/// The keys handled lately; see the module documentation.
#[derive(Debug)]
pub(crate) struct Recent<K> {
    /// Keys in insertion order, with their order values.
    order: VecDeque<(u64, K)>,
    keys: HashSet<K>,
    /// Highest order value inserted (0: none).
    highest: u64,
    max_len: usize,
    /// Keys whose order is below `highest - window` are forgotten.
    window: Option<u64>,
}

impl<K: Copy + Eq + Hash> Recent<K> {
    /// Keeps the last `max_len` keys.
    pub(crate) fn by_count(max_len: usize) -> Self {
        Recent {
            order: VecDeque::new(),
            keys: HashSet::new(),
            highest: 0,
            max_len,
            window: None,
        }
    }

    /// Keeps the keys whose order is at most `window` below the highest seen, and never more
    /// than `max_len` of them.
    #[cfg_attr(not(feature = "geyser"), allow(dead_code))]
    pub(crate) fn by_window(window: u64, max_len: usize) -> Self {
        Recent {
            window: Some(window),
            ..Recent::by_count(max_len)
        }
    }

    pub(crate) fn contains(&self, key: &K) -> bool {
        self.keys.contains(key)
    }

    /// Remembers `key`, seen at `order`, and forgets what falls out of the bounds.
    pub(crate) fn insert(&mut self, key: K, order: u64) {
        self.highest = self.highest.max(order);
        if self.keys.insert(key) {
            self.order.push_back((order, key));
        }
        let floor = self.window.map_or(0, |w| self.highest.saturating_sub(w));
        while let Some(&(o, k)) = self.order.front() {
            if o >= floor && self.order.len() <= self.max_len {
                break;
            }
            self.order.pop_front();
            self.keys.remove(&k);
        }
    }

    /// The highest order inserted (0: none yet): where a resumed connection starts.
    #[cfg(any(test, feature = "geyser", feature = "nats"))]
    pub(crate) fn highest(&self) -> u64 {
        self.highest
    }

    /// Keys kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_count_forgets_the_oldest_only() {
        let mut r = Recent::by_count(3);
        for k in 1..=4u64 {
            r.insert(k, k);
        }
        assert!(!r.contains(&1));
        assert!(r.contains(&2) && r.contains(&3) && r.contains(&4));
        assert_eq!((r.len(), r.highest()), (3, 4));
        // A known key is not inserted twice and pushes nothing out.
        r.insert(3, 3);
        assert_eq!(r.len(), 3);
        assert!(r.contains(&2));
        // Insertion order, not order value, decides who goes first.
        r.insert(1, 1);
        assert!(!r.contains(&2) && r.contains(&1));
        assert_eq!(r.highest(), 4);
    }

    #[test]
    fn by_window_forgets_keys_below_the_floor_and_stays_bounded() {
        let mut r = Recent::by_window(10, 100);
        r.insert('a', 100);
        r.insert('b', 105);
        r.insert('c', 110);
        assert!(r.contains(&'a'));
        // Floor 101: `a` (100) goes, `b` (105) stays.
        r.insert('d', 111);
        assert!(!r.contains(&'a'));
        assert!(r.contains(&'b') && r.contains(&'c') && r.contains(&'d'));
        r.insert('e', 200);
        assert_eq!(r.len(), 1);
        assert!(r.contains(&'e'));

        let mut r = Recent::by_window(1000, 2);
        for (i, k) in ['x', 'y', 'z'].into_iter().enumerate() {
            r.insert(k, i as u64);
        }
        assert_eq!(r.len(), 2);
        assert!(!r.contains(&'x'));
        assert_eq!(Recent::<u8>::by_count(4).highest(), 0);
    }
}
