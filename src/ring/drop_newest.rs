//! `drop_newest`: a push into a full ring is rejected and the candidate handed back; the queued
//! items are untouched. The engine counts the rejection in `dropped_full_buffer`.

use super::StreamRing;
use crate::candidate::PremintCandidate;
use crate::error::PushError;

#[inline(always)]
pub(super) fn push(
    ring: &StreamRing,
    item: PremintCandidate,
) -> Result<Option<PremintCandidate>, PushError> {
    match ring.queue.push(item) {
        Ok(()) => {
            ring.item_added();
            Ok(None)
        }
        Err(item) => Err(PushError::Full(item)),
    }
}
