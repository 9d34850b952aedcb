//! The hub's ingest rules, re-run on every stored submission with the roster
//! in force at its index and the stamp it records. Nothing here
//! re-implements a rule: the hub's own publish path ([`ingest::accept`])
//! decides, with the signature deferred to the batch, and the entry it builds must
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
use crate::ingest::{self, Caller, Deferred, Original, RecordedStamp};
use crate::ledger::entry::{self, Body};
use crate::pb;
use crate::roster::change as roster_change;
use crate::roster::{Roster, SpkiHash};

/// Name of a (publisher, alert id) pair: `SHA-256(publisher || 0x00 || id)`,
/// 32 bytes whatever the id's length, and collision-free for as long as
/// SHA-256 is (a truncated hash would let a birthday collision between two
/// of one delegation's own ids pass for a duplicate).
type AlertKey = [u8; 32];

fn alert_key(publisher: &str, id: &str) -> AlertKey {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(publisher.as_bytes());
    ctx.update(&[0]);
    ctx.update(id.as_bytes());
    let mut key = [0u8; 32];
    key.copy_from_slice(ctx.finish().as_ref());
    key
}

/// Reads an earlier entry of the export by index (for amendments, which
/// are checked against the alert they amend).
pub(crate) type Lookup<'a> = dyn FnMut(u64) -> Option<Vec<u8>> + 'a;

/// The state the rules need as the scan advances: the roster in force, the
/// latest acceptance time, and every alert recorded so far (with the index
/// that recorded it).
#[derive(Debug, Default)]
pub(crate) struct Rules {
    roster: Option<Roster>,
    /// The latest acceptance time recorded so far: none may be earlier.
    last_accepted: i64,
    seen: HashMap<AlertKey, u64>,
    genesis: Option<[u8; 32]>,
    /// Index of the latest roster entry checked.
    last_roster: Option<u64>,
    times: TimeBounds,
    /// Readers' sealing keys to open sealed alerts with.
    open_with: Vec<crate::seal::SealingPrivateKey>,
}

/// What the witnesses' cosignature times say about acceptance times.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeBounds {
    /// The export checkpoint's quorum time: no entry accepted after it
    /// (plus the skew).
    pub(crate) witnessed: Option<i64>,
    /// The trusted earlier checkpoint's size and the time from which a
    /// quorum cosigned it: no later entry accepted before it (minus skew).
    pub(crate) earlier: Option<(u64, i64)>,
    /// The clock skew allowed between hub and witnesses, in seconds.
    pub(crate) skew: i64,
}

impl Rules {
    /// Rules that also require the genesis roster to hash to `genesis`.
    pub(crate) fn pinned(genesis: Option<[u8; 32]>) -> Self {
        Rules {
            genesis,
            ..Rules::default()
        }
    }

    /// The same rules, also holding acceptance times to `times`.
    pub(crate) fn timed(self, times: TimeBounds) -> Self {
        Rules { times, ..self }
    }

    /// The same rules, also opening sealed alerts with `keys`.
    pub(crate) fn opening(self, keys: Vec<crate::seal::SealingPrivateKey>) -> Self {
        Rules {
            open_with: keys,
            ..self
        }
    }

    /// Opens a sealed alert with every key given that has a stanza in it,
    /// and checks the inner alert under `roster` at `accepted`.
    fn open_sealed(
        &self,
        sealed: &crate::seal::ValidSealed,
        env: &pb::Envelope,
        roster: &Roster,
        accepted: i64,
        counts: &mut Counts,
    ) -> Result<(), Reason> {
        counts.sealed += 1;
        for key in &self.open_with {
            let id = key.key_id();
            let Some(stanza) = sealed.sealed.stanzas.iter().find(|s| s.key_id == id) else {
                continue;
            };
            crate::seal::open(&env.payload, &stanza.recipient, std::slice::from_ref(key))
                .and_then(|opened| opened.check(roster, accepted))
                .map_err(|e| Reason::Sealed {
                    reader: stanza.recipient.clone(),
                    why: e.to_string(),
                })?;
            counts.sealed_opened += 1;
        }
        Ok(())
    }

    fn check_times(&self, index: u64, accepted: i64) -> Result<(), Reason> {
        let skew = self.times.skew;
        if let Some(witnessed) = self.times.witnessed {
            if accepted > witnessed.saturating_add(skew) {
                return Err(Reason::AfterWitnessed {
                    accepted,
                    witnessed,
                    skew,
                });
            }
        }
        match self.times.earlier {
            Some((old_size, witnessed)) if index >= old_size && accepted < witnessed.saturating_sub(skew) => {
                Err(Reason::BeforeWitnessed {
                    accepted,
                    witnessed,
                    old_size,
                    skew,
                })
            }
            _ => Ok(()),
        }
    }

    /// The checkpoint's `roster` line must name the latest roster entry of
    /// the entries checked (checkpoints written before the line: nothing
    /// to check).
    pub(crate) fn check_roster_line(&self, cp: &crate::ledger::checkpoint::Checkpoint) -> Result<(), Reason> {
        match cp.roster_index() {
            None => Ok(()),
            Some(Ok(r)) if Some(r) == self.last_roster => Ok(()),
            Some(claimed) => Err(Reason::RosterLine {
                claimed: claimed.ok(),
                actual: self.last_roster,
            }),
        }
    }

