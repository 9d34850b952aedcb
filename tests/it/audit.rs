//! The offline auditor on realistic exports: a development federation, a
//! genesis roster and alerts accepted by the hub's own `ingest::check`,
//! written in the C2SP tlog-tiles layout with `TileWriter` and a signed
//! checkpoint, then damaged in every way the audit must notice. The export
//! builder ([`Log::export`]) is the one seam to swap for a real server's
//! export command: tests only need an [`Export`] (a directory and its log
//! key).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use isthmus::audit::{self, AuditError, Options, Reason, Report};
use isthmus::crypto::SigningKey;
use isthmus::devcerts::DevFederation;
use isthmus::ingest::{self, Caller, Original, PublishError, RecordedStamp, Stamp};
use isthmus::ledger::checkpoint::{Checkpoint, SignedCheckpoint};
use isthmus::ledger::entry::{self, NewEntry};
use isthmus::ledger::merkle::{leaf_hash, CompactRange};
use isthmus::ledger::note::NoteSigner;
use isthmus::ledger::tiles::{tile_path, TileWriter, TILE_WIDTH};
use isthmus::pb;
use isthmus::roster::{Roster, RosterKey};
use isthmus::time::unix_now;
use isthmus::time::unix_to_pb;
use prost::Message;

use super::util::{alert, principal, signed};

const ORIGIN: &str = "localhost/isthmus-test-log";

/// A ledger built without a server: the entries exactly as the hub stores
/// them, and the log key that signs its checkpoints.
pub(crate) struct Log {
    fed: DevFederation,
    roster: Roster,
    signer: NoteSigner,
    pub(crate) entries: Vec<Vec<u8>>,
    /// Every alert so far by (publisher, id), with its entry index.
    seen: HashMap<(String, String), usize>,
    /// The one clock reading every entry is accepted at, so that a test
    /// replacing an entry cannot stamp it later than the ones after it.
    pub(crate) now: i64,
}

/// An export directory and the verifier key to audit it with.
pub(crate) struct Export {
    dir: tempfile::TempDir,
    pub(crate) key: String,
    pub(crate) checkpoint: SignedCheckpoint,
}

