//! [`CoreNatsFeed`]: launches from a core-NATS subscription,
//! `nats+core://HOST[:PORT][,HOST...]/SUBJECT` (default subject `sniffer.launch.>`).
//!
//! Core NATS pushes messages as they are published and keeps none: this is a **live** source
//! that cannot wait (a subscriber that stops reading is cut off by the server as a slow
//! consumer). The feed keeps reading; when the ring is full the drop policy sheds and counts
//! (under `block`, once its `live_block_timeout` per second is spent). Messages the client
//! itself had to drop (its subscription buffer, 65 536 messages, overflowed) are counted in the
//! feed's `lost` (a lower bound: the client reports them through a bounded event channel).
//! Messages published while the connection is down are not delivered: core NATS is
//! at-most-once; use the JetStream feed for at-least-once.

use std::fmt;

use async_nats::{Event, Subscriber};
use crossbeam_channel::Receiver;
use tokio_stream::StreamExt as _;

use crate::candidate::monotonic_ns;
use crate::feed::{Feed, FeedPoll, FeedSink};
use crate::metrics::FeedStats;
use crate::net::link::READ_SLICE;
use crate::net::nats::url::{subject_problem, NatsUrl, Scheme};
use crate::net::nats::wire::{self, STREAM_SUBJECTS};
use crate::net::nats::{client, NatsConfig, NatsError};

/// Messages handled per poll at most.
const PER_POLL: usize = 256;

/// A core-NATS subscription as a live feed; see the module documentation.
///
/// Dropping it closes the subscription and the connection.
pub struct CoreNatsFeed {
    name: String,
    rt: tokio::runtime::Runtime,
    nats: async_nats::Client,
    sub: Subscriber,
    events: Receiver<Event>,
    stats: Option<FeedStats>,
    /// Messages received in one poll, with their receive times (kept to reuse the allocation).
    batch: Vec<(async_nats::Message, u64)>,
}

impl fmt::Debug for CoreNatsFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoreNatsFeed")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl CoreNatsFeed {
    /// A feed of `url`; connects and subscribes at once, unless `cfg.connect_retry`, which
    /// subscribes now and leaves connecting to the background.
    ///
    /// # Errors
    ///
    /// [`NatsError::Url`] for a bad URL or subject, [`NatsError::Connect`] when no server
    /// answers, [`NatsError::Setup`] when the subscription fails, [`NatsError::Start`] when the
    /// runtime cannot start. Credentials never appear.
    pub fn new(url: &str, cfg: NatsConfig) -> Result<Self, NatsError> {
        let mut url = NatsUrl::parse(url, &[Scheme::Core])?;
        url.check_params(&[])?;
        if url.path.is_empty() {
            url.path = STREAM_SUBJECTS.to_owned();
        }
        if let Some(why) = subject_problem(&url.path) {
            return Err(NatsError::Url(format!("{url}: subject {why}")));
        }
        let name = url.to_string();
        let rt = client::runtime("NATS feed")?;
        let (opts, events) = client::options(&url, &cfg, "sniffer-core-feed");
        let nats = rt.block_on(client::connect(&url, opts, cfg.connect_timeout))?;
        let subject = url.path.clone();
        let sub = rt
            .block_on(nats.subscribe(subject))
            .map_err(|e| NatsError::Setup(format!("{name}: cannot subscribe: {e}")))?;
        if !cfg.connect_retry {
            // A round trip: the server has the subscription when this returns, so nothing
            // published afterwards is missed.
            rt.block_on(async { tokio::time::timeout(cfg.connect_timeout, nats.flush()).await })
                .map_err(|_| {
                    NatsError::Setup(format!("{name}: the subscription was not confirmed"))
                })?
                .map_err(|e| NatsError::Setup(format!("{name}: cannot subscribe: {e}")))?;
        }
        Ok(CoreNatsFeed {
            name,
            rt,
            nats,
            sub,
            events,
            stats: None,
            batch: Vec::with_capacity(PER_POLL),
        })
    }

    fn events(&mut self) {
        while let Ok(e) = self.events.try_recv() {
            if let Some(s) = &self.stats {
                match e {
                    Event::Connected => s.connected(),
                    Event::Disconnected => s.disconnected(),
                    Event::SlowConsumer(_) => s.lost(1),
                    _ => {}
                }
            }
            client::log_event(&self.name, &e);
        }
    }
}

impl Feed for CoreNatsFeed {
    fn name(&self) -> &str {
        &self.name
    }

    /// A live subscription: the server cuts off a subscriber that stops reading.
    fn can_wait(&self) -> bool {
        false
    }

    fn poll(&mut self, sink: &mut FeedSink<'_>) -> FeedPoll {
        if self.stats.is_none() {
            // Events from before the first poll (the first connect) are logged only: the
            // connection's state now is what counts.
            self.events();
            self.stats = Some(super::first_stats(&self.nats, sink));
        }
        self.events();
        let sub = &mut self.sub;
        let batch = &mut self.batch;
        let mut closed = false;
        self.rt.block_on(async {
            // The first message is worth waiting for; after it, only what is already here.
            let mut next = match tokio::time::timeout(READ_SLICE, sub.next()).await {
                Err(_) => return,
                Ok(item) => Some(item),
            };
            while let Some(item) = next {
                match item {
                    Some(m) => batch.push((m, monotonic_ns())),
                    None => {
                        closed = true;
                        return;
                    }
                }
                if batch.len() >= PER_POLL {
                    return;
                }
                next = client::ready(sub).await;
            }
        });
        let n = self.batch.len();
        for (m, recv_ns) in self.batch.drain(..) {
            sink.tx_seen(1);
            if let Some(s) = &self.stats {
                s.message_at(m.payload.len(), recv_ns);
            }
            match wire::decode(&m.payload, recv_ns) {
                Ok(d) => {
                    sink.push_decoded(&d, recv_ns);
                }
                Err(reason) => sink.malformed_reason(reason),
            }
        }
        if closed {
            // The client closed the subscription (it gave up reconnecting): nothing more comes.
            tracing::error!(feed = %self.name, "the subscription closed; this feed ends");
            return FeedPoll::Finished;
        }
        if n > 0 {
            FeedPoll::Ready
        } else {
            FeedPoll::Idle
        }
    }
}
