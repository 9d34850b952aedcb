//! Publish-time checks: everything between an envelope arriving on a
//! connection and a ledger entry being appended.
//!
//! Order: caller may publish, size, payload type, exactly one signature,
//! key known and owned by the caller and valid now, signature valid under
//! the project's single Ed25519 rule, alert decodes and every field is valid,
//! publisher is the caller, recipients are members, an amended alert exists.
//! Each failure is a [`PublishError`] with a precise gRPC code and a message
//! that says what to fix; nothing is stored for any of them.

use crate::alert::{Recipients, Routing, ValidAlert};
use crate::crypto::{Signature, SignatureError};
use crate::ids::AlertId;
use crate::ledger::entry::NewEntry;
use crate::pb;
use crate::roster::{Member, Role, Roster, SpkiHash};
use crate::seal::{SealError, ValidSealed};
use crate::time::unix_to_pb;
use prost::Message;

mod original;
mod stamp;
mod verify;

use original::check_widening;
pub use original::Original;
pub use stamp::{AsStamp, RecordedStamp, Stamp, SALT_BYTES};
pub use verify::{accept, accept_now, Deferred, Direct, ReadyCheck, SignatureCheck};

/// Largest envelope accepted, in encoded bytes; keeps every ledger entry
/// under 65,535 bytes (C2SP tlog-tiles bundles use 16-bit lengths).
pub const MAX_ENVELOPE_BYTES: usize = 64_000;

/// Why a publish was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The caller's role cannot publish.
    #[error("{0} holds the auditor role, which cannot publish")]
    NotAPublisher(String),
    /// The envelope is over [`MAX_ENVELOPE_BYTES`].
    #[error("envelope is {0} bytes; the limit is 64000 — shorten the summary or split the alert")]
    TooLarge(usize),
    /// Wrong DSSE payload type.
    #[error("payload_type {0:?} is not accepted: use \"application/vnd.isthmus.alert.v1+protobuf\", or \"application/vnd.isthmus.sealed-alert.v1+protobuf\" for a sealed alert")]
    PayloadType(String),
    /// Not exactly one signature.
    #[error("envelope has {0} signatures; sign it exactly once with your delegation's current key")]
    SignatureCount(usize),
    /// The signature bytes are not 64 bytes.
    #[error("signature is {0} bytes; an Ed25519 signature is 64 bytes")]
    SignatureLength(usize),
    /// The key id is not in the roster.
    #[error("keyid {0:?} is not a roster signing key; the keyid is the lowercase hex SHA-256 (64 characters) of your raw 32-byte Ed25519 public key")]
    UnknownKey(String),
    /// The key id names a roster key but is not in lowercase hex.
    #[error(
        "keyid {0:?} is upper- or mixed-case; write it in lowercase hex (the SHA-256 of your raw Ed25519 public key)"
    )]
    KeyIdCase(String),
    /// The key belongs to someone else.
    #[error("keyid {key_id:?} belongs to {owner}, not to {caller}; sign with your own delegation's key")]
    KeyOwner {
        /// The key.
        key_id: String,
        /// Its roster owner.
        owner: String,
        /// Who called.
        caller: String,
    },
    /// The key is outside its validity window.
    #[error("signing key {0:?} is not valid now (outside its roster validity window); sign with your current key")]
    KeyNotValid(String),
    /// The signature does not verify.
    #[error("signature does not verify over PAE(payload_type, payload) with key {0:?}; re-sign the exact payload bytes you send")]
    BadSignature(String),
    /// The signature holds only under the cofactored equation (a torsion or
    /// non-canonical R), which standard RFC 8032 libraries reject.
    #[error("signature with key {0:?} verifies only under the cofactored (ZIP-215) equation: its R has a small-order component or a non-canonical encoding, so the recipients' standard RFC 8032 verifiers (OpenSSL, Go, Java, .NET, ring) would reject it; sign with a standard RFC 8032 Ed25519 implementation")]
    CofactoredOnly(String),
    /// The alert is malformed.
    #[error("alert: {0}")]
    Alert(#[from] crate::alert::AlertError),
    /// A TLP:RED alert sent in clear.
    #[error("TLP:RED alerts must be sealed to their recipients, so that no one else (the hub included) can read them: `isthmus publish` seals RED alerts itself; other clients see docs/sealing.md")]
    RedInClear,
    /// A sealed alert is malformed or addressed to the wrong keys.
    #[error("{0}")]
    Sealed(#[from] SealError),
    /// The alert claims another publisher.
    #[error("alert publisher is {publisher} but your certificate is {caller}; you can only publish as yourself")]
    Spoofed {
        /// Claimed.
        publisher: String,
        /// Actual.
        caller: String,
    },
    /// A recipient is not a member delegation.
    #[error("recipient {0} is not a member delegation of the roster")]
    UnknownRecipient(String),
    /// The amended alert does not exist.
    #[error("amends.id {0:?}: you have no earlier alert with that id")]
    AmendsMissing(String),
    /// The amendment reaches beyond the original's audience unasked.
    #[error("this amendment of {id:?} widens its distribution ({how}); set amends.widens_distribution = true if you mean to")]
    Widens {
        /// The amended alert.
        id: String,
        /// What widens.
        how: String,
    },
    /// Another envelope already took this (publisher, id).
    #[error("alert id {0:?} was already published with different content; choose a new id (corrections use amends)")]
    IdTaken(String),
    /// The ledger's disk is nearly full; not the caller's fault.
    #[error(
        "the hub is refusing publishes: only {free} bytes are free on its ledger's disk (floor {floor}); \
         retry later, the operator has been told"
    )]
    DiskFull {
        /// Free bytes.
        free: u64,
        /// The configured floor.
        floor: u64,
    },
    /// Storage failed; not the caller's fault.
    #[error("the ledger could not store the entry; retry later")]
    Internal(#[from] crate::error::Error),
}

