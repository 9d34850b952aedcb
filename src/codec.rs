//! The gRPC message codec: tonic-prost's, with two differences that make
//! refusals precise. A request body that is not a valid protobuf message of
//! the method's type is answered with `INVALID_ARGUMENT` (the caller's
//! mistake, and what to fix) instead of tonic-prost's `INTERNAL` (which
//! reads as a fault of the hub); and each message type has its own size
//! limit ([`DecodeLimit`]), so a 60 kB `WhoAmIRequest` is refused with
//! `RESOURCE_EXHAUSTED` before it is decoded, while a Publish envelope may
//! use the whole 64,000 bytes. `build.rs` points the generated code at
//! [`StrictCodec`].

use crate::pb;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic::{Code, Status};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// The largest encoded message of a type the hub decodes, and what to tell a
/// caller who sends a larger one.
pub(crate) trait DecodeLimit {
    /// Largest accepted encoding, in bytes.
    const MAX_BYTES: usize;
    /// What the message is, for the refusal ("a Publish envelope").
    const WHAT: &'static str;
}

/// The largest request any method accepts: the transport refuses larger
/// ones before buffering them (see `server::status`).
pub(crate) const MAX_REQUEST_BYTES: usize = crate::ingest::MAX_ENVELOPE_BYTES;

macro_rules! limits {
    ($($ty:ty => $max:expr, $what:literal;)*) => {
        $(impl DecodeLimit for $ty {
            const MAX_BYTES: usize = $max;
            const WHAT: &'static str = $what;
        })*
    };
}

// Requests: each bound is far above what a valid request needs (a
// Subscribe filter lists at most one code per roster delegation), far
// below what would let one call cost the hub real memory or CPU.
limits! {
    pb::Envelope => MAX_REQUEST_BYTES, "a Publish envelope";
    pb::SubscribeRequest => 4_096, "a SubscribeRequest";
    pb::GetEntryRequest => 1_024, "a GetEntryRequest";
    pb::WhoAmIRequest => 256, "a WhoAmIRequest";
    pb::GetCheckpointRequest => 256, "a GetCheckpointRequest";
    pb::InclusionProofRequest => 256, "an InclusionProofRequest";
    pb::ConsistencyProofRequest => 256, "a ConsistencyProofRequest";
    // A witness's answer: at most the tlog-witness body limit, plus framing.
    pb::WitnessAnswer => crate::witness::request::MAX_BODY_BYTES + 64, "a WitnessAnswer";
}

// Responses, decoded by clients: bounded by the channel's own limit only.
limits! {
    pb::PublishReceipt => usize::MAX, "a PublishReceipt";
    pb::LedgerEntry => usize::MAX, "a LedgerEntry";
    pb::WhoAmIResponse => usize::MAX, "a WhoAmIResponse";
    pb::CheckpointResponse => usize::MAX, "a CheckpointResponse";
    pb::InclusionProofResponse => usize::MAX, "an InclusionProofResponse";
    pb::ConsistencyProofResponse => usize::MAX, "a ConsistencyProofResponse";
    pb::WitnessRequest => usize::MAX, "a WitnessRequest";
}

/// [`ProstCodec`] with precise decode errors.
#[derive(Debug)]
pub(crate) struct StrictCodec<T, U>(ProstCodec<T, U>);

impl<T, U> Default for StrictCodec<T, U> {
    fn default() -> Self {
        StrictCodec(ProstCodec::default())
    }
}

impl<T, U> Codec for StrictCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + DecodeLimit + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = StrictDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.0.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        StrictDecoder(self.0.decoder())
    }
}

/// Decodes like [`ProstDecoder`] within `U`'s [`DecodeLimit`]; decode
/// failures become `INVALID_ARGUMENT`.
#[derive(Debug)]
pub(crate) struct StrictDecoder<U>(ProstDecoder<U>);

impl<U: prost::Message + DecodeLimit + Default> Decoder for StrictDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        let len = bytes::Buf::remaining(buf);
        if len > U::MAX_BYTES {
            return Err(crate::server::status::too_large(U::WHAT, len, U::MAX_BYTES));
        }
        self.0.decode(buf).map_err(|s| match s.code() {
            Code::Internal => crate::server::status::undecodable(s.message()),
            _ => s,
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}
