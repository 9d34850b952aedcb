//! Long-lived streams, counted per principal. Subscribe, health `Watch`
//! and reflection streams stay open for as long as the client likes, each
//! holding a task and buffers in the hub; one principal could open
//! thousands of them (max_concurrent_streams_per_connection, 64 by
//! default, times its connections) and the hub
//! would run out of memory. This layer, in front of every service, gives
//! each such stream one of its principal's [`Slots`] for as long as the
//! response body lives, and answers RESOURCE_EXHAUSTED when the principal
//! holds them all. The slot is released when the stream ends, however it
//! ends (finished, cancelled, reset, connection lost), because it is
//! dropped with the body.
//!
//! Unary calls are bounded elsewhere: by the HTTP/2 limit on concurrent
//! streams per connection, the per-certificate connection cap and the
//! per-principal rate and in-flight limits.

use super::hub::Hub;
use super::limits::{Slot, Slots};
use super::status::exhausted;
use super::Peer;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The methods whose responses are streams a client may hold open.
const LONG_LIVED: [&str; 4] = [
    "/isthmus.v1.Isthmus/Subscribe",
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// The layer: long-lived streams of each principal within `slots`.
#[derive(Clone)]
pub(super) struct LongLivedLayer {
    hub: Arc<Hub>,
    slots: Arc<Slots>,
}

impl LongLivedLayer {
    /// Counts long-lived streams against `slots`, by the principal `hub`'s
    /// roster binds each connection's certificate to.
    pub(super) fn new(hub: Arc<Hub>, slots: Arc<Slots>) -> Self {
        LongLivedLayer { hub, slots }
    }
}

impl<S> tower::Layer<S> for LongLivedLayer {
    type Service = LongLived<S>;
    fn layer(&self, inner: S) -> LongLived<S> {
        LongLived {
            inner,
            hub: self.hub.clone(),
            slots: self.slots.clone(),
        }
    }
}

/// See [`LongLivedLayer`].
#[derive(Clone)]
pub(super) struct LongLived<S> {
    inner: S,
    hub: Arc<Hub>,
    slots: Arc<Slots>,
}

impl<S> LongLived<S> {
    /// The slot a call to `path` must hold: `Ok(None)` for calls that are
    /// not long-lived or come from no roster principal (refused further in),
    /// `Err` with the refusal when the principal holds every slot.
    fn slot<B>(&self, req: &http::Request<B>) -> Result<Option<Slot>, tonic::Status> {
        if !LONG_LIVED.contains(&req.uri().path()) {
            return Ok(None);
        }
        let Some(member) = req.extensions().get::<Peer>().and_then(|p| self.hub.principal(&p.spki)) else {
            return Ok(None);
        };
        match self.slots.acquire(member.id.as_str()) {
            Some(slot) => Ok(Some(slot)),
            None => Err(exhausted(
                format!(
                    "{} already holds {} long-lived streams (Subscribe, health Watch, reflection), the limit \
                     per principal; close one first",
                    member.id,
                    self.slots.max()
                ),
                None,
            )),
        }
    }
}

impl<S, Req, Res> tower::Service<http::Request<Req>> for LongLived<S>
where
    S: tower::Service<http::Request<Req>, Response = http::Response<Res>>,
    S::Future: Send + 'static,
    Res: Default + Send + 'static,
{
    type Response = http::Response<Holding<Res>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Req>) -> Self::Future {
        let slot = match self.slot(&req) {
            Ok(slot) => slot,
            Err(refusal) => {
                let response = refusal.into_http::<Res>();
                return Box::pin(async move { Ok(response.map(|body| Holding { body, _slot: None })) });
            }
        };
        let call = self.inner.call(req);
        Box::pin(async move { Ok(call.await?.map(|body| Holding { body, _slot: slot })) })
    }
}

/// A response body that holds its stream's slot until it is dropped.
pub(super) struct Holding<B> {
    body: B,
    _slot: Option<Slot>,
}

impl<B: Default> Default for Holding<B> {
    fn default() -> Self {
        Holding {
            body: B::default(),
            _slot: None,
        }
    }
}

impl<B: http_body::Body + Unpin> http_body::Body for Holding<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
