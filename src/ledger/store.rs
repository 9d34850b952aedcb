//! The ledger's storage seam: the only file of the hub's ledger that names
//! sled (a witness keeps its own state in `witness::store`).
//!
//! One sled tree holds everything, under one-byte key prefixes, so that a
//! group of appends lands in a single atomic `apply_batch`:
//!
//! | key                              | value                    |
//! |----------------------------------|--------------------------|
//! | `e` ‖ index (u64 BE)             | entry bytes (leaf input) |
//! | `a` ‖ publisher ‖ 0x00 ‖ alert id | index (u64 BE)           |
//! | `m` ‖ `roster`                   | index of latest roster   |
//! | `h` ‖ level (u8) ‖ index (u64 BE) | RFC 9162 hash of the complete subtree (tlog-tiles addressing) |
//! | `m` ‖ `checkpoint`               | latest signed checkpoint (C2SP signed note) |
//!
//! Durability: sled 0.34's `flush()` ends in `sync_file_range`, which does not
//! persist the file's metadata or survive power loss, so [`Store::commit`]
//! follows every flush with `fdatasync` on sled's data file. The segment size
//! is raised so that no page (at most 17 entries of <= 64 KiB) ever crosses
//! sled's blob threshold (segment / 4): blob files are written without any
//! sync at all, and the store refuses to run if one appears (checked at open
//! and with every checkpoint, not on the per-group commit path).

use crate::error::{Error, Result};
use crate::ledger::merkle::{Hash, HashReader, NodeId};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const ENTRY: u8 = b'e';
const ALERT: u8 = b'a';
const META_ROSTER: &[u8] = b"mroster";
const META_CHECKPOINT: &[u8] = b"mcheckpoint";
const META_WITNESSED: &[u8] = b"mwitnessed";
const HASH: u8 = b'h';
const CHECKPOINT_FILE: &str = "checkpoint";
/// sled's page cache: bounded so the hub's memory does not grow with the
/// ledger (sled's default is 1 GiB); older entries are read from disk.
const CACHE_BYTES: u64 = 64 << 20;
/// 8 MiB segments: blob threshold 2 MiB, far above a 17-entry leaf.
const SEGMENT_SIZE: usize = 8 << 20;

/// The ledger's durable storage.
pub struct Store {
    db: sled::Db,
    data_file: File,
    dir: PathBuf,
    syncs: AtomicU64,
}

fn storage(e: sled::Error) -> Error {
    Error::Storage(e.to_string())
}

fn entry_key(index: u64) -> [u8; 9] {
    let mut k = [ENTRY; 9];
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

fn alert_key(publisher: &str, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + publisher.len() + id.len());
    k.push(ALERT);
    k.extend_from_slice(publisher.as_bytes());
    k.push(0);
    k.extend_from_slice(id.as_bytes());
    k
}

fn hash_key(id: NodeId) -> [u8; 10] {
    let mut k = [HASH; 10];
    k[1] = id.level;
    k[2..].copy_from_slice(&id.index.to_be_bytes());
    k
}

fn be_u64(v: &[u8]) -> Result<u64> {
    <[u8; 8]>::try_from(v)
        .map(u64::from_be_bytes)
        .map_err(|_| Error::Storage("corrupt index value (not 8 bytes)".into()))
}

/// The index in an entry key (a prefix byte, then the big-endian index).
fn key_index(key: &[u8]) -> Result<u64> {
    be_u64(key.split_first().map_or(&[][..], |(_, index)| index))
}

