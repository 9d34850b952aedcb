//! Ledger entry encoding. An entry's bytes are produced once, when the hub
//! accepts it, and from then on only ever copied: they are the RFC 9162 leaf
//! input, so re-encoding them would change the tree.

use crate::pb;
use prost::Message;
use std::borrow::Cow;

/// Largest encoded entry: C2SP tlog-tiles entry bundles prefix each entry
/// with a big-endian uint16 length.
pub const MAX_ENTRY_BYTES: usize = 65_535;

/// What kind of thing an entry is, for the writer's secondary indexes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKey {
    /// A roster entry.
    Roster,
    /// An alert, keyed for idempotency by (publisher, alert id).
    Alert {
        /// The publisher's delegation code.
        publisher: String,
        /// The publisher-chosen id.
        id: String,
    },
}

/// An encoded entry ready to append, with what the writer needs to keep
/// acceptance times in order.
///
/// Entries are checked concurrently and reach the writer in any order, so
/// an entry checked at second `t` may be committed after one checked at
/// `t + 1`. The writer keeps acceptance times non-decreasing along the
/// ledger by re-stamping such an entry with the later time
/// ([`NewEntry::at_floor`]), which is allowed only while the time stays
/// inside the window its checks hold for (the signing key's validity).
#[derive(Clone, Debug)]
pub struct NewEntry {
    /// The bytes to store and hash, stamped as proposed.
    pub bytes: Vec<u8>,
    /// Its index keys.
    pub key: EntryKey,
    time: Option<Stamp>,
}

/// The decoded form of a timed entry, to re-stamp it.
#[derive(Clone, Debug)]
struct Stamp {
    entry: pb::Entry,
    accepted: i64,
    /// First second at which the entry's checks no longer hold.
    until: i64,
}

/// The entry can no longer be stamped with a time its checks hold for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the signing key's validity ended at {until} before the entry could be stamped with {floor}")]
pub struct TooLate {
    /// The time the entry would need.
    pub floor: i64,
    /// When its checks stop holding.
    pub until: i64,
}

impl NewEntry {
    /// A roster entry: the approved roster envelope, accepted at `accepted`
    /// (Unix seconds); its approvals hold until `until`.
    pub fn roster(roster: pb::Envelope, accepted: i64, until: i64) -> Self {
        let entry = pb::Entry {
            body: Some(pb::entry::Body::RosterEntry(pb::RosterEntry {
                roster: Some(roster),
                accepted: Some(crate::time::unix_to_pb(accepted)),
            })),
        };
        Self::timed(entry, EntryKey::Roster, accepted, until)
    }

    /// An accepted submission of alert `id`; its checks hold until `until`.
    pub fn submission(s: pb::Submission, id: &str, until: i64) -> Self {
        let key = EntryKey::Alert {
            publisher: s.principal.clone(),
            id: id.to_owned(),
        };
        let accepted = s.accepted.as_ref().map_or(0, |t| t.seconds);
        let entry = pb::Entry {
            body: Some(pb::entry::Body::Submission(s)),
        };
        Self::timed(entry, key, accepted, until)
    }

    /// Bytes appended as they are, never re-stamped (tests and tools).
    pub fn raw(bytes: Vec<u8>, key: EntryKey) -> Self {
        NewEntry { bytes, key, time: None }
    }

    fn timed(entry: pb::Entry, key: EntryKey, accepted: i64, until: i64) -> Self {
        NewEntry {
            bytes: entry.encode_to_vec(),
            key,
            time: Some(Stamp { entry, accepted, until }),
        }
    }

    /// The acceptance time it is stamped with, if it carries one.
    pub fn accepted(&self) -> Option<i64> {
        self.time.as_ref().map(|t| t.accepted)
    }

