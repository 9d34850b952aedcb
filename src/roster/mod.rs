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

pub use file::{PrincipalFile, RosterFile, SealingKeyFile, SigningKeyFile};

use crate::crypto::PublicKey;
use crate::ids::{IdError, PrincipalId};
use crate::seal::SealingPublicKey;
use crate::witness::{CosignatureVerifier, Policy, PolicyWitness};
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

/// A sealing key (docs/sealing.md) with its validity window
/// `[not_before, not_after)`, in Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterSealingKey {
    /// The checked public key.
    pub key: SealingPublicKey,
    /// First second of validity.
    pub not_before: i64,
    /// First second after validity.
    pub not_after: i64,
}

impl RosterSealingKey {
    /// Whether alerts may be sealed to the key at Unix time `at`.
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
    /// The keys alerts are sealed to (delegations only).
    pub sealing: Vec<RosterSealingKey>,
    /// The witness it runs, if any (delegations only).
    pub witness: Option<RosterWitness>,
}

/// A delegation's witness: the key its cosignatures verify with, and where
/// the hub can reach its `add-checkpoint` endpoint (without a URL, the
/// hub's own config must say where it is).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterWitness {
    /// Its cosignature/v1 verifier key.
    pub key: CosignatureVerifier,
    /// `http://host:port`, if the hub should call it.
    pub url: Option<String>,
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
    /// Cosignatures from distinct delegations' witnesses a checkpoint
    /// needs before readers trust it (0 when no witness is listed; else a
    /// strict majority of the listed witnesses).
    pub witness_quorum: u32,
}

