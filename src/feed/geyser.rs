//! [`GeyserFeed`]: a live Yellowstone gRPC (Geyser) feed, `grpc://HOST:PORT` or `grpcs://...`
//! (rustls, webpki roots; `grpc+http://`, `grpc+https://`, and `http://`, `https://` as
//! providers write them), on its feed thread with a small current-thread tokio runtime of its
//! own (tonic needs one; nothing else in the engine does).
//!
//! Compression ([`GeyserConfig::compression`], or `?compression=zstd|gzip|none` on the URL):
//! the feed tells the server it accepts that encoding (`grpc-accept-encoding`), and a server
//! that offers it compresses the updates it streams. The feed's own requests (the subscription,
//! the pings' answers) are a few hundred bytes and go uncompressed, which every server takes.
//!
//! It subscribes to transactions that mention the launch programs (pump.fun, PumpSwap, Raydium
//! AMM v4; `vote: false`, `failed: false`, commitment `processed` by default), with the
//! `x-token` header from [`GeyserConfig::x_token`] (the CLI reads `SNIFFER_X_TOKEN`; the token
//! is never displayed), and the URL's `user:pass@`, if any, as `authorization: Basic ...`
//! metadata (percent-decoded; never displayed either). Each `SubscribeUpdateTransaction` goes
//! through [`Decoder::begin_parsed`](crate::decode::Decoder::begin_parsed) (static keys, loaded
//! addresses, outer and inner instructions, logs, `err`) into the same detection rules as the
//! JSON formats, read in place from the bytes tonic received (`wire.rs`: no prost types, no
//! allocation per key, instruction or log line); an update that does not parse is counted
//! malformed (`wrong_shape`, `not_utf8`) and the stream goes on.
//!
//! Staying connected (the connection's state is the network layer's `Link`, its attempt a
//! future on the feed's runtime): the server's pings are answered on the request stream; no
//! transaction for `stall_timeout` counts a stall and reconnects; reconnects back off with
//! jitter (longer after `Unauthenticated`, `PermissionDenied` or `ResourceExhausted`). A
//! reconnect resumes with `from_slot` a couple of slots before the highest slot seen, and every
//! transaction whose signature was already handled in those slots (a `net::recent` window of
//! [`SEEN_SLOTS`] slots) is skipped (counted in `resumed_skipped`), so a transaction is never
//! delivered twice; a server that refuses `from_slot` is resubscribed without it (and says so).
//!
//! Each poll waits for the next update on the runtime for at most a short slice; busy-polling
//! (the `busy_poll` key) it does not wait: the runtime takes one turn without blocking (its
//! connection task, its I/O driver polled with a zero timeout), the stream is polled, and a
//! poll with nothing there is `Idle` (the engine yields the core and polls again).
//!
//! Recording (`--record`) renders each transaction as a `getTransaction` line in the `json`
//! encoding, which the JSON decoder turns into the same launches: a gRPC session replays with
//! `--feed replay:PATH`.

mod wire;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prost::bytes::{Buf as _, Bytes};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::AsciiMetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::Channel;
use tonic::{Code, Status, Streaming};
use yellowstone_grpc_proto::geyser::{
    CommitmentLevel, SubscribeRequest, SubscribeRequestFilterTransactions, SubscribeRequestPing,
    SubscribeUpdateTransaction,
};

use super::line_feed::Delivery;
use super::{Feed, FeedPoll, FeedSink};
use crate::ca_file::CaFile;
use crate::candidate::monotonic_ns;
use crate::candidate::Pubkey;
use crate::config::{Commitment, Compression, SnifferConfig};
use crate::decode::{Decoded, Decoder, DecoderConfig, Malformed};
use crate::feed::DecodeObserver;
use crate::metrics::FeedStats;
use crate::net::backoff::Backoff;
use crate::net::endpoint::{Endpoint, EndpointError};
use crate::net::grpc;
use crate::net::link::{read_slice, Link, Progress};
use crate::net::recent::Recent;
use crate::net::tls;
use wire::{Fields, Update};

