//! The stream ring against a `VecDeque` model, for every policy, plus exact drop counting,
//! the block timeout and the release of blocked producers at close.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use sniffer::{
    config::{WaitStrategy, BACKOFF_YIELD_WINDOW},
    ring::{PushError, StreamRing},
    DropPolicy, PremintCandidate,
};

fn item(seq: u64) -> PremintCandidate {
    PremintCandidate {
        seq,
        ..Default::default()
    }
}

#[derive(Clone, Debug)]
enum Op {
    Push,
    TryPush,
    Pop,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![3 => Just(Op::Push), 1 => Just(Op::TryPush), 3 => Just(Op::Pop)],
        0..400,
    )
}

/// Drives the ring and the model with the same operations and compares after every step.
fn check_against_model(
    policy: DropPolicy,
    capacity: usize,
    ops: &[Op],
) -> Result<(), TestCaseError> {
    // A zero block timeout makes `push` under `block` give up at once when full: deterministic.
    let ring = StreamRing::new(capacity, policy).with_block_timeout(Some(Duration::ZERO));
    let mut model: VecDeque<u64> = VecDeque::new();
    let (mut rejected, mut evicted) = (0u64, 0u64);
    for (next, op) in ops.iter().enumerate() {
        let next = next as u64;
        match op {
            Op::Push | Op::TryPush => {
                let got = match op {
                    Op::Push => ring.push(item(next)),
                    _ => ring.try_push(item(next)),
                };
                let full = model.len() == capacity;
                match (policy, full) {
                    (_, false) => {
                        prop_assert_eq!(got.map(|e| e.map(|c| c.seq)), Ok(None));
                        model.push_back(next);
                    }
                    (DropPolicy::DropNewest, true) => {
                        prop_assert!(matches!(got, Err(PushError::Full(c)) if c.seq == next));
                        rejected += 1;
                    }
                    (DropPolicy::DropOldest, true) => {
                        let oldest = model.pop_front();
                        prop_assert_eq!(got.map(|e| e.map(|c| c.seq)), Ok(oldest));
                        model.push_back(next);
                        evicted += 1;
                    }
                    (DropPolicy::Block, true) => {
                        match (op, got) {
                            (Op::Push, Err(PushError::Timeout(c))) => prop_assert_eq!(c.seq, next),
                            (Op::TryPush, Err(PushError::Full(c))) => prop_assert_eq!(c.seq, next),
                            (op, got) => {
                                prop_assert!(false, "{op:?} on a full block ring gave {got:?}")
                            }
                        }
                        rejected += 1;
                    }
                }
            }
            Op::Pop => {
                prop_assert_eq!(ring.try_pop().map(|c| c.seq), model.pop_front());
            }
        }
        prop_assert_eq!(ring.len(), model.len());
        prop_assert_eq!(ring.is_empty(), model.is_empty());
    }
    // Every item pushed is either still queued, was popped, or was counted once.
    let drained: Vec<u64> = std::iter::from_fn(|| ring.try_pop().map(|c| c.seq)).collect();
    prop_assert_eq!(drained, model.into_iter().collect::<Vec<_>>());
    if policy != DropPolicy::DropOldest {
        prop_assert_eq!(evicted, 0);
    }
    if policy == DropPolicy::DropOldest {
        prop_assert_eq!(rejected, 0);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn drop_newest_matches_model(cap in 1usize..16, ops in ops()) {
        check_against_model(DropPolicy::DropNewest, cap, &ops)?;
    }

    #[test]
    fn drop_oldest_matches_model(cap in 1usize..16, ops in ops()) {
        check_against_model(DropPolicy::DropOldest, cap, &ops)?;
    }

    #[test]
    fn block_matches_model(cap in 1usize..16, ops in ops()) {
        check_against_model(DropPolicy::Block, cap, &ops)?;
    }
}

#[test]
fn drop_newest_counts_every_rejection_and_keeps_the_queue() {
    let ring = StreamRing::new(4, DropPolicy::DropNewest);
    let rejected: Vec<u64> = (0..10)
        .filter_map(|i| ring.push(item(i)).err().map(|e| e.into_inner().seq))
        .collect();
    assert_eq!(rejected, (4..10).collect::<Vec<_>>());
    let kept: Vec<u64> = std::iter::from_fn(|| ring.try_pop().map(|c| c.seq)).collect();
    assert_eq!(kept, [0, 1, 2, 3]);
}

#[test]
fn drop_oldest_evicts_exactly_one_per_overflowing_push() {
    let ring = StreamRing::new(4, DropPolicy::DropOldest);
    let evicted: Vec<u64> = (0..10)
        .filter_map(|i| ring.push(item(i)).unwrap().map(|c| c.seq))
        .collect();
    assert_eq!(evicted, (0..6).collect::<Vec<_>>());
    let kept: Vec<u64> = std::iter::from_fn(|| ring.try_pop().map(|c| c.seq)).collect();
    assert_eq!(kept, [6, 7, 8, 9]);
}

/// With a consumer popping concurrently, every item is either popped or evicted, exactly once.
#[test]
fn drop_oldest_is_exact_with_a_concurrent_consumer() {
    const N: u64 = 200_000;
    let ring = Arc::new(StreamRing::new(64, DropPolicy::DropOldest));
    let consumer = {
        let ring = ring.clone();
        std::thread::spawn(move || {
            let mut got = Vec::new();
            loop {
                match ring.try_pop() {
                    Some(c) => got.push(c.seq),
                    None if ring.is_closed() && ring.is_empty() => break,
                    None => std::hint::spin_loop(),
                }
            }
            got
        })
    };
    let mut evicted = Vec::new();
    for i in 0..N {
        if let Some(old) = ring.push(item(i)).unwrap() {
            evicted.push(old.seq);
        }
    }
    ring.close();
    let popped = consumer.join().unwrap();
    assert!(popped.windows(2).all(|w| w[0] < w[1]), "pops are FIFO");
    assert!(
        evicted.windows(2).all(|w| w[0] < w[1]),
        "evictions are FIFO"
    );
    let mut all: Vec<u64> = popped.iter().chain(&evicted).copied().collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (0..N).collect::<Vec<_>>(),
        "each item popped or evicted exactly once"
    );
}

