//! NATS URLs: `SCHEME://[USER:PASS@|TOKEN@]HOST[:PORT][,HOST[:PORT]...][/PATH][?K=V&...]`.
//!
//! The scheme, the credentials and the hosts are read by the URL reader every live connection
//! shares (`net/url.rs`: credentials split off first, IPv6 brackets, the default port); this
//! module adds the NATS rules: a token or a user and password ([`NatsAuth`]), one path segment
//! (a stream or a subject), the query's parameters. `Display` (the feed's name, every log line
//! and error) shows the scheme, the hosts, the path and the parameters, never the credentials.
//! Error messages never repeat the authority's credentials either.

use std::fmt;

use super::NatsAuth;
use super::NatsError;
use crate::net::url::{self as net_url, host_port_text, Hosts, Userinfo};

/// The NATS client port.
pub(crate) const DEFAULT_PORT: u16 = 4222;

/// How a URL's messages travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `nats://`: JetStream (a stream, acknowledgements).
    JetStream,
    /// `nats+core://`: core NATS (a subject, no persistence).
    Core,
}

impl Scheme {
    fn as_str(self) -> &'static str {
        match self {
            Scheme::JetStream => "nats",
            Scheme::Core => "nats+core",
        }
    }
}

/// A parsed NATS URL.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct NatsUrl {
    pub(crate) scheme: Scheme,
    /// `(host, port)`, at least one.
    pub(crate) servers: Vec<(String, u16)>,
    /// Credentials from the URL (secret).
    pub(crate) auth: NatsAuth,
    /// The path without its leading `/` (empty when absent).
    pub(crate) path: String,
    /// Query parameters, in order.
    pub(crate) params: Vec<(String, String)>,
}

impl fmt::Debug for NatsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NatsUrl({self})")
    }
}

