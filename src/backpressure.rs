//! Backpressure: the hysteresis gate that pauses and resumes pull feeds, the edge-triggered
//! watermarks on the stream ring and the output lanes, and the paused-too-long alert.
//!
//! The gate watches every bounded stage: [`Watch::observe`] reads the fill level of the ring and of
//! each output lane, fires their watermarks, and hands the fullest level to [`Gate::observe`].
//! Feed threads observe before each poll, the batcher every few rounds, the monitor thread on its
//! tick. The gate is
//! a small lock-free state machine in one word: `0` while open, otherwise the instant it paused
//! (ns, low bit forced to 1). Pausing is a CAS from `0`, resuming a CAS back to `0`, so exactly one
//! observer wins each transition and counts it, and the pause duration is computed from the same
//! word the resume swapped out, never from a second, racing field. The rules, in integer
//! arithmetic on the depth `d` and capacity `c`:
//!
//! * pause when `100·d >= pause_pct·c`; resume only when `100·d < resume_pct·c`; in between the
//!   state does not change (no flapping inside the band);
//! * a watermark fires when `100·d >= pct·c` and is re-armed once the level has stayed below the
//!   next level down (warn below `resume_pct`, critical below `warn_pct`) for [`REARM_AFTER`]:
//!   one event per crossing episode, not one per push, and a queue whose level saws up and down
//!   within that time (a fast consumer draining a lane in big gulps) stays in one episode. The
//!   same rule holds for the ring and for each lane; the log lines are also rate-limited
//!   ([`LogLimiter`]: at most one per queue and level per [`LOG_EVERY`], with the number
//!   suppressed), while the counters count every episode;
//! * the alert fires once the gate has been paused for `paused_alert_after`, then every
//!   `paused_alert_interval` until it resumes;
//! * the gate pauses only while it has a producer to hold back ([`Gate::hold`]: a pull feed's
//!   thread while it runs, or the bot once it took an ingest handle, whose `try_ingest` the gate
//!   refuses). Behind a slow bot a live-only engine fills its queues without ever being paused:
//!   its live feeds shed instead, and `paused` (the metric, `/health`) stays false. A gate whose
//!   last holder leaves while paused resumes at the next observation.
//!
//! The gate's protocol (pause/resume CAS and the wake-up of feeds waiting for a resume) is modelled
//! with loom in `tests` below.

use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::metrics::{Counter, GateCounters};
use crate::sync::{AtomicBool, AtomicU64, AtomicUsize};
use crate::wait::Signal;

/// How long a level must stay below a watermark's re-arm level before the watermark can fire
/// again.
pub(crate) const REARM_AFTER: Duration = Duration::from_secs(1);

/// Shortest interval between two log lines of one kind (per queue and level).
pub(crate) const LOG_EVERY: Duration = Duration::from_secs(10);

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

/// The hysteresis gate. See the module docs for the rules. It writes its own counters (the
/// observer that wins a transition counts it).
#[derive(Debug)]
pub(crate) struct Gate {
    levels: Levels,
    counters: std::sync::Arc<GateCounters>,
    alert_after_ns: u64,
    alert_interval_ns: u64,
    /// 0 = open; otherwise the pause instant (ns) with the low bit set. Any observer CASes it.
    state: CachePadded<AtomicU64>,
    /// When the next alert of the current episode is due (ns); advanced by CAS by the observer
    /// that fires it. Values from earlier episodes are ignored (see `check_alert`).
    next_alert_ns: AtomicU64,
    /// Feeds waiting for a resume park here; the resuming observer notifies.
    resumed: Signal,
    pause_log: LogLimiter,
    /// Producers a pause holds back (see [`Gate::hold`]); the gate pauses only while some are.
    holders: AtomicUsize,
    /// The bot took an ingest handle (it holds the gate for good: handles are cloned freely).
    bot: AtomicBool,
}

/// A producer the gate can hold back, for as long as this guard lives (see [`Gate::hold`]).
#[derive(Debug)]
pub(crate) struct Hold<'a>(&'a Gate);

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.0.holders.fetch_sub(1, AcqRel);
    }
}

