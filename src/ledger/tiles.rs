//! C2SP tiled transparency logs (<https://c2sp.org/tlog-tiles>) on the local
//! filesystem: [`TileWriter`] exports a log, [`TileReader`] audits one.
//!
//! Layout under the export directory (tile height 8, so 256 hashes per tile):
//!
//! * `checkpoint`: the signed checkpoint note (c2sp.org/tlog-checkpoint).
//! * `tile/<L>/<N>`: a full hash tile, 256 × 32 = 8,192 bytes: the
//!   concatenated RFC 6962 hashes of the subtrees of 256^L leaves
//!   `D[(N*256+i)*256^L .. (N*256+i+1)*256^L]`, `i` = 0..255 (level 0 holds
//!   leaf hashes `SHA-256(0x00 || entry)`).
//! * `tile/entries/<N>`: a full entry bundle, 256 entries, each as a
//!   big-endian u16 length followed by that many bytes (so entries are at
//!   most 65,535 bytes).
//! * `<N>` is written in 3-digit decimal groups, all but the last prefixed
//!   with `x`: 1234067 → `x001/x234/067`, 5 → `005`.
//! * Partial tiles and bundles for tree size `s` get the suffix `.p/<W>` with
//!   width `W = floor(s / 256^L) mod 256` (1..255; none when 0), at index
//!   `N = floor(s / 256^(L+1))`. Partial tiles are never hashed into the level
//!   above. A tree of 256 leaves is one full level-0 tile, one full bundle and
//!   a level-1 partial tile of width 1.
//!
//! A node at tree level `8L + k` (`k` < 8) is rebuilt from `2^k` consecutive
//! hashes of a level-`L` tile. The reader trusts nothing it reads: callers
//! check roots recomputed from tiles or entries against a verified checkpoint.

use std::collections::hash_map::{Entry, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
use super::merkle::{leaf_hash, node_hash, CompactRange, Hash, HashReader, NodeId};
use crate::ledger::note::{self, NoteVerifier};

/// Hashes per full tile and entries per full bundle.
pub const TILE_WIDTH: usize = 256;
/// Bits of tree height per tile level.
pub(crate) const TILE_HEIGHT: u32 = 8;
/// Bytes per hash.
const HASH_LEN: usize = 32;
/// Largest entry a bundle's u16 length prefix can describe.
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;

/// Errors exporting or reading a tiled log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TileError {
    /// A filesystem operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// A tile, bundle or checkpoint the tree size requires is absent.
    #[error("missing {path}: the export is incomplete or the checkpoint size is wrong")]
    Missing { path: PathBuf },
    /// A hash tile has the wrong number of bytes.
    #[error("hash tile {path} is {actual} bytes, expected {expected} ({} hashes)", expected / HASH_LEN)]
    TileLength {
        path: PathBuf,
        expected: usize,
        actual: usize,
    },
    /// An entry bundle does not hold exactly the expected entries.
    #[error("entry bundle {path}: {reason}")]
    BadBundle { path: PathBuf, reason: String },
    /// An entry is too large for the u16 length prefix.
    #[error("entry of {len} bytes exceeds the tlog-tiles limit of 65,535 bytes")]
    EntryTooLarge { len: usize },
    /// A node was requested that lies beyond the tree size being read.
    #[error("node at level {level} index {index} is not in a tree of size {size}")]
    NodeOutOfRange { level: u8, index: u64, size: u64 },
    /// The export directory already holds files.
    #[error("export directory {path} is not empty; export into a new directory")]
    NotEmpty { path: PathBuf },
    /// The checkpoint note is invalid or not signed by the log key.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The checkpoint given to the writer does not describe the written tiles.
    #[error("checkpoint claims size {claimed_size} but {written} entries were written, or its root is not the root of those entries; refusing to publish it")]
    CheckpointMismatch { claimed_size: u64, written: u64 },
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> TileError + 'a {
    move |source| TileError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Read a file of the export; an absent file is [`TileError::Missing`].
fn read_file(path: &Path) -> Result<Vec<u8>, TileError> {
    fs::read(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => TileError::Missing { path: path.to_owned() },
        _ => io_err("cannot read", path)(source),
    })
}