    /// The bytes to store after an entry accepted at `floor`: as proposed
    /// when they are not earlier, re-stamped with `floor` while the checks
    /// still hold then.
    pub fn at_floor(&self, floor: i64) -> Result<(Cow<'_, [u8]>, Option<i64>), TooLate> {
        let Some(t) = &self.time else {
            return Ok((Cow::Borrowed(&self.bytes), None));
        };
        if t.accepted >= floor {
            return Ok((Cow::Borrowed(&self.bytes), Some(t.accepted)));
        }
        if floor >= t.until {
            return Err(TooLate { floor, until: t.until });
        }
        let mut entry = t.entry.clone();
        let at = Some(crate::time::unix_to_pb(floor));
        match &mut entry.body {
            Some(pb::entry::Body::Submission(s)) => s.accepted = at,
            Some(pb::entry::Body::RosterEntry(r)) => r.accepted = at,
            _ => {}
        }
        Ok((Cow::Owned(entry.encode_to_vec()), Some(floor)))
    }
}

/// What a stored entry is.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// A roster, with the time the hub accepted it (`None` for rosters
    /// written before acceptance times were recorded).
    Roster {
        /// The approved roster envelope.
        envelope: &'a pb::Envelope,
        /// Acceptance time, Unix seconds.
        accepted: Option<i64>,
    },
    /// An accepted alert.
    Submission(&'a pb::Submission),
    /// Neither (malformed).
    Empty,
}

/// The body of a decoded entry, whichever form it was written in.
pub fn body(e: &pb::Entry) -> Body<'_> {
    match &e.body {
        Some(pb::entry::Body::Submission(s)) => Body::Submission(s),
        Some(pb::entry::Body::Roster(env)) => Body::Roster {
            envelope: env,
            accepted: None,
        },
        Some(pb::entry::Body::RosterEntry(pb::RosterEntry {
            roster: Some(env),
            accepted,
        })) => Body::Roster {
            envelope: env,
            accepted: Some(accepted.as_ref().map_or(0, |t| t.seconds)),
        },
        Some(pb::entry::Body::RosterEntry(_)) | None => Body::Empty,
    }
}

/// The time the hub accepted a stored entry, if it records one.
pub fn accepted(e: &pb::Entry) -> Option<i64> {
    match body(e) {
        Body::Roster { accepted, .. } => accepted,
        Body::Submission(s) => s.accepted.as_ref().map(|t| t.seconds),
        Body::Empty => None,
    }
}

/// Decodes stored entry bytes.
pub fn decode(bytes: &[u8]) -> Result<pb::Entry, prost::DecodeError> {
    pb::Entry::decode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(accepted: i64) -> NewEntry {
        let s = pb::Submission {
            principal: "CO".into(),
            accepted: Some(crate::time::unix_to_pb(accepted)),
            ..Default::default()
        };
        NewEntry::submission(s, "a-1", 200)
    }

    #[test]
    fn entries_are_re_stamped_forward_only_within_their_window() {
        let e = sub(100);
        let (same, at) = e.at_floor(90).expect("not earlier");
        assert_eq!((same.as_ref(), at), (e.bytes.as_slice(), Some(100)));
        let (later, at) = e.at_floor(150).expect("inside the window");
        assert_eq!(at, Some(150));
        assert_eq!(accepted(&decode(&later).expect("decodes")), Some(150));
        assert_eq!(e.at_floor(200), Err(TooLate { floor: 200, until: 200 }));
        let raw = NewEntry::raw(vec![1, 2], EntryKey::Roster);
        assert_eq!(raw.at_floor(10).expect("raw").1, None);
    }

    #[test]
    fn both_roster_forms_read_as_rosters() {
        let env = pb::Envelope::default();
        let new = decode(&NewEntry::roster(env.clone(), 7, 8).bytes).expect("decodes");
        assert!(matches!(body(&new), Body::Roster { accepted: Some(7), .. }));
        let old = pb::Entry {
            body: Some(pb::entry::Body::Roster(env)),
        };
        assert!(matches!(body(&old), Body::Roster { accepted: None, .. }));
        let hollow = pb::Entry {
            body: Some(pb::entry::Body::RosterEntry(pb::RosterEntry::default())),
        };
        assert!(matches!(body(&hollow), Body::Empty));
    }
}
