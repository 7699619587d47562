//! [`JetStreamFeed`]: launches from a JetStream stream, through a pull consumer, into this
//! engine: `nats://HOST[:PORT][,HOST...]/STREAM[?durable=NAME&deliver=new|all&filter=SUBJECT]`.
//!
//! A pull consumer receives only what it asked for, so this is a source that **can wait**: the
//! backpressure gate pauses it by not polling it, which stops the pull requests (at most one
//! batch, [`BATCH`] messages, is already on its way; it waits in the client, unacknowledged).
//! Each message is **acknowledged only after** its candidate went through the engine's sink: in
//! the ring, or counted by the policy (or malformed, counted in `tx_malformed`). A message
//! still unacknowledged when the feed stops, or when the connection is lost, is delivered again
//! after `nats_ack_wait`: at-least-once.
//!
//! A message delivered again that this feed already handled (its acknowledgement was lost in a
//! server restart, or came after `ack_wait`) is skipped and counted in the feed's
//! `resumed_skipped`: the feed remembers the stream sequences of the last [`SEEN`] messages it
//! handled (a `net::recent` table), so within one process a message is never pushed twice.
//! Across feeds and instances the engine's first-sighting dedup (by mint and the launch's
//! identity, see [`message_id`](crate::net::nats::wire::message_id)) does the rest.
//!
//! The consumer is durable with `durable=NAME` (it keeps its position across restarts of this
//! process and of the server), ephemeral otherwise (it starts at `deliver`: `new` by default,
//! `all` from the oldest message kept). When the server loses it (an ephemeral consumer after a
//! server restart), it is created again from the sequence after the last one handled.
//! Reconnecting is the client's job (with this crate's backoff); the pull stream re-issues its
//! request once connected again. Setting the consumer up is this feed's: its state is the
//! network layer's `Link` (down until the backoff's delay, setting up under a deadline, up).

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{self, pull, AckPolicy, DeliverPolicy};
use async_nats::jetstream::{self, Message};
use async_nats::Event;
use crossbeam_channel::Receiver;
use tokio_stream::StreamExt as _;

use crate::candidate::{monotonic_ns, Malformed};
use crate::config::stream_name_problem;
use crate::feed::{Feed, FeedPoll, FeedSink};
use crate::metrics::FeedStats;
use crate::net::backoff::Backoff;
use crate::net::link::{Link, Progress, READ_SLICE};
use crate::net::nats::url::{subject_problem, NatsUrl, Scheme};
use crate::net::nats::wire;
use crate::net::nats::{client, NatsConfig, NatsError};
use crate::net::recent::Recent;

/// Messages one pull request asks for.
pub(crate) const BATCH: usize = 256;
/// Messages pushed per poll: the gate is consulted between polls, so a paused feed overshoots
/// `pause_pct` by at most this many.
const PUSH_PER_POLL: usize = 16;
/// Acknowledgements are sent together, at most this many at once (and whenever the received
/// messages are all pushed): one trip into the runtime per 16 messages cost the JetStream path
/// 2 ms of its p50 at 10k/s (`nats_latency`), one per 64 or per burst does not.
const ACK_EVERY: usize = 64;
/// Stream sequences remembered to skip redeliveries.
pub(crate) const SEEN: usize = 1 << 16;
/// A pull request lasts this long before the client renews it; it also bounds how long a lost
/// request (a server restart the client could not report) holds the feed up.
const EXPIRES: Duration = Duration::from_secs(5);

/// Setting the consumer up: the attempt of the feed's [`Link`].
type Setup = Pin<Box<dyn Future<Output = Result<pull::Stream, String>> + Send>>;

/// A JetStream pull consumer as a feed; see the module documentation.
///
/// Dropping it flushes the acknowledgements already given (for at most 200 ms) and closes the
/// connection; messages it held unacknowledged are delivered again to the consumer's next
/// client after `ack_wait`.
pub struct JetStreamFeed {
    name: String,
    stream: String,
    durable: Option<String>,
    filter: Option<String>,
    deliver: DeliverPolicy,
    cfg: NatsConfig,
    rt: tokio::runtime::Runtime,
    nats: async_nats::Client,
    js: jetstream::Context,
    events: Receiver<Event>,
    state: Link<Setup, Box<pull::Stream>>,
    backoff: Backoff,
    stats: Option<FeedStats>,
    /// The stream sequences of the last [`SEEN`] messages handled.
    seen: Recent<u64>,
    /// Received, not yet pushed (the gate may have paused the feed meanwhile).
    pending: VecDeque<(Message, u64)>,
    /// Pushed (or counted), to acknowledge.
    to_ack: Vec<Message>,
    /// Messages in a row the stream ended or failed without delivering anything.
    errors: u32,
}

