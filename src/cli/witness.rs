//! `isthmus witness`: a delegation's C2SP witness. `keygen` makes its
//! cosigning key, `serve` answers `POST /add-checkpoint` for the logs it
//! is told to follow (or, with `--dial`, dials out to the hub and answers
//! the same bodies over gRPC), `evidence` prints what a misbehaving log
//! showed it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, Context};
use clap::Subcommand;

use super::Failure;
use crate::ledger::note::NoteVerifier;
use crate::witness::{dial, http, Cosigner, Witness, WitnessStore};

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
        /// The cosigning key written by `witness keygen` (not --key, which
        /// is the TLS client key --dial connects with).
        #[arg(long, value_name = "FILE")]
        witness_key: PathBuf,
        /// A log verifier key to follow (the hub's certs-dev/log.pub, say); repeat for several logs.
        #[arg(long = "log", required = true, value_name = "VKEY")]
        logs: Vec<String>,
        /// Folder of the witness's state.
        #[arg(long, default_value = "isthmus-witness")]
        data_dir: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7380")]
        listen: std::net::SocketAddr,
        /// Listen on nothing: dial out to the hub (--server, as the
        /// delegation of --as / --cert) and answer over its gRPC channel,
        /// reconnecting with backoff. For a witness that may not accept
        /// inbound connections; the roster lists it without witness_url.
        #[arg(long, conflicts_with = "listen")]
        dial: bool,
    },
    /// Print the evidence of log misbehaviour the witness has kept.
    Evidence {
        /// Folder of the witness's state.
        #[arg(long, default_value = "isthmus-witness")]
        data_dir: PathBuf,
    },
}

/// Runs one witness subcommand.
pub(super) async fn run(cli: &super::Cli, command: &WitnessCommand) -> Result<(), Failure> {
    match command {
        WitnessCommand::Keygen { name, out } => keygen(name, out),
        WitnessCommand::Serve {
            witness_key,
            logs,
            data_dir,
            listen,
            dial,
        } => {
            let witness = open(witness_key, logs, data_dir)?;
            match dial {
                true => dial_out(cli, witness).await,
                false => serve(witness, *listen).await,
            }
        }
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

/// The witness with its key, the logs it follows and its state.
fn open(key: &Path, logs: &[String], data_dir: &Path) -> Result<Arc<Witness>, Failure> {
    crate::secret::check_private(key).map_err(|e| anyhow!(e))?;
    let text = std::fs::read_to_string(key).with_context(|| key.display().to_string())?;
    let cosigner = Cosigner::from_private_key(text.trim()).map_err(|e| anyhow!("{}: {e}", key.display()))?;
    let logs = logs
        .iter()
        .map(|k| NoteVerifier::from_key(k.trim()).map_err(|e| anyhow!("--log: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let store = WitnessStore::open(data_dir)?;
    Ok(Arc::new(Witness::new(cosigner, logs, store)))
}

async fn serve(witness: Arc<Witness>, listen: std::net::SocketAddr) -> Result<(), Failure> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    let key = witness.cosigner().verifier();
    tracing::info!(%addr, witness = %key, "witness listening (POST /add-checkpoint)");
    // Scripts and tests read the bound address from stdout.
    println!("listening on {addr}");
    http::serve(listener, witness, None, crate::server::shutdown_signal()).await?;
    Ok(())
}

/// Keeps a dial-out stream to the hub open until interrupted.
async fn dial_out(cli: &super::Cli, witness: Arc<Witness>) -> Result<(), Failure> {
    let stop = crate::server::shutdown_signal();
    tokio::pin!(stop);
    println!("dialing out to {}", cli.server);
    let mut failures = 0;
    loop {
        let attempt = async {
            let mut client = super::connect(cli).await.map_err(|e| match e {
                Failure::Refused(s) => s.message().to_owned(),
                Failure::Local(e) => format!("{e:#}"),
                Failure::Invalid => "invalid".to_owned(),
            })?;
            dial::serve_stream(&mut client, witness.clone())
                .await
                .map_err(|s| s.message().to_owned())
        };
        let ended = tokio::select! {
            ended = attempt => ended,
            _ = &mut stop => return Ok(()),
        };
        match ended {
            Ok(()) => failures = 0,
            Err(why) => {
                tracing::warn!(server = %cli.server, %why, "dial-out to the hub failed");
                failures += 1;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(dial::backoff(failures)) => {}
            _ = &mut stop => return Ok(()),
        }
    }
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
