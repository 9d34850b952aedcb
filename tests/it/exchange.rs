//! Publish and subscribe end to end: who receives what, on every path.

use crate::util::*;
use isthmus::pb::{self, get_entry_request::Key};
use std::collections::BTreeSet;
use tonic::Code;

fn by_index(i: u64) -> pb::GetEntryRequest {
    pb::GetEntryRequest {
        key: Some(Key::Index(i)),
    }
}

fn by_id(publisher: &str, id: &str) -> pb::GetEntryRequest {
    pb::GetEntryRequest {
        key: Some(Key::Alert(pb::AlertKey {
            publisher: publisher.into(),
            id: id.into(),
        })),
    }
}

#[tokio::test]
async fn co_alert_reaches_pa_and_us_on_every_path_and_never_br() {
    let s = TestServer::start(federation()).await;
    let start = s.size();
    let mut live = Vec::new();
    for id in ["PA", "US", "BR"] {
        live.push(
            s.client(id)
                .await
                .subscribe(subscribe_req(start))
                .await
                .expect("subscribe")
                .into_inner(),
        );
    }
    let env = signed(&s.fed, "CO", &alert("darien-1", "CO", &["PA", "US"]));
    let receipt = s.client("CO").await.publish(env).await.expect("publish").into_inner();
    assert_eq!(receipt.index, start);
    assert!(!receipt.duplicate);

    for stream in &mut live[..2] {
        let got = take(stream, 1, 10).await;
        assert_eq!((got[0].index, alert_id(&got[0])), (start, "darien-1".to_string()));
    }
    nothing_within(&mut live[2], 300).await;

    let mut replay = s
        .client("PA")
        .await
        .subscribe(subscribe_req(0))
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(
        alert_id(&take(&mut replay, 1, 10).await[0]),
        "darien-1",
        "replay skips the roster, shows the alert"
    );
    let mut br_replay = s
        .client("BR")
        .await
        .subscribe(subscribe_req(0))
        .await
        .expect("replay")
        .into_inner();
    nothing_within(&mut br_replay, 300).await;

    for who in ["PA", "US", "CO", "AUDITOR"] {
        let mut c = s.client(who).await;
        assert_eq!(c.get_entry(by_index(start)).await.expect(who).into_inner().index, start);
        assert_eq!(
            c.get_entry(by_id("CO", "darien-1"))
                .await
                .expect(who)
                .into_inner()
                .index,
            start
        );
    }
    let mut br = s.client("BR").await;
    let hidden = br.get_entry(by_index(start)).await.expect_err("BR may not see it");
    let absent = br.get_entry(by_index(start + 100)).await.expect_err("nothing there");
    assert_eq!(
        (hidden.code(), hidden.message()),
        (absent.code(), absent.message()),
        "hidden looks like absent"
    );
    assert_eq!(hidden.code(), Code::NotFound);
    assert_eq!(
        br.get_entry(by_id("CO", "darien-1")).await.expect_err("hidden").code(),
        Code::NotFound
    );
    s.stop().await;
}

#[tokio::test]
async fn republishing_is_idempotent_and_ids_are_not_reusable() {
    let s = TestServer::start(federation()).await;
    let mut co = s.client("CO").await;
    let env = signed(&s.fed, "CO", &alert("dup-1", "CO", &["PA"]));
    let first = co.publish(env.clone()).await.expect("first").into_inner();
    let again = co.publish(env).await.expect("idempotent").into_inner();
    assert_eq!(
        (again.index, again.leaf_hash.clone(), again.duplicate),
        (first.index, first.leaf_hash, true)
    );
    let size = s.size();
    let mut changed = alert("dup-1", "CO", &["PA"]);
    changed.title = "a different alert".into();
    let err = co.publish(signed(&s.fed, "CO", &changed)).await.expect_err("id reuse");
    assert_eq!(err.code(), Code::AlreadyExists, "{err:?}");
    assert_eq!(s.size(), size, "nothing stored");
    s.stop().await;
}

#[tokio::test]
async fn all_means_every_member_delegation_at_publication() {
    let s = TestServer::start(federation()).await;
    let env = signed(&s.fed, "CO", &alert("all-1", "CO", &["ALL"]));
    let r = s.client("CO").await.publish(env).await.expect("publish").into_inner();
    for who in ["BR", "BZ", "AR", "PA"] {
        let got = s
            .client(who)
            .await
            .get_entry(by_index(r.index))
            .await
            .expect(who)
            .into_inner();
        assert_eq!(alert_id(&got), "all-1");
    }
    s.stop().await;
}

