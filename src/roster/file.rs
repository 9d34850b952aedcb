//! `roster.toml`, the roster as operators edit it. A file is converted to
//! the protobuf form ([`super::pb`]), which is then parsed and checked
//! like a roster read from the ledger: one parser for both, so the two can
//! never accept different rosters. What is converted here is only text to
//! bytes and times: hex SPKI hashes, base64 keys, RFC 3339 times.

use super::{bad, Role, Roster, RosterError};
use crate::pb;
use crate::time::{format_rfc3339, parse_rfc3339, unix_to_pb};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// `roster.toml` as written by operators and `isthmus dev-certs`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterFile {
    /// 1 for the genesis roster; one more for each change.
    pub version: u64,
    /// Approvals from distinct delegations of this roster the next change needs.
    pub quorum: u32,
    /// RFC 3339: when this roster was drawn up.
    pub issued: String,
    /// Witness cosignatures a checkpoint needs (0, the default, when no
    /// principal lists a `witness_key`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub witness_quorum: u32,
    /// One table per principal.
    pub principal: Vec<PrincipalFile>,
}

/// One `[[principal]]` table.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalFile {
    /// "CO", "AUDITOR".
    pub id: String,
    /// "Colombia".
    pub name: String,
    /// "delegation" or "auditor".
    pub role: Role,
    /// Lower-case hex SHA-256 of each bound certificate's DER SPKI.
    #[serde(default)]
    pub tls_spki_sha256: Vec<String>,
    /// Signing keys.
    #[serde(default)]
    pub signing_key: Vec<SigningKeyFile>,
    /// Sealing keys (docs/sealing.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sealing_key: Vec<SealingKeyFile>,
    /// The delegation's witness key (C2SP cosignature/v1 verifier key).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub witness_key: String,
    /// `http://host:port` of its add-checkpoint endpoint; empty when it
    /// dials out to the hub.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub witness_url: String,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One `[[principal.signing_key]]` table (Ed25519) or
/// `[[principal.sealing_key]]` table (X25519).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    /// Standard base64 of the raw 32-byte public key.
    pub public_key: String,
    /// RFC 3339, inclusive.
    pub not_before: String,
    /// RFC 3339, exclusive.
    pub not_after: String,
}

impl Roster {
    /// Parses and checks `roster.toml`.
    pub fn from_toml(text: &str) -> Result<Self, RosterError> {
        let file: RosterFile = toml::from_str(text).map_err(|e| RosterError::Toml(e.to_string()))?;
        Roster::from_pb(&file.to_pb()?)
    }

    /// The operator form of this roster.
    pub fn to_file(&self) -> RosterFile {
        let p = self.to_pb();
        RosterFile {
            version: p.version,
            quorum: p.quorum,
            issued: format_rfc3339(self.terms().issued),
            witness_quorum: p.witness_quorum,
            principal: p.principals.iter().map(principal_to_file).collect(),
        }
    }
}

impl RosterFile {
    /// The protobuf form of the file's text, to be checked by
    /// [`Roster::from_pb`].
    pub fn to_pb(&self) -> Result<pb::Roster, RosterError> {
        let issued = parse_rfc3339(&self.issued)
            .ok_or_else(|| RosterError::Invalid(format!("issued {:?} is not an RFC 3339 time", self.issued)))?;
        Ok(pb::Roster {
            principals: self
                .principal
                .iter()
                .map(PrincipalFile::to_pb)
                .collect::<Result<_, _>>()?,
            version: self.version,
            quorum: self.quorum,
            issued: Some(unix_to_pb(issued)),
            witness_quorum: self.witness_quorum,
        })
    }
}

impl PrincipalFile {
    fn to_pb(&self) -> Result<pb::Principal, RosterError> {
        let id = &self.id;
        let spki = |h: &String| {
            hex::decode(h).map_err(|_| bad(id, format!("tls_spki_sha256 {h:?} is not hex (64 hex digits)")))
        };
        Ok(pb::Principal {
            id: id.clone(),
            name: self.name.clone(),
            role: match self.role {
                Role::Delegation => pb::Role::Delegation,
                Role::Auditor => pb::Role::Auditor,
            } as i32,
            tls_spki_sha256: self.tls_spki_sha256.iter().map(spki).collect::<Result<_, _>>()?,
            signing_keys: self
                .signing_key
                .iter()
                .map(|k| k.to_pb(id, "signing_key"))
                .collect::<Result<_, _>>()?,
            sealing_keys: self
                .sealing_key
                .iter()
                .map(|k| {
                    k.to_pb(id, "sealing_key").map(|k| pb::SealingKey {
                        public_key: k.public_key,
                        not_before: k.not_before,
                        not_after: k.not_after,
                    })
                })
                .collect::<Result<_, _>>()?,
            witness_key: self.witness_key.clone(),
            witness_url: self.witness_url.clone(),
        })
    }
}

/// A `[[principal.signing_key]]` table.
pub type SigningKeyFile = KeyFile;
/// A `[[principal.sealing_key]]` table.
pub type SealingKeyFile = KeyFile;

impl KeyFile {
    fn to_pb(&self, id: &str, table: &str) -> Result<pb::SigningKey, RosterError> {
        let raw = B64
            .decode(&self.public_key)
            .map_err(|_| bad(id, format!("{table}.public_key is not standard base64")))?;
        let when = |s: &str| {
            parse_rfc3339(s)
                .map(unix_to_pb)
                .ok_or_else(|| bad(id, format!("{s:?} is not an RFC 3339 time like 2026-01-01T00:00:00Z")))
        };
        Ok(pb::SigningKey {
            public_key: raw,
            not_before: Some(when(&self.not_before)?),
            not_after: Some(when(&self.not_after)?),
        })
    }
}

fn principal_to_file(p: &pb::Principal) -> PrincipalFile {
    let seconds = |t: &Option<prost_types::Timestamp>| format_rfc3339(t.as_ref().map_or(0, |t| t.seconds));
    let file = |public_key: &[u8], not_before, not_after| KeyFile {
        public_key: B64.encode(public_key),
        not_before: seconds(not_before),
        not_after: seconds(not_after),
    };
    PrincipalFile {
        id: p.id.clone(),
        name: p.name.clone(),
        role: match pb::Role::try_from(p.role) {
            Ok(pb::Role::Auditor) => Role::Auditor,
            _ => Role::Delegation,
        },
        tls_spki_sha256: p.tls_spki_sha256.iter().map(hex::encode).collect(),
        signing_key: p
            .signing_keys
            .iter()
            .map(|k| file(&k.public_key, &k.not_before, &k.not_after))
            .collect(),
        sealing_key: p
            .sealing_keys
            .iter()
            .map(|k| file(&k.public_key, &k.not_before, &k.not_after))
            .collect(),
        witness_key: p.witness_key.clone(),
        witness_url: p.witness_url.clone(),
    }
}
