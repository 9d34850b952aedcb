//! The officers' command-line client, `isthmus`. The binary only calls
//! [`main`]; each subcommand lives in its own small function here or in a
//! sibling file. Exit codes: 0 success, 1 the hub refused the request, 2 a
//! local problem (arguments, files, connection).

mod identity;
mod ledger_cmds;
mod output;
mod sealed;
mod verify;
mod witness;

use crate::client::{self, error_chain};
use crate::crypto::SigningKey;
use crate::devcerts::DevFederation;
use crate::pb;
use clap::{Parser, Subcommand};
use identity::Identity;
use std::path::PathBuf;

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "isthmus",
    version,
    about = "Isthmus liaison officer client: publish, tail and fetch signed alerts"
)]
pub struct Cli {
    /// Hub address (host:port).
    #[arg(long, global = true, env = "ISTHMUS_SERVER", default_value = "localhost:50051")]
    server: String,
    /// Act as this principal using its DEV ONLY files in --certs-dir (e.g. CO, AUDITOR).
    #[arg(long = "as", global = true, value_name = "ID")]
    as_id: Option<String>,
    /// Folder holding the development material used by --as.
    #[arg(long, global = true, default_value = "certs-dev")]
    certs_dir: PathBuf,
    /// Federation CA certificate (PEM).
    #[arg(long, global = true, env = "ISTHMUS_CA")]
    ca: Option<PathBuf>,
    /// Client certificate (PEM).
    #[arg(long, global = true, env = "ISTHMUS_CERT")]
    cert: Option<PathBuf>,
    /// Client private key (PEM).
    #[arg(long, global = true, env = "ISTHMUS_KEY")]
    key: Option<PathBuf>,
    /// Ed25519 alert-signing key (PKCS#8 PEM), for publish.
    #[arg(long, global = true, env = "ISTHMUS_SIGNING_KEY")]
    signing_key: Option<PathBuf>,
    /// The log's verifier key (C2SP note key string, or a file holding it);
    /// with --as, defaults to CERTS_DIR/log.pub.
    #[arg(long, global = true, env = "ISTHMUS_LOG_KEY")]
    log_key: Option<String>,
    /// A witness policy (C2SP tlog-policy file): checkpoints and receipts
    /// are then fetched witnessed and refused unless its quorum cosigned.
    #[arg(long, global = true, env = "ISTHMUS_WITNESS_POLICY", value_name = "FILE")]
    policy: Option<PathBuf>,
    /// A sealing private key (X25519 PKCS#8 PEM) to open sealed alerts
    /// with; repeat it to keep old keys after a rotation. With --as, also
    /// CERTS_DIR/ID/sealing.key.pem.
    #[arg(
        long = "sealing-key",
        visible_alias = "decryption-key",
        global = true,
        value_name = "FILE"
    )]
    sealing_keys: Vec<PathBuf>,
    /// Print JSON (one object per line) instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sign an alert file (TOML, or JSON if it ends in .json) and publish it.
    Publish {
        /// The alert file.
        file: PathBuf,
        /// Also wait for the next checkpoint and save a receipt (C2SP
        /// tlog-proof) proving the hub accepted the alert.
        #[arg(long, value_name = "FILE")]
        receipt: Option<PathBuf>,
        /// Seal the alert to its recipients (docs/sealing.md) even though
        /// it is not TLP:RED (TLP:RED alerts are always sealed).
        #[arg(long)]
        seal: bool,
        #[command(flatten)]
        check: verify::CheckArgs,
    },
    /// Write a disclosure of a sealed alert you can read: the entry, the
    /// inner signed alert and the opener of the header's commitment, for a
    /// third party to check with `verify-disclosure`.
    Disclose {
        /// Ledger index.
        index: u64,
        /// Where to write it (created 0600; it reveals the alert).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        check: verify::CheckArgs,
    },
    /// Check a disclosure offline against a roster (no network, no key).
    VerifyDisclosure {
        /// The disclosure file.
        file: PathBuf,
        /// The roster (TOML) in force when the entry was accepted.
        #[arg(long = "roster", value_name = "FILE")]
        roster_file: PathBuf,
    },
    /// Fetch a receipt (C2SP tlog-proof) for an entry you may see.
    Receipt {
        /// Ledger index.
        index: u64,
        /// Where to write it.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Check a receipt offline against the log's key (no network).
    VerifyReceipt {
        /// The receipt file.
        file: PathBuf,
    },
    /// Print the latest signed checkpoint.
    Checkpoint {
        /// A witness's cosignature/v1 verifier key; repeat for each witness you trust.
        #[arg(long = "witness", value_name = "VKEY")]
        witnesses: Vec<String>,
        /// How many of the --witness keys must have cosigned (default: all of them).
        #[arg(long)]
        quorum: Option<usize>,
    },
    /// Export the ledger at the latest checkpoint (auditor role) in the
    /// C2SP tlog-tiles layout, for isthmus-audit.
    Export {
        /// Output folder (must be missing or empty).
        dir: PathBuf,
    },
    /// Print the alerts you may see from an index on, then follow live.
    Tail {
        /// First ledger index.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Exit after this many entries.
        #[arg(long)]
        limit: Option<u64>,
        /// Only alerts from these publishers.
        #[arg(long = "publisher")]
        publishers: Vec<String>,
        #[command(flatten)]
        check: verify::CheckArgs,
    },
    /// Fetch one entry by index, or by --publisher and --id.
    Get {
        /// Ledger index.
        index: Option<u64>,
        /// Publisher of the alert.
        #[arg(long, requires = "id", conflicts_with = "index")]
        publisher: Option<String>,
        /// Alert id.
        #[arg(long, requires = "publisher")]
        id: Option<String>,
        #[command(flatten)]
        check: verify::CheckArgs,
    },
    /// Ask the hub's grpc.health.v1 service whether it serves (exit 0 when
    /// SERVING, 1 otherwise).
    Health {
        /// Service to ask about; the empty default is the hub as a whole.
        #[arg(long, default_value = "")]
        service: String,
    },
    /// Show who the hub thinks you are.
    Whoami,
    /// Approve a roster file with your signing key (offline): prints the
    /// line to add to the hub's approvals file. A changed roster takes effect
    /// once `quorum` delegations of the roster in force have approved it.
    RosterApprove {
        /// The new roster (TOML), exactly as the hub will load it.
        file: PathBuf,
    },
    /// Generate an Ed25519 alert-signing key: OUT.key.pem (keep secret) and
    /// OUT.pub.pem; with --sealing, an X25519 sealing key OUT.key.pem.
    Keygen {
        /// Output path prefix: writes PREFIX.key.pem (0600) and PREFIX.pub.pem.
        #[arg(long)]
        out: PathBuf,
        /// Make a sealing key (docs/sealing.md) instead of a signing key.
        #[arg(long)]
        sealing: bool,
    },
    /// Run or set up a C2SP witness that cosigns the hub's checkpoints.
    Witness {
        #[command(subcommand)]
        command: witness::WitnessCommand,
    },
    /// Generate DEV ONLY certificates, keys and roster for 20 delegations and an auditor.
    DevCerts {
        /// Output folder.
        #[arg(long, default_value = "certs-dev")]
        out: PathBuf,
        /// Overwrite an existing folder.
        #[arg(long)]
        force: bool,
        /// Validity in days.
        #[arg(long, default_value_t = 730)]
        days: i64,
    },
}

