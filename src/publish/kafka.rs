//! [`KafkaPublisher`]: every candidate the bot hands it goes to a Kafka topic, off the hot path.
//!
//! The bot's side ([`KafkaPublishHandle::try_publish`]) is a `try_send` of the 256-byte `Copy`
//! record into a bounded crossbeam queue: lock-free, no allocation, never blocking; a full queue
//! is a counted drop (`publish_dropped`), exactly as for the NATS publisher. The publisher
//! thread moves the queue into librdkafka's idempotent producer (`enable.idempotence`,
//! `acks=all`; key = the launch's identity, body = the record's JSON) while fewer than
//! [`MAX_INFLIGHT`] messages await their delivery report, and serves the reports:
//! acknowledged by every in-sync replica (`published`), refused for good (`publish_failed`: a
//! message too large, no authorisation), or failed for now (librdkafka's own retries ran out
//! after `message_timeout`: a broker down for that long). Those are sent again after a backoff
//! with jitter (`publish_retries`). Within one attempt the idempotent producer retries without
//! duplicates and in order; a re-send after a timeout may store a second copy, which the
//! consumers' first-sighting dedup drops (the key is the identity they dedup on).
//!
//! Accounting, exact after [`KafkaPublisher::shutdown`]: `publish_offered == published +
//! publish_dropped + publish_failed + publish_pending`, with `publish_pending == 0`.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use parking_lot::Mutex;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError as RdError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::ClientContext;

use super::stats::{PublishCounters, PublishStats};
use super::TryPublishError;
use super::{FeedNames, Queued};
use crate::candidate::{monotonic_ns, LaunchMeta, PremintCandidate};
use crate::metrics::PublishSnapshot;
use crate::net::backoff::Backoff;
use crate::net::kafka::{self, KafkaConfig, KafkaError, KafkaUrl};
use crate::net::nats::wire::{encode, message_id};

/// Messages handed to librdkafka and not yet reported at once; past it the queue waits.
const MAX_INFLIGHT: usize = 10_000;
/// Longest sleep of an idle publisher thread before it looks at the stop flag.
const TICK: Duration = Duration::from_millis(20);
/// Longest wait for a candidate while reports are due: how late a report may be served.
const REPORT_EVERY: Duration = Duration::from_millis(5);
/// At most one warning per this interval for repeated failures.
const WARN_EVERY: Duration = Duration::from_secs(5);

/// What the bot's threads and the publisher thread share.
struct Shared {
    metrics: Arc<PublishCounters>,
    /// Set by `shutdown` (`Release`, after `deadline_ns`), read by the thread (`Acquire`).
    stop: AtomicBool,
    /// `monotonic_ns` deadline of the drain; written once by `shutdown` before `stop`.
    deadline_ns: AtomicU64,
    /// Set once the thread has taken the queue for the last time (`Release`); `try_publish`
    /// reads it `Relaxed` and refuses (and counts) from then on.
    closed: AtomicBool,
    /// The engine's feed names, for the records' `feed`; set once by the embedder.
    feeds: FeedNames,
}

/// The bot's side of a [`KafkaPublisher`]: cloneable, `Send`, for every thread that sees
/// delivered candidates.
#[derive(Clone)]
pub struct KafkaPublishHandle {
    tx: Sender<Queued>,
    shared: Arc<Shared>,
}

impl fmt::Debug for KafkaPublishHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaPublishHandle")
            .field("queued", &self.tx.len())
            .finish_non_exhaustive()
    }
}

impl KafkaPublishHandle {
    /// Queues `c` for publishing; never blocks.
    ///
    /// # Errors
    ///
    /// [`TryPublishError::Full`] when the queue is full (the brokers are slow or away),
    /// [`TryPublishError::Closed`] after the publisher shut down. Either way the candidate is
    /// counted in `publish_dropped`; it is handed back for the caller's logs.
    #[inline]
    pub fn try_publish(&self, c: &PremintCandidate) -> Result<(), TryPublishError> {
        self.try_publish_with_meta(c, None)
    }

