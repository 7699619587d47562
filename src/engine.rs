//! [`Sniffer`]: the engine's builder, thread lifecycle and graceful shutdown.
//!
//! `build()` validates the configuration, plans a core for every thread from the list captured
//! once at start-up, then spawns named threads that pin themselves first thing: the batcher, one
//! worker per lane in async mode, and one thread per pull feed. `shutdown(timeout)` stops the
//! feeds, closes the ring (releasing producers blocked under `block`), lets the batcher and the
//! workers drain until the deadline, joins every thread and returns a [`ShutdownReport`] whose
//! counts add up to the accounting invariant.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::backpressure::{Gate, LaneMarks, Levels as GateLevels, Marks};
use crate::batch::{
    run_lane_worker, BatchPolicy, BatchSendMode, Batcher, Deadline, Dispatch, LaneSender,
    SendPolicy,
};
use crate::candidate::{monotonic_ns, PremintCandidate, Priority};
use crate::config::SnifferConfig;
use crate::error::{BuildError, ConfigError};
use crate::feed::{DedupTable, Feed, FeedPoll, FeedSink};
use crate::ingest::IngestHandle;
use crate::metrics::{
    health_line, FeedMetrics, FeedStats, LatencyHistogram, Metrics, MetricsSnapshot, MetricsSource,
};
use crate::output::{self, CandidateReceiver, Handler, Output};
use crate::pinning::{pin_current, CorePlan};
use crate::ring::{DropPolicy, StaleBound, StreamRing, WaitStrategy};

/// Builds a [`Sniffer`]; nothing starts until [`SnifferBuilder::build`] has validated everything.
#[must_use]
pub struct SnifferBuilder {
    config: SnifferConfig,
    handler: Option<Handler>,
    feeds: Vec<Box<dyn Feed>>,
    /// Multi-feed dedup: `None` = on when there are two feeds or more.
    dedup: Option<bool>,
}

impl fmt::Debug for SnifferBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnifferBuilder")
            .field("config", &self.config)
            .field("handler", &self.handler.is_some())
            .field("feeds", &self.feeds.len())
            .field("dedup", &self.dedup)
            .finish()
    }
}

impl SnifferBuilder {
    /// Uses this configuration (replacing the defaults).
    pub fn config(mut self, config: SnifferConfig) -> Self {
        self.config = config;
        self
    }

    /// Pins the engine threads to these cores, in start order (batcher, lane workers, feeds),
    /// sharing them round-robin when there are more threads than cores.
    pub fn pin_at_core(mut self, cores: impl IntoIterator<Item = usize>) -> Self {
        self.config.core_ids = cores.into_iter().collect();
        self.config.pin_threads = true;
        self
    }

    /// Delivers every candidate by calling `handler` on the sending thread (the batcher in sync
    /// mode, the lane's worker in async mode) instead of through a [`CandidateReceiver`]. A
    /// panicking handler call counts its candidate in `send_failures`.
    pub fn handler<F>(mut self, handler: F) -> Self
    where
        F: Fn(&PremintCandidate) + Send + Sync + 'static,
    {
        self.handler = Some(Arc::new(handler));
        self
    }

    /// Adds a pull feed, run on its own thread. Its id is its position among the feeds.
    pub fn feed(mut self, feed: impl Feed) -> Self {
        self.feeds.push(Box::new(feed));
        self
    }

    /// Adds a boxed pull feed.
    pub fn boxed_feed(mut self, feed: Box<dyn Feed>) -> Self {
        self.feeds.push(feed);
        self
    }

    /// Turns first-sighting dedup of the pull feeds' decoded launches on or off (default: on).
    /// Decoded launches ([`FeedSink::push_decoded`]) are deduplicated by mint and signature,
    /// across feeds and within one feed; the snapshot lists each feed's wins, duplicates, win
    /// share and lead time.
    pub fn dedup(mut self, on: bool) -> Self {
        self.dedup = Some(on);
        self
    }

