//! gRPC server reflection (`grpc.reflection.v1`, and `v1alpha` for older
//! tools) on the hub's port, so `grpcurl` and `grpcui` can list and call the
//! API with nothing but a client certificate. It serves the descriptors
//! `build.rs` compiled from `proto/isthmus/v1` and those of the standard
//! health service, and sits behind the same mutual TLS, roster check and
//! read bucket as everything else ([`Gate`]).

use super::health::{Gate, SMALL_REQUEST_BYTES};
use crate::error::{Error, Result};
use tonic::service::interceptor::InterceptedService;
use tonic_reflection::server::{v1, v1alpha, Builder};

/// The v1 reflection service.
pub(super) type V1<S> = InterceptedService<v1::ServerReflectionServer<S>, Gate>;
/// The v1alpha reflection service.
pub(super) type V1Alpha<S> = InterceptedService<v1alpha::ServerReflectionServer<S>, Gate>;

fn builder() -> Builder<'static> {
    Builder::configure()
        .register_encoded_file_descriptor_set(crate::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

fn failed(e: tonic_reflection::server::Error) -> Error {
    Error::Config(format!("gRPC reflection descriptors: {e}"))
}

/// Both reflection services, each behind `gate`.
pub(super) fn services(gate: Gate) -> Result<(V1<impl v1::ServerReflection>, V1Alpha<impl v1alpha::ServerReflection>)> {
    let v1 = builder().build_v1().map_err(failed)?;
    let v1alpha = builder().build_v1alpha().map_err(failed)?;
    let v1 = v1.max_decoding_message_size(SMALL_REQUEST_BYTES);
    let v1alpha = v1alpha.max_decoding_message_size(SMALL_REQUEST_BYTES);
    Ok((
        InterceptedService::new(v1, gate.clone()),
        InterceptedService::new(v1alpha, gate),
    ))
}