#[tokio::test]
async fn a_resumed_subscriber_sees_every_entry_exactly_once() {
    let s = TestServer::start(federation()).await;
    let start = s.size();
    let (fed, server) = (s.fed.clone(), s.server());
    let publisher = tokio::spawn(async move {
        let mut co = isthmus::client::connect(&server, &tls_of(&fed, "CO"))
            .await
            .expect("connect");
        let mut indices = Vec::new();
        for i in 0..120 {
            let env = signed(&fed, "CO", &alert(&format!("r-{i}"), "CO", &["PA"]));
            indices.push(co.publish(env).await.expect("publish").into_inner().index);
        }
        indices
    });
    let mut pa = s.client("PA").await;
    let mut seen = Vec::new();
    let mut cursor = start;
    for chunk in [17usize, 40, 63] {
        let mut stream = pa
            .subscribe(subscribe_req(cursor))
            .await
            .expect("subscribe")
            .into_inner();
        let got = take(&mut stream, chunk, 30).await;
        cursor = got.last().expect("non-empty").index + 1;
        seen.extend(got.iter().map(|e| e.index));
        drop(stream);
    }
    let published = publisher.await.expect("publisher");
    assert_eq!(seen, published, "in order, none missing, none twice");
    s.stop().await;
}

#[tokio::test]
async fn a_stalled_subscriber_blocks_neither_publishers_nor_other_subscribers() {
    let s = TestServer::start(federation()).await;
    let start = s.size();
    let _stalled = s
        .client("PA")
        .await
        .subscribe(subscribe_req(start))
        .await
        .expect("subscribe")
        .into_inner();
    let mut us = s
        .client("US")
        .await
        .subscribe(subscribe_req(start))
        .await
        .expect("subscribe")
        .into_inner();
    let mut co = s.client("CO").await;
    let n = 400;
    for i in 0..n {
        let mut a = alert(&format!("s-{i}"), "CO", &["PA", "US"]);
        a.summary = "x".repeat(4000);
        let env = signed(&s.fed, "CO", &a);
        tokio::time::timeout(std::time::Duration::from_secs(20), co.publish(env))
            .await
            .expect("publish must not wait for the stalled reader")
            .expect("publish");
    }
    let got = take(&mut us, n, 60).await;
    let ids: BTreeSet<_> = got.iter().map(alert_id).collect();
    assert_eq!(ids.len(), n);
    s.stop().await;
}

#[tokio::test]
async fn concurrent_publishers_share_fsyncs_and_every_ack_was_synced() {
    let s = TestServer::start(federation()).await;
    let before = s.hub.ledger().sync_count();
    let mut tasks = Vec::new();
    for (k, who) in ["CO", "PA", "US", "MX"].into_iter().enumerate() {
        let (fed, server) = (s.fed.clone(), s.server());
        tasks.push(tokio::spawn(async move {
            let c = isthmus::client::connect(&server, &tls_of(&fed, who))
                .await
                .expect("connect");
            let mut inflight = Vec::new();
            for i in 0..32 {
                let env = signed(&fed, who, &alert(&format!("g-{k}-{i}"), who, &["CR"]));
                let mut c = c.clone();
                inflight.push(tokio::spawn(async move {
                    c.publish(env).await.expect("publish").into_inner().index
                }));
            }
            let mut out = Vec::new();
            for t in inflight {
                out.push(t.await.expect("join"));
            }
            out
        }));
    }
    let mut all = BTreeSet::new();
    for t in tasks {
        all.extend(t.await.expect("join"));
    }
    let syncs = s.hub.ledger().sync_count() - before;
    assert_eq!(all.len(), 128, "distinct indices");
    assert!(syncs >= 1, "acknowledged publishes were synced");
    assert!(
        syncs < 128,
        "group commit shares syncs: {syncs} syncs for 128 publishes"
    );
    s.stop().await;
}

#[tokio::test]
async fn whoami_names_the_certificate_holder() {
    let s = TestServer::start(federation()).await;
    let me = s
        .client("AUDITOR")
        .await
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .expect("whoami")
        .into_inner();
    assert_eq!((me.principal.as_str(), me.role), ("AUDITOR", pb::Role::Auditor as i32));
    assert_eq!(me.tls_spki_sha256, hex::encode(principal(&s.fed, "AUDITOR").tls.spki));
    s.stop().await;
}

#[tokio::test]
async fn shutdown_ends_an_open_subscription_with_unavailable_and_a_resume_point() {
    let s = TestServer::start(federation()).await;
    let mut co = s.client("CO").await;
    let index = co
        .publish(signed(&s.fed, "CO", &alert("before-stop", "CO", &["PA"])))
        .await
        .expect("publish")
        .into_inner()
        .index;
    let mut stream = s
        .client("PA")
        .await
        .subscribe(subscribe_req(index))
        .await
        .expect("subscribe")
        .into_inner();
    assert_eq!(alert_id(&take(&mut stream, 1, 10).await[0]), "before-stop");
    let stopping = tokio::spawn(s.stop());
    let end = tokio::time::timeout(std::time::Duration::from_secs(10), stream.message())
        .await
        .expect("the stream ends when the hub stops");
    // A clean OK would tell the subscriber its stream is complete; it is not.
    let status = end.expect_err("not a clean end");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    let resume = format!("from_index {}", index + 1);
    assert!(status.message().contains(&resume), "{status:?}");
    stopping.await.expect("hub stopped");
}