impl fmt::Display for NatsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.hosts())?;
        if !self.path.is_empty() {
            write!(f, "/{}", self.path)?;
        }
        for (i, (k, v)) in self.params.iter().enumerate() {
            write!(f, "{}{k}={v}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

impl NatsUrl {
    /// Parses `url`, whose scheme must be one of `allowed`.
    pub(crate) fn parse(url: &str, allowed: &[Scheme]) -> Result<Self, NatsError> {
        let names: Vec<(&str, u16)> = allowed.iter().map(|s| (s.as_str(), DEFAULT_PORT)).collect();
        let u =
            net_url::parse(url, &names, Hosts::List).map_err(|e| NatsError::Url(e.to_string()))?;
        let auth = match u.userinfo {
            None => NatsAuth::None,
            Some(Userinfo {
                user,
                password: Some(password),
            }) => NatsAuth::UserPassword {
                user: user.expose().to_owned(),
                password: password.expose().to_owned(),
            },
            Some(Userinfo {
                user,
                password: None,
            }) => NatsAuth::Token(user.expose().to_owned()),
        };
        let (path, query) = match u.tail.split_once('?') {
            Some((p, q)) => (p, q),
            None => (u.tail.as_str(), ""),
        };
        let path = path.strip_prefix('/').unwrap_or(path);
        if path.contains('/') {
            return Err(NatsError::Url(format!(
                "`{path}`: expected a single path segment (a stream or a subject)"
            )));
        }
        let mut params = Vec::new();
        for kv in query.split('&').filter(|kv| !kv.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            params.push((k.to_owned(), v.to_owned()));
        }
        Ok(NatsUrl {
            scheme: allowed[u.scheme],
            servers: u.hosts,
            auth,
            path: path.to_owned(),
            params,
        })
    }

    /// `host:port,host:port` (IPv6 in brackets).
    pub(crate) fn hosts(&self) -> String {
        self.servers
            .iter()
            .map(|(h, p)| host_port_text(h, *p))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The server addresses as the client takes them.
    pub(crate) fn addrs(&self) -> Vec<String> {
        self.hosts()
            .split(',')
            .map(|hp| format!("nats://{hp}"))
            .collect()
    }

    /// The value of parameter `key`, refusing parameters outside `known`.
    pub(crate) fn check_params(&self, known: &[&str]) -> Result<(), NatsError> {
        match self
            .params
            .iter()
            .find(|(k, _)| !known.contains(&k.as_str()))
        {
            Some((k, _)) => Err(NatsError::Url(format!(
                "{self}: unknown parameter `{k}` (known: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ))),
            None => Ok(()),
        }
    }

    /// The stream this URL names (its path), or `default` when it names none; checked as a
    /// JetStream stream name.
    pub(crate) fn stream_or(&self, default: &str) -> Result<String, NatsError> {
        let stream = if self.path.is_empty() {
            default
        } else {
            &self.path
        };
        match crate::config::stream_name_problem(stream) {
            Some(why) => Err(NatsError::Url(format!(
                "{self}: stream name `{stream}` {why}"
            ))),
            None => Ok(stream.to_owned()),
        }
    }

    /// The value of parameter `key` (the last one given).
    pub(crate) fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Why `subject` cannot be subscribed to (`None` when it can): dot-separated non-empty tokens
/// without whitespace, `>` only as the last token.
pub(crate) fn subject_problem(subject: &str) -> Option<&'static str> {
    if subject.is_empty() {
        return Some("must not be empty");
    }
    let tokens: Vec<&str> = subject.split('.').collect();
    for (i, t) in tokens.iter().enumerate() {
        if t.is_empty() {
            return Some("has an empty token (`..`, or a leading or trailing `.`)");
        }
        if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Some("must not contain whitespace or control characters");
        }
        if t.contains('>') && (*t != ">" || i + 1 != tokens.len()) {
            return Some("`>` may only be the whole last token");
        }
        if t.contains('*') && *t != "*" {
            return Some("`*` must be a whole token");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: &[Scheme] = &[Scheme::JetStream, Scheme::Core];

    #[test]
    fn credentials_never_show() {
        for url in [
            "nats://alice:hunter2@127.0.0.1:4222/SNIFFER?durable=bot",
            "nats://s3cr3t-token@h1:4222,h2:4223/SNIFFER",
            "nats+core://alice:hunter2@[::1]:5000/sniffer.launch.>",
        ] {
            let u = NatsUrl::parse(url, BOTH).unwrap();
            let shown = format!("{u} {u:?} {:?}", u.auth);
            for secret in ["hunter2", "alice", "s3cr3t"] {
                assert!(!shown.contains(secret), "{shown}");
            }
            assert_ne!(u.auth, NatsAuth::None);
        }
        let u = NatsUrl::parse("nats://s3cr3t@h", BOTH).unwrap();
        assert_eq!(u.auth, NatsAuth::Token("s3cr3t".into()));
        assert_eq!(u.to_string(), "nats://h:4222");
    }

    #[test]
    fn parses_hosts_paths_and_parameters() {
        let u = NatsUrl::parse("nats://a:1,b,[::1]:3/S?durable=d&deliver=all", BOTH).unwrap();
        assert_eq!(u.scheme, Scheme::JetStream);
        assert_eq!(
            u.servers,
            vec![
                ("a".into(), 1),
                ("b".into(), DEFAULT_PORT),
                ("::1".into(), 3)
            ]
        );
        assert_eq!(u.path, "S");
        assert_eq!(u.param("durable"), Some("d"));
        assert_eq!(
            u.addrs(),
            vec!["nats://a:1", "nats://b:4222", "nats://[::1]:3"]
        );
        assert_eq!(
            u.to_string(),
            "nats://a:1,b:4222,[::1]:3/S?durable=d&deliver=all"
        );
        assert!(u.check_params(&["durable", "deliver"]).is_ok());
        let e = u.check_params(&["durable"]).unwrap_err();
        assert!(e.to_string().contains("unknown parameter `deliver`"), "{e}");
        let u = NatsUrl::parse("NATS+CORE://h", BOTH).unwrap();
        assert_eq!((u.scheme, u.path.as_str()), (Scheme::Core, ""));
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_credentials() {
        for url in [
            "http://alice:hunter2@h",
            "nats://alice:hunter2@h:0",
            "nats://alice:hunter2@h:99999",
            "nats://alice:hunter2@",
            "nats://alice:hunter2@h/a/b",
            "nats://@h",
            "hunter2",
        ] {
            let e = NatsUrl::parse(url, &[Scheme::JetStream]).unwrap_err();
            assert!(!e.to_string().contains("hunter2"), "{url}: {e}");
        }
        assert!(NatsUrl::parse("nats+core://h/x", &[Scheme::JetStream]).is_err());
    }

    #[test]
    fn subjects() {
        for ok in ["sniffer.launch.>", "a", "a.*.c", ">"] {
            assert_eq!(subject_problem(ok), None, "{ok}");
        }
        for bad in ["", "a..b", ".a", "a.", "a b", "a.>.b", "a>", "a*"] {
            assert!(subject_problem(bad).is_some(), "{bad}");
        }
    }
}
