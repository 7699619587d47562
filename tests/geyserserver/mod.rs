//! A scripted Yellowstone gRPC (Geyser) server for the live-feed tests (tonic's server side on a
//! loopback port, in a thread with its own runtime): it checks the `x-token`, records each
//! `SubscribeRequest`, streams transaction updates from a fixed list (resuming at `from_slot`
//! when asked), sends pings and counts the client's answers, and ends a connection's stream
//! after the number of updates its [`Plan`] says. Connection `k` follows `plans[k]` (the last
//! repeats). It compresses what it streams with zstd or gzip when the client says it accepts
//! one (`grpc-accept-encoding`, recorded).
// Each test binary uses a different subset, and `pub` is how the including crate sees the items.
#![allow(dead_code, unreachable_pub)]

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::codec::CompressionEncoding;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status, Streaming};
use yellowstone_grpc_proto::geyser::geyser_server::{Geyser, GeyserServer};
use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
use yellowstone_grpc_proto::geyser::*;
use yellowstone_grpc_proto::solana::storage::confirmed_block::{
    CompiledInstruction, InnerInstruction, InnerInstructions, Message, MessageHeader, Transaction,
    TransactionStatusMeta,
};

/// An instruction: (program index, account indices, data).
pub type Ix = (u32, Vec<u8>, Vec<u8>);

/// One transaction the server can stream.
#[derive(Clone, Debug)]
pub struct Tx {
    pub slot: u64,
    pub signature: Vec<u8>,
    pub account_keys: Vec<Vec<u8>>,
    pub instructions: Vec<Ix>,
    /// (outer instruction index, its inner instructions).
    pub inner: Vec<(u32, Vec<Ix>)>,
    pub logs: Vec<String>,
    pub loaded_writable: Vec<Vec<u8>>,
    pub loaded_readonly: Vec<Vec<u8>>,
    pub failed: bool,
}

impl Tx {
    /// A transaction as a node would stream it, from its `getTransaction` JSON (`json`
    /// encoding): `tx` is the result's `transaction`, `meta` its `meta`.
    pub fn from_json(slot: u64, tx: &serde_json::Value, meta: &serde_json::Value) -> Tx {
        use serde_json::Value;
        let b58 = |v: &Value| bs58::decode(v.as_str().unwrap()).into_vec().unwrap();
        let keys = |v: &Value| {
            v.as_array()
                .map(|a| a.iter().map(b58).collect())
                .unwrap_or_default()
        };
        let ix = |i: &Value| -> Ix {
            let accs = i["accounts"].as_array().unwrap();
            (
                i["programIdIndex"].as_u64().unwrap() as u32,
                accs.iter().map(|a| a.as_u64().unwrap() as u8).collect(),
                b58(&i["data"]),
            )
        };
        let message = &tx["message"];
        Tx {
            slot,
            signature: b58(&tx["signatures"][0]),
            account_keys: keys(&message["accountKeys"]),
            instructions: message["instructions"]
                .as_array()
                .unwrap()
                .iter()
                .map(ix)
                .collect(),
            inner: meta["innerInstructions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|g| {
                    let ixs = g["instructions"].as_array().unwrap().iter().map(ix);
                    (g["index"].as_u64().unwrap() as u32, ixs.collect())
                })
                .collect(),
            logs: meta["logMessages"]
                .as_array()
                .map(|a| a.iter().map(|l| l.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default(),
            loaded_writable: keys(&meta["loadedAddresses"]["writable"]),
            loaded_readonly: keys(&meta["loadedAddresses"]["readonly"]),
            failed: !meta["err"].is_null(),
        }
    }

    pub fn update(&self) -> SubscribeUpdate {
        let ix = |(p, a, d): &Ix| CompiledInstruction {
            program_id_index: *p,
            accounts: a.clone(),
            data: d.clone(),
        };
        let message = Message {
            header: Some(MessageHeader {
                num_required_signatures: 1,
                num_readonly_signed_accounts: 0,
                num_readonly_unsigned_accounts: 1,
            }),
            account_keys: self.account_keys.clone(),
            recent_blockhash: vec![0; 32],
            instructions: self.instructions.iter().map(ix).collect(),
            versioned: !self.loaded_writable.is_empty() || !self.loaded_readonly.is_empty(),
            ..Default::default()
        };
        let meta = TransactionStatusMeta {
            err: self.failed.then(|| {
                yellowstone_grpc_proto::solana::storage::confirmed_block::TransactionError {
                    err: vec![8, 0, 0, 0],
                }
            }),
            log_messages: self.logs.clone(),
            inner_instructions: self
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
            loaded_writable_addresses: self.loaded_writable.clone(),
            loaded_readonly_addresses: self.loaded_readonly.clone(),
            ..Default::default()
        };
        SubscribeUpdate {
            filters: vec!["sniffer".into()],
            created_at: None,
            update_oneof: Some(UpdateOneof::Transaction(SubscribeUpdateTransaction {
                transaction: Some(SubscribeUpdateTransactionInfo {
                    signature: self.signature.clone(),
                    is_vote: false,
                    transaction: Some(Transaction {
                        signatures: vec![self.signature.clone()],
                        message: Some(message),
                    }),
                    meta: Some(meta),
                    index: 0,
                }),
                slot: self.slot,
                ..Default::default()
            })),
        }
    }
}

/// One subscription's script.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// End the stream with `unavailable` after this many updates (`None`: keep it open).
    pub send: Option<usize>,
    /// Refuse the subscription with this code instead.
    pub refuse: Option<tonic::Code>,
}

