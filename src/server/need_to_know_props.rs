//! Need-to-know as a property, with shrinking: for any alert a delegation
//! might send (any publisher, any TLP label, any recipient list, including
//! `ALL`, duplicates, non-members and the empty list), ingest accepts it
//! exactly when the rules say so, and the stored entry is then visible to
//! exactly the publisher, the named (or, for `ALL`, every member) delegations
//! and the auditor: nobody else, through the same `visible` the hub's
//! streams, gets and proofs use. The end-to-end version over real streams is
//! `tests/it/need_to_know.rs`.

use super::hub::visible;
use crate::devcerts::{DevFederation, AUDITOR, DELEGATIONS};
use crate::ingest::{self, Caller};
use crate::pb;
use crate::roster::Roster;
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::sync::LazyLock;

static FED: LazyLock<(DevFederation, Roster)> = LazyLock::new(|| {
    let fed = DevFederation::generate(30).expect("dev federation");
    let roster = fed.roster().expect("roster");
    (fed, roster)
});

/// Country codes that are valid ISO 3166 but not members.
const OUTSIDERS: [&str; 2] = ["FR", "JP"];

const TLPS: [pb::Tlp; 5] = [
    pb::Tlp::Clear,
    pb::Tlp::Green,
    pb::Tlp::Amber,
    pb::Tlp::AmberStrict,
    pb::Tlp::Red,
];

#[derive(Clone, Debug)]
struct Case {
    publisher: usize,
    tlp: pb::Tlp,
    /// `None` is `["ALL"]`; indices past the delegations are outsiders.
    recipients: Option<Vec<usize>>,
}

fn cases() -> impl Strategy<Value = Case> {
    let n = DELEGATIONS.len();
    let recipients = prop_oneof![
        1 => Just(None),
        6 => proptest::collection::vec(0..n + OUTSIDERS.len(), 0..8).prop_map(Some),
    ];
    (0..n, 0..TLPS.len(), recipients).prop_map(|(publisher, tlp, recipients)| Case {
        publisher,
        tlp: TLPS[tlp],
        recipients,
    })
}

fn code(i: usize) -> &'static str {
    DELEGATIONS
        .get(i)
        .map_or_else(|| OUTSIDERS[i - DELEGATIONS.len()], |d| d.0)
}

/// Who the rules say sees the alert, or `None` if it must be refused.
fn entitled(c: &Case) -> Option<BTreeSet<&'static str>> {
    let mut sees: BTreeSet<&str> = match &c.recipients {
        None if c.tlp == pb::Tlp::Red => return None,
        None => DELEGATIONS.iter().map(|d| d.0).collect(),
        Some(list) => {
            let named: BTreeSet<usize> = list.iter().copied().collect();
            if list.is_empty() || named.len() != list.len() || named.iter().any(|&i| i >= DELEGATIONS.len()) {
                return None;
            }
            named.into_iter().map(code).collect()
        }
    };
    sees.insert(code(c.publisher));
    sees.insert(AUDITOR);
    Some(sees)
}

fn envelope(fed: &DevFederation, c: &Case, n: u64) -> pb::Envelope {
    let publisher = code(c.publisher);
    let alert = pb::Alert {
        id: format!("prop-{n}"),
        publisher: publisher.into(),
        created: Some(crate::time::unix_to_pb(crate::time::unix_now())),
        language: "es".into(),
        tlp: c.tlp as i32,
        recipients: match &c.recipients {
            None => vec!["ALL".into()],
            Some(list) => list.iter().map(|&i| code(i).to_owned()).collect(),
        },
        evaluation: Some(pb::Evaluation {
            source_reliability: 2,
            information_credibility: 3,
        }),
        category: pb::Category::HumanTrafficking as i32,
        title: "property".into(),
        summary: "need-to-know property case".into(),
        ..Default::default()
    };
    if c.tlp == pb::Tlp::Red {
        return fed.sealed(&alert).expect("a delegation's alert");
    }
    let key = fed
        .principal(publisher)
        .and_then(|p| p.signing.as_ref())
        .expect("delegation key");
    crate::envelope::sign(&alert, key)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ingest_and_policy_reveal_each_alert_to_exactly_its_audience(c in cases(), n in any::<u64>()) {
        let (fed, roster) = &*FED;
        let publisher = roster.member(code(c.publisher)).expect("member");
        let spki = crate::hash::sha256(b"not checked by ingest");
        let caller = Caller { member: publisher, spki: &spki };
        let verdict = ingest::check(&envelope(fed, &c, n), caller, roster, &ingest::Stamp::fresh(crate::time::unix_now()), |_| None);
        match (entitled(&c), verdict) {
            (None, Ok(_)) => prop_assert!(false, "accepted an alert the rules refuse: {c:?}"),
            (None, Err(e)) => prop_assert_eq!(tonic::Status::from(e).code(), tonic::Code::InvalidArgument),
            (Some(_), Err(e)) => prop_assert!(false, "refused a valid alert {c:?}: {e}"),
            (Some(sees), Ok(accepted)) => {
                for m in roster.members() {
                    let shown = visible(m, 7, accepted.entry.bytes.clone(), &|_| true);
                    prop_assert_eq!(
                        shown.is_some(),
                        sees.contains(m.id.as_str()),
                        "{} for {:?}", m.id, c
                    );
                }
            }
        }
    }
}
