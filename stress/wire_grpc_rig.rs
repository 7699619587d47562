//! The loopback rig of `wire_to_bot_grpc`, shared by `sniffer-stress` and the workspace-excluded
//! `bench/sdk-baseline` crate (which includes this file by path, so both measure the same
//! servers and the same messages):
//!
//! - [`Launches`]: `n` pump.fun `create_v2` launches built from one real transaction
//!   (`tests/data/launchpads/tx/pumpfun_create_v2_blocksubscribe_5EDHe12K.json`: 25 keys, 3 outer
//!   instructions with the creator's buy, 28 inner ones, 107 log lines), as Yellowstone
//!   `SubscribeUpdate`s and as ShredStream `Entry` messages (the signed message's wire bytes in a
//!   ledger entry). Each copy gets its own mint and signature (the 32 mint bytes are replaced
//!   wherever they occur: account keys, instruction data, base64 `Program data:` payloads, base58
//!   mentions in the logs), so dedup drops none; the layout stays the real one.
//! - [`PacedServer`]: a tonic server on 127.0.0.1 answering `geyser.Geyser/Subscribe` (bidi) or
//!   `shredstream.ShredstreamProxy/SubscribeEntries` (server streaming) with every message, paced
//!   `interval` apart by a sleeping thread per subscription. Messages are encoded once up front;
//!   the codec copies a message's bytes into the HTTP/2 frame and stamps
//!   [`sniffer::monotonic_ns`] right then (the moment the server writes it), per message and per
//!   subscription.
//! - The hand-written bots (baseline a: tonic + prost + a crossbeam channel to a bot thread;
//!   baseline b: the seeds' tonic + tokio mpsc) and ours (the engine), each receiving until every
//!   mint arrived and returning each message's receive time.
// Two crates include this file and each uses a subset.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use base64::Engine as _;
use prost::bytes::{Buf as _, BufMut as _, Bytes};
use prost::Message as _;
use serde_json::Value;
use sha2::{Digest as _, Sha512};
use tokio::sync::{mpsc, oneshot};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::{http, Body, BoxFuture, Service, StdError};
use tonic::server::{Grpc, ServerStreamingService, StreamingService};
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status, Streaming};
use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
use yellowstone_grpc_proto::geyser::{
    SubscribeUpdate, SubscribeUpdateTransaction, SubscribeUpdateTransactionInfo,
};
use yellowstone_grpc_proto::solana::storage::confirmed_block::{
    CompiledInstruction, InnerInstruction, InnerInstructions, Message, MessageHeader, Transaction,
    TransactionStatusMeta,
};

/// The real launch every message is built from.
pub const SAMPLE: &str = "launchpads/tx/pumpfun_create_v2_blocksubscribe_5EDHe12K.json";
/// pump.fun.
pub const PUMP_ID: &str = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P";
const CREATE_DISC: [u8; 8] = [0x18, 0x1e, 0xc8, 0x28, 0x05, 0x1c, 0x07, 0x77];
const CREATE_V2_DISC: [u8; 8] = [0xd6, 0x90, 0x4c, 0xec, 0x5f, 0x8b, 0x31, 0xb4];
const GEYSER_SUBSCRIBE: &str = "/geyser.Geyser/Subscribe";
const SHRED_SUBSCRIBE: &str = "/shredstream.ShredstreamProxy/SubscribeEntries";
/// Quiet time between a subscription and its first message (connection set-up settles).
const WARM_UP: Duration = Duration::from_millis(100);

/// pump.fun's key bytes.
pub fn pump() -> [u8; 32] {
    static PUMP: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    *PUMP.get_or_init(|| unb58(PUMP_ID).try_into().expect("32 bytes"))
}

/// `shredstream.Entry` (the proxy's message; tags from `src/feed/shred/shredstream.proto`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ShredEntry {
    #[prost(uint64, tag = "1")]
    pub slot: u64,
    #[prost(bytes = "vec", tag = "2")]
    pub entries: Vec<u8>,
}

/// `shredstream.SubscribeEntriesRequest`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct SubscribeEntriesRequest {}

/// The feed kinds measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Grpc,
    Shred,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Grpc => "grpc",
            Kind::Shred => "shred",
        }
    }
}

/// The launches, encoded for each feed kind, and their mints in order.
pub struct Launches {
    pub updates: Arc<Vec<Bytes>>,
    pub entries: Arc<Vec<Bytes>>,
    pub mints: Vec<[u8; 32]>,
    pub index: HashMap<[u8; 32], usize>,
}

