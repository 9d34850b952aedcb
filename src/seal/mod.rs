//! Sealed alerts (docs/sealing.md): an alert encrypted end to end to its
//! named recipients with HPKE (RFC 9180), so that the hub routes, stores and
//! audits it by a clear, signed header without ever holding a key that
//! opens it.
//!
//! - [`keys`]: the delegations' X25519 sealing keys and their PEM files;
//! - this file: the construction's primitives (padding, key derivation,
//!   commitments, the HPKE stanza), shared by every side;
//! - [`make`]: what the publisher does;
//! - [`check`]: what the hub and the offline audit check without reading;
//! - [`open`]: what a recipient does and checks.
//!
//! No primitive is written here: HPKE is the `hpke` crate, HKDF `hkdf`,
//! ChaCha20-Poly1305 `chacha20poly1305`, SHA-256 ring.

pub mod check;
pub mod keys;
pub mod make;
pub mod open;

pub use check::{SealError, ValidSealed};
pub use keys::{SealingKeyError, SealingPrivateKey, SealingPublicKey};
pub use make::{seal, Reader};
pub use open::{open, OpenError, Opened};

use crate::hash::sha256;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use sha2::Sha256;

/// The HPKE suite of every stanza, as RFC 9180 identifiers:
/// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305.
pub const SUITE: Suite = Suite {
    kem: 0x0020,
    kdf: 0x0001,
    aead: 0x0003,
};

/// RFC 9180 algorithm identifiers (all 0 when absent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Suite {
    /// KEM id.
    pub kem: u32,
    /// KDF id.
    pub kdf: u32,
    /// AEAD id.
    pub aead: u32,
}

/// Largest encoded header.
pub const MAX_HEADER_BYTES: usize = 4096;
/// Smallest padded plaintext.
pub const MIN_PADDED: usize = 1024;
/// ChaCha20-Poly1305 tag length.
pub const TAG_BYTES: usize = 16;
/// HPKE `enc` of DHKEM(X25519): a public key.
pub const ENC_BYTES: usize = 32;
/// A 32-byte content key wrapped by HPKE: 32 + tag.
pub const WRAPPED_BYTES: usize = 48;

type HpkeKem = hpke::kem::X25519HkdfSha256;
type HpkeKdf = hpke::kdf::HkdfSha256;
type HpkeAead = hpke::aead::ChaCha20Poly1305;

const INFO_LABEL: &[u8] = b"isthmus sealed-alert v1";
const CONTENT_KEY_LABEL: &[u8] = b"isthmus sealed-alert v1 content key";
const COMMITMENT_LABEL: &[u8] = b"isthmus sealed-alert v1 key commitment";
const DISCLOSURE_LABEL: &[u8] = b"isthmus sealed-alert v1 disclosure";

/// The clear header of a sealed payload, if it decodes.
pub fn header_of(payload: &[u8]) -> Option<crate::pb::SealedHeader> {
    use prost::Message;
    let sealed = crate::pb::SealedAlert::decode(payload).ok()?;
    crate::pb::SealedHeader::decode(sealed.header.as_slice()).ok()
}

/// The padded length of a plaintext of `len` bytes (length prefix
/// included): padmé (Nikitin et al., PETS 2019), at least [`MIN_PADDED`].
pub fn padded_len(len: usize) -> usize {
    if len <= MIN_PADDED {
        return MIN_PADDED;
    }
    let e = usize::BITS - 1 - len.leading_zeros(); // floor(log2 len)
    let s = u32::BITS - e.leading_zeros(); // floor(log2 e) + 1
    let mask = (1usize << (e - s)) - 1;
    (len + mask) & !mask
}

/// The content key and the key commitment derived from `k` for a header
/// whose SHA-256 is `header_hash`.
pub(crate) fn derive(k: &[u8; 32], header_hash: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
    let hk = Hkdf::<Sha256>::new(Some(header_hash), k);
    let mut content_key = [0u8; 32];
    let mut commitment = [0u8; 32];
    // 32 bytes are far below HKDF-SHA256's 255 * 32 limit: never fails.
    let _ = hk.expand(CONTENT_KEY_LABEL, &mut content_key);
    let _ = hk.expand(COMMITMENT_LABEL, &mut commitment);
    (content_key, commitment)
}

/// SHA-256("isthmus sealed-alert v1 disclosure" || 0x00 || opener || inner).
pub fn disclosure_commitment(opener: &[u8; 32], inner: &[u8]) -> [u8; 32] {
    let mut msg = Vec::with_capacity(DISCLOSURE_LABEL.len() + 33 + inner.len());
    msg.extend_from_slice(DISCLOSURE_LABEL);
    msg.push(0);
    msg.extend_from_slice(opener);
    msg.extend_from_slice(inner);
    sha256(&msg)
}

/// SHA-256 of the exact header bytes: what stanzas, the key derivation
/// and the ciphertext are bound to.
pub fn header_hash(header: &[u8]) -> [u8; 32] {
    sha256(header)
}

/// HPKE `info` of every stanza of a header.
pub(crate) fn stanza_info(header_hash: &[u8; 32]) -> Vec<u8> {
    [INFO_LABEL, &[0], header_hash].concat()
}

/// HPKE `aad` of one reader's stanza.
pub(crate) fn stanza_aad(recipient: &str, key_id: &str) -> Vec<u8> {
    [recipient.as_bytes(), &[0], key_id.as_bytes()].concat()
}

/// Encrypts `content` (an encoded `SealedContent`) padded, under the key
/// derived from `k`: returns the key commitment and the ciphertext.
pub fn encrypt_content(k: &[u8; 32], header_hash: &[u8; 32], content: &[u8]) -> ([u8; 32], Vec<u8>) {
    let (content_key, commitment) = derive(k, header_hash);
    let n = padded_len(content.len() + 4);
    let mut plain = Vec::with_capacity(n + TAG_BYTES);
    plain.extend_from_slice(&(content.len() as u32).to_be_bytes());
    plain.extend_from_slice(content);
    plain.resize(n, 0);
    let cipher = ChaCha20Poly1305::new(&content_key.into());
    let msg = Payload {
        msg: &plain,
        aad: header_hash,
    };
    // Encryption fails only for plaintexts beyond 256 GiB.
    let ct = cipher.encrypt(&[0u8; 12].into(), msg).unwrap_or_default();
    crate::crypto::wipe(plain);
    (commitment, ct)
}

/// Decrypts a ciphertext under `content_key`: the unpadded content, or
/// `None` if it does not authenticate or its padding is malformed.
pub(crate) fn decrypt_content(content_key: &[u8; 32], header_hash: &[u8; 32], ct: &[u8]) -> Option<Vec<u8>> {
    let cipher = ChaCha20Poly1305::new(content_key.into());
    let plain = cipher
        .decrypt(
            &[0u8; 12].into(),
            Payload {
                msg: ct,
                aad: header_hash,
            },
        )
        .ok()?;
    let (len, rest) = plain.split_first_chunk::<4>()?;
    let len = u32::from_be_bytes(*len) as usize;
    // Exactly the padded length for this content, zero-filled: one
    // plaintext has one encoding, as every implementation writes it.
    let exact = padded_len(len.saturating_add(4)) == plain.len();
    let out = match rest.get(..len) {
        Some(content) if exact && rest.get(len..).is_some_and(|pad| pad.iter().all(|&b| b == 0)) => {
            Some(content.to_vec())
        }
        _ => None,
    };
    crate::crypto::wipe(plain);
    out
}

#[cfg(test)]
mod tests;
