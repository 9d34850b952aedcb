//! The `isthmus.v1.Isthmus` gRPC service: authenticates each request by its
//! connection's certificate, then calls [`Hub`]. Every refusal is a
//! `tonic::Status` whose message says what to fix.

use super::conn::Peer;
use super::hub::{visible, Hub};
use super::limits::Quotas;
use super::status::{exhausted, over_rate};
use crate::ids::{CountrySet, PrincipalId};
use crate::pb::{self, isthmus_server::Isthmus};
use crate::policy::Audience;
use crate::roster::Member;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

/// Entries read from storage per step of a subscription.
const READ_BATCH: u64 = 64;
/// When a principal at its in-flight publish cap may try again: a group
/// commit answers within milliseconds.
const IN_FLIGHT_RETRY: std::time::Duration = std::time::Duration::from_millis(50);
/// Entries buffered per subscriber before it simply reads further behind.
const STREAM_BUFFER: usize = 32;

/// The gRPC face of a [`Hub`].
#[derive(Clone)]
pub struct Service {
    hub: Arc<Hub>,
    stopping: watch::Receiver<bool>,
    quotas: Arc<Quotas>,
}

impl Service {
    /// A service over `hub`; streams end when `stopping` turns true.
    pub fn new(hub: Arc<Hub>, stopping: watch::Receiver<bool>, quotas: Arc<Quotas>) -> Self {
        Service { hub, stopping, quotas }
    }

    /// The caller of a read call, once it has a token from its read bucket.
    fn reader<T>(&self, req: &Request<T>) -> Result<(Member, Peer), Status> {
        authenticate_read(&self.hub, &self.quotas, req.extensions())
    }

    fn caller<T>(&self, req: &Request<T>) -> Result<(Member, Peer), Status> {
        authenticate(&self.hub, req.extensions())
    }
}

/// The roster principal behind a request's connection.
pub fn authenticate(hub: &Hub, ext: &tonic::Extensions) -> Result<(Member, Peer), Status> {
    let peer = ext
        .get::<Peer>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("no client certificate on this connection"))?;
    match hub.principal(&peer.spki) {
        Some(m) => Ok((m, peer)),
        None => Err(Status::unauthenticated(format!(
            "client certificate (SPKI SHA-256 {}) is not bound to any roster principal; \
             ask the federation administrator to add it to the roster",
            hex::encode(peer.spki)
        ))),
    }
}

/// [`authenticate`], then one token from the principal's read bucket.
pub fn authenticate_read(hub: &Hub, quotas: &Quotas, ext: &tonic::Extensions) -> Result<(Member, Peer), Status> {
    let (member, peer) = authenticate(hub, ext)?;
    match quotas.reads.take(member.id.as_str()) {
        Ok(()) => Ok((member, peer)),
        Err(wait) => Err(over_rate(member.id.as_str(), "read", wait)),
    }
}

fn internal(e: crate::error::Error) -> Status {
    tracing::error!(error = %e, "request failed on the hub's side");
    Status::unavailable("the hub could not read its ledger; retry later")
}

fn check_size(tree_size: u64, size: u64) -> Result<(), Status> {
    match (1..=size).contains(&tree_size) {
        true => Ok(()),
        false => Err(Status::out_of_range(format!(
            "tree_size {tree_size} must be between 1 and the ledger size {size}"
        ))),
    }
}

/// What a subscriber asked to receive, beyond what it may see. Checking an
/// entry against it costs the same whatever the filter holds: the
/// publishers are a 249-bit set, not a list to scan.
struct Wanted {
    /// Empty: every publisher.
    publishers: CountrySet,
    roster: bool,
    alerts: bool,
}

