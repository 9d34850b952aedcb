//! The real executables: `isthmusd` as a process (killed and restarted),
//! the `isthmus` CLI driving it, and `isthmus-audit` checking its exports.

use crate::util::processes::*;
use crate::util::*;
use isthmus::pb;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

#[tokio::test]
async fn every_acknowledged_entry_survives_sigkill_and_restart() {
    let (fed, certs) = write_federation(30);
    let data = tempfile::tempdir().expect("data");
    let d = Daemon::start(certs.path(), data.path());
    let server = d.addr.to_string();
    let mut co = isthmus::client::connect(&server, &tls_of(&fed, "CO"))
        .await
        .expect("connect");
    let mut receipts = Vec::new();
    for i in 0..50 {
        let env = signed(&fed, "CO", &alert(&format!("k-{i}"), "CO", &["PA"]));
        receipts.push(co.publish(env).await.expect("publish").into_inner());
    }
    drop(co);
    d.kill();

    let d = Daemon::start(certs.path(), data.path());
    let mut pa = isthmus::client::connect(&d.addr.to_string(), &tls_of(&fed, "PA"))
        .await
        .expect("reconnect");
    for (i, r) in receipts.iter().enumerate() {
        let got = pa
            .get_entry(pb::GetEntryRequest {
                key: Some(pb::get_entry_request::Key::Index(r.index)),
            })
            .await
            .expect("acknowledged entry present")
            .into_inner();
        assert_eq!(
            isthmus::ledger::merkle::leaf_hash(&got.entry).to_vec(),
            r.leaf_hash,
            "same bytes"
        );
        assert_eq!(alert_id(&got), format!("k-{i}"));
    }
    let me = pa.who_am_i(pb::WhoAmIRequest {}).await.expect("whoami").into_inner();
    assert_eq!(
        me.ledger_size,
        receipts.last().expect("some").index + 1,
        "roster not re-appended, nothing lost"
    );
    assert!(d.terminate().success(), "SIGTERM is a clean shutdown");
}

