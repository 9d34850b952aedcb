//! Alert signatures, verified in chunks with
//! [`crate::crypto::batch::verify_parallel`] under the cofactored (ZIP-215)
//! rule, which accepts everything the strict rule ingest applies accepts, so
//! the audit can never reject what ingest accepted ([`crate::crypto`]) — on every
//! core, on a worker thread so the scan goes on meanwhile. Memory stays
//! bounded: at most three chunks of [`CHUNK`] signatures (with their
//! `PAE(payload_type, payload)` messages) exist at once, and only the first
//! failure is kept.

use std::sync::mpsc;

use super::error::{AuditError, Reason, Unusable};
use super::report::CofactoredOnlyCount;
use crate::crypto::batch::{verify_parallel, Item};
use crate::crypto::{PublicKey, Rule, Signature};

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

/// Pending signatures of consecutive entries, verified a chunk at a time
/// on a worker thread while the scan goes on (the scan and the verifier
/// share the cores). At most three chunks exist at once: one filling, one
/// queued, one being verified. Results come back in order, so the first
/// failure received is the earliest.
#[derive(Debug)]
pub(crate) struct SigBatch {
    pending: Vec<(u64, Pending)>,
    /// `None` only while dropping, to stop the worker.
    jobs: Option<mpsc::SyncSender<Vec<(u64, Pending)>>>,
    worker: Option<std::thread::JoinHandle<()>>,
    results: mpsc::Receiver<Result<Vec<u64>, AuditError>>,
    in_flight: usize,
    checked: u64,
    strict: bool,
    cofactored_only: CofactoredOnlyCount,
}

impl Default for SigBatch {
    fn default() -> Self {
        SigBatch::new(false)
    }
}

impl SigBatch {
    /// A batch verifier; with `strict`, it also finds the signatures that
    /// hold only under the cofactored rule (one ring verification each).
    pub(super) fn new(strict: bool) -> Self {
        let (jobs, queue) = mpsc::sync_channel::<Vec<(u64, Pending)>>(1);
        let (done, results) = mpsc::channel();
        let worker = std::thread::spawn(move || {
            for chunk in queue {
                if done.send(verify_chunk(&chunk, strict)).is_err() {
                    break;
                }
            }
        });
        SigBatch {
            pending: Vec::with_capacity(CHUNK),
            jobs: Some(jobs),
            worker: Some(worker),
            results,
            in_flight: 0,
            checked: 0,
            strict,
            cofactored_only: CofactoredOnlyCount::default(),
        }
    }
    /// Queues the signature of entry `index`; a full chunk goes to the
    /// verifier. Fails with the first bad signature known so far.
    pub(super) fn push(&mut self, index: u64, p: Pending) -> Result<(), AuditError> {
        self.pending.push((index, p));
        if self.pending.len() < CHUNK {
            return Ok(());
        }
        self.send()?;
        while let Ok(result) = self.results.try_recv() {
            self.in_flight -= 1;
            self.cofactored_only.add(result?);
        }
        Ok(())
    }

    /// Verifies everything queued; the first bad signature is a failure at
    /// its entry.
    pub(super) fn flush(&mut self) -> Result<(), AuditError> {
        if !self.pending.is_empty() {
            self.send()?;
        }
        while self.in_flight > 0 {
            let result = self.results.recv().map_err(|_| Unusable::VerifierStopped)?;
            self.in_flight -= 1;
            self.cofactored_only.add(result?);
        }
        Ok(())
    }

    /// Hands the filling chunk to the verifier thread (or, should it have
    /// stopped, verifies it here).
    fn send(&mut self) -> Result<(), AuditError> {
        let chunk = std::mem::replace(&mut self.pending, Vec::with_capacity(CHUNK));
        self.checked += chunk.len() as u64;
        let inline = match &self.jobs {
            None => chunk,
            Some(jobs) => match jobs.send(chunk) {
                Ok(()) => {
                    self.in_flight += 1;
                    return Ok(());
                }
                Err(mpsc::SendError(chunk)) => chunk,
            },
        };
        let found = verify_chunk(&inline, self.strict)?;
        self.cofactored_only.add(found);
        Ok(())
    }

    /// What `strict` found so far (`None` without `strict`).
    pub(super) fn cofactored_only(&self) -> Option<CofactoredOnlyCount> {
        self.strict.then(|| self.cofactored_only.clone())
    }

    /// Signatures verified or being verified (all good unless a flush failed).
    pub(super) fn checked(&self) -> u64 {
        self.checked
    }
}

/// The worker ends once its queue closes (after at most the two chunks it
/// may still hold); the audit returns only after it has.
impl Drop for SigBatch {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// Verifies one chunk on every core; the first bad signature is a failure
/// at its entry. With `strict`, returns the entries whose signatures fail the
/// strict rule (all good under the cofactored one).
fn verify_chunk(chunk: &[(u64, Pending)], strict: bool) -> Result<Vec<u64>, AuditError> {
    let items: Vec<Item> = chunk
        .iter()
        .map(|(_, p)| Item {
            key: &p.key,
            msg: &p.msg,
            sig: &p.sig,
        })
        .collect();
    let first_bad = verify_parallel(&items, 0).first().copied();
    if let Some((index, p)) = first_bad.and_then(|i| chunk.get(i)) {
        return Err(AuditError::at(*index, Reason::BadSignature { key_id: p.key.key_id() }));
    }
    let not_strict = |(_, p): &&(u64, Pending)| p.key.verify(&p.msg, &p.sig, Rule::Strict).is_err();
    match strict {
        true => Ok(chunk.iter().filter(not_strict).map(|(i, _)| *i).collect()),
        false => Ok(Vec::new()),
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
        assert!(batch.flush().is_ok(), "nothing left in flight");
        let want = (CHUNK as u64 + 7) * 2;
        assert!(
            matches!(err, AuditError::Failure { index: Some(i), reason: Reason::BadSignature { .. } } if i == want)
        );
        assert_eq!(batch.checked(), CHUNK as u64 + 100);
    }

    #[test]
    fn strict_lists_cofactored_only_signatures_without_failing() {
        let key = SigningKey::generate();
        let mut batch = SigBatch::new(true);
        for i in 0..50u64 {
            let mut p = pending(&key, &i.to_be_bytes());
            if i == 7 || i == 31 {
                p.sig = crate::fuzzing::crafted::torsion_r_signature(&key, &p.msg, 4);
            }
            batch.push(i, p).unwrap();
        }
        batch.flush().unwrap();
        let found = batch.cofactored_only().unwrap();
        assert_eq!((found.count, found.first_indices), (2, vec![7, 31]));
        assert!(SigBatch::new(false).cofactored_only().is_none());
    }

    #[test]
    fn empty_flush_is_fine() {
        assert!(SigBatch::default().flush().is_ok());
    }
}