impl Store {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e))?;
        let db = sled::Config::new()
            .path(dir)
            .segment_size(SEGMENT_SIZE)
            .cache_capacity(CACHE_BYTES)
            .open()
            .map_err(storage)?;
        let data_path = dir.join("db");
        let data_file = File::open(&data_path).map_err(|e| Error::file(&data_path, e))?;
        sync_dir(dir)?;
        let store = Store {
            db,
            data_file,
            dir: dir.to_owned(),
            syncs: AtomicU64::new(0),
        };
        store.check_no_blobs()?;
        Ok(store)
    }

    fn check_no_blobs(&self) -> Result<()> {
        let blobs = self.dir.join("blobs");
        let any = std::fs::read_dir(&blobs)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false);
        match any {
            false => Ok(()),
            true => Err(Error::Storage(format!(
                "{} holds sled blob files, which sled never syncs; refusing to trust this store",
                blobs.display()
            ))),
        }
    }

    /// Number of entries stored (the index after the last one).
    pub fn len(&self) -> Result<u64> {
        match self.db.scan_prefix([ENTRY]).next_back() {
            None => Ok(0),
            Some(kv) => Ok(key_index(&kv.map_err(storage)?.0)? + 1),
        }
    }

    /// Whether the store holds no entry.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// The entry at `index`.
    pub fn entry(&self, index: u64) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get(entry_key(index)).map_err(storage)?.map(|v| v.to_vec()))
    }

    /// Entries `[from, to)` in order.
    pub fn entries(&self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>> {
        self.db
            .range(entry_key(from)..entry_key(to))
            .map(|kv| {
                let (k, v) = kv.map_err(storage)?;
                Ok((key_index(&k)?, v.to_vec()))
            })
            .collect()
    }

    /// The index of the alert `id` of `publisher`, if stored.
    pub fn alert_index(&self, publisher: &str, id: &str) -> Result<Option<u64>> {
        match self.db.get(alert_key(publisher, id)).map_err(storage)? {
            None => Ok(None),
            Some(v) => be_u64(&v).map(Some),
        }
    }

    /// Index of the latest roster entry, if any.
    pub fn roster_index(&self) -> Result<Option<u64>> {
        match self.db.get(META_ROSTER).map_err(storage)? {
            None => Ok(None),
            Some(v) => be_u64(&v).map(Some),
        }
    }

    /// The latest signed checkpoint note, if any.
    pub fn checkpoint(&self) -> Result<Option<String>> {
        match self.db.get(META_CHECKPOINT).map_err(storage)? {
            None => Ok(None),
            Some(v) => String::from_utf8(v.to_vec())
                .map(Some)
                .map_err(|_| Error::Storage("stored checkpoint is not UTF-8".into())),
        }
    }

    /// The latest witnessed checkpoint note (cosignatures included), if any.
    pub fn witnessed(&self) -> Result<Option<String>> {
        match self.db.get(META_WITNESSED).map_err(storage)? {
            None => Ok(None),
            Some(v) => String::from_utf8(v.to_vec())
                .map(Some)
                .map_err(|_| Error::Storage("stored witnessed checkpoint is not UTF-8".into())),
        }
    }

    /// Durably replaces the witnessed checkpoint note (metadata beside the
    /// ledger, never an entry: one atomic key write, flush, `fdatasync`).
    pub fn put_witnessed(&self, note: &str) -> Result<()> {
        let mut b = WriteBatch::default();
        b.0.insert(META_WITNESSED, note.as_bytes());
        self.commit(b)
    }

    /// The checkpoint note kept beside the store in `<dir>/checkpoint`. It
    /// outlives a restored old copy of the sled files, which is how a store
    /// that fell behind its signed checkpoint is noticed.
    pub fn checkpoint_file(&self) -> Result<Option<String>> {
        let path = self.dir.join(CHECKPOINT_FILE);
        match std::fs::read_to_string(&path) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::file(path, e)),
        }
    }

    /// Durably replaces the stored checkpoint: in sled (one atomic key
    /// write, flush, `fdatasync`) and in `<dir>/checkpoint` (write a temp
    /// file, fsync, rename, fsync the folder). The caller guarantees the tree
    /// only grows.
    pub fn put_checkpoint(&self, note: &str) -> Result<()> {
        let mut b = WriteBatch::default();
        b.0.insert(META_CHECKPOINT, note.as_bytes());
        self.commit(b)?;
        let tmp = self.dir.join("checkpoint.tmp");
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            std::io::Write::write_all(&mut f, note.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, self.dir.join(CHECKPOINT_FILE))
        };
        write().map_err(|e| Error::file(&tmp, e))?;
        sync_dir(&self.dir)?;
        self.check_no_blobs()
    }

    /// Applies `batch` atomically and returns once it is on stable storage:
    /// sled flush, then `fdatasync(2)` of the data file.
    pub fn commit(&self, batch: WriteBatch) -> Result<()> {
        self.db.apply_batch(batch.0).map_err(storage)?;
        self.db.flush().map_err(storage)?;
        self.data_file.sync_data()?;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// How many `fdatasync` calls [`Store::commit`] has made since opening.
    pub fn sync_count(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::file(dir, e))
}