#[tokio::test]
async fn officers_publish_tail_and_get_through_the_cli() {
    let (_fed, certs) = write_federation(30);
    let data = tempfile::tempdir().expect("data");
    let d = Daemon::start(certs.path(), data.path());
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/alert.toml");

    let out = cli(certs.path(), &d.addr, &["--as", "CO", "--json", "publish", example]);
    assert!(
        out.status.success(),
        "publish: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let receipt: serde_json::Value = serde_json::from_slice(&out.stdout).expect("receipt JSON");
    let index = receipt["index"].as_u64().expect("index");
    assert_eq!(index, 1, "entry 0 is the genesis roster");

    let out = cli(
        certs.path(),
        &d.addr,
        &["--as", "PA", "tail", "--from", "0", "--limit", "1", "--json"],
    );
    assert!(out.status.success(), "tail: {}", String::from_utf8_lossy(&out.stderr));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(line["index"], index);
    assert_eq!(line["publisher"], "CO");
    assert_eq!(line["alert"]["tlp"], "AMBER");
    assert!(line["alert"]["title"].as_str().expect("title").contains("Darién"));

    let out = cli(certs.path(), &d.addr, &["--as", "PA", "get", &index.to_string()]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("CO -> PA,US"),
        "readable line"
    );

    let out = cli(certs.path(), &d.addr, &["--as", "BR", "get", &index.to_string()]);
    assert_eq!(out.status.code(), Some(1), "refused by the hub");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such entry is visible to you"));

    let out = cli(certs.path(), &d.addr, &["--as", "CO", "publish", "/nonexistent.toml"]);
    assert_eq!(out.status.code(), Some(2), "local problem");

    let out = cli(certs.path(), &d.addr, &["--as", "AUDITOR", "--json", "whoami"]);
    let me: serde_json::Value = serde_json::from_slice(&out.stdout).expect("whoami JSON");
    assert_eq!(
        (me["principal"].as_str(), me["ledger_size"].as_u64()),
        (Some("AUDITOR"), Some(2))
    );

    let out = cli(certs.path(), &d.addr, &["--as", "PA", "--json", "health"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let h: serde_json::Value = serde_json::from_slice(&out.stdout).expect("health JSON");
    assert_eq!(h["status"], "SERVING");
    let out = cli(
        certs.path(),
        &d.addr,
        &["--as", "PA", "health", "--service", "no.such.Service"],
    );
    assert_eq!(out.status.code(), Some(1), "an unknown service is refused by the hub");
    assert!(d.terminate().success());
}

#[test]
fn keygen_writes_a_usable_key_pair_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().expect("tmp");
    // A dot in the prefix is kept, not taken for an extension.
    let prefix = dir.path().join("co.2027");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_isthmus"))
            .arg("keygen")
            .arg("--out")
            .arg(&prefix)
            .output()
            .expect("run")
    };
    let out = run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let secret = std::fs::read_to_string(dir.path().join("co.2027.key.pem")).expect("secret");
    let public = std::fs::read_to_string(dir.path().join("co.2027.pub.pem")).expect("public");
    let key = isthmus::crypto::SigningKey::from_pkcs8_pem(&secret).expect("pkcs8");
    assert_eq!(
        isthmus::crypto::PublicKey::from_spki_pem(&public).expect("spki"),
        key.public_key()
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains(&key.public_key().key_id()));
    assert_eq!(run().status.code(), Some(2), "never overwrites a key");
}

#[tokio::test]
async fn receipts_verify_offline_and_tampering_is_caught() {
    let (_fed, certs) = write_federation(30);
    let data = tempfile::tempdir().expect("data");
    let d = Daemon::start(certs.path(), data.path());
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/alert.toml");
    let receipt = data.path().join("alert.tlog-proof");
    let r = receipt.to_str().expect("utf-8");
    let out = cli(
        certs.path(),
        &d.addr,
        &["--as", "CO", "publish", example, "--receipt", r],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(d.terminate().success());

    let offline = SocketAddr::from(([127, 0, 0, 1], 9));
    let log_pub = certs.path().join("log.pub");
    let lp = log_pub.to_str().expect("utf-8");
    let out = cli(certs.path(), &offline, &["verify-receipt", r, "--log-key", lp]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("VALID: entry 1 "));

    let text = std::fs::read_to_string(&receipt).expect("receipt");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[2] = "index 2".into();
    std::fs::write(&receipt, lines.join("\n") + "\n").expect("tamper");
    let out = cli(certs.path(), &offline, &["verify-receipt", r, "--log-key", lp]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("INVALID"));
}

#[tokio::test]
async fn online_and_offline_exports_agree_and_stores_behind_their_checkpoint_refuse_to_start() {
    let (fed, certs) = write_federation(30);
    let data = tempfile::tempdir().expect("data");
    let d = Daemon::start(certs.path(), data.path());
    let mut co = isthmus::client::connect(&d.addr.to_string(), &tls_of(&fed, "CO"))
        .await
        .expect("connect");
    for i in 0..5 {
        co.publish(signed(&fed, "CO", &alert(&format!("e-{i}"), "CO", &["PA"])))
            .await
            .expect("publish");
    }
    co.get_checkpoint(pb::GetCheckpointRequest {
        min_size: 6,
        ..Default::default()
    })
    .await
    .expect("checkpoint covers all");
    let online = tempfile::tempdir().expect("out");
    let online_dir = online.path().join("export");
    let out = cli(
        certs.path(),
        &d.addr,
        &["--as", "AUDITOR", "export", online_dir.to_str().expect("utf-8")],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = cli(certs.path(), &d.addr, &["--as", "PA", "export", "/tmp/never"]);
    assert_eq!(out.status.code(), Some(2), "only auditors export");
    drop(co);
    assert!(d.terminate().success());

    let offline_dir = online.path().join("offline");
    let st = Command::new(env!("CARGO_BIN_EXE_isthmusd"))
        .args(["export", "--data"])
        .arg(data.path())
        .arg("--out")
        .arg(&offline_dir)
        .status()
        .expect("isthmusd export");
    assert!(st.success());
    assert_eq!(
        tree_files(&online_dir),
        tree_files(&offline_dir),
        "same export either way"
    );
    let reader = isthmus::ledger::tiles::TileReader::open(&online_dir).expect("tiles");
    let cp = reader.checkpoint(&fed.log.verifier()).expect("signed by the log key");
    assert_eq!(cp.checkpoint.size, 6);
    assert_eq!(reader.entries(6).count(), 6);

    // A backup of the sled files from before the last publishes, restored
    // under the newer checkpoint file: the hub must refuse to start.
    let backup = tempfile::tempdir().expect("backup");
    let d = Daemon::start(certs.path(), data.path());
    let _ = d.terminate();
    for (rel, bytes) in tree_files(data.path()) {
        let p = backup.path().join(&rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, bytes).expect("copy");
    }
    let d = Daemon::start(certs.path(), data.path());
    let mut co = isthmus::client::connect(&d.addr.to_string(), &tls_of(&fed, "CO"))
        .await
        .expect("connect");
    co.publish(signed(&fed, "CO", &alert("late", "CO", &["PA"])))
        .await
        .expect("publish");
    co.get_checkpoint(pb::GetCheckpointRequest {
        min_size: 7,
        ..Default::default()
    })
    .await
    .expect("checkpoint 7");
    drop(co);
    assert!(d.terminate().success());
    for (rel, bytes) in tree_files(backup.path()) {
        if rel != "checkpoint" {
            std::fs::write(data.path().join(&rel), bytes).expect("restore old sled files");
        }
    }
    let out = Command::new(env!("CARGO_BIN_EXE_isthmusd"))
        .args(["--dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .args(
            ["--ca", "--cert", "--key", "--roster", "--roster-approvals", "--log-key"]
                .iter()
                .zip([
                    "ca.pem",
                    "server.pem",
                    "server.key.pem",
                    "roster.toml",
                    "roster.approvals",
                    "log.key",
                ])
                .flat_map(|(f, n)| [std::ffi::OsString::from(f), certs.path().join(n).into_os_string()]),
        )
        .output()
        .expect("run isthmusd");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("holds 6 entries but the log already signed a checkpoint of size 7"),
        "{err}"
    );
}

#[tokio::test]
async fn a_real_servers_export_audits_intact_and_a_flipped_byte_is_caught() {
    let (fed, certs) = write_federation(30);
    let data = tempfile::tempdir().expect("data");
    let d = Daemon::start(certs.path(), data.path());
    let server = d.addr.to_string();
    for (i, who) in ["CO", "PA", "US", "BR", "CO"].into_iter().enumerate() {
        let mut c = isthmus::client::connect(&server, &tls_of(&fed, who))
            .await
            .expect("connect");
        let to: &[&str] = if i % 2 == 0 { &["ALL"] } else { &["CO", "MX"] };
        c.publish(signed(&fed, who, &alert(&format!("a-{i}"), who, to)))
            .await
            .expect("publish");
    }
    let mut co = isthmus::client::connect(&server, &tls_of(&fed, "CO"))
        .await
        .expect("connect");
    let mut retraction = alert("a-0-retracted", "CO", &["ALL"]);
    retraction.amends = Some(pb::Amendment {
        widens_distribution: false,
        id: "a-0".into(),
        kind: pb::AmendmentKind::Retraction as i32,
        reason: "wrong".into(),
    });
    co.publish(signed(&fed, "CO", &retraction)).await.expect("retraction");
    co.get_checkpoint(pb::GetCheckpointRequest {
        min_size: 7,
        ..Default::default()
    })
    .await
    .expect("checkpoint");
    let (_out_dir, export) = export_as_auditor(certs.path(), &d);
    assert!(d.terminate().success());

    let log_pub = certs.path().join("log.pub");
    let (code, report) = audit(&export, &log_pub);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["verdict"], "intact");

    let bundle = export.join("tile/entries/000.p/7");
    let mut bytes = std::fs::read(&bundle).expect("bundle");
    let (mut at, mut k) = (0usize, 0u64);
    while k < 4 {
        at += 2 + u16::from_be_bytes([bytes[at], bytes[at + 1]]) as usize;
        k += 1;
    }
    let len = u16::from_be_bytes([bytes[at], bytes[at + 1]]) as usize;
    bytes[at + 2 + len / 2] ^= 0x20;
    std::fs::write(&bundle, bytes).expect("tamper");
    let (code, report) = audit(&export, &log_pub);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["first_failure"]["index"], 4, "{report}");
}

/// Private keys others can read are refused outside development material,
/// and `isthmus dev-certs` writes them owner-only.
#[cfg(unix)]
#[test]
fn the_hub_refuses_a_private_key_others_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let (_fed, certs) = write_federation(30);
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    for key in ["log.key", "server.key.pem", "CO/client.key.pem", "CO/signing.key.pem"] {
        assert_eq!(mode(&certs.path().join(key)), 0o600, "{key}");
    }
    let log_key = certs.path().join("log.key");
    std::fs::set_permissions(&log_key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let data = tempfile::tempdir().expect("data");
    let out = Command::new(env!("CARGO_BIN_EXE_isthmusd"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .arg("--ca")
        .arg(certs.path().join("ca.pem"))
        .arg("--cert")
        .arg(certs.path().join("server.pem"))
        .arg("--key")
        .arg(certs.path().join("server.key.pem"))
        .arg("--roster")
        .arg(certs.path().join("roster.toml"))
        .arg("--roster-approvals")
        .arg(certs.path().join("roster.approvals"))
        .arg("--log-key")
        .arg(&log_key)
        .output()
        .expect("run isthmusd");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("can be read by others (mode 644)") && stderr.contains("chmod 600"),
        "{stderr}"
    );
}

/// The DEV ONLY material is refused unless the operator says --dev, found
/// by its content wherever it was copied; and a config without key files
/// says what is missing instead of falling back to certs-dev/.
#[test]
fn the_hub_runs_on_dev_material_only_when_told() {
    let (_fed, certs) = write_federation(30);
    let data = tempfile::tempdir().expect("data");
    let run = |extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_isthmusd"));
        cmd.args(extra)
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data.path());
        for (flag, file) in [
            ("--ca", "ca.pem"),
            ("--cert", "server.pem"),
            ("--key", "server.key.pem"),
            ("--roster", "roster.toml"),
            ("--roster-approvals", "roster.approvals"),
            ("--log-key", "log.key"),
        ] {
            cmd.arg(flag).arg(certs.path().join(file));
        }
        let out = cmd.output().expect("run isthmusd");
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, stderr) = run(&[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("is DEV ONLY material") && stderr.contains("--dev"),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("isthmusd:")).count(),
        1,
        "one line: {stderr}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_isthmusd"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .output()
        .expect("run isthmusd");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("tls.ca (--ca) is not set"),
        "no silent fallback to certs-dev: {stderr}"
    );
}