    /// Queues `c` with its name, symbol and uri (`CandidateReceiver::launch_meta`) for the
    /// record's `name`, `symbol` and `uri`; never blocks.
    ///
    /// # Errors
    ///
    /// As [`KafkaPublishHandle::try_publish`].
    #[inline]
    pub fn try_publish_with_meta(
        &self,
        c: &PremintCandidate,
        meta: Option<&LaunchMeta>,
    ) -> Result<(), TryPublishError> {
        let m = &self.shared.metrics;
        m.offered.incr();
        if self.shared.closed.load(Ordering::Relaxed) {
            m.dropped.incr();
            return Err(TryPublishError::Closed(*c));
        }
        // crossbeam wakes the publisher thread when it waits on an empty queue.
        match self.tx.try_send((*c, meta.copied().unwrap_or_default())) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full((c, _))) => {
                m.dropped.incr();
                Err(TryPublishError::Full(c))
            }
            Err(TrySendError::Disconnected((c, _))) => {
                m.dropped.incr();
                Err(TryPublishError::Closed(c))
            }
        }
    }

    /// The publisher's counters now.
    pub fn snapshot(&self) -> PublishSnapshot {
        self.shared.metrics.snapshot()
    }
}

/// Publishes launches to a Kafka topic from a thread of its own; see the module documentation.
///
/// Dropping it shuts it down with `message_timeout` as the drain budget (see
/// [`KafkaPublisher::shutdown`]).
///
/// # Examples
///
/// ```no_run
/// use sniffer::net::kafka::KafkaConfig;
/// use sniffer::publish::KafkaPublisher;
/// use sniffer::{PremintCandidate, Sniffer, SnifferConfig};
///
/// let cfg = SnifferConfig::default();
/// let publisher = KafkaPublisher::start("kafka://127.0.0.1:9092/launches", KafkaConfig::from(&cfg))?;
/// let handle = publisher.handle();
/// let mut engine = Sniffer::builder()
///     .config(cfg)
///     .handler(move |c: &PremintCandidate| {
///         let _ = handle.try_publish(c); // a refusal is counted in publish_dropped
///     })
///     .build()?;
/// engine.metrics_source().attach_publisher(&publisher.stats());
/// // ...
/// engine.shutdown(std::time::Duration::from_secs(5));
/// let counts = publisher.shutdown(std::time::Duration::from_secs(1));
/// assert!(counts.accounting_holds());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct KafkaPublisher {
    handle: KafkaPublishHandle,
    thread: Option<JoinHandle<()>>,
    name: String,
    drop_timeout: Duration,
}

impl fmt::Debug for KafkaPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaPublisher")
            .field("url", &self.name)
            .finish_non_exhaustive()
    }
}

impl KafkaPublisher {
    /// Creates the producer for `url` (`kafka://BROKER[:PORT][,BROKER...]/TOPIC`, or
    /// `kafka+tls://`), checks that a broker answers (unless `cfg.connect_retry`), and starts
    /// the publisher thread. The topic is not created: create it (or let the broker do it).
    ///
    /// # Errors
    ///
    /// [`KafkaError::Url`] for a bad URL, [`KafkaError::Setup`] when librdkafka refuses the
    /// settings, [`KafkaError::Connect`] when no broker answers within `connect_timeout`,
    /// [`KafkaError::Start`] when the thread cannot start. Nothing is left running.
    pub fn start(url: &str, cfg: KafkaConfig) -> Result<KafkaPublisher, KafkaError> {
        let url = KafkaUrl::parse(url, &[])?;
        let name = url.to_string();
        let metrics = Arc::new(PublishCounters::default());
        let ctx = Ctx(Arc::new(CtxState {
            name: name.clone(),
            metrics: metrics.clone(),
            retry: Mutex::new(VecDeque::new()),
            requeue_purged: AtomicBool::new(false),
            ignore_reports: AtomicBool::new(false),
            fenced: AtomicBool::new(false),
        }));
        let producer = producer(&url, &cfg, &ctx)?;
        if !cfg.connect_retry {
            kafka::check_reachable(producer.client(), &url, &cfg)?;
            metrics.connected.set(1);
        }
        let (tx, rx) = crossbeam_channel::bounded(cfg.queue.max(1));
        let shared = Arc::new(Shared {
            metrics,
            stop: AtomicBool::new(false),
            deadline_ns: AtomicU64::new(u64::MAX),
            closed: AtomicBool::new(false),
            feeds: FeedNames::default(),
        });
        let worker = Worker {
            shared: shared.clone(),
            rx,
            producer,
            ctx,
            url: url.clone(),
            cfg: cfg.clone(),
            held: None,
            retry: VecDeque::new(),
            retry_at: None,
            backoff: Backoff::new(cfg.backoff_min, cfg.backoff_max),
            published_seen: 0,
            buf: Vec::with_capacity(512),
            last_warn: None,
            failures_since_warn: 0,
        };
        let thread = std::thread::Builder::new()
            .name("sniffer-kpub".into())
            .spawn(move || worker.run())
            .map_err(|e| KafkaError::Start(format!("cannot spawn thread `sniffer-kpub`: {e}")))?;
        tracing::info!(kafka = %name, "publishing delivered launches");
        Ok(KafkaPublisher {
            handle: KafkaPublishHandle { tx, shared },
            thread: Some(thread),
            name,
            drop_timeout: cfg.message_timeout,
        })
    }

