//! The witness against a log made here: every answer of `add-checkpoint`,
//! the compare-and-swap under racing requests, and split views.

use super::*;
use crate::ledger::checkpoint::Checkpoint;
use crate::ledger::merkle::{self, Hash, MemoryHashes};
use crate::ledger::note::NoteSigner;

const NOW: u64 = 1_800_000_000;

/// A log: a signing key and the leaves so far.
struct Log {
    key: NoteSigner,
    tree: MemoryHashes,
}

impl Log {
    fn new(name: &str) -> Log {
        Log {
            key: NoteSigner::generate(name).expect("log key").0,
            tree: MemoryHashes::default(),
        }
    }

    fn grow(&mut self, n: usize, tag: &str) {
        let leaves: Vec<Hash> = (0..n)
            .map(|i| merkle::leaf_hash(format!("{tag}-{}-{i}", self.tree.size()).as_bytes()))
            .collect();
        self.tree.append(&leaves);
    }

    fn note(&self) -> String {
        let size = self.tree.size();
        let cp = Checkpoint {
            origin: self.key.name().to_owned(),
            size,
            root: merkle::tree_hash(size, &self.tree).expect("root"),
            extensions: vec!["roster 0".into()],
        };
        self.key.sign(&cp.to_text()).expect("sign")
    }

    fn proof(&self, old: u64) -> Vec<Hash> {
        match old {
            0 => Vec::new(),
            _ => merkle::consistency_proof(old, self.tree.size(), &self.tree).expect("proof"),
        }
    }

    fn request(&self, old: u64) -> Vec<u8> {
        let r = AddCheckpoint {
            old_size: old,
            proof: self.proof(old),
            checkpoint: self.note(),
        };
        r.to_body().into_bytes()
    }
}

fn witness(logs: &[&Log]) -> (Witness, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = WitnessStore::open(dir.path()).expect("store");
    let cosigner = Cosigner::generate("witness.example/co").expect("cosigner").0;
    let keys = logs.iter().map(|l| l.key.verifier()).collect();
    (Witness::new(cosigner, keys, store), dir)
}

fn cosigned(w: &Witness, log: &Log, answer: &Answer) -> u64 {
    let Answer::Cosigned(line) = answer else {
        panic!("expected a cosignature, got {answer:?}");
    };
    let body = crate::ledger::note::unverified_text(&log.note())
        .expect("text")
        .to_owned();
    let got = w.cosigner().verifier().verify_line(&body, line).expect("verifies");
    got.expect("by this witness").timestamp
}

#[test]
fn a_growing_log_is_cosigned_and_every_refusal_has_its_status() {
    let mut log = Log::new("hub.example/log");
    let stranger = Log::new("other.example/log");
    let (w, _dir) = witness(&[&log]);
    log.grow(5, "a");
    assert_eq!(cosigned(&w, &log, &w.add_checkpoint(&log.request(0), NOW)), NOW);
    log.grow(7, "a");
    let ok = w.add_checkpoint(&log.request(5), NOW + 1);
    assert_eq!(cosigned(&w, &log, &ok), NOW + 1);

    let impostor = {
        let mut l = Log::new("hub.example/log");
        l.grow(20, "forged");
        l
    };
    let mut grown = Log {
        key: log.key.clone(),
        tree: log.tree.clone(),
    };
    grown.grow(3, "a");
    let mut bad_proof = AddCheckpoint::parse(&grown.request(12)).expect("parse");
    bad_proof.proof[0][0] ^= 1;
    let one_hash = format!("{}=", "A".repeat(43));
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("garbage", b"hello".to_vec(), 400),
        ("unknown origin", stranger.request(0), 404),
        ("signed by another key of the same name", impostor.request(0), 403),
        (
            "old beyond the checkpoint",
            format!("old 99\n\n{}", log.note()).into_bytes(),
            400,
        ),
        ("old is not the last cosigned size", log.request(5), 409),
        ("old 0 once 12 was cosigned", grown.request(0), 409),
        ("bad consistency proof", bad_proof.to_body().into_bytes(), 422),
        (
            "equal size, proof not empty",
            format!("old 12\n{one_hash}\n\n{}", log.note()).into_bytes(),
            422,
        ),
    ];
    for (what, body, status) in cases {
        let a = w.add_checkpoint(&body, NOW + 2);
        assert_eq!(a.status(), status, "{what}: {a:?}");
    }
    let Answer::Conflict { size, .. } = w.add_checkpoint(&log.request(5), NOW) else {
        panic!("409 expected");
    };
    assert_eq!(size, 12, "the 409 names the size last cosigned");
    assert_eq!(
        cosigned(&w, &log, &w.add_checkpoint(&log.request(12), NOW + 3)),
        NOW + 3,
        "same checkpoint again"
    );

    let (fresh, _dir) = witness(&[&log]);
    let from_zero = format!("old 0\n{one_hash}\n\n{}", log.note());
    assert_eq!(
        fresh.add_checkpoint(from_zero.as_bytes(), NOW).status(),
        422,
        "old 0 needs an empty proof"
    );
    assert!(
        fresh.store().get("hub.example/log").expect("get").is_none(),
        "refusals store nothing"
    );
}

