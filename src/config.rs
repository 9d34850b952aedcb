//! `isthmusd` configuration: a TOML file (see `isthmusd.toml`) whose values
//! command-line flags may override. The defaults are the local quick start
//! only: loopback address, `./isthmus-data`, and the DEV ONLY material in
//! `certs-dev/` — the server warns loudly when it runs on them.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Where the development material lives, relative to the working directory.
pub const DEV_CERTS_DIR: &str = "certs-dev";

/// Server settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Folder of the sled ledger.
    pub data_dir: PathBuf,
    /// Federation CA certificate(s), PEM: client certificates must chain to it.
    pub ca: PathBuf,
    /// Server certificate chain, PEM.
    pub cert: PathBuf,
    /// Server private key, PEM.
    pub key: PathBuf,
    /// The roster, TOML.
    pub roster: PathBuf,
    /// The delegations' approvals of that roster, one line each (written by
    /// `isthmus roster-approve`).
    pub roster_approvals: PathBuf,
    /// The log's signing key (C2SP note private key `PRIVATE+KEY+origin+id+key`).
    pub log_key: PathBuf,
    /// Least milliseconds between two signed checkpoints.
    pub checkpoint_interval_ms: u64,
    /// Seconds a TLS handshake may take.
    pub handshake_timeout_secs: u64,
    /// TLS handshakes in progress at once; more connections are closed.
    pub max_pending_handshakes: usize,
    /// Seconds in-flight calls get to finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// Concurrent long-lived streams (Subscribe, health Watch, reflection)
    /// allowed per principal.
    pub max_streams_per_principal: usize,
    /// HTTP/2 calls in progress at once on one connection.
    pub max_concurrent_streams_per_connection: u32,
    /// Seconds after which a connection is closed (clients reconnect).
    pub max_connection_age_secs: u64,
    /// Sustained publishes per second allowed per principal.
    pub publish_rate_per_principal: f64,
    /// Publishes a principal may burst above that rate.
    pub publish_burst_per_principal: f64,
    /// Sustained envelope bytes per second a principal may publish.
    pub publish_bytes_per_sec_per_principal: f64,
    /// Envelope bytes a principal may publish in a burst above that rate.
    pub publish_burst_bytes_per_principal: f64,
    /// Below this many free bytes on the ledger's file system the hub
    /// refuses publishes (and reports NOT_SERVING) instead of filling it.
    pub min_free_disk_bytes: u64,
    /// Publishes a principal may have waiting for their answer at once.
    pub max_inflight_publishes_per_principal: usize,
    /// Sustained read calls per second allowed per principal.
    pub read_rate_per_principal: f64,
    /// Read calls a principal may burst above that rate.
    pub read_burst_per_principal: f64,
    /// Established connections allowed per client certificate.
    pub max_connections_per_certificate: usize,
    /// Seconds a peer may send nothing before its connection is closed.
    pub idle_timeout_secs: u64,
    /// Seconds between the hub's HTTP/2 keepalive pings.
    pub keepalive_interval_secs: u64,
    /// Seconds a keepalive ping may go unanswered.
    pub keepalive_timeout_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        let dev = Path::new(DEV_CERTS_DIR);
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            data_dir: PathBuf::from("isthmus-data"),
            ca: dev.join("ca.pem"),
            cert: dev.join("server.pem"),
            key: dev.join("server.key.pem"),
            roster: dev.join("roster.toml"),
            roster_approvals: dev.join("roster.approvals"),
            log_key: dev.join("log.key"),
            checkpoint_interval_ms: 500,
            handshake_timeout_secs: 10,
            max_pending_handshakes: 1024,
            shutdown_grace_secs: 10,
            max_streams_per_principal: 16,
            max_concurrent_streams_per_connection: 64,
            max_connection_age_secs: 86_400,
            publish_rate_per_principal: 5_000.0,
            publish_burst_per_principal: 10_000.0,
            publish_bytes_per_sec_per_principal: 1_048_576.0,
            publish_burst_bytes_per_principal: 67_108_864.0,
            min_free_disk_bytes: 1 << 30,
            max_inflight_publishes_per_principal: 256,
            read_rate_per_principal: 5_000.0,
            read_burst_per_principal: 10_000.0,
            max_connections_per_certificate: 16,
            idle_timeout_secs: 120,
            keepalive_interval_secs: 30,
            keepalive_timeout_secs: 20,
        }
    }
}

