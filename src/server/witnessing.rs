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
/// roster's) accepts its note, or without one when a strict majority of
/// `targets` cosigned it. With no targets nothing is started.
/// The witnessed checkpoint stored before a restart is served again at
/// once if it still holds (see [`restore`]).
pub(super) fn start(ledger: Ledger, targets: Vec<Asked>, policy: Option<Policy>, dial: Arc<DialOuts>) -> Witnessing {
    let policy = policy.or_else(|| majority(&targets));
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

/// A strict majority of `targets` (the configured witnesses, when the
/// roster lists none), as a policy.
fn majority(targets: &[Asked]) -> Option<Policy> {
    let listed = targets
        .iter()
        .map(|t| crate::witness::PolicyWitness {
            name: t.key.name().to_owned(),
            key: t.key.clone(),
            url: None,
        })
        .collect();
    Policy::threshold("configured", targets.len() / 2 + 1, listed).ok()
}

/// Whether `c` is witnessed: `policy` accepts its note, or without one
/// (witness names the policy could not tell apart), anyone cosigned it.
fn met(policy: Option<&Policy>, c: &Cosigned) -> bool {
    match policy {
        // The lines in `c` were verified as they arrived ([`verified`]).
        Some(p) => p.met_by(&|key| c.witnesses.iter().any(|n| n == key.name())),
        None => !c.witnesses.is_empty(),
    }
}

impl Outputs {
    /// Whether `c` would replace the witnessed checkpoint served: it meets
    /// the quorum and is a later checkpoint, or the same with more lines.
    fn forwards(&self, c: &Cosigned) -> bool {
        let better = match self.witnessed.borrow().as_ref() {
            Some(old) => (old.size, old.witnesses.len()) < (c.size, c.witnesses.len()),
            None => true,
        };
        better && met(self.policy.as_ref(), c)
    }

    /// Sends `c` on (as the latest if `newest`); false once nobody listens.
    fn send(&self, c: Cosigned, newest: bool) -> bool {
        let c = Arc::new(c);
        if self.forwards(&c) {
            self.witnessed.send_replace(Some(c.clone()));
        }
        match newest {
            true => self.latest.send(Some(c)).is_ok(),
            false => !self.latest.is_closed(),
        }
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
async fn store(ledger: &Ledger, note: &str) {
    let (ledger, note) = (ledger.clone(), note.to_owned());
    let stored = tokio::task::spawn_blocking(move || ledger.put_witnessed_note(&note)).await;
    if !matches!(stored, Ok(Ok(()))) {
        tracing::warn!("could not store the witnessed checkpoint; it is served until the hub restarts");
    }
}

/// The recent checkpoints whose cosignatures are still collected: a
/// witness slower than the checkpoint interval still counts towards an
/// older one, which is served as witnessed if it meets the quorum first.
const RECENT: usize = 16;

/// One witness's answer: its index, the checkpoint, its line if it cosigned.
type Answered = (usize, Arc<SignedCheckpoint>, Option<String>);

/// Runs one loop per witness (each asks for the latest checkpoint as soon
/// as it has answered for the previous one, so a slow or silent witness
/// delays only its own lines) and combines their answers per checkpoint.
async fn follow(ledger: Ledger, targets: Vec<Asked>, dial: Arc<DialOuts>, out: Outputs) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Answered>(targets.len().max(1) * 2);
    for (i, t) in targets.iter().enumerate() {
        let (ledger, t, dial, tx) = (ledger.clone(), t.clone(), dial.clone(), tx.clone());
        tokio::spawn(async move { follow_one(i, &t, &ledger, &dial, tx).await });
    }
    drop(tx);
    // (checkpoint, lines by witness), oldest first.
    let mut recent: std::collections::VecDeque<(Arc<SignedCheckpoint>, Vec<Option<String>>)> = Default::default();
    let mut stored = 0;
    while let Some((i, cp, line)) = rx.recv().await {
        let body = cp.checkpoint.to_text();
        let at = match recent.iter().position(|(c, _)| c.checkpoint.to_text() == body) {
            Some(at) => at,
            None if recent
                .back()
                .is_some_and(|(c, _)| c.checkpoint.size > cp.checkpoint.size) =>
            {
                continue
            }
            None => {
                if recent.len() == RECENT {
                    recent.pop_front();
                }
                recent.push_back((cp.clone(), vec![None; targets.len()]));
                recent.len() - 1
            }
        };
        let Some((cp, lines)) = recent.get_mut(at) else {
            continue;
        };
        if let (Some(slot), Some(line)) = (lines.get_mut(i), line) {
            *slot = Some(line);
        }
        let c = collected(cp, &targets, lines);
        tracing::debug!(
            size = c.size,
            cosigned = c.witnesses.len(),
            of = targets.len(),
            "cosignature collected"
        );
        if c.witnesses.len() == targets.len() {
            tracing::info!(
                size = c.size,
                cosigned = c.witnesses.len(),
                "checkpoint witnessed by all"
            );
        }
        // A newly witnessed size is stored before it is served, so what a
        // reader was given survives a restart. One durable write per size.
        if c.size > stored && out.forwards(&c) {
            store(&ledger, &c.note).await;
            stored = c.size;
        }
        if !out.send(c, at + 1 == recent.len()) {
            return;
        }
    }
}

/// Witness `i`: asks about the latest checkpoint, reports, and asks again
/// when a newer one is signed, or, when it did not cosign, after a backoff
/// (5 s doubling to 5 min) or at once when a dial-out witness connects.
async fn follow_one(i: usize, t: &Asked, ledger: &Ledger, dial: &DialOuts, tx: tokio::sync::mpsc::Sender<Answered>) {
    let mut latest = ledger.watch_checkpoint();
    let (mut known, mut retry, mut failures) = (0, WITNESS_RETRY, 0u64);
    loop {
        let Some(cp) = latest.borrow_and_update().clone() else {
            if latest.changed().await.is_err() {
                return;
            }
            continue;
        };
        let (size, answer) = ask(ledger, t, dial, known, &cp).await;
        known = size;
        let cosigned = answer.is_ok();
        match &answer {
            Ok(_) if failures > 0 => {
                tracing::info!(witness = t.key.name(), after = failures, "witness cosigns again");
                failures = 0;
            }
            Ok(_) => {}
            // Once, then at the 2nd, 4th, 8th... failure in a row: a dead
            // witness is asked at every checkpoint.
            Err(why) => {
                failures += 1;
                if failures.is_power_of_two() {
                    tracing::warn!(witness = t.key.name(), failures, %why, "witness did not cosign");
                }
            }
        }
        if tx.send((i, cp, answer.ok())).await.is_err() {
            return;
        }
        if cosigned {
            retry = WITNESS_RETRY;
            if latest.changed().await.is_err() {
                return;
            }
            continue;
        }
        tokio::select! {
            changed = latest.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(retry) => retry = (retry * 2).min(MAX_WITNESS_RETRY),
            _ = dial.connected() => {}
        }
    }
}

/// `cp`'s note with the lines collected so far, in target order.
fn collected(cp: &SignedCheckpoint, targets: &[Asked], lines: &[Option<String>]) -> Cosigned {
    let mut note = cp.note.clone();
    let mut witnesses = Vec::new();
    for (t, line) in targets.iter().zip(lines) {
        if let Some(line) = line {
            note.push_str(line);
            witnesses.push(t.key.name().to_owned());
        }
    }
    Cosigned {
        size: cp.checkpoint.size,
        note,
        witnesses,
    }
}

/// One witness, one checkpoint: the witness's size afterwards, and its
/// line if it cosigned, else why not. A 409 naming a size below the
/// checkpoint is retried once with a proof from that size.
async fn ask(
    ledger: &Ledger,
    t: &Asked,
    dial: &DialOuts,
    known: u64,
    cp: &SignedCheckpoint,
) -> (u64, Result<String, String>) {
    let size = cp.checkpoint.size;
    let mut old = known.min(size);
    for _ in 0..2 {
        let proof = match old {
            0 => Ok(Vec::new()),
            _ => ledger.consistency_proof(old, size),
        };
        let proof = match proof {
            Ok(p) => p,
            Err(e) => return (old, Err(format!("no consistency proof from {old}: {e}"))),
        };
        let body = AddCheckpoint {
            old_size: old,
            proof,
            checkpoint: cp.note.clone(),
        }
        .to_body();
        let answer = tokio::time::timeout(WITNESS_TIMEOUT, send(&t.reach, dial, body)).await;
        match answer {
            Ok(Ok(Answer::Cosigned(lines))) => {
                let line = verified(t, cp, &lines).ok_or("it answered without a valid cosignature");
                return (size, line.map_err(str::to_owned));
            }
            Ok(Ok(Answer::Conflict { size: theirs, .. })) if theirs != old && theirs <= size => old = theirs,
            Ok(Ok(other)) => return (old, Err(format!("it refused the checkpoint ({})", other.status()))),
            Ok(Err(e)) => return (old, Err(format!("unreachable: {e}"))),
            Err(_) => return (old, Err(format!("no answer in {WITNESS_TIMEOUT:?}"))),
        }
    }
    (old, Err("it kept answering 409 with another size".into()))
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
    line.map(|l| match l.ends_with('\n') {
        true => l.to_owned(),
        false => format!("{l}\n"),
    })
}
