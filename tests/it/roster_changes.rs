//! Roster changes take effect only with the federation's approval: a real
//! `isthmusd` refuses to start on a changed roster until a quorum of the
//! delegations in force has approved it with `isthmus roster-approve`, and
//! the audit accepts the approved change.

use crate::util::processes::{audit, cli, export_as_auditor, write_federation, Daemon};
use isthmus::devcerts::DELEGATIONS;
use isthmus::roster::Roster;
use std::path::Path;
use std::process::Command;

/// Runs `isthmusd` expecting it to refuse to start; returns its stderr.
fn refused_start(certs: &Path, data: &Path) -> String {
    let files = [
        ("--ca", "ca.pem"),
        ("--cert", "server.pem"),
        ("--key", "server.key.pem"),
        ("--roster", "roster.toml"),
        ("--roster-approvals", "roster.approvals"),
        ("--log-key", "log.key"),
    ];
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_isthmusd"));
    cmd.args(["--dev", "--listen", "127.0.0.1:0", "--data-dir"]).arg(data);
    for (flag, file) in files {
        cmd.arg(flag).arg(certs.join(file));
    }
    let out = cmd.output().expect("run isthmusd");
    assert_eq!(out.status.code(), Some(2), "isthmusd must refuse to start");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Approval lines from `who`, made by the CLI from the roster file on disk.
fn approvals(certs: &Path, who: &[&str]) -> String {
    let unused = "127.0.0.1:1".parse().expect("addr");
    let roster = certs.join("roster.toml");
    who.iter()
        .map(|id| {
            let out = cli(
                certs,
                &unused,
                &["--as", id, "roster-approve", roster.to_str().expect("utf-8")],
            );
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).expect("utf-8")
        })
        .collect()
}

#[tokio::test]
async fn a_roster_change_needs_a_quorum_of_the_delegations_in_force() {
    let (fed, certs) = write_federation(30);
    let data = tempfile::tempdir().expect("data");
    let d = Daemon::start(certs.path(), data.path());
    let out = cli(certs.path(), &d.addr, &["--as", "HN", "whoami"]);
    assert!(out.status.success(), "HN is in the genesis roster");
    assert!(d.terminate().success());

    // Version 2 drops HN.
    let genesis = fed.roster().expect("roster");
    let mut terms = genesis.terms();
    terms.version = 2;
    terms.issued += 1;
    let members = genesis.members().filter(|m| m.id.as_str() != "HN").cloned().collect();
    let next = Roster::new(members, terms).expect("roster v2");
    let text = toml::to_string(&next.to_file()).expect("toml");
    std::fs::write(certs.path().join("roster.toml"), text).expect("write roster");

    // A roster takes effect only once issued: wait for the second it names.
    while isthmus::time::unix_now() < terms.issued {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let few: Vec<&str> = DELEGATIONS.iter().map(|d| d.0).take(3).collect();
    std::fs::write(certs.path().join("roster.approvals"), approvals(certs.path(), &few)).expect("write");
    let err = refused_start(certs.path(), data.path());
    assert!(
        err.contains("has approvals from 3 delegation(s)") && err.contains("needs 11 delegations"),
        "{err}"
    );

    let quorum: Vec<&str> = DELEGATIONS.iter().map(|d| d.0).take(11).collect();
    std::fs::write(certs.path().join("roster.approvals"), approvals(certs.path(), &quorum)).expect("write");
    let d = Daemon::start(certs.path(), data.path());
    let out = cli(certs.path(), &d.addr, &["--as", "HN", "whoami"]);
    assert_eq!(out.status.code(), Some(1), "HN is out of the roster");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not bound to any roster principal"));
    let out = cli(certs.path(), &d.addr, &["--as", "AUDITOR", "get", "1"]);
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(
        line.contains("roster version 2") && line.contains("11 approvals"),
        "{line}"
    );

    let (_dir, export) = export_as_auditor(certs.path(), &d);
    assert!(d.terminate().success());
    let (code, report) = audit(&export, &certs.path().join("log.pub"));
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["counts"]["roster_entries"], 2, "{report}");

    // The genesis roster, approved in its day, cannot come back.
    std::fs::write(
        certs.path().join("roster.toml"),
        toml::to_string(&genesis.to_file()).expect("toml"),
    )
    .expect("write");
    std::fs::write(certs.path().join("roster.approvals"), approvals(certs.path(), &quorum)).expect("write");
    let err = refused_start(certs.path(), data.path());
    assert!(err.contains("roster version 1 cannot follow version 2"), "{err}");
}
