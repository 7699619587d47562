//! What the gRPC feeds share (Yellowstone `grpc://`, ShredStream `shred://`): the tonic channel
//! to an [`Endpoint`] (keepalives, `TCP_NODELAY`, the TLS roots of `tls_ca_file`), the
//! transport's error with its causes minus the URL's secret path, and the `user:pass@` of the
//! URL as a sensitive `authorization` header.

use std::time::Duration;

use tonic::metadata::AsciiMetadataValue;
use tonic::transport::Endpoint as TonicEndpoint;
use tonic::Status;

use super::endpoint::Endpoint;
use super::tls;
use crate::ca_file::CaFile;

/// `e` and its causes, each once: `transport error: tcp connect error: Connection refused`.
pub(crate) fn cause_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// `text` as a sensitive header value (`None` when it is not one): never logged by the
/// transport.
pub(crate) fn sensitive(text: &str) -> Option<AsciiMetadataValue> {
    let mut v = text.parse::<AsciiMetadataValue>().ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// The URL's `user:pass@` as `Basic ...`, sensitive.
pub(crate) fn basic_authorization(endpoint: &Endpoint) -> Option<AsciiMetadataValue> {
    endpoint
        .userinfo
        .as_ref()
        .and_then(|u| sensitive(u.basic_authorization().expose()))
}

/// The endpoint's path and query, which may hold a token: taken out of every error text.
fn secret(endpoint: &Endpoint) -> String {
    endpoint.path_and_query.trim_end_matches('/').to_owned()
}

/// Explains a transport error with its causes, the URL's path replaced by `/…`.
#[derive(Clone, Debug)]
pub(crate) struct Teller {
    secret: String,
}

impl Teller {
    pub(crate) fn new(endpoint: &Endpoint) -> Self {
        Teller {
            secret: secret(endpoint),
        }
    }

    /// The error's words with their causes ("transport error" alone says nothing).
    pub(crate) fn tell(&self, e: &(dyn std::error::Error + 'static)) -> String {
        let text = cause_chain(e);
        if self.secret.is_empty() {
            text
        } else {
            text.replace(&self.secret, "/…")
        }
    }

    /// A status from `status` whose message also names its cause (told as above).
    pub(crate) fn status(&self, status: Status) -> Status {
        match std::error::Error::source(&status) {
            Some(cause) => Status::new(
                status.code(),
                format!("{}: {}", status.message(), self.tell(cause)),
            ),
            None => status,
        }
    }
}

/// tonic's endpoint for `endpoint`: `http(s)://authority/path`, connect timeout, TCP_NODELAY,
/// HTTP/2 keepalives, and TLS with the webpki roots and `ca` for a TLS scheme.
///
/// # Errors
///
/// Which step failed and why (never the URL's path).
pub(crate) fn channel_endpoint(
    endpoint: &Endpoint,
    timeout: Duration,
    ca: Option<&CaFile>,
) -> Result<TonicEndpoint, (&'static str, Status)> {
    let uri = format!(
        "{}://{}{}",
        if endpoint.tls { "https" } else { "http" },
        endpoint.authority(),
        endpoint.path_and_query.trim_end_matches('/'),
    );
    let ep = TonicEndpoint::from_shared(uri)
        .map_err(|_| ("connect failed", Status::invalid_argument("bad endpoint")))?
        .connect_timeout(timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(15))
        .keep_alive_timeout(Duration::from_secs(10))
        .keep_alive_while_idle(true);
    if !endpoint.tls {
        return Ok(ep);
    }
    let teller = Teller::new(endpoint);
    ep.tls_config(tls::tonic_client(ca))
        .map_err(|e| ("TLS setup failed", Status::unavailable(teller.tell(&e))))
}
