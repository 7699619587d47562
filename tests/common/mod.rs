//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)] // each test file uses a different subset

use std::collections::{HashMap, HashSet};

use sniffer::{MetricsSnapshot, PremintCandidate, Priority};

/// A candidate tagged with its producer (`feed_id`) and the producer's own counter (`slot`).
pub fn tagged(producer: u16, n: u64, priority: Priority) -> PremintCandidate {
    PremintCandidate {
        feed_id: producer,
        slot: n,
        priority,
        ..Default::default()
    }
}

/// Priority pattern used by the tests: every third candidate is High.
pub fn priority_of(n: u64) -> Priority {
    if n.is_multiple_of(3) {
        Priority::High
    } else {
        Priority::Low
    }
}

/// Checks what a consumer received: no duplicate sequence number, FIFO per producer within each
/// priority, and the accounting invariant with `in_flight == 0` and `received == sent`.
pub fn assert_delivery(received: &[PremintCandidate], m: &MetricsSnapshot) {
    assert!(m.accounting_holds(), "accounting invariant broken: {m:#?}");
    assert_eq!(m.in_flight, 0, "nothing in flight after shutdown: {m:#?}");
    assert_eq!(
        received.len() as u64,
        m.candidates_sent,
        "received == sent: {m:#?}"
    );
    let high = received
        .iter()
        .filter(|c| c.priority == Priority::High)
        .count() as u64;
    assert_eq!(high, m.high_sent);
    let mut seqs = HashSet::new();
    for c in received {
        assert!(seqs.insert(c.seq), "sequence {} delivered twice", c.seq);
    }
    let mut last: HashMap<(u16, Priority), u64> = HashMap::new();
    for c in received {
        if let Some(prev) = last.insert((c.feed_id, c.priority), c.slot) {
            assert!(
                prev < c.slot,
                "producer {} {:?}: {} delivered after {}",
                c.feed_id,
                c.priority,
                c.slot,
                prev
            );
        }
    }
}

/// The accounting invariant with nothing in flight, every sent candidate received, none twice.
pub fn assert_accounted(received: &[PremintCandidate], m: &MetricsSnapshot) {
    assert!(m.accounting_holds(), "accounting invariant broken: {m:#?}");
    assert_eq!(m.in_flight, 0, "nothing in flight after shutdown: {m:#?}");
    assert_eq!(
        received.len() as u64,
        m.candidates_sent,
        "received == sent: {m:#?}"
    );
    let mut seqs = HashSet::new();
    for c in received {
        assert!(seqs.insert(c.seq), "sequence {} delivered twice", c.seq);
    }
}

/// An engine whose handler holds the batcher until the test drops `release`: the batcher has
/// taken the first candidate and stopped, so later pushes meet an empty ring whose content the
/// test then knows exactly.
pub struct Stalled {
    pub engine: sniffer::Sniffer,
    /// Every candidate the handler completed, in order.
    pub delivered: std::sync::Arc<std::sync::Mutex<Vec<PremintCandidate>>>,
    /// Dropping it lets the handler go on.
    pub release: std::sync::MutexGuard<'static, ()>,
}

/// Builds the engine, ingests `first` and returns once the handler holds it.
pub fn stalled_handler(cfg: sniffer::SnifferConfig, first: PremintCandidate) -> Stalled {
    use std::sync::{mpsc, Arc, Mutex};
    let gate: &'static Mutex<()> = Box::leak(Box::new(Mutex::new(())));
    let release = gate.lock().unwrap();
    let (tx, entered) = mpsc::channel();
    let tx = Mutex::new(tx);
    let delivered = Arc::new(Mutex::new(Vec::new()));
    let seen = delivered.clone();
    let engine = sniffer::Sniffer::builder()
        .config(cfg)
        .handler(move |c: &PremintCandidate| {
            let _ = tx.lock().unwrap().send(c.slot);
            drop(gate.lock().unwrap());
            seen.lock().unwrap().push(*c);
        })
        .build()
        .unwrap();
    engine.ingest_handle().ingest(first).unwrap();
    let held = entered
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the handler takes the first candidate");
    assert_eq!(held, first.slot);
    Stalled {
        engine,
        delivered,
        release,
    }
}

