//! What the auditor can conclude besides "intact": either the export breaks
//! a promise the hub made (an [`AuditError::Failure`], exit code 1, with the
//! first bad entry when one can be named), or the auditor could not check it
//! at all (an [`AuditError::Unusable`], exit code 2: wrong path, unreadable
//! key, no export or no checkpoint in it, I/O). The two must never be
//! confused: "could not check" is not "tampered", and a tampered export is
//! never reported as unusable: a checkpoint that is present but does not
//! verify, however it was damaged, is an integrity failure.

use std::path::PathBuf;

use crate::ingest::PublishError;
use crate::ledger::checkpoint::CheckpointError;
use crate::ledger::note::NoteError;
use crate::ledger::tiles::TileError;
use crate::roster::change::ChangeError;
use crate::witness::{PolicyError, QuorumError};

/// Why an audit did not end in "intact".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The export is not what the trusted log key signed, or an entry breaks
    /// a rule the hub enforces at ingest.
    #[error("integrity failure{}: {reason}", at(*index))]
    Failure {
        /// The first bad entry, when the failure is about one entry.
        index: Option<u64>,
        /// What is wrong.
        reason: Reason,
    },
    /// The input could not be checked at all.
    #[error("unusable input: {0}")]
    Unusable(#[from] Unusable),
}

fn show(index: Option<u64>) -> String {
    index.map_or_else(|| "no valid entry".to_owned(), |i| format!("entry {i}"))
}

fn at(index: Option<u64>) -> String {
    index.map(|i| format!(" at entry {i}")).unwrap_or_default()
}

impl AuditError {
    /// A failure at entry `index`.
    pub fn at(index: u64, reason: Reason) -> Self {
        AuditError::Failure {
            index: Some(index),
            reason,
        }
    }

    /// A failure about the export as a whole.
    pub fn whole(reason: Reason) -> Self {
        AuditError::Failure { index: None, reason }
    }
}

