//! Exports: a self-contained folder an auditor can carry away, in the C2SP
//! tlog-tiles layout (`checkpoint`, hash tiles under `tile/<L>/`, entry
//! bundles under `tile/entries/`), covering exactly the tree of a signed
//! checkpoint. The roster history travels inside: roster entries are ledger
//! entries. Layout and auditor workflow: docs/export.md.

use super::checkpoint::Checkpoint;
use super::store::Store;
use super::tiles::TileWriter;
use crate::error::{Error, Result};
use std::path::Path;

/// Writes `entries` (exactly the checkpoint's size, in order) and the
/// signed checkpoint `note` to `out`, which must be missing or empty. The
/// writer recomputes the root and refuses if it differs from the note's.
pub fn write(out: &Path, note: &str, entries: impl IntoIterator<Item = Result<Vec<u8>>>) -> Result<Checkpoint> {
    let mut w = TileWriter::create(out).map_err(|e| Error::Storage(format!("export: {e}")))?;
    for e in entries {
        w.append(&e?).map_err(|e| Error::Storage(format!("export: {e}")))?;
    }
    w.finish(note).map_err(|e| Error::Storage(format!("export: {e}")))
}

/// Exports a stopped hub's data folder (or a copy of it) at its latest
/// signed checkpoint.
pub fn from_data_dir(data: &Path, out: &Path) -> Result<Checkpoint> {
    if !data.join("db").is_file() {
        return Err(Error::Config(format!(
            "{} is not an isthmusd data folder (no db file)",
            data.display()
        )));
    }
    let store = Store::open(data)?;
    let note = store
        .checkpoint()?
        .ok_or_else(|| Error::Storage("the ledger has no signed checkpoint yet; start the hub once".into()))?;
    let text =
        crate::ledger::note::unverified_text(&note).map_err(|e| Error::Storage(format!("stored checkpoint: {e}")))?;
    let size = Checkpoint::parse(text)
        .map_err(|e| Error::Storage(format!("stored checkpoint: {e}")))?
        .size;
    const CHUNK: u64 = 4096;
    let chunks = (0..size)
        .step_by(CHUNK as usize)
        .map(|from| store.entries(from, (from + CHUNK).min(size)));
    let entries = chunks.flat_map(|c| match c {
        Ok(v) => v.into_iter().map(|(_, bytes)| Ok(bytes)).collect::<Vec<_>>(),
        Err(e) => vec![Err(e)],
    });
    write(out, &note, entries)
}
