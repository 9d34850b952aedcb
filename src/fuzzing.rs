//! Fuzz targets for every parser of outside input, as plain library
//! functions: the cargo-fuzz binaries in `fuzz/fuzz_targets/` are one-line
//! calls to them, and `tests/it/fuzz_corpus.rs` runs the same functions
//! over the kept corpus and past crashers in `cargo test`.
//!
//! Each target takes arbitrary bytes and checks invariants, not only the
//! absence of panics: what parses prints back the same, what verifies stops
//! verifying when a bit changes, ingest never accepts an envelope its
//! signer's key did not sign, and the audit agrees with ingest. A violated
//! invariant is an `assert!` failure, which is what the fuzzer reports.
//! Keys, roster and clock are fixed ([`fixture`]), so inputs reproduce.
//! How to run them and what they found: docs/fuzzing.md.

// Panicking on a broken invariant is how a fuzz target reports it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

pub mod crafted;
mod export;
pub mod fixture;
mod proofs;
mod sealed;
pub mod seeds;
mod text;
mod wire;
mod witness;

pub use export::export;
pub use proofs::proof;
pub use sealed::sealed;
pub use text::{alert_file, checkpoint, note, receipt, roster_toml};
pub use wire::{alert_payload, audit_rules, envelope};
pub use witness::witness_request;

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// Every target by the name of its cargo-fuzz binary and corpus folder.
pub const TARGETS: &[(&str, Target)] = &[
    ("envelope", envelope),
    ("alert_payload", alert_payload),
    ("audit_rules", audit_rules),
    ("note", note),
    ("checkpoint", checkpoint),
    ("receipt", receipt),
    ("proof", proof),
    ("export", export),
    ("alert_file", alert_file),
    ("roster_toml", roster_toml),
    ("witness_request", witness_request),
    ("sealed", sealed),
];

/// A reader of fixed-size values from fuzz input; past the end it yields zeros.
#[derive(Debug)]
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }

    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }

    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }

    fn hash(&mut self) -> [u8; 32] {
        self.take()
    }

    fn rest(&self) -> &[u8] {
        self.0
    }
}
