//! grpc.health.v1: SERVING while the hub serves, NOT_SERVING as it drains,
//! and only for roster principals.

use crate::util::*;
use isthmus::devcerts::DevFederation;
use std::time::Duration;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

async fn health(s: &TestServer, fed: &DevFederation, who: &str) -> HealthClient<tonic::transport::Channel> {
    let config = isthmus::tls::client_config(&tls_of(fed, who)).expect("config");
    HealthClient::new(isthmus::client::channel(&s.server(), config).await.expect("channel"))
}

fn ask(service: &str) -> HealthCheckRequest {
    HealthCheckRequest {
        service: service.into(),
    }
}

#[tokio::test]
async fn the_hub_reports_serving_then_not_serving_as_it_drains() {
    let fed = federation();
    let s = TestServer::start(fed.clone()).await;
    let mut h = health(&s, &fed, "PA").await;
    for service in ["", "isthmus.v1.Isthmus"] {
        let status = h.check(ask(service)).await.expect("check").into_inner().status();
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
    }
    let err = h.check(ask("no.such.Service")).await.expect_err("unknown service");
    assert_eq!(err.code(), Code::NotFound);

    let mut watch = h.watch(ask("")).await.expect("watch").into_inner();
    let first = watch.message().await.expect("watch").expect("first status");
    assert_eq!(first.status(), ServingStatus::Serving);
    let stopping = tokio::spawn(s.stop());
    let next = tokio::time::timeout(Duration::from_secs(5), watch.message())
        .await
        .expect("a status change before the drain ends");
    assert_eq!(
        next.expect("watch").expect("status").status(),
        ServingStatus::NotServing,
        "a draining hub is NOT_SERVING"
    );
    stopping.await.expect("stopped");
}

#[tokio::test]
async fn health_is_for_roster_principals_only() {
    let fed = federation();
    let roster = fed.roster().expect("roster");
    let without_br = isthmus::roster::Roster::new(
        roster.members().filter(|m| m.id.as_str() != "BR").cloned().collect(),
        roster.terms(),
    )
    .expect("roster without BR");
    let s = TestServer::start_with_roster(fed.clone(), without_br).await;
    let err = health(&s, &fed, "BR")
        .await
        .check(ask(""))
        .await
        .expect_err("not in roster");
    assert_eq!(err.code(), Code::Unauthenticated, "{}", err.message());
    s.stop().await;
}