/// `x >> bits`, 0 when `bits` ≥ 64 (level 7 tiles span 2^64 leaves).
fn shr(x: u64, bits: u32) -> u64 {
    x.checked_shr(bits).unwrap_or(0)
}

/// The `<N>` path component: 3-digit groups, `x` on all but the last.
pub fn index_path(n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// Relative path of a hash tile (`level` = tile level) or, with `None`, of
/// an entry bundle; `width` < 256 adds the partial suffix.
pub fn tile_path(level: Option<u8>, index: u64, width: usize) -> String {
    let kind = level.map_or_else(|| "entries".to_owned(), |l| l.to_string());
    let mut path = format!("tile/{kind}/{}", index_path(index));
    if width < TILE_WIDTH {
        path.push_str(&format!(".p/{width}"));
    }
    path
}

/// Width of tile `index` at tile level `level` in a tree of `size` leaves:
/// 256 if full, 1..255 if it is the partial tile, 0 if it does not exist.
fn tile_width(size: u64, level: u8, index: u64) -> usize {
    let below = shr(size, TILE_HEIGHT * u32::from(level)); // hashes at this level
    let full = shr(below, TILE_HEIGHT);
    if index < full {
        TILE_WIDTH
    } else if index == full {
        // Cannot truncate: the value is below 256.
        (below % TILE_WIDTH as u64) as usize
    } else {
        0
    }
}

/// Merkle root of a run of hashes whose length is a power of two (1..=256);
/// callers only pass such runs.
pub(crate) fn subtree_root(hashes: &[Hash]) -> Hash {
    let mut layer = hashes.to_vec();
    while layer.len() > 1 {
        layer = layer.as_chunks::<2>().0.iter().map(|[l, r]| node_hash(l, r)).collect();
    }
    layer.first().copied().unwrap_or([0; HASH_LEN])
}

fn concat_hashes(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flatten().copied().collect()
}

fn write_file(dir: &Path, rel: &str, data: &[u8]) -> Result<(), TileError> {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_err("cannot create directory", parent))?;
    }
    fs::write(&path, data).map_err(io_err("cannot write", &path))
}

/// Streams entries into a new tlog-tiles export directory.
pub struct TileWriter {
    dir: PathBuf,
    size: u64,
    /// Encoded entries of the current, incomplete bundle.
    bundle: Vec<u8>,
    /// `levels[L]`: hashes of the current, incomplete tile at tile level L.
    levels: Vec<Vec<Hash>>,
    /// Running root over all leaves, to check the checkpoint at `finish`.
    range: CompactRange,
}

impl TileWriter {
    /// Start an export into `dir`, which must be absent or empty.
    pub fn create(dir: impl AsRef<Path>) -> Result<Self, TileError> {
        let dir = dir.as_ref().to_owned();
        fs::create_dir_all(&dir).map_err(io_err("cannot create directory", &dir))?;
        let mut listing = fs::read_dir(&dir).map_err(io_err("cannot list", &dir))?;
        if listing.next().is_some() {
            return Err(TileError::NotEmpty { path: dir });
        }
        Ok(Self {
            dir,
            size: 0,
            bundle: Vec::new(),
            levels: vec![Vec::with_capacity(TILE_WIDTH)],
            range: CompactRange::new(),
        })
    }

    /// Number of entries appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Append one entry (at most 65,535 bytes), writing any tiles it completes.
    /// An oversized entry leaves the writer unchanged; after an I/O error the
    /// export is incomplete and the writer should be dropped.
    pub fn append(&mut self, entry: &[u8]) -> Result<(), TileError> {
        let len = u16::try_from(entry.len()).map_err(|_| TileError::EntryTooLarge { len: entry.len() })?;
        self.bundle.extend_from_slice(&len.to_be_bytes());
        self.bundle.extend_from_slice(entry);
        let leaf = leaf_hash(entry);
        self.range.push(leaf);
        self.size += 1;
        if self.size.is_multiple_of(TILE_WIDTH as u64) {
            let index = (self.size >> TILE_HEIGHT) - 1;
            write_file(&self.dir, &tile_path(None, index, TILE_WIDTH), &self.bundle)?;
            self.bundle.clear();
        }
        self.push_hash(0, leaf)
    }

