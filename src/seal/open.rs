//! Opening, the recipient's side (docs/sealing.md, "What a recipient checks
//! when opening"): nothing is returned unless the stanza opens, the content
//! key matches the header's commitment, the ciphertext authenticates with
//! well-formed padding, the disclosure commitment holds, and the inner
//! alert is signed by the publisher's roster key and agrees with the header.

use super::check::routing_view;
use super::keys::SealingPrivateKey;
use super::{decrypt_content, derive, disclosure_commitment, stanza_aad, stanza_info, HpkeAead, HpkeKdf, HpkeKem};
use crate::alert::ValidAlert;
use crate::crypto::{Rule, Signature};
use crate::hash::sha256;
use crate::pb;
use crate::roster::Roster;
use hpke::Deserializable;
use prost::Message;

/// Why a sealed alert did not open for this reader.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Not a sealed alert's payload.
    #[error("not a sealed alert: {0}")]
    Decode(String),
    /// No stanza for this reader under a key it holds.
    #[error("sealed to {reader} under key {key_ids}, and no sealing key given has that id (pass the key with --sealing-key; old keys open alerts sealed before a rotation)")]
    NoKey {
        /// Who tried.
        reader: String,
        /// The key ids its stanza names (or "none: no stanza for it").
        key_ids: String,
    },
    /// HPKE did not open the stanza.
    #[error("the stanza for {0} does not open with its key: it was not sealed to this key or it was altered")]
    Stanza(String),
    /// The content key does not give the header's key commitment.
    #[error("key commitment mismatch: the content key in {0}'s stanza is not the one the publisher committed to; this reader was given a different key than the others, refuse the alert")]
    KeyCommitment(String),
    /// The ciphertext did not authenticate or its padding is malformed.
    #[error("the ciphertext does not open under the committed content key (altered or truncated)")]
    Ciphertext,
    /// The content is not a `SealedContent` with a 32-byte opener.
    #[error("the decrypted content is malformed: {0}")]
    Content(String),
    /// The opener and inner envelope do not give the disclosure commitment.
    #[error("the disclosure commitment in the header does not match the inner envelope")]
    Disclosure,
    /// The inner envelope is not a valid alert signed by the publisher.
    #[error("the inner alert: {0}")]
    Inner(String),
    /// The inner alert says something other than the header.
    #[error(
        "the inner alert's {0} differs from the clear header's: the publisher routed one thing and sealed another"
    )]
    Mismatch(&'static str),
}

/// A sealed alert opened by one reader, before the inner checks.
#[derive(Clone, Debug)]
pub struct Opened {
    /// The clear header.
    pub header: pb::SealedHeader,
    /// The inner envelope's exact bytes.
    pub inner_bytes: Vec<u8>,
    /// The inner envelope.
    pub inner: pb::Envelope,
    /// The disclosure opener.
    pub opener: [u8; 32],
}

