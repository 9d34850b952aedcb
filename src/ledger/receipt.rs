//! Publish receipts: offline proof that the hub accepted an entry, in the
//! C2SP `tlog-proof@v1` text format (c2sp.org/tlog-proof):
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 of the exact ledger entry bytes>
//! index <decimal>
//! <base64 hash>            one per line: the RFC 9162 audit path, leaf sibling first
//! <empty line>
//! <the log's signed checkpoint, verbatim>
//! ```
//!
//! The `extra` line carries the entry itself, so a verifier recomputes the
//! leaf hash SHA-256(0x00 ‖ entry) and needs nothing else but the log's
//! verifier key. Extra data is not trusted on its own: it is what the
//! inclusion proof binds to the signed root.

use crate::ledger::checkpoint::SignedCheckpoint;
use crate::ledger::merkle::{self, Hash};
use crate::ledger::note::NoteVerifier;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A parsed receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The ledger index.
    pub index: u64,
    /// The entry bytes (leaf input).
    pub entry: Vec<u8>,
    /// The inclusion proof.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

/// Why a receipt is malformed or does not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// Not a tlog-proof, or not one of ours.
    #[error("not a c2sp.org/tlog-proof@v1 receipt: {0}")]
    Malformed(String),
    /// The checkpoint is not signed by the trusted log key.
    #[error("the receipt's checkpoint does not verify with the log key: {0}")]
    Checkpoint(String),
    /// The entry is not included in the checkpointed tree.
    #[error("the inclusion proof does not lead from entry {index} to the checkpoint's root: {reason}")]
    Inclusion {
        /// The claimed index.
        index: u64,
        /// Why.
        reason: String,
    },
}

fn malformed(r: impl Into<String>) -> ReceiptError {
    ReceiptError::Malformed(r.into())
}

impl Receipt {
    /// The receipt as text.
    pub fn to_text(&self) -> String {
        let mut out = format!("{HEADER}\nextra {}\nindex {}\n", B64.encode(&self.entry), self.index);
        for h in &self.hashes {
            out.push_str(&B64.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses receipt text.
    pub fn parse(text: &str) -> Result<Self, ReceiptError> {
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or_else(|| malformed("no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(malformed(format!("first line must be {HEADER}")));
        }
        let extra = lines
            .next()
            .and_then(|l| l.strip_prefix("extra "))
            .ok_or_else(|| malformed("missing extra line"))?;
        let entry = B64.decode(extra).map_err(|_| malformed("extra is not base64"))?;
        let index = lines
            .next()
            .and_then(|l| l.strip_prefix("index "))
            .ok_or_else(|| malformed("missing index line"))?;
        if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed("index is not ASCII decimal digits"));
        }
        if index.len() > 1 && index.starts_with('0') {
            return Err(malformed("index has leading zeros"));
        }
        let index = index.parse().map_err(|_| malformed("index is not a decimal number"))?;
        let hashes = lines.map(parse_hash).collect::<Result<_, _>>()?;
        Ok(Receipt {
            index,
            entry,
            hashes,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// Checks the receipt offline against the log's verifier key; returns
    /// the verified checkpoint.
    pub fn verify(&self, log_key: &NoteVerifier) -> Result<SignedCheckpoint, ReceiptError> {
        let cp =
            SignedCheckpoint::open(&self.checkpoint, log_key).map_err(|e| ReceiptError::Checkpoint(e.to_string()))?;
        let leaf = merkle::leaf_hash(&self.entry);
        merkle::verify_inclusion(&leaf, self.index, cp.checkpoint.size, &self.hashes, &cp.checkpoint.root).map_err(
            |e| ReceiptError::Inclusion {
                index: self.index,
                reason: e.to_string(),
            },
        )?;
        Ok(cp)
    }
}

fn parse_hash(line: &str) -> Result<Hash, ReceiptError> {
    let bytes = B64
        .decode(line)
        .map_err(|_| malformed(format!("proof line {line:?} is not base64")))?;
    Hash::try_from(bytes.as_slice()).map_err(|_| malformed("a proof hash is not 32 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::checkpoint::Checkpoint;
    use crate::ledger::merkle::MemoryHashes;
    use crate::ledger::note::NoteSigner;

    fn receipt_for(index: u64, size: u64) -> (Receipt, NoteSigner) {
        let entries: Vec<Vec<u8>> = (0..size).map(|i| format!("entry {i}").into_bytes()).collect();
        let mut tree = MemoryHashes::default();
        tree.append(&entries.iter().map(|e| merkle::leaf_hash(e)).collect::<Vec<_>>());
        let (signer, _) = NoteSigner::generate("example.org/test-log").expect("key");
        let root = merkle::tree_hash(size, &tree).expect("root");
        let cp = Checkpoint {
            origin: signer.name().into(),
            size,
            root,
            extensions: vec![],
        };
        let note = SignedCheckpoint::sign(cp, &signer).expect("sign").note;
        let hashes = merkle::inclusion_proof(index, size, &tree).expect("proof");
        (
            Receipt {
                index,
                entry: entries[index as usize].clone(),
                hashes,
                checkpoint: note,
            },
            signer,
        )
    }

    #[test]
    fn receipts_round_trip_and_verify() {
        for (i, n) in [(0, 1), (3, 7), (6, 7), (100, 1000)] {
            let (r, signer) = receipt_for(i, n);
            let parsed = Receipt::parse(&r.to_text()).expect("parse");
            assert_eq!(parsed, r);
            assert_eq!(parsed.verify(&signer.verifier()).expect("verifies").checkpoint.size, n);
        }
    }

    #[test]
    fn tampered_receipts_fail() {
        let (r, signer) = receipt_for(5, 20);
        let v = signer.verifier();
        let mut t = r.clone();
        t.entry[0] ^= 1;
        assert!(matches!(t.verify(&v), Err(ReceiptError::Inclusion { .. })));
        let mut t = r.clone();
        t.index = 6;
        assert!(matches!(t.verify(&v), Err(ReceiptError::Inclusion { .. })));
        let mut t = r.clone();
        t.hashes[0][0] ^= 1;
        assert!(t.verify(&v).is_err());
        let (other, _) = NoteSigner::generate("example.org/test-log").expect("key");
        assert!(matches!(r.verify(&other.verifier()), Err(ReceiptError::Checkpoint(_))));
        assert!(Receipt::parse("c2sp.org/tlog-proof@v1\nindex 1\n\nx").is_err());
        assert!(Receipt::parse("hello\n\n").is_err());
    }

    #[test]
    fn index_is_plain_decimal() {
        // Found by the receipt fuzz target: Rust's u64 parser takes a sign,
        // so "index +5" parsed and printed back as "index 5".
        let (r, _) = receipt_for(5, 20);
        let text = r.to_text();
        for bad in ["index +5", "index 05", "index  5", "index 5 ", "index "] {
            let edited = text.replacen("index 5", bad, 1);
            assert!(Receipt::parse(&edited).is_err(), "{bad:?}");
        }
        assert_eq!(Receipt::parse(&text).expect("canonical").index, 5);
    }
}
