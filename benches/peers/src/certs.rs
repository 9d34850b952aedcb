//! Throwaway mutual-TLS material, made with rcgen at start-up: a CA, a
//! server certificate for 127.0.0.1/localhost, and one client certificate
//! per connection (as isthmus-bench gives each connection its own
//! delegation certificate).

use anyhow::Context;
use async_nats::rustls;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The CA and what it signs.
pub struct Authority {
    cert: rcgen::Certificate,
    key: KeyPair,
}

/// Paths of the server's PEM files.
pub struct ServerFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn named(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "isthmus peer bench (throwaway)");
    dn.push(DnType::CommonName, cn);
    dn
}

impl Authority {
    /// A fresh self-signed CA.
    pub fn generate() -> anyhow::Result<Authority> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name = named("bench CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(Authority { cert, key })
    }

    /// Writes the CA and a server certificate for 127.0.0.1 and localhost
    /// into `dir`.
    pub fn write_server(&self, dir: &Path) -> anyhow::Result<ServerFiles> {
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
        params.distinguished_name = named("127.0.0.1");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.cert, &self.key)?;
        let files = ServerFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key.pem"),
        };
        std::fs::write(&files.ca, self.cert.pem()).context("writing ca.pem")?;
        std::fs::write(&files.cert, cert.pem()).context("writing server.pem")?;
        std::fs::write(&files.key, key.serialize_pem()).context("writing server.key.pem")?;
        Ok(files)
    }

    /// A rustls client configuration (ring provider) that trusts only this
    /// CA and presents a fresh client certificate named `cn`.
    pub fn client_config(&self, cn: &str) -> anyhow::Result<rustls::ClientConfig> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name = named(cn);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.cert, &self.key)?;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from(self.cert.der().to_vec()))?;
        let chain = vec![CertificateDer::from(cert.der().to_vec())];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)?;
        Ok(config)
    }
}
