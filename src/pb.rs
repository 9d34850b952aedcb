//! The one place the generated protobuf and gRPC types are included.
//!
//! `build.rs` compiles `proto/isthmus/v1/*.proto` with protox; everything
//! else in the crate names these types through `crate::pb`.

#![allow(clippy::all, clippy::pedantic, missing_docs, unused_qualifications, unreachable_pub)]

tonic::include_proto!("isthmus.v1");

/// The encoded `FileDescriptorSet` of `proto/isthmus/v1` and its imports,
/// served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/isthmus_descriptor.bin"));

/// The DSSE `payloadType` of an encoded [`Alert`].
pub const ALERT_PAYLOAD_TYPE: &str = "application/vnd.isthmus.alert.v1+protobuf";

/// The DSSE `payloadType` of an encoded [`SealedAlert`] (docs/sealing.md).
pub const SEALED_PAYLOAD_TYPE: &str = "application/vnd.isthmus.sealed-alert.v1+protobuf";

/// DSSE payload type of an approved roster (an encoded `isthmus.v1.Roster`).
pub const ROSTER_PAYLOAD_TYPE: &str = "application/vnd.isthmus.roster.v1+protobuf";
