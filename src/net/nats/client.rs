//! Connecting to NATS and making sure the stream exists: what the publisher and both feeds
//! share. One small current-thread tokio runtime per component (the client's connection task
//! runs while its owner is inside `block_on`), connection options built from [`NatsConfig`]
//! (timeouts, credentials, reconnects with the live feeds' backoff and jitter), connection
//! events relayed to the owner's thread through a bounded channel, and the stream created when
//! missing.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use async_nats::{ConnectOptions, Event};
use crossbeam_channel::{Receiver, Sender};
use tokio_stream::Stream;

use super::url::NatsUrl;
use super::wire::STREAM_SUBJECTS;
use super::NatsError;
use super::{NatsAuth, NatsConfig};
use crate::candidate::monotonic_ns;
use crate::config::{NatsDiscard, NatsStorage};
use crate::net::backoff;

/// Connection events kept for the owner's thread; more are dropped (they are state changes and
/// statistics, and the newest state is read from the client when it matters).
const EVENTS: usize = 1024;

/// A current-thread runtime with timers and I/O.
pub(crate) fn runtime(what: &str) -> Result<tokio::runtime::Runtime, NatsError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| NatsError::Start(format!("{what}: cannot start a runtime: {e}")))
}

/// The connection options of `url` under `cfg`, named `name` on the server; connection events
/// go to the returned receiver.
pub(crate) fn options(
    url: &NatsUrl,
    cfg: &NatsConfig,
    name: &str,
) -> (ConnectOptions, Receiver<Event>) {
    let (tx, rx): (Sender<Event>, Receiver<Event>) = crossbeam_channel::bounded(EVENTS);
    let auth = match &url.auth {
        NatsAuth::None => &cfg.auth,
        from_url => from_url,
    };
    let mut opts = match auth {
        NatsAuth::None => ConnectOptions::new(),
        NatsAuth::Token(t) => ConnectOptions::with_token(t.clone()),
        NatsAuth::UserPassword { user, password } => {
            ConnectOptions::with_user_and_password(user.clone(), password.clone())
        }
    };
    let (min, max) = (cfg.backoff_min, cfg.backoff_max);
    opts = opts
        .name(name)
        .connection_timeout(cfg.connect_timeout)
        .request_timeout(Some(cfg.ack_timeout))
        .max_reconnects(None)
        // The live feeds' schedule (`net/backoff.rs`), so that many clients dropped by one
        // server restart do not come back in lockstep. The first attempt goes at once.
        .reconnect_delay_callback(move |attempts| {
            if attempts <= 1 {
                return Duration::ZERO;
            }
            let failures = u32::try_from(attempts - 2).unwrap_or(u32::MAX);
            // Jitter, not cryptography: the clock's low bits, mixed, differ between clients.
            let r = (monotonic_ns() ^ attempts as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            backoff::delay(min, max, failures, r)
        })
        .event_callback(move |event| {
            let tx = tx.clone();
            async move {
                let _ = tx.try_send(event);
            }
        });
    if cfg.connect_retry {
        opts = opts.retry_on_initial_connect();
    }
    (opts, rx)
}

/// Connects (or, with `connect_retry`, starts connecting in the background).
///
/// # Errors
///
/// [`NatsError::Connect`] naming the servers (never the credentials) and the client's reason.
pub(crate) async fn connect(
    url: &NatsUrl,
    opts: ConnectOptions,
    timeout: Duration,
) -> Result<async_nats::Client, NatsError> {
    let fail = |why: String| {
        NatsError::Connect(format!(
            "cannot connect to nats://{}: {why} (start the server, or set nats_connect_retry = true \
             / --nats-connect-retry to wait for it)",
            url.hosts()
        ))
    };
    // Every server of the list may take the whole connection timeout.
    let bound = timeout
        .saturating_mul(u32::try_from(url.servers.len()).unwrap_or(u32::MAX))
        .saturating_add(Duration::from_secs(1));
    match tokio::time::timeout(bound, opts.connect(url.addrs())).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(fail(e.to_string())),
        Err(_) => Err(fail("timed out".into())),
    }
}

