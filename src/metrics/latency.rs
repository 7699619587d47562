//! Latency histograms without a phase shift: every recording thread owns one [`LatencyCell`] (an
//! HdrHistogram behind a mutex that only it and the snapshot ever take), and a snapshot merges the
//! cells into a [`LatencyHistogram`]. The recorder never waits: when a snapshot holds its cell it
//! keeps the value aside and adds it at its next record. hdrhistogram's `SyncHistogram` does not
//! fit: an idle recorder (a parked receiver) would hold its values back from every snapshot until
//! it records again.

use std::sync::Arc;

use hdrhistogram::Histogram;
use parking_lot::Mutex;

use super::{LatencySummary, LATENCY_BUCKETS_NS};

/// Highest latency the histograms track (60 s, in ns); larger values are clamped to it.
pub(crate) const LATENCY_MAX_NS: u64 = 60_000_000_000;

/// Values kept aside while a snapshot holds the cell; past this the recorder waits for the lock.
const ASIDE: usize = 32;

pub(crate) fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_MAX_NS, 3).expect("constant histogram bounds are valid")
}

/// One recording thread's histogram.
#[derive(Debug)]
pub(crate) struct LatencyCell(Mutex<Histogram<u64>>);

/// The cells of one distribution (detection-to-delivery, or age at dequeue).
#[derive(Debug, Default)]
pub(crate) struct LatencyCells(Mutex<Vec<Arc<LatencyCell>>>);

impl LatencyCells {
    /// A recorder with a cell of its own (registration takes a lock; recording does not wait).
    pub(crate) fn recorder(&self) -> LatencyRecorder {
        let cell = Arc::new(LatencyCell(Mutex::new(new_histogram())));
        self.0.lock().push(cell.clone());
        LatencyRecorder {
            cell,
            aside: Vec::with_capacity(ASIDE),
        }
    }

    /// Every cell merged into one histogram.
    pub(crate) fn merged(&self) -> LatencyHistogram {
        let mut out = new_histogram();
        for cell in self.0.lock().iter() {
            // Same bounds everywhere: adding cannot fail.
            let _ = out.add(&*cell.0.lock());
        }
        LatencyHistogram(out)
    }
}

/// A latency distribution in nanoseconds (1 ns to 60 s, values kept to 3 significant digits):
/// the engine's detection-to-delivery latency at one instant, from
/// [`Sniffer::latency_histogram`](crate::Sniffer::latency_histogram) or
/// [`ShutdownReport::latency`](crate::ShutdownReport::latency). Quantiles, mean and count for a
/// report; [`LatencyHistogram::iter_recorded`] for a percentile file or a plot.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sniffer::{PremintCandidate, Sniffer};
///
/// // A handler's deliveries are all timed (a receiver samples the ones it finds ready).
/// let engine = Sniffer::builder().handler(|_: &PremintCandidate| {}).build()?;
/// for slot in 0..3 {
///     engine.ingest_handle().ingest(PremintCandidate { slot, ..Default::default() })?;
/// }
/// let latency = engine.shutdown(Duration::from_secs(5)).latency;
/// assert_eq!(latency.count(), 3);
/// assert!(latency.min() <= latency.quantile(0.5) && latency.quantile(0.99) <= latency.max());
/// assert_eq!(latency.summary().count, 3);
/// assert_eq!(latency.iter_recorded().map(|(_, n)| n).sum::<u64>(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LatencyHistogram(Histogram<u64>);

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram(new_histogram())
    }
}

impl LatencyHistogram {
    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value at quantile `q` (0.0 to 1.0; `0.99` is p99), ns; 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.0.is_empty() {
            return 0;
        }
        self.0.value_at_quantile(q.clamp(0.0, 1.0))
    }

    /// The smallest value recorded, ns (0 when empty).
    pub fn min(&self) -> u64 {
        self.0.min()
    }

    /// The largest value recorded, ns (0 when empty).
    pub fn max(&self) -> u64 {
        self.0.max()
    }

    /// The mean, ns (0 when empty).
    pub fn mean(&self) -> f64 {
        self.0.mean()
    }

    /// p50, p90, p99, p999, max, count and mean in one value (what the snapshot carries).
    pub fn summary(&self) -> LatencySummary {
        LatencySummary::from_histogram(&self.0)
    }

    /// Every distinct recorded value (ns, the highest value its bucket stands for) with how many
    /// times it was recorded, smallest first.
    pub fn iter_recorded(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.0
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
    }

    /// Cumulative counts at [`LATENCY_BUCKETS_NS`] (values are exact to 3 digits, so the counts
    /// are exact at these round bounds).
    pub(crate) fn buckets(&self) -> Vec<u64> {
        LATENCY_BUCKETS_NS
            .iter()
            .map(|&le| {
                if self.0.is_empty() {
                    0
                } else {
                    self.0.count_between(0, le)
                }
            })
            .collect()
    }
}

