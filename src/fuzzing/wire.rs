//! Targets over protobuf bytes from the network or the ledger: a whole
//! envelope as `Publish` receives it, an alert payload inside a correctly
//! signed envelope, and one stored entry as the auditor re-checks it.

use prost::Message;

use super::fixture::{fixture, NOW, STAMP};
use crate::alert::file::AlertFile;
use crate::alert::ValidAlert;
use crate::audit::rules::Rules;
use crate::audit::{Counts, Reason};
use crate::crypto::{Rule, Signature};
use crate::envelope;
use crate::ingest::{self, Caller};
use crate::ledger::entry;
use crate::pb;
use crate::roster::Roster;
use crate::time::unix_to_pb;

/// `Publish` from CO: the bytes as an `Envelope`, through every ingest check.
/// Checks: decoding is stable under re-encoding, and an accepted envelope
/// carries a signature that verifies under CO's own key.
pub fn envelope(data: &[u8]) {
    let Ok(env) = pb::Envelope::decode(data) else { return };
    let again = pb::Envelope::decode(env.encode_to_vec().as_slice()).expect("a re-encoded envelope decodes");
    assert_eq!(again, env, "re-encoding changed the envelope");
    check_publish(&env);
}

/// The bytes as the payload of an envelope CO signed correctly, so every
/// input reaches alert decoding and field validation.
pub fn alert_payload(data: &[u8]) {
    let env = fixture().signed("CO", data.to_vec());
    let accepted = check_publish(&env);
    let parsed = ValidAlert::parse(data, NOW);
    if accepted {
        assert!(parsed.is_ok(), "ingest accepted a payload ValidAlert refuses");
    }
}

/// Runs ingest for CO (alert `earlier-1` exists) and checks what it accepts;
/// returns whether it accepted.
fn check_publish(env: &pb::Envelope) -> bool {
    let f = fixture();
    let earlier = |id: &str| (id == "earlier-1").then(|| f.original());
    let Ok(acc) = ingest::check(env, f.caller("CO"), &f.roster, &STAMP, earlier) else {
        return false;
    };
    assert_eq!(env.signatures.len(), 1);
    let sig = Signature::from_slice(&env.signatures[0].sig).expect("an accepted signature is 64 bytes");
    let pk = f.key("CO").public_key();
    assert!(
        envelope::verify(env, &sig, &pk, Rule::Strict).is_ok(),
        "ingest accepted an envelope CO's key did not sign, or one a standard RFC 8032 verifier rejects"
    );
    assert!(
        envelope::verify(env, &sig, &pk, Rule::Cofactored).is_ok(),
        "ingest accepted a signature the audit's rule rejects"
    );
    assert_eq!(acc.content.routing().publisher.as_str(), "CO");
    let stored = entry::decode(&acc.entry.bytes).expect("the stored entry decodes");
    let Some(pb::entry::Body::Submission(s)) = stored.body else {
        panic!("an accepted envelope is stored as a submission")
    };
    assert_eq!(
        s.envelope.as_ref(),
        Some(env),
        "the stored envelope is not the one sent"
    );
    if let ingest::Content::Clear(alert) = &acc.content {
        check_alert_stable(alert);
    }
    true
}

/// A valid alert re-encoded is still valid and encodes the same, and the
/// CLI's readable form converts back to the same alert whenever it converts.
fn check_alert_stable(valid: &ValidAlert) {
    let bytes = valid.alert.encode_to_vec();
    let again = ValidAlert::parse(&bytes, NOW).expect("a re-encoded valid alert is valid");
    assert_eq!(
        again.alert.encode_to_vec(),
        bytes,
        "re-encoding a valid alert is not stable"
    );
    let file = AlertFile::from_pb(&valid.alert);
    if let Ok(back) = file.to_pb("XX", unix_to_pb(NOW)) {
        assert_eq!(back.encode_to_vec(), bytes, "the readable form shows a different alert");
    }
}

/// Entry 1 of a ledger whose genesis is the fixture roster, through the
/// auditor's per-entry rules. Checks: an accepted submission recorded again
/// is a duplicate; if its signature verifies under the strict rule, ingest
/// accepts the same envelope at the recorded time and builds exactly these
/// bytes (and a signature the audit's rule rejects, ingest rejects too); an
/// accepted roster change is one `roster_change::open` accepts after the
/// genesis, and survives its ledger encoding.
pub fn audit_rules(data: &[u8]) {
    let f = fixture();
    let mut rules = Rules::default();
    let mut counts = Counts::default();
    rules
        .check(0, &f.roster_entry, &mut counts, &mut |_| None)
        .expect("the genesis roster passes");
    match rules.check(1, data, &mut counts, &mut |_| None) {
        Ok(Some(pending)) => {
            let again = rules.check(2, data, &mut counts, &mut |_| None);
            assert!(
                matches!(again, Err(Reason::Duplicate { .. })),
                "a repeated alert was not caught"
            );
            match pending.key.verify(&pending.msg, &pending.sig, Rule::Strict) {
                Ok(()) => check_ingest_agrees(data, &f.roster),
                Err(_)
                    if pending
                        .key
                        .verify(&pending.msg, &pending.sig, Rule::Cofactored)
                        .is_err() =>
                {
                    check_ingest_refuses(data, &f.roster)
                }
                Err(_) => {}
            }
        }
        Ok(None) => {
            let decoded = entry::decode(data).expect("the rules accepted an entry that does not decode");
            let entry::Body::Roster { envelope, accepted } = entry::body(&decoded) else {
                panic!("the rules accepted a roster entry that is not one")
            };
            let opened = crate::roster::change::open(envelope, Some(&f.roster), accepted, Rule::Cofactored)
                .expect("the rules accepted this change");
            let roster = opened.roster;
            assert_eq!(Roster::from_pb(&roster.to_pb()).expect("re-encoded roster"), roster);
        }
        Err(_) => {}
    }
}

fn check_ingest_agrees(data: &[u8], roster: &Roster) {
    let acc = ingest_again(data, roster).expect("ingest accepts what the audit accepts");
    assert_eq!(
        acc.entry.bytes, data,
        "ingest would store other bytes than the audit accepted"
    );
}

fn check_ingest_refuses(data: &[u8], roster: &Roster) {
    assert!(
        ingest_again(data, roster).is_err(),
        "ingest accepted a signature the audit rejects"
    );
}

/// Ingest of the submission in `data`, at its recorded time and caller.
fn ingest_again(data: &[u8], roster: &Roster) -> Result<ingest::Accepted, ingest::PublishError> {
    let Ok(pb::Entry {
        body: Some(pb::entry::Body::Submission(s)),
    }) = entry::decode(data)
    else {
        panic!("the rules accepted a submission that does not decode")
    };
    let member = roster.member(&s.principal).expect("the rules found this principal");
    let spki: [u8; 32] = s.tls_spki_sha256.as_slice().try_into().expect("a bound key hash");
    let env = s.envelope.as_ref().expect("the rules found an envelope");
    let stamp = ingest::RecordedStamp::of(&s).expect("the rules found a time");
    let caller = Caller { member, spki: &spki };
    ingest::check(env, caller, roster, &stamp, |_| None)
}
