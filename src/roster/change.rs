//! Approved rosters: the federation, not the hub operator, decides who is in
//! it and which keys sign for whom.
//!
//! A roster is stored as a DSSE envelope whose payload is the encoded
//! [`pb::Roster`] and whose signatures are approvals: each by a signing key
//! of a delegation, over `PAE(ROSTER_PAYLOAD_TYPE, payload)`. The payload
//! type differs from an alert's, so an approval can never pass for an alert
//! signature or the other way round. [`open`] accepts a roster when
//!
//! - its version is exactly one more than the roster in force (1 for the
//!   genesis roster) and it was issued later, so an old roster (one that
//!   still lists a revoked key, say) cannot be replayed;
//! - at least `quorum` distinct delegations of the roster in force (of the
//!   roster itself, for the genesis) approved it, each with a key valid at
//!   the new roster's `issued` time; every approval present must verify.
//!
//! The hub applies the rule before appending a roster and `isthmus-audit`
//! applies it again to every roster entry, so a hub operator holding the log
//! key still cannot slip in a key for a delegation. The genesis roster can
//! only approve itself: auditors pin its hash (`isthmus-audit --genesis`).
//!
//! Operators collect approvals as lines of text, one per approving
//! delegation, written by `isthmus roster-approve`:
//! `CO <keyid> <base64 signature>`.

use crate::crypto::{Rule, Signature, SigningKey};
use crate::envelope::pae;
use crate::pb;
use crate::roster::{Role, Roster, RosterError};
use base64::Engine as _;
use prost::Message;
use std::collections::BTreeSet;

/// Why a roster was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChangeError {
    /// The envelope is not a roster envelope.
    #[error("payload_type {0:?} is not {ty:?}", ty = pb::ROSTER_PAYLOAD_TYPE)]
    PayloadType(String),
    /// The payload is not a roster.
    #[error("payload is not an encoded isthmus.v1.Roster: {0}")]
    Decode(String),
    /// The roster itself is inconsistent.
    #[error(transparent)]
    Roster(#[from] RosterError),
    /// Versions must count up by one.
    #[error("roster version {got} cannot follow version {previous}; the next version is {}", previous + 1)]
    Version {
        /// The version in force (0 before the genesis roster).
        previous: u64,
        /// The version offered.
        got: u64,
    },
    /// A change must be issued after the roster it replaces.
    #[error("roster issued at {issued} is not later than the roster in force (issued {previous})")]
    NotLater {
        /// Issue time in force, Unix seconds.
        previous: i64,
        /// Issue time offered.
        issued: i64,
    },
    /// The roster claims to be issued after the time it is accepted.
    #[error(
        "roster issued at {issued} is later than the time it is accepted ({accepted}); a roster takes effect \
         only once issued: fix the issuing clock or wait until then"
    )]
    IssuedLater {
        /// Issue time, Unix seconds.
        issued: i64,
        /// Acceptance time.
        accepted: i64,
    },
    /// The roster was issued too long before it is accepted.
    #[error(
        "roster issued at {issued} is more than 30 days before the time it is accepted ({accepted}); \
         draw up and approve a new roster"
    )]
    TooOld {
        /// Issue time, Unix seconds.
        issued: i64,
        /// Acceptance time.
        accepted: i64,
    },
    /// An approval does not come from a delegation signing key of the
    /// approving roster, valid at the issue time.
    #[error("approval {index} (key id {key_id}): {reason}")]
    Approval {
        /// Position among the envelope's signatures.
        index: usize,
        /// Its key id, truncated.
        key_id: String,
        /// What is wrong.
        reason: String,
    },
    /// Too few distinct delegations approved.
    #[error(
        "roster version {version} has approvals from {got} delegation(s) ({approvers}); \
         it needs {needed} delegations of the roster in force to approve it"
    )]
    Quorum {
        /// The version offered.
        version: u64,
        /// Approvals needed.
        needed: u32,
        /// Distinct delegations that approved.
        got: usize,
        /// Who they are.
        approvers: String,
    },
    /// An approvals file line is malformed.
    #[error("approvals line {line}: {reason}")]
    File {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// The bytes approvers sign: the encoded roster.
pub fn payload(roster: &Roster) -> Vec<u8> {
    roster.to_pb().encode_to_vec()
}

/// One delegation's approval of `roster`.
pub fn approve(roster: &Roster, key: &SigningKey) -> pb::Signature {
    let sig = key.sign(&pae(pb::ROSTER_PAYLOAD_TYPE, &payload(roster)));
    pb::Signature {
        sig: sig.to_bytes().to_vec(),
        keyid: key.public_key().key_id(),
    }
}

/// The envelope the ledger stores for `roster` with its approvals.
pub fn seal(roster: &Roster, approvals: Vec<pb::Signature>) -> pb::Envelope {
    pb::Envelope {
        payload: payload(roster),
        payload_type: pb::ROSTER_PAYLOAD_TYPE.into(),
        signatures: approvals,
    }
}

/// Longest time between a roster's `issued` and its acceptance by the hub:
/// long enough to collect approvals from delegations in twenty capitals,
/// short enough that an approved roster cannot be held back for months and
/// slipped in after the situation it was approved for has changed.
pub const MAX_ROSTER_AGE_SECS: i64 = 30 * 24 * 3600;

/// An accepted roster, and until when its approvals hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The roster.
    pub roster: Roster,
    /// The first second at which one of the approving keys counted is no
    /// longer valid: the roster cannot be stamped as accepted from then on.
    pub valid_until: i64,
}

