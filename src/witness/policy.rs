//! A reader's witness policy: a checkpoint is trusted only with valid
//! cosignatures from at least `quorum` of the listed witnesses (the
//! `group <name> <k> <members...>` form of C2SP tlog-policy, one group).
//! The refusal names the witnesses whose cosignature is missing.

use super::cosignature::{CosignatureVerifier, Cosigned};
use crate::ledger::note;

/// Witnesses and how many of them must have cosigned.
#[derive(Debug, Clone)]
pub struct Quorum {
    /// The witnesses the reader trusts.
    pub witnesses: Vec<CosignatureVerifier>,
    /// How many of them must have cosigned (1 ..= witnesses).
    pub quorum: usize,
}

/// Why a checkpoint does not satisfy the policy.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum QuorumError {
    /// The policy itself is impossible or empty.
    #[error("a quorum of {quorum} of {witnesses} witnesses cannot be met; give 1 to {witnesses}")]
    Impossible {
        /// Asked.
        quorum: usize,
        /// Listed.
        witnesses: usize,
    },
    /// Too few valid cosignatures.
    #[error("{got} of the {quorum} witness cosignatures required; missing: {}", missing.join(", "))]
    TooFew {
        /// Valid cosignatures found.
        got: usize,
        /// Required.
        quorum: usize,
        /// Names of the listed witnesses without a valid cosignature.
        missing: Vec<String>,
    },
    /// The note is not a signed note.
    #[error("not a signed note: {0}")]
    Note(String),
}

impl Quorum {
    /// The witnesses that validly cosigned `signed_note` (by name, with
    /// their timestamps), if at least `quorum` did. A line that claims to be
    /// by a listed witness and does not verify counts as missing.
    pub fn check(&self, signed_note: &str) -> Result<Vec<(String, Cosigned)>, QuorumError> {
        if self.quorum == 0 || self.quorum > self.witnesses.len() {
            return Err(QuorumError::Impossible {
                quorum: self.quorum,
                witnesses: self.witnesses.len(),
            });
        }
        let text = note::unverified_text(signed_note).map_err(|e| QuorumError::Note(e.to_string()))?;
        let sigs = signed_note.get(text.len() + 1..).unwrap_or_default();
        let mut ok = Vec::new();
        let mut missing = Vec::new();
        for w in &self.witnesses {
            let found = sigs
                .split_inclusive('\n')
                .find_map(|l| w.verify_line(text, l).ok().flatten());
            match found {
                Some(c) => ok.push((w.name().to_owned(), c)),
                None => missing.push(w.name().to_owned()),
            }
        }
        match ok.len() >= self.quorum {
            true => Ok(ok),
            false => Err(QuorumError::TooFew {
                got: ok.len(),
                quorum: self.quorum,
                missing,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::note::NoteSigner;
    use crate::witness::Cosigner;

    #[test]
    fn a_quorum_counts_only_valid_lines_of_listed_witnesses() {
        let log = NoteSigner::generate("log.example").expect("log").0;
        let body = format!("log.example\n3\n{}=\n", "A".repeat(43));
        let ws: Vec<Cosigner> = (0..3)
            .map(|i| Cosigner::generate(&format!("w{i}")).expect("w").0)
            .collect();
        let mut note = log.sign(&body).expect("sign");
        note.push_str(&ws[0].sign(&body, 5).expect("cosign"));
        note.push_str(&ws[1].sign(&body, 6).expect("cosign"));
        let stranger = Cosigner::generate("w2").expect("w").0;
        note.push_str(&stranger.sign(&body, 7).expect("cosign"));
        let policy = |k| Quorum {
            witnesses: ws.iter().map(Cosigner::verifier).collect(),
            quorum: k,
        };
        let got = policy(2).check(&note).expect("2 of 3");
        assert_eq!(
            got.iter().map(|(n, c)| (n.as_str(), c.timestamp)).collect::<Vec<_>>(),
            [("w0", 5), ("w1", 6)]
        );
        let e = policy(3).check(&note).expect_err("w2's line is by another key");
        assert_eq!(
            e,
            QuorumError::TooFew {
                got: 2,
                quorum: 3,
                missing: vec!["w2".into()]
            }
        );
        assert!(e.to_string().contains("missing: w2"), "{e}");
        assert!(matches!(policy(4).check(&note), Err(QuorumError::Impossible { .. })));
        assert!(matches!(policy(0).check(&note), Err(QuorumError::Impossible { .. })));
        let other_body = note.replacen("\n3\n", "\n4\n", 1);
        assert!(
            matches!(policy(1).check(&other_body), Err(QuorumError::TooFew { got: 0, .. })),
            "bound to the checkpoint"
        );
    }
}
