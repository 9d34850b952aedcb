//! Merkle tree maths for the ledger, as defined by RFC 9162 §2.1.
//!
//! Isthmus promises that its log is append-only and that every entry is in
//! it; clients check both promises with the RFC 9162 tree hash, inclusion
//! proofs and consistency proofs. This module holds that arithmetic and
//! nothing else: no I/O, no locking, no storage format. The caller stores the
//! hashes of *complete* subtrees, addressed by [`NodeId`] exactly as C2SP
//! tlog-tiles does (level `L`, index `K` is the hash of leaves
//! `[K*2^L, (K+1)*2^L)`), and hands them back through the one-method
//! [`HashReader`] seam, so memory, sled or tiles on disk can all plug in.
//! Proofs and roots for any tree size are built by folding `O(log n)` of those
//! stored hashes, never by rescanning leaves; [`CompactRange`] gives an
//! auditor the same root by streaming all leaves in `O(log n)` memory.

use ring::digest;

/// A SHA-256 output: a leaf hash, an interior node hash or a tree head.
pub type Hash = [u8; 32];

/// Length in bytes of a [`Hash`].
pub const HASH_SIZE: usize = 32;

/// Domain-separation prefix of a leaf hash (RFC 9162 §2.1.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash (RFC 9162 §2.1.1).
const NODE_PREFIX: u8 = 0x01;

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for part in parts {
        ctx.update(part);
    }
    let mut out = [0u8; HASH_SIZE];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The hash of the empty tree, `MTH({}) = SHA-256()`: SHA-256 of zero bytes
/// (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    sha256(&[])
}

/// The hash of one log entry, `MTH({d(0)}) = SHA-256(0x00 || entry)`
/// (RFC 9162 §2.1.1).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    sha256(&[&[LEAF_PREFIX], entry])
}

/// The hash of an interior node, `SHA-256(0x01 || left || right)`, where
/// `left` and `right` are the 32-byte hashes of its two subtrees
/// (RFC 9162 §2.1.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[NODE_PREFIX], left, right])
}

/// Address of a complete subtree: the hash of leaves
/// `[index * 2^level, (index + 1) * 2^level)`. Level 0 holds leaf hashes.
/// This is the C2SP tlog-tiles and Go `sumdb/tlog` addressing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves; the subtree spans `2^level` leaves.
    pub level: u8,
    /// Position among the subtrees of this level, counted from the left.
    pub index: u64,
}

impl NodeId {
    /// Shorthand constructor.
    pub fn new(level: u8, index: u64) -> Self {
        NodeId { level, index }
    }
}

/// One-method read seam: returns the stored hashes of complete subtrees.
pub trait HashReader {
    /// Storage failure, including "no such node".
    type Error: std::error::Error + Send + Sync + 'static;

    /// Returns one hash per id, in the order of `ids`.
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Self::Error>;
}

impl<T: HashReader + ?Sized> HashReader for &T {
    type Error = T::Error;

    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
        (**self).read_hashes(ids)
    }
}

/// Failure while computing a root or a proof from stored hashes.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum MerkleError<E> {
    /// An inclusion proof was asked for a leaf that is not in the tree.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// A consistency proof needs `0 < old_size <= new_size`.
    #[error("no consistency proof from size {old_size} to size {new_size}")]
    BadSizes { old_size: u64, new_size: u64 },
    /// `start_size + count` does not fit in a `u64`.
    #[error("appending {count} leaves at size {start_size} overflows the tree size")]
    SizeOverflow { start_size: u64, count: usize },
    /// The reader broke the [`HashReader`] contract.
    #[error("hash reader returned {got} hashes for {want} ids")]
    ShortRead { want: usize, got: usize },
    /// The reader failed.
    #[error("reading stored node hashes")]
    Read(#[source] E),
}