/// Opens the sealed `payload` as reader `me` with any of `keys` (steps 1 to
/// 5 of docs/sealing.md; [`Opened::check`] does 6 and 7).
pub fn open(payload: &[u8], me: &str, keys: &[SealingPrivateKey]) -> Result<Opened, OpenError> {
    let sealed = pb::SealedAlert::decode(payload).map_err(|e| OpenError::Decode(e.to_string()))?;
    let header = pb::SealedHeader::decode(sealed.header.as_slice()).map_err(|e| OpenError::Decode(e.to_string()))?;
    let h = sha256(&sealed.header);
    let mine: Vec<&pb::Stanza> = sealed.stanzas.iter().filter(|s| s.recipient == me).collect();
    if mine.len() > 1 {
        return Err(OpenError::Decode(format!(
            "{me} has {} stanzas; a reader has exactly one",
            mine.len()
        )));
    }
    let (stanza, key) = mine
        .iter()
        .find_map(|s| keys.iter().find(|k| k.key_id() == s.key_id).map(|k| (*s, k)))
        .ok_or_else(|| OpenError::NoKey {
            reader: me.to_owned(),
            key_ids: match mine.is_empty() {
                true => "none: there is no stanza for it".to_owned(),
                false => mine.iter().map(|s| s.key_id.as_str()).collect::<Vec<_>>().join(", "),
            },
        })?;
    let stanza_err = || OpenError::Stanza(me.to_owned());
    let enc = <HpkeKem as hpke::Kem>::EncappedKey::from_bytes(&stanza.enc).map_err(|_| stanza_err())?;
    let mut k = hpke::single_shot_open::<HpkeAead, HpkeKdf, HpkeKem>(
        &hpke::OpModeR::Base,
        key.hpke(),
        &enc,
        &stanza_info(&h),
        &stanza.wrapped_key,
        &stanza_aad(me, &stanza.key_id),
    )
    .map_err(|_| stanza_err())?;
    let k32: Option<[u8; 32]> = k.as_slice().try_into().ok();
    k.fill(0);
    let mut k32 = k32.ok_or_else(stanza_err)?;
    let (mut content_key, commitment) = derive(&k32, &h);
    k32.fill(0);
    // Both sides are public (the header's commitment, and one the sender
    // could compute): no secret to compare in constant time.
    if commitment.as_slice() != sealed.key_commitment.as_slice() {
        content_key.fill(0);
        return Err(OpenError::KeyCommitment(me.to_owned()));
    }
    let content = decrypt_content(&content_key, &h, &sealed.ciphertext);
    content_key.fill(0);
    let content = content.ok_or(OpenError::Ciphertext)?;
    let c = pb::SealedContent::decode(content.as_slice()).map_err(|e| OpenError::Content(e.to_string()));
    crate::crypto::wipe(content);
    let c = c?;
    let opener: [u8; 32] = c
        .opener
        .as_slice()
        .try_into()
        .map_err(|_| OpenError::Content(format!("the opener is {} bytes, not 32", c.opener.len())))?;
    if disclosure_commitment(&opener, &c.envelope).as_slice() != header.disclosure_commitment.as_slice() {
        return Err(OpenError::Disclosure);
    }
    let inner = pb::Envelope::decode(c.envelope.as_slice()).map_err(|e| OpenError::Content(e.to_string()))?;
    Ok(Opened {
        header,
        inner_bytes: c.envelope,
        inner,
        opener,
    })
}

impl Opened {
    /// Steps 6 and 7: the inner envelope is a valid alert signed once by
    /// the publisher's roster key valid at `accepted` (Unix s), and it agrees
    /// with the header. Returns the alert.
    pub fn check(&self, roster: &Roster, accepted: i64) -> Result<ValidAlert, OpenError> {
        let inner_err = |s: String| OpenError::Inner(s);
        if self.inner.payload_type != pb::ALERT_PAYLOAD_TYPE {
            return Err(inner_err(format!(
                "payload_type {:?} is not an alert's",
                self.inner.payload_type.chars().take(100).collect::<String>()
            )));
        }
        let [s] = self.inner.signatures.as_slice() else {
            return Err(inner_err(format!(
                "{} signatures; exactly one is required",
                self.inner.signatures.len()
            )));
        };
        let (owner, key) = roster
            .key(&s.keyid)
            .ok_or_else(|| inner_err(format!("signing key {:?} is not in the roster", s.keyid)))?;
        if owner.id.as_str() != self.header.publisher || !key.valid_at(accepted) {
            return Err(inner_err(
                "not signed by the publisher's signing key valid at acceptance".into(),
            ));
        }
        let sig = Signature::from_slice(&s.sig).map_err(|_| inner_err("the signature is not 64 bytes".into()))?;
        crate::envelope::verify(&self.inner, &sig, &key.key, Rule::Strict)
            .map_err(|_| inner_err("the publisher's signature does not verify".into()))?;
        // Accepted alerts were at most 5 minutes ahead of the hub's clock.
        let alert = ValidAlert::parse(&self.inner.payload, accepted).map_err(|e| inner_err(e.to_string()))?;
        agree(&alert.alert, &self.header)?;
        Ok(alert)
    }
}

/// The inner alert's routing fields equal the header's.
fn agree(a: &pb::Alert, h: &pb::SealedHeader) -> Result<(), OpenError> {
    let clear = routing_view(h);
    let set = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    let amends = |m: &Option<pb::Amendment>| m.as_ref().map(|m| (m.id.clone(), m.kind, m.widens_distribution));
    let checks: [(&'static str, bool); 7] = [
        ("id", a.id == clear.id),
        ("publisher", a.publisher == clear.publisher),
        ("created", a.created == clear.created),
        ("tlp", a.tlp == clear.tlp),
        ("recipients", set(&a.recipients) == set(&clear.recipients)),
        ("handling", a.handling == clear.handling),
        ("amends", amends(&a.amends) == amends(&clear.amends)),
    ];
    match checks.iter().find(|(_, ok)| !ok) {
        Some((field, _)) => Err(OpenError::Mismatch(field)),
        None => Ok(()),
    }
}
