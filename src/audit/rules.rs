//! The hub's ingest rules, re-run on every stored submission with the roster
//! in force at its index and the acceptance time it records. Nothing here
//! re-implements a rule: [`ingest::check_authorship`] and
//! [`ingest::check_content`] decide, and the entry ingest would build must
//! equal the stored bytes, which proves the recorded principal, TLS key,
//! time, recipients (`ALL` expanded) and encoding. What ingest cannot see
//! from one envelope is added here: the TLS key is bound to the principal,
//! and no (publisher, alert id) is recorded twice. Signatures are returned
//! for batched verification ([`super::signatures`]).

use std::collections::hash_map::{Entry as Slot, HashMap};

use ring::digest;

use super::error::Reason;
use super::report::Counts;
use super::signatures::Pending;
use crate::crypto::Rule;
use crate::envelope;
use crate::ingest::{self, Caller};
use crate::ledger::entry;
use crate::pb;
use crate::roster::{Roster, SpkiHash};
use crate::roster_change;

/// Compact name of a (publisher, alert id) pair: the first 16 bytes of
/// `SHA-256(publisher || 0x00 || id)`, so millions of ids fit in tens of MiB.
type AlertKey = [u8; 16];

fn alert_key(publisher: &str, id: &str) -> AlertKey {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(publisher.as_bytes());
    ctx.update(&[0]);
    ctx.update(id.as_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&ctx.finish().as_ref()[..16]);
    key
}

/// The state the rules need as the scan advances: the roster in force and
/// every alert recorded so far (with the index that recorded it).
#[derive(Debug, Default)]
pub(crate) struct Rules {
    roster: Option<Roster>,
    seen: HashMap<AlertKey, u64>,
    genesis: Option<[u8; 32]>,
}

impl Rules {
    /// Rules that also require the genesis roster to hash to `genesis`.
    pub fn pinned(genesis: Option<[u8; 32]>) -> Self {
        Rules {
            genesis,
            ..Rules::default()
        }
    }

    /// Checks entry `index` (its exact stored bytes); returns the signature
    /// still to verify, if it is a submission.
    pub fn check(&mut self, index: u64, bytes: &[u8], counts: &mut Counts) -> Result<Option<Pending>, Reason> {
        let decoded = entry::decode(bytes).map_err(Reason::Decode)?;
        match decoded.body {
            Some(pb::entry::Body::Roster(env)) => {
                let roster =
                    roster_change::open(&env, self.roster.as_ref(), Rule::Cofactored).map_err(Reason::Roster)?;
                if index == 0 {
                    let got = roster_change::genesis_hash(&env);
                    if self.genesis.is_some_and(|pin| pin != got) {
                        return Err(Reason::GenesisNotPinned(hex::encode(got)));
                    }
                    counts.genesis_roster_sha256 = Some(hex::encode(got));
                }
                self.roster = Some(roster);
                counts.roster_entries += 1;
                Ok(None)
            }
            _ if index == 0 => Err(Reason::NoGenesis),
            Some(pb::entry::Body::Submission(s)) => self.submission(index, &s, bytes, counts).map(Some),
            None => Err(Reason::EmptyEntry),
        }
    }

    fn submission(
        &mut self,
        index: u64,
        s: &pb::Submission,
        bytes: &[u8],
        counts: &mut Counts,
    ) -> Result<Pending, Reason> {
        let roster = self.roster.as_ref().ok_or(Reason::NoGenesis)?;
        let env = s.envelope.as_ref().ok_or(Reason::NoEnvelope)?;
        let now = s.accepted.as_ref().ok_or(Reason::NoAcceptanceTime)?.seconds;
        let member = roster
            .member(&s.principal)
            .ok_or_else(|| Reason::UnknownPrincipal(s.principal.chars().take(100).collect()))?;
        let spki = bound_spki(s, &member.tls_spki)?;
        let signed = ingest::check_authorship(env, member, roster, now).map_err(Reason::Refused)?;
        let publisher = member.id.as_str();
        let seen = &self.seen;
        let caller = Caller { member, spki: &spki };
        let exists = |id: &str| seen.contains_key(&alert_key(publisher, id));
        let accepted = ingest::check_content(env, caller, roster, now, exists).map_err(Reason::Refused)?;
        if accepted.entry.bytes != bytes {
            return Err(Reason::NotReproduced);
        }
        let id = accepted.alert.id.as_str();
        match self.seen.entry(alert_key(publisher, id)) {
            Slot::Occupied(first) => {
                return Err(Reason::Duplicate {
                    publisher: publisher.to_owned(),
                    id: id.to_owned(),
                    first: *first.get(),
                })
            }
            Slot::Vacant(slot) => slot.insert(index),
        };
        counts.alert(publisher);
        Ok(Pending {
            key: signed.key,
            sig: signed.sig,
            msg: envelope::pae(&env.payload_type, &env.payload),
        })
    }
}

/// The recorded TLS key, if it is one of the principal's roster bindings.
fn bound_spki(s: &pb::Submission, bound: &[SpkiHash]) -> Result<SpkiHash, Reason> {
    SpkiHash::try_from(s.tls_spki_sha256.as_slice())
        .ok()
        .filter(|spki| bound.contains(spki))
        .ok_or_else(|| Reason::TransportMismatch {
            principal: s.principal.clone(),
            spki: hex::encode(&s.tls_spki_sha256),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::entry::NewEntry;
    use prost::Message;

    #[test]
    fn alert_keys_separate_publisher_and_id() {
        assert_ne!(alert_key("CO", "a"), alert_key("C", "Oa"));
        assert_eq!(alert_key("CO", "a"), alert_key("CO", "a"));
    }

    #[test]
    fn entry_zero_must_be_a_roster() {
        let mut rules = Rules::default();
        let sub = NewEntry::submission(pb::Submission::default(), "x");
        let err = rules.check(0, &sub.bytes, &mut Counts::default()).unwrap_err();
        assert!(matches!(err, Reason::NoGenesis));
        let empty = pb::Entry { body: None }.encode_to_vec();
        assert!(matches!(
            rules.check(0, &empty, &mut Counts::default()),
            Err(Reason::NoGenesis)
        ));
        assert!(matches!(
            rules.check(0, b"\xff", &mut Counts::default()),
            Err(Reason::Decode(_))
        ));
    }

    #[test]
    fn invalid_roster_entry_is_refused() {
        let bad = NewEntry::roster(pb::Envelope {
            payload: pb::Roster::default().encode_to_vec(),
            payload_type: pb::ROSTER_PAYLOAD_TYPE.into(),
            signatures: vec![],
        });
        let err = Rules::default()
            .check(0, &bad.bytes, &mut Counts::default())
            .unwrap_err();
        assert!(matches!(err, Reason::Roster(_)));
    }
}