/// Slots before the highest one seen that a reconnect asks the server to replay.
const RESUME_SLACK: u64 = 2;
/// Slots of signatures kept to skip what a resumed subscription replays.
const SEEN_SLOTS: u64 = 64;
/// Most signatures kept (far above what the launch programs see in [`SEEN_SLOTS`] slots): the
/// window's memory stays bounded whatever the server sends.
const SEEN_MAX: usize = 1 << 18;
/// HTTP/2 receive window of the subscription's stream (bytes).
const STREAM_WINDOW: u32 = 4 << 20;
/// HTTP/2 receive window of the connection (bytes).
const CONNECTION_WINDOW: u32 = 8 << 20;
/// Largest update accepted from the server (tonic's default is 4 MiB).
const MAX_MESSAGE: usize = 64 << 20;
const SCHEMES: &[(&str, bool, u16)] = &[
    ("grpc", false, 10000),
    ("grpcs", true, 443),
    ("grpc+http", false, 80),
    ("grpc+https", true, 443),
    ("http", false, 80),
    ("https", true, 443),
];

/// Settings of one gRPC feed.
#[derive(Clone)]
pub struct GeyserConfig {
    /// Accounts a transaction must mention (`account_include`); default: the launch programs.
    pub accounts: Vec<Pubkey>,
    /// Commitment of the subscription.
    pub commitment: Commitment,
    /// The `x-token` header (never displayed).
    pub x_token: Option<String>,
    /// The compression asked of the server (a URL's `?compression=` sets it too).
    pub compression: Compression,
    /// Silence (no transaction) that counts a stall and reconnects.
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

impl fmt::Debug for GeyserConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeyserConfig")
            .field("accounts", &self.accounts)
            .field("commitment", &self.commitment)
            .field("x_token", &self.x_token.as_ref().map(|_| "<redacted>"))
            .field("compression", &self.compression)
            .field("stall_timeout", &self.stall_timeout)
            .finish_non_exhaustive()
    }
}

impl Default for GeyserConfig {
    fn default() -> Self {
        GeyserConfig::from(&SnifferConfig::default())
    }
}

impl From<&SnifferConfig> for GeyserConfig {
    /// The engine's live-feed keys, the `launchpads` programs, no token, a 10 s connect timeout.
    fn from(c: &SnifferConfig) -> Self {
        GeyserConfig {
            accounts: c.launchpads.programs().map(|p| p.id()).collect(),
            commitment: c.commitment,
            x_token: None,
            compression: Compression::None,
            stall_timeout: c.feed_stall_timeout,
            backoff_min: c.reconnect_backoff_min,
            backoff_max: c.reconnect_backoff_max,
            connect_timeout: Duration::from_secs(10),
            ca_file: c.tls_ca_file.clone(),
        }
    }
}

/// Why a gRPC feed could not be set up (before any connection is tried).
#[derive(Debug)]
pub struct GeyserError(String);

impl fmt::Display for GeyserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GeyserError {}

impl From<EndpointError> for GeyserError {
    fn from(e: EndpointError) -> Self {
        GeyserError(e.0)
    }
}

/// The compression of a URL's `?compression=asked`, which must agree with the configured
/// one when that is not `none`.
fn url_compression(asked: &str, configured: Compression) -> Result<Compression, GeyserError> {
    let c: Compression = asked.parse().map_err(|why| {
        let shown = if asked.len() <= 16 && asked.chars().all(|c| c.is_ascii_alphanumeric()) {
            asked
        } else {
            "…"
        };
        GeyserError(format!("?compression={shown}: {why}"))
    })?;
    if configured != Compression::None && c != configured {
        return Err(GeyserError(format!(
            "?compression={} in the URL but compression = {} in the configuration",
            c.as_str(),
            configured.as_str()
        )));
    }
    Ok(c)
}

