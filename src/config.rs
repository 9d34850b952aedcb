//! `isthmusd`'s settings: one type, read from a TOML file (`isthmusd.toml`,
//! sections `[tls]`, `[roster]`, `[log]`, `[limits]`), overridden by flags
//! ([`Overrides`]), checked once into [`Settings`]. Every default is here
//! and nowhere else.
//!
//! Key material has **no default**. A hub runs on the DEV ONLY material of
//! `certs-dev/` only when told to (`--dev`, or `dev = true`), and then the
//! missing paths default to it; without `--dev` a missing path is an error
//! and any development material is refused, whether found by its path or
//! by its content (a CA or server certificate whose subject says DEV ONLY, a
//! log key named `isthmus.localhost/dev-…`, a roster file marked DEV ONLY).

use crate::error::{Error, Result};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the development material lives, relative to the working directory.
pub const DEV_CERTS_DIR: &str = "certs-dev";

/// The listen address unless configured: loopback only.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::V4(std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 50051));
/// The ledger folder unless configured.
pub const DEFAULT_DATA_DIR: &str = "isthmus-data";
/// Least time between two signed checkpoints unless configured.
pub const DEFAULT_CHECKPOINT_INTERVAL_MS: u64 = 500;
/// Free bytes the ledger's file system must keep unless configured.
pub const DEFAULT_MIN_FREE_DISK_BYTES: u64 = 1 << 30;

/// How connections and calls are bounded: the `[limits]` section. All per
/// principal or per certificate unless said otherwise.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeOptions {
    /// How long a TLS handshake may take.
    #[serde(rename = "handshake_timeout_secs", deserialize_with = "secs")]
    pub handshake_timeout: Duration,
    /// TLS handshakes in progress at once (for everyone); more connections
    /// are closed unanswered.
    pub max_pending_handshakes: usize,
    /// How long in-flight calls get after shutdown is requested.
    #[serde(rename = "shutdown_grace_secs", deserialize_with = "secs")]
    pub shutdown_grace: Duration,
    /// Concurrent long-lived streams (Subscribe, health Watch, reflection).
    pub max_streams_per_principal: usize,
    /// HTTP/2 calls in progress at once on one connection
    /// (SETTINGS_MAX_CONCURRENT_STREAMS).
    pub max_concurrent_streams_per_connection: u32,
    /// A connection older than this is closed (GOAWAY, then a grace period
    /// for calls in progress); clients reconnect and resume.
    #[serde(rename = "max_connection_age_secs", deserialize_with = "secs")]
    pub max_connection_age: Duration,
    /// Sustained publishes per second.
    pub publish_rate_per_principal: f64,
    /// Publishes in a burst above that rate.
    pub publish_burst_per_principal: f64,
    /// Sustained envelope bytes per second.
    pub publish_bytes_per_sec_per_principal: f64,
    /// Envelope bytes in a burst above that rate.
    pub publish_burst_bytes_per_principal: f64,
    /// Publishes waiting for their answer at once.
    pub max_inflight_publishes_per_principal: usize,
    /// Sustained read calls per second.
    pub read_rate_per_principal: f64,
    /// Read calls in a burst above that rate.
    pub read_burst_per_principal: f64,
    /// Established connections per client certificate.
    pub max_connections_per_certificate: usize,
    /// A connection whose peer sends nothing for this long is closed. Live
    /// clients answer keepalive pings, so this must exceed
    /// `keepalive_interval + keepalive_timeout`.
    #[serde(rename = "idle_timeout_secs", deserialize_with = "secs")]
    pub idle_timeout: Duration,
    /// How often the hub pings each connection (HTTP/2 PING).
    #[serde(rename = "keepalive_interval_secs", deserialize_with = "secs")]
    pub keepalive_interval: Duration,
    /// How long a ping may go unanswered before the connection is closed.
    #[serde(rename = "keepalive_timeout_secs", deserialize_with = "secs")]
    pub keepalive_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            handshake_timeout: Duration::from_secs(10),
            max_pending_handshakes: 1024,
            shutdown_grace: Duration::from_secs(10),
            max_streams_per_principal: 16,
            max_concurrent_streams_per_connection: 64,
            max_connection_age: Duration::from_secs(86_400),
            publish_rate_per_principal: 5_000.0,
            publish_burst_per_principal: 10_000.0,
            publish_bytes_per_sec_per_principal: 1_048_576.0,
            publish_burst_bytes_per_principal: 67_108_864.0,
            max_inflight_publishes_per_principal: 256,
            read_rate_per_principal: 5_000.0,
            read_burst_per_principal: 10_000.0,
            max_connections_per_certificate: 16,
            idle_timeout: Duration::from_secs(120),
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(20),
        }
    }
}

