//! The auditor's answer: a verdict an auditor can act on (intact, integrity
//! failure at entry N and why, or unusable input), the counts that show what
//! was covered, the signed notes relied on as evidence, and the time taken;
//! rendered as text for people or as one JSON object for tools. The exit
//! code follows ripgrep's convention: 0 intact, 1 failure, 2 unusable.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::Serialize;
use serde_json::json;

use super::error::AuditError;
use crate::ledger::checkpoint::Checkpoint;

/// What the audit covered.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Entries read and checked.
    pub entries: u64,
    /// Roster entries among them (genesis included).
    pub roster_entries: u64,
    /// Alerts per publishing delegation.
    pub alerts: BTreeMap<String, u64>,
    /// Alert signatures verified.
    pub signatures_checked: u64,
    /// Sealed alerts among the alerts (checked without reading them).
    pub sealed: u64,
    /// Sealed alerts opened and checked with `--open-with` keys (once per
    /// key that could open one).
    pub sealed_opened: u64,
    /// Hex SHA-256 of the genesis roster's encoded payload (what
    /// `--genesis` pins).
    pub genesis_roster_sha256: Option<String>,
    /// With `--strict-signatures`: alerts whose signature holds only under
    /// the cofactored rule (standard RFC 8032 libraries reject them).
    pub cofactored_only: Option<CofactoredOnlyCount>,
    /// With `--policy`: the witness quorum the checkpoint met, and who
    /// cosigned it.
    pub witnessed: Option<String>,
}

/// Alert signatures the audit's rule accepts but a standard RFC 8032
/// verifier (the rule the hub applies at ingest) rejects: possible only in
/// ledgers written before the hub applied it, and only by the key's holder.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct CofactoredOnlyCount {
    /// How many.
    pub count: u64,
    /// The first [`CofactoredOnlyCount::LISTED`] of their entry indices.
    pub first_indices: Vec<u64>,
}

impl CofactoredOnlyCount {
    /// Indices kept in a report (all are counted).
    pub const LISTED: usize = 100;

    /// Adds the entries of one chunk.
    pub fn add(&mut self, indices: Vec<u64>) {
        self.count += indices.len() as u64;
        let room = Self::LISTED.saturating_sub(self.first_indices.len());
        self.first_indices.extend(indices.into_iter().take(room));
    }
}

impl Counts {
    /// Counts one alert by `publisher`.
    pub fn alert(&mut self, publisher: &str) {
        match self.alerts.get_mut(publisher) {
            Some(n) => *n += 1,
            None => {
                self.alerts.insert(publisher.to_owned(), 1);
            }
        }
    }

    /// Alerts of every publisher.
    pub fn total_alerts(&self) -> u64 {
        self.alerts.values().sum()
    }
}

