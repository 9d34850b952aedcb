//! Batch verification under the project rule (ZIP-215, see [`crate::crypto`]).
//! Items are checked in chunks with `ed25519_zebra::batch::Verifier`, which tests
//! the cofactored batch equation `[8](-(Σ z_i S_i) B + Σ z_i R_i + Σ (z_i k_i) A_i) = 0`
//! with random 128-bit `z_i` (Bernstein et al., "High-speed high-security
//! signatures", §4; ZIP-215). Valid items always pass a batch; a batch holding an
//! invalid item passes with probability at most 2^-128. A failed chunk is bisected
//! and every reported failure is finally decided by the single verifier
//! [`super::verify`], so batch and single verification report the same items.

use std::num::NonZeroUsize;

use ed25519_zebra::{batch, VerificationKeyBytes};
use rand_core::OsRng;

use super::ed25519::{verify, PublicKey, Signature};

/// Items per `batch::Verifier` call: large enough to amortise the multiscalar
/// multiplication, small enough that bisecting a failed chunk stays cheap.
const CHUNK: usize = 512;
/// Ranges at most this long are verified one by one instead of bisected further.
const SINGLE_BELOW: usize = 8;

/// One (key, message, signature) triple to verify.
#[derive(Clone, Copy, Debug)]
pub struct Item<'a> {
    /// Roster-grade key of the claimed signer.
    pub key: &'a PublicKey,
    /// The signed bytes.
    pub msg: &'a [u8],
    /// The signature to check.
    pub sig: &'a Signature,
}

/// The same triple without the roster-key guarantee (used for raw test vectors).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawItem<'a> {
    pub(crate) key: &'a [u8; 32],
    pub(crate) msg: &'a [u8],
    pub(crate) sig: &'a [u8; 64],
}

impl<'a> From<&Item<'a>> for RawItem<'a> {
    fn from(item: &Item<'a>) -> Self {
        RawItem {
            key: item.key.as_bytes(),
            msg: item.msg,
            sig: item.sig.as_bytes(),
        }
    }
}

/// Verify many (key, msg, sig) items under the same rule; returns the indices of
/// the items that fail, ascending (empty = all good).
pub fn verify_batch(items: &[Item]) -> Vec<usize> {
    verify_batch_raw(&to_raw(items))
}

/// Like [`verify_batch`], split across `threads` scoped threads
/// (`0` = `std::thread::available_parallelism`). Returns sorted failing indices.
pub fn verify_parallel(items: &[Item], threads: usize) -> Vec<usize> {
    verify_parallel_raw(&to_raw(items), threads)
}

fn to_raw<'a>(items: &[Item<'a>]) -> Vec<RawItem<'a>> {
    items.iter().map(RawItem::from).collect()
}

/// [`verify_batch`] over raw items.
pub(crate) fn verify_batch_raw(items: &[RawItem]) -> Vec<usize> {
    let mut failed = Vec::new();
    for (n, chunk) in items.chunks(CHUNK).enumerate() {
        find_failures(chunk, n * CHUNK, false, &mut failed);
    }
    failed
}

