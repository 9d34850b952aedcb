//! `isthmus witness` as a real process, cosigning a real `isthmusd`'s
//! checkpoints over HTTP (C2SP tlog-witness), surviving SIGKILL with its
//! state, and answering the spec's statuses.

use crate::util::processes::{cli, write_federation, Daemon};
use crate::util::*;
use isthmus::ledger::merkle::Hash;
use isthmus::pb;
use isthmus::witness::{http, AddCheckpoint, Answer, CosignatureVerifier};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `isthmus witness serve`.
pub(crate) struct WitnessProcess {
    child: Child,
    pub(crate) addr: String,
}

impl WitnessProcess {
    pub(crate) fn start(key: &Path, log_vkey: &str, data: &Path) -> WitnessProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_isthmus"))
            .args([
                "witness",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--log",
                log_vkey,
                "--witness-key",
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

    pub(crate) fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

/// `isthmus witness keygen --name NAME` into `dir`: the key file and the
/// verifier key it printed.
pub(crate) fn witness_keygen(dir: &Path, name: &str) -> (std::path::PathBuf, String) {
    let key = dir.join(format!("{}.key", name.replace('/', "_")));
    let out = Command::new(env!("CARGO_BIN_EXE_isthmus"))
        .args(["witness", "keygen", "--name", name, "--out"])
        .arg(&key)
        .output()
        .expect("keygen");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (key, String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

async fn checkpoint(c: &mut isthmus::client::Client, min_size: u64) -> String {
    c.get_checkpoint(pb::GetCheckpointRequest {
        min_size,
        ..Default::default()
    })
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
    let (key, vkey) = witness_keygen(wdir.path(), "witness.example.co/isthmus");
    let verifier = CosignatureVerifier::from_key(&vkey).expect("vkey printed");
    let log_vkey = std::fs::read_to_string(certs.path().join("log.pub")).expect("log.pub");
    let state = wdir.path().join("state");
    let w = WitnessProcess::start(&key, log_vkey.trim(), &state);

    let mut co = isthmus::client::connect(&hub.addr.to_string(), &tls_of(&fed, "CO"))
        .await
        .expect("connect");
    for i in 0..3 {
        co.publish(signed(&fed, "CO", &alert(&format!("w-{i}"), "CO", &["PA"])))
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
        co.publish(signed(&fed, "CO", &alert(&format!("w-{i}"), "CO", &["PA"])))
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

/// An in-process witness serving HTTP on 127.0.0.1:0 for `log`.
pub(crate) struct LocalWitness {
    pub(crate) witness: std::sync::Arc<isthmus::witness::Witness>,
    pub(crate) addr: String,
    _dir: tempfile::TempDir,
}

pub(crate) async fn local_witness(name: &str, log: &isthmus::ledger::note::NoteVerifier) -> LocalWitness {
    use isthmus::witness::{Cosigner, Witness, WitnessStore};
    let dir = tempfile::tempdir().expect("dir");
    let store = WitnessStore::open(dir.path()).expect("store");
    let cosigner = Cosigner::generate(name).expect("key").0;
    let witness = std::sync::Arc::new(Witness::new(cosigner, vec![log.clone()], store));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(http::serve(listener, witness.clone(), None, std::future::pending()));
    LocalWitness {
        witness,
        addr,
        _dir: dir,
    }
}

fn targets(ws: &[LocalWitness]) -> Vec<isthmus::server::WitnessTarget> {
    ws.iter()
        .map(|w| isthmus::server::WitnessTarget {
            key: w.witness.cosigner().verifier(),
            addr: w.addr.clone(),
        })
        .collect()
}

/// Names of the witnesses among `ws` whose valid cosignature is on `note`.
pub(crate) fn cosigners(note: &str, ws: &[LocalWitness]) -> Vec<String> {
    let text = isthmus::ledger::note::unverified_text(note).expect("note").to_owned();
    ws.iter()
        .filter(|w| {
            let v = w.witness.cosigner().verifier();
            note.split_inclusive('\n')
                .any(|l| matches!(v.verify_line(&text, l), Ok(Some(_))))
        })
        .map(|w| w.witness.cosigner().name().to_owned())
        .collect()
}

/// Evidence records kept by all of `ws`.
fn evidence(ws: &[LocalWitness]) -> usize {
    ws.iter()
        .map(|w| w.witness.store().evidence().expect("evidence").len())
        .sum()
}

/// Polls GetCheckpoint (bounded: 20 s) until `done` holds for its note.
async fn checkpoint_until(s: &TestServer, done: impl Fn(&str) -> bool) -> String {
    let mut c = s.client("CO").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let note = checkpoint(&mut c, s.size()).await;
        if done(&note) || tokio::time::Instant::now() > deadline {
            return note;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn hub_log(
    fed: &isthmus::devcerts::DevFederation,
    witnesses: Vec<isthmus::server::WitnessTarget>,
) -> isthmus::server::LogOptions {
    isthmus::server::LogOptions {
        witnesses,
        ..log_options(fed)
    }
}

#[tokio::test]
async fn the_hub_serves_checkpoints_cosigned_by_its_witnesses_and_a_dead_one_does_not_block() {
    let fed = federation();
    let mut ws = Vec::new();
    for i in 0..5 {
        ws.push(local_witness(&format!("w{i}.example/isthmus"), &fed.log.verifier()).await);
    }
    let mut t = targets(&ws);
    t.push(isthmus::server::WitnessTarget {
        key: isthmus::witness::Cosigner::generate("dead.example/w")
            .expect("key")
            .0
            .verifier(),
        addr: "127.0.0.1:9".into(),
    });
    let roster = fed.roster().expect("roster");
    let s = TestServer::start_with_log(fed.clone(), roster, Default::default(), Some(hub_log(&fed, t))).await;
    let mut co = s.client("CO").await;
    for round in 0..3 {
        for i in 0..4 {
            let a = alert(&format!("cw-{round}-{i}"), "CO", &["PA"]);
            co.publish(signed(&fed, "CO", &a))
                .await
                .expect("publish never waits for witnesses");
        }
        let note = checkpoint_until(&s, |n| cosigners(n, &ws).len() == 5).await;
        assert_eq!(cosigners(&note, &ws).len(), 5, "round {round}: {note}");
        let log_only =
            isthmus::ledger::note::open(&note, &[fed.log.verifier()]).expect("the log's signature still opens it");
        assert_eq!(
            log_only.unverified_count, 5,
            "the cosignatures are extra lines, ignored by log-only readers"
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn a_split_view_cannot_collect_a_quorum_on_both_sides() {
    // Two hubs with the same log key and different histories (an operator
    // showing history A to some and B to others) share five witnesses.
    let fed = federation();
    let mut ws = Vec::new();
    for i in 0..5 {
        ws.push(local_witness(&format!("w{i}.example/isthmus"), &fed.log.verifier()).await);
    }
    let roster = fed.roster().expect("roster");
    let a = TestServer::start_with_log(
        fed.clone(),
        roster.clone(),
        Default::default(),
        Some(hub_log(&fed, targets(&ws))),
    )
    .await;
    let b = TestServer::start_with_log(
        fed.clone(),
        roster,
        Default::default(),
        Some(hub_log(&fed, targets(&ws))),
    )
    .await;
    for (hub, tag) in [(&a, "A"), (&b, "B")] {
        let mut co = hub.client("CO").await;
        for i in 0..3 {
            let al = alert(&format!("history-{tag}-{i}"), "CO", &["PA"]);
            co.publish(signed(&fed, "CO", &al)).await.expect("publish");
        }
    }
    assert_eq!(a.size(), b.size(), "the same size, different roots");
    // Every witness answers one side first and refuses the other: wait
    // (bounded) until all five cosignatures are somewhere.
    let (mut ca_client, mut cb_client) = (a.client("CO").await, b.client("CO").await);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let (na, nb) = loop {
        let na = checkpoint(&mut ca_client, a.size()).await;
        let nb = checkpoint(&mut cb_client, b.size()).await;
        let placed = cosigners(&na, &ws).len() + cosigners(&nb, &ws).len();
        // Evidence is kept when a witness is then shown the other side,
        // which may come a moment after the five cosignatures are placed.
        if (placed >= 5 && evidence(&ws) > 0) || tokio::time::Instant::now() > deadline {
            break (na, nb);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (ca, cb) = (cosigners(&na, &ws), cosigners(&nb, &ws));
    eprintln!(
        "split view: history A cosigned by {}, history B by {} of 5",
        ca.len(),
        cb.len()
    );
    assert!(
        ca.iter().all(|w| !cb.contains(w)),
        "no witness cosigned both: {ca:?} {cb:?}"
    );
    assert!(ca.len() < 3 || cb.len() < 3, "3 of 5 on both sides: {ca:?} {cb:?}");
    // A reader holding the 3-of-5 policy accepts exactly one side and
    // refuses the other, naming the witnesses it lacks.
    let listed = ws
        .iter()
        .map(|w| isthmus::witness::PolicyWitness {
            name: w.witness.cosigner().name().to_owned(),
            key: w.witness.cosigner().verifier(),
            url: None,
        })
        .collect();
    let policy = isthmus::witness::Policy::threshold("witnesses", 3, listed).expect("policy");
    let (pa, pb) = (policy.check(&na), policy.check(&nb));
    assert!(pa.is_ok() != pb.is_ok(), "exactly one side meets 3 of 5: {pa:?} {pb:?}");
    let refused = pa.err().or(pb.err()).expect("one side refused");
    assert!(refused.to_string().contains("missing: "), "{refused}");
    assert!(evidence(&ws) > 0, "the witnesses shown the other history kept evidence");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn the_cli_and_the_auditor_enforce_a_witness_policy_against_a_real_hub() {
    let (fed, certs) = write_federation(30);
    let wdir = tempfile::tempdir().expect("witness dir");
    let log_vkey = std::fs::read_to_string(certs.path().join("log.pub")).expect("log.pub");
    let mut vkeys = Vec::new();
    let mut witnesses = Vec::new();
    let mut config = String::from("dev = true\n");
    for i in 0..2 {
        let (key, vkey) = witness_keygen(wdir.path(), &format!("w{i}.example/isthmus"));
        let w = WitnessProcess::start(&key, log_vkey.trim(), &wdir.path().join(format!("state{i}")));
        config.push_str(&format!("[[witness]]\nkey = \"{vkey}\"\naddr = \"{}\"\n", w.addr));
        vkeys.push(vkey);
        witnesses.push(w);
    }
    let stranger = isthmus::witness::Cosigner::generate("w9.example/isthmus")
        .expect("key")
        .0
        .verifier()
        .to_string();
    let cfg = wdir.path().join("isthmusd.toml");
    std::fs::write(&cfg, config).expect("config");
    let data = tempfile::tempdir().expect("data");
    let hub = Daemon::start_with(certs.path(), data.path(), &["--config".as_ref(), cfg.as_os_str()]);
    let mut co = isthmus::client::connect(&hub.addr.to_string(), &tls_of(&fed, "CO"))
        .await
        .expect("connect");
    co.publish(signed(&fed, "CO", &alert("q-1", "CO", &["PA"])))
        .await
        .expect("publish");
    let run = |keys: &[&str], quorum: &str| {
        let mut args = vec!["--as", "CO", "checkpoint", "--quorum", quorum];
        for k in keys {
            args.extend(["--witness", k]);
        }
        cli(certs.path(), &hub.addr, &args)
    };
    // Bounded wait for the cosigned note.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let ok = loop {
        let out = run(&[&vkeys[0], &vkeys[1]], "2");
        if out.status.success() || std::time::Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let said = String::from_utf8_lossy(&ok.stderr);
    assert!(
        said.contains("witness quorum 2 of 2 (--witness) met: cosigned by w0.example"),
        "{said}"
    );
    let refused = run(&[&vkeys[0], &stranger], "2");
    assert_eq!(
        refused.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("REFUSED by the witness policy") && why.contains("missing: w9.example/isthmus"),
        "{why}"
    );

    // A C2SP tlog-policy file: publish --receipt fetches a witnessed
    // receipt, and verify-receipt checks the quorum offline.
    let policy = |path: &str, second: &str| {
        let p = wdir.path().join(path);
        let text = format!(
            "witness w0 {}\nwitness other {second}\ngroup both all w0 other\nquorum both\n",
            vkeys[0]
        );
        std::fs::write(&p, text).expect("policy");
        p.to_str().expect("utf-8").to_owned()
    };
    let (ours, strangers) = (policy("ours.policy", &vkeys[1]), policy("stranger.policy", &stranger));
    let receipt = wdir.path().join("q-2.tlog-proof");
    let r = receipt.to_str().expect("utf-8");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/alert.toml");
    let out = cli(
        certs.path(),
        &hub.addr,
        &["--as", "CO", "--policy", &ours, "publish", example, "--receipt", r],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let offline = std::net::SocketAddr::from(([127, 0, 0, 1], 9));
    let lp = certs.path().join("log.pub");
    let lp = lp.to_str().expect("utf-8");
    let verify = |p: &str| {
        cli(
            certs.path(),
            &offline,
            &["--policy", p, "verify-receipt", r, "--log-key", lp],
        )
    };
    let out = verify(&ours);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        said.starts_with("VALID") && said.contains("witness quorum 2 of 2 (both) met: cosigned by w0, other"),
        "{said}"
    );
    let out = verify(&strangers);
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.starts_with("INVALID") && said.contains("missing: other"), "{said}");

    // get and tail anchor on a witnessed checkpoint under the policy.
    let got = cli(certs.path(), &hub.addr, &["--as", "CO", "--policy", &ours, "get", "1"]);
    assert!(got.status.success(), "{}", String::from_utf8_lossy(&got.stderr));
    let got = cli(
        certs.path(),
        &hub.addr,
        &["--as", "CO", "--policy", &strangers, "tail", "--limit", "1"],
    );
    let why = String::from_utf8_lossy(&got.stderr);
    assert_eq!(got.status.code(), Some(1), "{why}");
    assert!(
        why.contains("REFUSED by the witness policy") && why.contains("missing: other"),
        "{why}"
    );

    // This roster lists no witnesses (the hub's are configured): a reader
    // requiring the roster's quorum refuses.
    let got = cli(
        certs.path(),
        &hub.addr,
        &["--as", "CO", "get", "1", "--roster-witnesses"],
    );
    let why = String::from_utf8_lossy(&got.stderr);
    assert_eq!(got.status.code(), Some(1), "{why}");
    assert!(why.contains("lists no witnesses"), "{why}");

    // An export fetched under the policy carries the cosignatures, and
    // isthmus-audit checks them offline.
    let export = wdir.path().join("export");
    let ex = export.to_str().expect("utf-8");
    let out = cli(
        certs.path(),
        &hub.addr,
        &["--as", "AUDITOR", "--policy", &ours, "export", ex],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let audit = |p: &str| {
        Command::new(env!("CARGO_BIN_EXE_isthmus-audit"))
            .args(["verify", ex, "--log-key", lp, "--policy", p])
            .output()
            .expect("run isthmus-audit")
    };
    let out = audit(&ours);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("witness quorum:     2 of 2 (both) met: cosigned by w0, other"),
        "{said}"
    );
    let out = audit(&strangers);
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.starts_with("INTEGRITY FAILURE: the checkpoint is not witnessed"),
        "{said}"
    );
    let other_log = wdir.path().join("other-log.policy");
    let other = isthmus::ledger::note::NoteSigner::generate("elsewhere.example/log")
        .expect("key")
        .0;
    let text = std::fs::read_to_string(&ours).expect("policy");
    std::fs::write(&other_log, format!("log {}\n{text}", other.verifier_key())).expect("policy");
    let out = audit(other_log.to_str().expect("utf-8"));
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("is for other logs"), "{said}");
    for w in witnesses {
        w.kill();
    }
    hub.kill();
}

#[tokio::test]
async fn the_witnessed_checkpoint_survives_a_hub_restart_with_its_witnesses_gone() {
    let (fed, certs) = write_federation(30);
    let wdir = tempfile::tempdir().expect("witness dir");
    let log_vkey = std::fs::read_to_string(certs.path().join("log.pub")).expect("log.pub");
    let (key, vkey) = witness_keygen(wdir.path(), "w.example/isthmus");
    let w = WitnessProcess::start(&key, log_vkey.trim(), &wdir.path().join("state"));
    let cfg = wdir.path().join("isthmusd.toml");
    std::fs::write(
        &cfg,
        format!("dev = true\n[[witness]]\nkey = \"{vkey}\"\naddr = \"{}\"\n", w.addr),
    )
    .expect("config");
    let data = tempfile::tempdir().expect("data");
    let args = ["--config".as_ref(), cfg.as_os_str()];
    let hub = Daemon::start_with(certs.path(), data.path(), &args);
    let mut co = isthmus::client::connect(&hub.addr.to_string(), &tls_of(&fed, "CO"))
        .await
        .expect("connect");
    co.publish(signed(&fed, "CO", &alert("r-1", "CO", &["PA"])))
        .await
        .expect("publish");
    let req = |min_size| pb::GetCheckpointRequest {
        min_size,
        witnessed: true,
    };
    let before = co.get_checkpoint(req(2)).await.expect("witnessed").into_inner();
    let v = CosignatureVerifier::from_key(&vkey).expect("vkey");
    let text = isthmus::ledger::note::unverified_text(&before.note)
        .expect("note")
        .to_owned();
    assert!(before
        .note
        .lines()
        .any(|l| matches!(v.verify_line(&text, &format!("{l}\n")), Ok(Some(_)))));
    hub.kill();
    w.kill();

    // The witness is gone; the restarted hub serves what it had stored.
    let hub = Daemon::start_with(certs.path(), data.path(), &args);
    let mut co = isthmus::client::connect(&hub.addr.to_string(), &tls_of(&fed, "CO"))
        .await
        .expect("connect");
    let after = co.get_checkpoint(req(0)).await.expect("stored witnessed").into_inner();
    assert_eq!((after.size, &after.note), (before.size, &before.note));
    let plain = co
        .get_checkpoint(pb::GetCheckpointRequest::default())
        .await
        .expect("cp")
        .into_inner();
    assert_eq!(plain.witnessed_size, before.size);
    hub.kill();
}
