//! The ledger API: an append-only sequence of entries with a single writer
//! that commits in groups, and any number of readers.
//!
//! Appends travel over a bounded channel to one writer thread. It takes
//! whatever is waiting (up to [`MAX_BATCH`]), assigns indices, writes them as
//! one journal record and `fdatasync`s once, applies them to sled as one
//! atomic batch ([`store::Store::append`]) and only then answers every
//! publisher in the group and advances the durable size that readers watch. While one group is syncing the next one
//! queues, so concurrent publishers share flushes (group commit) and nothing
//! is acknowledged or visible before it is on disk.

pub mod checkpoint;
pub mod checkpointer;
pub mod entry;
pub mod export;
pub mod merkle;
pub mod note;
pub mod receipt;
pub(crate) mod store;
mod tail;
pub mod tiles;

use crate::error::{Error, Result};
use crate::ledger::note::NoteSigner;
use crate::roster::Roster;
use checkpoint::SignedCheckpoint;
use entry::{EntryKey, NewEntry, TooLate};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use store::{Store, WriteBatch};
use tail::Tail;
use tokio::sync::{mpsc, oneshot, watch};

/// Most entries committed in one group.
pub const MAX_BATCH: usize = 1024;
/// Appends that may wait for the writer before publishers are slowed down.
const QUEUE: usize = 4096;

/// Where an append landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Appended {
    /// Stored as a new entry at this index, with this RFC 9162 leaf hash
    /// (of the bytes as stored, re-stamped or not).
    New(u64, merkle::Hash),
    /// An alert with the same (publisher, id) is already stored here;
    /// nothing was written.
    Existing(u64),
}

struct Append {
    entry: NewEntry,
    reply: oneshot::Sender<Result<Appended, AppendError>>,
}

/// Why one append was not stored.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppendError {
    /// The entry's checks no longer hold at the time it would be stamped
    /// with (its signing key expired meanwhile): check it again.
    #[error(transparent)]
    TooLate(#[from] TooLate),
    /// The store failed; nothing of the group was stored.
    #[error("{0}")]
    Storage(String),
}

/// Handle to the ledger; cheap to clone.
#[derive(Clone)]
pub struct Ledger {
    store: Arc<Store>,
    tail: Arc<Tail>,
    tx: mpsc::Sender<Append>,
    size: watch::Receiver<u64>,
    checkpoint: checkpointer::Latest,
    failed: Arc<OnceLock<String>>,
}