/// What went wrong, sorted by exit code.
#[derive(Debug)]
pub enum Failure {
    /// The hub answered with an error status (exit 1).
    Refused(tonic::Status),
    /// Anything local (exit 2).
    Local(anyhow::Error),
    /// A verification said no; the verdict was already printed (exit 1).
    Invalid,
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Local(e)
    }
}

impl From<tonic::Status> for Failure {
    fn from(s: tonic::Status) -> Self {
        Failure::Refused(s)
    }
}

impl From<crate::Error> for Failure {
    fn from(e: crate::Error) -> Self {
        Failure::Local(e.into())
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Local(e.into())
    }
}

/// The log level when `RUST_LOG` is unset: `info` for the long-running
/// `witness serve`, else `warn` (an officer's command prints its own
/// results; logs are for what went wrong).
pub fn default_log_level(cli: &Cli) -> &'static str {
    match &cli.command {
        Command::Witness {
            command: witness::WitnessCommand::Serve { .. },
        } => "info",
        _ => "warn",
    }
}

/// Runs the CLI and returns the process exit code.
pub async fn main(cli: Cli) -> i32 {
    match dispatch(cli).await {
        Ok(()) => 0,
        Err(Failure::Local(e)) if is_broken_pipe(&e) => 0,
        Err(Failure::Invalid) => 1,
        Err(Failure::Refused(s)) if is_transport(&s) => {
            eprintln!(
                "isthmus: the connection to the hub failed: {}; a hub refuses during or right after the \
                 TLS handshake any client certificate it does not trust (none, another CA, expired, not yet \
                 valid), and logs why as \"TLS handshake refused\"",
                std::error::Error::source(&s).map_or_else(|| s.message().to_owned(), error_chain)
            );
            2
        }
        Err(Failure::Refused(s)) => {
            eprintln!("isthmus: the hub refused: {} ({:?})", s.message(), s.code());
            1
        }
        Err(Failure::Local(e)) => {
            eprintln!("isthmus: {}", error_chain(e.as_ref()));
            2
        }
    }
}

