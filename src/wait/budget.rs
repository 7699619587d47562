//! [`WaitBudget`]: how long a thread that must keep reading (a live feed on its socket) may wait
//! for room in all, per [`WAIT_WINDOW`]. A bound per wait is not enough: behind a slow bot every
//! candidate would wait a little under it, nothing would be counted, and the socket would be read
//! only at the bot's pace. With a budget the waits of one window add up to at most the budget;
//! once it is spent, a full queue sheds at once (the caller counts it) until the next window.
//!
//! Windows are fixed: one starts at the first wait after the previous one ended, so any
//! `WAIT_WINDOW` of wall time holds at most two budgets of waiting (the end of one window and the
//! start of the next).

use std::time::{Duration, Instant};

/// The window a [`WaitBudget`] is spent over.
pub(crate) const WAIT_WINDOW: Duration = Duration::from_secs(1);

/// See the module documentation. Owned by one thread; reads the clock only when asked.
#[derive(Clone, Debug)]
pub(crate) struct WaitBudget {
    per_window: Duration,
    /// When the current window started (`None` before the first wait).
    window_start: Option<Instant>,
    /// Waited so far in the current window.
    spent: Duration,
}

impl WaitBudget {
    /// A budget of `per_window` in every [`WAIT_WINDOW`], at most half the window (the
    /// configuration refuses more; the cap keeps the bound even without it).
    pub(crate) fn new(per_window: Duration) -> Self {
        WaitBudget {
            per_window: per_window.min(WAIT_WINDOW / 2),
            window_start: None,
            spent: Duration::ZERO,
        }
    }

    /// What may still be waited at `now` (zero: shed at once). Starts a new window when the
    /// current one has ended.
    pub(crate) fn left(&mut self, now: Instant) -> Duration {
        let current = self
            .window_start
            .is_some_and(|s| now.saturating_duration_since(s) < WAIT_WINDOW);
        if !current {
            self.window_start = Some(now);
            self.spent = Duration::ZERO;
        }
        self.per_window.saturating_sub(self.spent)
    }

    /// Records a wait that started at `from` and ended at `to`.
    pub(crate) fn charge(&mut self, from: Instant, to: Instant) {
        self.spent = self
            .spent
            .saturating_add(to.saturating_duration_since(from));
    }
}

#[cfg(all(test, not(sniffer_loom)))]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_waits_of_one_window_add_up_to_the_budget_then_the_next_window_refills_it() {
        let t0 = Instant::now();
        let mut b = WaitBudget::new(50 * MS);
        assert_eq!(b.left(t0), 50 * MS);
        b.charge(t0, t0 + 30 * MS);
        assert_eq!(b.left(t0 + 100 * MS), 20 * MS);
        b.charge(t0 + 100 * MS, t0 + 120 * MS);
        // Spent: every later full queue in this window sheds without waiting.
        assert_eq!(b.left(t0 + 500 * MS), Duration::ZERO);
        assert_eq!(b.left(t0 + 999 * MS), Duration::ZERO);
        // A new window starts at the first wait after the old one ended.
        assert_eq!(b.left(t0 + 1_200 * MS), 50 * MS);
        b.charge(t0 + 1_200 * MS, t0 + 1_250 * MS);
        assert_eq!(b.left(t0 + 2_199 * MS), Duration::ZERO);
        assert_eq!(b.left(t0 + 2_200 * MS), 50 * MS);
    }

    #[test]
    fn a_budget_is_at_most_half_the_window() {
        let t0 = Instant::now();
        let mut b = WaitBudget::new(10 * WAIT_WINDOW);
        assert_eq!(b.left(t0), WAIT_WINDOW / 2);
    }
}
