//! [`CaFile`]: the `tls_ca_file` key's PEM bundle of extra trust anchors (a private provider, a
//! test node), read and checked by one function, [`CaFile::read`], once per process.
//!
//! `SnifferConfig::validate` calls it before any thread starts (a bad file is a configuration
//! error naming the key); the WebSocket and gRPC feeds call it again when they are built and
//! get the same checked bundle back without reading the file again: the bundle is kept per path
//! and read anew only when the file's size or modification time changed (a rotated
//! certificate). The TLS clients are made from it in `net/tls.rs`.
//!
//! This sits below both the configuration (layer 7) and the network layer (layer 8) because
//! both need it and neither may import the other's way (docs/ARCHITECTURE.md, "Layers").
//!
//! The checks: a regular file of at most [`MAX_CA_FILE`] bytes holding at least one
//! `CERTIFICATE` block, each base64 of one DER `SEQUENCE` (the outer shape of an X.509
//! certificate); when a TLS stack is compiled in (features `ws`, `geyser`), each one must also
//! parse as a trust anchor (rustls-webpki), so that a file that only looks like PEM is refused
//! before anything connects rather than at each connect.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use base64::Engine as _;

/// The most a `tls_ca_file` may hold (a bundle of a few hundred roots is ~200 KiB).
pub(crate) const MAX_CA_FILE: u64 = 4 << 20;

/// A checked `tls_ca_file`: its text (tonic takes PEM) and its certificates (DER, for rustls).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CaFile {
    pub(crate) pem: Vec<u8>,
    pub(crate) ders: Vec<Vec<u8>>,
}

/// What a file looked like when it was read: a change means it is read again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

/// The bundles read so far, by path (a handful of entries at most: one per `tls_ca_file` used).
/// Locked only when a feed is built or the configuration validated, never on a hot path.
static READ: Mutex<Vec<(PathBuf, Stamp, Arc<CaFile>)>> = Mutex::new(Vec::new());

impl CaFile {
    /// Reads and checks `path`, or hands back the bundle already read from it when the file has
    /// not changed since.
    ///
    /// # Errors
    ///
    /// Why the file is unusable, without the key or the path (the caller names them):
    /// `cannot read it: ...`, `is not a regular file`, `is larger than ... bytes`,
    /// `holds no PEM certificate (...)`, `certificate N ...`.
    pub(crate) fn read(path: &Path) -> Result<Arc<CaFile>, String> {
        let meta = std::fs::metadata(path).map_err(|e| format!("cannot read it: {e}"))?;
        if !meta.is_file() {
            return Err("is not a regular file".into());
        }
        if meta.len() > MAX_CA_FILE {
            return Err(format!("is larger than {MAX_CA_FILE} bytes"));
        }
        let stamp = Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
        };
        let mut read = READ.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, _, ca)) = read.iter().find(|(p, s, _)| p == path && *s == stamp) {
            return Ok(ca.clone());
        }
        let pem = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
        let ca = Arc::new(CaFile::check(pem)?);
        read.retain(|(p, _, _)| p != path);
        read.push((path.to_owned(), stamp, ca.clone()));
        Ok(ca)
    }

    /// The certificates of a PEM text, each checked.
    fn check(pem: Vec<u8>) -> Result<CaFile, String> {
        const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
        const END: &str = "-----END CERTIFICATE-----";
        let text = String::from_utf8_lossy(&pem);
        let mut rest = &*text;
        let mut ders = Vec::new();
        while let Some(at) = rest.find(BEGIN) {
            let n = ders.len() + 1;
            let body = &rest[at + BEGIN.len()..];
            let Some(end) = body.find(END) else {
                return Err(format!("certificate {n} has no {END} line"));
            };
            let b64: String = body[..end].split_whitespace().collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| format!("certificate {n} is not base64: {e}"))?;
            if !is_der_sequence(&der) {
                return Err(format!("certificate {n} is not a DER certificate"));
            }
            trust_anchor(&der).map_err(|e| format!("certificate {n}: {e}"))?;
            ders.push(der);
            rest = &body[end + END.len()..];
        }
        if ders.is_empty() {
            return Err(format!("holds no PEM certificate ({BEGIN})"));
        }
        drop(text);
        Ok(CaFile { pem, ders })
    }
}

