//! The roster history below a verified checkpoint, proven entry by entry:
//! served by a roster-only Subscribe, each entry's inclusion proven against
//! the signed root, the last one the entry the checkpoint's `roster` line
//! names, and each a valid change of the one before.

use super::{leaf, refuse, refuse_whole};
use crate::cli::Failure;
use crate::client::Client;
use crate::crypto::Rule;
use crate::ledger::checkpoint::SignedCheckpoint;
use crate::ledger::merkle;
use crate::pb;
use crate::roster::change as roster_change;
use crate::roster::Roster;

/// Rosters by the index of their entry, in ledger order.
pub(in crate::cli) struct History {
    rosters: Vec<(u64, Roster)>,
    /// Entries below this were proven against the checkpoint.
    proven_below: u64,
    genesis: Option<[u8; 32]>,
}

/// Reads and proves every roster entry below `cp`'s size.
pub(super) async fn prove(
    rpc: &mut Client,
    cp: &SignedCheckpoint,
    genesis: Option<[u8; 32]>,
) -> Result<History, Failure> {
    let size = cp.checkpoint.size;
    let named = match cp.checkpoint.roster_index() {
        Some(Ok(r)) => r,
        _ => {
            return Err(refuse_whole(
                "the hub's checkpoint does not name the roster in force (no valid roster line)",
            ))
        }
    };
    let mut h = History {
        rosters: Vec::new(),
        proven_below: 0,
        genesis,
    };
    let req = pb::SubscribeRequest {
        from_index: 0,
        until_index: size,
        filter: Some(pb::SubscribeFilter {
            roster_only: true,
            ..Default::default()
        }),
    };
    let mut rosters = rpc.subscribe(req).await?.into_inner();
    let mut served = Vec::new();
    while let Some(e) = rosters.message().await? {
        served.push(e);
    }
    for e in &served {
        prove_inclusion(rpc, cp, e).await?;
        let decoded = crate::ledger::entry::decode(&e.entry).map_err(|err| refuse(e.index, &err.to_string()))?;
        let crate::ledger::entry::Body::Roster { envelope, accepted } = crate::ledger::entry::body(&decoded) else {
            return Err(refuse(e.index, "served as a roster entry but is not one"));
        };
        h.follow(e, envelope, accepted).map_err(|why| refuse(e.index, &why))?;
    }
    check_named(named, h.rosters.last().map(|(i, _)| *i)).map_err(|why| refuse_whole(&why))?;
    h.proven_below = size;
    Ok(h)
}

/// The last roster entry served must be the one the checkpoint names.
fn check_named(named: u64, last: Option<u64>) -> Result<(), String> {
    match last == Some(named) {
        true => Ok(()),
        false => Err(format!(
            "the signed checkpoint names roster entry {named} as the roster in force, but the hub served the roster \
             history up to {}: it is withholding a roster change",
            last.map_or("nothing".to_owned(), |i| format!("entry {i}"))
        )),
    }
}

/// Checks the inclusion of `e` in the tree `cp` signs.
pub(super) async fn prove_inclusion(
    rpc: &mut Client,
    cp: &SignedCheckpoint,
    e: &pb::LedgerEntry,
) -> Result<(), Failure> {
    let size = cp.checkpoint.size;
    if e.index >= size {
        return Ok(());
    }
    let proof = rpc
        .get_inclusion_proof(pb::InclusionProofRequest {
            index: e.index,
            tree_size: size,
        })
        .await?
        .into_inner();
    let hashes: Vec<merkle::Hash> = proof
        .hashes
        .iter()
        .map(|h| merkle::Hash::try_from(h.as_slice()))
        .collect::<Result<_, _>>()
        .map_err(|_| refuse(e.index, "the inclusion proof holds a hash that is not 32 bytes"))?;
    merkle::verify_inclusion(&leaf(e), e.index, size, &hashes, &cp.checkpoint.root)
        .map_err(|err| refuse(e.index, &format!("not in the signed tree of size {size}: {err}")))
}

impl History {
    /// A roster entry of the stream: below the proven size it must be one
    /// already proven; beyond it, a valid change of the latest.
    pub(super) fn follow(
        &mut self,
        e: &pb::LedgerEntry,
        env: &pb::Envelope,
        accepted: Option<i64>,
    ) -> Result<(), String> {
        if e.index < self.proven_below {
            return match self.rosters.iter().any(|(i, _)| *i == e.index) {
                true => Ok(()),
                false => Err("a roster entry the proven history does not hold".into()),
            };
        }
        if self.rosters.last().is_some_and(|(i, _)| *i >= e.index) {
            return Err("a roster entry out of order".into());
        }
        let in_force = self.rosters.last().map(|(_, r)| r);
        let opened = roster_change::open(env, in_force, accepted, Rule::Cofactored).map_err(|err| err.to_string())?;
        if e.index == 0 && self.genesis.is_some_and(|pin| pin != roster_change::genesis_hash(env)) {
            return Err("the genesis roster is not the one pinned with --genesis".into());
        }
        self.rosters.push((e.index, opened.roster));
        Ok(())
    }

    /// The roster in force at `index`: the latest roster entry before it.
    pub(super) fn in_force_at(&self, index: u64) -> Result<&Roster, String> {
        self.rosters
            .iter()
            .rev()
            .find(|(i, _)| *i < index)
            .map(|(_, r)| r)
            .ok_or_else(|| "an alert before any roster entry".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_withheld_roster_change_is_named() {
        assert!(check_named(7, Some(7)).is_ok());
        let e = check_named(7, Some(0)).expect_err("entry 7 withheld");
        assert!(e.contains("names roster entry 7") && e.contains("up to entry 0"), "{e}");
        assert!(check_named(0, None).is_err());
    }
}
