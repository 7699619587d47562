//! [`Endpoint`]: a live feed's URL, parsed once, with its secrets kept apart.
//!
//! **Redaction.** Provider URLs carry credentials: `?api-key=...` (Helius), a token as a path
//! segment (QuickNode), `user:pass@`. An [`Endpoint`]'s `Display` (and so every log line, metric
//! label, feed name and error that names it) shows only `scheme://host:port`, plus `/…` when the
//! URL had a path or query: nothing the user typed after the authority ever leaves the process.

use std::fmt;

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
}
