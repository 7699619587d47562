//! `tls_ca_file`: extra trust anchors for `wss://` and `grpcs://` (a private provider, a test
//! server). `SnifferConfig::validate` checks the file before any thread starts
//! (`config::read_ca_pem`); [`CaFile::read`] reads and parses it once per feed when the feed is
//! built.

use std::fmt;

use crate::config::read_ca_pem;

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
        let pem = read_ca_pem(path).map_err(|why| named(&why))?;
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
