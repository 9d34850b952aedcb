//! `isthmusd`: mutual-TLS gRPC in front of the [`Hub`].
//!
//! [`run`] takes a bound listener and a shutdown future (the binary passes
//! ctrl-c / SIGTERM, tests pass a oneshot). On shutdown it stops accepting,
//! ends subscription streams, lets in-flight calls finish for up to the
//! grace period, then returns; the ledger writer drains when the last handle
//! drops.

mod caller;
mod conn;
mod dial_out;
mod disk;
mod health;
mod hub;
mod limits;
mod reflection;
mod serve;
mod service;
pub(crate) mod status;
mod streams;
mod subscription;
mod witnessing;

#[cfg(test)]
mod need_to_know_props;

pub use crate::config::ServeOptions;
pub use conn::Peer;
pub use hub::{Hub, LogOptions};
pub use serve::{runtime, serve, shutdown_signal};
pub use service::Service;
pub use witnessing::{Cosigned, WitnessTarget, MAX_WITNESS_RETRY, WITNESS_RETRY, WITNESS_TIMEOUT};

use crate::codec::MAX_REQUEST_BYTES;
use crate::error::{Error, Result};
use crate::pb::isthmus_server::IsthmusServer;
use crate::tls::{server_config, TlsFiles};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

/// Streams a connection may reset by provoking errors before the hub closes
/// it with GOAWAY (RUSTSEC-2024-0003, "MadeYouReset"): hyper's own default,
/// which tonic's builder would otherwise remove.
const MAX_LOCAL_ERROR_RESETS: usize = 256;
/// Streams a client may open and reset before the hub accepts them (h2's
/// default, the "Rapid Reset" bound, set explicitly).
const MAX_PENDING_ACCEPT_RESETS: usize = 20;
/// How long in-flight calls get when a connection reaches its maximum age.
const CONNECTION_AGE_GRACE: Duration = Duration::from_secs(30);

/// Serves `hub` on `listener` until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    hub: Arc<Hub>,
    tls: &TlsFiles,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config(tls)?));
    let (conn_tx, conn_rx) = mpsc::channel(64);
    let conns = conn::ConnOptions {
        handshake_timeout: opts.handshake_timeout,
        pending_handshakes: Arc::new(tokio::sync::Semaphore::new(opts.max_pending_handshakes)),
        idle_timeout: opts.idle_timeout,
        per_certificate: limits::Slots::new(opts.max_connections_per_certificate),
    };
    let accept = tokio::spawn(conn::accept_loop(listener, acceptor, conns, conn_tx));
    let (stop_tx, stop_rx) = watch::channel(false);
    let quotas = limits::Quotas {
        streams: limits::Slots::new(opts.max_streams_per_principal),
        in_flight: limits::Slots::new(opts.max_inflight_publishes_per_principal),
        publishes: limits::RateLimits::new(opts.publish_rate_per_principal, opts.publish_burst_per_principal),
        publish_bytes: limits::RateLimits::new(
            opts.publish_bytes_per_sec_per_principal,
            opts.publish_burst_bytes_per_principal,
        ),
        reads: limits::RateLimits::new(opts.read_rate_per_principal, opts.read_burst_per_principal),
    };
    let quotas = Arc::new(quotas);
    let gate = health::Gate::new(hub.clone(), quotas.clone());
    let (health, health_svc) = health::service(gate.clone());
    let (reflect_v1, reflect_v1alpha) = reflection::services(gate)?;
    let follow = tokio::spawn(health::follow(health.clone(), hub.clone()));
    let long_lived = streams::LongLivedLayer::new(hub.clone(), quotas.streams.clone());
    let grpc = IsthmusServer::new(Service::new(hub, stop_rx.clone(), quotas))
        .max_decoding_message_size(MAX_REQUEST_BYTES)
        .max_encoding_message_size(usize::MAX);
    let mut drained = stop_rx.clone();
    let serve = tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(opts.keepalive_interval))
        .http2_keepalive_timeout(Some(opts.keepalive_timeout))
        .max_concurrent_streams(Some(opts.max_concurrent_streams_per_connection))
        .http2_max_local_error_reset_streams(Some(MAX_LOCAL_ERROR_RESETS))
        .http2_max_pending_accept_reset_streams(Some(MAX_PENDING_ACCEPT_RESETS))
        .max_connection_age(opts.max_connection_age)
        .max_connection_age_grace(CONNECTION_AGE_GRACE)
        .layer(status::RemapLayer)
        .layer(long_lived)
        .add_service(grpc)
        .add_service(health_svc)
        .add_service(reflect_v1)
        .add_service(reflect_v1alpha)
        .serve_with_incoming_shutdown(ReceiverStream::new(conn_rx), async move {
            let _ = drained.wait_for(|s| *s).await;
        });
    tokio::pin!(serve);
    tokio::select! {
        r = &mut serve => return r.map_err(|e| Error::Io(std::io::Error::other(e))),
        _ = shutdown => tracing::info!("shutdown requested: draining"),
    }
    accept.abort();
    follow.abort();
    health::set(&health, tonic_health::ServingStatus::NotServing).await;
    let _ = stop_tx.send(true);
    match tokio::time::timeout(opts.shutdown_grace, serve).await {
        Ok(r) => r.map_err(|e| Error::Io(std::io::Error::other(e))),
        Err(_) => {
            tracing::warn!("grace period over; closing remaining connections");
            Ok(())
        }
    }
}
