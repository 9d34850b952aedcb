//! The fuzz corpus as regression tests: every input kept in
//! `fuzz/corpus/<target>/` (the minimised interesting inputs) and
//! `fuzz/regressions/<target>/` (inputs that once broke an invariant, fixed
//! since) goes through the same `isthmus::fuzzing` function the libFuzzer
//! binary calls. How the corpus is made and refreshed: docs/fuzzing.md.

use isthmus::fuzzing::{seeds, Target, TARGETS};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files directly in `dir`, sorted; empty when `dir` is missing.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut out: Vec<PathBuf> = listing.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    out.sort();
    out
}

fn run(target: Target, path: &Path) {
    let data = std::fs::read(path).expect("read a corpus file");
    let outcome = std::panic::catch_unwind(|| target(&data));
    assert!(
        outcome.is_ok(),
        "{} broke an invariant (see the panic above)",
        path.display()
    );
}

#[test]
fn every_target_passes_its_corpus_and_past_crashers() {
    let mut total = 0;
    for (name, target) in TARGETS {
        let corpus = files(&fuzz_dir().join("corpus").join(name));
        assert!(!corpus.is_empty(), "fuzz/corpus/{name} is missing or empty");
        let regressions_dir = fuzz_dir().join("regressions").join(name);
        let regressions = files(&regressions_dir);
        assert!(
            !regressions.is_empty() || !regressions_dir.exists(),
            "fuzz/regressions/{name} exists but is empty"
        );
        for path in corpus.iter().chain(&regressions) {
            run(*target, path);
        }
        total += corpus.len() + regressions.len();
    }
    eprintln!("fuzz corpus: {total} inputs over {} targets", TARGETS.len());
}

#[test]
fn every_regression_folder_names_a_target() {
    let Ok(listing) = std::fs::read_dir(fuzz_dir().join("regressions")) else {
        return;
    };
    for dir in listing.flatten() {
        let name = dir.file_name().to_string_lossy().into_owned();
        assert!(
            TARGETS.iter().any(|(t, _)| *t == name),
            "fuzz/regressions/{name} is no target"
        );
    }
}

/// Writes the seed corpus (generated inputs plus the project's real files
/// and the vendored vectors in tests/vectors) into `fuzz/corpus/`; run before a first fuzzing
/// session: `cargo test --test it write_seed_corpus -- --ignored`.
#[test]
#[ignore]
fn write_seed_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |p: &str| std::fs::read(root.join(p)).expect(p);
    let mut seeds = seeds::generated();
    seeds.push(("alert_file", [&[0u8][..], &read("examples/alert.toml")].concat()));
    seeds.push(("roster_toml", read("certs-dev/roster.toml")));
    for size in [0, 1, 7, 15] {
        let note = read(&format!("tests/vectors/tlog-tiles/checkpoint.{size}"));
        seeds.push(("checkpoint", note.clone()));
        seeds.push(("note", note));
    }
    for (name, data) in &seeds {
        let dir = fuzz_dir().join("corpus").join(name);
        std::fs::create_dir_all(&dir).expect("corpus folder");
        let digest = ring::digest::digest(&ring::digest::SHA256, data);
        let file = format!("seed-{}", hex::encode(&digest.as_ref()[..8]));
        std::fs::write(dir.join(file), data).expect("write seed");
    }
}
