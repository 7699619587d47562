//! The one URL reader under every live connection:
//! `SCHEME://[USERINFO@]HOST[:PORT][,HOST[:PORT]...][/PATH][?QUERY]`, the host list only where
//! the caller allows one (NATS cluster seeds). [`Endpoint`](super::endpoint::Endpoint)
//! (WebSocket, gRPC) and [`NatsUrl`](super::nats::url::NatsUrl) are this reading plus their own
//! rules for the path and the query.
//!
//! It reads the scheme (case-insensitive, one of the caller's), splits the userinfo off first
//! (`user:pass@`, `token@`: the last `@` before the path ends it), then the hosts (`[v6]`
//! brackets, the scheme's default port when none is given), and hands the path and query back
//! as typed.
//!
//! **Secrets.** The userinfo is kept in [`Secret`]s, whose `Display` and `Debug` print
//! `<redacted>`. A [`UrlError`] never repeats what the user typed, except a scheme made of
//! scheme characters only (`http`), which cannot hold a credential: a port is never echoed (a
//! mistyped `user:pass@host` puts the password where the port goes), nor a host.

use std::fmt;

use base64::Engine as _;

/// A credential from a URL. `Display` and `Debug` never show it; [`Secret::expose`] is the one
/// way to the text, for the request that needs it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(text: impl Into<String>) -> Self {
        Secret(text.into())
    }

    /// The secret text, for the request or the handshake that sends it (and nothing else).
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What came before `@`: `user` alone (a NATS token, an HTTP user with an empty password) or
/// `user:password`, as typed (percent-encoding kept).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Userinfo {
    pub(crate) user: Secret,
    pub(crate) password: Option<Secret>,
}

// Basic authentication is for the endpoints' HTTP handshakes; NATS takes its credentials apart.
#[cfg_attr(not(any(feature = "ws", feature = "geyser")), allow(dead_code))]
impl Userinfo {
    /// The value of an `Authorization` header for HTTP basic authentication (RFC 7617):
    /// `Basic ` and the base64 of `user:password`, each percent-decoded first (as curl and
    /// browsers do: `p%40ss` is the password `p@ss`).
    pub(crate) fn basic_authorization(&self) -> Secret {
        let mut raw = percent_decode(self.user.expose());
        raw.push(b':');
        if let Some(p) = &self.password {
            raw.extend(percent_decode(p.expose()));
        }
        Secret(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        ))
    }
}

/// `%XX` escapes decoded; a `%` not followed by two hex digits stays as it is.
#[cfg_attr(not(any(feature = "ws", feature = "geyser")), allow(dead_code))]
fn percent_decode(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                // Two hex digits are at most 0xff.
                out.push(u8::try_from(hi << 4 | lo).unwrap_or(u8::MAX));
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Whether a URL may name several hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hosts {
    /// One `HOST[:PORT]` (a WebSocket or gRPC endpoint).
    One,
    /// `HOST[:PORT][,HOST[:PORT]...]`: seeds of one cluster (NATS).
    #[cfg_attr(not(feature = "nats"), allow(dead_code))]
    List,
}

/// A URL as read: which of the caller's schemes, the userinfo, the hosts, the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParsedUrl {
    /// Index of the scheme in the caller's list.
    pub(crate) scheme: usize,
    pub(crate) userinfo: Option<Userinfo>,
    /// `(host, port)`, at least one; IPv6 hosts without their brackets.
    pub(crate) hosts: Vec<(String, u16)>,
    /// The path and query as typed: empty, or starting with `/` or `?`.
    pub(crate) tail: String,
}