impl Ledger {
    /// Opens the ledger in `dir`, checks it against its last signed
    /// checkpoint, and starts the writer thread and the checkpoint signer
    /// (which signs with `log_key` at most every `interval`). Both stop once
    /// every handle is dropped. Must be called within a tokio runtime.
    pub fn open(dir: &Path, log_key: Arc<NoteSigner>, interval: Duration) -> Result<Self> {
        let store = Arc::new(Store::open(dir)?);
        let signed = checkpointer::verify_on_open(&store, &log_key)?;
        let (latest_tx, checkpoint) = watch::channel(signed.map(Arc::new));
        let len = store.len()?;
        let floor = last_accepted(&store, len)?;
        let rosters = Arc::new(checkpointer::RosterIndices::new(store.roster_index()?));
        let tail = Arc::new(Tail::new(len));
        let (size_tx, size) = watch::channel(len);
        let (tx, rx) = mpsc::channel(QUEUE);
        let failed = Arc::new(OnceLock::new());
        let writer = Writer {
            store: store.clone(),
            tail: tail.clone(),
            next: len,
            floor,
            rosters: rosters.clone(),
            size: size_tx,
            failed: failed.clone(),
        };
        std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || writer.run(rx))?;
        let signer = checkpointer::run(store.clone(), rosters, log_key, size.clone(), latest_tx, interval);
        tokio::spawn(signer);
        Ok(Ledger {
            store,
            tail,
            tx,
            size,
            checkpoint,
            failed,
        })
    }

    /// Why the ledger refuses appends, if it does: a commit failed (the
    /// store's state is then only known after a restart) or the writer
    /// thread is gone.
    pub fn failure(&self) -> Option<String> {
        match self.failed.get() {
            Some(e) => Some(e.clone()),
            None if self.tx.is_closed() => Some("the ledger writer has stopped".into()),
            None => None,
        }
    }

    /// The latest signed checkpoint.
    pub fn checkpoint(&self) -> Option<Arc<SignedCheckpoint>> {
        self.checkpoint.borrow().clone()
    }

    /// The latest signed checkpoint, as it changes.
    pub fn watch_checkpoint(&self) -> checkpointer::Latest {
        self.checkpoint.clone()
    }

    /// Waits (at most `limit`) for a signed checkpoint of at least `min_size`.
    pub async fn checkpoint_at_least(&self, min_size: u64, limit: Duration) -> Option<Arc<SignedCheckpoint>> {
        let mut rx = self.checkpoint.clone();
        let wait = async move {
            let found = rx
                .wait_for(|c| c.as_ref().is_some_and(|c| c.checkpoint.size >= min_size))
                .await;
            found.ok().and_then(|c| c.clone())
        };
        tokio::time::timeout(limit, wait).await.ok().flatten()
    }

    /// An RFC 9162 inclusion proof for entry `index` in the tree of `size`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<merkle::Hash>> {
        self.within(size)?;
        merkle::inclusion_proof(index, size, &*self.store).map_err(|e| Error::Storage(format!("merkle: {e}")))
    }

    /// An RFC 9162 consistency proof between two tree sizes.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<merkle::Hash>> {
        self.within(new)?;
        merkle::consistency_proof(old, new, &*self.store).map_err(|e| Error::Storage(format!("merkle: {e}")))
    }

    /// The latest witnessed checkpoint note the hub stored, if any (see
    /// `server::witnessing`; the caller checks it against the ledger).
    pub fn witnessed_note(&self) -> Result<Option<String>> {
        self.store.witnessed()
    }

    /// Durably stores `note` as the latest witnessed checkpoint. Blocks on
    /// `fdatasync`: call from a blocking thread.
    pub fn put_witnessed_note(&self, note: &str) -> Result<()> {
        self.store.put_witnessed(note)
    }

    /// The root of the tree of `size` durable entries.
    pub fn root(&self, size: u64) -> Result<merkle::Hash> {
        self.within(size)?;
        merkle::tree_hash(size, &*self.store).map_err(|e| Error::Storage(format!("merkle: {e}")))
    }

    fn within(&self, size: u64) -> Result<()> {
        match size <= self.size() {
            true => Ok(()),
            false => Err(Error::Storage(format!(
                "tree size {size} is beyond the durable size {}",
                self.size()
            ))),
        }
    }

    /// Appends `entry`; returns once it is durable (or was already stored).
    /// Entries over [`entry::MAX_ENTRY_BYTES`] are refused: they could not
    /// be exported in the C2SP tlog-tiles layout. The outer error is the
    /// hub's; the inner one says the entry must be checked again.
    pub async fn append(&self, entry: NewEntry) -> Result<Result<Appended, TooLate>> {
        if entry.bytes.len() > entry::MAX_ENTRY_BYTES {
            return Err(Error::Storage(format!(
                "an entry of {} bytes exceeds the {}-byte ledger entry limit",
                entry.bytes.len(),
                entry::MAX_ENTRY_BYTES
            )));
        }
        let (reply, rx) = oneshot::channel();
        self.tx.send(Append { entry, reply }).await.map_err(|_| Error::Closed)?;
        match rx.await.map_err(|_| Error::Closed)? {
            Ok(a) => Ok(Ok(a)),
            Err(AppendError::TooLate(t)) => Ok(Err(t)),
            Err(AppendError::Storage(e)) => Err(Error::Storage(e)),
        }
    }

    /// Number of durable entries.
    pub fn size(&self) -> u64 {
        *self.size.borrow()
    }

    /// A receiver that changes whenever the durable size grows.
    pub fn watch_size(&self) -> watch::Receiver<u64> {
        self.size.clone()
    }

    /// The durable entry at `index`.
    pub fn entry(&self, index: u64) -> Result<Option<Vec<u8>>> {
        match index < self.size() {
            true => self.store.entry(index),
            false => Ok(None),
        }
    }

    /// Durable entries from `from`, at most `max` of them.
    pub fn entries(&self, from: u64, max: u64) -> Result<Vec<(u64, Vec<u8>)>> {
        let to = self.size().min(from.saturating_add(max));
        match from < to {
            true => self.store.entries(from, to),
            false => Ok(Vec::new()),
        }
    }

    /// Durable entries from `from` (at most `max`) if they are still in the
    /// in-memory window at the head of the ledger; `None` means read the
    /// store with [`Ledger::entries`].
    pub fn recent_entries(&self, from: u64, max: u64) -> Option<Vec<(u64, Arc<[u8]>)>> {
        let to = self.size().min(from.saturating_add(max));
        self.tail.get(from, to)
    }

    /// Index of alert `id` of `publisher`, if durable.
    pub fn alert_index(&self, publisher: &str, id: &str) -> Result<Option<u64>> {
        Ok(self.store.alert_index(publisher, id)?.filter(|&i| i < self.size()))
    }

    /// The roster currently in force (the latest roster entry).
    pub fn roster(&self) -> Result<Option<Roster>> {
        let Some(index) = self.store.roster_index()? else {
            return Ok(None);
        };
        let bytes = self
            .store
            .entry(index)?
            .ok_or_else(|| Error::Storage(format!("roster entry {index} missing")))?;
        let decoded = entry::decode(&bytes).map_err(|e| Error::Storage(format!("entry {index}: {e}")))?;
        match entry::body(&decoded) {
            entry::Body::Roster { envelope, .. } => Ok(Some(
                crate::roster::change::roster_of(envelope)
                    .map_err(|e| Error::Storage(format!("roster entry {index}: {e}")))?,
            )),
            _ => Err(Error::Storage(format!("entry {index} should be a roster but is not"))),
        }
    }

    /// `fdatasync` calls made so far (group commit shares them).
    pub fn sync_count(&self) -> u64 {
        self.store.sync_count()
    }
}

