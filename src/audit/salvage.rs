//! Damaged entry bundles. The tile reader rightly refuses a bundle that
//! does not hold exactly the entries the checkpoint size implies; to name
//! the *first* bad entry rather than the bundle, the auditor reads what it
//! can from it (or, when the bundle the size names is absent, from a bundle
//! of the same index written for another size) and runs those entries
//! through the normal checks, which stop at the first one that was removed,
//! altered or moved.

use std::fs;
use std::path::{Path, PathBuf};

use crate::ledger::tiles::{tile_path, TileError, TILE_WIDTH};

/// The entries readable, in order, from the bundle `err` complains about.
pub(crate) fn salvage(dir: &Path, bundle: u64, err: &TileError) -> Vec<Vec<u8>> {
    let path = match err {
        TileError::BadBundle { path, .. } => Some(path.clone()),
        TileError::Missing { .. } => other_width(dir, bundle),
        _ => None,
    };
    path.and_then(|p| fs::read(p).ok())
        .map(|data| split_lenient(&data))
        .unwrap_or_default()
}

/// Length-prefixed entries (big-endian u16, C2SP tlog-tiles) up to the
/// first one that is cut short.
fn split_lenient(mut data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let [hi, lo, rest @ ..] = data {
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let Some((entry, after)) = rest.split_at_checked(len) else {
            break;
        };
        out.push(entry.to_vec());
        data = after;
    }
    out
}

/// The full bundle `bundle`, else its widest partial version.
fn other_width(dir: &Path, bundle: u64) -> Option<PathBuf> {
    let full = dir.join(tile_path(None, bundle, TILE_WIDTH));
    if full.is_file() {
        return Some(full);
    }
    let partials = fs::read_dir(full.with_extension("p")).ok()?;
    partials
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse::<u8>().ok()?, e.path())))
        .max_by_key(|(width, _)| *width)
        .map(|(_, path)| path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_up_to_the_cut() {
        let data = [0, 1, b'a', 0, 2, b'b', b'c', 0, 5, b'x'];
        assert_eq!(split_lenient(&data), vec![b"a".to_vec(), b"bc".to_vec()]);
        assert!(split_lenient(&[0]).is_empty());
    }

    #[test]
    fn finds_a_bundle_written_for_another_size() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tile/entries/000.p");
        fs::create_dir_all(&p).unwrap();
        fs::write(p.join("3"), [0, 1, b'a', 0, 1, b'b', 0, 1, b'c']).unwrap();
        fs::write(p.join("2"), [0, 1, b'a', 0, 1, b'b']).unwrap();
        let missing = TileError::Missing { path: p.join("5") };
        assert_eq!(salvage(dir.path(), 0, &missing).len(), 3);
        assert!(salvage(dir.path(), 1, &missing).is_empty());
    }
}