#[test]
fn block_push_honours_its_timeout_and_drops_nothing() {
    let ring =
        StreamRing::new(2, DropPolicy::Block).with_block_timeout(Some(Duration::from_millis(30)));
    ring.push(item(0)).unwrap();
    ring.push(item(1)).unwrap();
    let start = Instant::now();
    let err = ring.push(item(2)).unwrap_err();
    assert!(matches!(err, PushError::Timeout(c) if c.seq == 2));
    assert!(
        start.elapsed() >= Duration::from_millis(30),
        "waited the whole timeout"
    );
    assert_eq!(ring.len(), 2);
    assert_eq!(ring.try_pop().unwrap().seq, 0);
}

/// Polls `cond` until it holds; a generous limit turns a hang into a failure.
fn wait_for(what: &str, cond: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::yield_now();
    }
}

#[test]
fn block_push_waits_for_room_and_then_succeeds() {
    for wait in [WaitStrategy::Backoff, WaitStrategy::Park] {
        let ring = Arc::new(StreamRing::new(1, DropPolicy::Block).with_wait_strategy(wait));
        ring.push(item(0)).unwrap();
        let producer = {
            let ring = ring.clone();
            std::thread::spawn(move || ring.push(item(1)))
        };
        // The producer found the ring full and went to sleep waiting for room: nothing was
        // popped yet, so it cannot have returned.
        wait_for("the producer to block", || ring.producer_parks() >= 1);
        assert!(!producer.is_finished(), "{wait:?}");
        assert_eq!(ring.len(), 1);
        // Popping makes room and wakes it.
        assert_eq!(ring.try_pop().unwrap().seq, 0);
        assert_eq!(producer.join().unwrap().unwrap(), None, "{wait:?}");
        assert_eq!(ring.pop_deadline(None).unwrap().seq, 1);
        assert_eq!(ring.consumer_parks(), 0, "an item was always ready");
    }
}

