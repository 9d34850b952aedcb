//! The one place the hub turns its refusals into gRPC statuses: typed
//! refusals ([`Refusal`] for reads and streams, [`PublishError`] for
//! publishes) mapped by exhaustive matches, so a new refusal cannot fall
//! into the wrong code by default; quota refusals with the standard retry
//! hint; and the transport's own refusals made as precise as the hub's.
//! A fault of the hub (storage, its verifier) is UNAVAILABLE or INTERNAL and
//! logged, never a message blaming the caller.
//!
//! tonic refuses a request whose gRPC frame announces more than the
//! service's decode limit before reading it, with `OUT_OF_RANGE` and a
//! decoder's message; the caller should see `RESOURCE_EXHAUSTED` and what to
//! do, exactly as for a message under that limit but over its own type's
//! ([`crate::codec::DecodeLimit`]).

use crate::codec::DecodeLimit;
use crate::error::Error;
use crate::ingest::PublishError;
use crate::pb;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Why a read or stream call is refused. Each maps to one code
/// ([`From<Refusal> for Status`](#impl-From<Refusal>-for-Status)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The connection carries no client certificate (cannot happen behind
    /// the hub's TLS acceptor; refused all the same).
    #[error("no client certificate on this connection")]
    NoCertificate,
    /// The certificate is bound to no roster principal.
    #[error(
        "client certificate (SPKI SHA-256 {0}) is not bound to any roster principal; \
         ask the federation administrator to add it to the roster"
    )]
    NotInRoster(String),
    /// The principal left the roster while its stream was open.
    #[error("you are no longer in the roster")]
    LeftRoster,
    /// Subscribe from beyond the end.
    #[error("from_index {from} is beyond the end of the ledger (size {size}); resume from at most {size}")]
    FromBeyondEnd {
        /// Asked.
        from: u64,
        /// The ledger size.
        size: u64,
    },
    /// A bounded replay that ends before it starts.
    #[error("until_index {until} is below from_index {from}; use 0 to follow without end")]
    UntilBelowFrom {
        /// Asked end.
        until: u64,
        /// Asked start.
        from: u64,
    },
    /// A malformed Subscribe filter.
    #[error("filter.publishers: {0}")]
    Filter(String),
    /// GetEntry with no key.
    #[error("set either index or alert {{publisher, id}}")]
    NoKey,
    /// Nothing the caller may see (whether or not it exists).
    #[error("no such entry is visible to you")]
    NotFound,
    /// GetCheckpoint for a size the ledger does not have.
    #[error("min_size {min} is beyond the ledger's size {size}; no such checkpoint can come soon")]
    MinSizeBeyond {
        /// Asked.
        min: u64,
        /// The ledger size.
        size: u64,
    },
    /// A `Witness` stream from a principal the roster lists no witness for.
    #[error("the roster lists no witness_key for {0}; only a delegation's witness may open a Witness stream")]
    NotAWitness(String),
    /// A `Witness` stream from a witness the hub reaches at its URL.
    #[error("the roster gives {0}'s witness a witness_url, so the hub calls it there; drop the URL from the roster to dial out instead")]
    WitnessHasUrl(String),
    /// A witnessed checkpoint asked of a hub without witnesses.
    #[error("this hub asks no witnesses to cosign its checkpoints; ask without `witnessed`")]
    NoWitnesses,
    /// No witnessed checkpoint of the size asked came in time.
    #[error("the witnesses have not answered for a checkpoint of at least {min} entries in time (latest witnessed size {witnessed}); retry")]
    WitnessesLate {
        /// Asked.
        min: u64,
        /// The latest witnessed size.
        witnessed: u64,
    },
    /// No checkpoint of the size asked was signed in time.
    #[error("no checkpoint of that size was signed in time; retry")]
    CheckpointLate,
    /// A proof's tree size outside the ledger.
    #[error("tree_size {tree_size} must be between 1 and the ledger size {size}")]
    TreeSize {
        /// Asked.
        tree_size: u64,
        /// The ledger size.
        size: u64,
    },
    /// An inclusion proof for an index outside its tree.
    #[error("index {index} is not below tree_size {tree_size}")]
    IndexNotBelow {
        /// Asked index.
        index: u64,
        /// Asked tree size.
        tree_size: u64,
    },
    /// A consistency proof between sizes out of order.
    #[error("need 1 <= old_size <= new_size, got old_size {old} and new_size {new}")]
    OldSize {
        /// Asked old size.
        old: u64,
        /// Asked new size.
        new: u64,
    },
    /// The hub is shutting down while a stream is open: the stream is cut
    /// short, and says where to resume (UNAVAILABLE, so clients retry).
    #[error("the hub is shutting down; reconnect and resume with from_index {resume_from}")]
    ShuttingDown {
        /// The first index this stream has not yet delivered or skipped.
        resume_from: u64,
    },
    /// The hub could not do its part (storage): its fault, not the caller's.
    #[error("the hub could not read its ledger; retry later")]
    Hub(#[source] Error),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Refusal::Hub(e)
    }
}

