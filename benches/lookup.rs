//! GetEntry by (publisher, id) must not tell a caller whether a hidden alert
//! exists: the hub answers NOT_FOUND both ways, and this bench checks that
//! the two answers also cost the same. 2,000 alerts from CO to PA in a real
//! hub's ledger (sled in a temp folder); BR, not a recipient, looks up ids
//! that exist (hidden) and ids that do not (missing), in one run.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing)]

use criterion::{criterion_group, criterion_main, Criterion};
use isthmus::devcerts::DevFederation;
use isthmus::pb;
use isthmus::server::{Hub, LogOptions};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

const ALERTS: usize = 2_000;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let fed = DevFederation::generate(30).expect("federation");
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogOptions {
        key: Arc::new(fed.log.clone()),
        checkpoint_interval: Duration::from_secs(1),
        min_free_disk_bytes: 0,
        witnesses: Vec::new(),
    };
    let member = |id: &str| fed.principals.iter().find(|p| p.member.id.as_str() == id).expect(id);
    let hub = rt.block_on(async {
        let hub = Hub::open(dir.path(), fed.approved(&fed.roster().expect("roster")), &log)
            .await
            .expect("hub");
        let co = member("CO");
        for i in 0..ALERTS {
            let a = pb::Alert {
                created: Some(isthmus::time::unix_to_pb(isthmus::time::unix_now())),
                ..isthmus::fuzzing::fixture::alert(&format!("id-{i}"), "CO", &["PA"])
            };
            let env = isthmus::envelope::sign(&a, co.signing.as_ref().expect("key"));
            hub.publish(&env, &co.member, &co.tls.spki).await.expect("publish");
        }
        hub
    });
    let br = member("BR").member.clone();
    let mut n = 0usize;
    let mut g = c.benchmark_group("get_entry_by_id_as_a_non_recipient");
    g.bench_function("hidden", |b| {
        b.iter(|| {
            n = (n + 7919) % ALERTS;
            let got = hub.visible_alert(&br, "CO", &format!("id-{n}")).expect("read");
            assert!(black_box(got).is_none());
        })
    });
    g.bench_function("missing", |b| {
        b.iter(|| {
            n = (n + 7919) % ALERTS;
            let got = hub.visible_alert(&br, "CO", &format!("no-{n}")).expect("read");
            assert!(black_box(got).is_none());
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
