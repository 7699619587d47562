//! [`KafkaFeed`]: launches from a Kafka topic, through a consumer group, into this engine:
//! `kafka://BROKER[:PORT][,BROKER...]/TOPIC?group=NAME[&format=record|lines][&offset=latest|earliest]`.
//!
//! `format=record` (the default) reads what another sniffer's [`KafkaPublisher`] wrote: one
//! launch record (JSON) per message. `format=lines` reads raw provider notifications, one per
//! line, decoded like any line feed (and shown to the aggregates sink, recorded with
//! `--record`).
//!
//! A consumer fetches only what it asks for, so this is a source that **can wait**. While the
//! backpressure gate pauses it, the engine calls [`Feed::poll_paused`] instead of
//! [`Feed::poll`]: the feed pauses its assigned partitions with the client's native pause (the
//! fetched messages not yet returned are dropped by librdkafka and fetched again on resume, from
//! the position of the last message returned) and **keeps polling**, so the group sees a live
//! member however long the pause lasts (`max.poll.interval.ms` counts from the last poll).
//! Partitions assigned during the pause are paused too. Back below the gate's low watermark the
//! next `poll` resumes them.
//!
//! **Offsets.** Each message is handled before the next one is taken: decoded and pushed (in
//! the ring, or counted by the policy, or malformed and counted). Only then is its offset
//! stored for the next commit (`enable.auto.offset.store = false`; commits every
//! `commit_interval`, at every revocation and when the consumer closes). So a rebalance revokes
//! cleanly: nothing taken is unhandled, nothing handled is uncommitted after the revocation; the
//! next owner starts after the last handled message. A launch offered again (a re-send, a
//! second publishing sniffer, a replay after a crash between handling and committing) is
//! dropped by the engine's first-sighting dedup, which keys on the launch's identity as the
//! message key does.
//!
//! [`KafkaPublisher`]: crate::publish::KafkaPublisher

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer as _, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError as RdError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Message as _};
use rdkafka::{ClientContext, TopicPartitionList};

use super::line_feed::Delivery;
use super::{Feed, FeedPoll, FeedSink};
use crate::candidate::monotonic_ns;
use crate::decode::DecoderConfig;
use crate::metrics::FeedStats;
use crate::net::kafka::{self, name_problem, KafkaConfig, KafkaError, KafkaUrl};
use crate::net::nats::wire;

/// Longest wait for the first message of a poll.
const READ_SLICE: Duration = Duration::from_millis(5);
/// Messages handled per poll: the gate is consulted between polls, so a paused feed overshoots
/// `pause_pct` by at most this many messages' launches.
const PER_POLL: usize = 16;
/// At most one warning per this interval for repeated consumer errors.
const WARN_EVERY: Duration = Duration::from_secs(5);
/// Longest wait of a dropped feed for its consumer to close (commit, leave the group); past it
/// a thread of its own finishes the close, so that the engine's shutdown keeps its budget.
const CLOSE_WITHIN: Duration = Duration::from_secs(1);

/// What the messages carry.
enum Format {
    /// One launch record (JSON) per message, as a publisher wrote it.
    Record,
    /// Provider notification lines, decoded.
    Lines(Box<Delivery>),
}

/// The consumer's callbacks, served on the feed thread (inside `poll`).
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
    /// The feed's counters, set at the first poll.
    stats: OnceLock<FeedStats>,
    /// Bumped by every assignment, so that a paused feed pauses what it was just given.
    generation: AtomicU64,
    /// The consumer holds an assignment and reaches its brokers.
    up: AtomicBool,
    /// The feed is being dropped: the consumer's close revokes its partitions, which is no
    /// rebalance.
    closing: AtomicBool,
}

impl CtxState {
    fn up(&self) {
        if !self.up.swap(true, Ordering::Relaxed) {
            if let Some(s) = self.stats.get() {
                s.connected();
            }
        }
    }

    fn down(&self) {
        if self.up.swap(false, Ordering::Relaxed) {
            if let Some(s) = self.stats.get() {
                s.disconnected();
            }
        }
    }
}

impl ClientContext for Ctx {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, msg: &str) {
        kafka::log(&self.name, level, fac, msg);
    }

    fn error(&self, error: RdError, reason: &str) {
        tracing::debug!(feed = %self.name, %error, reason, "client error");
    }
}