/// The roster in `env`, if the rule above accepts it after `in_force`
/// (`None` for the genesis roster), with approvals checked under `rule`: the
/// hub applies [`Rule::Strict`] before appending a roster, the audit
/// [`Rule::Cofactored`] (a superset, see [`crate::crypto`]).
///
/// `accepted` is when the hub accepts it (the hub's clock) or accepted it
/// (as recorded; `None` for rosters written before acceptance times were
/// recorded). Then the roster must have been issued no later than that and
/// at most [`MAX_ROSTER_AGE_SECS`] before, and every approving key must be
/// valid at that time as well as at the issue time: keys that expired
/// cannot approve a roster back-dated to when they were valid.
pub fn open(
    env: &pb::Envelope,
    in_force: Option<&Roster>,
    accepted: Option<i64>,
    rule: Rule,
) -> Result<Opened, ChangeError> {
    let roster = roster_of(env)?;
    let terms = roster.terms();
    let previous = in_force.map_or(0, |r| r.terms().version);
    if terms.version != previous + 1 {
        return Err(ChangeError::Version {
            previous,
            got: terms.version,
        });
    }
    if let Some(prev) = in_force {
        if terms.issued <= prev.terms().issued {
            return Err(ChangeError::NotLater {
                previous: prev.terms().issued,
                issued: terms.issued,
            });
        }
    }
    if let Some(at) = accepted {
        check_age(terms.issued, at)?;
    }
    let authority = in_force.unwrap_or(&roster);
    let message = pae(pb::ROSTER_PAYLOAD_TYPE, &env.payload);
    let mut approvers = BTreeSet::new();
    let mut valid_until = i64::MAX;
    for (index, s) in env.signatures.iter().enumerate() {
        let fail = |reason: &str| ChangeError::Approval {
            index,
            key_id: s.keyid.chars().take(16).collect(),
            reason: reason.to_owned(),
        };
        let (owner, key) = authority
            .key(&s.keyid)
            .ok_or_else(|| fail("not a signing key of the approving roster"))?;
        if owner.role != Role::Delegation {
            return Err(fail("only delegations approve rosters"));
        }
        if !key.valid_at(terms.issued) {
            return Err(fail("the key is not valid at the roster's issued time"));
        }
        if accepted.is_some_and(|at| !key.valid_at(at)) {
            return Err(fail("the key is not valid at the time the roster is accepted"));
        }
        let sig = Signature::from_slice(&s.sig).map_err(|_| fail("signature is not 64 bytes"))?;
        if let Err(e) = key.key.verify(&message, &sig, rule) {
            return Err(fail(&format!("signature does not verify: {e}")));
        }
        approvers.insert(owner.id.to_string());
        valid_until = valid_until.min(key.not_after);
    }
    let needed = authority.terms().quorum;
    if approvers.len() < needed as usize {
        return Err(ChangeError::Quorum {
            version: terms.version,
            needed,
            got: approvers.len(),
            approvers: approvers.into_iter().collect::<Vec<_>>().join(", "),
        });
    }
    Ok(Opened { roster, valid_until })
}

/// A roster accepted at `at` must have been issued by then, and not more
/// than [`MAX_ROSTER_AGE_SECS`] before.
fn check_age(issued: i64, at: i64) -> Result<(), ChangeError> {
    if issued > at {
        return Err(ChangeError::IssuedLater { issued, accepted: at });
    }
    if at - issued > MAX_ROSTER_AGE_SECS {
        return Err(ChangeError::TooOld { issued, accepted: at });
    }
    Ok(())
}

