//! The sealed-object parser (docs/sealing.md) under arbitrary bytes: the
//! payload of a sealed alert CO signed correctly, so every input reaches
//! the hub's clear checks and every reader's opening.

use super::fixture::{fixture, DELEGATIONS, NOW, STAMP};
use crate::ingest::{self, Content};
use crate::seal::{self, ValidSealed};

/// Invariants: ingest accepts only what [`ValidSealed`] accepts with its
/// stanzas on roster keys; a reader shows an alert only if it agrees with
/// the header; and every reader who opens it reads the same inner envelope
/// (the key commitment), whatever the bytes.
pub fn sealed(data: &[u8]) {
    let f = fixture();
    let env = seal::make::sign_sealed_payload(data.to_vec(), f.key("CO"));
    let earlier = |id: &str| (id == "earlier-1").then(|| f.original());
    if let Ok(acc) = ingest::check(&env, f.caller("CO"), &f.roster, &STAMP, earlier) {
        assert!(
            matches!(acc.content, Content::Sealed(_)),
            "a sealed payload accepted as clear"
        );
        let v = ValidSealed::parse(data, NOW).expect("ingest accepted what the sealed parser refuses");
        v.check_keys(&f.roster, NOW)
            .expect("ingest accepted stanzas off the roster");
    }
    let mut read: Option<Vec<u8>> = None;
    for id in DELEGATIONS {
        let Ok(opened) = seal::open(data, id, &[f.sealing_key(id).clone()]) else {
            continue;
        };
        let Ok(valid) = opened.check(&f.roster, NOW) else {
            continue;
        };
        assert_eq!(
            valid.alert.id, opened.header.id,
            "a reader was shown another alert than the header's"
        );
        match &read {
            Some(first) => assert_eq!(first, &opened.inner_bytes, "two readers read different alerts"),
            None => read = Some(opened.inner_bytes),
        }
    }
}
