//! Ed25519 keys and single-signature verification under the project's two
//! rules ([`Rule::Strict`], RFC 8032 cofactorless through ring, for what the hub
//! accepts; [`Rule::Cofactored`], ZIP-215 through `ed25519-zebra`, for what the
//! audit accepts; see the module docs of [`crate::crypto`]). [`PublicKey`] is a *roster-grade* key: parsing it checks
//! the encoding is canonical (RFC 8032 §5.1.3 with y < p), the point is not of
//! small order and has no torsion component, so every `PublicKey` value is known
//! good ("parse, don't validate"). Keys are stored in the RFC 8410 PEM formats
//! (PKCS#8 `PRIVATE KEY`, RFC 5958, and SPKI `PUBLIC KEY`, RFC 5280), the same
//! files `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout` write.

use std::fmt;
use std::hash::{Hash, Hasher};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_zebra::VerificationKey;
use rand_core::OsRng;

/// DER prefix of an RFC 8410 PKCS#8 v1 Ed25519 private key; the 32-byte seed follows.
const PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// DER prefix of an RFC 8410 Ed25519 SubjectPublicKeyInfo; the 32-byte key follows.
const SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
/// DER of `AlgorithmIdentifier { id-Ed25519 (1.3.101.112) }` contents, no parameters.
const ED25519_ALG: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];

/// Why a public or private key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The raw key is not 32 bytes long.
    #[error("an Ed25519 public key is exactly 32 bytes, got {0}")]
    WrongLength(usize),
    /// The 32 bytes do not decode to any point of edwards25519.
    #[error("the 32 bytes are not the encoding of an edwards25519 point (corrupted, or not an Ed25519 key)")]
    NotOnCurve,
    /// The point has a shorter, canonical encoding (y >= p, or x = 0 with the sign bit set).
    #[error("public key is a non-canonical encoding (y >= p or a sign bit on x = 0); only the canonical RFC 8032 encoding is accepted")]
    NonCanonical,
    /// The point has order dividing 8 (e.g. the identity).
    #[error("public key is a small-order point (order divides 8): it would accept forged signatures on any message")]
    SmallOrder,
    /// The point is not in the prime-order subgroup.
    #[error("public key has a small-order (torsion) component: honest Ed25519 key generation never produces it")]
    TorsionComponent,
    /// A PEM / DER key file could not be read.
    #[error("invalid Ed25519 PEM key: {0}")]
    BadPem(String),
}

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The raw signature is not 64 bytes long.
    #[error("an Ed25519 signature is exactly 64 bytes, got {0}")]
    WrongLength(usize),
    /// The signature does not verify for this key and message under either rule.
    #[error("Ed25519 signature is invalid for this key and message")]
    Invalid,
    /// The signature satisfies only the cofactored (ZIP-215) equation: its R
    /// has a small-order component or a non-canonical encoding. Standard
    /// RFC 8032 verifiers (ring, OpenSSL, Go, Java, .NET) reject it.
    #[error(
        "Ed25519 signature verifies only under the cofactored (ZIP-215) equation: its R has a small-order \
         component or a non-canonical encoding, so standard RFC 8032 verifiers (OpenSSL, Go, Java, .NET, ring) \
         reject it; sign with a standard RFC 8032 implementation"
    )]
    CofactoredOnly,
}

/// Which Ed25519 equation a check applies (the module docs of [`crate::crypto`]
/// give the argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// RFC 8032 §5.1.7 without the cofactor, `[S]B = R + [k]A` with `R_bytes`
    /// the canonical encoding of `[S]B - [k]A` and `S < L`: ring's `ED25519`,
    /// and what OpenSSL, Go, Java and .NET check. What the hub accepts.
    Strict,
    /// ZIP-215, `[8][S]B = [8]R + [8][k]A` with `S < L` and any decodable
    /// `A`, `R`: what batch verification computes, and what the audit
    /// accepts. Every signature [`Rule::Strict`] accepts, this accepts.
    Cofactored,
}

/// A roster-grade public key: canonical, not small order, torsion-free. Parse, don't validate.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    bytes: [u8; 32],
    vk: VerificationKey,
}

