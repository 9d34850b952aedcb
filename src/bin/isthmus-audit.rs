//! `isthmus-audit`: the offline auditor. Parses arguments, runs
//! `isthmus::audit::verify` once and prints its report; exit code 0 intact,
//! 1 integrity failure, 2 unusable input (clap's usage errors are 2 too).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use isthmus::audit::{self, Options, Report};

/// Verify an Isthmus ledger export offline, trusting only the log key.
#[derive(Debug, Parser)]
#[command(name = "isthmus-audit", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify an export directory (C2SP tlog-tiles layout).
    Verify {
        /// The export directory.
        export: PathBuf,
        /// Trusted log key (C2SP verifier key `name+hash+base64`) or a file holding it.
        #[arg(long, value_name = "VKEY_OR_FILE")]
        log_key: String,
        /// Your last trusted checkpoint note: the export must extend it.
        #[arg(long, value_name = "OLD_CHECKPOINT")]
        since: Option<PathBuf>,
        /// The genesis roster the federation agreed on: hex SHA-256 of its
        /// encoded payload, as a previous report printed it.
        #[arg(long, value_name = "SHA256_HEX", value_parser = isthmus::roster::change::parse_genesis_pin)]
        genesis: Option<[u8; 32]>,
        /// Also check every alert signature under the strict RFC 8032 rule
        /// the hub applies at ingest, and list the alerts whose signatures
        /// hold only under the audit's cofactored rule (standard libraries
        /// reject them; a warning, not a failure). One more verification per alert.
        #[arg(long)]
        strict_signatures: bool,
        /// A witness policy (C2SP tlog-policy file): the export's
        /// checkpoint must carry the cosignatures its quorum needs (export
        /// with `isthmus --policy FILE export` to fetch a witnessed one).
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// With --policy: the clock skew allowed between the hub's
        /// acceptance times and the witnesses' cosignature times. No entry
        /// may be accepted after the export's checkpoint was cosigned (plus
        /// this), nor, after --since's checkpoint, before it was (minus this).
        #[arg(long, value_name = "SECONDS", default_value_t = audit::DEFAULT_TIME_SKEW)]
        time_skew: u64,
        /// A reader's sealing private key (X25519 PKCS#8 PEM): sealed
        /// alerts it can open are opened and their inner alerts checked as
        /// that reader would. Repeatable. Without it, sealed alerts are
        /// checked for everything but their content.
        #[arg(long = "open-with", value_name = "KEY_FILE")]
        open_with: Vec<PathBuf>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let Command::Verify {
        export,
        log_key,
        since,
        genesis,
        strict_signatures,
        policy,
        time_skew,
        open_with,
        json,
    } = Cli::parse().command;
    let keys = match read_keys(&open_with) {
        Ok(keys) => keys,
        Err(e) => {
            eprintln!("isthmus-audit: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = Options {
        log_key: &log_key,
        since: since.as_deref(),
        genesis,
        strict_signatures,
        policy: policy.as_deref(),
        time_skew,
        open_with: &keys,
    };
    let report = match std::io::stderr().is_terminal() {
        true => audit::verify(&export, &opts, &mut progress_bar()),
        false => audit::verify(&export, &opts, &mut |_, _| {}),
    };
    if let Err(e) = print(&report, json) {
        eprintln!("isthmus-audit: writing the report to stdout: {e}");
    }
    ExitCode::from(report.exit_code())
}

/// The `--open-with` keys.
fn read_keys(paths: &[PathBuf]) -> Result<Vec<isthmus::seal::SealingPrivateKey>, String> {
    paths
        .iter()
        .map(|p| {
            let pem = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            isthmus::seal::SealingPrivateKey::from_pkcs8_pem(&pem).map_err(|e| format!("{}: {e}", p.display()))
        })
        .collect()
}

/// Writes the report; a closed stdout (broken pipe) is not an error, and
/// never changes the exit code, which carries the verdict.
fn print(report: &Report, json: bool) -> std::io::Result<()> {
    let text = match json {
        true => format!("{}\n", report.to_json()),
        false => report.to_text(),
    };
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// A one-line progress display on stderr, redrawn at most 10 times a second.
fn progress_bar() -> impl FnMut(u64, u64) {
    let mut last = Instant::now();
    move |done, total| {
        if done < total && last.elapsed() < Duration::from_millis(100) {
            return;
        }
        last = Instant::now();
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        let end = if done >= total { "\n" } else { "" };
        eprint!("\rverifying {done}/{total} entries ({pct}%){end}");
    }
}
