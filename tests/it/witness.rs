//! `isthmus witness` as a real process, cosigning a real `isthmusd`'s
//! checkpoints over HTTP (C2SP tlog-witness), surviving SIGKILL with its
//! state, and answering the spec's statuses.

use crate::util::processes::{write_federation, Daemon};
use crate::util::*;
use isthmus::ledger::merkle::Hash;
use isthmus::pb;
use isthmus::witness::{http, AddCheckpoint, Answer, CosignatureVerifier};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `isthmus witness serve`.
struct WitnessProcess {
    child: Child,
    addr: String,
}

impl WitnessProcess {
    fn start(key: &Path, log_vkey: &str, data: &Path) -> WitnessProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_isthmus"))
            .args([
                "witness",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--log",
                log_vkey,
                "--key",
            ])
            .arg(key)
            .arg("--data-dir")
            .arg(data)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn witness");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the witness reports its address");
        WitnessProcess { child, addr }
    }

    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

async fn checkpoint(c: &mut isthmus::client::Client, min_size: u64) -> String {
    c.get_checkpoint(pb::GetCheckpointRequest { min_size })
        .await
        .expect("checkpoint")
        .into_inner()
        .note
}

async fn proof(c: &mut isthmus::client::Client, old_size: u64, new_size: u64) -> Vec<Hash> {
    let r = c
        .get_consistency_proof(pb::ConsistencyProofRequest { old_size, new_size })
        .await
        .expect("proof")
        .into_inner();
    r.hashes.into_iter().map(|h| h.try_into().expect("32 bytes")).collect()
}

fn body(old_size: u64, proof: Vec<Hash>, note: &str) -> String {
    AddCheckpoint {
        old_size,
        proof,
        checkpoint: note.to_owned(),
    }
    .to_body()
}

#[tokio::test]
async fn a_witness_process_cosigns_a_real_hub_and_keeps_its_state_through_sigkill() {
    let (fed, certs) = write_federation(30);
    let data = tempfile::tempdir().expect("data");
    let hub = Daemon::start(certs.path(), data.path());
    let wdir = tempfile::tempdir().expect("witness dir");
    let key = wdir.path().join("witness.key");
    let out = Command::new(env!("CARGO_BIN_EXE_isthmus"))
        .args(["witness", "keygen", "--name", "witness.example.co/isthmus", "--out"])
        .arg(&key)
        .output()
        .expect("keygen");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let verifier = CosignatureVerifier::from_key(String::from_utf8_lossy(&out.stdout).trim()).expect("vkey printed");
    let log_vkey = std::fs::read_to_string(certs.path().join("log.pub")).expect("log.pub");
    let state = wdir.path().join("state");
    let w = WitnessProcess::start(&key, log_vkey.trim(), &state);

    let mut co = isthmus::client::connect(&hub.addr.to_string(), &tls_of(&fed, "CO"))
        .await
        .expect("connect");
    for i in 0..3 {
        co.publish(sealed(&fed, "CO", &alert(&format!("w-{i}"), "CO", &["PA"])))
            .await
            .expect("publish");
    }
    let first = checkpoint(&mut co, 4).await;
    let text = isthmus::ledger::note::unverified_text(&first).expect("note").to_owned();
    let Answer::Cosigned(line) = http::add_checkpoint(&w.addr, body(0, vec![], &first))
        .await
        .expect("http")
    else {
        panic!("the first checkpoint is cosigned");
    };
    let when = verifier
        .verify_line(&text, &line)
        .expect("valid")
        .expect("by this witness");
    let now = isthmus::time::unix_now() as u64;
    assert!(when.timestamp.abs_diff(now) < 60, "timestamped now");

    for i in 3..8 {
        co.publish(sealed(&fed, "CO", &alert(&format!("w-{i}"), "CO", &["PA"])))
            .await
            .expect("publish");
    }
    let second = checkpoint(&mut co, 9).await;
    let again = http::add_checkpoint(&w.addr, body(0, vec![], &second))
        .await
        .expect("http");
    assert_eq!(
        again,
        Answer::Conflict {
            size: 4,
            why: "the witness last cosigned another size".into()
        }
    );
    w.kill();

    let w = WitnessProcess::start(&key, log_vkey.trim(), &state);
    let p = proof(&mut co, 4, 9).await;
    let grown = http::add_checkpoint(&w.addr, body(4, p, &second)).await.expect("http");
    assert_eq!(
        grown.status(),
        200,
        "after SIGKILL the witness knew it had cosigned size 4: {grown:?}"
    );
    let stale = http::add_checkpoint(&w.addr, body(4, vec![], &first))
        .await
        .expect("http");
    assert_eq!(stale.status(), 409, "never back to an older tree: {stale:?}");
    w.kill();
    hub.kill();
}
