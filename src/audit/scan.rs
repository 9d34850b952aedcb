//! One streaming pass over every entry the checkpoint covers, in order,
//! holding `O(log n)` tree state, the current tile and at most one chunk of
//! pending signatures. Per entry: leaf hash against the tiles
//! ([`super::tree`]), into the running root ([`CompactRange`]), against the
//! auditor's earlier checkpoint when the scan reaches its size, then the
//! ingest rules ([`super::rules`]); signatures go to the batch
//! ([`super::signatures`]). Any failure first settles the pending
//! signatures, so the failure reported is always the earliest.

use std::path::Path;

use super::error::{AuditError, Reason, Unusable};
use super::report::Counts;
use super::rules::Rules;
use super::salvage::salvage;
use super::signatures::SigBatch;
use super::tree::TileCheck;
use crate::ledger::checkpoint::Checkpoint;
use crate::ledger::merkle::{leaf_hash, CompactRange};
use crate::ledger::tiles::{TileError, TileReader, TILE_WIDTH};

/// Entries between two progress reports.
const PROGRESS_EVERY: u64 = 1024;

/// Checks every entry of the export at `dir` against `cp` (and `old`, the
/// auditor's earlier checkpoint), counting into `counts`.
pub(crate) fn scan(
    reader: &TileReader,
    dir: &Path,
    cp: &Checkpoint,
    old: Option<&Checkpoint>,
    (rules, sigs): (Rules, SigBatch),
    counts: &mut Counts,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), AuditError> {
    let mut scan = Scan {
        reader,
        size: cp.size,
        rules,
        sigs,
        range: CompactRange::new(),
        tiles: TileCheck::new(reader, cp),
        old,
        counts,
    };
    let result = scan
        .entries(reader, dir, cp.size, progress)
        .and_then(|()| scan.finish(cp));
    scan.counts.signatures_checked = scan.sigs.checked();
    scan.counts.cofactored_only = scan.sigs.cofactored_only();
    result
}

struct Scan<'a> {
    reader: &'a TileReader,
    size: u64,
    rules: Rules,
    sigs: SigBatch,
    range: CompactRange,
    tiles: TileCheck<'a>,
    old: Option<&'a Checkpoint>,
    counts: &'a mut Counts,
}

impl Scan<'_> {
    fn entries(
        &mut self,
        reader: &TileReader,
        dir: &Path,
        size: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<(), AuditError> {
        for (i, item) in (0u64..).zip(reader.entries(size)) {
            match item {
                Ok(bytes) => self.entry(i, &bytes)?,
                Err(e) => return self.damaged(dir, i, size, e),
            }
            if i % PROGRESS_EVERY == 0 {
                progress(i, size);
            }
        }
        progress(size, size);
        Ok(())
    }

    fn entry(&mut self, i: u64, bytes: &[u8]) -> Result<(), AuditError> {
        let leaf = leaf_hash(bytes);
        if let Err(reason) = self.tiles.leaf(i, &leaf) {
            return self.fail(Some(i), reason);
        }
        self.range.push(leaf);
        self.counts.entries += 1;
        if let Some(old) = self.old.filter(|o| o.size == self.range.size()) {
            if self.range.root() != old.root {
                return self.fail(None, Reason::Fork { old_size: old.size });
            }
        }
        let (reader, size) = (self.reader, self.size);
        let mut lookup = |at: u64| reader.entry(size, at).ok();
        match self.rules.check(i, bytes, self.counts, &mut lookup) {
            Ok(Some(pending)) => self.sigs.push(i, pending),
            Ok(None) => Ok(()),
            Err(reason) => self.fail(Some(i), reason),
        }
    }

    /// The bundle starting at entry `i` is missing or damaged: check what
    /// can be read of it, then report the first entry that is not there.
    fn damaged(&mut self, dir: &Path, i: u64, size: u64, e: TileError) -> Result<(), AuditError> {
        if !matches!(e, TileError::Missing { .. } | TileError::BadBundle { .. }) {
            self.sigs.flush()?;
            return Err(Unusable::Read(e).into());
        }
        let width = (size - i).min(TILE_WIDTH as u64);
        let salvaged = salvage(dir, i / TILE_WIDTH as u64, &e);
        for (k, bytes) in (0..width).zip(&salvaged) {
            self.entry(i + k, bytes)?;
        }
        let at = i + (salvaged.len() as u64).min(width);
        self.fail((at < size).then_some(at), Reason::Bundle { size, source: e })
    }

    /// Settles pending signatures (an earlier bad one wins), then fails.
    fn fail(&mut self, index: Option<u64>, reason: Reason) -> Result<(), AuditError> {
        self.sigs.flush()?;
        Err(AuditError::Failure { index, reason })
    }

    fn finish(&mut self, cp: &Checkpoint) -> Result<(), AuditError> {
        self.sigs.flush()?;
        if let Err(reason) = self.rules.check_roster_line(cp) {
            return Err(AuditError::whole(reason));
        }
        self.tiles.finish(&self.range.root(), cp)
    }
}
