//! The integration suite: one binary, real servers on 127.0.0.1 port 0,
//! real TLS with freshly generated certificates, real sled in temporary
//! folders, and the real executables for the CLI and restart tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod audit;
mod audit_witnessed;
mod binaries;
mod client_verify;
mod connections;
mod crash;

mod exchange;
mod fuzz_corpus;
mod health;
mod hostile;
mod ledger;
mod limits;
mod need_to_know;
mod reflection;
mod refusals;
mod roster_changes;
mod sealed;
mod streams;
mod tls_matrix;
mod util;
mod witness;
mod witness_dial;
mod witness_roster;
