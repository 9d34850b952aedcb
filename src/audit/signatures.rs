//! Alert signatures, verified in chunks with
//! [`crate::crypto::batch::verify_parallel`] — the same ZIP-215 rule ingest
//! applies one by one, so audit and ingest can never disagree — on every
//! core, on a worker thread so the scan goes on meanwhile. Memory stays
//! bounded: at most three chunks of [`CHUNK`] signatures (with their
//! `PAE(payload_type, payload)` messages) exist at once, and only the first
//! failure is kept.

use std::sync::mpsc;

use super::error::{AuditError, Reason, Unusable};
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
    results: mpsc::Receiver<Result<(), AuditError>>,
    in_flight: usize,
    checked: u64,
}

impl Default for SigBatch {
    fn default() -> Self {
        let (jobs, queue) = mpsc::sync_channel::<Vec<(u64, Pending)>>(1);
        let (done, results) = mpsc::channel();
        let worker = std::thread::spawn(move || {
            for chunk in queue {
                if done.send(verify_chunk(&chunk)).is_err() {
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
        }
    }
}

impl SigBatch {
    /// Queues the signature of entry `index`; a full chunk goes to the
    /// verifier. Fails with the first bad signature known so far.
    pub fn push(&mut self, index: u64, p: Pending) -> Result<(), AuditError> {
        self.pending.push((index, p));
        if self.pending.len() < CHUNK {
            return Ok(());
        }
        self.send()?;
        while let Ok(result) = self.results.try_recv() {
            self.in_flight -= 1;
            result?;
        }
        Ok(())
    }

    /// Verifies everything queued; the first bad signature is a failure at
    /// its entry.
    pub fn flush(&mut self) -> Result<(), AuditError> {
        if !self.pending.is_empty() {
            self.send()?;
        }
        while self.in_flight > 0 {
            let result = self.results.recv().map_err(|_| Unusable::VerifierStopped)?;
            self.in_flight -= 1;
            result?;
        }
        Ok(())
    }

    /// Hands the filling chunk to the verifier thread (or, should it have
    /// stopped, verifies it here).
    fn send(&mut self) -> Result<(), AuditError> {
        let chunk = std::mem::replace(&mut self.pending, Vec::with_capacity(CHUNK));
        self.checked += chunk.len() as u64;
        let Some(jobs) = &self.jobs else {
            return verify_chunk(&chunk);
        };
        match jobs.send(chunk) {
            Ok(()) => {
                self.in_flight += 1;
                Ok(())
            }
            Err(mpsc::SendError(chunk)) => verify_chunk(&chunk),
        }
    }

    /// Signatures verified or being verified (all good unless a flush failed).
    pub fn checked(&self) -> u64 {
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
/// at its entry.
fn verify_chunk(chunk: &[(u64, Pending)]) -> Result<(), AuditError> {
    let items: Vec<Item> = chunk
        .iter()
        .map(|(_, p)| Item {
            key: &p.key,
            msg: &p.msg,
            sig: &p.sig,
        })
        .collect();
    let first_bad = verify_parallel(&items, 0).first().copied();
    match first_bad.and_then(|i| chunk.get(i)) {
        Some((index, p)) => Err(AuditError::at(*index, Reason::BadSignature { key_id: p.key.key_id() })),
        None => Ok(()),
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
    fn empty_flush_is_fine() {
        assert!(SigBatch::default().flush().is_ok());
    }
}
