//! A reader's witness policy (C2SP tlog-policy): which log keys and
//! witnesses it knows, and the quorum rule a checkpoint's cosignatures must
//! meet before it is trusted.
//!
//! ```text
//! # comments and blank lines are ignored
//! log <vkey> [url]
//! witness <name> <vkey> [url]
//! group <name> all|any|<k> <member> <member> ...
//! quorum <name>|none
//! ```
//!
//! Names are local to the policy (witnesses and groups share one
//! namespace; `none` is predefined and needs no cosignature). A group's
//! members are defined on earlier lines, so a policy has no cycles and is
//! evaluated in one pass in definition order. A refusal names the
//! witnesses, reachable from the quorum, whose cosignature is missing.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::cosignature::{CosignatureVerifier, Cosigned};
use crate::ledger::note::{self, NoteVerifier};

/// The longest policy text accepted (a policy is the reader's own file;
/// the bound keeps a mistaken path from being slurped whole).
pub const MAX_POLICY_BYTES: usize = 256 << 10;

/// A witness of the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyWitness {
    /// Its name in the policy.
    pub name: String,
    /// Its cosignature/v1 verifier key.
    pub key: CosignatureVerifier,
    /// Where it takes `add-checkpoint` requests, if given.
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    name: String,
    threshold: usize,
    members: Vec<String>,
}

/// A parsed, checked witness policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    logs: Vec<(NoteVerifier, Option<String>)>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<Group>,
    quorum: String,
}

/// Why a policy text was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("witness policy line {line}: {reason}")]
pub struct PolicyError {
    /// 1-based line number (0: the policy as a whole).
    pub line: usize,
    /// What to fix.
    pub reason: String,
}

/// Why a checkpoint does not satisfy the policy.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum QuorumError {
    /// Too few valid cosignatures.
    #[error("the witness quorum ({quorum}) is not met: {got} valid cosignatures from the policy's witnesses; missing: {}", missing.join(", "))]
    TooFew {
        /// The rule, as "3 of 5 (delegations)".
        quorum: String,
        /// Valid cosignatures found.
        got: usize,
        /// Witnesses reachable from the quorum without a valid cosignature.
        missing: Vec<String>,
    },
    /// The note is not a signed note.
    #[error("not a signed note: {0}")]
    Note(String),
}

const NONE: &str = "none";

fn err(line: usize, reason: impl Into<String>) -> PolicyError {
    PolicyError {
        line,
        reason: reason.into(),
    }
}

impl Policy {
    /// One group of `witnesses` named `group`, `k` of which must cosign.
    pub fn threshold(group: &str, k: usize, witnesses: Vec<PolicyWitness>) -> Result<Self, PolicyError> {
        let mut p = Policy {
            logs: Vec::new(),
            witnesses: Vec::new(),
            groups: Vec::new(),
            quorum: NONE.to_owned(),
        };
        let members = witnesses.iter().map(|w| w.name.clone()).collect();
        for w in witnesses {
            p.add_witness(0, w)?;
        }
        p.add_group(0, group, &k.to_string(), members)?;
        p.quorum = group.to_owned();
        Ok(p)
    }

