//! C2SP transparency-log checkpoints (<https://c2sp.org/tlog-checkpoint>),
//! carried in C2SP signed notes (see [`crate::note`]).
//!
//! The checkpoint text is at least three non-empty lines, each ended by 0x0A:
//! the **origin** (non-empty; the log's identity, and the log's signing key
//! name), the **tree size** (ASCII decimal, no sign, no leading zeros unless it
//! is `0`, fits in u64), and the **root hash** (RFC 4648 §4 padded base64 of the
//! 32-byte RFC 6962 Merkle tree hash, 44 characters). Any further lines are
//! opaque, non-empty **extension lines**. Example:
//!
//! ```text
//! example.com/log/testdata\n15\nrKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=\n
//! ```
//!
//! A [`SignedCheckpoint`] is that text signed as a note by the log key whose
//! name equals the origin; other signatures (e.g. witness cosignatures) are
//! kept in the note and otherwise ignored.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::ledger::note::{self, NoteError, NoteSigner, NoteVerifier};

/// Errors parsing, signing or opening checkpoints.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The checkpoint text breaks the tlog-checkpoint format.
    #[error("malformed checkpoint, line {line}: {reason}")]
    Malformed { line: usize, reason: &'static str },
    /// The note layer rejected the note (bad format or signature).
    #[error("checkpoint note rejected: {0}")]
    Note(#[from] NoteError),
    /// The log key's name is not the checkpoint's origin.
    #[error("checkpoint origin {origin:?} does not match log key name {key_name:?}; the checkpoint is from another log or the key is misconfigured")]
    OriginMismatch { origin: String, key_name: String },
}

/// The body of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Log identity; also the log key's name.
    pub origin: String,
    /// Number of leaves in the tree.
    pub size: u64,
    /// RFC 6962 Merkle tree hash at `size`.
    pub root: [u8; 32],
    /// Opaque extension lines, without their newlines.
    pub extensions: Vec<String>,
}

/// Prefix of the extension line naming the roster in force at the
/// checkpoint's size: `roster <index>`, the index of the latest roster
/// entry below the size. A reader who verified the checkpoint knows which
/// roster entry it must be shown, so a hub cannot withhold a roster change
/// (a revocation, say) from one delegation without signing two trees.
pub const ROSTER_LINE: &str = "roster ";

fn malformed(line: usize, reason: &'static str) -> CheckpointError {
    CheckpointError::Malformed { line, reason }
}

impl Checkpoint {
    /// The note text: `origin\nsize\nbase64(root)\n` then one line per extension.
    pub fn to_text(&self) -> String {
        let mut text = format!("{}\n{}\n{}\n", self.origin, self.size, B64.encode(self.root));
        for ext in &self.extensions {
            text.push_str(ext);
            text.push('\n');
        }
        text
    }

    /// Strictly parse a checkpoint text (see module docs).
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(malformed(0, "text does not end with a newline"))?;
        if body.chars().any(|c| c < ' ' && c != '\n') {
            return Err(malformed(0, "text contains a control character"));
        }
        let lines: Vec<&str> = body.split('\n').collect();
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(malformed(lines.len() + 1, "fewer than three lines"));
        };
        if let Some(i) = lines.iter().position(|l| l.is_empty()) {
            return Err(malformed(i + 1, "empty line"));
        }
        Ok(Self {
            origin: (*origin).to_owned(),
            size: parse_size(size)?,
            root: parse_root(root)?,
            extensions: extensions.iter().map(|l| (*l).to_owned()).collect(),
        })
    }

    /// The roster entry this checkpoint commits to, from its `roster <index>`
    /// extension line (`None` when it has none, as checkpoints written
    /// before that line have not; `Some(Err(()))` when the line is malformed
    /// or names an index not below the size).
    pub fn roster_index(&self) -> Option<Result<u64, ()>> {
        let line = self.extensions.iter().find_map(|e| e.strip_prefix(ROSTER_LINE))?;
        let index = match line.bytes().all(|b| b.is_ascii_digit()) && !(line.len() > 1 && line.starts_with('0')) {
            true => line.parse::<u64>().map_err(|_| ()),
            false => Err(()),
        };
        Some(index.and_then(|i| if i < self.size { Ok(i) } else { Err(()) }))
    }

    /// Check that [`Self::to_text`] would produce a parseable checkpoint.
    fn validate(&self) -> Result<(), CheckpointError> {
        let bad_line = |l: &str| l.is_empty() || l.chars().any(|c| c < ' ');
        if bad_line(&self.origin) {
            return Err(malformed(1, "origin is empty or contains a control character"));
        }
        if let Some(i) = self.extensions.iter().position(|e| bad_line(e)) {
            return Err(malformed(i + 4, "extension is empty or contains a control character"));
        }
        Ok(())
    }
}

