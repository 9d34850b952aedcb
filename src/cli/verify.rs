//! `isthmus tail` checks what the hub serves instead of printing it on
//! trust: it follows the roster history from the genesis entry, accepting
//! each roster only as [`roster_change::open`] allows (the genesis pinned
//! with `--genesis` if given), and checks every alert's DSSE signature under
//! the roster in force at its index, with the hub's own authorship rule
//! ([`ingest::check_authorship`]) at its recorded acceptance time. A hub
//! that forges or alters an alert, or slips in an unapproved key, is caught
//! at the first such entry.

use super::Failure;
use crate::client::Client;
use crate::crypto::Rule;
use crate::ingest;
use crate::ledger::entry;
use crate::pb;
use crate::policy;
use crate::roster::Roster;
use crate::roster_change;

/// How `tail` and `get` check what they print.
#[derive(Debug, clap::Args)]
pub(super) struct CheckArgs {
    /// The genesis roster you trust (hex SHA-256 of its payload, as
    /// isthmus-audit prints it); without it the roster history is only
    /// checked for being approved from its own genesis on.
    #[arg(long, value_name = "SHA256_HEX", value_parser = roster_change::parse_genesis_pin)]
    genesis: Option<[u8; 32]>,
    /// Print what the hub sends without checking rosters and signatures.
    #[arg(long)]
    no_verify: bool,
}

impl CheckArgs {
    /// A verifier holding the roster in force at `index`, unless
    /// `--no-verify`.
    pub async fn verifier(&self, rpc: &mut Client, index: u64) -> Result<Option<Verifier>, Failure> {
        match self.no_verify {
            true => Ok(None),
            false => Ok(Some(Verifier::load(rpc, index, self.genesis).await?)),
        }
    }
}

/// The roster in force as the stream advances.
pub(super) struct Verifier {
    roster: Option<Roster>,
    genesis: Option<[u8; 32]>,
    last_accepted: i64,
}

impl Verifier {
    /// Reads (and checks) every roster entry below `until`.
    async fn load(rpc: &mut Client, until: u64, genesis: Option<[u8; 32]>) -> Result<Self, Failure> {
        let mut v = Verifier {
            roster: None,
            genesis,
            last_accepted: 0,
        };
        if until == 0 {
            return Ok(v);
        }
        let req = pb::SubscribeRequest {
            from_index: 0,
            until_index: until,
            filter: Some(pb::SubscribeFilter {
                roster_only: true,
                ..Default::default()
            }),
        };
        let mut rosters = rpc.subscribe(req).await?.into_inner();
        while let Some(e) = rosters.message().await? {
            v.check(&e).map_err(|why| refuse(e.index, &why))?;
        }
        Ok(v)
    }

    /// Whether `e` is a roster entry (checked, not printed, by tail).
    pub fn is_roster(&self, e: &pb::LedgerEntry) -> bool {
        matches!(policy::Audience::decode(&e.entry), policy::Audience::Roster)
    }

    /// Checks one entry; roster entries also become the roster in force.
    /// Acceptance times never go back along the ledger, so they never go
    /// back along what one reader sees of it either.
    pub fn check(&mut self, e: &pb::LedgerEntry) -> Result<(), String> {
        let decoded = entry::decode(&e.entry).map_err(|err| format!("does not decode: {err}"))?;
        if let Some(at) = entry::accepted(&decoded) {
            if at < self.last_accepted {
                return Err(format!(
                    "accepted at {at}, earlier than an entry before it ({}): the hub back-dated or moved it",
                    self.last_accepted
                ));
            }
            self.last_accepted = at;
        }
        match entry::body(&decoded) {
            entry::Body::Roster { envelope, accepted } => {
                let opened = roster_change::open(envelope, self.roster.as_ref(), accepted, Rule::Cofactored)
                    .map_err(|err| err.to_string())?;
                if e.index == 0
                    && self
                        .genesis
                        .is_some_and(|pin| pin != roster_change::genesis_hash(envelope))
                {
                    return Err("the genesis roster is not the one pinned with --genesis".into());
                }
                self.roster = Some(opened.roster);
                Ok(())
            }
            entry::Body::Submission(s) => self.submission(s),
            entry::Body::Empty => Err("empty entry".into()),
        }
    }

    fn submission(&self, s: &pb::Submission) -> Result<(), String> {
        let roster = self.roster.as_ref().ok_or("an alert before any roster entry")?;
        let env = s.envelope.as_ref().ok_or("no envelope")?;
        let at = s.accepted.as_ref().ok_or("no acceptance time")?.seconds;
        if at < roster.terms().issued {
            return Err(format!("accepted at {at}, before the roster in force was issued"));
        }
        let member = roster
            .member(&s.principal)
            .ok_or_else(|| format!("publisher {:?} is not in the roster in force", s.principal))?;
        let signed = ingest::check_authorship(env, member, roster, at).map_err(|err| err.to_string())?;
        match crate::envelope::verify(env, &signed.sig, &signed.key, Rule::Cofactored) {
            Ok(()) => Ok(()),
            Err(_) => Err(format!(
                "the signature by {} does not verify: the hub served an alert its publisher did not sign",
                member.id
            )),
        }
    }
}

/// The failure for an entry that does not verify (exit 1).
pub(super) fn refuse(index: u64, why: &str) -> Failure {
    eprintln!("isthmus: entry #{index} failed verification: {why}; stopping");
    Failure::Invalid
}
