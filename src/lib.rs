//! Isthmus: a secure intelligence-sharing hub for national delegations.
//!
//! Delegations publish DSSE-signed [`pb::Alert`]s over mutual-TLS gRPC; every
//! accepted alert becomes an entry of an append-only ledger stored in sled;
//! subscribers read the ledger through one access policy; auditors check it
//! offline with nothing but the exported files.
//!
//! # A publish, start to finish
//!
//! 1. [`server`] accepts a TLS 1.3 connection with a client certificate
//!    ([`tls`]); `server::caller` maps the certificate's SPKI hash to a
//!    [`roster`] member, or refuses with `UNAUTHENTICATED`.
//! 2. The request was decoded under its per-message byte limit
//!    (`codec`), after the per-member rate, byte and stream quotas.
//! 3. [`ingest::accept`] is the single path every publish takes:
//!    envelope ([`envelope`]), one signature under the strict Ed25519 rule
//!    ([`crypto::Rule::Strict`]), alert fields ([`alert`]), authorship and
//!    recipients against the roster, amendments against their original.
//! 4. The [`ledger`] writer stamps a monotonic acceptance time and commits
//!    the entry with others in one `fdatasync` (group commit); the caller
//!    gets a [`ledger::receipt`]. Refusals become gRPC statuses in one
//!    place (`server::status`).
//! 5. Subscribers, woken by the new durable size, see the entry only if
//!    [`policy::may_see`] says so.
//!
//! # Modules
//!
//! | module | holds |
//! |---|---|
//! | [`alert`] | the alert's checked form and its TOML file format |
//! | [`audit`] | the offline verifier behind `isthmus-audit` |
//! | [`bench`] | the load generator behind `isthmus-bench` (feature `bench`) |
//! | [`cli`] | the officer CLI `isthmus` (feature `cli`) |
//! | [`client`] | a mutual-TLS gRPC channel to a hub |
//! | [`config`] | `isthmusd.toml`, command-line overrides, validated [`config::Settings`] |
//! | [`crypto`] | Ed25519 keys and the two verification rules |
//! | [`devcerts`] | DEV ONLY certificate generation (feature `devcerts`) |
//! | [`envelope`] | DSSE: pre-authentication encoding, seal, open |
//! | [`fuzzing`] | fuzz entry points and crafted inputs (feature `fuzzing`) |
//! | [`ingest`] | every publish-time check, and the one path through them |
//! | [`ledger`] | entries, Merkle tree, tiles, checkpoints, receipts, writer |
//! | [`pb`] | generated protobuf and gRPC types |
//! | [`policy`] | who may see what |
//! | [`roster`] | members, keys, roles, and the rule for changing them |
//! | [`server`] | the hub: services, limits, health, reflection, serving |
//! | [`time`] | Unix seconds and protobuf timestamps |
//! | [`tls`] | rustls configurations (ring provider, TLS 1.3) |
//! | [`witness`] | C2SP witnesses: cosignatures, `add-checkpoint`, the witness and its store |
//!
//! Private: `codec` (size-limited protobuf codec), `error`, `hash`
//! (SHA-256), `ids` (checked identifiers, re-exported below), `secret`
//! (owner-only key files), `text` (what stored text may contain).
//!
//! Binaries are thin: `isthmusd` ([`server::serve`]), `isthmus` ([`cli`]),
//! `isthmus-audit` ([`audit::verify`]), `isthmus-bench` ([`bench::run`]).

pub mod alert;
pub mod audit;
#[cfg(feature = "bench")]
pub mod bench;
#[cfg(feature = "cli")]
pub mod cli;
pub mod client;
mod codec;
pub mod config;
pub mod crypto;
#[cfg(any(test, feature = "devcerts"))]
pub mod devcerts;
pub mod envelope;
mod error;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod hash;
mod ids;
pub mod ingest;
pub mod ledger;
pub mod pb;
pub mod policy;
pub mod roster;
pub mod seal;
mod secret;
pub mod server;
mod text;
pub mod time;
pub mod tls;
pub mod witness;

pub use error::{Error, Result};
pub use ids::{AlertId, CountrySet, IdError, PrincipalId};