impl Export {
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Log {
    /// Genesis roster only.
    fn new() -> Self {
        let fed = DevFederation::generate(30).expect("federation");
        // Issued an hour ago (the keys are valid from a day ago), so that
        // roster changes issued a second later are not in the future.
        let roster = fed.roster().expect("roster");
        let mut terms = roster.terms();
        terms.issued -= 3_600;
        let roster = roster.with_terms(terms).expect("roster");
        let (signer, _) = NoteSigner::generate(ORIGIN).expect("log key");
        let genesis = NewEntry::roster(fed.approved(&roster), terms.issued, i64::MAX).bytes;
        Log {
            fed,
            roster,
            signer,
            entries: vec![genesis],
            seen: HashMap::new(),
            now: unix_now(),
        }
    }

    /// Genesis roster and `n` alerts from every delegation in turn, some to
    /// ALL, the fifth one a retraction by its originator.
    pub(crate) fn with_alerts(n: usize) -> Self {
        let mut log = Log::new();
        let codes: Vec<String> = log.roster.delegations().map(|m| m.id.to_string()).collect();
        for i in 0..n {
            let who = &codes[i % codes.len()];
            let retraction = i == 4 + codes.len();
            let to: &[&str] = if i % 3 == 0 && !retraction {
                &["ALL"]
            } else {
                &["CO", "PA"]
            };
            let mut a = alert(&format!("a-{i}"), who, to);
            if retraction {
                a.amends = Some(pb::Amendment {
                    widens_distribution: false,
                    id: "a-4".into(),
                    kind: pb::AmendmentKind::Retraction as i32,
                    reason: "duplicate report".into(),
                });
            }
            log.publish(who, &a);
        }
        log
    }

    /// Appends `a` by `who` as ingest accepts it now.
    fn publish(&mut self, who: &str, a: &pb::Alert) -> u64 {
        let bytes = self.accept(who, &signed(&self.fed, who, a), self.now);
        self.seen.insert((who.to_owned(), a.id.clone()), self.entries.len());
        self.entries.push(bytes);
        self.entries.len() as u64 - 1
    }

    /// Appends the already-made envelope `env` of alert `id` by `who`.
    fn publish_envelope(&mut self, who: &str, id: &str, env: &pb::Envelope) -> u64 {
        let bytes = self.accept(who, env, self.now);
        self.seen.insert((who.to_owned(), id.to_owned()), self.entries.len());
        self.entries.push(bytes);
        self.entries.len() as u64 - 1
    }

    /// The entry ingest stores for `env` from `who` at `now`.
    fn accept(&self, who: &str, env: &pb::Envelope, now: i64) -> Vec<u8> {
        let member = &principal(&self.fed, who).member;
        let caller = Caller {
            member,
            spki: &member.tls_spki[0],
        };
        let original = |id: &str| {
            let at = *self.seen.get(&(who.to_owned(), id.to_owned()))?;
            Original::of_entry(&self.entries[at])
        };
        ingest::check(env, caller, &self.roster, &Stamp::fresh(now), original)
            .expect("ingest accepts")
            .entry
            .bytes
    }

    pub(crate) fn export(&self) -> Export {
        self.export_of(&self.entries)
    }

    /// An export of `entries` (however modified) with a checkpoint signed
    /// by this log's key.
    fn export_of(&self, entries: &[Vec<u8>]) -> Export {
        let dir = tempfile::tempdir().expect("tempdir");
        let checkpoint = write_export(dir.path(), entries, &self.signer);
        Export {
            dir,
            key: self.signer.verifier_key(),
            checkpoint,
        }
    }

    /// The checkpoint of the first `n` entries, signed by the log key.
    pub(crate) fn checkpoint_of(&self, n: usize) -> SignedCheckpoint {
        sign(&self.entries[..n], &self.signer)
    }
}

/// The checkpoint the hub signs for `entries`: with the `roster` line
/// naming the latest roster entry.
fn sign(entries: &[Vec<u8>], signer: &NoteSigner) -> SignedCheckpoint {
    let latest = entries.iter().rposition(|e| {
        let decoded = entry::decode(e);
        decoded.is_ok_and(|d| matches!(entry::body(&d), entry::Body::Roster { .. }))
    });
    sign_with(
        entries,
        signer,
        latest.map(|r| format!("roster {r}")).into_iter().collect(),
    )
}

fn sign_with(entries: &[Vec<u8>], signer: &NoteSigner, extensions: Vec<String>) -> SignedCheckpoint {
    let mut range = CompactRange::new();
    entries.iter().for_each(|e| range.push(leaf_hash(e)));
    let cp = Checkpoint {
        origin: signer.name().to_owned(),
        size: entries.len() as u64,
        root: range.root(),
        extensions,
    };
    SignedCheckpoint::sign(cp, signer).expect("sign checkpoint")
}

fn write_export(dir: &Path, entries: &[Vec<u8>], signer: &NoteSigner) -> SignedCheckpoint {
    let mut writer = TileWriter::create(dir).expect("tile writer");
    for e in entries {
        writer.append(e).expect("append");
    }
    let signed = sign(entries, signer);
    writer.finish(&signed.note).expect("finish export");
    signed
}

/// Replaces the entry bundles with `entries`, named for a tree of `size`.
fn rewrite_bundles(dir: &Path, entries: &[Vec<u8>], size: u64) {
    std::fs::remove_dir_all(dir.join("tile/entries")).expect("remove bundles");
    for (n, chunk) in entries.chunks(TILE_WIDTH).enumerate() {
        let n = n as u64;
        let full = (n + 1) * TILE_WIDTH as u64 <= size;
        let width = if full {
            TILE_WIDTH
        } else {
            (size % TILE_WIDTH as u64) as usize
        };
        let path = dir.join(tile_path(None, n, width));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let mut data = Vec::new();
        for e in chunk {
            data.extend_from_slice(&(e.len() as u16).to_be_bytes());
            data.extend_from_slice(e);
        }
        std::fs::write(path, data).expect("write bundle");
    }
}

fn submission(bytes: &[u8]) -> pb::Submission {
    match entry::decode(bytes).expect("entry").body {
        Some(pb::entry::Body::Submission(s)) => s,
        other => panic!("not a submission: {other:?}"),
    }
}

fn encode(s: pb::Submission) -> Vec<u8> {
    pb::Entry {
        body: Some(pb::entry::Body::Submission(s)),
    }
    .encode_to_vec()
}

fn run(export: &Export, since: Option<&Path>) -> Report {
    let opts = Options {
        log_key: &export.key,
        since,
        genesis: None,
        strict_signatures: false,
        policy: None,
        time_skew: 0,
        open_with: &[],
    };
    audit::verify(export.path(), &opts, &mut |_, _| {})
}

/// The failure an audit reported.
pub(crate) fn failure(report: &Report) -> (Option<u64>, &Reason) {
    match &report.result {
        Err(AuditError::Failure { index, reason }) => (*index, reason),
        other => panic!("expected an integrity failure, got {other:?}"),
    }
}

/// Runs the real binary; returns its exit code and the parsed JSON report.
fn cli(export: &Path, key: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_isthmus-audit"))
        .arg("verify")
        .arg(export)
        .args(["--log-key", key, "--json"])
        .args(extra)
        .output()
        .expect("run isthmus-audit");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().expect("exit code"), json)
}

