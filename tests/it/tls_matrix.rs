//! The TLS refusal matrix: every way a connection's identity can be wrong,
//! on both ends. The hub refuses bad clients during the handshake or with
//! UNAUTHENTICATED; our client refuses servers that are not the federation's
//! hub. After each refusal a member is still served.

use crate::util::*;
use isthmus::devcerts::{DevCa, DevFederation, Issued};
use isthmus::pb;
use isthmus::tls::TlsFiles;
use std::sync::Arc;
use tonic::Code;

/// How a connection attempt ended.
#[derive(Debug)]
enum Outcome {
    /// Served.
    Ok(String),
    /// The TLS handshake (or connection) failed: `connect` returned an error
    /// or the first call failed at the transport.
    Handshake(#[allow(dead_code)] String),
    /// The hub answered with this status.
    Status(Code, String),
}

async fn whoami(server: &str, tls: &TlsFiles) -> Outcome {
    let mut c = match isthmus::client::connect(server, tls).await {
        Ok(c) => c,
        Err(e) => return Outcome::Handshake(e.to_string()),
    };
    match c.who_am_i(pb::WhoAmIRequest {}).await {
        Ok(r) => Outcome::Ok(r.into_inner().principal),
        Err(s) if matches!(s.code(), Code::Unauthenticated) => Outcome::Status(s.code(), s.message().into()),
        Err(s) => Outcome::Handshake(format!("{s:?}")),
    }
}

fn files(fed: &DevFederation, issued: &Issued) -> TlsFiles {
    TlsFiles::from_pem(&fed.ca.cert_pem(), &issued.cert_pem, &issued.key_pem).expect("pem")
}

fn assert_handshake_refused(o: Outcome, what: &str) {
    assert!(matches!(o, Outcome::Handshake(_)), "{what}: {o:?}");
}

fn assert_unauthenticated(o: Outcome, what: &str) {
    match o {
        Outcome::Status(Code::Unauthenticated, m) => assert!(m.contains("roster"), "{what}: {m}"),
        other => panic!("{what}: expected UNAUTHENTICATED, got {other:?}"),
    }
}

async fn still_serves(s: &TestServer) {
    match whoami(&s.server(), &tls_of(&s.fed, "PA")).await {
        Outcome::Ok(p) => assert_eq!(p, "PA"),
        other => panic!("a member is no longer served: {other:?}"),
    }
}

#[tokio::test]
async fn the_hub_refuses_every_wrong_client_identity() {
    let s = TestServer::start(federation()).await;
    let fed = s.fed.clone();
    let server = s.server();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(tls_of(&fed, "PA").ca[0].clone()).expect("root");
    let mut no_cert = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    no_cert.alpn_protocols = vec![b"h2".to_vec()];
    let o = match isthmus::client::connect_with(&server, no_cert).await {
        Err(e) => Outcome::Handshake(e.to_string()),
        Ok(mut c) => match c.who_am_i(pb::WhoAmIRequest {}).await {
            Ok(_) => Outcome::Ok("anonymous".into()),
            Err(e) => Outcome::Handshake(format!("{e:?}")),
        },
    };
    assert_handshake_refused(o, "no client certificate");
    still_serves(&s).await;

    let other = DevCa::new("another CA", 30).expect("ca");
    let foreign = other.issue_client("CO", -1, 30).expect("cert");
    assert_handshake_refused(whoami(&server, &files(&fed, &foreign)).await, "another CA");
    still_serves(&s).await;
    cli_says_the_handshake_was_refused(&server, &fed, &foreign).await;

    let expired = fed.ca.issue_client("CO", -10, -1).expect("cert");
    assert_handshake_refused(whoami(&server, &files(&fed, &expired)).await, "expired");
    still_serves(&s).await;

    let early = fed.ca.issue_client("CO", 1, 30).expect("cert");
    assert_handshake_refused(whoami(&server, &files(&fed, &early)).await, "not yet valid");
    still_serves(&s).await;

    let as_client = TlsFiles::from_pem(&fed.ca.cert_pem(), &fed.server.cert_pem, &fed.server.key_pem).expect("pem");
    assert_handshake_refused(whoami(&server, &as_client).await, "server certificate as client");
    still_serves(&s).await;

    let unbound = fed.ca.issue_client("ZZ", -1, 30).expect("cert");
    assert_unauthenticated(whoami(&server, &files(&fed, &unbound)).await, "not in the roster");
    still_serves(&s).await;
    s.stop().await;
}

/// The officers' CLI, given a certificate the hub does not trust, says the
/// connection failed and where the hub logs why (exit 2, a local problem),
/// instead of "the hub refused: transport error".
async fn cli_says_the_handshake_was_refused(server: &str, fed: &DevFederation, cert: &Issued) {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p
    };
    let (ca, crt, key) = (
        write("ca.pem", &fed.ca.cert_pem()),
        write("c.pem", &cert.cert_pem),
        write("k.pem", &cert.key_pem),
    );
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_isthmus"))
        .args(["--server", server, "whoami", "--ca"])
        .arg(&ca)
        .arg("--cert")
        .arg(&crt)
        .arg("--key")
        .arg(&key)
        .output()
        .await
        .expect("run isthmus");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("TLS handshake refused"), "{stderr}");
}

