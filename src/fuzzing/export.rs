//! The export reader and the offline audit: a small valid export (a roster
//! and alerts from several delegations, signed checkpoint, hash tiles,
//! entry bundle) is built once; each input changes one of its files and
//! `audit::verify` runs over the result in a temporary folder.

use std::path::Path;
use std::sync::OnceLock;

use super::fixture::{alert, fixture, LOG_NAME};
use super::Bytes;
use crate::audit::{self, Options};
use crate::ledger::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::ledger::merkle::{self, MemoryHashes};
use crate::ledger::note::unverified_text;
use crate::ledger::tiles::TileWriter;

/// The files of the valid export, by path relative to its folder.
type Files = Vec<(String, Vec<u8>)>;

/// First byte: what to do (flip a bit, replace, delete, truncate or extend
/// one file); second: which file; the rest: offset and bytes. Checks: the
/// untouched export is intact, and any export whose files differ from it
/// is not (the audit never panics either way).
pub fn export(data: &[u8]) {
    let mut b = Bytes(data);
    let (op, which) = (b.u8(), b.u8());
    let mut files = valid_export().clone();
    let i = usize::from(which) % files.len();
    let file = &mut files[i].1;
    let changed = match op % 5 {
        0 => flip(file, &mut b),
        1 => std::mem::replace(file, b.rest().to_vec()) != *file,
        2 => {
            files.remove(i);
            true
        }
        3 => truncate(file, &mut b),
        _ => {
            file.extend_from_slice(b.rest());
            !b.rest().is_empty()
        }
    };
    let intact = audit_files(&files);
    match (changed, intact) {
        (false, false) => panic!("the untouched export does not audit intact"),
        (true, true) => only_cosigned(&files),
        _ => {}
    }
}

/// An export that still audits intact after a change: the only allowed
/// change is a signature line from another key appended to the checkpoint
/// (a witness cosignature, which signed notes permit).
fn only_cosigned(files: &Files) {
    let original = valid_export();
    assert_eq!(
        files.len(),
        original.len(),
        "an export audits intact without one of its files"
    );
    for ((rel, new), (_, old)) in files.iter().zip(original) {
        if new == old {
            continue;
        }
        assert_eq!(rel, "checkpoint", "an export audits intact with {rel} changed");
        let text = |b: &[u8]| {
            std::str::from_utf8(b)
                .ok()
                .and_then(|t| unverified_text(t).ok())
                .map(str::to_owned)
        };
        assert_eq!(
            text(new),
            text(old),
            "the checkpoint's signed text changed yet audits intact"
        );
    }
}

fn flip(file: &mut [u8], b: &mut Bytes<'_>) -> bool {
    let (at, mask) = (usize::from(b.u16()), b.u8());
    match file.len() {
        0 => false,
        n => {
            file[at % n] ^= mask;
            mask != 0
        }
    }
}

fn truncate(file: &mut Vec<u8>, b: &mut Bytes<'_>) -> bool {
    let before = file.len();
    file.truncate(usize::from(b.u16()) % (before + 1));
    file.len() < before
}

/// Writes `files` to a fresh folder and audits it; true when intact.
fn audit_files(files: &Files) -> bool {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for (rel, bytes) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("a file in a folder")).expect("a folder");
        std::fs::write(&path, bytes).expect("a written file");
    }
    let key = fixture().log.verifier_key();
    let opts = Options {
        log_key: &key,
        since: None,
        genesis: None,
        strict_signatures: false,
        policy: None,
        time_skew: 0,
        open_with: &[],
    };
    audit::verify(dir.path(), &opts, &mut |_, _| {}).exit_code() == 0
}

/// The valid export's files, built (and checked intact) once.
pub(super) fn valid_export() -> &'static Files {
    static FILES: OnceLock<Files> = OnceLock::new();
    FILES.get_or_init(|| {
        let files = build_export();
        assert!(audit_files(&files), "the fixture export audits intact");
        files
    })
}

/// The entries of the valid export: the roster, then four alerts.
pub(super) fn export_entries() -> Vec<Vec<u8>> {
    let f = fixture();
    vec![
        f.roster_entry.clone(),
        f.entry(&alert("x-1", "CO", &["PA", "US"])),
        f.entry(&alert("x-2", "PA", &["ALL"])),
        f.entry(&alert("x-3", "US", &["BR"])),
        f.entry(&alert("x-4", "CO", &["BR"])),
    ]
}

fn build_export() -> Files {
    let f = fixture();
    let entries = export_entries();
    let mut tree = MemoryHashes::default();
    tree.append(&entries.iter().map(|e| merkle::leaf_hash(e)).collect::<Vec<_>>());
    let size = entries.len() as u64;
    let cp = Checkpoint {
        origin: LOG_NAME.into(),
        size,
        root: merkle::tree_hash(size, &tree).expect("a root"),
        extensions: vec![],
    };
    let note = SignedCheckpoint::sign(cp, &f.log).expect("a signed checkpoint").note;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut w = TileWriter::create(dir.path()).expect("an empty folder");
    for e in &entries {
        w.append(e).expect("an entry under 64 KiB");
    }
    w.finish(&note).expect("the checkpoint matches");
    read_tree(dir.path(), dir.path())
}

fn read_tree(root: &Path, dir: &Path) -> Files {
    let mut out = Vec::new();
    let mut listing: Vec<_> = std::fs::read_dir(dir).expect("a folder").flatten().collect();
    listing.sort_by_key(|e| e.path());
    for e in listing {
        let path = e.path();
        if path.is_dir() {
            out.extend(read_tree(root, &path));
        } else {
            let rel = path
                .strip_prefix(root)
                .expect("under the root")
                .to_string_lossy()
                .into_owned();
            out.push((rel, std::fs::read(&path).expect("a file")));
        }
    }
    out
}
