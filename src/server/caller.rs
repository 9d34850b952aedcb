//! Who is this caller: the one trust decision every call starts with. The
//! TLS layer has already verified the client certificate against the
//! federation CA ([`crate::tls`]); here its SPKI hash names a roster
//! principal, or the call is refused (UNAUTHENTICATED). Read calls also
//! take a token from the principal's read bucket.

use super::conn::Peer;
use super::hub::Hub;
use super::limits::Quotas;
use super::status::{over_rate, Refusal};
use crate::roster::Member;
use tonic::Status;

/// The roster principal behind a request's connection.
pub(super) fn authenticate(hub: &Hub, ext: &tonic::Extensions) -> Result<(Member, Peer), Status> {
    let peer = ext.get::<Peer>().cloned().ok_or(Refusal::NoCertificate)?;
    match hub.principal(&peer.spki) {
        Some(m) => Ok((m, peer)),
        None => Err(Refusal::NotInRoster(hex::encode(peer.spki)).into()),
    }
}

/// [`authenticate`], then one token from the principal's read bucket.
pub(super) fn authenticate_read(hub: &Hub, quotas: &Quotas, ext: &tonic::Extensions) -> Result<(Member, Peer), Status> {
    let (member, peer) = authenticate(hub, ext)?;
    match quotas.reads.take(member.id.as_str()) {
        Ok(()) => Ok((member, peer)),
        Err(wait) => Err(over_rate(member.id.as_str(), "read", wait)),
    }
}