/// [`verify_parallel`] over raw items: contiguous shares, one per thread, so the
/// concatenated per-share results are already sorted.
pub(crate) fn verify_parallel_raw(items: &[RawItem], threads: usize) -> Vec<usize> {
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
        n => n,
    };
    let share = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(share)
            .enumerate()
            .map(|(n, part)| {
                scope.spawn(move || {
                    let failed = verify_batch_raw(part);
                    failed.into_iter().map(|i| i + n * share).collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// Appends to `failed` the indices (plus `offset`) of the invalid items, bisecting.
/// `known_bad`: the caller already saw this range fail as a batch.
fn find_failures(items: &[RawItem], offset: usize, known_bad: bool, failed: &mut Vec<usize>) {
    if items.len() <= SINGLE_BELOW {
        let bad = items.iter().enumerate().filter(|(_, it)| !single_ok(it));
        failed.extend(bad.map(|(i, _)| offset + i));
        return;
    }
    if !known_bad && batch_ok(items) {
        return;
    }
    let (left, right) = items.split_at(items.len() / 2);
    let before = failed.len();
    find_failures(left, offset, false, failed);
    // A valid left half means the failure is in the right half: skip re-batching it.
    let right_known_bad = failed.len() == before;
    find_failures(right, offset + left.len(), right_known_bad, failed);
}

fn single_ok(item: &RawItem) -> bool {
    verify(item.key, item.msg, item.sig).is_ok()
}

fn batch_ok(items: &[RawItem]) -> bool {
    let mut verifier = batch::Verifier::new();
    for it in items {
        let sig = ed25519_zebra::Signature::from_bytes(it.sig);
        verifier.queue((VerificationKeyBytes::from(*it.key), sig, it.msg));
    }
    verifier.verify(OsRng).is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::crypto::SigningKey;

    /// SplitMix64: deterministic, dependency-free test randomness.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// A pool of honestly signed (key index, message, signature) triples.
    struct Pool {
        keys: Vec<PublicKey>,
        msgs: Vec<Vec<u8>>,
        sigs: Vec<(usize, Signature)>,
    }

    fn pool(n: usize) -> Pool {
        let signers: Vec<_> = (0..5u8).map(|i| SigningKey::from_seed([i; 32])).collect();
        let keys = signers.iter().map(SigningKey::public_key).collect();
        let msgs: Vec<Vec<u8>> = (0..n).map(|i| format!("alert {i}").into_bytes()).collect();
        let sigs = msgs
            .iter()
            .enumerate()
            .map(|(i, m)| (i % 5, signers[i % 5].sign(m)))
            .collect();
        Pool { keys, msgs, sigs }
    }

    /// Owned batch: (key index, message, signature) plus which positions are bad.
    type Case = (Vec<(usize, Vec<u8>, Signature)>, Vec<usize>);

    fn corrupt(p: &Pool, rng: &mut Rng, entry: &mut (usize, Vec<u8>, Signature)) {
        match rng.below(3) {
            0 => {
                let mut b = entry.2.to_bytes();
                let bit = rng.below(512);
                b[bit / 8] ^= 1 << (bit % 8);
                entry.2 = Signature::from(b);
            }
            1 => entry.1.push(b'!'),
            _ => entry.0 = (entry.0 + 1 + rng.below(p.keys.len() - 1)) % p.keys.len(),
        }
    }

    fn case(p: &Pool, rng: &mut Rng, size: usize, bad: usize) -> Case {
        let mut entries: Vec<_> = (0..size)
            .map(|_| {
                let j = rng.below(p.sigs.len());
                (p.sigs[j].0, p.msgs[j].clone(), p.sigs[j].1)
            })
            .collect();
        let mut bad_at = Vec::new();
        while bad_at.len() < bad.min(size) {
            let i = rng.below(size);
            if !bad_at.contains(&i) {
                bad_at.push(i);
                corrupt(p, rng, &mut entries[i]);
            }
        }
        bad_at.sort_unstable();
        (entries, bad_at)
    }

    fn check(p: &Pool, (entries, bad): &Case) {
        let items: Vec<Item> = entries
            .iter()
            .map(|(k, m, s)| Item {
                key: &p.keys[*k],
                msg: m,
                sig: s,
            })
            .collect();
        assert_eq!(&verify_batch(&items), bad, "size {}", items.len());
        assert_eq!(&verify_parallel(&items, 0), bad);
        assert_eq!(&verify_parallel(&items, 3), bad);
    }

    #[test]
    fn random_batches_find_exactly_the_corrupted_items() {
        let p = pool(64);
        let mut rng = Rng(0x1517_2025);
        let mut sizes = vec![1, 2, 3, 8, 9, 17, 64, 255, 256, 257, 300];
        sizes.extend((0..6).map(|_| 1 + rng.below(300)));
        for size in sizes {
            let bad = rng.below(4);
            check(&p, &case(&p, &mut rng, size, bad));
        }
    }

    #[test]
    fn exactly_one_bad_signature_is_found() {
        let p = pool(64);
        let mut rng = Rng(7);
        // 700 items: spans two chunks, so the bad one may be in either.
        for _ in 0..2 {
            let c = case(&p, &mut rng, 700, 1);
            assert_eq!(c.1.len(), 1);
            check(&p, &c);
        }
    }

    #[test]
    fn empty_all_good_and_all_bad() {
        assert!(verify_batch(&[]).is_empty());
        assert!(verify_parallel(&[], 0).is_empty());
        let p = pool(40);
        let mut rng = Rng(99);
        check(&p, &case(&p, &mut rng, 40, 0));
        check(&p, &case(&p, &mut rng, 20, 20));
    }
}
