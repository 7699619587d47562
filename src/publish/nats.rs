//! [`Publisher`]: every candidate the bot hands it goes to NATS, off the hot path.
//!
//! The bot's side ([`PublishHandle::try_publish`]) is a `try_send` of the 384-byte `Copy`
//! record into a bounded crossbeam queue: lock-free, no allocation, never blocking; a full queue
//! is a counted drop (`publish_dropped`). The publisher thread runs a current-thread tokio
//! runtime with the async-nats client. It pipelines JetStream publishes (up to
//! [`MAX_INFLIGHT`] awaiting their acknowledgement, oldest first) and settles each one:
//! acknowledged (`published`, `publish_duplicates` when the stream already held the id),
//! refused for good (`publish_failed`, `publish_stream_full`), or failed for now (a timeout, a
//! server restart, no stream yet): then that message and every later one still unsettled are
//! sent again, in order, after a backoff with jitter (`publish_retries`). Re-sending is safe
//! because every message carries its `Nats-Msg-Id`: a copy that had in fact been stored is
//! acknowledged as a duplicate, never stored twice (within the duplicate window).
//!
//! Waking the thread: it sleeps on a tokio `Notify` only after announcing it (`parked`) and
//! re-checking the queue, with a `SeqCst` fence on both sides (the event-count pattern of the
//! ring's wake-up signal), so a bot pays one fence and, only when the thread sleeps, one
//! notify. A 20 ms tick bounds any wait regardless.
//!
//! Accounting, exact after [`Publisher::shutdown`]: `publish_offered == published +
//! publish_dropped + publish_failed + publish_pending`, with `publish_pending == 0`.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use async_nats::jetstream::context::{PublishAckFuture, PublishErrorKind};
use async_nats::jetstream::{self, publish::PublishAck, ErrorCode};
use async_nats::{Event, HeaderMap};
use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use tokio::sync::Notify;

use super::stats::{PublishCounters, PublishStats};
use super::TryPublishError;
use super::{FeedNames, Queued};
use crate::candidate::{monotonic_ns, LaunchMeta, PremintCandidate};
use crate::metrics::PublishSnapshot;
use crate::net::backoff::Backoff;
use crate::net::nats::url::{NatsUrl, Scheme};
use crate::net::nats::wire::{encode, message_id, subject};
use crate::net::nats::{client, NatsConfig, NatsError};

/// Publishes awaiting their acknowledgement at once.
pub const MAX_INFLIGHT: usize = 512;
/// Longest sleep of an idle publisher thread before it looks at the queue and the stop flag.
const TICK: Duration = Duration::from_millis(20);
/// At most one warning per this interval for repeated publish failures.
const WARN_EVERY: Duration = Duration::from_secs(5);

type AckFuture =
    Pin<Box<dyn Future<Output = Result<PublishAck, jetstream::context::PublishError>> + Send>>;

/// What the bot's threads and the publisher thread share.
struct Shared {
    metrics: Arc<PublishCounters>,
    wake: Notify,
    /// The publisher thread is (about to be) asleep on `wake`. Written by the thread, read by
    /// the bots after their `try_send` and a `SeqCst` fence.
    parked: AtomicBool,
    /// Set by `shutdown` (`Release`, after `deadline_ns`), read by the thread (`Acquire`, so it
    /// sees the deadline): publish what is queued until `deadline_ns`, then end.
    stop: AtomicBool,
    /// `monotonic_ns` deadline of the drain; written once by `shutdown` before `stop`.
    deadline_ns: AtomicU64,
    /// Set once the thread has drained its queue for the last time (`Release`); `try_publish`
    /// reads it `Relaxed` and refuses (and counts) from then on. A call racing with it may
    /// still queue a candidate nobody takes: it stays visible in `publish_pending`.
    closed: AtomicBool,
    /// The engine's feed names, for the records' `feed`; set once by the embedder.
    feeds: FeedNames,
}

/// The bot's side of a [`Publisher`]: cloneable, `Send`, for every thread that sees delivered
/// candidates (a handler, a receive loop).
#[derive(Clone)]
pub struct PublishHandle {
    tx: Sender<Queued>,
    shared: Arc<Shared>,
}

impl fmt::Debug for PublishHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishHandle")
            .field("queued", &self.tx.len())
            .finish_non_exhaustive()
    }
}

