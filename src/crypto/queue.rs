//! Micro-batching at ingest: publish handlers hand their signature check to
//! one verifier thread, which takes whatever checks are waiting (up to
//! [`MAX_BATCH`]) and verifies them together with [`super::batch`]. Under
//! load that is the batch verifier's speed (several times single
//! verification, same ZIP-215 rule, same answers); when idle it is a batch
//! of one. The queue is bounded, so a flood waits instead of piling up.

use super::batch::{verify_batch, Item};
use super::{PublicKey, Signature};
use tokio::sync::{mpsc, oneshot};

/// Most signatures verified in one batch.
pub const MAX_BATCH: usize = 256;

struct Job {
    key: PublicKey,
    msg: Vec<u8>,
    sig: Signature,
    reply: oneshot::Sender<bool>,
}

/// Handle to the verifier thread; cheap to clone. The thread stops when
/// every handle is dropped.
#[derive(Clone)]
pub struct VerifyQueue {
    tx: mpsc::Sender<Job>,
}

impl VerifyQueue {
    /// Starts the verifier thread.
    pub fn start() -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        std::thread::Builder::new()
            .name("sig-verify".into())
            .spawn(move || run(rx))?;
        Ok(VerifyQueue { tx })
    }

    /// Whether `sig` over `msg` verifies under `key`. `false` also when the
    /// verifier thread is gone (fail closed).
    pub async fn verify(&self, key: PublicKey, msg: Vec<u8>, sig: Signature) -> bool {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Job { key, msg, sig, reply }).await.is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }
}

fn run(mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        jobs.push(first);
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let items: Vec<Item> = jobs
            .iter()
            .map(|j| Item {
                key: &j.key,
                msg: &j.msg,
                sig: &j.sig,
            })
            .collect();
        let failed = verify_batch(&items);
        for (i, job) in jobs.drain(..).enumerate() {
            let _ = job.reply.send(failed.binary_search(&i).is_err());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SigningKey;

    #[tokio::test]
    async fn concurrent_checks_get_their_own_answers() {
        let q = VerifyQueue::start().expect("thread");
        let key = SigningKey::generate();
        let mut tasks = Vec::new();
        for i in 0..300u32 {
            let (q, msg) = (q.clone(), i.to_be_bytes().to_vec());
            let mut sig = key.sign(&msg).to_bytes();
            let bad = i % 37 == 5;
            if bad {
                sig[3] ^= 1;
            }
            let (pk, sig) = (key.public_key(), Signature::from(sig));
            tasks.push(tokio::spawn(async move { (bad, q.verify(pk, msg, sig).await) }));
        }
        for t in tasks {
            let (bad, ok) = t.await.expect("join");
            assert_eq!(ok, !bad);
        }
    }
}