/// Rate-limits one kind of log line: `allow` says whether to write it now and how many were
/// suppressed since the last one written. Lock-free; any thread may call it.
#[derive(Debug, Default)]
pub(crate) struct LogLimiter {
    /// `now_ns` after which the next line may be written (0: at once).
    next_ns: AtomicU64,
    suppressed: AtomicU64,
}

impl LogLimiter {
    /// `Some(suppressed)` when a line may be written at `now_ns`, `None` when it is suppressed
    /// (and counted).
    pub(crate) fn allow(&self, now_ns: u64) -> Option<u64> {
        let next = self.next_ns.load(Acquire);
        if now_ns >= next
            && self
                .next_ns
                .compare_exchange(
                    next,
                    now_ns.saturating_add(duration_ns(LOG_EVERY)).max(1),
                    AcqRel,
                    Acquire,
                )
                .is_ok()
        {
            return Some(self.suppressed.swap(0, AcqRel));
        }
        self.suppressed.fetch_add(1, Relaxed);
        None
    }
}

/// One watermark of one queue: armed, or fired and waiting for the level to stay low.
#[derive(Debug)]
struct Mark {
    armed: AtomicBool,
    /// When the level fell below the re-arm level (0: it is not below it now).
    low_since_ns: AtomicU64,
    log: LogLimiter,
}

impl Mark {
    fn new() -> Self {
        Mark {
            armed: AtomicBool::new(true),
            low_since_ns: AtomicU64::new(0),
            log: LogLimiter::default(),
        }
    }

    /// Fires when `above` and armed; re-arms after `below_rearm` held for `REARM_AFTER`.
    /// Returns `Some(suppressed log lines)` when it fired and may log.
    fn observe(
        &self,
        above: bool,
        below_rearm: bool,
        now_ns: u64,
        events: &Counter,
    ) -> Option<Option<u64>> {
        // Loads before stores: observers run often, and a store would bounce the line.
        if above {
            if self.low_since_ns.load(Relaxed) != 0 {
                self.low_since_ns.store(0, Relaxed);
            }
            if self.armed.load(Relaxed) && self.armed.swap(false, AcqRel) {
                events.incr();
                return Some(self.log.allow(now_ns));
            }
        } else if !below_rearm {
            if self.low_since_ns.load(Relaxed) != 0 {
                self.low_since_ns.store(0, Relaxed);
            }
        } else if !self.armed.load(Relaxed) {
            let since = self.low_since_ns.load(Relaxed);
            if since == 0 {
                self.low_since_ns.store(now_ns.max(1), Relaxed);
            } else if now_ns.saturating_sub(since) >= duration_ns(REARM_AFTER) {
                self.armed.store(true, Release);
                self.low_since_ns.store(0, Relaxed);
            }
        }
        None
    }
}

/// Edge-triggered watermark state of one queue, shared by its observers.
#[derive(Debug)]
pub(crate) struct Marks {
    warn: Mark,
    critical: Mark,
}

impl Default for Marks {
    fn default() -> Self {
        Marks::new()
    }
}

impl Marks {
    pub(crate) fn new() -> Self {
        Marks {
            warn: Mark::new(),
            critical: Mark::new(),
        }
    }

    /// Fires (counts, and logs unless rate-limited) the watermarks `depth` crosses, re-arms those
    /// the level stayed below (see the module docs).
    #[allow(clippy::too_many_arguments)] // each is one plain number or counter; a struct would only rename them
    pub(crate) fn observe(
        &self,
        name: &str,
        depth: usize,
        capacity: usize,
        levels: Levels,
        now_ns: u64,
        warn: &Counter,
        critical: &Counter,
    ) {
        let at = |pct| at_or_above(depth, capacity, pct);
        if let Some(Some(suppressed)) = self.critical.observe(
            at(levels.critical_pct),
            !at(levels.warn_pct),
            now_ns,
            critical,
        ) {
            tracing::error!(
                queue = name,
                depth,
                capacity,
                suppressed,
                "critical watermark crossed"
            );
        }
        if let Some(Some(suppressed)) =
            self.warn
                .observe(at(levels.warn_pct), !at(levels.resume_pct), now_ns, warn)
        {
            tracing::warn!(
                queue = name,
                depth,
                capacity,
                suppressed,
                "warn watermark crossed"
            );
        }
    }
}

