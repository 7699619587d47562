//! The waiting tools every stage shares, in a layer below the stages (disruptor-rs keeps its
//! `wait_strategies` beside the ring in the same way): how an idle thread waits
//! ([`WaitStrategy`], `strategy.rs`), how it is woken without a lock on the notifier's fast path
//! (`Signal`, `signal.rs`), how long a thread that must keep reading may wait in all per window
//! (`WaitBudget`, `budget.rs`). Nothing here knows about rings, lanes or batches.

mod budget;
mod signal;
mod strategy;

pub(crate) use budget::{WaitBudget, WAIT_WINDOW};
pub(crate) use signal::Signal;
pub(crate) use strategy::{Pause, Waiter};
pub use strategy::{WaitStrategy, BACKOFF_SPIN_STEPS, BACKOFF_YIELD_EVERY, BACKOFF_YIELD_WINDOW};
