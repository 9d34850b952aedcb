//! The alert as the hub understands it: decoded once from the exact DSSE
//! payload bytes and checked field by field, so that every refusal names
//! the field and says what a valid value looks like.
//!
//! Roster-dependent checks (recipients known, publisher and key agreement)
//! live in [`crate::ingest`]; this file needs nothing but the bytes and the
//! clock.

pub mod file;

use crate::ids::{AlertId, IdError, PrincipalId};
use crate::pb;
use crate::text::Lines;
use prost::Message;

/// How far in the future of the hub's clock `created` may be.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;
/// Earliest acceptable `created` (2020-01-01T00:00:00Z).
pub const EARLIEST_CREATED: i64 = 1_577_836_800;
/// The recipient that means "every member delegation at publication time".
pub const ALL_RECIPIENTS: &str = "ALL";

/// Most entries each repeated field may hold, by field name. The envelope
/// limit (64,000 bytes) alone would let tens of thousands of tiny entries
/// through, each costing every recipient and the auditor work; these caps
/// are far above what a real alert carries. `recipients`: the 249 assigned
/// ISO 3166-1 alpha-2 codes; `handling`: four restrictions exist today, so
/// 16 leaves room for new ones; `subjects` and `locations` (route points
/// included): 256; `identifiers` (selectors): 512; `references`: 64;
/// `network.aliases`: 32.
pub const MAX_COUNTS: [(&str, usize); 7] = [
    ("recipients", 249),
    ("handling", 16),
    ("subjects", 256),
    ("identifiers", 512),
    ("locations", 256),
    ("references", 64),
    ("network.aliases", 32),
];

/// Who an alert is addressed to, as written by the publisher.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipients {
    /// Every member delegation at publication time.
    All,
    /// These delegations (sorted, no duplicates).
    Named(Vec<PrincipalId>),
}

/// A decoded alert whose fields have all been checked.
#[derive(Clone, Debug)]
pub struct ValidAlert {
    /// The decoded message.
    pub alert: pb::Alert,
    /// Parsed `id`.
    pub id: AlertId,
    /// Parsed `publisher`.
    pub publisher: PrincipalId,
    /// Parsed `recipients`.
    pub recipients: Recipients,
    /// The TLP label.
    pub tlp: pb::Tlp,
}

/// Why an alert payload was refused. Every message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AlertError {
    /// The payload is not an encoded `isthmus.v1.Alert`.
    #[error("payload is not a protobuf-encoded isthmus.v1.Alert: {0}")]
    Decode(String),
    /// An identifier field is malformed.
    #[error("{field}: {source}")]
    Id {
        /// The field.
        field: &'static str,
        /// What is wrong.
        source: IdError,
    },
    /// A field is missing, out of range or malformed.
    #[error("{field}: {reason}")]
    Field {
        /// The field.
        field: &'static str,
        /// What to fix.
        reason: String,
    },
}

fn field(field: &'static str, reason: impl Into<String>) -> AlertError {
    AlertError::Field {
        field,
        reason: reason.into(),
    }
}

fn id_err(field: &'static str) -> impl Fn(IdError) -> AlertError {
    move |source| AlertError::Id { field, source }
}

/// What routing needs of an alert, checked: the fields a sealed alert's
/// header carries in clear ([`crate::seal`]).
#[derive(Clone, Debug)]
pub struct Routing {
    /// Parsed `id`.
    pub id: AlertId,
    /// Parsed `publisher`.
    pub publisher: PrincipalId,
    /// Parsed `recipients`.
    pub recipients: Recipients,
    /// The TLP label.
    pub tlp: pb::Tlp,
}

impl Routing {
    /// Checks the routing fields of `a`: `id`, `publisher`, `created`,
    /// `tlp`, `recipients`, `handling` and `amends` (without its free text),
    /// exactly as [`ValidAlert::parse`] does.
    pub fn check(a: &pb::Alert, now: i64) -> Result<Self, AlertError> {
        check_counts(a)?;
        let id = AlertId::parse(&a.id).map_err(id_err("id"))?;
        let publisher = PrincipalId::country(&a.publisher).map_err(id_err("publisher"))?;
        check_created(a, now)?;
        let tlp = check_tlp(a.tlp)?;
        let recipients = parse_recipients(&a.recipients, tlp)?;
        for &h in &a.handling {
            known("handling", h, pb::HandlingRestriction::try_from(h))?;
        }
        check_amends(a)?;
        Ok(Routing {
            id,
            publisher,
            recipients,
            tlp,
        })
    }
}