    /// Validates the configuration and starts the engine.
    ///
    /// # Errors
    ///
    /// [`BuildError::Config`] before any thread starts; [`BuildError::Spawn`] if the system
    /// refuses a thread, after the threads already started were shut down and joined.
    pub fn build(self) -> Result<Sniffer, BuildError> {
        let cfg = self.config;
        cfg.validate()?;
        if self.feeds.len() > usize::from(u16::MAX) {
            return Err(ConfigError::Invalid {
                key: "feeds",
                value: self.feeds.len().to_string(),
                reason: "at most 65535 feeds".into(),
            }
            .into());
        }
        let ring = Arc::new(
            StreamRing::new(cfg.stream_buffer_capacity, cfg.drop_policy)
                .with_wait_strategy(cfg.wait_strategy)
                .with_block_timeout(cfg.block_timeout),
        );
        let metrics = Arc::new(Metrics::default());
        let deadline = Arc::new(Deadline::default());
        let levels = GateLevels {
            warn_pct: cfg.watermark_warn_pct,
            critical_pct: cfg.watermark_critical_pct,
            pause_pct: cfg.pause_pct,
            resume_pct: cfg.resume_pct,
        };
        let gate = Arc::new(Gate::new(
            cfg.stream_buffer_capacity,
            levels,
            cfg.paused_alert_after,
            cfg.paused_alert_interval,
        ));
        let stale = Arc::new(StaleBound::new(cfg.max_age, cfg.max_slot_lag));
        let (output, receiver) = match self.handler {
            Some(h) => (Output::Handler(h), None),
            None => {
                let (out, rx) = output::lanes(
                    cfg.output_lane_capacity,
                    cfg.wait_strategy,
                    cfg.low_share_pct,
                );
                (out, Some(rx))
            }
        };
        let workers = if cfg.batch_send_mode == BatchSendMode::Async {
            2
        } else {
            0
        };
        let mut cores = CorePlan::new(
            cfg.pin_threads,
            &cfg.core_ids,
            1 + workers + self.feeds.len(),
        );
        let ingest = IngestHandle::new(ring.clone(), metrics.clone(), gate.clone(), stale.clone());
        let lane_capacity = match output {
            Output::Lanes(_) => cfg.output_lane_capacity,
            Output::Handler(_) => 0,
        };
        let source = MetricsSource {
            metrics: metrics.clone(),
            ring: ring.clone(),
            gate: gate.clone(),
            output: output.clone(),
            lane_capacity,
            warn_pct: cfg.watermark_warn_pct,
        };
        let mut engine = Sniffer {
            config: cfg.clone(),
            source,
            deadline: deadline.clone(),
            monitor_stop: Arc::new((Mutex::new(false), Condvar::new())),
            ingest: ingest.clone(),
            receiver,
            stop_feeds: Arc::new(AtomicBool::new(false)),
            feeds_running: Arc::new(AtomicUsize::new(0)),
            feed_threads: Vec::new(),
            engine_threads: Vec::new(),
            report: None,
        };

        let send_policy = SendPolicy {
            block_on_full: cfg.drop_policy == DropPolicy::Block,
            max_retries: cfg.send_max_retries,
            retry_delay: cfg.send_retry_delay,
        };
        let sender = |lane| {
            let marks = LaneMarks {
                name: match lane {
                    Priority::High => "high_lane",
                    Priority::Low => "low_lane",
                },
                marks: Marks::new(),
                levels,
            };
            LaneSender::new(
                lane,
                output.clone(),
                metrics.clone(),
                deadline.clone(),
                send_policy,
                marks,
                lane_capacity,
            )
        };
        let dispatch = match cfg.batch_send_mode {
            BatchSendMode::Sync => {
                Dispatch::Sync(Box::new([sender(Priority::High), sender(Priority::Low)]))
            }
            BatchSendMode::Async => {
                // A few batches of slack per lane; spare vectors come back for reuse.
                let (recycle_tx, recycle_rx) = crossbeam_channel::bounded(8);
                let mut handoff = Vec::new();
                for lane in Priority::ALL {
                    let (tx, rx) = crossbeam_channel::bounded(4);
                    handoff.push(tx);
                    let lane_sender = sender(lane);
                    let recycle = recycle_tx.clone();
                    let wait = cfg.wait_strategy;
                    let name = format!("sniffer-lane-{}", lane_name(lane));
                    let core = cores.next_core();
                    if let Err(e) = engine.spawn_engine_thread(name, core, move || {
                        run_lane_worker(lane_sender, rx, recycle, wait)
                    }) {
                        engine.shutdown_inner(Duration::from_millis(100));
                        return Err(e);
                    }
                }
                let [high, low]: [_; 2] = handoff.try_into().expect("two lanes");
                Dispatch::Async {
                    handoff: [high, low],
                    recycle: recycle_rx,
                }
            }
        };
        let batcher = Batcher {
            ring: ring.clone(),
            metrics: metrics.clone(),
            deadline: deadline.clone(),
            gate: gate.clone(),
            stale,
            policy: BatchPolicy {
                batch_size: cfg.batch_size,
                batch_timeout: cfg.batch_timeout,
                flush_on_idle: cfg.flush_on_idle,
            },
            dispatch,
        };
        let core = cores.next_core();
        if let Err(e) =
            engine.spawn_engine_thread("sniffer-batcher".into(), core, move || batcher.run())
        {
            engine.shutdown_inner(Duration::from_millis(100));
            return Err(e);
        }

        let monitor = Monitor {
            source: engine.source.clone(),
            health_interval: cfg.health_interval,
            stop: engine.monitor_stop.clone(),
        };
        // Not pinned: it wakes a few times a second and must not take a hot thread's core.
        if let Err(e) =
            engine.spawn_engine_thread("sniffer-monitor".into(), None, move || monitor.run())
        {
            engine.shutdown_inner(Duration::from_millis(100));
            return Err(e);
        }

        // First sighting wins across feeds, and within one feed too: two subscriptions on one
        // connection (logs and transactions) carry the same launch twice.
        let dedup = self
            .dedup
            .unwrap_or(!self.feeds.is_empty())
            .then(|| Arc::new(DedupTable::default()));
        let feed_metrics: Box<[Arc<FeedMetrics>]> = self
            .feeds
            .iter()
            .map(|f| Arc::new(FeedMetrics::named(f.name(), f.can_wait())))
            .collect();
        let _ = metrics.feeds.set(feed_metrics.clone());
        let live_wait = (cfg.drop_policy == DropPolicy::Block).then_some(cfg.live_block_timeout);
        for (i, mut feed) in self.feeds.into_iter().enumerate() {
            let feed_id = i as u16;
            let handle = ingest.clone();
            let dedup = dedup.clone();
            let stop = engine.stop_feeds.clone();
            let running = engine.feeds_running.clone();
            let wait = cfg.wait_strategy;
            let name = format!("sniffer-feed-{}", feed.name());
            let core = cores.next_core();
            let stats = FeedStats(feed_metrics[i].clone());
            running.fetch_add(1, Ordering::AcqRel);
            let thread_name = name.clone();
            let spawned = thread::Builder::new().name(name.clone()).spawn(move || {
                pin_current(core, &thread_name);
                let sink =
                    FeedSink::new(&handle, feed_id, &stop, stats).with_dedup(dedup.as_deref());
                let sink = match (feed.can_wait(), live_wait) {
                    (false, Some(t)) => sink.live(t),
                    _ => sink,
                };
                run_feed(feed.as_mut(), sink, &handle, &stop, wait);
                running.fetch_sub(1, Ordering::AcqRel);
            });
            match spawned {
                Ok(h) => engine.feed_threads.push(h),
                Err(source) => {
                    engine.feeds_running.fetch_sub(1, Ordering::AcqRel);
                    engine.shutdown_inner(Duration::from_millis(100));
                    return Err(BuildError::Spawn {
                        thread: name,
                        source,
                    });
                }
            }
        }
        Ok(engine)
    }
}

