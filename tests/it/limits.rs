//! Per-principal quotas: one delegation cannot hold an unbounded number of
//! subscription streams, and its limit does not touch anyone else's.

use crate::util::*;
use tonic::Code;

#[tokio::test]
async fn subscriptions_are_capped_per_principal_and_released_on_disconnect() {
    let s = TestServer::start(federation()).await;
    let max = isthmus::server::ServeOptions::default().max_streams_per_principal;
    let mut pa = s.client("PA").await;
    let mut open = Vec::new();
    for _ in 0..max {
        open.push(
            pa.subscribe(subscribe_req(0))
                .await
                .expect("within the limit")
                .into_inner(),
        );
    }
    let err = pa.subscribe(subscribe_req(0)).await.expect_err("over the limit");
    assert_eq!(err.code(), Code::ResourceExhausted, "{}", err.message());
    assert!(err.message().contains("close one first"));
    s.client("US")
        .await
        .subscribe(subscribe_req(0))
        .await
        .expect("other principals are unaffected");

    drop(open.pop());
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match pa.subscribe(subscribe_req(0)).await {
            Ok(_) => break,
            Err(e) if e.code() == Code::ResourceExhausted && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await
            }
            Err(e) => panic!("a closed stream must free its slot: {e:?}"),
        }
    }
    s.stop().await;
}

#[tokio::test]
async fn a_flooding_delegation_is_rate_limited_and_others_are_not() {
    let fed = federation();
    let serve = isthmus::server::ServeOptions {
        publish_rate_per_principal: 2.0,
        publish_burst_per_principal: 5.0,
        ..Default::default()
    };
    let s = TestServer::start_with(fed.clone(), fed.roster().expect("roster"), serve).await;
    let mut co = s.client("CO").await;
    let before = s.size();
    let (mut accepted, mut limited) = (0, 0);
    for i in 0..12 {
        match co
            .publish(sealed(&fed, "CO", &alert(&format!("flood-{i}"), "CO", &["PA"])))
            .await
        {
            Ok(_) => accepted += 1,
            Err(e) => {
                assert_eq!(e.code(), Code::ResourceExhausted, "{}", e.message());
                assert!(e.message().contains("retry in"), "{}", e.message());
                limited += 1;
            }
        }
    }
    assert!(
        limited >= 5,
        "a burst of 12 against a bucket of 5 at 2/s: {limited} limited"
    );
    assert_eq!(s.size(), before + accepted, "refused publishes store nothing");
    let mut pa = s.client("PA").await;
    pa.publish(sealed(&fed, "PA", &alert("calm-1", "PA", &["CO"])))
        .await
        .expect("PA has its own bucket");
    s.stop().await;
}