impl ValidAlert {
    /// Decodes and checks an alert payload against the clock `now` (Unix s).
    pub fn parse(payload: &[u8], now: i64) -> Result<Self, AlertError> {
        let alert = pb::Alert::decode(payload).map_err(|e| AlertError::Decode(e.to_string()))?;
        let Routing {
            id,
            publisher,
            recipients,
            tlp,
        } = Routing::check(&alert, now)?;
        check_language(&alert.language)?;
        check_enums(&alert)?;
        check_nested_enums(&alert)?;
        check_text(&alert)?;
        check_refs(&alert)?;
        check_validity(&alert)?;
        Ok(ValidAlert {
            alert,
            id,
            publisher,
            recipients,
            tlp,
        })
    }

    /// Its routing fields.
    pub fn routing(&self) -> Routing {
        Routing {
            id: self.id.clone(),
            publisher: self.publisher.clone(),
            recipients: self.recipients.clone(),
            tlp: self.tlp,
        }
    }
}

/// Each repeated field within its [`MAX_COUNTS`] entry.
fn check_counts(a: &pb::Alert) -> Result<(), AlertError> {
    let aliases = a.network.as_ref().map_or(0, |n| n.aliases.len());
    let counts = [
        a.recipients.len(),
        a.handling.len(),
        a.subjects.len(),
        a.identifiers.len(),
        a.locations.len(),
        a.references.len(),
        aliases,
    ];
    for ((name, max), n) in MAX_COUNTS.into_iter().zip(counts) {
        if n > max {
            return Err(field(name, format!("{n} entries; at most {max} are allowed")));
        }
    }
    Ok(())
}

fn check_created(a: &pb::Alert, now: i64) -> Result<(), AlertError> {
    let t = a
        .created
        .as_ref()
        .ok_or_else(|| field("created", "required: when the alert was written"))?;
    if !(0..1_000_000_000).contains(&t.nanos) {
        return Err(field("created", "nanos must be in 0..1e9"));
    }
    if t.seconds < EARLIEST_CREATED {
        return Err(field("created", "is before 2020-01-01; check the publisher's clock"));
    }
    if t.seconds > now + MAX_CLOCK_SKEW_SECS {
        return Err(field(
            "created",
            "is more than 5 minutes in the future of the hub's clock",
        ));
    }
    Ok(())
}

/// A syntactic BCP 47 check: 2-3 letter primary language, then subtags of
/// 1-8 alphanumerics separated by '-'.
fn check_language(tag: &str) -> Result<(), AlertError> {
    if tag.len() > 64 {
        return Err(field(
            "language",
            "longer than 64 bytes; a BCP 47 tag such as \"es-CO\" is short",
        ));
    }
    let mut parts = tag.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    let rest_ok = parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    match primary_ok && rest_ok {
        true => Ok(()),
        false => Err(field(
            "language",
            format!("{tag:?} is not a BCP 47 tag such as \"es\" or \"en-US\""),
        )),
    }
}

fn check_tlp(v: i32) -> Result<pb::Tlp, AlertError> {
    match pb::Tlp::try_from(v) {
        Ok(pb::Tlp::Unspecified) | Err(_) => {
            Err(field("tlp", "required: one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED"))
        }
        Ok(t) => Ok(t),
    }
}

fn parse_recipients(list: &[String], tlp: pb::Tlp) -> Result<Recipients, AlertError> {
    if list.is_empty() {
        return Err(field(
            "recipients",
            "must not be empty: name delegations or use [\"ALL\"]",
        ));
    }
    if list.iter().any(|r| r == ALL_RECIPIENTS) {
        if list.len() != 1 {
            return Err(field("recipients", "\"ALL\" must be the only recipient"));
        }
        if tlp == pb::Tlp::Red {
            return Err(field(
                "recipients",
                "TLP:RED must name its recipients; \"ALL\" is not allowed",
            ));
        }
        return Ok(Recipients::All);
    }
    let mut named = list
        .iter()
        .map(|r| PrincipalId::country(r).map_err(id_err("recipients")))
        .collect::<Result<Vec<_>, _>>()?;
    named.sort();
    let before = named.len();
    named.dedup();
    if named.len() != before {
        return Err(field("recipients", "lists a delegation twice"));
    }
    Ok(Recipients::Named(named))
}

fn known<E>(name: &'static str, v: i32, ok: Result<E, prost::UnknownEnumValue>) -> Result<(), AlertError> {
    match ok {
        Ok(_) if v != 0 => Ok(()),
        _ => Err(field(name, format!("{v} is not a known value"))),
    }
}

