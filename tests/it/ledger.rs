//! The verifiable ledger over gRPC: signed checkpoints, inclusion and
//! consistency proofs checked with the pure Merkle code, access policy on
//! proofs that reveal content.

use crate::util::*;
use isthmus::ledger::checkpoint::SignedCheckpoint;
use isthmus::ledger::merkle;
use isthmus::pb;
use tonic::Code;

fn hashes(v: &[Vec<u8>]) -> Vec<merkle::Hash> {
    v.iter()
        .map(|h| merkle::Hash::try_from(h.as_slice()).expect("32 bytes"))
        .collect()
}

#[tokio::test]
async fn checkpoints_grow_and_proofs_verify_against_them() {
    let s = TestServer::start(federation()).await;
    let verifier = s.fed.log.verifier();
    let mut co = s.client("CO").await;
    let first = co
        .get_checkpoint(pb::GetCheckpointRequest {
            min_size: 1,
            ..Default::default()
        })
        .await
        .expect("genesis cp")
        .into_inner();
    let old = SignedCheckpoint::open(&first.note, &verifier).expect("signed by the log key");
    assert_eq!(old.checkpoint.origin, s.fed.log.name());

    let mut receipts = Vec::new();
    for i in 0..10 {
        let env = signed(&s.fed, "CO", &alert(&format!("p-{i}"), "CO", &["PA"]));
        receipts.push(co.publish(env).await.expect("publish").into_inner());
    }
    let last = receipts.last().expect("some").index;
    let cp = co
        .get_checkpoint(pb::GetCheckpointRequest {
            min_size: last + 1,
            ..Default::default()
        })
        .await
        .expect("cp")
        .into_inner();
    let new = SignedCheckpoint::open(&cp.note, &verifier).expect("verifies");
    assert!(new.checkpoint.size > old.checkpoint.size);

    for r in &receipts {
        let req = pb::InclusionProofRequest {
            index: r.index,
            tree_size: new.checkpoint.size,
        };
        let p = co.get_inclusion_proof(req).await.expect("proof").into_inner();
        assert_eq!(p.leaf_hash, r.leaf_hash);
        let leaf = merkle::Hash::try_from(p.leaf_hash.as_slice()).expect("32");
        merkle::verify_inclusion(
            &leaf,
            r.index,
            new.checkpoint.size,
            &hashes(&p.hashes),
            &new.checkpoint.root,
        )
        .expect("inclusion verifies");
    }
    let req = pb::ConsistencyProofRequest {
        old_size: old.checkpoint.size,
        new_size: new.checkpoint.size,
    };
    let c = co.get_consistency_proof(req).await.expect("consistency").into_inner();
    merkle::verify_consistency(
        old.checkpoint.size,
        new.checkpoint.size,
        &old.checkpoint.root,
        &new.checkpoint.root,
        &hashes(&c.hashes),
    )
    .expect("consistent");

    let hidden = pb::InclusionProofRequest {
        index: receipts[0].index,
        tree_size: new.checkpoint.size,
    };
    let err = s
        .client("BR")
        .await
        .get_inclusion_proof(hidden)
        .await
        .expect_err("BR may not see it");
    assert_eq!(err.code(), Code::NotFound);
    let beyond = pb::InclusionProofRequest {
        index: 0,
        tree_size: s.size() + 1,
    };
    assert_eq!(
        co.get_inclusion_proof(beyond).await.expect_err("beyond").code(),
        Code::OutOfRange
    );
    let bad = pb::ConsistencyProofRequest {
        old_size: 5,
        new_size: 3,
    };
    assert_eq!(
        co.get_consistency_proof(bad).await.expect_err("bad sizes").code(),
        Code::InvalidArgument
    );
    s.stop().await;
}
