//! Merkle proof verification (RFC 9162 §2.1.3.2 and §2.1.4.2) on inputs
//! decoded from the fuzzer's bytes: first arbitrary sizes, indices, hashes
//! and proofs straight into the verifiers, then real proofs over a small
//! tree whose shape the bytes choose.

use super::Bytes;
use crate::ledger::merkle::{self, Hash, MemoryHashes};

/// Checks: the verifiers never panic; a raw inclusion proof that verifies
/// stops verifying for a flipped leaf; every real proof verifies and stops
/// verifying when its leaf, a hash, its length or the old root changes.
pub fn proof(data: &[u8]) {
    let mut b = Bytes(data);
    raw_inclusion(&mut b);
    raw_consistency(&mut b);
    real_proofs(&mut b);
}

fn hashes(b: &mut Bytes<'_>) -> Vec<Hash> {
    let n = usize::from(b.u8() % 72);
    (0..n).map(|_| b.hash()).collect()
}

fn raw_inclusion(b: &mut Bytes<'_>) {
    let (index, size, leaf, root) = (b.u64(), b.u64(), b.hash(), b.hash());
    let proof = hashes(b);
    if merkle::verify_inclusion(&leaf, index, size, &proof, &root).is_ok() {
        let mut flipped = leaf;
        flipped[0] ^= 1;
        assert!(merkle::verify_inclusion(&flipped, index, size, &proof, &root).is_err());
    }
}

fn raw_consistency(b: &mut Bytes<'_>) {
    let (old, new, old_root, new_root) = (b.u64(), b.u64(), b.hash(), b.hash());
    let proof = hashes(b);
    if merkle::verify_consistency(old, new, &old_root, &new_root, &proof).is_ok() {
        let mut flipped = old_root;
        flipped[31] ^= 1;
        assert!(merkle::verify_consistency(old, new, &flipped, &new_root, &proof).is_err());
    }
}

fn real_proofs(b: &mut Bytes<'_>) {
    let size = 1 + u64::from(b.u8());
    let salt = b.u8();
    let leaves: Vec<Hash> = (0..size)
        .map(|i| merkle::leaf_hash(&[salt, i as u8, (i >> 8) as u8]))
        .collect();
    let mut tree = MemoryHashes::default();
    tree.append(&leaves);
    let root = merkle::tree_hash(size, &tree).expect("the tree holds every node");
    let index = u64::from(b.u16()) % size;
    let proof = merkle::inclusion_proof(index, size, &tree).expect("an inclusion proof");
    let leaf = leaves[index as usize];
    assert!(merkle::verify_inclusion(&leaf, index, size, &proof, &root).is_ok());
    let mut flipped = leaf;
    flipped[b.u8() as usize % 32] ^= 1;
    assert!(merkle::verify_inclusion(&flipped, index, size, &proof, &root).is_err());
    for bad in mutations(&proof, b) {
        assert!(merkle::verify_inclusion(&leaf, index, size, &bad, &root).is_err());
    }
    let old = 1 + u64::from(b.u8()) % size;
    let old_root = merkle::tree_hash(old, &tree).expect("an older root");
    let proof = merkle::consistency_proof(old, size, &tree).expect("a consistency proof");
    assert!(merkle::verify_consistency(old, size, &old_root, &root, &proof).is_ok());
    let mut wrong_old = old_root;
    wrong_old[0] ^= 0x80;
    assert!(merkle::verify_consistency(old, size, &wrong_old, &root, &proof).is_err());
    for bad in mutations(&proof, b) {
        assert!(merkle::verify_consistency(old, size, &old_root, &root, &bad).is_err());
    }
}

/// The proof with one hash changed, one hash dropped and one extra hash.
fn mutations(proof: &[Hash], b: &mut Bytes<'_>) -> Vec<Vec<Hash>> {
    let mut out = vec![[proof, &[b.hash()]].concat()];
    if !proof.is_empty() {
        let i = usize::from(b.u8()) % proof.len();
        let mut changed = proof.to_vec();
        changed[i][usize::from(b.u8()) % 32] ^= 1 << (b.u8() % 8);
        out.push(changed);
        out.push(proof[..proof.len() - 1].to_vec());
    }
    out
}
