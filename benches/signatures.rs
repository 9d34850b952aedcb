//! Ed25519 verification speeds in one run, so the ratios hold on a noisy
//! machine: ring's single verify (cofactorless, the usual baseline), our
//! strict ingest rule through our API, the cofactored audit rule's single verify, our batch verifier on one thread, and the batch
//! verifier on every core. Each iteration verifies the same 1,024 distinct
//! (key, message, signature) items of alert-envelope size.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use isthmus::crypto::batch::{verify_batch, verify_parallel, Item};
use isthmus::crypto::{PublicKey, Rule, Signature, SigningKey};
use std::hint::black_box;

const N: usize = 1024;

struct Corpus {
    keys: Vec<PublicKey>,
    msgs: Vec<Vec<u8>>,
    sigs: Vec<Signature>,
}

fn corpus() -> Corpus {
    let signers: Vec<SigningKey> = (0..20).map(|_| SigningKey::generate()).collect();
    let msgs: Vec<Vec<u8>> = (0..N)
        .map(|i| format!("DSSEv1 41 application/vnd.isthmus.alert.v1+protobuf 600 {i:0>600}").into_bytes())
        .collect();
    let sigs = msgs.iter().enumerate().map(|(i, m)| signers[i % 20].sign(m)).collect();
    let keys = (0..N).map(|i| signers[i % 20].public_key()).collect();
    Corpus { keys, msgs, sigs }
}

fn bench(c: &mut Criterion) {
    let k = corpus();
    let items: Vec<Item> = (0..N)
        .map(|i| Item {
            key: &k.keys[i],
            msg: &k.msgs[i],
            sig: &k.sigs[i],
        })
        .collect();
    let ring_keys: Vec<_> = k
        .keys
        .iter()
        .map(|p| ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, *p.as_bytes()))
        .collect();
    let mut g = c.benchmark_group("ed25519_verify_1024");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(20);
    g.bench_function("ring_single", |b| {
        b.iter(|| {
            for ((key, msg), sig) in ring_keys.iter().zip(&k.msgs).zip(&k.sigs) {
                black_box(key.verify(msg, sig.as_bytes()).is_ok());
            }
        })
    });
    g.bench_function("ingest_strict_single", |b| {
        b.iter(|| {
            for ((key, msg), sig) in k.keys.iter().zip(&k.msgs).zip(&k.sigs) {
                black_box(key.verify(msg, sig, Rule::Strict).is_ok());
            }
        })
    });
    g.bench_function("core_single", |b| {
        b.iter(|| {
            for ((key, msg), sig) in k.keys.iter().zip(&k.msgs).zip(&k.sigs) {
                black_box(key.verify(msg, sig, Rule::Cofactored).is_ok());
            }
        })
    });
    g.bench_function("core_batch_1_thread", |b| {
        b.iter(|| assert!(verify_batch(black_box(&items)).is_empty()))
    });
    g.bench_function("core_batch_all_cores", |b| {
        b.iter(|| assert!(verify_parallel(black_box(&items), 0).is_empty()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
