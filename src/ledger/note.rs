//! C2SP signed notes (<https://c2sp.org/signed-note>, the format of Go's
//! `golang.org/x/mod/sumdb/note`), Ed25519 only.
//!
//! A note is `text || 0x0A || signature lines`. The text is non-empty valid
//! UTF-8, ends with a newline (0x0A) and holds no ASCII control characters
//! other than newline; it may contain blank lines, because the text ends at the
//! *last* blank line of the note. Each signature line is
//! `U+2014 (bytes E2 80 94) || 0x20 || key name || 0x20 || base64(key ID as
//! big-endian u32 || 64-byte Ed25519 signature) || 0x0A`; the signed message is
//! the text exactly, final newline included. Base64 is RFC 4648 §4 with padding.
//!
//! Key ID = first 4 bytes, big-endian, of
//! `SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)`, where
//! 0x01 is the Ed25519 signature-type byte. Key strings are
//! `name+hex8(key ID)+base64(0x01 || public key)` for verifiers and
//! `PRIVATE+KEY+name+hex8(key ID)+base64(0x01 || 32-byte seed)` for signers
//! (lower-case hex). Key names are non-empty and hold no Unicode space, no `+`
//! and (so that they can appear in a note) no control character.
//!
//! Verification goes only through [`crate::crypto::verify_strict`], the RFC 8032
//! cofactorless rule Go's `sumdb/note` and every off-the-shelf witness apply,
//! so a note we accept is one they accept. Per the spec,
//! signatures from unknown keys are counted and ignored, a signature from a
//! known key that fails to verify rejects the whole note, and a note with no
//! verified signature from a known key is rejected.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_zebra::{SigningKey, VerificationKey};
use rand_core::{OsRng, RngCore};

/// Signature-type byte for Ed25519 in key IDs and key strings.
const ALG_ED25519: u8 = 0x01;
/// Start of every signature line: EM DASH, space.
pub(crate) const SIG_PREFIX: &str = "\u{2014} ";
/// Prefix of private key strings.
pub(crate) const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";
/// Signature lines accepted per note (the spec requires at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// Everything that can go wrong building keys, signing or opening notes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// A key name breaks the signed-note naming rule.
    #[error("invalid key name {name:?}: a key name must be non-empty and contain no Unicode space, no '+' and no control character")]
    InvalidName { name: String },
    /// A verifier key string could not be parsed.
    #[error("malformed verifier key {key:?}: {reason}; expected name+hex8(keyid)+base64(0x01||pubkey)")]
    MalformedVerifierKey { key: String, reason: &'static str },
    /// A private key string could not be parsed (the string is never shown).
    #[error(
        "malformed private key string (not shown): {reason}; expected PRIVATE+KEY+name+hex8(keyid)+base64(0x01||seed)"
    )]
    MalformedPrivateKey { reason: &'static str },
    /// The key ID written in a key string is not the one derived from the key.
    #[error("key ID mismatch for key {name:?}: string says {claimed:08x} but name and key hash to {computed:08x}; the key string is corrupt or was edited")]
    KeyIdMismatch { name: String, claimed: u32, computed: u32 },
    /// Text given to the signer is not a valid note text.
    #[error("cannot sign text: {reason}")]
    InvalidText { reason: &'static str },
    /// The note does not follow the signed-note format.
    #[error("malformed note: {reason}")]
    MalformedNote { reason: String },
    /// A signature by a trusted key failed to verify: the note must be rejected.
    #[error("signature by trusted key {name}+{key_id:08x} does not verify: the note was altered or forged; reject it")]
    InvalidSignature { name: String, key_id: u32 },
    /// Two configured verifiers share name and key ID.
    #[error("ambiguous verifiers: more than one configured key is {name}+{key_id:08x}; remove the duplicate")]
    AmbiguousVerifier { name: String, key_id: u32 },
    /// No signature came from any configured verifier.
    #[error("note has no signature by a trusted key ({unverified} signature(s) from unknown keys); check that the right verifier key is configured")]
    NoTrustedSignature { unverified: usize },
    /// The operating system's random number generator failed.
    #[error("cannot generate a key: OS random number generator failed: {0}")]
    Rng(String),
}

/// A note that opened successfully.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The signed text, final newline included.
    pub text: String,
    /// `(key name, key ID)` of each trusted key whose signature verified.
    pub verified: Vec<(String, u32)>,
    /// Number of distinct signature lines from keys not configured.
    pub unverified_count: usize,
}

