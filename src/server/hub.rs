//! The hub's state and operations, independent of gRPC: the ledger, the
//! roster in force, and publish / read with the access policy applied.

use super::dial_out::DialOuts;
use super::disk::DiskFloor;
use super::witnessing::{self, WitnessTarget};
use crate::crypto::gate::VerifyGate;
use crate::crypto::Rule;
use crate::error::{Error, Result};
use crate::ingest::{self, Caller, Original, PublishError, Stamp};
use crate::ledger::entry::{self, NewEntry};
use crate::ledger::note::NoteSigner;
use crate::ledger::{merkle, Appended, Ledger};
use crate::pb;
use crate::policy::{self, Audience};
use crate::roster::change as roster_change;
use crate::roster::{Member, Roster, SpkiHash};
use crate::time::unix_now;
use prost::Message;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How the hub keeps its log.
#[derive(Clone, Debug)]
pub struct LogOptions {
    /// The log's own signing key; its name is the log's origin line.
    pub key: Arc<NoteSigner>,
    /// Least time between two checkpoints.
    pub checkpoint_interval: Duration,
    /// Publishes are refused while fewer bytes are free on the ledger's
    /// file system ([`DiskFloor`]).
    pub min_free_disk_bytes: u64,
    /// Witnesses asked to cosign each checkpoint (none: not witnessed).
    pub witnesses: Vec<WitnessTarget>,
}

/// Shared state behind every connection.
pub struct Hub {
    ledger: Ledger,
    disk: DiskFloor,
    verifier: VerifyGate,
    roster: RwLock<Arc<Roster>>,
    cosigned: witnessing::Witnessing,
    witnessed: bool,
    dial_outs: Arc<DialOuts>,
}

