//! `grpc.health.v1.Health`, the standard health-checking service, for load
//! balancers and `grpc_health_probe`. It sits behind the same mutual TLS and
//! roster check as everything else (and draws from the caller's read
//! bucket), so a probe needs a certificate bound to a roster principal, for
//! instance the operator's monitoring identity.
//!
//! The overall status `""` and `isthmus.v1.Isthmus` are SERVING while the
//! ledger accepts appends; NOT_SERVING once a commit has failed (the hub
//! then refuses publishes until restarted), while free disk is below the
//! floor (publishes answer RESOURCE_EXHAUSTED, reads go on) and while the
//! hub drains on shutdown.

use super::caller::authenticate_read;
use super::hub::Hub;
use super::limits::Quotas;
use super::service::Service;
use crate::pb::isthmus_server::IsthmusServer;
use std::sync::Arc;
use std::time::Duration;
use tonic::server::NamedService;
use tonic::service::interceptor::{InterceptedService, Interceptor};
use tonic::{Request, Status};
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::{HealthReporter, HealthService};
use tonic_health::ServingStatus;

/// Decode limit of the health and reflection services (their requests name
/// a service or a symbol: tens of bytes).
pub(super) const SMALL_REQUEST_BYTES: usize = 4_096;

/// How often the ledger's state is looked at.
const POLL: Duration = Duration::from_secs(1);

/// Admits roster principals within their read rate (to the health and
/// reflection services, which tonic builds for us).
#[derive(Clone)]
pub(super) struct Gate {
    hub: Arc<Hub>,
    quotas: Arc<Quotas>,
}

impl Gate {
    /// A gate in front of `hub` drawing on `quotas`.
    pub(super) fn new(hub: Arc<Hub>, quotas: Arc<Quotas>) -> Self {
        Gate { hub, quotas }
    }
}

impl Interceptor for Gate {
    fn call(&mut self, req: Request<()>) -> Result<Request<()>, Status> {
        authenticate_read(&self.hub, &self.quotas, req.extensions())?;
        Ok(req)
    }
}

/// The health service for `hub`, and the handle that sets its statuses.
pub(super) fn service(gate: Gate) -> (HealthReporter, InterceptedService<HealthServer<HealthService>, Gate>) {
    let reporter = HealthReporter::new();
    let server = HealthServer::new(HealthService::from_health_reporter(reporter.clone()))
        .max_decoding_message_size(SMALL_REQUEST_BYTES);
    let svc = InterceptedService::new(server, gate);
    (reporter, svc)
}

/// Sets both statuses.
pub(super) async fn set(reporter: &HealthReporter, status: ServingStatus) {
    reporter.set_service_status("", status).await;
    reporter
        .set_service_status(<IsthmusServer<Service> as NamedService>::NAME, status)
        .await;
}

/// Follows the ledger's state until the task is aborted.
pub(super) async fn follow(reporter: HealthReporter, hub: Arc<Hub>) {
    let mut last = None;
    loop {
        let failure = hub.failure();
        let status = match &failure {
            None => ServingStatus::Serving,
            Some(_) => ServingStatus::NotServing,
        };
        if last != Some(status) {
            if let Some(why) = failure {
                tracing::error!(reason = %why, "health: NOT_SERVING");
            }
            set(&reporter, status).await;
            last = Some(status);
        }
        tokio::time::sleep(POLL).await;
    }
}