/// Node hashes are read from the committed store; a missing one means the
/// caller asked about a tree larger than what was stored.
#[derive(Debug, thiserror::Error)]
#[error("ledger storage: {0}")]
pub struct HashReadError(String);

impl HashReader for Store {
    type Error = HashReadError;

    fn read_hashes(&self, ids: &[NodeId]) -> std::result::Result<Vec<Hash>, HashReadError> {
        ids.iter()
            .map(|&id| {
                let v = self.db.get(hash_key(id)).map_err(|e| HashReadError(e.to_string()))?;
                let v = v.ok_or_else(|| HashReadError(format!("node hash {id:?} missing")))?;
                Hash::try_from(v.as_ref()).map_err(|_| HashReadError(format!("node hash {id:?} corrupt")))
            })
            .collect()
    }
}

/// Writes to apply together with [`Store::commit`].
#[derive(Default)]
pub struct WriteBatch(sled::Batch);

impl WriteBatch {
    /// Stores entry `index`.
    pub fn put_entry(&mut self, index: u64, bytes: &[u8]) {
        self.0.insert(&entry_key(index), bytes);
    }

    /// Records that alert `id` of `publisher` is entry `index`.
    pub fn put_alert(&mut self, publisher: &str, id: &str, index: u64) {
        self.0.insert(alert_key(publisher, id), &index.to_be_bytes());
    }

    /// Stores a complete-subtree hash.
    pub fn put_hash(&mut self, id: NodeId, hash: &Hash) {
        self.0.insert(&hash_key(id), hash);
    }

    /// Records that entry `index` is the latest roster.
    pub fn put_roster_index(&mut self, index: u64) {
        self.0.insert(META_ROSTER, &index.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_entries_survive_reopen_and_each_commit_syncs() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let s = Store::open(dir.path()).expect("open");
            assert_eq!(s.len().expect("len"), 0);
            let mut b = WriteBatch::default();
            b.put_entry(0, b"zero");
            b.put_entry(1, b"one");
            b.put_alert("CO", "a-1", 1);
            s.commit(b).expect("commit");
            assert_eq!(s.sync_count(), 1);
        }
        // sled's flusher thread may hold the folder's lock a moment after
        // the drop (seen once in CI): retry, bounded.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let s = loop {
            match Store::open(dir.path()) {
                Err(e) if std::time::Instant::now() < deadline && e.to_string().contains("lock") => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other.expect("reopen"),
            }
        };
        assert_eq!(s.len().expect("len"), 2);
        assert_eq!(s.entry(1).expect("get").as_deref(), Some(&b"one"[..]));
        assert_eq!(s.alert_index("CO", "a-1").expect("idx"), Some(1));
        assert_eq!(s.alert_index("CO", "a-2").expect("idx"), None);
        let all = s.entries(0, 10).expect("range");
        assert_eq!(all.iter().map(|e| e.0).collect::<Vec<_>>(), [0, 1]);
    }

    #[test]
    fn large_entries_never_become_unsynced_blobs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(dir.path()).expect("open");
        let big = vec![7u8; 65_535];
        for round in 0..3u64 {
            let mut b = WriteBatch::default();
            for i in 0..40 {
                b.put_entry(round * 40 + i, &big);
            }
            s.commit(b).expect("commit");
            s.check_no_blobs().expect("no sled blob files");
        }
        assert_eq!(s.len().expect("len"), 120);
    }
}
