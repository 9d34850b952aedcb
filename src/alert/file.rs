//! The alert authoring format read by `isthmus publish`: TOML or JSON with
//! readable enum names (`tlp = "AMBER+STRICT"`, `category =
//! "migrant_smuggling"`). It converts to and from [`pb::Alert`]; the CLI's
//! `--json` output of received alerts uses the same shape.

use crate::pb;
use crate::time::timestamp_text;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An alert as written by an officer.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertFile {
    /// Idempotency key; a UUIDv7 is generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Delegation code; defaults to the caller's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// RFC 3339; defaults to now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// BCP 47 tag.
    pub language: String,
    /// CLEAR, GREEN, AMBER, AMBER+STRICT or RED.
    pub tlp: String,
    /// Delegation codes, or ["ALL"].
    pub recipients: Vec<String>,
    /// e.g. no_onward_sharing, no_court_use.
    #[serde(default)]
    pub handling: Vec<String>,
    /// Source reliability and information credibility.
    pub evaluation: EvaluationFile,
    /// e.g. migrant_smuggling, human_trafficking.
    pub category: String,
    /// One line.
    pub title: String,
    /// Free text.
    #[serde(default)]
    pub summary: String,
    /// The network concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkFile>,
    /// People and organisations.
    #[serde(default)]
    pub subjects: Vec<SubjectFile>,
    /// Selectors.
    #[serde(default)]
    pub identifiers: Vec<IdentifierFile>,
    /// Places and routes.
    #[serde(default)]
    pub locations: Vec<LocationFile>,
    /// When the information is current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity: Option<ValidityFile>,
    /// Related alerts.
    #[serde(default)]
    pub references: Vec<ReferenceFile>,
    /// Correction or retraction of an earlier alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amends: Option<AmendsFile>,
}

/// `[evaluation]`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationFile {
    /// A..F.
    pub source_reliability: String,
    /// 1..6.
    pub information_credibility: u8,
}

/// `[network]`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkFile {
    /// Name.
    pub name: String,
    /// Other names.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Structure, modus operandi.
    #[serde(default)]
    pub description: String,
}

/// `[[subjects]]`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectFile {
    /// Name or alias.
    pub name: String,
    /// person or organization.
    pub kind: String,
    /// leader, recruiter, transporter, guide, facilitator, financier, ...
    pub role: String,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    pub nationality: String,
    /// 0 if unknown.
    #[serde(default)]
    pub birth_year: u32,
    /// Free text.
    #[serde(default)]
    pub notes: String,
}

/// `[[identifiers]]`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifierFile {
    /// phone, email, passport, national_id, vehicle_plate, vessel, bank_account, crypto_wallet, ...
    pub kind: String,
    /// The selector.
    pub value: String,
    /// Issuing country.
    #[serde(default)]
    pub country: String,
    /// Free text.
    #[serde(default)]
    pub notes: String,
}

/// `[[locations]]`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationFile {
    /// Place name.
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// Decimal degrees.
    #[serde(default)]
    pub latitude: f64,
    /// Decimal degrees.
    #[serde(default)]
    pub longitude: f64,
    /// origin, transit, destination, route_waypoint, stash_house, crossing_point.
    pub role: String,
    /// Order along a route.
    #[serde(default)]
    pub sequence: u32,
}

/// `[validity]`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidityFile {
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
}

/// `[[references]]`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceFile {
    /// Publisher of the related alert.
    pub publisher: String,
    /// Its id.
    pub id: String,
    /// How it relates.
    #[serde(default)]
    pub relation: String,
}

/// `[amends]`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmendsFile {
    /// The earlier alert's id.
    pub id: String,
    /// correction or retraction.
    pub kind: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// True when the amendment deliberately reaches beyond the original's
    /// audience (lower TLP or new recipients).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub widens_distribution: bool,
}

/// A field of the file that cannot be converted; the message says how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FileError {
    /// Which field.
    pub field: String,
    /// What to write instead.
    pub reason: String,
}

