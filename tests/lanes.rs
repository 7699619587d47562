//! The bot's end (issue 11): every policy holds at the output lanes with a stalled bot, in direct
//! mode (the lanes are the only buffer) and in sync/async mode (behind the ring and the batcher);
//! `max_age` is checked when the bot receives; batch receives honour the Low share; a decoded
//! launch reaches the bot with what a buy needs; and a metrics handle never keeps the stream open
//! (issue 14 item 1).

mod common;
mod samples;

use std::time::{Duration, Instant};

use common::{assert_delivery, tagged};
use sniffer::{
    config::BatchSendMode,
    decode::DecoderConfig,
    feed::{LineFeed, ReaderSource},
    DropPolicy, IngestError, MetricsSnapshot, PremintCandidate, Priority, RecvError,
    RecvTimeoutError, Sniffer, SnifferConfig, TokenProgram, TryIngestError, TryRecvError,
};

const LANE: usize = 4;
const PUSHED: u64 = 10;

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn lane_config(policy: DropPolicy, mode: BatchSendMode) -> SnifferConfig {
    SnifferConfig {
        drop_policy: policy,
        batch_send_mode: mode,
        // Direct mode: each lane is a ring of `stream_buffer_capacity`. Otherwise the ring is
        // roomy and the lanes are small, so the lanes are where the policy bites.
        stream_buffer_capacity: if mode == BatchSendMode::Direct {
            LANE
        } else {
            64
        },
        output_lane_capacity: LANE,
        batch_size: 1,
        send_retry_delay: Duration::from_micros(10),
        ..SnifferConfig::default()
    }
}

/// Pushes `PUSHED` Low candidates while the bot does not read, waits until the engine has done
/// all it can with them, then lets the bot read. Returns what it received and the final metrics.
fn stalled_bot(policy: DropPolicy, mode: BatchSendMode) -> (Vec<u64>, MetricsSnapshot, u64) {
    stalled_bot_with(lane_config(policy, mode))
}

/// [`stalled_bot`] with any configuration built on [`lane_config`].
fn stalled_bot_with(cfg: SnifferConfig) -> (Vec<u64>, MetricsSnapshot, u64) {
    let mode = cfg.batch_send_mode;
    let mut engine = Sniffer::builder().config(cfg).build().unwrap();
    let rx = engine.take_receiver().unwrap();
    let h = engine.ingest_handle();
    let mut refused = 0;
    for n in 0..PUSHED {
        match h.try_ingest(tagged(0, n, Priority::Low)) {
            Ok(()) => {}
            Err(TryIngestError::Full(_)) => refused += 1,
            // The gate paused once the lanes passed pause_pct: `ingest` applies the policy anyway.
            Err(TryIngestError::Backpressure(c)) => match h.ingest(c) {
                Ok(()) => {}
                Err(IngestError::Full(_)) => refused += 1,
                Err(e) => panic!("unexpected {e}"),
            },
            Err(e) => panic!("unexpected {e}"),
        }
    }
    // Everything the engine can place is placed: the ring is empty and nothing is in flight.
    wait_for("the engine to settle", || {
        let m = engine.snapshot();
        m.in_flight == 0
            && m.stream_buffer_depth as usize <= 2 * LANE
            && m.low_lane_depth as usize == LANE
            && (mode == BatchSendMode::Direct || m.stream_buffer_depth == 0)
    });
    let report = engine.shutdown(Duration::from_secs(5));
    let got: Vec<u64> = rx.iter().map(|c| c.slot).collect();
    (got, report.metrics, refused)
}

#[test]
fn drop_oldest_evicts_the_lanes_oldest_with_a_stalled_bot() {
    for mode in [
        BatchSendMode::Direct,
        BatchSendMode::Sync,
        BatchSendMode::Async,
    ] {
        let (got, m, refused) = stalled_bot(DropPolicy::DropOldest, mode);
        assert_eq!(refused, 0, "{mode:?}: drop_oldest accepts every push");
        // The freshest LANE candidates, never a lane full of stale ones.
        assert_eq!(
            got,
            (PUSHED - LANE as u64..PUSHED).collect::<Vec<_>>(),
            "{mode:?}"
        );
        assert_eq!(m.dropped_oldest, PUSHED - LANE as u64, "{mode:?}: {m:#?}");
        assert_eq!(m.dropped_full_buffer, 0, "{mode:?}");
        assert_eq!(m.backpressure_events, PUSHED - LANE as u64, "{mode:?}");
        assert_eq!(m.candidates_sent, LANE as u64);
        assert!(m.accounting_holds() && m.in_flight == 0, "{mode:?}: {m:#?}");
    }
}

