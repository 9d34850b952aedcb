//! `isthmus witness`: a delegation's C2SP witness. `keygen` makes its
//! cosigning key, `serve` answers `POST /add-checkpoint` for the logs it
//! is told to follow, `evidence` prints what a misbehaving log showed it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, Context};
use clap::Subcommand;

use super::Failure;
use crate::ledger::note::NoteVerifier;
use crate::witness::{http, Cosigner, Witness, WitnessStore};

/// The witness subcommands.
#[derive(Debug, Subcommand)]
pub(super) enum WitnessCommand {
    /// Generate a cosigning key: writes OUT (secret, 0600) and prints the
    /// verifier key to put in the roster.
    Keygen {
        /// The witness's name, e.g. witness.cancilleria.gov.co/isthmus.
        #[arg(long)]
        name: String,
        /// Where to write the private key.
        #[arg(long)]
        out: PathBuf,
    },
    /// Serve POST /add-checkpoint (C2SP tlog-witness) until interrupted.
    Serve {
        /// The cosigning key written by `witness keygen`.
        #[arg(long)]
        key: PathBuf,
        /// A log verifier key to follow (the hub's certs-dev/log.pub, say); repeat for several logs.
        #[arg(long = "log", required = true, value_name = "VKEY")]
        logs: Vec<String>,
        /// Folder of the witness's state.
        #[arg(long, default_value = "isthmus-witness")]
        data_dir: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7380")]
        listen: std::net::SocketAddr,
    },
    /// Print the evidence of log misbehaviour the witness has kept.
    Evidence {
        /// Folder of the witness's state.
        #[arg(long, default_value = "isthmus-witness")]
        data_dir: PathBuf,
    },
}

/// Runs one witness subcommand.
pub(super) async fn run(command: &WitnessCommand) -> Result<(), Failure> {
    match command {
        WitnessCommand::Keygen { name, out } => keygen(name, out),
        WitnessCommand::Serve {
            key,
            logs,
            data_dir,
            listen,
        } => serve(key, logs, data_dir, *listen).await,
        WitnessCommand::Evidence { data_dir } => evidence(data_dir),
    }
}

fn keygen(name: &str, out: &Path) -> Result<(), Failure> {
    let (cosigner, private) = Cosigner::generate(name).map_err(|e| anyhow!(e))?;
    crate::secret::write(out, &format!("{private}\n"), false)
        .with_context(|| format!("{}: refusing to overwrite, or cannot write", out.display()))?;
    eprintln!(
        "wrote {} (secret, mode 0600); the verifier key for the roster:",
        out.display()
    );
    println!("{}", cosigner.verifier());
    Ok(())
}

async fn serve(key: &Path, logs: &[String], data_dir: &Path, listen: std::net::SocketAddr) -> Result<(), Failure> {
    crate::secret::check_private(key).map_err(|e| anyhow!(e))?;
    let text = std::fs::read_to_string(key).with_context(|| key.display().to_string())?;
    let cosigner = Cosigner::from_private_key(text.trim()).map_err(|e| anyhow!("{}: {e}", key.display()))?;
    let logs = logs
        .iter()
        .map(|k| NoteVerifier::from_key(k.trim()).map_err(|e| anyhow!("--log: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let store = WitnessStore::open(data_dir)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, witness = %cosigner.verifier(), logs = logs.len(), "witness listening (POST /add-checkpoint)");
    // Scripts and tests read the bound address from stdout.
    println!("listening on {addr}");
    let witness = Arc::new(Witness::new(cosigner, logs, store));
    http::serve(listener, witness, None, crate::server::shutdown_signal()).await?;
    Ok(())
}

fn evidence(data_dir: &Path) -> Result<(), Failure> {
    let store = WitnessStore::open(data_dir)?;
    let all = store.evidence()?;
    if all.is_empty() {
        println!("no evidence: every checkpoint offered was consistent with what this witness cosigned");
    }
    for (i, e) in all.iter().enumerate() {
        println!("evidence {} for log {}: {}", i + 1, e.origin, e.kind);
        println!("-- the checkpoint this witness had cosigned:\n{}", e.cosigned);
        println!("-- the add-checkpoint request then offered:\n{}", e.offered);
    }
    Ok(())
}