impl PublicKey {
    /// Parses a raw 32-byte key, applying the roster checks in order:
    /// decodes, canonical, not small order, torsion-free.
    pub fn from_bytes(b: &[u8]) -> Result<Self, KeyError> {
        let bytes: [u8; 32] = b.try_into().map_err(|_| KeyError::WrongLength(b.len()))?;
        let point = CompressedEdwardsY(bytes).decompress().ok_or(KeyError::NotOnCurve)?;
        if point.compress().to_bytes() != bytes {
            return Err(KeyError::NonCanonical);
        }
        if point.is_small_order() {
            return Err(KeyError::SmallOrder);
        }
        if !point.is_torsion_free() {
            return Err(KeyError::TorsionComponent);
        }
        // Same decompression as above, so this cannot fail; map anyway instead of unwrapping.
        let vk = VerificationKey::try_from(bytes).map_err(|_| KeyError::NotOnCurve)?;
        Ok(PublicKey { bytes, vk })
    }

    /// The canonical 32-byte encoding.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// Key identifier: lowercase hex of SHA-256 over the raw 32-byte key (64 chars).
    pub fn key_id(&self) -> String {
        hex::encode(ring::digest::digest(&ring::digest::SHA256, &self.bytes))
    }

    /// Verifies `sig` on `msg` under `rule`. A signature that fails
    /// [`Rule::Strict`] but passes [`Rule::Cofactored`] is
    /// [`SignatureError::CofactoredOnly`], so the caller can say why.
    pub fn verify(&self, msg: &[u8], sig: &Signature, rule: Rule) -> Result<(), SignatureError> {
        let cofactored = || self.vk.verify(&sig.to_zebra(), msg).is_ok();
        match rule {
            Rule::Cofactored if cofactored() => Ok(()),
            Rule::Strict if verify_strict(&self.bytes, msg, &sig.0) => Ok(()),
            Rule::Strict if cofactored() => Err(SignatureError::CofactoredOnly),
            _ => Err(SignatureError::Invalid),
        }
    }

    /// RFC 8410 SubjectPublicKeyInfo as a `PUBLIC KEY` PEM.
    pub fn to_spki_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.bytes);
        pem_encode("PUBLIC KEY", &der)
    }

    /// Reads an RFC 8410 `PUBLIC KEY` PEM; the key then passes the roster checks.
    pub fn from_spki_pem(pem: &str) -> Result<Self, KeyError> {
        let der = pem_decode(pem, "PUBLIC KEY")?;
        match der.strip_prefix(&SPKI_PREFIX[..]) {
            Some(key) if key.len() == 32 => PublicKey::from_bytes(key),
            _ => Err(bad_pem("not an RFC 8410 Ed25519 SubjectPublicKeyInfo")),
        }
    }
}

impl Hash for PublicKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Consistent with Eq: equal bytes imply equal decoded points.
        self.bytes.hash(state);
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex::encode(self.bytes))
    }
}

/// A 64-byte Ed25519 signature `R || S` (RFC 8032 §5.1.6). Not checked until verified.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature([u8; 64]);

impl Signature {
    /// Wraps exactly 64 bytes.
    pub fn from_slice(b: &[u8]) -> Result<Self, SignatureError> {
        let bytes: [u8; 64] = b.try_into().map_err(|_| SignatureError::WrongLength(b.len()))?;
        Ok(Signature(bytes))
    }

    /// The raw 64 bytes.
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0
    }

    /// The raw 64 bytes, borrowed.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }

    fn to_zebra(self) -> ed25519_zebra::Signature {
        ed25519_zebra::Signature::from_bytes(&self.0)
    }
}

