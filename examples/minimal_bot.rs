//! A minimal embedded bot: build the engine (direct mode: no engine thread between the bot's
//! producer and its receiver), push candidates from the bot's own decoder thread, take them
//! High-first in batches on the main thread, read what a buy needs from each record, shut down
//! and check the books.
//!
//! Run with `cargo run --example minimal_bot`.

use std::time::Duration;

use sniffer::{PremintCandidate, Priority, Sniffer, SnifferConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cfg = SnifferConfig::load(None)?; // defaults, overridden by SNIFFER_* variables
    let mut engine = Sniffer::builder().config(cfg).build()?;
    let rx = engine
        .take_receiver()
        .expect("no handler set, so there is a receiver");

    // The bot's decoder thread: try_ingest never blocks the receive loop.
    let handle = engine.ingest_handle();
    let decoder = std::thread::spawn(move || {
        for slot in 0..10_000u64 {
            let priority = if slot % 10 == 0 {
                Priority::High
            } else {
                Priority::Low
            };
            let c = PremintCandidate {
                slot,
                priority,
                ..Default::default()
            };
            if let Err(e) = handle.try_ingest(c) {
                // Full, backpressure or shutdown: the candidate is handed back; here we drop it.
                eprintln!("not ingested: {e}");
            }
        }
    });

    let mut high = 0;
    let mut total = 0;
    let mut batch = Vec::with_capacity(64);
    while let Ok(first) = rx.recv_timeout(Duration::from_millis(200)) {
        // One wait, then whatever else is ready (up to 63 more), High first.
        batch.clear();
        batch.push(first);
        let _ = rx.try_recv_batch(&mut batch, 63);
        for c in &batch {
            total += 1;
            high += usize::from(c.priority == Priority::High);
            // Everything a buy needs is in the record; name/symbol/uri when a feed decoded them.
            let _buy = (
                c.signature,
                c.mint,
                c.bonding_curve(),
                c.associated_bonding_curve(),
            );
            let _meta = rx.launch_meta(c);
        }
    }
    decoder.join().expect("decoder thread");

    let report = engine.shutdown(Duration::from_secs(5));
    total += rx.try_iter().count();
    println!(
        "received {total} ({high} high); engine says {}",
        report.metrics.candidates_sent
    );
    assert!(report.metrics.accounting_holds());
    Ok(())
}
