//! Streams are bounded: the hub advertises a limit on concurrent HTTP/2
//! streams per connection, counts every long-lived stream (Subscribe,
//! health Watch, reflection) against its principal's slots, and ends a
//! connection when its client certificate expires.

use crate::util::*;
use isthmus::pb;
use isthmus::server::ServeOptions;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// The HTTP/2 client preface and an empty SETTINGS frame.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

/// The hub's first SETTINGS frame, as (identifier, value) pairs.
async fn server_settings(s: &TestServer) -> Vec<(u16, u32)> {
    let cfg = isthmus::tls::client_config(&tls_of(&s.fed, "PA")).expect("client config");
    let tcp = tokio::net::TcpStream::connect(s.addr).await.expect("tcp");
    let name = isthmus::tls::server_name("127.0.0.1").expect("name");
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(name, tcp)
        .await
        .expect("handshake");
    tls.write_all(H2_PREFACE).await.expect("preface");
    let mut header = [0u8; 9];
    tls.read_exact(&mut header).await.expect("frame header");
    assert_eq!(header[3], 0x4, "the server speaks first with SETTINGS");
    let len = usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
    let mut payload = vec![0u8; len];
    tls.read_exact(&mut payload).await.expect("settings");
    payload
        .chunks_exact(6)
        .map(|c| {
            (
                u16::from_be_bytes([c[0], c[1]]),
                u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_hub_advertises_its_stream_limit_per_connection() {
    let opts = ServeOptions {
        max_concurrent_streams_per_connection: 37,
        ..ServeOptions::default()
    };
    let fed = federation();
    let s = TestServer::start_with(fed.clone(), fed.roster().expect("roster"), opts).await;
    let settings = server_settings(&s).await;
    assert!(
        settings.contains(&(0x3, 37)),
        "SETTINGS_MAX_CONCURRENT_STREAMS = 37 expected in {settings:?}"
    );
    s.stop().await;
}

async fn health(s: &TestServer, who: &str) -> HealthClient<tonic::transport::Channel> {
    let config = isthmus::tls::client_config(&tls_of(&s.fed, who)).expect("config");
    HealthClient::new(isthmus::client::channel(&s.server(), config).await.expect("channel"))
}

/// BR opens health Watch streams (which never end by themselves) and
/// Subscribe streams past its slots: the extra ones are refused at once,
/// PA is not affected, and closing BR's streams gives its slots back.
#[tokio::test]
async fn every_long_lived_stream_counts_against_its_principal() {
    let opts = ServeOptions {
        max_streams_per_principal: 4,
        ..ServeOptions::default()
    };
    let fed = federation();
    let s = TestServer::start_with(fed.clone(), fed.roster().expect("roster"), opts).await;
    let mut br = health(&s, "BR").await;
    let ask = || HealthCheckRequest { service: String::new() };
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(br.watch(ask()).await.expect("within the limit").into_inner());
    }
    let mut sub = s.client("BR").await;
    let stream = sub.subscribe(subscribe_req(0)).await.expect("the fourth slot");
    let refused = br.watch(ask()).await.expect_err("a fifth long-lived stream");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{}", refused.message());
    assert!(
        refused.message().contains("long-lived streams"),
        "{}",
        refused.message()
    );
    let refused = sub.subscribe(subscribe_req(0)).await.expect_err("Subscribe counts too");
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(br.check(ask()).await.is_ok(), "unary calls are not long-lived");

    let mut pa = health(&s, "PA").await;
    let _pa_watch = pa.watch(ask()).await.expect("PA has its own slots");

    drop(held);
    drop(stream);
    let mut again = None;
    for _ in 0..50 {
        if let Ok(w) = br.watch(ask()).await {
            again = Some(w);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "slots come back when the streams close");
    s.stop().await;
}

/// A connection ends when its client certificate expires, whatever it is
/// doing; a new connection with that certificate is refused.
#[tokio::test]
async fn a_connection_ends_when_its_certificate_expires() {
    let mut fed = isthmus::devcerts::DevFederation::generate(30).expect("federation");
    let expires = isthmus::time::unix_now() + 3;
    let short = fed.ca.issue_client_until("CO", expires).expect("cert");
    let co = fed
        .principals
        .iter_mut()
        .find(|p| p.member.id.as_str() == "CO")
        .expect("CO");
    co.member.tls_spki = vec![short.spki];
    co.tls = short;
    let fed = Arc::new(fed);
    let s = TestServer::start(fed.clone()).await;
    let mut client = s.client("CO").await;
    let mut stream = client
        .subscribe(subscribe_req(0))
        .await
        .expect("subscribe")
        .into_inner();
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.message().await {
                Ok(Some(_)) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("the stream ends within 10 s");
    assert!(
        ended.is_err(),
        "the connection is cut, not the stream finished: {ended:?}"
    );
    assert!(
        isthmus::time::unix_now() >= expires,
        "not before the certificate expired"
    );
    // X.509's notAfter is inclusive: the certificate is refused from the next second.
    while isthmus::time::unix_now() <= expires {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let again = isthmus::client::connect(&s.server(), &tls_of(&fed, "CO")).await;
    let refused = match again {
        Err(_) => true,
        Ok(mut c) => c.who_am_i(pb::WhoAmIRequest {}).await.is_err(),
    };
    assert!(refused, "an expired certificate does not get a new connection");
    s.stop().await;
}