/// The tonic encoding of `c` (`None` for no compression).
fn encoding(c: Compression) -> Option<CompressionEncoding> {
    match c {
        Compression::None => None,
        Compression::Gzip => Some(CompressionEncoding::Gzip),
        Compression::Zstd => Some(CompressionEncoding::Zstd),
    }
}

/// Adds the `x-token` header, and the URL's `user:pass@` as basic authentication, to every
/// request (both marked sensitive: never logged by the transport).
#[derive(Clone)]
struct Credentials {
    x_token: Option<AsciiMetadataValue>,
    basic: Option<AsciiMetadataValue>,
}

impl Interceptor for Credentials {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(t) = &self.x_token {
            req.metadata_mut().insert("x-token", t.clone());
        }
        if let Some(b) = &self.basic {
            req.metadata_mut().insert("authorization", b.clone());
        }
        Ok(req)
    }
}

/// `geyser.Geyser/Subscribe`, called through tonic's generic client with [`UpdateCodec`].
const SUBSCRIBE: &str = "/geyser.Geyser/Subscribe";

/// The subscription's codec: requests encoded by prost, updates handed over as the bytes
/// received (read in place by `wire.rs`).
#[derive(Debug, Default)]
struct UpdateCodec;

/// Hands over a received message's bytes (no copy: tonic's buffer is split off).
#[derive(Debug)]
struct RawDecoder;

impl tonic::codec::Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        let n = src.remaining();
        Ok(Some(src.copy_to_bytes(n)))
    }
}

/// Encodes the subscription and the pings' answers.
#[derive(Debug)]
struct RequestEncoder;

impl Encoder for RequestEncoder {
    type Item = SubscribeRequest;
    type Error = Status;

    fn encode(&mut self, item: SubscribeRequest, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        prost::Message::encode(&item, dst).map_err(|e| Status::internal(e.to_string()))
    }
}

