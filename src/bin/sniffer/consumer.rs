//! The consumer thread of `sniffer run`: it plays the bot, taking what the engine delivers in
//! batches and handing each candidate to the outputs that want it (the `--candidates` lines,
//! the aggregates sink for the fast synthetic feed's candidates, the publisher, the ClickHouse
//! history), until the
//! lanes end or the shutdown deadline passes.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::kafka::Handle as PublishHandle;
use anyhow::Context;
use sniffer::history::HistoryHandle;
use sniffer::sink::SinkHandle;
use sniffer::{CandidateReceiver, LaunchMeta, PremintCandidate, RecvTimeoutError};

/// Where the consumer hands each candidate it takes.
pub(crate) struct Outputs {
    /// `--candidates`.
    pub(crate) candidates: Option<CandidateWriter>,
    /// The aggregates sink, for the candidates of these feeds (the fast synthetic ones: the
    /// decoded feeds hand the sink their launches themselves).
    pub(crate) aggregates: Option<(SinkHandle, Vec<u16>)>,
    /// `--publish`: never blocks; a full queue is counted in publish_dropped.
    pub(crate) publish: Option<PublishHandle>,
    /// `--history`: every delivered launch; never blocks, a full queue is counted in the
    /// history's `dropped`.
    pub(crate) history: Option<HistoryHandle>,
}

impl Outputs {
    fn take(&mut self, c: &PremintCandidate, meta: impl FnOnce() -> Option<LaunchMeta>) {
        if let Some(w) = &mut self.candidates {
            w.write(c);
        }
        if let Some((h, feeds)) = &self.aggregates {
            if feeds.contains(&c.feed_id) {
                let _ = h.record_candidate(c);
            }
        }
        if let Some(p) = &self.publish {
            let _ = p.try_publish(c);
        }
        if let Some(h) = &self.history {
            h.record_launch(c, meta());
        }
    }

    fn flush(&mut self) {
        if let Some(w) = &mut self.candidates {
            w.flush();
        }
    }
}

/// The running consumer thread.
pub(crate) struct Consumer {
    thread: JoinHandle<CandidateReceiver>,
    stop: Arc<ConsumerStop>,
    received: Arc<AtomicU64>,
}

impl Consumer {
    /// Starts the thread on `rx`: batches of at most `batch`, and a sleep of `delay` after each
    /// when asked (a slow bot).
    pub(crate) fn spawn(
        rx: CandidateReceiver,
        mut outputs: Outputs,
        batch: usize,
        delay: Option<Duration>,
    ) -> anyhow::Result<Consumer> {
        let received = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(ConsumerStop::default());
        let (count, until) = (received.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("sniffer-consumer".into())
            .spawn(move || {
                // Take a batch (one receive, then what is ready), then pause if asked; stop at
                // the end of the lanes or at the shutdown deadline, whichever comes first.
                while !until.passed() {
                    let first = match rx.recv_timeout(ConsumerStop::POLL) {
                        Ok(c) => c,
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(_) => break,
                    };
                    let mut n = 0u64;
                    for c in std::iter::once(first).chain(rx.try_iter().take(batch - 1)) {
                        n += 1;
                        outputs.take(&c, || rx.launch_meta(&c));
                    }
                    count.fetch_add(n, Ordering::Relaxed);
                    outputs.flush();
                    if let Some(d) = delay {
                        until.sleep(d);
                    }
                }
                rx
            })
            .context("spawning the consumer thread")?;
        Ok(Consumer {
            thread,
            stop,
            received,
        })
    }

    /// Stops the consumer at `deadline` at the latest (a sleep in progress is cut short).
    pub(crate) fn stop_at(&self, deadline: Instant) {
        self.stop.set(deadline);
    }

    /// Waits for the thread to end: what it received, and the receiver back (what is left in
    /// the lanes is still there).
    pub(crate) fn join(self) -> anyhow::Result<(u64, CandidateReceiver)> {
        let rx = self
            .thread
            .join()
            .map_err(|_| anyhow::anyhow!("consumer thread panicked"))?;
        Ok((self.received.load(Ordering::Relaxed), rx))
    }
}

/// When the CLI's consumer stops: at the end of the lanes, or at the shutdown deadline, so that
/// a slow (or stuck) consumer cannot hold the exit past `graceful_shutdown_timeout`.
#[derive(Debug, Default)]
struct ConsumerStop {
    deadline: std::sync::OnceLock<Instant>,
    lock: std::sync::Mutex<()>,
    cv: std::sync::Condvar,
}

impl ConsumerStop {
    /// Longest wait of one receive, so the deadline is noticed while the lanes are idle.
    const POLL: Duration = Duration::from_millis(20);

