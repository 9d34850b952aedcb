//! Everything the hub must refuse: strangers at the TLS layer, and bad
//! publishes, each with its own status code and with the ledger unchanged.

use crate::util::*;
use isthmus::crypto::SigningKey;
use isthmus::devcerts::DevCa;
use isthmus::pb;
use isthmus::tls::TlsFiles;
use std::sync::Arc;
use tonic::Code;

fn roots(fed: &isthmus::devcerts::DevFederation) -> rustls::RootCertStore {
    let mut r = rustls::RootCertStore::empty();
    let ca = TlsFiles::from_pem(&fed.ca.cert_pem(), &fed.server.cert_pem, &fed.server.key_pem).expect("pem");
    r.add(ca.ca[0].clone()).expect("root");
    r
}

async fn whoami_with(s: &TestServer, tls: &TlsFiles) -> Result<pb::WhoAmIResponse, String> {
    let mut c = isthmus::client::connect(&s.server(), tls)
        .await
        .map_err(|e| e.to_string())?;
    c.who_am_i(pb::WhoAmIRequest {})
        .await
        .map(|r| r.into_inner())
        .map_err(|e| format!("{e:?}"))
}

#[tokio::test]
async fn strangers_are_refused_and_members_still_served() {
    let s = TestServer::start(federation()).await;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut no_cert = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots(&s.fed))
        .with_no_client_auth();
    no_cert.alpn_protocols = vec![b"h2".to_vec()];
    let anonymous = match isthmus::client::connect_with(&s.server(), no_cert).await {
        Err(_) => true,
        Ok(mut c) => c.who_am_i(pb::WhoAmIRequest {}).await.is_err(),
    };
    assert!(anonymous, "a client without a certificate is refused");

    let other_ca = DevCa::new("some other CA", 30).expect("ca");
    let foreign = other_ca.issue_client("CO", -1, 30).expect("cert");
    let tls = TlsFiles::from_pem(&s.fed.ca.cert_pem(), &foreign.cert_pem, &foreign.key_pem).expect("pem");
    assert!(
        whoami_with(&s, &tls).await.is_err(),
        "certificate from another CA is refused"
    );

    let expired = s.fed.ca.issue_client("CO", -10, -1).expect("cert");
    let tls = TlsFiles::from_pem(&s.fed.ca.cert_pem(), &expired.cert_pem, &expired.key_pem).expect("pem");
    assert!(whoami_with(&s, &tls).await.is_err(), "expired certificate is refused");

    let unbound = s.fed.ca.issue_client("ZZ", -1, 30).expect("cert");
    let tls = TlsFiles::from_pem(&s.fed.ca.cert_pem(), &unbound.cert_pem, &unbound.key_pem).expect("pem");
    let err = whoami_with(&s, &tls).await.expect_err("not in roster");
    assert!(err.contains("Unauthenticated") && err.contains("roster"), "{err}");

    assert_eq!(
        whoami_with(&s, &tls_of(&s.fed, "PA")).await.expect("member").principal,
        "PA"
    );
    s.stop().await;
}

/// Publishes `env` as `caller` and asserts the status code and that the
/// ledger did not change.
async fn refused(s: &TestServer, caller: &str, env: pb::Envelope, code: Code, needle: &str) {
    let before = s.size();
    let err = s.client(caller).await.publish(env).await.expect_err("must be refused");
    assert_eq!(err.code(), code, "{}", err.message());
    assert!(
        err.message().contains(needle),
        "message {:?} should mention {needle:?}",
        err.message()
    );
    assert_eq!(s.size(), before, "refused publish changed the ledger");
}

