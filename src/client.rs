//! A typed mutual-TLS client for the Isthmus API, used by the CLI, the
//! tests and any Rust agency system. Other languages use the protobuf
//! contract in `proto/` with their own gRPC stack.

use crate::error::{Error, Result};
use crate::pb::isthmus_client::IsthmusClient;
use crate::tls::{client_config, server_name, TlsFiles};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tonic::transport::{Channel, Endpoint, Uri};

/// The generated client over an mTLS channel.
pub type Client = IsthmusClient<Channel>;

/// Splits `server` (`host:port`, `[v6]:port` or `https://host:port`) into
/// host and port.
pub fn split_server(server: &str) -> Result<(String, u16)> {
    let rest = server.strip_prefix("https://").unwrap_or(server).trim_end_matches('/');
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| Error::Config(format!("server {server:?} must look like host:port")))?;
    let port = port
        .parse()
        .map_err(|_| Error::Config(format!("server {server:?}: bad port")))?;
    Ok((host.trim_start_matches('[').trim_end_matches(']').to_owned(), port))
}

/// Connects to `server` presenting the identity in `tls`, checking the
/// server's certificate against the CA in `tls` for the server's host name.
pub async fn connect(server: &str, tls: &TlsFiles) -> Result<Client> {
    connect_with(server, client_config(tls)?).await
}

/// Connects to `server` with a caller-built rustls configuration (tests use
/// this to play clients without certificates or with the wrong CA).
pub async fn connect_with(server: &str, config: rustls::ClientConfig) -> Result<Client> {
    let channel = channel(server, config).await?;
    Ok(IsthmusClient::new(channel).max_decoding_message_size(usize::MAX))
}

/// A mutual-TLS channel to `server`, for any gRPC service it offers (the
/// health service, say).
pub async fn channel(server: &str, config: rustls::ClientConfig) -> Result<Channel> {
    let (host, port) = split_server(server)?;
    let name = server_name(&host)?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let addr = format!("{host}:{port}");
    let uri_host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.clone()
    };
    let endpoint = Endpoint::from_shared(format!("http://{uri_host}:{port}"))
        .map_err(|e| Error::Config(format!("server {server:?}: {e}")))?
        .connect_timeout(Duration::from_secs(10))
        .tcp_nodelay(true);
    let channel = endpoint
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let (connector, name, addr) = (connector.clone(), name.clone(), addr.clone());
            async move {
                let tcp = TcpStream::connect(&addr).await?;
                tcp.set_nodelay(true)?;
                let tls = connector.connect(name, tcp).await?;
                Ok::<_, std::io::Error>(TokioIo::new(tls))
            }
        }))
        .await
        .map_err(|e| Error::Connect(format!("connecting to {server}: {}", error_chain(&e))))?;
    Ok(channel)
}

/// The whole `source()` chain of an error on one line, each reason once
/// (an `io::Error` wrapping a TLS alert displays the alert itself too).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let reason = s.to_string();
        if !out.ends_with(&reason) {
            out.push_str(": ");
            out.push_str(&reason);
        }
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Layer(&'static str, #[source] Option<Box<Layer>>);

    #[test]
    fn error_chains_say_each_reason_once() {
        let alert = Layer("invalid peer certificate: UnknownIssuer", None);
        let io = Layer("invalid peer certificate: UnknownIssuer", Some(Box::new(alert)));
        let top = Layer("transport error", Some(Box::new(io)));
        assert_eq!(
            error_chain(&top),
            "transport error: invalid peer certificate: UnknownIssuer"
        );
    }

    #[test]
    fn server_addresses() {
        assert_eq!(
            split_server("127.0.0.1:50051").expect("ok"),
            ("127.0.0.1".into(), 50051)
        );
        assert_eq!(
            split_server("https://localhost:1/").expect("ok"),
            ("localhost".into(), 1)
        );
        assert_eq!(split_server("[::1]:7").expect("ok"), ("::1".into(), 7));
        assert!(split_server("localhost").is_err());
        assert!(split_server("h:port").is_err());
    }
}
