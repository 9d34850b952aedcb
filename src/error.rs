//! The library's error type for operator-side failures: configuration,
//! storage, TLS material. Peer-caused failures have their own types
//! ([`crate::ingest::PublishError`]) that map to precise gRPC statuses.

use std::path::PathBuf;

/// What went wrong on the operator's side of the hub.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    File {
        /// The file concerned.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// Other I/O failure (sockets, fsync).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The ledger store failed or holds data it should not.
    #[error("ledger storage: {0}")]
    Storage(String),
    /// A configuration value is unusable; the message says which and why.
    #[error("configuration: {0}")]
    Config(String),
    /// Certificates or keys are unusable.
    #[error("TLS material: {0}")]
    Tls(String),
    /// A client could not reach the hub or complete the TLS handshake.
    #[error("{0}")]
    Connect(String),
    /// The roster is malformed or inconsistent.
    #[error(transparent)]
    Roster(#[from] crate::roster::RosterError),
    /// The hub's signature verifier failed (a fault of the hub).
    #[error("signature verification: {0}")]
    Verifier(String),
    /// The ledger has been closed (server shutting down).
    #[error("the ledger is shutting down")]
    Closed,
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn file(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::File {
            path: path.into(),
            source,
        }
    }
}

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;
