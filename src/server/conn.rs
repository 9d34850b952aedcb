//! Accepting connections: TLS handshakes run concurrently (one slow or
//! hostile client cannot hold up the accept loop) under a deadline, and each
//! established stream carries its peer's SPKI hash to every request as a
//! tonic connect-info extension.
//!
//! Two more guards live here, below HTTP/2: each client certificate may hold
//! only so many established connections, and a connection whose peer sends
//! no byte for the idle timeout is closed. Live clients answer the hub's
//! keepalive pings, so only silent peers (half-open connections, clients
//! that stopped after the handshake) reach that timeout.

use super::limits::{Slot, Slots};
use crate::roster::SpkiHash;
use crate::tls::peer_cert;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::{Instant, Sleep};
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

/// How connections are accepted and kept.
pub(super) struct ConnOptions {
    /// How long a TLS handshake may take.
    pub handshake_timeout: Duration,
    /// TLS handshakes in progress at once; connections beyond are closed
    /// unanswered, so strangers cannot pile up half-done handshakes.
    pub pending_handshakes: Arc<tokio::sync::Semaphore>,
    /// How long a peer may send nothing before its connection is closed.
    pub idle_timeout: Duration,
    /// Established connections held per certificate (keyed by SPKI hash).
    pub per_certificate: Arc<Slots>,
}

/// An established mutual-TLS connection.
pub(super) struct TlsConn {
    stream: TlsStream<TcpStream>,
    peer: Peer,
    _slot: Slot,
    idle: Duration,
    last_read: Instant,
    /// When the client certificate expires: the connection ends then, as
    /// a new handshake with that certificate would fail.
    expires: Instant,
    deadline: Pin<Box<Sleep>>,
}

impl TlsConn {
    /// Called when a read is pending: an error once the peer has been
    /// silent for the idle timeout or its certificate has expired,
    /// otherwise arranges to be polled then.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let due = (self.last_read + self.idle).min(self.expires);
            if self.deadline.deadline() != due {
                self.deadline.as_mut().reset(due);
            }
            if self.deadline.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let now = Instant::now();
            if self.expires <= now {
                tracing::info!(addr = %self.peer.addr, "closing connection: the client certificate expired");
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client certificate expired",
                )));
            }
            if self.last_read + self.idle <= now {
                tracing::info!(addr = %self.peer.addr, idle = ?self.idle, "closing connection: peer silent");
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "peer sent nothing for the idle timeout",
                )));
            }
        }
    }
}

impl Connected for TlsConn {
    type ConnectInfo = Peer;
    fn connect_info(&self) -> Peer {
        self.peer.clone()
    }
}

impl AsyncRead for TlsConn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    this.last_read = Instant::now();
                }
                Poll::Ready(r)
            }
            Poll::Pending => this.poll_idle(cx),
        }
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
pub(super) async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    opts: ConnOptions,
    out: mpsc::Sender<io::Result<TlsConn>>,
) {
    let out = Arc::new(out);
    let opts = Arc::new(opts);
    let mut shed = Shed::default();
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
        let Ok(permit) = opts.pending_handshakes.clone().try_acquire_owned() else {
            shed.note(addr);
            continue;
        };
        let (acceptor, out, opts) = (acceptor.clone(), out.clone(), opts.clone());
        tokio::spawn(async move {
            let conn = handshake(tcp, addr, acceptor, &opts).await;
            drop(permit);
            if let Some(conn) = conn {
                let _ = out.send(Ok(conn)).await;
            }
        });
    }
}

/// Connections closed because too many handshakes were in progress, logged
/// at most once a second so a flood cannot flood the log as well.
#[derive(Default)]
struct Shed {
    count: u64,
    logged: Option<Instant>,
}

impl Shed {
    fn note(&mut self, addr: SocketAddr) {
        self.count += 1;
        if self.logged.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            tracing::warn!(%addr, closed = self.count, "too many TLS handshakes in progress: closing new connections");
            self.logged = Some(Instant::now());
            self.count = 0;
        }
    }
}

async fn handshake(tcp: TcpStream, addr: SocketAddr, acceptor: TlsAcceptor, opts: &ConnOptions) -> Option<TlsConn> {
    let _ = tcp.set_nodelay(true);
    let stream = match tokio::time::timeout(opts.handshake_timeout, acceptor.accept(tcp)).await {
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
    let (spki, not_after) = match peer_cert(&cert) {
        Ok(c) => (c.spki, c.not_after),
        Err(e) => {
            tracing::info!(%addr, error = %e, "peer certificate unusable");
            return None;
        }
    };
    let Some(slot) = opts.per_certificate.acquire(&hex::encode(spki)) else {
        tracing::warn!(
            %addr,
            spki = %hex::encode(spki),
            max = opts.per_certificate.max(),
            "closing connection: certificate already holds its limit of connections"
        );
        return None;
    };
    let now = Instant::now();
    let left = u64::try_from(not_after.saturating_sub(crate::time::unix_now())).unwrap_or(0);
    // Capped at a century, so that the deadline arithmetic cannot overflow.
    let expires = now + Duration::from_secs(left.min(100 * 365 * 86_400));
    Some(TlsConn {
        stream,
        peer: Peer { spki, addr },
        _slot: slot,
        idle: opts.idle_timeout,
        last_read: now,
        expires,
        deadline: Box::pin(tokio::time::sleep_until(now + opts.idle_timeout)),
    })
}