/// The roster in a stored roster envelope, without checking approvals
/// (they were checked before it was stored; the audit checks them again).
pub fn roster_of(env: &pb::Envelope) -> Result<Roster, ChangeError> {
    if env.payload_type != pb::ROSTER_PAYLOAD_TYPE {
        return Err(ChangeError::PayloadType(env.payload_type.chars().take(100).collect()));
    }
    let p = pb::Roster::decode(env.payload.as_slice()).map_err(|e| ChangeError::Decode(e.to_string()))?;
    Ok(Roster::from_pb(&p)?)
}

/// The SHA-256 that pins a genesis roster: of its encoded payload.
pub fn genesis_hash(env: &pb::Envelope) -> [u8; 32] {
    crate::hash::sha256(&env.payload)
}

/// Parses a `--genesis` value: 64 hex digits.
pub fn parse_genesis_pin(s: &str) -> Result<[u8; 32], String> {
    let bytes = hex::decode(s).map_err(|_| "not hex".to_owned())?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| "a SHA-256 is 64 hex digits".to_owned())
}

/// One approvals-file line for `approval` by delegation `id`.
pub fn to_line(id: &str, approval: &pb::Signature) -> String {
    let sig = base64::engine::general_purpose::STANDARD.encode(&approval.sig);
    format!("{id} {} {sig}", approval.keyid)
}

