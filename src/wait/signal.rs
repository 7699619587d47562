//! [`Signal`]: a wake-up channel between a thread that waits for a condition on a lock-free queue
//! and the threads that make the condition true, without a lock on the notifier's fast path.
//!
//! This is the classic event-count handshake (Dekker-style, as in folly's `EventCount` and
//! crossbeam's `SyncWaker`): the waiter registers itself, issues a `SeqCst` fence and re-checks the
//! condition; the notifier changes the queue, issues a `SeqCst` fence and only then reads the
//! waiter count. The two fences are totally ordered, so either the waiter sees the change or the
//! notifier sees the waiter; a lost wake-up needs both to miss, which the fences forbid. The mutex
//! and condition variable are touched only when somebody is actually asleep. The protocol is
//! modelled with loom in `tests` below (`cargo test --cfg sniffer_loom --lib ring::signal`).

use std::time::Instant;

use crate::sync::{fence, AtomicUsize, Condvar, Mutex};
use std::sync::atomic::Ordering::{Relaxed, SeqCst};

/// A diagnostic count, outside loom's model (it carries no synchronisation).
type Count = std::sync::atomic::AtomicU64;

/// Wakes threads waiting for a condition that other threads make true.
#[derive(Debug, Default)]
pub(crate) struct Signal {
    /// Threads inside `wait_until`. Written by waiters (under `lock`), read by notifiers after
    /// their `SeqCst` fence; the fences, not this field's ordering, carry the handshake.
    waiters: AtomicUsize,
    lock: Mutex<()>,
    cv: Condvar,
    /// `wait_until` calls that went to sleep (once per call, whatever the spurious wake-ups):
    /// written under `lock`, so off every fast path. What tells a parking strategy from a
    /// spinning one.
    parks: Count,
    /// Notifications that found a waiter and woke it (`notify_slow`).
    wakes: Count,
}

impl Signal {
    /// Call after making a waited-for condition true. Costs a fence and a load when nobody waits.
    #[inline]
    pub(crate) fn notify(&self) {
        fence(SeqCst);
        if self.waiters.load(Relaxed) != 0 {
            self.notify_slow();
        }
    }

    /// Like [`Signal::notify`], but wakes the waiters only if `ready()` holds: for waiters whose
    /// condition is stricter than "something changed". `ready` is evaluated after the fence, so
    /// the handshake is the same as `notify`'s.
    #[inline]
    pub(crate) fn notify_if(&self, ready: impl Fn() -> bool) {
        fence(SeqCst);
        if self.waiters.load(Relaxed) != 0 && ready() {
            self.notify_slow();
        }
    }

    #[cold]
    fn notify_slow(&self) {
        // Taking (and releasing) the lock orders this notification after a waiter's last check of
        // the condition: a waiter checks and goes to sleep while holding the lock. The wake-up is
        // sent after the release, so the woken thread does not run into a held lock and sleep a
        // second time (one futex wake per notification, not a wake plus a lock hand-off).
        drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
        self.cv.notify_all();
        self.wakes.fetch_add(1, Relaxed);
    }

    /// How many `wait_until` calls went to sleep so far.
    pub(crate) fn parks(&self) -> u64 {
        self.parks.load(Relaxed)
    }

    /// How many notifications found a waiter to wake so far.
    #[cfg(test)]
    pub(crate) fn wakes(&self) -> u64 {
        self.wakes.load(Relaxed)
    }