/// A status tonic made up because the connection failed (it has a source
/// error), not one the hub sent.
fn is_transport(s: &tonic::Status) -> bool {
    std::error::Error::source(s).is_some()
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

async fn dispatch(cli: Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Keygen { out, sealing: false } => keygen(out),
        Command::Keygen { out, sealing: true } => keygen_sealing(out),
        Command::Disclose { index, out, check } => sealed::disclose(&cli, *index, out, check).await,
        Command::VerifyDisclosure { file, roster_file } => sealed::verify_disclosure(&cli, file, roster_file),
        Command::DevCerts { out, force, days } => dev_certs(out, *force, *days),
        Command::Publish {
            file,
            receipt,
            seal,
            check,
        } => publish(&cli, file, receipt.as_deref(), *seal, check).await,
        Command::Receipt { index, out } => ledger_cmds::receipt(&cli, *index, out).await,
        Command::VerifyReceipt { file } => ledger_cmds::verify_receipt(&cli, file),
        Command::Checkpoint { witnesses, quorum } => ledger_cmds::checkpoint(&cli, witnesses, *quorum).await,
        Command::Export { dir } => ledger_cmds::export(&cli, dir).await,
        Command::Tail {
            from,
            limit,
            publishers,
            check,
        } => tail(&cli, *from, *limit, publishers, check).await,
        Command::Get {
            index,
            publisher,
            id,
            check,
        } => get(&cli, *index, publisher.as_deref(), id.as_deref(), check).await,
        Command::Whoami => whoami(&cli).await,
        Command::Witness { command } => witness::run(&cli, command).await,
        Command::Health { service } => health(&cli, service).await,
        Command::RosterApprove { file } => roster_approve(&cli, file),
    }
}

async fn connect(cli: &Cli) -> Result<client::Client, Failure> {
    let ident = Identity::resolve(cli)?;
    Ok(client::connect(&cli.server, &ident.tls()?).await?)
}

