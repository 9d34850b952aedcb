//! Isthmus's single Ed25519 acceptance rule. Every signature the project checks —
//! by the server when a delegation's alert is ingested, and again years later by the
//! offline auditor re-verifying the ledger — goes through this module, so ingest and
//! audit accept exactly the same signatures, whether verified one by one
//! ([`verify`], [`PublicKey::verify`]) or in bulk ([`batch`]).
//!
//! # The rule: ZIP-215
//!
//! RFC 8032 leaves several choices open, and real libraries disagree on them
//! (Chalkias, Garillot, Nikolaenko, "Taming the many EdDSAs", SSR 2020, IACR ePrint
//! 2020/1244). We fix them as ZIP-215 (<https://zips.z.cash/zip-0215>) does,
//! implemented by `ed25519-zebra` 4.x. A signature `R_bytes || S_bytes` on message
//! `M` under key bytes `A_bytes` is accepted iff:
//!
//! 1. `S_bytes` read little-endian is canonical, `S < L` (L = 2^252 +
//!    27742317777372353535851937790883648493, the prime group order);
//! 2. `A_bytes` and `R_bytes` decode to points `A`, `R` of edwards25519. Every
//!    decodable encoding counts: non-canonical ones (y >= p, or x = 0 with the sign
//!    bit set) and points of small or mixed order are not refused at this step;
//! 3. `k = SHA-512(R_bytes || A_bytes || M) mod L`, over the bytes as received (never
//!    re-encoded);
//! 4. the *cofactored* equation holds: `[8][S]B = [8]R + [8][k]A`.
//!
//! Why cofactored: the cofactorless check `[S]B = R + [k]A`, which RFC 8032 also
//! permits, is not what a batch verifier computes. A batch check of random linear
//! combinations can accept or reject a signature whose residue `[S]B - R - [k]A`
//! is a non-zero small-order point, depending on the random coefficients, so batch
//! and single verification would disagree (Chalkias et al. §3–4; that disagreement
//! is what ZIP-215 was written to remove from Zcash consensus). With the cofactored
//! equation in both, a valid item passes every batch, and an invalid item makes its
//! batch fail except with probability at most 2^-128; [`batch`] also checks each
//! reported failure with the single verifier, so the two never report different
//! items.
//!
//! # Roster keys: checked once, when the roster is loaded
//!
//! [`PublicKey::from_bytes`] is stricter than the rule above, and every signature
//! we store is checked against such a key. It refuses:
//! * non-canonical encodings (decompress then recompress must give the same 32
//!   bytes, so y >= p is refused): one key has one encoding, hence one key id;
//! * small-order points (`[8]A = 0`, e.g. the identity): then `[8][k]A = 0` and
//!   the equation no longer involves the key or the message, so anyone can forge
//!   (e.g. `R` = identity, `S = 0`); most accepted CCTV vectors are of this kind;
//! * points with a torsion component (`A` not in the prime-order subgroup,
//!   `is_torsion_free()` false): honest key generation `A = [a]B` never produces
//!   one.
//!
//! In the analyses of Chalkias et al. (§5) and of Brendel, Cremers, Jackson and Zhao
//! ("The Provable Security of Ed25519: Theory and Practice", IEEE S&P 2021), requiring
//! canonical `S` gives strong unforgeability (SUF-CMA), and refusing small-order keys
//! gives strong binding: no signature is valid for two different messages.
//!
//! ## Cofactored vs cofactorless for a roster key
//!
//! Let `A = [a]B` be torsion-free and `R' = [S]B - [k]A`, a point of the prime-order
//! subgroup. The cofactored equation says `[8](R - R') = 0`, i.e. `R = R' + T`
//! for some `T` in the 8-torsion. A strict cofactorless verifier (RFC 8032 §5.1.7
//! without the factor 8, as in BoringSSL, ring or Go) requires `R_bytes` to be
//! exactly the canonical encoding of `R'`. So whatever a cofactorless verifier accepts
//! under a roster key, we accept too, and we accept more only when `T != 0` (`R` has a
//! torsion component) or `R_bytes` is a non-canonical encoding; the only point of the
//! prime-order subgroup that has a non-canonical encoding is the identity (see test
//! `non_canonical_encodings_are_all_rejected`).
//!
//! Either way, only the key's holder can produce such a signature. A signature
//! accepted under either equation satisfies `[S]B = (R - T) + [k]A`, where `k` hashes the
//! exact `R_bytes`. Producing one for a new message is the ordinary Schnorr forgery
//! problem (the forking-lemma argument recovers `a` from two such signatures with the
//! same `R_bytes` and different `k`, whatever `T` is), so a third party can forge under
//! neither equation. Nor can it turn someone's signature `(R, S)` into `(R + T, S')`,
//! because changing `R_bytes` changes `k`, and `S' = r + k'a` needs `a`. The holder,
//! knowing `a`, can choose `R = [r]B + T` (or a non-canonical encoding of the identity,
//! with `r = 0`) and set `S = r + k·a mod L`. That is malleability of `R`, chosen by the
//! signer (who can sign a message many ways anyway by varying `r`), and not a forgery.
//! In practice a delegation can publish alerts that Isthmus accepts but other
//! libraries reject. The auditor must therefore use this module, not a generic
//! Ed25519 library, and nothing may assume one signature per message.
//!
//! # Pinned against C2SP CCTV `ed25519vectors.json` (914 vectors)
//!
//! Expected outcome from the flags: reject iff `reencoded_k` and not `low_order_A`
//! (all vectors have canonical `S` and decodable points; see `zip215_expected`).
//! Result: **826 accepted, 88 rejected**, and batch verification reports exactly the
//! same 88. Roster checks on the vector keys: 226 `NonCanonical`, 300 `SmallOrder`,
//! 360 `TorsionComponent`, 28 accepted. ring accepts 208 vectors, all of which we
//! accept too; we accept 618 that ring rejects, 20 of them under roster-grade keys,
//! each with a torsion component in `R` or a non-canonical `R`.

pub mod batch;
mod ed25519;
pub mod queue;

pub use ed25519::{verify, KeyError, PublicKey, Signature, SignatureError, SigningKey};

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
            use ring::signature::{UnparsedPublicKey, ED25519};
            UnparsedPublicKey::new(&ED25519, &self.key)
                .verify(&self.msg, &self.sig)
                .is_ok()
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
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/ed25519/ed25519vectors.json"
        );
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

    /// The contrast behind the rule: ring (BoringSSL's cofactorless check, which also
    /// requires R to be the canonical encoding of [S]B - [k]A) accepts a strict subset.
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
}