fn parse_size(line: &str) -> Result<u64, CheckpointError> {
    if !line.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed(2, "tree size is not ASCII decimal digits"));
    }
    if line.len() > 1 && line.starts_with('0') {
        return Err(malformed(2, "tree size has a leading zero"));
    }
    line.parse()
        .map_err(|_| malformed(2, "tree size does not fit in 64 bits"))
}

fn parse_root(line: &str) -> Result<[u8; 32], CheckpointError> {
    let raw = B64
        .decode(line)
        .map_err(|_| malformed(3, "root hash is not canonical padded base64"))?;
    raw.try_into().map_err(|_| malformed(3, "root hash is not 32 bytes"))
}

/// A checkpoint together with the signed note it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The parsed checkpoint.
    pub checkpoint: Checkpoint,
    /// The full signed note, byte for byte.
    pub note: String,
}

impl SignedCheckpoint {
    /// Sign `checkpoint` with the log key, whose name must equal the origin.
    pub fn sign(checkpoint: Checkpoint, signer: &NoteSigner) -> Result<Self, CheckpointError> {
        checkpoint.validate()?;
        check_origin(&checkpoint.origin, signer.name())?;
        let note = signer.sign(&checkpoint.to_text())?;
        Ok(Self { checkpoint, note })
    }

    /// Open a checkpoint note: it must carry a valid signature by `log_verifier`,
    /// whose name must equal the origin. Other signatures are ignored.
    pub fn open(note: &str, log_verifier: &NoteVerifier) -> Result<Self, CheckpointError> {
        let opened = note::open(note, std::slice::from_ref(log_verifier))?;
        let checkpoint = Checkpoint::parse(&opened.text)?;
        check_origin(&checkpoint.origin, log_verifier.name())?;
        Ok(Self {
            checkpoint,
            note: note.to_owned(),
        })
    }
}