#[tokio::test]
async fn bad_publishes_get_precise_statuses_and_store_nothing() {
    let s = TestServer::start(federation()).await;
    let fed = s.fed.clone();
    let good = || alert("bad-1", "CO", &["PA"]);

    refused(
        &s,
        "CO",
        signed(&fed, "CO", &alert("x", "PA", &["US"])),
        Code::PermissionDenied,
        "only publish as yourself",
    )
    .await;
    refused(
        &s,
        "CO",
        signed(&fed, "PA", &good()),
        Code::PermissionDenied,
        "belongs to PA",
    )
    .await;
    let stranger = SigningKey::generate();
    refused(
        &s,
        "CO",
        isthmus::envelope::sign(&good(), &stranger),
        Code::PermissionDenied,
        "not a roster signing key",
    )
    .await;

    let mut env = signed(&fed, "CO", &good());
    env.signatures[0].sig[10] ^= 0x01;
    refused(&s, "CO", env, Code::InvalidArgument, "does not verify").await;
    let mut env = signed(&fed, "CO", &good());
    let last = env.payload.len() - 1;
    env.payload[last] ^= 0x01;
    refused(&s, "CO", env, Code::InvalidArgument, "does not verify").await;

    refused(
        &s,
        "CO",
        signed(&fed, "CO", &alert("x", "CO", &[])),
        Code::InvalidArgument,
        "recipients",
    )
    .await;
    refused(
        &s,
        "CO",
        signed(&fed, "CO", &alert("x", "CO", &["GB"])),
        Code::InvalidArgument,
        "not a member",
    )
    .await;
    let mut big = good();
    big.summary = "x".repeat(70_000);
    refused(
        &s,
        "CO",
        signed(&fed, "CO", &big),
        Code::ResourceExhausted,
        "a Publish envelope may be at most 64000 bytes",
    )
    .await;
    let mut env = signed(&fed, "CO", &good());
    env.payload_type = "application/json".into();
    refused(&s, "CO", env, Code::InvalidArgument, "payload_type").await;
    let mut env = signed(&fed, "CO", &good());
    env.signatures.clear();
    refused(&s, "CO", env, Code::InvalidArgument, "0 signatures").await;
    let mut env = signed(&fed, "CO", &good());
    env.payload = vec![0xff; 40];
    env.signatures = signed(&fed, "CO", &good()).signatures;
    refused(&s, "CO", env, Code::InvalidArgument, "does not verify").await;
    let mut no_title = good();
    no_title.title.clear();
    refused(&s, "CO", signed(&fed, "CO", &no_title), Code::InvalidArgument, "title").await;
    let mut amends = good();
    amends.amends = Some(pb::Amendment {
        widens_distribution: false,
        id: "never-published".into(),
        kind: 2,
        reason: "oops".into(),
    });
    refused(
        &s,
        "CO",
        signed(&fed, "CO", &amends),
        Code::FailedPrecondition,
        "no earlier alert",
    )
    .await;
    refused(
        &s,
        "AUDITOR",
        signed(&fed, "CO", &good()),
        Code::PermissionDenied,
        "auditor",
    )
    .await;

    let ok = s
        .client("CO")
        .await
        .publish(signed(&fed, "CO", &good()))
        .await
        .expect("the good one passes");
    assert_eq!(ok.into_inner().index, s.size() - 1);
    s.stop().await;
}

#[tokio::test]
async fn retractions_point_at_the_original_which_stays() {
    let s = TestServer::start(federation()).await;
    let mut co = s.client("CO").await;
    let first = co
        .publish(signed(&s.fed, "CO", &alert("orig", "CO", &["PA"])))
        .await
        .expect("orig")
        .into_inner();
    let mut retraction = alert("orig-retract", "CO", &["PA"]);
    retraction.amends = Some(pb::Amendment {
        widens_distribution: false,
        id: "orig".into(),
        kind: pb::AmendmentKind::Retraction as i32,
        reason: "wrong vessel".into(),
    });
    let second = co
        .publish(signed(&s.fed, "CO", &retraction))
        .await
        .expect("retraction")
        .into_inner();
    assert_eq!(second.index, first.index + 1);
    let mut pa = s.client("PA").await;
    let req = |i| pb::GetEntryRequest {
        key: Some(pb::get_entry_request::Key::Index(i)),
    };
    assert_eq!(
        alert_id(&pa.get_entry(req(first.index)).await.expect("original").into_inner()),
        "orig"
    );
    s.stop().await;
}

#[tokio::test]
async fn subscribe_beyond_the_end_and_bad_filters_are_refused() {
    let s = TestServer::start(federation()).await;
    let mut pa = s.client("PA").await;
    let err = pa.subscribe(subscribe_req(s.size() + 5)).await.expect_err("beyond end");
    assert_eq!(err.code(), Code::OutOfRange);
    let bad = pb::SubscribeRequest {
        from_index: 0,
        filter: Some(pb::SubscribeFilter {
            publishers: vec!["Colombia".into()],
            include_roster: false,
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        pa.subscribe(bad).await.expect_err("bad filter").code(),
        Code::InvalidArgument
    );
    s.stop().await;
}

/// Only the originator can amend, and widening the audience must be meant:
/// a correction that adds a recipient is refused until it says so, then
/// accepted and delivered to the new recipient; narrowing needs no flag.
#[tokio::test]
async fn corrections_widen_only_when_they_say_so() {
    let s = TestServer::start(federation()).await;
    let fed = s.fed.clone();
    let mut co = s.client("CO").await;
    co.publish(signed(&fed, "CO", &alert("orig", "CO", &["PA"])))
        .await
        .expect("original");
    let correction = |id: &str, to: &[&str], tlp: pb::Tlp, widens: bool| {
        let mut a = alert(id, "CO", to);
        a.tlp = tlp as i32;
        a.amends = Some(pb::Amendment {
            id: "orig".into(),
            kind: pb::AmendmentKind::Correction as i32,
            reason: "names corrected".into(),
            widens_distribution: widens,
        });
        publishable(&fed, &a)
    };
    let err = co
        .publish(correction("wide", &["PA", "US"], pb::Tlp::Amber, false))
        .await
        .expect_err("widening unasked");
    assert_eq!(err.code(), Code::FailedPrecondition, "{}", err.message());
    let wide = co
        .publish(correction("wide", &["PA", "US"], pb::Tlp::Amber, true))
        .await
        .expect("widening on purpose")
        .into_inner();
    let mut us = s.client("US").await;
    us.get_entry(pb::GetEntryRequest {
        key: Some(pb::get_entry_request::Key::Index(wide.index)),
    })
    .await
    .expect("the new recipient reads the correction");
    co.publish(correction("narrow", &["PA"], pb::Tlp::Red, false))
        .await
        .expect("narrowing needs no flag");
    s.stop().await;
}
