//! `isthmusd`: the Isthmus hub. Parses flags and the config file, sets up
//! logging, and hands over to `isthmus::server::run`.

/// mimalloc: the hub's allocation pattern (many short-lived buffers across
/// threads) spent ~17% of its CPU in glibc malloc under load (perf).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context;
use clap::Parser;
use isthmus::config::Config;
use isthmus::ledger::note::NoteSigner;
use isthmus::roster::change as roster_change;
use isthmus::roster::Roster;
use isthmus::server::{self, Hub, LogOptions, ServeOptions};
use isthmus::tls::TlsFiles;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Isthmus hub: mutual-TLS gRPC exchange of signed alerts into a verifiable ledger.
#[derive(Debug, Parser)]
#[command(name = "isthmusd", version)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Config file (TOML); flags override its values.
    #[arg(long, short = 'c', env = "ISTHMUSD_CONFIG")]
    config: Option<PathBuf>,
    /// Listen address.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Ledger folder.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Federation CA certificate (PEM).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Server certificate (PEM).
    #[arg(long)]
    cert: Option<PathBuf>,
    /// Server private key (PEM).
    #[arg(long)]
    key: Option<PathBuf>,
    /// Roster (TOML).
    #[arg(long)]
    roster: Option<PathBuf>,
    /// Approvals of the roster (one line per approving delegation).
    #[arg(long)]
    roster_approvals: Option<PathBuf>,
    /// The log's checkpoint signing key (C2SP note private key).
    #[arg(long)]
    log_key: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Serve (the default when no command is given).
    Serve,
    /// Export a stopped hub's data folder (or a copy) for auditors, at its
    /// latest signed checkpoint, in the C2SP tlog-tiles layout.
    Export {
        /// The data folder (or a copy of it).
        #[arg(long)]
        data: PathBuf,
        /// Output folder (must be missing or empty).
        #[arg(long)]
        out: PathBuf,
    },
}

impl Args {
    fn config(&self) -> anyhow::Result<Config> {
        let mut c = match &self.config {
            Some(p) => Config::from_file(p)?,
            None => Config::default(),
        };
        c.listen = self.listen.unwrap_or(c.listen);
        let over = |v: &Option<PathBuf>, d: &mut PathBuf| {
            if let Some(v) = v {
                *d = v.clone()
            }
        };
        over(&self.data_dir, &mut c.data_dir);
        over(&self.ca, &mut c.ca);
        over(&self.cert, &mut c.cert);
        over(&self.key, &mut c.key);
        over(&self.roster, &mut c.roster);
        over(&self.roster_approvals, &mut c.roster_approvals);
        over(&self.log_key, &mut c.log_key);
        Ok(c)
    }
}

/// Blocking threads for storage reads of subscribers behind the in-memory
/// head window. Few and reused: each extra thread keeps its own allocator
/// heap, so an unbounded pool (tokio's default is 512) costs memory when
/// many subscribers lag at once.
const BLOCKING_THREADS: usize = 4;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build();
    match runtime {
        Ok(rt) => rt.block_on(run()),
        Err(e) => {
            eprintln!("isthmusd: cannot start the async runtime: {e}");
            std::process::exit(2);
        }
    }
}

async fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    let result = match &args.command {
        Some(Command::Export { data, out }) => export(data, out),
        None | Some(Command::Serve) => serve(args).await,
    };
    if let Err(e) = result {
        eprintln!("isthmusd: {e:#}");
        std::process::exit(2);
    }
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let cfg = args.config()?;
    cfg.check()?;
    cfg.check_key_files()?;
    if cfg.uses_dev_material() {
        tracing::warn!("running on DEV ONLY certificates and roster from certs-dev/ — never use these in production");
    }
    let tls = TlsFiles::load(&cfg.ca, &cfg.cert, &cfg.key)?;
    let roster_text =
        std::fs::read_to_string(&cfg.roster).with_context(|| format!("reading {}", cfg.roster.display()))?;
    let roster = Roster::from_toml(&roster_text).with_context(|| cfg.roster.display().to_string())?;
    let approvals_text = std::fs::read_to_string(&cfg.roster_approvals)
        .with_context(|| format!("reading {}", cfg.roster_approvals.display()))?;
    let approvals =
        roster_change::parse_lines(&approvals_text).with_context(|| cfg.roster_approvals.display().to_string())?;
    let approved = roster_change::seal(&roster, approvals);
    let key_text =
        std::fs::read_to_string(&cfg.log_key).with_context(|| format!("reading {}", cfg.log_key.display()))?;
    let key = NoteSigner::from_private_key(key_text.trim()).with_context(|| cfg.log_key.display().to_string())?;
    tracing::info!(origin = key.name(), verifier = %key.verifier_key(), "log key loaded");
    let log = LogOptions {
        key: Arc::new(key),
        checkpoint_interval: Duration::from_millis(cfg.checkpoint_interval_ms),
        min_free_disk_bytes: cfg.min_free_disk_bytes,
    };
    let hub = Arc::new(Hub::open(&cfg.data_dir, approved, &log).await?);
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("binding {}", cfg.listen))?;
    tracing::info!(addr = %listener.local_addr()?, data = %cfg.data_dir.display(), size = hub.ledger().size(), "isthmusd listening (mutual TLS required)");
    let opts = ServeOptions {
        handshake_timeout: Duration::from_secs(cfg.handshake_timeout_secs),
        max_pending_handshakes: cfg.max_pending_handshakes,
        shutdown_grace: Duration::from_secs(cfg.shutdown_grace_secs),
        max_streams_per_principal: cfg.max_streams_per_principal,
        max_concurrent_streams_per_connection: cfg.max_concurrent_streams_per_connection,
        max_connection_age: Duration::from_secs(cfg.max_connection_age_secs),
        publish_rate_per_principal: cfg.publish_rate_per_principal,
        publish_burst_per_principal: cfg.publish_burst_per_principal,
        publish_bytes_per_sec_per_principal: cfg.publish_bytes_per_sec_per_principal,
        publish_burst_bytes_per_principal: cfg.publish_burst_bytes_per_principal,
        max_inflight_publishes_per_principal: cfg.max_inflight_publishes_per_principal,
        read_rate_per_principal: cfg.read_rate_per_principal,
        read_burst_per_principal: cfg.read_burst_per_principal,
        max_connections_per_certificate: cfg.max_connections_per_certificate,
        idle_timeout: Duration::from_secs(cfg.idle_timeout_secs),
        keepalive_interval: Duration::from_secs(cfg.keepalive_interval_secs),
        keepalive_timeout: Duration::from_secs(cfg.keepalive_timeout_secs),
    };
    server::run(listener, hub, &tls, opts, shutdown_signal()).await?;
    tracing::info!("isthmusd stopped");
    Ok(())
}

fn export(data: &std::path::Path, out: &std::path::Path) -> anyhow::Result<()> {
    let cp = isthmus::ledger::export::from_data_dir(data, out)?;
    eprintln!("exported {} entries of log {} to {}", cp.size, cp.origin, out.display());
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
