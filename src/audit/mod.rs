//! The offline auditor behind `isthmus-audit verify`: given an export (a
//! C2SP tlog-tiles directory), the trusted log key and optionally the
//! auditor's last trusted checkpoint, decide — without network, trusting
//! neither the hub nor the export — whether the log is intact, and if not,
//! name the first bad entry and why.
//!
//! Checked, in this order: the checkpoint opens with the trusted key
//! ([`trust`]); no rollback from the earlier checkpoint; then one streaming
//! pass over every entry ([`scan`]): each leaf against the hash tiles
//! ([`tree`]), the running Merkle root, the root at the earlier checkpoint's
//! size (else fork), entry 0 a roster and every roster entry valid, every
//! submission re-checked with the hub's own ingest rules under the roster in
//! force and its recorded acceptance time, TLS key bound to the publisher,
//! no duplicate alert id, retractions only by originators ([`rules`]), and
//! every alert signature verified in parallel batches under the one
//! Ed25519 rule ingest uses ([`signatures`]); finally the entries' root
//! against the signed root and a consistency proof from the tiles. With a
//! witness policy (C2SP tlog-policy), the export's checkpoint must also
//! carry the cosignatures its quorum needs, checked before the scan.
//! Results and exit codes are in [`report`], failures in [`error`].

pub mod error;
pub mod report;
pub(crate) mod rules;
mod salvage;
mod scan;
mod signatures;
mod tree;
mod trust;

use std::path::Path;
use std::time::{Duration, Instant};

pub use error::{AuditError, Reason, Unusable};
pub use report::{Counts, Report};
pub use signatures::CHUNK as SIGNATURE_CHUNK;
pub use trust::load_log_key;

use crate::ledger::tiles::TileReader;

/// What to check an export against.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// The trusted log key: a C2SP verifier key, or a file holding one.
    pub log_key: &'a str,
    /// The auditor's last trusted checkpoint note, if any.
    pub since: Option<&'a Path>,
    /// The SHA-256 of the genesis roster (its encoded payload) the auditor
    /// trusts, if pinned. The genesis roster can only approve itself, so
    /// this is what ties an export to the federation's agreed founding roster.
    pub genesis: Option<[u8; 32]>,
    /// Also check every alert signature under the strict RFC 8032 rule the
    /// hub applies at ingest, and list those that hold only under the
    /// cofactored one (a warning, not a failure: see [`crate::crypto`]).
    /// Costs one ring verification per alert.
    pub strict_signatures: bool,
    /// A witness policy file (C2SP tlog-policy) whose quorum must have
    /// cosigned the export's checkpoint, if given.
    pub policy: Option<&'a Path>,
    /// With a policy: the clock skew allowed between the hub's acceptance
    /// times and the witnesses' cosignature times, in seconds.
    pub time_skew: u64,
    /// Sealing private keys of readers (`--open-with`): every sealed alert
    /// with a stanza to one of them is opened, and its inner alert checked
    /// as its recipient would (docs/sealing.md). Without them the audit
    /// checks everything about a sealed alert but its content.
    pub open_with: &'a [crate::seal::SealingPrivateKey],
}

/// The default of [`Options::time_skew`]: five minutes.
pub const DEFAULT_TIME_SKEW: u64 = 300;

/// Audits the export at `export`. `progress(done, total)` is called as
/// entries are checked. Never panics on bad input: every outcome is in the
/// [`Report`].
pub fn verify(export: &Path, opts: &Options<'_>, progress: &mut dyn FnMut(u64, u64)) -> Report {
    let start = Instant::now();
    let mut report = Report {
        checkpoint: None,
        evidence: Vec::new(),
        counts: Counts::default(),
        elapsed: Duration::ZERO,
        result: Ok(()),
    };
    let result = run(export, opts, progress, &mut report);
    report.result = result;
    report.elapsed = start.elapsed();
    report
}

fn run(
    export: &Path,
    opts: &Options<'_>,
    progress: &mut dyn FnMut(u64, u64),
    report: &mut Report,
) -> Result<(), AuditError> {
    let key = load_log_key(opts.log_key)?;
    if !export.is_dir() {
        return Err(Unusable::NoExport {
            path: export.to_owned(),
        }
        .into());
    }
    let reader = TileReader::open(export).map_err(|source| match source {
        crate::ledger::tiles::TileError::Missing { .. } => Unusable::NoCheckpoint {
            path: export.to_owned(),
        },
        source => Unusable::Export {
            path: export.to_owned(),
            source,
        },
    })?;
    let old = opts.since.map(|p| trust::open_old(p, &key)).transpose()?;
    let policy = opts.policy.map(|p| trust::load_policy(p, &key)).transpose()?;
    let cp = trust::open_checkpoint(&reader, &key)?;
    report.checkpoint = Some(cp.checkpoint.clone());
    report.evidence.push(cp.note.clone());
    let mut times = rules::TimeBounds {
        skew: i64::try_from(opts.time_skew).unwrap_or(i64::MAX),
        ..Default::default()
    };
    if let Some(policy) = &policy {
        let (met, cosigned) = trust::check_witnessed(policy, &cp.note)?;
        times.witnessed = policy.quorum_time(&cosigned).and_then(|t| i64::try_from(t).ok());
        let earlier = old.as_ref().and_then(|o| Some((o, policy.check(&o.note).ok()?)));
        times.earlier =
            earlier.and_then(|(o, c)| Some((o.checkpoint.size, i64::try_from(policy.quorum_time_from(&c)?).ok()?)));
        report.counts.witnessed = Some(trust::describe_times(met, &times));
    }
    if let Some(old) = &old {
        report.evidence.push(old.note.clone());
        trust::check_rollback(old, &cp)?;
    }
    let old_cp = old.as_ref().map(|o| &o.checkpoint);
    let rules = rules::Rules::pinned(opts.genesis)
        .timed(times)
        .opening(opts.open_with.to_vec());
    let sigs = signatures::SigBatch::new(opts.strict_signatures);
    scan::scan(
        &reader,
        export,
        &cp.checkpoint,
        old_cp,
        (rules, sigs),
        &mut report.counts,
        progress,
    )?;
    match &old {
        Some(old) => trust::check_tile_consistency(old, &cp, &reader.hashes(cp.checkpoint.size)),
        None => Ok(()),
    }
}