/// The connection's view of who is publishing.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// The roster principal of the client certificate.
    pub member: &'a Member,
    /// The certificate's SPKI hash.
    pub spki: &'a SpkiHash,
}

/// What was published: a clear alert, every field checked, or a sealed
/// one, its clear header and stanzas checked.
#[derive(Debug)]
pub enum Content {
    /// A clear alert.
    Clear(ValidAlert),
    /// A sealed alert (docs/sealing.md).
    Sealed(ValidSealed),
}

impl Content {
    /// The routing fields both kinds have.
    pub fn routing(&self) -> Routing {
        match self {
            Content::Clear(a) => a.routing(),
            Content::Sealed(s) => s.routing.clone(),
        }
    }

    /// The alert id.
    pub fn id(&self) -> &AlertId {
        match self {
            Content::Clear(a) => &a.id,
            Content::Sealed(s) => &s.routing.id,
        }
    }
}

/// A publish that passed every check, ready to append.
#[derive(Debug)]
pub struct Accepted {
    /// What was published.
    pub content: Content,
    /// The entry to append.
    pub entry: NewEntry,
    /// The signing key's id as sent (at most 100 characters), to name it
    /// if the key's validity ends before the entry can be stamped.
    pub key_id: String,
}

/// Runs every check on `env` from `caller` with the hub's `stamp`.
/// `original` finds the caller's earlier alert with a given id (for
/// `amends`).
pub fn check(
    env: &pb::Envelope,
    caller: Caller<'_>,
    roster: &Roster,
    stamp: &impl AsStamp,
    original: impl FnMut(&str) -> Option<Original>,
) -> Result<Accepted, PublishError> {
    accept_now(env, caller, roster, stamp, original, &Direct)
}

/// The signature an envelope carries and the roster key it must verify
/// under, once everything but the signature arithmetic has been checked.
/// The offline audit collects these to verify them in batches.
#[derive(Debug)]
pub struct Authorship {
    /// The roster key named by the envelope.
    pub key: crate::crypto::PublicKey,
    /// The signature to check over `PAE(payload_type, payload)`.
    pub sig: Signature,
    /// The key id as sent.
    pub key_id: String,
    /// The first second the key is no longer valid: the entry cannot be
    /// stamped with a later acceptance time.
    pub valid_until: i64,
}

impl Authorship {
    /// The refusal for a signature check's outcome, if it failed.
    pub fn judge(&self, outcome: Result<(), SignatureError>) -> Result<(), PublishError> {
        match outcome {
            Ok(()) => Ok(()),
            Err(SignatureError::CofactoredOnly) => Err(PublishError::CofactoredOnly(self.key_id.clone())),
            Err(_) => Err(PublishError::BadSignature(self.key_id.clone())),
        }
    }
}