/// Why a proof was rejected.
#[non_exhaustive]
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// The new tree is smaller than the old one.
    #[error("new size {new_size} is smaller than old size {old_size}")]
    SizeDecreased { old_size: u64, new_size: u64 },
    /// Nothing can be proven about the empty tree (transparency-dev/merkle
    /// rejects `old_size == 0` even when `new_size == 0`).
    #[error("consistency proof from the empty tree is meaningless")]
    EmptyOldTree,
    /// Equal sizes need an empty proof.
    #[error("sizes are equal but the proof has {len} hashes")]
    NonEmptyProof { len: usize },
    /// Different sizes need a non-empty proof (RFC 9162 §2.1.4.2 step 1).
    #[error("consistency proof is empty")]
    EmptyProof,
    /// The proof has more hashes than the tree shape allows.
    #[error("proof of {len} hashes is too long")]
    ProofTooLong { len: usize },
    /// The proof has fewer hashes than the tree shape needs.
    #[error("proof of {len} hashes is too short")]
    ProofTooShort { len: usize },
    /// The recomputed root differs from the given root.
    #[error("recomputed root does not match the tree root")]
    RootMismatch,
    /// The recomputed old root differs from the given old root.
    #[error("recomputed old root does not match the old tree root")]
    OldRootMismatch,
    /// The recomputed new root differs from the given new root.
    #[error("recomputed new root does not match the new tree root")]
    NewRootMismatch,
}

/// Reads `ids` and checks the reader returned exactly one hash per id.
fn read<R: HashReader>(r: &R, ids: &[NodeId]) -> Result<Vec<Hash>, MerkleError<R::Error>> {
    let hashes = r.read_hashes(ids).map_err(MerkleError::Read)?;
    if hashes.len() != ids.len() {
        return Err(MerkleError::ShortRead {
            want: ids.len(),
            got: hashes.len(),
        });
    }
    Ok(hashes)
}

/// Level as stored in a [`NodeId`]; `level < 64` always holds for `u64` sizes.
fn level_u8(level: u32) -> u8 {
    // Levels come from bit positions of a u64, so they are below 64.
    level as u8
}

/// The complete subtrees covering leaves `[start, end)`, left to right,
/// largest first. `start` must be a multiple of the largest power of two not
/// above `end - start` (true for every subtree the RFC recursion visits).
fn subtree_ids(start: u64, end: u64) -> Vec<NodeId> {
    let mut ids = Vec::new();
    let mut pos = start;
    let mut rest = end - start;
    while rest != 0 {
        let level = 63 - rest.leading_zeros();
        ids.push(NodeId::new(level_u8(level), pos >> level));
        pos += 1 << level;
        rest -= 1 << level;
    }
    ids
}

/// The complete subtrees ("peaks") whose hashes determine the tree of
/// `size` leaves: one per set bit of `size`, left to right.
pub fn peak_ids(size: u64) -> Vec<NodeId> {
    subtree_ids(0, size)
}

/// Folds subtree hashes, given left to right with decreasing sizes, into the
/// hash of their union: `node_hash(h0, node_hash(h1, ... hn))`, each step
/// hashing `0x01 || left || right` (RFC 9162 §2.1.1, splitting at the largest
/// power of two below the size). Empty input gives [`empty_root`].
fn fold_right(hashes: &[Hash]) -> Hash {
    let mut it = hashes.iter().rev();
    match it.next() {
        None => empty_root(),
        Some(last) => it.fold(*last, |acc, left| node_hash(left, &acc)),
    }
}

/// Streaming tree hash in `O(log n)` memory: the hashes of the complete
/// subtrees (peaks) of the leaves pushed so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    /// One hash per set bit of `size`, largest subtree first.
    peaks: Vec<Hash>,
}

impl CompactRange {
    /// The empty range (size 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// Resumes from stored peaks, as listed by [`peak_ids`]`(size)`.
    /// Returns `None` if the number of peaks does not match `size`.
    pub fn from_peaks(size: u64, peaks: Vec<Hash>) -> Option<Self> {
        (peaks.len() == size.count_ones() as usize).then_some(CompactRange { size, peaks })
    }

    /// Reads the peaks of the tree of `size` leaves in one `read_hashes` call.
    pub fn load<R: HashReader>(size: u64, r: &R) -> Result<Self, MerkleError<R::Error>> {
        let peaks = read(r, &peak_ids(size))?;
        Ok(CompactRange { size, peaks })
    }

    /// Number of leaves pushed (or resumed from).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The peak hashes, largest subtree first.
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// Appends one leaf hash (already `SHA-256(0x00 || entry)`).
    pub fn push(&mut self, leaf_hash: Hash) {
        self.push_reporting(leaf_hash, |_, _| {});
    }

