//! What durability costs: appending 1 KiB entries to the sled store with a
//! flush + fdatasync per entry, against group commit (one flush + fdatasync
//! per group of 256, as the ledger writer does under concurrent load). Both
//! in one run, so the ratio holds; the store lives in a temp folder on the
//! machine's real disk.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use isthmus::ledger::store::{Store, WriteBatch};

const GROUP: u64 = 256;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let entry = vec![0x5au8; 1024];
    let mut next = 0u64;
    let mut g = c.benchmark_group("durable_append_1KiB");
    g.sample_size(10);
    g.throughput(Throughput::Elements(GROUP));
    g.bench_function("fsync_per_entry_x256", |b| {
        b.iter(|| {
            for _ in 0..GROUP {
                let mut batch = WriteBatch::default();
                batch.put_entry(next, &entry);
                next += 1;
                store.commit(batch).expect("commit");
            }
        })
    });
    g.bench_function("group_commit_256", |b| {
        b.iter(|| {
            let mut batch = WriteBatch::default();
            for _ in 0..GROUP {
                batch.put_entry(next, &entry);
                next += 1;
            }
            store.commit(batch).expect("commit");
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
