//! The crate's one clock and its time formats: Unix seconds as the hub
//! stamps them, protobuf timestamps as the wire carries them, and RFC 3339
//! text as people read and write them.

use ::time::format_description::well_known::Rfc3339;
use ::time::OffsetDateTime;

/// Current Unix time in whole seconds (0 if the clock is before 1970).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A protobuf timestamp for whole Unix seconds.
pub fn unix_to_pb(seconds: i64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds, nanos: 0 }
}

/// RFC 3339 text for Unix seconds (UTC); the number itself if out of range.
pub fn format_rfc3339(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| seconds.to_string())
}

/// RFC 3339 text of a protobuf timestamp, nanoseconds included.
pub fn timestamp_text(t: &prost_types::Timestamp) -> String {
    OffsetDateTime::from_unix_timestamp(t.seconds)
        .ok()
        .and_then(|d| d.replace_nanosecond(t.nanos.clamp(0, 999_999_999).unsigned_abs()).ok())
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{}s", t.seconds))
}

/// Unix seconds of an RFC 3339 time, if it is one.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &Rfc3339).ok().map(|t| t.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_round_trip() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse_rfc3339("1970-01-01T00:00:10Z"), Some(10));
        assert_eq!(parse_rfc3339("yesterday"), None);
        let t = prost_types::Timestamp { seconds: 1, nanos: 5 };
        assert_eq!(timestamp_text(&t), "1970-01-01T00:00:01.000000005Z");
        assert!(unix_now() > 1_700_000_000);
    }
}