#[test]
fn drop_newest_refuses_the_incoming_at_the_lane_with_a_stalled_bot() {
    for mode in [
        BatchSendMode::Direct,
        BatchSendMode::Sync,
        BatchSendMode::Async,
    ] {
        let (got, m, refused) = stalled_bot(DropPolicy::DropNewest, mode);
        assert_eq!(
            got,
            (0..LANE as u64).collect::<Vec<_>>(),
            "{mode:?}: the queued ones stay"
        );
        assert_eq!(
            m.dropped_full_buffer,
            PUSHED - LANE as u64,
            "{mode:?}: {m:#?}"
        );
        assert_eq!(m.dropped_oldest, 0, "{mode:?}");
        match mode {
            // Refused at the push itself.
            BatchSendMode::Direct => assert_eq!(refused, PUSHED - LANE as u64),
            // Accepted into the ring, refused by the full lane after the retries.
            _ => {
                assert_eq!(refused, 0);
                assert_eq!(m.send_failures, PUSHED - LANE as u64, "{mode:?}");
            }
        }
        assert_eq!(m.backpressure_events, PUSHED - LANE as u64, "{mode:?}");
        assert!(m.accounting_holds() && m.in_flight == 0, "{mode:?}: {m:#?}");
    }
}

/// Under `drop_newest` a full lane is retried exactly `send_max_retries` times per candidate
/// (none with 0) before the candidate counts as a send failure.
#[test]
fn a_full_lane_is_retried_exactly_send_max_retries_times() {
    for mode in [BatchSendMode::Sync, BatchSendMode::Async] {
        for retries in [0u32, 1, 5] {
            let (got, m, refused) = stalled_bot_with(SnifferConfig {
                send_max_retries: retries,
                ..lane_config(DropPolicy::DropNewest, mode)
            });
            let failed = PUSHED - LANE as u64;
            assert_eq!((refused, got.len() as u64), (0, LANE as u64), "{mode:?}");
            assert_eq!(m.send_failures, failed, "{mode:?} x{retries}: {m:#?}");
            assert_eq!(
                m.send_retries,
                failed * u64::from(retries),
                "{mode:?} x{retries}: {m:#?}"
            );
        }
    }
}

/// The retries are `send_retry_delay` apart: a candidate that meets a full lane is counted as
/// failed no sooner than `send_max_retries` delays after it was handed over (the monotonic
/// clock cannot run slower).
#[test]
fn send_retries_are_spaced_by_the_retry_delay() {
    const RETRIES: u32 = 4;
    const DELAY: Duration = Duration::from_millis(50);
    let mut engine = Sniffer::builder()
        .config(SnifferConfig {
            send_max_retries: RETRIES,
            send_retry_delay: DELAY,
            ..lane_config(DropPolicy::DropNewest, BatchSendMode::Sync)
        })
        .build()
        .unwrap();
    let rx = engine.take_receiver().unwrap();
    let h = engine.ingest_handle();
    for n in 0..LANE as u64 {
        h.ingest(tagged(0, n, Priority::Low)).unwrap();
    }
    wait_for("the lane to fill", || {
        engine.snapshot().low_lane_depth as usize == LANE
    });
    let handed_over = Instant::now();
    h.ingest(tagged(0, LANE as u64, Priority::Low)).unwrap();
    wait_for("the send failure", || engine.snapshot().send_failures == 1);
    let waited = handed_over.elapsed();
    assert!(waited >= DELAY * RETRIES, "failed after {waited:?}");
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    assert_eq!((m.send_retries, m.send_failures), (u64::from(RETRIES), 1));
    assert_eq!(rx.try_iter().count(), LANE);
}

#[test]
fn block_waits_at_the_lane_and_drops_nothing() {
    for mode in [
        BatchSendMode::Direct,
        BatchSendMode::Sync,
        BatchSendMode::Async,
    ] {
        let cfg = SnifferConfig {
            block_timeout: Some(Duration::from_millis(20)),
            ..lane_config(DropPolicy::Block, mode)
        };
        let mut engine = Sniffer::builder().config(cfg).build().unwrap();
        let rx = engine.take_receiver().unwrap();
        let h = engine.ingest_handle();
        let mut accepted = 0u64;
        // Nobody reads: the lanes fill, then (sync/async) the batcher waits on them and the ring
        // fills, and ingest times out: handed back, uncounted.
        let timed_out = loop {
            match h.ingest(tagged(0, accepted, Priority::Low)) {
                Ok(()) => accepted += 1,
                Err(IngestError::Timeout(c)) => break c.slot,
                Err(e) => panic!("unexpected {e}"),
            }
            assert!(accepted < 1000, "{mode:?}: the lane never pushed back");
        };
        assert_eq!(timed_out, accepted);
        if mode == BatchSendMode::Direct {
            assert_eq!(accepted, LANE as u64, "direct: the lane is the only buffer");
        }
        let live = engine.snapshot();
        assert_eq!(live.dropped_total(), 0, "{mode:?}: {live:#?}");
        assert_eq!(live.candidates_detected, accepted);
        assert!(
            live.backpressure_events >= 1,
            "{mode:?}: the full lane was met"
        );
        // The bot wakes up: everything accepted arrives, in order.
        let consumer = std::thread::spawn(move || rx.iter().collect::<Vec<_>>());
        let report = engine.shutdown(Duration::from_secs(10));
        let got = consumer.join().unwrap();
        assert_delivery(&got, &report.metrics);
        assert_eq!(got.len() as u64, accepted, "{mode:?}");
    }
}

