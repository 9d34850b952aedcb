//! Connection-level guards below gRPC: silent peers are disconnected, quiet
//! but live clients are not, and each certificate holds a bounded number of
//! connections.

use crate::util::*;
use isthmus::server::ServeOptions;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// The HTTP/2 client preface and an empty SETTINGS frame.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

/// A completed mutual-TLS handshake as `who`, with nothing sent after it.
async fn raw_tls(s: &TestServer, who: &str) -> TlsStream<TcpStream> {
    let cfg = isthmus::tls::client_config(&tls_of(&s.fed, who)).expect("client config");
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let tcp = TcpStream::connect(s.addr).await.expect("tcp");
    let name = isthmus::tls::server_name("127.0.0.1").expect("name");
    connector.connect(name, tcp).await.expect("handshake")
}

/// How long until the server closes `conn` (reading and discarding whatever
/// it sends), or `None` if it is still open after `limit`.
async fn closed_within(conn: &mut TlsStream<TcpStream>, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    };
    tokio::time::timeout(limit, read_all)
        .await
        .ok()
        .map(|_| start.elapsed())
}

/// Whether `who` gets a connection and an answer within `secs` (retrying).
async fn member_connects_within(s: &TestServer, who: &str, secs: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if let Ok(mut c) = isthmus::client::connect(&s.server(), &tls_of(&s.fed, who)).await {
            if c.who_am_i(isthmus::pb::WhoAmIRequest {}).await.is_ok() {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn quick_timeouts() -> ServeOptions {
    ServeOptions {
        idle_timeout: Duration::from_millis(1500),
        keepalive_interval: Duration::from_millis(200),
        keepalive_timeout: Duration::from_millis(500),
        ..Default::default()
    }
}

#[tokio::test]
async fn silent_peers_are_disconnected_and_quiet_live_clients_are_not() {
    let fed = federation();
    let opts = quick_timeouts();
    let idle = opts.idle_timeout;
    let s = TestServer::start_with(fed.clone(), fed.roster().expect("roster"), opts).await;

    // A live subscriber that receives nothing for several idle periods: its
    // client answers the hub's pings, so the connection must survive.
    let mut pa = s.client("PA").await;
    let mut live = pa
        .subscribe(subscribe_req(s.size()))
        .await
        .expect("subscribe")
        .into_inner();

    // A peer that completes the TLS handshake and then says nothing.
    let mut mute = raw_tls(&s, "PA").await;
    let after_tls = closed_within(&mut mute, Duration::from_secs(15))
        .await
        .expect("a peer silent after the handshake must be disconnected");
    assert!(
        after_tls >= idle.mul_f32(0.8),
        "closed after {after_tls:?}, before the idle timeout {idle:?}"
    );

    // A peer that starts HTTP/2 and then goes silent (never answers pings):
    // half-open as far as the hub can tell.
    let mut half_open = raw_tls(&s, "US").await;
    half_open.write_all(H2_PREFACE).await.expect("preface");
    closed_within(&mut half_open, Duration::from_secs(15))
        .await
        .expect("a peer that stops answering must be disconnected");

    tokio::time::sleep(idle * 2).await;
    let mut co = s.client("CO").await;
    co.publish(signed(&fed, "CO", &alert("after-quiet", "CO", &["PA"])))
        .await
        .expect("publish");
    let got = take(&mut live, 1, 10).await;
    assert_eq!(
        alert_id(&got[0]),
        "after-quiet",
        "the quiet subscriber's stream is intact"
    );
    s.stop().await;
}

#[tokio::test]
async fn each_certificate_holds_a_bounded_number_of_connections() {
    let fed = federation();
    let opts = ServeOptions {
        max_connections_per_certificate: 3,
        ..Default::default()
    };
    let s = TestServer::start_with(fed.clone(), fed.roster().expect("roster"), opts).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut c = raw_tls(&s, "PA").await;
        c.write_all(H2_PREFACE).await.expect("preface");
        held.push(c);
    }
    for c in &mut held {
        assert!(
            closed_within(c, Duration::from_millis(300)).await.is_none(),
            "connections within the limit stay open"
        );
    }
    let mut extra = raw_tls(&s, "PA").await;
    assert!(
        closed_within(&mut extra, Duration::from_secs(5)).await.is_some(),
        "the fourth connection of one certificate is closed"
    );
    s.client("US")
        .await
        .who_am_i(isthmus::pb::WhoAmIRequest {})
        .await
        .expect("other certificates are unaffected");

    drop(held.pop());
    assert!(
        member_connects_within(&s, "PA", 10).await,
        "a closed connection must free its slot"
    );
    s.stop().await;
}

#[tokio::test]
async fn handshakes_in_progress_are_bounded() {
    let fed = federation();
    let opts = ServeOptions {
        max_pending_handshakes: 2,
        ..Default::default()
    };
    let s = TestServer::start_with(fed.clone(), fed.roster().expect("roster"), opts).await;
    let mut stuck = Vec::new();
    for _ in 0..2 {
        stuck.push(TcpStream::connect(s.addr).await.expect("tcp"));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(s.addr).await.expect("tcp");
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(3), third.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "a connection beyond the handshake limit is closed at once: {read:?}"
    );
    drop(stuck);
    // Slots free as the stuck peers go; a member connects again.
    assert!(
        member_connects_within(&s, "PA", 10).await,
        "freed handshake slots must admit members again"
    );
    s.stop().await;
}
