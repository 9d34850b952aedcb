//! The real executables: `isthmusd` as a process (killed and restarted) and
//! the `isthmus` CLI driving it.

use crate::util::*;
use isthmus::devcerts::DevFederation;
use isthmus::pb;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `isthmusd` process.
struct Daemon {
    child: Child,
    addr: SocketAddr,
}

impl Daemon {
    fn start(certs: &Path, data: &Path) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_isthmusd"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .arg("--ca")
            .arg(certs.join("ca.pem"))
            .arg("--cert")
            .arg(certs.join("server.pem"))
            .arg("--key")
            .arg(certs.join("server.key.pem"))
            .arg("--roster")
            .arg(certs.join("roster.toml"))
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn isthmusd");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("addr=").nth(1) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("isthmusd reports its address");
        Daemon {
            child,
            addr: addr.parse().expect("socket address"),
        }
    }

    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
        self.child.wait().expect("exit")
    }
}

fn write_federation(days: i64) -> (DevFederation, tempfile::TempDir) {
    let fed = DevFederation::generate(days).expect("federation");
    let dir = tempfile::tempdir().expect("tempdir");
    fed.write(dir.path()).expect("write certs");
    (fed, dir)
}

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
        let env = sealed(&fed, "CO", &alert(&format!("k-{i}"), "CO", &["PA"]));
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

fn cli(certs: &Path, server: &SocketAddr, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_isthmus"))
        .arg("--server")
        .arg(server.to_string())
        .arg("--certs-dir")
        .arg(certs)
        .args(args)
        .output()
        .expect("run isthmus")
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
    assert!(d.terminate().success());
}

#[test]
fn keygen_writes_a_usable_key_pair_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().expect("tmp");
    let prefix = dir.path().join("co-2027");
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
    let secret = std::fs::read_to_string(dir.path().join("co-2027.key.pem")).expect("secret");
    let public = std::fs::read_to_string(dir.path().join("co-2027.pub.pem")).expect("public");
    let key = isthmus::crypto::SigningKey::from_pkcs8_pem(&secret).expect("pkcs8");
    assert_eq!(
        isthmus::crypto::PublicKey::from_spki_pem(&public).expect("spki"),
        key.public_key()
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains(&key.public_key().key_id()));
    assert_eq!(run().status.code(), Some(2), "never overwrites a key");
}