/// `max_age` at the last hop: a candidate that was fresh at enqueue and went stale in the lane
/// is never handed to the bot. No clock condition guards the assertions: the candidate is made
/// older than `max_age` by waiting at least that long (the monotonic clock cannot run slower).
#[test]
fn max_age_is_checked_when_the_bot_receives() {
    for mode in [BatchSendMode::Direct, BatchSendMode::Sync] {
        let max_age = Duration::from_millis(30);
        let cfg = SnifferConfig {
            max_age: Some(max_age),
            batch_send_mode: mode,
            ..SnifferConfig::default()
        };
        let mut engine = Sniffer::builder().config(cfg).build().unwrap();
        let rx = engine.take_receiver().unwrap();
        let h = engine.ingest_handle();
        h.ingest(tagged(0, 1, Priority::High)).unwrap();
        h.ingest(tagged(0, 2, Priority::Low)).unwrap();
        wait_for("both in the lanes", || rx.len() == 2);
        std::thread::sleep(max_age + Duration::from_millis(5));
        h.ingest(tagged(0, 3, Priority::Low)).unwrap();
        wait_for("the fresh one in its lane", || rx.len() == 3);
        let got = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(got.slot, 3, "{mode:?}: the two stale ones were skipped");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        let report = engine.shutdown(Duration::from_secs(5));
        let m = &report.metrics;
        assert_eq!(m.dropped_stale, 2, "{mode:?}: {m:#?}");
        assert_eq!(m.candidates_sent, 1);
        assert!(m.accounting_holds() && m.in_flight == 0, "{m:#?}");
        assert_eq!(rx.recv(), Err(RecvError));
    }
}

#[test]
fn recv_batch_honours_the_low_share_and_fifo() {
    let cfg = SnifferConfig {
        low_share_pct: 10,
        stream_buffer_capacity: 1024,
        drop_policy: DropPolicy::Block,
        ..SnifferConfig::default()
    };
    let mut engine = Sniffer::builder().config(cfg).build().unwrap();
    let rx = engine.take_receiver().unwrap();
    let h = engine.ingest_handle();
    for n in 0..300 {
        h.ingest(tagged(0, n, Priority::High)).unwrap();
        h.ingest(tagged(0, n, Priority::Low)).unwrap();
    }
    let mut buf = Vec::new();
    assert_eq!(rx.try_recv_batch(&mut buf, 100), Ok(100));
    assert_eq!(rx.recv_batch(&mut buf, 100), Ok(100));
    // Both lanes non-empty throughout: exactly 10 % Low, FIFO within each lane.
    let lows: Vec<u64> = buf
        .iter()
        .filter(|c| c.priority == Priority::Low)
        .map(|c| c.slot)
        .collect();
    assert_eq!(lows, (0..20).collect::<Vec<_>>());
    let highs: Vec<u64> = buf
        .iter()
        .filter(|c| c.priority == Priority::High)
        .map(|c| c.slot)
        .collect();
    assert_eq!(highs, (0..180).collect::<Vec<_>>());
    assert_eq!(rx.try_recv_batch(&mut buf, 0), Ok(0));
    let report = engine.shutdown(Duration::from_secs(5));
    while rx.recv_batch(&mut buf, 64).is_ok() {}
    assert_delivery(&buf, &report.metrics);
    assert_eq!(
        rx.try_recv_batch(&mut buf, 8),
        Err(TryRecvError::Disconnected)
    );
}

/// Issue 14 item 1: an HTTP server (or any bot reporter) holding a `MetricsSource` must not keep
/// the bot waiting after shutdown.
#[test]
fn a_held_metrics_source_does_not_keep_the_stream_open() {
    for mode in [
        BatchSendMode::Direct,
        BatchSendMode::Sync,
        BatchSendMode::Async,
    ] {
        let cfg = SnifferConfig {
            batch_send_mode: mode,
            ..SnifferConfig::default()
        };
        let mut engine = Sniffer::builder().config(cfg).build().unwrap();
        let rx = engine.take_receiver().unwrap();
        let source = engine.metrics_source();
        let held = source.clone();
        engine
            .ingest_handle()
            .ingest(tagged(0, 7, Priority::High))
            .unwrap();
        let report = engine.shutdown(Duration::from_secs(5));
        assert_eq!(
            rx.recv().map(|c| c.slot),
            Ok(7),
            "{mode:?}: what was delivered stays"
        );
        assert_eq!(
            rx.recv(),
            Err(RecvError),
            "{mode:?}: then the end, source still held"
        );
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(1)),
            Err(RecvTimeoutError::Disconnected)
        );
        assert_eq!(
            held.snapshot().candidates_sent,
            report.metrics.candidates_sent
        );
        drop(source);
    }
}

