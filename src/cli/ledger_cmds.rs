//! CLI commands about the verifiable ledger: receipts, checkpoints, export.

use super::{Cli, Failure};
use crate::client::Client;
use crate::ledger::note::NoteVerifier;
use crate::ledger::receipt::Receipt;
use crate::ledger::{entry, export};
use crate::pb;
use crate::witness::{CosignatureVerifier, Policy, PolicyWitness};
use anyhow::{anyhow, Context};
use std::path::Path;

/// The log verifier key from --log-key (a key string or a file), or the
/// dev `log.pub` when acting `--as` someone.
pub(super) fn log_key(cli: &Cli) -> anyhow::Result<Option<NoteVerifier>> {
    let text = match (&cli.log_key, &cli.as_id) {
        (Some(k), _) if Path::new(k).is_file() => std::fs::read_to_string(k).with_context(|| format!("reading {k}"))?,
        (Some(k), _) => k.clone(),
        (None, Some(_)) if cli.certs_dir.join("log.pub").is_file() => {
            std::fs::read_to_string(cli.certs_dir.join("log.pub"))?
        }
        _ => return Ok(None),
    };
    NoteVerifier::from_key(text.trim())
        .map(Some)
        .context("the log key is not a C2SP verifier key (name+id+key)")
}

/// Builds a receipt for `index`: waits for a checkpoint covering it (a
/// witnessed one under `--policy`), then fetches the inclusion proof and
/// the entry; verifies it when the log key is known, and against the
/// witness policy when one is given.
pub(super) async fn fetch_receipt(cli: &Cli, rpc: &mut Client, index: u64) -> Result<Receipt, Failure> {
    let policy = witness_policy(cli, &[], None)?;
    let cp = rpc
        .get_checkpoint(pb::GetCheckpointRequest {
            min_size: index + 1,
            witnessed: policy.is_some(),
        })
        .await?
        .into_inner();
    let proof = rpc
        .get_inclusion_proof(pb::InclusionProofRequest {
            index,
            tree_size: cp.size,
        })
        .await?
        .into_inner();
    let key = pb::get_entry_request::Key::Index(index);
    let e = rpc
        .get_entry(pb::GetEntryRequest { key: Some(key) })
        .await?
        .into_inner();
    let hashes = proof
        .hashes
        .iter()
        .map(|h| {
            <[u8; 32]>::try_from(h.as_slice()).map_err(|_| anyhow!("the hub sent a proof hash that is not 32 bytes"))
        })
        .collect::<anyhow::Result<_>>()?;
    let r = Receipt {
        index,
        entry: e.entry,
        hashes,
        checkpoint: cp.note,
    };
    if let Some(key) = log_key(cli)? {
        r.verify(&key).context("the hub's receipt does not verify")?;
    }
    if let Some(policy) = policy {
        check_witnessed(&policy, &r.checkpoint).map_err(|refused| anyhow!("the hub's receipt: {refused}"))?;
    }
    Ok(r)
}

/// Checks that a receipt's entry carries exactly the envelope we sent.
pub(super) fn check_own_entry(r: &Receipt, sent: &pb::Envelope) -> anyhow::Result<()> {
    match entry::decode(&r.entry).map(|e| e.body) {
        Ok(Some(pb::entry::Body::Submission(s))) if s.envelope.as_ref() == Some(sent) => Ok(()),
        _ => Err(anyhow!(
            "the hub's receipt is for a different entry than the envelope sent"
        )),
    }
}

pub(super) async fn receipt(cli: &Cli, index: u64, out: &Path) -> Result<(), Failure> {
    let mut rpc = super::connect(cli).await?;
    let r = fetch_receipt(cli, &mut rpc, index).await?;
    std::fs::write(out, r.to_text()).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("receipt for index {index} saved to {}", out.display());
    Ok(())
}

pub(super) fn verify_receipt(cli: &Cli, file: &Path) -> Result<(), Failure> {
    let key = log_key(cli)?.ok_or_else(|| anyhow!("pass --log-key KEY (the log's C2SP verifier key or a file)"))?;
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let r = Receipt::parse(&text).map_err(anyhow::Error::from)?;
    let cp = match r.verify(&key) {
        Ok(cp) => cp,
        Err(e) => {
            super::output::verdict(cli.json, false, &e.to_string())?;
            return Err(Failure::Invalid);
        }
    };
    let what = super::output::describe_entry(&r.entry);
    let mut msg = format!(
        "entry {} is in log {} at size {}: {what}",
        r.index, cp.checkpoint.origin, cp.checkpoint.size
    );
    match witness_policy(cli, &[], None)?.map(|p| check_witnessed(&p, &r.checkpoint)) {
        Some(Ok(met)) => msg = format!("{msg}; {met}"),
        Some(Err(refused)) => {
            super::output::verdict(cli.json, false, &refused)?;
            return Err(Failure::Invalid);
        }
        None => {}
    }
    super::output::verdict(cli.json, true, &msg)?;
    Ok(())
}