/// A queue's fill level, read on demand: `(depth, capacity)`.
pub(crate) type LevelFn = Box<dyn Fn() -> (usize, usize) + Send + Sync>;

/// Every bounded stage the gate watches, with its watermarks (see the module docs). Built by the
/// engine, which owns the queues; this module only reads the levels it is handed.
pub(crate) struct Watch {
    gate: std::sync::Arc<Gate>,
    queues: Vec<(&'static str, LevelFn, Marks)>,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.queues.iter().map(|q| q.0).collect();
        f.debug_struct("Watch").field("queues", &names).finish()
    }
}

impl Watch {
    pub(crate) fn new(gate: std::sync::Arc<Gate>) -> Self {
        Watch {
            gate,
            queues: Vec::new(),
        }
    }

    /// Watches one more queue, named `name` in logs.
    pub(crate) fn queue(mut self, name: &'static str, level: LevelFn) -> Self {
        self.queues.push((name, level, Marks::new()));
        self
    }

    /// Reads every level, fires the watermarks, and hands the fullest level to the gate.
    pub(crate) fn observe(&self, now_ns: u64) -> Option<Transition> {
        let m = &*self.gate.counters;
        let mut fullest = (0usize, 1usize);
        for (name, level, marks) in &self.queues {
            let (depth, capacity) = level();
            marks.observe(
                name,
                depth,
                capacity,
                self.gate.levels,
                now_ns,
                &m.watermark_warn_events,
                &m.watermark_critical_events,
            );
            if (depth as u128) * (fullest.1 as u128) > (fullest.0 as u128) * (capacity as u128) {
                fullest = (depth, capacity.max(1));
            }
        }
        self.gate.observe(fullest.0, fullest.1, now_ns)
    }

    pub(crate) fn gate(&self) -> &Gate {
        &self.gate
    }
}

impl Gate {
    /// A gate that counts its transitions in `counters`.
    pub(crate) fn new(
        levels: Levels,
        alert_after: Duration,
        alert_interval: Duration,
        counters: std::sync::Arc<GateCounters>,
    ) -> Self {
        Gate {
            levels,
            counters,
            alert_after_ns: duration_ns(alert_after),
            alert_interval_ns: duration_ns(alert_interval).max(1),
            state: CachePadded::new(AtomicU64::new(0)),
            next_alert_ns: AtomicU64::new(0),
            resumed: Signal::default(),
            pause_log: LogLimiter::default(),
            holders: AtomicUsize::new(0),
            bot: AtomicBool::new(false),
        }
    }

