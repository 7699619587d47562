//! [`ShredFeed`]: a live Jito ShredStream feed, `shred://HOST:PORT` or `shreds://...` (TLS,
//! webpki roots plus `tls_ca_file`): a ShredStream proxy's `ShredstreamProxy/SubscribeEntries`
//! (`proto.rs`), on the feed thread with a small current-thread tokio runtime of its own, as the
//! Yellowstone feed (`geyser.rs`) runs.
//!
//! The proxy streams the block's entries as the leader's shreds arrive, before the transactions
//! execute: each message is one slot's `Vec<Entry>` in bincode (`decode::entries`), each
//! transaction its wire form, decoded by [`Decoder::decode_unexecuted`](crate::decode::Decoder)
//! from its instructions alone. There are no logs, no meta and no execution result: every launch
//! is marked `executed: false` (it may yet fail), and a v0 transaction's address-table keys are
//! not in the entry. A launch whose identity (mint, market, creator) is a static key or a
//! program address is delivered with the table-loaded accounts left zero; one that cannot be
//! identified without the tables is counted in `tx_malformed_by_reason{reason=
//! "unresolved_lookup"}`, never guessed. Every transaction of every entry counts in `tx_seen`
//! (votes included: the entries carry the whole block).
//!
//! Staying connected is the gRPC feed's: the network layer's `Link`, `net::grpc` for the
//! channel; no entry for `stall_timeout` counts a stall and reconnects; reconnects back off
//! with jitter (longer after `Unauthenticated`, `PermissionDenied` or `ResourceExhausted`).
//! The proxy cannot resume: what it streamed while we were away is lost, and what it streams
//! twice (a reconnect that overlaps, a proxy fed by two regions) is skipped by signature (a
//! `net::recent` window of [`SEEN_SLOTS`] slots over the transactions that held a launch or an
//! unresolved one), counted in `resumed_skipped`, so a launch is never delivered twice.
//! Busy-polling (the `busy_poll` key), a poll reads the stream without waiting on the runtime,
//! as the gRPC feed's does (`net::link::read_slice`).

mod proto;

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tonic::{Code, Status, Streaming};

use super::line_feed::Delivery;
use super::{DecodeObserver, Feed, FeedPoll, FeedSink};
use crate::ca_file::CaFile;
use crate::candidate::monotonic_ns;
use crate::config::SnifferConfig;
use crate::decode::entries::EntryReader;
use crate::decode::{Decoded, Decoder, DecoderConfig, Malformed};
use crate::metrics::FeedStats;
use crate::net::backoff::Backoff;
use crate::net::endpoint::{Endpoint, EndpointError};
use crate::net::grpc;
use crate::net::link::{read_slice, Link, Progress};
use crate::net::recent::Recent;
use crate::net::tls;

/// Slots of signatures kept to skip what the proxy sends twice.
const SEEN_SLOTS: u64 = 64;
/// Most signatures kept (only transactions with a launch are remembered).
const SEEN_MAX: usize = 1 << 16;
/// HTTP/2 receive window of the subscription's stream (bytes).
const STREAM_WINDOW: u32 = 4 << 20;
/// HTTP/2 receive window of the connection (bytes).
const CONNECTION_WINDOW: u32 = 8 << 20;
/// Largest message accepted from the proxy (one slot's entries; tonic's default is 4 MiB).
const MAX_MESSAGE: usize = 64 << 20;
const SCHEMES: &[(&str, bool, u16)] = &[("shred", false, 9999), ("shreds", true, 443)];

/// Settings of one ShredStream feed.
#[derive(Clone, Debug)]
pub struct ShredConfig {
    /// Silence (no entry) that counts a stall and reconnects.
    pub stall_timeout: Duration,
    /// First reconnect delay.
    pub backoff_min: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// Longest time to connect and subscribe.
    pub connect_timeout: Duration,
    /// A PEM file of root certificates trusted beside the webpki roots (the `tls_ca_file` key),
    /// read when the feed is built.
    pub ca_file: Option<PathBuf>,
}

