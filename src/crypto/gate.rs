//! The hub's signature checks, on the async worker that handles the
//! publish, one at a time: a check waits for the single permit of a
//! semaphore, then applies the ingest rule ([`Rule::Strict`], one ring
//! verification, about 40 µs) in place. One permit bounds the CPU that
//! signature checks can take to one core's worth, so a flood of publishes
//! waits here (and, per principal, in its in-flight cap) instead of
//! starving the writer and the readers. Uncontended, a check costs no
//! hand-off: an earlier design sent each check to a verifier thread and
//! back, two thread wake-ups that cost a lone publish more than the
//! verification itself (BENCHMARKS.md 4g).
//!
//! The strict rule cannot be batched (see [`crate::crypto`]), so each check
//! is one ring verification.

use super::{PublicKey, Rule, Signature, SignatureError};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// The gate was closed: a fault of the hub, never the caller's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the hub's signature verifier has stopped")]
pub struct VerifierStopped;

/// One signature check at a time across the hub; cheap to clone.
#[derive(Clone)]
pub struct VerifyGate {
    permit: Arc<Semaphore>,
}

impl Default for VerifyGate {
    fn default() -> Self {
        VerifyGate {
            permit: Arc::new(Semaphore::new(1)),
        }
    }
}

impl VerifyGate {
    /// Whether `sig` over `msg` verifies under `key` by the ingest rule; the
    /// outer error means the hub could not check it at all.
    pub async fn verify(
        &self,
        key: PublicKey,
        msg: &[u8],
        sig: Signature,
    ) -> Result<Result<(), SignatureError>, VerifierStopped> {
        let _one = self.permit.acquire().await.map_err(|_| VerifierStopped)?;
        Ok(key.verify(msg, &sig, Rule::Strict))
    }
}

impl crate::ingest::SignatureCheck for VerifyGate {
    async fn check(
        &self,
        key: PublicKey,
        msg: Vec<u8>,
        sig: Signature,
    ) -> Result<Result<(), SignatureError>, crate::Error> {
        self.verify(key, &msg, sig)
            .await
            .map_err(|e| crate::Error::Verifier(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SigningKey;
    use crate::fuzzing::crafted::torsion_r_signature;

    #[tokio::test]
    async fn concurrent_checks_get_their_own_answers() {
        let q = VerifyGate::default();
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
            tasks.push(tokio::spawn(async move { (want, q.verify(pk, &msg, sig).await) }));
        }
        for t in tasks {
            let (want, got) = t.await.expect("join");
            assert_eq!(got, Ok(want));
        }
    }
}
