//! rustls configuration for both ends, with ring as the crypto provider,
//! and the mapping from a peer certificate to its SPKI hash.
//!
//! The server requires a client certificate chaining to the federation CA
//! (rustls' WebPKI client verifier: signature chain, validity period, and
//! an Extended Key Usage allowing client authentication; webpki does not
//! check the Key Usage bits); anything else fails the handshake. Which roster principal a
//! verified certificate speaks for is decided by the SHA-256 of its DER
//! SubjectPublicKeyInfo — never by parsing a distinguished name. TLS 1.3
//! only.

use crate::error::{Error, Result};
use crate::hash::sha256;
use crate::roster::SpkiHash;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::path::Path;
use std::sync::Arc;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn pem_certs(pem: &str, what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let v = rustls_pemfile::certs(&mut pem.as_bytes())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Tls(format!("{what}: {e}")))?;
    match v.is_empty() {
        true => Err(Error::Tls(format!("{what}: no PEM certificate found"))),
        false => Ok(v),
    }
}

fn roots(ca: &[CertificateDer<'static>]) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    for c in ca {
        store
            .add(c.clone())
            .map_err(|e| Error::Tls(format!("CA certificate: {e}")))?;
    }
    Ok(store)
}

/// Certificates and key for one end of a connection.
#[derive(Clone)]
pub struct TlsFiles {
    /// Federation CA certificate(s).
    pub ca: Vec<CertificateDer<'static>>,
    /// Own certificate chain.
    pub chain: Vec<CertificateDer<'static>>,
    /// Own private key.
    pub key: Arc<PrivateKeyDer<'static>>,
}

impl std::fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsFiles")
            .field("chain", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl TlsFiles {
    /// Loads CA, certificate chain and key from PEM files.
    pub fn load(ca: &Path, cert: &Path, key: &Path) -> Result<Self> {
        let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| Error::file(p, e));
        Self::from_pem(&read(ca)?, &read(cert)?, &read(key)?).map_err(|e| {
            Error::Tls(format!(
                "{} / {} / {}: {e}",
                ca.display(),
                cert.display(),
                key.display()
            ))
        })
    }

    /// Parses CA, certificate chain and key from PEM text.
    pub fn from_pem(ca: &str, cert: &str, key: &str) -> Result<Self> {
        let key = rustls_pemfile::private_key(&mut key.as_bytes())
            .map_err(|e| Error::Tls(format!("private key: {e}")))?
            .ok_or_else(|| Error::Tls("no PEM private key found".into()))?;
        Ok(TlsFiles {
            ca: pem_certs(ca, "CA certificate")?,
            chain: pem_certs(cert, "certificate")?,
            key: Arc::new(key),
        })
    }
}

/// The server's TLS configuration: client certificates required.
pub fn server_config(files: &TlsFiles) -> Result<ServerConfig> {
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots(&files.ca)?), provider())
        .build()
        .map_err(|e| Error::Tls(format!("client verifier: {e}")))?;
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(files.chain.clone(), files.key.clone_key())
        .map_err(|e| Error::Tls(format!("server certificate/key: {e}")))?;
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    Ok(cfg)
}

/// A client's TLS configuration presenting its certificate.
pub fn client_config(files: &TlsFiles) -> Result<ClientConfig> {
    let mut cfg = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_root_certificates(roots(&files.ca)?)
        .with_client_auth_cert(files.chain.clone(), files.key.clone_key())
        .map_err(|e| Error::Tls(format!("client certificate/key: {e}")))?;
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    Ok(cfg)
}

/// The TLS server name for a host (DNS name or IP literal).
pub fn server_name(host: &str) -> Result<ServerName<'static>> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned()).map_err(|e| Error::Config(format!("server name {host:?}: {e}")))
}

/// What the hub reads from a verified client certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerCert {
    /// SHA-256 of its DER SubjectPublicKeyInfo: what the roster binds.
    pub spki: SpkiHash,
    /// Its `notAfter`, Unix seconds: the connection ends then.
    pub not_after: i64,
}

/// The SPKI hash and expiry of a (verified) certificate.
pub fn peer_cert(cert: &CertificateDer<'_>) -> Result<PeerCert> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|e| Error::Tls(format!("peer certificate does not parse: {e}")))?;
    Ok(PeerCert {
        spki: sha256(parsed.tbs_certificate.subject_pki.raw),
        not_after: parsed.validity().not_after.timestamp(),
    })
}

/// Whether any of `certs` says DEV ONLY in its subject: `isthmus dev-certs`
/// marks every certificate it issues so (a safety mark only; identities are
/// never read from a distinguished name).
pub fn is_dev_marked(certs: &[CertificateDer<'_>]) -> bool {
    certs.iter().any(|c| {
        x509_parser::parse_x509_certificate(c.as_ref())
            .map(|(_, parsed)| parsed.subject().to_string().contains("DEV ONLY"))
            .unwrap_or(false)
    })
}

/// SHA-256 of the DER SubjectPublicKeyInfo inside a certificate.
pub fn spki_sha256(cert: &CertificateDer<'_>) -> Result<SpkiHash> {
    peer_cert(cert).map(|c| c.spki)
}
