//! `isthmus-audit verify --policy`: the witnesses' cosignature times bound
//! the hub's acceptance times from outside the hub. An entry in a tree a
//! quorum cosigned at T cannot have been accepted after T (forward-dated),
//! and an entry beyond a checkpoint a quorum cosigned at T0 cannot have
//! been accepted before T0 (back-dated), each within the allowed skew.

use std::path::Path;

use isthmus::audit::{self, Options, Reason, Report};
use isthmus::ledger::checkpoint::SignedCheckpoint;
use isthmus::witness::Cosigner;

use crate::audit::{failure, Export, Log};

/// One witness, and a policy file requiring it.
struct Witnessing {
    witness: Cosigner,
    policy: std::path::PathBuf,
    dir: tempfile::TempDir,
}

impl Witnessing {
    fn new() -> Self {
        let witness = Cosigner::generate("w.example/witness").expect("key").0;
        let dir = tempfile::tempdir().expect("dir");
        let policy = dir.path().join("policy");
        std::fs::write(&policy, format!("witness W {}\nquorum W\n", witness.verifier())).expect("policy");
        Witnessing { witness, policy, dir }
    }

    /// `cp`'s note with the witness's cosignature stamped `at`.
    fn cosigned(&self, cp: &SignedCheckpoint, at: i64) -> String {
        let line = self.witness.sign(&cp.checkpoint.to_text(), at as u64).expect("cosign");
        format!("{}{line}", cp.note)
    }

    /// Rewrites the export's checkpoint as cosigned at `at`.
    fn cosign_export(&self, export: &Export, at: i64) {
        std::fs::write(export.path().join("checkpoint"), self.cosigned(&export.checkpoint, at)).expect("write");
    }

    /// Writes `cp` cosigned at `at` as the auditor's earlier checkpoint.
    fn earlier(&self, cp: &SignedCheckpoint, at: i64) -> std::path::PathBuf {
        let path = self.dir.path().join(format!("old-{at}"));
        std::fs::write(&path, self.cosigned(cp, at)).expect("write");
        path
    }

    fn audit(&self, export: &Export, since: Option<&Path>, skew: u64) -> Report {
        let opts = Options {
            log_key: &export.key,
            since,
            genesis: None,
            strict_signatures: false,
            policy: Some(&self.policy),
            time_skew: skew,
            open_with: &[],
        };
        audit::verify(export.path(), &opts, &mut |_, _| {})
    }
}

#[test]
fn cosignature_times_catch_forward_dated_entries() {
    let log = Log::with_alerts(6); // genesis an hour before `now`, alerts at `now`
    let w = Witnessing::new();
    let export = log.export();

    w.cosign_export(&export, log.now + 60);
    let report = w.audit(&export, None, 300);
    assert_eq!(report.exit_code(), 0, "{}", report.to_text());
    let said = report.to_text();
    assert!(
        said.contains(&format!(
            "witness quorum:     W met: cosigned by W; no entry accepted after {} + 300 s",
            log.now + 60
        )),
        "{said}"
    );

    // The witness saw this very tree half an hour before its alerts claim
    // to have been accepted.
    w.cosign_export(&export, log.now - 1_800);
    let report = w.audit(&export, None, 300);
    match failure(&report) {
        (
            Some(1),
            Reason::AfterWitnessed {
                accepted,
                witnessed,
                skew,
            },
        ) => {
            assert_eq!((*accepted, *witnessed, *skew), (log.now, log.now - 1_800, 300));
        }
        other => panic!("expected entry 1 forward-dated, got {other:?}"),
    }
    assert_eq!(w.audit(&export, None, 1_800).exit_code(), 0, "within the skew allowed");
}

#[test]
fn cosignature_times_of_an_earlier_checkpoint_catch_back_dated_entries() {
    let log = Log::with_alerts(6);
    let w = Witnessing::new();
    let export = log.export();
    w.cosign_export(&export, log.now + 7_200);

    // A quorum cosigned the first 3 entries an hour after entry 3 and on
    // claim to have been accepted: they were added later and back-dated.
    let old = w.earlier(&log.checkpoint_of(3), log.now + 3_600);
    let report = w.audit(&export, Some(&old), 300);
    match failure(&report) {
        (
            Some(3),
            Reason::BeforeWitnessed {
                old_size: 3, witnessed, ..
            },
        ) => {
            assert_eq!(*witnessed, log.now + 3_600);
        }
        other => panic!("expected entry 3 back-dated, got {other:?}"),
    }

    let honest = w.earlier(&log.checkpoint_of(3), log.now);
    let report = w.audit(&export, Some(&honest), 300);
    assert_eq!(report.exit_code(), 0, "{}", report.to_text());
    assert!(report
        .to_text()
        .contains(&format!("none from entry 3 on accepted before {} - 300 s", log.now)));

    // The same through the real binary and its --time-skew flag.
    let run = |skew: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_isthmus-audit"))
            .arg("verify")
            .arg(export.path())
            .args(["--log-key", &export.key, "--policy"])
            .arg(&w.policy)
            .arg("--since")
            .arg(&old)
            .args(["--time-skew", skew])
            .output()
            .expect("run isthmus-audit")
    };
    let out = run("300");
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.starts_with("INTEGRITY FAILURE at entry 3: accepted at"), "{said}");
    assert!(said.contains("the entry was back-dated"), "{said}");
    assert_eq!(run("3600").status.code(), Some(0), "within the skew allowed");
}
