//! What witnessing costs the hub: the time from a checkpoint being signed
//! to GetCheckpoint serving it with every witness's cosignature, with 20
//! witnesses (one per delegation) on loopback, each a real `isthmus
//! witness` (HTTP, sled state synced before it answers). Bounded: 200
//! checkpoints or 120 s. Prints p50/p90/p99 and the publish latency
//! alongside (publishing never waits for witnesses).
//!
//! `cargo bench --bench witnessing`

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing)]

use isthmus::devcerts::DevFederation;
use isthmus::pb;
use isthmus::server::{Hub, LogOptions, WitnessTarget};
use isthmus::witness::{http, Cosigner, Witness, WitnessStore};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WITNESSES: usize = 20;
const ROUNDS: usize = 200;
const LIMIT: Duration = Duration::from_secs(120);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("witnessing: bench");
        return;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let fed = DevFederation::generate(30).expect("federation");
    let mut dirs = Vec::new();
    let mut targets = Vec::new();
    for i in 0..WITNESSES {
        let dir = tempfile::tempdir().expect("dir");
        let store = WitnessStore::open(dir.path()).expect("store");
        let cosigner = Cosigner::generate(&format!("w{i}.example/isthmus")).expect("key").0;
        let key = cosigner.verifier();
        let w = Arc::new(Witness::new(cosigner, vec![fed.log.verifier()], store));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        tokio::spawn(http::serve(listener, w, None, std::future::pending()));
        targets.push(WitnessTarget { key, addr });
        dirs.push(dir);
    }
    let data = tempfile::tempdir().expect("data");
    let log = LogOptions {
        key: Arc::new(fed.log.clone()),
        checkpoint_interval: Duration::from_millis(1),
        min_free_disk_bytes: 0,
        witnesses: targets,
    };
    let hub = Hub::open(data.path(), fed.approved(&fed.roster().expect("roster")), &log)
        .await
        .expect("hub");
    let co = fed
        .principals
        .iter()
        .find(|p| p.member.id.as_str() == "CO")
        .expect("CO");
    let (mut witnessed, mut published) = (Vec::new(), Vec::new());
    let start = Instant::now();
    for i in 0..ROUNDS {
        if start.elapsed() > LIMIT {
            break;
        }
        let a = pb::Alert {
            created: Some(isthmus::time::unix_to_pb(isthmus::time::unix_now())),
            ..isthmus::fuzzing::fixture::alert(&format!("w-{i}"), "CO", &["PA"])
        };
        let env = isthmus::envelope::sign(&a, co.signing.as_ref().expect("key"));
        let t = Instant::now();
        let r = hub.publish(&env, &co.member, &co.tls.spki).await.expect("publish");
        published.push(t.elapsed());
        let cp = hub
            .ledger()
            .checkpoint_at_least(r.index + 1, Duration::from_secs(10))
            .await
            .expect("checkpoint");
        let signed = Instant::now();
        let deadline = signed + Duration::from_secs(10);
        loop {
            let note = hub.checkpoint_note(&cp);
            let lines = note.lines().filter(|l| l.starts_with('\u{2014}')).count();
            if lines > WITNESSES || Instant::now() > deadline {
                assert!(
                    lines > WITNESSES,
                    "round {i}: {} of {WITNESSES} cosigned in 10 s",
                    lines - 1
                );
                break;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        witnessed.push(signed.elapsed());
    }
    witnessed.sort();
    published.sort();
    let show = |what: &str, v: &[Duration]| {
        println!(
            "{what:<40} n={:>3}  p50 {:>8.2?}  p90 {:>8.2?}  p99 {:>8.2?}",
            v.len(),
            percentile(v, 0.50),
            percentile(v, 0.90),
            percentile(v, 0.99)
        );
    };
    show(&format!("checkpoint signed -> {WITNESSES} cosignatures"), &witnessed);
    show("publish (durable), for comparison", &published);
}
