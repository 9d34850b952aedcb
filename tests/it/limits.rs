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