fn check_enums(a: &pb::Alert) -> Result<(), AlertError> {
    known("category", a.category, pb::Category::try_from(a.category))?;
    let e = a.evaluation.as_ref().ok_or_else(|| {
        field(
            "evaluation",
            "required: source_reliability A-F and information_credibility 1-6",
        )
    })?;
    known(
        "evaluation.source_reliability",
        e.source_reliability,
        pb::SourceReliability::try_from(e.source_reliability),
    )?;
    known(
        "evaluation.information_credibility",
        e.information_credibility,
        pb::InformationCredibility::try_from(e.information_credibility),
    )
}

/// Most bytes (UTF-8) each free-text field may hold, and whether it may
/// hold line breaks. Bytes, not characters: 8,000 four-byte characters are
/// 32 kB, and every recipient, the auditor and the disk pay for bytes.
/// The title is also at most 200 characters, to stay one line on screen.
pub const MAX_TEXT_BYTES: [(&str, usize, Lines); 12] = [
    ("title", 800, Lines::One),
    ("summary", 16_000, Lines::Many),
    ("network.name", 200, Lines::One),
    ("network.aliases", 200, Lines::One),
    ("network.description", 4_000, Lines::Many),
    ("subjects.name", 200, Lines::One),
    ("subjects.notes", 2_000, Lines::Many),
    ("identifiers.value", 256, Lines::One),
    ("identifiers.notes", 2_000, Lines::Many),
    ("locations.name", 200, Lines::One),
    ("references.relation", 64, Lines::One),
    ("amends.reason", 2_000, Lines::Many),
];

/// Most characters in a title.
pub const MAX_TITLE_CHARS: usize = 200;

/// Every free-text field of `a` by the name [`MAX_TEXT_BYTES`] gives it.
fn texts(a: &pb::Alert) -> Vec<(&'static str, &str)> {
    let mut out = vec![("title", a.title.as_str()), ("summary", a.summary.as_str())];
    if let Some(n) = &a.network {
        out.push(("network.name", &n.name));
        out.extend(n.aliases.iter().map(|x| ("network.aliases", x.as_str())));
        out.push(("network.description", &n.description));
    }
    for s in &a.subjects {
        out.extend([("subjects.name", s.name.as_str()), ("subjects.notes", s.notes.as_str())]);
    }
    for i in &a.identifiers {
        out.extend([
            ("identifiers.value", i.value.as_str()),
            ("identifiers.notes", i.notes.as_str()),
        ]);
    }
    out.extend(a.locations.iter().map(|l| ("locations.name", l.name.as_str())));
    out.extend(
        a.references
            .iter()
            .map(|r| ("references.relation", r.relation.as_str())),
    );
    out.extend(a.amends.iter().map(|m| ("amends.reason", m.reason.as_str())));
    out
}

fn check_text(a: &pb::Alert) -> Result<(), AlertError> {
    if a.title.trim().is_empty() {
        return Err(field("title", "required: a one-line title"));
    }
    if a.title.chars().count() > MAX_TITLE_CHARS {
        return Err(field("title", format!("longer than {MAX_TITLE_CHARS} characters")));
    }
    for (name, value) in texts(a) {
        check_one_text(name, value)?;
    }
    check_countries(a)?;
    for l in &a.locations {
        let ok = (-90.0..=90.0).contains(&l.latitude) && (-180.0..=180.0).contains(&l.longitude);
        if !ok {
            return Err(field(
                "locations",
                "latitude must be in [-90, 90] and longitude in [-180, 180]",
            ));
        }
    }
    Ok(())
}

fn check_one_text(name: &'static str, value: &str) -> Result<(), AlertError> {
    let Some(&(_, max, lines)) = MAX_TEXT_BYTES.iter().find(|(n, _, _)| *n == name) else {
        return Ok(());
    };
    if value.len() > max {
        return Err(field(
            name,
            format!("{} bytes of UTF-8; at most {max} are allowed", value.len()),
        ));
    }
    match crate::text::forbidden(value, lines) {
        Some((at, c)) => Err(field(
            name,
            format!(
                "character {at} is U+{:04X}, a control, line-break or bidirectional-override character; \
                 free text may not carry terminal control codes or reorder what recipients see{}",
                u32::from(c),
                match lines {
                    Lines::One => " (this field is one line)",
                    Lines::Many => "",
                }
            ),
        )),
        None => Ok(()),
    }
}

