//! The spec's transport: `POST <prefix>/add-checkpoint` over HTTP/1.1 with
//! keep-alive (C2SP tlog-witness), so an off-the-shelf log or client can
//! talk to an `isthmus witness`, and the hub can talk to an off-the-shelf
//! witness. TLS is optional here: a witness is normally put behind the
//! organisation's TLS front end (the spec authenticates nothing but the
//! checkpoint's signature). [`serve`] takes an optional TLS acceptor, which
//! `isthmus witness serve` does not expose yet.
//!
//! Bounds: request bodies over [`MAX_BODY_BYTES`] are refused with 413
//! before they are read whole; at most [`MAX_CONNECTIONS`] connections are
//! served at once; a client has [`HEADER_TIMEOUT`] to send its headers.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use super::core::Witness;
use super::request::{Answer, MAX_BODY_BYTES};
use crate::error::{Error, Result};

/// Connections served at once; more wait in the listen queue.
pub const MAX_CONNECTIONS: usize = 256;
/// Time a client has to send a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The path of the one endpoint.
pub const ADD_CHECKPOINT: &str = "/add-checkpoint";

/// Serves `witness` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    witness: Arc<Witness>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.map_err(|e| Error::Io(std::io::Error::other(e)))?,
            _ = &mut shutdown => return Ok(()),
        };
        let (tcp, peer) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = &mut shutdown => return Ok(()),
        };
        let (witness, tls) = (witness.clone(), tls.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let served = match tls {
                Some(acceptor) => match tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => serve_connection(TokioIo::new(stream), witness).await,
                    _ => return,
                },
                None => serve_connection(TokioIo::new(tcp), witness).await,
            };
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "witness connection ended");
            }
        });
    }
}

async fn serve_connection<IO>(io: TokioIo<IO>, witness: Arc<Witness>) -> hyper::Result<()>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| handle(req, witness.clone()));
    hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true)
        .serve_connection(io, service)
        .await
}

fn plain(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    r
}

async fn handle(
    req: Request<Incoming>,
    witness: Arc<Witness>,
) -> std::result::Result<Response<Full<Bytes>>, hyper::Error> {
    const TEXT: &str = "text/plain; charset=utf-8";
    if req.uri().path() != ADD_CHECKPOINT {
        return Ok(plain(
            StatusCode::NOT_FOUND,
            TEXT,
            format!("no such endpoint; POST {ADD_CHECKPOINT}\n"),
        ));
    }
    if req.method() != Method::POST {
        return Ok(plain(StatusCode::METHOD_NOT_ALLOWED, TEXT, "use POST\n".into()));
    }
    let body = match Limited::new(req.into_body(), MAX_BODY_BYTES).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            let why = format!("the body is over {MAX_BODY_BYTES} bytes, or was cut short\n");
            return Ok(plain(StatusCode::PAYLOAD_TOO_LARGE, TEXT, why));
        }
    };
    let answer = answer(witness, body.to_vec()).await;
    let status = StatusCode::from_u16(answer.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (content_type, body) = answer.body();
    Ok(plain(status, content_type, body))
}

/// `witness`'s answer to one `add-checkpoint` body, now (on a blocking
/// thread: the store syncs to disk), whichever transport brought it.
pub async fn answer(witness: Arc<Witness>, body: Vec<u8>) -> Answer {
    // Before 1970 the clock is broken; 0 makes the cosigner refuse.
    let now = u64::try_from(crate::time::unix_now()).unwrap_or(0);
    let answer = tokio::task::spawn_blocking(move || witness.add_checkpoint(&body, now))
        .await
        .unwrap_or_else(|e| Answer::Internal(format!("witness task: {e}")));
    if let Answer::Conflict { why, .. } | Answer::BadRequest(why) | Answer::Unprocessable(why) = &answer {
        tracing::info!(status = answer.status(), reason = %why, "add-checkpoint refused");
    }
    answer
}

/// Sends one `add-checkpoint` body to the witness at `addr` (`host:port`,
/// plain HTTP) and reads its answer.
pub async fn add_checkpoint(addr: &str, body: String) -> Result<Answer> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| Error::Connect(format!("witness {addr}: {e}")))?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| Error::Connect(format!("witness {addr}: {e}")))?;
    let driver = tokio::spawn(conn);
    let req = Request::post(ADD_CHECKPOINT)
        .header(http::header::HOST, addr)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| Error::Connect(format!("witness {addr}: {e}")))?;
    let resp = send
        .send_request(req)
        .await
        .map_err(|e| Error::Connect(format!("witness {addr}: {e}")))?;
    let status = resp.status().as_u16();
    let limited = Limited::new(resp.into_body(), MAX_BODY_BYTES);
    let bytes = limited
        .collect()
        .await
        .map_err(|e| Error::Connect(format!("witness {addr}: reading the answer: {e}")))?
        .to_bytes();
    driver.abort();
    Ok(Answer::from_response(status, &String::from_utf8_lossy(&bytes)))
}

/// The `host:port` of a witness URL `http://host:port` (a trailing `/` is
/// allowed; the endpoint is `<url>/add-checkpoint`). Other schemes and
/// paths are refused: the hub speaks plain HTTP to witnesses, which is
/// enough because everything exchanged is signed (docs/witnesses.md).
pub fn authority(url: &str) -> std::result::Result<String, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        format!("{url:?} must start with http:// (the hub speaks plain HTTP to witnesses: every answer is a signed cosignature, see docs/witnesses.md)")
    })?;
    let host = rest.strip_suffix('/').unwrap_or(rest);
    let port_ok = host
        .rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p != 0));
    match port_ok && !host.contains(['/', '?', '#', '@', ' ']) {
        true => Ok(host.to_owned()),
        false => Err(format!("{url:?} must be http://host:port with no path")),
    }
}

#[cfg(test)]
mod url_tests {
    #[test]
    fn witness_urls_are_host_and_port_only() {
        assert_eq!(
            super::authority("http://127.0.0.1:8080/").as_deref(),
            Ok("127.0.0.1:8080")
        );
        assert_eq!(super::authority("http://w.example:80").as_deref(), Ok("w.example:80"));
        for bad in [
            "https://w:1",
            "http://w",
            "http://w:0",
            "http://w:1/x",
            "http://u@w:1",
            "w:1",
        ] {
            assert!(super::authority(bad).is_err(), "{bad}");
        }
    }
}