impl fmt::Debug for JetStreamFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JetStreamFeed")
            .field("name", &self.name)
            .field("durable", &self.durable)
            .finish_non_exhaustive()
    }
}

impl JetStreamFeed {
    /// A feed of `url`; connects at once (and creates the stream when it is missing), unless
    /// `cfg.connect_retry`, which leaves connecting to the background. Parameters: `durable`
    /// (a consumer name: durable, resumes where it left), `deliver` (`new`, the default, or
    /// `all`: where a new consumer starts), `filter` (a subject of the stream, e.g.
    /// `sniffer.launch.*.high`).
    ///
    /// # Errors
    ///
    /// [`NatsError::Url`] for a bad URL or parameter, [`NatsError::Connect`] when no server
    /// answers, [`NatsError::Setup`] when the stream or consumer cannot be created,
    /// [`NatsError::Start`] when the runtime cannot start. Credentials never appear.
    pub fn new(url: &str, cfg: NatsConfig) -> Result<Self, NatsError> {
        let url = NatsUrl::parse(url, &[Scheme::JetStream])?;
        url.check_params(&["durable", "deliver", "filter"])?;
        let stream = url.stream_or(&cfg.stream)?;
        let durable = url.param("durable").map(str::to_owned);
        if let Some(d) = &durable {
            if let Some(why) = stream_name_problem(d) {
                return Err(NatsError::Url(format!("{url}: durable name `{d}` {why}")));
            }
        }
        let deliver = match url.param("deliver") {
            None | Some("new") => DeliverPolicy::New,
            Some("all") => DeliverPolicy::All,
            Some(other) => {
                return Err(NatsError::Url(format!(
                    "{url}: deliver=`{other}` (expected new or all)"
                )))
            }
        };
        let filter = url.param("filter").map(str::to_owned);
        if let Some(f) = &filter {
            if let Some(why) = subject_problem(f) {
                return Err(NatsError::Url(format!("{url}: filter `{f}` {why}")));
            }
        }
        let name = url.to_string();
        let rt = client::runtime("NATS feed")?;
        let (opts, events) = client::options(&url, &cfg, "sniffer-jetstream-feed");
        let nats = rt.block_on(client::connect(&url, opts, cfg.connect_timeout))?;
        let js = client::jetstream(&rt, nats.clone(), &cfg);
        let mut feed = JetStreamFeed {
            backoff: Backoff::new(cfg.backoff_min, cfg.backoff_max),
            name,
            stream,
            durable,
            filter,
            deliver,
            rt,
            nats,
            js,
            events,
            state: Link::new(),
            stats: None,
            seen: Recent::by_count(SEEN),
            pending: VecDeque::new(),
            to_ack: Vec::with_capacity(PUSH_PER_POLL),
            errors: 0,
            cfg,
        };
        if !feed.cfg.connect_retry {
            // Fail now, with the server's reason, rather than retry forever in the background.
            let setup = feed.setup();
            let s = feed
                .rt
                .block_on(setup)
                .map_err(|e| NatsError::Setup(format!("{}: {e}", feed.name)))?;
            feed.state = Link::Up(Box::new(s));
        }
        Ok(feed)
    }

    /// Creates the stream if missing, gets or creates the consumer, opens its pull stream.
    fn setup(&self) -> Setup {
        let js = self.js.clone();
        let cfg = self.cfg.clone();
        let stream = self.stream.clone();
        let durable = self.durable.clone();
        // Resuming after a lost consumer: from the message after the last one handled.
        let deliver = if self.seen.highest() > 0 {
            DeliverPolicy::ByStartSequence {
                start_sequence: self.seen.highest() + 1,
            }
        } else {
            self.deliver
        };
        let config = pull::Config {
            durable_name: durable.clone(),
            deliver_policy: deliver,
            ack_policy: AckPolicy::Explicit,
            ack_wait: cfg.ack_wait,
            filter_subject: self.filter.clone().unwrap_or_default(),
            max_ack_pending: (BATCH * 8) as i64,
            // An ephemeral consumer outlives a short disconnection.
            inactive_threshold: if durable.is_some() {
                Duration::ZERO
            } else {
                Duration::from_secs(60)
            },
            ..Default::default()
        };
        Box::pin(async move {
            client::ensure_stream(&js, &stream, &cfg, false).await?;
            let s = js
                .get_stream(&stream)
                .await
                .map_err(|e| format!("stream {stream}: {e}"))?;
            let consumer: consumer::PullConsumer = match &durable {
                Some(d) => s
                    .get_or_create_consumer(d, config)
                    .await
                    .map_err(|e| format!("consumer {d}: {e}"))?,
                None => s
                    .create_consumer(config)
                    .await
                    .map_err(|e| format!("consumer: {e}"))?,
            };
            consumer
                .stream()
                .max_messages_per_batch(BATCH)
                .expires(EXPIRES)
                .messages()
                .await
                .map_err(|e| format!("pull: {e}"))
        })
    }

