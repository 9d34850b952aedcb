//! Merkle tree costs at ledger scale: appending leaves (the hashes the
//! writer stores per group) and generating inclusion and consistency proofs
//! in a 1,000,000-entry tree, reading node hashes through the storage seam
//! (here the in-memory reader, so this measures the maths, not sled).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use isthmus::ledger::merkle::{self, Hash, MemoryHashes};
use std::hint::black_box;

const SIZE: u64 = 1_000_000;

fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| merkle::leaf_hash(&i.to_be_bytes())).collect()
}

fn bench(c: &mut Criterion) {
    let mut tree = MemoryHashes::default();
    tree.append(&leaves(SIZE));
    let next = leaves(256);
    let mut g = c.benchmark_group("merkle_1m");
    g.sample_size(20);
    g.throughput(Throughput::Elements(256));
    g.bench_function("hashes_for_append_256_at_1m", |b| {
        b.iter(|| black_box(merkle::hashes_for_append(SIZE, &next, &tree).expect("append")))
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("inclusion_proof_at_1m", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i = (i + 7919) % SIZE;
            black_box(merkle::inclusion_proof(i, SIZE, &tree).expect("proof"))
        })
    });
    g.bench_function("consistency_proof_at_1m", |b| {
        let mut old = 1u64;
        b.iter(|| {
            old = (old + 104_729) % (SIZE - 1) + 1;
            black_box(merkle::consistency_proof(old, SIZE, &tree).expect("proof"))
        })
    });
    g.bench_function("tree_hash_at_1m", |b| {
        b.iter(|| black_box(merkle::tree_hash(SIZE, &tree).expect("root")))
    });
    g.throughput(Throughput::Elements(SIZE));
    g.sample_size(10);
    g.bench_function("compact_range_root_of_1m_leaves", |b| {
        let l = leaves(SIZE);
        b.iter_batched(
            merkle::CompactRange::new,
            |mut r| {
                for h in &l {
                    r.push(*h);
                }
                black_box(r.root())
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