impl From<[u8; 64]> for Signature {
    fn from(bytes: [u8; 64]) -> Self {
        Signature(bytes)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

/// [`Rule::Cofactored`] WITHOUT the roster key checks (for test vectors, batch
/// bisection and raw use): any key bytes that decode to a curve point,
/// canonical or not, any order.
pub fn verify(key_bytes: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> Result<(), SignatureError> {
    let vk = VerificationKey::try_from(*key_bytes).map_err(|_| SignatureError::Invalid)?;
    vk.verify(&ed25519_zebra::Signature::from_bytes(sig), msg)
        .map_err(|_| SignatureError::Invalid)
}

/// [`Rule::Strict`] over raw bytes: ring's RFC 8032 verifier, which requires
/// `S < L`, a decodable `A`, and `R_bytes` equal to the encoding of
/// `[S]B - [k]A` (so `R` is canonical and has no torsion component).
pub fn verify_strict(key_bytes: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    use ring::signature::{UnparsedPublicKey, ED25519};
    UnparsedPublicKey::new(&ED25519, key_bytes).verify(msg, sig).is_ok()
}

/// An Ed25519 signing key (RFC 8032 §5.1.5), held as its 32-byte seed.
/// `Debug` prints only the key id, never secret material.
#[derive(Clone)]
pub struct SigningKey(ed25519_zebra::SigningKey);

impl SigningKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        SigningKey(ed25519_zebra::SigningKey::new(OsRng))
    }

    /// The key for a given 32-byte seed (RFC 8032 "private key").
    pub fn from_seed(seed: [u8; 32]) -> Self {
        SigningKey(ed25519_zebra::SigningKey::from(seed))
    }

    /// The 32-byte seed. Secret: never log it.
    pub fn seed(&self) -> [u8; 32] {
        *self.0.as_bytes()
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        // Roster-grade by construction: A = [a]B with B of prime order L, and the clamped
        // scalar a (2^254 <= a < 2^255, a ≡ 0 mod 8) is never ≡ 0 mod L, so A is canonical
        // (freshly compressed), torsion-free and not small order. No re-check needed.
        let vk = self.0.verification_key();
        PublicKey { bytes: vk.into(), vk }
    }

    /// Signs `msg` (deterministic RFC 8032 Ed25519).
    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature(self.0.sign(msg).to_bytes())
    }

    /// RFC 8410 PKCS#8 v1 `PRIVATE KEY` PEM (what `openssl genpkey -algorithm ed25519` writes).
    pub fn to_pkcs8_pem(&self) -> String {
        let mut der = PKCS8_V1_PREFIX.to_vec();
        der.extend_from_slice(self.0.as_bytes());
        let pem = pem_encode("PRIVATE KEY", &der);
        wipe(der);
        pem
    }

    /// Reads a PKCS#8 `PRIVATE KEY` PEM: v1 (RFC 8410 §7) or v2 / OneAsymmetricKey
    /// (RFC 5958) whose optional public key must match the seed. Attributes are ignored.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        let der = pem_decode(pem, "PRIVATE KEY")?;
        let parsed = parse_pkcs8(&der);
        wipe(der);
        let (seed, public) = parsed?;
        let key = SigningKey::from_seed(seed);
        match public {
            Some(p) if p != key.public_key().bytes => {
                Err(bad_pem("embedded public key does not match the private key"))
            }
            _ => Ok(key),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_id", &self.public_key().key_id())
            .finish_non_exhaustive()
    }
}

fn bad_pem(why: &str) -> KeyError {
    KeyError::BadPem(why.to_owned())
}

/// Best-effort clearing of secret bytes (no `unsafe`, no extra crate; `black_box`
/// keeps the optimiser from dropping the writes as dead stores).
pub(crate) fn wipe(mut bytes: Vec<u8>) {
    bytes.fill(0);
    std::hint::black_box(&bytes);
}

/// RFC 7468 armour: label lines around base64 in lines of 64 characters.
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = BASE64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for (i, c) in b64.chars().enumerate() {
        if i > 0 && i % 64 == 0 {
            out.push('\n');
        }
        out.push(c);
    }
    out.push_str(&format!("\n-----END {label}-----\n"));
    wipe(b64.into_bytes());
    out
}

/// Extracts and base64-decodes the first `label` block (RFC 7468, lax whitespace).
pub(crate) fn pem_decode(pem: &str, label: &str) -> Result<Vec<u8>, KeyError> {
    if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err(bad_pem(
            "encrypted keys are not supported (decrypt with `openssl pkey`)",
        ));
    }
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem
        .find(&begin)
        .ok_or_else(|| KeyError::BadPem(format!("no `{begin}` line")))?
        + begin.len();
    let stop = pem[start..]
        .find(&end)
        .ok_or_else(|| KeyError::BadPem(format!("no `{end}` line")))?
        + start;
    let body: String = pem[start..stop].chars().filter(|c| !c.is_ascii_whitespace()).collect();
    // Generic message: the decoder's error would quote (secret) input bytes.
    let der = BASE64
        .decode(body.as_bytes())
        .map_err(|_| bad_pem("body is not valid base64"));
    wipe(body.into_bytes());
    der
}

