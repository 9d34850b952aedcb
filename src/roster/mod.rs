//! The roster: who is in the federation, which client certificates speak
//! for them (by SHA-256 of the certificate's SubjectPublicKeyInfo, never by
//! parsing a distinguished name) and which Ed25519 keys sign their alerts,
//! with validity windows.
//!
//! The roster lives in the ledger: entry 0 is the genesis roster and every
//! change is a whole new roster entry, so an auditor can tell which key was
//! valid when. Each roster carries its [`Terms`]: a version, the quorum of
//! delegation approvals the next change needs, and when it was drawn up;
//! [`crate::roster::change`] checks the approvals. Operators edit it as TOML (`roster.toml`); [`Roster`] is the
//! validated form, parsed once, with every public key checked
//! ([`crate::crypto::PublicKey::from_bytes`] refuses small-order,
//! non-canonical and torsioned keys).

pub mod change;
mod file;
mod pb;

pub use file::{PrincipalFile, RosterFile, SigningKeyFile};

use crate::crypto::PublicKey;
use crate::ids::{IdError, PrincipalId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// SHA-256 of a DER SubjectPublicKeyInfo.
pub type SpkiHash = [u8; 32];

/// What a principal may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A member delegation: publishes, receives what it is sent.
    Delegation,
    /// Reads the whole ledger and exports it; never publishes.
    Auditor,
}

/// A signing key with its validity window `[not_before, not_after)`, in Unix
/// seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterKey {
    /// The checked public key.
    pub key: PublicKey,
    /// First second of validity.
    pub not_before: i64,
    /// First second after validity.
    pub not_after: i64,
}

impl RosterKey {
    /// Whether the key may sign at Unix time `at`.
    pub fn valid_at(&self, at: i64) -> bool {
        self.not_before <= at && at < self.not_after
    }
}

/// One principal of the roster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Delegation code or role name.
    pub id: PrincipalId,
    /// Human-readable name.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Client certificates bound to it.
    pub tls_spki: Vec<SpkiHash>,
    /// Its alert signing keys.
    pub keys: Vec<RosterKey>,
}

/// A roster's version and change rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terms {
    /// 1 for the genesis roster, one more for each change.
    pub version: u64,
    /// Approvals from distinct delegations of this roster that the next
    /// change needs.
    pub quorum: u32,
    /// When it was drawn up, Unix seconds.
    pub issued: i64,
}

/// The validated roster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roster {
    terms: Terms,
    members: BTreeMap<PrincipalId, Member>,
    by_spki: HashMap<SpkiHash, PrincipalId>,
    by_key_id: HashMap<String, (PrincipalId, usize)>,
}

/// Why a roster was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RosterError {
    /// The TOML could not be parsed.
    #[error("roster file is not valid TOML for a roster: {0}")]
    Toml(String),
    /// A principal id is malformed.
    #[error("roster: {0}")]
    Id(#[from] IdError),
    /// Something about one principal is wrong.
    #[error("roster principal {id}: {reason}")]
    Principal {
        /// The principal concerned.
        id: String,
        /// What to fix.
        reason: String,
    },
    /// The roster as a whole is unusable.
    #[error("roster: {0}")]
    Invalid(String),
}

fn bad(id: &str, reason: impl Into<String>) -> RosterError {
    RosterError::Principal {
        id: id.to_owned(),
        reason: reason.into(),
    }
}

impl Roster {
    /// Builds and checks a roster from its members and terms.
    pub fn new(members: Vec<Member>, terms: Terms) -> Result<Self, RosterError> {
        let mut roster = Roster {
            terms,
            members: BTreeMap::new(),
            by_spki: HashMap::new(),
            by_key_id: HashMap::new(),
        };
        for m in members {
            roster.insert(m)?;
        }
        if roster.members.is_empty() {
            return Err(RosterError::Invalid("it has no principals".into()));
        }
        if terms.version == 0 {
            return Err(RosterError::Invalid(
                "version must be at least 1 (1 for the genesis roster)".into(),
            ));
        }
        let delegations = roster.delegations().count();
        if terms.quorum == 0 || terms.quorum as usize > delegations {
            return Err(RosterError::Invalid(format!(
                "quorum {} must be between 1 and the number of delegations ({delegations})",
                terms.quorum
            )));
        }
        Ok(roster)
    }

    fn insert(&mut self, m: Member) -> Result<(), RosterError> {
        let id = m.id.as_str().to_owned();
        if self.members.contains_key(&m.id) {
            return Err(bad(&id, "listed twice"));
        }
        if m.role == Role::Delegation && m.id.as_str().len() != 2 {
            return Err(bad(&id, "a delegation id must be an ISO 3166-1 alpha-2 code"));
        }
        if m.role == Role::Auditor && !m.keys.is_empty() {
            return Err(bad(&id, "auditors never publish, so they have no signing keys"));
        }
        for spki in &m.tls_spki {
            if self.by_spki.insert(*spki, m.id.clone()).is_some() {
                return Err(bad(&id, "a certificate key is bound to two principals"));
            }
        }
        for (i, k) in m.keys.iter().enumerate() {
            if k.not_before >= k.not_after {
                return Err(bad(&id, "a signing key's not_before is not before its not_after"));
            }
            if self.by_key_id.insert(k.key.key_id(), (m.id.clone(), i)).is_some() {
                return Err(bad(&id, "a signing key is listed twice"));
            }
        }
        self.members.insert(m.id.clone(), m);
        Ok(())
    }

