//! `isthmus tail` and `get` check what the hub serves instead of printing it
//! on trust.
//!
//! The roster history is proven, not taken as served: the CLI verifies the
//! hub's latest signed checkpoint with the log key, checks that it extends
//! the last checkpoint this CLI saw (a consistency proof against a small
//! state file), reads every roster entry below the checkpoint's size, checks
//! each one's inclusion proof against the signed root, and requires the last
//! one to be the entry the checkpoint's `roster` line names. A hub that
//! leaves out a roster change (a revocation, say) would have to sign a tree
//! that names an older roster, which the audit and the witnesses catch.
//! Each roster is accepted only as [`roster_change::open`] allows (the
//! genesis pinned with `--genesis` if given), and every alert's DSSE
//! signature is checked under the roster in force at its index, with the
//! hub's own authorship rule ([`ingest::check_authorship`]) at its recorded
//! acceptance time, which must never go back along the ledger.

mod history;
mod state;

use super::{Cli, Failure};
use crate::client::Client;
use crate::crypto::Rule;
use crate::ingest;
use crate::ledger::checkpoint::SignedCheckpoint;
use crate::ledger::{entry, merkle};
use crate::pb;
use crate::policy;
use crate::roster::change as roster_change;
use crate::roster::Roster;
use anyhow::anyhow;
use std::path::PathBuf;

/// How `tail` and `get` check what they print.
#[derive(Debug, clap::Args)]
pub(super) struct CheckArgs {
    /// The genesis roster you trust (hex SHA-256 of its payload, as
    /// isthmus-audit prints it); without it the roster history is only
    /// checked for being approved from its own genesis on.
    #[arg(long, value_name = "SHA256_HEX", value_parser = roster_change::parse_genesis_pin)]
    genesis: Option<[u8; 32]>,
    /// Where to keep the last checkpoint seen, to check that the next one
    /// extends it (default: $XDG_STATE_HOME/isthmus/ or ~/.local/state/isthmus/).
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Print what the hub sends without checking rosters and signatures.
    #[arg(long)]
    no_verify: bool,
    /// Also require the witness quorum of the roster in force at the
    /// checkpoint (its witness_key entries and witness_quorum), read from
    /// the roster history proven from the genesis.
    #[arg(long, conflicts_with = "no_verify")]
    roster_witnesses: bool,
}

impl CheckArgs {
    /// A verifier holding the proven roster history, for entries from
    /// `index` on, unless `--no-verify`.
    pub(super) async fn verifier(&self, cli: &Cli, rpc: &mut Client, index: u64) -> Result<Option<Verifier>, Failure> {
        if self.no_verify {
            return Ok(None);
        }
        let key = super::ledger_cmds::log_key(cli)?.ok_or_else(|| {
            anyhow!("checking needs the log's verifier key: give --log-key (or --no-verify to print unchecked)")
        })?;
        let policy = super::ledger_cmds::witness_policy(cli, &[], None)?;
        let cp = rpc
            .get_checkpoint(pb::GetCheckpointRequest {
                min_size: index,
                witnessed: policy.is_some() || self.roster_witnesses,
            })
            .await?
            .into_inner();
        if let Some(policy) = &policy {
            super::ledger_cmds::check_witnessed(policy, &cp.note).map_err(|why| refuse_whole(&why))?;
        }
        let cp = SignedCheckpoint::open(&cp.note, &key)
            .map_err(|e| refuse_whole(&format!("the hub's checkpoint does not verify: {e}")))?;
        state::extend(rpc, self.state.as_deref(), &cp, &key).await?;
        let history = history::prove(rpc, &cp, self.genesis).await?;
        if self.roster_witnesses {
            let size = cp.checkpoint.size;
            let roster = history.in_force_at(size).map_err(|why| refuse_whole(&why))?;
            let policy = roster
                .witness_policy()
                .ok_or_else(|| refuse_whole(&format!("the roster in force at size {size} lists no witnesses")))?;
            let met = super::ledger_cmds::check_witnessed(&policy, &cp.note).map_err(|why| refuse_whole(&why))?;
            eprintln!("{met} (the roster's witnesses, in force at size {size})");
        }
        Ok(Some(Verifier {
            history,
            checkpoint: cp,
            last_accepted: 0,
        }))
    }
}