/// Records latencies into its own cell; `Send`, used by one thread at a time.
#[derive(Debug)]
pub(crate) struct LatencyRecorder {
    cell: Arc<LatencyCell>,
    /// (value, count) pairs recorded while a snapshot held the cell.
    aside: Vec<(u64, u64)>,
}

impl LatencyRecorder {
    /// Records the time from `detected_at_ns` to `now_ns` once.
    #[inline]
    pub(crate) fn record_since(&mut self, detected_at_ns: u64, now_ns: u64) {
        self.record_n(now_ns.saturating_sub(detected_at_ns), 1);
    }

    /// Records the time from each of `detected_at_ns` to `now_ns`, taking the cell once.
    pub(crate) fn record_all_since(
        &mut self,
        detected_at_ns: impl Iterator<Item = u64>,
        now_ns: u64,
    ) {
        let mut h = self.cell.0.lock();
        for (v, n) in self.aside.drain(..) {
            h.saturating_record_n(v, n);
        }
        for d in detected_at_ns {
            h.saturating_record(now_ns.saturating_sub(d).clamp(1, LATENCY_MAX_NS));
        }
    }

    /// Records `value_ns` as `count` observations (a sample standing for `count` deliveries).
    #[inline]
    pub(crate) fn record_n(&mut self, value_ns: u64, count: u64) {
        let v = value_ns.clamp(1, LATENCY_MAX_NS);
        let mut h = match self.cell.0.try_lock() {
            Some(h) => h,
            None if self.aside.len() < ASIDE => {
                self.aside.push((v, count));
                return;
            }
            None => self.cell.0.lock(),
        };
        for (v, n) in self.aside.drain(..) {
            h.saturating_record_n(v, n);
        }
        h.saturating_record_n(v, count);
    }
}

impl LatencyRecorder {
    /// Records what was set aside while a snapshot held the cell (nothing to do, and no lock
    /// taken, when nothing was).
    #[inline]
    pub(crate) fn flush_aside(&mut self) {
        if !self.aside.is_empty() {
            let mut h = self.cell.0.lock();
            for (v, n) in self.aside.drain(..) {
                h.saturating_record_n(v, n);
            }
        }
    }
}

impl Drop for LatencyRecorder {
    fn drop(&mut self) {
        self.flush_aside();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_values_rebuild_the_same_histogram() {
        let cells = LatencyCells::default();
        let mut rec = cells.recorder();
        for v in [
            1,
            999,
            1_000,
            1_001,
            123_456,
            59_000_000_000,
            70_000_000_000,
        ] {
            rec.record_n(v, 2);
        }
        let h = cells.merged();
        assert_eq!(h.count(), 14);
        // Values above the 60 s bound are clamped to it.
        assert_eq!(h.max(), h.quantile(1.0));
        assert!(h.max() >= 59_000_000_000 && h.max() <= LATENCY_MAX_NS + LATENCY_MAX_NS / 1000);
        let mut again = new_histogram();
        for (v, n) in h.iter_recorded() {
            again.record_n(v, n).unwrap();
        }
        assert_eq!(LatencyHistogram(again), h);
        assert_eq!(h.summary(), LatencySummary::from_histogram(&h.0));
    }

    /// A sample recorded while a snapshot holds the cell is set aside, not lost, and
    /// `flush_aside` (the receiver's idle path) makes the next reading count it.
    #[test]
    fn samples_set_aside_during_a_snapshot_count_once_flushed() {
        let cells = LatencyCells::default();
        let mut rec = cells.recorder();
        let held = rec.cell.clone();
        let guard = held.0.lock();
        rec.record_n(1_000, 32);
        drop(guard);
        assert_eq!(
            cells.merged().count(),
            0,
            "set aside while the cell was held"
        );
        rec.flush_aside();
        assert_eq!(cells.merged().count(), 32);
        rec.flush_aside();
        assert_eq!(cells.merged().count(), 32, "flushed once");
    }

    #[test]
    fn an_empty_histogram_reads_as_zeros() {
        let h = LatencyHistogram::default();
        assert!(h.is_empty());
        assert_eq!((h.count(), h.quantile(0.5), h.max()), (0, 0, 0));
        assert_eq!(h.summary(), LatencySummary::default());
        assert_eq!(h.iter_recorded().count(), 0);
        assert_eq!(h.buckets(), vec![0; LATENCY_BUCKETS_NS.len()]);
    }
}