    /// The principal a client certificate speaks for.
    pub fn by_spki(&self, spki: &SpkiHash) -> Option<&Member> {
        self.by_spki.get(spki).and_then(|id| self.members.get(id))
    }

    /// A principal by id.
    pub fn member(&self, id: &str) -> Option<&Member> {
        PrincipalId::parse(id).ok().and_then(|id| self.members.get(&id))
    }

    /// The owner of a signing key and the key, by DSSE key id.
    pub fn key(&self, key_id: &str) -> Option<(&Member, &RosterKey)> {
        let (id, i) = self.by_key_id.get(key_id)?;
        let m = self.members.get(id)?;
        Some((m, m.keys.get(*i)?))
    }

    /// All principals, ordered by id.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// Version, quorum and issue time.
    pub fn terms(&self) -> Terms {
        self.terms
    }

    /// The same members under other terms.
    pub fn with_terms(&self, terms: Terms) -> Result<Self, RosterError> {
        Roster::new(self.members().cloned().collect(), terms)
    }

    /// The member delegations, ordered by code (what `ALL` expands to).
    pub fn delegations(&self) -> impl Iterator<Item = &Member> {
        self.members().filter(|m| m.role == Role::Delegation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SigningKey;

    fn member(id: &str, role: Role, spki: u8, keys: Vec<RosterKey>) -> Member {
        Member {
            id: PrincipalId::parse(id).expect("valid id"),
            name: id.to_lowercase(),
            role,
            tls_spki: vec![[spki; 32]],
            keys,
        }
    }

    const TERMS: Terms = Terms {
        version: 1,
        quorum: 1,
        issued: 50,
    };

    fn key() -> RosterKey {
        RosterKey {
            key: SigningKey::generate().public_key(),
            not_before: 0,
            not_after: 100,
        }
    }

    #[test]
    fn lookups_by_certificate_and_key_id() {
        let k = key();
        let r = Roster::new(
            vec![
                member("CO", Role::Delegation, 1, vec![k.clone()]),
                member("AUDITOR", Role::Auditor, 2, vec![]),
            ],
            TERMS,
        )
        .expect("valid roster");
        assert_eq!(r.by_spki(&[1; 32]).map(|m| m.id.as_str()), Some("CO"));
        assert!(r.by_spki(&[3; 32]).is_none());
        let (owner, found) = r.key(&k.key.key_id()).expect("key present");
        assert_eq!((owner.id.as_str(), found), ("CO", &k));
        assert_eq!(r.delegations().count(), 1);
    }

    #[test]
    fn pb_and_toml_round_trip() {
        let r = Roster::new(
            vec![
                member("PA", Role::Delegation, 1, vec![key()]),
                member("AUDITOR", Role::Auditor, 2, vec![]),
            ],
            TERMS,
        )
        .expect("valid roster");
        assert_eq!(Roster::from_pb(&r.to_pb()).expect("pb"), r);
        let text = toml::to_string(&r.to_file()).expect("serialise");
        assert_eq!(Roster::from_toml(&text).expect("toml"), r);
    }

    #[test]
    fn inconsistent_rosters_are_refused() {
        let dup_spki = Roster::new(
            vec![
                member("PA", Role::Delegation, 1, vec![]),
                member("CO", Role::Delegation, 1, vec![]),
            ],
            TERMS,
        );
        assert!(matches!(dup_spki, Err(RosterError::Principal { .. })));
        let auditor_key = Roster::new(vec![member("AUDITOR", Role::Auditor, 1, vec![key()])], TERMS);
        assert!(auditor_key.is_err());
        let non_country = Roster::new(vec![member("ABC", Role::Delegation, 1, vec![])], TERMS);
        assert!(non_country.is_err());
        assert!(Roster::new(vec![], TERMS).is_err());
        let one = || vec![member("PA", Role::Delegation, 1, vec![])];
        for (terms, what) in [
            (Terms { version: 0, ..TERMS }, "version must be at least 1"),
            (Terms { quorum: 0, ..TERMS }, "quorum 0"),
            (
                Terms { quorum: 2, ..TERMS },
                "quorum 2 must be between 1 and the number of delegations (1)",
            ),
        ] {
            let e = Roster::new(one(), terms).expect_err(what);
            assert!(e.to_string().contains(what), "{e}");
        }
    }

    #[test]
    fn small_order_keys_are_refused_at_load() {
        let text = r#"
version = 1
quorum = 1
issued = "2026-01-01T00:00:00Z"
[[principal]]
id = "CO"
name = "Colombia"
role = "delegation"
[[principal.signing_key]]
public_key = "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
not_before = "2026-01-01T00:00:00Z"
not_after = "2027-01-01T00:00:00Z"
"#;
        let err = Roster::from_toml(text).expect_err("identity point is small order");
        assert!(err.to_string().contains("CO"), "{err}");
    }
}