#[test]
fn audit_intact_export_passes() {
    let log = Log::with_alerts(40);
    let export = log.export();
    let report = run(&export, None);
    assert!(report.result.is_ok(), "{}", report.to_text());
    assert_eq!(report.counts.entries, 41);
    assert_eq!(report.counts.roster_entries, 1);
    assert_eq!(report.counts.signatures_checked, 40);
    assert_eq!(report.counts.alerts["CO"], 2);
    assert!(report.verdict_line().starts_with("INTACT: 41 entries"));

    let (code, json) = cli(export.path(), &export.key, &[]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["verdict"], "intact");
    assert_eq!(json["counts"]["entries"], 41);

    let text = Command::new(env!("CARGO_BIN_EXE_isthmus-audit"))
        .args(["verify", export.path().to_str().unwrap(), "--log-key", &export.key])
        .output()
        .unwrap();
    let stdout = String::from_utf8(text.stdout).unwrap();
    assert!(stdout.starts_with("INTACT: "), "{stdout}");
    assert!(stdout.contains("signatures checked: 40"), "{stdout}");
    assert!(text.stderr.is_empty(), "no progress bar when stderr is not a terminal");
}

#[test]
fn audit_log_key_from_a_file() {
    let log = Log::with_alerts(3);
    let export = log.export();
    let key_file = export.path().join("log.vkey");
    std::fs::write(&key_file, format!("{}\n", export.key)).unwrap();
    let (code, _) = cli(export.path(), key_file.to_str().unwrap(), &[]);
    assert_eq!(code, 0);
}

#[test]
fn audit_flipped_byte_is_found_at_its_entry() {
    let log = Log::with_alerts(30);
    let export = log.export();
    let mut entries = log.entries.clone();
    let k = 17;
    let mid = entries[k].len() / 2;
    entries[k][mid] ^= 0x01;
    rewrite_bundles(export.path(), &entries, entries.len() as u64);
    let (code, json) = cli(export.path(), &export.key, &[]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["verdict"], "integrity_failure");
    assert_eq!(json["first_failure"]["index"], k as u64);
    assert!(matches!(failure(&run(&export, None)), (Some(17), Reason::LeafMismatch)));
}

#[test]
fn audit_dropped_entry_is_found_at_its_index() {
    let log = Log::with_alerts(30);
    let export = log.export();
    let mut entries = log.entries.clone();
    entries.remove(12);
    rewrite_bundles(export.path(), &entries, log.entries.len() as u64);
    let (code, json) = cli(export.path(), &export.key, &[]);
    assert_eq!(code, 1);
    assert_eq!(json["first_failure"]["index"], 12);
}

#[test]
fn audit_swapped_entries_are_found_at_the_first() {
    let log = Log::with_alerts(30);
    let export = log.export();
    let mut entries = log.entries.clone();
    entries.swap(8, 21);
    rewrite_bundles(export.path(), &entries, entries.len() as u64);
    let (code, json) = cli(export.path(), &export.key, &[]);
    assert_eq!(code, 1);
    assert_eq!(json["first_failure"]["index"], 8);
}

#[test]
fn audit_truncated_log_reports_the_first_missing_entry() {
    let log = Log::with_alerts(300);
    let size = log.entries.len() as u64; // 301: one full bundle and a partial one
    let export = log.export();
    // The partial bundle, cut short under its own name.
    rewrite_bundles(export.path(), &log.entries[..280], size);
    let report = run(&export, None);
    assert!(
        matches!(failure(&report), (Some(280), Reason::Bundle { .. })),
        "{}",
        report.to_text()
    );
    // The same, written as the bundle of a smaller tree.
    rewrite_bundles(export.path(), &log.entries[..270], 270);
    let (code, json) = cli(export.path(), &export.key, &[]);
    assert_eq!(code, 1);
    assert_eq!(json["first_failure"]["index"], 270);
    // The whole partial bundle gone.
    rewrite_bundles(export.path(), &log.entries[..256], 256);
    let (code, json) = cli(export.path(), &export.key, &[]);
    assert_eq!(code, 1);
    assert_eq!(json["first_failure"]["index"], 256);
}

#[test]
fn audit_checkpoint_signed_by_another_key_fails() {
    let log = Log::with_alerts(5);
    let export = log.export();
    let (other, _) = NoteSigner::generate(ORIGIN).unwrap();
    let forged = SignedCheckpoint::sign(export.checkpoint.checkpoint.clone(), &other).unwrap();
    std::fs::write(export.path().join("checkpoint"), &forged.note).unwrap();
    let (code, json) = cli(export.path(), &export.key, &[]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["first_failure"]["index"], serde_json::Value::Null);
    assert!(matches!(failure(&run(&export, None)), (None, Reason::Checkpoint(_))));
}

