//! The witness's decision on one `add-checkpoint` request, in the order
//! C2SP tlog-witness gives: parse (400), origin known (404), a trusted log
//! signature (403), `old` not beyond the checkpoint (400), `old` equal to the
//! size last cosigned (409 with that size), the same root at the same size
//! (409), the consistency proof (422), then store by compare-and-swap and
//! cosign (200). The witness never sees an entry: a checkpoint and a proof
//! are all it needs.

use super::cosignature::Cosigner;
use super::request::{AddCheckpoint, Answer};
use super::store::{Evidence, LogState, Swapped, WitnessStore};
use crate::ledger::checkpoint::Checkpoint;
use crate::ledger::merkle;
use crate::ledger::note::{self, NoteVerifier};

/// A witness: its cosigning key, the logs it follows, its state.
#[derive(Debug)]
pub struct Witness {
    cosigner: Cosigner,
    logs: Vec<NoteVerifier>,
    store: WitnessStore,
}

impl Witness {
    /// A witness cosigning with `cosigner` for the logs whose keys are
    /// `logs` (a log's origin is its key's name, as in the hub's
    /// checkpoints and Go's sumdb).
    pub fn new(cosigner: Cosigner, logs: Vec<NoteVerifier>, store: WitnessStore) -> Self {
        Witness { cosigner, logs, store }
    }

    /// The witness's key.
    pub fn cosigner(&self) -> &Cosigner {
        &self.cosigner
    }

    /// Its store (for the evidence).
    pub fn store(&self) -> &WitnessStore {
        &self.store
    }

    /// Answers one request body, cosigning at `now` (POSIX seconds).
    pub fn add_checkpoint(&self, body: &[u8], now: u64) -> Answer {
        let req = match AddCheckpoint::parse(body) {
            Ok(r) => r,
            Err(why) => return Answer::BadRequest(why),
        };
        let text = match note::unverified_text(&req.checkpoint) {
            Ok(t) => t,
            Err(e) => return Answer::BadRequest(format!("the checkpoint is not a signed note: {e}")),
        };
        let origin = text.split('\n').next().unwrap_or_default();
        let keys: Vec<NoteVerifier> = self.logs.iter().filter(|k| k.name() == origin).cloned().collect();
        if keys.is_empty() {
            return Answer::UnknownLog(format!("this witness does not follow the log {origin:?}"));
        }
        if let Err(e) = note::open(&req.checkpoint, &keys) {
            return Answer::Forbidden(format!("no valid signature by a trusted key of {origin}: {e}"));
        }
        let cp = match Checkpoint::parse(text) {
            Ok(cp) => cp,
            Err(e) => return Answer::BadRequest(format!("the checkpoint body is malformed: {e}")),
        };
        if req.old_size > cp.size {
            return Answer::BadRequest(format!(
                "old size {} is beyond the checkpoint's size {}",
                req.old_size, cp.size
            ));
        }
        match self.check_and_store(&req, &cp) {
            Ok(Some(refusal)) => refusal,
            Ok(None) => match self.cosigner.sign(text, now) {
                Ok(line) => Answer::Cosigned(line),
                Err(e) => Answer::Internal(format!("cosigning failed: {e}")),
            },
            Err(e) => {
                tracing::error!(error = %e, origin, "witness store failed");
                Answer::Internal("the witness could not store its state; retry later".into())
            }
        }
    }

    /// `Some(refusal)`, or `None` once the new state is durably stored.
    fn check_and_store(&self, req: &AddCheckpoint, cp: &Checkpoint) -> crate::Result<Option<Answer>> {
        let prev = self.store.get(&cp.origin)?;
        let last = prev.as_ref().map_or(0, |(s, _)| s.size);
        if req.old_size != last {
            return Ok(Some(Answer::Conflict {
                size: last,
                why: format!(
                    "old size {} is not {last}, the size this witness last cosigned",
                    req.old_size
                ),
            }));
        }
        if let Some((state, _)) = &prev {
            if let Some(refusal) = self.check_consistency(state, req, cp)? {
                return Ok(Some(refusal));
            }
        } else if !req.proof.is_empty() {
            return Ok(Some(Answer::Unprocessable(
                "a request from old size 0 must carry an empty proof".into(),
            )));
        }
        let new = LogState {
            size: cp.size,
            root: cp.root,
            note: req.checkpoint.clone(),
        };
        match self
            .store
            .swap(&cp.origin, prev.as_ref().map(|(_, b)| b.as_slice()), &new)?
        {
            Swapped::Done => {
                tracing::info!(origin = %cp.origin, size = cp.size, "cosigned");
                Ok(None)
            }
            Swapped::Raced(now) => Ok(Some(Answer::Conflict {
                size: now.map_or(0, |s| s.size),
                why: "another request changed this log's state first".into(),
            })),
        }
    }

    /// The checks against the stored state; evidence is recorded for a fork.
    fn check_consistency(
        &self,
        state: &LogState,
        req: &AddCheckpoint,
        cp: &Checkpoint,
    ) -> crate::Result<Option<Answer>> {
        let evidence = |kind: &str| Evidence {
            origin: cp.origin.clone(),
            kind: kind.to_owned(),
            cosigned: state.note.clone(),
            offered: req.to_body(),
        };
        if cp.size == state.size {
            if cp.root != state.root {
                self.store.record(&evidence("same size, different root"))?;
                tracing::warn!(origin = %cp.origin, size = cp.size, "split view: same size, different root; evidence kept");
                return Ok(Some(Answer::Conflict {
                    size: state.size,
                    why: format!("a checkpoint of size {} with another root was cosigned", state.size),
                }));
            }
            if !req.proof.is_empty() {
                return Ok(Some(Answer::Unprocessable("equal sizes need an empty proof".into())));
            }
            return Ok(None);
        }
        match merkle::verify_consistency(state.size, cp.size, &state.root, &cp.root, &req.proof) {
            Ok(()) => Ok(None),
            Err(e) => {
                self.store.record(&evidence("consistency proof does not verify"))?;
                tracing::warn!(origin = %cp.origin, old = state.size, new = cp.size, "consistency proof refused; evidence kept");
                Ok(Some(Answer::Unprocessable(format!(
                    "the consistency proof from {} to {} does not verify: {e}",
                    state.size, cp.size
                ))))
            }
        }
    }
}