fn secs<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_secs)
}

impl ServeOptions {
    /// Refuses limits that cannot work together.
    pub fn check(&self) -> Result<()> {
        let quiet = self.keepalive_interval + self.keepalive_timeout;
        if self.idle_timeout <= quiet {
            return Err(Error::Config(format!(
                "idle_timeout_secs ({}) must exceed keepalive_interval_secs + keepalive_timeout_secs ({}), \
                 or live but quiet clients would be cut off",
                self.idle_timeout.as_secs(),
                quiet.as_secs()
            )));
        }
        let rates = [
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
        if let Some((name, v)) = rates.iter().find(|(_, v)| !(v.is_finite() && *v >= 1.0)) {
            return Err(Error::Config(format!(
                "limits.{name} is {v}; it must be a number of at least 1"
            )));
        }
        let counts = [
            ("max_streams_per_principal", self.max_streams_per_principal),
            ("max_connections_per_certificate", self.max_connections_per_certificate),
            ("max_pending_handshakes", self.max_pending_handshakes),
            (
                "max_inflight_publishes_per_principal",
                self.max_inflight_publishes_per_principal,
            ),
            (
                "max_concurrent_streams_per_connection",
                self.max_concurrent_streams_per_connection as usize,
            ),
        ];
        match counts.iter().find(|(_, v)| *v == 0) {
            Some((name, _)) => Err(Error::Config(format!("limits.{name} is 0; it must be at least 1"))),
            None => Ok(()),
        }
    }
}

/// `isthmusd.toml` as written: every value optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    dev: Option<bool>,
    #[serde(default)]
    tls: TlsSection,
    #[serde(default)]
    roster: RosterSection,
    #[serde(default)]
    log: LogSection,
    #[serde(default)]
    limits: ServeOptions,
    /// Witnesses asked to cosign each checkpoint.
    #[serde(default, rename = "witness")]
    witnesses: Vec<WitnessSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WitnessSection {
    /// cosignature/v1 verifier key.
    key: String,
    /// `host:port` of its POST /add-checkpoint.
    addr: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsSection {
    ca: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RosterSection {
    file: Option<PathBuf>,
    approvals: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSection {
    key: Option<PathBuf>,
    checkpoint_interval_ms: Option<u64>,
    min_free_disk_bytes: Option<u64>,
}

/// What flags may set over the file (`isthmusd --help`).
#[derive(Debug, Default, Clone, clap::Args)]
pub struct Overrides {
    /// Config file (TOML); flags override its values.
    #[arg(long, short = 'c', env = "ISTHMUSD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Run on the DEV ONLY material of certs-dev/ (missing paths default to
    /// it). Never in production.
    #[arg(long)]
    pub dev: bool,
    /// Listen address (default 127.0.0.1:50051).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Ledger folder (default ./isthmus-data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Federation CA certificate (PEM).
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// The hub's certificate chain (PEM).
    #[arg(long)]
    pub cert: Option<PathBuf>,
    /// The hub's TLS private key (PEM).
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Roster (TOML).
    #[arg(long)]
    pub roster: Option<PathBuf>,
    /// Approvals of the roster (one line per approving delegation).
    #[arg(long)]
    pub roster_approvals: Option<PathBuf>,
    /// The log's checkpoint signing key (C2SP note private key).
    #[arg(long)]
    pub log_key: Option<PathBuf>,
}

/// The files the hub's trust rests on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyFiles {
    /// Federation CA certificate(s): client certificates must chain to it.
    pub ca: PathBuf,
    /// The hub's certificate chain.
    pub cert: PathBuf,
    /// The hub's TLS private key.
    pub key: PathBuf,
    /// The roster (TOML).
    pub roster: PathBuf,
    /// The delegations' approvals of that roster.
    pub roster_approvals: PathBuf,
    /// The log's checkpoint signing key.
    pub log_key: PathBuf,
}

/// Checked settings of a hub.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Folder of the sled ledger.
    pub data_dir: PathBuf,
    /// Whether the DEV ONLY material may be used.
    pub dev: bool,
    /// TLS, roster and log key files.
    pub files: KeyFiles,
    /// Least time between two signed checkpoints.
    pub checkpoint_interval: Duration,
    /// Publishes are refused while fewer bytes are free on the ledger's disk.
    pub min_free_disk_bytes: u64,
    /// Connection and call limits.
    pub limits: ServeOptions,
    /// Witnesses asked to cosign each checkpoint.
    pub witnesses: Vec<crate::server::WitnessTarget>,
}

impl Settings {
    /// The file named by `o.config` (if any) with `o`'s flags over it,
    /// checked: limits coherent, every key file given (or defaulted under
    /// `--dev`), private keys not readable by others outside `--dev`.
    pub fn resolve(o: &Overrides) -> Result<Settings> {
        let file = match &o.config {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| Error::file(p, e))?;
                toml::from_str::<File>(&text).map_err(|e| Error::Config(format!("{}: {e}", p.display())))?
            }
            None => File::default(),
        };
        let dev = o.dev || file.dev == Some(true);
        let path = |flag: &Option<PathBuf>, value: Option<PathBuf>, name: &str, dev_file: &str| match (
            flag.clone().or(value),
            dev,
        ) {
            (Some(p), _) => Ok(p),
            (None, true) => Ok(Path::new(DEV_CERTS_DIR).join(dev_file)),
            (None, false) => Err(Error::Config(format!(
                "{name} is not set: give it in the config file or as a flag \
                     (to try the hub locally on the DEV ONLY material of certs-dev/, pass --dev)"
            ))),
        };
        let files = KeyFiles {
            ca: path(&o.ca, file.tls.ca, "tls.ca (--ca)", "ca.pem")?,
            cert: path(&o.cert, file.tls.cert, "tls.cert (--cert)", "server.pem")?,
            key: path(&o.key, file.tls.key, "tls.key (--key)", "server.key.pem")?,
            roster: path(&o.roster, file.roster.file, "roster.file (--roster)", "roster.toml")?,
            roster_approvals: path(
                &o.roster_approvals,
                file.roster.approvals,
                "roster.approvals (--roster-approvals)",
                "roster.approvals",
            )?,
            log_key: path(&o.log_key, file.log.key, "log.key (--log-key)", "log.key")?,
        };
        let settings = Settings {
            listen: o.listen.or(file.listen).unwrap_or(DEFAULT_LISTEN),
            data_dir: o
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            dev,
            files,
            checkpoint_interval: Duration::from_millis(
                file.log
                    .checkpoint_interval_ms
                    .unwrap_or(DEFAULT_CHECKPOINT_INTERVAL_MS),
            ),
            min_free_disk_bytes: file.log.min_free_disk_bytes.unwrap_or(DEFAULT_MIN_FREE_DISK_BYTES),
            limits: file.limits,
            witnesses: file
                .witnesses
                .into_iter()
                .map(|w| {
                    let key = crate::witness::CosignatureVerifier::from_key(&w.key)
                        .map_err(|e| Error::Config(format!("[[witness]] key: {e}")))?;
                    Ok(crate::server::WitnessTarget { key, addr: w.addr })
                })
                .collect::<Result<_>>()?,
        };
        settings.limits.check()?;
        settings.check_key_files()?;
        Ok(settings)
    }