/// Why a URL was refused. The message never repeats the URL's credentials, host, port, path or
/// query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum UrlError {
    /// No `SCHEME://` in front (or a "scheme" that cannot be one, such as `user:pass@host`).
    NotAUrl {
        expected: String,
    },
    /// A scheme the caller does not take.
    Scheme {
        shown: String,
        expected: String,
    },
    /// `@` with nothing before it.
    EmptyUserinfo,
    MissingHost,
    /// `[` without its `]`.
    Ipv6,
    /// A host name with a space, a control character or a character no host name holds.
    BadHost,
    /// A port that is not a number from 1 to 65535 (or text after an IPv6 address's `]`).
    BadPort,
    /// A list of hosts where one is expected.
    SeveralHosts,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::NotAUrl { expected } => write!(f, "not a URL: expected {expected}"),
            UrlError::Scheme { shown, expected } => {
                write!(f, "unsupported scheme `{shown}` (expected {expected})")
            }
            UrlError::EmptyUserinfo => f.write_str("empty credentials before `@`"),
            UrlError::MissingHost => f.write_str("missing host"),
            UrlError::Ipv6 => f.write_str("unterminated IPv6 address"),
            UrlError::BadHost => f.write_str(
                "a host name holds no spaces, control characters, `@`, `#`, `[`, `]` or `,`",
            ),
            UrlError::BadPort => f.write_str("bad port (expected a number from 1 to 65535)"),
            UrlError::SeveralHosts => {
                f.write_str("one host expected (a comma-separated list is for NATS URLs)")
            }
        }
    }
}

impl std::error::Error for UrlError {}

/// Reads `url`, whose scheme must be one of `schemes` (`(name, default port)`, names in lower
/// case).
pub(crate) fn parse(
    url: &str,
    schemes: &[(&str, u16)],
    hosts: Hosts,
) -> Result<ParsedUrl, UrlError> {
    let expected = || {
        schemes
            .iter()
            .map(|(s, _)| format!("{s}://"))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let not_a_url = || UrlError::NotAUrl {
        expected: expected(),
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(not_a_url)?;
    // RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). Anything else in front of `://`
    // (`wss:user:pass@host/?u=http://...`) is not a scheme, and may hold a secret: not echoed.
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !is_scheme || scheme.len() > 16 {
        return Err(not_a_url());
    }
    let scheme = scheme.to_ascii_lowercase();
    let (index, default_port) = schemes
        .iter()
        .enumerate()
        .find(|(_, (s, _))| *s == scheme)
        .map(|(i, (_, p))| (i, *p))
        .ok_or_else(|| UrlError::Scheme {
            shown: scheme.clone(),
            expected: expected(),
        })?;
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    let (userinfo, host_list) = match authority.rsplit_once('@') {
        Some(("", _)) => return Err(UrlError::EmptyUserinfo),
        Some((userinfo, hosts)) => (Some(split_userinfo(userinfo)), hosts),
        None => (None, authority),
    };
    if hosts == Hosts::One && host_list.contains(',') {
        return Err(UrlError::SeveralHosts);
    }
    let hosts = host_list
        .split(',')
        .map(|h| host_port(h, default_port))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ParsedUrl {
        scheme: index,
        userinfo,
        hosts,
        tail: tail.to_owned(),
    })
}

fn split_userinfo(userinfo: &str) -> Userinfo {
    match userinfo.split_once(':') {
        Some((user, password)) => Userinfo {
            user: Secret::new(user),
            password: Some(Secret::new(password)),
        },
        None => Userinfo {
            user: Secret::new(userinfo),
            password: None,
        },
    }
}

/// `host[:port]` or `[v6][:port]`.
fn host_port(h: &str, default_port: u16) -> Result<(String, u16), UrlError> {
    let (host, port) = if let Some(v6) = h.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or(UrlError::Ipv6)?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(UrlError::BadPort)?),
        };
        (host, port)
    } else {
        match h.rsplit_once(':') {
            Some((host, p)) => (host, Some(p)),
            None => (h, None),
        }
    };
    if host.is_empty() {
        return Err(UrlError::MissingHost);
    }
    if host
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '@' | '#' | '[' | ']' | ','))
    {
        return Err(UrlError::BadHost);
    }
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or(UrlError::BadPort)?,
        None => default_port,
    };
    Ok((host.to_owned(), port))
}

