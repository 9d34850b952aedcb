//! Witnesses the roster lists (`witness_key`, `witness_url`,
//! `witness_quorum`): the hub asks them with no configuration of its own,
//! a checkpoint counts as witnessed only once the roster's quorum cosigned
//! it, and `GetCheckpoint{witnessed}` says precisely when it cannot answer.

use crate::util::*;
use crate::witness::{cosigners, local_witness, LocalWitness};
use isthmus::pb;
use isthmus::roster::{Roster, RosterWitness, Terms};
use isthmus::witness::Cosigner;
use std::time::Duration;

/// The federation's roster with a witness for each of `live` (served by
/// `ws`, in order) and for each of `dead` (a URL nothing listens on), of
/// which `quorum` must cosign.
fn roster_with_witnesses(
    fed: &isthmus::devcerts::DevFederation,
    live: &[(&str, &LocalWitness)],
    dead: &[&str],
    quorum: u32,
) -> Roster {
    let mut listed: Vec<_> = live
        .iter()
        .map(|(id, w)| (*id, w.witness.cosigner().verifier(), Some(format!("http://{}", w.addr))))
        .collect();
    for id in dead {
        let key = Cosigner::generate(&format!("{}.example/dead", id.to_lowercase())).expect("key");
        listed.push((id, key.0.verifier(), Some("http://127.0.0.1:9".into())));
    }
    with_witnesses(&fed.roster().expect("roster"), &listed, quorum)
}

/// `roster` with a witness for each `(delegation, key, url)`, of which
/// `quorum` must cosign.
pub(crate) fn with_witnesses(
    roster: &Roster,
    witnesses: &[(&str, isthmus::witness::CosignatureVerifier, Option<String>)],
    quorum: u32,
) -> Roster {
    let members = roster.members().cloned().map(|mut m| {
        if let Some((_, key, url)) = witnesses.iter().find(|(id, _, _)| *id == m.id.as_str()) {
            m.witness = Some(RosterWitness {
                key: key.clone(),
                url: url.clone(),
            });
        }
        m
    });
    let terms = Terms {
        witness_quorum: quorum,
        ..roster.terms()
    };
    Roster::new(members.collect(), terms).expect("a valid roster with witnesses")
}

async fn witnessed(c: &mut isthmus::client::Client, min_size: u64) -> Result<pb::CheckpointResponse, tonic::Status> {
    c.get_checkpoint(pb::GetCheckpointRequest {
        min_size,
        witnessed: true,
    })
    .await
    .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn roster_witnesses_cosign_under_publish_load_and_three_of_five_is_witnessed() {
    let fed = federation();
    let mut ws = Vec::new();
    for id in ["CO", "PA", "PE"] {
        ws.push(local_witness(&format!("{}.example/witness", id.to_lowercase()), &fed.log.verifier()).await);
    }
    let live: Vec<(&str, &LocalWitness)> = ["CO", "PA", "PE"].into_iter().zip(ws.iter()).collect();
    let roster = roster_with_witnesses(&fed, &live, &["US", "EC"], 3);
    let policy = roster.witness_policy().expect("the roster's policy");
    // No [[witness]] configuration: the hub learns its witnesses from the roster.
    let s = TestServer::start_with_roster(fed.clone(), roster).await;

    // Bounded load: 4 publishers x 25 alerts, concurrently.
    let mut tasks = Vec::new();
    for who in ["CO", "PA", "PE", "US"] {
        let mut c = s.client(who).await;
        let fed = fed.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let a = alert(&format!("load-{who}-{i}"), who, &["ALL"]);
                c.publish(signed(&fed, who, &a)).await.expect("publish");
            }
        }));
    }
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(60), t)
            .await
            .expect("load finishes")
            .expect("publisher");
    }
    let size = s.size();
    assert!(size > 100, "genesis plus 100 alerts, got {size}");

    let mut co = s.client("CO").await;
    let cp = witnessed(&mut co, size).await.expect("a witnessed checkpoint");
    assert!(cp.size >= size && cp.witnessed_size == cp.size, "{cp:?}");
    let met = policy.check(&cp.note).expect("the roster's quorum cosigned it");
    let names: Vec<&str> = met.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["CO", "PA", "PE"]);
    let mut by = cosigners(&cp.note, &ws);
    by.sort();
    assert_eq!(by, ["co.example/witness", "pa.example/witness", "pe.example/witness"]);
    isthmus::ledger::checkpoint::SignedCheckpoint::open(&cp.note, &fed.log.verifier()).expect("log-signed");
    let plain = co
        .get_checkpoint(pb::GetCheckpointRequest {
            min_size: size,
            witnessed: false,
        })
        .await
        .expect("checkpoint")
        .into_inner();
    assert_eq!(
        plain.witnessed_size, cp.size,
        "every answer says how far witnessing got"
    );
    s.stop().await;
}

