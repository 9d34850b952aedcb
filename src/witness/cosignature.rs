//! C2SP `cosignature/v1` (<https://c2sp.org/tlog-cosignature>), Ed25519: a
//! witness's timestamped statement that a checkpoint is the largest
//! consistent tree it has seen for the log.
//!
//! - Key ID: the first 4 bytes of `SHA-256(name || 0x0A || 0x04 || key)`;
//!   0x04 is the cosignature/v1 type byte (0x01 would be a plain note
//!   signature, which the key must never make).
//! - Signature line: `— name base64(key ID || u64be(timestamp) || sig)`.
//! - Signed message: `cosignature/v1\ntime <T>\n` then the checkpoint body,
//!   final newline included, signature lines excluded.
//! - Keys as strings: `name+hex8(key ID)+base64(0x04 || key)` (verifier)
//!   and `PRIVATE+KEY+name+hex8(key ID)+base64(0x04 || seed)` (signer).
//!
//! Verification goes through [`crate::crypto::verify_strict`], the same
//! RFC 8032 rule as every other signature the project checks.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::ledger::note::{self, NamedKey, NoteError};

/// Signature-type byte of `cosignature/v1` in key IDs and key strings.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Header line of the signed message (domain separation).
const HEADER: &str = "cosignature/v1\n";
/// Largest timestamp the spec allows.
const MAX_TIMESTAMP: u64 = (1 << 63) - 1;

/// The message a `cosignature/v1` signs over checkpoint `body` at `timestamp`.
pub fn signed_message(body: &str, timestamp: u64) -> String {
    format!("{HEADER}time {timestamp}\n{body}")
}

/// Key ID of a cosigner key: `SHA-256(name || 0x0A || 0x04 || key)[..4]`.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    note::key_id_for(ALG_COSIGNATURE_V1, name, public_key)
}

/// A witness's public key: name, key ID and Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    key_id: u32,
    public_key: [u8; 32],
}

/// A witness's signing key. `Debug` shows only name and key ID.
#[derive(Clone)]
pub struct Cosigner(NamedKey);

impl fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cosigner")
            .field("name", &self.0.name)
            .field("key_id", &format_args!("{:08x}", self.0.key_id))
            .finish_non_exhaustive()
    }
}

/// One verified cosignature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cosigned {
    /// When the witness says it signed (POSIX seconds).
    pub timestamp: u64,
}

impl CosignatureVerifier {
    /// Parses `name+hex8(keyid)+base64(0x04||pubkey)`, checking the key ID.
    pub fn from_key(s: &str) -> Result<Self, NoteError> {
        let (name, key_id, public_key) = note::parse_verifier_key(ALG_COSIGNATURE_V1, s)?;
        Ok(Self {
            name,
            key_id,
            public_key,
        })
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Checks one signature line (with or without its newline) over the
    /// checkpoint `body`. `Ok(None)` when the line is by another key (name
    /// or key ID differ): the spec says to ignore it. `Err` when it claims
    /// to be by this key and does not verify.
    pub fn verify_line(&self, body: &str, line: &str) -> Result<Option<Cosigned>, NoteError> {
        let sig = note::parse_sig_line(line.strip_suffix('\n').unwrap_or(line), 1)?;
        if sig.name != self.name || sig.key_id != self.key_id {
            return Ok(None);
        }
        let bad = || NoteError::InvalidSignature {
            name: self.name.clone(),
            key_id: self.key_id,
        };
        let Some((ts, sig)) = sig.sig.split_first_chunk::<8>() else {
            return Err(bad());
        };
        let timestamp = u64::from_be_bytes(*ts);
        let sig: &[u8; 64] = sig.try_into().map_err(|_| bad())?;
        if timestamp == 0 || timestamp > MAX_TIMESTAMP {
            return Err(bad());
        }
        let message = signed_message(body, timestamp);
        match crate::crypto::verify_strict(&self.public_key, message.as_bytes(), sig) {
            true => Ok(Some(Cosigned { timestamp })),
            false => Err(bad()),
        }
    }
}

impl fmt::Display for CosignatureVerifier {
    /// The verifier key string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&note::format_key_for(
            ALG_COSIGNATURE_V1,
            &self.name,
            self.key_id,
            &self.public_key,
        ))
    }
}

impl Cosigner {
    /// Parses `PRIVATE+KEY+name+hex8(keyid)+base64(0x04||seed)`.
    pub fn from_private_key(s: &str) -> Result<Self, NoteError> {
        NamedKey::from_private_key(ALG_COSIGNATURE_V1, s).map(Cosigner)
    }

    /// A fresh key from the OS RNG, and its private key string (a secret).
    pub fn generate(name: &str) -> Result<(Self, String), NoteError> {
        NamedKey::generate(ALG_COSIGNATURE_V1, name).map(|(k, private)| (Cosigner(k), private))
    }

