//! The one access decision: may this principal see this entry?
//!
//! Every path that reveals entry content asks [`may_see`]: the live stream,
//! replay, `GetEntry`, and (later) proofs and exports. Deny by default: a
//! principal sees an alert only if it published it, is among the recipients
//! the hub resolved when accepting it (`ALL` expanded to the members of that
//! moment), or holds the auditor role. Roster entries (public keys and
//! certificate hashes) are visible to every principal, since everyone needs
//! them to check signatures. Callers answer "not found" for anything denied.

use crate::pb;
use crate::roster::{Member, Role};

/// Whether `viewer` may see `entry`.
pub fn may_see(viewer: &Member, entry: &pb::Entry) -> bool {
    match (&entry.body, viewer.role) {
        (Some(pb::entry::Body::Roster(_)), _) => true,
        (Some(pb::entry::Body::Submission(_)), Role::Auditor) => true,
        (Some(pb::entry::Body::Submission(s)), Role::Delegation) => {
            let me = viewer.id.as_str();
            s.principal == me || s.recipients.iter().any(|r| r == me)
        }
        (None, _) => false,
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
        }
    }

    fn submission(from: &str, to: &[&str]) -> pb::Entry {
        pb::Entry {
            body: Some(pb::entry::Body::Submission(pb::Submission {
                principal: from.into(),
                recipients: to.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            })),
        }
    }

    #[test]
    fn recipients_publisher_and_auditor_see_others_do_not() {
        let e = submission("CO", &["PA", "US"]);
        assert!(may_see(&viewer("PA", Role::Delegation), &e));
        assert!(may_see(&viewer("US", Role::Delegation), &e));
        assert!(may_see(&viewer("CO", Role::Delegation), &e));
        assert!(may_see(&viewer("AUDITOR", Role::Auditor), &e));
        assert!(!may_see(&viewer("BR", Role::Delegation), &e));
        assert!(!may_see(&viewer("BR", Role::Delegation), &pb::Entry { body: None }));
    }

    #[test]
    fn roster_entries_are_public_to_members() {
        let e = pb::Entry {
            body: Some(pb::entry::Body::Roster(pb::Roster::default())),
        };
        assert!(may_see(&viewer("BR", Role::Delegation), &e));
    }
}
