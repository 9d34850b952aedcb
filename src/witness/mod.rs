//! Witnesses: delegations cosigning the hub's checkpoints so that the hub
//! cannot show different histories to different countries unnoticed.
//! Everything here follows the C2SP specifications byte for byte, so that
//! off-the-shelf witnesses and clients interoperate:
//!
//! - [`cosignature`]: `cosignature/v1` (C2SP tlog-cosignature), Ed25519;
//! - [`request`]: the `add-checkpoint` body and answers (C2SP tlog-witness);
//! - [`core`]: the witness's checks, in the spec's order;
//! - [`store`]: its durable state, changed only by compare-and-swap, and the
//!   evidence of a log's misbehaviour;
//! - [`http`]: `POST /add-checkpoint` over HTTP/1.1, the spec's transport;
//! - [`policy`]: a reader's witness policy and quorum (C2SP tlog-policy).

pub mod core;
pub mod cosignature;
pub mod dial;
pub mod http;
pub mod policy;
pub mod request;
pub mod store;

pub use self::core::Witness;
pub use cosignature::{CosignatureVerifier, Cosigned, Cosigner};
pub use policy::{Policy, PolicyError, PolicyWitness, QuorumError};
pub use request::{AddCheckpoint, Answer};
pub use store::{Evidence, WitnessStore};

#[cfg(test)]
mod tests;
