//! Accepting connections: TLS handshakes run concurrently (one slow or
//! hostile client cannot hold up the accept loop) under a deadline, and each
//! established stream carries its peer's SPKI hash to every request as a
//! tonic connect-info extension.

use crate::roster::SpkiHash;
use crate::tls::spki_sha256;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tonic::transport::server::Connected;

/// Who is on the other end of a connection, as established by TLS.
#[derive(Clone, Debug)]
pub struct Peer {
    /// SHA-256 of the client certificate's SubjectPublicKeyInfo.
    pub spki: SpkiHash,
    /// Remote socket address (for logs).
    pub addr: SocketAddr,
}

/// An established mutual-TLS connection.
pub struct TlsConn {
    stream: TlsStream<TcpStream>,
    peer: Peer,
}

impl Connected for TlsConn {
    type ConnectInfo = Peer;
    fn connect_info(&self) -> Peer {
        self.peer.clone()
    }
}

impl AsyncRead for TlsConn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Accepts TCP connections forever, handshakes each in its own task, and
/// sends established connections to `out`. Ends when `out` is closed.
pub async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    handshake_timeout: Duration,
    out: mpsc::Sender<io::Result<TlsConn>>,
) {
    let out = Arc::new(out);
    loop {
        let (tcp, addr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = out.closed() => return,
        };
        let (acceptor, out) = (acceptor.clone(), out.clone());
        tokio::spawn(async move {
            if let Some(conn) = handshake(tcp, addr, acceptor, handshake_timeout).await {
                let _ = out.send(Ok(conn)).await;
            }
        });
    }
}

async fn handshake(tcp: TcpStream, addr: SocketAddr, acceptor: TlsAcceptor, limit: Duration) -> Option<TlsConn> {
    let _ = tcp.set_nodelay(true);
    let stream = match tokio::time::timeout(limit, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::info!(%addr, error = %e, "TLS handshake refused");
            return None;
        }
        Err(_) => {
            tracing::info!(%addr, "TLS handshake timed out");
            return None;
        }
    };
    let cert = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first().cloned())?;
    match spki_sha256(&cert) {
        Ok(spki) => Some(TlsConn {
            stream,
            peer: Peer { spki, addr },
        }),
        Err(e) => {
            tracing::info!(%addr, error = %e, "peer certificate unusable");
            None
        }
    }
}
