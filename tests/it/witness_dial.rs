//! Witnesses that dial out (`rpc Witness`): a delegation's witness that may
//! not accept inbound connections opens a stream to the hub with its
//! delegation's certificate and cosigns over it, alongside witnesses the
//! hub calls over HTTP; who may open the stream, and what a second one does.

use crate::util::processes::{cli, write_federation, Daemon};
use crate::util::*;
use crate::witness::{cosigners, local_witness, witness_keygen, LocalWitness};
use crate::witness_roster::with_witnesses;
use isthmus::pb;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Serves `w` to the hub over a dial-out stream as `who`, in the background.
async fn dial(s: &TestServer, who: &str, w: &LocalWitness) -> tokio::task::JoinHandle<Result<(), tonic::Status>> {
    let mut client = s.client(who).await;
    let witness = w.witness.clone();
    tokio::spawn(async move { isthmus::witness::dial::serve_stream(&mut client, witness).await })
}

/// Polls GetCheckpoint (bounded: 20 s) until all of `ws` cosigned it.
async fn cosigned_by_all(s: &TestServer, ws: &[LocalWitness]) -> pb::CheckpointResponse {
    let mut co = s.client("CO").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let req = pb::GetCheckpointRequest {
            min_size: s.size(),
            witnessed: true,
        };
        let cp = co.get_checkpoint(req).await.expect("witnessed checkpoint").into_inner();
        if cosigners(&cp.note, ws).len() == ws.len() || tokio::time::Instant::now() > deadline {
            return cp;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn dial_out_and_http_witnesses_cosign_together_and_a_second_stream_replaces_the_first() {
    let fed = federation();
    let mut ws = Vec::new();
    for id in ["co", "pa", "pe"] {
        ws.push(local_witness(&format!("{id}.example/witness"), &fed.log.verifier()).await);
    }
    let key = |w: &LocalWitness| w.witness.cosigner().verifier();
    let roster = with_witnesses(
        &fed.roster().expect("roster"),
        &[
            ("CO", key(&ws[0]), None),
            ("PA", key(&ws[1]), None),
            ("PE", key(&ws[2]), Some(format!("http://{}", ws[2].addr))),
        ],
        2,
    );
    let s = TestServer::start_with_roster(fed.clone(), roster).await;
    let first_co = dial(&s, "CO", &ws[0]).await;
    let _pa = dial(&s, "PA", &ws[1]).await;
    let mut us = s.client("US").await;
    us.publish(signed(&fed, "US", &alert("dial-1", "US", &["CO"])))
        .await
        .expect("publish");
    let cp = cosigned_by_all(&s, &ws).await;
    assert_eq!(
        cosigners(&cp.note, &ws).len(),
        3,
        "two dial-out and one HTTP witness: {}",
        cp.note
    );

    // A second stream from CO replaces the first, which ends ABORTED, and
    // the new one cosigns the next checkpoint.
    let _second_co = dial(&s, "CO", &ws[0]).await;
    let ended = tokio::time::timeout(Duration::from_secs(10), first_co)
        .await
        .expect("the first stream ends")
        .expect("task");
    assert_eq!(ended.expect_err("replaced").code(), tonic::Code::Aborted);
    us.publish(signed(&fed, "US", &alert("dial-2", "US", &["CO"])))
        .await
        .expect("publish");
    let cp2 = cosigned_by_all(&s, &ws).await;
    assert!(cp2.size > cp.size);
    assert_eq!(cosigners(&cp2.note, &ws).len(), 3, "{}", cp2.note);
    s.stop().await;
}

#[tokio::test]
async fn only_a_delegations_dial_out_witness_may_open_the_stream() {
    let fed = federation();
    let w = local_witness("pe.example/witness", &fed.log.verifier()).await;
    let key = w.witness.cosigner().verifier();
    let other = isthmus::witness::Cosigner::generate("co.example/witness")
        .expect("key")
        .0
        .verifier();
    let roster = with_witnesses(
        &fed.roster().expect("roster"),
        &[("PE", key, Some(format!("http://{}", w.addr))), ("CO", other, None)],
        2,
    );
    let s = TestServer::start_with_roster(fed.clone(), roster).await;
    for (who, code, says) in [
        (
            "US",
            tonic::Code::PermissionDenied,
            "the roster lists no witness_key for US",
        ),
        ("AUDITOR", tonic::Code::PermissionDenied, "no witness_key for AUDITOR"),
        ("PE", tonic::Code::FailedPrecondition, "witness_url"),
    ] {
        let e = dial(&s, who, &w).await.await.expect("task").expect_err("refused");
        assert_eq!(e.code(), code, "{who}: {e:?}");
        assert!(e.message().contains(says), "{who}: {}", e.message());
    }
    s.stop().await;
}

/// A running `isthmus witness serve --dial`.
struct Dialer(Child);

impl Dialer {
    fn start(certs: &Path, hub: &std::net::SocketAddr, who: &str, key: &Path, log: &str, data: &Path) -> Dialer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_isthmus"))
            .arg("--server")
            .arg(hub.to_string())
            .arg("--certs-dir")
            .arg(certs)
            .args(["--as", who, "witness", "serve", "--dial", "--log", log, "--witness-key"])
            .arg(key)
            .arg("--data-dir")
            .arg(data)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn witness");
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        out.read_line(&mut line).expect("the witness says where it dials");
        assert!(line.starts_with("dialing out to"), "{line}");
        Dialer(child)
    }

    /// SIGKILL now (see the Drop).
    fn kill(self) {}
}

/// SIGKILL, also when a test fails half way.
impl Drop for Dialer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn isthmus_witness_serve_dial_cosigns_for_a_real_hub_and_comes_back_after_sigkill() {
    let (fed, certs) = write_federation(30);
    let wdir = tempfile::tempdir().expect("witness dir");
    let log = std::fs::read_to_string(certs.path().join("log.pub")).expect("log.pub");
    let log = log.trim();
    let mut keys = Vec::new();
    for who in ["CO", "PA"] {
        let (path, vkey) = witness_keygen(wdir.path(), &format!("{}.example/witness", who.to_lowercase()));
        keys.push((who, path, vkey));
    }
    let listed: Vec<_> = keys
        .iter()
        .map(|(who, _, v)| {
            (
                *who,
                isthmus::witness::CosignatureVerifier::from_key(v).expect("vkey"),
                None,
            )
        })
        .collect();
    let roster = with_witnesses(&fed.roster().expect("roster"), &listed, 2);
    let text = toml::to_string(&roster.to_file()).expect("roster toml");
    std::fs::write(certs.path().join("roster.toml"), text).expect("roster");
    std::fs::write(certs.path().join("roster.approvals"), fed.approvals_file(&roster)).expect("approvals");
    let data = tempfile::tempdir().expect("data");
    let hub = Daemon::start(certs.path(), data.path());
    let state = |who: &str| wdir.path().join(format!("state-{who}"));
    let start = |i: usize| {
        let (who, key, _) = &keys[i];
        Dialer::start(certs.path(), &hub.addr, who, key, log, &state(who))
    };
    let co = start(0);
    let _pa = start(1);
    let policy = wdir.path().join("roster.policy");
    let policy_text = roster.witness_policy().expect("policy").to_text();
    std::fs::write(&policy, policy_text).expect("policy");
    let p = policy.to_str().expect("utf-8");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/alert.toml");
    let witnessed = || {
        let out = cli(
            certs.path(),
            &hub.addr,
            &["--as", "US", "--policy", p, "publish", example, "--receipt"]
                .iter()
                .copied()
                .chain([wdir.path().join("r.tlog-proof").to_str().expect("utf-8")])
                .collect::<Vec<_>>(),
        );
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (ok, said) = witnessed();
    assert!(ok, "{said}");

    // SIGKILL one witness and start it again: it dials back in, and the
    // next receipt is witnessed by both again.
    co.kill();
    let _co = start(0);
    let (ok, said) = witnessed();
    assert!(ok, "{said}");
    let receipt = std::fs::read_to_string(wdir.path().join("r.tlog-proof")).expect("receipt");
    for (_, _, vkey) in &keys {
        let v = isthmus::witness::CosignatureVerifier::from_key(vkey).expect("vkey");
        assert!(receipt.contains(&format!("— {} ", v.name())), "{receipt}");
    }
    // A reader can take the quorum from the roster history it proved.
    let got = cli(
        certs.path(),
        &hub.addr,
        &["--as", "PA", "get", "1", "--roster-witnesses"],
    );
    let said = String::from_utf8_lossy(&got.stderr);
    assert!(got.status.success(), "{said}");
    assert!(
        said.contains("witness quorum 2 of 2 (delegations) met: cosigned by CO, PA (the roster's witnesses"),
        "{said}"
    );
    hub.kill();
}

#[tokio::test]
async fn a_witness_that_connects_late_is_asked_at_once_for_the_latest_checkpoint() {
    let fed = federation();
    let ws = vec![local_witness("co.example/witness", &fed.log.verifier()).await];
    let key = ws[0].witness.cosigner().verifier();
    let roster = with_witnesses(&fed.roster().expect("roster"), &[("CO", key, None)], 1);
    let s = TestServer::start_with_roster(fed.clone(), roster).await;
    let mut us = s.client("US").await;
    us.publish(signed(&fed, "US", &alert("late-1", "US", &["CO"])))
        .await
        .expect("publish");
    // Let the hub sign and fail to reach the absent witness first.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while s.hub.ledger().checkpoint().map(|c| c.checkpoint.size) != Some(s.size()) {
        assert!(tokio::time::Instant::now() < deadline, "no checkpoint signed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let asked_at = tokio::time::Instant::now();
    let _co = dial(&s, "CO", &ws[0]).await;
    let cp = cosigned_by_all(&s, &ws).await;
    assert_eq!(cosigners(&cp.note, &ws).len(), 1, "{}", cp.note);
    assert!(
        asked_at.elapsed() < isthmus::server::WITNESS_RETRY / 2,
        "asked when it connected, not at the next retry: {:?}",
        asked_at.elapsed()
    );
    s.stop().await;
}