    /// Checks `url` as [`KafkaPublisher::start`] would, without connecting.
    ///
    /// # Errors
    ///
    /// [`KafkaError::Url`] naming what is wrong.
    pub fn check_url(url: &str) -> Result<(), KafkaError> {
        KafkaUrl::parse(url, &[]).map(drop)
    }

    /// A handle for the threads that see delivered candidates.
    pub fn handle(&self) -> KafkaPublishHandle {
        self.handle.clone()
    }

    /// Queues `c`; see [`KafkaPublishHandle::try_publish`].
    ///
    /// # Errors
    ///
    /// As [`KafkaPublishHandle::try_publish`].
    #[inline]
    pub fn try_publish(&self, c: &PremintCandidate) -> Result<(), TryPublishError> {
        self.handle.try_publish(c)
    }

    /// The counters now.
    pub fn snapshot(&self) -> PublishSnapshot {
        self.handle.snapshot()
    }

    /// Names the engine's feeds (by `feed_id`) for the records' `feed`; set once, before the
    /// first launch is published (records published before carry no `feed`).
    pub fn set_feed_names(&self, names: Vec<String>) {
        self.handle.shared.feeds.set(names);
    }

    /// A read-only handle on this publisher's counters, to attach to an engine with
    /// [`MetricsSource::attach_publisher`](crate::MetricsSource::attach_publisher).
    pub fn stats(&self) -> PublishStats {
        PublishStats(self.handle.shared.metrics.clone())
    }

    /// Stops taking candidates, hands what is queued to librdkafka and waits for the delivery
    /// reports until `timeout` has passed, then joins the thread. What is still unreported then
    /// is purged and counted in `publish_failed`; afterwards `try_publish` refuses (counted in
    /// `publish_dropped`). Returns the final counters.
    pub fn shutdown(mut self, timeout: Duration) -> PublishSnapshot {
        self.stop(timeout)
    }

    fn stop(&mut self, timeout: Duration) -> PublishSnapshot {
        let s = &self.handle.shared;
        let deadline =
            monotonic_ns().saturating_add(u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX));
        s.deadline_ns.store(deadline, Ordering::Relaxed);
        s.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                tracing::error!(kafka = %self.name, "the publisher thread panicked");
            }
        }
        s.closed.store(true, Ordering::Release);
        s.metrics.snapshot()
    }
}

impl Drop for KafkaPublisher {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let t = self.drop_timeout;
            self.stop(t);
        }
    }
}

/// The idempotent producer of `url`.
fn producer(url: &KafkaUrl, cfg: &KafkaConfig, ctx: &Ctx) -> Result<BaseProducer<Ctx>, KafkaError> {
    let ms = |d: Duration| d.as_millis().clamp(1, i32::MAX as u128).to_string();
    let mut c = kafka::client_config(url, cfg, "sniffer-publisher");
    // Ordered, without duplicates within librdkafka's retries, stored by every in-sync replica.
    c.set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.timeout.ms", ms(cfg.message_timeout))
        // A launch is worth little late: batch what arrives within a millisecond, no more.
        .set("linger.ms", "1")
        .set(
            "queue.buffering.max.messages",
            (MAX_INFLIGHT * 2).to_string(),
        );
    for (k, v) in &cfg.properties {
        c.set(k, v);
    }
    c.create_with_context(ctx.clone())
        .map_err(|e| KafkaError::Setup(format!("{url}: {e}")))
}

/// The producer's callbacks, served on the publisher thread (inside `poll`). A replacement
/// producer shares the state of the one it replaces.
#[derive(Clone)]
struct Ctx(Arc<CtxState>);

impl std::ops::Deref for Ctx {
    type Target = CtxState;