fn check_origin(origin: &str, key_name: &str) -> Result<(), CheckpointError> {
    if origin == key_name {
        Ok(())
    } else {
        Err(CheckpointError::OriginMismatch {
            origin: origin.to_owned(),
            key_name: key_name.to_owned(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/tlog-tiles");
    const LOG_KEY: &str = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";

    fn log_verifier() -> NoteVerifier {
        NoteVerifier::from_key(LOG_KEY).unwrap()
    }

    fn read(name: &str) -> String {
        std::fs::read_to_string(format!("{DIR}/{name}")).unwrap()
    }

    #[test]
    fn all_vector_checkpoints_open() {
        let v = log_verifier();
        for size in 0..=15u64 {
            let cp = SignedCheckpoint::open(&read(&format!("checkpoint.{size}")), &v).unwrap();
            assert_eq!(cp.checkpoint.size, size);
            assert_eq!(cp.checkpoint.origin, "example.com/log/testdata");
            assert!(cp.checkpoint.extensions.is_empty());
        }
        let latest = SignedCheckpoint::open(&read("checkpoint"), &v).unwrap();
        assert_eq!(latest.checkpoint.size, 15);
    }

    #[test]
    fn text_round_trips() {
        let note = read("checkpoint.7");
        let opened = SignedCheckpoint::open(&note, &log_verifier()).unwrap();
        let text = &note[..note.find("\n\n").unwrap() + 1];
        assert_eq!(opened.checkpoint.to_text(), text);
        assert_eq!(Checkpoint::parse(text).unwrap(), opened.checkpoint);
    }

    #[test]
    fn tampered_checkpoints_fail() {
        let v = log_verifier();
        let note = read("checkpoint.15");
        let tampered = [
            note.replacen("\n15\n", "\n16\n", 1),
            note.replacen("rKbD", "rKbE", 1),
            note.replacen("example.com/log/testdata\n", "example.com/log/testdatb\n", 1),
            note.replacen("M9e0luh4", "M9e0luh5", 1),
        ];
        for bad in &tampered {
            assert!(SignedCheckpoint::open(bad, &v).is_err(), "{bad}");
        }
    }

    #[test]
    fn wrong_key_fails() {
        let (other, _) = NoteSigner::generate("example.com/log/testdata").unwrap();
        let err = SignedCheckpoint::open(&read("checkpoint"), &other.verifier()).unwrap_err();
        assert!(matches!(
            err,
            CheckpointError::Note(NoteError::NoTrustedSignature { .. })
        ));
    }

    #[test]
    fn sign_and_open_round_trip_with_extensions() {
        let (signer, _) = NoteSigner::generate("isthmus.example/ledger").unwrap();
        let cp = Checkpoint {
            origin: "isthmus.example/ledger".into(),
            size: 1000,
            root: [7u8; 32],
            extensions: vec!["ext one".into()],
        };
        let signed = SignedCheckpoint::sign(cp.clone(), &signer).unwrap();
        let opened = SignedCheckpoint::open(&signed.note, &signer.verifier()).unwrap();
        assert_eq!(opened.checkpoint, cp);
    }

    #[test]
    fn origin_must_match_key_name() {
        let (signer, _) = NoteSigner::generate("isthmus.example/other").unwrap();
        let cp = Checkpoint {
            origin: "isthmus.example/ledger".into(),
            size: 0,
            root: [0u8; 32],
            extensions: vec![],
        };
        let err = SignedCheckpoint::sign(cp.clone(), &signer).unwrap_err();
        assert!(matches!(err, CheckpointError::OriginMismatch { .. }));
        let note = signer.sign(&cp.to_text()).unwrap();
        let err = SignedCheckpoint::open(&note, &signer.verifier()).unwrap_err();
        assert!(matches!(err, CheckpointError::OriginMismatch { .. }));
    }

    #[test]
    fn strict_parsing() {
        let root = "rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=";
        let ok = format!("o\n15\n{root}\n");
        assert!(Checkpoint::parse(&ok).is_ok());
        let bad = [
            format!("o\n015\n{root}\n"),
            format!("o\n+15\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("o\n\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            format!("\n15\n{root}\n"),
            format!("o\n15\n{}\n", &root[..43]),
            format!("o\n15\n{}\n", root.trim_end_matches('=')),
            "o\n15\nAAAA\n".to_string(),
            format!("o\n15\n{root}"),
            format!("o\n15\n{root}\n\n"),
            format!("o\n15\r\n{root}\n"),
            "o\n15\n".to_string(),
        ];
        for text in &bad {
            assert!(Checkpoint::parse(text).is_err(), "{text:?}");
        }
        let max = format!("o\n18446744073709551615\n{root}\next\n");
        let cp = Checkpoint::parse(&max).unwrap();
        assert_eq!((cp.size, cp.extensions.len()), (u64::MAX, 1));
    }

    #[test]
    fn the_roster_line_names_an_index_below_the_size() {
        let cp = |ext: &str, size| Checkpoint {
            origin: "o".into(),
            size,
            root: [0; 32],
            extensions: vec![ext.into()],
        };
        assert_eq!(cp("roster 3", 5).roster_index(), Some(Ok(3)));
        assert_eq!(cp("other", 5).roster_index(), None);
        for bad in ["roster 5", "roster 03", "roster x", "roster ", "roster -1"] {
            assert_eq!(cp(bad, 5).roster_index(), Some(Err(())), "{bad}");
        }
    }
}
