//! [`Sniffer`]: the engine's builder, thread lifecycle and graceful shutdown.
//!
//! `build()` validates the configuration, builds the stages from it (`Stages`: the stream ring
//! or, in direct mode, only the bot's lanes; the gate and what it watches; metrics), plans a core
//! for every thread from the list captured once at start-up, then starts named threads that pin
//! themselves first thing: the batcher and, in async mode, one worker per lane (none in direct
//! mode), the monitor, and one thread per pull feed. Every thread starts through one helper; if
//! one cannot start, the start guard shuts down and joins whatever already did.
//!
//! `shutdown(timeout)` stops the feeds, closes the ring (releasing producers blocked under
//! `block`), lets the batcher and the workers drain until the deadline, closes the lanes, joins
//! every thread and returns a [`ShutdownReport`] whose counts add up to the accounting invariant.

mod source;

use source::Attached;
pub use source::{Health, HealthStatus, MetricsSource};

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::backpressure::{Gate, LevelFn, Levels as GateLevels, Watch};
use crate::batch::{
    run_lane_worker, BatchPolicy, BatchSendMode, Batcher, Deadline, Dispatch, LaneSender,
    SendPolicy,
};
use crate::candidate::{monotonic_ns, PremintCandidate, Priority};
use crate::config::SnifferConfig;
use crate::error::{BuildError, ConfigError};
use crate::feed::{Feed, FeedPoll, FeedSink};
use crate::ingest::{DedupTable, IngestHandle, IngestParts, Target};
use crate::meta::MetaTable;
use crate::metrics::{
    health_line, Delivery, FeedStats, LatencyHistogram, Metrics, MetricsSnapshot,
};
use crate::output::{CandidateReceiver, Handler, Inline, Lanes, Output, ReceiverParts};
use crate::pinning::{pin_current, CorePlan};
#[cfg(feature = "nats")]
use crate::publish::PublishStats;
use crate::ring::{DropPolicy, StreamRing};
#[cfg(feature = "sqlite")]
use crate::sink::SinkStats;
use crate::stale::StaleBound;
use crate::wait::WaitStrategy;

/// Builds a [`Sniffer`]; nothing starts until [`SnifferBuilder::build`] has validated everything.
#[must_use]
pub struct SnifferBuilder {
    config: SnifferConfig,
    handler: Option<Handler>,
    /// The inline handler (`inline_handler`): called on the ingesting thread.
    inline: Option<Handler>,
    feeds: Vec<Box<dyn Feed>>,
    /// Multi-feed dedup: `None` = on when there are two feeds or more.
    dedup: Option<bool>,
    /// The outputs' counters (aggregates sink, publisher), joined to this engine's snapshots.
    attached: Attached,
    /// Queues outside the engine whose level the gate watches beside the ring and the lanes.
    watched: Vec<(&'static str, LevelFn)>,
}

impl fmt::Debug for SnifferBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnifferBuilder")
            .field("config", &self.config)
            .field("handler", &self.handler.is_some())
            .field("inline", &self.inline.is_some())
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

