//! Crash durability: the real `isthmusd` under publish load from three
//! delegations, SIGKILLed at a random moment and restarted on the same data
//! directory, cycle after cycle. Nothing acknowledged may be lost or moved,
//! nothing half-written may appear, checkpoints must stay signed and
//! consistent, and the final export must audit intact.

use crate::util::processes::{audit, export_as_auditor, write_federation, Daemon};
use crate::util::*;
use isthmus::client::Client;
use isthmus::devcerts::DevFederation;
use isthmus::ledger::checkpoint::SignedCheckpoint;
use isthmus::ledger::merkle;
use isthmus::pb;
use prost::Message;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Cycles in CI; set ISTHMUS_CRASH_CYCLES to run more by hand.
const CYCLES: u32 = 10;
const PUBLISHERS: [&str; 3] = ["CO", "PA", "US"];

/// What the publishers sent and what the hub acknowledged.
#[derive(Default)]
struct Book {
    sent: Mutex<HashSet<String>>,
    acked: Mutex<Vec<(String, pb::PublishReceipt)>>,
}

/// Publishes alerts as `who` until the hub goes away.
async fn load(fed: Arc<DevFederation>, server: String, who: &'static str, cycle: u32, book: Arc<Book>) {
    let Ok(mut c) = isthmus::client::connect(&server, &tls_of(&fed, who)).await else {
        return;
    };
    for n in 0.. {
        let id = format!("{who}-c{cycle}-{n}");
        let env = signed(&fed, who, &alert(&id, who, &["ALL"]));
        book.sent.lock().expect("lock").insert(id.clone());
        match c.publish(env).await {
            Ok(r) => book.acked.lock().expect("lock").push((id, r.into_inner())),
            Err(_) => return,
        }
    }
}

async fn auditor(fed: &DevFederation, d: &Daemon) -> Client {
    isthmus::client::connect(&d.addr.to_string(), &tls_of(fed, "AUDITOR"))
        .await
        .expect("auditor connects")
}

async fn checkpoint(c: &mut Client, fed: &DevFederation, min_size: u64) -> SignedCheckpoint {
    let r = c
        .get_checkpoint(pb::GetCheckpointRequest {
            min_size,
            ..Default::default()
        })
        .await
        .expect("checkpoint")
        .into_inner();
    SignedCheckpoint::open(&r.note, &fed.log.verifier()).expect("checkpoint verifies under the log key")
}