impl PublishHandle {
    /// Queues `c` for publishing; never blocks.
    ///
    /// # Errors
    ///
    /// [`TryPublishError::Full`] when the queue is full (the server is slow or away),
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
    /// As [`PublishHandle::try_publish`].
    #[inline]
    pub fn try_publish_with_meta(
        &self,
        c: &PremintCandidate,
        meta: Option<&LaunchMeta>,
    ) -> Result<(), TryPublishError> {
        let s = &*self.shared;
        s.metrics.offered.incr();
        if s.closed.load(Ordering::Relaxed) {
            s.metrics.dropped.incr();
            return Err(TryPublishError::Closed(*c));
        }
        match self.tx.try_send((*c, meta.copied().unwrap_or_default())) {
            Ok(()) => {
                // Pairs with the fence after the thread sets `parked`: either it sees this
                // candidate in the queue, or this sees it parked and wakes it.
                fence(Ordering::SeqCst);
                if s.parked.load(Ordering::Relaxed) {
                    s.wake.notify_one();
                }
                Ok(())
            }
            Err(TrySendError::Full((c, _))) => {
                s.metrics.dropped.incr();
                Err(TryPublishError::Full(c))
            }
            Err(TrySendError::Disconnected((c, _))) => {
                s.metrics.dropped.incr();
                Err(TryPublishError::Closed(c))
            }
        }
    }

    /// The publisher's counters now.
    pub fn snapshot(&self) -> PublishSnapshot {
        self.shared.metrics.snapshot()
    }
}

/// Publishes launches to a NATS JetStream stream (`nats://`) or to core-NATS subjects
/// (`nats+core://`) from a thread of its own; see the module documentation.
///
/// Dropping it shuts it down with `ack_timeout` as the drain budget (see
/// [`Publisher::shutdown`]).
///
/// # Examples
///
/// ```no_run
/// use sniffer::net::nats::NatsConfig;
/// use sniffer::publish::Publisher;
/// use sniffer::{PremintCandidate, Sniffer, SnifferConfig};
///
/// let cfg = SnifferConfig::default();
/// let publisher = Publisher::start("nats://127.0.0.1:4222", NatsConfig::from(&cfg))?;
/// let handle = publisher.handle();
/// // Every delivered candidate, on the sending thread; try_publish never blocks.
/// let engine = Sniffer::builder()
///     .config(cfg)
///     .handler(move |c: &PremintCandidate| {
///         let _ = handle.try_publish(c); // a refusal is counted in publish_dropped
///     })
///     .publisher(publisher.stats()) // publish_* in the engine's snapshot
///     .build()?;
/// // ...
/// engine.shutdown(std::time::Duration::from_secs(5));
/// let counts = publisher.shutdown(std::time::Duration::from_secs(1));
/// assert!(counts.accounting_holds());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Publisher {
    handle: PublishHandle,
    thread: Option<JoinHandle<()>>,
    name: String,
    drop_timeout: Duration,
}