#[test]
fn audit_forged_alert_signature_in_a_resigned_tree() {
    let log = Log::with_alerts(30);
    let mut entries = log.entries.clone();
    let mut s = submission(&entries[9]);
    s.envelope.as_mut().unwrap().signatures[0].sig[5] ^= 0x40;
    entries[9] = encode(s);
    let export = log.export_of(&entries);
    let (code, json) = cli(export.path(), &export.key, &[]);
    assert_eq!(code, 1);
    assert_eq!(json["first_failure"]["index"], 9);
    assert!(matches!(
        failure(&run(&export, None)),
        (Some(9), Reason::BadSignature { .. })
    ));
}

#[test]
fn audit_since_detects_fork_and_rollback_and_accepts_extension() {
    let log = Log::with_alerts(30);
    let old = log.checkpoint_of(20);
    let dir = tempfile::tempdir().unwrap();
    let old_path = dir.path().join("old.checkpoint");
    std::fs::write(&old_path, &old.note).unwrap();
    let since = ["--since", old_path.to_str().unwrap()];

    let export = log.export();
    let (code, json) = cli(export.path(), &export.key, &since);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["evidence"].as_array().unwrap().len(), 2);

    // History rewritten before the old size, every entry valid, re-signed.
    let mut entries = log.entries.clone();
    let a = alert("rewritten", "CO", &["PA"]);
    entries[6] = log.accept("CO", &signed(&log.fed, "CO", &a), log.now);
    let forked = log.export_of(&entries);
    let (code, json) = cli(forked.path(), &forked.key, &since);
    assert_eq!(code, 1, "{json}");
    let report = run(&forked, Some(&old_path));
    assert!(
        matches!(failure(&report), (None, Reason::Fork { old_size: 20 })),
        "{}",
        report.to_text()
    );
    assert!(report.to_text().contains(&old.note), "both notes are evidence");

    // An export smaller than what the auditor already trusts.
    let rolled_back = log.export_of(&log.entries[..15]);
    let report = run(&rolled_back, Some(&old_path));
    assert!(matches!(
        failure(&report),
        (
            None,
            Reason::Rollback {
                old_size: 20,
                new_size: 15
            }
        )
    ));
}

#[test]
fn audit_key_outside_its_validity_window_at_acceptance() {
    let log = Log::with_alerts(10);
    let mut entries = log.entries.clone();
    // The last entry, stamped after its key's 30-day window (so later than
    // every entry before it).
    let mut s = submission(&entries[10]);
    s.accepted = Some(unix_to_pb(unix_now() + 60 * 86_400));
    entries[10] = encode(s);
    let export = log.export_of(&entries);
    let (code, json) = cli(export.path(), &export.key, &[]);
    assert_eq!(code, 1);
    assert_eq!(json["first_failure"]["index"], 10);
    let report = run(&export, None);
    assert!(matches!(
        failure(&report),
        (Some(10), Reason::Refused(PublishError::KeyNotValid(_)))
    ));
}

/// The operator's back-dating (who holds the log key): an entry stamped
/// with a time before the entries ahead of it, tiles rebuilt and the tree
/// re-signed, as a signing key that has since expired would need. The
/// audit refuses it at that entry even with an earlier checkpoint that
/// the forged tree extends.
#[test]
fn audit_back_dated_entry_is_caught() {
    let log = Log::with_alerts(10);
    let mut entries = log.entries.clone();
    let mut s = submission(&entries[4]);
    s.accepted = Some(unix_to_pb(unix_now() - 1_800));
    let back_dated = encode(s);
    entries.push(back_dated);
    let report = run(&log.export_of(&entries), None);
    assert!(
        matches!(failure(&report), (Some(11), Reason::TimeWentBack { .. })),
        "{}",
        report.to_text()
    );
}

#[test]
fn audit_tls_key_of_another_principal() {
    let log = Log::with_alerts(10);
    let mut entries = log.entries.clone();
    let mut s = submission(&entries[3]);
    assert_ne!(s.principal, "US");
    s.tls_spki_sha256 = principal(&log.fed, "US").member.tls_spki[0].to_vec();
    entries[3] = encode(s);
    let export = log.export_of(&entries);
    let (code, json) = cli(export.path(), &export.key, &[]);
    assert_eq!(code, 1);
    assert_eq!(json["first_failure"]["index"], 3);
    assert!(matches!(
        failure(&run(&export, None)),
        (Some(3), Reason::TransportMismatch { .. })
    ));
}

#[test]
fn audit_duplicate_alert_id() {
    let mut log = Log::with_alerts(10);
    let who = log.roster.delegations().nth(2).unwrap().id.to_string(); // published a-2
    let mut again = alert("a-2", &who, &["CO"]);
    again.title = "different content, same id".into();
    let env = signed(&log.fed, &who, &again);
    let bytes = log.accept(&who, &env, log.now);
    log.entries.push(bytes);
    let export = log.export();
    let (code, json) = cli(export.path(), &export.key, &[]);
    assert_eq!(code, 1);
    assert_eq!(json["first_failure"]["index"], 11);
    let report = run(&export, None);
    assert!(
        matches!(failure(&report), (Some(11), Reason::Duplicate { first: 3, .. })),
        "{}",
        report.to_text()
    );
}