/// The proven roster history, and what the stream has shown so far.
pub(super) struct Verifier {
    history: history::History,
    checkpoint: SignedCheckpoint,
    last_accepted: i64,
}

impl Verifier {
    /// Whether `e` is a roster entry (checked, not printed, by tail).
    pub(super) fn is_roster(&self, e: &pb::LedgerEntry) -> bool {
        matches!(policy::Audience::decode(&e.entry), policy::Audience::Roster)
    }

    /// Checks one entry. Roster entries below the checkpoint must be the
    /// proven ones; later ones must be valid changes and join the history.
    /// Acceptance times never go back along the ledger, so they never go
    /// back along what one reader sees of it either.
    pub(super) fn check(&mut self, e: &pb::LedgerEntry) -> Result<(), String> {
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
            entry::Body::Roster { envelope, accepted } => self.history.follow(e, envelope, accepted),
            entry::Body::Submission(s) => submission(self.history.in_force_at(e.index)?, s),
            entry::Body::Empty => Err("empty entry".into()),
        }
    }

    /// The proven roster in force at the verified checkpoint.
    pub(super) fn latest_roster(&self) -> Result<&Roster, String> {
        self.history.in_force_at(self.checkpoint.checkpoint.size)
    }

    /// The proven roster in force at ledger index `index`.
    pub(super) fn roster_at(&self, index: u64) -> Result<&Roster, String> {
        self.history.in_force_at(index)
    }

    /// Proves that `e` is in the checkpointed tree (for `get`).
    pub(super) async fn prove_included(&self, rpc: &mut Client, e: &pb::LedgerEntry) -> Result<(), Failure> {
        history::prove_inclusion(rpc, &self.checkpoint, e).await
    }
}

/// Checks a submission under the roster in force at its index: its
/// publisher, authorship and signature, and for a sealed alert the hub's
/// header and stanza checks.
pub(super) fn submission(roster: &Roster, s: &pb::Submission) -> Result<(), String> {
    let env = s.envelope.as_ref().ok_or("no envelope")?;
    let at = s.accepted.as_ref().ok_or("no acceptance time")?.seconds;
    if at < roster.terms().issued {
        return Err(format!("accepted at {at}, before the roster in force was issued"));
    }
    let member = roster
        .member(&s.principal)
        .ok_or_else(|| format!("publisher {:?} is not in the roster in force", s.principal))?;
    let signed = ingest::check_authorship(env, member, roster, at).map_err(|err| err.to_string())?;
    if crate::envelope::verify(env, &signed.sig, &signed.key, Rule::Cofactored).is_err() {
        return Err(format!(
            "the signature by {} does not verify: the hub served an alert its publisher did not sign",
            member.id
        ));
    }
    if env.payload_type == pb::SEALED_PAYLOAD_TYPE {
        // What the hub had to check, checked again: header and stanzas.
        let sealed = crate::seal::ValidSealed::parse(&env.payload, at).map_err(|err| err.to_string())?;
        sealed.check_keys(roster, at).map_err(|err| err.to_string())?;
    }
    Ok(())
}

/// The leaf hash of an entry as served.
fn leaf(e: &pb::LedgerEntry) -> merkle::Hash {
    merkle::leaf_hash(&e.entry)
}

/// The failure for an entry that does not verify (exit 1).
pub(super) fn refuse(index: u64, why: &str) -> Failure {
    eprintln!("isthmus: entry #{index} failed verification: {why}; stopping");
    Failure::Invalid
}

/// The failure for a checkpoint or history that does not verify (exit 1).
pub(super) fn refuse_whole(why: &str) -> Failure {
    eprintln!("isthmus: {why}; stopping");
    Failure::Invalid
}
