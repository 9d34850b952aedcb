//! The one publish path. The hub, the tests, the fuzz targets and the audit
//! all run [`accept`]; only the signature check is passed in, because each
//! checks at its own pace: the hub one at a time on its async workers
//! (strict rule, [`crate::crypto::gate::VerifyGate`]), tests and fuzzing at once
//! ([`Direct`], strict rule), the audit later in ZIP-215 batches
//! ([`Deferred`], which keeps the signature for the batch).

use super::{check_authorship, check_content, Accepted, AsStamp, Caller, Original, PublishError};
use crate::crypto::{PublicKey, Rule, Signature, SignatureError};
use crate::envelope;
use crate::error::Error;
use crate::pb;
use crate::roster::Roster;
use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// How a publish path has one signature checked.
pub trait SignatureCheck {
    /// Whether `sig` over `msg` verifies under `key`; the outer error is a
    /// fault of the checker itself, never of the signature.
    fn check(
        &self,
        key: PublicKey,
        msg: Vec<u8>,
        sig: Signature,
    ) -> impl Future<Output = Result<Result<(), SignatureError>, Error>> + Send;
}

/// Runs every publish check on `env` from `caller` with `stamp`: role, size,
/// payload type, signature count, the named key (known, the caller's, valid
/// at the stamp), the signature (by `verify`), then the alert itself against
/// the roster; `original` finds the caller's earlier alert by id (for
/// `amends`). Returns the entry exactly as the hub stores it.
pub async fn accept(
    env: &pb::Envelope,
    caller: Caller<'_>,
    roster: &Roster,
    stamp: &impl AsStamp,
    original: impl FnMut(&str) -> Option<Original>,
    verify: &impl SignatureCheck,
) -> Result<Accepted, PublishError> {
    let signed = check_authorship(env, caller.member, roster, stamp.now())?;
    let pae = envelope::pae(&env.payload_type, &env.payload);
    let outcome = verify.check(signed.key, pae, signed.sig).await?;
    signed.judge(outcome)?;
    check_content(env, &signed, caller, roster, stamp, original)
}

/// [`accept`] with a check that is ready at once ([`Direct`], [`Deferred`]),
/// for callers without an async runtime.
pub fn accept_now(
    env: &pb::Envelope,
    caller: Caller<'_>,
    roster: &Roster,
    stamp: &impl AsStamp,
    original: impl FnMut(&str) -> Option<Original>,
    verify: &impl ReadyCheck,
) -> Result<Accepted, PublishError> {
    let mut fut = pin!(accept(env, caller, roster, stamp, original, verify));
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(outcome) => outcome,
        // A ReadyCheck never waits, and nothing else in `accept` does.
        Poll::Pending => Err(Error::Verifier("a synchronous signature check did not finish".into()).into()),
    }
}

/// A [`SignatureCheck`] whose answer is ready when asked (no waiting).
pub trait ReadyCheck: SignatureCheck {}

/// Checks at once under the ingest rule ([`Rule::Strict`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct Direct;

impl SignatureCheck for Direct {
    fn check(
        &self,
        key: PublicKey,
        msg: Vec<u8>,
        sig: Signature,
    ) -> impl Future<Output = Result<Result<(), SignatureError>, Error>> + Send {
        std::future::ready(Ok(key.verify(&msg, &sig, Rule::Strict)))
    }
}

impl ReadyCheck for Direct {}

/// Accepts the signature for now and keeps it, for the audit to verify in
/// batches under its own rule; one signature per [`accept`].
#[derive(Debug, Default)]
pub struct Deferred(RefCell<Option<(PublicKey, Vec<u8>, Signature)>>);

impl Deferred {
    /// The signature kept by the last [`accept`]: key, signed bytes, signature.
    pub fn take(&self) -> Option<(PublicKey, Vec<u8>, Signature)> {
        self.0.borrow_mut().take()
    }
}

impl SignatureCheck for Deferred {
    fn check(
        &self,
        key: PublicKey,
        msg: Vec<u8>,
        sig: Signature,
    ) -> impl Future<Output = Result<Result<(), SignatureError>, Error>> + Send {
        *self.0.borrow_mut() = Some((key, msg, sig));
        std::future::ready(Ok(Ok(())))
    }
}

impl ReadyCheck for Deferred {}
