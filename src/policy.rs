//! The one access decision: may this principal see this entry?
//!
//! Every path that reveals entry content asks [`may_see`]: the live stream,
//! replay, `GetEntry`, inclusion proofs, and (through the auditor role)
//! exports. Deny by default: a principal sees an alert only if it published
//! it, is among the recipients the hub resolved when accepting it (`ALL`
//! expanded to the members of that moment), or holds the auditor role.
//! Roster entries (public keys and certificate hashes) are visible to every
//! principal, since everyone needs them to check signatures. Callers answer
//! "not found" for anything denied.
//!
//! The decision needs only who published an entry and for whom, so it reads
//! an [`Audience`], which [`Audience::decode`] extracts from stored entry
//! bytes without decoding the envelope (subscribers evaluate it for every
//! entry they pass over).

use crate::pb;
use crate::roster::{Member, Role};
use prost::Message;

/// Who an entry is for: all the policy needs to know about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Audience {
    /// A roster entry: public to every principal.
    Roster,
    /// An alert accepted from `publisher` for `recipients`.
    Alert {
        /// The roster id that published it.
        publisher: String,
        /// Resolved recipients.
        recipients: Vec<String>,
    },
    /// Anything else (an entry kind this version does not know): nobody.
    Unknown,
}

/// `isthmus.v1.Entry` with only the fields the policy reads; prost skips
/// the rest (the envelope) without decoding it.
#[derive(Clone, PartialEq, Message)]
struct EntryHeader {
    #[prost(message, optional, tag = "3")]
    roster: Option<Nothing>,
    #[prost(message, optional, tag = "4")]
    roster_entry: Option<Nothing>,
    #[prost(message, optional, tag = "2")]
    submission: Option<SubmissionHeader>,
}

#[derive(Clone, PartialEq, Message)]
struct Nothing {}

#[derive(Clone, PartialEq, Message)]
struct SubmissionHeader {
    #[prost(string, tag = "2")]
    principal: String,
    #[prost(string, repeated, tag = "5")]
    recipients: Vec<String>,
}

impl Audience {
    /// The audience of stored entry bytes (`Unknown` if they do not decode).
    pub fn decode(entry: &[u8]) -> Audience {
        match EntryHeader::decode(entry) {
            Ok(EntryHeader {
                submission: Some(s), ..
            }) => Audience::Alert {
                publisher: s.principal,
                recipients: s.recipients,
            },
            Ok(
                EntryHeader { roster: Some(_), .. }
                | EntryHeader {
                    roster_entry: Some(_), ..
                },
            ) => Audience::Roster,
            _ => Audience::Unknown,
        }
    }

    /// The audience of a decoded entry.
    pub fn of(entry: &pb::Entry) -> Audience {
        match &entry.body {
            Some(pb::entry::Body::Roster(_) | pb::entry::Body::RosterEntry(_)) => Audience::Roster,
            Some(pb::entry::Body::Submission(s)) => Audience::Alert {
                publisher: s.principal.clone(),
                recipients: s.recipients.clone(),
            },
            None => Audience::Unknown,
        }
    }
}

/// Whether `viewer` may see an entry with this audience.
pub fn may_see(viewer: &Member, audience: &Audience) -> bool {
    match (audience, viewer.role) {
        (Audience::Roster, _) => true,
        (Audience::Alert { .. }, Role::Auditor) => true,
        (Audience::Alert { publisher, recipients }, Role::Delegation) => {
            let me = viewer.id.as_str();
            publisher == me || recipients.iter().any(|r| r == me)
        }
        (Audience::Unknown, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::PrincipalId;

    fn viewer(id: &str, role: Role) -> Member {
        Member {
            id: PrincipalId::parse(id).expect("id"),
            name: String::new(),
            role,
            tls_spki: vec![],
            keys: vec![],
            sealing: vec![],
            witness: None,
        }
    }

    fn submission(from: &str, to: &[&str]) -> pb::Entry {
        pb::Entry {
            body: Some(pb::entry::Body::Submission(pb::Submission {
                envelope: Some(pb::Envelope {
                    payload: vec![1; 100],
                    ..Default::default()
                }),
                principal: from.into(),
                recipients: to.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            })),
        }
    }

    #[test]
    fn recipients_publisher_and_auditor_see_others_do_not() {
        let e = Audience::decode(&submission("CO", &["PA", "US"]).encode_to_vec());
        assert!(may_see(&viewer("PA", Role::Delegation), &e));
        assert!(may_see(&viewer("US", Role::Delegation), &e));
        assert!(may_see(&viewer("CO", Role::Delegation), &e));
        assert!(may_see(&viewer("AUDITOR", Role::Auditor), &e));
        assert!(!may_see(&viewer("BR", Role::Delegation), &e));
        assert!(!may_see(&viewer("AUDITOR", Role::Auditor), &Audience::Unknown));
    }

    #[test]
    fn header_decoding_agrees_with_full_decoding() {
        for e in [
            submission("CO", &["PA"]),
            submission("BR", &[]),
            pb::Entry {
                body: Some(pb::entry::Body::Roster(pb::Envelope::default())),
            },
            pb::Entry { body: None },
        ] {
            assert_eq!(Audience::decode(&e.encode_to_vec()), Audience::of(&e));
        }
        assert_eq!(Audience::decode(&[0xff, 0xff]), Audience::Unknown);
    }

    #[test]
    fn roster_entries_are_public_to_members() {
        let e = pb::Entry {
            body: Some(pb::entry::Body::Roster(pb::Envelope::default())),
        };
        assert!(may_see(
            &viewer("BR", Role::Delegation),
            &Audience::decode(&e.encode_to_vec())
        ));
    }
}
