//! The hub asking witnesses to cosign each new checkpoint (C2SP
//! tlog-witness, over HTTP), in parallel, and serving the checkpoint with
//! the cosignatures that verify appended to its note.
//!
//! Witnessing never blocks publishing: publishes are acknowledged once
//! durable, checkpoints are signed as before, and GetCheckpoint serves the
//! log-signed note at once; the cosigned note replaces it when the
//! witnesses have answered for that size. A witness that is down, slow (10
//! s) or refuses just adds no line. The hub remembers each witness's last
//! cosigned size and learns it from the first 409 after a restart, so a
//! lagging witness catches up with one consistency proof.
//!
//! A checkpoint counts as *witnessed* once its cosignatures meet the
//! roster's witness policy (`witness_quorum` of the delegations'
//! witnesses), or, when the roster lists none, once any configured witness
//! cosigned it: that is what `GetCheckpoint{witnessed}` waits for.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::dial_out::DialOuts;
use crate::ledger::checkpoint::SignedCheckpoint;
use crate::ledger::Ledger;
use crate::roster::Roster;
use crate::witness::{http, AddCheckpoint, Answer, CosignatureVerifier, Policy};

/// How long one witness has to answer one checkpoint.
pub const WITNESS_TIMEOUT: Duration = Duration::from_secs(10);
/// How long before the witnesses that have not cosigned the latest
/// checkpoint are asked again; doubling up to [`MAX_WITNESS_RETRY`].
pub const WITNESS_RETRY: Duration = Duration::from_secs(5);
/// The longest wait between two retries of a missing witness.
pub const MAX_WITNESS_RETRY: Duration = Duration::from_secs(300);

/// A witness the hub asks: its verifier key and `host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessTarget {
    /// The witness's cosignature/v1 verifier key.
    pub key: CosignatureVerifier,
    /// Where its `POST /add-checkpoint` listens (`host:port`, HTTP).
    pub addr: String,
}

/// A checkpoint with the cosignatures collected for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    /// The tree size.
    pub size: u64,
    /// The log-signed note with one line per witness that cosigned.
    pub note: String,
    /// Names of the witnesses whose lines are in `note`.
    pub witnesses: Vec<String>,
}

/// The latest cosigned checkpoint, as the service reads it.
pub(super) type Latest = watch::Receiver<Option<Arc<Cosigned>>>;

/// What the witnesses answered: the latest checkpoint with whatever
/// cosignatures it got, and the latest that is witnessed (met the quorum).
#[derive(Clone)]
pub(super) struct Witnessing {
    pub(super) latest: Latest,
    pub(super) witnessed: Latest,
}

/// How the hub reaches a witness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Reach {
    /// `POST /add-checkpoint` at `host:port`.
    Http(String),
    /// Down the `Witness` stream this delegation's witness opened.
    DialOut(String),
}

/// A witness the hub asks, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Asked {
    key: CosignatureVerifier,
    reach: Reach,
}

/// The witnesses to ask: those of the operator's configuration, then each
/// delegation's witness of the roster, at its URL or, without one, over
/// the stream it dials out with (a key listed in both is asked once, at
/// the configured address).
pub(super) fn targets(configured: &[WitnessTarget], roster: &Roster) -> Vec<Asked> {
    let mut all: Vec<Asked> = configured
        .iter()
        .map(|t| Asked {
            key: t.key.clone(),
            reach: Reach::Http(t.addr.clone()),
        })
        .collect();
    for m in roster.delegations() {
        let Some(w) = &m.witness else { continue };
        let reach = match w.url.as_deref().map(http::authority) {
            Some(Ok(addr)) => Reach::Http(addr),
            Some(Err(_)) => continue, // the roster refuses these at load
            None => Reach::DialOut(m.id.to_string()),
        };
        if !all.iter().any(|t| t.key == w.key) {
            all.push(Asked {
                key: w.key.clone(),
                reach,
            });
        }
    }
    all
}

