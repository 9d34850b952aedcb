//! Which files identify the officer: explicit `--ca --cert --key
//! --signing-key`, or `--as ID` meaning the DEV ONLY files of ID in
//! `certs-dev/`. Explicit flags win over `--as`.

use super::Cli;
use crate::crypto::SigningKey;
use crate::tls::TlsFiles;
use anyhow::{anyhow, Context};
use std::path::{Path, PathBuf};

/// Resolved identity file paths.
pub(super) struct Identity {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    signing_key: Option<PathBuf>,
}

impl Identity {
    pub(super) fn resolve(cli: &Cli) -> anyhow::Result<Self> {
        let dev = cli.as_id.as_ref().map(|id| cli.certs_dir.join(id.to_ascii_uppercase()));
        let pick = |explicit: &Option<PathBuf>, dev_rel: Option<PathBuf>, flag: &str| {
            explicit
                .clone()
                .or(dev_rel)
                .ok_or_else(|| anyhow!("no {flag}: pass --{flag} FILE, or --as ID to use certs-dev/ID/"))
        };
        Ok(Identity {
            ca: pick(&cli.ca, dev.as_ref().map(|_| cli.certs_dir.join("ca.pem")), "ca")?,
            cert: pick(&cli.cert, dev.as_ref().map(|d| d.join("client.pem")), "cert")?,
            key: pick(&cli.key, dev.as_ref().map(|d| d.join("client.key.pem")), "key")?,
            signing_key: cli.signing_key.clone().or(dev.map(|d| d.join("signing.key.pem"))),
        })
    }

    pub(super) fn tls(&self) -> anyhow::Result<TlsFiles> {
        TlsFiles::load(&self.ca, &self.cert, &self.key).context("loading the TLS identity")
    }

    pub(super) fn signing_key(&self) -> anyhow::Result<SigningKey> {
        read_signing_key(self.signing_key.as_deref())
    }

    /// Only the signing key (`--signing-key`, or certs-dev/ID/ with `--as`),
    /// for offline signing that needs no TLS identity.
    pub(super) fn signing_key_only(cli: &Cli) -> anyhow::Result<SigningKey> {
        let dev = cli
            .as_id
            .as_ref()
            .map(|id| cli.certs_dir.join(id.to_ascii_uppercase()).join("signing.key.pem"));
        read_signing_key(cli.signing_key.clone().or(dev).as_deref())
    }
}

fn read_signing_key(path: Option<&Path>) -> anyhow::Result<SigningKey> {
    let path = path.ok_or_else(|| anyhow!("no signing key: pass --signing-key FILE, or --as ID"))?;
    let pem = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    SigningKey::from_pkcs8_pem(&pem).with_context(|| format!("{} is not an Ed25519 PKCS#8 key", path.display()))
}