/// The reader's witness policy: `--policy FILE` (C2SP tlog-policy), or
/// the `--witness` keys of which `--quorum` (default: all) must cosign.
pub(super) fn witness_policy(cli: &Cli, witnesses: &[String], quorum: Option<usize>) -> anyhow::Result<Option<Policy>> {
    if let Some(path) = &cli.policy {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let policy = Policy::parse(&text).with_context(|| format!("in {}", path.display()))?;
        return Ok(Some(policy));
    }
    if witnesses.is_empty() {
        return Ok(None);
    }
    let listed = witnesses
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let key = CosignatureVerifier::from_key(k.trim()).map_err(|e| anyhow!("--witness: {e}"))?;
            let name = format!("{}#{}", key.name(), i + 1);
            Ok(PolicyWitness { name, key, url: None })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let k = quorum.unwrap_or(listed.len());
    Ok(Some(Policy::threshold("--witness", k, listed)?))
}

/// Checks `note` against the reader's witness policy: who cosigned it, in
/// words, or why it is refused.
pub(super) fn check_witnessed(policy: &Policy, note: &str) -> Result<String, String> {
    match policy.check(note) {
        Ok(cosigned) => Ok(format!("witness quorum {}", policy.describe_met(&cosigned))),
        Err(e) => Err(format!("checkpoint REFUSED by the witness policy: {e}")),
    }
}

pub(super) async fn checkpoint(cli: &Cli, witnesses: &[String], quorum: Option<usize>) -> Result<(), Failure> {
    let policy = witness_policy(cli, witnesses, quorum)?;
    let cp = super::connect(cli)
        .await?
        .get_checkpoint(pb::GetCheckpointRequest {
            min_size: 0,
            witnessed: policy.is_some(),
        })
        .await?
        .into_inner();
    let verdict = match log_key(cli)? {
        Some(key) => {
            crate::ledger::checkpoint::SignedCheckpoint::open(&cp.note, &key).context("checkpoint does not verify")?;
            format!("checkpoint of size {} verified with the log key {key}", cp.size)
        }
        None => "checkpoint NOT verified: give --log-key (the log's verifier key) to check it".to_owned(),
    };
    print!("{}", cp.note);
    eprintln!("{verdict}");
    match policy.map(|p| check_witnessed(&p, &cp.note)) {
        Some(Ok(met)) => eprintln!("{met}"),
        Some(Err(refused)) => {
            eprintln!("{refused}");
            return Err(Failure::Invalid);
        }
        None => {}
    }
    Ok(())
}

pub(super) async fn export(cli: &Cli, dir: &Path) -> Result<(), Failure> {
    let mut rpc = super::connect(cli).await?;
    let me = rpc.who_am_i(pb::WhoAmIRequest {}).await?.into_inner();
    if me.role != pb::Role::Auditor as i32 {
        return Err(anyhow!("export needs the auditor role; {} is not an auditor", me.principal).into());
    }
    let policy = witness_policy(cli, &[], None)?;
    let cp = rpc
        .get_checkpoint(pb::GetCheckpointRequest {
            min_size: 0,
            witnessed: policy.is_some(),
        })
        .await?
        .into_inner();
    if let Some(policy) = &policy {
        let met = check_witnessed(policy, &cp.note).map_err(|e| anyhow!("{e}"))?;
        eprintln!("{met}");
    }
    let filter = pb::SubscribeFilter {
        publishers: vec![],
        include_roster: true,
        ..Default::default()
    };
    let req = pb::SubscribeRequest {
        from_index: 0,
        filter: Some(filter),
        ..Default::default()
    };
    let mut stream = rpc.subscribe(req).await?.into_inner();
    let (tx, rx) = std::sync::mpsc::sync_channel::<crate::Result<Vec<u8>>>(1024);
    let (out, note) = (dir.to_owned(), cp.note.clone());
    let writer = tokio::task::spawn_blocking(move || export::write(&out, &note, rx));
    for next in 0..cp.size {
        let e = stream
            .message()
            .await?
            .ok_or_else(|| anyhow!("the hub ended the stream at entry {next}"))?;
        if e.index != next {
            return Err(anyhow!("the hub skipped from entry {next} to {}", e.index).into());
        }
        if tx.send(Ok(e.entry)).is_err() {
            break;
        }
    }
    drop(tx);
    let written = writer.await.map_err(|e| anyhow!("export writer: {e}"))??;
    eprintln!(
        "exported {} entries of log {} to {}",
        written.size,
        written.origin,
        dir.display()
    );
    Ok(())
}
