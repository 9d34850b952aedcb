//! The `isthmus.v1.Isthmus` gRPC service: authenticates each request by its
//! connection's certificate ([`super::caller`]), applies the per-principal
//! quotas, then calls [`Hub`]. Refusals are typed ([`Refusal`],
//! [`crate::ingest::PublishError`]) and become statuses in one place
//! ([`super::status`]).

use super::caller::{authenticate, authenticate_read};
use super::conn::Peer;
use super::hub::Hub;
use super::limits::Quotas;
use super::status::{exhausted, over_rate, Refusal};
use super::subscription::{Stream, Subscription, Wanted};
use crate::pb::{self, isthmus_server::Isthmus};
use crate::roster::{Member, Role};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tonic::{Request, Response, Status};

/// When a principal at its in-flight publish cap may try again: a group
/// commit answers within milliseconds.
const IN_FLIGHT_RETRY: Duration = Duration::from_millis(50);
/// How long GetCheckpoint waits for a checkpoint of the size asked.
const CHECKPOINT_WAIT: Duration = Duration::from_secs(10);
/// How long GetCheckpoint waits for a witnessed checkpoint: one checkpoint
/// interval's wait plus one round of asking the witnesses.
const WITNESSED_WAIT: Duration = CHECKPOINT_WAIT.saturating_add(crate::server::WITNESS_TIMEOUT);

/// The gRPC face of a [`Hub`].
#[derive(Clone)]
pub struct Service {
    hub: Arc<Hub>,
    stopping: watch::Receiver<bool>,
    quotas: Arc<Quotas>,
}

impl Service {
    /// A service over `hub`; streams end when `stopping` turns true.
    pub(super) fn new(hub: Arc<Hub>, stopping: watch::Receiver<bool>, quotas: Arc<Quotas>) -> Self {
        Service { hub, stopping, quotas }
    }

    /// The caller of a read call, once it has a token from its read bucket.
    fn reader<T>(&self, req: &Request<T>) -> Result<(Member, Peer), Status> {
        authenticate_read(&self.hub, &self.quotas, req.extensions())
    }

    /// The publisher, once the publish quotas let it in.
    fn publisher(&self, req: &Request<pb::Envelope>) -> Result<(Member, Peer), Status> {
        let (member, peer) = authenticate(&self.hub, req.extensions())?;
        let who = member.id.as_str();
        self.quotas
            .publishes
            .take(who)
            .map_err(|wait| over_rate(who, "publish", wait))?;
        let bytes = prost::Message::encoded_len(req.get_ref()) as f64;
        self.quotas
            .publish_bytes
            .take_n(who, bytes)
            .map_err(|wait| over_rate(who, "publish byte", wait))?;
        Ok((member, peer))
    }

    /// The size of the ledger, which `tree_size` must be within.
    fn check_tree_size(&self, tree_size: u64) -> Result<(), Refusal> {
        let size = self.hub.ledger().size();
        match (1..=size).contains(&tree_size) {
            true => Ok(()),
            false => Err(Refusal::TreeSize { tree_size, size }),
        }
    }
}

#[tonic::async_trait]
impl Isthmus for Service {
    async fn publish(&self, req: Request<pb::Envelope>) -> Result<Response<pb::PublishReceipt>, Status> {
        let (member, peer) = self.publisher(&req)?;
        let _slot = self.quotas.in_flight.acquire(member.id.as_str()).ok_or_else(|| {
            let message = format!(
                "{} already has {} publishes waiting for their answer, the limit per principal; \
                 wait for answers before sending more",
                member.id,
                self.quotas.in_flight.max()
            );
            exhausted(message, Some(IN_FLIGHT_RETRY))
        })?;
        match self.hub.publish(req.get_ref(), &member, &peer.spki).await {
            Ok(r) => {
                tracing::info!(principal = %member.id, index = r.index, duplicate = r.duplicate, "published");
                Ok(Response::new(r))
            }
            Err(e) => {
                let status = Status::from(e);
                tracing::info!(principal = %member.id, code = ?status.code(), "publish refused");
                Err(status)
            }
        }
    }

    type SubscribeStream = Stream;

    async fn subscribe(&self, req: Request<pb::SubscribeRequest>) -> Result<Response<Stream>, Status> {
        let (member, _) = self.reader(&req)?;
        let r = req.into_inner();
        let wanted = Wanted::from_filter(&r.filter, self.hub.roster().delegations().count())?;
        let size = self.hub.ledger().size();
        if r.from_index > size {
            return Err(Refusal::FromBeyondEnd {
                from: r.from_index,
                size,
            }
            .into());
        }
        if r.until_index != 0 && r.until_index < r.from_index {
            return Err(Refusal::UntilBelowFrom {
                until: r.until_index,
                from: r.from_index,
            }
            .into());
        }
        let range = (r.from_index, (r.until_index != 0).then_some(r.until_index));
        let stream = Subscription::start(self.hub.clone(), member, wanted, range, self.stopping.clone());
        Ok(Response::new(stream))
    }