/// What the server saw and did.
#[derive(Clone, Debug, Default)]
pub struct Log {
    pub subscribes: usize,
    pub refused: usize,
    pub requests: Vec<SubscribeRequest>,
    /// Ping requests from the client (answers to the server's pings).
    pub client_pings: usize,
    pub sent: usize,
    /// Tokens presented, as received.
    pub tokens: Vec<Option<String>>,
    /// `authorization` metadata presented, as received.
    pub authorizations: Vec<Option<String>>,
    /// `grpc-accept-encoding` metadata presented (the encodings the client decodes).
    pub accept_encodings: Vec<Option<String>>,
}

#[derive(Clone)]
struct Svc {
    txs: Arc<Vec<Tx>>,
    plans: Arc<Vec<Plan>>,
    token: Option<String>,
    log: Arc<Mutex<Log>>,
    /// Index of the next transaction for a subscription without `from_slot`.
    next: Arc<Mutex<usize>>,
    interval: Duration,
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl Geyser for Svc {
    type SubscribeStream = ReceiverStream<Result<SubscribeUpdate, Status>>;

    async fn subscribe(
        &self,
        req: Request<Streaming<SubscribeRequest>>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let token = req
            .metadata()
            .get("x-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let authorization = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let accept = req
            .metadata()
            .get("grpc-accept-encoding")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let conn = {
            let mut l = self.log.lock().unwrap();
            l.accept_encodings.push(accept);
            l.tokens.push(token.clone());
            l.authorizations.push(authorization);
            l.subscribes += 1;
            l.subscribes - 1
        };
        if token != self.token {
            self.log.lock().unwrap().refused += 1;
            return Err(Status::unauthenticated("bad x-token"));
        }
        let plan = self
            .plans
            .get(conn)
            .or(self.plans.last())
            .cloned()
            .unwrap_or_default();
        if let Some(code) = plan.refuse {
            self.log.lock().unwrap().refused += 1;
            return Err(Status::new(code, "refused by the test plan"));
        }
        let mut inbound = req.into_inner();
        let first = match inbound.next().await {
            Some(Ok(r)) => r,
            _ => return Err(Status::invalid_argument("no request")),
        };
        let from_slot = first.from_slot;
        self.log.lock().unwrap().requests.push(first);
        let (tx, rx) = mpsc::channel(64);
        let svc = self.clone();
        tokio::spawn(async move {
            let start = match from_slot {
                Some(s) => svc
                    .txs
                    .iter()
                    .position(|t| t.slot >= s)
                    .unwrap_or(svc.txs.len()),
                None => *svc.next.lock().unwrap(),
            };
            let mut i = start;
            let mut sent = 0usize;
            let mut ping = tokio::time::interval(Duration::from_millis(100));
            let mut pace = tokio::time::interval(svc.interval.max(Duration::from_micros(50)));
            loop {
                tokio::select! {
                    r = inbound.next() => match r {
                        Some(Ok(r)) if r.ping.is_some() => svc.log.lock().unwrap().client_pings += 1,
                        Some(Ok(_)) => {}
                        _ => return,
                    },
                    _ = ping.tick() => {
                        let p = SubscribeUpdate {
                            filters: vec![],
                            created_at: None,
                            update_oneof: Some(UpdateOneof::Ping(SubscribeUpdatePing {})),
                        };
                        if tx.send(Ok(p)).await.is_err() {
                            return;
                        }
                    }
                    _ = pace.tick(), if i < svc.txs.len() => {
                        if plan.send.is_some_and(|n| sent >= n) {
                            let _ = tx.send(Err(Status::unavailable("test plan: stream ends"))).await;
                            return;
                        }
                        if tx.send(Ok(svc.txs[i].update())).await.is_err() {
                            return;
                        }
                        i += 1;
                        sent += 1;
                        let mut next = svc.next.lock().unwrap();
                        *next = (*next).max(i);
                        svc.log.lock().unwrap().sent += 1;
                    }
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    type SubscribeDeshredStream = BoxStream<SubscribeUpdateDeshred>;
    async fn subscribe_deshred(
        &self,
        _: Request<Streaming<SubscribeDeshredRequest>>,
    ) -> Result<Response<Self::SubscribeDeshredStream>, Status> {
        Err(Status::unimplemented(""))
    }
    type SubscribeGossipStream = BoxStream<SubscribeUpdateGossip>;
    async fn subscribe_gossip(
        &self,
        _: Request<SubscribeGossipRequest>,
    ) -> Result<Response<Self::SubscribeGossipStream>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn subscribe_replay_info(
        &self,
        _: Request<SubscribeReplayInfoRequest>,
    ) -> Result<Response<SubscribeReplayInfoResponse>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn ping(&self, r: Request<PingRequest>) -> Result<Response<PongResponse>, Status> {
        Ok(Response::new(PongResponse {
            count: r.into_inner().count,
        }))
    }
    async fn get_latest_blockhash(
        &self,
        _: Request<GetLatestBlockhashRequest>,
    ) -> Result<Response<GetLatestBlockhashResponse>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn get_block_height(
        &self,
        _: Request<GetBlockHeightRequest>,
    ) -> Result<Response<GetBlockHeightResponse>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn get_slot(
        &self,
        _: Request<GetSlotRequest>,
    ) -> Result<Response<GetSlotResponse>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn is_blockhash_valid(
        &self,
        _: Request<IsBlockhashValidRequest>,
    ) -> Result<Response<IsBlockhashValidResponse>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn get_version(
        &self,
        _: Request<GetVersionRequest>,
    ) -> Result<Response<GetVersionResponse>, Status> {
        Ok(Response::new(GetVersionResponse {
            version: "test".into(),
        }))
    }
}

/// The running server; dropping it stops it.
pub struct GeyserTestServer {
    pub addr: std::net::SocketAddr,
    log: Arc<Mutex<Log>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GeyserTestServer {
    /// Serves `txs` (in slot order) to subscribers presenting `token`, pacing updates
    /// `interval` apart.
    pub fn start(txs: Vec<Tx>, plans: Vec<Plan>, token: Option<&str>, interval: Duration) -> Self {
        Self::start_with(txs, plans, token, interval, None)
    }

    /// [`GeyserTestServer::start`] over TLS with `identity` (certificate and key, PEM): serve
    /// `tls_url`.
    #[allow(dead_code)]
    pub fn start_tls(txs: Vec<Tx>, plans: Vec<Plan>, identity: (String, String)) -> Self {
        let identity = Identity::from_pem(identity.0, identity.1);
        Self::start_with(txs, plans, None, Duration::ZERO, Some(identity))
    }

    fn start_with(
        txs: Vec<Tx>,
        plans: Vec<Plan>,
        token: Option<&str>,
        interval: Duration,
        tls: Option<Identity>,
    ) -> Self {
        let log = Arc::new(Mutex::new(Log::default()));
        let svc = Svc {
            txs: Arc::new(txs),
            plans: Arc::new(plans),
            token: token.map(str::to_owned),
            log: log.clone(),
            next: Arc::new(Mutex::new(0)),
            interval,
        };
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("test-geyser-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                    addr_tx.send(listener.local_addr().unwrap()).unwrap();
                    let mut builder = Server::builder();
                    if let Some(identity) = tls {
                        builder = builder
                            .tls_config(ServerTlsConfig::new().identity(identity))
                            .unwrap();
                    }
                    let serve = builder
                        .add_service(
                            GeyserServer::new(svc)
                                .send_compressed(CompressionEncoding::Zstd)
                                .send_compressed(CompressionEncoding::Gzip),
                        )
                        .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                            let _ = stop_rx.await;
                        });
                    // Open subscriptions keep a graceful shutdown waiting: bound it.
                    let _ = tokio::time::timeout(Duration::from_secs(600), serve).await;
                });
                rt.shutdown_timeout(Duration::from_millis(100));
            })
            .unwrap();
        GeyserTestServer {
            addr: addr_rx.recv().unwrap(),
            log,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("grpc://{}", self.addr)
    }

    /// The `grpcs://localhost:PORT` URL of a TLS server (the certificate names `localhost`).
    #[allow(dead_code)]
    pub fn tls_url(&self) -> String {
        format!("grpcs://localhost:{}", self.addr.port())
    }

    pub fn log(&self) -> Log {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for GeyserTestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        // The engine using it was shut down first, so no stream is left open; the thread ends.
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