    /// Sleeps until `ready()` returns true or `deadline` passes; returns the last `ready()`.
    pub(crate) fn wait_until(&self, ready: impl Fn() -> bool, deadline: Option<Instant>) -> bool {
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.waiters.fetch_add(1, Relaxed);
        fence(SeqCst);
        let mut slept = false;
        let result = loop {
            if ready() {
                break true;
            }
            match deadline {
                None => {
                    self.count_park(&mut slept);
                    guard = self.cv.wait(guard).unwrap_or_else(|e| e.into_inner());
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break ready();
                    }
                    self.count_park(&mut slept);
                    guard = self
                        .cv
                        .wait_timeout(guard, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        };
        self.waiters.fetch_sub(1, Relaxed);
        drop(guard);
        result
    }

    /// Counts the first sleep of a `wait_until` call.
    #[inline]
    fn count_park(&self, slept: &mut bool) {
        if !*slept {
            *slept = true;
            self.parks.fetch_add(1, Relaxed);
        }
    }
}

#[cfg(all(test, sniffer_loom))]
mod tests {
    use super::Signal;
    use loom::sync::atomic::AtomicUsize;
    use loom::sync::Arc;
    use std::sync::atomic::Ordering::{Acquire, Release};

    /// A producer publishes one item and notifies; the waiter must wake up and see it, in every
    /// interleaving loom can build (a lost wake-up deadlocks, which loom reports).
    #[test]
    fn loom_no_lost_wakeup() {
        loom::model(|| {
            let signal = Arc::new(Signal::default());
            let items = Arc::new(AtomicUsize::new(0));
            let (s2, i2) = (signal.clone(), items.clone());
            let producer = loom::thread::spawn(move || {
                i2.fetch_add(1, Release);
                s2.notify();
            });
            assert!(signal.wait_until(|| items.load(Acquire) == 1, None));
            producer.join().unwrap();
        });
    }

    /// A waiter that needs the level to fall to 1, a notifier that takes items one at a time and
    /// wakes only at that level: the waiter is always woken.
    #[test]
    fn loom_notify_if_wakes_at_the_level() {
        loom::model(|| {
            let signal = Arc::new(Signal::default());
            let items = Arc::new(AtomicUsize::new(3));
            let (s2, i2) = (signal.clone(), items.clone());
            let consumer = loom::thread::spawn(move || {
                for _ in 0..2 {
                    i2.fetch_sub(1, Release);
                    s2.notify_if(|| i2.load(Acquire) <= 1);
                }
            });
            assert!(signal.wait_until(|| items.load(Acquire) <= 1, None));
            consumer.join().unwrap();
        });
    }

    /// Two producers, a waiter that needs both items: repeated waits never miss a notification.
    #[test]
    fn loom_two_notifiers() {
        loom::model(|| {
            let signal = Arc::new(Signal::default());
            let items = Arc::new(AtomicUsize::new(0));
            let mut producers = Vec::new();
            for _ in 0..2 {
                let (s, i) = (signal.clone(), items.clone());
                producers.push(loom::thread::spawn(move || {
                    i.fetch_add(1, Release);
                    s.notify();
                }));
            }
            assert!(signal.wait_until(|| items.load(Acquire) == 2, None));
            for p in producers {
                p.join().unwrap();
            }
        });
    }
}

#[cfg(all(test, not(sniffer_loom)))]
mod counts {
    use super::Signal;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// A waiter whose condition is false sleeps once however it is woken, and a notification
    /// wakes it; a true condition, a passed deadline or a notification without a waiter count
    /// nothing.
    #[test]
    fn parks_and_wakes_are_counted_once_each() {
        let signal = Arc::new(Signal::default());
        signal.notify();
        assert!(signal.wait_until(|| true, None));
        assert!(!signal.wait_until(|| false, Some(Instant::now())));
        assert_eq!((signal.parks(), signal.wakes()), (0, 0));
        let flag = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (s, f) = (signal.clone(), flag.clone());
            std::thread::spawn(move || s.wait_until(|| f.load(Ordering::Acquire), None))
        };
        // Counted under the lock just before the sleep: the notification below comes after it.
        let until = Instant::now() + Duration::from_secs(20);
        while signal.parks() == 0 {
            assert!(Instant::now() < until, "the waiter never slept");
            std::thread::yield_now();
        }
        flag.store(true, Ordering::Release);
        signal.notify();
        assert!(waiter.join().unwrap());
        assert_eq!((signal.parks(), signal.wakes()), (1, 1));
    }
}
