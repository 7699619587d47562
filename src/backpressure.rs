//! Backpressure: the hysteresis gate that pauses and resumes pull feeds, the edge-triggered
//! watermarks on the stream ring and the output lanes, and the paused-too-long alert.
//!
//! Every engine thread that sees the ring's fill level may report it to [`Gate::observe`]: feed
//! threads before each poll, the batcher after popping, the monitor thread on its tick. The gate is
//! a small lock-free state machine in one word: `0` while open, otherwise the instant it paused
//! (ns, low bit forced to 1). Pausing is a CAS from `0`, resuming a CAS back to `0`, so exactly one
//! observer wins each transition and counts it, and the pause duration is computed from the same
//! word the resume swapped out, never from a second, racing field. The rules, in integer
//! arithmetic on the depth `d` and capacity `c`:
//!
//! * pause when `100·d >= pause_pct·c`; resume only when `100·d < resume_pct·c`; in between the
//!   state does not change (no flapping inside the band);
//! * a watermark fires when `100·d >= pct·c` and is re-armed once the level falls below the next
//!   level down (warn re-arms below `resume_pct`, critical below `warn_pct`): one event per
//!   crossing episode, not one per push;
//! * the alert fires once the gate has been paused for `paused_alert_after`, then every
//!   `paused_alert_interval` until it resumes.
//!
//! The gate's protocol (pause/resume CAS and the wake-up of feeds waiting for a resume) is modelled
//! with loom in `tests` below.

use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::metrics::{Counter, GateMetrics};
use crate::ring::signal::Signal;
use crate::sync::{AtomicBool, AtomicU64};

/// Fill-level thresholds, in percent of a capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Levels {
    pub(crate) warn_pct: u8,
    pub(crate) critical_pct: u8,
    pub(crate) pause_pct: u8,
    pub(crate) resume_pct: u8,
}

#[inline]
fn at_or_above(depth: usize, capacity: usize, pct: u8) -> bool {
    (depth as u128) * 100 >= u128::from(pct) * capacity as u128
}

/// What an observation changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transition {
    Paused,
    /// Resumed after being paused this long.
    Resumed(Duration),
    /// Still paused, for this long: the alert fired.
    Alert(Duration),
}

/// The hysteresis gate. See the module docs for the rules.
#[derive(Debug)]
pub(crate) struct Gate {
    capacity: usize,
    levels: Levels,
    alert_after_ns: u64,
    alert_interval_ns: u64,
    /// 0 = open; otherwise the pause instant (ns) with the low bit set. Any observer CASes it.
    state: CachePadded<AtomicU64>,
    /// When the next alert of the current episode is due (ns); advanced by CAS by the observer
    /// that fires it. Values from earlier episodes are ignored (see `check_alert`).
    next_alert_ns: AtomicU64,
    /// Feeds waiting for a resume park here; the resuming observer notifies.
    resumed: Signal,
    ring_marks: Marks,
}

/// Edge-triggered watermark state shared by observers of one queue.
#[derive(Debug, Default)]
pub(crate) struct Marks {
    warn_armed: AtomicBool,
    critical_armed: AtomicBool,
}

impl Marks {
    pub(crate) fn new() -> Self {
        Marks {
            warn_armed: AtomicBool::new(true),
            critical_armed: AtomicBool::new(true),
        }
    }

    /// Fires (counts and logs) the watermarks `depth` crosses, re-arms those it fell below.
    pub(crate) fn observe(
        &self,
        name: &str,
        depth: usize,
        capacity: usize,
        levels: Levels,
        warn: &Counter,
        critical: &Counter,
    ) {
        if at_or_above(depth, capacity, levels.critical_pct) {
            if self.critical_armed.swap(false, AcqRel) {
                critical.incr();
                tracing::error!(queue = name, depth, capacity, "critical watermark crossed");
            }
        } else if !at_or_above(depth, capacity, levels.warn_pct)
            && !self.critical_armed.load(Relaxed)
        {
            // Load first: observers run often, and a store would bounce the line between them.
            self.critical_armed.store(true, Relaxed);
        }
        if at_or_above(depth, capacity, levels.warn_pct) {
            if self.warn_armed.swap(false, AcqRel) {
                warn.incr();
                tracing::warn!(queue = name, depth, capacity, "warn watermark crossed");
            }
        } else if !at_or_above(depth, capacity, levels.resume_pct) && !self.warn_armed.load(Relaxed)
        {
            self.warn_armed.store(true, Relaxed);
        }
    }
}