/// Whether rustls would take `der` as a root (what the TLS clients do with it later).
#[cfg(any(feature = "ws", feature = "geyser"))]
fn trust_anchor(der: &[u8]) -> Result<(), rustls::Error> {
    let cert = rustls::pki_types::CertificateDer::from(der.to_vec());
    rustls::RootCertStore::empty().add(cert)
}

/// Without a TLS stack nothing uses the roots: the shape check is all there is to do.
#[cfg(not(any(feature = "ws", feature = "geyser")))]
fn trust_anchor(_der: &[u8]) -> Result<(), std::convert::Infallible> {
    Ok(())
}

/// True when `der` is one DER SEQUENCE whose definite length covers exactly the rest (the
/// outer shape of an X.509 certificate; the trust-anchor check parses the inside).
fn is_der_sequence(der: &[u8]) -> bool {
    let [0x30, first, rest @ ..] = der else {
        return false;
    };
    let (len, body) = if *first < 0x80 {
        (usize::from(*first), rest)
    } else {
        let n = usize::from(*first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return false;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |a, b| a << 8 | usize::from(*b));
        (len, &rest[n..])
    };
    len > 0 && len == body.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sniffer-ca-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    /// A real certificate (DER) from the TLS stack's test dependency, as PEM.
    fn pem_of(der: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    }

    #[test]
    fn a_file_is_read_once_until_it_changes() {
        let ck = rcgen::generate_simple_self_signed(vec!["node.example".to_owned()]).unwrap();
        let path = temp("once.pem");
        std::fs::write(&path, pem_of(ck.cert.der())).unwrap();
        let a = CaFile::read(&path).unwrap();
        assert_eq!(a.ders, vec![ck.cert.der().to_vec()]);
        let b = CaFile::read(&path).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "read twice");
        // A new file (another size) at the same path is read again.
        let two = format!("{}{}", pem_of(ck.cert.der()), pem_of(ck.cert.der()));
        std::fs::write(&path, two).unwrap();
        let c = CaFile::read(&path).unwrap();
        assert_eq!(c.ders.len(), 2);
        // A file that went bad is refused, not served from the earlier read.
        std::fs::write(&path, "hello").unwrap();
        let e = CaFile::read(&path).unwrap_err();
        assert!(e.contains("no PEM certificate"), "{e}");
    }

    #[test]
    fn each_check_says_what_is_wrong() {
        let dir = temp("dir");
        std::fs::create_dir_all(&dir).unwrap();
        let cases = [
            ("missing.pem", None, "cannot read it"),
            (
                "garbage.pem",
                Some("not a certificate"),
                "holds no PEM certificate",
            ),
            (
                "fake.pem",
                Some("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
                "certificate 1 is not a DER certificate",
            ),
            (
                "open.pem",
                Some("-----BEGIN CERTIFICATE-----\nMAA=\n"),
                "certificate 1 has no -----END CERTIFICATE----- line",
            ),
            (
                "b64.pem",
                Some("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
                "certificate 1 is not base64",
            ),
        ];
        for (name, text, why) in cases {
            let path = temp(name);
            if let Some(t) = text {
                std::fs::write(&path, t).unwrap();
            }
            let e = CaFile::read(&path).unwrap_err();
            assert!(e.starts_with(why), "{name}: {e}");
        }
        assert_eq!(CaFile::read(&dir).unwrap_err(), "is not a regular file");
        // The DER shape alone is not enough where a TLS stack can parse it: a SEQUENCE holding
        // one INTEGER is no certificate.
        #[cfg(any(feature = "ws", feature = "geyser"))]
        {
            let path = temp("shape.pem");
            std::fs::write(&path, pem_of(&[0x30, 0x03, 0x02, 0x01, 0x01])).unwrap();
            let e = CaFile::read(&path).unwrap_err();
            assert!(e.starts_with("certificate 1: "), "{e}");
        }
    }

    #[test]
    fn der_sequences() {
        assert!(is_der_sequence(&[0x30, 0x01, 0x00]));
        assert!(is_der_sequence(&[0x30, 0x81, 0x01, 0x00]));
        assert!(!is_der_sequence(&[0x30, 0x02, 0x00]));
        assert!(!is_der_sequence(&[0x31, 0x01, 0x00]));
        assert!(!is_der_sequence(&[0x30, 0x80]));
        assert!(!is_der_sequence(&[]));
    }
}