impl Default for ShredConfig {
    fn default() -> Self {
        ShredConfig::from(&SnifferConfig::default())
    }
}

impl From<&SnifferConfig> for ShredConfig {
    /// The engine's live-feed keys and a 10 s connect timeout.
    fn from(c: &SnifferConfig) -> Self {
        ShredConfig {
            stall_timeout: c.feed_stall_timeout,
            backoff_min: c.reconnect_backoff_min,
            backoff_max: c.reconnect_backoff_max,
            connect_timeout: Duration::from_secs(10),
            ca_file: c.tls_ca_file.clone(),
        }
    }
}

/// Why a ShredStream feed could not be set up (before any connection is tried).
#[derive(Debug)]
pub struct ShredError(String);

impl fmt::Display for ShredError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ShredError {}

impl From<EndpointError> for ShredError {
    fn from(e: EndpointError) -> Self {
        ShredError(e.0)
    }
}

/// A connection being made: on failure, which step failed and why.
type Connecting =
    Pin<Box<dyn Future<Output = Result<Streaming<proto::Entry>, (&'static str, Status)>> + Send>>;

struct Session {
    entries: Streaming<proto::Entry>,
    last_data: Instant,
    got_data: bool,
}

/// A live ShredStream feed; see the module documentation.
///
/// Dropping it closes the stream and its runtime (no thread of its own).
pub struct ShredFeed {
    endpoint: Endpoint,
    cfg: ShredConfig,
    rt: tokio::runtime::Runtime,
    conn: Link<Connecting, Box<Session>>,
    backoff: Backoff,
    stats: Option<FeedStats>,
    delivery: Delivery,
    seen: Recent<[u8; 64]>,
    /// The `tls_ca_file` roots, for `shreds://`.
    ca: Option<Arc<CaFile>>,
    /// Busy-polling (see [`Feed::set_busy_poll`]): a read never waits on the runtime.
    busy: bool,
}

impl fmt::Debug for ShredFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShredFeed")
            .field("endpoint", &self.endpoint)
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl ShredFeed {
    /// A feed of `url` (`shred://HOST:PORT` or `shreds://HOST[:PORT]`); nothing connects until
    /// the first poll.
    ///
    /// # Errors
    ///
    /// [`ShredError`] for a bad URL (the message never repeats its path, query or credentials),
    /// an unreadable `tls_ca_file`, or a runtime that cannot start.
    pub fn new(url: &str, cfg: ShredConfig, decoder: DecoderConfig) -> Result<Self, ShredError> {
        let endpoint = Endpoint::parse(url, SCHEMES)?;
        let ca = match (&cfg.ca_file, endpoint.tls) {
            (Some(path), true) => Some(tls::ca_file(path).map_err(ShredError)?),
            _ => None,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ShredError(format!("cannot start the feed's runtime: {e}")))?;
        Ok(ShredFeed {
            delivery: Delivery::new(endpoint.to_string(), decoder),
            backoff: Backoff::new(cfg.backoff_min, cfg.backoff_max),
            endpoint,
            cfg,
            rt,
            conn: Link::new(),
            stats: None,
            seen: Recent::by_window(SEEN_SLOTS, SEEN_MAX),
            ca,
            busy: false,
        })
    }

    /// Calls `observer` after every transaction that held a launch (see [`DecodeObserver`]).
    pub fn with_observer(mut self, observer: DecodeObserver) -> Self {
        self.delivery.set_observer(observer);
        self
    }

    fn stats(&self) -> &FeedStats {
        self.stats.as_ref().expect("attached at the first poll")
    }

    fn start_connect(&mut self) {
        let authorization = grpc::basic_authorization(&self.endpoint);
        // HTTP/2 windows far above a burst of messages: the server never waits for our
        // WINDOW_UPDATE (hyper's default 64 KiB stream window holds a handful of updates).
        let ep =
            grpc::channel_endpoint(&self.endpoint, self.cfg.connect_timeout, self.ca.as_deref())
                .map(|ep| {
                    ep.initial_stream_window_size(Some(STREAM_WINDOW))
                        .initial_connection_window_size(Some(CONNECTION_WINDOW))
                });
        let teller = grpc::Teller::new(&self.endpoint);
        let fut = async move {
            let channel = ep?
                .connect()
                .await
                .map_err(|e| ("connect failed", Status::unavailable(teller.tell(&e))))?;
            proto::subscribe_entries(channel, authorization, MAX_MESSAGE)
                .await
                .map_err(|status| ("subscribe failed", teller.status(status)))
        };
        self.conn = Link::connecting(Box::pin(fut), self.cfg.connect_timeout);
    }

    fn down(&mut self, delay: Duration) {
        if let Some(s) = &self.stats {
            s.disconnected();
        }
        self.conn = Link::down(delay);
    }

    fn fail(&mut self, what: &str, status: &Status) {
        let refused = matches!(
            status.code(),
            Code::Unauthenticated | Code::PermissionDenied | Code::ResourceExhausted
        );
        // Status messages come from the server or the transport (the URL's path taken out).
        let message: String = status
            .message()
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let delay = if refused {
            if let Some(s) = &self.stats {
                s.refused();
            }
            self.backoff.refused_delay(None)
        } else {
            self.backoff.next_delay()
        };
        let retry_in_ms = delay.as_millis() as u64;
        tracing::warn!(feed = %self.delivery.name, code = ?status.code(), error = %message, retry_in_ms, refused, "{what}");
        self.down(delay);
    }

    /// Where a connection attempt has come: still under way, timed out, failed, or subscribed.
    fn on_progress(&mut self, progress: Progress<<Connecting as Future>::Output>) {
        match progress {
            Progress::Pending => {}
            Progress::TimedOut => {
                self.stats().connect_failed();
                self.fail("connect timed out", &Status::deadline_exceeded("no answer"));
            }
            Progress::Done(Ok(entries)) => {
                tracing::info!(feed = %self.delivery.name, "connected");
                self.stats().connected();
                self.conn = Link::Up(Box::new(Session {
                    entries,
                    last_data: Instant::now(),
                    got_data: false,
                }));
            }
            Progress::Done(Err((what, status))) => {
                self.stats().connect_failed();
                self.fail(what, &status);
            }
        }
    }

    /// One message: a slot's entries, every transaction decoded and its launches delivered.
    fn on_entries(&mut self, sink: &mut FeedSink<'_>, msg: &proto::Entry) {
        let recv_ns = monotonic_ns();
        if let Some(s) = self.conn.up_mut() {
            s.last_data = Instant::now();
            if !s.got_data {
                s.got_data = true;
                self.backoff.reset();
            }
        }
        self.stats().message_at(msg.entries.len(), recv_ns);
        let mut entries = match EntryReader::new(&msg.entries) {
            Ok(r) => r,
            Err(m) => {
                sink.tx_seen(1);
                sink.malformed_reason(m);
                return;
            }
        };
        loop {
            let rest = match entries.next_tx() {
                Ok(Some(rest)) => rest,
                Ok(None) => return,
                Err(m) => {
                    sink.tx_seen(1);
                    sink.malformed_reason(m);
                    return;
                }
            };
            // A transaction that does not parse hides where the next one starts: the rest of
            // the message is lost with it (counted once).
            let Some(len) = self.on_transaction(sink, msg.slot, rest, recv_ns) else {
                return;
            };
            entries.advance(len);
        }
    }

    /// Decodes and delivers the transaction at the start of `rest`; returns its length.
    fn on_transaction(
        &mut self,
        sink: &mut FeedSink<'_>,
        slot: u64,
        rest: &[u8],
        now: u64,
    ) -> Option<usize> {
        let d = &mut self.delivery;
        d.out.clear();
        let u = match d.decoder.decode_unexecuted(slot, rest, &mut d.out) {
            Ok(u) => u,
            Err(m) => {
                sink.tx_seen(1);
                sink.malformed_reason(m);
                return None;
            }
        };
        if u.launches == 0 && d.decoder.last_skipped().is_empty() {
            sink.tx_seen(1);
            return Some(u.len);
        }
        if self.seen.contains(&u.signature.0) {
            self.stats().resumed_skipped();
            return Some(u.len);
        }
        self.seen.insert(u.signature.0, slot);
        sink.tx_seen(1);
        self.delivery.deliver(sink, now);
        Some(u.len)
    }
}

/// Decodes every transaction of one ShredStream message's `entries` (the bincode of
/// `Vec<Entry>`) the way [`ShredFeed`] does, from the instructions alone, without a connection,
/// de-duplication or delivery: their launches (`executed: false`) are appended to `out` and
/// counted. For benchmarks and offline tools (`bench/sdk-baseline --decode` compares it with the
/// public SDK's parser on the same bytes).
///
/// # Errors
///
/// The entries' and the wire format's reasons ([`Malformed::BorshLength`],
/// [`Malformed::TruncatedData`], [`Malformed::BadWire`], ...): a transaction that does not parse
/// hides where the next one starts, so nothing after it is read.
pub fn decode_shred_entries(
    decoder: &mut Decoder,
    slot: u64,
    entries: &[u8],
    out: &mut Vec<Decoded>,
) -> Result<usize, Malformed> {
    let mut reader = EntryReader::new(entries)?;
    let mut found = 0;
    while let Some(rest) = reader.next_tx()? {
        let u = decoder.decode_unexecuted(slot, rest, out)?;
        found += u.launches;
        reader.advance(u.len);
    }
    Ok(found)
}

impl Feed for ShredFeed {
    fn name(&self) -> &str {
        &self.delivery.name
    }

    fn can_wait(&self) -> bool {
        false
    }

    fn poll(&mut self, sink: &mut FeedSink<'_>) -> FeedPoll {
        if self.stats.is_none() {
            let s = sink.stats();
            s.disconnected();
            self.stats = Some(s);
        }
        let now = Instant::now();
        if self.conn.due(now) {
            self.start_connect();
            return FeedPoll::Idle;
        }
        if let Some(progress) = self.conn.drive(&self.rt) {
            self.on_progress(progress);
            return FeedPoll::Ready;
        }
        let Some(s) = self.conn.up_mut() else {
            return FeedPoll::Idle;
        };
        if now.duration_since(s.last_data) >= self.cfg.stall_timeout {
            self.stats().stall();
            tracing::warn!(feed = %self.delivery.name, "no entry: stalled; reconnecting");
            let delay = self.backoff.next_delay();
            self.down(delay);
            return FeedPoll::Ready;
        }
        match read_slice(&self.rt, self.busy, s.entries.message()) {
            None if self.busy => return FeedPoll::Idle,
            None => {}
            Some(Ok(Some(msg))) => self.on_entries(sink, &msg),
            Some(Ok(None)) => self.fail(
                "the proxy ended the stream",
                &Status::unavailable("end of stream"),
            ),
            Some(Err(status)) => self.fail("stream error", &status),
        }
        FeedPoll::Ready
    }

    fn set_busy_poll(&mut self) {
        self.busy = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_never_echoed() {
        let feed = ShredFeed::new(
            "shreds://user:hunter2@h.example/secret-path",
            ShredConfig::default(),
            DecoderConfig::default(),
        )
        .unwrap();
        let shown = format!("{feed:?} {}", feed.name());
        assert!(
            !shown.contains("hunter2") && !shown.contains("secret-path"),
            "{shown}"
        );
        assert_eq!(feed.name(), "shreds://h.example:443/…");
        let e = ShredFeed::new(
            "grpc://h/secret",
            ShredConfig::default(),
            DecoderConfig::default(),
        )
        .unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
        let plain = ShredFeed::new(
            "shred://127.0.0.1",
            ShredConfig::default(),
            DecoderConfig::default(),
        );
        assert_eq!(plain.unwrap().name(), "shred://127.0.0.1:9999");
    }
}