    /// Add a hash to tile level `level`; on a full tile write it and carry
    /// its root to the level above.
    #[expect(clippy::indexing_slicing, reason = "levels[l] exists: it is pushed when missing")]
    fn push_hash(&mut self, level: u8, hash: Hash) -> Result<(), TileError> {
        let l = usize::from(level);
        if self.levels.len() == l {
            self.levels.push(Vec::with_capacity(TILE_WIDTH));
        }
        self.levels[l].push(hash);
        if self.levels[l].len() < TILE_WIDTH {
            return Ok(());
        }
        let tile = std::mem::take(&mut self.levels[l]);
        let index = shr(self.size, TILE_HEIGHT * (u32::from(level) + 1)) - 1;
        let rel = tile_path(Some(level), index, TILE_WIDTH);
        write_file(&self.dir, &rel, &concat_hashes(&tile))?;
        self.push_hash(level + 1, subtree_root(&tile))
    }

    /// Write the partial tiles and bundle for the final size, then the
    /// `checkpoint` file. The note's checkpoint (checked, not verified: it
    /// is ours) must state exactly this size and root.
    pub fn finish(self, signed_checkpoint_note: &str) -> Result<Checkpoint, TileError> {
        let text = note::unverified_text(signed_checkpoint_note).map_err(CheckpointError::from)?;
        let cp = Checkpoint::parse(text)?;
        if cp.size != self.size || cp.root != self.range.root() {
            return Err(TileError::CheckpointMismatch {
                claimed_size: cp.size,
                written: self.size,
            });
        }
        self.write_partials()?;
        write_file(&self.dir, "checkpoint", signed_checkpoint_note.as_bytes())?;
        Ok(cp)
    }

    fn write_partials(&self) -> Result<(), TileError> {
        let width = self.size % TILE_WIDTH as u64;
        if width > 0 {
            let rel = tile_path(None, self.size >> TILE_HEIGHT, width as usize);
            write_file(&self.dir, &rel, &self.bundle)?;
        }
        for (level, hashes) in (0u8..).zip(&self.levels) {
            if hashes.is_empty() {
                continue;
            }
            let index = shr(self.size, TILE_HEIGHT * (u32::from(level) + 1));
            let rel = tile_path(Some(level), index, hashes.len());
            write_file(&self.dir, &rel, &concat_hashes(hashes))?;
        }
        Ok(())
    }
}

/// Reads a tlog-tiles export directory.
#[derive(Debug, Clone)]
pub struct TileReader {
    dir: PathBuf,
    checkpoint_note: String,
    checkpoint_utf8: bool,
}

impl TileReader {
    /// Open `dir` and read (not yet verify) its `checkpoint` note.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, TileError> {
        let dir = dir.as_ref().to_owned();
        let path = dir.join("checkpoint");
        let bytes = read_file(&path)?;
        let checkpoint_utf8 = std::str::from_utf8(&bytes).is_ok();
        let checkpoint_note = String::from_utf8_lossy(&bytes).into_owned();
        Ok(Self {
            dir,
            checkpoint_note,
            checkpoint_utf8,
        })
    }

    /// The raw `checkpoint` note as read from disk (unverified; invalid
    /// UTF-8 replaced, see [`TileReader::checkpoint_is_utf8`]).
    pub fn checkpoint_note(&self) -> &str {
        &self.checkpoint_note
    }

    /// Whether the `checkpoint` file is valid UTF-8 (a note must be).
    pub fn checkpoint_is_utf8(&self) -> bool {
        self.checkpoint_utf8
    }

    /// Verify the `checkpoint` note with the log key.
    pub fn checkpoint(&self, log_verifier: &NoteVerifier) -> Result<SignedCheckpoint, TileError> {
        Ok(SignedCheckpoint::open(&self.checkpoint_note, log_verifier)?)
    }

    /// The first `size` entries in order, streamed one bundle at a time.
    pub fn entries(&self, size: u64) -> Entries<'_> {
        Entries {
            dir: &self.dir,
            size,
            next: 0,
            bundle: Vec::new().into_iter(),
            failed: false,
        }
    }

    /// Entry `index` of the tree of `size` leaves, read from its bundle.
    pub fn entry(&self, size: u64, index: u64) -> Result<Vec<u8>, TileError> {
        let bundle = read_bundle(&self.dir, size, index >> TILE_HEIGHT)?;
        let at = usize::try_from(index % TILE_WIDTH as u64).unwrap_or(usize::MAX);
        bundle
            .into_iter()
            .nth(at)
            .ok_or(TileError::NodeOutOfRange { level: 0, index, size })
    }

    /// Node hashes of the tree of `size` leaves, read from hash tiles.
    pub fn hashes(&self, size: u64) -> TileHashes<'_> {
        TileHashes { dir: &self.dir, size }
    }
}

