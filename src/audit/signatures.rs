//! Alert signatures, verified in chunks with
//! [`crate::crypto::batch::verify_parallel`] — the same ZIP-215 rule ingest
//! applies one by one, so audit and ingest can never disagree — on every
//! core. Memory stays bounded: at most [`CHUNK`] pending signatures (their
//! `PAE(payload_type, payload)` messages) are held at once, and only the
//! first failure is kept.

use super::error::{AuditError, Reason};
use crate::crypto::batch::{verify_parallel, Item};
use crate::crypto::{PublicKey, Signature};

/// Signatures verified per call: large enough to keep every core busy with
/// full 512-item batches, small enough to bound memory (~64 MiB at the
/// 64 kB envelope limit, a few MiB for typical alerts).
pub const CHUNK: usize = 16_384;

/// One signature to check: `sig` by `key` over `msg`
/// (`PAE(payload_type, payload)`, DSSE v1), from entry `index`.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The roster key that must have signed.
    pub key: PublicKey,
    /// The signature as stored.
    pub sig: Signature,
    /// The signed bytes.
    pub msg: Vec<u8>,
}

/// Pending signatures of consecutive entries, verified a chunk at a time.
#[derive(Debug, Default)]
pub(crate) struct SigBatch {
    pending: Vec<(u64, Pending)>,
    checked: u64,
}

impl SigBatch {
    /// Queues the signature of entry `index`, verifying the chunk when full.
    pub fn push(&mut self, index: u64, p: Pending) -> Result<(), AuditError> {
        self.pending.push((index, p));
        if self.pending.len() >= CHUNK {
            return self.flush();
        }
        Ok(())
    }

    /// Verifies everything queued; the first bad signature is a failure at
    /// its entry.
    pub fn flush(&mut self) -> Result<(), AuditError> {
        let items: Vec<Item> = self
            .pending
            .iter()
            .map(|(_, p)| Item {
                key: &p.key,
                msg: &p.msg,
                sig: &p.sig,
            })
            .collect();
        let first_bad = verify_parallel(&items, 0).first().copied();
        self.checked += items.len() as u64;
        let result = match first_bad.and_then(|i| self.pending.get(i)) {
            Some((index, p)) => Err(AuditError::at(*index, Reason::BadSignature { key_id: p.key.key_id() })),
            None => Ok(()),
        };
        self.pending.clear();
        result
    }

    /// Signatures verified so far (all of them good unless a flush failed).
    pub fn checked(&self) -> u64 {
        self.checked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SigningKey;

    fn pending(key: &SigningKey, msg: &[u8]) -> Pending {
        Pending {
            key: key.public_key(),
            sig: key.sign(msg),
            msg: msg.to_vec(),
        }
    }

    #[test]
    fn reports_the_first_bad_entry_across_chunks() {
        let key = SigningKey::generate();
        let mut batch = SigBatch::default();
        for i in 0..(CHUNK as u64 + 100) {
            let mut p = pending(&key, &i.to_be_bytes());
            if i == CHUNK as u64 + 7 || i == CHUNK as u64 + 50 {
                p.msg.push(0);
            }
            batch.push(i * 2, p).unwrap();
        }
        let err = batch.flush().unwrap_err();
        let want = (CHUNK as u64 + 7) * 2;
        assert!(
            matches!(err, AuditError::Failure { index: Some(i), reason: Reason::BadSignature { .. } } if i == want)
        );
        assert_eq!(batch.checked(), CHUNK as u64 + 100);
    }

    #[test]
    fn empty_flush_is_fine() {
        assert!(SigBatch::default().flush().is_ok());
    }
}