/// Every entry of the ledger, as the auditor sees it.
async fn all_entries(c: &mut Client) -> Vec<pb::LedgerEntry> {
    let size = c
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .expect("whoami")
        .into_inner()
        .ledger_size;
    let req = pb::SubscribeRequest {
        from_index: 0,
        filter: Some(pb::SubscribeFilter {
            publishers: vec![],
            include_roster: true,
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut stream = c.subscribe(req).await.expect("subscribe").into_inner();
    take(&mut stream, size as usize, 30).await
}

/// Checks that `e` is a complete entry: decodes, and a submission carries a
/// sent alert properly signed by its publisher. Returns the alert id.
fn complete(fed: &DevFederation, book: &Book, e: &pb::LedgerEntry) -> Option<String> {
    let entry = isthmus::ledger::entry::decode(&e.entry).expect("every entry decodes");
    let s = match entry.body {
        Some(pb::entry::Body::Submission(s)) => s,
        Some(_) => return None,
        None => panic!("entry {} has no body", e.index),
    };
    let env = s.envelope.expect("submission has its envelope");
    let a = pb::Alert::decode(env.payload.as_slice()).expect("alert decodes");
    assert_eq!(s.principal, a.publisher, "entry {}", e.index);
    let sig = isthmus::crypto::Signature::from_slice(&env.signatures[0].sig).expect("64 bytes");
    let key = signing(fed, &a.publisher).public_key();
    assert!(
        isthmus::envelope::verify(&env, &sig, &key, isthmus::crypto::Rule::Strict).is_ok(),
        "entry {} signature",
        e.index
    );
    assert!(
        book.sent.lock().expect("lock").contains(&a.id),
        "entry {}: {} never sent",
        e.index,
        a.id
    );
    Some(a.id)
}

/// After a restart: every acknowledged alert at its index with its leaf
/// hash, every entry complete, no id twice. Returns how many acks checked.
async fn verify_ledger(c: &mut Client, fed: &DevFederation, book: &Book) -> (usize, u64) {
    let entries = all_entries(c).await;
    let mut at: HashMap<String, &pb::LedgerEntry> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.index, i as u64, "no gap in the ledger");
        if let Some(id) = complete(fed, book, e) {
            assert!(at.insert(id.clone(), e).is_none(), "alert {id} stored twice");
        }
    }
    let acked = book.acked.lock().expect("lock");
    for (id, r) in acked.iter() {
        let e = at.get(id).unwrap_or_else(|| panic!("acknowledged alert {id} lost"));
        assert_eq!(e.index, r.index, "alert {id} moved");
        assert_eq!(merkle::leaf_hash(&e.entry).to_vec(), r.leaf_hash, "alert {id} changed");
    }
    (acked.len(), entries.len() as u64)
}

/// The checkpoint after the restart extends the one before the crash.
async fn verify_checkpoints(c: &mut Client, fed: &DevFederation, before: &SignedCheckpoint, size: u64) {
    let latest = checkpoint(c, fed, 0).await;
    assert!(latest.checkpoint.size <= size, "checkpoint beyond the ledger");
    assert!(latest.checkpoint.size >= before.checkpoint.size, "checkpoint went back");
    let after = checkpoint(c, fed, size).await;
    let (old, new) = (before.checkpoint.size, after.checkpoint.size);
    let proof = c
        .get_consistency_proof(pb::ConsistencyProofRequest {
            old_size: old,
            new_size: new,
        })
        .await
        .expect("consistency proof")
        .into_inner();
    let hashes: Vec<merkle::Hash> = proof
        .hashes
        .iter()
        .map(|h| h.as_slice().try_into().expect("32 bytes"))
        .collect();
    merkle::verify_consistency(old, new, &before.checkpoint.root, &after.checkpoint.root, &hashes)
        .expect("the tree after the crash extends the tree before it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_nothing_acknowledged() {
    let started = Instant::now();
    let seed = std::env::var("ISTHMUS_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x1574_4d05_u64);
    let mut rng = Prng(seed | 1);
    let (fed, certs) = write_federation(30);
    let fed = Arc::new(fed);
    let data = tempfile::tempdir().expect("data");
    let book = Arc::new(Book::default());
    let mut d = Daemon::start(certs.path(), data.path());
    let (mut checked, mut size) = (0, 0);
    let cycles: u32 = std::env::var("ISTHMUS_CRASH_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(CYCLES);
    for cycle in 0..cycles {
        let mut c = auditor(&fed, &d).await;
        let before_load = checkpoint(&mut c, &fed, 1).await;
        let tasks: Vec<_> = PUBLISHERS
            .iter()
            .map(|&who| tokio::spawn(load(fed.clone(), d.addr.to_string(), who, cycle, book.clone())))
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.millis(50, 400))).await;
        let before = checkpoint(&mut c, &fed, before_load.checkpoint.size).await;
        d.kill();
        for t in tasks {
            tokio::time::timeout(Duration::from_secs(10), t)
                .await
                .expect("publisher notices the crash")
                .expect("publisher task");
        }
        d = Daemon::start(certs.path(), data.path());
        let mut c = auditor(&fed, &d).await;
        (checked, size) = verify_ledger(&mut c, &fed, &book).await;
        verify_checkpoints(&mut c, &fed, &before, size).await;
    }
    let (_out_dir, export) = export_as_auditor(certs.path(), &d);
    assert!(d.terminate().success());
    let (code, report) = audit(&export, &certs.path().join("log.pub"));
    assert_eq!(code, 0, "{report}");
    eprintln!(
        "crash: {cycles} SIGKILL cycles (seed {seed:#x}), {checked} acknowledged alerts checked, \
         ledger size {size}, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        cycles == 0 || checked > 0,
        "no acknowledged alert was checked: the publishers never got a receipt before the kill"
    );
}