impl Wanted {
    /// The filter, checked: at most one entry per delegation of the roster
    /// (a longer list can only repeat or name non-members), each an ISO
    /// 3166-1 alpha-2 code.
    fn from_filter(f: &Option<pb::SubscribeFilter>, delegations: usize) -> Result<Self, Status> {
        let Some(f) = f else {
            return Ok(Wanted {
                publishers: CountrySet::default(),
                roster: false,
                alerts: true,
            });
        };
        if f.publishers.len() > delegations {
            return Err(Status::invalid_argument(format!(
                "filter.publishers lists {} codes; there are {delegations} delegations: list each at most once",
                f.publishers.len()
            )));
        }
        let mut publishers = CountrySet::default();
        for p in &f.publishers {
            if !publishers.insert(p) {
                let e = PrincipalId::country(p)
                    .err()
                    .map_or_else(String::new, |e| e.to_string());
                return Err(Status::invalid_argument(format!("filter.publishers: {e}")));
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

#[tonic::async_trait]
impl Isthmus for Service {
    async fn publish(&self, req: Request<pb::Envelope>) -> Result<Response<pb::PublishReceipt>, Status> {
        let (member, peer) = self.caller(&req)?;
        if let Err(wait) = self.quotas.publishes.take(member.id.as_str()) {
            return Err(over_rate(member.id.as_str(), "publish", wait));
        }
        let bytes = prost::Message::encoded_len(req.get_ref()) as f64;
        if let Err(wait) = self.quotas.publish_bytes.take_n(member.id.as_str(), bytes) {
            return Err(over_rate(member.id.as_str(), "publish byte", wait));
        }
        let _slot = self.quotas.in_flight.acquire(member.id.as_str()).ok_or_else(|| {
            let message = format!(
                "{} already has {} publishes waiting for their answer, the limit per principal; \
                 wait for answers before sending more",
                member.id,
                self.quotas.in_flight.max()
            );
            exhausted(message, Some(IN_FLIGHT_RETRY))
        })?;
        let result = self.hub.publish(req.get_ref(), &member, &peer.spki).await;
        match result {
            Ok(r) => {
                tracing::info!(principal = %member.id, index = r.index, duplicate = r.duplicate, "published");
                Ok(Response::new(r))
            }
            Err(e) => {
                tracing::info!(principal = %member.id, code = ?e.code(), "publish refused");
                Err(Status::new(e.code(), e.to_string()))
            }
        }
    }

    type SubscribeStream = ReceiverStream<Result<pb::LedgerEntry, Status>>;

    async fn subscribe(&self, req: Request<pb::SubscribeRequest>) -> Result<Response<Self::SubscribeStream>, Status> {
        let (member, _) = self.reader(&req)?;
        let r = req.into_inner();
        let wanted = Wanted::from_filter(&r.filter, self.hub.roster().delegations().count())?;
        let size = self.hub.ledger().size();
        if r.from_index > size {
            return Err(Status::out_of_range(format!(
                "from_index {} is beyond the end of the ledger (size {size}); resume from at most {size}",
                r.from_index
            )));
        }
        if r.until_index != 0 && r.until_index < r.from_index {
            return Err(Status::invalid_argument(format!(
                "until_index {} is below from_index {}; use 0 to follow without end",
                r.until_index, r.from_index
            )));
        }
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let sub = Subscription {
            hub: self.hub.clone(),
            member,
            wanted,
            cursor: r.from_index,
            until: (r.until_index != 0).then_some(r.until_index),
            tx,
            stopping: self.stopping.clone(),
        };
        tokio::spawn(sub.run());
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn get_entry(&self, req: Request<pb::GetEntryRequest>) -> Result<Response<pb::LedgerEntry>, Status> {
        let (member, _) = self.reader(&req)?;
        let found = match req.into_inner().key {
            Some(pb::get_entry_request::Key::Index(i)) => self.hub.visible_entry(&member, i),
            Some(pb::get_entry_request::Key::Alert(k)) => self.hub.visible_alert(&member, &k.publisher, &k.id),
            None => return Err(Status::invalid_argument("set either index or alert {publisher, id}")),
        };
        found
            .map_err(internal)?
            .map(Response::new)
            .ok_or_else(|| Status::not_found("no such entry is visible to you"))
    }

    async fn get_checkpoint(
        &self,
        req: Request<pb::GetCheckpointRequest>,
    ) -> Result<Response<pb::CheckpointResponse>, Status> {
        self.reader(&req)?;
        let min = req.into_inner().min_size;
        let ledger = self.hub.ledger();
        if min > ledger.size() {
            return Err(Status::out_of_range(format!(
                "min_size {min} is beyond the ledger's size {}; no such checkpoint can come soon",
                ledger.size()
            )));
        }
        let cp = ledger
            .checkpoint_at_least(min.max(1), std::time::Duration::from_secs(10))
            .await
            .ok_or_else(|| Status::deadline_exceeded("no checkpoint of that size was signed in time; retry"))?;
        Ok(Response::new(pb::CheckpointResponse {
            note: cp.note.clone(),
            size: cp.checkpoint.size,
        }))
    }

    async fn get_inclusion_proof(
        &self,
        req: Request<pb::InclusionProofRequest>,
    ) -> Result<Response<pb::InclusionProofResponse>, Status> {
        let (member, _) = self.reader(&req)?;
        let r = req.into_inner();
        check_size(r.tree_size, self.hub.ledger().size())?;
        if r.index >= r.tree_size {
            return Err(Status::invalid_argument(format!(
                "index {} is not below tree_size {}",
                r.index, r.tree_size
            )));
        }
        let entry = self.hub.visible_entry(&member, r.index).map_err(internal)?;
        let entry = entry.ok_or_else(|| Status::not_found("no such entry is visible to you"))?;
        let hashes = self
            .hub
            .ledger()
            .inclusion_proof(r.index, r.tree_size)
            .map_err(internal)?;
        Ok(Response::new(pb::InclusionProofResponse {
            index: r.index,
            tree_size: r.tree_size,
            leaf_hash: crate::ledger::merkle::leaf_hash(&entry.entry).to_vec(),
            hashes: hashes.iter().map(|h| h.to_vec()).collect(),
        }))
    }

    async fn get_consistency_proof(
        &self,
        req: Request<pb::ConsistencyProofRequest>,
    ) -> Result<Response<pb::ConsistencyProofResponse>, Status> {
        self.reader(&req)?;
        let r = req.into_inner();
        check_size(r.new_size, self.hub.ledger().size())?;
        if r.old_size == 0 || r.old_size > r.new_size {
            return Err(Status::invalid_argument(format!(
                "need 1 <= old_size <= new_size, got old_size {} and new_size {}",
                r.old_size, r.new_size
            )));
        }
        let hashes = self
            .hub
            .ledger()
            .consistency_proof(r.old_size, r.new_size)
            .map_err(internal)?;
        Ok(Response::new(pb::ConsistencyProofResponse {
            hashes: hashes.iter().map(|h| h.to_vec()).collect(),
        }))
    }

    async fn who_am_i(&self, req: Request<pb::WhoAmIRequest>) -> Result<Response<pb::WhoAmIResponse>, Status> {
        let (m, peer) = self.reader(&req)?;
        Ok(Response::new(pb::WhoAmIResponse {
            principal: m.id.to_string(),
            name: m.name.clone(),
            role: match m.role {
                crate::roster::Role::Delegation => pb::Role::Delegation,
                crate::roster::Role::Auditor => pb::Role::Auditor,
            } as i32,
            tls_spki_sha256: hex::encode(peer.spki),
            ledger_size: self.hub.ledger().size(),
        }))
    }
}

/// One subscriber: a cursor over the ledger. It replays from storage and
/// then waits for the durable size to grow, so there is one code path for
/// replay and live delivery: no gap and no duplicate at the switch. The
/// bounded channel makes a slow reader wait on its own; it never holds
/// more than [`STREAM_BUFFER`] + [`READ_BATCH`] entries in memory.
struct Subscription {
    hub: Arc<Hub>,
    member: Member,
    wanted: Wanted,
    cursor: u64,
    /// End of a bounded replay.
    until: Option<u64>,
    tx: mpsc::Sender<Result<pb::LedgerEntry, Status>>,
    stopping: watch::Receiver<bool>,
}

impl Subscription {
    async fn run(mut self) {
        let mut size = self.hub.ledger().watch_size();
        loop {
            if *self.stopping.borrow() || self.until.is_some_and(|u| self.cursor >= u) {
                return;
            }
            if self.cursor < *size.borrow_and_update() {
                match self.deliver_batch().await {
                    Ok(true) => continue,
                    _ => return,
                }
            }
            tokio::select! {
                r = size.changed() => if r.is_err() { return },
                _ = self.stopping.changed() => return,
                _ = self.tx.closed() => return,
            }
        }
    }

    /// Sends the next visible entries; false when the subscriber is gone.
    async fn deliver_batch(&mut self) -> Result<bool, ()> {
        let batch = match self.hub.ledger().recent_entries(self.cursor, READ_BATCH) {
            Some(recent) => recent.into_iter().map(|(i, e)| (i, e.to_vec())).collect(),
            None => self.read_store().await?,
        };
        // Re-read the roster each step: a principal removed mid-stream stops.
        let Some(member) = self.hub.roster().member(self.member.id.as_str()).cloned() else {
            let _ = self
                .tx
                .send(Err(Status::unauthenticated("you are no longer in the roster")))
                .await;
            return Err(());
        };
        for (index, bytes) in batch {
            if self.until.is_some_and(|u| index >= u) {
                break;
            }
            self.cursor = index + 1;
            if let Some(e) = visible(&member, index, bytes, &|a| self.wanted.accepts(a)) {
                if self.tx.send(Ok(e)).await.is_err() {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Entries from the cursor read from storage on a blocking thread.
    async fn read_store(&self) -> Result<Vec<(u64, Vec<u8>)>, ()> {
        let (ledger, from) = (self.hub.ledger().clone(), self.cursor);
        match tokio::task::spawn_blocking(move || ledger.entries(from, READ_BATCH)).await {
            Ok(Ok(b)) => Ok(b),
            _ => {
                let _ = self
                    .tx
                    .send(Err(Status::unavailable(
                        "the hub could not read its ledger; resume later",
                    )))
                    .await;
                Err(())
            }
        }
    }
}