/// The monitor thread: reports the ring's level to the gate on a short tick (so a pause still
/// resumes, and the paused-too-long alert still fires, when no feed or batcher is observing), and
/// emits the health line every `health_interval` through `tracing` at info.
struct Monitor {
    source: MetricsSource,
    health_interval: Duration,
    stop: Arc<(Mutex<bool>, Condvar)>,
}

impl Monitor {
    const TICK: Duration = Duration::from_millis(20);

    fn run(self) {
        let (lock, cv) = &*self.stop;
        let mut prev = self.snapshot();
        let mut next_health = Instant::now() + self.health_interval;
        let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
        while !*stopped {
            stopped = cv
                .wait_timeout(stopped, Self::TICK)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            if *stopped {
                break;
            }
            let src = &self.source;
            src.gate
                .observe(src.ring.len(), monotonic_ns(), &src.metrics.gate);
            if Instant::now() >= next_health {
                let cur = self.snapshot();
                tracing::info!("{}", health_line(&prev, &cur));
                prev = cur;
                next_health += self.health_interval;
            }
        }
    }

    fn snapshot(&self) -> MetricsSnapshot {
        self.source.snapshot_waiting(Duration::from_millis(1))
    }
}

fn lane_name(lane: Priority) -> &'static str {
    match lane {
        Priority::High => "high",
        Priority::Low => "low",
    }
}