/// Minimal DER reader: enough for RFC 5958 OneAsymmetricKey.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// Reads one tag-length-value; definite lengths up to 2 length bytes.
    fn tlv(&mut self) -> Result<(u8, &'a [u8]), KeyError> {
        let truncated = || bad_pem("truncated DER");
        let (&tag, rest) = self.0.split_first().ok_or_else(truncated)?;
        let (&len0, rest) = rest.split_first().ok_or_else(truncated)?;
        let (len, rest) = match len0 {
            0..=0x7f => (usize::from(len0), rest),
            0x81 | 0x82 => {
                let n = usize::from(len0 & 0x7f);
                let (bytes, rest) = rest.split_at_checked(n).ok_or_else(truncated)?;
                let len = bytes.iter().fold(0, |acc, &b| (acc << 8) | usize::from(b));
                (len, rest)
            }
            _ => return Err(bad_pem("unsupported DER length")),
        };
        let (value, rest) = rest.split_at_checked(len).ok_or_else(truncated)?;
        self.0 = rest;
        Ok((tag, value))
    }

    /// Reads one TLV that must carry `tag`.
    fn take(&mut self, tag: u8, what: &str) -> Result<&'a [u8], KeyError> {
        match self.tlv()? {
            (t, v) if t == tag => Ok(v),
            _ => Err(KeyError::BadPem(format!("expected {what}"))),
        }
    }
}

/// Parses OneAsymmetricKey (RFC 5958 §2) for id-Ed25519 (RFC 8410 §7): the seed and
/// the optional `[1]` public key.
fn parse_pkcs8(der: &[u8]) -> Result<([u8; 32], Option<[u8; 32]>), KeyError> {
    parse_pkcs8_of(der, &ED25519_ALG, "not an Ed25519 key (algorithm is not 1.3.101.112)")
}

/// Parses OneAsymmetricKey (RFC 5958 §2) with a 32-byte RFC 8410 private key
/// of the algorithm whose AlgorithmIdentifier contents are `alg`.
pub(crate) fn parse_pkcs8_of(
    der: &[u8],
    alg: &[u8],
    wrong_alg: &str,
) -> Result<([u8; 32], Option<[u8; 32]>), KeyError> {
    let mut outer = Der(der);
    let mut body = Der(outer.take(0x30, "a SEQUENCE")?);
    if !outer.0.is_empty() {
        return Err(bad_pem("trailing data after the key"));
    }
    if !matches!(body.take(0x02, "a version INTEGER")?, [0] | [1]) {
        return Err(bad_pem("unsupported PKCS#8 version"));
    }
    if body.take(0x30, "an AlgorithmIdentifier")? != alg {
        return Err(bad_pem(wrong_alg));
    }
    let mut wrapped = Der(body.take(0x04, "the privateKey OCTET STRING")?);
    let seed = wrapped.take(0x04, "a CurvePrivateKey OCTET STRING")?;
    let seed: [u8; 32] = seed.try_into().map_err(|_| bad_pem("seed is not 32 bytes"))?;
    let public = parse_pkcs8_optional(body)?;
    Ok((seed, public))
}