impl Codec for UpdateCodec {
    type Encode = SubscribeRequest;
    type Decode = Bytes;
    type Encoder = RequestEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> RequestEncoder {
        RequestEncoder
    }

    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

type Client = tonic::client::Grpc<InterceptedService<Channel, Credentials>>;
type Connected = (mpsc::Sender<SubscribeRequest>, Streaming<Bytes>);
/// A connection being made: on failure, which step failed and why.
type Connecting = Pin<Box<dyn Future<Output = Result<Connected, (&'static str, Status)>> + Send>>;

struct Session {
    requests: mpsc::Sender<SubscribeRequest>,
    updates: Streaming<Bytes>,
    last_data: Instant,
    got_data: bool,
}

/// Signatures handled in the last [`SEEN_SLOTS`] slots (by slot), to skip what a resume
/// replays.
fn seen_table() -> Recent<[u8; 64]> {
    Recent::by_window(SEEN_SLOTS, SEEN_MAX)
}

/// A live Yellowstone gRPC feed; see the module documentation.
///
/// Dropping it closes the stream and its runtime (no thread of its own).
pub struct GeyserFeed {
    endpoint: Endpoint,
    cfg: GeyserConfig,
    rt: tokio::runtime::Runtime,
    conn: Link<Connecting, Box<Session>>,
    backoff: Backoff,
    stats: Option<FeedStats>,
    delivery: Delivery,
    seen: Recent<[u8; 64]>,
    /// The server accepted `from_slot` (until it refuses it once).
    from_slot_ok: bool,
    /// Reconnecting: resume from this slot.
    resume_from: Option<u64>,
    line: Vec<u8>,
    /// The `tls_ca_file` roots, for `grpcs://`.
    ca: Option<Arc<CaFile>>,
    /// Busy-polling (see [`Feed::set_busy_poll`]): a read never waits on the runtime.
    busy: bool,
}

impl fmt::Debug for GeyserFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeyserFeed")
            .field("endpoint", &self.endpoint)
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl GeyserFeed {
    /// A feed of `url` (`grpc://HOST:PORT`, `grpcs://HOST[:PORT]`, `grpc+http(s)://` or
    /// `http(s)://`, with an optional `?compression=zstd|gzip|none`); nothing connects until
    /// the first poll.
    ///
    /// # Errors
    ///
    /// [`GeyserError`] for a bad URL (the message never repeats its path, query or
    /// credentials), a `?compression=` unknown or at odds with `cfg.compression`, a token that is not a valid header value, no accounts, or a runtime that
    /// cannot start.
    pub fn new(
        url: &str,
        mut cfg: GeyserConfig,
        decoder: DecoderConfig,
    ) -> Result<Self, GeyserError> {
        let mut endpoint = Endpoint::parse(url, SCHEMES)?;
        if let Some(asked) = endpoint.take_param("compression") {
            cfg.compression = url_compression(&asked, cfg.compression)?;
        }
        if cfg.accounts.is_empty() {
            return Err(GeyserError("no accounts to subscribe to".into()));
        }
        if let Some(t) = &cfg.x_token {
            t.parse::<AsciiMetadataValue>()
                .map_err(|_| GeyserError("the x-token is not a valid header value".into()))?;
        }
        // The private roots are checked now (read once per process): a bad file fails here,
        // not at each connect.
        let ca = match (&cfg.ca_file, endpoint.tls) {
            (Some(path), true) => Some(tls::ca_file(path).map_err(GeyserError)?),
            _ => None,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| GeyserError(format!("cannot start the feed's runtime: {e}")))?;
        Ok(GeyserFeed {
            delivery: Delivery::new(endpoint.to_string(), decoder),
            backoff: Backoff::new(cfg.backoff_min, cfg.backoff_max),
            endpoint,
            cfg,
            rt,
            conn: Link::new(),
            stats: None,
            seen: seen_table(),
            from_slot_ok: true,
            resume_from: None,
            line: Vec::new(),
            ca,
            busy: false,
        })
    }

    /// Calls `observer` after every transaction that decoded (see [`DecodeObserver`]).
    pub fn with_observer(mut self, observer: DecodeObserver) -> Self {
        self.delivery.set_observer(observer);
        self
    }

    /// Also records every transaction, as a `getTransaction` JSON line with its receive time,
    /// to `path` (truncated first): `--feed replay:PATH` replays the session.
    ///
    /// # Errors
    ///
    /// The I/O error when the file cannot be created.
    pub fn record_to(mut self, path: &Path) -> std::io::Result<Self> {
        self.delivery.record_to(path)?;
        Ok(self)
    }

    fn stats(&self) -> &FeedStats {
        self.stats.as_ref().expect("attached at the first poll")
    }

    fn request(&self) -> SubscribeRequest {
        let filter = SubscribeRequestFilterTransactions {
            vote: Some(false),
            failed: Some(false),
            account_include: self.cfg.accounts.iter().map(Pubkey::to_string).collect(),
            ..Default::default()
        };
        let commitment = match self.cfg.commitment {
            Commitment::Processed => CommitmentLevel::Processed,
            Commitment::Confirmed => CommitmentLevel::Confirmed,
            Commitment::Finalized => CommitmentLevel::Finalized,
        };
        SubscribeRequest {
            transactions: HashMap::from([("sniffer".to_owned(), filter)]),
            commitment: Some(commitment as i32),
            from_slot: self.resume_from.filter(|_| self.from_slot_ok),
            ..Default::default()
        }
    }

    fn start_connect(&mut self) {
        let credentials = Credentials {
            x_token: self.cfg.x_token.as_deref().and_then(grpc::sensitive),
            basic: grpc::basic_authorization(&self.endpoint),
        };
        let request = self.request();
        // HTTP/2 windows far above a burst of messages: the server never waits for our
        // WINDOW_UPDATE (hyper's default 64 KiB stream window holds a handful of updates).
        let ep =
            grpc::channel_endpoint(&self.endpoint, self.cfg.connect_timeout, self.ca.as_deref())
                .map(|ep| {
                    ep.initial_stream_window_size(Some(STREAM_WINDOW))
                        .initial_connection_window_size(Some(CONNECTION_WINDOW))
                });
        let teller = grpc::Teller::new(&self.endpoint);
        let accept = encoding(self.cfg.compression);
        let fut = async move {
            let channel = ep?
                .connect()
                .await
                .map_err(|e| ("connect failed", Status::unavailable(teller.tell(&e))))?;
            let mut client: Client =
                tonic::client::Grpc::new(InterceptedService::new(channel, credentials))
                    .max_decoding_message_size(MAX_MESSAGE);
            if let Some(enc) = accept {
                client = client.accept_compressed(enc);
            }
            let (tx, rx) = mpsc::channel(16);
            tx.send(request).await.map_err(|_| {
                (
                    "subscribe failed",
                    Status::internal("request stream closed"),
                )
            })?;
            client.ready().await.map_err(|e| {
                let status = Status::unavailable(format!("service was not ready: {e}"));
                ("subscribe failed", teller.status(status))
            })?;
            let path = PathAndQuery::from_static(SUBSCRIBE);
            let updates = client
                .streaming(
                    tonic::Request::new(ReceiverStream::new(rx)),
                    path,
                    UpdateCodec,
                )
                .await
                .map_err(|status| ("subscribe failed", teller.status(status)))?
                .into_inner();
            Ok((tx, updates))
        };
        self.conn = Link::connecting(Box::pin(fut), self.cfg.connect_timeout);
    }

    fn down(&mut self, delay: Duration) {
        if let Some(s) = &self.stats {
            s.disconnected();
        }
        // Resume where this connection left off.
        if self.seen.highest() > 0 {
            self.resume_from = Some(self.seen.highest().saturating_sub(RESUME_SLACK));
        }
        self.conn = Link::down(delay);
    }

    fn fail(&mut self, what: &str, status: &Status) {
        let refused = matches!(
            status.code(),
            Code::Unauthenticated | Code::PermissionDenied | Code::ResourceExhausted
        );
        if status.code() == Code::InvalidArgument && self.from_slot_ok && self.resume_from.is_some()
        {
            self.from_slot_ok = false;
            tracing::warn!(feed = %self.delivery.name, "the server refused from_slot; resubscribing without it (transactions sent while disconnected are lost)");
            self.down(Duration::ZERO);
            return;
        }
        // Status messages come from the server or the transport; they never hold our token.
        let message: String = status
            .message()
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        if refused {
            if let Some(s) = &self.stats {
                s.refused();
            }
            let delay = self.backoff.refused_delay(None);
            tracing::warn!(feed = %self.delivery.name, code = ?status.code(), error = %message, retry_in_ms = delay.as_millis() as u64, "{what}: refused (check the x-token / plan limits); backing off");
            self.down(delay);
        } else {
            let delay = self.backoff.next_delay();
            tracing::warn!(feed = %self.delivery.name, code = ?status.code(), error = %message, retry_in_ms = delay.as_millis() as u64, "{what}");
            self.down(delay);
        }
    }

    /// Decodes one transaction update (`SubscribeUpdateTransaction`'s bytes) and delivers it.
    fn on_transaction(&mut self, sink: &mut FeedSink<'_>, bytes: &[u8], now: u64) {
        let t = match wire::transaction(bytes) {
            Ok(wire::Tx {
                slot,
                info: Some(info),
            }) => (slot, info),
            Ok(_) => {
                sink.tx_seen(1);
                sink.malformed_reason(Malformed::WrongShape);
                return;
            }
            Err(m) => {
                sink.tx_seen(1);
                sink.malformed_reason(m);
                return;
            }
        };
        let (slot, info) = t;
        if info.is_vote {
            return;
        }
        // A signature of another length is not one (the decoder says so); nothing to remember.
        if let Ok(sig) = <[u8; 64]>::try_from(info.signature) {
            if self.seen.contains(&sig) {
                self.stats().resumed_skipped();
                return;
            }
            self.seen.insert(sig, slot);
        }
        sink.tx_seen(1);
        if self.delivery.recording() {
            // Only a recording pays for prost's types (what did not parse is recorded empty).
            let t: SubscribeUpdateTransaction = prost::Message::decode(bytes).unwrap_or_default();
            render_json(&t, &mut self.line);
            let line = std::mem::take(&mut self.line);
            self.delivery.record(now, Some(&line));
            self.line = line;
        }
        self.delivery.out.clear();
        let d = &mut self.delivery;
        match decode_update(&mut d.decoder, &mut d.out, slot, &info) {
            Ok(_) => d.deliver(sink, now),
            Err(m) => sink.malformed_reason(m),
        }
    }
}

/// Feeds one update's transaction, read in place, through the parsed-transaction entry of the
/// decoder: `Message` (account_keys = 2, instructions = 4) and `TransactionStatusMeta` (err = 1,
/// inner_instructions = 5 with instructions = 2, log_messages = 6, loaded writable = 12 and
/// readonly = 13 addresses).
fn decode_update(
    decoder: &mut Decoder,
    out: &mut Vec<Decoded>,
    slot: u64,
    info: &wire::Info<'_>,
) -> Result<usize, Malformed> {
    let msg = Fields::new(info.message.ok_or(Malformed::WrongShape)?);
    let meta = info.meta.map(Fields::new);
    let failed = match meta {
        Some(m) => m.last_bytes(1)?.is_some(),
        None => false,
    };
    let mut p = decoder.begin_parsed(slot, info.signature, failed)?;
    msg.each_bytes(2, |k| p.account_key(k))?;
    if let Some(meta) = meta {
        // The update carries the complete loaded lists (empty for a legacy transaction).
        p.loaded_addresses_known();
        meta.each_bytes(12, |k| p.loaded_writable(k))?;
        meta.each_bytes(13, |k| p.loaded_readonly(k))?;
    }
    msg.each_bytes(4, |ix| {
        let (program, accounts, data) = wire::instruction(ix)?;
        p.instruction(program, accounts, data)
    })?;
    if let Some(meta) = meta {
        meta.each_bytes(5, |group| {
            Fields::new(group).each_bytes(2, |ix| {
                let (program, accounts, data) = wire::instruction(ix)?;
                p.instruction(program, accounts, data)
            })
        })?;
        meta.each_bytes(6, |log| p.log(wire::text(log)?))?;
    }
    p.finish(out)
}

/// Decodes one Yellowstone `SubscribeUpdate` (its protobuf bytes, as tonic receives them) the
/// way [`GeyserFeed`] does, read in place, without a connection or delivery: the launches of
/// its transaction are appended to `out` and counted. A vote, a ping or any other update gives
/// 0. For benchmarks and offline tools (`bench/sdk-baseline --decode` compares it with the
/// public SDK's parser on the same bytes).
///
/// # Errors
///
/// [`Malformed::WrongShape`] for bytes that are not such an update or a transaction without
/// its message, [`Malformed::NotUtf8`] for a log line that is not text, and the decoder's
/// reasons ([`Decoder::begin_parsed`]).
pub fn decode_grpc_update(
    decoder: &mut Decoder,
    bytes: &[u8],
    out: &mut Vec<Decoded>,
) -> Result<usize, Malformed> {
    let Update::Transaction(t) = wire::update(bytes)? else {
        return Ok(0);
    };
    let tx = wire::transaction(t)?;
    match tx.info {
        Some(info) if !info.is_vote => decode_update(decoder, out, tx.slot, &info),
        Some(_) => Ok(0),
        None => Err(Malformed::WrongShape),
    }
}

/// Renders a transaction update as a `getTransaction` result in the `json` encoding (base58
/// keys, index accounts, base58 data), which the JSON decoder reads into the same launches.
fn render_json(t: &SubscribeUpdateTransaction, out: &mut Vec<u8>) {
    use serde_json::json;
    let b58 = |b: &[u8]| bs58::encode(b).into_string();
    let keys = |v: &[Vec<u8>]| v.iter().map(|k| b58(k)).collect::<Vec<_>>();
    let ix =
        |p: u32, a: &[u8], d: &[u8]| json!({"programIdIndex": p, "accounts": a, "data": b58(d)});
    let info = t.transaction.as_ref();
    let tx = info.and_then(|i| i.transaction.as_ref());
    let msg = tx.and_then(|t| t.message.as_ref());
    let meta = info.and_then(|i| i.meta.as_ref());
    let v = json!({
        "slot": t.slot,
        "transaction": {
            "signatures": [b58(info.map(|i| &i.signature[..]).unwrap_or_default())],
            "message": {
                "accountKeys": msg.map(|m| keys(&m.account_keys)).unwrap_or_default(),
                "instructions": msg.map(|m| m.instructions.iter()
                    .map(|i| ix(i.program_id_index, &i.accounts, &i.data)).collect::<Vec<_>>())
                    .unwrap_or_default(),
            }
        },
        "meta": meta.map(|m| json!({
            "err": m.err.as_ref().map(|e| json!({"err": b58(&e.err)})),
            "logMessages": m.log_messages,
            "innerInstructions": m.inner_instructions.iter().map(|g| json!({
                "index": g.index,
                "instructions": g.instructions.iter()
                    .map(|i| ix(i.program_id_index, &i.accounts, &i.data)).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "loadedAddresses": {
                "writable": keys(&m.loaded_writable_addresses),
                "readonly": keys(&m.loaded_readonly_addresses),
            },
        })),
    });
    out.clear();
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &v);
}

impl Feed for GeyserFeed {
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
        self.delivery.start_clock();
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
            if let Some(st) = &self.stats {
                st.stall();
            }
            tracing::warn!(feed = %self.delivery.name, "no transaction: stalled; reconnecting");
            let delay = self.backoff.next_delay();
            self.down(delay);
            return FeedPoll::Ready;
        }
        let update = match read_slice(&self.rt, self.busy, s.updates.message()) {
            None if self.busy => return FeedPoll::Idle,
            None => return FeedPoll::Ready,
            Some(Ok(Some(u))) => u,
            Some(Ok(None)) => {
                self.fail(
                    "the server ended the stream",
                    &Status::unavailable("end of stream"),
                );
                return FeedPoll::Ready;
            }
            Some(Err(status)) => {
                self.fail("stream error", &status);
                return FeedPoll::Ready;
            }
        };
        self.on_update(sink, &update);
        FeedPoll::Ready
    }

    fn set_busy_poll(&mut self) {
        self.busy = true;
    }
}

impl GeyserFeed {
    /// Where a connection attempt has come: still under way, timed out, failed, or subscribed.
    fn on_progress(&mut self, progress: Progress<<Connecting as Future>::Output>) {
        match progress {
            Progress::Pending => {}
            Progress::TimedOut => {
                self.stats().connect_failed();
                self.fail("connect timed out", &Status::deadline_exceeded("no answer"));
            }
            Progress::Done(Ok((requests, updates))) => {
                let from_slot = self.resume_from.filter(|_| self.from_slot_ok);
                tracing::info!(feed = %self.delivery.name, ?from_slot, "connected");
                self.stats().connected();
                self.conn = Link::Up(Box::new(Session {
                    requests,
                    updates,
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

    fn on_update(&mut self, sink: &mut FeedSink<'_>, update: &Bytes) {
        let recv_ns = monotonic_ns();
        let Some(s) = self.conn.up_mut() else {
            return;
        };
        match wire::update(update) {
            Ok(Update::Transaction(t)) => {
                s.last_data = Instant::now();
                if !s.got_data {
                    s.got_data = true;
                    self.backoff.reset();
                }
                self.stats().message_at(update.len(), recv_ns);
                self.on_transaction(sink, t, recv_ns);
            }
            Err(m) => {
                sink.tx_seen(1);
                sink.malformed_reason(m);
            }
            Ok(Update::Ping) => {
                let pong = SubscribeRequest {
                    ping: Some(SubscribeRequestPing { id: 1 }),
                    ..Default::default()
                };
                if s.requests.try_send(pong).is_err() {
                    tracing::debug!(feed = %self.delivery.name, "request stream full: a ping went unanswered");
                }
            }
            Ok(Update::Other) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_forgets_old_slots_only() {
        let mut s = seen_table();
        s.insert([1; 64], 100);
        s.insert([2; 64], 150);
        assert!(s.contains(&[1; 64]) && s.contains(&[2; 64]));
        s.insert([3; 64], 100 + SEEN_SLOTS + 1);
        assert!(!s.contains(&[1; 64]));
        assert!(s.contains(&[2; 64]) && s.contains(&[3; 64]));
        assert_eq!(s.highest(), 100 + SEEN_SLOTS + 1);
    }

    #[test]
    fn the_token_never_shows_in_debug() {
        let cfg = GeyserConfig {
            x_token: Some("hunter2-token".into()),
            ..GeyserConfig::default()
        };
        assert!(!format!("{cfg:?}").contains("hunter2"));
        let feed = GeyserFeed::new(
            "grpcs://h.example:443/secret-path",
            cfg,
            DecoderConfig::default(),
        )
        .unwrap();
        let shown = format!("{feed:?} {}", feed.name());
        assert!(
            !shown.contains("hunter2") && !shown.contains("secret-path"),
            "{shown}"
        );
    }

    #[test]
    fn bad_urls_and_tokens_are_refused_without_echo() {
        let e = GeyserFeed::new(
            "ftp://h/secret",
            GeyserConfig::default(),
            DecoderConfig::default(),
        )
        .unwrap_err();
        assert!(!e.to_string().contains("secret"));
        let cfg = GeyserConfig {
            x_token: Some("bad\ntoken".into()),
            ..GeyserConfig::default()
        };
        let e = GeyserFeed::new("grpc://h:1", cfg, DecoderConfig::default()).unwrap_err();
        assert!(!e.to_string().contains("token\n"));
    }

    #[test]
    fn compression_comes_from_the_url_or_the_config_and_leaves_the_name_clean() {
        let new = |url: &str, c: Compression| {
            let cfg = GeyserConfig {
                compression: c,
                ..GeyserConfig::default()
            };
            GeyserFeed::new(url, cfg, DecoderConfig::default())
        };
        let f = new("grpc+https://h/?compression=zstd", Compression::None).unwrap();
        assert_eq!(f.cfg.compression, Compression::Zstd);
        assert_eq!(f.name(), "grpc+https://h:443");
        let f = new("https://h", Compression::Gzip).unwrap();
        assert_eq!(
            (f.cfg.compression, f.name()),
            (Compression::Gzip, "https://h:443")
        );
        let e = new("grpc://h:1?compression=gzip", Compression::Zstd).unwrap_err();
        assert!(e.to_string().contains("compression = zstd"), "{e}");
        let e = new("grpc://h:1?compression=s3cr%t", Compression::None).unwrap_err();
        assert!(!e.to_string().contains("s3cr"), "{e}");
        assert_eq!(encoding(Compression::Zstd), Some(CompressionEncoding::Zstd));
        assert_eq!(encoding(Compression::None), None);
    }
}