#[test]
fn a_split_view_is_refused_and_the_evidence_kept() {
    let mut a = Log::new("hub.example/log");
    a.grow(10, "shared");
    let mut b = Log {
        key: a.key.clone(),
        tree: a.tree.clone(),
    };
    a.grow(5, "history-A");
    b.grow(5, "history-B");
    let (w, _dir) = witness(&[&a]);
    cosigned(&w, &a, &w.add_checkpoint(&a.request(0), NOW));
    let b_at_15 = b.note();
    let same_size = w.add_checkpoint(&b.request(15), NOW);
    assert!(matches!(same_size, Answer::Conflict { size: 15, .. }), "{same_size:?}");
    b.grow(1, "history-B");
    let fork = w.add_checkpoint(&b.request(15), NOW);
    assert_eq!(fork.status(), 422, "{fork:?}");
    let evidence = w.store().evidence().expect("evidence");
    assert_eq!(evidence.len(), 2, "{evidence:?}");
    assert_eq!(evidence[0].kind, "same size, different root");
    assert_eq!(evidence[0].cosigned, a.note(), "the note it had cosigned");
    assert!(evidence[0].offered.ends_with(&b_at_15), "the offered note is kept");
    assert!(evidence[1].offered.ends_with(&b.note()), "with the refused proof");
    assert_eq!(
        w.store().get("hub.example/log").expect("get").expect("state").0.size,
        15
    );
}

#[test]
fn racing_requests_never_roll_the_state_back() {
    let mut log = Log::new("hub.example/log");
    log.grow(4, "a");
    let (w, _dir) = witness(&[&log]);
    cosigned(&w, &log, &w.add_checkpoint(&log.request(0), NOW));
    // Many clients offer different sizes, all from 4, at once: exactly one
    // wins; the others learn its size from a 409.
    let bodies: Vec<(u64, Vec<u8>)> = (1..=8)
        .map(|k| {
            let mut l = Log {
                key: log.key.clone(),
                tree: log.tree.clone(),
            };
            l.grow(k, "a");
            (l.tree.size(), l.request(4))
        })
        .collect();
    let start = std::sync::Barrier::new(bodies.len());
    let answers: Vec<(u64, Answer)> = std::thread::scope(|s| {
        let handles: Vec<_> = bodies
            .iter()
            .map(|(size, body)| {
                let (start, w) = (&start, &w);
                s.spawn(move || {
                    start.wait();
                    (*size, w.add_checkpoint(body, NOW))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    let winners: Vec<u64> = answers
        .iter()
        .filter(|(_, a)| a.status() == 200)
        .map(|(size, _)| *size)
        .collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    let stored = w.store().get("hub.example/log").expect("get").expect("state").0.size;
    assert_eq!(stored, winners[0]);
    for (_, a) in &answers {
        if let Answer::Conflict { size, .. } = a {
            assert!(*size == 4 || *size == stored, "{a:?}");
        }
    }
}

#[test]
fn the_state_survives_reopening() {
    let mut log = Log::new("hub.example/log");
    log.grow(3, "a");
    let dir = tempfile::tempdir().expect("tempdir");
    let cosigner = Cosigner::generate("w.example/1").expect("key").0;
    {
        let w = Witness::new(
            cosigner.clone(),
            vec![log.key.verifier()],
            WitnessStore::open(dir.path()).expect("open"),
        );
        assert_eq!(w.add_checkpoint(&log.request(0), NOW).status(), 200);
    }
    let w = Witness::new(
        cosigner,
        vec![log.key.verifier()],
        WitnessStore::open(dir.path()).expect("reopen"),
    );
    assert!(matches!(
        w.add_checkpoint(&log.request(0), NOW),
        Answer::Conflict { size: 3, .. }
    ));
    log.grow(2, "a");
    assert_eq!(
        w.add_checkpoint(&log.request(3), NOW).status(),
        200,
        "a lagging client catches up with one proof"
    );
}

#[test]
fn a_swap_from_a_stale_read_is_refused() {
    let mut log = Log::new("hub.example/log");
    log.grow(2, "a");
    let (w, _dir) = witness(&[&log]);
    assert_eq!(w.add_checkpoint(&log.request(0), NOW).status(), 200);
    let (state, bytes) = w.store().get("hub.example/log").expect("get").expect("state");
    let grown = |n| store::LogState {
        size: state.size + n,
        ..state.clone()
    };
    assert!(matches!(
        w.store()
            .swap("hub.example/log", Some(&bytes), &grown(1))
            .expect("swap"),
        store::Swapped::Done
    ));
    let raced = w
        .store()
        .swap("hub.example/log", Some(&bytes), &grown(5))
        .expect("swap");
    assert!(
        matches!(raced, store::Swapped::Raced(Some(ref now)) if now.size == 3),
        "{raced:?}"
    );
    assert!(
        matches!(
            w.store().swap("hub.example/log", None, &grown(9)).expect("swap"),
            store::Swapped::Raced(_)
        ),
        "no record is not the same as a record"
    );
}
