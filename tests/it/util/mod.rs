//! Test fixtures: a fresh development federation per test, an in-process
//! hub on 127.0.0.1:0 ([`start`]), and the real executables
//! ([`processes`]).

#![allow(dead_code)]

pub(crate) mod processes;

use isthmus::client::{self, Client};
use isthmus::crypto::SigningKey;
use isthmus::devcerts::{DevFederation, DevPrincipal};
use isthmus::pb;
use isthmus::server::{self, Hub, ServeOptions};
use isthmus::tls::TlsFiles;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// A fresh federation (CA, server cert, 20 delegations, auditor).
pub(crate) fn federation() -> Arc<DevFederation> {
    Arc::new(DevFederation::generate(30).expect("generate dev federation"))
}

pub(crate) fn principal<'a>(fed: &'a DevFederation, id: &str) -> &'a DevPrincipal {
    fed.principal(id).expect("principal in federation")
}

pub(crate) fn tls_of(fed: &DevFederation, id: &str) -> TlsFiles {
    let p = principal(fed, id);
    TlsFiles::from_pem(&fed.ca.cert_pem(), &p.tls.cert_pem, &p.tls.key_pem).expect("client TLS files")
}

pub(crate) fn signing<'a>(fed: &'a DevFederation, id: &str) -> &'a SigningKey {
    principal(fed, id)
        .signing
        .as_ref()
        .expect("delegation has a signing key")
}

pub(crate) fn now_ts() -> prost_types::Timestamp {
    isthmus::time::unix_to_pb(isthmus::time::unix_now())
}

/// A valid alert (the fuzz fixture's, created now).
pub(crate) fn alert(id: &str, publisher: &str, recipients: &[&str]) -> pb::Alert {
    pb::Alert {
        created: Some(now_ts()),
        ..isthmus::fuzzing::fixture::alert(id, publisher, recipients)
    }
}

/// An envelope for `alert` signed by `who`'s key.
pub(crate) fn signed(fed: &DevFederation, who: &str, a: &pb::Alert) -> pb::Envelope {
    isthmus::envelope::sign(a, signing(fed, who))
}

/// `a` as its publisher sends it: sealed when it is TLP:RED (the hub
/// refuses a clear one), else signed.
pub(crate) fn publishable(fed: &DevFederation, a: &pb::Alert) -> pb::Envelope {
    match a.tlp == pb::Tlp::Red as i32 {
        true => fed.sealed(a).expect("a delegation's alert"),
        false => signed(fed, &a.publisher, a),
    }
}

/// `a` from CO, signed with an order-2 component added to R: valid under
/// the cofactored equation, refused by every standard RFC 8032 verifier.
pub(crate) fn torsion_signed(fed: &DevFederation, a: &pb::Alert) -> pb::Envelope {
    let mut env = signed(fed, "CO", a);
    let msg = isthmus::envelope::pae(&env.payload_type, &env.payload);
    let sig = isthmus::fuzzing::crafted::torsion_r_signature(signing(fed, "CO"), &msg, 4);
    env.signatures[0].sig = sig.to_bytes().to_vec();
    env
}

/// The federation's log key, checkpoints every 50 ms.
pub(crate) fn log_options(fed: &DevFederation) -> server::LogOptions {
    server::LogOptions {
        key: Arc::new(fed.log.clone()),
        checkpoint_interval: Duration::from_millis(50),
        min_free_disk_bytes: 0,
        witnesses: Vec::new(),
    }
}

/// An in-process hub serving on 127.0.0.1:0.
pub(crate) struct TestServer {
    pub addr: SocketAddr,
    pub hub: Arc<Hub>,
    pub fed: Arc<DevFederation>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<isthmus::Result<()>>>,
    _data: tempfile::TempDir,
}

impl TestServer {
    pub(crate) async fn start(fed: Arc<DevFederation>) -> Self {
        let roster = fed.roster().expect("roster");
        Self::start_with_roster(fed, roster).await
    }