    fn stats(&self) -> &FeedStats {
        self.stats.as_ref().expect("attached at the first poll")
    }

    fn events(&mut self) {
        while let Ok(e) = self.events.try_recv() {
            if let Some(s) = &self.stats {
                match e {
                    Event::Connected => s.connected(),
                    Event::Disconnected => s.disconnected(),
                    _ => {}
                }
            }
            client::log_event(&self.name, &e);
        }
    }

    fn down(&mut self, why: &str) {
        let delay = self.backoff.next_delay();
        tracing::warn!(feed = %self.name, retry_in_ms = delay.as_millis() as u64, "{why}");
        self.state = Link::down(delay);
    }

    /// Receives what is ready (waiting up to [`READ_SLICE`] for the first message).
    fn receive(&mut self) -> FeedPoll {
        let Some(messages) = self.state.up_mut() else {
            return FeedPoll::Idle;
        };
        let mut got: Vec<(Message, u64)> = Vec::new();
        let mut trouble: Option<String> = None;
        let mut ended = false;
        self.rt.block_on(async {
            // The client's tasks (the connection, the pull requests) run only when this thread
            // waits; with messages always ready it would not, and the next pull request would
            // leave late (messages then wait on the server). Let them run first.
            tokio::task::yield_now().await;
            // The first message is worth waiting for; after it, only what is already here.
            let mut next = match tokio::time::timeout(READ_SLICE, messages.next()).await {
                Err(_) => return,
                Ok(item) => Some(item),
            };
            while let Some(item) = next {
                match item {
                    None => {
                        ended = true;
                        return;
                    }
                    Some(Ok(m)) => got.push((m, monotonic_ns())),
                    Some(Err(e)) => {
                        trouble = Some(e.to_string());
                        return;
                    }
                }
                if got.len() >= BATCH {
                    return;
                }
                next = client::ready(&mut **messages).await;
            }
        });
        let n = got.len();
        self.pending.extend(got);
        if n > 0 {
            self.errors = 0;
            self.backoff.reset();
        }
        if ended {
            self.down(
                "the consumer's message stream ended (consumer deleted?); setting it up again",
            );
        } else if let Some(e) = trouble {
            // Pull errors come and go with the connection (the client re-issues its request
            // when it reconnects); a run of them without a message means the consumer is gone.
            self.errors += 1;
            tracing::debug!(feed = %self.name, error = %e, "pull stream");
            if self.errors >= 5 {
                self.errors = 0;
                self.stats().stall();
                self.down(&format!(
                    "the pull stream keeps failing ({e}); setting the consumer up again"
                ));
            }
        }
        if n > 0 {
            FeedPoll::Ready
        } else {
            FeedPoll::Idle
        }
    }

    /// Pushes up to [`PUSH_PER_POLL`] received messages; acknowledges what was pushed once
    /// [`ACK_EVERY`] are waiting or the received messages are all pushed.
    fn deliver(&mut self, sink: &mut FeedSink<'_>) {
        for _ in 0..PUSH_PER_POLL {
            let Some((m, recv_ns)) = self.pending.pop_front() else {
                break;
            };
            let Ok(seq) = m.info().map(|i| i.stream_sequence) else {
                // No JetStream reply subject: nothing to acknowledge, nothing to trust.
                sink.tx_seen(1);
                sink.malformed_reason(Malformed::WrongShape);
                continue;
            };
            if self.seen.contains(&seq) {
                self.stats().resumed_skipped();
                self.to_ack.push(m);
                continue;
            }
            sink.tx_seen(1);
            self.stats().message_at(m.payload.len(), recv_ns);
            match wire::decode(&m.payload, recv_ns) {
                // Stored, or counted by the policy: either way settled for this engine.
                Ok(d) => {
                    if !sink.push_decoded(&d, recv_ns) && sink.should_stop() {
                        // Refused by the shutdown (counted in dropped_shutdown): left
                        // unacknowledged, so the consumer's next client gets it again.
                        continue;
                    }
                }
                Err(reason) => sink.malformed_reason(reason),
            }
            self.seen.insert(seq, seq);
            self.to_ack.push(m);
        }
        if self.to_ack.len() < ACK_EVERY && !self.pending.is_empty() {
            return;
        }
        self.flush_acks();
    }

