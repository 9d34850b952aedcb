//! Sealing, the publisher's side (docs/sealing.md, "Sign, seal, sign"):
//! the signed inner envelope, committed for disclosure, padded and
//! encrypted under a fresh content key that is wrapped to every reader,
//! then signed again as the outer envelope the hub stores.

use super::keys::SealingPublicKey;
use super::{disclosure_commitment, encrypt_content, stanza_aad, stanza_info, HpkeAead, HpkeKdf, HpkeKem, SUITE};
use crate::crypto::SigningKey;
use crate::hash::sha256;
use crate::pb;
use hpke::Serializable;
use prost::Message;
use rand_core_09::{RngCore, TryRngCore};

/// The system's CSPRNG, for HPKE and the content key (panics only if the
/// operating system cannot provide randomness, when nothing is safe).
pub(crate) fn os_rng() -> rand_core_09::UnwrapErr<rand_core_09::OsRng> {
    rand_core_09::OsRng.unwrap_err()
}

/// One reader of a sealed alert: a recipient or the publisher itself, and
/// its current roster sealing key.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    /// Its roster id.
    pub id: &'a str,
    /// Its sealing key.
    pub key: &'a SealingPublicKey,
}

/// The clear header for `alert` (the inner alert), committing to `inner`
/// (its encoded envelope) with `opener`.
pub fn header_for(alert: &pb::Alert, inner: &[u8], opener: &[u8; 32]) -> pb::SealedHeader {
    pb::SealedHeader {
        id: alert.id.clone(),
        publisher: alert.publisher.clone(),
        created: alert.created,
        tlp: alert.tlp,
        recipients: alert.recipients.clone(),
        handling: alert.handling.clone(),
        amends: alert.amends.as_ref().map(|m| pb::SealedAmendment {
            id: m.id.clone(),
            kind: m.kind,
            widens_distribution: m.widens_distribution,
        }),
        suite: Some(pb::Suite {
            kem: SUITE.kem,
            kdf: SUITE.kdf,
            aead: SUITE.aead,
        }),
        disclosure_commitment: disclosure_commitment(opener, inner).to_vec(),
    }
}

/// Wraps content key `k` to `reader` for the header whose SHA-256 is
/// `header_hash`.
pub fn wrap(k: &[u8; 32], header_hash: &[u8; 32], reader: Reader<'_>) -> pb::Stanza {
    let key_id = reader.key.key_id();
    let (enc, wrapped) = hpke::single_shot_seal::<HpkeAead, HpkeKdf, HpkeKem, _>(
        &hpke::OpModeS::Base,
        reader.key.hpke(),
        &stanza_info(header_hash),
        k,
        &stanza_aad(reader.id, &key_id),
        &mut os_rng(),
    )
    // Fails only for a low-order key, which SealingPublicKey refuses.
    .unwrap_or_else(|_| unreachable_key());
    pb::Stanza {
        recipient: reader.id.to_owned(),
        key_id,
        enc: enc.to_bytes().to_vec(),
        wrapped_key: wrapped,
    }
}

#[cold]
fn unreachable_key() -> (<HpkeKem as hpke::Kem>::EncappedKey, Vec<u8>) {
    // A checked SealingPublicKey is never low order; if HPKE still refuses,
    // sealing to it must not silently produce an unreadable stanza.
    panic!("HPKE refused a checked sealing key")
}

/// Seals `inner`, the publisher's signed envelope of `alert`, to `readers`
/// (the recipients and the publisher, each once), and signs the sealed
/// object with `signer`: the outer envelope to publish.
pub fn seal(inner: &pb::Envelope, alert: &pb::Alert, readers: &[Reader<'_>], signer: &SigningKey) -> pb::Envelope {
    let mut rng = os_rng();
    let inner_bytes = inner.encode_to_vec();
    let mut opener = [0u8; 32];
    rng.fill_bytes(&mut opener);
    let header = header_for(alert, &inner_bytes, &opener).encode_to_vec();
    let h = sha256(&header);
    let mut k = [0u8; 32];
    rng.fill_bytes(&mut k);
    let content = pb::SealedContent {
        envelope: inner_bytes,
        opener: opener.to_vec(),
    }
    .encode_to_vec();
    let (key_commitment, ciphertext) = encrypt_content(&k, &h, &content);
    crate::crypto::wipe(content);
    let stanzas = readers.iter().map(|r| wrap(&k, &h, *r)).collect();
    k.fill(0);
    let sealed = pb::SealedAlert {
        header,
        stanzas,
        key_commitment: key_commitment.to_vec(),
        ciphertext,
    };
    sign_sealed(&sealed, signer)
}

/// The outer envelope of `sealed`, signed by `signer`.
pub fn sign_sealed(sealed: &pb::SealedAlert, signer: &SigningKey) -> pb::Envelope {
    sign_sealed_payload(sealed.encode_to_vec(), signer)
}

/// The outer envelope of a sealed payload's bytes, signed by `signer`.
pub fn sign_sealed_payload(payload: Vec<u8>, signer: &SigningKey) -> pb::Envelope {
    let sig = signer.sign(&crate::envelope::pae(pb::SEALED_PAYLOAD_TYPE, &payload));
    pb::Envelope {
        payload,
        payload_type: pb::SEALED_PAYLOAD_TYPE.to_owned(),
        signatures: vec![pb::Signature {
            sig: sig.to_bytes().to_vec(),
            keyid: signer.public_key().key_id(),
        }],
    }
}