#[test]
fn audit_retraction_of_another_delegations_alert() {
    let log = Log::with_alerts(10);
    // PA "retracts" CO's a-0; a lying `exists` gets it past ingest here.
    let mut a = alert("pa-retracts", "PA", &["ALL"]);
    a.amends = Some(pb::Amendment {
        widens_distribution: false,
        id: "a-0".into(),
        kind: pb::AmendmentKind::Retraction as i32,
        reason: "not yours".into(),
    });
    let member = &principal(&log.fed, "PA").member;
    let caller = Caller {
        member,
        spki: &member.tls_spki[0],
    };
    let env = signed(&log.fed, "PA", &a);
    let everyone = log.roster.delegations().map(|m| m.id.as_str()).collect();
    let lie = |_: &str| {
        Some(Original {
            tlp: pb::Tlp::Clear as i32,
            recipients: everyone,
        })
    };
    let accepted = ingest::check(&env, caller, &log.roster, &Stamp::fresh(unix_now()), lie).unwrap();
    let mut entries = log.entries.clone();
    entries.push(accepted.entry.bytes);
    let export = log.export_of(&entries);
    let (code, json) = cli(export.path(), &export.key, &[]);
    assert_eq!(code, 1);
    assert_eq!(json["first_failure"]["index"], 11);
    assert!(matches!(
        failure(&run(&export, None)),
        (Some(11), Reason::Refused(PublishError::AmendsMissing(_)))
    ));
}

#[test]
fn audit_key_rotation_through_a_roster_entry() {
    let mut log = Log::with_alerts(5);
    let old_key = super::util::signing(&log.fed, "CO").clone();
    let new_key = SigningKey::generate();
    let mut members: Vec<_> = log.roster.members().cloned().collect();
    let co = members.iter_mut().find(|m| m.id.as_str() == "CO").unwrap();
    co.keys = vec![RosterKey {
        key: new_key.public_key(),
        not_before: unix_now() - 60,
        not_after: unix_now() + 86_400,
    }];
    let mut terms = log.roster.terms();
    terms.version += 1;
    terms.issued += 1;
    log.roster = Roster::new(members, terms).unwrap();
    log.entries
        .push(NewEntry::roster(log.fed.approved(&log.roster), unix_now(), i64::MAX).bytes);
    let a = alert("after-rotation", "CO", &["PA"]);
    let env = isthmus::envelope::sign(&a, &new_key);
    let bytes = log.accept("CO", &env, log.now);
    log.entries.push(bytes);
    let report = run(&log.export(), None);
    assert!(report.result.is_ok(), "{}", report.to_text());
    assert_eq!(report.counts.roster_entries, 2);

    // A checkpoint naming the old roster, as a hub hiding the rotation from
    // some readers would have to sign, does not audit.
    let export = log.export();
    let stale = sign_with(&log.entries, &log.signer, vec!["roster 0".into()]);
    std::fs::write(export.path().join("checkpoint"), &stale.note).unwrap();
    let report = run(&export, None);
    assert!(
        matches!(
            failure(&report),
            (
                None,
                Reason::RosterLine {
                    claimed: Some(0),
                    actual: Some(6)
                }
            )
        ),
        "{}",
        report.to_text()
    );

    // The old key, no longer in the roster in force, is refused from then on.
    let stale = isthmus::envelope::sign(&alert("stale-key", "CO", &["PA"]), &old_key);
    let mut entries = log.entries.clone();
    let mut s = submission(&entries[entries.len() - 1]);
    s.envelope = Some(stale);
    entries.push(encode(s));
    let report = run(&log.export_of(&entries), None);
    assert!(matches!(
        failure(&report),
        (Some(8), Reason::Refused(PublishError::UnknownKey(_)))
    ));
}