    /// The cosigner of 32-byte `seed` (tests and known answers).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, NoteError> {
        NamedKey::from_seed(ALG_COSIGNATURE_V1, name, seed).map(Cosigner)
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The matching verifier.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            name: self.0.name.clone(),
            key_id: self.0.key_id,
            public_key: self.0.public_key(),
        }
    }

    /// The signature line (newline included) cosigning checkpoint `body`
    /// at `timestamp` (POSIX seconds, not zero).
    pub fn sign(&self, body: &str, timestamp: u64) -> Result<String, NoteError> {
        note::check_text(body)?;
        if timestamp == 0 || timestamp > MAX_TIMESTAMP {
            return Err(NoteError::InvalidText {
                reason: "a cosignature timestamp must be between 1 and 2^63 - 1",
            });
        }
        let sig: [u8; 64] = self.0.key.sign(signed_message(body, timestamp).as_bytes()).into();
        let mut raw = Vec::with_capacity(76);
        raw.extend_from_slice(&self.0.key_id.to_be_bytes());
        raw.extend_from_slice(&timestamp.to_be_bytes());
        raw.extend_from_slice(&sig);
        Ok(format!("{}{} {}\n", note::SIG_PREFIX, self.0.name, B64.encode(raw)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct KnownAnswer {
        seed_hex: String,
        public_key_hex: String,
        name: String,
        key_id_hex: String,
        vkey: String,
        timestamp: u64,
        checkpoint_body: String,
        signed_message: String,
        signature_line: String,
        must_fail: Vec<MustFail>,
    }

    #[derive(serde::Deserialize)]
    struct MustFail {
        why: String,
        signature_line: String,
    }

    /// tests/vectors/cosignature/known-answer.json: computed from the spec
    /// text with Python's `cryptography`, independently of this code.
    fn known_answer() -> KnownAnswer {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/cosignature/known-answer.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("parse")
    }

    fn seed(hex_str: &str) -> [u8; 32] {
        hex::decode(hex_str).expect("hex").try_into().expect("32 bytes")
    }

    #[test]
    fn known_answer_is_byte_exact() {
        let v = known_answer();
        let signer = Cosigner::from_seed(&v.name, seed(&v.seed_hex)).expect("signer");
        assert_eq!(hex::encode(signer.0.public_key()), v.public_key_hex);
        assert_eq!(format!("{:08x}", signer.verifier().key_id()), v.key_id_hex);
        assert_eq!(signer.verifier().to_string(), v.vkey);
        assert_eq!(signed_message(&v.checkpoint_body, v.timestamp), v.signed_message);
        assert_eq!(
            signer.sign(&v.checkpoint_body, v.timestamp).expect("sign"),
            v.signature_line
        );
        let verifier = CosignatureVerifier::from_key(&v.vkey).expect("vkey");
        let got = verifier
            .verify_line(&v.checkpoint_body, &v.signature_line)
            .expect("verifies");
        assert_eq!(got, Some(Cosigned { timestamp: v.timestamp }));
        for bad in &v.must_fail {
            let r = verifier.verify_line(&v.checkpoint_body, &bad.signature_line);
            assert!(!matches!(r, Ok(Some(_))), "{}: {r:?}", bad.why);
        }
    }

    #[test]
    fn a_note_key_is_not_a_cosigner_key() {
        let v = known_answer();
        let signer = Cosigner::from_seed(&v.name, seed(&v.seed_hex)).expect("signer");
        let note_key = note::format_key_for(
            0x01,
            &v.name,
            note::key_id(&v.name, &signer.0.public_key()),
            &signer.0.public_key(),
        );
        let e = CosignatureVerifier::from_key(&note_key).expect_err("type byte 0x01");
        assert!(e.to_string().contains("0x04"), "{e}");
    }

    #[test]
    fn changed_body_or_zero_time_fails_and_others_are_ignored() {
        let (signer, private) = Cosigner::generate("w.example/1").expect("generate");
        let again = Cosigner::from_private_key(&private).expect("round trip");
        assert_eq!(again.verifier(), signer.verifier());
        let body = "log.example\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let line = signer.sign(body, 1_700_000_000).expect("sign");
        let v = signer.verifier();
        assert!(v.verify_line(body, &line).expect("ok").is_some());
        let other_body = body.replace('5', "6");
        assert!(v.verify_line(&other_body, &line).is_err(), "bound to the body");
        assert!(signer.sign(body, 0).is_err(), "zero time");
        let (other, _) = Cosigner::generate("w.example/2").expect("generate");
        assert_eq!(other.verifier().verify_line(body, &line).expect("ignored"), None);
    }
}