impl ConsumerContext for Ctx {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            // Everything taken was handled (one message at a time) and its offset stored; the
            // revocation commits the stored offsets (enable.auto.commit).
            if let Some(s) = self
                .stats
                .get()
                .filter(|_| !self.closing.load(Ordering::Relaxed))
            {
                s.rebalanced();
            }
            tracing::info!(feed = %self.name, partitions = tpl.count(), "partitions revoked");
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                self.generation.fetch_add(1, Ordering::Relaxed);
                tracing::info!(feed = %self.name, partitions = tpl.count(), "partitions assigned");
                if tpl.count() > 0 {
                    self.up();
                }
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(e) => {
                tracing::warn!(feed = %self.name, error = %e, "rebalance failed")
            }
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _: &TopicPartitionList) {
        if let Err(e) = result {
            // Nothing to commit is no failure.
            if e.rdkafka_error_code() != Some(RDKafkaErrorCode::NoOffset) {
                if let Some(s) = self.stats.get() {
                    s.reply_error();
                }
                tracing::debug!(feed = %self.name, error = %e, "offset commit failed");
            }
        }
    }
}

/// The consumer, closed within [`CLOSE_WITHIN`] when dropped. librdkafka's close waits for
/// the group coordinator up to `session.timeout.ms` (45 s with the brokers away): past the
/// bound, a thread of its own (`sniffer-kclose`) finishes it and ends.
struct Consumer(Option<BaseConsumer<Ctx>>);

impl std::ops::Deref for Consumer {
    type Target = BaseConsumer<Ctx>;

    fn deref(&self) -> &BaseConsumer<Ctx> {
        self.0.as_ref().expect("taken only by drop")
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        let Some(consumer) = self.0.take() else {
            return;
        };
        if consumer.close_queue().is_ok() {
            let until = Instant::now() + CLOSE_WITHIN;
            while !consumer.closed() && Instant::now() < until {
                // Serves the revocation (which commits the stored offsets) and the leave; a
                // message still arriving is not handled, so its offset is not stored.
                let _ = consumer.poll(Duration::from_millis(20));
            }
        }
        if consumer.closed() {
            return;
        }
        let name = consumer.context().name.clone();
        tracing::warn!(feed = %name, "the consumer did not close in time (brokers away?); closing it in the background");
        let closer = std::thread::Builder::new()
            .name("sniffer-kclose".into())
            .spawn(move || drop(consumer));
        if let Err(e) = closer {
            tracing::warn!(feed = %name, error = %e, "no thread to close the consumer");
        }
    }
}

/// A Kafka consumer group member as a feed; see the module documentation.
///
/// Dropping it closes the consumer: the stored offsets are committed and the group is left, so
/// the partitions move to the other members at once. With the brokers out of reach that close
/// would wait up to the session timeout: after one second a background thread finishes it.
pub struct KafkaFeed {
    consumer: Consumer,
    format: Format,
    /// `Some(generation)` while the assignment of that generation is paused.
    paused: Option<u64>,
    last_warn: Option<Instant>,
}

impl fmt::Debug for KafkaFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaFeed")
            .field("name", &self.consumer.context().name)
            .field("lines", &matches!(self.format, Format::Lines(_)))
            .finish_non_exhaustive()
    }
}

impl KafkaFeed {
    /// A member of group `group` consuming `url`'s topic. Parameters: `group` (required),
    /// `format` (`record`, the default, or `lines`: decoded with `decoder`), `offset` (`latest`,
    /// the default, or `earliest`: where a group without committed offsets starts). Checks
    /// that a broker answers unless `cfg.connect_retry`.
    ///
    /// # Errors
    ///
    /// [`KafkaError::Url`] for a bad URL or parameter, [`KafkaError::Setup`] when librdkafka
    /// refuses the settings or the subscription, [`KafkaError::Connect`] when no broker answers
    /// within `connect_timeout`. The SASL password never appears.
    pub fn new(url: &str, cfg: KafkaConfig, decoder: DecoderConfig) -> Result<Self, KafkaError> {
        let url = KafkaUrl::parse(url, &["group", "format", "offset"])?;
        let bad = |m: String| KafkaError::Url(format!("{url}: {m}"));
        let group = url
            .param("group")
            .ok_or_else(|| bad("a consumer needs ?group=NAME".into()))?;
        if let Some(why) = name_problem(group) {
            return Err(bad(format!("group `{group}` {why}")));
        }
        let name = url.to_string();
        let format = match url.param("format") {
            None | Some("record") => Format::Record,
            Some("lines") => Format::Lines(Box::new(Delivery::new(name.clone(), decoder))),
            Some(f) => return Err(bad(format!("format=`{f}` (expected record or lines)"))),
        };
        let reset = match url.param("offset") {
            None | Some("latest") => "latest",
            Some("earliest") => "earliest",
            Some(o) => return Err(bad(format!("offset=`{o}` (expected latest or earliest)"))),
        };
        let ctx = Ctx(Arc::new(CtxState {
            name,
            stats: OnceLock::new(),
            generation: AtomicU64::new(0),
            up: AtomicBool::new(false),
            closing: AtomicBool::new(false),
        }));
        let consumer = consumer(&url, &cfg, group, reset, ctx)?;
        if !cfg.connect_retry {
            kafka::check_reachable(consumer.client(), &url, &cfg)?;
        }
        consumer
            .subscribe(&[url.topic.as_str()])
            .map_err(|e| KafkaError::Setup(format!("{url}: subscribing failed: {e}")))?;
        Ok(KafkaFeed {
            consumer: Consumer(Some(consumer)),
            format,
            paused: None,
            last_warn: None,
        })
    }