/// The validated roster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roster {
    terms: Terms,
    members: BTreeMap<PrincipalId, Member>,
    by_spki: HashMap<SpkiHash, PrincipalId>,
    by_key_id: HashMap<String, (PrincipalId, usize)>,
    by_sealing_id: HashMap<String, (PrincipalId, usize)>,
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
            by_sealing_id: HashMap::new(),
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
        roster.check_witnesses()?;
        Ok(roster)
    }

    fn check_witnesses(&self) -> Result<(), RosterError> {
        let listed: Vec<(&Member, &RosterWitness)> = self
            .members()
            .filter_map(|m| m.witness.as_ref().map(|w| (m, w)))
            .collect();
        for (i, (m, w)) in listed.iter().enumerate() {
            if m.role != Role::Delegation {
                return Err(bad(m.id.as_str(), "only delegations run witnesses"));
            }
            if listed.iter().take(i).any(|(_, o)| o.key == w.key) {
                return Err(bad(m.id.as_str(), "its witness key is another delegation's"));
            }
            if let Some(url) = &w.url {
                crate::witness::http::authority(url).map_err(|e| bad(m.id.as_str(), format!("witness_url: {e}")))?;
            }
        }
        let (k, n) = (self.terms.witness_quorum as usize, listed.len());
        match (k, n) {
            (0, 0) => Ok(()),
            (_, 0) => Err(RosterError::Invalid(format!(
                "witness_quorum {k} needs witnesses, and no delegation lists a witness_key"
            ))),
            (k, n) if 2 * k > n && k <= n => Ok(()),
            (k, n) => Err(RosterError::Invalid(format!(
                "witness_quorum {k} must be a strict majority of the {n} listed witnesses ({} to {n}), \
                 or two disjoint sets of witnesses could each cosign a different history",
                n / 2 + 1
            ))),
        }
    }

    /// The federation's witness policy: each delegation's witness, named
    /// by its delegation code, in one group `delegations` of which
    /// `witness_quorum` must cosign. `None` when no witness is listed.
    pub fn witness_policy(&self) -> Option<Policy> {
        let witnesses: Vec<PolicyWitness> = self
            .delegations()
            .filter_map(|m| {
                m.witness.as_ref().map(|w| PolicyWitness {
                    name: m.id.to_string(),
                    key: w.key.clone(),
                    url: w.url.clone(),
                })
            })
            .collect();
        if witnesses.is_empty() {
            return None;
        }
        Policy::threshold("delegations", self.terms.witness_quorum as usize, witnesses).ok()
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
        if m.role == Role::Auditor && !m.sealing.is_empty() {
            return Err(bad(
                &id,
                "auditors read sealed alerts as ciphertext only, so they have no sealing keys",
            ));
        }
        for (i, k) in m.sealing.iter().enumerate() {
            if k.not_before >= k.not_after {
                return Err(bad(&id, "a sealing key's not_before is not before its not_after"));
            }
            if self.by_sealing_id.insert(k.key.key_id(), (m.id.clone(), i)).is_some() {
                return Err(bad(&id, "a sealing key is listed twice"));
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

    /// The owner of a sealing key and the key, by key id.
    pub fn sealing_key(&self, key_id: &str) -> Option<(&Member, &RosterSealingKey)> {
        let (id, i) = self.by_sealing_id.get(key_id)?;
        let m = self.members.get(id)?;
        Some((m, m.sealing.get(*i)?))
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
            sealing: vec![],
            witness: None,
        }
    }

    const TERMS: Terms = Terms {
        version: 1,
        quorum: 1,
        issued: 50,
        witness_quorum: 0,
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

    fn witnessed(id: &str, spki: u8, url: Option<&str>) -> Member {
        let key = crate::witness::Cosigner::generate(&format!("{}.example/witness", id.to_lowercase()))
            .expect("witness key")
            .0
            .verifier();
        Member {
            witness: Some(RosterWitness {
                key,
                url: url.map(str::to_owned),
            }),
            ..member(id, Role::Delegation, spki, vec![])
        }
    }

    #[test]
    fn witnesses_need_a_strict_majority_quorum_and_round_trip() {
        let three = || {
            vec![
                witnessed("CO", 1, Some("http://127.0.0.1:7000")),
                witnessed("PA", 2, None),
                witnessed("PE", 3, Some("http://[::1]:7001")),
                member("US", Role::Delegation, 4, vec![]),
            ]
        };
        let r = Roster::new(
            three(),
            Terms {
                witness_quorum: 2,
                ..TERMS
            },
        )
        .expect("2 of 3");
        assert_eq!(Roster::from_pb(&r.to_pb()).expect("pb"), r);
        let text = toml::to_string(&r.to_file()).expect("serialise");
        assert_eq!(Roster::from_toml(&text).expect("toml"), r);
        let policy = r.witness_policy().expect("a policy");
        assert_eq!(policy.describe(), "2 of 3 (delegations)");
        let names: Vec<&str> = policy.witnesses().iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["CO", "PA", "PE"]);
        assert!(Roster::new(three(), TERMS)
            .expect_err("0 with witnesses")
            .to_string()
            .contains("strict majority"));
        for k in [1, 4] {
            let e = Roster::new(
                three(),
                Terms {
                    witness_quorum: k,
                    ..TERMS
                },
            )
            .expect_err("not a majority");
            assert!(e.to_string().contains("(2 to 3)"), "{e}");
        }
        let e = Roster::new(
            vec![member("CO", Role::Delegation, 1, vec![])],
            Terms {
                witness_quorum: 1,
                ..TERMS
            },
        )
        .expect_err("quorum without witnesses");
        assert!(e.to_string().contains("no delegation lists a witness_key"), "{e}");
        let mut twice = three();
        twice[1].witness = twice[0].witness.clone().map(|w| RosterWitness { url: None, ..w });
        let e = Roster::new(
            twice,
            Terms {
                witness_quorum: 2,
                ..TERMS
            },
        )
        .expect_err("shared key");
        assert!(e.to_string().contains("another delegation's"), "{e}");
        let mut auditor = three();
        auditor[3] = Member {
            role: Role::Auditor,
            ..witnessed("AUDITOR", 4, None)
        };
        let e = Roster::new(
            auditor,
            Terms {
                witness_quorum: 2,
                ..TERMS
            },
        )
        .expect_err("auditor witness");
        assert!(e.to_string().contains("only delegations run witnesses"), "{e}");
        let mut bad_url = three();
        bad_url[1] = witnessed("PA", 2, Some("https://pa.example/"));
        let e = Roster::new(
            bad_url,
            Terms {
                witness_quorum: 2,
                ..TERMS
            },
        )
        .expect_err("bad url");
        assert!(e.to_string().contains("witness_url"), "{e}");
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