impl fmt::Debug for Publisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher")
            .field("url", &self.name)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    /// Connects to `url` (`nats://HOST[:PORT][,HOST...][/STREAM]` for JetStream, the stream
    /// defaulting to `cfg.stream`; `nats+core://HOST[:PORT]` for core NATS), creates the stream
    /// when it is missing, and starts the publisher thread. With `cfg.connect_retry`, an
    /// unreachable server is waited for in the background (the queue fills meanwhile, and
    /// overflows are counted) instead of being an error.
    ///
    /// # Errors
    ///
    /// [`NatsError::Url`] for a bad URL, [`NatsError::Connect`] when no server answers (or it
    /// refuses the credentials), [`NatsError::Setup`] when the stream cannot be created,
    /// [`NatsError::Start`] when the runtime or the thread cannot start. Nothing is left
    /// running.
    pub fn start(url: &str, cfg: NatsConfig) -> Result<Publisher, NatsError> {
        let (url, core, stream) = target(url, &cfg)?;
        let name = url.to_string();
        let rt = client::runtime("NATS publisher")?;
        let (opts, events) = client::options(&url, &cfg, "sniffer-publisher");
        let nats = rt.block_on(client::connect(&url, opts, cfg.connect_timeout))?;
        let js = client::jetstream(&rt, nats.clone(), &cfg);
        let mut stream_ready = core;
        if !core && !cfg.connect_retry {
            rt.block_on(client::ensure_stream(&js, &stream, &cfg, true))
                .map_err(|e| NatsError::Setup(format!("{name}: {e}")))?;
            stream_ready = true;
        }
        let (tx, rx) = crossbeam_channel::bounded(cfg.queue);
        let shared = Arc::new(Shared {
            metrics: Arc::new(PublishCounters::default()),
            wake: Notify::new(),
            parked: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            deadline_ns: AtomicU64::new(u64::MAX),
            closed: AtomicBool::new(false),
            feeds: FeedNames::default(),
        });
        if nats.connection_state() == async_nats::connection::State::Connected {
            shared.metrics.connected.set(1);
        }
        let worker = Worker {
            shared: shared.clone(),
            rx,
            nats,
            js,
            core,
            stream,
            backoff: Backoff::new(cfg.backoff_min, cfg.backoff_max),
            cfg: cfg.clone(),
            name: name.clone(),
            events,
            stream_ready,
            inflight: VecDeque::with_capacity(MAX_INFLIGHT),
            retry: VecDeque::new(),
            retry_at: None,
            buf: Vec::with_capacity(512),
            last_warn: None,
            failures_since_warn: 0,
        };
        let thread = std::thread::Builder::new()
            .name("sniffer-publish".into())
            .spawn(move || rt.block_on(worker.run()))
            .map_err(|e| NatsError::Start(format!("cannot spawn thread `sniffer-publish`: {e}")))?;
        tracing::info!(nats = %name, core, "publishing delivered launches");
        Ok(Publisher {
            handle: PublishHandle { tx, shared },
            thread: Some(thread),
            name,
            drop_timeout: cfg.ack_timeout,
        })
    }

    /// Checks `url` as [`Publisher::start`] would, without connecting.
    ///
    /// # Errors
    ///
    /// [`NatsError::Url`] naming what is wrong (never the credentials).
    pub fn check_url(url: &str, cfg: &NatsConfig) -> Result<(), NatsError> {
        target(url, cfg).map(drop)
    }

    /// A handle for the threads that see delivered candidates.
    pub fn handle(&self) -> PublishHandle {
        self.handle.clone()
    }

    /// Queues `c`; see [`PublishHandle::try_publish`].
    ///
    /// # Errors
    ///
    /// As [`PublishHandle::try_publish`].
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
    /// [`SnifferBuilder::publisher`](crate::SnifferBuilder::publisher) or
    /// [`MetricsSource::attach_publisher`](crate::MetricsSource::attach_publisher) (its snapshots,
    /// JSON and Prometheus, then carry `published`, `publish_dropped`, ...).
    pub fn stats(&self) -> PublishStats {
        PublishStats(self.handle.shared.metrics.clone())
    }

    /// Stops taking candidates, publishes what is queued and waits for the acknowledgements
    /// until `timeout` has passed, then joins the thread. What is still unsettled then is
    /// counted in `publish_failed`; afterwards `try_publish` refuses (counted in
    /// `publish_dropped`). Returns the final counters (`pending` is 0 unless a bot was still
    /// calling `try_publish` during the shutdown).
    pub fn shutdown(mut self, timeout: Duration) -> PublishSnapshot {
        self.stop(timeout)
    }

    fn stop(&mut self, timeout: Duration) -> PublishSnapshot {
        let s = &self.handle.shared;
        let deadline =
            monotonic_ns().saturating_add(u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX));
        s.deadline_ns.store(deadline, Ordering::Relaxed);
        s.stop.store(true, Ordering::Release);
        s.wake.notify_one();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                tracing::error!(nats = %self.name, "the publisher thread panicked");
            }
        }
        s.closed.store(true, Ordering::Release);
        s.metrics.snapshot()
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let t = self.drop_timeout;
            self.stop(t);
        }
    }
}

/// The URL, whether it is core NATS, and the stream.
fn target(url: &str, cfg: &NatsConfig) -> Result<(NatsUrl, bool, String), NatsError> {
    let url = NatsUrl::parse(url, &[Scheme::JetStream, Scheme::Core])?;
    url.check_params(&[])?;
    let core = url.scheme == Scheme::Core;
    if core && !url.path.is_empty() {
        return Err(NatsError::Url(format!(
            "{url}: a core-NATS publish URL has no path (subjects are sniffer.launch.<kind>.<priority>)"
        )));
    }
    let stream = url.stream_or(&cfg.stream)?;
    Ok((url, core, stream))
}