/// Starts asking `targets` about every checkpoint `ledger` signs; returns
/// what they cosigned. A checkpoint is witnessed when `policy` (the
/// roster's) accepts its note, or without one when anyone cosigned it.
/// With no targets nothing is started.
/// The witnessed checkpoint stored before a restart is served again at
/// once if it still holds (see [`restore`]).
pub(super) fn start(ledger: Ledger, targets: Vec<Asked>, policy: Option<Policy>, dial: Arc<DialOuts>) -> Witnessing {
    let (latest_tx, latest) = watch::channel(None);
    let restored = restore(&ledger, &targets, policy.as_ref()).map(Arc::new);
    let (witnessed_tx, witnessed) = watch::channel(restored);
    if !targets.is_empty() {
        let out = Outputs {
            latest: latest_tx,
            witnessed: witnessed_tx,
            policy,
        };
        tokio::spawn(follow(ledger, targets, dial, out));
    }
    Witnessing { latest, witnessed }
}

/// Where [`follow`] sends what it collected.
struct Outputs {
    latest: watch::Sender<Option<Arc<Cosigned>>>,
    witnessed: watch::Sender<Option<Arc<Cosigned>>>,
    policy: Option<Policy>,
}

/// Whether `c` is witnessed: `policy` (the roster's) accepts its note, or
/// without one, anyone cosigned it.
fn met(policy: Option<&Policy>, c: &Cosigned) -> bool {
    match policy {
        Some(p) => p.check(&c.note).is_ok(),
        None => !c.witnesses.is_empty(),
    }
}

impl Outputs {
    /// Sends `c` on: `None` once nobody listens any more, else the newly
    /// witnessed checkpoint if `c` is one (to store).
    fn send(&self, c: Cosigned) -> Option<Option<Arc<Cosigned>>> {
        let c = Arc::new(c);
        let mut newly = None;
        if met(self.policy.as_ref(), &c) {
            // Only ever forwards: a later checkpoint, or the same one with
            // more cosignatures, replaces what was there.
            self.witnessed.send_if_modified(|w| match w {
                Some(old) if (old.size, old.witnesses.len()) >= (c.size, c.witnesses.len()) => false,
                _ => {
                    *w = Some(c.clone());
                    newly = Some(c.clone());
                    true
                }
            });
        }
        self.latest.send(Some(c)).ok().map(|()| newly)
    }
}

/// The witnessed checkpoint the hub stored before it stopped, if it is
/// still this ledger's (its size within the ledger, the same root there)
/// and still meets the quorum with the witnesses asked now.
fn restore(ledger: &Ledger, targets: &[Asked], policy: Option<&Policy>) -> Option<Cosigned> {
    let note = match ledger.witnessed_note() {
        Ok(note) => note?,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the stored witnessed checkpoint; witnessing starts afresh");
            return None;
        }
    };
    let text = crate::ledger::note::unverified_text(&note).ok()?;
    let cp = crate::ledger::checkpoint::Checkpoint::parse(text).ok()?;
    if ledger.root(cp.size).ok() != Some(cp.root) {
        tracing::warn!(
            size = cp.size,
            "the stored witnessed checkpoint is not this ledger's; ignored"
        );
        return None;
    }
    let witnesses = targets
        .iter()
        .filter(|t| {
            note.split_inclusive('\n')
                .any(|l| matches!(t.key.verify_line(text, l), Ok(Some(_))))
        })
        .map(|t| t.key.name().to_owned())
        .collect();
    let c = Cosigned {
        size: cp.size,
        note: note.clone(),
        witnesses,
    };
    met(policy, &c).then_some(c)
}

/// Stores `c` as the latest witnessed checkpoint (on a blocking thread:
/// it syncs); a failure only costs serving it again after a restart.
async fn store(ledger: &Ledger, c: Arc<Cosigned>) {
    let ledger = ledger.clone();
    let stored = tokio::task::spawn_blocking(move || ledger.put_witnessed_note(&c.note)).await;
    if !matches!(stored, Ok(Ok(()))) {
        tracing::warn!("could not store the witnessed checkpoint; it is served until the hub restarts");
    }
}