/// A public Ed25519 note key: name, key ID and 32-byte public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    public_key: [u8; 32],
}

/// An Ed25519 note signing key. `Debug` shows only name and key ID.
#[derive(Clone)]
pub struct NoteSigner(NamedKey);

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.0.name)
            .field("key_id", &format_args!("{:08x}", self.0.key_id))
            .finish_non_exhaustive()
    }
}

/// A named Ed25519 signing key whose key ID is for signature type `alg`:
/// what note signers (0x01) and cosigners (0x04) share.
#[derive(Clone)]
pub(crate) struct NamedKey {
    pub(crate) name: String,
    pub(crate) key_id: u32,
    pub(crate) key: SigningKey,
}

impl NamedKey {
    /// The key of 32-byte `seed` named `name`.
    pub(crate) fn from_seed(alg: u8, name: &str, seed: [u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        let key = SigningKey::from(seed);
        let public: [u8; 32] = VerificationKey::from(&key).into();
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id_for(alg, name, &public),
            key,
        })
    }

    /// Parses `PRIVATE+KEY+name+hex8(keyid)+base64(alg||seed)`.
    pub(crate) fn from_private_key(alg: u8, s: &str) -> Result<Self, NoteError> {
        let rest = s.strip_prefix(PRIVATE_PREFIX).ok_or(NoteError::MalformedPrivateKey {
            reason: "missing PRIVATE+KEY+ prefix",
        })?;
        let f = parse_key_fields_for(alg, rest).map_err(|reason| NoteError::MalformedPrivateKey { reason })?;
        let named = Self::from_seed(alg, f.name, f.key)?;
        check_key_id_for(alg, f.name, f.key_id, &named.public_key())?;
        Ok(named)
    }

    /// A fresh key from the OS RNG and its private key string (a secret).
    pub(crate) fn generate(alg: u8, name: &str) -> Result<(Self, String), NoteError> {
        let mut seed = [0u8; 32];
        OsRng
            .try_fill_bytes(&mut seed)
            .map_err(|e| NoteError::Rng(e.to_string()))?;
        let named = Self::from_seed(alg, name, seed)?;
        let private = format!("{PRIVATE_PREFIX}{}", format_key_for(alg, name, named.key_id, &seed));
        Ok((named, private))
    }

    /// The 32-byte public key.
    pub(crate) fn public_key(&self) -> [u8; 32] {
        VerificationKey::from(&self.key).into()
    }
}

/// Whether `name` is a valid key name (see module docs).
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

pub(crate) fn check_name(name: &str) -> Result<(), NoteError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(NoteError::InvalidName { name: name.to_owned() })
    }
}

/// Key ID of an Ed25519 key: `SHA-256(name || 0x0A || 0x01 || key)[..4]`, big-endian.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    key_id_for(ALG_ED25519, name, public_key)
}

/// Key ID for signature type `alg`: `SHA-256(name || 0x0A || alg || key)[..4]`
/// (0x01 notes, 0x04 `cosignature/v1`).
pub(crate) fn key_id_for(alg: u8, name: &str, public_key: &[u8; 32]) -> u32 {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(name.as_bytes());
    ctx.update(&[b'\n', alg]);
    ctx.update(public_key);
    let d = ctx.finish();
    // A SHA-256 digest is 32 bytes, so it always has a 4-byte prefix.
    let prefix = d.as_ref().first_chunk::<4>().copied().unwrap_or_default();
    u32::from_be_bytes(prefix)
}

/// The three `+`-separated fields of a key string after any prefix.
pub(crate) struct KeyFields<'a> {
    pub(crate) name: &'a str,
    pub(crate) key_id: u32,
    pub(crate) key: [u8; 32],
}

/// Parse `name+hex8+base64(alg||32 bytes)`; errors are plain reasons so that
/// callers can decide whether the string may be shown.
pub(crate) fn parse_key_fields_for(alg: u8, s: &str) -> Result<KeyFields<'_>, &'static str> {
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(hex), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("expected three '+'-separated fields");
    };
    if !is_valid_name(name) {
        return Err("invalid key name");
    }
    let key_id = parse_hex8(hex).ok_or("key ID is not 8 lower-case hex digits")?;
    let raw = B64.decode(b64).map_err(|_| "key is not valid padded base64")?;
    let key = match raw.split_first() {
        Some((t, key)) if *t == alg => key,
        _ if alg == ALG_ED25519 => return Err("key does not start with the Ed25519 type byte 0x01"),
        _ => return Err("key does not start with the cosignature/v1 type byte 0x04"),
    };
    let key: [u8; 32] = key.try_into().map_err(|_| "Ed25519 key is not 32 bytes")?;
    Ok(KeyFields { name, key_id, key })
}