/// A pull feed's thread: poll until finished or told to stop, idling with short sleeps. Before
/// each poll it reports the ring's level to the gate; while the gate is paused a feed that can
/// wait does not poll (it simply stops reading, so nothing is lost) and waits for the resume. A
/// live feed is never paused: it keeps reading its socket and the drop policy decides.
fn run_feed(
    feed: &mut dyn Feed,
    mut sink: FeedSink<'_>,
    handle: &IngestHandle,
    stop: &AtomicBool,
    wait: WaitStrategy,
) {
    let gate = handle.gate();
    let pausable = feed.can_wait();
    while !stop.load(Ordering::Acquire) {
        gate.observe(handle.ring().len(), monotonic_ns(), &handle.metrics().gate);
        if pausable && gate.is_paused() {
            // Re-check the level now and then: the resume may come from this thread.
            gate.wait_resumed(
                || stop.load(Ordering::Acquire),
                Instant::now() + Duration::from_millis(10),
            );
            continue;
        }
        match feed.poll(&mut sink) {
            FeedPoll::Ready => {}
            FeedPoll::Idle => match wait {
                WaitStrategy::Spin => std::hint::spin_loop(),
                WaitStrategy::Yield => thread::yield_now(),
                WaitStrategy::Backoff | WaitStrategy::Park => {
                    thread::sleep(Duration::from_micros(100))
                }
            },
            FeedPoll::Finished => break,
        }
    }
}

/// The running engine. Dropping it shuts it down with `graceful_shutdown_timeout` and joins every
/// thread it started.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sniffer::{PremintCandidate, Priority, Sniffer, SnifferConfig};
///
/// let mut engine = Sniffer::builder().config(SnifferConfig::default()).build()?;
/// let rx = engine.take_receiver().unwrap();
/// let bot = engine.ingest_handle();
/// bot.ingest(PremintCandidate { priority: Priority::Low, ..Default::default() })?;
/// bot.ingest(PremintCandidate { priority: Priority::High, ..Default::default() })?;
/// let report = engine.shutdown(Duration::from_secs(5));
/// assert_eq!(report.delivered(), 2);
/// assert_eq!(rx.try_iter().count(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Sniffer {
    config: SnifferConfig,
    /// The ring, the metrics, the gate and the output, shared with the monitor thread.
    source: MetricsSource,
    deadline: Arc<Deadline>,
    monitor_stop: Arc<(Mutex<bool>, Condvar)>,
    ingest: IngestHandle,
    receiver: Option<CandidateReceiver>,
    stop_feeds: Arc<AtomicBool>,
    feeds_running: Arc<AtomicUsize>,
    feed_threads: Vec<JoinHandle<()>>,
    engine_threads: Vec<JoinHandle<()>>,
    report: Option<ShutdownReport>,
}

impl fmt::Debug for Sniffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sniffer")
            .field("ring", &self.source.ring)
            .field(
                "threads",
                &(self.feed_threads.len() + self.engine_threads.len()),
            )
            .finish_non_exhaustive()
    }
}

impl Sniffer {
    /// A builder with the default configuration.
    pub fn builder() -> SnifferBuilder {
        SnifferBuilder {
            config: SnifferConfig::default(),
            handler: None,
            feeds: Vec::new(),
            dedup: None,
        }
    }

    /// A handle for pushing candidates from the bot's own threads.
    pub fn ingest_handle(&self) -> IngestHandle {
        self.ingest.clone()
    }

    /// The receiver of delivered candidates; `None` after the first call or when a handler was
    /// set.
    pub fn take_receiver(&mut self) -> Option<CandidateReceiver> {
        self.receiver.take()
    }

    /// The configuration the engine runs with.
    pub fn config(&self) -> &SnifferConfig {
        &self.config
    }

    /// Reads every metric now (exact after shutdown; see [`MetricsSnapshot`]).
    pub fn snapshot(&self) -> MetricsSnapshot {
        self.source.snapshot()
    }

    /// A cloneable handle for taking snapshots and health verdicts from other threads.
    pub fn metrics_source(&self) -> MetricsSource {
        self.source.clone()
    }

    /// A copy of the detection-to-delivery latency histogram (ns), for percentile files and plots.
    pub fn latency_histogram(&self) -> LatencyHistogram {
        self.source
            .metrics
            .latency_histogram(Duration::from_millis(2))
    }

    /// Candidates in the stream ring now (a cheap read, no snapshot).
    pub fn ring_len(&self) -> usize {
        self.source.ring.len()
    }

    /// True once every pull feed has finished (or there were none).
    pub fn feeds_finished(&self) -> bool {
        self.feeds_running.load(Ordering::Acquire) == 0
    }

    /// Waits until every pull feed has finished, at most `timeout`; returns whether they did.
    pub fn wait_feeds(&self, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        while !self.feeds_finished() {
            if Instant::now() >= until {
                return false;
            }
            thread::sleep(Duration::from_millis(1));
        }
        true
    }