/// Why the export is not intact.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Reason {
    /// The export's checkpoint file is not valid UTF-8 (a signed note is).
    #[error("the checkpoint file is not valid UTF-8, so it is not the note the log signed (damaged or replaced)")]
    CheckpointText,
    /// The export's checkpoint does not open with the trusted log key.
    #[error("the checkpoint is not signed by the trusted log key: {0}")]
    Checkpoint(CheckpointError),
    /// An entry bundle the checkpoint covers is missing or damaged: the
    /// export does not hold exactly the entries the checkpoint counts.
    #[error("the export does not hold the {size} entries the checkpoint counts: {source}")]
    Bundle {
        /// The checkpoint's tree size.
        size: u64,
        /// What the reader found.
        source: TileError,
    },
    /// The entry does not decode as `isthmus.v1.Entry`.
    #[error("entry does not decode as isthmus.v1.Entry: {0}")]
    Decode(prost::DecodeError),
    /// The entry has neither a roster nor a submission.
    #[error("entry has an empty body")]
    EmptyEntry,
    /// Entry 0 is not a roster.
    #[error("entry 0 must be the genesis roster")]
    NoGenesis,
    /// The genesis roster is not the one the auditor pinned.
    #[error("the genesis roster hashes to {0}, not to the pinned --genesis value")]
    GenesisNotPinned(String),
    /// A roster entry is not a valid roster approved by the federation.
    #[error("roster entry not accepted: {0}")]
    Roster(ChangeError),
    /// A submission without an envelope.
    #[error("submission has no envelope")]
    NoEnvelope,
    /// A submission without the hub's acceptance time.
    #[error("submission has no acceptance time")]
    NoAcceptanceTime,
    /// The submitting principal is not in the roster in force.
    #[error("principal {0:?} is not in the roster in force")]
    UnknownPrincipal(String),
    /// The TLS identity recorded is not bound to the principal.
    #[error("the TLS client key recorded (SPKI SHA-256 {spki}) is not bound to {principal} in the roster in force")]
    TransportMismatch {
        /// The roster principal.
        principal: String,
        /// Hex of the recorded SPKI hash.
        spki: String,
    },
    /// Ingest, re-run with the recorded time and roster, refuses the envelope.
    #[error("ingest would refuse it: {0}")]
    Refused(PublishError),
    /// The alert signature fails the project's Ed25519 rule.
    #[error("alert signature does not verify under roster key {key_id} (not even under the audit's cofactored ZIP-215 rule, which accepts everything ingest accepts)")]
    BadSignature {
        /// The key id of the roster key.
        key_id: String,
    },
    /// An acceptance time earlier than one recorded before it: the hub keeps
    /// them in order, so the entry was back-dated or moved.
    #[error("accepted at {accepted}, earlier than an entry before it ({previous}): acceptance times never go back along the ledger, so this entry was back-dated or moved")]
    TimeWentBack {
        /// This entry's acceptance time.
        accepted: i64,
        /// The latest before it.
        previous: i64,
    },
    /// Accepted later than a witness quorum had cosigned a tree holding it:
    /// the acceptance time was forward-dated.
    #[error("accepted at {accepted}, but a witness quorum had cosigned a tree holding it by {witnessed} (allowed skew {skew} s): the acceptance time was forward-dated")]
    AfterWitnessed {
        /// This entry's acceptance time.
        accepted: i64,
        /// The export checkpoint's quorum time.
        witnessed: i64,
        /// The clock skew allowed.
        skew: i64,
    },
    /// Accepted earlier than a witness quorum saw the trusted earlier
    /// checkpoint, which does not hold it: the entry was back-dated.
    #[error("accepted at {accepted}, but a witness quorum cosigned the earlier checkpoint of size {old_size}, which does not hold it, at {witnessed} or later (allowed skew {skew} s): the entry was back-dated")]
    BeforeWitnessed {
        /// This entry's acceptance time.
        accepted: i64,
        /// The earlier checkpoint's quorum time.
        witnessed: i64,
        /// The earlier checkpoint's size.
        old_size: u64,
        /// The clock skew allowed.
        skew: i64,
    },
    /// A submission accepted before the roster in force was issued.
    #[error("accepted at {accepted}, before the roster in force was issued ({issued})")]
    BeforeRoster {
        /// The submission's acceptance time.
        accepted: i64,
        /// The roster's issue time.
        issued: i64,
    },
    /// The checkpoint's `roster` line does not name the latest roster entry.
    #[error("the checkpoint's roster line names {} but the latest roster entry below its size is {}; a reader trusting it would be shown the wrong roster history", show(*claimed), show(*actual))]
    RosterLine {
        /// What the line says (`None`: malformed).
        claimed: Option<u64>,
        /// The latest roster entry found.
        actual: Option<u64>,
    },
    /// The stored bytes differ from what ingest produces for the envelope.
    #[error("the stored entry is not byte for byte what ingest records for this envelope (principal, TLS key, time, recipients or encoding differ)")]
    NotReproduced,
    /// A sealed alert did not open, or its inner alert did not check, for
    /// a reader whose key the auditor was given (`--open-with`).
    #[error("the sealed alert does not open as {reader} should read it: {why}")]
    Sealed {
        /// The reader.
        reader: String,
        /// What failed.
        why: String,
    },
    /// A (publisher, alert id) pair appears twice.
    #[error("alert id {id:?} of {publisher} was already recorded at entry {first}")]
    Duplicate {
        /// The publisher.
        publisher: String,
        /// The alert id.
        id: String,
        /// Where it was first recorded.
        first: u64,
    },
    /// The entry's leaf hash is not the one in the hash tiles the signed
    /// root covers: the entry was altered, moved, inserted or removed.
    #[error("the entry is not the one the signed tree holds at this index (its leaf hash differs from the hash tiles that hash to the signed root)")]
    LeafMismatch,
    /// The Merkle root recomputed from every entry is not the signed root.
    #[error("the Merkle root of the entries is {computed}, but the checkpoint signs {signed}")]
    RootMismatch {
        /// Base64 of the recomputed root.
        computed: String,
        /// Base64 of the signed root.
        signed: String,
    },
    /// The hash tiles do not agree with the signed checkpoint.
    #[error("the hash tiles are damaged: {0}")]
    Tiles(String),
    /// The trusted old checkpoint is larger than the export's.
    #[error("rollback: the trusted earlier checkpoint has size {old_size}, this export's checkpoint only {new_size}")]
    Rollback {
        /// Size of the trusted earlier checkpoint.
        old_size: u64,
        /// Size of the export's checkpoint.
        new_size: u64,
    },
    /// The first `old_size` entries do not hash to the old root.
    #[error("fork: the first {old_size} entries do not hash to the trusted earlier checkpoint's root; the log was rewritten")]
    Fork {
        /// Size of the trusted earlier checkpoint.
        old_size: u64,
    },
    /// The export's checkpoint is not cosigned as the auditor's witness
    /// policy requires: nothing says the hub showed this tree to anyone else.
    #[error("the checkpoint is not witnessed as the policy requires: {0}")]
    Unwitnessed(QuorumError),
    /// The tiles give no valid consistency proof between the checkpoints.
    #[error("no valid consistency proof from size {old_size} to {new_size} in the hash tiles: {detail}")]
    Inconsistent {
        /// Size of the trusted earlier checkpoint.
        old_size: u64,
        /// Size of the export's checkpoint.
        new_size: u64,
        /// Why the proof failed.
        detail: String,
    },
}