/// A verifier key string of type `alg` as (name, key ID, key), the key ID
/// checked against name and key.
pub(crate) fn parse_verifier_key(alg: u8, s: &str) -> Result<(String, u32, [u8; 32]), NoteError> {
    let f = parse_key_fields_for(alg, s).map_err(|reason| NoteError::MalformedVerifierKey {
        key: s.to_owned(),
        reason,
    })?;
    check_key_id_for(alg, f.name, f.key_id, &f.key)?;
    Ok((f.name.to_owned(), f.key_id, f.key))
}

fn parse_hex8(hex: &str) -> Option<u32> {
    let ok = hex.len() == 8 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        u32::from_str_radix(hex, 16).ok()
    } else {
        None
    }
}

pub(crate) fn check_key_id_for(alg: u8, name: &str, claimed: u32, public_key: &[u8; 32]) -> Result<(), NoteError> {
    let computed = key_id_for(alg, name, public_key);
    if computed == claimed {
        Ok(())
    } else {
        Err(NoteError::KeyIdMismatch {
            name: name.to_owned(),
            claimed,
            computed,
        })
    }
}

fn format_key(name: &str, key_id: u32, key: &[u8; 32]) -> String {
    format_key_for(ALG_ED25519, name, key_id, key)
}

/// `name+hex8(key_id)+base64(alg||key)`.
pub(crate) fn format_key_for(alg: u8, name: &str, key_id: u32, key: &[u8; 32]) -> String {
    let mut raw = Vec::with_capacity(33);
    raw.push(alg);
    raw.extend_from_slice(key);
    format!("{name}+{key_id:08x}+{}", B64.encode(raw))
}

impl NoteVerifier {
    /// Parse a verifier key string `name+hex8(keyid)+base64(0x01||pubkey)`,
    /// checking that the key ID matches name and key.
    pub fn from_key(s: &str) -> Result<Self, NoteError> {
        let (name, key_id, public_key) = parse_verifier_key(ALG_ED25519, s)?;
        Ok(Self {
            name,
            key_id,
            public_key,
        })
    }

    /// Key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }

    /// Check one signature over `text` (through the project's single rule).
    fn verify(&self, text: &str, sig: &[u8]) -> Result<(), NoteError> {
        let bad = || NoteError::InvalidSignature {
            name: self.name.clone(),
            key_id: self.key_id,
        };
        let sig: &[u8; 64] = sig.try_into().map_err(|_| bad())?;
        match crate::crypto::verify_strict(&self.public_key, text.as_bytes(), sig) {
            true => Ok(()),
            false => Err(bad()),
        }
    }
}

impl fmt::Display for NoteVerifier {
    /// The verifier key string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_key(&self.name, self.key_id, &self.public_key))
    }
}

impl NoteSigner {
    /// Parse a private key string `PRIVATE+KEY+name+hex8(keyid)+base64(0x01||seed)`.
    pub fn from_private_key(s: &str) -> Result<Self, NoteError> {
        NamedKey::from_private_key(ALG_ED25519, s).map(NoteSigner)
    }

    /// Generate a fresh key from the OS RNG; returns the signer and its
    /// private key string (a secret: store it, never log it).
    pub fn generate(name: &str) -> Result<(Self, String), NoteError> {
        NamedKey::generate(ALG_ED25519, name).map(|(k, private)| (NoteSigner(k), private))
    }

    /// Key name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Key ID.
    pub fn key_id(&self) -> u32 {
        self.0.key_id
    }

    /// The verifier key string for this signer.
    pub fn verifier_key(&self) -> String {
        format_key(&self.0.name, self.0.key_id, &self.0.public_key())
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.0.name.clone(),
            key_id: self.0.key_id,
            public_key: self.0.public_key(),
        }
    }

    /// Sign `text` and return the full note: text, blank line, one signature line.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        let line = self.signature_line(text)?;
        Ok(format!("{text}\n{line}"))
    }

    /// One signature line `— name base64(keyid || sig)\n` over `text`, to
    /// append to an existing note's signature block.
    pub fn signature_line(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let sig: [u8; 64] = self.0.key.sign(text.as_bytes()).into();
        let mut raw = Vec::with_capacity(68);
        raw.extend_from_slice(&self.0.key_id.to_be_bytes());
        raw.extend_from_slice(&sig);
        Ok(format!("{SIG_PREFIX}{} {}\n", self.0.name, B64.encode(raw)))
    }
}