/// A hub operator (who holds the log key and re-signs the tree) adds a key
/// for CO with too few approvals, then publishes as CO with it: the audit
/// stops at the roster entry. A replayed genesis roster is caught too.
#[test]
fn audit_roster_change_without_a_quorum_is_caught() {
    let mut log = Log::with_alerts(2);
    let forged = SigningKey::generate();
    let mut members: Vec<_> = log.roster.members().cloned().collect();
    let co = members.iter_mut().find(|m| m.id.as_str() == "CO").unwrap();
    co.keys.push(RosterKey {
        key: forged.public_key(),
        not_before: unix_now() - 60,
        not_after: unix_now() + 86_400,
    });
    let mut terms = log.roster.terms();
    terms.version += 1;
    terms.issued += 1;
    let next = Roster::new(members, terms).unwrap();
    let few = ["PA", "US", "BR"]
        .iter()
        .map(|id| isthmus::roster::change::approve(&next, super::util::signing(&log.fed, id)))
        .collect();
    let at = log.entries.len() as u64;
    log.entries
        .push(NewEntry::roster(isthmus::roster::change::seal(&next, few), unix_now(), i64::MAX).bytes);
    log.roster = next;
    let bytes = log.accept(
        "CO",
        &isthmus::envelope::sign(&alert("forged", "CO", &["PA"]), &forged),
        unix_now(),
    );
    log.entries.push(bytes);
    let report = run(&log.export(), None);
    match failure(&report) {
        (Some(i), Reason::Roster(e)) if i == at => {
            assert!(e.to_string().contains("needs 11 delegations"), "{e}")
        }
        other => panic!("expected the roster entry {at} to fail, got {other:?}"),
    }

    let mut replay = Log::with_alerts(1);
    let genesis = NewEntry::roster(replay.fed.approved(&replay.roster), unix_now(), i64::MAX).bytes;
    replay.entries.push(genesis);
    let report = run(&replay.export(), None);
    assert!(matches!(
        failure(&report),
        (
            Some(_),
            Reason::Roster(isthmus::roster::change::ChangeError::Version { previous: 1, got: 1 })
        )
    ));
}

#[test]
fn audit_pins_the_genesis_roster() {
    let log = Log::with_alerts(1);
    let export = log.export();
    let (code, json) = cli(export.path(), &export.key, &[]);
    assert_eq!(code, 0, "{json}");
    let genesis = json["counts"]["genesis_roster_sha256"]
        .as_str()
        .expect("printed")
        .to_owned();
    assert_eq!(cli(export.path(), &export.key, &["--genesis", &genesis]).0, 0);

    // The same federation with another genesis (say, one an operator drew up
    // with a key of its own for CO, approved by itself) is refused.
    let other = Log::with_alerts(1);
    let export = other.export_of(&other.entries);
    let (code, json) = cli(export.path(), &export.key, &["--genesis", &genesis]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["first_failure"]["index"], 0);
    assert!(json["first_failure"]["reason"]
        .as_str()
        .unwrap()
        .contains("pinned --genesis"));
}

#[test]
fn audit_unusable_input_exits_2() {
    let log = Log::with_alerts(2);
    let export = log.export();
    let says = |json: &serde_json::Value, what: &str| {
        let reason = json["first_failure"]["reason"].as_str().unwrap_or_default().to_owned();
        assert!(reason.contains(what), "{reason:?} lacks {what:?}");
        assert!(json["counts"].is_null(), "nothing checked, no counts: {json}");
    };
    let missing = export.path().join("no-such-export");
    let (code, json) = cli(&missing, &export.key, &[]);
    assert_eq!(code, 2);
    says(&json, "does not exist or is not a directory");
    let empty = tempfile::tempdir().unwrap();
    let (code, json) = cli(empty.path(), &export.key, &[]);
    assert_eq!(code, 2);
    assert_eq!(json["verdict"], "unusable_input");
    says(&json, "has no checkpoint file");
    let (code, json) = cli(export.path(), "/nowhere/log.pub", &[]);
    assert_eq!(code, 2);
    says(&json, "trusted log key file /nowhere/log.pub does not exist");
    assert_eq!(cli(export.path(), "not-a-key", &[]).0, 2);
    let no_old: PathBuf = export.path().join("missing.checkpoint");
    assert_eq!(
        cli(export.path(), &export.key, &["--since", no_old.to_str().unwrap()]).0,
        2
    );
    let usage = Command::new(env!("CARGO_BIN_EXE_isthmus-audit"))
        .arg("verify")
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

/// Audit and ingest share one signature rule: among many valid signatures,
/// exactly the one ingest refuses is the one the batched audit reports.
#[test]
fn audit_and_ingest_agree_on_one_bad_signature_among_many() {
    let log = Log::with_alerts(1200);
    let bad = 1001;
    let mut entries = log.entries.clone();
    let mut s = submission(&entries[bad]);
    let stamp = RecordedStamp::of(&s).unwrap();
    let env = s.envelope.as_mut().unwrap();
    let last = env.signatures[0].sig.len() - 1;
    env.signatures[0].sig[last] ^= 0x01;
    let member = &principal(&log.fed, &s.principal).member;
    let caller = Caller {
        member,
        spki: &member.tls_spki[0],
    };
    let refused = ingest::check(env, caller, &log.roster, &stamp, |_| None).unwrap_err();
    assert!(matches!(refused, PublishError::BadSignature(_)));
    entries[bad] = encode(s);
    let report = run(&log.export_of(&entries), None);
    assert!(
        matches!(failure(&report), (Some(1001), Reason::BadSignature { .. })),
        "{}",
        report.to_text()
    );
    assert_eq!(report.counts.signatures_checked, 1200);
}

/// A checkpoint that is present but damaged in any way is an integrity
/// failure (exit 1), never "unusable input" (exit 2), which an auditor might
/// answer by just downloading again.
#[test]
fn audit_damaged_checkpoint_is_an_integrity_failure() {
    let log = Log::with_alerts(5);
    let note = log.export().checkpoint.note;
    let damaged: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"garbage".to_vec()),
        ("truncated", note.as_bytes()[..note.len() / 2].to_vec()),
        ("not UTF-8", [note.as_bytes(), &[0xff, 0xfe]].concat()),
        (
            "no signature lines",
            note.split("\n\n").next().unwrap().as_bytes().to_vec(),
        ),
        ("a flipped byte", {
            let mut b = note.as_bytes().to_vec();
            b[3] ^= 0x01;
            b
        }),
    ];
    for (what, bytes) in damaged {
        let export = log.export();
        std::fs::write(export.path().join("checkpoint"), bytes).unwrap();
        let (code, json) = cli(export.path(), &export.key, &[]);
        assert_eq!(code, 1, "{what}: {json}");
        assert_eq!(json["verdict"], "integrity_failure", "{what}");
    }
}

