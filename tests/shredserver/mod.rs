//! A scripted Jito ShredStream proxy for the live-feed tests: tonic's server side on a loopback
//! port, in a thread with its own runtime, serving `shredstream.ShredstreamProxy/
//! SubscribeEntries` (`src/feed/shred/shredstream.proto`) with the service written out as
//! tonic's code generator would (the messages are declared here again, so the test also checks
//! that the feed's hand-written ones match the proto's tags). Each connection streams the
//! messages from where the previous connection stopped (`rewind` goes back that many first, as
//! a proxy's overlap would), and ends its stream after the number of messages its [`Plan`]
//! says. Connection `k` follows `plans[k]` (the last repeats).
// Each test binary uses a different subset, and `pub` is how the including crate sees the items.
#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::codegen::{http, Body, BoxFuture, Service, StdError};
use tonic::server::{Grpc, NamedService, ServerStreamingService};
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;
use tonic::{Request, Response, Status};

/// `shredstream.SubscribeEntriesRequest`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct SubscribeEntriesRequest {}

/// `shredstream.Entry`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Entry {
    #[prost(uint64, tag = "1")]
    pub slot: u64,
    #[prost(bytes = "vec", tag = "2")]
    pub entries: Vec<u8>,
}

/// The bincode of `Vec<solana_entry::Entry>`: one entry per group of wire transactions.
pub fn entries(groups: &[Vec<Vec<u8>>]) -> Vec<u8> {
    let mut out = (groups.len() as u64).to_le_bytes().to_vec();
    for (i, txs) in groups.iter().enumerate() {
        out.extend_from_slice(&(12_500 + i as u64).to_le_bytes()); // num_hashes
        out.extend_from_slice(&[i as u8 ^ 0x5a; 32]); // hash
        out.extend_from_slice(&(txs.len() as u64).to_le_bytes());
        for tx in txs {
            out.extend_from_slice(tx);
        }
    }
    out
}

/// One subscription's script.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// End the stream with `unavailable` after this many messages (`None`: keep it open).
    pub send: Option<usize>,
    /// Start this many messages before where the previous connection stopped.
    pub rewind: usize,
    /// Send nothing until this is set.
    pub gate: Option<Arc<std::sync::atomic::AtomicBool>>,
}

/// What the server saw and did.
#[derive(Clone, Debug, Default)]
pub struct Log {
    pub subscribes: usize,
    pub sent: usize,
    /// `authorization` metadata presented, as received.
    pub authorizations: Vec<Option<String>>,
}

#[derive(Clone)]
struct Svc {
    msgs: Arc<Vec<Entry>>,
    plans: Arc<Vec<Plan>>,
    log: Arc<Mutex<Log>>,
    next: Arc<Mutex<usize>>,
}

impl Svc {
    fn subscribe(
        &self,
        req: &Request<SubscribeEntriesRequest>,
    ) -> ReceiverStream<Result<Entry, Status>> {
        let auth = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let conn = {
            let mut l = self.log.lock().unwrap();
            l.authorizations.push(auth);
            l.subscribes += 1;
            l.subscribes - 1
        };
        let plan = self
            .plans
            .get(conn)
            .or(self.plans.last())
            .cloned()
            .unwrap_or_default();
        let (tx, rx) = mpsc::channel(64);
        let svc = self.clone();
        tokio::spawn(async move {
            if let Some(gate) = &plan.gate {
                while !gate.load(std::sync::atomic::Ordering::Acquire) {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            let mut i = svc.next.lock().unwrap().saturating_sub(plan.rewind);
            let mut sent = 0usize;
            loop {
                if i >= svc.msgs.len() {
                    // Keep the stream open, as a proxy between slots does.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    if tx.is_closed() {
                        return;
                    }
                    continue;
                }
                if plan.send.is_some_and(|n| sent >= n) {
                    let _ = tx
                        .send(Err(Status::unavailable("test plan: stream ends")))
                        .await;
                    return;
                }
                if tx.send(Ok(svc.msgs[i].clone())).await.is_err() {
                    return;
                }
                i += 1;
                sent += 1;
                let mut next = svc.next.lock().unwrap();
                *next = (*next).max(i);
                svc.log.lock().unwrap().sent += 1;
            }
        });
        ReceiverStream::new(rx)
    }
}

impl NamedService for Svc {
    const NAME: &'static str = "shredstream.ShredstreamProxy";
}

struct SubscribeEntries(Svc);

impl ServerStreamingService<SubscribeEntriesRequest> for SubscribeEntries {
    type Response = Entry;
    type ResponseStream = ReceiverStream<Result<Entry, Status>>;
    type Future = BoxFuture<Response<Self::ResponseStream>, Status>;

    fn call(&mut self, req: Request<SubscribeEntriesRequest>) -> Self::Future {
        let stream = self.0.subscribe(&req);
        Box::pin(async move { Ok(Response::new(stream)) })
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
        if req.uri().path() != "/shredstream.ShredstreamProxy/SubscribeEntries" {
            return Box::pin(async { Ok(Status::unimplemented("").into_http()) });
        }
        let svc = SubscribeEntries(self.clone());
        Box::pin(async move {
            let codec = tonic_prost::ProstCodec::<Entry, SubscribeEntriesRequest>::default();
            Ok(Grpc::new(codec).server_streaming(svc, req).await)
        })
    }
}

/// The running server; dropping it stops it.
pub struct ShredTestServer {
    pub addr: std::net::SocketAddr,
    log: Arc<Mutex<Log>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ShredTestServer {
    /// Serves `msgs` in order, each connection by its plan.
    pub fn start(msgs: Vec<Entry>, plans: Vec<Plan>) -> Self {
        let log = Arc::new(Mutex::new(Log::default()));
        let svc = Svc {
            msgs: Arc::new(msgs),
            plans: Arc::new(plans),
            log: log.clone(),
            next: Arc::new(Mutex::new(0)),
        };
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("test-shred-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                    addr_tx.send(listener.local_addr().unwrap()).unwrap();
                    let serve = Server::builder()
                        .add_service(svc)
                        .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                            let _ = stop_rx.await;
                        });
                    let _ = tokio::time::timeout(Duration::from_secs(600), serve).await;
                });
                rt.shutdown_timeout(Duration::from_millis(100));
            })
            .unwrap();
        ShredTestServer {
            addr: addr_rx.recv().unwrap(),
            log,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("shred://{}", self.addr)
    }

    pub fn log(&self) -> Log {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for ShredTestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
