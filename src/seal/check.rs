//! What the hub and the offline audit check of a sealed alert without
//! reading it (docs/sealing.md): the clear header as strictly as a clear
//! alert's routing fields, the suite, the sizes, and that every reader has
//! exactly one stanza addressed to one of its own roster sealing keys valid
//! at acceptance. [`crate::ingest`] runs this for every sealed publish, so
//! `isthmusd` and `isthmus-audit` apply the same rules.

use super::{padded_len, Suite, ENC_BYTES, MAX_HEADER_BYTES, MIN_PADDED, SUITE, TAG_BYTES, WRAPPED_BYTES};
use crate::alert::{AlertError, Recipients, Routing};
use crate::ids::PrincipalId;
use crate::pb;
use crate::roster::{Role, Roster};
use prost::Message;
use std::collections::BTreeSet;

/// Why a sealed alert was refused. Every message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The payload is not an encoded `SealedAlert`, or its header not a `SealedHeader`.
    #[error("sealed alert: {0} does not decode: {1}")]
    Decode(&'static str, String),
    /// The header is over [`MAX_HEADER_BYTES`].
    #[error("sealed alert: header is {0} bytes; at most 4096 are allowed")]
    HeaderTooLarge(usize),
    /// A header field is wrong.
    #[error("sealed alert header: {0}")]
    Header(AlertError),
    /// `ALL` in a sealed header.
    #[error(
        "sealed alert header: recipients must be named delegations (\"ALL\" is refused): each needs its own stanza"
    )]
    AllRecipients,
    /// A suite other than [`SUITE`].
    #[error("sealed alert: suite (kem {kem:#06x}, kdf {kdf:#06x}, aead {aead:#06x}) is not accepted; use kem 0x0020, kdf 0x0001, aead 0x0003 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305)", kem = .0.kem, kdf = .0.kdf, aead = .0.aead)]
    Suite(Suite),
    /// A field of the wrong length.
    #[error("sealed alert: {field} is {got} bytes; it must be {want}")]
    Length {
        /// Which.
        field: &'static str,
        /// Its length.
        got: usize,
        /// The required length.
        want: usize,
    },
    /// A ciphertext that is not a padded size plus the tag.
    #[error("sealed alert: ciphertext is {0} bytes, which is not a padded length plus the 16-byte tag; pad the plaintext as docs/sealing.md says")]
    Padding(usize),
    /// A stanza's key id is not 64 lowercase hex digits.
    #[error("sealed alert: stanza for {0}: key_id must be the lowercase hex SHA-256 (64 digits) of its sealing key")]
    KeyIdSyntax(String),
    /// A stanza's recipient is not a roster id.
    #[error("sealed alert: a stanza's recipient {0:?} is not a delegation code")]
    StanzaRecipient(String),
    /// Two stanzas for one reader.
    #[error("sealed alert: {0} has two stanzas; give each reader exactly one")]
    DuplicateStanza(String),
    /// A reader without a stanza.
    #[error("sealed alert: no stanza for {0}; every recipient and the publisher needs one")]
    MissingStanza(String),
    /// A stanza for someone who is neither a recipient nor the publisher.
    #[error("sealed alert: stanza for {0}, who is neither a recipient in the header nor the publisher")]
    StrayStanza(String),
    /// The key id is not a roster sealing key of that reader.
    #[error("sealed alert: stanza for {reader} is sealed to key {key_id}, which is not one of {reader}'s roster sealing keys; seal to the key the roster lists")]
    NotReadersKey {
        /// The stanza's reader.
        reader: String,
        /// The key id.
        key_id: String,
    },
    /// The key is outside its validity window.
    #[error("sealed alert: stanza for {reader} uses sealing key {key_id}, which is not valid now (outside its roster window); seal to {reader}'s current key")]
    KeyNotValid {
        /// The stanza's reader.
        reader: String,
        /// The key id.
        key_id: String,
    },
}

/// A sealed alert whose clear parts passed every check that needs no
/// roster ([`ValidSealed::parse`]).
#[derive(Clone, Debug)]
pub struct ValidSealed {
    /// The decoded object.
    pub sealed: pb::SealedAlert,
    /// Its decoded header.
    pub header: pb::SealedHeader,
    /// The checked routing fields.
    pub routing: Routing,
}

/// Most stanzas: the 249 assigned ISO 3166-1 codes, plus the publisher.
pub const MAX_STANZAS: usize = 250;