    async fn get_entry(&self, req: Request<pb::GetEntryRequest>) -> Result<Response<pb::LedgerEntry>, Status> {
        let (member, _) = self.reader(&req)?;
        let found = match req.into_inner().key {
            Some(pb::get_entry_request::Key::Index(i)) => self.hub.visible_entry(&member, i),
            Some(pb::get_entry_request::Key::Alert(k)) => self.hub.visible_alert(&member, &k.publisher, &k.id),
            None => return Err(Refusal::NoKey.into()),
        };
        let found = found.map_err(Refusal::from)?;
        Ok(Response::new(found.ok_or(Refusal::NotFound)?))
    }

    async fn get_checkpoint(
        &self,
        req: Request<pb::GetCheckpointRequest>,
    ) -> Result<Response<pb::CheckpointResponse>, Status> {
        self.reader(&req)?;
        let r = req.into_inner();
        let (min, ledger) = (r.min_size, self.hub.ledger());
        if min > ledger.size() {
            let size = ledger.size();
            return Err(Refusal::MinSizeBeyond { min, size }.into());
        }
        if r.witnessed {
            if !self.hub.is_witnessed() {
                return Err(Refusal::NoWitnesses.into());
            }
            let c = self.hub.witnessed_at_least(min.max(1), WITNESSED_WAIT).await;
            let c = c.ok_or_else(|| Refusal::WitnessesLate {
                min,
                witnessed: self.hub.witnessed_size(),
            })?;
            return Ok(Response::new(pb::CheckpointResponse {
                note: c.note.clone(),
                size: c.size,
                witnessed_size: c.size,
            }));
        }
        let cp = ledger.checkpoint_at_least(min.max(1), CHECKPOINT_WAIT).await;
        let cp = cp.ok_or(Refusal::CheckpointLate)?;
        Ok(Response::new(pb::CheckpointResponse {
            note: self.hub.checkpoint_note(&cp),
            size: cp.checkpoint.size,
            witnessed_size: self.hub.witnessed_size(),
        }))
    }

    async fn get_inclusion_proof(
        &self,
        req: Request<pb::InclusionProofRequest>,
    ) -> Result<Response<pb::InclusionProofResponse>, Status> {
        let (member, _) = self.reader(&req)?;
        let r = req.into_inner();
        self.check_tree_size(r.tree_size)?;
        if r.index >= r.tree_size {
            return Err(Refusal::IndexNotBelow {
                index: r.index,
                tree_size: r.tree_size,
            }
            .into());
        }
        let entry = self.hub.visible_entry(&member, r.index).map_err(Refusal::from)?;
        let entry = entry.ok_or(Refusal::NotFound)?;
        let hashes = self
            .hub
            .ledger()
            .inclusion_proof(r.index, r.tree_size)
            .map_err(Refusal::from)?;
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
        self.check_tree_size(r.new_size)?;
        if r.old_size == 0 || r.old_size > r.new_size {
            return Err(Refusal::OldSize {
                old: r.old_size,
                new: r.new_size,
            }
            .into());
        }
        let hashes = self
            .hub
            .ledger()
            .consistency_proof(r.old_size, r.new_size)
            .map_err(Refusal::from)?;
        Ok(Response::new(pb::ConsistencyProofResponse {
            hashes: hashes.iter().map(|h| h.to_vec()).collect(),
        }))
    }

    type WitnessStream = super::dial_out::RequestStream;

    async fn witness(
        &self,
        req: Request<tonic::Streaming<pb::WitnessAnswer>>,
    ) -> Result<Response<Self::WitnessStream>, Status> {
        let (member, _) = self.reader(&req)?;
        let id = member.id.to_string();
        match &member.witness {
            None => return Err(Refusal::NotAWitness(id).into()),
            Some(w) if w.url.is_some() => return Err(Refusal::WitnessHasUrl(id).into()),
            Some(_) => {}
        }
        let requests = self
            .hub
            .dial_outs()
            .attach(&id, req.into_inner(), self.stopping.clone());
        Ok(Response::new(requests))
    }

    async fn who_am_i(&self, req: Request<pb::WhoAmIRequest>) -> Result<Response<pb::WhoAmIResponse>, Status> {
        let (m, peer) = self.reader(&req)?;
        Ok(Response::new(pb::WhoAmIResponse {
            principal: m.id.to_string(),
            name: m.name.clone(),
            role: match m.role {
                Role::Delegation => pb::Role::Delegation,
                Role::Auditor => pb::Role::Auditor,
            } as i32,
            tls_spki_sha256: hex::encode(peer.spki),
            ledger_size: self.hub.ledger().size(),
        }))
    }
}