/// Parses an approvals file: one `ID KEYID BASE64SIG` per line; blank lines
/// and lines starting with `#` are skipped. The id is for people; [`open`]
/// finds the owner by key id.
pub fn parse_lines(text: &str) -> Result<Vec<pb::Signature>, ChangeError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fail = |reason: &str| ChangeError::File {
            line: n + 1,
            reason: reason.to_owned(),
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_id, keyid, sig] = fields[..] else {
            return Err(fail("expected three fields: ID KEYID BASE64SIGNATURE"));
        };
        let sig = base64::engine::general_purpose::STANDARD
            .decode(sig)
            .map_err(|_| fail("the signature is not standard base64"))?;
        out.push(pb::Signature {
            sig,
            keyid: keyid.to_owned(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::PrincipalId;
    use crate::roster::{Member, RosterKey, Terms};

    struct Fed {
        keys: Vec<(&'static str, SigningKey)>,
    }

    impl Fed {
        fn new() -> Self {
            Fed {
                keys: ["CO", "PA", "US"]
                    .iter()
                    .map(|id| (*id, SigningKey::generate()))
                    .collect(),
            }
        }

        fn key(&self, id: &str) -> &SigningKey {
            &self.keys.iter().find(|(i, _)| *i == id).expect("member").1
        }

        fn roster(&self, version: u64, issued: i64, extra: Option<&SigningKey>) -> Roster {
            let mut members: Vec<Member> = self
                .keys
                .iter()
                .enumerate()
                .map(|(n, (id, k))| Member {
                    id: PrincipalId::parse(id).expect("id"),
                    name: id.to_string(),
                    role: Role::Delegation,
                    tls_spki: vec![[n as u8; 32]],
                    keys: vec![RosterKey {
                        key: k.public_key(),
                        not_before: 0,
                        not_after: 1_000,
                    }],
                    sealing: vec![],
                    witness: None,
                })
                .collect();
            if let Some(k) = extra {
                members[0].keys.push(RosterKey {
                    key: k.public_key(),
                    not_before: 0,
                    not_after: 1_000,
                });
            }
            let terms = Terms {
                version,
                quorum: 2,
                issued,
                witness_quorum: 0,
            };
            Roster::new(members, terms).expect("roster")
        }

        fn sealed(&self, r: &Roster, by: &[&str]) -> pb::Envelope {
            seal(r, by.iter().map(|id| approve(r, self.key(id))).collect())
        }
    }

    #[test]
    fn genesis_needs_its_own_quorum() {
        let f = Fed::new();
        let g = f.roster(1, 100, None);
        let opened = open(&f.sealed(&g, &["CO", "US"]), None, None, Rule::Strict).expect("2 of 3");
        assert_eq!((&opened.roster, opened.valid_until), (&g, 1_000));
        let e = open(&f.sealed(&g, &["CO"]), None, None, Rule::Strict).expect_err("1 of 3");
        assert!(matches!(e, ChangeError::Quorum { needed: 2, got: 1, .. }), "{e}");
        let e = open(&f.sealed(&g, &["PA", "PA"]), None, None, Rule::Strict).expect_err("one delegation twice");
        assert!(matches!(e, ChangeError::Quorum { got: 1, .. }), "{e}");
    }

    #[test]
    fn changes_need_the_previous_rosters_quorum_and_the_next_version() {
        let f = Fed::new();
        let g = f.roster(1, 100, None);
        let forged = SigningKey::generate();
        let next = f.roster(2, 200, Some(&forged));
        assert!(open(&f.sealed(&next, &["PA", "US"]), Some(&g), None, Rule::Strict).is_ok());

        // The key being added cannot vouch for itself.
        let self_vouched = seal(&next, vec![approve(&next, &forged), approve(&next, f.key("PA"))]);
        let e = open(&self_vouched, Some(&g), None, Rule::Strict).expect_err("new key approving");
        assert!(
            e.to_string().contains("not a signing key of the approving roster"),
            "{e}"
        );

        // No replay of an old roster, no skipping, no going back in time.
        let e = open(&f.sealed(&g, &["PA", "US"]), Some(&next), None, Rule::Strict).expect_err("replay");
        assert!(matches!(e, ChangeError::Version { previous: 2, got: 1 }), "{e}");
        let skip = f.roster(3, 200, None);
        assert!(matches!(
            open(&f.sealed(&skip, &["PA", "US"]), Some(&g), None, Rule::Strict),
            Err(ChangeError::Version { .. })
        ));
        let early = f.roster(2, 100, None);
        assert!(matches!(
            open(&f.sealed(&early, &["PA", "US"]), Some(&g), None, Rule::Strict),
            Err(ChangeError::NotLater { .. })
        ));
    }

    #[test]
    fn every_approval_present_must_verify_with_a_key_valid_at_issue() {
        let f = Fed::new();
        let g = f.roster(1, 100, None);
        let mut tampered = f.sealed(&f.roster(2, 200, None), &["PA", "US"]);
        let mut changed = f.roster(2, 200, Some(&SigningKey::generate()));
        tampered.payload = payload(&changed);
        let e = open(&tampered, Some(&g), None, Rule::Strict).expect_err("payload changed after approval");
        assert!(e.to_string().contains("signature does not verify"), "{e}");

        changed = f.roster(2, 5_000, None);
        let e =
            open(&f.sealed(&changed, &["PA", "US"]), Some(&g), None, Rule::Strict).expect_err("keys expired at issue");
        assert!(e.to_string().contains("not valid at the roster's issued time"), "{e}");

        let mut as_alert = f.sealed(&f.roster(2, 200, None), &["PA", "US"]);
        as_alert.payload_type = pb::ALERT_PAYLOAD_TYPE.into();
        assert!(matches!(
            open(&as_alert, Some(&g), None, Rule::Strict),
            Err(ChangeError::PayloadType(_))
        ));
    }

    /// The back-dating attack: keys that expired cannot approve a roster
    /// issued back when they were valid, because they must also be valid at
    /// the time the roster is accepted; and a roster cannot be issued after
    /// its acceptance or long before it.
    #[test]
    fn approving_keys_must_be_valid_when_the_roster_is_accepted() {
        let f = Fed::new();
        let g = f.roster(1, 100, None);
        let next = f.sealed(&f.roster(2, 900, None), &["PA", "US"]);
        assert!(
            open(&next, Some(&g), Some(950), Rule::Strict).is_ok(),
            "keys valid until 1,000"
        );
        let e = open(&next, Some(&g), Some(1_200), Rule::Strict).expect_err("keys expired at 1,000");
        assert!(
            e.to_string().contains("not valid at the time the roster is accepted"),
            "{e}"
        );
        assert!(
            open(&next, Some(&g), None, Rule::Strict).is_ok(),
            "legacy entries: issue time only"
        );
        let e = open(&next, Some(&g), Some(899), Rule::Strict).expect_err("issued after acceptance");
        assert!(
            matches!(
                e,
                ChangeError::IssuedLater {
                    issued: 900,
                    accepted: 899
                }
            ),
            "{e}"
        );
        let e = open(&next, Some(&g), Some(900 + MAX_ROSTER_AGE_SECS + 1), Rule::Strict).expect_err("too old");
        assert!(matches!(e, ChangeError::TooOld { .. }), "{e}");
    }

    #[test]
    fn approval_lines_round_trip_and_bad_lines_are_named() {
        let f = Fed::new();
        let r = f.roster(1, 100, None);
        let a = approve(&r, f.key("CO"));
        let text = format!("# comment\n\n{}\n", to_line("CO", &a));
        assert_eq!(parse_lines(&text).expect("parse"), vec![a]);
        let e = parse_lines("# ok\nCO only-two").expect_err("two fields");
        assert!(matches!(e, ChangeError::File { line: 2, .. }), "{e}");
        assert!(parse_lines("CO abc !!!").is_err());
    }
}