    /// Checks entry `index` (its exact stored bytes); returns the signature
    /// still to verify, if it is a submission.
    pub(crate) fn check(
        &mut self,
        index: u64,
        bytes: &[u8],
        counts: &mut Counts,
        lookup: &mut Lookup<'_>,
    ) -> Result<Option<Pending>, Reason> {
        let decoded = entry::decode(bytes).map_err(Reason::Decode)?;
        if let Some(at) = entry::accepted(&decoded) {
            if at < self.last_accepted {
                return Err(Reason::TimeWentBack {
                    accepted: at,
                    previous: self.last_accepted,
                });
            }
            self.last_accepted = at;
            self.check_times(index, at)?;
        }
        match entry::body(&decoded) {
            Body::Roster { envelope, accepted } => self.roster(index, envelope, accepted, counts).map(|()| None),
            _ if index == 0 => Err(Reason::NoGenesis),
            Body::Submission(s) => self.submission(index, s, bytes, counts, lookup).map(Some),
            Body::Empty => Err(Reason::EmptyEntry),
        }
    }

    fn roster(
        &mut self,
        index: u64,
        env: &pb::Envelope,
        accepted: Option<i64>,
        counts: &mut Counts,
    ) -> Result<(), Reason> {
        let opened =
            roster_change::open(env, self.roster.as_ref(), accepted, Rule::Cofactored).map_err(Reason::Roster)?;
        if index == 0 {
            let got = roster_change::genesis_hash(env);
            if self.genesis.is_some_and(|pin| pin != got) {
                return Err(Reason::GenesisNotPinned(hex::encode(got)));
            }
            counts.genesis_roster_sha256 = Some(hex::encode(got));
        }
        self.roster = Some(opened.roster);
        self.last_roster = Some(index);
        counts.roster_entries += 1;
        Ok(())
    }

    fn submission(
        &mut self,
        index: u64,
        s: &pb::Submission,
        bytes: &[u8],
        counts: &mut Counts,
        lookup: &mut Lookup<'_>,
    ) -> Result<Pending, Reason> {
        let roster = self.roster.as_ref().ok_or(Reason::NoGenesis)?;
        let env = s.envelope.as_ref().ok_or(Reason::NoEnvelope)?;
        let stamp = RecordedStamp::of(s).ok_or(Reason::NoAcceptanceTime)?;
        let issued = roster.terms().issued;
        if stamp.now < issued {
            return Err(Reason::BeforeRoster {
                accepted: stamp.now,
                issued,
            });
        }
        let member = roster
            .member(&s.principal)
            .ok_or_else(|| Reason::UnknownPrincipal(s.principal.chars().take(100).collect()))?;
        let spki = bound_spki(s, &member.tls_spki)?;
        let publisher = member.id.as_str();
        let seen = &self.seen;
        let caller = Caller { member, spki: &spki };
        let original = |id: &str| {
            let at = *seen.get(&alert_key(publisher, id))?;
            Original::of_entry(&lookup(at)?)
        };
        let deferred = Deferred::default();
        let accepted = ingest::accept_now(env, caller, roster, &stamp, original, &deferred).map_err(Reason::Refused)?;
        // accept_now only succeeds after asking `deferred`, which kept the signature.
        let (key, msg, sig) = deferred.take().ok_or(Reason::NoEnvelope)?;
        if accepted.entry.bytes != bytes {
            return Err(Reason::NotReproduced);
        }
        if let ingest::Content::Sealed(sealed) = &accepted.content {
            self.open_sealed(sealed, env, roster, stamp.now, counts)?;
        }
        let id = accepted.content.id().as_str();
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
        Ok(Pending { key, sig, msg })
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

    fn check(rules: &mut Rules, index: u64, bytes: &[u8]) -> Result<Option<Pending>, Reason> {
        rules.check(index, bytes, &mut Counts::default(), &mut |_| None)
    }

    #[test]
    fn entry_zero_must_be_a_roster() {
        let mut rules = Rules::default();
        let sub = NewEntry::raw(
            pb::Entry {
                body: Some(pb::entry::Body::Submission(pb::Submission::default())),
            }
            .encode_to_vec(),
            entry::EntryKey::Roster,
        );
        assert!(matches!(check(&mut rules, 0, &sub.bytes), Err(Reason::NoGenesis)));
        let empty = pb::Entry { body: None }.encode_to_vec();
        assert!(matches!(check(&mut rules, 0, &empty), Err(Reason::NoGenesis)));
        assert!(matches!(check(&mut rules, 0, b"\xff"), Err(Reason::Decode(_))));
    }

    #[test]
    fn invalid_roster_entry_is_refused() {
        let env = pb::Envelope {
            payload: pb::Roster::default().encode_to_vec(),
            payload_type: pb::ROSTER_PAYLOAD_TYPE.into(),
            signatures: vec![],
        };
        let bad = NewEntry::roster(env, 5, 10);
        let err = check(&mut Rules::default(), 0, &bad.bytes).unwrap_err();
        assert!(matches!(err, Reason::Roster(_)));
    }

    #[test]
    fn acceptance_times_may_not_go_back() {
        let mut rules = Rules::default();
        let at = |t: i64| {
            let s = pb::Submission {
                accepted: Some(crate::time::unix_to_pb(t)),
                ..Default::default()
            };
            NewEntry::submission(s, "x", i64::MAX).bytes
        };
        let _ = check(&mut rules, 1, &at(100));
        let err = check(&mut rules, 2, &at(99)).unwrap_err();
        assert!(
            matches!(
                err,
                Reason::TimeWentBack {
                    accepted: 99,
                    previous: 100
                }
            ),
            "{err}"
        );
    }
}
