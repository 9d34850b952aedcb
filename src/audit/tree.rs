//! The export's hash tiles as a second, independent witness of the signed
//! tree. If the tiles hash to the signed root (RFC 9162 §2.1.1 from the
//! `popcount(size)` peak hashes), each entry's leaf hash
//! `SHA-256(0x00 || entry)` must equal the level-0 tile hash at its index:
//! the first entry that differs is the first altered, moved, inserted or
//! removed one, found as the scan reaches it. If the tiles do not hash to
//! the signed root, the root recomputed from the entries decides, and the
//! first index where entries and tiles disagree is reported with it.

use super::error::{AuditError, Reason};
use crate::ledger::checkpoint::Checkpoint;
use crate::ledger::merkle::{tree_hash, Hash, HashReader, MerkleError, NodeId};
use crate::ledger::tiles::{subtree_root, tile_path, TileError, TileHashes, TileReader, TILE_HEIGHT, TILE_WIDTH};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

/// Level-0 tile hashes compared with the entries as they stream past.
pub(crate) struct TileCheck<'a> {
    hashes: TileHashes<'a>,
    size: u64,
    /// Why the tiles do not hash to the signed root, if they don't.
    inconsistent: Option<String>,
    /// Level-0 hashes of the tile holding `window_start`.
    window: Vec<Hash>,
    window_start: u64,
    first_disagreement: Option<u64>,
}

impl<'a> TileCheck<'a> {
    /// Checks that the tiles of `reader` hash to the root `cp` signs.
    pub(super) fn new(reader: &'a TileReader, cp: &Checkpoint) -> Self {
        let hashes = reader.hashes(cp.size);
        let inconsistent = match tree_hash(cp.size, &hashes) {
            Ok(root) if root == cp.root => None,
            Ok(root) => Some(format!("they hash to {}, not to the signed root", B64.encode(root))),
            Err(MerkleError::Read(e)) => Some(e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        TileCheck {
            hashes,
            size: cp.size,
            inconsistent,
            window: Vec::new(),
            window_start: 0,
            first_disagreement: None,
        }
    }

    /// Compares entry `index`'s leaf hash with the tiles. A difference is a
    /// failure when the tiles are trusted (they hash to the signed root);
    /// otherwise it is only remembered.
    pub(super) fn leaf(&mut self, index: u64, leaf: &Hash) -> Result<(), Reason> {
        if self.first_disagreement.is_some() {
            return Ok(());
        }
        let found = self.tile_hash(index);
        if matches!(&found, Ok(h) if h == leaf) {
            return Ok(());
        }
        self.first_disagreement = Some(index);
        match (&self.inconsistent, found) {
            (Some(_), _) => Ok(()),
            (None, Ok(_)) => Err(Reason::LeafMismatch),
            (None, Err(e)) => Err(Reason::Tiles(e.to_string())),
        }
    }

    /// Level-0 hash `index`, reading one tile per 256 entries.
    fn tile_hash(&mut self, index: u64) -> Result<Hash, TileError> {
        let offset = index.wrapping_sub(self.window_start);
        if offset >= self.window.len() as u64 {
            let start = index - index % TILE_WIDTH as u64;
            let end = (start + TILE_WIDTH as u64).min(self.size);
            let ids: Vec<NodeId> = (start..end).map(|i| NodeId::new(0, i)).collect();
            self.window = self.hashes.read_hashes(&ids)?;
            self.window_start = start;
            self.check_against_parent();
        }
        let at = usize::try_from(index - self.window_start).unwrap_or(usize::MAX);
        self.window.get(at).copied().ok_or(TileError::NodeOutOfRange {
            level: 0,
            index,
            size: self.size,
        })
    }

    /// A full level-0 tile must hash to its parent in the level-1 tile: the
    /// root from the tiles is computed from the level-1 tiles, so a damaged
    /// level-0 tile would otherwise pass for intact and its differences
    /// with the entries be blamed on them. A damaged tile makes the tiles
    /// untrusted; the entries' own root then decides.
    fn check_against_parent(&mut self) {
        if self.window.len() != TILE_WIDTH || self.inconsistent.is_some() {
            return;
        }
        let tile = self.window_start / TILE_WIDTH as u64;
        let parent = self.hashes.read_hashes(&[NodeId::new(TILE_HEIGHT as u8, tile)]);
        if parent.ok().and_then(|p| p.first().copied()) != Some(subtree_root(&self.window)) {
            self.inconsistent = Some(format!(
                "hash tile {} does not hash to its parent in the level-1 tile (it is damaged)",
                tile_path(Some(0), tile, TILE_WIDTH)
            ));
        }
    }

    /// After every entry: the entries' root must be the signed root, and
    /// the tiles must agree with it.
    pub(super) fn finish(&self, entries_root: &Hash, cp: &Checkpoint) -> Result<(), AuditError> {
        let index = self.first_disagreement;
        if *entries_root != cp.root {
            let reason = Reason::RootMismatch {
                computed: B64.encode(entries_root),
                signed: B64.encode(cp.root),
            };
            return Err(AuditError::Failure { index, reason });
        }
        match &self.inconsistent {
            Some(why) => Err(AuditError::whole(Reason::Tiles(format!(
                "{why}; every entry is intact (the entries hash to the signed root)"
            )))),
            None => Ok(()),
        }
    }
}