    /// Calls `observer` after every line that decoded (`format=lines` only; see
    /// [`DecodeObserver`](super::DecodeObserver)).
    pub fn with_observer(mut self, observer: super::DecodeObserver) -> Self {
        if let Format::Lines(d) = &mut self.format {
            d.set_observer(observer);
        }
        self
    }

    /// Also writes every line received, with its receive time, to `path` (`format=lines`
    /// only).
    ///
    /// # Errors
    ///
    /// The I/O error when the file cannot be created.
    pub fn record_to(mut self, path: &std::path::Path) -> std::io::Result<Self> {
        if let Format::Lines(d) = &mut self.format {
            d.record_to(path)?;
        }
        Ok(self)
    }

    /// True for `format=lines`.
    pub fn decodes_lines(&self) -> bool {
        matches!(self.format, Format::Lines(_))
    }

    /// Hands the feed's counters to the callbacks (at the first poll) and starts its downtime
    /// (it is down until its first assignment).
    fn attach(&mut self, sink: &FeedSink<'_>) {
        let ctx = self.consumer.context();
        if ctx.stats.get().is_none() {
            let s = sink.stats();
            s.disconnected();
            if ctx.up.load(Ordering::Relaxed) {
                s.connected();
            }
            let _ = ctx.stats.set(s);
            if let Format::Lines(d) = &mut self.format {
                d.start_clock();
            }
        }
    }

    /// A consumer error: logged (at most one warning per [`WARN_EVERY`]); a lost connection
    /// marks the feed down until the next assignment or message.
    fn error(&mut self, e: &RdError) {
        let code = e.rdkafka_error_code();
        if code == Some(RDKafkaErrorCode::AllBrokersDown) {
            self.consumer.context().down();
        }
        let name = &self.consumer.context().name;
        if matches!(e, RdError::MessageConsumptionFatal(_)) {
            tracing::error!(feed = %name, error = %e, "fatal consumer error");
        } else if self.last_warn.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
            tracing::warn!(feed = %name, error = %e, "consumer error");
            self.last_warn = Some(Instant::now());
        }
    }

    /// Takes one message, handles it, stores its offset; false when there was none.
    fn take(&mut self, sink: &mut FeedSink<'_>, wait: Duration) -> bool {
        match self.consumer.poll(wait) {
            None => false,
            Some(Err(e)) => {
                self.error(&e);
                false
            }
            Some(Ok(m)) => {
                let ctx = self.consumer.context();
                ctx.up();
                handle(&m, &mut self.format, ctx.stats.get(), sink);
                // A push the shutdown refused (counted in dropped_shutdown) stays uncommitted:
                // the group's next member reads it again.
                if !sink.should_stop() {
                    if let Err(e) = self.consumer.store_offset_from_message(&m) {
                        // The partition was revoked meanwhile: its next owner reads it again.
                        tracing::debug!(feed = %ctx.name, error = %e, "offset not stored");
                    }
                }
                true
            }
        }
    }

    /// Pauses the current assignment unless it is paused already.
    fn pause_assignment(&mut self) {
        let generation = self.consumer.context().generation.load(Ordering::Relaxed);
        if self.paused == Some(generation) {
            return;
        }
        match self.consumer.assignment() {
            Ok(tpl) => match self.consumer.pause(&tpl) {
                Ok(()) => self.paused = Some(generation),
                Err(e) => self.error(&e),
            },
            Err(e) => self.error(&e),
        }
    }

    fn resume_assignment(&mut self) {
        if self.paused.take().is_some() {
            match self.consumer.assignment() {
                Ok(tpl) => {
                    if let Err(e) = self.consumer.resume(&tpl) {
                        self.error(&e);
                    }
                }
                Err(e) => self.error(&e),
            }
        }
    }
}