impl From<Refusal> for Status {
    fn from(r: Refusal) -> Status {
        let code = match &r {
            Refusal::NoCertificate | Refusal::NotInRoster(_) | Refusal::LeftRoster => Code::Unauthenticated,
            Refusal::FromBeyondEnd { .. } | Refusal::MinSizeBeyond { .. } | Refusal::TreeSize { .. } => {
                Code::OutOfRange
            }
            Refusal::UntilBelowFrom { .. }
            | Refusal::Filter(_)
            | Refusal::NoKey
            | Refusal::IndexNotBelow { .. }
            | Refusal::OldSize { .. } => Code::InvalidArgument,
            Refusal::NotFound => Code::NotFound,
            Refusal::CheckpointLate | Refusal::WitnessesLate { .. } => Code::DeadlineExceeded,
            Refusal::NoWitnesses | Refusal::WitnessHasUrl(_) => Code::FailedPrecondition,
            Refusal::NotAWitness(_) => Code::PermissionDenied,
            Refusal::ShuttingDown { .. } => Code::Unavailable,
            Refusal::Hub(e) => return hub_fault(e, "the hub could not read its ledger; retry later"),
        };
        Status::new(code, r.to_string())
    }
}

impl From<PublishError> for Status {
    fn from(e: PublishError) -> Status {
        use PublishError as P;
        let code = match &e {
            P::NotAPublisher(_) | P::UnknownKey(_) | P::KeyOwner { .. } | P::KeyNotValid(_) | P::Spoofed { .. } => {
                Code::PermissionDenied
            }
            P::TooLarge(_) | P::DiskFull { .. } => Code::ResourceExhausted,
            P::AmendsMissing(_) | P::Widens { .. } => Code::FailedPrecondition,
            P::IdTaken(_) => Code::AlreadyExists,
            P::PayloadType(_)
            | P::SignatureCount(_)
            | P::SignatureLength(_)
            | P::KeyIdCase(_)
            | P::BadSignature(_)
            | P::CofactoredOnly(_)
            | P::Alert(_)
            | P::RedInClear
            | P::UnknownRecipient(_) => Code::InvalidArgument,
            P::Sealed(s) => match s {
                crate::seal::SealError::KeyNotValid { .. } => Code::FailedPrecondition,
                _ => Code::InvalidArgument,
            },
            P::Internal(inner) => return hub_fault(inner, "the ledger could not store the entry; retry later"),
        };
        Status::new(code, e.to_string())
    }
}

/// A fault of the hub: logged with its cause, answered without one.
/// UNAVAILABLE when retrying may work (storage, shutdown), INTERNAL when
/// something in the hub is broken (its signature verifier stopped).
fn hub_fault(e: &Error, message: &str) -> Status {
    tracing::error!(error = %e, "request failed on the hub's side");
    match e {
        Error::Verifier(_) => {
            Status::internal("the hub could not check the signature (an internal fault); retry later")
        }
        _ => Status::unavailable(message),
    }
}

/// A request message over its type's limit (or the transport's).
pub(crate) fn too_large(what: &str, len: usize, max: usize) -> Status {
    Status::resource_exhausted(format!(
        "{what} may be at most {max} bytes, this one is {len}; send a smaller request \
         (alerts: shorten the summary or split the alert)"
    ))
}

/// A request body that is not a protobuf message of the method's type.
pub(crate) fn undecodable(why: &str) -> Status {
    Status::invalid_argument(format!(
        "the request body is not a valid protobuf message for this method ({why}); check it against proto/isthmus/v1"
    ))
}

/// `RESOURCE_EXHAUSTED` saying `message`, with the standard
/// `google.rpc.RetryInfo` detail when the hub knows how long to wait (gRPC
/// clients and proxies read it; the message says it for people).
pub(crate) fn exhausted(message: String, retry: Option<Duration>) -> Status {
    match retry {
        Some(delay) => Status::with_error_details(
            Code::ResourceExhausted,
            message,
            ErrorDetails::with_retry_info(Some(delay)),
        ),
        None => Status::resource_exhausted(message),
    }
}

/// What a caller over a rate limit is told: when its next token comes.
pub(crate) fn over_rate(who: &str, what: &str, wait_secs: f64) -> Status {
    let delay = Duration::from_secs_f64(wait_secs.clamp(0.001, 3600.0));
    let message = format!(
        "{who} is over its {what} rate limit; retry in {} ms",
        delay.as_millis().max(1)
    );
    exhausted(message, Some(delay))
}