/// Why the input could not be audited.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Unusable {
    /// The trusted log key is not a C2SP verifier key.
    #[error("trusted log key: {0}")]
    LogKey(NoteError),
    /// `--log-key` names a file that does not exist.
    #[error("trusted log key file {path} does not exist (give the file the log's operator published, or the key itself: name+keyid+base64)")]
    LogKeyMissing {
        /// The file.
        path: PathBuf,
    },
    /// The export directory does not exist.
    #[error("export directory {path} does not exist or is not a directory")]
    NoExport {
        /// The directory given.
        path: PathBuf,
    },
    /// The export directory holds no checkpoint.
    #[error("{path} has no checkpoint file: is it an export (isthmus export / isthmusd export)?")]
    NoCheckpoint {
        /// The directory given.
        path: PathBuf,
    },
    /// The file holding the trusted log key cannot be read.
    #[error("cannot read trusted log key file {path}: {source}")]
    LogKeyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The export directory or its checkpoint cannot be read.
    #[error("export {path}: {source}")]
    Export {
        /// The export directory.
        path: PathBuf,
        /// Why.
        source: TileError,
    },
    /// The trusted earlier checkpoint cannot be read.
    #[error("cannot read earlier checkpoint {path}: {source}")]
    OldCheckpointFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The trusted earlier checkpoint does not open with the trusted key.
    #[error("earlier checkpoint {path} does not open with the trusted log key: {source}")]
    OldCheckpoint {
        /// The file.
        path: PathBuf,
        /// Why.
        source: CheckpointError,
    },
    /// The witness policy file cannot be read.
    #[error("cannot read witness policy {path}: {source}")]
    PolicyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The witness policy file is not a valid C2SP tlog-policy.
    #[error("witness policy {path}: {source}")]
    Policy {
        /// The file.
        path: PathBuf,
        /// Which line, and why.
        source: PolicyError,
    },
    /// The witness policy lists logs, and not the trusted log key.
    #[error("witness policy {path} is for other logs: it lists no log line with the trusted log key")]
    PolicyForOtherLogs {
        /// The file.
        path: PathBuf,
    },
    /// The signature verifier thread stopped (a bug, not the export's fault).
    #[error("the signature verifier thread stopped unexpectedly")]
    VerifierStopped,
    /// Reading the export failed part way (not a missing file: an I/O error).
    #[error("reading the export: {0}")]
    Read(TileError),
}