/// A spinning or yielding producer under `block` waits for room without ever sleeping.
#[test]
fn block_push_under_spin_never_parks() {
    for wait in [WaitStrategy::Spin, WaitStrategy::Yield] {
        let ring = Arc::new(StreamRing::new(1, DropPolicy::Block).with_wait_strategy(wait));
        ring.push(item(0)).unwrap();
        let producer = {
            let ring = ring.clone();
            std::thread::spawn(move || ring.push(item(1)))
        };
        wait_for("the producer to enter its push", || !ring.producers_idle());
        // Long enough for many busy windows of backoff (a spinner aliased to it would sleep).
        std::thread::sleep(20 * BACKOFF_YIELD_WINDOW);
        assert!(!producer.is_finished(), "{wait:?}: still waiting for room");
        assert_eq!(ring.try_pop().unwrap().seq, 0);
        assert_eq!(producer.join().unwrap().unwrap(), None);
        assert_eq!(ring.producer_parks(), 0, "{wait:?}");
    }
}

/// Each strategy's consumer, waiting on an empty ring: `park` and `backoff` go to sleep (once)
/// and are woken by the push; `spin` and `yield` never sleep.
#[test]
fn each_wait_strategy_parks_or_not_as_documented() {
    for wait in [
        WaitStrategy::Park,
        WaitStrategy::Backoff,
        WaitStrategy::Spin,
        WaitStrategy::Yield,
    ] {
        let ring = Arc::new(StreamRing::new(4, DropPolicy::DropNewest).with_wait_strategy(wait));
        let started = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let consumer = {
            let (ring, started) = (ring.clone(), started.clone());
            std::thread::spawn(move || {
                started.store(true, std::sync::atomic::Ordering::Release);
                ring.pop_deadline(None).map(|c| c.seq)
            })
        };
        let parks = match wait {
            WaitStrategy::Park | WaitStrategy::Backoff => {
                wait_for("the consumer to sleep", || ring.consumer_parks() == 1);
                1
            }
            _ => {
                wait_for("the consumer to start", || {
                    started.load(std::sync::atomic::Ordering::Acquire)
                });
                std::thread::sleep(20 * BACKOFF_YIELD_WINDOW);
                // Checked before the push: a consumer that went to sleep here would never be
                // woken (nobody notifies a spinner).
                assert_eq!(ring.consumer_parks(), 0, "{wait:?}");
                0
            }
        };
        ring.push(item(9)).unwrap();
        assert_eq!(consumer.join().unwrap(), Some(9), "{wait:?}");
        assert_eq!(ring.consumer_parks(), parks, "{wait:?}");
    }
}

#[test]
fn close_releases_a_blocked_producer_with_its_item() {
    let ring = Arc::new(StreamRing::new(1, DropPolicy::Block));
    ring.push(item(0)).unwrap();
    let producer = {
        let ring = ring.clone();
        std::thread::spawn(move || ring.push(item(1)))
    };
    while ring.producers_idle() {
        std::thread::yield_now();
    }
    ring.close();
    let err = producer.join().unwrap().unwrap_err();
    assert!(matches!(err, PushError::Closed(c) if c.seq == 1));
    assert!(ring.producers_idle());
    assert!(matches!(ring.push(item(2)), Err(PushError::Closed(_))));
    // What was queued before the close can still be drained.
    assert_eq!(ring.try_pop().unwrap().seq, 0);
    assert_eq!(ring.pop_deadline(None), None);
}

#[test]
fn pop_deadline_returns_none_when_the_deadline_passes() {
    let ring = StreamRing::new(4, DropPolicy::DropNewest);
    assert_eq!(
        ring.pop_deadline(Some(Instant::now() + Duration::from_millis(5))),
        None
    );
}

#[test]
fn errors_do_not_dump_the_payload() {
    let err = PushError::Full(item(7));
    assert_eq!(format!("{err:?}"), "Full(..)");
    assert_eq!(err.to_string(), "stream ring is full");
}