    fn deref(&self) -> &CtxState {
        &self.0
    }
}

struct CtxState {
    name: String,
    metrics: Arc<PublishCounters>,
    /// Reports that failed for now: sent again after a backoff. Only the publisher thread
    /// touches it (librdkafka calls back from `poll`); the lock is never contended.
    retry: Mutex<VecDeque<Queued>>,
    /// While a producer is replaced after a fatal error, its purged messages are sent again
    /// instead of counted as failed.
    requeue_purged: AtomicBool,
    /// After the final count, late reports (the producer's own drop) are not counted twice.
    ignore_reports: AtomicBool,
    /// A report said the broker no longer takes this producer's id and epoch: the producer
    /// is replaced (a fresh id) before the re-send.
    fenced: AtomicBool,
}

impl ClientContext for Ctx {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, msg: &str) {
        kafka::log(&self.name, level, fac, msg);
    }

    fn error(&self, error: RdError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
            self.metrics.connected.set(0);
        }
        tracing::debug!(kafka = %self.name, %error, reason, "client error");
    }
}

impl ProducerContext for Ctx {
    type DeliveryOpaque = Box<Queued>;

    fn delivery(&self, r: &DeliveryResult<'_>, c: Box<Queued>) {
        if self.ignore_reports.load(Ordering::Relaxed) {
            return;
        }
        let m = &self.metrics;
        match r {
            Ok(_) => {
                m.published.incr();
                m.connected.set(1);
            }
            Err((e, _)) => match classify(e, self.requeue_purged.load(Ordering::Relaxed)) {
                Outcome::Retry => {
                    if is_fenced(e) {
                        self.fenced.store(true, Ordering::Relaxed);
                    }
                    self.retry.lock().push_back(*c)
                }
                Outcome::Failed => {
                    m.failed.incr();
                    tracing::warn!(kafka = %self.name, error = %e, "publish failed for good");
                }
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Retry,
    Failed,
}

/// A failed delivery: sent again, or counted for good.
fn classify(e: &RdError, requeue_purged: bool) -> Outcome {
    use RDKafkaErrorCode as C;
    match e.rdkafka_error_code() {
        Some(C::PurgeQueue | C::PurgeInflight) if requeue_purged => Outcome::Retry,
        // The shutdown deadline purged it.
        Some(C::PurgeQueue | C::PurgeInflight) => Outcome::Failed,
        Some(
            C::MessageSizeTooLarge
            | C::InvalidMessageSize
            | C::InvalidMessage
            | C::InvalidRecord
            | C::TopicAuthorizationFailed
            | C::ClusterAuthorizationFailed
            | C::InvalidTopic
            | C::MessageBatchTooLarge
            | C::InvalidRequiredAcks,
        ) => Outcome::Failed,
        // A timeout after librdkafka's own retries, a broker away, a leader moving, a fatal
        // idempotence error (the producer is replaced): worth another try.
        _ => Outcome::Retry,
    }
}

/// The broker refuses the producer's id or epoch. librdkafka answers a timed-out message by
/// bumping its idempotent producer's epoch itself (KIP-360); a broker that does not take the
/// bump (tansu 0.6), or that lost the producer's state (restarted empty), refuses every later
/// batch so, and librdkafka does not make it a fatal error: the publisher replaces the producer.
fn is_fenced(e: &RdError) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        e.rdkafka_error_code(),
        Some(C::ProducerFenced | C::InvalidProducerEpoch | C::UnknownProducerId)
    )
}

/// The publisher thread's state.
struct Worker {
    shared: Arc<Shared>,
    rx: Receiver<Queued>,
    producer: BaseProducer<Ctx>,
    ctx: Ctx,
    url: KafkaUrl,
    cfg: KafkaConfig,
    /// A candidate librdkafka's full queue refused: sent first next time.
    held: Option<Queued>,
    /// Failed for now, oldest first: sent again once `retry_at` has passed.
    retry: VecDeque<Queued>,
    retry_at: Option<Instant>,
    backoff: Backoff,
    /// `published` when the reports were last looked at (a rise resets the backoff).
    published_seen: u64,
    buf: Vec<u8>,
    last_warn: Option<Instant>,
    failures_since_warn: u64,
}

impl Worker {
    fn m(&self) -> &PublishCounters {
        &self.shared.metrics
    }

    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::Acquire)
    }

    fn deadline_passed(&self) -> bool {
        self.stopping() && monotonic_ns() >= self.shared.deadline_ns.load(Ordering::Relaxed)
    }

    /// What is left of the shutdown budget (an hour while not stopping).
    fn time_left(&self) -> Duration {
        if !self.stopping() {
            return Duration::from_secs(3600);
        }
        let deadline = self.shared.deadline_ns.load(Ordering::Relaxed);
        Duration::from_nanos(deadline.saturating_sub(monotonic_ns()))
    }

    fn run(mut self) {
        loop {
            self.reports();
            if self.producer.client().fatal_error().is_some()
                || self.ctx.fenced.swap(false, Ordering::Relaxed)
            {
                self.replace_producer();
            }
            if self.stopping() {
                let settled = self.producer.in_flight_count() == 0
                    && self.retry.is_empty()
                    && self.held.is_none()
                    && self.rx.is_empty();
                if settled || self.deadline_passed() {
                    break;
                }
            }
            let sent = self.send_retries() + self.send_new();
            if sent == 0 {
                self.wait();
            }
        }
        self.finish();
    }

    /// Serves the delivery reports that are ready and takes the failed ones for a re-send.
    fn reports(&mut self) {
        // One event per call (a report event carries many messages): a few rounds at most.
        for _ in 0..8 {
            self.producer.poll(Duration::ZERO);
        }
        let failed: Vec<Queued> = self.ctx.retry.lock().drain(..).collect();
        let published = self.m().published.get();
        if failed.is_empty() {
            // A delivery since the last look: the brokers are back.
            if published > self.published_seen {
                self.backoff.reset();
            }
            self.published_seen = published;
            return;
        }
        self.published_seen = published;
        let n = failed.len();
        self.retry.extend(failed);
        if self.retry_at.is_none() {
            let delay = self.backoff.next_delay();
            self.retry_at = Some(Instant::now() + delay);
            self.warn(
                format_args!("{n} deliveries failed for now (brokers away?); sending them again"),
                delay,
            );
        }
    }

    /// Sends the failed messages again once their backoff has passed; returns how many.
    fn send_retries(&mut self) -> usize {
        if self.retry_at.is_some_and(|at| Instant::now() < at) || self.deadline_passed() {
            return 0;
        }
        self.retry_at = None;
        let mut n = 0;
        while self.room() {
            let Some(c) = self.retry.pop_front() else {
                break;
            };
            self.m().retries.incr();
            if !self.send(c) {
                break;
            }
            n += 1;
        }
        n
    }

    /// Moves queued candidates into the producer while it has room; returns how many.
    fn send_new(&mut self) -> usize {
        let mut n = 0;
        while self.room() && !self.deadline_passed() {
            let Some(c) = self.held.take().or_else(|| self.rx.try_recv().ok()) else {
                break;
            };
            if !self.send(c) {
                break;
            }
            n += 1;
        }
        n
    }

    fn room(&self) -> bool {
        self.held.is_none() && (self.producer.in_flight_count() as usize) < MAX_INFLIGHT
    }

    /// Hands one message to librdkafka; false when its queue is full (the candidate is held).
    fn send(&mut self, c: Queued) -> bool {
        let key = message_id(&c.0);
        encode(
            &c.0,
            Some(&c.1),
            self.shared.feeds.name(c.0.feed_id),
            &mut self.buf,
        );
        let record = BaseRecord::with_opaque_to(&self.url.topic, Box::new(c))
            .key(key.as_bytes())
            .payload(&self.buf[..]);
        match self.producer.send(record) {
            Ok(()) => true,
            Err((e, record)) => {
                let c = *record.delivery_opaque;
                if e.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull) {
                    self.held = Some(c);
                    return false;
                }
                // Refused before queueing (a message too large, a bad topic): for good.
                self.m().failed.incr();
                self.warn(format_args!("publish refused ({e})"), Duration::ZERO);
                true
            }
        }
    }

    /// Waits for a candidate (briefly while reports are due).
    fn wait(&mut self) {
        let due = self.producer.in_flight_count() > 0 || !self.retry.is_empty();
        let wait = if due || self.stopping() {
            REPORT_EVERY
        } else {
            TICK
        };
        if !self.room() {
            self.producer.poll(wait);
            return;
        }
        match self.rx.recv_timeout(wait) {
            Ok(c) => {
                self.send(c);
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
        }
    }

    /// librdkafka reported a fatal error, or the broker fenced the producer (the idempotent
    /// producer's state cannot be trusted): a new producer takes over, and what the old one
    /// held is sent again.
    fn replace_producer(&mut self) {
        let why = self
            .producer
            .client()
            .fatal_error()
            .map(|(code, reason)| format!("{code:?}: {reason}"))
            .unwrap_or_else(|| "fenced by the broker (producer id or epoch refused)".into());
        tracing::error!(kafka = %self.url, error = %why, "fatal producer error; starting a new producer");
        match producer(&self.url, &self.cfg, &self.ctx) {
            Ok(fresh) => {
                self.ctx.requeue_purged.store(true, Ordering::Relaxed);
                // Dropping the old producer purges it; its reports land in `ctx.retry`.
                drop(std::mem::replace(&mut self.producer, fresh));
                self.ctx.requeue_purged.store(false, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::error!(kafka = %self.url, error = %e, "a new producer could not be made")
            }
        }
    }

    /// A warning, at most one per [`WARN_EVERY`] (the others are counted into the next one).
    fn warn(&mut self, msg: fmt::Arguments<'_>, retry_in: Duration) {
        self.failures_since_warn += 1;
        if self.last_warn.is_some_and(|t| t.elapsed() < WARN_EVERY) {
            return;
        }
        tracing::warn!(
            kafka = %self.url,
            similar = self.failures_since_warn - 1,
            retry_in_ms = retry_in.as_millis() as u64,
            "{msg}"
        );
        self.last_warn = Some(Instant::now());
        self.failures_since_warn = 0;
    }

    /// At the end: what librdkafka still holds is purged, and everything unsettled is counted
    /// as failed.
    fn finish(&mut self) {
        use rdkafka::producer::PurgeConfig;
        if self.producer.in_flight_count() > 0 {
            self.producer
                .purge(PurgeConfig::default().queue().inflight());
            // Within the shutdown budget: what the deadline leaves, at most 200 ms.
            let until = Instant::now() + self.time_left().min(Duration::from_millis(200));
            while self.producer.in_flight_count() > 0 && Instant::now() < until {
                self.producer.poll(Duration::from_millis(10));
            }
        }
        for _ in 0..8 {
            self.producer.poll(Duration::ZERO);
        }
        self.ctx.ignore_reports.store(true, Ordering::Relaxed);
        let mut left = self.producer.in_flight_count().max(0) as u64;
        left += self.ctx.retry.lock().drain(..).count() as u64;
        left += self.retry.len() as u64 + u64::from(self.held.is_some());
        self.retry.clear();
        self.held = None;
        self.shared.closed.store(true, Ordering::Release);
        while self.rx.try_recv().is_ok() {
            left += 1;
        }
        self.m().failed.add(left);
        if left > 0 {
            tracing::warn!(kafka = %self.url, left, "shutdown deadline: launches not published (counted in publish_failed)");
        }
        self.m().connected.set(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let e = |c| RdError::MessageProduction(c);
        assert_eq!(
            classify(&e(RDKafkaErrorCode::MessageTimedOut), false),
            Outcome::Retry
        );
        assert_eq!(
            classify(&e(RDKafkaErrorCode::AllBrokersDown), false),
            Outcome::Retry
        );
        assert_eq!(
            classify(&e(RDKafkaErrorCode::MessageSizeTooLarge), false),
            Outcome::Failed
        );
        assert_eq!(
            classify(&e(RDKafkaErrorCode::PurgeInflight), false),
            Outcome::Failed
        );
        assert_eq!(
            classify(&e(RDKafkaErrorCode::PurgeQueue), true),
            Outcome::Retry
        );
        assert_eq!(
            classify(&e(RDKafkaErrorCode::ProducerFenced), false),
            Outcome::Retry
        );
        assert!(is_fenced(&e(RDKafkaErrorCode::ProducerFenced)));
        assert!(is_fenced(&e(RDKafkaErrorCode::UnknownProducerId)));
        assert!(!is_fenced(&e(RDKafkaErrorCode::MessageTimedOut)));
    }

    #[test]
    fn bad_urls_are_refused_before_connecting() {
        for url in ["kafka://h", "kafka://h/t?group=g", "nats://h/t"] {
            let e = KafkaPublisher::start(url, KafkaConfig::default()).unwrap_err();
            assert!(matches!(e, KafkaError::Url(_)), "{url}: {e:?}");
        }
    }
}