/// A byte flipped in a full level-0 hash tile: the root from the tiles
/// still comes out right (it is computed from the level-1 tile), but the
/// damaged tile no longer hashes to its parent. The audit names the tile and
/// does not blame the intact entries.
#[test]
fn audit_damaged_hash_tile_is_named_and_entries_are_not_blamed() {
    let log = Log::with_alerts(600);
    let export = log.export();
    let tile = export.path().join(tile_path(Some(0), 1, TILE_WIDTH));
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[100] ^= 0x20;
    std::fs::write(&tile, bytes).unwrap();
    let report = run(&export, None);
    match failure(&report) {
        (None, Reason::Tiles(why)) => {
            assert!(
                why.contains("tile/0/001") && why.contains("every entry is intact"),
                "{why}"
            )
        }
        other => panic!("expected the tile to be named, got {other:?}"),
    }
}

/// C2SP tlog-tiles lets a server serve a full tile where a partial one is
/// expected: an export of 600 entries audited at a checkpoint of 300 reads
/// the full entry bundle and hash tile 001 for their first 44 entries.
#[test]
fn audit_accepts_full_tiles_in_place_of_partial_ones() {
    let log = Log::with_alerts(599);
    let export = log.export();
    let at_300 = sign(&log.entries[..300], &log.signer);
    std::fs::write(export.path().join("checkpoint"), &at_300.note).unwrap();
    let level1 = std::fs::read(export.path().join(tile_path(Some(1), 0, 2))).unwrap();
    std::fs::write(export.path().join(tile_path(Some(1), 0, 1)), &level1[..32]).unwrap();
    assert!(!export.path().join(tile_path(None, 1, 44)).exists());
    let report = run(&export, None);
    assert!(report.result.is_ok(), "{}", report.to_text());
    assert_eq!(report.counts.entries, 300);
}

