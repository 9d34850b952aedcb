//! Isthmus's two Ed25519 rules, and why ingest's is a subset of the audit's.
//! Every signature the project checks goes through this module: by the hub when
//! a delegation's alert or roster approval arrives, by clients, and years later
//! by the offline auditor re-verifying the ledger in batches.
//!
//! # What the hub accepts: [`Rule::Strict`], RFC 8032 cofactorless
//!
//! A signature `R_bytes || S_bytes` on message `M` under key bytes `A_bytes` is
//! accepted at ingest iff ring's `ED25519` accepts it (RFC 8032 §5.1.7 with the
//! cofactorless equation, which the RFC allows):
//!
//! 1. `S_bytes` read little-endian is canonical, `S < L` (L = 2^252 +
//!    27742317777372353535851937790883648493, the prime group order);
//! 2. `A_bytes` decodes to a point `A`;
//! 3. `k = SHA-512(R_bytes || A_bytes || M) mod L`, over the bytes as received;
//! 4. `R_bytes` equals the encoding of `R' = [S]B - [k]A`.
//!
//! That is what OpenSSL (and so Python's `cryptography`), Go's `crypto/ed25519`,
//! Java's and .NET's Ed25519 compute, so **every signature the hub stores
//! verifies under every standard library**: a recipient that checks an alert
//! with the obvious library never sees a legitimately accepted alert as forged,
//! and a delegation cannot publish an alert that verifies for some members and
//! not for others.
//!
//! # What the audit accepts: [`Rule::Cofactored`], ZIP-215
//!
//! The auditor verifies millions of signatures, in batches, which only the
//! cofactored equation allows: a batch of random linear combinations can accept
//! or reject a signature whose residue `[S]B - R - [k]A` is a non-zero
//! small-order point depending on the random coefficients (Chalkias, Garillot,
//! Nikolaenko, "Taming the many EdDSAs", SSR 2020, IACR ePrint 2020/1244). So the
//! audit uses ZIP-215 (<https://zips.z.cash/zip-0215>), implemented by
//! `ed25519-zebra` 4.x for single and batch checks alike: steps 1 and 3 above,
//! `A_bytes` and `R_bytes` decode (non-canonical encodings and small-order
//! points allowed), and `[8][S]B = [8]R + [8][k]A`. With it, a valid item passes
//! every batch, an invalid item makes its batch fail except with probability at
//! most 2^-128, and [`batch`] re-checks each reported failure with the single
//! verifier, so batch and single never report different items.
//!
//! # Strict ⊂ Cofactored, so the audit never rejects what ingest accepted
//!
//! If ring accepts, `R_bytes` is the encoding of `R' = [S]B - [k]A`, so `R_bytes`
//! decodes, to `R = R'`, and `[8]([S]B - R - [k]A) = [8](R' - R') = 0`: ZIP-215
//! accepts, for any key. Tested over the CCTV vectors (every vector ring accepts,
//! ZIP-215 accepts) and over random mixed batches in `tests` below.
//!
//! The converse fails only for signatures whose `R` carries a small-order
//! (torsion) component or is a non-canonical encoding of the identity. Under a
//! roster key (`A = [a]B`, torsion-free), the cofactored equation says `R = R' + T`
//! with `T` in the 8-torsion, and the strict one additionally says `T = 0` and
//! `R_bytes` canonical. Only the key's holder can make such a signature: with
//! `a` one picks `R = [r]B + T` and `S = r + k·a` ([`crate::fuzzing::crafted`]
//! does exactly that for the tests). A third party can forge under neither
//! equation: `[S]B = (R - T) + [k]A` with `k` hashing the exact `R_bytes` is the
//! ordinary Schnorr forgery problem, and changing someone's `R` changes `k`. So
//! the gap is signer-chosen malleability, not forgery; the hub refuses it with
//! [`SignatureError::CofactoredOnly`] and a message saying why, and an old
//! ledger that holds one still audits intact (the audit's rule accepts it).
//!
//! # Roster keys: checked once, when the roster is loaded
//!
//! [`PublicKey::from_bytes`] refuses:
//! * non-canonical encodings (decompress then recompress must give the same 32
//!   bytes, so y >= p is refused): one key has one encoding, hence one key id;
//! * small-order points (`[8]A = 0`, e.g. the identity): then `[8][k]A = 0` and
//!   the cofactored equation no longer involves the key or the message, so anyone
//!   can forge (e.g. `R` = identity, `S = 0`); most accepted CCTV vectors are of
//!   this kind;
//! * points with a torsion component (`A` not in the prime-order subgroup,
//!   `is_torsion_free()` false): honest key generation `A = [a]B` never produces
//!   one.
//!
//! In the analyses of Chalkias et al. (§5) and of Brendel, Cremers, Jackson and Zhao
//! ("The Provable Security of Ed25519: Theory and Practice", IEEE S&P 2021), requiring
//! canonical `S` gives strong unforgeability (SUF-CMA), and refusing small-order keys
//! gives strong binding: no signature is valid for two different messages.
//!
//! # Pinned against C2SP CCTV `ed25519vectors.json` (914 vectors)
//!
//! Cofactored: reject iff `reencoded_k` and not `low_order_A` (all vectors have
//! canonical `S` and decodable points; see `zip215_expected`): **826 accepted, 88
//! rejected**, and batch verification reports exactly the same 88. Strict (ring):
//! **208 accepted**, every one also accepted by the cofactored rule; of the 618
//! only the cofactored rule accepts, 20 are under roster-grade keys, each with a
//! torsion component in `R` or a non-canonical `R`. Roster checks on the vector
//! keys: 226 `NonCanonical`, 300 `SmallOrder`, 360 `TorsionComponent`, 28
//! accepted.