    /// Refuses files under certs-dev/ outside `--dev`, then private key
    /// files (the TLS key and the log key) that the group or others can
    /// read; under `--dev` (whose files come from git,
    /// which does not keep modes) it only warns.
    fn check_key_files(&self) -> Result<()> {
        // The DEV ONLY refusal first: a clone's certs-dev/ keys are 0644, and
        // "chmod 600" would be the wrong advice for them.
        let f = &self.files;
        for path in [&f.ca, &f.cert, &f.key, &f.roster, &f.roster_approvals, &f.log_key] {
            refuse_dev_material(self.dev, path, false)?;
        }
        for path in [&self.files.key, &self.files.log_key] {
            if let Err(why) = crate::secret::check_private(path) {
                match self.dev {
                    true => tracing::warn!("{why} (development material: starting anyway)"),
                    false => return Err(Error::Config(why)),
                }
            }
        }
        Ok(())
    }
}

/// Refuses development material outside `--dev`. `what` names the file,
/// `marked` says whether its content carries a DEV ONLY mark.
pub fn refuse_dev_material(dev: bool, what: &Path, marked: bool) -> Result<()> {
    let under_dev_dir = what.components().any(|c| c.as_os_str() == DEV_CERTS_DIR);
    if dev || !(marked || under_dev_dir) {
        return Ok(());
    }
    Err(Error::Config(format!(
        "{} is DEV ONLY material (certs-dev/): its private keys are public; never run a hub on it in \
         production. Pass --dev to try the hub locally on it",
        what.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<File, toml::de::Error> {
        toml::from_str(text)
    }

    fn with_file(text: &str, o: Overrides) -> Result<Settings> {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("isthmusd.toml");
        std::fs::write(&p, text).expect("write");
        Settings::resolve(&Overrides { config: Some(p), ..o })
    }

    #[test]
    fn key_material_has_no_default_outside_dev() {
        let e = Settings::resolve(&Overrides::default()).expect_err("no key files");
        assert!(
            e.to_string().contains("tls.ca (--ca) is not set") && e.to_string().contains("--dev"),
            "{e}"
        );
        let dev = Settings::resolve(&Overrides {
            dev: true,
            ..Overrides::default()
        });
        let dev = dev.expect("--dev defaults to certs-dev/");
        assert_eq!(dev.files.log_key, Path::new("certs-dev/log.key"));
        assert_eq!(
            (dev.listen, dev.limits.clone()),
            (DEFAULT_LISTEN, ServeOptions::default())
        );
    }

    #[test]
    fn flags_override_the_file_and_sections_are_strict() {
        let text = "listen = \"0.0.0.0:443\"\ndev = true\n[log]\ncheckpoint_interval_ms = 50\n\
                    [limits]\nidle_timeout_secs = 300\n";
        let o = Overrides {
            listen: Some("127.0.0.1:9".parse().expect("addr")),
            ..Overrides::default()
        };
        let s = with_file(text, o).expect("settings");
        assert_eq!(s.listen.port(), 9, "the flag wins");
        assert_eq!(s.checkpoint_interval, Duration::from_millis(50));
        assert_eq!(s.limits.idle_timeout, Duration::from_secs(300));
        assert!(parse("lisen = \"x\"").is_err(), "typos are refused");
        let old = parse("max_streams_per_principal = 3").expect_err("the flat layout of earlier builds");
        assert!(old.to_string().contains("unknown field"), "{old}");
    }

    #[test]
    fn the_shipped_isthmusd_toml_states_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("isthmusd.toml");
        let text = std::fs::read_to_string(path).expect("isthmusd.toml");
        let file = parse(&text).expect("isthmusd.toml parses");
        assert_eq!(file.limits, ServeOptions::default());
        assert_eq!(file.listen, Some(DEFAULT_LISTEN));
        assert_eq!(file.data_dir.as_deref(), Some(Path::new(DEFAULT_DATA_DIR)));
        assert_eq!(file.log.checkpoint_interval_ms, Some(DEFAULT_CHECKPOINT_INTERVAL_MS));
        assert_eq!(file.log.min_free_disk_bytes, Some(DEFAULT_MIN_FREE_DISK_BYTES));
        assert!(
            file.tls.key.is_none() && file.log.key.is_none(),
            "no key material by default"
        );
    }

    #[test]
    fn incoherent_limits_are_refused() {
        let idle = ServeOptions {
            idle_timeout: Duration::from_secs(40),
            ..ServeOptions::default()
        };
        let e = idle.check().expect_err("idle below keepalive");
        assert!(e.to_string().contains("idle_timeout_secs (40)"), "{e}");
        let rate = ServeOptions {
            read_rate_per_principal: 0.0,
            ..ServeOptions::default()
        };
        assert!(rate
            .check()
            .expect_err("zero rate")
            .to_string()
            .contains("read_rate_per_principal"));
        let nan = ServeOptions {
            publish_burst_per_principal: f64::NAN,
            ..ServeOptions::default()
        };
        assert!(nan.check().is_err());
        let streams = ServeOptions {
            max_streams_per_principal: 0,
            ..ServeOptions::default()
        };
        assert!(streams.check().is_err());
    }

    #[test]
    fn development_material_is_refused_by_path_or_mark_unless_dev() {
        assert!(refuse_dev_material(false, Path::new("/etc/isthmus/ca.pem"), false).is_ok());
        let e = refuse_dev_material(false, Path::new("certs-dev/ca.pem"), false).expect_err("by path");
        assert!(e.to_string().contains("Pass --dev"), "{e}");
        assert!(
            refuse_dev_material(false, Path::new("/etc/copy/ca.pem"), true).is_err(),
            "by mark"
        );
        assert!(refuse_dev_material(true, Path::new("certs-dev/ca.pem"), true).is_ok());
    }

    #[test]
    fn witnesses_are_listed_with_checked_keys() {
        let key = crate::witness::Cosigner::generate("w.example/1")
            .expect("key")
            .0
            .verifier();
        let text = format!("dev = true\n[[witness]]\nkey = \"{key}\"\naddr = \"127.0.0.1:7380\"\n");
        let s = with_file(&text, Overrides::default()).expect("settings");
        assert_eq!(s.witnesses.len(), 1);
        assert_eq!(
            (s.witnesses[0].key.name(), s.witnesses[0].addr.as_str()),
            ("w.example/1", "127.0.0.1:7380")
        );
        let note_key = "dev = true\n[[witness]]\nkey = \"PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\"\naddr = \"x:1\"\n";
        let e = with_file(note_key, Overrides::default()).expect_err("a note key is not a witness key");
        assert!(e.to_string().contains("[[witness]] key"), "{e}");
    }

    #[test]
    fn dev_material_is_named_before_key_file_modes() {
        // As in a fresh clone: certs-dev/ keys readable by all (git keeps no
        // modes). Without --dev the refusal is about DEV ONLY, not chmod.
        let dir = tempfile::tempdir().expect("tempdir");
        let dev = dir.path().join(DEV_CERTS_DIR);
        std::fs::create_dir(&dev).expect("mkdir");
        let file = |name: &str| {
            let p = dev.join(name);
            std::fs::write(&p, "x").expect("write");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            }
            Some(p)
        };
        let o = Overrides {
            ca: file("ca.pem"),
            cert: file("server.pem"),
            key: file("server.key.pem"),
            roster: file("roster.toml"),
            roster_approvals: file("roster.approvals"),
            log_key: file("log.key"),
            ..Overrides::default()
        };
        let e = Settings::resolve(&o).expect_err("dev material without --dev");
        assert!(e.to_string().contains("DEV ONLY"), "{e}");
        assert!(!e.to_string().contains("chmod"), "{e}");
        assert!(
            Settings::resolve(&Overrides { dev: true, ..o }).is_ok(),
            "--dev only warns"
        );
    }
}