    /// Parses tlog-policy text.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(err(0, format!("longer than {MAX_POLICY_BYTES} bytes")));
        }
        let mut p = Policy {
            logs: Vec::new(),
            witnesses: Vec::new(),
            groups: Vec::new(),
            quorum: String::new(),
        };
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let line = raw.split('#').next().unwrap_or_default();
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [] => {}
                ["log", vkey, rest @ ..] if rest.len() <= 1 => {
                    let key = NoteVerifier::from_key(vkey).map_err(|e| err(n, format!("log key: {e}")))?;
                    p.logs.push((key, rest.first().map(|u| u.to_string())));
                }
                ["witness", name, vkey, rest @ ..] if rest.len() <= 1 => {
                    let key = CosignatureVerifier::from_key(vkey)
                        .map_err(|e| err(n, format!("witness {name}: not a cosignature/v1 verifier key: {e}")))?;
                    let url = rest.first().map(|u| u.to_string());
                    p.add_witness(
                        n,
                        PolicyWitness {
                            name: name.to_string(),
                            key,
                            url,
                        },
                    )?;
                }
                ["group", name, k, members @ ..] => {
                    p.add_group(n, name, k, members.iter().map(|m| m.to_string()).collect())?;
                }
                ["quorum", name] => {
                    if !p.quorum.is_empty() {
                        return Err(err(n, "a second quorum line; a policy has exactly one"));
                    }
                    if *name != NONE && !p.defined(name) {
                        return Err(err(n, format!("quorum {name}: no witness or group of that name above")));
                    }
                    p.quorum = name.to_string();
                }
                [word, ..] if ["log", "witness", "group", "quorum"].contains(word) => {
                    return Err(err(n, format!("wrong number of fields for `{word}`")));
                }
                [word, ..] => return Err(err(n, format!("unknown keyword `{word}`"))),
            }
        }
        if p.quorum.is_empty() {
            return Err(err(0, "no quorum line (write `quorum none` to require no cosignature)"));
        }
        Ok(p)
    }

    fn defined(&self, name: &str) -> bool {
        self.witnesses.iter().any(|w| w.name == name) || self.groups.iter().any(|g| g.name == name)
    }

    fn add_witness(&mut self, n: usize, w: PolicyWitness) -> Result<(), PolicyError> {
        if w.name == NONE || self.defined(&w.name) {
            return Err(err(n, format!("the name {} is already taken", w.name)));
        }
        if self.witnesses.iter().any(|o| o.key == w.key) {
            return Err(err(n, format!("witness {}: its key is already listed", w.name)));
        }
        self.witnesses.push(w);
        Ok(())
    }

    fn add_group(&mut self, n: usize, name: &str, k: &str, members: Vec<String>) -> Result<(), PolicyError> {
        if name == NONE || self.defined(name) {
            return Err(err(n, format!("the name {name} is already taken")));
        }
        if members.is_empty() {
            return Err(err(n, format!("group {name} has no members")));
        }
        for (i, m) in members.iter().enumerate() {
            if !self.defined(m) {
                return Err(err(n, format!("group {name}: member {m} is not defined above")));
            }
            if members.iter().take(i).any(|o| o == m) {
                return Err(err(n, format!("group {name}: member {m} listed twice")));
            }
        }
        let threshold = match k {
            "all" => members.len(),
            "any" => 1,
            k => match k.parse::<usize>() {
                Ok(k) if (1..=members.len()).contains(&k) => k,
                _ => {
                    return Err(err(
                        n,
                        format!("group {name}: threshold {k} must be all, any or 1 to {}", members.len()),
                    ))
                }
            },
        };
        self.groups.push(Group {
            name: name.to_owned(),
            threshold,
            members,
        });
        Ok(())
    }

    /// The policy as tlog-policy text (parses back to an equal policy).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let url = |u: &Option<String>| u.as_ref().map(|u| format!(" {u}")).unwrap_or_default();
        for (key, u) in &self.logs {
            let _ = writeln!(out, "log {key}{}", url(u));
        }
        for w in &self.witnesses {
            let _ = writeln!(out, "witness {} {}{}", w.name, w.key, url(&w.url));
        }
        for g in &self.groups {
            let _ = writeln!(out, "group {} {} {}", g.name, g.threshold, g.members.join(" "));
        }
        let _ = writeln!(out, "quorum {}", self.quorum);
        out
    }

    /// The log keys the policy lists.
    pub fn logs(&self) -> impl Iterator<Item = &NoteVerifier> {
        self.logs.iter().map(|(k, _)| k)
    }

    /// The witnesses the policy lists, in order.
    pub fn witnesses(&self) -> &[PolicyWitness] {
        &self.witnesses
    }

    /// Whether the quorum is `none`: any checkpoint satisfies it.
    pub fn requires_nothing(&self) -> bool {
        self.quorum == NONE
    }

    /// The quorum rule in words, as "3 of 5 (delegations)".
    pub fn describe(&self) -> String {
        match self.groups.iter().find(|g| g.name == self.quorum) {
            Some(g) => format!("{} of {} ({})", g.threshold, g.members.len(), g.name),
            None => self.quorum.clone(),
        }
    }

    /// What [`Policy::check`]'s answer says, in words: "3 of 5
    /// (delegations) met: cosigned by CO, PA, PE".
    pub fn describe_met(&self, cosigned: &[(String, Cosigned)]) -> String {
        let by = match cosigned.is_empty() {
            true => "nobody (none needed)".to_owned(),
            false => cosigned.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", "),
        };
        format!("{} met: cosigned by {by}", self.describe())
    }

    /// The policy's witnesses that validly cosigned `signed_note` (by
    /// policy name, with their timestamps), if they satisfy the quorum. A
    /// line that claims to be by a listed witness and does not verify
    /// counts as missing. The log signature is not checked here.
    pub fn check(&self, signed_note: &str) -> Result<Vec<(String, Cosigned)>, QuorumError> {
        let text = note::unverified_text(signed_note).map_err(|e| QuorumError::Note(e.to_string()))?;
        let sigs = signed_note.get(text.len() + 1..).unwrap_or_default();
        let mut ok = Vec::new();
        for w in &self.witnesses {
            let found = sigs
                .split_inclusive('\n')
                .find_map(|l| w.key.verify_line(text, l).ok().flatten());
            if let Some(c) = found {
                ok.push((w.name.clone(), c));
            }
        }
        let met = self.met(&|name| ok.iter().any(|(n, _)| n == name));
        if met.get(self.quorum.as_str()) == Some(&true) {
            return Ok(ok);
        }
        Err(QuorumError::TooFew {
            quorum: self.describe(),
            got: ok.len(),
            missing: self
                .reachable()
                .into_iter()
                .filter(|w| met.get(w.as_str()) != Some(&true))
                .collect(),
        })
    }

    /// Whether the quorum is met when exactly the witnesses whose key
    /// `cosigned` accepts have cosigned (their lines already verified by
    /// the caller: no signature is checked here).
    pub fn met_by(&self, cosigned: &dyn Fn(&CosignatureVerifier) -> bool) -> bool {
        let met = self.met(&|name| self.witnesses.iter().any(|w| w.name == name && cosigned(&w.key)));
        met.get(self.quorum.as_str()) == Some(&true)
    }

    /// Which witnesses and groups are satisfied when the witnesses for
    /// which `cosigned` holds have cosigned.
    fn met(&self, cosigned: &dyn Fn(&str) -> bool) -> HashMap<&str, bool> {
        let mut met: HashMap<&str, bool> = HashMap::from([(NONE, true)]);
        for w in &self.witnesses {
            met.insert(&w.name, cosigned(&w.name));
        }
        for g in &self.groups {
            let count = g.members.iter().filter(|m| met.get(m.as_str()) == Some(&true)).count();
            met.insert(&g.name, count >= g.threshold);
        }
        met
    }

    /// When the quorum had cosigned, by the cosignatures' own timestamps
    /// (`cosigned` as [`Policy::check`] returned them): the earliest T
    /// such that the cosignatures stamped at or before T satisfy the
    /// quorum. The tree existed by then unless a whole quorum lies. `None`
    /// if they do not satisfy it, or it needs nobody.
    pub fn quorum_time(&self, cosigned: &[(String, Cosigned)]) -> Option<u64> {
        let mut times: Vec<u64> = cosigned.iter().map(|(_, c)| c.timestamp).collect();
        times.sort_unstable();
        self.first_time(cosigned, times, |t, at| t <= at)
    }

    /// The latest T such that the cosignatures stamped at or after T
    /// satisfy the quorum: the quorum saw this tree, and no larger one, at
    /// T or later, unless a whole quorum lies. `None` as for
    /// [`Policy::quorum_time`].
    pub fn quorum_time_from(&self, cosigned: &[(String, Cosigned)]) -> Option<u64> {
        let mut times: Vec<u64> = cosigned.iter().map(|(_, c)| c.timestamp).collect();
        times.sort_unstable_by(|a, b| b.cmp(a));
        self.first_time(cosigned, times, |t, at| t >= at)
    }

    /// The first of `times` at which the cosignatures `within` it meet the quorum.
    fn first_time(
        &self,
        cosigned: &[(String, Cosigned)],
        times: Vec<u64>,
        within: impl Fn(u64, u64) -> bool,
    ) -> Option<u64> {
        if self.requires_nothing() {
            return None;
        }
        times.into_iter().find(|&at| {
            let met = self.met(&|name| cosigned.iter().any(|(n, c)| n == name && within(c.timestamp, at)));
            met.get(self.quorum.as_str()) == Some(&true)
        })
    }

    /// The witnesses reachable from the quorum, in policy order.
    fn reachable(&self) -> Vec<String> {
        let mut wanted = vec![self.quorum.as_str()];
        for g in self.groups.iter().rev() {
            if wanted.contains(&g.name.as_str()) {
                wanted.extend(g.members.iter().map(String::as_str));
            }
        }
        self.witnesses
            .iter()
            .filter(|w| wanted.contains(&w.name.as_str()))
            .map(|w| w.name.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::note::NoteSigner;
    use crate::witness::Cosigner;

    fn witnesses(n: usize) -> Vec<Cosigner> {
        (0..n)
            .map(|i| Cosigner::generate(&format!("w{i}.example")).expect("w").0)
            .collect()
    }

    fn listed(ws: &[Cosigner]) -> Vec<PolicyWitness> {
        ws.iter()
            .enumerate()
            .map(|(i, w)| PolicyWitness {
                name: format!("W{i}"),
                key: w.verifier(),
                url: None,
            })
            .collect()
    }

    fn note(ws: &[&Cosigner]) -> String {
        let log = NoteSigner::generate("log.example").expect("log").0;
        let body = format!("log.example\n3\n{}=\n", "A".repeat(43));
        let mut note = log.sign(&body).expect("sign");
        for (i, w) in ws.iter().enumerate() {
            note.push_str(&w.sign(&body, 5 + i as u64).expect("cosign"));
        }
        note
    }

    #[test]
    fn quorum_times_need_a_whole_quorum_on_the_same_side() {
        let ws = witnesses(3);
        let signed = note(&[&ws[0], &ws[1], &ws[2]]); // stamped 5, 6, 7
        for (k, by, from) in [(1, 5, 7), (2, 6, 6), (3, 7, 5)] {
            let p = Policy::threshold("delegations", k, listed(&ws)).expect("policy");
            let cosigned = p.check(&signed).expect("met");
            assert_eq!(
                (p.quorum_time(&cosigned), p.quorum_time_from(&cosigned)),
                (Some(by), Some(from)),
                "{k}"
            );
        }
        let two_of = Policy::threshold("delegations", 2, listed(&ws)).expect("policy");
        let two = two_of.check(&note(&[&ws[0], &ws[1]])).expect("2 of 3");
        let all = Policy::threshold("delegations", 3, listed(&ws)).expect("policy");
        assert_eq!(all.quorum_time(&two), None, "short of the quorum");
        assert!(all.met_by(&|_| true) && !all.met_by(&|k| *k != ws[0].verifier()));
        assert!(two_of.met_by(&|k| *k != ws[0].verifier()) && !two_of.met_by(&|k| *k == ws[0].verifier()));
        let none = Policy::parse("quorum none\n").expect("none");
        assert_eq!(none.quorum_time(&[]), None);
    }

    #[test]
    fn a_threshold_counts_only_valid_lines_of_listed_witnesses() {
        let ws = witnesses(3);
        let stranger = Cosigner::generate("w2.example").expect("w").0;
        let signed = note(&[&ws[0], &ws[1], &stranger]);
        let policy = |k| Policy::threshold("delegations", k, listed(&ws)).expect("policy");
        let got = policy(2).check(&signed).expect("2 of 3");
        assert_eq!(
            got.iter().map(|(n, c)| (n.as_str(), c.timestamp)).collect::<Vec<_>>(),
            [("W0", 5), ("W1", 6)]
        );
        let e = policy(3).check(&signed).expect_err("w2's line is by another key");
        assert_eq!(
            e,
            QuorumError::TooFew {
                quorum: "3 of 3 (delegations)".into(),
                got: 2,
                missing: vec!["W2".into()]
            }
        );
        assert!(e.to_string().contains("missing: W2"), "{e}");
        for k in [0, 4] {
            let e = Policy::threshold("delegations", k, listed(&ws)).expect_err("impossible");
            assert!(e.reason.contains("must be all, any or 1 to 3"), "{e}");
        }
        let other_body = signed.replacen("\n3\n", "\n4\n", 1);
        assert!(
            matches!(policy(1).check(&other_body), Err(QuorumError::TooFew { got: 0, .. })),
            "bound to the checkpoint"
        );
    }

    #[test]
    fn nested_groups_and_text_round_trip() {
        let ws = witnesses(4);
        let log = NoteSigner::generate("log.example").expect("log").0.verifier_key();
        let text = format!(
            "# two regions\nlog {log} https://hub.example/\n\
             witness A1 {} https://a1.example/\nwitness A2 {}\nwitness B1 {}\nwitness B2 {}\n\
             group north any A1 A2\ngroup south all B1 B2\ngroup both all north south\nquorum both\n",
            ws[0].verifier(),
            ws[1].verifier(),
            ws[2].verifier(),
            ws[3].verifier()
        );
        let p = Policy::parse(&text).expect("valid policy");
        assert_eq!(Policy::parse(&p.to_text()).expect("round trip"), p);
        assert_eq!(p.logs().count(), 1);
        assert_eq!(p.witnesses()[0].url.as_deref(), Some("https://a1.example/"));
        assert!(p.check(&note(&[&ws[1], &ws[2], &ws[3]])).is_ok());
        let e = p.check(&note(&[&ws[0], &ws[1], &ws[2]])).expect_err("south needs both");
        assert_eq!(
            e,
            QuorumError::TooFew {
                quorum: "2 of 2 (both)".into(),
                got: 3,
                missing: vec!["B2".into()]
            }
        );
        let none = Policy::parse("quorum none\n").expect("none");
        assert!(none.requires_nothing() && none.check(&note(&[])).is_ok());
    }

    #[test]
    fn bad_policies_name_the_line_to_fix() {
        let w = witnesses(1)[0].verifier();
        for (text, line, what) in [
            (format!("witness A {w}\nwitness A {w}\nquorum A\n"), 2, "already taken"),
            (format!("witness A {w}\nwitness B {w}\nquorum A\n"), 2, "already listed"),
            (format!("witness A {w}\ngroup g 2 A\nquorum g\n"), 2, "1 to 1"),
            (
                format!("witness A {w}\ngroup g any A B\nquorum g\n"),
                2,
                "B is not defined",
            ),
            (format!("witness A {w}\nquorum B\n"), 2, "no witness or group"),
            (format!("witness A {w}\nquorum A\nquorum A\n"), 3, "second quorum"),
            ("witness A nokey\nquorum none\n".into(), 1, "not a cosignature/v1"),
            ("witnes A\n".into(), 1, "unknown keyword"),
            ("quorum\n".into(), 1, "wrong number of fields"),
            (format!("witness A {w}\n"), 0, "no quorum line"),
        ] {
            let e = Policy::parse(&text).expect_err(what);
            assert_eq!(e.line, line, "{e}");
            assert!(e.reason.contains(what), "{what}: {e}");
        }
    }
}
