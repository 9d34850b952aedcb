//! The last checkpoint this CLI verified, per log, kept in a small file so
//! that the next one can be required to extend it (RFC 9162 consistency
//! proof): a hub cannot roll a reader back, or show it a different history
//! later, without the reader noticing.

use super::refuse_whole;
use crate::cli::Failure;
use crate::client::Client;
use crate::ledger::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::ledger::merkle;
use crate::ledger::note::NoteVerifier;
use crate::pb;
use anyhow::Context;
use std::path::{Path, PathBuf};

/// Requires `cp` to extend the checkpoint kept in the state file (given, or
/// the default for its log), then keeps `cp` there.
pub(super) async fn extend(
    rpc: &mut Client,
    file: Option<&Path>,
    cp: &SignedCheckpoint,
    key: &NoteVerifier,
) -> Result<(), Failure> {
    let Some(path) = file.map(Path::to_owned).or_else(|| default_path(&cp.checkpoint.origin)) else {
        eprintln!("isthmus: no state folder (set XDG_STATE_HOME or HOME, or give --state): not checking that the log only grew");
        return Ok(());
    };
    if let Some(old) = read(&path)? {
        let old = SignedCheckpoint::open(&old, key).map_err(|e| {
            anyhow::anyhow!(
                "the kept checkpoint {} does not verify ({e}); delete it to start afresh",
                path.display()
            )
        })?;
        check_extends(rpc, &old.checkpoint, cp).await?;
    }
    write(&path, cp)
}

/// `$XDG_STATE_HOME/isthmus/<origin>.checkpoint`, else under
/// `~/.local/state`; the origin made safe as a file name.
fn default_path(origin: &str) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    let name: String = origin
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Some(base.join("isthmus").join(format!("{name}.checkpoint")))
}

fn read(path: &Path) -> Result<Option<String>, Failure> {
    match std::fs::read_to_string(path) {
        Ok(note) => Ok(Some(note)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::Error::from(e)
            .context(format!("reading {}", path.display()))
            .into()),
    }
}

fn write(path: &Path, cp: &SignedCheckpoint) -> Result<(), Failure> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, &cp.note).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The kept note must be a checkpoint of the same log no larger than `new`,
/// and consistent with it.
async fn check_extends(rpc: &mut Client, old: &Checkpoint, new: &SignedCheckpoint) -> Result<(), Failure> {
    let new_cp = &new.checkpoint;
    if old.origin != new_cp.origin {
        return Ok(());
    }
    if old.size > new_cp.size {
        return Err(refuse_whole(&format!(
            "rollback: this CLI already saw a checkpoint of size {}, the hub now signs size {}",
            old.size, new_cp.size
        )));
    }
    if old.size == 0 || old.size == new_cp.size {
        return match old.size == 0 || old.root == new_cp.root {
            true => Ok(()),
            false => Err(refuse_whole(&format!(
                "fork: two different signed trees of size {}",
                old.size
            ))),
        };
    }
    let proof = rpc
        .get_consistency_proof(pb::ConsistencyProofRequest {
            old_size: old.size,
            new_size: new_cp.size,
        })
        .await?
        .into_inner();
    let hashes: Vec<merkle::Hash> = proof
        .hashes
        .iter()
        .map(|h| merkle::Hash::try_from(h.as_slice()))
        .collect::<Result<_, _>>()
        .map_err(|_| refuse_whole("the consistency proof holds a hash that is not 32 bytes"))?;
    merkle::verify_consistency(old.size, new_cp.size, &old.root, &new_cp.root, &hashes).map_err(|e| {
        refuse_whole(&format!(
            "fork: the signed tree of size {} does not extend the one of size {} this CLI saw before: {e}",
            new_cp.size, old.size
        ))
    })
}