impl Hub {
    /// Opens the ledger in `data_dir` and brings its roster up to date with
    /// `approved` (a roster envelope with its approvals): an empty ledger gets
    /// it as its genesis entry; a different roster is appended as a new
    /// roster entry if the federation approved it ([`roster_change::open`]);
    /// an equal one changes nothing. A roster that is not approved, not the
    /// next version, or issued in the future is refused with the reason.
    pub async fn open(data_dir: &Path, approved: pb::Envelope, log: &LogOptions) -> Result<Self> {
        let ledger = Ledger::open(data_dir, log.key.clone(), log.checkpoint_interval)?;
        let current = ledger.roster()?;
        let refused = |e: &dyn std::fmt::Display| Error::Config(format!("the roster is not accepted: {e}"));
        let offered = roster_change::roster_of(&approved).map_err(|e| refused(&e))?;
        let roster = match current {
            Some(c) if c == offered => c,
            current => {
                let now = unix_now();
                let opened = roster_change::open(&approved, current.as_ref(), Some(now), Rule::Strict)
                    .map_err(|e| refused(&e))?;
                let approvals = approved.signatures.len();
                let entry = NewEntry::roster(approved, now, opened.valid_until);
                let appended = ledger
                    .append(entry)
                    .await?
                    .map_err(|late| refused(&format!("{late}; the hub's clock is behind its ledger")))?;
                let (index, new) = match appended {
                    Appended::New(index, _) => (index, true),
                    Appended::Existing(index) => (index, false),
                };
                tracing::info!(
                    index,
                    new,
                    version = opened.roster.terms().version,
                    approvals,
                    "roster entry appended"
                );
                opened.roster
            }
        };
        let targets = witnessing::targets(&log.witnesses, &roster);
        let witnessed = !targets.is_empty();
        let dial_outs = Arc::new(DialOuts::default());
        let cosigned = witnessing::start(ledger.clone(), targets, roster.witness_policy(), dial_outs.clone());
        Ok(Hub {
            witnessed,
            dial_outs,
            cosigned,
            ledger,
            disk: DiskFloor::new(data_dir, log.min_free_disk_bytes),
            verifier: VerifyGate::default(),
            roster: RwLock::new(Arc::new(roster)),
        })
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The note to serve for checkpoint `cp`: with the witnesses'
    /// cosignatures once they have answered for its size.
    pub fn checkpoint_note(&self, cp: &crate::ledger::checkpoint::SignedCheckpoint) -> String {
        match self.cosigned.latest.borrow().as_ref() {
            Some(c) if c.size == cp.checkpoint.size => c.note.clone(),
            _ => cp.note.clone(),
        }
    }

    /// The latest witnessed checkpoint of at least `min` entries, waiting
    /// up to `wait` for one; `None` if none came in time.
    pub async fn witnessed_at_least(&self, min: u64, wait: Duration) -> Option<Arc<witnessing::Cosigned>> {
        let mut rx = self.cosigned.witnessed.clone();
        let found = tokio::time::timeout(wait, rx.wait_for(|c| c.as_ref().is_some_and(|c| c.size >= min))).await;
        match found {
            Ok(Ok(c)) => c.clone(),
            _ => None,
        }
    }

    /// The size of the latest witnessed checkpoint (0: none yet).
    pub fn witnessed_size(&self) -> u64 {
        self.cosigned.witnessed.borrow().as_ref().map_or(0, |c| c.size)
    }

    /// The witnesses connected over `rpc Witness`.
    pub(super) fn dial_outs(&self) -> &Arc<DialOuts> {
        &self.dial_outs
    }

    /// Whether any witness is asked to cosign this hub's checkpoints.
    pub fn is_witnessed(&self) -> bool {
        self.witnessed
    }

    /// Why the hub cannot take publishes now, if it cannot: a failed
    /// commit, or too little free disk.
    pub fn failure(&self) -> Option<String> {
        if let Some(why) = self.ledger.failure() {
            return Some(why);
        }
        self.disk.check().err().map(|free| {
            format!(
                "only {free} bytes free on the ledger's disk, below the floor of {}",
                self.disk.floor()
            )
        })
    }

    /// The roster in force.
    pub fn roster(&self) -> Arc<Roster> {
        match self.roster.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The principal a client certificate speaks for, if any.
    pub fn principal(&self, spki: &SpkiHash) -> Option<Member> {
        self.roster().by_spki(spki).cloned()
    }

    /// Checks and appends `env`; returns once durable.
    pub async fn publish(
        &self,
        env: &pb::Envelope,
        member: &Member,
        spki: &SpkiHash,
    ) -> Result<pb::PublishReceipt, PublishError> {
        if let Some(receipt) = self.replayed(env, member)? {
            return Ok(receipt);
        }
        if let Err(free) = self.disk.check() {
            return Err(PublishError::DiskFull {
                free,
                floor: self.disk.floor(),
            });
        }
        let (roster, stamp) = (self.roster(), Stamp::fresh(unix_now()));
        let original = |id: &str| self.original(member.id.as_str(), id);
        let caller = Caller { member, spki };
        let accepted = ingest::accept(env, caller, &roster, &stamp, original, &self.verifier).await?;
        let id = accepted.content.id().as_str();
        match self.ledger.append(accepted.entry).await? {
            Ok(Appended::New(index, leaf)) => Ok(self.receipt(index, leaf, false)),
            Ok(Appended::Existing(index)) => self.same_or_taken(index, env, id),
            Err(_too_late) => Err(PublishError::KeyNotValid(accepted.key_id)),
        }
    }

    /// The stored alert `id` of `publisher`, as an amendment needs it.
    fn original(&self, publisher: &str, id: &str) -> Option<Original> {
        let index = self.ledger.alert_index(publisher, id).ok()??;
        Original::of_entry(&self.ledger.entry(index).ok()??)
    }

    /// The original receipt if `env` is exactly an envelope the caller
    /// already published; ALREADY_EXISTS if its id was used for another.
    fn replayed(&self, env: &pb::Envelope, member: &Member) -> Result<Option<pb::PublishReceipt>, PublishError> {
        let Ok(alert) = AlertKeyView::decode(env.payload.as_slice()) else {
            return Ok(None);
        };
        if alert.publisher != member.id.as_str() {
            return Ok(None);
        }
        match self.ledger.alert_index(&alert.publisher, &alert.id)? {
            Some(index) => self.same_or_taken(index, env, &alert.id).map(Some),
            None => Ok(None),
        }
    }

    fn same_or_taken(&self, index: u64, env: &pb::Envelope, id: &str) -> Result<pb::PublishReceipt, PublishError> {
        let bytes = self
            .ledger
            .entry(index)?
            .ok_or_else(|| Error::Storage(format!("entry {index} vanished")))?;
        let stored = entry::decode(&bytes).map_err(|e| Error::Storage(format!("entry {index}: {e}")))?;
        match stored.body {
            Some(pb::entry::Body::Submission(s)) if s.envelope.as_ref() == Some(env) => {
                Ok(self.receipt(index, merkle::leaf_hash(&bytes), true))
            }
            _ => Err(PublishError::IdTaken(id.to_owned())),
        }
    }

    fn receipt(&self, index: u64, leaf: merkle::Hash, duplicate: bool) -> pb::PublishReceipt {
        pb::PublishReceipt {
            index,
            leaf_hash: leaf.to_vec(),
            duplicate,
            tree_size: self.ledger.size().max(index + 1),
        }
    }

    /// Alert `id` of `publisher` if `viewer` may see it. A hidden alert and
    /// one that does not exist cost the same work, so the time an answer
    /// takes does not tell which: both read one entry from storage and run
    /// the access policy on it (for a missing id, an entry chosen by hashing
    /// the key, whose verdict is discarded).
    pub fn visible_alert(&self, viewer: &Member, publisher: &str, id: &str) -> Result<Option<pb::LedgerEntry>> {
        let index = self.ledger.alert_index(publisher, id)?;
        let size = self.ledger.size();
        if size == 0 {
            return Ok(None);
        }
        let probe = index.unwrap_or_else(|| {
            let h = crate::hash::sha256(format!("{publisher}\0{id}").as_bytes());
            u64::from_be_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]) % size
        });
        let found = self.visible_entry(viewer, probe)?;
        Ok(found.filter(|_| index.is_some()))
    }

    /// Entry `index` if `viewer` may see it.
    pub fn visible_entry(&self, viewer: &Member, index: u64) -> Result<Option<pb::LedgerEntry>> {
        let Some(bytes) = self.ledger.entry(index)? else {
            return Ok(None);
        };
        Ok(visible(viewer, index, bytes, &|_| true))
    }
}

/// Wraps `bytes` as a [`pb::LedgerEntry`] if the policy lets `viewer` see it
/// and `also` accepts its audience.
pub(super) fn visible(
    viewer: &Member,
    index: u64,
    bytes: Vec<u8>,
    also: &dyn Fn(&Audience) -> bool,
) -> Option<pb::LedgerEntry> {
    let audience = Audience::decode(&bytes);
    (policy::may_see(viewer, &audience) && also(&audience)).then_some(pb::LedgerEntry { index, entry: bytes })
}

/// Just the idempotency key of an encoded `isthmus.v1.Alert` (fields 1 and
/// 2); prost skips every other field without decoding it.
#[derive(Clone, PartialEq, prost::Message)]
struct AlertKeyView {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(string, tag = "2")]
    publisher: String,
}