impl ValidSealed {
    /// Decodes and checks a sealed payload at Unix time `now`: everything
    /// but the roster.
    pub fn parse(payload: &[u8], now: i64) -> Result<Self, SealError> {
        let sealed = pb::SealedAlert::decode(payload).map_err(|e| SealError::Decode("payload", e.to_string()))?;
        if sealed.header.len() > MAX_HEADER_BYTES {
            return Err(SealError::HeaderTooLarge(sealed.header.len()));
        }
        let header = pb::SealedHeader::decode(sealed.header.as_slice())
            .map_err(|e| SealError::Decode("header", e.to_string()))?;
        let routing = Routing::check(&routing_view(&header), now).map_err(SealError::Header)?;
        if routing.recipients == Recipients::All {
            return Err(SealError::AllRecipients);
        }
        let suite = header
            .suite
            .as_ref()
            .map(|s| Suite {
                kem: s.kem,
                kdf: s.kdf,
                aead: s.aead,
            })
            .unwrap_or_default();
        if suite != SUITE {
            return Err(SealError::Suite(suite));
        }
        length("disclosure_commitment", header.disclosure_commitment.len(), 32)?;
        length("key_commitment", sealed.key_commitment.len(), 32)?;
        let n = sealed.ciphertext.len().saturating_sub(TAG_BYTES);
        if n < MIN_PADDED || padded_len(n) != n {
            return Err(SealError::Padding(sealed.ciphertext.len()));
        }
        let v = ValidSealed {
            sealed,
            header,
            routing,
        };
        v.check_stanza_shapes()?;
        Ok(v)
    }

    /// The readers: the named recipients and the publisher.
    pub fn readers(&self) -> BTreeSet<&str> {
        let mut out: BTreeSet<&str> = match &self.routing.recipients {
            Recipients::Named(list) => list.iter().map(PrincipalId::as_str).collect(),
            Recipients::All => BTreeSet::new(),
        };
        out.insert(self.routing.publisher.as_str());
        out
    }

    fn check_stanza_shapes(&self) -> Result<(), SealError> {
        let readers = self.readers();
        if self.sealed.stanzas.len() > MAX_STANZAS {
            return Err(SealError::StrayStanza(format!("{} stanzas", self.sealed.stanzas.len())));
        }
        let mut seen = BTreeSet::new();
        for s in &self.sealed.stanzas {
            let who: String = s.recipient.chars().take(16).collect();
            if PrincipalId::country(&s.recipient).is_err() {
                return Err(SealError::StanzaRecipient(who));
            }
            if !seen.insert(s.recipient.as_str()) {
                return Err(SealError::DuplicateStanza(who));
            }
            if !readers.contains(s.recipient.as_str()) {
                return Err(SealError::StrayStanza(who));
            }
            let hex_ok = s.key_id.len() == 64 && s.key_id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            if !hex_ok {
                return Err(SealError::KeyIdSyntax(who));
            }
            length("stanza enc", s.enc.len(), ENC_BYTES)?;
            length("stanza wrapped_key", s.wrapped_key.len(), WRAPPED_BYTES)?;
        }
        match readers.iter().find(|r| !seen.contains(**r)) {
            Some(missing) => Err(SealError::MissingStanza((*missing).to_owned())),
            None => Ok(()),
        }
    }

    /// Each stanza is addressed to a roster sealing key of its reader,
    /// valid at `now`.
    pub fn check_keys(&self, roster: &Roster, now: i64) -> Result<(), SealError> {
        for s in &self.sealed.stanzas {
            let not_readers = || SealError::NotReadersKey {
                reader: s.recipient.clone(),
                key_id: s.key_id.clone(),
            };
            let (owner, key) = roster.sealing_key(&s.key_id).ok_or_else(not_readers)?;
            if owner.id.as_str() != s.recipient || owner.role != Role::Delegation {
                return Err(not_readers());
            }
            if !key.valid_at(now) {
                return Err(SealError::KeyNotValid {
                    reader: s.recipient.clone(),
                    key_id: s.key_id.clone(),
                });
            }
        }
        Ok(())
    }
}

fn length(field: &'static str, got: usize, want: usize) -> Result<(), SealError> {
    match got == want {
        true => Ok(()),
        false => Err(SealError::Length { field, got, want }),
    }
}

/// The header as an alert holding only its routing fields, for
/// [`Routing::check`].
pub fn routing_view(h: &pb::SealedHeader) -> pb::Alert {
    pb::Alert {
        id: h.id.clone(),
        publisher: h.publisher.clone(),
        created: h.created,
        tlp: h.tlp,
        recipients: h.recipients.clone(),
        handling: h.handling.clone(),
        amends: h.amends.as_ref().map(|m| pb::Amendment {
            id: m.id.clone(),
            kind: m.kind,
            reason: String::new(),
            widens_distribution: m.widens_distribution,
        }),
        ..Default::default()
    }
}
