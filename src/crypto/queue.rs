//! The hub's signature checks, off the async workers: publish handlers hand
//! each check to one verifier thread over a bounded queue, which applies the
//! ingest rule ([`Rule::Strict`]) to whatever is waiting. One thread bounds
//! the CPU that signature checks can take from everything else, so a flood
//! of publishes waits in the queue (and, per principal, in its in-flight
//! cap) instead of starving the writer and the readers.
//!
//! The strict rule cannot be batched (see [`crate::crypto`]), so each check
//! is one ring verification.

use super::{PublicKey, Rule, Signature, SignatureError};
use tokio::sync::{mpsc, oneshot};

/// Checks waiting for the verifier thread before publishers wait.
const QUEUE: usize = 1024;

struct Job {
    key: PublicKey,
    msg: Vec<u8>,
    sig: Signature,
    reply: oneshot::Sender<Result<(), SignatureError>>,
}

/// The verifier thread has stopped: a fault of the hub, never the caller's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the hub's signature verifier has stopped")]
pub struct VerifierStopped;

/// Handle to the verifier thread; cheap to clone. The thread stops when
/// every handle is dropped.
#[derive(Clone)]
pub struct VerifyQueue {
    tx: mpsc::Sender<Job>,
}

impl VerifyQueue {
    /// Starts the verifier thread.
    pub fn start() -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("sig-verify".into())
            .spawn(move || run(rx))?;
        Ok(VerifyQueue { tx })
    }

    /// Whether `sig` over `msg` verifies under `key` by the ingest rule; the
    /// outer error means the hub could not check it at all.
    pub async fn verify(
        &self,
        key: PublicKey,
        msg: Vec<u8>,
        sig: Signature,
    ) -> Result<Result<(), SignatureError>, VerifierStopped> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job { key, msg, sig, reply })
            .await
            .map_err(|_| VerifierStopped)?;
        rx.await.map_err(|_| VerifierStopped)
    }
}

impl crate::ingest::SignatureCheck for VerifyQueue {
    async fn check(
        &self,
        key: PublicKey,
        msg: Vec<u8>,
        sig: Signature,
    ) -> Result<Result<(), SignatureError>, crate::Error> {
        self.verify(key, msg, sig)
            .await
            .map_err(|e| crate::Error::Verifier(e.to_string()))
    }
}

fn run(mut rx: mpsc::Receiver<Job>) {
    while let Some(job) = rx.blocking_recv() {
        let _ = job.reply.send(job.key.verify(&job.msg, &job.sig, Rule::Strict));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SigningKey;
    use crate::fuzzing::crafted::torsion_r_signature;

    #[tokio::test]
    async fn concurrent_checks_get_their_own_answers() {
        let q = VerifyQueue::start().expect("thread");
        let key = SigningKey::generate();
        let mut tasks = Vec::new();
        for i in 0..300u32 {
            let (q, msg) = (q.clone(), i.to_be_bytes().to_vec());
            let (sig, want) = match i % 37 {
                5 => {
                    let mut b = key.sign(&msg).to_bytes();
                    b[3] ^= 1;
                    (Signature::from(b), Err(SignatureError::Invalid))
                }
                6 => (torsion_r_signature(&key, &msg, 4), Err(SignatureError::CofactoredOnly)),
                _ => (key.sign(&msg), Ok(())),
            };
            let pk = key.public_key();
            tasks.push(tokio::spawn(async move { (want, q.verify(pk, msg, sig).await) }));
        }
        for t in tasks {
            let (want, got) = t.await.expect("join");
            assert_eq!(got, Ok(want));
        }
    }
}
