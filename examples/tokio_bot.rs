//! A tokio bot: the engine runs on its own pinned threads; the bot awaits candidates from a
//! `Stream` (cargo feature `tokio`), with no extra hop and no lock on the engine's side.
//!
//! Run with `cargo run --example tokio_bot --features tokio`.

use std::time::Duration;

use sniffer::{DropPolicy, Sniffer, SnifferConfig, SyntheticConfig, SyntheticFeed};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cfg = SnifferConfig {
        drop_policy: DropPolicy::Block,
        ..SnifferConfig::default()
    };
    let feed = SyntheticFeed::new(SyntheticConfig {
        rate: 50_000,
        duration: Duration::from_millis(500),
        ..SyntheticConfig::default()
    });
    let mut engine = Sniffer::builder().config(cfg).feed(feed).build()?;
    let mut stream = engine.take_receiver().expect("receiver").into_stream();

    // Shut the engine down from a blocking thread once the feed is done; the stream then ends.
    let stopper = tokio::task::spawn_blocking(move || {
        engine.wait_feeds(Duration::from_secs(10));
        engine.shutdown(Duration::from_secs(5))
    });
    let mut n = 0u64;
    while let Some(candidate) = stream.recv().await {
        n += 1;
        if n.is_multiple_of(10_000) {
            println!("{n} candidates, latest slot {}", candidate.slot);
        }
    }
    let report = stopper.await?;
    println!(
        "received {n}, engine sent {}",
        report.metrics.candidates_sent
    );
    assert_eq!(n, report.metrics.candidates_sent);
    Ok(())
}
