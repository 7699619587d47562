//! `block`: a push into a full ring waits for room, at most `timeout` when one is set, using the
//! ring's wait strategy and parking on the `not_full` signal. Nothing is dropped: on timeout or
//! shutdown the candidate is handed back to the caller.

use std::time::{Duration, Instant};

use super::{Pause, StreamRing, Waiter};
use crate::candidate::PremintCandidate;
use crate::error::PushError;

pub(super) fn push(
    ring: &StreamRing,
    mut item: PremintCandidate,
    timeout: Option<Duration>,
) -> Result<Option<PremintCandidate>, PushError> {
    let mut deadline = None;
    let mut waiter = Waiter::new(ring.wait);
    loop {
        match ring.queue.push(item) {
            Ok(()) => {
                ring.item_added();
                return Ok(None);
            }
            Err(back) => item = back,
        }
        if ring.is_closed() {
            return Err(PushError::Closed(item));
        }
        // The clock is read only once the ring was found full.
        let deadline = *deadline.get_or_insert_with(|| timeout.map(|t| Instant::now() + t));
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(PushError::Timeout(item));
        }
        if waiter.pause() == Pause::Park {
            ring.not_full
                .wait_until(|| !ring.queue.is_full() || ring.is_closed(), deadline);
            waiter.reset();
        }
    }
}