    /// Appends one leaf hash and reports every subtree it completes, the leaf
    /// itself first, then upwards. Each parent is
    /// `SHA-256(0x01 || left || right)` (RFC 9162 §2.1.1).
    fn push_reporting(&mut self, leaf_hash: Hash, mut report: impl FnMut(NodeId, Hash)) {
        let (mut id, mut hash) = (NodeId::new(0, self.size), leaf_hash);
        report(id, hash);
        while id.index & 1 == 1 {
            // Invariant: one peak per set bit of `size`, so an odd index
            // always has a left sibling on the stack.
            let Some(left) = self.peaks.pop() else { break };
            hash = node_hash(&left, &hash);
            id = NodeId::new(id.level + 1, id.index >> 1);
            report(id, hash);
        }
        self.peaks.push(hash);
        // 2^64 pushes cannot happen in practice.
        self.size += 1;
    }

    /// `MTH(D[size])` of RFC 9162 §2.1.1: the peaks folded right to left,
    /// each step hashing `0x01 || left || right`; SHA-256 of `""` when empty.
    pub fn root(&self) -> Hash {
        fold_right(&self.peaks)
    }
}

/// The complete-subtree hashes that become stored when `leaf_hashes` are
/// appended at positions `start_size..`: every newly completed `(NodeId,
/// Hash)`, in order (for each leaf: its level-0 hash, then each parent it
/// completes, bottom up). Parents hash `0x01 || left || right`
/// (RFC 9162 §2.1.1). Older left siblings are the peaks of `start_size`, read
/// in one call; siblings completed within the batch come from memory.
pub fn hashes_for_append<R: HashReader>(
    start_size: u64,
    leaf_hashes: &[Hash],
    r: &R,
) -> Result<Vec<(NodeId, Hash)>, MerkleError<R::Error>> {
    let fits = u64::try_from(leaf_hashes.len())
        .ok()
        .and_then(|count| start_size.checked_add(count));
    if fits.is_none() {
        let count = leaf_hashes.len();
        return Err(MerkleError::SizeOverflow { start_size, count });
    }
    let mut range = CompactRange::load(start_size, r)?;
    let mut out = Vec::with_capacity(leaf_hashes.len() * 2);
    for leaf in leaf_hashes {
        range.push_reporting(*leaf, |id, hash| out.push((id, hash)));
    }
    Ok(out)
}

/// `MTH(D[size])` (RFC 9162 §2.1.1) from the `popcount(size)` stored peaks,
/// read in one call and folded by hashing `0x01 || left || right`.
pub fn tree_hash<R: HashReader>(size: u64, r: &R) -> Result<Hash, MerkleError<R::Error>> {
    Ok(CompactRange::load(size, r)?.root())
}

/// Reads all groups in one call and folds each group into one subtree hash
/// with `0x01 || left || right` steps (RFC 9162 §2.1.1).
fn read_groups<R: HashReader>(groups: &[Vec<NodeId>], r: &R) -> Result<Vec<Hash>, MerkleError<R::Error>> {
    let hashes = read(r, &groups.concat())?;
    let mut rest = hashes.as_slice();
    let mut out = Vec::with_capacity(groups.len());
    for group in groups {
        // `read` checked one hash per id, so every group's hashes are there.
        let (head, tail) = rest.split_at(group.len());
        out.push(fold_right(head));
        rest = tail;
    }
    Ok(out)
}

/// `PATH(index, D[size])` as groups of complete subtrees, bottom up: at each
/// level the sibling of the node holding `index`, cut at `size`, if it exists.
fn inclusion_groups(index: u64, size: u64) -> Vec<Vec<NodeId>> {
    let mut groups = Vec::new();
    let mut level = 0;
    while level < 64 && (1u64 << level) < size {
        let sibling = ((index >> level) ^ 1) << level;
        if sibling < size {
            let end = sibling.saturating_add(1 << level).min(size);
            groups.push(subtree_ids(sibling, end));
        }
        level += 1;
    }
    groups
}

/// The inclusion proof `PATH(index, D[size])` of RFC 9162 §2.1.3.1, bottom
/// up. Each element is a subtree hash; a subtree cut by the right edge of the
/// tree is folded from its stored complete parts with
/// `SHA-256(0x01 || left || right)` (§2.1.1). One `read_hashes` call of at
/// most ~2·log2(size) ids.
pub fn inclusion_proof<R: HashReader>(index: u64, size: u64, r: &R) -> Result<Vec<Hash>, MerkleError<R::Error>> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    read_groups(&inclusion_groups(index, size), r)
}

