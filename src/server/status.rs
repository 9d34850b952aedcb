//! Statuses the hub builds outside the service handlers: quota refusals
//! with the standard retry hint, and the transport's own refusals made as
//! precise as the hub's. tonic refuses a request whose gRPC frame announces
//! more than the service's decode limit before reading it, with
//! `OUT_OF_RANGE` and a decoder's message; the caller should see
//! `RESOURCE_EXHAUSTED` and what to do, exactly as for a message under that
//! limit but over its own type's ([`crate::codec::DecodeLimit`]).

use crate::codec::{too_large, DecodeLimit};
use crate::pb;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// `RESOURCE_EXHAUSTED` saying `message`, with the standard
/// `google.rpc.RetryInfo` detail when the hub knows how long to wait (gRPC
/// clients and proxies read it; the message says it for people).
pub fn exhausted(message: String, retry: Option<Duration>) -> Status {
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
pub fn over_rate(who: &str, what: &str, wait_secs: f64) -> Status {
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
pub fn remap_oversized<B: Default>(path: &str, response: http::Response<B>) -> http::Response<B> {
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
pub struct RemapLayer;

impl<S> tower::Layer<S> for RemapLayer {
    type Service = Remap<S>;
    fn layer(&self, inner: S) -> Remap<S> {
        Remap(inner)
    }
}

/// See [`RemapLayer`].
#[derive(Clone, Debug)]
pub struct Remap<S>(S);

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