struct Writer {
    store: Arc<Store>,
    tail: Arc<Tail>,
    next: u64,
    /// The latest acceptance time stored: no entry gets an earlier one.
    floor: i64,
    /// Where the roster entries are, for checkpoints.
    rosters: Arc<checkpointer::RosterIndices>,
    size: watch::Sender<u64>,
    /// Set after a failed commit: the store's state is then only known
    /// after a restart, so every later append is refused.
    failed: Arc<OnceLock<String>>,
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Append>) {
        let mut group = Vec::with_capacity(MAX_BATCH);
        while let Some(first) = rx.blocking_recv() {
            group.push(first);
            while group.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(a) => group.push(a),
                    Err(_) => break,
                }
            }
            self.commit_group(&mut group);
        }
    }

    fn commit_group(&mut self, group: &mut Vec<Append>) {
        if let Some(e) = self.failed.get() {
            for a in group.drain(..) {
                let why = format!("ledger stopped after an earlier failure: {e}");
                let _ = a.reply.send(Err(AppendError::Storage(why)));
            }
            return;
        }
        let (first, floor) = (self.next, self.floor);
        let outcome = self.stage(group).and_then(|staged| {
            self.store.append(staged.batch)?;
            Ok((staged.placed, staged.stored))
        });
        match outcome {
            Ok((placed, stored)) => {
                let rosters = group
                    .iter()
                    .zip(&placed)
                    .filter(|(a, _)| a.entry.key == EntryKey::Roster);
                for (_, p) in rosters {
                    if let Ok(Appended::New(index, _)) = p {
                        self.rosters.add(*index);
                    }
                }
                self.tail.extend(first, stored);
                self.size.send_replace(self.next);
                for (a, p) in group.drain(..).zip(placed) {
                    let _ = a.reply.send(p);
                }
                if let Err(e) = self.store.settle() {
                    tracing::error!(error = %e, "folding the ledger journal into the store failed; refusing appends until restart");
                    let _ = self.failed.set(e.to_string());
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "ledger commit failed; refusing appends until restart");
                let _ = self.failed.set(e.to_string());
                (self.next, self.floor) = (first, floor);
                for a in group.drain(..) {
                    let _ = a.reply.send(Err(AppendError::Storage(e.to_string())));
                }
            }
        }
    }

    /// Assigns indices and acceptance times and builds the batch;
    /// duplicates of (publisher, id), stored or earlier in this group, are
    /// placed at their existing index, and an entry whose checks no longer
    /// hold at the time it must carry is refused alone. The batch also
    /// carries every Merkle subtree hash the new entries complete, so
    /// entries and tree are durable together.
    fn stage(&mut self, group: &[Append]) -> Result<Staged> {
        let start = self.next;
        let mut leaves = Vec::with_capacity(group.len());
        let mut staged = Staged {
            batch: WriteBatch::default(),
            placed: Vec::with_capacity(group.len()),
            stored: Vec::with_capacity(group.len()),
        };
        let mut in_group: HashMap<(&str, &str), u64> = HashMap::new();
        for a in group {
            if let EntryKey::Alert { publisher, id } = &a.entry.key {
                let seen = in_group.get(&(publisher.as_str(), id.as_str())).copied();
                if let Some(i) = seen
                    .map(Ok)
                    .or_else(|| self.store.alert_index(publisher, id).transpose())
                {
                    staged.placed.push(Ok(Appended::Existing(i?)));
                    continue;
                }
            }
            let (bytes, at) = match a.entry.at_floor(self.floor) {
                Ok(stamped) => stamped,
                Err(late) => {
                    staged.placed.push(Err(late.into()));
                    continue;
                }
            };
            if let EntryKey::Alert { publisher, id } = &a.entry.key {
                in_group.insert((publisher, id), self.next);
                staged.batch.put_alert(publisher, id, self.next);
            }
            // The entry before anything that points at it: the store
            // inserts a group in this order.
            staged.batch.put_entry(self.next, &bytes);
            if a.entry.key == EntryKey::Roster {
                staged.batch.put_roster_index(self.next);
            }
            let leaf = merkle::leaf_hash(&bytes);
            leaves.push(leaf);
            staged.placed.push(Ok(Appended::New(self.next, leaf)));
            staged.stored.push(Arc::from(bytes.as_ref()));
            self.floor = self.floor.max(at.unwrap_or(self.floor));
            self.next += 1;
        }
        let hashes = merkle::hashes_for_append(start, &leaves, &*self.store)
            .map_err(|e| Error::Storage(format!("merkle: {e}")))?;
        for (id, h) in &hashes {
            staged.batch.put_hash(*id, h);
        }
        Ok(staged)
    }
}