#[tokio::test]
async fn a_principal_removed_from_the_roster_is_unauthenticated() {
    let fed = federation();
    let members = fed
        .principals
        .iter()
        .filter(|p| p.member.id.as_str() != "HN")
        .map(|p| p.member.clone())
        .collect();
    let terms = fed.roster().expect("roster").terms();
    let roster = isthmus::roster::Roster::new(members, terms).expect("roster");
    let s = TestServer::start_with_roster(fed.clone(), roster).await;
    assert_unauthenticated(whoami(&s.server(), &tls_of(&fed, "HN")).await, "HN removed");
    still_serves(&s).await;
    let err = s
        .client("CO")
        .await
        .publish(signed(&fed, "CO", &alert("to-hn", "CO", &["HN"])))
        .await
        .expect_err("HN is no longer a recipient");
    assert_eq!(err.code(), Code::InvalidArgument, "{}", err.message());
    s.stop().await;
}

/// A TLS server (no gRPC behind it) presenting `cert` on `bind`; it
/// completes handshakes and holds each connection open for a while.
async fn impostor(bind: &str, cert: &Issued) -> String {
    let tls = TlsFiles::from_pem(&cert.cert_pem, &cert.cert_pem, &cert.key_pem).expect("pem");
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(tls.chain.clone(), tls.key.clone_key())
        .expect("server config");
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind(bind).await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            if let Ok(stream) = acceptor.accept(tcp).await {
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    drop(stream);
                });
            }
        }
    });
    addr
}

async fn client_refuses(server: &str, fed: &DevFederation, what: &str, needle: &str) {
    match isthmus::client::connect(server, &tls_of(fed, "PA")).await {
        Ok(_) => panic!("{what}: our client accepted the impostor"),
        Err(e) => {
            let m = e.to_string();
            assert!(m.contains(needle), "{what}: {m}");
        }
    }
}

#[tokio::test]
async fn our_client_refuses_servers_that_are_not_the_hub() {
    let s = TestServer::start(federation()).await;
    let fed = s.fed.clone();

    let co = &principal(&fed, "CO").tls;
    let addr = impostor("127.0.0.1:0", co).await;
    client_refuses(
        &addr,
        &fed,
        "client certificate as server certificate",
        "extended key usage for server authentication",
    )
    .await;
    still_serves(&s).await;

    let addr = impostor("127.0.0.2:0", &fed.server).await;
    client_refuses(&addr, &fed, "hub certificate on a name it lacks", "not valid for name").await;
    still_serves(&s).await;

    let other = DevCa::new("another CA", 30).expect("ca");
    let addr = impostor("127.0.0.1:0", &other.issue_server(30).expect("cert")).await;
    client_refuses(&addr, &fed, "server certificate from another CA", "UnknownIssuer").await;
    still_serves(&s).await;

    // Control: the genuine certificate on a name it holds completes the
    // handshake, so the refusals above are about the certificate.
    let addr = impostor("127.0.0.1:0", &fed.server).await;
    assert!(isthmus::client::connect(&addr, &tls_of(&fed, "PA")).await.is_ok());
    s.stop().await;
}