/// Iterator over entries of an export; yields one error then stops.
pub struct Entries<'a> {
    dir: &'a Path,
    size: u64,
    next: u64,
    bundle: std::vec::IntoIter<Vec<u8>>,
    failed: bool,
}

impl Iterator for Entries<'_> {
    type Item = Result<Vec<u8>, TileError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.next >= self.size {
            return None;
        }
        if self.bundle.as_slice().is_empty() {
            match read_bundle(self.dir, self.size, self.next >> TILE_HEIGHT) {
                Ok(entries) => self.bundle = entries.into_iter(),
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        self.next += 1;
        self.bundle.next().map(Ok)
    }
}

/// Read and split entry bundle `index` of a tree of `size` leaves. Where a
/// partial bundle is expected but only the full one is present, the full
/// one is read and its first entries taken, as C2SP tlog-tiles allows a
/// server to serve a full tile in place of a partial one.
fn read_bundle(dir: &Path, size: u64, index: u64) -> Result<Vec<Vec<u8>>, TileError> {
    let width = tile_width(size, 0, index);
    let (path, data) = read_tile_file(dir, None, index, width)?;
    let full = width < TILE_WIDTH && path.ends_with(tile_path(None, index, TILE_WIDTH));
    split_bundle(&data, width, full).map_err(|reason| TileError::BadBundle { path, reason })
}

/// The file of tile `index` of `width` at `level` (None: entry bundles),
/// or, when a partial one is missing, the full tile in its place.
fn read_tile_file(dir: &Path, level: Option<u8>, index: u64, width: usize) -> Result<(PathBuf, Vec<u8>), TileError> {
    let path = dir.join(tile_path(level, index, width));
    match read_file(&path) {
        Err(TileError::Missing { .. }) if width < TILE_WIDTH => {
            let full = dir.join(tile_path(level, index, TILE_WIDTH));
            match read_file(&full) {
                Ok(data) => Ok((full, data)),
                Err(_) => Err(TileError::Missing { path }),
            }
        }
        other => other.map(|data| (path, data)),
    }
}

/// Split a bundle into exactly `count` length-prefixed entries (`full`: the
/// first `count` of a full bundle, the rest ignored).
fn split_bundle(mut data: &[u8], count: usize, full: bool) -> Result<Vec<Vec<u8>>, String> {
    let mut entries = Vec::with_capacity(count);
    while entries.len() < count {
        let i = entries.len();
        let [hi, lo, rest @ ..] = data else {
            return Err(format!(
                "truncated length prefix of entry {i} (expected {count} entries)"
            ));
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let Some((entry, after)) = rest.split_at_checked(len) else {
            return Err(format!(
                "entry {i} has length prefix {len} but only {} bytes remain",
                rest.len()
            ));
        };
        entries.push(entry.to_vec());
        data = after;
    }
    if !data.is_empty() && !full {
        return Err(format!("{} trailing bytes after {count} entries", data.len()));
    }
    Ok(entries)
}

/// [`HashReader`] over the hash tiles of a tree of a given size.
pub struct TileHashes<'a> {
    dir: &'a Path,
    size: u64,
}

