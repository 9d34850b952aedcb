//! Signing checkpoints: the log's promise about its own history.
//!
//! Rules (C2SP tlog-checkpoint, and what CT logs learned the hard way):
//! sign only entries that are already durable (the size a checkpoint covers
//! comes from the writer's durable size); never sign a tree smaller than one
//! already signed; persist each checkpoint (flush + `fdatasync`) before
//! anyone can see it; at most one checkpoint per interval, signed within one
//! interval of the tree growing. [`verify_on_open`] refuses a store that is
//! behind, or disagrees with, its last signed checkpoint.

use super::checkpoint::{Checkpoint, SignedCheckpoint};
use super::merkle;
use super::store::Store;
use crate::error::{Error, Result};
use crate::ledger::note::NoteSigner;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The latest signed checkpoint, shared with readers.
pub type Latest = watch::Receiver<Option<Arc<SignedCheckpoint>>>;

/// Checks the stored checkpoints (in sled and in the file beside it; the
/// larger wins) against the store and the configured key.
pub fn verify_on_open(store: &Store, signer: &NoteSigner) -> Result<Option<SignedCheckpoint>> {
    let mut best: Option<SignedCheckpoint> = None;
    for note in [store.checkpoint()?, store.checkpoint_file()?].into_iter().flatten() {
        let cp = open_note(&note, signer)?;
        if best.as_ref().is_none_or(|b| cp.checkpoint.size > b.checkpoint.size) {
            best = Some(cp);
        }
    }
    let Some(cp) = best else { return Ok(None) };
    check_store_matches(store, &cp)?;
    Ok(Some(cp))
}

fn open_note(note: &str, signer: &NoteSigner) -> Result<SignedCheckpoint> {
    SignedCheckpoint::open(note, &signer.verifier()).map_err(|e| {
        Error::Config(format!(
            "the ledger's last checkpoint does not verify with the configured log key {} ({e}); \
             a log keeps its key for life: configure the key this ledger was started with",
            signer.verifier_key()
        ))
    })
}

fn check_store_matches(store: &Store, cp: &SignedCheckpoint) -> Result<()> {
    let len = store.len()?;
    let size = cp.checkpoint.size;
    if len < size {
        return Err(Error::Storage(format!(
            "the store holds {len} entries but the log already signed a checkpoint of size {size}: \
             data was lost or an old copy was restored; refusing to start (restore the newest backup)"
        )));
    }
    let root = merkle::tree_hash(size, store).map_err(|e| Error::Storage(format!("merkle: {e}")))?;
    if root != cp.checkpoint.root {
        return Err(Error::Storage(format!(
            "the store's first {size} entries do not hash to the signed checkpoint's root: \
             the store was altered; refusing to start"
        )));
    }
    Ok(())
}

/// Indices of the roster entries, for the `roster` line of checkpoints:
/// the writer adds each one after committing it and before the durable
/// size covers it, so the latest below a durable size is always known.
#[derive(Debug, Default)]
pub struct RosterIndices(std::sync::RwLock<Vec<u64>>);

impl RosterIndices {
    /// Starting from the latest roster entry of an opened store.
    pub fn new(latest: Option<u64>) -> Self {
        RosterIndices(std::sync::RwLock::new(latest.into_iter().collect()))
    }

    /// Records a committed roster entry.
    pub fn add(&self, index: u64) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).push(index);
    }

    /// The latest roster entry below `size`.
    pub fn below(&self, size: u64) -> Option<u64> {
        let v = self.0.read().unwrap_or_else(|p| p.into_inner());
        v.iter().rev().find(|&&i| i < size).copied()
    }
}

/// Signs and persists a checkpoint for `size`, naming the roster entry in
/// force at that size ([`super::checkpoint::ROSTER_LINE`]).
fn sign(store: &Store, signer: &NoteSigner, size: u64, roster: Option<u64>) -> Result<SignedCheckpoint> {
    let root = merkle::tree_hash(size, store).map_err(|e| Error::Storage(format!("merkle: {e}")))?;
    let cp = Checkpoint {
        origin: signer.name().to_owned(),
        size,
        root,
        extensions: roster
            .map(|r| format!("{}{r}", super::checkpoint::ROSTER_LINE))
            .into_iter()
            .collect(),
    };
    let signed = SignedCheckpoint::sign(cp, signer).map_err(|e| Error::Storage(format!("signing: {e}")))?;
    store.put_checkpoint(&signed.note)?;
    Ok(signed)
}

/// Runs until the ledger's writer stops: after the durable size grows, waits
/// out the interval, then signs the durable tree.
pub async fn run(
    store: Arc<Store>,
    rosters: Arc<RosterIndices>,
    signer: Arc<NoteSigner>,
    mut size: watch::Receiver<u64>,
    latest: watch::Sender<Option<Arc<SignedCheckpoint>>>,
    interval: Duration,
) {
    loop {
        let last = latest.borrow().as_ref().map_or(0, |c| c.checkpoint.size);
        let durable = *size.borrow_and_update();
        if durable > last {
            let (st, sg, roster) = (store.clone(), signer.clone(), rosters.below(durable));
            match tokio::task::spawn_blocking(move || sign(&st, &sg, durable, roster)).await {
                Ok(Ok(cp)) => {
                    tracing::debug!(size = durable, "checkpoint signed");
                    latest.send_replace(Some(Arc::new(cp)));
                }
                Ok(Err(e)) => tracing::error!(error = %e, "checkpoint signing failed; will retry"),
                Err(e) => tracing::error!(error = %e, "checkpoint task failed; will retry"),
            }
            tokio::time::sleep(interval).await;
            continue;
        }
        if size.changed().await.is_err() {
            return;
        }
    }
}
