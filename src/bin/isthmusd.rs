//! `isthmusd`, the Isthmus hub: parses flags, sets up logging, and hands
//! the checked settings to `isthmus::server::serve` (or exports a stopped
//! hub's data). Exit code 2 when it cannot start, with the reason on one line.

/// mimalloc: the hub's allocation pattern (many short-lived buffers across
/// threads) spent ~17% of its CPU in glibc malloc under load (perf).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use isthmus::config::{Overrides, Settings};
use isthmus::server;
use std::path::PathBuf;
use std::process::ExitCode;

/// Isthmus hub: mutual-TLS gRPC exchange of signed alerts into a verifiable ledger.
#[derive(Debug, Parser)]
#[command(name = "isthmusd", version)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    settings: Overrides,
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

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match args.command {
        Some(Command::Export { data, out }) => isthmus::ledger::export::from_data_dir(&data, &out).map(|cp| {
            eprintln!("exported {} entries of log {} to {}", cp.size, cp.origin, out.display());
        }),
        None | Some(Command::Serve) => Settings::resolve(&args.settings)
            .and_then(|s| server::runtime()?.block_on(server::serve(s, server::shutdown_signal()))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("isthmusd: {}", isthmus::client::error_chain(&e));
            ExitCode::from(2)
        }
    }
}
