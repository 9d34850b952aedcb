//! DSSE envelopes (github.com/secure-systems-lab/dsse, protocol v1).
//!
//! A signature covers the pre-authentication encoding
//!
//! ```text
//! PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
//! ```
//!
//! where SP is the single byte 0x20 and LEN(s) is the ASCII decimal byte
//! length of `s` with no leading zeros. `body` is the exact protobuf encoding
//! of an [`pb::Alert`], kept as bytes from signing to audit and never
//! re-encoded, so any language's DSSE routine reproduces the signed bytes.

use crate::crypto::{PublicKey, Rule, Signature, SignatureError, SigningKey};
use crate::pb;
use prost::Message;

/// Builds `PAE(payload_type, payload)` (DSSE v1 protocol, "Signature
/// definition").
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// Encodes `alert` and signs it into a single-signature envelope whose key id
/// is [`PublicKey::key_id`] of `key`.
pub fn sign(alert: &pb::Alert, key: &SigningKey) -> pb::Envelope {
    let payload = alert.encode_to_vec();
    let sig = key.sign(&pae(pb::ALERT_PAYLOAD_TYPE, &payload));
    pb::Envelope {
        payload,
        payload_type: pb::ALERT_PAYLOAD_TYPE.to_owned(),
        signatures: vec![pb::Signature {
            sig: sig.to_bytes().to_vec(),
            keyid: key.public_key().key_id(),
        }],
    }
}

/// Checks one envelope signature under `key` with `rule` ([`crate::crypto`]).
pub fn verify(envelope: &pb::Envelope, sig: &Signature, key: &PublicKey, rule: Rule) -> Result<(), SignatureError> {
    key.verify(&pae(&envelope.payload_type, &envelope.payload), sig, rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // From the DSSE protocol document's test vector.
        let got = pae("http://example.com/HelloWorld", b"hello world");
        assert_eq!(got, b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec());
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn sealed_envelopes_verify_and_tampering_is_caught() {
        let key = SigningKey::generate();
        let alert = pb::Alert {
            id: "x".into(),
            ..Default::default()
        };
        let mut env = sign(&alert, &key);
        let sig = Signature::from_slice(&env.signatures[0].sig).expect("64 bytes");
        let check = |env: &pb::Envelope| verify(env, &sig, &key.public_key(), Rule::Strict).is_ok();
        assert!(check(&env));
        env.payload.push(0);
        assert!(!check(&env));
        env.payload.pop();
        env.payload_type.push('x');
        assert!(!check(&env));
    }
}
