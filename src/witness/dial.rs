//! The witness's side of the dial-out transport (`rpc Witness`): for a
//! witness that may not accept inbound connections, it opens a stream to
//! the hub over its delegation's mutual-TLS channel and answers each
//! `add-checkpoint` body the hub sends with the status and body it would
//! have sent over HTTP ([`super::http::answer`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::core::Witness;
use crate::client::Client;
use crate::pb;

/// Longest wait between two attempts to reach the hub.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Serves one `Witness` stream over `client` until the hub ends it (or
/// the connection drops): `Ok` when it ended cleanly.
pub async fn serve_stream(client: &mut Client, witness: Arc<Witness>) -> Result<(), tonic::Status> {
    let (tx, rx) = mpsc::channel::<pb::WitnessAnswer>(4);
    let mut requests = client.witness(ReceiverStream::new(rx)).await?.into_inner();
    tracing::info!(
        witness = witness.cosigner().name(),
        "serving the hub over a dial-out Witness stream"
    );
    while let Some(req) = requests.message().await? {
        let answer = super::http::answer(witness.clone(), req.body).await;
        let (_, body) = answer.body();
        let reply = pb::WitnessAnswer {
            id: req.id,
            status: u32::from(answer.status()),
            body: body.into_bytes(),
        };
        if tx.send(reply).await.is_err() {
            return Err(tonic::Status::cancelled("the hub stopped reading answers"));
        }
    }
    Ok(())
}

/// The wait before attempt `n + 1` after `n` failures in a row: 1 s,
/// doubling, at most [`MAX_BACKOFF`].
pub fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.min(5)).min(MAX_BACKOFF)
}
