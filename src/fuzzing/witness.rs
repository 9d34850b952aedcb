//! The witness's parsers of outside input: `add-checkpoint` bodies, the
//! answers a witness sends back, and `cosignature/v1` lines.

use super::fixture::fixture;
use crate::witness::cosignature::Cosigner;
use crate::witness::{AddCheckpoint, Answer};

/// The fixture's witness key (a constant seed).
fn cosigner() -> Cosigner {
    Cosigner::from_seed("isthmus.fuzz/witness", [7; 32]).expect("a valid name")
}

/// Checks: a parsed request prints back to the same bytes and its parts
/// are within the spec's bounds; the same bytes read as a witness's answer
/// never panic; a cosignature line that verifies over the fixture
/// checkpoint is exactly the fixture witness's own line at its timestamp
/// (Ed25519 is deterministic, so nothing else can verify).
pub fn witness_request(data: &[u8]) {
    if let Ok(r) = AddCheckpoint::parse(data) {
        assert_eq!(r.to_body().as_bytes(), data, "add-checkpoint parsing is not canonical");
        assert!(r.proof.len() <= crate::witness::request::MAX_PROOF_LINES);
        assert!(!r.checkpoint.is_empty());
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    for status in [200, 409, 422] {
        let _ = Answer::from_response(status, text).body();
    }
    let log = &fixture().log;
    let body = format!("{}\n7\n{}\n", log.name(), "A".repeat(43) + "=");
    let w = cosigner();
    if let Ok(Some(c)) = w.verifier().verify_line(&body, text) {
        let ours = w.sign(&body, c.timestamp).expect("signs");
        assert_eq!(
            text.strip_suffix('\n').unwrap_or(text),
            ours.trim_end(),
            "a foreign line verified"
        );
    }
}

/// Seeds: the spec's shape with a real fixture checkpoint, and a valid line.
pub(super) fn seeds() -> Vec<Vec<u8>> {
    let log = &fixture().log;
    let body = format!("{}\n7\n{}\n", log.name(), "A".repeat(43) + "=");
    let note = log.sign(&body).expect("signs");
    let proof = "A".repeat(43) + "=";
    vec![
        format!("old 0\n\n{note}").into_bytes(),
        format!("old 3\n{proof}\n{proof}\n\n{note}").into_bytes(),
        cosigner().sign(&body, 1_790_000_100).expect("signs").into_bytes(),
    ]
}
