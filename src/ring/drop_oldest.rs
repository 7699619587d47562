//! `drop_oldest`: a push into a full ring evicts the oldest queued candidate and stores the new
//! one, which is always accepted. `ArrayQueue::force_push` does the eviction and the store as one
//! operation and returns the evicted item, so exactly one item leaves per overflowing push even
//! when the consumer pops concurrently; the engine counts it in `dropped_oldest`.

use super::StreamRing;
use crate::candidate::PremintCandidate;

#[inline(always)]
pub(super) fn push(ring: &StreamRing, item: PremintCandidate) -> Option<PremintCandidate> {
    let evicted = ring.queue.force_push(item);
    if evicted.is_none() {
        ring.item_added();
    }
    // After an eviction the ring was full, so not empty: a consumer that parked on an empty ring
    // was woken by whichever push made it non-empty, and the fence is not needed here.
    evicted
}