async fn publish(
    cli: &Cli,
    file: &std::path::Path,
    receipt: Option<&std::path::Path>,
    seal: bool,
    check: &verify::CheckArgs,
) -> Result<(), Failure> {
    let ident = Identity::resolve(cli)?;
    let key = ident.signing_key()?;
    let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let alert_file = crate::alert::file::parse(&file.display().to_string(), &text).map_err(anyhow::Error::from)?;
    let mut rpc = client::connect(&cli.server, &ident.tls()?).await?;
    let me = rpc.who_am_i(pb::WhoAmIRequest {}).await?.into_inner();
    let now = crate::time::unix_to_pb(crate::time::unix_now());
    let alert = alert_file.to_pb(&me.principal, now).map_err(anyhow::Error::from)?;
    let envelope = match seal || alert.tlp == pb::Tlp::Red as i32 {
        true => {
            let roster = sealed::proven_roster(cli, &mut rpc, check).await?;
            sealed::seal_alert(&alert, &key, &roster, crate::time::unix_now())?
        }
        false => crate::envelope::sign(&alert, &key),
    };
    let answer = rpc.publish(envelope.clone()).await?.into_inner();
    output::receipt(cli.json, &alert, &answer)?;
    if let Some(path) = receipt {
        let r = ledger_cmds::fetch_receipt(cli, &mut rpc, answer.index).await?;
        ledger_cmds::check_own_entry(&r, &envelope)?;
        std::fs::write(path, r.to_text()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        eprintln!("receipt for index {} saved to {}", answer.index, path.display());
    }
    Ok(())
}

async fn tail(
    cli: &Cli,
    from: u64,
    limit: Option<u64>,
    publishers: &[String],
    check: &verify::CheckArgs,
) -> Result<(), Failure> {
    let mut rpc = connect(cli).await?;
    let mut verifier = check.verifier(cli, &mut rpc, from).await?;
    let filter = pb::SubscribeFilter {
        publishers: publishers.to_vec(),
        include_roster: verifier.is_some(),
        ..Default::default()
    };
    let req = pb::SubscribeRequest {
        from_index: from,
        filter: Some(filter),
        ..Default::default()
    };
    let opener = sealed::Opener::new(cli, &mut rpc).await?;
    let mut stream = rpc.subscribe(req).await?.into_inner();
    let mut printed = 0u64;
    while limit.is_none_or(|l| printed < l) {
        let Some(e) = stream.message().await? else { break };
        if let Some(v) = verifier.as_mut() {
            v.check(&e).map_err(|why| verify::refuse(e.index, &why))?;
            if v.is_roster(&e) {
                continue;
            }
        }
        let roster = verifier.as_ref().map(|v| v.roster_at(e.index)).transpose();
        let shown = roster
            .and_then(|r| opener.show(&e, r))
            .map_err(|why| verify::refuse(e.index, &why))?;
        output::entry(cli.json, &e, &shown)?;
        printed += 1;
    }
    Ok(())
}

async fn get(
    cli: &Cli,
    index: Option<u64>,
    publisher: Option<&str>,
    id: Option<&str>,
    check: &verify::CheckArgs,
) -> Result<(), Failure> {
    let key = match (index, publisher, id) {
        (Some(i), _, _) => pb::get_entry_request::Key::Index(i),
        (None, Some(p), Some(id)) => pb::get_entry_request::Key::Alert(pb::AlertKey {
            publisher: p.into(),
            id: id.into(),
        }),
        _ => return Err(anyhow::anyhow!("give an index, or --publisher and --id").into()),
    };
    let mut rpc = connect(cli).await?;
    let e = rpc
        .get_entry(pb::GetEntryRequest { key: Some(key) })
        .await?
        .into_inner();
    let mut verifier = check.verifier(cli, &mut rpc, e.index + 1).await?;
    if let Some(v) = verifier.as_mut() {
        v.check(&e).map_err(|why| verify::refuse(e.index, &why))?;
        v.prove_included(&mut rpc, &e).await?;
    }
    let opener = sealed::Opener::new(cli, &mut rpc).await?;
    let roster = verifier.as_ref().map(|v| v.roster_at(e.index)).transpose();
    let shown = roster
        .and_then(|r| opener.show(&e, r))
        .map_err(|why| verify::refuse(e.index, &why))?;
    output::entry(cli.json, &e, &shown)?;
    Ok(())
}

async fn health(cli: &Cli, service: &str) -> Result<(), Failure> {
    use tonic_health::pb::{health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest};
    let ident = Identity::resolve(cli)?;
    let config = crate::tls::client_config(&ident.tls()?)?;
    let mut health = HealthClient::new(client::channel(&cli.server, config).await?);
    let req = HealthCheckRequest {
        service: service.into(),
    };
    let status = health.check(req).await?.into_inner().status();
    output::health(cli.json, service, status.as_str_name())?;
    match status {
        ServingStatus::Serving => Ok(()),
        _ => Err(Failure::Invalid),
    }
}

fn roster_approve(cli: &Cli, file: &std::path::Path) -> Result<(), Failure> {
    let key = Identity::signing_key_only(cli)?;
    let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let roster = crate::roster::Roster::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let approval = crate::roster::change::approve(&roster, &key);
    let id = match &cli.as_id {
        Some(id) => id.to_ascii_uppercase(),
        None => roster
            .key(&approval.keyid)
            .map_or_else(|| "-".to_owned(), |(m, _)| m.id.to_string()),
    };
    let terms = roster.terms();
    eprintln!(
        "approving roster version {} issued {} ({} principals, next change needs {}); \
         add this line to the hub's approvals file:",
        terms.version,
        crate::time::format_rfc3339(terms.issued),
        roster.members().count(),
        terms.quorum
    );
    println!("{}", crate::roster::change::to_line(&id, &approval));
    Ok(())
}

async fn whoami(cli: &Cli) -> Result<(), Failure> {
    let me = connect(cli).await?.who_am_i(pb::WhoAmIRequest {}).await?.into_inner();
    output::whoami(cli.json, &me)?;
    Ok(())
}

fn keygen(out: &std::path::Path) -> Result<(), Failure> {
    let key = SigningKey::generate();
    // Suffixes appended, so a prefix such as `co.2027` keeps its dot.
    let with_suffix = |suffix: &str| {
        let mut name = out.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let (secret, public) = (with_suffix(".key.pem"), with_suffix(".pub.pem"));
    for p in [&secret, &public] {
        if p.exists() {
            return Err(anyhow::anyhow!("{} exists; refusing to overwrite a key", p.display()).into());
        }
    }
    crate::secret::write(&secret, &key.to_pkcs8_pem(), false)?;
    std::fs::write(&public, key.public_key().to_spki_pem())?;
    output::keygen(&secret, &public, &key.public_key());
    Ok(())
}

fn keygen_sealing(out: &std::path::Path) -> Result<(), Failure> {
    let key = crate::seal::SealingPrivateKey::generate();
    let mut name = out.as_os_str().to_owned();
    name.push(".key.pem");
    let secret = PathBuf::from(name);
    if secret.exists() {
        return Err(anyhow::anyhow!("{} exists; refusing to overwrite a key", secret.display()).into());
    }
    crate::secret::write(&secret, &key.to_pkcs8_pem(), false)?;
    output::keygen_sealing(&secret, key.public_key());
    Ok(())
}

fn dev_certs(out: &std::path::Path, force: bool, days: i64) -> Result<(), Failure> {
    if out.exists() && !force {
        return Err(anyhow::anyhow!("{} exists; pass --force to replace its contents", out.display()).into());
    }
    DevFederation::generate(days)?.write(out)?;
    eprintln!(
        "wrote DEV ONLY material for 20 delegations and AUDITOR to {}",
        out.display()
    );
    Ok(())
}