impl Gate {
    pub(crate) fn new(
        capacity: usize,
        levels: Levels,
        alert_after: Duration,
        alert_interval: Duration,
    ) -> Self {
        Gate {
            capacity,
            levels,
            alert_after_ns: duration_ns(alert_after),
            alert_interval_ns: duration_ns(alert_interval).max(1),
            state: CachePadded::new(AtomicU64::new(0)),
            next_alert_ns: AtomicU64::new(0),
            resumed: Signal::default(),
            ring_marks: Marks::new(),
        }
    }

    /// True while pull feeds should not read.
    #[inline]
    pub(crate) fn is_paused(&self) -> bool {
        self.state.load(Acquire) != 0
    }

    /// Applies the rules to one observation of the ring's depth at `now_ns`; counts and logs what
    /// changed. Safe to call from any number of threads at once.
    pub(crate) fn observe(&self, depth: usize, now_ns: u64, m: &GateMetrics) -> Option<Transition> {
        self.ring_marks.observe(
            "stream_ring",
            depth,
            self.capacity,
            self.levels,
            &m.watermark_warn_events,
            &m.watermark_critical_events,
        );
        let state = self.state.load(Acquire);
        if state == 0 {
            if !at_or_above(depth, self.capacity, self.levels.pause_pct) {
                return None;
            }
            if self
                .state
                .compare_exchange(0, now_ns | 1, AcqRel, Acquire)
                .is_err()
            {
                return None;
            }
            m.pause_count.incr();
            m.last_pause_ns.set(now_ns);
            m.paused.store(true, Relaxed);
            tracing::warn!(
                depth,
                capacity = self.capacity,
                "backpressure: pausing pull feeds"
            );
            return Some(Transition::Paused);
        }
        let since = state & !1;
        let paused_for = now_ns.saturating_sub(since);
        if !at_or_above(depth, self.capacity, self.levels.resume_pct) {
            if self
                .state
                .compare_exchange(state, 0, AcqRel, Acquire)
                .is_err()
            {
                return None;
            }
            m.paused_total_ns.add(paused_for);
            m.last_resume_ns.set(now_ns);
            m.paused.store(false, Relaxed);
            self.resumed.notify();
            tracing::info!(
                depth,
                capacity = self.capacity,
                paused_ms = paused_for / 1_000_000,
                "backpressure: resuming pull feeds"
            );
            return Some(Transition::Resumed(Duration::from_nanos(paused_for)));
        }
        self.check_alert(since, now_ns, m)
    }

    fn check_alert(&self, since: u64, now_ns: u64, m: &GateMetrics) -> Option<Transition> {
        let first_due = since.saturating_add(self.alert_after_ns);
        if now_ns < first_due {
            return None;
        }
        let next = self.next_alert_ns.load(Acquire);
        // A value below this episode's first alert is left over from an earlier episode.
        let due = next.max(first_due);
        if now_ns < due {
            return None;
        }
        let following = due.saturating_add(self.alert_interval_ns).max(now_ns + 1);
        if self
            .next_alert_ns
            .compare_exchange(next, following, AcqRel, Acquire)
            .is_err()
        {
            return None;
        }
        let paused_for = Duration::from_nanos(now_ns - since);
        m.paused_alerts.incr();
        tracing::error!(
            paused_s = paused_for.as_secs(),
            "backpressure: engine paused for longer than paused_alert_after"
        );
        Some(Transition::Alert(paused_for))
    }

