//! Signatures no honest signer makes, for the tests that pin the signature
//! rules: valid under the cofactored (ZIP-215) equation, refused by every
//! standard RFC 8032 verifier. Only the key's holder can make one, which is
//! why the hub must refuse them at ingest rather than rely on nobody trying.

use crate::crypto::{Signature, SigningKey};
use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::{EdwardsPoint, Scalar};
use ring::digest::{digest, Context, SHA512};

/// Signs `msg` with `key`, but with `R = [r]B + T` where `T` is the
/// 8-torsion point `EIGHT_TORSION[torsion]` (index 4 has order 2, 2 and 6
/// order 4, odd ones order 8; 0 is the identity and gives an ordinary
/// signature). With `a` the secret scalar, `k = SHA-512(R ‖ A ‖ M) mod L`
/// over the bytes of this `R`, and `S = r + k·a mod L`:
/// `[S]B − [k]A = [r]B = R − T`, so `[8][S]B = [8]R + [8][k]A` holds and
/// `[S]B = R + [k]A` does not (for `T ≠ 0`).
pub fn torsion_r_signature(key: &SigningKey, msg: &[u8], torsion: usize) -> Signature {
    let expanded = digest(&SHA512, &key.seed());
    let mut a_bytes = [0u8; 32];
    a_bytes.copy_from_slice(&expanded.as_ref()[..32]);
    a_bytes[0] &= 248;
    a_bytes[31] &= 127;
    a_bytes[31] |= 64;
    let a = Scalar::from_bytes_mod_order(a_bytes);
    let r = Scalar::from_bytes_mod_order_wide(&wide(&[b"crafted r", msg]));
    let big_r = EdwardsPoint::mul_base(&r) + EIGHT_TORSION[torsion % 8];
    let r_bytes = big_r.compress().to_bytes();
    let k = Scalar::from_bytes_mod_order_wide(&wide(&[&r_bytes, key.public_key().as_bytes(), msg]));
    let s = r + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r_bytes);
    sig[32..].copy_from_slice(s.as_bytes());
    Signature::from(sig)
}

fn wide(parts: &[&[u8]]) -> [u8; 64] {
    let mut ctx = Context::new(&SHA512);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 64];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Rule, SignatureError};

    #[test]
    fn torsion_r_is_cofactored_only_and_index_zero_is_honest() {
        let key = SigningKey::from_seed([9; 32]);
        let pk = key.public_key();
        let msg = b"an alert";
        for t in 1..8 {
            let sig = torsion_r_signature(&key, msg, t);
            assert_eq!(pk.verify(msg, &sig, Rule::Cofactored), Ok(()), "T{t}");
            assert_eq!(
                pk.verify(msg, &sig, Rule::Strict),
                Err(SignatureError::CofactoredOnly),
                "T{t}"
            );
        }
        let plain = torsion_r_signature(&key, msg, 0);
        assert_eq!(pk.verify(msg, &plain, Rule::Strict), Ok(()));
    }
}