/// The optional country fields: empty or an assigned ISO 3166-1 alpha-2 code.
fn check_countries(a: &pb::Alert) -> Result<(), AlertError> {
    let fields = a
        .subjects
        .iter()
        .map(|s| ("subjects.nationality", &s.nationality))
        .chain(a.identifiers.iter().map(|i| ("identifiers.country", &i.country)))
        .chain(a.locations.iter().map(|l| ("locations.country", &l.country)));
    for (name, code) in fields {
        if !code.is_empty() {
            PrincipalId::country(code).map_err(id_err(name))?;
        }
    }
    Ok(())
}

/// Seconds of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the span RFC
/// 3339 can write, so every accepted time can be shown as text.
const RFC3339_SECONDS: std::ops::RangeInclusive<i64> = -62_167_219_200..=253_402_300_799;

fn check_time(name: &'static str, t: &prost_types::Timestamp) -> Result<(), AlertError> {
    if !(0..1_000_000_000).contains(&t.nanos) {
        return Err(field(name, "nanos must be in 0..1e9"));
    }
    if !RFC3339_SECONDS.contains(&t.seconds) {
        return Err(field(name, "must be between years 0000 and 9999"));
    }
    Ok(())
}

/// Found by the `alert_payload` fuzz target: unchecked validity times with
/// negative nanos were stored and then shown (CLI `--json`) as another time.
fn check_validity(a: &pb::Alert) -> Result<(), AlertError> {
    let Some(v) = &a.validity else { return Ok(()) };
    if let Some(t) = &v.not_before {
        check_time("validity.not_before", t)?;
    }
    if let Some(t) = &v.not_after {
        check_time("validity.not_after", t)?;
    }
    if let (Some(b), Some(e)) = (&v.not_before, &v.not_after) {
        if (b.seconds, b.nanos) > (e.seconds, e.nanos) {
            return Err(field("validity", "not_before is after not_after"));
        }
    }
    Ok(())
}

/// Optional enums inside subjects, identifiers and locations: unset (0) or
/// a known value.
fn check_nested_enums(a: &pb::Alert) -> Result<(), AlertError> {
    fn unset_or_known<E>(name: &'static str, v: i32, ok: Result<E, prost::UnknownEnumValue>) -> Result<(), AlertError> {
        match v == 0 || ok.is_ok() {
            true => Ok(()),
            false => Err(field(name, format!("{v} is not a known value"))),
        }
    }
    for s in &a.subjects {
        unset_or_known("subjects.kind", s.kind, pb::SubjectKind::try_from(s.kind))?;
        unset_or_known("subjects.role", s.role, pb::SubjectRole::try_from(s.role))?;
    }
    for i in &a.identifiers {
        unset_or_known("identifiers.kind", i.kind, pb::IdentifierKind::try_from(i.kind))?;
    }
    for l in &a.locations {
        unset_or_known("locations.role", l.role, pb::LocationRole::try_from(l.role))?;
    }
    Ok(())
}

fn check_refs(a: &pb::Alert) -> Result<(), AlertError> {
    for r in &a.references {
        PrincipalId::country(&r.publisher).map_err(id_err("references.publisher"))?;
        AlertId::parse(&r.id).map_err(id_err("references.id"))?;
    }
    Ok(())
}

