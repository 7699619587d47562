//! What the live network feeds (WebSocket, Yellowstone gRPC) share: endpoint parsing with
//! secret redaction, and the reconnect schedule.
//!
//! **Redaction.** Provider URLs carry credentials: `?api-key=...` (Helius), a token as a path
//! segment (QuickNode), `user:pass@`. An [`Endpoint`]'s `Display` (and so every log line, metric
//! label, feed name and error that names it) shows only `scheme://host:port`, plus `/…` when the
//! URL had a path or query: nothing the user typed after the authority ever leaves the process.
//!
//! **Backoff.** Exponential from `min` to `max` with "equal jitter" (half the delay fixed, half
//! random: AWS Architecture Blog, "Exponential Backoff And Jitter"), so that many clients dropped
//! at once do not come back in lockstep. A refusal (HTTP 401/403/429 at the handshake, gRPC
//! `Unauthenticated`/`ResourceExhausted`) waits at least [`REFUSED_MIN`] or the server's
//! `Retry-After`, whichever is longer.

use std::fmt;
use std::time::Duration;

use crate::candidate::monotonic_ns;
use crate::feed::rng::TestRng;

/// Shortest wait after the server refused us (rate limit, bad key): hammering it only makes
/// the ban longer.
pub(crate) const REFUSED_MIN: Duration = Duration::from_secs(5);
/// Longest wait after a refusal, whatever `Retry-After` says.
pub(crate) const REFUSED_MAX: Duration = Duration::from_secs(60);

/// A `tls_ca_file` as read once: its text (for tonic, which takes PEM) and its certificates
/// (for rustls), each parsed as a trust anchor when the feed is built (a file that only looks
/// like PEM is refused then, not skipped at each connect).
#[cfg(any(feature = "ws", feature = "geyser"))]
pub(crate) struct CaFile {
    #[cfg_attr(not(feature = "geyser"), allow(dead_code))]
    pub(crate) pem: Vec<u8>,
    #[cfg_attr(not(feature = "ws"), allow(dead_code))]
    pub(crate) roots: Vec<rustls::pki_types::CertificateDer<'static>>,
}

#[cfg(any(feature = "ws", feature = "geyser"))]
impl CaFile {
    /// Reads and checks `path`; the error names `tls_ca_file` and the path.
    pub(crate) fn read(path: &std::path::Path) -> Result<CaFile, String> {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        let named = |why: &dyn fmt::Display| format!("tls_ca_file {}: {why}", path.display());
        let pem = crate::config::read_ca_pem(path).map_err(|why| named(&why))?;
        let mut scratch = rustls::RootCertStore::empty();
        let mut roots = Vec::new();
        for (i, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
            let cert = cert.map_err(|e| named(&format_args!("certificate {}: {e}", i + 1)))?;
            scratch
                .add(cert.clone())
                .map_err(|e| named(&format_args!("certificate {}: {e}", i + 1)))?;
            roots.push(cert);
        }
        Ok(CaFile { pem, roots })
    }
}

/// A parsed `scheme://host[:port][/path][?query]` URL whose `Display` hides everything after
/// the authority.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub(crate) scheme: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Path and query as given (`/` when absent): secret, never displayed.
    pub(crate) path_and_query: String,
    pub(crate) tls: bool,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({self})")
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(f, "{}://{host}:{}", self.scheme, self.port)?;
        if self.path_and_query != "/" {
            f.write_str("/…")?;
        }
        Ok(())
    }
}

/// Why a URL was refused. Its message never repeats the URL's path, query or credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EndpointError(pub(crate) String);

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EndpointError {}

impl Endpoint {
    /// Parses `url`, whose scheme must be one of `schemes` (`(name, tls, default port)`).
    pub(crate) fn parse(url: &str, schemes: &[(&str, bool, u16)]) -> Result<Self, EndpointError> {
        let err = |what: &str| EndpointError(what.to_owned());
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| err("not a URL: expected scheme://host[:port][/path]"))?;
        let scheme = scheme.to_ascii_lowercase();
        let &(_, tls, default_port) =
            schemes
                .iter()
                .find(|(s, _, _)| *s == scheme)
                .ok_or_else(|| {
                    let names: Vec<&str> = schemes.iter().map(|(s, _, _)| *s).collect();
                    EndpointError(format!(
                        "unsupported scheme `{scheme}` (expected {})",
                        names.join(", ")
                    ))
                })?;
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        // Credentials before `@` are dropped from what we display, but kept out of the request
        // too: providers take keys in the path or query.
        let authority = authority.rsplit('@').next().unwrap_or_default();
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| err("unterminated IPv6 address"))?;
            (h, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(err("missing host"));
        }
        let port = match port {
            Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
                // Not echoed: a mistyped `user:pass@` puts the password here.
                EndpointError("bad port (expected a number from 1 to 65535)".into())
            })?,
            None => default_port,
        };
        let path_and_query = match path {
            "" => "/".to_owned(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_owned(),
        };
        Ok(Endpoint {
            scheme,
            host: host.to_owned(),
            port,
            path_and_query,
            tls,
        })
    }

    /// `host:port` for connecting (IPv6 in brackets).
    pub(crate) fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The reconnect schedule of one live feed.
