//! Latency histograms without a phase shift: every recording thread owns one [`LatencyCell`] (an
//! HdrHistogram behind a mutex that only it and the snapshot ever take), and a snapshot merges the
//! cells. The recorder never waits: when a snapshot holds its cell it keeps the value aside and
//! adds it at its next record. hdrhistogram's `SyncHistogram` was replaced because an idle
//! recorder (a parked receiver) holds its values back from every snapshot until it records again.

use std::sync::Arc;

use hdrhistogram::Histogram;
use parking_lot::Mutex;

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
    pub(crate) fn merged(&self) -> Histogram<u64> {
        let mut out = new_histogram();
        for cell in self.0.lock().iter() {
            // Same bounds everywhere: adding cannot fail.
            let _ = out.add(&*cell.0.lock());
        }
        out
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

impl Drop for LatencyRecorder {
    fn drop(&mut self) {
        if !self.aside.is_empty() {
            let mut h = self.cell.0.lock();
            for (v, n) in self.aside.drain(..) {
                h.saturating_record_n(v, n);
            }
        }
    }
}