fn err(field: &str, reason: impl Into<String>) -> FileError {
    FileError {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// Maps a readable name ("amber+strict", "migrant smuggling") to the enum
/// value whose protobuf name is `PREFIX_NAME`.
fn enum_in(field: &str, prefix: &str, text: &str, from: fn(&str) -> Option<i32>) -> Result<i32, FileError> {
    let norm: String = text
        .trim()
        .trim_start_matches("TLP:")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    match from(&format!("{prefix}_{norm}")) {
        Some(v) if v != 0 => Ok(v),
        _ => Err(err(field, format!("{text:?} is not a known value"))),
    }
}

/// The readable name of an enum value: protobuf name minus prefix, lower-case.
fn enum_out(prefix: &str, name: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .trim_start_matches('_')
        .to_ascii_lowercase()
}

macro_rules! conv {
    ($ty:ty, $prefix:literal) => {
        (
            |s: &str| <$ty>::from_str_name(s).map(|v| v as i32),
            |v: i32| {
                <$ty>::try_from(v)
                    .map(|e| enum_out($prefix, e.as_str_name()))
                    .unwrap_or_else(|_| v.to_string())
            },
        )
    };
}

/// Parses RFC 3339 into a protobuf timestamp.
pub fn timestamp(field: &str, s: &str) -> Result<prost_types::Timestamp, FileError> {
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|_| err(field, format!("{s:?} is not RFC 3339 (2026-11-23T10:00:00Z)")))?;
    Ok(prost_types::Timestamp {
        seconds: t.unix_timestamp(),
        nanos: t.nanosecond() as i32,
    })
}

/// Parses a file as JSON when its name ends in `.json`, TOML otherwise.
pub fn parse(name: &str, text: &str) -> Result<AlertFile, FileError> {
    match name.ends_with(".json") {
        true => serde_json::from_str(text).map_err(|e| err(name, e.to_string())),
        false => toml::from_str(text).map_err(|e| err(name, e.to_string())),
    }
}

impl AlertFile {
    /// Converts to the protobuf alert; `publisher` and `now` fill absent
    /// `publisher` and `created`; an absent id becomes a fresh UUIDv7.
    pub fn to_pb(&self, publisher: &str, now: prost_types::Timestamp) -> Result<pb::Alert, FileError> {
        let (tlp, _) = conv!(pb::Tlp, "TLP");
        let (category, _) = conv!(pb::Category, "CATEGORY");
        let (handling, _) = conv!(pb::HandlingRestriction, "HANDLING");
        let (rel, _) = conv!(pb::SourceReliability, "SOURCE_RELIABILITY");
        let (cred, _) = conv!(pb::InformationCredibility, "INFORMATION_CREDIBILITY");
        Ok(pb::Alert {
            id: self.id.clone().unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
            publisher: self.publisher.clone().unwrap_or_else(|| publisher.to_owned()),
            created: Some(match &self.created {
                Some(s) => timestamp("created", s)?,
                None => now,
            }),
            language: self.language.clone(),
            tlp: enum_in("tlp", "TLP", &self.tlp, tlp)?,
            recipients: self.recipients.clone(),
            handling: self
                .handling
                .iter()
                .map(|h| enum_in("handling", "HANDLING", h, handling))
                .collect::<Result<_, _>>()?,
            evaluation: Some(pb::Evaluation {
                source_reliability: enum_in(
                    "evaluation.source_reliability",
                    "SOURCE_RELIABILITY",
                    &self.evaluation.source_reliability,
                    rel,
                )?,
                information_credibility: enum_in(
                    "evaluation.information_credibility",
                    "INFORMATION_CREDIBILITY",
                    &self.evaluation.information_credibility.to_string(),
                    cred,
                )?,
            }),
            category: enum_in("category", "CATEGORY", &self.category, category)?,
            title: self.title.clone(),
            summary: self.summary.clone(),
            network: self.network.as_ref().map(|n| pb::Network {
                name: n.name.clone(),
                aliases: n.aliases.clone(),
                description: n.description.clone(),
            }),
            subjects: self.subjects.iter().map(SubjectFile::to_pb).collect::<Result<_, _>>()?,
            identifiers: self
                .identifiers
                .iter()
                .map(IdentifierFile::to_pb)
                .collect::<Result<_, _>>()?,
            locations: self
                .locations
                .iter()
                .map(LocationFile::to_pb)
                .collect::<Result<_, _>>()?,
            validity: self.validity.as_ref().map(ValidityFile::to_pb).transpose()?,
            references: self
                .references
                .iter()
                .map(|r| pb::AlertReference {
                    publisher: r.publisher.clone(),
                    id: r.id.clone(),
                    relation: r.relation.clone(),
                })
                .collect(),
            amends: self.amends.as_ref().map(AmendsFile::to_pb).transpose()?,
        })
    }

    /// The readable form of a protobuf alert (for `--json` output).
    pub fn from_pb(a: &pb::Alert) -> Self {
        let (_, tlp) = conv!(pb::Tlp, "TLP");
        let (_, category) = conv!(pb::Category, "CATEGORY");
        let (_, handling) = conv!(pb::HandlingRestriction, "HANDLING");
        let (_, rel) = conv!(pb::SourceReliability, "SOURCE_RELIABILITY");
        let eval = a.evaluation.unwrap_or_default();
        AlertFile {
            id: Some(a.id.clone()),
            publisher: Some(a.publisher.clone()),
            created: a.created.as_ref().map(timestamp_text),
            language: a.language.clone(),
            tlp: tlp(a.tlp).to_ascii_uppercase().replace("AMBER_STRICT", "AMBER+STRICT"),
            recipients: a.recipients.clone(),
            handling: a.handling.iter().map(|&h| handling(h)).collect(),
            evaluation: EvaluationFile {
                source_reliability: rel(eval.source_reliability).to_ascii_uppercase(),
                information_credibility: eval.information_credibility.clamp(0, 255) as u8,
            },
            category: category(a.category),
            title: a.title.clone(),
            summary: a.summary.clone(),
            network: a.network.as_ref().map(|n| NetworkFile {
                name: n.name.clone(),
                aliases: n.aliases.clone(),
                description: n.description.clone(),
            }),
            subjects: a.subjects.iter().map(SubjectFile::from_pb).collect(),
            identifiers: a.identifiers.iter().map(IdentifierFile::from_pb).collect(),
            locations: a.locations.iter().map(LocationFile::from_pb).collect(),
            validity: a.validity.as_ref().map(|v| ValidityFile {
                not_before: v.not_before.as_ref().map(timestamp_text),
                not_after: v.not_after.as_ref().map(timestamp_text),
            }),
            references: a
                .references
                .iter()
                .map(|r| ReferenceFile {
                    publisher: r.publisher.clone(),
                    id: r.id.clone(),
                    relation: r.relation.clone(),
                })
                .collect(),
            amends: a.amends.as_ref().map(|m| AmendsFile {
                id: m.id.clone(),
                kind: conv!(pb::AmendmentKind, "AMENDMENT_KIND").1(m.kind),
                reason: m.reason.clone(),
                widens_distribution: m.widens_distribution,
            }),
        }
    }
}

impl SubjectFile {
    fn to_pb(&self) -> Result<pb::Subject, FileError> {
        Ok(pb::Subject {
            name: self.name.clone(),
            kind: enum_in(
                "subjects.kind",
                "SUBJECT_KIND",
                &self.kind,
                conv!(pb::SubjectKind, "SUBJECT_KIND").0,
            )?,
            role: enum_in(
                "subjects.role",
                "SUBJECT_ROLE",
                &self.role,
                conv!(pb::SubjectRole, "SUBJECT_ROLE").0,
            )?,
            nationality: self.nationality.clone(),
            birth_year: self.birth_year,
            notes: self.notes.clone(),
        })
    }

    fn from_pb(s: &pb::Subject) -> Self {
        SubjectFile {
            name: s.name.clone(),
            kind: conv!(pb::SubjectKind, "SUBJECT_KIND").1(s.kind),
            role: conv!(pb::SubjectRole, "SUBJECT_ROLE").1(s.role),
            nationality: s.nationality.clone(),
            birth_year: s.birth_year,
            notes: s.notes.clone(),
        }
    }
}

impl IdentifierFile {
    fn to_pb(&self) -> Result<pb::Identifier, FileError> {
        let (kind, _) = conv!(pb::IdentifierKind, "IDENTIFIER_KIND");
        Ok(pb::Identifier {
            kind: enum_in("identifiers.kind", "IDENTIFIER_KIND", &self.kind, kind)?,
            value: self.value.clone(),
            country: self.country.clone(),
            notes: self.notes.clone(),
        })
    }

    fn from_pb(i: &pb::Identifier) -> Self {
        IdentifierFile {
            kind: conv!(pb::IdentifierKind, "IDENTIFIER_KIND").1(i.kind),
            value: i.value.clone(),
            country: i.country.clone(),
            notes: i.notes.clone(),
        }
    }
}

impl LocationFile {
    fn to_pb(&self) -> Result<pb::Location, FileError> {
        let (role, _) = conv!(pb::LocationRole, "LOCATION_ROLE");
        Ok(pb::Location {
            name: self.name.clone(),
            country: self.country.clone(),
            latitude: self.latitude,
            longitude: self.longitude,
            role: enum_in("locations.role", "LOCATION_ROLE", &self.role, role)?,
            sequence: self.sequence,
        })
    }

    fn from_pb(l: &pb::Location) -> Self {
        LocationFile {
            name: l.name.clone(),
            country: l.country.clone(),
            latitude: l.latitude,
            longitude: l.longitude,
            role: conv!(pb::LocationRole, "LOCATION_ROLE").1(l.role),
            sequence: l.sequence,
        }
    }
}

impl ValidityFile {
    fn to_pb(&self) -> Result<pb::Validity, FileError> {
        let t = |f: &str, v: &Option<String>| v.as_deref().map(|s| timestamp(f, s)).transpose();
        Ok(pb::Validity {
            not_before: t("validity.not_before", &self.not_before)?,
            not_after: t("validity.not_after", &self.not_after)?,
        })
    }
}

impl AmendsFile {
    fn to_pb(&self) -> Result<pb::Amendment, FileError> {
        let (kind, _) = conv!(pb::AmendmentKind, "AMENDMENT_KIND");
        Ok(pb::Amendment {
            id: self.id.clone(),
            kind: enum_in("amends.kind", "AMENDMENT_KIND", &self.kind, kind)?,
            reason: self.reason.clone(),
            widens_distribution: self.widens_distribution,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: prost_types::Timestamp = prost_types::Timestamp {
        seconds: 1_790_000_000,
        nanos: 0,
    };

    #[test]
    fn the_example_alert_converts_and_round_trips() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/alert.toml");
        let text = std::fs::read_to_string(path).expect("examples/alert.toml");
        let file = parse(path, &text).expect("parses");
        let a = file.to_pb("CO", NOW).expect("converts");
        assert_eq!(a.tlp, pb::Tlp::Amber as i32);
        assert_eq!(a.recipients, ["PA", "US"]);
        assert_eq!(a.category, pb::Category::MigrantSmuggling as i32);
        assert!(!a.subjects.is_empty() && !a.identifiers.is_empty() && !a.locations.is_empty());
        let back = AlertFile::from_pb(&a).to_pb("XX", NOW).expect("round trip");
        assert_eq!(back, a);
    }

    #[test]
    fn readable_enum_names() {
        let t = conv!(pb::Tlp, "TLP").0;
        assert_eq!(
            enum_in("tlp", "TLP", "AMBER+STRICT", t).expect("ok"),
            pb::Tlp::AmberStrict as i32
        );
        assert_eq!(enum_in("tlp", "TLP", "TLP:red", t).expect("ok"), pb::Tlp::Red as i32);
        assert!(enum_in("tlp", "TLP", "unspecified", t).is_err());
        assert!(enum_in("tlp", "TLP", "PURPLE", t).is_err());
    }

    #[test]
    fn json_is_accepted_and_unknown_fields_are_not() {
        let json = r#"{"language":"en","tlp":"GREEN","recipients":["ALL"],"evaluation":{"source_reliability":"A","information_credibility":1},"category":"document_fraud","title":"t"}"#;
        let f = parse("a.json", json).expect("json");
        assert_eq!(
            f.to_pb("PA", NOW).expect("pb").category,
            pb::Category::DocumentFraud as i32
        );
        assert!(parse("a.toml", "titel = 'x'").is_err());
    }
}