pub(crate) fn check_text(text: &str) -> Result<(), NoteError> {
    let reason = if text.is_empty() {
        "text is empty"
    } else if !text.ends_with('\n') {
        "text does not end with a newline"
    } else if has_control_chars(text) {
        "text contains an ASCII control character other than newline"
    } else {
        return Ok(());
    };
    Err(NoteError::InvalidText { reason })
}

fn has_control_chars(s: &str) -> bool {
    s.chars().any(|c| c < ' ' && c != '\n')
}

fn malformed(reason: impl Into<String>) -> NoteError {
    NoteError::MalformedNote { reason: reason.into() }
}

/// A parsed signature line.
pub(crate) struct SigLine<'a> {
    pub(crate) name: &'a str,
    pub(crate) key_id: u32,
    pub(crate) sig: Vec<u8>,
}

pub(crate) fn parse_sig_line(line: &str, n: usize) -> Result<SigLine<'_>, NoteError> {
    let rest = line.strip_prefix(SIG_PREFIX).ok_or_else(|| {
        malformed(format!(
            "signature line {n} does not start with an em dash (U+2014) and a space"
        ))
    })?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or_else(|| malformed(format!("signature line {n} has no space after the key name")))?;
    if !is_valid_name(name) {
        return Err(malformed(format!("signature line {n} has an invalid key name")));
    }
    let raw = B64
        .decode(b64)
        .map_err(|_| malformed(format!("signature line {n} is not valid padded base64")))?;
    let Some((id, sig)) = raw.split_first_chunk::<4>().filter(|(_, sig)| !sig.is_empty()) else {
        return Err(malformed(format!("signature line {n} is too short")));
    };
    let key_id = u32::from_be_bytes(*id);
    Ok(SigLine {
        name,
        key_id,
        sig: sig.to_vec(),
    })
}

/// Split a note into text (with its final newline) and signature block.
pub(crate) fn split_note(note: &str) -> Result<(&str, &str), NoteError> {
    if has_control_chars(note) {
        return Err(malformed("contains an ASCII control character other than newline"));
    }
    let split = note
        .rfind("\n\n")
        .ok_or_else(|| malformed("no blank line between text and signatures"))?;
    let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
    if sigs.is_empty() {
        return Err(malformed("no signature lines after the blank line"));
    }
    if !sigs.ends_with('\n') {
        return Err(malformed("last signature line does not end with a newline"));
    }
    Ok((text, sigs))
}

/// The text of a note *without verifying any signature*. Only for
/// self-checks on notes this process produced (e.g. an exporter checking the
/// checkpoint it is about to publish); never act on text from elsewhere
/// without [`open`].
pub fn unverified_text(note: &str) -> Result<&str, NoteError> {
    split_note(note).map(|(text, _)| text)
}

fn find_verifier<'v>(
    verifiers: &'v [NoteVerifier],
    name: &str,
    key_id: u32,
) -> Result<Option<&'v NoteVerifier>, NoteError> {
    let mut hits = verifiers.iter().filter(|v| v.name == name && v.key_id == key_id);
    let first = hits.next();
    if first.is_some() && hits.next().is_some() {
        return Err(NoteError::AmbiguousVerifier {
            name: name.to_owned(),
            key_id,
        });
    }
    Ok(first)
}