/// One publish awaiting its acknowledgement.
struct Inflight {
    c: Queued,
    ack: AckFuture,
}

/// How a failed publish is settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Failure {
    /// Refused for good; `full` when the stream is full.
    Permanent { full: bool },
    /// Worth another try; `no_stream` when the stream is missing (or JetStream is not up yet).
    Transient { no_stream: bool },
}

fn classify(e: &jetstream::context::PublishError) -> Failure {
    match e.kind() {
        PublishErrorKind::MaxPayloadExceeded
        | PublishErrorKind::WrongLastMessageId
        | PublishErrorKind::WrongLastSequence => Failure::Permanent { full: false },
        PublishErrorKind::StreamNotFound => Failure::Transient { no_stream: true },
        PublishErrorKind::Other => {
            let code = std::error::Error::source(e)
                .and_then(|s| s.downcast_ref::<jetstream::Error>())
                .map(jetstream::Error::error_code);
            match code {
                // "maximum messages / bytes exceeded" (discard new), or the server's or the
                // account's storage limits.
                Some(
                    ErrorCode::STREAM_STORE_FAILED
                    | ErrorCode::STORAGE_RESOURCES_EXCEEDED
                    | ErrorCode::MEMORY_RESOURCES_EXCEEDED
                    | ErrorCode::STREAM_MAX_STREAM_BYTES_EXCEEDED,
                ) => Failure::Permanent { full: true },
                Some(ErrorCode::STREAM_MESSAGE_EXCEEDS_MAXIMUM) => {
                    Failure::Permanent { full: false }
                }
                _ => Failure::Transient { no_stream: false },
            }
        }
        PublishErrorKind::TimedOut
        | PublishErrorKind::BrokenPipe
        | PublishErrorKind::MaxAckPending => Failure::Transient { no_stream: false },
    }
}

/// The publisher thread's state.
struct Worker {
    shared: Arc<Shared>,
    rx: Receiver<Queued>,
    nats: async_nats::Client,
    js: jetstream::Context,
    core: bool,
    stream: String,
    cfg: NatsConfig,
    name: String,
    events: Receiver<Event>,
    stream_ready: bool,
    inflight: VecDeque<Inflight>,
    /// Failed publishes to send again, oldest first, before anything new.
    retry: VecDeque<Queued>,
    retry_at: Option<tokio::time::Instant>,
    backoff: Backoff,
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

    async fn run(mut self) {
        loop {
            self.events();
            if self.stopping() {
                let settled =
                    self.inflight.is_empty() && self.retry.is_empty() && self.rx.is_empty();
                if settled || self.deadline_passed() {
                    break;
                }
            }
            if let Some(at) = self.retry_at {
                if tokio::time::Instant::now() < at {
                    self.wait_until(at).await;
                    continue;
                }
                self.retry_at = None;
            }
            if !self.stream_ready {
                self.ready_stream().await;
                continue;
            }
            self.fill().await;
            if self.retry_at.is_some() {
                continue;
            }
            if !self.inflight.is_empty() {
                self.await_front().await;
            } else if self.retry.is_empty() {
                self.park().await;
            }
        }
        self.finish().await;
    }

    /// Applies the connection events.
    fn events(&mut self) {
        while let Ok(e) = self.events.try_recv() {
            match e {
                Event::Connected => self.m().connected.set(1),
                Event::Disconnected => self.m().connected.set(0),
                _ => {}
            }
            client::log_event(&self.name, &e);
        }
    }

    /// Sleeps until `at` (or the stop deadline), still settling acknowledgements.
    async fn wait_until(&mut self, at: tokio::time::Instant) {
        let at = at.min(tokio::time::Instant::now() + TICK);
        tokio::time::sleep_until(at).await;
    }

    /// Creates the stream (after a start with `connect_retry`, or when it went missing).
    async fn ready_stream(&mut self) {
        // Bounded by the shutdown deadline: a server that is down must not hold the exit.
        let ensure = client::ensure_stream(&self.js, &self.stream, &self.cfg, true);
        let ready = match tokio::time::timeout(self.time_left(), ensure).await {
            Ok(r) => r,
            Err(_) => Err("the shutdown deadline passed".to_owned()),
        };
        match ready {
            Ok(()) => {
                tracing::info!(nats = %self.name, stream = %self.stream, "stream ready");
                self.stream_ready = true;
            }
            Err(e) => {
                let delay = self.backoff.next_delay();
                self.warn(
                    format_args!("the stream is not ready ({e}); retrying"),
                    delay,
                );
                self.retry_at = Some(tokio::time::Instant::now() + delay);
            }
        }
    }

