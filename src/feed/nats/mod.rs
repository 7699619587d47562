//! The NATS feeds: launches published by another sniffer, brought into this engine.
//! [`JetStreamFeed`] is a pull consumer: it can wait, so the backpressure gate pauses it, and it
//! acknowledges a message only once its candidate is in the ring or counted. [`CoreNatsFeed`] is
//! a core-NATS subscription: a live source that cannot wait; a full ring drops and counts. The
//! connection, URLs and wire format are `net::nats`'s.

mod core;
mod jetstream;

pub use self::core::CoreNatsFeed;
pub use jetstream::JetStreamFeed;

use crate::feed::{FeedSink, FeedStats};

/// A NATS feed's counters at its first poll, marked with the connection's state now (the events
/// from before it, the first connect among them, were only logged).
pub(crate) fn first_stats(nats: &async_nats::Client, sink: &FeedSink<'_>) -> FeedStats {
    let s = sink.stats();
    if nats.connection_state() == async_nats::connection::State::Connected {
        s.connected();
    } else {
        s.disconnected();
    }
    s
}
