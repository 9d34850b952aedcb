//! What durability costs: appending 1 KiB entries through the ledger writer
//! one at a time (each append awaited, so each pays its own sled flush +
//! fdatasync) against 256 appends in flight at once (the writer folds them
//! into group commits, as it does under concurrent publishers). Both in one
//! run, so the ratio holds; the ledger lives in a temp folder on the
//! machine's real disk.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use isthmus::ledger::entry::{EntryKey, NewEntry};
use isthmus::ledger::note::NoteSigner;
use isthmus::ledger::Ledger;

const GROUP: u64 = 256;

fn entry(i: u64) -> NewEntry {
    let key = EntryKey::Alert {
        publisher: "CO".into(),
        id: format!("bench-{i}"),
    };
    NewEntry::raw(vec![0x5a; 1024], key)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let signer = Arc::new(NoteSigner::generate("bench.example/ledger").expect("key").0);
    // Checkpoints far apart: the bench measures appends, not note signing.
    let ledger = rt.block_on(async { Ledger::open(dir.path(), signer, Duration::from_secs(3600)) });
    let ledger = Arc::new(ledger.expect("open"));
    let mut next = 0u64;
    let mut g = c.benchmark_group("durable_append_1KiB");
    g.sample_size(10);
    g.throughput(Throughput::Elements(GROUP));
    g.bench_function("one_at_a_time_x256", |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..GROUP {
                    let appended = ledger.append(entry(next)).await.expect("store");
                    appended.expect("raw entries are never late");
                    next += 1;
                }
            })
        })
    });
    g.bench_function("in_flight_256", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut tasks = tokio::task::JoinSet::new();
                for _ in 0..GROUP {
                    let ledger = ledger.clone();
                    let e = entry(next);
                    next += 1;
                    tasks.spawn(async move { ledger.append(e).await });
                }
                while let Some(done) = tasks.join_next().await {
                    done.expect("task").expect("store").expect("raw entries are never late");
                }
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