impl Launches {
    pub fn messages(&self, kind: Kind) -> Arc<Vec<Bytes>> {
        match kind {
            Kind::Grpc => self.updates.clone(),
            Kind::Shred => self.entries.clone(),
        }
    }
}

fn unb58(s: &str) -> Vec<u8> {
    bs58::decode(s).into_vec().expect("base58 in the sample")
}

fn replace(hay: &mut [u8], from: &[u8], to: &[u8]) {
    let mut i = 0;
    while i + from.len() <= hay.len() {
        if &hay[i..i + from.len()] == from {
            hay[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
}

/// One compiled instruction of the sample: (program index, accounts, data).
type Ix = (u32, Vec<u8>, Vec<u8>);

/// The sample's pieces, as read from its `getTransaction` (json encoding) form.
struct Real {
    signatures: Vec<Vec<u8>>,
    header: [u32; 3],
    keys: Vec<Vec<u8>>,
    blockhash: Vec<u8>,
    instructions: Vec<Ix>,
    inner: Vec<(u32, Vec<Ix>)>,
    logs: Vec<String>,
    slot: u64,
    v0: bool,
}

fn read_real(data_dir: &Path) -> Real {
    let text = std::fs::read_to_string(data_dir.join(SAMPLE)).expect("the sample file");
    let v: Value = serde_json::from_str(&text).expect("sample json");
    let r = &v["result"];
    let msg = &r["transaction"]["message"];
    let ix = |i: &Value| -> Ix {
        (
            i["programIdIndex"].as_u64().unwrap() as u32,
            i["accounts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_u64().unwrap() as u8)
                .collect(),
            unb58(i["data"].as_str().unwrap()),
        )
    };
    let h = &msg["header"];
    let n = |f: &str| h[f].as_u64().unwrap() as u32;
    Real {
        signatures: r["transaction"]["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| unb58(s.as_str().unwrap()))
            .collect(),
        header: [
            n("numRequiredSignatures"),
            n("numReadonlySignedAccounts"),
            n("numReadonlyUnsignedAccounts"),
        ],
        keys: msg["accountKeys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| unb58(k.as_str().unwrap()))
            .collect(),
        blockhash: unb58(msg["recentBlockhash"].as_str().unwrap()),
        instructions: msg["instructions"]
            .as_array()
            .unwrap()
            .iter()
            .map(ix)
            .collect(),
        inner: r["meta"]["innerInstructions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                let ixs = g["instructions"].as_array().unwrap().iter().map(ix);
                (g["index"].as_u64().unwrap() as u32, ixs.collect())
            })
            .collect(),
        logs: r["meta"]["logMessages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_owned())
            .collect(),
        slot: r["slot"].as_u64().unwrap_or(338_000_000),
        v0: r["version"] == 0,
    }
}

/// The sample with `mint` in place of its mint and `sig` as its first signature.
fn varied(real: &Real, mint_at: usize, mint: &[u8; 32], sig: &[u8; 64]) -> Real {
    let old = real.keys[mint_at].clone();
    let sub = |b: &[u8]| {
        let mut b = b.to_vec();
        replace(&mut b, &old, mint);
        b
    };
    let ix = |(p, a, d): &Ix| (*p, a.clone(), sub(d));
    let (old58, new58) = (
        bs58::encode(&old).into_string(),
        bs58::encode(mint).into_string(),
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    let log = |l: &String| -> String {
        if let Some(p) = l.strip_prefix("Program data: ") {
            if let Ok(bytes) = b64.decode(p) {
                return format!("Program data: {}", b64.encode(sub(&bytes)));
            }
        }
        l.replace(&old58, &new58)
    };
    let mut signatures = real.signatures.clone();
    signatures[0] = sig.to_vec();
    Real {
        signatures,
        header: real.header,
        keys: real.keys.iter().map(|k| sub(k)).collect(),
        blockhash: real.blockhash.clone(),
        instructions: real.instructions.iter().map(ix).collect(),
        inner: real
            .inner
            .iter()
            .map(|(i, g)| (*i, g.iter().map(ix).collect()))
            .collect(),
        logs: real.logs.iter().map(log).collect(),
        slot: real.slot,
        v0: real.v0,
    }
}

fn cu16(out: &mut Vec<u8>, mut v: usize) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// The signed transaction's wire bytes (legacy or v0 without lookups, as the sample is).
fn wire(t: &Real) -> Vec<u8> {
    let mut out = Vec::with_capacity(1232);
    cu16(&mut out, t.signatures.len());
    for s in &t.signatures {
        out.extend_from_slice(s);
    }
    if t.v0 {
        out.push(0x80);
    }
    out.extend(t.header.iter().map(|&h| h as u8));
    cu16(&mut out, t.keys.len());
    for k in &t.keys {
        out.extend_from_slice(k);
    }
    out.extend_from_slice(&t.blockhash);
    cu16(&mut out, t.instructions.len());
    for (p, a, d) in &t.instructions {
        out.push(*p as u8);
        cu16(&mut out, a.len());
        out.extend_from_slice(a);
        cu16(&mut out, d.len());
        out.extend_from_slice(d);
    }
    if t.v0 {
        cu16(&mut out, 0);
    }
    out
}

/// The Yellowstone update of `t`, as a provider streams it.
fn update(t: &Real) -> SubscribeUpdate {
    let ix = |(p, a, d): &Ix| CompiledInstruction {
        program_id_index: *p,
        accounts: a.clone(),
        data: d.clone(),
    };
    let message = Message {
        header: Some(MessageHeader {
            num_required_signatures: t.header[0],
            num_readonly_signed_accounts: t.header[1],
            num_readonly_unsigned_accounts: t.header[2],
        }),
        account_keys: t.keys.clone(),
        recent_blockhash: t.blockhash.clone(),
        instructions: t.instructions.iter().map(ix).collect(),
        versioned: t.v0,
        ..Default::default()
    };
    let meta = TransactionStatusMeta {
        log_messages: t.logs.clone(),
        inner_instructions: t
            .inner
            .iter()
            .map(|(index, ixs)| InnerInstructions {
                index: *index,
                instructions: ixs
                    .iter()
                    .map(|(p, a, d)| InnerInstruction {
                        program_id_index: *p,
                        accounts: a.clone(),
                        data: d.clone(),
                        stack_height: Some(2),
                    })
                    .collect(),
            })
            .collect(),
        ..Default::default()
    };
    SubscribeUpdate {
        filters: vec!["sniffer".into()],
        created_at: None,
        update_oneof: Some(UpdateOneof::Transaction(SubscribeUpdateTransaction {
            transaction: Some(SubscribeUpdateTransactionInfo {
                signature: t.signatures[0].clone(),
                is_vote: false,
                transaction: Some(Transaction {
                    signatures: t.signatures.clone(),
                    message: Some(message),
                }),
                meta: Some(meta),
                index: 0,
            }),
            slot: t.slot,
            ..Default::default()
        })),
    }
}

/// The bincode of a `Vec<solana_entry::Entry>` holding one entry with `tx`.
fn entries(tx: &[u8], k: u64) -> Vec<u8> {
    let mut out = 1u64.to_le_bytes().to_vec();
    out.extend_from_slice(&(12_500 + k).to_le_bytes()); // num_hashes
    out.extend_from_slice(&Sha512::digest(k.to_le_bytes())[..32]); // hash
    out.extend_from_slice(&1u64.to_le_bytes());
    out.extend_from_slice(tx);
    out
}

/// `n` launches from the real sample under `data_dir` (the repository's `tests/data/`).
pub fn launches(data_dir: &Path, n: usize) -> Launches {
    let real = read_real(data_dir);
    let create = real
        .instructions
        .iter()
        .find(|(p, _, d)| real.keys[*p as usize] == pump() && d.starts_with(&CREATE_V2_DISC))
        .expect("the sample's create_v2");
    let mint_at = create.1[0] as usize;
    let (mut updates, mut entries_out, mut mints) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n as u64 {
        let h = Sha512::digest([b"wire_to_bot".as_slice(), &i.to_le_bytes()].concat());
        let mint: [u8; 32] = h[..32].try_into().unwrap();
        let sig: [u8; 64] = Sha512::digest(h).as_slice().try_into().unwrap();
        let mut t = varied(&real, mint_at, &mint, &sig);
        t.slot += i / 4;
        updates.push(Bytes::from(update(&t).encode_to_vec()));
        let e = ShredEntry {
            slot: t.slot,
            entries: entries(&wire(&t), i),
        };
        entries_out.push(Bytes::from(e.encode_to_vec()));
        mints.push(mint);
    }
    let index = mints.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    Launches {
        updates: Arc::new(updates),
        entries: Arc::new(entries_out),
        mints,
        index,
    }
}

// ---------------------------------------------------------------------------------------------
// The server.

/// Per subscription: when each message was written (0: not yet).
pub type Stamps = Arc<Vec<AtomicU64>>;

/// Copies pre-encoded messages into the frame and stamps the write; reads requests as bytes.
struct RawCodec {
    stamps: Stamps,
}

struct RawEncoder(Stamps);
struct RawDecoder;

impl Encoder for RawEncoder {
    type Item = (usize, Bytes);
    type Error = Status;
    fn encode(&mut self, (i, m): (usize, Bytes), dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&m);
        self.0[i].store(sniffer::monotonic_ns(), Ordering::Release);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        let n = src.remaining();
        Ok(Some(src.copy_to_bytes(n)))
    }
}

impl Codec for RawCodec {
    type Encode = (usize, Bytes);
    type Decode = Bytes;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder(self.stamps.clone())
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

type Paced = Pin<Box<dyn tokio_stream::Stream<Item = Result<(usize, Bytes), Status>> + Send>>;

#[derive(Clone)]
struct Svc {
    msgs: Arc<Vec<Bytes>>,
    interval: Duration,
    stamps: Arc<Mutex<Vec<Stamps>>>,
    stop: Arc<AtomicBool>,
}

impl Svc {
    /// A new subscription's stamps and its paced stream (a thread sleeps to each due time).
    fn subscription(&self) -> (Stamps, Paced) {
        let n = self.msgs.len();
        let stamps: Stamps = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
        self.stamps.lock().unwrap().push(stamps.clone());
        let (tx, mut rx) = mpsc::unbounded_channel::<usize>();
        let (interval, stop) = (self.interval, self.stop.clone());
        std::thread::spawn(move || {
            let start = Instant::now() + WARM_UP;
            for i in 0..n {
                let due = start + interval * i as u32;
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                if tx.send(i).is_err() {
                    return;
                }
            }
            // Keep the stream open, as a provider does between launches.
            while !tx.is_closed() && !stop.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        let msgs = self.msgs.clone();
        let s = async_stream(move |cx| match rx.poll_recv(cx) {
            Poll::Ready(Some(i)) => Poll::Ready(Some(Ok((i, msgs[i].clone())))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        });
        (stamps, s)
    }
}

/// A stream from a poll function.
fn async_stream<F>(f: F) -> Paced
where
    F: FnMut(&mut Context<'_>) -> Poll<Option<Result<(usize, Bytes), Status>>>
        + Send
        + Unpin
        + 'static,
{
    struct S<F>(F);
    impl<F> tokio_stream::Stream for S<F>
    where
        F: FnMut(&mut Context<'_>) -> Poll<Option<Result<(usize, Bytes), Status>>> + Unpin,
    {
        type Item = Result<(usize, Bytes), Status>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            (self.0)(cx)
        }
    }
    Box::pin(S(f))
}

struct Bidi(Paced);
impl StreamingService<Bytes> for Bidi {
    type Response = (usize, Bytes);
    type ResponseStream = Paced;
    type Future = BoxFuture<Response<Paced>, Status>;
    fn call(&mut self, req: Request<Streaming<Bytes>>) -> Self::Future {
        let paced = std::mem::replace(&mut self.0, Box::pin(tokio_stream::empty()));
        Box::pin(async move {
            // Read (and drop) what the client sends: its subscription and its pings.
            let mut inbound = req.into_inner();
            tokio::spawn(async move { while let Ok(Some(_)) = inbound.message().await {} });
            Ok(Response::new(paced))
        })
    }
}

struct OneWay(Paced);
impl ServerStreamingService<Bytes> for OneWay {
    type Response = (usize, Bytes);
    type ResponseStream = Paced;
    type Future = BoxFuture<Response<Paced>, Status>;
    fn call(&mut self, _: Request<Bytes>) -> Self::Future {
        let paced = std::mem::replace(&mut self.0, Box::pin(tokio_stream::empty()));
        Box::pin(async move { Ok(Response::new(paced)) })
    }
}

impl<B> Service<http::Request<B>> for Svc
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let path = req.uri().path().to_owned();
        if path != GEYSER_SUBSCRIBE && path != SHRED_SUBSCRIBE {
            return Box::pin(async { Ok(Status::unimplemented("").into_http()) });
        }
        let (stamps, paced) = self.subscription();
        Box::pin(async move {
            let mut grpc = Grpc::new(RawCodec { stamps });
            Ok(if path == GEYSER_SUBSCRIBE {
                grpc.streaming(Bidi(paced), req).await
            } else {
                grpc.server_streaming(OneWay(paced), req).await
            })
        })
    }
}

/// The running server; dropping it stops it.
pub struct PacedServer {
    pub addr: std::net::SocketAddr,
    stamps: Arc<Mutex<Vec<Stamps>>>,
    stop: Arc<AtomicBool>,
    stop_tx: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PacedServer {
    /// Serves `msgs` (encoded messages) to every subscriber, `interval` apart, from its own
    /// thread and current-thread runtime.
    pub fn start(msgs: Arc<Vec<Bytes>>, interval: Duration) -> Self {
        let stamps = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let svc = Svc {
            msgs,
            interval,
            stamps: stamps.clone(),
            stop: stop.clone(),
        };
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("wire-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("server runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                        .await
                        .expect("bind 127.0.0.1");
                    let _ = addr_tx.send(listener.local_addr().expect("local addr"));
                    let serve = tonic::transport::Server::builder().serve_with_incoming_shutdown(
                        svc,
                        TcpIncoming::from(listener).with_nodelay(Some(true)),
                        async {
                            let _ = stop_rx.await;
                        },
                    );
                    let _ = tokio::time::timeout(Duration::from_secs(600), serve).await;
                });
                rt.shutdown_timeout(Duration::from_millis(100));
            })
            .expect("server thread");
        PacedServer {
            addr: addr_rx.recv().expect("server address"),
            stamps,
            stop,
            stop_tx: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// The stamps of the latest subscription.
    pub fn last_stamps(&self) -> Option<Stamps> {
        self.stamps.lock().unwrap().last().cloned()
    }

    /// How many subscriptions the server has served.
    pub fn subscriptions(&self) -> usize {
        self.stamps.lock().unwrap().len()
    }

    pub fn url(&self, kind: Kind) -> String {
        match kind {
            Kind::Grpc => format!("grpc://{}", self.addr),
            Kind::Shred => format!("shred://{}", self.addr),
        }
    }

    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for PacedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(s) = self.stop_tx.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Receiving: what each design's bot saw.

/// What one design received: each message's receive time (0: never), and how many arrived.
pub struct Received {
    pub at: Vec<u64>,
    /// Ours only: when the feed read each message (the candidate's receive time), 0 otherwise.
    pub feed_at: Vec<u64>,
    pub delivered: usize,
    /// Mints received that were not ours, or twice.
    pub unexpected: usize,
}

impl Received {
    pub fn new(n: usize) -> Self {
        Received {
            at: vec![0; n],
            feed_at: vec![0; n],
            delivered: 0,
            unexpected: 0,
        }
    }

    /// Notes `mint` received at `t`.
    pub fn got(&mut self, index: &HashMap<[u8; 32], usize>, mint: &[u8; 32], t: u64) {
        match index.get(mint) {
            Some(&i) if self.at[i] == 0 => {
                self.at[i] = t;
                self.delivered += 1;
            }
            _ => self.unexpected += 1,
        }
    }

    /// Write-to-receive latencies (ns) against the server's `stamps`.
    pub fn latencies(&self, stamps: &Stamps) -> Vec<u64> {
        Self::since(&self.at, stamps)
    }

    /// Write-to-feed-read latencies (ns) against the server's `stamps` (ours only).
    pub fn feed_latencies(&self, stamps: &Stamps) -> Vec<u64> {
        Self::since(&self.feed_at, stamps)
    }

    fn since(at: &[u64], stamps: &Stamps) -> Vec<u64> {
        at.iter()
            .zip(stamps.iter())
            .filter(|(r, _)| **r != 0)
            .map(|(r, s)| r.saturating_sub(s.load(Ordering::Acquire)).max(1))
            .collect()
    }
}

/// How long a design may take to receive everything: the schedule plus a margin.
pub fn deadline(n: usize, interval: Duration) -> Instant {
    Instant::now() + WARM_UP + interval * n as u32 + Duration::from_secs(10)
}

// ---------------------------------------------------------------------------------------------
// Baselines a and b: what a bot builder writes by hand.

/// The mint of a pump.fun `create` / `create_v2` among `instructions` over `keys`.
fn create_mint<'a>(
    keys: &[&'a [u8]],
    mut instructions: impl Iterator<Item = (usize, &'a [u8], &'a [u8])>,
) -> Option<[u8; 32]> {
    instructions.find_map(|(p, accounts, data)| {
        let is_create = data.starts_with(&CREATE_V2_DISC) || data.starts_with(&CREATE_DISC);
        if keys.get(p).copied()? != pump() || !is_create {
            return None;
        }
        (*keys.get(*accounts.first()? as usize)?).try_into().ok()
    })
}

/// Baseline a/b's detection on a prost `SubscribeUpdate`.
pub fn update_mint(u: &SubscribeUpdate) -> Option<[u8; 32]> {
    let Some(UpdateOneof::Transaction(t)) = &u.update_oneof else {
        return None;
    };
    let info = t.transaction.as_ref()?;
    let msg = info.transaction.as_ref()?.message.as_ref()?;
    let keys: Vec<&[u8]> = msg.account_keys.iter().map(Vec::as_slice).collect();
    let ixs = msg.instructions.iter().map(|i| {
        (
            i.program_id_index as usize,
            i.accounts.as_slice(),
            i.data.as_slice(),
        )
    });
    create_mint(&keys, ixs)
}

/// A transaction decoded into owned parts, as `bincode::deserialize::<Vec<solana_entry::
/// Entry>>` gives a bot (signatures, keys, instructions; lookups read and kept).
#[derive(Default)]
pub struct OwnedTx {
    pub signatures: Vec<[u8; 64]>,
    pub keys: Vec<[u8; 32]>,
    pub instructions: Vec<(u8, Vec<u8>, Vec<u8>)>,
    pub lookups: Vec<([u8; 32], Vec<u8>, Vec<u8>)>,
}

struct Rd<'a>(&'a [u8]);
impl<'a> Rd<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn cu16(&mut self) -> Option<usize> {
        let mut v = 0usize;
        for s in 0..3 {
            let b = *self.take(1)?.first()?;
            v |= ((b & 0x7f) as usize) << (7 * s);
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    fn arr<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = self.cu16()?;
        Some(self.take(n)?.to_vec())
    }
}

fn owned_tx(r: &mut Rd<'_>) -> Option<OwnedTx> {
    let mut t = OwnedTx::default();
    for _ in 0..r.cu16()? {
        t.signatures.push(r.arr()?);
    }
    let first = *r.0.first()?;
    let v0 = first & 0x80 != 0;
    if v0 {
        r.take(1)?;
    }
    r.take(3)?;
    for _ in 0..r.cu16()? {
        t.keys.push(r.arr()?);
    }
    r.take(32)?;
    for _ in 0..r.cu16()? {
        let p = *r.take(1)?.first()?;
        t.instructions.push((p, r.bytes()?, r.bytes()?));
    }
    if v0 {
        for _ in 0..r.cu16()? {
            t.lookups.push((r.arr()?, r.bytes()?, r.bytes()?));
        }
    }
    Some(t)
}

/// A ShredStream message's entries decoded into owned transactions.
pub fn owned_entries(bytes: &[u8]) -> Option<Vec<Vec<OwnedTx>>> {
    let mut r = Rd(bytes);
    let n = r.u64()? as usize;
    let mut out = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        r.u64()?;
        r.take(32)?;
        let k = r.u64()? as usize;
        let mut txs = Vec::with_capacity(k.min(1024));
        for _ in 0..k {
            txs.push(owned_tx(&mut r)?);
        }
        out.push(txs);
    }
    Some(out)
}

/// Baseline a/b's detection on a ShredStream message.
pub fn entry_mints(e: &ShredEntry, mut found: impl FnMut([u8; 32])) {
    let Some(entries) = owned_entries(&e.entries) else {
        return;
    };
    for tx in entries.iter().flatten() {
        let keys: Vec<&[u8]> = tx.keys.iter().map(|k| k.as_slice()).collect();
        let ixs = tx
            .instructions
            .iter()
            .map(|(p, a, d)| (*p as usize, a.as_slice(), d.as_slice()));
        if let Some(m) = create_mint(&keys, ixs) {
            found(m);
        }
    }
}

/// A tokio runtime as `#[tokio::main]` makes one (multi-threaded, a worker per core).
fn tokio_main() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Where a hand-written feed hands each mint: a crossbeam channel (baseline a) or a tokio mpsc
/// channel (baseline b, awaiting room as the seeds do).
enum Handoff {
    Crossbeam(crossbeam_channel::Sender<[u8; 32]>),
    Tokio(mpsc::Sender<[u8; 32]>),
}

impl Handoff {
    async fn push(&self, m: [u8; 32]) -> bool {
        match self {
            Handoff::Crossbeam(tx) => tx.send(m).is_ok(),
            Handoff::Tokio(tx) => match tx.try_send(m) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(m)) => tx.send(m).await.is_ok(),
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            },
        }
    }
}

/// Subscribes to `url` and hands every mint found to `out`, until the stream ends.
async fn hand_feed(kind: Kind, url: String, out: Handoff) -> Result<(), Status> {
    let channel = tonic::transport::Endpoint::from_shared(url)
        .map_err(|e| Status::internal(e.to_string()))?
        .tcp_nodelay(true)
        .connect()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    match kind {
        Kind::Grpc => {
            use yellowstone_grpc_proto::geyser::geyser_client::GeyserClient;
            use yellowstone_grpc_proto::geyser::SubscribeRequest;
            let mut client = GeyserClient::new(channel).max_decoding_message_size(64 << 20);
            let (tx, rx) = mpsc::channel(16);
            let _ = tx.send(SubscribeRequest::default()).await;
            let mut stream = client
                .subscribe(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await?
                .into_inner();
            while let Some(u) = stream.message().await? {
                if let Some(m) = update_mint(&u) {
                    if !out.push(m).await {
                        break;
                    }
                }
            }
        }
        Kind::Shred => {
            let mut grpc = tonic::client::Grpc::new(channel).max_decoding_message_size(64 << 20);
            grpc.ready()
                .await
                .map_err(|e| Status::unavailable(e.to_string()))?;
            let codec = tonic_prost::ProstCodec::<SubscribeEntriesRequest, ShredEntry>::default();
            let path = http::uri::PathAndQuery::from_static(SHRED_SUBSCRIBE);
            let mut stream = grpc
                .server_streaming(Request::new(SubscribeEntriesRequest {}), path, codec)
                .await?
                .into_inner();
            let mut found = Vec::new();
            while let Some(e) = stream.message().await? {
                entry_mints(&e, |m| found.push(m));
                for m in found.drain(..) {
                    if !out.push(m).await {
                        return Ok(());
                    }
                }
            }
        }
    }
    Ok(())
}

/// Baseline a: the feed on `#[tokio::main]`'s runtime, each mint through a crossbeam channel
/// to a bot thread that blocks in `recv`.
pub fn baseline_a(kind: Kind, url: &str, l: &Launches, interval: Duration) -> Received {
    let n = l.mints.len();
    let rt = tokio_main();
    let (tx, rx) = crossbeam_channel::bounded::<[u8; 32]>(65_536);
    let feed = rt.spawn(hand_feed(kind, url.to_owned(), Handoff::Crossbeam(tx)));
    let mut got = Received::new(n);
    let until = deadline(n, interval);
    while got.delivered < n && Instant::now() < until {
        if let Ok(m) = rx.recv_timeout(Duration::from_millis(50)) {
            got.got(&l.index, &m, sniffer::monotonic_ns());
        }
    }
    feed.abort();
    rt.shutdown_timeout(Duration::from_secs(1));
    got
}

/// Baseline b, the seeds' design: the feed task sends each mint into a tokio mpsc channel
/// (`try_send`, then awaiting room), a bot task awaits `recv`, both on `#[tokio::main]`'s
/// runtime.
pub fn baseline_b(kind: Kind, url: &str, l: &Launches, interval: Duration) -> Received {
    let n = l.mints.len();
    let rt = tokio_main();
    let (tx, mut rx) = mpsc::channel::<[u8; 32]>(1024);
    let feed = rt.spawn(hand_feed(kind, url.to_owned(), Handoff::Tokio(tx)));
    let index = l.index.clone();
    let until = deadline(n, interval);
    let bot = rt.spawn(async move {
        let mut got = Received::new(n);
        while got.delivered < n {
            let left = until.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, rx.recv()).await {
                Ok(Some(m)) => got.got(&index, &m, sniffer::monotonic_ns()),
                _ => break,
            }
        }
        got
    });
    let got = rt.block_on(bot).unwrap_or_else(|_| Received::new(n));
    feed.abort();
    rt.shutdown_timeout(Duration::from_secs(1));
    got
}

// ---------------------------------------------------------------------------------------------
// Ours.

/// The engine on a [`GeyserFeed`](sniffer::feed::GeyserFeed) or
/// [`ShredFeed`](sniffer::feed::ShredFeed) at `url`, with `busy_poll` as given.
fn our_builder(kind: Kind, url: &str, busy_poll: bool) -> sniffer::SnifferBuilder {
    use sniffer::decode::DecoderConfig;
    use sniffer::feed::{GeyserConfig, GeyserFeed, ShredConfig, ShredFeed};
    let cfg = sniffer::SnifferConfig {
        busy_poll,
        ..sniffer::SnifferConfig::load(None).unwrap_or_default()
    };
    let builder = sniffer::Sniffer::builder().config(cfg);
    match kind {
        Kind::Grpc => builder.feed(
            GeyserFeed::new(url, GeyserConfig::default(), DecoderConfig::default())
                .expect("grpc feed"),
        ),
        Kind::Shred => builder.feed(
            ShredFeed::new(url, ShredConfig::default(), DecoderConfig::default())
                .expect("shred feed"),
        ),
    }
}

/// Ours: the engine on a [`GeyserFeed`](sniffer::feed::GeyserFeed) or
/// [`ShredFeed`](sniffer::feed::ShredFeed), the bot blocking in the receiver's `recv_timeout`.
/// Also returns whether the engine's accounting held (every candidate delivered or counted).
pub fn ours(kind: Kind, url: &str, l: &Launches, interval: Duration) -> (Received, bool) {
    let n = l.mints.len();
    let mut engine = our_builder(kind, url, false).build().expect("engine");
    let rx = engine.take_receiver().expect("receiver");
    let mut got = Received::new(n);
    let until = deadline(n, interval);
    // The candidate's receive time is the feed's read, on the Unix clock from the monotonic one.
    let unix_base = sniffer::unix_ns_at(0);
    while got.delivered < n && Instant::now() < until {
        if let Ok(c) = rx.recv_timeout(Duration::from_millis(50)) {
            got.got(&l.index, &c.mint.0, sniffer::monotonic_ns());
            if let Some(&i) = l.index.get(&c.mint.0) {
                got.feed_at[i] = c.received_unix_ns.saturating_sub(unix_base);
            }
        }
    }
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    let extra = rx.try_iter().count();
    let ok = m.accounting_holds()
        && m.in_flight == 0
        && m.candidates_sent == (got.delivered + got.unexpected + extra) as u64;
    (got, ok && extra == 0)
}

/// What an inline handler notes from the feed thread, without a lock: each message's receive
/// time and feed-read time (0: not yet), and the counts.
struct InlineGot {
    at: Vec<AtomicU64>,
    feed_at: Vec<AtomicU64>,
    delivered: AtomicUsize,
    unexpected: AtomicUsize,
}

impl InlineGot {
    fn new(n: usize) -> Self {
        InlineGot {
            at: (0..n).map(|_| AtomicU64::new(0)).collect(),
            feed_at: (0..n).map(|_| AtomicU64::new(0)).collect(),
            delivered: AtomicUsize::new(0),
            unexpected: AtomicUsize::new(0),
        }
    }

    /// Notes `c` received at `t`; a mint not ours, or a second copy, is unexpected.
    fn got(&self, index: &HashMap<[u8; 32], usize>, c: &sniffer::PremintCandidate, t: u64) {
        let first = index.get(&c.mint.0).filter(|&&i| {
            self.at[i]
                .compare_exchange(0, t, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        });
        match first {
            Some(&i) => {
                let feed = c.received_unix_ns.saturating_sub(sniffer::unix_ns_at(0));
                self.feed_at[i].store(feed, Ordering::Release);
                self.delivered.fetch_add(1, Ordering::AcqRel);
            }
            None => {
                self.unexpected.fetch_add(1, Ordering::AcqRel);
            }
        }
    }

    /// What was noted so far (all of it once the engine is shut down).
    fn received(&self) -> Received {
        let read = |v: &[AtomicU64]| v.iter().map(|t| t.load(Ordering::Acquire)).collect();
        Received {
            at: read(&self.at),
            feed_at: read(&self.feed_at),
            delivered: self.delivered.load(Ordering::Acquire),
            unexpected: self.unexpected.load(Ordering::Acquire),
        }
    }
}

/// Ours inline: the engine calls the bot's handler on the feed thread
/// ([`sniffer::SnifferBuilder::inline_handler`]), which stamps the receive time first thing;
/// with `busy_poll` the feed thread spins (there is no bot thread). Also returns whether the
/// engine's accounting held.
pub fn ours_inline(
    kind: Kind,
    url: &str,
    l: &Launches,
    interval: Duration,
    busy_poll: bool,
) -> (Received, bool) {
    let n = l.mints.len();
    let got = Arc::new(InlineGot::new(n));
    let (seen, index) = (got.clone(), Arc::new(l.index.clone()));
    let engine = our_builder(kind, url, busy_poll)
        .inline_handler(move |c| seen.got(&index, c, sniffer::monotonic_ns()))
        .build()
        .expect("engine");
    let until = deadline(n, interval);
    while got.delivered.load(Ordering::Acquire) < n && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(2));
    }
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    let got = got.received();
    let ok = m.accounting_holds()
        && m.in_flight == 0
        && m.candidates_sent == (got.delivered + got.unexpected) as u64;
    (got, ok)
}
