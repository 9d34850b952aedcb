//! From checked [`Settings`] to a running hub: load the TLS material, the
//! roster with its approvals and the log key, refuse development material
//! unless asked for it, open the ledger, bind, and serve until shutdown.
//! Also the process glue `isthmusd` needs: its runtime and its signals.

use super::{run, Hub, LogOptions};
use crate::config::{refuse_dev_material, Settings};
use crate::error::{Error, Result};
use crate::ledger::note::NoteSigner;
use crate::roster::change;
use crate::roster::Roster;
use crate::tls::{is_dev_marked, TlsFiles};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;

/// Blocking threads for storage reads of subscribers behind the in-memory
/// head window. Few and reused: each extra thread keeps its own allocator
/// heap, so an unbounded pool (tokio's default is 512) costs memory when
/// many subscribers lag at once.
const BLOCKING_THREADS: usize = 4;

/// The runtime `isthmusd` serves on.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
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

/// Serves the hub `settings` describe until `shutdown` completes.
pub async fn serve(settings: Settings, shutdown: impl Future<Output = ()>) -> Result<()> {
    let (s, f) = (&settings, &settings.files);
    let tls = TlsFiles::load(&f.ca, &f.cert, &f.key)?;
    refuse_dev_material(s.dev, &f.ca, is_dev_marked(&tls.ca))?;
    refuse_dev_material(s.dev, &f.cert, is_dev_marked(&tls.chain))?;
    refuse_dev_material(s.dev, &f.key, false)?;
    let roster_text = read(&f.roster)?;
    refuse_dev_material(s.dev, &f.roster, roster_text.contains("DEV ONLY"))?;
    let roster = Roster::from_toml(&roster_text).map_err(|e| Error::Config(format!("{}: {e}", f.roster.display())))?;
    let approvals_text = read(&f.roster_approvals)?;
    refuse_dev_material(s.dev, &f.roster_approvals, approvals_text.contains("DEV ONLY"))?;
    let approvals = change::parse_lines(&approvals_text)
        .map_err(|e| Error::Config(format!("{}: {e}", f.roster_approvals.display())))?;
    let key = NoteSigner::from_private_key(read(&f.log_key)?.trim())
        .map_err(|e| Error::Config(format!("{}: {e}", f.log_key.display())))?;
    refuse_dev_material(s.dev, &f.log_key, key.name().starts_with("isthmus.localhost/dev-"))?;
    if s.dev {
        tracing::warn!("--dev: running on DEV ONLY material whose private keys are public; never in production");
    }
    tracing::info!(origin = key.name(), verifier = %key.verifier_key(), "log key loaded");
    let log = LogOptions {
        key: Arc::new(key),
        checkpoint_interval: s.checkpoint_interval,
        min_free_disk_bytes: s.min_free_disk_bytes,
        witnesses: s.witnesses.clone(),
    };
    let hub = Arc::new(Hub::open(&s.data_dir, change::seal(&roster, approvals), &log).await?);
    let listener = tokio::net::TcpListener::bind(s.listen)
        .await
        .map_err(|e| Error::Config(format!("binding {}: {e}", s.listen)))?;
    let addr = listener.local_addr()?;
    let size = hub.ledger().size();
    tracing::info!(%addr, data = %s.data_dir.display(), size, "isthmusd listening (mutual TLS required)");
    run(listener, hub, &tls, settings.limits.clone(), shutdown).await?;
    tracing::info!("isthmusd stopped");
    Ok(())
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::file(path, e))
}