    /// Publishes retries, then new candidates, while the window has room.
    async fn fill(&mut self) {
        while self.inflight.len() < MAX_INFLIGHT
            && self.retry_at.is_none()
            && !self.deadline_passed()
        {
            let c = match self.retry.pop_front() {
                Some(c) => {
                    self.m().retries.incr();
                    c
                }
                None => match self.rx.try_recv() {
                    Ok(c) => c,
                    Err(_) => break,
                },
            };
            match self.send(&c).await {
                Ok(Some(ack)) => self.inflight.push_back(Inflight { c, ack }),
                Ok(None) => self.m().published.incr(),
                Err(e) => {
                    let f = classify(&e);
                    self.failed(c, f, &e).await;
                }
            }
        }
    }

    /// Sends one message: JetStream returns its acknowledgement to await, core NATS nothing.
    async fn send(
        &mut self,
        (c, meta): &Queued,
    ) -> Result<Option<AckFuture>, jetstream::context::PublishError> {
        let mut headers = HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, message_id(c).as_str());
        let feed = self.shared.feeds.name(c.feed_id);
        encode(c, Some(meta), feed, &mut self.buf);
        let payload = Bytes::copy_from_slice(&self.buf);
        let subject = subject(c.kind, c.priority);
        let timeout = self.cfg.ack_timeout;
        if self.core {
            let sent = tokio::time::timeout(
                timeout,
                self.nats.publish_with_headers(subject, headers, payload),
            )
            .await;
            return match sent {
                Ok(Ok(())) => Ok(None),
                Ok(Err(e)) => Err(jetstream::context::PublishError::with_source(
                    PublishErrorKind::BrokenPipe,
                    e,
                )),
                Err(_) => Err(jetstream::context::PublishError::new(
                    PublishErrorKind::TimedOut,
                )),
            };
        }
        let fut: PublishAckFuture = self
            .js
            .publish_with_headers(subject, headers, payload)
            .await?;
        Ok(Some(Box::pin(fut.into_future())))
    }

    /// Waits for the oldest acknowledgement, or for new work while the window has room.
    async fn await_front(&mut self) {
        let room = self.inflight.len() < MAX_INFLIGHT;
        if room {
            self.shared.parked.store(true, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            if !self.rx.is_empty() || self.stopping() {
                self.shared.parked.store(false, Ordering::Relaxed);
                if !self.rx.is_empty() && !self.deadline_passed() {
                    return;
                }
            }
        }
        let Some(front) = self.inflight.front_mut() else {
            return;
        };
        let shared = self.shared.clone();
        let outcome = tokio::select! {
            r = &mut front.ack => Some(r),
            _ = shared.wake.notified(), if room => None,
            _ = tokio::time::sleep(TICK) => None,
        };
        self.shared.parked.store(false, Ordering::Relaxed);
        if let Some(r) = outcome {
            if let Some(f) = self.inflight.pop_front() {
                self.settle(f.c, r).await;
            }
        }
    }

    /// Sleeps until a candidate is queued (or the tick passes).
    async fn park(&mut self) {
        self.shared.parked.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if self.rx.is_empty() && !self.stopping() {
            let shared = self.shared.clone();
            tokio::select! {
                _ = shared.wake.notified() => {}
                _ = tokio::time::sleep(TICK) => {}
            }
        }
        self.shared.parked.store(false, Ordering::Relaxed);
    }

    async fn settle(&mut self, c: Queued, r: Result<PublishAck, jetstream::context::PublishError>) {
        match r {
            Ok(ack) => {
                self.acknowledged(&ack);
                self.backoff.reset();
            }
            Err(e) => {
                let f = classify(&e);
                self.failed(c, f, &e).await;
            }
        }
    }

    /// Settles a failed publish: counted for good, or sent again (with every later unsettled
    /// one, in order) after a backoff.
    async fn failed(&mut self, c: Queued, f: Failure, e: &jetstream::context::PublishError) {
        match f {
            Failure::Permanent { full } => {
                self.refused(full);
                let what = if full {
                    "the stream is full"
                } else {
                    "the stream refused it"
                };
                self.warn(
                    format_args!("publish failed for good ({what}: {e})"),
                    Duration::ZERO,
                );
            }
            Failure::Transient { no_stream } => {
                // The later publishes went out on the same connection: those already
                // acknowledged are settled now, the rest are sent again after this one, so the
                // stream's order stays the order of publishing.
                let mut again = VecDeque::with_capacity(self.inflight.len() + 1);
                again.push_back(c);
                for mut f in std::mem::take(&mut self.inflight) {
                    match client::ready_now(&mut f.ack).await {
                        Some(Ok(ack)) => self.acknowledged(&ack),
                        Some(Err(e)) => match classify(&e) {
                            Failure::Permanent { full } => self.refused(full),
                            Failure::Transient { .. } => again.push_back(f.c),
                        },
                        None => again.push_back(f.c),
                    }
                }
                again.extend(self.retry.drain(..));
                self.retry = again;
                if no_stream {
                    self.stream_ready = false;
                }
                let delay = self.backoff.next_delay();
                let n = self.retry.len();
                self.warn(
                    format_args!("publish failed ({e}); sending {n} again"),
                    delay,
                );
                self.retry_at = Some(tokio::time::Instant::now() + delay);
            }
        }
    }

    /// Counts a publish the stream acknowledged (stored, or a duplicate it already had).
    fn acknowledged(&self, ack: &PublishAck) {
        self.m().published.incr();
        if ack.duplicate {
            self.m().duplicates.incr();
        }
    }

    /// Counts a publish the stream refused for good (`full`: because it is full).
    fn refused(&self, full: bool) {
        self.m().failed.incr();
        if full {
            self.m().stream_full.incr();
        }
    }

    /// A warning, at most one per [`WARN_EVERY`] (the others are counted into the next one).
    fn warn(&mut self, msg: fmt::Arguments<'_>, retry_in: Duration) {
        self.failures_since_warn += 1;
        if self.last_warn.is_some_and(|t| t.elapsed() < WARN_EVERY) {
            return;
        }
        tracing::warn!(
            nats = %self.name,
            similar = self.failures_since_warn - 1,
            retry_in_ms = retry_in.as_millis() as u64,
            "{msg}"
        );
        self.last_warn = Some(Instant::now());
        self.failures_since_warn = 0;
    }

    /// At the end: what is still unsettled is counted as failed, and the connection flushed.
    async fn finish(&mut self) {
        let mut left = 0u64;
        for mut f in std::mem::take(&mut self.inflight) {
            match client::ready_now(&mut f.ack).await {
                Some(Ok(ack)) => self.acknowledged(&ack),
                _ => left += 1,
            }
        }
        left += self.retry.len() as u64;
        self.retry.clear();
        self.shared.closed.store(true, Ordering::Release);
        while self.rx.try_recv().is_ok() {
            left += 1;
        }
        self.m().failed.add(left);
        if left > 0 {
            tracing::warn!(nats = %self.name, left, "shutdown deadline: launches not published (counted in publish_failed)");
        }
        // Core NATS: what was written to the client's buffer reaches the server.
        // Within the shutdown budget: what the deadline leaves, at most 200 ms.
        let flush = self.time_left().min(Duration::from_millis(200));
        let _ = tokio::time::timeout(flush, self.nats.flush()).await;
        self.m().connected.set(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        use jetstream::context::PublishError;
        assert_eq!(
            classify(&PublishError::new(PublishErrorKind::TimedOut)),
            Failure::Transient { no_stream: false }
        );
        assert_eq!(
            classify(&PublishError::new(PublishErrorKind::StreamNotFound)),
            Failure::Transient { no_stream: true }
        );
        assert_eq!(
            classify(&PublishError::new(PublishErrorKind::MaxPayloadExceeded)),
            Failure::Permanent { full: false }
        );
        let full: jetstream::Error = serde_json::from_str(
            r#"{"code":503,"err_code":10077,"description":"maximum messages exceeded"}"#,
        )
        .unwrap();
        assert_eq!(
            classify(&PublishError::with_source(PublishErrorKind::Other, full)),
            Failure::Permanent { full: true }
        );
        let other: jetstream::Error =
            serde_json::from_str(r#"{"code":500,"err_code":10999,"description":"x"}"#).unwrap();
        assert_eq!(
            classify(&PublishError::with_source(PublishErrorKind::Other, other)),
            Failure::Transient { no_stream: false }
        );
    }
}