/// The `sniffer` binary built for these tests, with quiet logs.
pub fn sniffer_cmd() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sniffer"));
    cmd.env("SNIFFER_LOG", "warn");
    cmd
}

/// A path in a temp folder of this test binary and process.
pub fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sniffer-{}-{}",
        env!("CARGO_CRATE_NAME"),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Asserts that a command exited 0, showing its stderr otherwise.
pub fn assert_ok(out: &std::process::Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// How a wrapped feed's polls went, shared with the test while an engine runs it.
#[derive(Clone, Debug, Default)]
pub struct Polls(std::sync::Arc<[std::sync::atomic::AtomicU64; 2]>);

impl Polls {
    /// Polls that did some work (or waited for input): `Ready`.
    pub fn ready(&self) -> u64 {
        self.0[0].load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Polls that found nothing at once: `Idle`.
    pub fn idle(&self) -> u64 {
        self.0[1].load(std::sync::atomic::Ordering::Relaxed)
    }

    /// On a connected stream with nothing to read: busy-polling, at least 1 000 polls come back
    /// `Idle` at once; by default 100 polls each wait for input (`Ready`) and none is `Idle`.
    pub fn check_quiet(&self, busy: bool, margin: std::time::Duration) {
        let (ready, idle) = (self.ready(), self.idle());
        if busy {
            wait_until(margin, || self.idle() >= idle + 1_000);
        } else {
            wait_until(margin, || self.ready() >= ready + 100);
        }
        let (ready_after, idle_after) = (self.ready(), self.idle());
        if busy {
            assert!(idle_after >= idle + 1_000, "busy: {idle} -> {idle_after}");
        } else {
            assert!(ready_after >= ready + 100, "{ready} -> {ready_after}");
            assert_eq!(
                idle_after, idle,
                "by default a connected feed waits, never idle"
            );
        }
    }
}

/// A feed that counts what each poll of `F` returned (see [`Polls`]).
pub struct Counted<F>(pub F, pub Polls);

impl<F: sniffer::feed::Feed> sniffer::feed::Feed for Counted<F> {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn poll(&mut self, sink: &mut sniffer::feed::FeedSink<'_>) -> sniffer::feed::FeedPoll {
        let r = self.0.poll(sink);
        let i = match r {
            sniffer::feed::FeedPoll::Idle => 1,
            _ => 0,
        };
        self.1 .0[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        r
    }

    fn can_wait(&self) -> bool {
        self.0.can_wait()
    }

    fn set_busy_poll(&mut self) {
        self.0.set_busy_poll();
    }

    fn poll_paused(&mut self, sink: &mut sniffer::feed::FeedSink<'_>) {
        self.0.poll_paused(sink);
    }
}

/// Runs `feed`, its polls counted, in an engine with `busy_poll` set until `done` holds for the
/// engine's metrics; then checks the polls of the quiet stream ([`Polls::check_quiet`]), shuts
/// down and returns what the bot received, with the accounting checked.
pub fn run_counted(
    feed: impl sniffer::feed::Feed,
    busy: bool,
    done: impl Fn(&MetricsSnapshot) -> bool,
) -> (Vec<PremintCandidate>, MetricsSnapshot) {
    let polls = Polls::default();
    let mut engine = sniffer::Sniffer::builder()
        .feed(Counted(feed, polls.clone()))
        .busy_poll(busy)
        .build()
        .unwrap();
    let rx = engine.take_receiver().unwrap();
    let margin = std::time::Duration::from_secs(30);
    wait_until(margin, || done(&engine.snapshot()));
    polls.check_quiet(busy, margin);
    let m = engine.shutdown(std::time::Duration::from_secs(5)).metrics;
    let got: Vec<_> = rx.try_iter().collect();
    assert_accounted(&got, &m);
    (got, m)
}

/// Waits until `done` holds, at most `margin` (a did-not-hang margin, never a pass condition:
/// the caller asserts what it waited for); returns whether it held.
pub fn wait_until(margin: std::time::Duration, done: impl Fn() -> bool) -> bool {
    let until = std::time::Instant::now() + margin;
    while !done() {
        if std::time::Instant::now() >= until {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    true
}