/// A group ready to commit.
struct Staged {
    batch: WriteBatch,
    /// Each append's answer, in order.
    placed: Vec<Result<Appended, AppendError>>,
    /// The bytes of the new entries, in order, for the in-memory tail.
    stored: Vec<Arc<[u8]>>,
}

/// The acceptance time of the last of `len` stored entries (0 when it has
/// none): the floor for every entry appended after it.
fn last_accepted(store: &Store, len: u64) -> Result<i64> {
    let Some(last) = len.checked_sub(1) else { return Ok(0) };
    let bytes = store
        .entry(last)?
        .ok_or_else(|| Error::Storage(format!("entry {last} missing")))?;
    let decoded = entry::decode(&bytes).map_err(|e| Error::Storage(format!("entry {last}: {e}")))?;
    Ok(entry::accepted(&decoded).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Arc<NoteSigner> {
        static KEY: OnceLock<Arc<NoteSigner>> = OnceLock::new();
        KEY.get_or_init(|| Arc::new(NoteSigner::generate("example.org/ledger-test").expect("key").0))
            .clone()
    }

    fn open(dir: &Path) -> Ledger {
        Ledger::open(dir, signer(), Duration::from_millis(20)).expect("open")
    }

    /// Opens `dir` again once the previous handle's threads let go of it.
    async fn reopen(dir: &Path) -> Ledger {
        for _ in 0..100 {
            if let Ok(l) = Ledger::open(dir, signer(), Duration::from_millis(20)) {
                return l;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the store is still held after 2 s")
    }

    fn alert_entry(i: usize, len: usize) -> NewEntry {
        let key = EntryKey::Alert {
            publisher: "CO".into(),
            id: format!("a-{i}"),
        };
        NewEntry::raw(vec![(i % 251) as u8; len], key)
    }

    fn timed(id: &str, accepted: i64, until: i64) -> NewEntry {
        let s = crate::pb::Submission {
            principal: "CO".into(),
            accepted: Some(crate::time::unix_to_pb(accepted)),
            ..Default::default()
        };
        NewEntry::submission(s, id, until)
    }

    #[tokio::test]
    async fn acceptance_times_never_decrease_along_the_ledger() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ledger = open(dir.path());
        let first = ledger.append(timed("late", 500, 1_000)).await.expect("store");
        assert!(matches!(first, Ok(Appended::New(0, _))));
        let earlier = ledger.append(timed("early", 400, 1_000)).await.expect("store");
        let Ok(Appended::New(1, leaf)) = earlier else {
            panic!("{earlier:?}")
        };
        let stored = ledger.entry(1).expect("read").expect("stored");
        assert_eq!(entry::accepted(&entry::decode(&stored).expect("decodes")), Some(500));
        assert_eq!(
            merkle::leaf_hash(&stored),
            leaf,
            "the receipt's leaf is of the bytes stored"
        );
        let expired = ledger.append(timed("gone", 300, 450)).await.expect("store");
        assert_eq!(
            expired.expect_err("its key expired before 500"),
            TooLate { floor: 500, until: 450 }
        );
        assert_eq!(ledger.size(), 2, "a refused entry is not stored");
        drop(ledger);
        let reopened = reopen(dir.path()).await;
        let after = reopened.append(timed("after", 450, 1_000)).await.expect("store");
        assert!(matches!(after, Ok(Appended::New(2, _))));
        let stored = reopened.entry(2).expect("read").expect("stored");
        let at = entry::accepted(&entry::decode(&stored).expect("decodes"));
        assert_eq!(at, Some(500), "the floor survives a restart");
    }

    #[tokio::test]
    async fn concurrent_appends_share_syncs_and_land_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ledger = open(dir.path());
        let appends = (0..200).map(|i| {
            let l = ledger.clone();
            tokio::spawn(async move { l.append(alert_entry(i, 100)).await })
        });
        let mut indices = Vec::new();
        for a in appends.collect::<Vec<_>>() {
            match a.await.expect("join").expect("append") {
                Ok(Appended::New(i, _)) => indices.push(i),
                other => panic!("unexpected {other:?}"),
            }
        }
        indices.sort_unstable();
        assert_eq!(indices, (0..200).collect::<Vec<_>>());
        assert_eq!(ledger.size(), 200);
        assert!(
            ledger.sync_count() < 50,
            "group commit: {} syncs for 200 appends",
            ledger.sync_count()
        );
        let seven = ledger.alert_index("CO", "a-7").expect("lookup").expect("stored");
        assert_eq!(
            ledger.append(alert_entry(7, 100)).await.expect("dup"),
            Ok(Appended::Existing(seven))
        );
    }

    #[tokio::test]
    async fn checkpoints_name_the_roster_in_force_at_their_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ledger = open(dir.path());
        ledger.append(alert_entry(0, 10)).await.expect("store").expect("new");
        let wait = Duration::from_secs(5);
        let first = ledger.checkpoint_at_least(1, wait).await.expect("signed");
        assert_eq!(first.checkpoint.roster_index(), None, "no roster yet");
        let roster = NewEntry::raw(vec![1], EntryKey::Roster);
        ledger.append(roster.clone()).await.expect("store").expect("new");
        ledger.append(alert_entry(2, 10)).await.expect("store").expect("new");
        let cp = ledger.checkpoint_at_least(3, wait).await.expect("signed");
        assert_eq!(
            cp.checkpoint.roster_index(),
            Some(Ok(1)),
            "{:?}",
            cp.checkpoint.extensions
        );
        assert!(cp.note.contains("\nroster 1\n"), "{}", cp.note);
    }

    #[tokio::test]
    async fn entries_too_large_for_tile_bundles_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ledger = open(dir.path());
        assert!(ledger.append(alert_entry(0, entry::MAX_ENTRY_BYTES + 1)).await.is_err());
        assert_eq!(ledger.size(), 0);
        let fits = ledger
            .append(alert_entry(0, entry::MAX_ENTRY_BYTES))
            .await
            .expect("fits");
        assert!(matches!(fits, Ok(Appended::New(0, _))));
    }
}