    /// Sends the acknowledgements of everything pushed so far.
    fn flush_acks(&mut self) {
        if self.to_ack.is_empty() {
            return;
        }
        let acks = std::mem::take(&mut self.to_ack);
        let stats = self.stats.clone();
        // The client's queue can stay full while it reconnects: bounded, so that the feed
        // thread always comes back to notice a shutdown.
        let bound = self.cfg.ack_timeout;
        self.rt.block_on(async {
            let mut sent = 0usize;
            let all = async {
                for m in &acks {
                    // A lost acknowledgement means a redelivery, which is skipped above.
                    if m.ack().await.is_err() {
                        if let Some(s) = &stats {
                            s.reply_error();
                        }
                    }
                    sent += 1;
                }
            };
            if tokio::time::timeout(bound, all).await.is_err() {
                tracing::warn!(
                    left = acks.len() - sent,
                    "acknowledgements not sent in time (the server will deliver those again; they are skipped)"
                );
            }
        });
        // Keep the allocation for the next poll.
        self.to_ack = acks;
        self.to_ack.clear();
    }
}

impl Feed for JetStreamFeed {
    fn name(&self) -> &str {
        &self.name
    }

    /// A pull consumer: pausing it loses nothing.
    fn can_wait(&self) -> bool {
        true
    }

    fn poll(&mut self, sink: &mut FeedSink<'_>) -> FeedPoll {
        if self.stats.is_none() {
            // Events from before the first poll (the first connect) are logged only: the
            // connection's state now is what counts.
            self.events();
            self.stats = Some(super::first_stats(&self.nats, sink));
        }
        self.events();
        if !self.pending.is_empty() {
            self.deliver(sink);
            return FeedPoll::Ready;
        }
        if self.state.due(Instant::now()) {
            self.state = Link::connecting(self.setup(), self.cfg.ack_timeout * 3);
            return FeedPoll::Idle;
        }
        if let Some(progress) = self.state.drive(&self.rt) {
            match progress {
                Progress::Done(Ok(s)) => {
                    tracing::info!(feed = %self.name, "consuming");
                    self.state = Link::Up(Box::new(s));
                }
                Progress::Done(Err(e)) => {
                    self.down(&format!("setting up the consumer failed: {e}"))
                }
                Progress::TimedOut => self.down("setting up the consumer timed out"),
                Progress::Pending => {}
            }
            return FeedPoll::Ready;
        }
        // Up (receive and deliver), or down and not due yet (nothing to receive).
        let r = self.receive();
        if !self.pending.is_empty() {
            self.deliver(sink);
        }
        r
    }
}

impl Drop for JetStreamFeed {
    fn drop(&mut self) {
        self.flush_acks();
        let nats = self.nats.clone();
        // The acknowledgements given sit in the client's buffer until its task writes them.
        let _ = self.rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(200), nats.flush()).await
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_forgets_the_oldest_only() {
        let mut s = Recent::by_count(SEEN);
        for seq in 1..=(SEEN as u64 + 1) {
            s.insert(seq, seq);
        }
        assert!(!s.contains(&1));
        assert!(s.contains(&2) && s.contains(&(SEEN as u64 + 1)));
        assert_eq!(s.highest(), SEEN as u64 + 1);
        s.insert(5, 5);
        assert_eq!(s.len(), SEEN);
    }

    #[test]
    fn bad_urls_are_refused_before_connecting() {
        let cfg = NatsConfig::default();
        for (url, needle) in [
            ("nats://h/bad.stream", "stream name"),
            ("nats://h/S?durable=a.b", "durable name"),
            ("nats://h/S?deliver=last", "deliver"),
            ("nats://h/S?filter=a..b", "filter"),
            ("nats://h/S?durabel=x", "unknown parameter"),
            ("nats+core://h/S", "unsupported scheme"),
        ] {
            let e = JetStreamFeed::new(url, cfg.clone()).unwrap_err();
            assert!(matches!(e, NatsError::Url(_)), "{url}: {e:?}");
            assert!(e.to_string().contains(needle), "{url}: {e}");
        }
    }
}