fn listed(indices: &[u64]) -> String {
    match indices {
        [] => String::new(),
        _ => format!(
            ": entries {}",
            indices.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The outcome of one audit.
#[derive(Debug)]
pub struct Report {
    /// The export's checkpoint, once verified with the trusted key.
    pub checkpoint: Option<Checkpoint>,
    /// Signed notes relied on (export checkpoint, then the earlier one).
    pub evidence: Vec<String>,
    /// What was covered (up to the failure, if any).
    pub counts: Counts,
    /// Wall-clock time of the audit.
    pub elapsed: Duration,
    /// `Ok` when the export is intact.
    pub result: Result<(), AuditError>,
}

impl Report {
    /// 0 intact, 1 integrity failure, 2 unusable input.
    pub fn exit_code(&self) -> u8 {
        match &self.result {
            Ok(()) => 0,
            Err(AuditError::Failure { .. }) => 1,
            Err(_) => 2,
        }
    }

    /// The one-line verdict.
    pub fn verdict_line(&self) -> String {
        match (&self.result, &self.checkpoint) {
            (Ok(()), Some(cp)) => format!(
                "INTACT: {} entries, tree size {} and root {} signed by {}",
                self.counts.entries,
                cp.size,
                B64.encode(cp.root),
                cp.origin
            ),
            (Ok(()), None) => "INTACT".to_owned(),
            (Err(AuditError::Failure { index: Some(i), reason }), _) => {
                format!("INTEGRITY FAILURE at entry {i}: {reason}")
            }
            (Err(AuditError::Failure { index: None, reason }), _) => format!("INTEGRITY FAILURE: {reason}"),
            (Err(AuditError::Unusable(u)), _) => format!("UNUSABLE INPUT: {u}"),
        }
    }

    /// The full human-readable report.
    pub fn to_text(&self) -> String {
        let c = &self.counts;
        let mut out = self.verdict_line();
        out.push('\n');
        if matches!(self.result, Err(AuditError::Unusable(_))) {
            return out; // nothing was checked: no counts to show
        }
        let _ = writeln!(out, "entries:            {}", c.entries);
        let _ = writeln!(out, "roster entries:     {}", c.roster_entries);
        if let Some(g) = &c.genesis_roster_sha256 {
            let _ = writeln!(out, "genesis roster:     sha256 {g}");
        }
        let _ = writeln!(out, "alerts:             {}", c.total_alerts());
        for (publisher, n) in &c.alerts {
            let _ = writeln!(out, "  {publisher}: {n}");
        }
        let _ = writeln!(out, "signatures checked: {}", c.signatures_checked);
        if c.sealed > 0 {
            let _ = writeln!(
                out,
                "sealed alerts:      {} (header, stanzas and signatures checked; {} opened with --open-with)",
                c.sealed, c.sealed_opened
            );
        }
        if let Some(w) = &c.cofactored_only {
            let _ = writeln!(out, "cofactored only:    {} (valid under the audit's ZIP-215 rule; standard RFC 8032 verifiers reject them){}", w.count, listed(&w.first_indices));
        }
        if let Some(w) = &c.witnessed {
            let _ = writeln!(out, "witness quorum:     {w}");
        }
        let _ = writeln!(out, "elapsed:            {:.3} s", self.elapsed.as_secs_f64());
        for note in &self.evidence {
            let _ = write!(out, "\nevidence (signed checkpoint):\n{note}");
        }
        out
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        let (verdict, failure) = match &self.result {
            Ok(()) => ("intact", serde_json::Value::Null),
            Err(AuditError::Failure { index, reason }) => (
                "integrity_failure",
                json!({ "index": index, "reason": reason.to_string() }),
            ),
            Err(AuditError::Unusable(u)) => ("unusable_input", json!({ "index": null, "reason": u.to_string() })),
        };
        json!({
            "verdict": verdict,
            "first_failure": failure,
            "checkpoint": self.checkpoint.as_ref().map(|cp| json!({
                "origin": cp.origin, "size": cp.size, "root": B64.encode(cp.root),
            })),
            "counts": match &self.result {
                Err(AuditError::Unusable(_)) => serde_json::Value::Null,
                _ => json!(self.counts),
            },
            "elapsed_ms": u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX),
            "evidence": self.evidence,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::error::{Reason, Unusable};

    fn report(result: Result<(), AuditError>) -> Report {
        let mut counts = Counts::default();
        counts.alert("CO");
        counts.alert("CO");
        counts.alert("PA");
        Report {
            checkpoint: None,
            evidence: vec![],
            counts,
            elapsed: Duration::from_millis(1500),
            result,
        }
    }

    #[test]
    fn exit_codes_and_verdicts() {
        let ok = report(Ok(()));
        assert_eq!(ok.exit_code(), 0);
        assert!(ok.verdict_line().starts_with("INTACT"));
        let bad = report(Err(AuditError::at(7, Reason::LeafMismatch)));
        assert_eq!(bad.exit_code(), 1);
        assert!(bad.verdict_line().starts_with("INTEGRITY FAILURE at entry 7: "));
        let io = std::io::Error::other("boom");
        let unusable = report(Err(Unusable::LogKeyFile {
            path: "k".into(),
            source: io,
        }
        .into()));
        assert_eq!(unusable.exit_code(), 2);
        assert!(unusable.verdict_line().contains("boom"));
        assert!(
            !unusable.to_text().contains("entries:"),
            "nothing checked, nothing counted"
        );
        assert!(unusable.to_json()["counts"].is_null());
    }

    #[test]
    fn json_shape() {
        let bad = report(Err(AuditError::at(7, Reason::LeafMismatch)));
        let j = bad.to_json();
        assert_eq!(j["verdict"], "integrity_failure");
        assert_eq!(j["first_failure"]["index"], 7);
        assert_eq!(j["counts"]["alerts"]["CO"], 2);
        assert_eq!(j["elapsed_ms"], 1500);
        assert!(bad.to_text().contains("  PA: 1\n"));
    }
}
