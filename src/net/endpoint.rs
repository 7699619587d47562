//! [`Endpoint`]: a WebSocket or gRPC feed's URL, read once by the shared URL reader
//! ([`super::url`]), with its secrets kept apart.
//!
//! **Redaction.** Provider URLs carry credentials: `?api-key=...` (Helius), a token as a path
//! segment (QuickNode), `user:pass@`. An [`Endpoint`]'s `Display` (and so every log line, metric
//! label, feed name and error that names it) shows only `scheme://host:port`, plus `/…` when the
//! URL had a path or query: nothing the user typed after the authority ever leaves the process.
//! The `user:pass@` part is kept as a [`Userinfo`] (redacted in `Debug`) and sent as HTTP basic
//! authentication (`Authorization: Basic ...`) by the feeds that connect to the endpoint.

use std::fmt;

use super::url::{self, host_port_text, Hosts, Userinfo};

/// A parsed `scheme://[user[:pass]@]host[:port][/path][?query]` URL whose `Display` hides
/// everything but the scheme and the authority.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub(crate) scheme: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Path and query as given (`/` when absent): secret, never displayed.
    pub(crate) path_and_query: String,
    pub(crate) tls: bool,
    /// `user[:password]` from before `@` (secret): the feeds send it as basic authentication.
    pub(crate) userinfo: Option<Userinfo>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({self})")
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.authority())?;
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
        let names: Vec<(&str, u16)> = schemes.iter().map(|(s, _, p)| (*s, *p)).collect();
        let u = url::parse(url, &names, Hosts::One).map_err(|e| EndpointError(e.to_string()))?;
        let (scheme, tls, _) = schemes[u.scheme];
        let Some((host, port)) = u.hosts.into_iter().next() else {
            return Err(EndpointError("missing host".into()));
        };
        let path_and_query = match u.tail.as_str() {
            "" => "/".to_owned(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_owned(),
        };
        Ok(Endpoint {
            scheme: scheme.to_owned(),
            host,
            port,
            path_and_query,
            tls,
            userinfo: u.userinfo,
        })
    }

    /// Takes the query parameter `name` out of the URL (the first one of that name), so that a
    /// feed's own option (`?compression=zstd`) is neither sent nor makes the name show `/…`.
    /// `Some("")` for a bare `?name`.
    #[cfg_attr(not(feature = "geyser"), allow(dead_code))]
    pub(crate) fn take_param(&mut self, name: &str) -> Option<String> {
        let (path, query) = self.path_and_query.split_once('?')?;
        let mut found = None;
        let rest: Vec<&str> = query
            .split('&')
            .filter(|p| {
                let (k, v) = p.split_once('=').unwrap_or((*p, ""));
                if found.is_none() && k == name {
                    found = Some(v.to_owned());
                    return false;
                }
                true
            })
            .collect();
        found.as_ref()?;
        let path = if path.is_empty() { "/" } else { path };
        self.path_and_query = match rest.join("&") {
            q if q.is_empty() => path.to_owned(),
            q => format!("{path}?{q}"),
        };
        found
    }

    /// `host:port` for connecting (IPv6 in brackets).
    pub(crate) fn authority(&self) -> String {
        host_port_text(&self.host, self.port)
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
    fn a_query_parameter_is_taken_out_of_the_url() {
        let mut e = Endpoint::parse("ws://h/?compression=zstd", WS).unwrap();
        assert_eq!(e.take_param("compression").as_deref(), Some("zstd"));
        assert_eq!(
            (e.path_and_query.as_str(), e.to_string()),
            ("/", "ws://h:80".into())
        );
        let mut e = Endpoint::parse("ws://h/x?a=1&compression=gzip&b", WS).unwrap();
        assert_eq!(e.take_param("compression").as_deref(), Some("gzip"));
        assert_eq!(e.path_and_query, "/x?a=1&b");
        assert_eq!(e.take_param("compression"), None);
        let mut e = Endpoint::parse("ws://h?compression", WS).unwrap();
        assert_eq!(e.take_param("compression").as_deref(), Some(""));
        assert_eq!(e.path_and_query, "/");
    }

    #[test]
    fn credentials_are_kept_apart_and_never_shown() {
        let e = Endpoint::parse("wss://bot:hunter2@h.example/x", WS).unwrap();
        let info = e.userinfo.as_ref().unwrap();
        assert_eq!(info.user.expose(), "bot");
        assert_eq!(info.password.as_ref().unwrap().expose(), "hunter2");
        let shown = format!("{e} {e:?} {info:?} {:?}", e.clone());
        assert!(
            !shown.contains("hunter2") && !shown.contains("bot"),
            "{shown}"
        );
        assert_eq!(e.to_string(), "wss://h.example:443/…");
        assert_eq!(Endpoint::parse("ws://h", WS).unwrap().userinfo, None);
        let e = Endpoint::parse("ws://@h", WS).unwrap_err();
        assert_eq!(e.to_string(), "empty credentials before `@`");
    }
}