    /// A hub whose roster is `roster` instead of the whole federation's.
    pub(crate) async fn start_with_roster(fed: Arc<DevFederation>, roster: isthmus::roster::Roster) -> Self {
        Self::start_with(fed, roster, ServeOptions::default()).await
    }

    /// A hub with its own roster and network options.
    pub(crate) async fn start_with(
        fed: Arc<DevFederation>,
        roster: isthmus::roster::Roster,
        serve: ServeOptions,
    ) -> Self {
        Self::start_with_log(fed, roster, serve, None).await
    }

    /// A hub with its own roster, network options and log options.
    pub(crate) async fn start_with_log(
        fed: Arc<DevFederation>,
        roster: isthmus::roster::Roster,
        serve: ServeOptions,
        log: Option<server::LogOptions>,
    ) -> Self {
        let data = tempfile::tempdir().expect("tempdir");
        let log = log.unwrap_or_else(|| log_options(&fed));
        let hub = Arc::new(
            Hub::open(data.path(), fed.approved(&roster), &log)
                .await
                .expect("open hub"),
        );
        let tls =
            TlsFiles::from_pem(&fed.ca.cert_pem(), &fed.server.cert_pem, &fed.server.key_pem).expect("server TLS");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, rx) = oneshot::channel::<()>();
        let opts = ServeOptions {
            handshake_timeout: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(2),
            ..serve
        };
        let h = hub.clone();
        let task = tokio::spawn(async move {
            server::run(listener, h, &tls, opts, async {
                let _ = rx.await;
            })
            .await
        });
        TestServer {
            addr,
            hub,
            fed,
            stop: Some(stop),
            task: Some(task),
            _data: data,
        }
    }

    pub(crate) fn server(&self) -> String {
        self.addr.to_string()
    }

    pub(crate) async fn client(&self, id: &str) -> Client {
        client::connect(&self.server(), &tls_of(&self.fed, id))
            .await
            .expect("connect")
    }

    pub(crate) fn size(&self) -> u64 {
        self.hub.ledger().size()
    }

    pub(crate) async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("server task").expect("server stopped cleanly");
        }
    }
}

/// Reads `n` entries from a stream, failing after `secs`.
pub(crate) async fn take(stream: &mut tonic::Streaming<pb::LedgerEntry>, n: usize, secs: u64) -> Vec<pb::LedgerEntry> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while out.len() < n {
        match tokio::time::timeout_at(deadline, stream.message()).await {
            Ok(Ok(Some(e))) => out.push(e),
            Ok(other) => panic!("stream ended early after {} entries: {other:?}", out.len()),
            Err(_) => panic!("timed out after {} of {n} entries", out.len()),
        }
    }
    out
}

/// Asserts that nothing arrives on `stream` within `millis`.
pub(crate) async fn nothing_within(stream: &mut tonic::Streaming<pb::LedgerEntry>, millis: u64) {
    if let Ok(got) = tokio::time::timeout(Duration::from_millis(millis), stream.message()).await {
        panic!("expected nothing, got {got:?}");
    }
}

/// The alert id inside a ledger entry.
pub(crate) fn alert_id(e: &pb::LedgerEntry) -> String {
    use prost::Message;
    let entry = isthmus::ledger::entry::decode(&e.entry).expect("entry decodes");
    match entry.body {
        Some(pb::entry::Body::Submission(s)) => {
            pb::Alert::decode(s.envelope.expect("envelope").payload.as_slice())
                .expect("alert")
                .id
        }
        other => panic!("not a submission: {other:?}"),
    }
}

pub(crate) fn subscribe_req(from: u64) -> pb::SubscribeRequest {
    pb::SubscribeRequest {
        from_index: from,
        filter: None,
        ..Default::default()
    }
}

/// xorshift64*: a seeded, dependency-free PRNG for randomised tests.
pub(crate) struct Prng(pub u64);

impl Prng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn millis(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
}