/// Checks role, size, payload type, signature count and the named key
/// (known, owned by the caller, valid at `now`); not the signature itself.
pub fn check_authorship(
    env: &pb::Envelope,
    caller: &Member,
    roster: &Roster,
    now: i64,
) -> Result<Authorship, PublishError> {
    let s = check_shape(env, caller)?;
    let sig = Signature::from_slice(&s.sig).map_err(|_| PublishError::SignatureLength(s.sig.len()))?;
    let key_id: String = s.keyid.chars().take(100).collect();
    let (owner, key) = roster
        .key(&s.keyid)
        .ok_or_else(|| match roster.key(&s.keyid.to_ascii_lowercase()) {
            Some(_) => PublishError::KeyIdCase(key_id.clone()),
            None => PublishError::UnknownKey(key_id.clone()),
        })?;
    if owner.id != caller.id {
        return Err(PublishError::KeyOwner {
            key_id,
            owner: owner.id.to_string(),
            caller: caller.id.to_string(),
        });
    }
    if !key.valid_at(now) {
        return Err(PublishError::KeyNotValid(key_id));
    }
    Ok(Authorship {
        key: key.key,
        sig,
        key_id,
        valid_until: key.not_after,
    })
}

/// Checks the alert itself against the caller and roster and builds the
/// ledger entry exactly as the hub stores it (so an auditor re-running this
/// with the recorded stamp must obtain the stored bytes).
pub fn check_content(
    env: &pb::Envelope,
    signed: &Authorship,
    caller: Caller<'_>,
    roster: &Roster,
    stamp: &impl AsStamp,
    mut original: impl FnMut(&str) -> Option<Original>,
) -> Result<Accepted, PublishError> {
    let now = stamp.now();
    let (content, amends) = match env.payload_type.as_str() {
        pb::SEALED_PAYLOAD_TYPE => {
            let s = ValidSealed::parse(&env.payload, now)?;
            let amends = s.header.amends.as_ref().map(|m| (m.id.clone(), m.widens_distribution));
            (Content::Sealed(s), amends)
        }
        _ => {
            let a = ValidAlert::parse(&env.payload, now)?;
            if a.tlp == pb::Tlp::Red {
                return Err(PublishError::RedInClear);
            }
            let amends = a.alert.amends.as_ref().map(|m| (m.id.clone(), m.widens_distribution));
            (Content::Clear(a), amends)
        }
    };
    let routing = content.routing();
    if routing.publisher != caller.member.id {
        return Err(PublishError::Spoofed {
            publisher: routing.publisher.to_string(),
            caller: caller.member.id.to_string(),
        });
    }
    let recipients = resolve_recipients(&routing.recipients, roster)?;
    if let Content::Sealed(s) = &content {
        s.check_keys(roster, now)?;
    }
    if let Some((id, widens)) = amends {
        let before = original(&id).ok_or_else(|| PublishError::AmendsMissing(id.clone()))?;
        check_widening(&id, widens, &before, routing.tlp, &recipients)?;
    }
    let submission = pb::Submission {
        envelope: Some(env.clone()),
        principal: caller.member.id.to_string(),
        tls_spki_sha256: caller.spki.to_vec(),
        accepted: Some(unix_to_pb(now)),
        recipients,
        salt: stamp.salt().to_vec(),
    };
    let entry = NewEntry::submission(submission, routing.id.as_str(), signed.valid_until);
    Ok(Accepted {
        content,
        entry,
        key_id: signed.key_id.clone(),
    })
}

/// The envelope's one signature, once the caller, size and payload type
/// are acceptable.
fn check_shape<'e>(env: &'e pb::Envelope, caller: &Member) -> Result<&'e pb::Signature, PublishError> {
    if caller.role != Role::Delegation {
        return Err(PublishError::NotAPublisher(caller.id.to_string()));
    }
    let size = env.encoded_len();
    if size > MAX_ENVELOPE_BYTES {
        return Err(PublishError::TooLarge(size));
    }
    if env.payload_type != pb::ALERT_PAYLOAD_TYPE && env.payload_type != pb::SEALED_PAYLOAD_TYPE {
        return Err(PublishError::PayloadType(env.payload_type.chars().take(100).collect()));
    }
    match env.signatures.as_slice() {
        [one] => Ok(one),
        all => Err(PublishError::SignatureCount(all.len())),
    }
}

/// Recipients as stored: `ALL` expanded to today's member delegations,
/// named ones checked against the roster; sorted.
fn resolve_recipients(r: &Recipients, roster: &Roster) -> Result<Vec<String>, PublishError> {
    match r {
        Recipients::All => Ok(roster.delegations().map(|m| m.id.to_string()).collect()),
        Recipients::Named(list) => list
            .iter()
            .map(|p| match roster.member(p.as_str()).map(|m| m.role) {
                Some(Role::Delegation) => Ok(p.to_string()),
                _ => Err(PublishError::UnknownRecipient(p.to_string())),
            })
            .collect(),
    }
}