/// Largest power of two strictly below `n`; needs `n >= 2`.
fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// `SUBPROOF(m, D[start:end], complete)` of RFC 9162 §2.1.4.1, as groups of
/// complete subtrees appended to `out` in proof order. Needs `0 < m <= n`.
fn subproof(m: u64, start: u64, end: u64, complete: bool, out: &mut Vec<Vec<NodeId>>) {
    let n = end - start;
    if m == n {
        if !complete {
            out.push(subtree_ids(start, end));
        }
        return;
    }
    let k = split_point(n);
    if m <= k {
        subproof(m, start, start + k, complete, out);
        out.push(subtree_ids(start + k, end));
    } else {
        subproof(m - k, start + k, end, false, out);
        out.push(subtree_ids(start, start + k));
    }
}

/// The consistency proof `PROOF(old_size, D[new_size])` of RFC 9162
/// §2.1.4.1; empty when the sizes are equal. Needs `0 < old_size <= new_size`.
/// Subtrees cut by the right edge are folded from stored complete parts with
/// `SHA-256(0x01 || left || right)` (§2.1.1). One `read_hashes` call.
pub fn consistency_proof<R: HashReader>(
    old_size: u64,
    new_size: u64,
    r: &R,
) -> Result<Vec<Hash>, MerkleError<R::Error>> {
    if old_size == 0 || old_size > new_size {
        return Err(MerkleError::BadSizes { old_size, new_size });
    }
    let mut groups = Vec::new();
    subproof(old_size, 0, new_size, true, &mut groups);
    read_groups(&groups, r)
}

/// Right-shifts `fn_` and `sn` together until `fn_` is odd or zero
/// (RFC 9162 §2.1.3.2 step 4 and §2.1.4.2 step 6).
fn shift_to_odd_or_zero(fn_: &mut u64, sn: &mut u64) {
    while *fn_ != 0 && *fn_ & 1 == 0 {
        *fn_ >>= 1;
        *sn >>= 1;
    }
}

/// Verifies an inclusion proof with the algorithm of RFC 9162 §2.1.3.2,
/// hashing `0x01 || p || r` or `0x01 || r || p` per proof element.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut fn_, mut sn, mut r) = (index, size - 1, *leaf_hash);
    for p in proof {
        if sn == 0 {
            return Err(ProofError::ProofTooLong { len: proof.len() });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            shift_to_odd_or_zero(&mut fn_, &mut sn);
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::ProofTooShort { len: proof.len() });
    }
    (r == *root).then_some(()).ok_or(ProofError::RootMismatch)
}

/// Size checks before §2.1.4.2, following transparency-dev/merkle: sizes
/// must not shrink, the old tree must not be empty, and equal sizes need an
/// empty proof and equal roots.
fn check_consistency_sizes(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<bool, ProofError> {
    if new_size < old_size {
        return Err(ProofError::SizeDecreased { old_size, new_size });
    }
    if old_size == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    if old_size < new_size {
        return Ok(false);
    }
    if !proof.is_empty() {
        return Err(ProofError::NonEmptyProof { len: proof.len() });
    }
    (old_root == new_root)
        .then_some(true)
        .ok_or(ProofError::NewRootMismatch)
}

/// Verifies a consistency proof with the algorithm of RFC 9162 §2.1.4.2,
/// hashing `0x01 || c || fr`, `0x01 || c || sr` or `0x01 || sr || c` per
/// proof element. Sizes are checked first as transparency-dev/merkle does:
/// `old_size == 0` is always rejected, and `old_size == new_size` needs an
/// empty proof and `old_root == new_root`.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if check_consistency_sizes(old_size, new_size, old_root, new_root, proof)? {
        return Ok(());
    }
    // Steps 1, 2 and 5: non-empty path; seed with old_root if old_size = 2^k.
    let (seed, rest) = match proof.split_first() {
        None => return Err(ProofError::EmptyProof),
        Some(_) if old_size.is_power_of_two() => (*old_root, proof),
        Some((first, rest)) => (*first, rest),
    };
    // Steps 3 and 4.
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (fr, sr) = chain_consistency(fn_, sn, seed, rest, proof.len())?;
    // Step 7.
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    (sr == *new_root).then_some(()).ok_or(ProofError::NewRootMismatch)
}

