//! What sealing costs (docs/sealing.md): the publisher sealing a ~2 kB
//! alert (the inner envelope of examples/alert.toml's size) to 3 and to 20
//! readers, one reader opening it (HPKE, key commitment, decryption) and
//! opening plus checking it (inner signature and every field), and the
//! hub's clear checks. The per-reader cost is the slope between 3 and 20
//! readers. Sizes (clear vs sealed envelope) are printed once.
//!
//! `cargo bench --bench sealing`

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing)]

use criterion::{criterion_group, criterion_main, Criterion};
use isthmus::devcerts::{DevFederation, DELEGATIONS};
use isthmus::pb;
use isthmus::seal::{self, ValidSealed};
use prost::Message;
use std::hint::black_box;

/// A RED alert from CO to `n - 1` others, about the size of examples/alert.toml's.
fn alert(n: usize) -> pb::Alert {
    let to: Vec<&str> = DELEGATIONS
        .iter()
        .map(|d| d.0)
        .filter(|d| *d != "CO")
        .take(n - 1)
        .collect();
    let mut a = isthmus::fuzzing::fixture::alert("bench-1", "CO", &to);
    a.created = Some(isthmus::time::unix_to_pb(isthmus::time::unix_now()));
    a.tlp = pb::Tlp::Red as i32;
    a.summary = "Salidas nocturnas en lancha desde Necoclí hacia Acandí y Capurganá. ".repeat(24);
    a
}

fn bench(c: &mut Criterion) {
    let fed = DevFederation::generate(30).expect("federation");
    let roster = fed.roster().expect("roster");
    let signer = fed.principal("CO").and_then(|p| p.signing.clone()).expect("CO");
    let pa = fed.principal("PA").and_then(|p| p.sealing.clone()).expect("PA");
    let now = isthmus::time::unix_now();
    for n in [3, 20] {
        let a = alert(n);
        let clear = isthmus::envelope::sign(&a, &signer);
        let sealed = fed.sealed(&a).expect("sealed");
        println!(
            "sizes, {n} readers: inner alert {} B, clear envelope {} B, sealed envelope {} B (+{} B, x{:.2})",
            a.encoded_len(),
            clear.encoded_len(),
            sealed.encoded_len(),
            sealed.encoded_len() - clear.encoded_len(),
            sealed.encoded_len() as f64 / clear.encoded_len() as f64
        );
        let mut g = c.benchmark_group(format!("sealing/{n}_readers"));
        g.bench_function("sign_and_seal", |b| {
            b.iter(|| fed.sealed(black_box(&a)).expect("sealed"))
        });
        g.bench_function("sign_only", |b| {
            b.iter(|| isthmus::envelope::sign(black_box(&a), &signer))
        });
        g.bench_function("hub_checks", |b| {
            b.iter(|| {
                let v = ValidSealed::parse(black_box(&sealed.payload), now).expect("valid");
                v.check_keys(&roster, now).expect("keys");
            })
        });
        g.bench_function("open", |b| {
            b.iter(|| seal::open(black_box(&sealed.payload), "PA", std::slice::from_ref(&pa)).expect("opens"))
        });
        g.bench_function("open_and_check", |b| {
            b.iter(|| {
                seal::open(black_box(&sealed.payload), "PA", std::slice::from_ref(&pa))
                    .expect("opens")
                    .check(&roster, now)
                    .expect("checks")
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