/// The configuration of the stream this crate creates.
pub(crate) fn stream_config(name: &str, cfg: &NatsConfig) -> stream::Config {
    // JetStream's "no limit" is -1; validation kept both limits within i64.
    let limit = |v: u64| {
        if v == 0 {
            -1
        } else {
            i64::try_from(v).unwrap_or(i64::MAX)
        }
    };
    stream::Config {
        name: name.to_owned(),
        subjects: vec![STREAM_SUBJECTS.to_owned()],
        storage: match cfg.storage {
            NatsStorage::File => stream::StorageType::File,
            NatsStorage::Memory => stream::StorageType::Memory,
        },
        max_age: cfg.max_age,
        duplicate_window: cfg.duplicate_window,
        max_messages: limit(cfg.max_msgs),
        max_bytes: limit(cfg.max_bytes),
        discard: match cfg.discard {
            NatsDiscard::Old => stream::DiscardPolicy::Old,
            NatsDiscard::New => stream::DiscardPolicy::New,
        },
        num_replicas: cfg.replicas,
        ..Default::default()
    }
}

/// Creates the stream `name` when it is missing. An existing stream is used as it is; with
/// `warn`, a warning says which settings differ from ours (the first instance to create it
/// decided). Consumers pass `false`: they rarely configure the stream.
///
/// # Errors
///
/// The server's reason, as text.
pub(crate) async fn ensure_stream(
    js: &jetstream::Context,
    name: &str,
    cfg: &NatsConfig,
    warn: bool,
) -> Result<(), String> {
    let want = stream_config(name, cfg);
    let mut s = js
        .get_or_create_stream(want.clone())
        .await
        .map_err(|e| format!("stream {name}: {e}"))?;
    let info = s.info().await.map_err(|e| format!("stream {name}: {e}"))?;
    let have = &info.config;
    let mut differs = Vec::new();
    if !have.subjects.iter().any(|s| s == STREAM_SUBJECTS) {
        differs.push(format!("subjects {:?}", have.subjects));
    }
    if have.storage != want.storage {
        differs.push(format!("storage {:?}", have.storage));
    }
    if have.max_age != want.max_age {
        differs.push(format!("max_age {:?}", have.max_age));
    }
    if have.duplicate_window != want.duplicate_window {
        differs.push(format!("duplicate_window {:?}", have.duplicate_window));
    }
    if have.num_replicas != want.num_replicas {
        differs.push(format!("replicas {}", have.num_replicas));
    }
    if !differs.is_empty() && !warn {
        tracing::debug!(
            stream = name,
            "existing stream, other settings: {}",
            differs.join(", ")
        );
    } else if !differs.is_empty() {
        tracing::warn!(
            stream = name,
            "the stream exists with other settings than this instance's nats_* keys (kept as they are): {}",
            differs.join(", ")
        );
    }
    Ok(())
}

/// A JetStream context whose API requests and publish acknowledgements wait at most
/// `ack_timeout`, its acknowledgement task on `rt`.
pub(crate) fn jetstream(
    rt: &tokio::runtime::Runtime,
    client: async_nats::Client,
    cfg: &NatsConfig,
) -> jetstream::Context {
    let _in_rt = rt.enter();
    jetstream::context::ContextBuilder::new()
        .timeout(cfg.ack_timeout)
        .ack_timeout(cfg.ack_timeout)
        .build(client)
}

/// One line about a connection event, at a level that fits it.
pub(crate) fn log_event(who: &str, event: &Event) {
    match event {
        Event::Connected => tracing::info!(nats = who, "connected"),
        Event::Disconnected => tracing::warn!(nats = who, "disconnected; reconnecting"),
        Event::LameDuckMode => {
            tracing::warn!(nats = who, "the server is shutting down (lame duck mode)")
        }
        Event::SlowConsumer(_) => {
            tracing::debug!(nats = who, "slow consumer: the client dropped a message")
        }
        // Server and client errors carry the server's or the client's text, never our
        // credentials (they are sent once, in CONNECT, and never echoed).
        other => tracing::warn!(nats = who, event = %other, "connection event"),
    }
}

/// The stream's next item if it is ready now (`Some(None)`: the stream ended), `None` when it
/// would wait. Not `timeout(Duration::ZERO, ..)`: tokio's timer rounds deadlines up to the next
/// millisecond, so a zero timeout parks the thread for up to 1 ms (measured: +1 ms on every
/// delivery through a NATS feed).
pub(crate) async fn ready<S: Stream + Unpin>(s: &mut S) -> Option<Option<S::Item>> {
    std::future::poll_fn(|cx| match Pin::new(&mut *s).poll_next(cx) {
        Poll::Ready(item) => Poll::Ready(Some(item)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// The future's output if it is ready now, `None` when it would wait (see [`ready`]).
pub(crate) async fn ready_now<F: Future + Unpin>(f: &mut F) -> Option<F::Output> {
    std::future::poll_fn(|cx| match Pin::new(&mut *f).poll(cx) {
        Poll::Ready(out) => Poll::Ready(Some(out)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}