/// Step 6 of RFC 9162 §2.1.4.2 plus the `sn == 0` check of step 7: returns
/// `(fr, sr)`.
fn chain_consistency(
    mut fn_: u64,
    mut sn: u64,
    seed: Hash,
    rest: &[Hash],
    len: usize,
) -> Result<(Hash, Hash), ProofError> {
    let (mut fr, mut sr) = (seed, seed);
    for c in rest {
        if sn == 0 {
            return Err(ProofError::ProofTooLong { len });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            shift_to_odd_or_zero(&mut fn_, &mut sn);
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::ProofTooShort { len });
    }
    Ok((fr, sr))
}

/// A node asked of [`MemoryHashes`] is not stored.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("node hash {0:?} is not stored")]
pub struct MissingNode(pub NodeId);

/// In-memory store of every complete-subtree hash, for tests, benches and
/// export readers. `levels[l][k]` is the hash of [`NodeId`] `(l, k)`.
#[derive(Clone, Debug, Default)]
pub struct MemoryHashes {
    levels: Vec<Vec<Hash>>,
}

impl MemoryHashes {
    /// Appends leaf hashes, storing each subtree they complete; parents hash
    /// `0x01 || left || right` (RFC 9162 §2.1.1).
    pub fn append(&mut self, leaf_hashes: &[Hash]) {
        for leaf in leaf_hashes {
            self.store(0, *leaf);
        }
    }

    /// Stores `hash` as the next node of `level` and completes its parent.
    #[expect(clippy::indexing_slicing, reason = "levels[level] exists: it is pushed when missing")]
    fn store(&mut self, level: usize, hash: Hash) {
        if self.levels.len() == level {
            self.levels.push(Vec::new());
        }
        let row = &mut self.levels[level];
        row.push(hash);
        let parent = match row.as_slice() {
            [.., left, right] if row.len().is_multiple_of(2) => node_hash(left, right),
            _ => return,
        };
        self.store(level + 1, parent);
    }

    /// Number of leaves stored.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    fn get(&self, id: NodeId) -> Option<Hash> {
        let row = self.levels.get(usize::from(id.level))?;
        row.get(usize::try_from(id.index).ok()?).copied()
    }
}