    fn set(&self, at: Instant) {
        let _ = self.deadline.set(at);
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.cv.notify_all();
    }

    fn passed(&self) -> bool {
        self.deadline.get().is_some_and(|d| Instant::now() >= *d)
    }

    /// Sleeps `d`, cut short by the deadline.
    fn sleep(&self, d: Duration) {
        let until = Instant::now() + d;
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let now = Instant::now();
            let end = match self.deadline.get() {
                Some(dl) => until.min(*dl),
                None => until,
            };
            if now >= end {
                return;
            }
            guard = self
                .cv
                .wait_timeout(guard, end - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// `--candidates`: one JSON line per delivered candidate (what a buy needs: mint, creator,
/// signature, market and its token account, token program, the creator's buy; score, priority,
/// feed and detect-to-deliver latency), on the consumer thread. A write error
/// (a closed pipe, a full disk) stops the writing, once, with a warning; consuming goes on.
pub(crate) struct CandidateWriter {
    out: Option<Box<dyn std::io::Write + Send>>,
    feeds: Vec<String>,
}

impl CandidateWriter {
    pub(crate) fn stdout(feeds: Vec<String>) -> Self {
        CandidateWriter {
            out: Some(Box::new(std::io::BufWriter::new(std::io::stdout()))),
            feeds,
        }
    }

    pub(crate) fn file(path: &Path, feeds: Vec<String>) -> std::io::Result<Self> {
        let f = std::fs::File::create(path)?;
        Ok(CandidateWriter {
            out: Some(Box::new(std::io::BufWriter::new(f))),
            feeds,
        })
    }

    fn write(&mut self, c: &PremintCandidate) {
        let Some(out) = &mut self.out else { return };
        let latency_ns = sniffer::monotonic_ns().saturating_sub(c.detected_at_ns);
        let v = serde_json::json!({
            "mint": c.mint,
            "creator": c.creator,
            "kind": c.kind,
            "launchpad": c.launchpad,
            "slot": c.slot,
            "signature": c.signature,
            "market": c.market,
            // Derived for logs-only pump.fun launches (off the hot path: this is the bot).
            "market_token_account": c.associated_bonding_curve().unwrap_or(c.market_token_account),
            "market_quote_account": c.market_quote_account,
            "quote_mint": c.quote_mint,
            "config": c.config,
            "origin": c.origin,
            "token_program": c.token_program,
            "quote_token_program": c.quote_token_program,
            "creator_buy_lamports": c.creator_buy_lamports,
            "creator_buy_tokens": c.creator_buy_tokens,
            "score": c.score,
            "priority": c.priority,
            "executed": c.executed,
            "received_unix_ns": c.received_unix_ns,
            "feed": self.feeds.get(usize::from(c.feed_id)),
            "latency_ns": latency_ns,
        });
        let r = serde_json::to_writer(&mut *out, &v).map_err(std::io::Error::from);
        if let Err(e) = r.and_then(|()| out.write_all(b"\n")) {
            self.fail(&e);
        }
    }

    fn flush(&mut self) {
        if let Some(Err(e)) = self.out.as_mut().map(|o| o.flush()) {
            self.fail(&e);
        }
    }

    fn fail(&mut self, e: &std::io::Error) {
        tracing::warn!(error = %e, "writing candidates failed; no more are written");
        self.out = None;
    }
}
