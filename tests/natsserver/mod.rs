//! `nats-server` processes for the tests and the stress harness: one server with JetStream in
//! a temporary directory on a free loopback port, or a three-node cluster, started per test and
//! killed when dropped. `kill_9` and `restart` (same port, same store) make a crash.
//!
//! Ports: `-p 0` does not tell us the port, so a free one is found by binding
//! `127.0.0.1:0` and closing it, then passed to the server; when another process takes it in
//! between, the server exits and the start is retried with fresh ports.
#![allow(dead_code, unreachable_pub)] // each user takes a subset

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(15);

/// The `nats-server` binary: `$NATS_SERVER`, else the one on `PATH`.
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("NATS_SERVER") {
        return PathBuf::from(p);
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")])
    {
        let p = dir.join("nats-server");
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "nats-server not found: install it (`apt-get install nats-server`; .ci/run does this) \
         or set NATS_SERVER"
    );
}

/// A port nobody listened on a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A directory removed when dropped (the stress harness has no dev-dependencies, so no
/// `tempfile` here).
pub struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "sniffer-nats-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("a temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One `nats-server` process.
pub struct NatsServer {
    child: Option<Child>,
    pub port: u16,
    args: Vec<String>,
    log: PathBuf,
    // Dropped after the process is killed (fields drop in order, after `Drop::drop`).
    dir: TempDir,
}

impl NatsServer {
    /// A single server with JetStream (file store in a temporary directory).
    pub fn start() -> NatsServer {
        Self::start_with(|_| Vec::new())
    }

    /// A single server with JetStream plus `extra(port)` arguments.
    pub fn start_with(extra: impl Fn(u16) -> Vec<String>) -> NatsServer {
        for _ in 0..5 {
            if let Some(s) = Self::try_start_at(free_port(), &extra) {
                return s;
            }
        }
        panic!("nats-server did not start on five free ports in a row");
    }

    /// A single server with JetStream on `port` (a port a client was told about earlier).
    pub fn start_at(port: u16) -> NatsServer {
        Self::try_start_at(port, &|_| Vec::new())
            .unwrap_or_else(|| panic!("nats-server did not start on port {port}"))
    }

    fn try_start_at(port: u16, extra: &dyn Fn(u16) -> Vec<String>) -> Option<NatsServer> {
        let dir = TempDir::new();
        let mut args = vec![
            "-a".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
            "-js".into(),
            "-sd".into(),
            dir.path().join("js").display().to_string(),
        ];
        args.extend(extra(port));
        let mut s = NatsServer {
            child: None,
            port,
            args,
            log: dir.path().join("server.log"),
            dir,
        };
        s.spawn().then_some(s)
    }

    fn spawn(&mut self) -> bool {
        let log = std::fs::File::create(&self.log).expect("a log file");
        let child = Command::new(binary())
            .args(&self.args)
            .arg("-l")
            .arg(&self.log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("nats-server starts");
        self.child = Some(child);
        self.wait_ready()
    }

    /// Waits until the port accepts connections (false when the process exited: port taken).
    fn wait_ready(&mut self) -> bool {
        let until = Instant::now() + READY_WITHIN;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        while Instant::now() < until {
            if let Some(c) = &mut self.child {
                if let Ok(Some(_)) = c.try_wait() {
                    self.child = None;
                    return false;
                }
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "nats-server on port {} not ready: {}",
            self.port,
            self.log_text()
        );
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The store directory (survives `kill_9`).
    pub fn store(&self) -> &Path {
        self.dir.path()
    }

    /// SIGKILL: no shutdown of any kind.
    pub fn kill_9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port with the same store.
    pub fn restart(&mut self) {
        self.kill_9();
        // The port was ours a moment ago; another process taking it now would fail the test
        // loudly (the restart must keep the address the clients know).
        for _ in 0..50 {
            if self.spawn() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("nats-server did not restart on port {}", self.port);
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// Three `nats-server` nodes with JetStream, routed into one cluster on loopback.
pub struct Cluster {
    pub nodes: Vec<NatsServer>,
}

impl Cluster {
    pub fn start() -> Cluster {
        'attempt: for _ in 0..3 {
            let routes: Vec<u16> = (0..3).map(|_| free_port()).collect();
            let route_urls: Vec<String> = routes
                .iter()
                .map(|p| format!("nats://127.0.0.1:{p}"))
                .collect();
            let mut nodes = Vec::new();
            for i in 0..3 {
                let others: Vec<String> = route_urls
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, u)| u.clone())
                    .collect();
                let (cluster, route) = (route_urls[i].clone(), others.join(","));
                let port = free_port();
                let dir = TempDir::new();
                let args = vec![
                    "-a".into(),
                    "127.0.0.1".into(),
                    "-p".into(),
                    port.to_string(),
                    "-js".into(),
                    "-sd".into(),
                    dir.path().join("js").display().to_string(),
                    "--server_name".into(),
                    format!("n{i}"),
                    "--cluster_name".into(),
                    "sniffer-test".into(),
                    "--cluster".into(),
                    cluster,
                    "--routes".into(),
                    route,
                ];
                let mut s = NatsServer {
                    child: None,
                    port,
                    args,
                    log: dir.path().join("server.log"),
                    dir,
                };
                if !s.spawn() {
                    continue 'attempt;
                }
                nodes.push(s);
            }
            return Cluster { nodes };
        }
        panic!("the cluster did not start");
    }

    /// `nats://127.0.0.1:A,127.0.0.1:B,127.0.0.1:C`.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!("nats://{}", hosts.join(","))
    }
}
