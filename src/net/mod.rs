//! What every live connection shares, below the feeds and outputs that use it (as async-nats
//! keeps its `connector` apart from its JetStream and core clients): URL parsing with the
//! secrets kept apart and redacted (`endpoint.rs`), the reconnect schedule (`backoff.rs`), the
//! extra TLS roots of `tls_ca_file` (`tls.rs`), the NATS client side that the NATS feeds and
//! the NATS publisher both use (`nats/`), and the Kafka client settings and URLs that the Kafka
//! feed and the Kafka publisher both use (`kafka.rs`).

#[cfg(any(
    feature = "ws",
    feature = "geyser",
    feature = "nats",
    feature = "kafka"
))]
pub(crate) mod backoff;
#[cfg(any(feature = "ws", feature = "geyser"))]
pub(crate) mod endpoint;
#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "nats")]
pub mod nats;
#[cfg(any(feature = "ws", feature = "geyser"))]
pub(crate) mod tls;