#[derive(Debug)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    /// Failed attempts since the last healthy connection.
    failures: u32,
    rng: TestRng,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max: max.max(min),
            failures: 0,
            rng: TestRng::new(monotonic_ns() ^ 0x9e37_79b9_7f4a_7c15),
        }
    }

    /// The delay before the next attempt after a failure (and counts the failure).
    pub(crate) fn next_delay(&mut self) -> Duration {
        let exp = self
            .min
            .saturating_mul(1u32 << self.failures.min(20))
            .min(self.max);
        self.failures = self.failures.saturating_add(1);
        self.jitter(exp)
    }

    /// The delay after the server refused us: at least [`REFUSED_MIN`] or `retry_after`.
    pub(crate) fn refused_delay(&mut self, retry_after: Option<Duration>) -> Duration {
        let exp = self.next_delay();
        exp.max(REFUSED_MIN)
            .max(retry_after.unwrap_or_default())
            .min(REFUSED_MAX)
    }

    /// Half of `d` fixed, half uniformly random.
    fn jitter(&mut self, d: Duration) -> Duration {
        let half = d / 2;
        let span = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(self.rng.next_u64() % span.saturating_add(1))
    }

    /// The connection proved healthy (it delivered data): start again from `min`.
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WS: &[(&str, bool, u16)] = &[("ws", false, 80), ("wss", true, 443)];

    #[test]
    fn display_never_shows_path_query_or_credentials() {
        for url in [
            "wss://mainnet.helius-rpc.com/?api-key=0123456789abcdef",
            "wss://user:hunter2@example.quiknode.pro/deadbeefcafe0123/",
            "wss://example.com?token=s3cret",
        ] {
            let e = Endpoint::parse(url, WS).unwrap();
            let shown = format!("{e} {e:?}");
            for secret in ["0123456789abcdef", "hunter2", "user", "deadbeef", "s3cret"] {
                assert!(!shown.contains(secret), "{shown}");
            }
            assert!(shown.ends_with(":443/…)"), "{shown}");
        }
        let e = Endpoint::parse("ws://127.0.0.1:8900", WS).unwrap();
        assert_eq!(e.to_string(), "ws://127.0.0.1:8900");
        assert_eq!(e.path_and_query, "/");
        assert!(!e.tls);
    }

    #[test]
    fn parses_ports_ipv6_and_default_ports() {
        let e = Endpoint::parse("wss://[::1]:9000/x?api-key=k", WS).unwrap();
        assert_eq!((e.host.as_str(), e.port, e.tls), ("::1", 9000, true));
        assert_eq!(e.authority(), "[::1]:9000");
        assert_eq!(e.path_and_query, "/x?api-key=k");
        assert_eq!(Endpoint::parse("ws://h", WS).unwrap().port, 80);
        assert_eq!(
            Endpoint::parse("WSS://h?k=1", WS).unwrap().path_and_query,
            "/?k=1"
        );
    }

    #[test]
    fn errors_do_not_echo_the_url() {
        for url in [
            "http://h/secret",
            "wss:///secret",
            "wss://h:0/secret",
            "wss://h:99999/secret",
            "secret",
        ] {
            let e = Endpoint::parse(url, WS).unwrap_err();
            assert!(!e.to_string().contains("secret"), "{e}");
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_max_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        let mut prev_cap = Duration::ZERO;
        for i in 0..12u32 {
            let cap = Duration::from_millis(100)
                .saturating_mul(1 << i)
                .min(Duration::from_secs(10));
            let d = b.next_delay();
            assert!(
                d >= cap / 2 && d <= cap,
                "attempt {i}: {d:?} not in [{:?}, {cap:?}]",
                cap / 2
            );
            assert!(cap >= prev_cap);
            prev_cap = cap;
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn refusals_wait_at_least_the_floor_or_retry_after() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        assert!(b.refused_delay(None) >= REFUSED_MIN);
        assert_eq!(
            b.refused_delay(Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
        assert_eq!(
            b.refused_delay(Some(Duration::from_secs(3600))),
            REFUSED_MAX
        );
    }
}