impl TileHashes<'_> {
    /// Read and length-check hash tile `index` at tile level `level`.
    fn read_tile(&self, level: u8, index: u64, width: usize) -> Result<Vec<Hash>, TileError> {
        let (path, mut data) = read_tile_file(self.dir, Some(level), index, width)?;
        if width < TILE_WIDTH && data.len() == TILE_WIDTH * HASH_LEN {
            data.truncate(width * HASH_LEN); // a full tile served in place of a partial one
        }
        if data.len() != width * HASH_LEN {
            return Err(TileError::TileLength {
                path,
                expected: width * HASH_LEN,
                actual: data.len(),
            });
        }
        Ok(data
            .chunks_exact(HASH_LEN)
            .map(|c| {
                let mut h = [0u8; HASH_LEN];
                h.copy_from_slice(c);
                h
            })
            .collect())
    }

    /// Hash of one node, using `cache` for tiles already read in this call.
    fn node(&self, id: NodeId, cache: &mut HashMap<(u8, u64), Vec<Hash>>) -> Result<Hash, TileError> {
        let out_of_range = || TileError::NodeOutOfRange {
            level: id.level,
            index: id.index,
            size: self.size,
        };
        let level = id.level / TILE_HEIGHT as u8;
        let k = u32::from(id.level) % TILE_HEIGHT;
        // First hash at tile level `level` under this node, and how many.
        let first = id.index.checked_shl(k).ok_or_else(out_of_range)?;
        let (index, offset) = (first >> TILE_HEIGHT, (first % TILE_WIDTH as u64) as usize);
        let count = 1usize << k;
        let width = tile_width(self.size, level, index);
        if offset + count > width {
            return Err(out_of_range());
        }
        let tile = match cache.entry((level, index)) {
            Entry::Occupied(slot) => slot.into_mut(),
            Entry::Vacant(slot) => slot.insert(self.read_tile(level, index, width)?),
        };
        let run = tile.get(offset..offset + count).ok_or_else(out_of_range)?;
        Ok(subtree_root(run))
    }
}