/// A real launch decoded by a feed reaches the bot with the fields its buy needs, and its name,
/// symbol and uri through the receiver's side table.
#[test]
fn a_decoded_launch_reaches_the_bot_with_what_a_buy_needs() {
    use samples::*;
    let line = logs_notification(SIG, SLOT, serde_json::Value::Null, &create_logs()) + "\n";
    let source = ReaderSource::spawn("sample", std::io::Cursor::new(line), 1 << 20).unwrap();
    let feed = LineFeed::new(source, DecoderConfig::default());
    let mut engine = Sniffer::builder().feed(feed).build().unwrap();
    let rx = engine.take_receiver().unwrap();
    let c: PremintCandidate = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(c.signature.to_string(), SIG);
    assert_eq!(c.mint.to_string(), MINT);
    assert_eq!(c.creator.to_string(), CREATOR);
    assert_eq!(
        c.bonding_curve().map(|k| k.to_string()),
        Some(BONDING_CURVE.to_owned())
    );
    assert_eq!(c.token_program, TokenProgram::Token);
    assert_eq!(c.slot, SLOT);
    // A wall-clock receive time beside the monotonic stamp (after 2020-01-01).
    assert!(c.received_unix_ns > 1_577_836_800_000_000_000, "{c:?}");
    assert!(c.detected_at_ns > 0);
    let meta = rx
        .launch_meta(&c)
        .expect("the feed decoded name, symbol and uri");
    assert_eq!(
        (meta.name(), meta.symbol(), meta.uri()),
        ("excited", "excited", URI)
    );
    assert!(engine.wait_feeds(Duration::from_secs(20)));
    let report = engine.shutdown(Duration::from_secs(5));
    assert!(report.metrics.accounting_holds());
    assert_eq!(report.metrics.candidates_sent, 1);
}

/// Dropping the receiver closes the lanes: what was left in them counts in `send_failures`, and
/// direct-mode pushes are refused from then on.
#[test]
fn dropping_the_receiver_counts_what_it_left() {
    let mut engine = Sniffer::builder().build().unwrap();
    let rx = engine.take_receiver().unwrap();
    let h = engine.ingest_handle();
    for n in 0..3 {
        h.ingest(tagged(0, n, Priority::Low)).unwrap();
    }
    drop(rx);
    assert!(matches!(
        h.ingest(tagged(0, 9, Priority::Low)),
        Err(IngestError::Closed(_))
    ));
    let report = engine.shutdown(Duration::from_secs(5));
    let m = &report.metrics;
    assert_eq!(m.send_failures, 3, "{m:#?}");
    assert_eq!(m.candidates_sent, 0);
    assert!(m.accounting_holds() && m.in_flight == 0, "{m:#?}");
}

/// Issue 11 item 4: a tokio bot ingests under `block` without blocking its runtime thread: the
/// future waits for room in the full lane and nothing is dropped.
#[cfg(feature = "stream")]
#[test]
fn async_ingest_waits_for_room_under_block() {
    for mode in [BatchSendMode::Direct, BatchSendMode::Sync] {
        let mut engine = Sniffer::builder()
            .config(lane_config(DropPolicy::Block, mode))
            .build()
            .unwrap();
        let rx = engine.take_receiver().unwrap();
        let h = engine.ingest_handle();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let consumer = std::thread::spawn(move || rx.iter().collect::<Vec<_>>());
        let (ticks, pushed) = rt.block_on(async {
            // A second task on the same thread keeps running while the producer waits.
            let ticker = tokio::spawn(async {
                let mut n = 0u64;
                for _ in 0..5 {
                    tokio::task::yield_now().await;
                    n += 1;
                }
                n
            });
            for n in 0..500 {
                h.ingest_async(tagged(0, n, Priority::Low)).await.unwrap();
            }
            (ticker.await.unwrap(), 500u64)
        });
        assert_eq!(ticks, 5);
        let report = engine.shutdown(Duration::from_secs(10));
        let got = consumer.join().unwrap();
        assert_delivery(&got, &report.metrics);
        assert_eq!(got.len() as u64, pushed, "{mode:?}");
        assert_eq!(report.metrics.dropped_total(), 0, "{mode:?}");
    }
}
