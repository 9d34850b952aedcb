//! Ledger entry encoding. An entry's bytes are produced once, when the hub
//! accepts it, and from then on only ever copied: they are the RFC 9162 leaf
//! input, so re-encoding them would change the tree.

use crate::pb;
use prost::Message;

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

/// An encoded entry ready to append.
#[derive(Clone, Debug)]
pub struct NewEntry {
    /// The bytes to store and hash.
    pub bytes: Vec<u8>,
    /// Its index keys.
    pub key: EntryKey,
}

impl NewEntry {
    /// Encodes a roster entry: the roster envelope with its approvals.
    pub fn roster(roster: pb::Envelope) -> Self {
        let e = pb::Entry {
            body: Some(pb::entry::Body::Roster(roster)),
        };
        NewEntry {
            bytes: e.encode_to_vec(),
            key: EntryKey::Roster,
        }
    }

    /// Encodes an accepted submission of alert `id` by `publisher`.
    pub fn submission(s: pb::Submission, id: &str) -> Self {
        let key = EntryKey::Alert {
            publisher: s.principal.clone(),
            id: id.to_owned(),
        };
        let e = pb::Entry {
            body: Some(pb::entry::Body::Submission(s)),
        };
        NewEntry {
            bytes: e.encode_to_vec(),
            key,
        }
    }
}

/// Decodes stored entry bytes.
pub fn decode(bytes: &[u8]) -> Result<pb::Entry, prost::DecodeError> {
    pb::Entry::decode(bytes)
}
