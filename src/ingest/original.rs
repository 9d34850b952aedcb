//! Amendments: what the checks need to know about the alert an amendment
//! points at, and the rule that widening its audience must be meant.

use super::PublishError;
use crate::ids::CountrySet;
use crate::pb;
use prost::Message;

/// What the checks need to know about the earlier alert an amendment
/// points at: who could read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Original {
    /// Its TLP label (the `Tlp` enum value; larger is more restrictive).
    pub tlp: i32,
    /// Its recipients as stored (`ALL` expanded).
    pub recipients: CountrySet,
}

impl Original {
    /// The original as recorded in a stored submission entry.
    pub fn of_entry(bytes: &[u8]) -> Option<Original> {
        let e = crate::ledger::entry::decode(bytes).ok()?;
        let crate::ledger::entry::Body::Submission(s) = crate::ledger::entry::body(&e) else {
            return None;
        };
        let env = s.envelope.as_ref()?;
        // A sealed alert's header has the tlp at Alert's field number.
        let tlp = match env.payload_type.as_str() {
            pb::SEALED_PAYLOAD_TYPE => {
                let header = pb::SealedAlert::decode(env.payload.as_slice()).ok()?.header;
                TlpView::decode(header.as_slice()).ok()?.tlp
            }
            _ => TlpView::decode(env.payload.as_slice()).ok()?.tlp,
        };
        Some(Original {
            tlp,
            recipients: s.recipients.iter().map(String::as_str).collect(),
        })
    }
}

/// Just field 5 (`tlp`) of an encoded `isthmus.v1.Alert`.
#[derive(Clone, PartialEq, prost::Message)]
struct TlpView {
    #[prost(int32, tag = "5")]
    tlp: i32,
}

/// An amendment may reach beyond the original's audience (a lower TLP or
/// recipients the original did not have) only when it says so: only the
/// originator can amend, and it must mean to widen.
pub(super) fn check_widening(
    id: &str,
    widens: bool,
    before: &Original,
    tlp: pb::Tlp,
    recipients: &[String],
) -> Result<(), PublishError> {
    if widens {
        return Ok(());
    }
    let now: CountrySet = recipients.iter().map(String::as_str).collect();
    let added = now.missing_from(&before.recipients);
    let lower = (tlp as i32) < before.tlp;
    if added.is_empty() && !lower {
        return Ok(());
    }
    let mut how = Vec::new();
    if lower {
        let name = |v: i32| pb::Tlp::try_from(v).map_or("?".into(), |t| t.as_str_name().to_owned());
        how.push(format!("TLP {} -> {}", name(before.tlp), name(tlp as i32)));
    }
    if !added.is_empty() {
        how.push(format!("new recipients {}", added.join(",")));
    }
    Err(PublishError::Widens {
        id: id.to_owned(),
        how: how.join(" and "),
    })
}
