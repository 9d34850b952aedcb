"""RFC 9162 Merkle tree hashing and proof verification (§2.1).

The ledger is a Merkle tree over its entries, in the order they were
appended:

    leaf hash = SHA-256(0x00 || entry bytes)       (the LedgerEntry.entry bytes)
    node hash = SHA-256(0x01 || left || right)

The 0x00 / 0x01 prefixes keep a leaf from ever passing for an inner node.
A tree of n leaves splits at k, the largest power of two below n: the left
subtree holds leaves [0, k) and is complete, the right one holds [k, n).

An inclusion proof shows that one leaf is in the tree of a signed
checkpoint; a consistency proof shows that the tree of a later checkpoint
contains the earlier tree unchanged (append-only). Both verifiers below
follow the RFC's numbered steps; fn/sn are the positions of the current
node and of the last node on their level, shifted right by one per level.
"""

import hashlib
import hmac


class ProofError(Exception):
    """A Merkle proof that does not verify."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _check_path(proof):
    for p in proof:
        if len(p) != 32:
            raise ProofError(f"a proof hash is {len(p)} bytes, not 32")


def _same(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def verify_inclusion(leaf: bytes, index: int, size: int, proof, root: bytes) -> None:
    """RFC 9162 §2.1.3.2: leaf (a leaf hash) is at `index` in the tree of
    `size` leaves whose root is `root`. proof is the audit path, leaf to root.
    Raises ProofError."""
    _check_path(proof)
    if len(leaf) != 32 or len(root) != 32:
        raise ProofError("a leaf hash and a root are 32 bytes each")
    if index >= size:  # step 1
        raise ProofError(f"index {index} is not below tree size {size}")
    fn, sn = index, size - 1  # step 2
    r = leaf  # step 3
    for p in proof:  # step 4
        if sn == 0:  # 4a: we are at the root already, the path is too long
            raise ProofError("the proof is longer than the tree is tall")
        if fn & 1 or fn == sn:  # 4b: we are a right child (or the last node, promoted)
            r = node_hash(p, r)
            if not fn & 1:
                # The last node of a level with no right sibling moves up
                # unchanged; skip the levels where that happens.
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:  # we are a left child: p is our right sibling
            r = node_hash(r, p)
        fn >>= 1  # 4c: one level up
        sn >>= 1
    if sn != 0:  # step 5
        raise ProofError("the proof is shorter than the tree is tall")
    if not _same(r, root):
        raise ProofError("the proof does not lead to the checkpoint's root")


def verify_consistency(size1: int, size2: int, proof, root1: bytes, root2: bytes) -> None:
    """RFC 9162 §2.1.4.2: the tree of size2 leaves with root root2 extends
    the tree of size1 leaves with root root1. Raises ProofError.

    The size checks first follow transparency-dev/merkle, whose test vectors
    tests/vectors/merkle/ holds. The roots come from verified checkpoints,
    which are 32 bytes (note.parse_checkpoint)."""
    _check_path(proof)
    if size2 < size1:
        raise ProofError(f"tree size {size2} is smaller than {size1}: a log never shrinks")
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if size1 == size2:
        if proof:
            raise ProofError("equal sizes need an empty proof")
        if not _same(root1, root2):
            raise ProofError("two different roots for the same tree size: the log forked")
        return
    if not proof:  # step 1
        raise ProofError("empty consistency proof")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        # Step 2: the old tree is complete, so it is itself a node of the
        # new tree and the proof leaves it out: start from root1.
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1  # step 3
    while fn & 1:  # step 4: climb to the old tree's largest complete subtree
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # step 5: fr rebuilds root1, sr rebuilds root2
    for c in path[1:]:  # step 6
        if sn == 0:  # 6a
            raise ProofError("the proof is longer than the tree is tall")
        if fn & 1 or fn == sn:  # 6b: c lies to the left, in both trees
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:  # c lies to the right: only in the new tree
            sr = node_hash(sr, c)
        fn >>= 1  # 6c
        sn >>= 1
    if sn != 0:  # step 7
        raise ProofError("the proof is shorter than the tree is tall")
    if not _same(fr, root1):
        raise ProofError("the proof does not rebuild the old root")
    if not _same(sr, root2):
        raise ProofError("the proof does not rebuild the new root")
