//! A tokio bot: the bot awaits candidates from a `Stream` (cargo feature `stream`) and ingests its
//! own under `block` with `ingest_async`, which awaits room in a full lane instead of blocking the
//! runtime's thread; a synthetic feed runs on the engine's own thread beside it.
//!
//! Run with `cargo run --example tokio_bot --features stream`.

use std::time::Duration;

use sniffer::{
    feed::{SyntheticConfig, SyntheticFeed},
    DropPolicy, PremintCandidate, Priority, Sniffer, SnifferConfig,
};

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

    // The bot's own detector, on the same runtime: under `block` it waits for room without
    // holding the thread, so the stream below keeps being served.
    let bot = engine.ingest_handle();
    let own = tokio::spawn(async move {
        for slot in 0..1_000u64 {
            let c = PremintCandidate {
                slot,
                priority: Priority::High,
                ..Default::default()
            };
            bot.ingest_async(c).await?;
        }
        Ok::<u64, sniffer::IngestError>(1_000)
    });

    // Shut the engine down from a blocking thread once the feed is done; the stream then ends.
    let stopper = tokio::spawn(async move {
        let pushed = own.await.expect("bot task")?;
        let report = tokio::task::spawn_blocking(move || {
            engine.wait_feeds(Duration::from_secs(10));
            engine.shutdown(Duration::from_secs(5))
        })
        .await
        .expect("shutdown task");
        Ok::<_, sniffer::IngestError>((pushed, report))
    });
    let mut n = 0u64;
    while let Some(candidate) = stream.recv().await {
        n += 1;
        if n.is_multiple_of(10_000) {
            println!("{n} candidates, latest slot {}", candidate.slot);
        }
    }
    let (pushed, report) = stopper.await??;
    println!(
        "received {n} (the bot pushed {pushed} of them), engine sent {}",
        report.metrics.candidates_sent
    );
    assert_eq!(n, report.metrics.candidates_sent);
    Ok(())
}