/// `host:port` for connecting or showing (IPv6 in brackets).
pub(crate) fn host_port_text(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WS: &[(&str, u16)] = &[("ws", 80), ("wss", 443)];

    fn hosts(u: &ParsedUrl) -> Vec<(&str, u16)> {
        u.hosts.iter().map(|(h, p)| (h.as_str(), *p)).collect()
    }

    #[test]
    fn reads_scheme_userinfo_hosts_and_tail() {
        let u = parse("WSS://bot:p%40ss:w@[::1]:9000/x?k=v", WS, Hosts::One).unwrap();
        assert_eq!(u.scheme, 1);
        assert_eq!(hosts(&u), [("::1", 9000)]);
        assert_eq!(u.tail, "/x?k=v");
        let info = u.userinfo.unwrap();
        assert_eq!(info.user.expose(), "bot");
        // Only the first `:` separates: the password may hold more.
        assert_eq!(info.password.as_ref().map(Secret::expose), Some("p%40ss:w"));

        let u = parse("ws://h?k", WS, Hosts::One).unwrap();
        assert_eq!((hosts(&u), u.tail.as_str()), (vec![("h", 80)], "?k"));
        assert_eq!(u.userinfo, None);
        // The last `@` ends the userinfo: a password may hold `@`.
        let u = parse("ws://a@b:c@h:1", WS, Hosts::One).unwrap();
        let info = u.userinfo.as_ref().unwrap();
        assert_eq!(info.user.expose(), "a@b");
        assert_eq!(hosts(&u), [("h", 1)]);

        let list = &[("nats", 4222)];
        let u = parse("nats://tok@a:1,b,[::1]:3", list, Hosts::List).unwrap();
        assert_eq!(hosts(&u), [("a", 1), ("b", 4222), ("::1", 3)]);
        assert_eq!(u.userinfo.unwrap().password, None);
        assert_eq!(host_port_text("::1", 3), "[::1]:3");
        assert_eq!(host_port_text("a", 1), "a:1");
    }

    #[test]
    fn refusals_name_the_problem_and_never_the_secret() {
        for (url, want) in [
            (
                "hunter2",
                UrlError::NotAUrl {
                    expected: "ws:// or wss://".into(),
                },
            ),
            (
                "wss:u:hunter2@h/?r=http://x",
                UrlError::NotAUrl {
                    expected: "ws:// or wss://".into(),
                },
            ),
            (
                "http://u:hunter2@h",
                UrlError::Scheme {
                    shown: "http".into(),
                    expected: "ws:// or wss://".into(),
                },
            ),
            ("ws://@h", UrlError::EmptyUserinfo),
            ("ws://u:hunter2@", UrlError::MissingHost),
            ("ws://u:hunter2@:80", UrlError::MissingHost),
            ("ws://u:hunter2@[::1", UrlError::Ipv6),
            ("ws://[::1]hunter2", UrlError::BadPort),
            ("ws://h:hunter2", UrlError::BadPort),
            ("ws://h:0", UrlError::BadPort),
            ("ws://h:99999", UrlError::BadPort),
            ("ws://h:", UrlError::BadPort),
            ("ws://hun ter2", UrlError::BadHost),
            ("ws://h#hunter2", UrlError::BadHost),
            ("ws://a,b", UrlError::SeveralHosts),
        ] {
            let e = parse(url, WS, Hosts::One).unwrap_err();
            assert_eq!(e, want, "{url}");
            let shown = format!("{e} {e:?}");
            assert!(
                !shown.contains("hunter2") && !shown.contains("ter2"),
                "{url}: {shown}"
            );
        }
        let list = &[("nats", 4222)];
        assert_eq!(
            parse("nats://a,,b", list, Hosts::List),
            Err(UrlError::MissingHost)
        );
    }

    #[test]
    fn secrets_never_show_and_basic_authorization_decodes() {
        let info = Userinfo {
            user: Secret::new("b0t"),
            password: Some(Secret::new("p%40ssw0rd%3Aw%zz")),
        };
        let shown = format!("{info:?} {} {}", info.user, info.basic_authorization());
        assert!(
            !shown.contains("b0t") && !shown.contains("ssw0rd"),
            "{shown}"
        );
        let basic = info.basic_authorization();
        let b64 = basic.expose().strip_prefix("Basic ").unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(raw, b"b0t:p@ssw0rd:w%zz");
        let token_only = Userinfo {
            user: Secret::new("tok"),
            password: None,
        };
        let b64 = token_only.basic_authorization();
        assert_eq!(b64.expose(), "Basic dG9rOg==");
    }
}