impl Config {
    /// Reads a config file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::file(path, e))?;
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    /// Refuses settings that cannot work together.
    pub fn check(&self) -> Result<()> {
        if self.idle_timeout_secs <= self.keepalive_interval_secs + self.keepalive_timeout_secs {
            return Err(Error::Config(format!(
                "idle_timeout_secs ({}) must exceed keepalive_interval_secs + keepalive_timeout_secs ({}), \
                 or live but quiet clients would be cut off",
                self.idle_timeout_secs,
                self.keepalive_interval_secs + self.keepalive_timeout_secs
            )));
        }
        let positive = [
            ("publish_rate_per_principal", self.publish_rate_per_principal),
            ("publish_burst_per_principal", self.publish_burst_per_principal),
            ("read_rate_per_principal", self.read_rate_per_principal),
            ("read_burst_per_principal", self.read_burst_per_principal),
            (
                "publish_bytes_per_sec_per_principal",
                self.publish_bytes_per_sec_per_principal,
            ),
            (
                "publish_burst_bytes_per_principal",
                self.publish_burst_bytes_per_principal,
            ),
        ];
        if let Some((name, v)) = positive.iter().find(|(_, v)| !(v.is_finite() && *v >= 1.0)) {
            return Err(Error::Config(format!(
                "{name} is {v}; it must be a number of at least 1"
            )));
        }
        let counts = [
            ("max_streams_per_principal", self.max_streams_per_principal),
            (
                "max_concurrent_streams_per_connection",
                self.max_concurrent_streams_per_connection as usize,
            ),
            ("max_connections_per_certificate", self.max_connections_per_certificate),
            ("max_pending_handshakes", self.max_pending_handshakes),
            (
                "max_inflight_publishes_per_principal",
                self.max_inflight_publishes_per_principal,
            ),
        ];
        if let Some((name, _)) = counts.iter().find(|(_, v)| *v == 0) {
            return Err(Error::Config(format!("{name} is 0; it must be at least 1")));
        }
        Ok(())
    }

    /// Refuses private key files (the TLS key and the log key) that the
    /// group or others can read; on development material (whose modes git
    /// does not keep) it only warns.
    pub fn check_key_files(&self) -> Result<()> {
        for path in [&self.key, &self.log_key] {
            if let Err(why) = crate::secret::check_private(path) {
                match self.uses_dev_material() {
                    true => tracing::warn!("{why} (development material: starting anyway)"),
                    false => return Err(Error::Config(why)),
                }
            }
        }
        Ok(())
    }

    /// Whether any TLS or roster file comes from the development folder.
    pub fn uses_dev_material(&self) -> bool {
        [
            &self.ca,
            &self.cert,
            &self.key,
            &self.roster,
            &self.roster_approvals,
            &self.log_key,
        ]
        .iter()
        .any(|p| p.components().any(|c| c.as_os_str() == DEV_CERTS_DIR))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_quick_start_and_files_override_them() {
        let d = Config::default();
        assert!(d.uses_dev_material());
        assert!(d.listen.ip().is_loopback());
        let c: Config = toml::from_str(
            "listen = \"0.0.0.0:443\"\nca = \"/etc/isthmus/ca.pem\"\ncert = \"/c\"\nkey = \"/k\"\nroster = \"/r\"\n\
             roster_approvals = \"/a\"\nlog_key = \"/l\"",
        )
        .expect("parse");
        assert_eq!(c.listen.port(), 443);
        assert!(!c.uses_dev_material());
        assert!(toml::from_str::<Config>("lisen = \"x\"").is_err(), "typos are refused");
        d.check().expect("the defaults are coherent");
    }

    #[test]
    fn the_shipped_isthmusd_toml_states_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("isthmusd.toml");
        let shipped = Config::from_file(&path).expect("isthmusd.toml parses");
        assert_eq!(format!("{shipped:?}"), format!("{:?}", Config::default()));
    }

    #[test]
    fn incoherent_limits_are_refused() {
        let idle: Config = toml::from_str("idle_timeout_secs = 40").expect("parse");
        let e = idle.check().expect_err("idle below keepalive");
        assert!(e.to_string().contains("idle_timeout_secs (40)"), "{e}");
        let rate: Config = toml::from_str("read_rate_per_principal = 0.0").expect("parse");
        assert!(rate
            .check()
            .expect_err("zero rate")
            .to_string()
            .contains("read_rate_per_principal"));
        let nan: Config = toml::from_str("publish_burst_per_principal = nan").expect("parse");
        assert!(nan.check().is_err());
        let streams: Config = toml::from_str("max_streams_per_principal = 0").expect("parse");
        assert!(streams.check().is_err());
    }
}
