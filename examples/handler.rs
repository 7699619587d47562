//! Delivery through a handler closure, run on the sending thread itself (the batcher in sync
//! mode, the lane's worker in async mode): no receiver, no extra hop. A panicking handler call is
//! caught and counted in `send_failures`.
//!
//! Run with `cargo run --example handler`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sniffer::{
    feed::{SyntheticConfig, SyntheticFeed},
    PremintCandidate, Priority, Sniffer,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let highs = Arc::new(AtomicU64::new(0));
    let seen = highs.clone();
    let feed = SyntheticFeed::new(SyntheticConfig {
        rate: 200_000,
        duration: Duration::from_secs(1),
        ..SyntheticConfig::default()
    });
    let engine = Sniffer::builder()
        .feed(feed)
        .handler(move |c: &PremintCandidate| {
            // Keep this short: it runs on the engine's sending thread.
            if c.priority == Priority::High {
                seen.fetch_add(1, Ordering::Relaxed);
            }
        })
        .build()?;
    engine.wait_feeds(Duration::from_secs(10));
    let report = engine.shutdown(Duration::from_secs(5));
    let m = &report.metrics;
    println!(
        "handled {} candidates ({} high), p50 {} ns, p99 {} ns",
        m.candidates_sent,
        highs.load(Ordering::Relaxed),
        m.latency_ns.p50,
        m.latency_ns.p99
    );
    assert!(m.accounting_holds());
    Ok(())
}
