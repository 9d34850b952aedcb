//! What the auditor trusts, and nothing else: the log's verifier key (given
//! on the command line or in a file) and, optionally, the auditor's own last
//! checkpoint. The export's checkpoint must open with that key
//! (C2SP signed-note + tlog-checkpoint); an earlier checkpoint must be
//! no larger than it (else rollback) and consistent with it (RFC 9162
//! §2.1.4), checked here from the hash tiles and again, independently, from
//! the entries by the scan.

use std::path::Path;

use super::error::{AuditError, Reason, Unusable};
use crate::ledger::checkpoint::SignedCheckpoint;
use crate::ledger::merkle::{consistency_proof, verify_consistency, HashReader};
use crate::ledger::note::NoteVerifier;
use crate::ledger::tiles::TileReader;
use crate::witness::{Cosigned, Policy};

use super::rules::TimeBounds;

/// Parses the trusted log key: `arg` is a C2SP verifier key
/// (`name+hex8(keyid)+base64(0x01||key)`) or the path of a file holding one.
pub fn load_log_key(arg: &str) -> Result<NoteVerifier, Unusable> {
    let path = Path::new(arg);
    if !path.is_file() {
        return NoteVerifier::from_key(arg.trim()).map_err(|e| match looks_like_a_path(arg) {
            true => Unusable::LogKeyMissing { path: path.to_owned() },
            false => Unusable::LogKey(e),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|source| Unusable::LogKeyFile {
        path: path.to_owned(),
        source,
    })?;
    NoteVerifier::from_key(text.trim()).map_err(Unusable::LogKey)
}

/// What does not parse as a verifier key but names a file: a `/`, or no
/// `+` at all (every verifier key has two).
fn looks_like_a_path(arg: &str) -> bool {
    arg.contains('/') || !arg.contains('+')
}

/// Opens the export's checkpoint with the trusted key. A checkpoint that
/// is present but does not verify, whatever is wrong with it (damaged,
/// truncated, not UTF-8, unsigned, signed by another key), is an integrity
/// failure: the export is not what the log signed. Only a missing one is
/// unusable input (see [`super::verify`]).
pub(crate) fn open_checkpoint(reader: &TileReader, key: &NoteVerifier) -> Result<SignedCheckpoint, AuditError> {
    if !reader.checkpoint_is_utf8() {
        return Err(AuditError::whole(Reason::CheckpointText));
    }
    SignedCheckpoint::open(reader.checkpoint_note(), key).map_err(|e| AuditError::whole(Reason::Checkpoint(e)))
}

/// Reads the auditor's witness policy; one that lists logs must list the
/// trusted log key among them.
pub(crate) fn load_policy(path: &Path, key: &NoteVerifier) -> Result<Policy, Unusable> {
    let text = std::fs::read_to_string(path).map_err(|source| Unusable::PolicyFile {
        path: path.to_owned(),
        source,
    })?;
    let policy = Policy::parse(&text).map_err(|source| Unusable::Policy {
        path: path.to_owned(),
        source,
    })?;
    if policy.logs().next().is_some() && !policy.logs().any(|l| l == key) {
        return Err(Unusable::PolicyForOtherLogs { path: path.to_owned() });
    }
    Ok(policy)
}

/// Checks the export's checkpoint against the witness policy: who
/// cosigned it in words, and their cosignatures.
pub(crate) fn check_witnessed(policy: &Policy, note: &str) -> Result<(String, Vec<(String, Cosigned)>), AuditError> {
    let met = policy
        .check(note)
        .map_err(|e| AuditError::whole(Reason::Unwitnessed(e)))?;
    Ok((policy.describe_met(&met), met))
}

/// `met` followed by which acceptance-time bounds the cosignatures gave.
pub(crate) fn describe_times(met: String, t: &TimeBounds) -> String {
    let mut out = met;
    if let Some(w) = t.witnessed {
        out.push_str(&format!("; no entry accepted after {w} + {} s", t.skew));
    }
    if let Some((size, from)) = t.earlier {
        out.push_str(&format!(
            "; none from entry {size} on accepted before {from} - {} s",
            t.skew
        ));
    }
    out
}

/// Reads and opens the auditor's earlier checkpoint with the trusted key.
pub(crate) fn open_old(path: &Path, key: &NoteVerifier) -> Result<SignedCheckpoint, Unusable> {
    let note = std::fs::read_to_string(path).map_err(|source| Unusable::OldCheckpointFile {
        path: path.to_owned(),
        source,
    })?;
    SignedCheckpoint::open(&note, key).map_err(|source| Unusable::OldCheckpoint {
        path: path.to_owned(),
        source,
    })
}

/// Refuses a checkpoint smaller than one the auditor already trusts.
pub(crate) fn check_rollback(old: &SignedCheckpoint, new: &SignedCheckpoint) -> Result<(), AuditError> {
    let (old_size, new_size) = (old.checkpoint.size, new.checkpoint.size);
    if old_size > new_size {
        return Err(AuditError::whole(Reason::Rollback { old_size, new_size }));
    }
    Ok(())
}

/// Builds the consistency proof from `old` to `new` out of the hash tiles
/// and verifies it (RFC 9162 §2.1.4.2). Nothing to prove from the empty tree.
pub(crate) fn check_tile_consistency<R: HashReader>(
    old: &SignedCheckpoint,
    new: &SignedCheckpoint,
    tiles: &R,
) -> Result<(), AuditError> {
    let (old, new) = (&old.checkpoint, &new.checkpoint);
    if old.size == 0 {
        return Ok(());
    }
    let proof = consistency_proof(old.size, new.size, tiles).map_err(|e| e.to_string());
    let verified =
        proof.and_then(|p| verify_consistency(old.size, new.size, &old.root, &new.root, &p).map_err(|e| e.to_string()));
    verified.map_err(|detail| {
        AuditError::whole(Reason::Inconsistent {
            old_size: old.size,
            new_size: new.size,
            detail,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::checkpoint::Checkpoint;
    use crate::ledger::note::NoteSigner;

    fn signed(signer: &NoteSigner, size: u64, root: [u8; 32]) -> SignedCheckpoint {
        let cp = Checkpoint {
            origin: signer.name().to_owned(),
            size,
            root,
            extensions: vec![],
        };
        SignedCheckpoint::sign(cp, signer).unwrap()
    }

    #[test]
    fn log_key_from_string_or_file() {
        let (signer, _) = NoteSigner::generate("example.org/log").unwrap();
        let key = signer.verifier_key();
        assert_eq!(load_log_key(&key).unwrap(), signer.verifier());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.vkey");
        std::fs::write(&path, format!("{key}\n")).unwrap();
        assert_eq!(load_log_key(path.to_str().unwrap()).unwrap(), signer.verifier());
        assert!(matches!(load_log_key("bad+key+!"), Err(Unusable::LogKey(_))));
        assert!(matches!(
            load_log_key("/no/such/log.pub"),
            Err(Unusable::LogKeyMissing { .. })
        ));
        assert!(matches!(load_log_key("log.pub"), Err(Unusable::LogKeyMissing { .. })));
    }

    #[test]
    fn rollback_is_refused() {
        let (signer, _) = NoteSigner::generate("example.org/log").unwrap();
        let (old, new) = (signed(&signer, 5, [1; 32]), signed(&signer, 4, [2; 32]));
        let err = check_rollback(&old, &new).unwrap_err();
        assert!(matches!(
            err,
            AuditError::Failure {
                index: None,
                reason: Reason::Rollback {
                    old_size: 5,
                    new_size: 4
                }
            }
        ));
        assert!(check_rollback(&new, &old).is_ok());
    }

    #[test]
    fn tile_consistency_uses_the_proof() {
        use crate::ledger::merkle::{leaf_hash, MemoryHashes};
        let (signer, _) = NoteSigner::generate("example.org/log").unwrap();
        let leaves: Vec<_> = (0u8..10).map(|i| leaf_hash(&[i])).collect();
        let mut mem = MemoryHashes::default();
        mem.append(&leaves);
        let root = |n: u64| crate::ledger::merkle::tree_hash(n, &mem).unwrap();
        let new = signed(&signer, 10, root(10));
        assert!(check_tile_consistency(&signed(&signer, 7, root(7)), &new, &mem).is_ok());
        assert!(check_tile_consistency(&signed(&signer, 0, [0; 32]), &new, &mem).is_ok());
        let forked = signed(&signer, 7, [9; 32]);
        let err = check_tile_consistency(&forked, &new, &mem).unwrap_err();
        assert!(matches!(
            err,
            AuditError::Failure {
                reason: Reason::Inconsistent { .. },
                ..
            }
        ));
    }
}
