//! One subscriber: what it asked for ([`Wanted`]) and the cursor that
//! replays the ledger and then follows it live ([`Subscription`]).

use super::hub::{visible, Hub};
use super::status::Refusal;
use crate::ids::{CountrySet, PrincipalId};
use crate::pb;
use crate::policy::Audience;
use crate::roster::Member;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

/// Entries read from storage per step of a subscription.
const READ_BATCH: u64 = 64;
/// Entries buffered per subscriber before it simply reads further behind.
const STREAM_BUFFER: usize = 32;

/// What the stream carries.
pub(super) type Stream = ReceiverStream<Result<pb::LedgerEntry, Status>>;

/// What a subscriber asked to receive, beyond what it may see. Checking an
/// entry against it costs the same whatever the filter holds: the
/// publishers are a 249-bit set, not a list to scan.
pub(super) struct Wanted {
    /// Empty: every publisher.
    publishers: CountrySet,
    roster: bool,
    alerts: bool,
}

impl Wanted {
    /// The filter, checked: at most one entry per delegation of the roster
    /// (a longer list can only repeat or name non-members), each an ISO
    /// 3166-1 alpha-2 code.
    pub(super) fn from_filter(f: &Option<pb::SubscribeFilter>, delegations: usize) -> Result<Self, Refusal> {
        let Some(f) = f else {
            return Ok(Wanted {
                publishers: CountrySet::default(),
                roster: false,
                alerts: true,
            });
        };
        if f.publishers.len() > delegations {
            return Err(Refusal::Filter(format!(
                "lists {} codes; there are {delegations} delegations: list each at most once",
                f.publishers.len()
            )));
        }
        let mut publishers = CountrySet::default();
        for p in &f.publishers {
            if !publishers.insert(p) {
                let e = PrincipalId::country(p)
                    .err()
                    .map_or_else(String::new, |e| e.to_string());
                return Err(Refusal::Filter(e));
            }
        }
        Ok(Wanted {
            publishers,
            roster: f.include_roster || f.roster_only,
            alerts: !f.roster_only,
        })
    }

    fn accepts(&self, a: &Audience) -> bool {
        match a {
            Audience::Roster => self.roster,
            Audience::Alert { publisher, .. } => {
                self.alerts && (self.publishers.is_empty() || self.publishers.contains(publisher))
            }
            Audience::Unknown => false,
        }
    }
}

/// One subscriber: a cursor over the ledger. It replays from storage and
/// then waits for the durable size to grow, so there is one code path for
/// replay and live delivery: no gap and no duplicate at the switch. The
/// bounded channel makes a slow reader wait on its own; it never holds
/// more than [`STREAM_BUFFER`] + [`READ_BATCH`] entries in memory.
pub(super) struct Subscription {
    hub: Arc<Hub>,
    member: Member,
    wanted: Wanted,
    cursor: u64,
    /// End of a bounded replay.
    until: Option<u64>,
    tx: mpsc::Sender<Result<pb::LedgerEntry, Status>>,
    stopping: watch::Receiver<bool>,
}

/// Why a subscription stops delivering.
enum Stop {
    /// The subscriber went away.
    Gone,
    /// It must be told why (the message ends its stream).
    Refused(Refusal),
}

impl Subscription {
    /// Starts delivering to `member` the entries it may see and `wanted`
    /// names, from `from` (until `until`, if any), until `stopping`.
    pub(super) fn start(
        hub: Arc<Hub>,
        member: Member,
        wanted: Wanted,
        (from, until): (u64, Option<u64>),
        stopping: watch::Receiver<bool>,
    ) -> Stream {
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let sub = Subscription {
            hub,
            member,
            wanted,
            cursor: from,
            until,
            tx,
            stopping,
        };
        tokio::spawn(sub.run());
        ReceiverStream::new(rx)
    }

    async fn run(mut self) {
        let mut size = self.hub.ledger().watch_size();
        loop {
            if self.until.is_some_and(|u| self.cursor >= u) {
                return;
            }
            if *self.stopping.borrow() {
                // Not OK: the stream did not end where the subscriber asked.
                let why = Refusal::ShuttingDown {
                    resume_from: self.cursor,
                };
                let _ = self.tx.send(Err(why.into())).await;
                return;
            }
            if self.cursor < *size.borrow_and_update() {
                match self.deliver_batch().await {
                    Ok(()) => continue,
                    Err(Stop::Gone) => return,
                    Err(Stop::Refused(why)) => {
                        let _ = self.tx.send(Err(why.into())).await;
                        return;
                    }
                }
            }
            tokio::select! {
                r = size.changed() => if r.is_err() { return },
                r = self.stopping.changed() => if r.is_err() { return },
                _ = self.tx.closed() => return,
            }
        }
    }

    /// Sends the next visible entries.
    async fn deliver_batch(&mut self) -> Result<(), Stop> {
        let batch = match self.hub.ledger().recent_entries(self.cursor, READ_BATCH) {
            Some(recent) => recent.into_iter().map(|(i, e)| (i, e.to_vec())).collect(),
            None => self.read_store().await?,
        };
        // Re-read the roster each step: a principal removed mid-stream stops.
        let member = self.hub.roster().member(self.member.id.as_str()).cloned();
        let member = member.ok_or(Stop::Refused(Refusal::LeftRoster))?;
        for (index, bytes) in batch {
            if self.until.is_some_and(|u| index >= u) {
                break;
            }
            self.cursor = index + 1;
            if let Some(e) = visible(&member, index, bytes, &|a| self.wanted.accepts(a)) {
                self.tx.send(Ok(e)).await.map_err(|_| Stop::Gone)?;
            }
        }
        Ok(())
    }

    /// Entries from the cursor read from storage on a blocking thread.
    async fn read_store(&self) -> Result<Vec<(u64, Vec<u8>)>, Stop> {
        let (ledger, from) = (self.hub.ledger().clone(), self.cursor);
        match tokio::task::spawn_blocking(move || ledger.entries(from, READ_BATCH)).await {
            Ok(read) => read.map_err(|e| Stop::Refused(Refusal::Hub(e))),
            Err(e) => Err(Stop::Refused(Refusal::Hub(crate::Error::Storage(format!(
                "reader task: {e}"
            ))))),
        }
    }
}
