//! Isthmus: a secure intelligence-sharing hub for national delegations.
//!
//! # Layout
//!
//! Delegations publish DSSE-signed [`pb::Alert`]s over mutual-TLS gRPC; every
//! accepted alert becomes an entry of an append-only ledger stored in sled;
//! subscribers read the ledger through one access policy.
//!
//! A publish flows: [`server`] accepts a TLS connection (client certificate
//! required, [`tls`]) → the certificate's SPKI hash names a [`roster`]
//! principal → [`ingest::check`] verifies envelope ([`envelope`]), signature
//! ([`crypto`]), alert fields ([`alert`]) and roster agreement → the
//! [`ledger`] writer commits it with others in one `fdatasync` (group
//! commit) → the publisher gets its receipt, and subscribers, woken by the
//! new durable size, read it through [`policy::may_see`].
//!
//! Binaries are thin: `isthmusd` ([`server::run`]), `isthmus` ([`cli`]),
//! `isthmus-audit` ([`audit::verify`], offline), `isthmus-bench`
//! ([`bench::run`], load generator).

pub mod alert;
pub mod audit;
#[cfg(feature = "bench")]
pub mod bench;
#[cfg(feature = "cli")]
pub mod cli;
pub mod client;
pub mod codec;
pub mod config;
pub mod crypto;
#[cfg(any(test, feature = "devcerts"))]
pub mod devcerts;
pub mod envelope;
pub mod error;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod hash;
pub mod ids;
pub mod ingest;
pub mod ledger;
pub mod pb;
pub mod policy;
pub mod roster;
pub mod secret;
pub mod server;
pub mod text;
pub mod time;
pub mod tls;

pub use error::{Error, Result};