    /// Total time paused so far, including the current pause.
    pub(crate) fn paused_total_ns(&self, now_ns: u64, m: &GateMetrics) -> u64 {
        let state = self.state.load(Acquire);
        let current = if state == 0 {
            0
        } else {
            now_ns.saturating_sub(state & !1)
        };
        m.paused_total_ns.get() + current
    }

    /// Waits until the gate is open, `stop()` is true or `deadline` passes; returns `is_paused()`.
    pub(crate) fn wait_resumed(&self, stop: impl Fn() -> bool, deadline: Instant) -> bool {
        self.resumed
            .wait_until(|| !self.is_paused() || stop(), Some(deadline));
        self.is_paused()
    }

    /// Wakes feeds waiting for a resume (used at shutdown).
    pub(crate) fn wake_all(&self) {
        self.resumed.notify();
    }
}

/// Watermarks of one output lane, owned by the thread that sends that lane.
#[derive(Debug)]
pub(crate) struct LaneMarks {
    pub(crate) name: &'static str,
    pub(crate) marks: Marks,
    pub(crate) levels: Levels,
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The default levels, for the tests below.
#[cfg(test)]
const LEVELS: Levels = Levels {
    warn_pct: 80,
    critical_pct: 95,
    pause_pct: 80,
    resume_pct: 40,
};

#[cfg(all(test, not(sniffer_loom)))]
mod tests {
    use super::*;

    fn gate() -> Gate {
        Gate::new(
            100,
            LEVELS,
            Duration::from_secs(600),
            Duration::from_secs(60),
        )
    }

    const MS: u64 = 1_000_000;

    #[test]
    fn pauses_exactly_at_the_threshold_and_resumes_only_below_resume() {
        let g = gate();
        let m = GateMetrics::default();
        assert_eq!(g.observe(79, 1, &m), None);
        assert!(!g.is_paused());
        assert_eq!(g.observe(80, 2, &m), Some(Transition::Paused));
        assert!(g.is_paused());
        // Anywhere in the band [40, 80) and above: no change.
        for (t, d) in [(3, 79), (4, 60), (5, 40), (6, 99), (7, 41)] {
            assert_eq!(g.observe(d, t * MS, &m), None, "depth {d}");
            assert!(g.is_paused());
        }
        assert_eq!(
            g.observe(39, 10 * MS, &m),
            Some(Transition::Resumed(Duration::from_nanos(10 * MS - 2)))
        );
        assert!(!g.is_paused());
        // Back inside the band from below: stays open.
        for d in [40, 60, 79] {
            assert_eq!(g.observe(d, 11 * MS, &m), None);
        }
        assert_eq!(m.pause_count.get(), 1);
        assert_eq!(m.paused_total_ns.get(), 10 * MS - 2);
    }

    #[test]
    fn no_flapping_under_an_oscillating_level() {
        let g = gate();
        let m = GateMetrics::default();
        let mut transitions = 0;
        for i in 0..1000u64 {
            // Oscillates between 45 % and 85 %: one pause, never a resume.
            let depth = if i % 2 == 0 { 85 } else { 45 };
            if g.observe(depth, i * MS, &m).is_some() {
                transitions += 1;
            }
        }
        assert_eq!(transitions, 1);
        assert_eq!(m.pause_count.get(), 1);
    }

    #[test]
    fn one_watermark_event_per_episode() {
        let g = gate();
        let m = GateMetrics::default();
        // Climbs to 100 %, hovers around critical, falls to 50 %, climbs to 85 %.
        for d in [10, 80, 81, 90, 95, 100, 96, 94, 95, 50, 85] {
            g.observe(d, 1, &m);
        }
        // 94 -> 95 is inside the same critical episode (not below warn); 50 -> 85 inside the same
        // warn episode (not below resume).
        assert_eq!(m.watermark_warn_events.get(), 1);
        assert_eq!(m.watermark_critical_events.get(), 1);
        // Falling to 50 re-armed critical (below warn): 96 is a new critical episode.
        g.observe(96, 1, &m);
        assert_eq!(m.watermark_critical_events.get(), 2);
        g.observe(95, 1, &m);
        assert_eq!(m.watermark_critical_events.get(), 2);
        g.observe(79, 1, &m);
        g.observe(95, 1, &m);
        assert_eq!(m.watermark_critical_events.get(), 3);
        // Warn re-arms only below resume (40).
        g.observe(41, 1, &m);
        g.observe(80, 1, &m);
        assert_eq!(m.watermark_warn_events.get(), 1);
        g.observe(39, 1, &m);
        g.observe(80, 1, &m);
        assert_eq!(m.watermark_warn_events.get(), 2);
    }

