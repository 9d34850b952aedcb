//! Witnesses that dial out to the hub (`rpc Witness`): a ministry's witness
//! often may not accept inbound connections, so it opens a stream over its
//! delegation's mutual-TLS channel and the hub sends the same
//! `add-checkpoint` bodies down it that it would POST over HTTP; the
//! witness answers with the HTTP status and body. The bytes and the
//! checks are the spec's; only the transport differs.
//!
//! Bounds: one stream per delegation (a new one replaces the old), at most
//! [`IN_FLIGHT`] requests queued on it, answers of at most
//! [`MAX_BODY_BYTES`]; an answer for no request still waiting is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

use crate::pb;
use crate::witness::request::MAX_BODY_BYTES;
use crate::witness::Answer;

/// Requests queued on one witness's stream (the hub asks one at a time).
const IN_FLIGHT: usize = 4;

type Waiting = Arc<Mutex<HashMap<u64, oneshot::Sender<Answer>>>>;

/// One connected witness.
struct Link {
    /// Which stream this is (a newer one replaces it).
    serial: u64,
    requests: mpsc::Sender<Result<pb::WitnessRequest, Status>>,
    waiting: Waiting,
}

/// The dial-out witnesses connected now, by delegation code.
#[derive(Default)]
pub(super) struct DialOuts {
    links: Mutex<HashMap<String, Link>>,
    next: std::sync::atomic::AtomicU64,
    connected: tokio::sync::Notify,
}

/// The stream the hub sends a dial-out witness.
pub(super) type RequestStream = ReceiverStream<Result<pb::WitnessRequest, Status>>;

impl DialOuts {
    /// Completes when a witness next connects.
    pub(super) async fn connected(&self) {
        self.connected.notified().await;
    }

    fn next_id(&self) -> u64 {
        self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
    }

    /// Sends `body` to `delegation`'s witness and waits for its answer
    /// (the caller bounds the wait). `Err` when it is not connected or its
    /// stream ended first.
    pub(super) async fn ask(&self, delegation: &str, body: String) -> Result<Answer, String> {
        let id = self.next_id();
        let (tx, rx) = oneshot::channel();
        let (requests, waiting) = {
            let links = self.links.lock().map_err(|_| "dial-out registry poisoned".to_owned())?;
            let link = links.get(delegation).ok_or("not connected (dial-out)")?;
            (link.requests.clone(), link.waiting.clone())
        };
        waiting
            .lock()
            .map_err(|_| "dial-out link poisoned".to_owned())?
            .insert(id, tx);
        let req = pb::WitnessRequest {
            id,
            body: body.into_bytes(),
        };
        // Removes the entry however this ends (answered, timed out, failed).
        let _forget = Forget(&waiting, id);
        if requests.try_send(Ok(req)).is_err() {
            return Err("its stream is full or closed".into());
        }
        rx.await.map_err(|_| "its stream ended before it answered".to_owned())
    }

    /// Takes `answers` as `delegation`'s witness stream, replacing any
    /// earlier one; returns the requests to send it. Ends when `stopping`
    /// turns true, the witness hangs up, or a newer stream replaces it.
    pub(super) fn attach(
        self: &Arc<Self>,
        delegation: &str,
        mut answers: Streaming<pb::WitnessAnswer>,
        mut stopping: watch::Receiver<bool>,
    ) -> RequestStream {
        let (tx, rx) = mpsc::channel(IN_FLIGHT);
        let waiting: Waiting = Arc::default();
        let serial = self.next_id();
        if let Ok(mut links) = self.links.lock() {
            let link = Link {
                serial,
                requests: tx.clone(),
                waiting: waiting.clone(),
            };
            if let Some(old) = links.insert(delegation.to_owned(), link) {
                let _ = old.requests.try_send(Err(Status::aborted(
                    "replaced by a newer Witness stream from the same delegation",
                )));
            }
        }
        tracing::info!(delegation, "dial-out witness connected");
        self.connected.notify_waiters();
        let (me, who) = (self.clone(), delegation.to_owned());
        tokio::spawn(async move {
            let ended = loop {
                let next = tokio::select! {
                    n = answers.message() => n,
                    _ = stopping.wait_for(|s| *s) => break "hub stopping".to_owned(),
                    _ = tx.closed() => break "replaced or gone".to_owned(),
                };
                match next {
                    Ok(Some(a)) => {
                        if let Err(refusal) = deliver(&waiting, a) {
                            let _ = tx.send(Err(refusal.clone())).await;
                            break refusal.message().to_owned();
                        }
                    }
                    Ok(None) => break "the witness hung up".to_owned(),
                    Err(e) => break e.message().to_owned(),
                }
            };
            tracing::info!(delegation = %who, why = %ended, "dial-out witness stream ended");
            if let Ok(mut links) = me.links.lock() {
                if links.get(&who).is_some_and(|l| l.serial == serial) {
                    links.remove(&who);
                }
            }
        });
        ReceiverStream::new(rx)
    }
}

/// Drops a request's waiting entry when the asker stops waiting.
struct Forget<'a>(&'a Waiting, u64);

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        if let Ok(mut w) = self.0.lock() {
            w.remove(&self.1);
        }
    }
}

/// Hands answer `a` to the request waiting for it.
fn deliver(waiting: &Waiting, a: pb::WitnessAnswer) -> Result<(), Status> {
    if a.body.len() > MAX_BODY_BYTES {
        return Err(Status::invalid_argument(format!(
            "answer {} is {} bytes; at most {MAX_BODY_BYTES}",
            a.id,
            a.body.len()
        )));
    }
    let status = u16::try_from(a.status).unwrap_or(0);
    let answer = Answer::from_response(status, &String::from_utf8_lossy(&a.body));
    let tx = waiting.lock().ok().and_then(|mut w| w.remove(&a.id));
    match tx {
        Some(tx) => {
            let _ = tx.send(answer);
            Ok(())
        }
        None => {
            // Late (the hub stopped waiting) or never asked: dropped.
            tracing::debug!(id = a.id, "dial-out answer for no waiting request");
            Ok(())
        }
    }
}