/// The optional trailing fields: `[0]` attributes (ignored), `[1]` public key.
fn parse_pkcs8_optional(mut rest: Der<'_>) -> Result<Option<[u8; 32]>, KeyError> {
    let mut public = None;
    while !rest.0.is_empty() {
        match rest.tlv()? {
            (0xa0, _) => {}
            (0x81, [0x00, key @ ..]) => {
                let key = key.try_into().map_err(|_| bad_pem("public key is not 32 bytes"))?;
                public = Some(key);
            }
            _ => return Err(bad_pem("unexpected field in PKCS#8 structure")),
        }
    }
    Ok(public)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};

    fn h<const N: usize>(s: &str) -> [u8; N] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    // RFC 8032 §7.1, TEST 1.
    const T1_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const T1_PUB: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const T1_SIG: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
                          5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

    #[test]
    fn rfc8032_test_1() {
        let sk = SigningKey::from_seed(h(T1_SEED));
        let pk = sk.public_key();
        assert_eq!(pk.as_bytes(), &h::<32>(T1_PUB));
        assert_eq!(PublicKey::from_bytes(&h::<32>(T1_PUB)).unwrap(), pk);
        let sig = sk.sign(b"");
        assert_eq!(sig.to_bytes(), h::<64>(T1_SIG));
        pk.verify(b"", &sig, Rule::Strict).unwrap();
        pk.verify(b"", &sig, Rule::Cofactored).unwrap();
        verify(pk.as_bytes(), b"", sig.as_bytes()).unwrap();
        assert_eq!(pk.verify(b"x", &sig, Rule::Strict), Err(SignatureError::Invalid));
        assert_eq!(pk.verify(b"x", &sig, Rule::Cofactored), Err(SignatureError::Invalid));
        // SHA-256 of the key, computed independently (Python hashlib).
        let want = "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9";
        assert_eq!(pk.key_id(), want);
    }

    #[test]
    fn ring_and_we_agree_on_honest_signatures() {
        use ring::signature::{Ed25519KeyPair, UnparsedPublicKey, ED25519};
        for i in 0..8u8 {
            let seed = [i.wrapping_mul(37); 32];
            let msg = vec![i; usize::from(i) * 11];
            let ours = SigningKey::from_seed(seed);
            let theirs = Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
            let sig = ours.sign(&msg);
            assert_eq!(theirs.sign(&msg).as_ref(), &sig.to_bytes()[..]);
            let pk = ours.public_key();
            UnparsedPublicKey::new(&ED25519, pk.as_bytes())
                .verify(&msg, sig.as_bytes())
                .unwrap();
        }
    }

    #[test]
    fn generated_keys_sign_and_verify() {
        let sk = SigningKey::generate();
        let pk = PublicKey::from_bytes(sk.public_key().as_bytes()).unwrap();
        pk.verify(b"alert", &sk.sign(b"alert"), Rule::Strict).unwrap();
        assert_ne!(sk.seed(), SigningKey::generate().seed());
    }

    #[test]
    fn pkcs8_round_trip_and_exact_der() {
        let sk = SigningKey::generate();
        let pem = sk.to_pkcs8_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(pem.ends_with("\n-----END PRIVATE KEY-----\n"));
        let der = pem_decode(&pem, "PRIVATE KEY").unwrap();
        assert_eq!(der[..16], PKCS8_V1_PREFIX);
        assert_eq!(der[16..], sk.seed());
        assert_eq!(SigningKey::from_pkcs8_pem(&pem).unwrap().seed(), sk.seed());
        let pk = sk.public_key();
        assert_eq!(PublicKey::from_spki_pem(&pk.to_spki_pem()).unwrap(), pk);
    }

    // RFC 8410 §10.1 and §10.3 examples (independent encoder).
    const RFC8410_PUB_PEM: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=
-----END PUBLIC KEY-----
";
    const RFC8410_V1_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC
-----END PRIVATE KEY-----
";
    const RFC8410_V2_PEM: &str = "-----BEGIN PRIVATE KEY-----
MHICAQEwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC
oB8wHQYKKoZIhvcNAQkJFDEPDA1DdXJkbGUgQ2hhaXJzgSEAGb9ECWmEzf6FQbrB
Z9w7lshQhqowtrbLDFw4rXAxZuE=
-----END PRIVATE KEY-----
";

    #[test]
    fn rfc8410_examples() {
        let pk = PublicKey::from_spki_pem(RFC8410_PUB_PEM).unwrap();
        let want = "19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1";
        assert_eq!(hex::encode(pk.as_bytes()), want);
        let v1 = SigningKey::from_pkcs8_pem(RFC8410_V1_PEM).unwrap();
        assert_eq!(v1.public_key(), pk);
        assert_eq!(v1.to_pkcs8_pem(), RFC8410_V1_PEM);
        assert_eq!(pk.to_spki_pem(), RFC8410_PUB_PEM);
        let v2 = SigningKey::from_pkcs8_pem(RFC8410_V2_PEM).unwrap();
        assert_eq!(v2.seed(), v1.seed());
    }

    #[test]
    fn pkcs8_rejects_mismatch_and_garbage() {
        // Same v2 file with the last public-key byte changed ("ZuE=" -> "ZuA=").
        let tampered = RFC8410_V2_PEM.replace("ZuE=", "ZuA=");
        let err = SigningKey::from_pkcs8_pem(&tampered).unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
        for bad in [
            "",
            "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n",
            RFC8410_PUB_PEM,
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMC4=\n-----END ENCRYPTED PRIVATE KEY-----\n",
        ] {
            assert!(matches!(SigningKey::from_pkcs8_pem(bad), Err(KeyError::BadPem(_))));
        }
        let truncated = pem_encode("PRIVATE KEY", &PKCS8_V1_PREFIX);
        assert!(matches!(
            SigningKey::from_pkcs8_pem(&truncated),
            Err(KeyError::BadPem(_))
        ));
    }

    #[test]
    fn debug_never_prints_secrets() {
        let sk = SigningKey::from_seed(h(T1_SEED));
        let dbg = format!("{sk:?}");
        assert!(dbg.contains(&sk.public_key().key_id()), "{dbg}");
        assert!(!dbg.contains(T1_SEED) && !dbg.contains("9d61b1"), "{dbg}");
    }

    #[test]
    fn length_errors() {
        assert_eq!(PublicKey::from_bytes(&[0; 31]), Err(KeyError::WrongLength(31)));
        assert_eq!(Signature::from_slice(&[0; 65]), Err(SignatureError::WrongLength(65)));
        assert!(Signature::from_slice(&[7; 64]).is_ok());
    }

    #[test]
    fn roster_checks_reject_bad_keys() {
        let identity = h::<32>("0100000000000000000000000000000000000000000000000000000000000000");
        assert_eq!(PublicKey::from_bytes(&identity), Err(KeyError::SmallOrder));
        let order8 = EIGHT_TORSION[1].compress().to_bytes();
        assert_eq!(PublicKey::from_bytes(&order8), Err(KeyError::SmallOrder));
        // y = p + 1 (the identity with y >= p), and x = 0 with the sign bit set.
        let y_ge_p = h::<32>("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
        assert_eq!(PublicKey::from_bytes(&y_ge_p), Err(KeyError::NonCanonical));
        let neg_zero = h::<32>("0100000000000000000000000000000000000000000000000000000000000080");
        assert_eq!(PublicKey::from_bytes(&neg_zero), Err(KeyError::NonCanonical));
        let a = CompressedEdwardsY(h(T1_PUB)).decompress().unwrap();
        let mixed = (a + EIGHT_TORSION[1]).compress().to_bytes();
        assert_eq!(PublicKey::from_bytes(&mixed), Err(KeyError::TorsionComponent));
        let off_curve = (2u8..)
            .map(|y| [y; 32].map(|b| b & 0x7f))
            .find(|b| CompressedEdwardsY(*b).decompress().is_none())
            .unwrap();
        assert_eq!(PublicKey::from_bytes(&off_curve), Err(KeyError::NotOnCurve));
        let b = ED25519_BASEPOINT_POINT.compress().to_bytes();
        assert!(PublicKey::from_bytes(&b).is_ok());
    }

    /// Every non-canonical encoding (y + p for y < 19, either sign bit; and x = 0 with
    /// the sign bit set) is rejected as NonCanonical, and the only one whose point lies
    /// in the prime-order subgroup is an encoding of the identity. (Used in the
    /// module-level argument about roster keys.)
    #[test]
    fn non_canonical_encodings_are_all_rejected() {
        let mut encodings: Vec<[u8; 32]> = Vec::new();
        for y in 0u8..19 {
            for sign in [0u8, 0x80] {
                let mut e = [0xff; 32];
                e[0] = 0xed + y;
                e[31] = 0x7f | sign;
                encodings.push(e);
            }
        }
        encodings.push(h("0100000000000000000000000000000000000000000000000000000000000080"));
        encodings.push(h("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"));
        let mut decodable = 0;
        for e in encodings {
            let Some(p) = CompressedEdwardsY(e).decompress() else {
                continue;
            };
            decodable += 1;
            assert_eq!(PublicKey::from_bytes(&e), Err(KeyError::NonCanonical));
            let identity = p == curve25519_dalek::EdwardsPoint::default();
            assert_eq!(p.is_torsion_free(), identity, "{}", hex::encode(e));
        }
        assert_eq!(decodable, NON_CANONICAL_DECODABLE);
    }
    const NON_CANONICAL_DECODABLE: usize = 26;
}
