//! Per-principal quotas: one delegation cannot hold an unbounded number of
//! subscription streams, publish or read without bound, or slow the others
//! down by flooding; its limits do not touch anyone else's.

use crate::util::*;
use isthmus::pb;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
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
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match pa.subscribe(subscribe_req(0)).await {
            Ok(_) => break,
            Err(e) if e.code() == Code::ResourceExhausted && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
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
            .publish(signed(&fed, "CO", &alert(&format!("flood-{i}"), "CO", &["PA"])))
            .await
        {
            Ok(_) => accepted += 1,
            Err(e) => {
                assert_eq!(e.code(), Code::ResourceExhausted, "{}", e.message());
                assert!(e.message().contains("retry in"), "{}", e.message());
                let retry = tonic_types::StatusExt::get_details_retry_info(&e);
                let delay = retry
                    .and_then(|r| r.retry_delay)
                    .expect("a google.rpc.RetryInfo detail");
                assert!(delay > Duration::ZERO && delay < Duration::from_secs(1));
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
    pa.publish(signed(&fed, "PA", &alert("calm-1", "PA", &["CO"])))
        .await
        .expect("PA has its own bucket");
    s.stop().await;
}

#[tokio::test]
async fn read_calls_have_their_own_per_principal_bucket() {
    let fed = federation();
    let serve = isthmus::server::ServeOptions {
        read_rate_per_principal: 2.0,
        read_burst_per_principal: 4.0,
        ..Default::default()
    };
    let s = TestServer::start_with(fed.clone(), fed.roster().expect("roster"), serve).await;
    let mut pa = s.client("PA").await;
    let mut limited = 0;
    for i in 0..10 {
        let r = match i % 3 {
            0 => pa.who_am_i(pb::WhoAmIRequest {}).await.map(|_| ()),
            1 => pa
                .get_checkpoint(pb::GetCheckpointRequest {
                    min_size: 0,
                    ..Default::default()
                })
                .await
                .map(|_| ()),
            _ => pa.subscribe(subscribe_req(0)).await.map(|_| ()),
        };
        if let Err(e) = r {
            assert_eq!(e.code(), Code::ResourceExhausted, "{}", e.message());
            assert!(e.message().contains("read rate limit") && e.message().contains("retry in"));
            limited += 1;
        }
    }
    assert!(limited >= 5, "10 reads against a bucket of 4 at 2/s: {limited} limited");
    s.client("US")
        .await
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .expect("US has its own read bucket");
    pa.publish(signed(&fed, "PA", &alert("reads-spent", "PA", &["CO"])))
        .await
        .expect("publishing draws from another bucket");
    s.stop().await;
}

/// Publish latencies, in order, of `n` alerts from `who`, one every `gap`.
async fn paced_publishes(s: &TestServer, who: &str, tag: &str, n: usize, gap: Duration) -> Vec<Duration> {
    let mut c = s.client(who).await;
    let mut out = Vec::new();
    for i in 0..n {
        let env = signed(&s.fed, who, &alert(&format!("{tag}-{i}"), who, &["PA", "US", "BR"]));
        let t = Instant::now();
        c.publish(env)
            .await
            .unwrap_or_else(|e| panic!("{who} refused under flood: {e:?}"));
        out.push(t.elapsed());
        tokio::time::sleep(gap).await;
    }
    out
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// One delegation floods at far beyond its publish limit; the others, at a
/// normal pace, are never refused and keep their latency within the stated
/// bound: median at most max(5 × the calm median, 250 ms), none over 2 s.
#[tokio::test]
async fn a_flood_from_one_delegation_leaves_the_others_latency_bounded() {
    let fed = federation();
    let serve = isthmus::server::ServeOptions {
        publish_rate_per_principal: 200.0,
        publish_burst_per_principal: 200.0,
        ..Default::default()
    };
    let s = Arc::new(TestServer::start_with(fed.clone(), fed.roster().expect("roster"), serve).await);
    let gap = Duration::from_millis(40);
    let calm = paced_publishes(&s, "PA", "calm", 15, gap).await;

    // The flood: 8 connections resending until accepted, each alert distinct
    // so every accepted one is a real append. Bounded in count and time.
    let flood_for = Duration::from_secs(3);
    let pool: Vec<_> = (0..1_500)
        .map(|i| signed(&fed, "CO", &alert(&format!("flood-{i}"), "CO", &["PA"])))
        .collect();
    let pool = Arc::new(std::sync::Mutex::new(pool));
    let (accepted, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut flooders = Vec::new();
    for _ in 0..8 {
        let (s, pool, accepted, refused) = (s.clone(), pool.clone(), accepted.clone(), refused.clone());
        flooders.push(tokio::spawn(async move {
            let mut co = s.client("CO").await;
            let end = Instant::now() + flood_for;
            let mut next = None;
            while Instant::now() < end {
                let Some(env) = next.take().or_else(|| pool.lock().expect("pool").pop()) else {
                    break;
                };
                match co.publish(env.clone()).await {
                    Ok(_) => _ = accepted.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        assert_eq!(e.code(), Code::ResourceExhausted, "{}", e.message());
                        refused.fetch_add(1, Ordering::Relaxed);
                        next = Some(env);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let others: Vec<_> = ["PA", "US", "BR"]
        .into_iter()
        .map(|who| {
            let s = s.clone();
            tokio::spawn(async move { paced_publishes(&s, who, "under-flood", 15, gap).await })
        })
        .collect();
    let mut under = Vec::new();
    for o in others {
        under.extend(o.await.expect("paced publisher"));
    }
    for f in flooders {
        f.await.expect("flooder");
    }

    let (acc, refd) = (accepted.load(Ordering::Relaxed), refused.load(Ordering::Relaxed));
    assert!(
        refd > 0,
        "the flood must exceed CO's limit to test anything ({acc} accepted)"
    );
    assert!(
        acc as f64 <= 200.0 + 200.0 * (flood_for.as_secs_f64() + 1.0),
        "CO got {acc} publishes through a 200/s bucket"
    );
    let (calm_p50, flood_p50) = (median(calm), median(under.clone()));
    let worst = under.iter().max().copied().unwrap_or_default();
    let bound = (calm_p50 * 5).max(Duration::from_millis(250));
    assert!(
        flood_p50 <= bound,
        "others' median {flood_p50:?} under flood exceeds {bound:?} (calm {calm_p50:?})"
    );
    assert!(worst <= Duration::from_secs(2), "an unflooding publish took {worst:?}");
    eprintln!(
        "flood: CO {acc} accepted, {refd} refused; others p50 calm {calm_p50:?}, under flood {flood_p50:?}, max {worst:?}"
    );
    match Arc::try_unwrap(s) {
        Ok(s) => s.stop().await,
        Err(_) => panic!("server still shared"),
    }
}

#[tokio::test]
async fn publishes_waiting_for_an_answer_are_capped_per_principal() {
    let fed = federation();
    let serve = isthmus::server::ServeOptions {
        max_inflight_publishes_per_principal: 2,
        ..Default::default()
    };
    let s = TestServer::start_with(fed.clone(), fed.roster().expect("roster"), serve).await;
    let before = s.size();
    let co = s.client("CO").await;
    let calls: Vec<_> = (0..32)
        .map(|i| {
            let mut co = co.clone();
            let env = signed(&fed, "CO", &alert(&format!("burst-{i}"), "CO", &["PA"]));
            tokio::spawn(async move { co.publish(env).await })
        })
        .collect();
    let (mut accepted, mut capped) = (0, 0);
    for c in calls {
        match c.await.expect("task") {
            Ok(_) => accepted += 1,
            Err(e) => {
                assert_eq!(e.code(), Code::ResourceExhausted, "{}", e.message());
                assert!(e.message().contains("waiting for their answer"), "{}", e.message());
                capped += 1;
            }
        }
    }
    assert!(capped > 0, "32 concurrent publishes against a cap of 2: none capped");
    assert!(accepted >= 2, "at least the first ones get through: {accepted}");
    assert_eq!(s.size(), before + accepted, "capped publishes store nothing");
    s.client("PA")
        .await
        .publish(signed(&fed, "PA", &alert("own-share", "PA", &["CO"])))
        .await
        .expect("PA has its own share");
    s.stop().await;
}

/// Bytes, not just calls: CO's publishes of about 7 kB each stop at its
/// byte budget (RESOURCE_EXHAUSTED with a retry hint) while its call rate
/// is far from its limit, and PA keeps publishing.
#[tokio::test]
async fn publish_bytes_are_budgeted_per_principal() {
    let fed = federation();
    let serve = isthmus::server::ServeOptions {
        publish_bytes_per_sec_per_principal: 1_000.0,
        publish_burst_bytes_per_principal: 30_000.0,
        ..Default::default()
    };
    let s = TestServer::start_with(fed.clone(), fed.roster().expect("roster"), serve).await;
    let mut co = s.client("CO").await;
    let (mut accepted, mut limited) = (0, 0);
    for i in 0..10 {
        let mut a = alert(&format!("big-{i}"), "CO", &["PA"]);
        a.summary = "s".repeat(7_000);
        match co.publish(signed(&fed, "CO", &a)).await {
            Ok(_) => accepted += 1,
            Err(e) => {
                assert_eq!(e.code(), Code::ResourceExhausted, "{}", e.message());
                assert!(e.message().contains("publish byte rate limit"), "{}", e.message());
                limited += 1;
            }
        }
    }
    assert_eq!((accepted, limited), (4, 6), "30 kB of burst is four 7 kB envelopes");
    let mut pa = s.client("PA").await;
    pa.publish(signed(&fed, "PA", &alert("small", "PA", &["CO"])))
        .await
        .expect("PA has its own budget");
    s.stop().await;
}

/// Below the free-disk floor the hub refuses publishes and says
/// NOT_SERVING, and still serves reads.
#[tokio::test]
async fn below_the_disk_floor_publishes_stop_and_reads_go_on() {
    use tonic_health::pb::{health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest};
    let fed = federation();
    let log = isthmus::server::LogOptions {
        min_free_disk_bytes: u64::MAX,
        ..log_options(&fed)
    };
    let s = TestServer::start_with_log(
        fed.clone(),
        fed.roster().expect("roster"),
        Default::default(),
        Some(log),
    )
    .await;
    let err = s
        .client("CO")
        .await
        .publish(signed(&fed, "CO", &alert("no-room", "CO", &["PA"])))
        .await
        .expect_err("no disk has u64::MAX bytes free");
    assert_eq!(err.code(), Code::ResourceExhausted, "{}", err.message());
    assert!(err.message().contains("free on its ledger's disk"), "{}", err.message());
    assert_eq!(s.size(), 1, "nothing stored");
    let mut pa = s.client("PA").await;
    pa.get_entry(pb::GetEntryRequest {
        key: Some(pb::get_entry_request::Key::Index(0)),
    })
    .await
    .expect("reads go on");
    let config = isthmus::tls::client_config(&tls_of(&fed, "PA")).expect("config");
    let mut health = HealthClient::new(isthmus::client::channel(&s.server(), config).await.expect("channel"));
    let mut status = ServingStatus::Serving;
    for _ in 0..40 {
        let req = HealthCheckRequest { service: String::new() };
        status = health.check(req).await.expect("check").into_inner().status();
        if status == ServingStatus::NotServing {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, ServingStatus::NotServing, "health says so");
    s.stop().await;
}