async fn follow(ledger: Ledger, targets: Vec<Asked>, dial: Arc<DialOuts>, out: Outputs) {
    let mut known = vec![0u64; targets.len()];
    let mut lines: Vec<Option<String>> = vec![None; targets.len()];
    let mut body = String::new();
    let mut retry = WITNESS_RETRY;
    let mut latest = ledger.watch_checkpoint();
    loop {
        let Some(cp) = latest.borrow_and_update().clone() else {
            if latest.changed().await.is_err() {
                return;
            }
            continue;
        };
        let text = cp.checkpoint.to_text();
        if text != body {
            (body, retry) = (text, WITNESS_RETRY);
            lines.iter_mut().for_each(|l| *l = None);
        }
        // Only the witnesses without a line for this checkpoint yet.
        let asks: Vec<_> = targets
            .iter()
            .zip(known.iter().copied())
            .zip(&lines)
            .map(|((t, k), line)| {
                let (ledger, cp, t, dial) = (ledger.clone(), cp.clone(), t.clone(), dial.clone());
                line.is_none()
                    .then(|| tokio::spawn(async move { ask(&ledger, &t, &dial, k, &cp).await }))
            })
            .collect();
        for ((slot, line), task) in known.iter_mut().zip(lines.iter_mut()).zip(asks) {
            if let Some(task) = task {
                (*slot, *line) = task.await.unwrap_or((*slot, None));
            }
        }
        let mut note = cp.note.clone();
        let mut witnesses = Vec::new();
        for (t, line) in targets.iter().zip(&lines) {
            if let Some(line) = line {
                note.push_str(line);
                witnesses.push(t.key.name().to_owned());
            }
        }
        tracing::info!(
            size = cp.checkpoint.size,
            cosigned = witnesses.len(),
            of = targets.len(),
            "checkpoint witnessed"
        );
        let missing = witnesses.len() < targets.len();
        let cosigned = Cosigned {
            size: cp.checkpoint.size,
            note,
            witnesses,
        };
        match out.send(cosigned) {
            None => return,
            Some(Some(newly)) => store(&ledger, newly).await,
            Some(None) => {}
        }
        // A new checkpoint asks everyone again; until then the missing
        // witnesses are asked again after a backoff, or at once when a
        // dial-out witness connects.
        tokio::select! {
            changed = latest.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(retry), if missing => retry = (retry * 2).min(MAX_WITNESS_RETRY),
            _ = dial.connected(), if missing => {}
        }
    }
}

/// One witness, one checkpoint: the witness's size afterwards and its line
/// if it cosigned. A 409 naming a size below the checkpoint is retried
/// once with a proof from that size.
async fn ask(ledger: &Ledger, t: &Asked, dial: &DialOuts, known: u64, cp: &SignedCheckpoint) -> (u64, Option<String>) {
    let size = cp.checkpoint.size;
    let mut old = known.min(size);
    for _ in 0..2 {
        let proof = match old {
            0 => Ok(Vec::new()),
            _ => ledger.consistency_proof(old, size),
        };
        let Ok(proof) = proof else { return (old, None) };
        let body = AddCheckpoint {
            old_size: old,
            proof,
            checkpoint: cp.note.clone(),
        }
        .to_body();
        let answer = tokio::time::timeout(WITNESS_TIMEOUT, send(&t.reach, dial, body)).await;
        match answer {
            Ok(Ok(Answer::Cosigned(lines))) => return (size, verified(t, cp, &lines)),
            Ok(Ok(Answer::Conflict { size: theirs, .. })) if theirs != old && theirs <= size => old = theirs,
            Ok(Ok(other)) => {
                tracing::warn!(
                    witness = t.key.name(),
                    status = other.status(),
                    "witness refused the checkpoint"
                );
                return (old, None);
            }
            Ok(Err(e)) => {
                tracing::warn!(witness = t.key.name(), error = %e, "witness unreachable");
                return (old, None);
            }
            Err(_) => {
                tracing::warn!(witness = t.key.name(), "witness did not answer in time");
                return (old, None);
            }
        }
    }
    (old, None)
}

/// One `add-checkpoint` body to the witness, by whichever way it is reached.
async fn send(reach: &Reach, dial: &DialOuts, body: String) -> Result<Answer, String> {
    match reach {
        Reach::Http(addr) => http::add_checkpoint(addr, body).await.map_err(|e| e.to_string()),
        Reach::DialOut(delegation) => dial.ask(delegation, body).await,
    }
}

/// The line of `t` among `lines` that verifies over the checkpoint.
fn verified(t: &Asked, cp: &SignedCheckpoint, lines: &str) -> Option<String> {
    let body = cp.checkpoint.to_text();
    let line = lines
        .split_inclusive('\n')
        .find(|l| matches!(t.key.verify_line(&body, l), Ok(Some(_))));
    if line.is_none() {
        tracing::warn!(witness = t.key.name(), "witness answered without a valid cosignature");
    }
    line.map(|l| match l.ends_with('\n') {
        true => l.to_owned(),
        false => format!("{l}\n"),
    })
}