    /// Busy-polls for a dedicated core (the `busy_poll` key): the feed threads never sleep (a
    /// WebSocket feed reads its socket without waiting in the kernel, a gRPC or ShredStream
    /// feed polls its stream without waiting on its runtime) and the receiver spins
    /// instead of parking (yielding the core between polls, never sleeping). Each feed thread and
    /// the bot then keep a core busy all the time.
    pub fn busy_poll(mut self, on: bool) -> Self {
        self.config.busy_poll = on;
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
    /// and direct mode, the lane's worker in async mode) instead of through a
    /// [`CandidateReceiver`]. A panicking handler call counts its candidate in `send_failures`.
    pub fn handler<F>(mut self, handler: F) -> Self
    where
        F: Fn(&PremintCandidate) + Send + Sync + 'static,
    {
        self.handler = Some(Arc::new(handler));
        self
    }

    /// Delivers every candidate by calling `handler` on the thread that ingests it, with nothing
    /// in between: no ring, no lane, no batcher, no wake-up of another thread. This is the
    /// lowest-latency way to get launches.
    ///
    /// - A pull feed calls it on its own thread (`sniffer-feed-<name>`), right after decoding the
    ///   message, the multi-feed dedupe (each launch is delivered once, by the feed that saw it
    ///   first) and the stale check; [`IngestHandle::try_ingest`] and [`IngestHandle::ingest`]
    ///   call it on the caller's thread before they return.
    /// - With several feeds it runs on several threads at once: it must be `Fn + Send + Sync`,
    ///   and whatever it shares needs its own synchronisation.
    /// - While it runs, its feed does not read its socket: keep it short, and hand heavy work
    ///   (RPC calls, signing, disk) to a thread of the bot's own.
    /// - A call that returns counts its candidate in `candidates_sent`; a call that panics is
    ///   caught and counted in `send_failures`, and the feed carries on.
    ///
    /// There is no receiver ([`Sniffer::take_receiver`] returns `None`), no output lane and no
    /// detection-to-delivery histogram (delivery is the detection instant); the snapshot's
    /// `delivery` is `inline`. With [`SnifferBuilder::busy_poll`] only the feed threads spin.
    ///
    /// # Errors
    ///
    /// [`SnifferBuilder::build`] refuses it next to [`SnifferBuilder::handler`], or with a
    /// `batch_send_mode` other than `direct` (inline delivery has no batcher).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use sniffer::{PremintCandidate, Sniffer};
    ///
    /// let slots = Arc::new(AtomicU64::new(0));
    /// let seen = slots.clone();
    /// let mut engine = Sniffer::builder()
    ///     .inline_handler(move |c: &PremintCandidate| {
    ///         seen.fetch_add(c.slot, Ordering::Relaxed);
    ///     })
    ///     .build()?;
    /// assert!(engine.take_receiver().is_none());
    /// engine.ingest_handle().try_ingest(PremintCandidate { slot: 7, ..Default::default() })?;
    /// // Delivered before `try_ingest` returned, on this thread.
    /// assert_eq!(slots.load(Ordering::Relaxed), 7);
    /// let m = engine.shutdown(Duration::from_secs(1)).metrics;
    /// assert_eq!((m.candidates_sent, m.in_flight), (1, 0));
    /// assert_eq!(m.delivery, sniffer::metrics::Delivery::Inline);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn inline_handler<F>(mut self, handler: F) -> Self
    where
        F: Fn(&PremintCandidate) + Send + Sync + 'static,
    {
        self.inline = Some(Arc::new(handler));
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

    /// Joins an aggregates sink's metrics to this engine's: its snapshot carries them (`sink`),
    /// Prometheus exports them and `/health` degrades when the sink's input is filling or its
    /// flushes are failing. The handle holds no part of the sink.
    #[cfg(feature = "sqlite")]
    pub fn aggregates(mut self, stats: SinkStats) -> Self {
        self.attached.replace_sink(stats);
        self
    }

    /// Joins a NATS publisher's counters to this engine's: its snapshot carries them
    /// (`published`, `publish_dropped`, ...) and Prometheus exports them. The handle holds no part
    /// of the publisher; [`MetricsSource::attach_publisher`] does the same after the build.
    #[cfg(feature = "nats")]
    pub fn publisher(mut self, stats: PublishStats) -> Self {
        self.attached.replace_publisher(stats);
        self
    }

    /// Watches a queue outside the engine with the same watermarks and pause/resume gate as the
    /// ring and the lanes: `level()` returns `(depth, capacity)`; while it stands at or above
    /// `pause_pct` the pull feeds pause, and they resume once every watched level is below
    /// `resume_pct`. Live feeds are never paused (they shed at the full queue and count it).
    /// The history writer's queue is watched this way (`--history`), as the seeds' bridge
    /// paused its subscribers while ClickHouse fell behind.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// let depth = Arc::new(AtomicUsize::new(0));
    /// let d = depth.clone();
    /// let engine = sniffer::Sniffer::builder()
    ///     .watch_queue("outbox", move || (d.load(Ordering::Relaxed), 100))
    ///     .build()?;
    /// # engine.shutdown(std::time::Duration::from_secs(1));
    /// # Ok::<(), sniffer::BuildError>(())
    /// ```
    pub fn watch_queue(
        mut self,
        name: &'static str,
        level: impl Fn() -> (usize, usize) + Send + Sync + 'static,
    ) -> Self {
        self.watched.push((name, Box::new(level)));
        self
    }

    /// Turns first-sighting dedup of the pull feeds' decoded launches on or off (default: on),
    /// across feeds and within one feed. Decoded launches ([`FeedSink::push_decoded`]) are
    /// deduplicated by mint and signature; the snapshot lists each feed's wins, duplicates, win
    /// share and lead time.
    pub fn dedup(mut self, on: bool) -> Self {
        self.dedup = Some(on);
        self
    }

    /// Validates the configuration and starts the engine.
    ///
    /// # Errors
    ///
    /// [`BuildError::Config`] before any thread starts (also for an inline handler next to a
    /// handler, or outside direct mode); [`BuildError::Spawn`] if the system refuses a thread,
    /// after the threads already started were shut down and joined.
    pub fn build(self) -> Result<Sniffer, BuildError> {
        let cfg = self.config;
        cfg.validate()?;
        let deliver = Deliver::choose(self.handler, self.inline, &cfg)?;
        if self.feeds.len() > usize::from(u16::MAX) {
            return Err(ConfigError::Invalid {
                key: "feeds",
                value: self.feeds.len().to_string(),
                reason: "at most 65535 feeds".into(),
            }
            .into());
        }
        let stages = Stages::new(&cfg, &deliver, self.watched);
        // First sighting wins across feeds, and within one feed too: two subscriptions on one
        // connection (logs and transactions) carry the same launch twice.
        let dedup = self
            .dedup
            .unwrap_or(!self.feeds.is_empty())
            .then(|| Arc::new(DedupTable::default()));
        let feed_stats: Arc<[FeedStats]> = self
            .feeds
            .iter()
            .map(|f| FeedStats::named(f.name(), f.can_wait()))
            .collect();
        let _ = stages.metrics.feeds.set(feed_stats.clone());
        let workers = match stages.mode {
            BatchSendMode::Direct => 0,
            BatchSendMode::Sync => 1,
            BatchSendMode::Async => 3,
        };
        let mut cores = CorePlan::new(cfg.pin_threads, &cfg.core_ids, workers + self.feeds.len());
        let mut starting = Starting(Some(Sniffer::assemble(cfg, &stages, self.attached)));
        let engine = starting.engine();
        let output = match (deliver, &stages.lanes) {
            (Deliver::Handler(h), _) => Some(Output::Handler(h, stages.metrics.output.clone())),
            (_, Some(lanes)) => Some(Output::Lanes(lanes.clone())),
            // Inline: the ingesting threads deliver; there is no sender.
            (_, None) => None,
        };
        engine.start_senders(&stages, output, &mut cores)?;
        engine.start_monitor()?;
        for (i, feed) in self.feeds.into_iter().enumerate() {
            let race = FeedRace {
                dedup: dedup.clone(),
                feeds: feed_stats.clone(),
            };
            engine.start_feed(feed, i as u16, race, cores.next_core())?;
        }
        Ok(starting.finish())
    }
}

/// How the builder was told to deliver.
enum Deliver {
    Receiver,
    Handler(Handler),
    Inline(Handler),
}

impl Deliver {
    /// The delivery the builder's options ask for; an inline handler next to a handler, or
    /// outside direct mode, is refused.
    fn choose(
        handler: Option<Handler>,
        inline: Option<Handler>,
        cfg: &SnifferConfig,
    ) -> Result<Deliver, ConfigError> {
        let refuse = |value: &str, reason: &str| ConfigError::Invalid {
            key: "inline_handler",
            value: value.into(),
            reason: reason.into(),
        };
        match (handler, inline) {
            (None, None) => Ok(Deliver::Receiver),
            (Some(h), None) => Ok(Deliver::Handler(h)),
            (Some(_), Some(_)) => Err(refuse(
                "set next to handler",
                "choose one: `inline_handler` (called on the feed threads) or `handler` \
                 (called on the batcher thread)",
            )),
            (None, Some(_)) if cfg.batch_send_mode != BatchSendMode::Direct => Err(refuse(
                &format!("set with batch_send_mode {:?}", cfg.batch_send_mode),
                "inline delivery has no batcher: use batch_send_mode = \"direct\"",
            )),
            (None, Some(h)) => Ok(Deliver::Inline(h)),
        }
    }

    fn delivery(&self) -> Delivery {
        match self {
            Deliver::Receiver => Delivery::Receiver,
            Deliver::Handler(_) => Delivery::Handler,
            Deliver::Inline(_) => Delivery::Inline,
        }
    }
}

/// What a feed's sink needs for the first-sighting race: the shared dedup table (`None` when dedup
/// is off) and every feed's stats, by feed id (a late copy records the winner's lead).
struct FeedRace {
    dedup: Option<Arc<DedupTable>>,
    feeds: Arc<[FeedStats]>,
}

/// The stages built from a configuration, before any thread starts.
struct Stages {
    mode: BatchSendMode,
    metrics: Arc<Metrics>,
    /// The stream ring (`None` in direct mode).
    ring: Option<Arc<StreamRing>>,
    /// The bot's lanes (`None` with a handler or an inline handler).
    lanes: Option<Arc<Lanes>>,
    /// The inline handler's gates (inline delivery only).
    inline: Option<Arc<Inline>>,
    delivery: Delivery,
    gate: Arc<Gate>,
    watch: Arc<Watch>,
    stale: Arc<StaleBound>,
    meta: Arc<MetaTable>,
    deadline: Arc<Deadline>,
}

impl Stages {
    fn new(cfg: &SnifferConfig, deliver: &Deliver, watched: Vec<(&'static str, LevelFn)>) -> Self {
        // A handler needs a thread to run on: direct mode becomes sync. An inline handler runs
        // on the ingesting threads (direct mode, checked by `Deliver::choose`).
        let mode = match (cfg.batch_send_mode, deliver) {
            (BatchSendMode::Direct, Deliver::Handler(_)) => BatchSendMode::Sync,
            (m, _) => m,
        };
        let metrics = Arc::new(Metrics::default());
        let inline = match deliver {
            Deliver::Inline(h) => Some(Arc::new(Inline::new(h.clone(), metrics.output.clone()))),
            _ => None,
        };
        let levels = GateLevels {
            warn_pct: cfg.watermark_warn_pct,
            critical_pct: cfg.watermark_critical_pct,
            pause_pct: cfg.pause_pct,
            resume_pct: cfg.resume_pct,
        };
        let gate = Arc::new(Gate::new(
            levels,
            cfg.paused_alert_after,
            cfg.paused_alert_interval,
            metrics.gate.clone(),
        ));
        let ring = (mode != BatchSendMode::Direct).then(|| {
            Arc::new(
                StreamRing::new(cfg.stream_buffer_capacity, cfg.drop_policy)
                    .with_wait_strategy(cfg.wait_strategy)
                    .with_block_timeout(cfg.block_timeout),
            )
        });
        // In direct mode the lanes are the stream buffer: one ring of `stream_buffer_capacity`
        // per priority.
        let lane_capacity = match mode {
            BatchSendMode::Direct => cfg.stream_buffer_capacity,
            _ => cfg.output_lane_capacity,
        };
        let lanes = matches!(deliver, Deliver::Receiver).then(|| {
            Arc::new(Lanes::new(
                lane_capacity,
                cfg.drop_policy,
                cfg.wait_strategy,
                cfg.block_timeout,
                metrics.output.clone(),
                mode == BatchSendMode::Direct,
            ))
        });
        let mut watch = Watch::new(gate.clone());
        if let Some(r) = &ring {
            let r = r.clone();
            watch = watch.queue("stream_ring", Box::new(move || (r.len(), r.capacity())));
        }
        if let Some(l) = &lanes {
            for (name, p) in [("high_lane", Priority::High), ("low_lane", Priority::Low)] {
                let l = l.clone();
                watch = watch.queue(name, Box::new(move || (l.depths()[p.lane()], l.capacity())));
            }
        }
        for (name, level) in watched {
            watch = watch.queue(name, level);
        }
        Stages {
            mode,
            metrics,
            ring,
            lanes,
            inline,
            delivery: deliver.delivery(),
            gate,
            watch: Arc::new(watch),
            stale: Arc::new(StaleBound::new(cfg.max_age, cfg.max_slot_lag)),
            meta: Arc::new(MetaTable::default()),
            deadline: Arc::new(Deadline::default()),
        }
    }

    fn ingest(&self, cfg: &SnifferConfig) -> IngestHandle {
        let target = match (&self.ring, &self.lanes, &self.inline) {
            (Some(r), _, _) => Target::Ring(r.clone()),
            (None, Some(l), _) => Target::Lanes(l.clone()),
            (None, None, Some(i)) => Target::Inline(i.clone()),
            (None, None, None) => unreachable!("direct mode has lanes or an inline handler"),
        };
        IngestHandle::new(IngestParts {
            target,
            policy: cfg.drop_policy,
            block_timeout: cfg.block_timeout,
            counters: self.metrics.ingest.clone(),
            gate: self.gate.clone(),
            stale: self.stale.clone(),
            meta: self.meta.clone(),
        })
    }
}

/// Shuts down and joins whatever started if the build fails part-way (dropped without
/// `finish`).
struct Starting(Option<Sniffer>);

impl Starting {
    fn engine(&mut self) -> &mut Sniffer {
        self.0.as_mut().expect("taken only by finish")
    }

    fn finish(mut self) -> Sniffer {
        self.0.take().expect("finished once")
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        if let Some(mut engine) = self.0.take() {
            engine.shutdown_inner(Duration::from_millis(100));
        }
    }
}

/// The monitor thread: reports the ring's level to the gate on a short tick (so a pause still
/// resumes, and the paused-too-long alert still fires, when no feed or batcher is observing), and
/// emits the health line every `health_interval` through `tracing` at info.
struct Monitor {
    source: MetricsSource,
    watch: Arc<Watch>,
    health_interval: Duration,
    stop: Arc<(Mutex<bool>, Condvar)>,
}

impl Monitor {
    const TICK: Duration = Duration::from_millis(20);

    fn run(self) {
        let (lock, cv) = &*self.stop;
        let mut prev = self.snapshot();
        let mut schedule = HealthSchedule::new(monotonic_ns(), self.health_interval);
        let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
        while !*stopped {
            stopped = cv
                .wait_timeout(stopped, Self::TICK)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            if *stopped {
                break;
            }
            let now = monotonic_ns();
            self.watch.observe(now);
            if schedule.due(now) {
                let cur = self.snapshot();
                tracing::info!("{}", health_line(&prev, &cur));
                prev = cur;
            }
        }
    }

    fn snapshot(&self) -> MetricsSnapshot {
        self.source.snapshot()
    }
}

/// When the health line is due: every `interval` from the start, at most once per check, and a
/// monitor held up for several intervals (a suspended process, a starved core) writes one line
/// and starts counting again from then, instead of writing a burst of stale lines.
#[derive(Debug)]
struct HealthSchedule {
    next_ns: u64,
    interval_ns: u64,
}

impl HealthSchedule {
    fn new(start_ns: u64, interval: Duration) -> Self {
        let interval_ns = u64::try_from(interval.as_nanos())
            .unwrap_or(u64::MAX)
            .max(1);
        HealthSchedule {
            next_ns: start_ns.saturating_add(interval_ns),
            interval_ns,
        }
    }

    fn due(&mut self, now_ns: u64) -> bool {
        if now_ns < self.next_ns {
            return false;
        }
        let next = self.next_ns.saturating_add(self.interval_ns);
        self.next_ns = if now_ns >= next {
            now_ns.saturating_add(self.interval_ns)
        } else {
            next
        };
        true
    }
}

fn lane_name(lane: Priority) -> &'static str {
    match lane {
        Priority::High => "high",
        Priority::Low => "low",
    }
}

/// A pull feed's thread: poll until finished or told to stop, idling with short sleeps. Before
/// each poll it reports the levels to the gate; while the gate is paused a feed that can wait
/// does not poll (it simply stops reading, so nothing is lost; `poll_paused` keeps a broker
/// session alive) and waits for the resume. A live feed is never paused: it keeps reading its
/// socket and the drop policy decides.
fn run_feed(
    feed: &mut dyn Feed,
    mut sink: FeedSink<'_>,
    handle: &IngestHandle,
    watch: &Watch,
    stop: &AtomicBool,
    wait: WaitStrategy,
) {
    let gate = handle.gate();
    let pausable = feed.can_wait();
    // While it runs, a pull feed is what a pause holds back (see `Gate::hold`).
    let _held = pausable.then(|| gate.hold());
    while !stop.load(Ordering::Acquire) {
        watch.observe(monotonic_ns());
        if pausable && gate.is_paused() {
            feed.poll_paused(&mut sink);
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
    /// The metrics and the queues' levels, shared with the monitor thread.
    source: MetricsSource,
    watch: Arc<Watch>,
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
            .field("source", &self.source)
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
            inline: None,
            feeds: Vec::new(),
            dedup: None,
            attached: Attached::default(),
            watched: Vec::new(),
        }
    }

    /// The engine around its stages, with no thread started yet.
    fn assemble(config: SnifferConfig, st: &Stages, attached: Attached) -> Sniffer {
        let receiver = st.lanes.as_ref().map(|lanes| {
            CandidateReceiver::new(ReceiverParts {
                lanes: lanes.clone(),
                counters: st.metrics.receiver.clone(),
                latency: st.metrics.latency.recorder(),
                stale: st.stale.clone(),
                meta: st.meta.clone(),
                wait: config.idle_wait(),
                low_share_pct: config.low_share_pct,
            })
        });
        Sniffer {
            source: MetricsSource {
                metrics: st.metrics.clone(),
                ring: st.ring.clone(),
                lanes: st.lanes.clone(),
                inline: st.inline.as_ref().map(|i| i.gates()),
                delivery: st.delivery,
                gate: st.gate.clone(),
                warn_pct: config.watermark_warn_pct,
                attached: Arc::new(attached),
            },
            watch: st.watch.clone(),
            deadline: st.deadline.clone(),
            monitor_stop: Arc::new((Mutex::new(false), Condvar::new())),
            ingest: st.ingest(&config),
            receiver,
            stop_feeds: Arc::new(AtomicBool::new(false)),
            feeds_running: Arc::new(AtomicUsize::new(0)),
            feed_threads: Vec::new(),
            engine_threads: Vec::new(),
            report: None,
            config,
        }
    }

    /// The batcher and, in async mode, one worker per lane; nothing in direct mode.
    fn start_senders(
        &mut self,
        st: &Stages,
        output: Option<Output>,
        cores: &mut CorePlan,
    ) -> Result<(), BuildError> {
        let (Some(ring), Some(output)) = (&st.ring, output) else {
            return Ok(());
        };
        let cfg = self.config.clone();
        let policy = SendPolicy {
            drop_policy: cfg.drop_policy,
            max_retries: cfg.send_max_retries,
            retry_delay: cfg.send_retry_delay,
        };
        // A handler delivery is timed by its sender; a lane delivery by the receiver.
        let sender = |lane| {
            let recorder =
                matches!(output, Output::Handler(..)).then(|| st.metrics.latency.recorder());
            LaneSender::new(
                lane,
                output.clone(),
                st.metrics.batch.clone(),
                st.deadline.clone(),
                policy,
                recorder,
            )
        };
        let dispatch = match st.mode {
            BatchSendMode::Async => {
                // A few batches of slack per lane; spare vectors come back for reuse.
                let (recycle_tx, recycle_rx) = crossbeam_channel::bounded(8);
                let mut handoff = Vec::new();
                for lane in Priority::ALL {
                    let (tx, rx) = crossbeam_channel::bounded(4);
                    handoff.push(tx);
                    let (lane_sender, recycle, wait) =
                        (sender(lane), recycle_tx.clone(), cfg.wait_strategy);
                    let name = format!("sniffer-lane-{}", lane_name(lane));
                    self.spawn(name, cores.next_core(), move || {
                        run_lane_worker(lane_sender, rx, recycle, wait)
                    })?;
                }
                let [high, low]: [_; 2] = handoff.try_into().expect("two lanes");
                Dispatch::Async {
                    handoff: [high, low],
                    recycle: recycle_rx,
                }
            }
            _ => Dispatch::Sync(Box::new([sender(Priority::High), sender(Priority::Low)])),
        };
        let batcher = Batcher {
            ring: ring.clone(),
            counters: st.metrics.batch.clone(),
            age: st.metrics.age.recorder(),
            deadline: st.deadline.clone(),
            watch: st.watch.clone(),
            stale: st.stale.clone(),
            policy: BatchPolicy {
                batch_size: cfg.batch_size,
                batch_timeout: cfg.batch_timeout,
                flush_on_idle: cfg.flush_on_idle,
            },
            dispatch,
        };
        self.spawn("sniffer-batcher".into(), cores.next_core(), move || {
            batcher.run()
        })
    }

    /// The monitor. Not pinned: it wakes a few times a second and must not take a hot thread's
    /// core.
    fn start_monitor(&mut self) -> Result<(), BuildError> {
        let monitor = Monitor {
            source: self.source.clone(),
            watch: self.watch.clone(),
            health_interval: self.config.health_interval,
            stop: self.monitor_stop.clone(),
        };
        self.spawn("sniffer-monitor".into(), None, move || monitor.run())
    }

    /// One pull feed's thread.
    fn start_feed(
        &mut self,
        mut feed: Box<dyn Feed>,
        feed_id: u16,
        race: FeedRace,
        core: Option<usize>,
    ) -> Result<(), BuildError> {
        let handle = self.ingest.clone();
        let watch = self.watch.clone();
        let stop = self.stop_feeds.clone();
        let running = self.feeds_running.clone();
        let wait = self.config.idle_wait();
        if self.config.busy_poll {
            feed.set_busy_poll();
        }
        // A live feed under `block` waits at most this long per second in all (see
        // `Feed::can_wait`).
        let live_wait = (self.config.drop_policy == DropPolicy::Block && !feed.can_wait())
            .then_some(self.config.live_block_timeout);
        let name = format!("sniffer-feed-{}", feed.name());
        running.fetch_add(1, Ordering::AcqRel);
        let started = self.spawn(name, core, move || {
            let stats = race.feeds[usize::from(feed_id)].clone();
            let sink = FeedSink::new(&handle, feed_id, &stop, stats)
                .with_dedup(race.dedup.as_deref(), &race.feeds);
            let sink = match live_wait {
                Some(t) => sink.live(t),
                None => sink,
            };
            run_feed(feed.as_mut(), sink, &handle, &watch, &stop, wait);
            running.fetch_sub(1, Ordering::AcqRel);
        });
        match started {
            Ok(()) => {
                // Feeds are stopped and joined before the engine threads.
                let h = self.engine_threads.pop().expect("just spawned");
                self.feed_threads.push(h);
                Ok(())
            }
            Err(e) => {
                self.feeds_running.fetch_sub(1, Ordering::AcqRel);
                Err(e)
            }
        }
    }

    /// Starts a named thread that pins itself to `core` first thing.
    fn spawn(
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

    /// A handle for pushing candidates from the bot's own threads. From now on the backpressure
    /// gate may pause to hold the bot back ([`IngestHandle::try_ingest`] is refused while
    /// paused), even with no pull feed.
    pub fn ingest_handle(&self) -> IngestHandle {
        self.source.gate.hold_bot();
        self.ingest.clone()
    }

    /// The receiver of delivered candidates; `None` after the first call or when a handler or an
    /// inline handler was set.
    pub fn take_receiver(&mut self) -> Option<CandidateReceiver> {
        self.receiver.take()
    }

    /// The configuration the engine runs with.
    pub fn config(&self) -> &SnifferConfig {
        &self.config
    }

    /// How candidates travel in this engine: the configured mode, except that direct mode with
    /// a handler runs as `sync`.
    pub fn send_mode(&self) -> BatchSendMode {
        match (self.config.batch_send_mode, &self.source.ring) {
            (BatchSendMode::Direct, Some(_)) => BatchSendMode::Sync,
            (m, _) => m,
        }
    }

    /// Reads every metric now (exact after shutdown; see [`MetricsSnapshot`]).
    pub fn snapshot(&self) -> MetricsSnapshot {
        self.source.snapshot()
    }

    /// A cloneable handle for taking snapshots and health verdicts from other threads. It keeps
    /// nothing of the pipe alive: the receiver still sees the end of the stream at shutdown.
    pub fn metrics_source(&self) -> MetricsSource {
        self.source.clone()
    }

    /// A copy of the detection-to-delivery latency histogram (ns), for percentile files and plots.
    pub fn latency_histogram(&self) -> LatencyHistogram {
        self.source.metrics.latency_histogram()
    }

    /// Candidates waiting in the stream ring now (in the lanes in direct mode; a cheap read, no
    /// snapshot).
    pub fn ring_len(&self) -> usize {
        self.ingest.ring_len()
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
    /// `timeout`, closes the lanes, joins every thread and reports what was delivered and what
    /// was abandoned.
    ///
    /// Candidates already in the output lanes stay there for the receiver, which returns them
    /// and then reports the end of the stream. A handler call in progress at the deadline is
    /// waited for (it cannot be interrupted).
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
        match &self.source.ring {
            Some(ring) => ring.close(),
            // Direct mode: the lanes are the ring; closing them refuses new pushes and releases
            // producers blocked under `block`. What is in them stays for the receiver.
            None => {
                if let Some(lanes) = &self.source.lanes {
                    lanes.close();
                }
            }
        }
        // Inline: no call starts from now on; a feed's candidate is counted as lost to the
        // shutdown, a bot's is handed back.
        if let Some(inline) = &self.source.inline {
            inline.close();
        }
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
        // Every sender is joined: the lanes get nothing more.
        if let Some(lanes) = &self.source.lanes {
            lanes.close();
        }
        // Every producer has left its gate and every engine thread is joined: counts are final.
        let idle = || {
            self.source.ring.as_ref().is_none_or(|r| r.producers_idle())
                && self
                    .source
                    .lanes
                    .as_ref()
                    .is_none_or(|l| l.producers_idle())
                && self
                    .source
                    .inline
                    .as_ref()
                    .is_none_or(|i| i.producers_idle())
        };
        while !idle() {
            thread::yield_now();
        }
        // One merge of the latency histogram for both the report and its metrics: a receiver
        // still draining records between two merges, and the two would disagree.
        let latency = self.source.metrics.latency_histogram();
        let mut metrics = self.source.snapshot();
        metrics.latency_ns = latency.summary();
        metrics.latency_buckets = latency.buckets();
        let depths = self.source.lanes.as_ref().map_or([0, 0], |l| l.depths());
        let lane = |p: Priority| {
            let batch = &self.source.metrics.batch;
            let m = &batch.lanes[p.lane()];
            LaneReport {
                delivered: match p {
                    Priority::High => metrics.high_sent,
                    Priority::Low => metrics.low_sent,
                },
                abandoned: m.dropped_shutdown.get() + batch.abandoned[p.lane()].get(),
                failed: m.failures.get() + self.source.metrics.output.lanes[p.lane()].failed.get(),
                left_in_lane: depths[p.lane()] as u64,
            }
        };
        let report = ShutdownReport {
            elapsed: started.elapsed(),
            timeout,
            high: lane(Priority::High),
            low: lane(Priority::Low),
            rejected_at_close: self.source.metrics.ingest.dropped_shutdown.get(),
            latency,
            metrics,
        };
        self.report = Some(report.clone());
        report
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
    /// The final detection-to-delivery latency histogram (ns): its quantiles and recorded values.
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

#[cfg(test)]
mod tests {
    use super::HealthSchedule;
    use std::time::Duration;

    #[test]
    fn the_health_line_comes_every_interval_without_bursts() {
        const S: u64 = 1_000_000_000;
        let mut h = HealthSchedule::new(0, Duration::from_secs(1));
        let due: Vec<bool> = [
            S / 2,
            S,
            S + S / 2,
            2 * S,
            2 * S + 1,
            7 * S + S / 3,
            7 * S + S / 2,
            8 * S,
            8 * S + S / 3,
        ]
        .into_iter()
        .map(|t| h.due(t))
        .collect();
        // On time at 1 s and 2 s; held up until 7.33 s: one line, then every second from there.
        assert_eq!(
            due,
            [false, true, false, true, false, true, false, false, true]
        );
    }
}