fn check_amends(a: &pb::Alert) -> Result<(), AlertError> {
    if let Some(m) = &a.amends {
        AlertId::parse(&m.id).map_err(id_err("amends.id"))?;
        known("amends.kind", m.kind, pb::AmendmentKind::try_from(m.kind))?;
        if m.id == a.id {
            return Err(field(
                "amends.id",
                "an alert cannot amend itself; give the new alert its own id",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::fuzzing::fixture::alert as sample;

    const NOW: i64 = 1_790_000_100;

    fn parse(a: &pb::Alert) -> Result<ValidAlert, AlertError> {
        ValidAlert::parse(&a.encode_to_vec(), NOW)
    }

    fn field_of(r: Result<ValidAlert, AlertError>) -> &'static str {
        match r {
            Err(AlertError::Field { field, .. }) | Err(AlertError::Id { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn a_complete_alert_parses() {
        let v = parse(&sample("a-1", "CO", &["US", "PA"])).expect("valid");
        assert_eq!(v.publisher.as_str(), "CO");
        let names: Vec<_> = match v.recipients {
            Recipients::Named(n) => n.iter().map(|p| p.to_string()).collect(),
            Recipients::All => vec![],
        };
        assert_eq!(names, ["PA", "US"]);
    }

    #[test]
    fn each_bad_field_is_named() {
        let mut a = sample("a-1", "CO", &[]);
        assert_eq!(field_of(parse(&a)), "recipients");
        a.recipients = vec!["PA".into(), "PA".into()];
        assert_eq!(field_of(parse(&a)), "recipients");
        a.recipients = vec!["ALL".into()];
        a.tlp = pb::Tlp::Red as i32;
        assert_eq!(field_of(parse(&a)), "recipients");
        type Mutation = fn(&mut pb::Alert);
        let cases: Vec<(Mutation, &str)> = vec![
            (|a| a.id.clear(), "id"),
            (|a| a.publisher = "Colombia".into(), "publisher"),
            (|a| a.created = None, "created"),
            (
                |a| {
                    a.created = Some(prost_types::Timestamp {
                        seconds: NOW + 3600,
                        nanos: 0,
                    })
                },
                "created",
            ),
            (|a| a.language = "spanish!".into(), "language"),
            (|a| a.tlp = 9, "tlp"),
            (|a| a.category = 0, "category"),
            (|a| a.evaluation = None, "evaluation"),
            (|a| a.handling = vec![42], "handling"),
            (|a| a.title = " ".into(), "title"),
            (|a| a.summary = "x".repeat(16_001), "summary"),
            (|a| a.summary = "é".repeat(8_001), "summary"),
            (|a| a.title = "t\u{1b}[2K".into(), "title"),
            (|a| a.title = "two\nlines".into(), "title"),
            (|a| a.summary = "a\u{202e}b".into(), "summary"),
            (|a| a.summary = "cr\rline".into(), "summary"),
            (|a| a.language = "es-".repeat(30), "language"),
            (
                |a| {
                    a.subjects = vec![pb::Subject {
                        kind: 99,
                        ..Default::default()
                    }]
                },
                "subjects.kind",
            ),
            (
                |a| {
                    a.locations = vec![pb::Location {
                        role: 42,
                        ..Default::default()
                    }]
                },
                "locations.role",
            ),
            (|a| a.validity = validity(NOW, -1, NOW, 0), "validity.not_before"),
            (
                |a| a.validity = validity(NOW, 0, 300_000_000_000, 0),
                "validity.not_after",
            ),
            (|a| a.validity = validity(NOW + 1, 0, NOW, 0), "validity"),
        ];
        for (mutate, want) in cases {
            let mut a = sample("a-1", "CO", &["PA"]);
            mutate(&mut a);
            assert_eq!(field_of(parse(&a)), want);
        }
    }

    #[test]
    fn repeated_fields_are_capped_at_their_limit() {
        type Fill = fn(&mut pb::Alert, usize);
        let fills: [(&str, Fill); 7] = [
            ("recipients", |a, n| a.recipients = vec!["PA".into(); n]),
            ("handling", |a, n| a.handling = vec![1; n]),
            ("subjects", |a, n| a.subjects = vec![pb::Subject::default(); n]),
            ("identifiers", |a, n| a.identifiers = vec![pb::Identifier::default(); n]),
            ("locations", |a, n| a.locations = vec![pb::Location::default(); n]),
            ("references", |a, n| {
                a.references = vec![
                    pb::AlertReference {
                        publisher: "PA".into(),
                        id: "r".into(),
                        relation: String::new(),
                    };
                    n
                ]
            }),
            ("network.aliases", |a, n| {
                a.network = Some(pb::Network {
                    aliases: vec!["x".into(); n],
                    ..Default::default()
                })
            }),
        ];
        for ((name, fill), (limit_name, max)) in fills.into_iter().zip(MAX_COUNTS) {
            assert_eq!(name, limit_name);
            let mut a = sample("a-1", "CO", &["PA"]);
            fill(&mut a, max + 1);
            let err = parse(&a).expect_err("over the limit");
            assert_eq!(field_of(Err(err.clone())), name);
            assert!(err.to_string().contains(&format!("at most {max}")), "{err}");
            if name != "recipients" {
                fill(&mut a, max);
                assert!(parse(&a).is_ok(), "{name} at its limit of {max} is refused");
            }
        }
    }

    fn validity(b: i64, bn: i32, e: i64, en: i32) -> Option<pb::Validity> {
        let t = |seconds, nanos| Some(prost_types::Timestamp { seconds, nanos });
        Some(pb::Validity {
            not_before: t(b, bn),
            not_after: t(e, en),
        })
    }

    #[test]
    fn unset_nested_enums_and_a_sound_validity_pass() {
        let mut a = sample("a-1", "CO", &["PA"]);
        a.subjects = vec![pb::Subject::default()];
        a.validity = validity(NOW, 0, NOW, 0);
        assert!(parse(&a).is_ok());
    }

    #[test]
    fn garbage_is_a_decode_error() {
        assert!(matches!(
            ValidAlert::parse(&[0xff, 0xff, 0xff], NOW),
            Err(AlertError::Decode(_))
        ));
    }
}
