//! Seed inputs for every target, made from the fixture: valid envelopes,
//! entries, notes, checkpoints and receipts that the fuzzer then mutates.
//! `tests/it/fuzz_corpus.rs` (`write_seed_corpus`, ignored) writes them,
//! with examples/alert.toml, certs-dev/roster.toml and the vendored vectors in tests/vectors,
//! into `fuzz/corpus/<target>/`.

use prost::Message;

use super::export::{export_entries, valid_export};
use super::fixture::{alert, fixture, LOG_NAME, NOW};
use crate::alert::file::AlertFile;
use crate::envelope;
use crate::ledger::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::ledger::merkle::{self, MemoryHashes};
use crate::ledger::receipt::Receipt;
use crate::pb;
use crate::time::unix_to_pb;

/// `(target, seed)` pairs.
pub fn generated() -> Vec<(&'static str, Vec<u8>)> {
    let f = fixture();
    let (basic, rich) = (alert("s-1", "CO", &["PA"]), rich_alert());
    let mut amends = rich.clone();
    amends.amends = Some(pb::Amendment {
        widens_distribution: false,
        id: "earlier-1".into(),
        kind: pb::AmendmentKind::Correction as i32,
        reason: "corrected route".into(),
    });
    let mut dirty = basic.clone();
    dirty.title = "Red\u{1b}[1A\u{1b}[2K\r#9 forged".into();
    dirty.summary = "x\u{202e}y".repeat(3);
    let legacy_roster = pb::Entry {
        body: Some(pb::entry::Body::Roster(roster_envelope())),
    };
    let mut out = vec![
        ("envelope", envelope::sign(&basic, f.key("CO")).encode_to_vec()),
        ("envelope", envelope::sign(&amends, f.key("CO")).encode_to_vec()),
        ("envelope", envelope::sign(&basic, f.key("PA")).encode_to_vec()),
        ("alert_payload", basic.encode_to_vec()),
        ("alert_payload", amends.encode_to_vec()),
        ("alert_payload", dirty.encode_to_vec()),
        ("envelope", torsion_envelope(&basic)),
        ("audit_rules", legacy_roster.encode_to_vec()),
        ("audit_rules", f.roster_entry.clone()),
        ("audit_rules", f.entry(&basic)),
        ("audit_rules", f.entry(&rich)),
        ("alert_file", json_file(&rich)),
        ("roster_toml", toml_roster()),
        ("sealed", f.sealed(&red(&basic)).payload),
        ("sealed", f.sealed(&red(&amends)).payload),
    ];
    out.extend(notes());
    out.push(("receipt", receipt_text().into_bytes()));
    out.extend((0u8..5).map(|op| ("export", vec![op, op, 7, 0, 1, b'x'])));
    out.push(("proof", (0u8..=255).collect()));
    out.push(("proof", vec![0; 300]));
    out.extend(super::witness::seeds().into_iter().map(|s| ("witness_request", s)));
    out
}

/// `a` as TLP:RED.
fn red(a: &pb::Alert) -> pb::Alert {
    pb::Alert {
        tlp: pb::Tlp::Red as i32,
        ..a.clone()
    }
}

/// The fixture roster's envelope, as the genesis entry holds it.
fn roster_envelope() -> pb::Envelope {
    let decoded = crate::ledger::entry::decode(&fixture().roster_entry).expect("the fixture entry decodes");
    match crate::ledger::entry::body(&decoded) {
        crate::ledger::entry::Body::Roster { envelope, .. } => envelope.clone(),
        _ => pb::Envelope::default(),
    }
}

/// `a` from CO with a torsion-R signature (cofactored-valid only).
fn torsion_envelope(a: &pb::Alert) -> Vec<u8> {
    let mut env = envelope::sign(a, fixture().key("CO"));
    let msg = envelope::pae(&env.payload_type, &env.payload);
    env.signatures[0].sig = super::crafted::torsion_r_signature(fixture().key("CO"), &msg, 4)
        .to_bytes()
        .to_vec();
    env.encode_to_vec()
}

/// An alert using every field.
pub fn rich_alert() -> pb::Alert {
    let mut a = alert("s-2", "CO", &["PA", "US"]);
    a.handling = vec![1, 2];
    a.network = Some(pb::Network {
        name: "Los Coyotes del Golfo".into(),
        aliases: vec!["La Ruta".into()],
        description: "tres niveles".into(),
    });
    a.subjects = vec![pb::Subject {
        name: "alias El Guía".into(),
        kind: 1,
        role: 4,
        nationality: "CO".into(),
        birth_year: 1985,
        notes: "n".into(),
    }];
    a.identifiers = vec![pb::Identifier {
        kind: 1,
        value: "+57 300 555 0101".into(),
        country: "CO".into(),
        notes: String::new(),
    }];
    a.locations = vec![pb::Location {
        name: "Necoclí".into(),
        country: "CO".into(),
        latitude: 8.42,
        longitude: -76.78,
        role: 1,
        sequence: 0,
    }];
    a.validity = Some(pb::Validity {
        not_before: Some(unix_to_pb(NOW - 3600)),
        not_after: Some(unix_to_pb(NOW + 86_400)),
    });
    a.references = vec![pb::AlertReference {
        publisher: "PA".into(),
        id: "pa-7".into(),
        relation: "same network".into(),
    }];
    a
}

fn json_file(a: &pb::Alert) -> Vec<u8> {
    let json = serde_json::to_string_pretty(&AlertFile::from_pb(a)).expect("serialises");
    [&[1u8][..], json.as_bytes()].concat()
}

fn toml_roster() -> Vec<u8> {
    toml::to_string(&fixture().roster.to_file())
        .expect("serialises")
        .into_bytes()
}

fn notes() -> Vec<(&'static str, Vec<u8>)> {
    let log = &fixture().log;
    let cp = Checkpoint {
        origin: LOG_NAME.into(),
        size: 5,
        root: [7; 32],
        extensions: vec!["ext".into()],
    };
    let signed = SignedCheckpoint::sign(cp.clone(), log).expect("signs").note;
    let with_roster = Checkpoint {
        extensions: vec!["roster 3".into()],
        ..cp.clone()
    };
    vec![
        ("checkpoint", with_roster.to_text().into_bytes()),
        (
            "checkpoint",
            SignedCheckpoint::sign(with_roster, log)
                .expect("signs")
                .note
                .into_bytes(),
        ),
        ("note", log.sign("hello\n\nworld\n").expect("signs").into_bytes()),
        ("note", log.verifier_key().into_bytes()),
        ("note", signed.clone().into_bytes()),
        ("checkpoint", cp.to_text().into_bytes()),
        ("checkpoint", signed.into_bytes()),
    ]
}

/// A receipt for entry 2 of the fixture export.
fn receipt_text() -> String {
    let files = valid_export();
    let note = &files.iter().find(|(p, _)| p == "checkpoint").expect("a checkpoint").1;
    let note = String::from_utf8(note.clone()).expect("text");
    let entries = export_entries();
    let mut tree = MemoryHashes::default();
    tree.append(&entries.iter().map(|e| merkle::leaf_hash(e)).collect::<Vec<_>>());
    let hashes = merkle::inclusion_proof(2, 5, &tree).expect("a proof");
    Receipt {
        index: 2,
        entry: entries[2].clone(),
        hashes,
        checkpoint: note,
    }
    .to_text()
}