    /// A producer that a pause holds back joins (a pull feed's thread, for as long as it runs):
    /// until the guard drops, the gate may pause. Without one, pausing would hold nobody back,
    /// and `paused` would claim what is not so.
    pub(crate) fn hold(&self) -> Hold<'_> {
        self.holders.fetch_add(1, AcqRel);
        Hold(self)
    }

    /// The bot took an ingest handle: `try_ingest` is refused while paused, so from now on the
    /// gate may pause (for good: the handle's clones cannot be tracked).
    pub(crate) fn hold_bot(&self) {
        if !self.bot.load(Relaxed) && !self.bot.swap(true, AcqRel) {
            self.holders.fetch_add(1, AcqRel);
        }
    }

    /// True while pull feeds should not read.
    #[inline]
    pub(crate) fn is_paused(&self) -> bool {
        self.state.load(Acquire) != 0
    }

    /// Applies the rules to one observation of a fill level (the fullest stage's `depth` of
    /// `capacity`) at `now_ns`; counts and logs what changed. Safe to call from any number of
    /// threads at once.
    pub(crate) fn observe(&self, depth: usize, capacity: usize, now_ns: u64) -> Option<Transition> {
        let m = &*self.counters;
        let state = self.state.load(Acquire);
        let held = self.holders.load(Acquire) > 0;
        if state == 0 {
            if !held || !at_or_above(depth, capacity, self.levels.pause_pct) {
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
            if let Some(suppressed) = self.pause_log.allow(now_ns) {
                tracing::warn!(
                    depth,
                    capacity,
                    suppressed,
                    "backpressure: pausing pull feeds"
                );
            }
            return Some(Transition::Paused);
        }
        let since = state & !1;
        let paused_for = now_ns.saturating_sub(since);
        if !held || !at_or_above(depth, capacity, self.levels.resume_pct) {
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
                capacity,
                paused_ms = paused_for / 1_000_000,
                "backpressure: resuming pull feeds"
            );
            return Some(Transition::Resumed(Duration::from_nanos(paused_for)));
        }
        self.check_alert(since, now_ns)
    }

    fn check_alert(&self, since: u64, now_ns: u64) -> Option<Transition> {
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
        self.counters.paused_alerts.incr();
        tracing::error!(
            paused_s = paused_for.as_secs(),
            "backpressure: engine paused for longer than paused_alert_after"
        );
        Some(Transition::Alert(paused_for))
    }

    /// How long the current pause has lasted when it is past `paused_alert_after` (`None` while
    /// open or paused for less).
    pub(crate) fn paused_past_alert(&self, now_ns: u64) -> Option<Duration> {
        let state = self.state.load(Acquire);
        if state == 0 {
            return None;
        }
        let paused_for = now_ns.saturating_sub(state & !1);
        (paused_for >= self.alert_after_ns).then(|| Duration::from_nanos(paused_for))
    }

    /// Total time paused so far, including the current pause.
    pub(crate) fn paused_total_ns(&self, now_ns: u64) -> u64 {
        let state = self.state.load(Acquire);
        let current = if state == 0 {
            0
        } else {
            now_ns.saturating_sub(state & !1)
        };
        self.counters.paused_total_ns.get() + current
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
        let g = Gate::new(
            LEVELS,
            Duration::from_secs(600),
            Duration::from_secs(60),
            Default::default(),
        );
        g.hold_bot();
        g
    }

    /// The gate tests observe a queue of 100 slots.
    trait Obs {
        fn obs(&self, depth: usize, now_ns: u64) -> Option<Transition>;
    }

    impl Obs for Gate {
        fn obs(&self, depth: usize, now_ns: u64) -> Option<Transition> {
            self.observe(depth, 100, now_ns)
        }
    }

    const MS: u64 = 1_000_000;

    #[test]
    fn pauses_exactly_at_the_threshold_and_resumes_only_below_resume() {
        let g = gate();
        let m = &*g.counters;
        assert_eq!(g.obs(79, 1), None);
        assert!(!g.is_paused());
        assert_eq!(g.obs(80, 2), Some(Transition::Paused));
        assert!(g.is_paused());
        // Anywhere in the band [40, 80) and above: no change.
        for (t, d) in [(3, 79), (4, 60), (5, 40), (6, 99), (7, 41)] {
            assert_eq!(g.obs(d, t * MS), None, "depth {d}");
            assert!(g.is_paused());
        }
        assert_eq!(
            g.obs(39, 10 * MS),
            Some(Transition::Resumed(Duration::from_nanos(10 * MS - 2)))
        );
        assert!(!g.is_paused());
        // Back inside the band from below: stays open.
        for d in [40, 60, 79] {
            assert_eq!(g.obs(d, 11 * MS), None);
        }
        assert_eq!(m.pause_count.get(), 1);
        assert_eq!(m.paused_total_ns.get(), 10 * MS - 2);
    }

    #[test]
    fn no_flapping_under_an_oscillating_level() {
        let g = gate();
        let m = &*g.counters;
        let mut transitions = 0;
        for i in 0..1000u64 {
            // Oscillates between 45 % and 85 %: one pause, never a resume.
            let depth = if i % 2 == 0 { 85 } else { 45 };
            if g.obs(depth, i * MS).is_some() {
                transitions += 1;
            }
        }
        assert_eq!(transitions, 1);
        assert_eq!(m.pause_count.get(), 1);
    }

    /// The watermarks of one queue, driven with an explicit clock (ms).
    fn marks_run(marks: &Marks, m: &GateCounters, steps: &[(u64, usize)]) {
        for &(t_ms, depth) in steps {
            marks.observe(
                "q",
                depth,
                100,
                LEVELS,
                t_ms * MS,
                &m.watermark_warn_events,
                &m.watermark_critical_events,
            );
        }
    }

    #[test]
    fn one_watermark_event_per_episode() {
        let marks = Marks::new();
        let m = GateCounters::default();
        // Climbs to 100 %, hovers around critical, falls to 50 %, climbs to 85 %.
        marks_run(
            &marks,
            &m,
            &[
                (1, 10),
                (2, 80),
                (3, 81),
                (4, 90),
                (5, 95),
                (6, 100),
                (7, 96),
                (8, 94),
                (9, 95),
                (10, 50),
                (11, 85),
            ],
        );
        // 94 -> 95 and 50 -> 85 are inside the same episodes: re-arming needs the level below
        // the next level down for REARM_AFTER.
        assert_eq!(m.watermark_warn_events.get(), 1);
        assert_eq!(m.watermark_critical_events.get(), 1);
        // Below warn (79) for a full REARM_AFTER: critical re-arms, a new crossing counts.
        let rearm = REARM_AFTER.as_millis() as u64;
        marks_run(&marks, &m, &[(20, 79), (20 + rearm, 79), (21 + rearm, 96)]);
        assert_eq!(m.watermark_critical_events.get(), 2);
        // Warn re-arms only below resume (40), held for REARM_AFTER.
        let t = 100 + rearm;
        marks_run(&marks, &m, &[(t, 41), (t + rearm, 41), (t + rearm + 1, 80)]);
        assert_eq!(m.watermark_warn_events.get(), 1);
        let t = t + 10 * rearm;
        marks_run(&marks, &m, &[(t, 39), (t + rearm, 39), (t + rearm + 1, 80)]);
        assert_eq!(m.watermark_warn_events.get(), 2);
    }

    /// A lane that a fast consumer drains in gulps saws between empty and full every few
    /// milliseconds: that is one episode (one critical event, one ERROR line) until the level
    /// stays low, not one per gulp (the time hysteresis of `REARM_AFTER`).
    #[test]
    fn a_sawing_level_is_one_episode_not_one_event_per_tooth() {
        let marks = Marks::new();
        let m = GateCounters::default();
        // 3 s of a 2 ms sawtooth: 0 -> 100 % -> 0.
        let steps: Vec<(u64, usize)> = (0..1500u64)
            .flat_map(|i| [(2 * i, 100), (2 * i + 1, 0)])
            .collect();
        marks_run(&marks, &m, &steps);
        assert_eq!(m.watermark_critical_events.get(), 1);
        assert_eq!(m.watermark_warn_events.get(), 1);
    }

    #[test]
    fn log_limiter_lets_one_line_through_per_interval_and_counts_the_rest() {
        let l = LogLimiter::default();
        let every = LOG_EVERY.as_nanos() as u64;
        assert_eq!(l.allow(1), Some(0));
        let suppressed = (2..1000).filter(|&t| l.allow(t).is_none()).count();
        assert_eq!(suppressed, 998);
        assert_eq!(
            l.allow(1 + every),
            Some(998),
            "the next line says how many were skipped"
        );
        assert_eq!(l.allow(2 + every), None);
    }

    #[test]
    fn watch_hands_the_fullest_queue_to_the_gate_and_fires_each_queues_marks() {
        use std::sync::atomic::AtomicUsize as StdAtomicUsize;
        use std::sync::Arc;
        let ring = Arc::new(StdAtomicUsize::new(0));
        let lane = Arc::new(StdAtomicUsize::new(0));
        let (r, l) = (ring.clone(), lane.clone());
        let watch = Watch::new(Arc::new(gate()))
            .queue("ring", Box::new(move || (r.load(Relaxed), 1000)))
            .queue("lane", Box::new(move || (l.load(Relaxed), 10)));
        let m = &*watch.gate().counters;
        // The ring is nearly empty, the lane is full: the gate pauses on the lane.
        lane.store(10, Relaxed);
        assert_eq!(watch.observe(MS), Some(Transition::Paused));
        assert_eq!(
            m.watermark_critical_events.get(),
            1,
            "the lane's critical mark"
        );
        lane.store(3, Relaxed);
        assert!(matches!(
            watch.observe(2 * MS),
            Some(Transition::Resumed(_))
        ));
        ring.store(960, Relaxed);
        assert_eq!(watch.observe(3 * MS), Some(Transition::Paused));
        assert_eq!(m.watermark_critical_events.get(), 2, "the ring's own mark");
    }

    #[test]
    fn alert_fires_after_the_limit_then_once_per_interval() {
        let g = gate();
        let m = &*g.counters;
        let s = 1_000_000_000u64;
        assert_eq!(g.obs(90, 10 * s), Some(Transition::Paused));
        let mut alerts = Vec::new();
        // Observe every second for 20 minutes while paused.
        for t in 11..=1210u64 {
            if let Some(Transition::Alert(d)) = g.obs(90, t * s) {
                alerts.push(d.as_secs());
            }
        }
        assert_eq!(
            alerts,
            [600, 660, 720, 780, 840, 900, 960, 1020, 1080, 1140, 1200]
        );
        assert_eq!(m.paused_alerts.get(), 11);
        // A new episode starts its own clock; the old `next_alert` is ignored.
        assert!(matches!(g.obs(0, 1300 * s), Some(Transition::Resumed(_))));
        assert_eq!(g.obs(90, 1301 * s), Some(Transition::Paused));
        assert_eq!(g.obs(90, 1302 * s), None);
        assert!(matches!(g.obs(90, 1901 * s), Some(Transition::Alert(_))));
    }

    #[test]
    fn with_nobody_to_hold_back_the_gate_never_pauses() {
        let g = Gate::new(
            LEVELS,
            Duration::from_secs(600),
            Duration::from_secs(60),
            Default::default(),
        );
        // Full queues behind live feeds only: nothing pauses, nothing is counted as paused.
        assert_eq!(g.obs(100, 1), None);
        assert!(!g.is_paused());
        {
            let _feed = g.hold();
            assert_eq!(g.obs(100, 2), Some(Transition::Paused));
            assert_eq!(g.obs(90, 3), None);
        }
        // The pull feed ended while paused: the next observation resumes, still full.
        assert!(matches!(g.obs(100, 5), Some(Transition::Resumed(_))));
        assert_eq!(g.obs(100, 6), None);
        assert_eq!(g.counters.pause_count.get(), 1);
        assert_eq!(g.paused_total_ns(1_000), 3);
    }

    #[test]
    fn integer_thresholds_on_odd_capacities() {
        // 80 % of 7 is 5.6: pause at 6 items, resume below 2.8, i.e. at 2 items.
        let g = Gate::new(
            LEVELS,
            Duration::from_secs(1),
            Duration::from_secs(1),
            Default::default(),
        );
        g.hold_bot();
        assert_eq!(g.observe(5, 7, 1), None);
        assert_eq!(g.observe(6, 7, 2), Some(Transition::Paused));
        assert_eq!(g.observe(3, 7, 3), None);
        assert!(matches!(g.observe(2, 7, 4), Some(Transition::Resumed(_))));
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
                LEVELS,
                Duration::from_secs(60),
                Duration::from_secs(60),
                Default::default(),
            ));
            gate.hold_bot();
            let pausers: Vec<_> = (0..2)
                .map(|i| {
                    let g = gate.clone();
                    loom::thread::spawn(move || g.observe(9, 10, 10 + i))
                })
                .collect();
            let won: usize = pausers
                .into_iter()
                .map(|p| usize::from(p.join().unwrap() == Some(Transition::Paused)))
                .sum();
            assert_eq!(won, 1, "exactly one observer pauses");
            assert!(gate.is_paused());
            let g = gate.clone();
            let resumer = loom::thread::spawn(move || g.observe(0, 10, 20));
            // The feed waits for the resume; a lost wake-up would deadlock the model.
            gate.resumed.wait_until(|| !gate.is_paused(), None);
            assert!(matches!(
                resumer.join().unwrap(),
                Some(Transition::Resumed(_))
            ));
            assert_eq!(gate.counters.pause_count.get(), 1);
            assert!(!gate.is_paused());
        });
    }
}