/// What tonic's own length check says (tonic 0.14 `codec::decode`).
const TONIC_TOO_LARGE: &str = "Error, decoded message length too large: found ";

/// The request message a method takes, for the refusal.
fn request_of(path: &str) -> &'static str {
    match path.strip_prefix("/isthmus.v1.Isthmus/") {
        Some("Publish") => pb::Envelope::WHAT,
        Some("Subscribe") => pb::SubscribeRequest::WHAT,
        Some("GetEntry") => pb::GetEntryRequest::WHAT,
        Some("WhoAmI") => pb::WhoAmIRequest::WHAT,
        Some("GetCheckpoint") => pb::GetCheckpointRequest::WHAT,
        Some("GetInclusionProof") => pb::InclusionProofRequest::WHAT,
        Some("GetConsistencyProof") => pb::ConsistencyProofRequest::WHAT,
        _ => "a request to this method",
    }
}

/// Replaces tonic's refusal of an oversized request to `path` by ours;
/// every other response passes unchanged.
pub(crate) fn remap_oversized<B: Default>(path: &str, response: http::Response<B>) -> http::Response<B> {
    let Some(status) = response.extensions().get::<Status>() else {
        return response;
    };
    let rest = match status.code() {
        Code::OutOfRange => status.message().strip_prefix(TONIC_TOO_LARGE),
        _ => None,
    };
    match rest {
        Some(rest) => {
            let (found, limit) = numbers(rest);
            too_large(request_of(path), found, limit).into_http()
        }
        None => response,
    }
}

/// The two byte counts in "123 bytes, the limit is: 64000 bytes".
fn numbers(rest: &str) -> (usize, usize) {
    let mut n = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap_or(usize::MAX));
    (n.next().unwrap_or(usize::MAX), n.next().unwrap_or(0))
}

/// A tower layer applying [`remap_oversized`] to every call.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RemapLayer;

impl<S> tower::Layer<S> for RemapLayer {
    type Service = Remap<S>;
    fn layer(&self, inner: S) -> Remap<S> {
        Remap(inner)
    }
}

/// See [`RemapLayer`].
#[derive(Clone, Debug)]
pub(crate) struct Remap<S>(S);

impl<S, Req, Res> tower::Service<http::Request<Req>> for Remap<S>
where
    S: tower::Service<http::Request<Req>, Response = http::Response<Res>>,
    S::Future: Send + 'static,
    Res: Default + Send + 'static,
{
    type Response = http::Response<Res>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Req>) -> Self::Future {
        let path = req.uri().path().to_owned();
        let call = self.0.call(req);
        Box::pin(async move { call.await.map(|r| remap_oversized(&path, r)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_faults_never_blame_the_caller() {
        let storage = Status::from(PublishError::Internal(Error::Storage("disk gone".into())));
        assert_eq!(storage.code(), Code::Unavailable);
        assert!(
            !storage.message().contains("disk gone"),
            "the cause is logged, not sent"
        );
        let verifier = Status::from(PublishError::Internal(Error::Verifier("stopped".into())));
        assert_eq!(verifier.code(), Code::Internal);
        assert_eq!(Status::from(Refusal::Hub(Error::Closed)).code(), Code::Unavailable);
        assert_eq!(Status::from(Refusal::NotFound).code(), Code::NotFound);
        assert_eq!(
            Status::from(PublishError::KeyIdCase("AB".into())).code(),
            Code::InvalidArgument
        );
    }

    #[test]
    fn rate_refusals_carry_retry_info() {
        let s = over_rate("CO", "publish", 0.0123);
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert!(s.message().contains("retry in 12 ms"), "{}", s.message());
        let retry = s.get_details_retry_info().expect("RetryInfo detail");
        assert_eq!(retry.retry_delay, Some(Duration::from_secs_f64(0.0123)));
        assert!(exhausted("x".into(), None).get_details_retry_info().is_none());
    }

    #[test]
    fn tonic_length_refusals_become_resource_exhausted() {
        let tonic = Status::out_of_range(format!("{TONIC_TOO_LARGE}300000 bytes, the limit is: 64000 bytes"));
        let r = remap_oversized::<()>("/isthmus.v1.Isthmus/Publish", tonic.into_http());
        let s = Status::from_header_map(r.headers()).expect("a status");
        assert_eq!(s.code(), Code::ResourceExhausted);
        let want = "a Publish envelope may be at most 64000 bytes, this one is 300000";
        assert!(s.message().contains(want), "{}", s.message());
        let other = remap_oversized::<()>("/x", Status::out_of_range("from_index beyond").into_http());
        let s = Status::from_header_map(other.headers()).expect("a status");
        assert_eq!(s.code(), Code::OutOfRange, "other OUT_OF_RANGE statuses are left alone");
    }
}
