//! What every live connection shares, below the feeds and outputs that use it (as async-nats
//! keeps its `connector` apart from its JetStream and core clients):
//!
//! - `url.rs`: the one URL reader (scheme, `user:pass@` split off into redacted secrets, hosts
//!   with IPv6 brackets and default ports, host lists for NATS), under `endpoint.rs` (a
//!   WebSocket or gRPC endpoint, its path and query kept secret) and `nats/url.rs`;
//! - `backoff.rs`: the reconnect schedule, exponential with jitter (the NATS client's callback
//!   uses the same formula);
//! - `link.rs`: the state of a connection a feed drives poll by poll (down, connecting, up) and
//!   the longest wait of one poll, `READ_SLICE`;
//! - `recent.rs`: the bounded memory of what a connection handled lately, so that what a
//!   reconnect replays is skipped;
//! - `grpc.rs`: the tonic channel, error wording and basic authentication that the gRPC feeds
//!   (Yellowstone, ShredStream) share;
//! - `tls.rs`: the TLS clients, with the extra roots of `tls_ca_file` (read and checked once per
//!   process by `ca_file.rs`, below the configuration that checks it first);
//! - `nats/`: the NATS client side that the NATS feeds and the NATS publisher both use.
//! - `kafka.rs`: the Kafka client settings and URLs that the Kafka feed and the Kafka publisher
//!   both use.

#[cfg(any(
    feature = "ws",
    feature = "geyser",
    feature = "shredstream",
    feature = "nats",
    feature = "kafka"
))]
pub(crate) mod backoff;
#[cfg(any(feature = "ws", feature = "geyser", feature = "shredstream"))]
pub(crate) mod endpoint;
#[cfg(any(feature = "geyser", feature = "shredstream"))]
pub(crate) mod grpc;
#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(any(
    feature = "ws",
    feature = "geyser",
    feature = "shredstream",
    feature = "nats"
))]
pub(crate) mod link;
#[cfg(feature = "nats")]
pub mod nats;
#[cfg(any(feature = "geyser", feature = "shredstream", feature = "nats"))]
pub(crate) mod recent;
#[cfg(any(feature = "ws", feature = "geyser", feature = "shredstream"))]
pub(crate) mod tls;
#[cfg(any(
    feature = "ws",
    feature = "geyser",
    feature = "shredstream",
    feature = "nats"
))]
pub(crate) mod url;