impl HashReader for TileHashes<'_> {
    type Error = TileError;

    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TileError> {
        let mut cache = HashMap::new();
        ids.iter().map(|id| self.node(*id, &mut cache)).collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::ledger::merkle::{consistency_proof, tree_hash, verify_consistency, MerkleError};
    use crate::ledger::note::NoteSigner;

    const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/tlog-tiles");
    const LOG_KEY: &str = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";

    fn log_verifier() -> NoteVerifier {
        NoteVerifier::from_key(LOG_KEY).unwrap()
    }

    /// Verified checkpoints `checkpoint.0` ..= `checkpoint.15` of the vector log.
    fn vector_checkpoints() -> Vec<Checkpoint> {
        (0..=15)
            .map(|i| {
                let note = fs::read_to_string(format!("{VECTORS}/checkpoint.{i}")).unwrap();
                SignedCheckpoint::open(&note, &log_verifier()).unwrap().checkpoint
            })
            .collect()
    }

    fn root_of_entries(entries: &[Vec<u8>]) -> Hash {
        let mut range = CompactRange::new();
        for e in entries {
            range.push(leaf_hash(e));
        }
        range.root()
    }

    #[test]
    fn index_paths() {
        assert_eq!(index_path(0), "000");
        assert_eq!(index_path(5), "005");
        assert_eq!(index_path(1000), "x001/000");
        assert_eq!(index_path(1234067), "x001/x234/067");
        assert_eq!(tile_path(Some(0), 1234067, 256), "tile/0/x001/x234/067");
        assert_eq!(tile_path(None, 0, 15), "tile/entries/000.p/15");
        assert_eq!(tile_path(Some(2), 0, 1), "tile/2/000.p/1");
    }

    #[test]
    fn tile_widths_follow_spec_example() {
        // Spec: size 70,000 = 273 full level-0 tiles + partial of 112,
        // one full level-1 tile + partial of 17, partial level-2 of 1.
        let s = 70_000;
        assert_eq!(tile_width(s, 0, 272), 256);
        assert_eq!(tile_width(s, 0, 273), 112);
        assert_eq!(tile_width(s, 0, 274), 0);
        assert_eq!(tile_width(s, 1, 0), 256);
        assert_eq!(tile_width(s, 1, 1), 17);
        assert_eq!(tile_width(s, 2, 0), 1);
        assert_eq!(tile_width(s, 3, 0), 0);
        assert_eq!(tile_width(256, 0, 0), 256);
        assert_eq!(tile_width(256, 0, 1), 0);
        assert_eq!(tile_width(256, 1, 0), 1);
        assert_eq!(tile_width(u64::MAX, 7, 0), 255);
    }

    #[test]
    fn vector_log_entries_match_checkpoint() {
        let reader = TileReader::open(VECTORS).unwrap();
        let cp = reader.checkpoint(&log_verifier()).unwrap().checkpoint;
        assert_eq!(cp.size, 15);
        let entries: Vec<Vec<u8>> = reader.entries(cp.size).collect::<Result<_, _>>().unwrap();
        assert_eq!(entries.len(), 15);
        assert_eq!(entries[0], b"one");
        assert_eq!(root_of_entries(&entries), cp.root);
    }

    #[test]
    fn vector_log_tree_hash_from_tiles() {
        let reader = TileReader::open(VECTORS).unwrap();
        for cp in vector_checkpoints() {
            // Through the latest partial tile and through the size's own one.
            assert_eq!(tree_hash(cp.size, &reader.hashes(15)).unwrap(), cp.root);
            assert_eq!(tree_hash(cp.size, &reader.hashes(cp.size)).unwrap(), cp.root);
            let entries: Vec<_> = reader.entries(cp.size).collect::<Result<_, _>>().unwrap();
            assert_eq!(root_of_entries(&entries), cp.root);
        }
    }

    #[test]
    fn vector_log_consistency_between_all_checkpoints() {
        let reader = TileReader::open(VECTORS).unwrap();
        let hashes = reader.hashes(15);
        let cps = vector_checkpoints();
        // A proof from the empty tree is meaningless; the merkle module refuses it.
        assert!(consistency_proof(0, 15, &hashes).is_err());
        for old in cps.iter().filter(|c| c.size > 0) {
            for new in cps.iter().filter(|c| c.size > old.size) {
                let proof = consistency_proof(old.size, new.size, &hashes).unwrap();
                verify_consistency(old.size, new.size, &old.root, &new.root, &proof)
                    .unwrap_or_else(|e| panic!("{} -> {}: {e:?}", old.size, new.size));
            }
        }
    }

    fn entry(i: u64) -> Vec<u8> {
        // Varied lengths, including empty entries.
        let len = (i * 7 % 50) as usize;
        (0..len).map(|j| (i as usize + j) as u8).collect()
    }

    fn export(dir: &Path, n: u64, signer: &NoteSigner) -> Checkpoint {
        let mut writer = TileWriter::create(dir).unwrap();
        let mut range = CompactRange::new();
        for i in 0..n {
            writer.append(&entry(i)).unwrap();
            range.push(leaf_hash(&entry(i)));
        }
        let cp = Checkpoint {
            origin: signer.name().to_owned(),
            size: n,
            root: range.root(),
            extensions: vec![],
        };
        let signed = SignedCheckpoint::sign(cp, signer).unwrap();
        writer.finish(&signed.note).unwrap()
    }

    #[test]
    fn round_trip_exports() {
        let (signer, _) = NoteSigner::generate("isthmus.example/ledger").unwrap();
        for n in [0u64, 1, 255, 256, 257, 1000] {
            let tmp = tempfile::tempdir().unwrap();
            let written = export(tmp.path(), n, &signer);
            let reader = TileReader::open(tmp.path()).unwrap();
            let cp = reader.checkpoint(&signer.verifier()).unwrap().checkpoint;
            assert_eq!(cp, written);
            let entries: Vec<_> = reader.entries(n).collect::<Result<_, _>>().unwrap();
            let expected: Vec<_> = (0..n).map(entry).collect();
            assert_eq!(entries, expected, "size {n}");
            assert_eq!(tree_hash(n, &reader.hashes(n)).unwrap(), cp.root, "size {n}");
        }
    }

    #[test]
    fn export_layout_for_257() {
        let (signer, _) = NoteSigner::generate("isthmus.example/ledger").unwrap();
        let tmp = tempfile::tempdir().unwrap();
        export(tmp.path(), 257, &signer);
        let len = |rel: &str| fs::metadata(tmp.path().join(rel)).unwrap().len();
        assert_eq!(len("tile/0/000"), 8192);
        assert_eq!(len("tile/0/001.p/1"), 32);
        assert_eq!(len("tile/1/000.p/1"), 32);
        assert!(tmp.path().join("tile/entries/000").is_file());
        assert!(tmp.path().join("tile/entries/001.p/1").is_file());
        let mut count = 0;
        for dir in ["tile/0", "tile/1", "tile/entries"] {
            count += walk(&tmp.path().join(dir));
        }
        assert_eq!(count, 5, "no other tiles are written");
    }

    fn walk(p: &Path) -> usize {
        if p.is_file() {
            return 1;
        }
        fs::read_dir(p).unwrap().map(|e| walk(&e.unwrap().path())).sum()
    }

    #[test]
    fn oversized_entry_is_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        let mut writer = TileWriter::create(tmp.path()).unwrap();
        writer.append(&vec![0u8; MAX_ENTRY_LEN]).unwrap();
        let err = writer.append(&vec![0u8; MAX_ENTRY_LEN + 1]).unwrap_err();
        assert!(matches!(err, TileError::EntryTooLarge { len: 65_536 }));
        assert_eq!(writer.size(), 1);
    }

    #[test]
    fn finish_rejects_wrong_checkpoint() {
        let (signer, _) = NoteSigner::generate("isthmus.example/ledger").unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let mut writer = TileWriter::create(tmp.path()).unwrap();
        writer.append(b"a").unwrap();
        let cp = Checkpoint {
            origin: signer.name().to_owned(),
            size: 1,
            root: [0; 32],
            extensions: vec![],
        };
        let signed = SignedCheckpoint::sign(cp, &signer).unwrap();
        let err = writer.finish(&signed.note).unwrap_err();
        assert!(matches!(err, TileError::CheckpointMismatch { .. }));
        assert!(!tmp.path().join("checkpoint").exists());
    }

    #[test]
    fn create_refuses_non_empty_dir() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("stray"), b"x").unwrap();
        assert!(matches!(
            TileWriter::create(tmp.path()),
            Err(TileError::NotEmpty { .. })
        ));
    }

    /// Copy the vector log into a temp dir so it can be damaged.
    fn damaged_copy(edit: impl FnOnce(&Path)) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        for rel in ["checkpoint", "tile/0/000.p/15", "tile/entries/000.p/15"] {
            let data = fs::read(format!("{VECTORS}/{rel}")).unwrap();
            write_file(tmp.path(), rel, &data).unwrap();
        }
        edit(tmp.path());
        tmp
    }

    #[test]
    fn damaged_exports_report_path_and_problem() {
        let missing = damaged_copy(|d| fs::remove_file(d.join("tile/0/000.p/15")).unwrap());
        let reader = TileReader::open(missing.path()).unwrap();
        let err = tree_hash(15, &reader.hashes(15)).unwrap_err();
        assert!(
            matches!(&err, MerkleError::Read(TileError::Missing { path }) if path.ends_with("tile/0/000.p/15")),
            "{err:?}"
        );

        let short = damaged_copy(|d| {
            let p = d.join("tile/0/000.p/15");
            let data = fs::read(&p).unwrap();
            fs::write(&p, &data[..data.len() - 1]).unwrap();
        });
        let reader = TileReader::open(short.path()).unwrap();
        let err = tree_hash(15, &reader.hashes(15)).unwrap_err();
        assert!(
            matches!(err, MerkleError::Read(TileError::TileLength { actual: 479, .. })),
            "{err:?}"
        );

        let bad_prefix = damaged_copy(|d| {
            let p = d.join("tile/entries/000.p/15");
            let mut data = fs::read(&p).unwrap();
            data[0] = 0xff;
            fs::write(&p, data).unwrap();
        });
        let reader = TileReader::open(bad_prefix.path()).unwrap();
        let mut it = reader.entries(15);
        let err = it.next().unwrap().unwrap_err();
        assert!(err.to_string().contains("000.p/15"), "{err}");
        assert!(matches!(err, TileError::BadBundle { .. }));
        assert!(it.next().is_none());
    }

    #[test]
    fn nodes_beyond_size_are_rejected() {
        let reader = TileReader::open(VECTORS).unwrap();
        let hashes = reader.hashes(15);
        let err = hashes.read_hashes(&[NodeId { level: 0, index: 15 }]).unwrap_err();
        assert!(matches!(err, TileError::NodeOutOfRange { .. }));
        let err = hashes.read_hashes(&[NodeId { level: 4, index: 0 }]).unwrap_err();
        assert!(matches!(err, TileError::NodeOutOfRange { .. }));
        let ok = hashes.read_hashes(&[NodeId { level: 3, index: 0 }]).unwrap();
        assert_eq!(ok.len(), 1);
    }
}
