//! Sealing keys: X25519 key pairs for DHKEM(X25519, HKDF-SHA256), one per
//! delegation, separate from its TLS and signing keys. The public key lives
//! in the roster, named by its key id (lowercase hex SHA-256 of the raw 32
//! bytes); the private key is an RFC 8410 PKCS#8 `PRIVATE KEY` PEM
//! (id-X25519, 1.3.101.110), the file `openssl genpkey -algorithm x25519`
//! writes and Python's `cryptography` reads.

use super::{HpkeAead, HpkeKdf, HpkeKem};
use crate::crypto::{parse_pkcs8_of, pem_decode, pem_encode, wipe, KeyError};
use crate::hash::sha256;
use hpke::{Deserializable, Kem as _, Serializable};
use std::fmt;

/// DER of `AlgorithmIdentifier { id-X25519 (1.3.101.110) }` contents.
const X25519_ALG: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x6e];
/// DER prefix of an RFC 8410 PKCS#8 v1 X25519 private key; 32 bytes follow.
const PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
];

/// Why a sealing key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealingKeyError {
    /// Not 32 bytes.
    #[error("a sealing key is a raw 32-byte X25519 public key; this one is {0} bytes")]
    Length(usize),
    /// A low-order point: every shared secret with it is zero.
    #[error("this X25519 public key is a low-order point: no one can encrypt to it")]
    LowOrder,
    /// The private key file is unreadable.
    #[error("{0}")]
    Pem(#[from] KeyError),
}

/// A checked sealing public key.
#[derive(Clone, PartialEq, Eq)]
pub struct SealingPublicKey {
    bytes: [u8; 32],
    key: <HpkeKem as hpke::Kem>::PublicKey,
}

impl SealingPublicKey {
    /// Parses a raw X25519 public key, refusing low-order points (an
    /// encapsulation to them fails).
    pub fn from_bytes(raw: &[u8]) -> Result<Self, SealingKeyError> {
        let bytes: [u8; 32] = raw.try_into().map_err(|_| SealingKeyError::Length(raw.len()))?;
        let key = <HpkeKem as hpke::Kem>::PublicKey::from_bytes(&bytes).map_err(|_| SealingKeyError::LowOrder)?;
        let mut rng = super::make::os_rng();
        hpke::single_shot_seal::<HpkeAead, HpkeKdf, HpkeKem, _>(&hpke::OpModeS::Base, &key, b"", b"", b"", &mut rng)
            .map_err(|_| SealingKeyError::LowOrder)?;
        Ok(SealingPublicKey { bytes, key })
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// Lowercase hex SHA-256 of the raw key: how stanzas and the roster name it.
    pub fn key_id(&self) -> String {
        hex::encode(sha256(&self.bytes))
    }

    pub(crate) fn hpke(&self) -> &<HpkeKem as hpke::Kem>::PublicKey {
        &self.key
    }
}

impl fmt::Debug for SealingPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealingPublicKey({})", self.key_id())
    }
}

/// A delegation's sealing private key (never logged: `Debug` shows the key id).
#[derive(Clone)]
pub struct SealingPrivateKey {
    key: <HpkeKem as hpke::Kem>::PrivateKey,
    public: SealingPublicKey,
}

impl SealingPrivateKey {
    /// A fresh random key pair.
    pub fn generate() -> Self {
        let (key, pk) = HpkeKem::gen_keypair(&mut super::make::os_rng());
        Self::from_parts(key, &pk)
    }

    /// The key pair RFC 9180's DeriveKeyPair gives for `ikm` (test vectors).
    pub fn derive(ikm: &[u8]) -> Self {
        let (key, pk) = HpkeKem::derive_keypair(ikm);
        Self::from_parts(key, &pk)
    }

    fn from_parts(key: <HpkeKem as hpke::Kem>::PrivateKey, pk: &<HpkeKem as hpke::Kem>::PublicKey) -> Self {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&pk.to_bytes());
        SealingPrivateKey {
            key,
            public: SealingPublicKey { bytes, key: pk.clone() },
        }
    }

    /// The raw 32-byte X25519 private key (RFC 7748).
    pub fn from_raw(raw: &[u8; 32]) -> Result<Self, SealingKeyError> {
        let key = <HpkeKem as hpke::Kem>::PrivateKey::from_bytes(raw).map_err(|_| SealingKeyError::LowOrder)?;
        let pk = HpkeKem::sk_to_pk(&key);
        Ok(Self::from_parts(key, &pk))
    }

    /// Its public key.
    pub fn public_key(&self) -> &SealingPublicKey {
        &self.public
    }

    /// Its key id.
    pub fn key_id(&self) -> String {
        self.public.key_id()
    }

    pub(crate) fn hpke(&self) -> &<HpkeKem as hpke::Kem>::PrivateKey {
        &self.key
    }

    /// The PKCS#8 PEM file form.
    pub fn to_pkcs8_pem(&self) -> String {
        let mut der = PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&self.key.to_bytes());
        let pem = pem_encode("PRIVATE KEY", &der);
        wipe(der);
        pem
    }

    /// Reads a PKCS#8 X25519 `PRIVATE KEY` PEM (v1 or v2; a v2 public key
    /// must match).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, SealingKeyError> {
        let der = pem_decode(pem, "PRIVATE KEY")?;
        let parsed = parse_pkcs8_of(&der, &X25519_ALG, "not an X25519 key (algorithm is not 1.3.101.110)");
        wipe(der);
        let (raw, public) = parsed?;
        let key = Self::from_raw(&raw)?;
        match public {
            Some(p) if &p != key.public.as_bytes() => Err(SealingKeyError::Pem(KeyError::BadPem(
                "embedded public key does not match the private key".into(),
            ))),
            _ => Ok(key),
        }
    }
}

impl fmt::Debug for SealingPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealingPrivateKey")
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}