/// A ledger written before the hub applied the strict RFC 8032 rule may hold
/// an alert whose signature holds only under the cofactored equation (its R
/// carries an order-2 component). Ingest refuses it today; the audit's
/// cofactored rule accepts it, so the export is INTACT, and with
/// `--strict-signatures` the report names it.
#[test]
fn audit_names_an_old_cofactored_only_signature_and_still_says_intact() {
    let mut log = Log::with_alerts(10);
    let env = super::util::torsion_signed(&log.fed, &alert("old-torsion", "CO", &["PA"]));
    let member = &principal(&log.fed, "CO").member;
    let caller = Caller {
        member,
        spki: &member.tls_spki[0],
    };
    let stamp = Stamp::fresh(unix_now());
    let refused = ingest::check(&env, caller, &log.roster, &stamp, |_| None).unwrap_err();
    assert!(matches!(refused, PublishError::CofactoredOnly(_)), "{refused}");
    let signed = ingest::check_authorship(&env, member, &log.roster, stamp.now).unwrap();
    let old_hub = ingest::check_content(&env, &signed, caller, &log.roster, &stamp, |_| None).unwrap();
    log.entries.push(old_hub.entry.bytes);
    let export = log.export();

    let report = run(&export, None);
    assert!(report.result.is_ok(), "{}", report.to_text());
    assert_eq!(report.counts.signatures_checked, 11);
    assert_eq!(report.counts.cofactored_only, None, "not looked for by default");

    let (code, json) = cli(export.path(), &export.key, &["--strict-signatures"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["verdict"], "intact");
    assert_eq!(json["counts"]["cofactored_only"]["count"], 1);
    assert_eq!(json["counts"]["cofactored_only"]["first_indices"][0], 11);
}

/// Writes a large export for timing the release binary:
/// `AUDIT_ENTRIES=100000 cargo test --test it write_large_export -- --ignored`,
/// then `isthmus-audit verify /tmp/isthmus-audit-export --log-key /tmp/isthmus-audit-export.vkey`.
#[test]
#[ignore]
fn write_large_export() {
    let n: usize = std::env::var("AUDIT_ENTRIES").map_or(100_000, |v| v.parse().unwrap());
    let log = Log::with_alerts(n);
    let dir = PathBuf::from("/tmp/isthmus-audit-export");
    let _ = std::fs::remove_dir_all(&dir);
    write_export(&dir, &log.entries, &log.signer);
    std::fs::write("/tmp/isthmus-audit-export.vkey", log.signer.verifier_key()).unwrap();
}

/// A TLP:RED alert from CO to `to`.
fn red(id: &str, to: &[&str]) -> pb::Alert {
    let mut a = alert(id, "CO", to);
    a.tlp = pb::Tlp::Red as i32;
    a
}

/// The sealing key of `id`, written to a file in `dir`.
fn sealing_key_file(fed: &DevFederation, id: &str, dir: &Path) -> PathBuf {
    let path = dir.join(format!("{id}.sealing.key.pem"));
    let key = principal(fed, id).sealing.as_ref().unwrap();
    std::fs::write(&path, key.to_pkcs8_pem()).unwrap();
    path
}

#[test]
fn audit_sealed_alerts_without_keys_and_opened_with_a_readers_key() {
    let mut log = Log::with_alerts(10);
    for (i, to) in [&["PA", "US"][..], &["PA"], &["US"]].iter().enumerate() {
        let a = red(&format!("red-{i}"), to);
        let env = log.fed.sealed(&a).unwrap();
        log.publish_envelope("CO", &a.id, &env);
    }
    let export = log.export();
    let (code, json) = cli(export.path(), &export.key, &[]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["counts"]["sealed"], 3);
    assert_eq!(json["counts"]["sealed_opened"], 0);
    let keys = tempfile::tempdir().unwrap();
    let pa = sealing_key_file(&log.fed, "PA", keys.path());
    let (code, json) = cli(export.path(), &export.key, &["--open-with", pa.to_str().unwrap()]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["counts"]["sealed_opened"], 2, "PA reads two of the three");
}

#[test]
fn audit_finds_a_flipped_ciphertext_byte_under_the_outer_signature() {
    let mut log = Log::with_alerts(5);
    let a = red("red-1", &["PA"]);
    let env = log.fed.sealed(&a).unwrap();
    let k = log.publish_envelope("CO", &a.id, &env) as usize;
    let mut entries = log.entries.clone();
    let mut s = submission(&entries[k]);
    let payload = &mut s.envelope.as_mut().unwrap().payload;
    let n = payload.len() - 10; // inside the ciphertext, the payload's last field
    payload[n] ^= 0x01;
    entries[k] = encode(s);
    let export = log.export_of(&entries);
    let (code, json) = cli(export.path(), &export.key, &[]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["first_failure"]["index"], k as u64);
    assert!(matches!(failure(&run(&export, None)), (Some(i), Reason::BadSignature { .. }) if i == k as u64));
}

#[test]
fn audit_open_with_finds_an_inner_alert_that_disagrees_with_its_header() {
    let mut log = Log::with_alerts(5);
    let a = red("red-1", &["PA", "US"]);
    let mut routed = a.clone();
    routed.recipients = vec!["PA".into()];
    let key = |id: &str| principal(&log.fed, id).sealing.clone().unwrap();
    let (co, pa) = (key("CO"), key("PA"));
    let readers = [
        isthmus::seal::Reader {
            id: "CO",
            key: co.public_key(),
        },
        isthmus::seal::Reader {
            id: "PA",
            key: pa.public_key(),
        },
    ];
    let signer = principal(&log.fed, "CO").signing.clone().unwrap();
    let env = isthmus::seal::seal(&isthmus::envelope::sign(&a, &signer), &routed, &readers, &signer);
    let k = log.publish_envelope("CO", &a.id, &env);
    let export = log.export();
    let (code, json) = cli(export.path(), &export.key, &[]);
    assert_eq!(code, 0, "without a key the audit cannot tell: {json}");
    let keys = tempfile::tempdir().unwrap();
    let pa_file = sealing_key_file(&log.fed, "PA", keys.path());
    let (code, json) = cli(export.path(), &export.key, &["--open-with", pa_file.to_str().unwrap()]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["first_failure"]["index"], k);
    assert!(
        json["first_failure"]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("recipients"),
        "{json}"
    );
}