impl HashReader for MemoryHashes {
    type Error = MissingNode;

    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MissingNode> {
        ids.iter().map(|&id| self.get(id).ok_or(MissingNode(id))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine;
    use serde::Deserialize;
    use std::cell::Cell;
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/merkle");

    #[derive(Deserialize)]
    struct TreeVectors {
        leaf_inputs_hex: Vec<String>,
        root_by_tree_size_hex: Vec<String>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct InclusionProbe {
        leaf_idx: u64,
        tree_size: u64,
        root: String,
        leaf_hash: String,
        proof: Option<Vec<String>>,
        desc: String,
        want_err: bool,
    }

    #[derive(Deserialize)]
    struct ConsistencyProbe {
        size1: u64,
        size2: u64,
        root1: String,
        root2: String,
        proof: Option<Vec<String>>,
        desc: String,
        #[serde(rename = "wantErr")]
        want_err: bool,
    }

    fn tree_vectors() -> TreeVectors {
        let text = std::fs::read_to_string(format!("{VECTORS}/rfc6962-tree.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn reference_leaves() -> Vec<Hash> {
        let v = tree_vectors();
        v.leaf_inputs_hex
            .iter()
            .map(|h| leaf_hash(&hex::decode(h).unwrap()))
            .collect()
    }

    fn hex_hash(s: &str) -> Hash {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    /// All JSON files under `dir`, recursively, sorted.
    fn json_files(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(json_files(&path));
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
        out.sort();
        out
    }

    fn load<T: for<'de> Deserialize<'de>>(path: &Path) -> T {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// A base64 field that must be a 32-byte hash (leaf hash, proof element).
    /// Go checks the leaf-hash length at run time; here the type does, so a
    /// field of another length is a rejection before verification.
    fn strict_hash(b64: &str) -> Option<Hash> {
        B64.decode(b64).unwrap().try_into().ok()
    }

    fn strict_proof(proof: &Option<Vec<String>>) -> Option<Vec<Hash>> {
        proof.iter().flatten().map(|p| strict_hash(p)).collect()
    }

    /// A base64 root. Roots are only compared for equality, and Go accepts
    /// any byte string there ("don't care 1"), so a root of another length is
    /// mapped injectively to a 32-byte stand-in that no real root equals.
    fn lenient_root(b64: &str) -> Hash {
        let bytes = B64.decode(b64).unwrap();
        bytes.clone().try_into().unwrap_or_else(|_| {
            assert!(bytes.len() < 31, "stand-in needs room");
            let mut h = [0xa5u8; 32];
            h[..bytes.len()].copy_from_slice(&bytes);
            h[31] = bytes.len() as u8;
            h
        })
    }

    fn check_inclusion_probe(p: &InclusionProbe) -> bool {
        let (Some(leaf), Some(proof)) = (strict_hash(&p.leaf_hash), strict_proof(&p.proof)) else {
            return false;
        };
        let root = lenient_root(&p.root);
        verify_inclusion(&leaf, p.leaf_idx, p.tree_size, &proof, &root).is_ok()
    }

    fn check_consistency_probe(p: &ConsistencyProbe) -> bool {
        let Some(proof) = strict_proof(&p.proof) else {
            return false;
        };
        let (r1, r2) = (lenient_root(&p.root1), lenient_root(&p.root2));
        verify_consistency(p.size1, p.size2, &r1, &r2, &proof).is_ok()
    }

    /// Runs every probe in every subfolder of `kind`; returns cases per folder.
    fn run_vectors(kind: &str, check: impl Fn(&Path) -> (bool, bool, String)) -> BTreeMap<String, usize> {
        let root = PathBuf::from(VECTORS).join(kind);
        let mut counts = BTreeMap::new();
        for path in json_files(&root) {
            let folder = path.parent().unwrap().strip_prefix(&root).unwrap();
            *counts.entry(folder.display().to_string()).or_insert(0) += 1;
            let (ok, want_err, desc) = check(&path);
            assert_eq!(ok, !want_err, "{}: {desc}", path.display());
        }
        counts
    }

    #[test]
    fn inclusion_vectors() {
        let counts = run_vectors("inclusion", |path| {
            let p: InclusionProbe = load(path);
            (check_inclusion_probe(&p), p.want_err, p.desc.clone())
        });
        assert!(counts.len() >= 10, "{counts:?}");
        assert!(counts.values().all(|&n| n > 0), "{counts:?}");
        assert_eq!(counts.values().sum::<usize>(), 98, "{counts:?}");
    }

    #[test]
    fn consistency_vectors() {
        let counts = run_vectors("consistency", |path| {
            let p: ConsistencyProbe = load(path);
            (check_consistency_probe(&p), p.want_err, p.desc.clone())
        });
        assert_eq!(counts.len(), 6, "{counts:?}");
        assert!(counts.values().all(|&n| n > 0), "{counts:?}");
        assert_eq!(counts.values().sum::<usize>(), 98, "{counts:?}");
    }

    fn memory_tree(leaves: &[Hash]) -> MemoryHashes {
        let mut m = MemoryHashes::default();
        m.append(leaves);
        m
    }

    fn test_leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn reference_tree_roots() {
        let v = tree_vectors();
        let leaves = reference_leaves();
        let tree = memory_tree(&leaves);
        assert_eq!(v.root_by_tree_size_hex.len(), 9);
        for (size, want) in v.root_by_tree_size_hex.iter().enumerate() {
            let want = hex_hash(want);
            assert_eq!(tree_hash(size as u64, &tree).unwrap(), want, "size {size}");
            let mut range = CompactRange::new();
            leaves[..size].iter().for_each(|l| range.push(*l));
            assert_eq!(range.size(), size as u64);
            assert_eq!(range.root(), want, "compact range size {size}");
        }
        assert_eq!(empty_root(), hex_hash(&v.root_by_tree_size_hex[0]));
    }

    #[test]
    fn generated_proofs_match_vector_happy_paths() {
        let tree = memory_tree(&reference_leaves());
        let mut checked = 0;
        for path in json_files(&PathBuf::from(VECTORS).join("inclusion")) {
            let p: InclusionProbe = load(&path);
            if p.desc == "happy path" {
                let got = inclusion_proof(p.leaf_idx, p.tree_size, &tree).unwrap();
                assert_eq!(Some(got), strict_proof(&p.proof), "{}", path.display());
                checked += 1;
            }
        }
        for path in json_files(&PathBuf::from(VECTORS).join("consistency")) {
            let p: ConsistencyProbe = load(&path);
            if p.desc == "happy path" {
                let got = consistency_proof(p.size1, p.size2, &tree).unwrap();
                assert_eq!(Some(got), strict_proof(&p.proof), "{}", path.display());
                checked += 1;
            }
        }
        assert_eq!(checked, 10);
    }

    #[test]
    fn generated_inclusion_proofs_verify() {
        let tree = memory_tree(&test_leaves(64));
        let leaves = test_leaves(64);
        for size in 1..=64u64 {
            let root = tree_hash(size, &tree).unwrap();
            for index in 0..size {
                let proof = inclusion_proof(index, size, &tree).unwrap();
                let leaf = &leaves[index as usize];
                assert_eq!(verify_inclusion(leaf, index, size, &proof, &root), Ok(()));
                let other = leaf_hash(b"other");
                assert!(verify_inclusion(&other, index, size, &proof, &root).is_err());
            }
            let err = inclusion_proof(size, size, &tree).unwrap_err();
            assert!(matches!(err, MerkleError::IndexOutOfRange { .. }));
        }
    }

    #[test]
    fn generated_consistency_proofs_verify() {
        let tree = memory_tree(&test_leaves(64));
        let roots: Vec<Hash> = (0..=64).map(|s| tree_hash(s, &tree).unwrap()).collect();
        for new in 1..=64u64 {
            for old in 1..=new {
                let proof = consistency_proof(old, new, &tree).unwrap();
                let (r1, r2) = (&roots[old as usize], &roots[new as usize]);
                assert_eq!(verify_consistency(old, new, r1, r2, &proof), Ok(()), "{old}->{new}");
                if old < new {
                    assert!(verify_consistency(old, new, r2, r1, &proof).is_err());
                    assert!(verify_consistency(old, new, r1, r2, &proof[1..]).is_err());
                }
            }
        }
        assert!(matches!(
            consistency_proof(0, 5, &tree),
            Err(MerkleError::BadSizes { .. })
        ));
        assert!(matches!(
            consistency_proof(6, 5, &tree),
            Err(MerkleError::BadSizes { .. })
        ));
    }

    /// A store built only through `hashes_for_append`.
    #[derive(Default)]
    struct MapStore(BTreeMap<NodeId, Hash>);

    impl HashReader for MapStore {
        type Error = MissingNode;

        fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MissingNode> {
            ids.iter()
                .map(|id| self.0.get(id).copied().ok_or(MissingNode(*id)))
                .collect()
        }
    }

    fn append_in_batches(leaves: &[Hash], batches: &[usize]) -> (MapStore, Vec<(NodeId, Hash)>) {
        let (mut store, mut all, mut pos) = (MapStore::default(), Vec::new(), 0);
        for &len in batches.iter().cycle() {
            if pos == leaves.len() {
                break;
            }
            let batch = &leaves[pos..(pos + len).min(leaves.len())];
            let new = hashes_for_append(pos as u64, batch, &store).unwrap();
            store.0.extend(new.iter().copied());
            all.extend(new);
            pos += batch.len();
        }
        (store, all)
    }

    #[test]
    fn append_batches_match_one_at_a_time() {
        let leaves = test_leaves(300);
        let (one_store, one) = append_in_batches(&leaves, &[1]);
        let (batch_store, batched) = append_in_batches(&leaves, &[3, 1, 7, 2, 16, 5, 64, 11, 0]);
        assert_eq!(one, batched);
        assert_eq!(one_store.0, batch_store.0);
        assert_eq!(hashes_for_append(0, &leaves, &MapStore::default()).unwrap(), one);
        let mem = memory_tree(&leaves);
        let ids: Vec<NodeId> = one_store.0.keys().copied().collect();
        let want: Vec<Hash> = one_store.0.values().copied().collect();
        assert_eq!(mem.read_hashes(&ids).unwrap(), want);
        assert_eq!(ids.len(), 2 * 300 - 300usize.count_ones() as usize);
        for size in [0, 1, 77, 256, 300] {
            assert_eq!(tree_hash(size, &batch_store).unwrap(), tree_hash(size, &mem).unwrap());
        }
    }

    #[test]
    fn compact_range_matches_tree_hash_and_resumes() {
        let leaves = test_leaves(200);
        let mem = memory_tree(&leaves);
        let mut range = CompactRange::new();
        for (i, leaf) in leaves.iter().enumerate() {
            range.push(*leaf);
            assert_eq!(range.root(), tree_hash(i as u64 + 1, &mem).unwrap());
        }
        let mut resumed = CompactRange::load(150, &mem).unwrap();
        leaves[150..].iter().for_each(|l| resumed.push(*l));
        assert_eq!(resumed, range);
        assert!(CompactRange::from_peaks(3, vec![empty_root()]).is_none());
    }

    struct CountingReader<'a> {
        inner: &'a MemoryHashes,
        ids: Cell<usize>,
        calls: Cell<usize>,
    }

    impl HashReader for CountingReader<'_> {
        type Error = MissingNode;

        fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MissingNode> {
            self.ids.set(self.ids.get() + ids.len());
            self.calls.set(self.calls.get() + 1);
            self.inner.read_hashes(ids)
        }
    }

    #[test]
    fn million_leaf_proofs_read_log_n_hashes() {
        let size = 1_000_000u64;
        let mem = memory_tree(&test_leaves(size));
        assert_eq!(mem.size(), size);
        let counter = CountingReader {
            inner: &mem,
            ids: Cell::new(0),
            calls: Cell::new(0),
        };
        let root = tree_hash(size, &mem).unwrap();
        for index in [0, 1, 524_287, 524_288, 999_998, 999_999] {
            counter.ids.set(0);
            counter.calls.set(0);
            let proof = inclusion_proof(index, size, &counter).unwrap();
            assert!(counter.ids.get() <= 2 * 64, "{} reads", counter.ids.get());
            assert_eq!(counter.calls.get(), 1);
            let leaf = leaf_hash(&index.to_be_bytes());
            assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));
        }
        counter.ids.set(0);
        let proof = consistency_proof(777_777, size, &counter).unwrap();
        assert!(counter.ids.get() <= 2 * 64);
        let old = tree_hash(777_777, &mem).unwrap();
        assert_eq!(verify_consistency(777_777, size, &old, &root, &proof), Ok(()));
    }

    #[test]
    fn huge_tree_proof_shape_is_logarithmic() {
        // Shapes only: a 2^40-leaf tree cannot be stored, but the ids asked for can be counted.
        let size = (1u64 << 40) + 12_345;
        let ids: usize = inclusion_groups(size - 1, size).iter().map(Vec::len).sum();
        assert!(ids <= 2 * 64);
        assert_eq!(peak_ids(size).len(), size.count_ones() as usize);
        let full = u64::MAX;
        let ids: usize = inclusion_groups(full - 1, full).iter().map(Vec::len).sum();
        assert!(ids <= 2 * 64);
    }

    #[test]
    fn hash_definitions() {
        assert_eq!(leaf_hash(b""), sha256(&[&[0u8]]));
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let mut bytes = vec![1u8];
        bytes.extend_from_slice(&a);
        bytes.extend_from_slice(&b);
        assert_eq!(node_hash(&a, &b), sha256(&[&bytes]));
        assert_eq!(HASH_SIZE, a.len());
    }

    #[test]
    fn verify_rejects_bad_sizes() {
        let h = empty_root();
        assert_eq!(
            verify_inclusion(&h, 3, 3, &[], &h),
            Err(ProofError::IndexOutOfRange { index: 3, size: 3 })
        );
        assert_eq!(verify_consistency(0, 0, &h, &h, &[]), Err(ProofError::EmptyOldTree));
        assert_eq!(verify_consistency(2, 3, &h, &h, &[]), Err(ProofError::EmptyProof));
        assert_eq!(verify_consistency(4, 4, &h, &h, &[]), Ok(()));
        assert_eq!(
            verify_consistency(3, 2, &h, &h, &[]),
            Err(ProofError::SizeDecreased {
                old_size: 3,
                new_size: 2
            })
        );
    }
}
