//! Validated identifiers parsed once at the boundary: roster principal ids
//! (ISO 3166-1 alpha-2 delegation codes, or upper-case role names such as
//! `AUDITOR`) and publisher-chosen alert ids. Code downstream never
//! re-checks them.

use std::fmt;

/// ISO 3166-1 alpha-2 officially assigned codes (249), concatenated.
const ISO_3166_ALPHA2: &str = "ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZ\
CACCCDCFCGCHCICKCLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEHERESETFIFJFKFMFOFRGAGBGDGEGFGGGHGIGLGMGNGPGQGRGSGTGUGWGY\
HKHMHNHRHTHUIDIEILIMINIOIQIRISITJEJMJOJPKEKGKHKIKMKNKPKRKWKYKZLALBLCLILKLRLSLTLULVLYMAMCMDMEMFMGMHMKMLMMMNMOMPMQMRMSMTMUMVMWMXMYMZ\
NANCNENFNGNINLNONPNRNUNZOMPAPEPFPGPHPKPLPMPNPRPSPTPWPYQARERORSRURWSASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSVSXSYSZ\
TCTDTFTGTHTJTKTLTMTNTOTRTTTVTWTZUAUGUMUSUYUZVAVCVEVGVIVNVUWFWSYEYTZAZMZW";

/// Whether `code` is an officially assigned ISO 3166-1 alpha-2 code.
pub fn is_iso_3166_alpha2(code: &str) -> bool {
    code.len() == 2
        && code.bytes().all(|b| b.is_ascii_uppercase())
        && ISO_3166_ALPHA2.as_bytes().chunks(2).any(|c| c == code.as_bytes())
}

/// A roster principal: a delegation (ISO 3166-1 alpha-2) or another role
/// holder named by 3..=32 of `[A-Z0-9_-]` starting with a letter.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PrincipalId(String);

impl PrincipalId {
    /// Parses a principal id; the error says what a valid one looks like.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.len() == 2 {
            return match is_iso_3166_alpha2(s) {
                true => Ok(PrincipalId(s.to_owned())),
                false => Err(IdError::Country(s.to_owned())),
            };
        }
        let ok = (3..=32).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_uppercase())
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        match ok {
            true => Ok(PrincipalId(s.to_owned())),
            false => Err(IdError::Principal(s.to_owned())),
        }
    }

    /// Parses an ISO 3166-1 alpha-2 delegation code only.
    pub fn country(s: &str) -> Result<Self, IdError> {
        match is_iso_3166_alpha2(s) {
            true => Ok(PrincipalId(s.to_owned())),
            false => Err(IdError::Country(s.to_owned())),
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PrincipalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A publisher-chosen alert id: 1..=64 of `[A-Za-z0-9._-]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AlertId(String);

impl AlertId {
    /// Parses an alert id.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        match ok {
            true => Ok(AlertId(s.to_owned())),
            false => Err(IdError::Alert(s.chars().take(80).collect())),
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AlertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// Not an assigned ISO 3166-1 alpha-2 code.
    #[error("{0:?} is not an ISO 3166-1 alpha-2 country code (two upper-case letters, e.g. \"CO\")")]
    Country(String),
    /// Not a valid principal id.
    #[error(
        "{0:?} is not a principal id: use an ISO 3166-1 alpha-2 code or 3-32 of A-Z 0-9 _ - starting with a letter"
    )]
    Principal(String),
    /// Not a valid alert id.
    #[error("alert id {0:?} is invalid: use 1-64 characters of A-Z a-z 0-9 . _ - (a UUIDv7 is recommended)")]
    Alert(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes_of_the_federation_are_assigned() {
        for c in "CO PA US CA MX CR EC PE BR CL VE HT CU GT HN SV NI DO AR BZ".split(' ') {
            assert!(is_iso_3166_alpha2(c), "{c}");
        }
        assert_eq!(ISO_3166_ALPHA2.len(), 249 * 2);
        for bad in ["XX", "co", "C", "COL", "ZZ", ""] {
            assert!(!is_iso_3166_alpha2(bad), "{bad}");
        }
    }

    #[test]
    fn principal_ids() {
        assert!(PrincipalId::parse("AUDITOR").is_ok());
        assert!(PrincipalId::parse("CO").is_ok());
        assert_eq!(PrincipalId::parse("QQ"), Err(IdError::Country("QQ".into())));
        assert!(PrincipalId::parse("auditor").is_err());
        assert!(PrincipalId::parse("1AB").is_err());
        assert!(PrincipalId::country("AUDITOR").is_err());
    }

    #[test]
    fn alert_ids() {
        assert!(AlertId::parse("0190b5a2-7c4e-7d2a-9f1e-3b6c8d9e0f11").is_ok());
        assert!(AlertId::parse("").is_err());
        assert!(AlertId::parse(&"a".repeat(65)).is_err());
        assert!(AlertId::parse("a b").is_err());
        assert!(AlertId::parse("ñ").is_err());
    }
}
