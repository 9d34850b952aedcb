//! A witness's durable state: for each log origin, the latest checkpoint it
//! cosigned, and the evidence of any log misbehaviour it was shown. sled,
//! as the hub's ledger, with every change flushed and then `fdatasync`ed
//! before the witness answers.
//!
//! The per-origin record changes only by compare-and-swap against the
//! bytes the checks were made on, so two requests racing can never roll
//! the state back (C2SP tlog-witness: "checking the old size against the
//! latest checkpoint and persisting the new checkpoint must be performed
//! atomically"). A crash between the swap and the answer leaves the new
//! state stored and no cosignature sent: the client retries with the size
//! it learns from the 409.

use std::fs::File;
use std::path::Path;

use crate::error::{Error, Result};
use crate::ledger::merkle::Hash;

/// Evidence records kept at most (only the log's key can cause one).
pub const MAX_EVIDENCE: usize = 10_000;

/// The state of one log as the witness last cosigned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogState {
    /// Tree size.
    pub size: u64,
    /// Root hash at `size`.
    pub root: Hash,
    /// The checkpoint note as received (log signature included).
    pub note: String,
}

/// Two checkpoints of one log that cannot both be honest, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The log.
    pub origin: String,
    /// What is wrong between them.
    pub kind: String,
    /// The checkpoint the witness had cosigned.
    pub cosigned: String,
    /// The checkpoint it was then offered, with the request's proof.
    pub offered: String,
}

/// The witness store.
#[derive(Debug)]
pub struct WitnessStore {
    state: sled::Tree,
    evidence: sled::Tree,
    db: sled::Db,
    data_file: File,
}

fn storage(e: sled::Error) -> Error {
    Error::Storage(e.to_string())
}

impl LogState {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(40 + self.note.len());
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.root);
        out.extend_from_slice(self.note.as_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        let bad = || Error::Storage("a witness state record is damaged".into());
        let (size, rest) = bytes.split_first_chunk::<8>().ok_or_else(bad)?;
        let (root, note) = rest.split_first_chunk::<32>().ok_or_else(bad)?;
        Ok(LogState {
            size: u64::from_be_bytes(*size),
            root: *root,
            note: String::from_utf8(note.to_vec()).map_err(|_| bad())?,
        })
    }
}

/// The outcome of [`WitnessStore::swap`].
#[derive(Debug)]
pub enum Swapped {
    /// Stored, durably.
    Done,
    /// Another request changed the state first; this is the state now.
    Raced(Option<LogState>),
}

impl WitnessStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e))?;
        let db = sled::Config::new().path(dir).open().map_err(storage)?;
        let data_path = dir.join("db");
        let data_file = File::open(&data_path).map_err(|e| Error::file(&data_path, e))?;
        Ok(WitnessStore {
            state: db.open_tree("state").map_err(storage)?,
            evidence: db.open_tree("evidence").map_err(storage)?,
            db,
            data_file,
        })
    }

    /// The state of `origin` and its stored bytes (for [`Self::swap`]).
    pub fn get(&self, origin: &str) -> Result<Option<(LogState, Vec<u8>)>> {
        match self.state.get(origin.as_bytes()).map_err(storage)? {
            Some(bytes) => Ok(Some((LogState::decode(&bytes)?, bytes.to_vec()))),
            None => Ok(None),
        }
    }

    /// Replaces the state of `origin` by `new` if it is still `expected`
    /// (the stored bytes, `None` for never cosigned), then syncs.
    pub fn swap(&self, origin: &str, expected: Option<&[u8]>, new: &LogState) -> Result<Swapped> {
        let r = self
            .state
            .compare_and_swap(origin.as_bytes(), expected, Some(new.encode()))
            .map_err(storage)?;
        match r {
            Ok(()) => {
                self.sync()?;
                Ok(Swapped::Done)
            }
            Err(e) => Ok(Swapped::Raced(e.current.map(|b| LogState::decode(&b)).transpose()?)),
        }
    }

    /// Records `e` (while fewer than [`MAX_EVIDENCE`] are kept), durably.
    pub fn record(&self, e: &Evidence) -> Result<()> {
        if self.evidence.len() >= MAX_EVIDENCE {
            return Ok(());
        }
        let id = self.db.generate_id().map_err(storage)?;
        let value = serde_json::json!({
            "origin": e.origin, "kind": e.kind, "cosigned": e.cosigned, "offered": e.offered,
        });
        self.evidence
            .insert(id.to_be_bytes(), value.to_string().into_bytes())
            .map_err(storage)?;
        self.sync()
    }

    /// Every evidence record, oldest first.
    pub fn evidence(&self) -> Result<Vec<Evidence>> {
        let mut out = Vec::new();
        for item in self.evidence.iter() {
            let (_, v) = item.map_err(storage)?;
            let v: serde_json::Value =
                serde_json::from_slice(&v).map_err(|e| Error::Storage(format!("evidence record: {e}")))?;
            let field = |k: &str| v.get(k).and_then(|s| s.as_str()).unwrap_or_default().to_owned();
            out.push(Evidence {
                origin: field("origin"),
                kind: field("kind"),
                cosigned: field("cosigned"),
                offered: field("offered"),
            });
        }
        Ok(out)
    }

    fn sync(&self) -> Result<()> {
        self.db.flush().map_err(storage)?;
        self.data_file.sync_data()?;
        Ok(())
    }
}