/// Parse `note` and verify its signatures against `verifiers`.
///
/// Every signature from a configured key (same name *and* key ID) must
/// verify; signatures from other keys are counted in `unverified_count`.
/// Fails unless at least one configured key signed.
pub fn open(note: &str, verifiers: &[NoteVerifier]) -> Result<Opened, NoteError> {
    let (text, sigs) = split_note(note)?;
    let mut opened = Opened {
        text: text.to_owned(),
        verified: Vec::new(),
        unverified_count: 0,
    };
    let mut unknown_lines = Vec::new();
    for (i, line) in sigs.split_terminator('\n').enumerate() {
        if i >= MAX_SIGNATURES {
            return Err(malformed(format!("more than {MAX_SIGNATURES} signatures")));
        }
        let sig = parse_sig_line(line, i + 1)?;
        match find_verifier(verifiers, sig.name, sig.key_id)? {
            Some(v) => {
                v.verify(text, &sig.sig)?;
                let id = (v.name.clone(), v.key_id);
                if !opened.verified.contains(&id) {
                    opened.verified.push(id);
                }
            }
            None if !unknown_lines.contains(&line) => unknown_lines.push(line),
            None => {}
        }
    }
    opened.unverified_count = unknown_lines.len();
    if opened.verified.is_empty() {
        return Err(NoteError::NoTrustedSignature {
            unverified: opened.unverified_count,
        });
    }
    Ok(opened)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Vectors {
        signer_key: String,
        verifier_key: String,
        text: String,
        signed_note: String,
        second_verifier_key: String,
        second_signature_line: String,
        c2sp_example_verifier_key: String,
    }

    fn vectors() -> Vectors {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/signed-note/known-answer.json"
        );
        let data = std::fs::read_to_string(path).expect("read signed-note vectors");
        serde_json::from_str(&data).expect("parse signed-note vectors")
    }

    fn first_verifier(v: &Vectors) -> NoteVerifier {
        NoteVerifier::from_key(&v.verifier_key).unwrap()
    }

    /// Replace the `i`-th byte of `s` by XOR with `mask`, keeping it a string.
    fn flip(s: &str, i: usize, mask: u8) -> String {
        let mut b = s.as_bytes().to_vec();
        b[i] ^= mask;
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn known_answer_sign_is_byte_exact() {
        let v = vectors();
        let signer = NoteSigner::from_private_key(&v.signer_key).unwrap();
        assert_eq!(signer.name(), "PeterNeumann");
        assert_eq!(signer.key_id(), 0xc74f20a3);
        assert_eq!(signer.sign(&v.text).unwrap(), v.signed_note);
        assert_eq!(signer.verifier_key(), v.verifier_key);
        assert_eq!(signer.verifier(), first_verifier(&v));
    }

    #[test]
    fn verifier_keys_round_trip() {
        let v = vectors();
        for key in [&v.verifier_key, &v.second_verifier_key, &v.c2sp_example_verifier_key] {
            let parsed = NoteVerifier::from_key(key).unwrap();
            assert_eq!(&parsed.to_string(), key);
        }
        let example = NoteVerifier::from_key(&v.c2sp_example_verifier_key).unwrap();
        assert_eq!(example.name(), "example.com/foo");
        assert_eq!(example.key_id(), 0x530d903a);
    }

    #[test]
    fn known_answer_opens() {
        let v = vectors();
        let opened = open(&v.signed_note, &[first_verifier(&v)]).unwrap();
        assert_eq!(opened.text, v.text);
        assert_eq!(opened.verified, vec![("PeterNeumann".to_owned(), 0xc74f20a3)]);
        assert_eq!(opened.unverified_count, 0);
    }

    #[test]
    fn two_signature_note_opens_with_both() {
        let v = vectors();
        let note = format!("{}{}", v.signed_note, v.second_signature_line);
        let second = NoteVerifier::from_key(&v.second_verifier_key).unwrap();
        let both = open(&note, &[first_verifier(&v), second.clone()]).unwrap();
        assert_eq!(both.verified.len(), 2);
        assert_eq!(both.verified[1], ("EnochRoot".to_owned(), 0xaf0cfe78));
        let only_second = open(&note, &[second]).unwrap();
        assert_eq!(only_second.unverified_count, 1);
        assert_eq!(only_second.text, v.text);
    }

    #[test]
    fn generated_key_round_trips() {
        let (signer, private) = NoteSigner::generate("isthmus.example/hub").unwrap();
        let again = NoteSigner::from_private_key(&private).unwrap();
        assert_eq!(again.verifier_key(), signer.verifier_key());
        let note = signer.sign("hello\n\nworld\n").unwrap();
        let opened = open(&note, &[signer.verifier()]).unwrap();
        assert_eq!(opened.text, "hello\n\nworld\n");
    }

    #[test]
    fn debug_hides_seed() {
        let v = vectors();
        let signer = NoteSigner::from_private_key(&v.signer_key).unwrap();
        let dbg = format!("{signer:?}");
        assert!(dbg.contains("PeterNeumann") && dbg.contains("c74f20a3"));
        let seed_b64 = v.signer_key.rsplit('+').next().unwrap();
        assert!(!dbg.contains(seed_b64));
        assert!(!dbg.to_lowercase().contains("seed"));
    }

    #[test]
    fn flipped_text_bit_is_rejected() {
        let v = vectors();
        let bad = flip(&v.signed_note, 3, 0x01);
        let err = open(&bad, &[first_verifier(&v)]).unwrap_err();
        assert!(matches!(err, NoteError::InvalidSignature { .. }), "{err}");
    }

    #[test]
    fn flipped_signature_bit_is_rejected() {
        let v = vectors();
        // Change one base64 character inside the signature bytes.
        let i = v.signed_note.len() - 20;
        let bad = flip(&v.signed_note, i, 0x01);
        let err = open(&bad, &[first_verifier(&v)]).unwrap_err();
        assert!(matches!(err, NoteError::InvalidSignature { .. }), "{err}");
    }

    #[test]
    fn wrong_key_id_is_unknown_signature() {
        let v = vectors();
        // The key ID sits in the first base64 characters after the name.
        let i = v.signed_note.find("PeterNeumann ").unwrap() + "PeterNeumann ".len();
        let bad = flip(&v.signed_note, i, 0x01);
        let err = open(&bad, &[first_verifier(&v)]).unwrap_err();
        assert!(matches!(err, NoteError::NoTrustedSignature { unverified: 1 }), "{err}");
    }

    #[test]
    fn unknown_verifier_only_is_rejected() {
        let v = vectors();
        let second = NoteVerifier::from_key(&v.second_verifier_key).unwrap();
        let err = open(&v.signed_note, &[second]).unwrap_err();
        assert!(matches!(err, NoteError::NoTrustedSignature { unverified: 1 }));
        let err = open(&v.signed_note, &[]).unwrap_err();
        assert!(matches!(err, NoteError::NoTrustedSignature { .. }));
    }

    #[test]
    fn truncated_notes_are_malformed() {
        let v = vectors();
        let verifiers = [first_verifier(&v)];
        let note = &v.signed_note;
        let cases = [
            &note[..note.len() - 1],   // no final newline
            &note[..note.len() - 10],  // cut inside the signature
            &note[..v.text.len() + 1], // blank line but no signature
            v.text.as_str(),           // no signature block at all
        ];
        for case in cases {
            let err = open(case, &verifiers).unwrap_err();
            assert!(matches!(err, NoteError::MalformedNote { .. }), "{case:?}: {err}");
        }
    }

    #[test]
    fn missing_blank_line_is_malformed() {
        let v = vectors();
        let sig_line = &v.signed_note[v.text.len() + 1..];
        let note = format!("{}{}", v.text, sig_line);
        let err = open(&note, &[first_verifier(&v)]).unwrap_err();
        assert!(matches!(err, NoteError::MalformedNote { .. }), "{err}");
    }

    #[test]
    fn control_characters_are_rejected() {
        let v = vectors();
        let bad = v.signed_note.replacen('\n', "\r\n", 1);
        assert!(open(&bad, &[first_verifier(&v)]).is_err());
        let signer = NoteSigner::from_private_key(&v.signer_key).unwrap();
        assert!(signer.sign("tab\there\n").is_err());
        assert!(signer.sign("no newline").is_err());
        assert!(signer.sign("").is_err());
    }

    #[test]
    fn bad_names_and_keys_are_rejected() {
        for name in ["", "a b", "a+b", "a\u{2003}b", "a\tb"] {
            assert!(!is_valid_name(name), "{name:?}");
            assert!(NoteSigner::generate(name).is_err());
        }
        let v = vectors();
        let edited = v.verifier_key.replacen("c74f20a3", "c74f20a4", 1);
        assert!(matches!(
            NoteVerifier::from_key(&edited),
            Err(NoteError::KeyIdMismatch { .. })
        ));
        let upper = v.verifier_key.replacen("c74f20a3", "C74F20A3", 1);
        assert!(NoteVerifier::from_key(&upper).is_err());
        assert!(NoteVerifier::from_key("PeterNeumann+c74f20a3").is_err());
        let err = NoteSigner::from_private_key(&v.signer_key[1..]).unwrap_err();
        assert!(!err.to_string().contains(&v.signer_key[20..]));
    }

    #[test]
    fn duplicate_verifiers_are_ambiguous() {
        let v = vectors();
        let key = first_verifier(&v);
        let err = open(&v.signed_note, &[key.clone(), key]).unwrap_err();
        assert!(matches!(err, NoteError::AmbiguousVerifier { .. }));
    }
}