/// Decodes one message and pushes what it holds (or counts why not).
fn handle(
    m: &BorrowedMessage<'_>,
    format: &mut Format,
    stats: Option<&FeedStats>,
    sink: &mut FeedSink<'_>,
) {
    let now = monotonic_ns();
    let payload = m.payload().unwrap_or_default();
    if let Some(s) = stats {
        s.message_at(payload.len(), now);
    }
    match format {
        Format::Record => {
            sink.tx_seen(1);
            match wire::decode(payload, now) {
                Ok(d) => {
                    sink.push_decoded(&d, now);
                }
                Err(reason) => sink.malformed_reason(reason),
            }
        }
        Format::Lines(d) => {
            let mut lines = payload.split(|b| *b == b'\n').peekable();
            // A message is one line; several lines in one message are each decoded.
            while let Some(line) = lines.next() {
                if line.trim_ascii().is_empty() && lines.peek().is_none() && !payload.is_empty() {
                    break;
                }
                d.record(now, Some(line));
                sink.tx_seen(1);
                d.out.clear();
                match d.decoder.decode_line(line, &mut d.out) {
                    Ok(_) => d.deliver(sink, now),
                    Err(reason) => sink.malformed_reason(reason),
                }
            }
        }
    }
}

/// The group member: librdkafka commits the offsets this feed stores, never one it did not.
fn consumer(
    url: &KafkaUrl,
    cfg: &KafkaConfig,
    group: &str,
    reset: &str,
    ctx: Ctx,
) -> Result<BaseConsumer<Ctx>, KafkaError> {
    let ms = |d: Duration| d.as_millis().clamp(1, i32::MAX as u128).to_string();
    let session = cfg.session_timeout;
    let mut c = kafka::client_config(url, cfg, "sniffer-feed");
    c.set("group.id", group)
        .set("enable.auto.commit", "true")
        .set("enable.auto.offset.store", "false")
        .set("auto.commit.interval.ms", ms(cfg.commit_interval))
        .set("auto.offset.reset", reset)
        .set("session.timeout.ms", ms(session))
        .set(
            "heartbeat.interval.ms",
            ms((session / 3).min(Duration::from_secs(3))),
        )
        // librdkafka refuses a poll interval below the session timeout.
        .set(
            "max.poll.interval.ms",
            ms(cfg.max_poll_interval.max(session)),
        )
        .set("enable.partition.eof", "false");
    for (k, v) in &cfg.properties {
        c.set(k, v);
    }
    c.create_with_context(ctx)
        .map_err(|e| KafkaError::Setup(format!("{url}: {e}")))
}

impl Feed for KafkaFeed {
    fn name(&self) -> &str {
        &self.consumer.context().name
    }

    /// A consumer asks for what it reads: pausing it loses nothing.
    fn can_wait(&self) -> bool {
        true
    }

    fn poll(&mut self, sink: &mut FeedSink<'_>) -> FeedPoll {
        self.attach(sink);
        self.resume_assignment();
        let mut n = 0;
        let mut wait = READ_SLICE;
        while n < PER_POLL && !sink.should_stop() {
            if !self.take(sink, wait) {
                break;
            }
            n += 1;
            // The first message was worth waiting for; after it, only what is already here.
            wait = Duration::ZERO;
        }
        if n > 0 {
            FeedPoll::Ready
        } else {
            FeedPoll::Idle
        }
    }

    /// Pauses the assigned partitions (natively) and keeps polling: the group keeps this member.
    fn poll_paused(&mut self, sink: &mut FeedSink<'_>) {
        self.attach(sink);
        self.pause_assignment();
        // Serves rebalances and errors; a message can only come from a partition assigned since
        // the pause (paused at the next call): it is handled like any other.
        self.take(sink, Duration::ZERO);
    }
}

impl Drop for KafkaFeed {
    fn drop(&mut self) {
        self.consumer
            .context()
            .closing
            .store(true, Ordering::Relaxed);
        if let Format::Lines(d) = &mut self.format {
            d.finish_recording();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_urls_are_refused_before_connecting() {
        let cfg = KafkaConfig::default();
        for (url, needle) in [
            ("kafka://h/t", "needs ?group=NAME"),
            ("kafka://h/t?group=a/b", "group `a/b`"),
            ("kafka://h/t?group=g&format=csv", "format"),
            ("kafka://h/t?group=g&offset=middle", "offset"),
            ("kafka://h/t?group=g&grup=x", "unknown parameter `grup`"),
            ("kafka://h/?group=g", "topic"),
        ] {
            let e = KafkaFeed::new(url, cfg.clone(), DecoderConfig::default()).unwrap_err();
            assert!(matches!(e, KafkaError::Url(_)), "{url}: {e:?}");
            assert!(e.to_string().contains(needle), "{url}: {e}");
        }
    }
}
