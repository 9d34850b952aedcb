//! Targets over text from files and the wire: signed notes and verifier
//! keys, checkpoints, receipts, the CLI's alert files and the operators'
//! roster. Each checks that whatever parses is canonical (it prints back
//! to the same text or value) and that nothing unsigned opens.

use prost::Message;

use super::fixture::{fixture, NOW};
use crate::alert::file::{self as alert_file, AlertFile};
use crate::alert::ValidAlert;
use crate::ledger::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::ledger::note::{self, NoteVerifier};
use crate::ledger::receipt::Receipt;
use crate::roster::Roster;
use crate::time::unix_to_pb;

/// A signed note opened with the fixture log key, and the same text as a
/// verifier key string. Checks: an opened note is its text, a blank line
/// and signature lines, one of which is exactly the log key's own line over
/// that text (nothing else can verify); a parsed key prints back verbatim.
pub fn note(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let log = &fixture().log;
    if let Ok(opened) = note::open(text, &[log.verifier()]) {
        let sigs = text
            .strip_prefix(opened.text.as_str())
            .and_then(|rest| rest.strip_prefix('\n'))
            .expect("an opened note starts with its text and a blank line");
        let ours = log.signature_line(&opened.text).expect("an opened text is signable");
        assert!(
            sigs.split_inclusive('\n').any(|l| l == ours),
            "a note opened without the log key's signature line"
        );
        assert_eq!(opened.verified, [(log.name().to_owned(), log.key_id())]);
    }
    if let Ok(key) = NoteVerifier::from_key(text) {
        assert_eq!(key.to_string(), text, "a verifier key parsed but prints differently");
    }
}

/// Checkpoint text, and the same bytes as a signed checkpoint note.
/// Checks: a parsed checkpoint prints back to the same text; an opened
/// one names the log, and its note starts with that text.
pub fn checkpoint(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(cp) = Checkpoint::parse(text) {
        assert_eq!(cp.to_text(), text, "checkpoint parsing is not canonical");
        if let Some(Ok(r)) = cp.roster_index() {
            assert!(
                r < cp.size,
                "a roster line naming an entry beyond the size was accepted"
            );
            assert!(
                cp.extensions.contains(&format!("roster {r}")),
                "the roster line is not canonical"
            );
        }
    }
    let log = &fixture().log;
    if let Ok(signed) = SignedCheckpoint::open(text, &log.verifier()) {
        assert_eq!(signed.checkpoint.origin, log.name());
        assert_eq!(signed.note, text);
        let body = format!("{}\n", signed.checkpoint.to_text());
        assert!(text.starts_with(&body), "the opened checkpoint is not the signed text");
    }
}

/// A receipt (c2sp.org/tlog-proof) verified offline with the log key.
/// Checks: parsing is canonical; a receipt that verifies stops verifying
/// when its entry or any proof hash changes.
pub fn receipt(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(r) = Receipt::parse(text) else { return };
    assert_eq!(r.to_text(), text, "receipt parsing is not canonical");
    let key = fixture().log.verifier();
    if r.verify(&key).is_err() {
        return;
    }
    let mut t = r.clone();
    t.entry.push(0);
    assert!(t.verify(&key).is_err(), "a receipt verified for a longer entry");
    for i in 0..r.hashes.len() {
        let mut t = r.clone();
        t.hashes[i][0] ^= 1;
        assert!(
            t.verify(&key).is_err(),
            "a receipt verified with proof hash {i} changed"
        );
    }
}

/// An alert file as `isthmus publish` reads it: first byte odd = JSON,
/// else TOML. Checks: file → protobuf → readable form → protobuf gives the
/// same alert; for an alert the hub would accept, the readable form also
/// survives being written as JSON (`--json`) and read back.
pub fn alert_file(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let name = if kind & 1 == 1 { "alert.json" } else { "alert.toml" };
    let Ok(file) = alert_file::parse(name, text) else {
        return;
    };
    let Ok(a) = file.to_pb("CO", unix_to_pb(NOW)) else {
        return;
    };
    let bytes = a.encode_to_vec();
    let readable = AlertFile::from_pb(&a);
    let back = readable.to_pb("XX", unix_to_pb(0)).expect("the readable form converts");
    assert_eq!(
        back.encode_to_vec(),
        bytes,
        "file -> pb -> file -> pb changed the alert"
    );
    if ValidAlert::parse(&bytes, NOW).is_err() {
        return;
    }
    let json = serde_json::to_string(&readable).expect("a readable alert serialises");
    let reread = alert_file::parse("again.json", &json).expect("--json output parses as an alert file");
    let again = reread.to_pb("XX", unix_to_pb(0)).expect("--json output converts");
    assert_eq!(
        again.encode_to_vec(),
        bytes,
        "--json output reads back as a different alert"
    );
}

/// `roster.toml`. Checks: a roster that loads survives its TOML form and
/// its ledger (protobuf) form unchanged.
pub fn roster_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(roster) = Roster::from_toml(text) else { return };
    let toml = toml::to_string(&roster.to_file()).expect("a roster serialises");
    assert_eq!(Roster::from_toml(&toml).expect("its TOML form loads"), roster);
    let bytes = roster.to_pb().encode_to_vec();
    let decoded = crate::pb::Roster::decode(bytes.as_slice()).expect("its ledger form decodes");
    assert_eq!(Roster::from_pb(&decoded).expect("its ledger form loads"), roster);
}
