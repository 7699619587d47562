//! The TLS clients of `wss://` and `grpcs://`: the webpki roots, plus the extra trust anchors of
//! `tls_ca_file` (a private provider, a test node). The file itself is read and checked once
//! per process by `ca_file.rs` (below the configuration, which checks it first, and this layer,
//! which uses it); here its checked certificates become a rustls client configuration (the
//! WebSocket feed) or tonic's TLS settings (the gRPC feed).

use std::path::Path;
use std::sync::Arc;

use crate::ca_file::CaFile;

/// The checked `tls_ca_file` at `path`; the error names the key and the path.
pub(crate) fn ca_file(path: &Path) -> Result<Arc<CaFile>, String> {
    CaFile::read(path).map_err(|why| format!("tls_ca_file {}: {why}", path.display()))
}

/// A rustls client trusting the webpki roots, `extra_roots` (DER) and the roots of `ca`.
///
/// # Errors
///
/// An extra root that is not a usable certificate, or no protocol version the provider offers.
#[cfg(feature = "ws")]
pub(crate) fn rustls_client(
    extra_roots: &[Vec<u8>],
    ca: Option<&CaFile>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let from_file = ca.map(|c| c.ders.as_slice()).unwrap_or_default();
    for der in extra_roots.iter().chain(from_file) {
        roots
            .add(CertificateDer::from(der.clone()))
            .map_err(|e| format!("bad extra root certificate: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// tonic's TLS settings: the webpki roots, and the roots of `ca` when given.
#[cfg(any(feature = "geyser", feature = "shredstream"))]
pub(crate) fn tonic_client(ca: Option<&CaFile>) -> tonic::transport::ClientTlsConfig {
    let tls = tonic::transport::ClientTlsConfig::new().with_webpki_roots();
    match ca {
        Some(ca) => tls.ca_certificate(tonic::transport::Certificate::from_pem(&ca.pem)),
        None => tls,
    }
}