pub mod batch;
mod ed25519;
pub mod gate;

pub(crate) use ed25519::{parse_pkcs8_of, pem_decode, pem_encode, wipe};
pub use ed25519::{verify, verify_strict, KeyError, PublicKey, Rule, Signature, SignatureError, SigningKey};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::batch::{verify_batch_raw, verify_parallel_raw, RawItem};
    use super::*;
    use std::collections::BTreeMap;

    /// One C2SP CCTV `ed25519vectors.json` entry.
    #[derive(serde::Deserialize)]
    struct Json {
        number: usize,
        key: String,
        sig: String,
        msg: String,
        #[serde(default)]
        flags: Option<Vec<String>>,
    }

    struct Vector {
        number: usize,
        key: [u8; 32],
        sig: [u8; 64],
        msg: Vec<u8>,
        flags: Vec<String>,
    }

    impl Vector {
        fn has(&self, flag: &str) -> bool {
            self.flags.iter().any(|f| f == flag)
        }
        fn ours(&self) -> bool {
            verify(&self.key, &self.msg, &self.sig).is_ok()
        }
        fn ring(&self) -> bool {
            verify_strict(&self.key, &self.msg, &self.sig)
        }
        fn raw(&self) -> RawItem<'_> {
            RawItem {
                key: &self.key,
                msg: &self.msg,
                sig: &self.sig,
            }
        }
    }

    fn vectors() -> Vec<Vector> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/ed25519/ed25519vectors.json");
        let text = std::fs::read_to_string(path).expect("C2SP ed25519vectors.json");
        let json: Vec<Json> = serde_json::from_str(&text).unwrap();
        json.into_iter()
            .map(|v| Vector {
                number: v.number,
                key: hex::decode(v.key).unwrap().try_into().unwrap(),
                sig: hex::decode(v.sig).unwrap().try_into().unwrap(),
                msg: v.msg.into_bytes(),
                flags: v.flags.unwrap_or_default(),
            })
            .collect()
    }

    /// The rule expressed in the vectors' flags. Every CCTV vector has canonical S and
    /// decodable A and R, and satisfies the cofactored equation for *some* k: the one
    /// hashed over the given bytes, except with `reencoded_k`, where k was hashed over
    /// re-encoded (canonical) A and R. ZIP-215 hashes the bytes as given, so a
    /// `reencoded_k` vector fails, unless A has small order, where [8][k]A = 0 for
    /// every k and the equation no longer depends on k.
    fn zip215_expected(v: &Vector) -> bool {
        !v.has("reencoded_k") || v.has("low_order_A")
    }

    /// What `PublicKey::from_bytes` must say, from the flags (checks run in this order).
    fn roster_expected(v: &Vector) -> Result<(), KeyError> {
        if v.has("non_canonical_A") {
            Err(KeyError::NonCanonical)
        } else if v.has("low_order_A") {
            Err(KeyError::SmallOrder)
        } else if v.has("low_order_component_A") {
            Err(KeyError::TorsionComponent)
        } else {
            Ok(())
        }
    }

    fn rejected(vs: &[Vector]) -> Vec<usize> {
        (0..vs.len()).filter(|&i| !vs[i].ours()).collect()
    }

    #[test]
    fn cctv_vectors_follow_zip215() {
        let vs = vectors();
        assert_eq!(vs.len(), 914);
        let mut accepted = 0;
        for (i, v) in vs.iter().enumerate() {
            assert_eq!(v.number, i);
            let ours = v.ours();
            assert_eq!(ours, zip215_expected(v), "vector {i} {:?}", v.flags);
            accepted += usize::from(ours);
        }
        assert_eq!((accepted, vs.len() - accepted), (826, 88));
    }

    #[test]
    fn cctv_batch_agrees_with_single() {
        let vs = vectors();
        let items: Vec<RawItem> = vs.iter().map(Vector::raw).collect();
        let single = rejected(&vs);
        assert_eq!(verify_batch_raw(&items), single);
        assert_eq!(verify_parallel_raw(&items, 2), single);
    }

    #[test]
    fn cctv_keys_under_roster_checks() {
        let mut counts = BTreeMap::new();
        for v in vectors() {
            let got = PublicKey::from_bytes(&v.key).map(|_| ());
            assert_eq!(got, roster_expected(&v), "vector {}", v.number);
            *counts.entry(format!("{got:?}")).or_insert(0) += 1;
        }
        let want = [
            ("Err(NonCanonical)", 226),
            ("Err(SmallOrder)", 300),
            ("Err(TorsionComponent)", 360),
            ("Ok(())", 28),
        ];
        assert_eq!(counts, want.map(|(k, n)| (k.to_owned(), n)).into());
    }

    /// Strict ⊂ Cofactored on the vectors: ring (BoringSSL's cofactorless check, which
    /// also requires R to be the canonical encoding of [S]B - [k]A) accepts a subset of
    /// what ZIP-215 accepts, so the audit never rejects what ingest accepted.
    #[test]
    fn cctv_ring_cofactorless_contrast() {
        let vs = vectors();
        let outcomes: Vec<(bool, bool)> = vs.iter().map(|v| (v.ours(), v.ring())).collect();
        assert_eq!(outcomes.iter().filter(|o| o.1).count(), 208);
        assert!(outcomes.iter().all(|&(ours, ring)| ours || !ring), "ring ⊆ ours");
        let differ: Vec<&Vector> = (0..vs.len())
            .filter(|&i| outcomes[i].0 != outcomes[i].1)
            .map(|i| &vs[i])
            .collect();
        assert_eq!(differ.len(), 826 - 208);
        // Disagreements under roster-grade keys exist; every one has an R that carries a
        // torsion component or is non-canonically encoded: an R only the signer can use.
        let roster: Vec<&Vector> = differ
            .into_iter()
            .filter(|v| PublicKey::from_bytes(&v.key).is_ok())
            .collect();
        assert_eq!(roster.len(), 20);
        for v in roster {
            let odd_r = v.has("low_order_component_R") || v.has("non_canonical_R");
            assert!(odd_r, "vector {} {:?}", v.number, v.flags);
        }
    }

    /// Through the typed API, under roster-grade keys: `Rule::Strict` is exactly
    /// ring's answer, `Rule::Cofactored` exactly ZIP-215's, and a strict failure
    /// that passes ZIP-215 is reported as `CofactoredOnly`.
    #[test]
    fn cctv_rules_through_the_typed_api() {
        let mut cofactored_only = 0;
        for v in vectors() {
            let Ok(key) = PublicKey::from_bytes(&v.key) else {
                continue;
            };
            let sig = Signature::from(v.sig);
            let strict = key.verify(&v.msg, &sig, Rule::Strict);
            let cof = key.verify(&v.msg, &sig, Rule::Cofactored);
            assert_eq!(strict.is_ok(), v.ring(), "vector {}", v.number);
            assert_eq!(cof.is_ok(), v.ours(), "vector {}", v.number);
            if strict == Err(SignatureError::CofactoredOnly) {
                assert!(cof.is_ok());
                cofactored_only += 1;
            }
        }
        assert_eq!(cofactored_only, 20);
    }

    /// Random mixed batches of honest, corrupted and crafted torsion-R signatures:
    /// whatever the strict rule accepts the cofactored rule accepts, single and
    /// batch cofactored verification agree, and the crafted ones are exactly the
    /// cofactored-only ones.
    #[test]
    fn random_mixed_batches_strict_within_cofactored() {
        use crate::fuzzing::crafted::torsion_r_signature;
        let keys: Vec<SigningKey> = (0..6u8).map(|i| SigningKey::from_seed([i + 40; 32])).collect();
        let mut state = 0x5eed_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..12 {
            let n = 1 + (next() % 90) as usize;
            let mut items = Vec::new();
            for i in 0..n {
                let key = &keys[(next() % 6) as usize];
                let msg = format!("round {round} item {i}").into_bytes();
                let (sig, kind) = match next() % 4 {
                    0 => (torsion_r_signature(key, &msg, 1 + (next() % 7) as usize), 1),
                    1 => {
                        let mut b = key.sign(&msg).to_bytes();
                        b[(next() % 64) as usize] ^= 1 << (next() % 8);
                        (Signature::from(b), 2)
                    }
                    _ => (key.sign(&msg), 0),
                };
                items.push((key.public_key(), msg, sig, kind));
            }
            let mut single_bad = Vec::new();
            for (i, (key, msg, sig, kind)) in items.iter().enumerate() {
                let strict = key.verify(msg, sig, Rule::Strict);
                let cof = key.verify(msg, sig, Rule::Cofactored);
                assert!(strict.is_err() || cof.is_ok(), "strict ⊂ cofactored");
                match kind {
                    0 => assert!(strict.is_ok()),
                    1 => assert_eq!(strict, Err(SignatureError::CofactoredOnly)),
                    _ => {}
                }
                if cof.is_err() {
                    single_bad.push(i);
                }
            }
            let batch: Vec<batch::Item> = items
                .iter()
                .map(|(key, msg, sig, _)| batch::Item { key, msg, sig })
                .collect();
            assert_eq!(batch::verify_batch(&batch), single_bad, "round {round}");
        }
    }
}