    #[test]
    fn alert_fires_after_the_limit_then_once_per_interval() {
        let g = Gate::new(
            100,
            LEVELS,
            Duration::from_secs(600),
            Duration::from_secs(60),
        );
        let m = GateMetrics::default();
        let s = 1_000_000_000u64;
        assert_eq!(g.observe(90, 10 * s, &m), Some(Transition::Paused));
        let mut alerts = Vec::new();
        // Observe every second for 20 minutes while paused.
        for t in 11..=1210u64 {
            if let Some(Transition::Alert(d)) = g.observe(90, t * s, &m) {
                alerts.push(d.as_secs());
            }
        }
        assert_eq!(
            alerts,
            [600, 660, 720, 780, 840, 900, 960, 1020, 1080, 1140, 1200]
        );
        assert_eq!(m.paused_alerts.get(), 11);
        // A new episode starts its own clock; the old `next_alert` is ignored.
        assert!(matches!(
            g.observe(0, 1300 * s, &m),
            Some(Transition::Resumed(_))
        ));
        assert_eq!(g.observe(90, 1301 * s, &m), Some(Transition::Paused));
        assert_eq!(g.observe(90, 1302 * s, &m), None);
        assert!(matches!(
            g.observe(90, 1901 * s, &m),
            Some(Transition::Alert(_))
        ));
    }

    #[test]
    fn integer_thresholds_on_odd_capacities() {
        // 80 % of 7 is 5.6: pause at 6 items, resume below 2.8, i.e. at 2 items.
        let g = Gate::new(7, LEVELS, Duration::from_secs(1), Duration::from_secs(1));
        let m = GateMetrics::default();
        assert_eq!(g.observe(5, 1, &m), None);
        assert_eq!(g.observe(6, 2, &m), Some(Transition::Paused));
        assert_eq!(g.observe(3, 3, &m), None);
        assert!(matches!(g.observe(2, 4, &m), Some(Transition::Resumed(_))));
    }
}

#[cfg(all(test, sniffer_loom))]
mod tests {
    use super::*;
    use loom::sync::Arc;

    /// Two observers race to pause and one to resume: every pause is counted once, the resume is
    /// counted only after a pause, and a feed waiting for the resume is always woken.
    #[test]
    fn loom_gate_transitions_and_wakeup() {
        loom::model(|| {
            let gate = Arc::new(Gate::new(
                10,
                LEVELS,
                Duration::from_secs(60),
                Duration::from_secs(60),
            ));
            let m = Arc::new(GateMetrics::default());
            let pausers: Vec<_> = (0..2)
                .map(|i| {
                    let (g, m) = (gate.clone(), m.clone());
                    loom::thread::spawn(move || g.observe(9, 10 + i, &m))
                })
                .collect();
            let won: usize = pausers
                .into_iter()
                .map(|p| usize::from(p.join().unwrap() == Some(Transition::Paused)))
                .sum();
            assert_eq!(won, 1, "exactly one observer pauses");
            assert!(gate.is_paused());
            let (g, m2) = (gate.clone(), m.clone());
            let resumer = loom::thread::spawn(move || g.observe(0, 20, &m2));
            // The feed waits for the resume; a lost wake-up would deadlock the model.
            gate.resumed.wait_until(|| !gate.is_paused(), None);
            assert!(matches!(
                resumer.join().unwrap(),
                Some(Transition::Resumed(_))
            ));
            assert_eq!(m.pause_count.get(), 1);
            assert!(!gate.is_paused());
        });
    }
}