#[tokio::test]
async fn cosignatures_short_of_the_roster_quorum_are_not_witnessed() {
    let fed = federation();
    let mut ws = Vec::new();
    for id in ["CO", "PA"] {
        ws.push(local_witness(&format!("{}.example/witness", id.to_lowercase()), &fed.log.verifier()).await);
    }
    let live: Vec<(&str, &LocalWitness)> = ["CO", "PA"].into_iter().zip(ws.iter()).collect();
    let roster = roster_with_witnesses(&fed, &live, &["US", "EC", "PE"], 3);
    let s = TestServer::start_with_roster(fed.clone(), roster).await;
    let mut co = s.client("CO").await;
    co.publish(signed(&fed, "CO", &alert("short-1", "CO", &["PA"])))
        .await
        .expect("publish");
    // Bounded wait until both live witnesses' lines are on the served note.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let cp = loop {
        let cp = co
            .get_checkpoint(pb::GetCheckpointRequest {
                min_size: s.size(),
                witnessed: false,
            })
            .await
            .expect("checkpoint")
            .into_inner();
        if cosigners(&cp.note, &ws).len() == 2 || tokio::time::Instant::now() > deadline {
            break cp;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(cosigners(&cp.note, &ws).len(), 2, "{}", cp.note);
    assert_eq!(cp.witnessed_size, 0, "2 of the 3 needed is not witnessed");
    s.stop().await;
}

#[tokio::test]
async fn witnessed_checkpoints_from_a_hub_without_witnesses_are_refused_precisely() {
    let s = TestServer::start(federation()).await;
    let mut co = s.client("CO").await;
    let e = witnessed(&mut co, 0).await.expect_err("no witnesses");
    assert_eq!(e.code(), tonic::Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("witness"), "{}", e.message());
    let plain = co
        .get_checkpoint(pb::GetCheckpointRequest::default())
        .await
        .expect("checkpoint")
        .into_inner();
    assert_eq!(plain.witnessed_size, 0);
    s.stop().await;
}

#[tokio::test]
async fn a_witness_that_never_answers_delays_only_its_own_line() {
    let fed = federation();
    let mut ws = Vec::new();
    for id in ["CO", "PA"] {
        ws.push(local_witness(&format!("{}.example/witness", id.to_lowercase()), &fed.log.verifier()).await);
    }
    // Accepts connections (the kernel's backlog does) and never answers.
    let black_hole = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let hole = black_hole.local_addr().expect("addr");
    let silent = Cosigner::generate("us.example/silent").expect("key").0.verifier();
    let mut listed: Vec<_> = ["CO", "PA"]
        .into_iter()
        .zip(&ws)
        .map(|(id, w)| (id, w.witness.cosigner().verifier(), Some(format!("http://{}", w.addr))))
        .collect();
    listed.push(("US", silent, Some(format!("http://{hole}"))));
    let roster = with_witnesses(&fed.roster().expect("roster"), &listed, 2);
    let s = TestServer::start_with_roster(fed.clone(), roster).await;
    let mut co = s.client("CO").await;
    co.publish(signed(&fed, "CO", &alert("hole-1", "CO", &["PA"])))
        .await
        .expect("publish");
    let asked = tokio::time::Instant::now();
    let cp = witnessed(&mut co, s.size()).await.expect("witnessed by CO and PA");
    assert_eq!(cosigners(&cp.note, &ws).len(), 2, "{}", cp.note);
    assert!(
        asked.elapsed() < isthmus::server::WITNESS_TIMEOUT / 2,
        "served before the silent witness timed out: {:?}",
        asked.elapsed()
    );
    drop(black_hole);
    s.stop().await;
}