    /// Stops the feeds, drains the ring, the open batch and the lane workers for at most
    /// `timeout`, joins every thread and reports what was delivered and what was abandoned.
    ///
    /// Candidates already in the output lanes stay there for the receiver. A handler call in
    /// progress at the deadline is waited for (it cannot be interrupted).
    pub fn shutdown(mut self, timeout: Duration) -> ShutdownReport {
        self.shutdown_inner(timeout)
    }

    fn shutdown_inner(&mut self, timeout: Duration) -> ShutdownReport {
        if let Some(report) = &self.report {
            return report.clone();
        }
        let started = Instant::now();
        let timeout_ns = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        self.deadline.set(monotonic_ns().saturating_add(timeout_ns));
        self.stop_feeds.store(true, Ordering::Release);
        self.source.gate.wake_all();
        self.source.ring.close();
        {
            let (lock, cv) = &*self.monitor_stop;
            *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
            cv.notify_all();
        }
        for h in self
            .feed_threads
            .drain(..)
            .chain(self.engine_threads.drain(..))
        {
            let name = h.thread().name().unwrap_or("?").to_string();
            if h.join().is_err() {
                tracing::error!(thread = %name, "engine thread panicked");
            }
        }
        self.source.output.close();
        // Every producer has left the gate and every engine thread is joined: counts are final.
        while !self.source.ring.producers_idle() {
            thread::yield_now();
        }
        let metrics = self.source.snapshot_waiting(Duration::from_millis(100));
        let lane = |p: Priority| {
            let m = &self.source.metrics.lanes[p.lane()];
            LaneReport {
                delivered: m.sent.get(),
                abandoned: m.dropped_shutdown.get()
                    + self.source.metrics.batch.abandoned[p.lane()].get(),
                failed: m.failures.get(),
                left_in_lane: self.source.output.lane_depths()[p.lane()] as u64,
            }
        };
        let report = ShutdownReport {
            elapsed: started.elapsed(),
            timeout,
            high: lane(Priority::High),
            low: lane(Priority::Low),
            rejected_at_close: self.source.metrics.ingest.dropped_shutdown.get(),
            metrics,
            latency: self
                .source
                .metrics
                .latency_histogram(Duration::from_millis(100)),
        };
        self.report = Some(report.clone());
        report
    }

    fn spawn_engine_thread(
        &mut self,
        name: String,
        core: Option<usize>,
        f: impl FnOnce() + Send + 'static,
    ) -> Result<(), BuildError> {
        let thread_name = name.clone();
        let handle = thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                pin_current(core, &thread_name);
                f();
            })
            .map_err(|source| BuildError::Spawn {
                thread: name,
                source,
            })?;
        self.engine_threads.push(handle);
        Ok(())
    }
}

impl Drop for Sniffer {
    fn drop(&mut self) {
        if self.report.is_none() {
            self.shutdown_inner(self.config.graceful_shutdown_timeout);
        }
    }
}

/// One output lane's outcome at shutdown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct LaneReport {
    /// Candidates delivered on this lane over the engine's life.
    pub delivered: u64,
    /// Candidates of this lane abandoned at the shutdown deadline.
    pub abandoned: u64,
    /// Candidates of this lane whose delivery failed after the retries.
    pub failed: u64,
    /// Delivered candidates still waiting in the lane for the receiver.
    pub left_in_lane: u64,
}

/// What [`Sniffer::shutdown`] did.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ShutdownReport {
    /// How long the shutdown took.
    pub elapsed: Duration,
    /// The time budget it was given.
    pub timeout: Duration,
    /// The High lane.
    pub high: LaneReport,
    /// The Low lane.
    pub low: LaneReport,
    /// Candidates a pull feed produced after the ring had closed (counted in `dropped_shutdown`).
    pub rejected_at_close: u64,
    /// The final metrics; the accounting invariant holds with `in_flight == 0`.
    pub metrics: MetricsSnapshot,
    /// The final detection-to-delivery latency histogram (ns).
    #[serde(skip)]
    pub latency: LatencyHistogram,
}

impl ShutdownReport {
    /// Candidates delivered on both lanes.
    pub fn delivered(&self) -> u64 {
        self.high.delivered + self.low.delivered
    }

    /// Candidates abandoned at the deadline on both lanes.
    pub fn abandoned(&self) -> u64 {
        self.high.abandoned + self.low.abandoned
    }

    /// True when nothing was abandoned: the drain finished within the timeout.
    pub fn drained(&self) -> bool {
        self.abandoned() == 0 && self.rejected_at_close == 0
    }
}
