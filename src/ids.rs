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

/// Number of officially assigned ISO 3166-1 alpha-2 codes.
pub(crate) const ISO_3166_COUNT: usize = ISO_3166_ALPHA2.len() / 2;

/// The position of `code` among the assigned ISO 3166-1 alpha-2 codes (in
/// alphabetical order), found by binary search: eight comparisons at most,
/// whatever the input, so a caller cannot make a lookup expensive.
pub(crate) fn country_index(code: &str) -> Option<usize> {
    let code = code.as_bytes();
    if code.len() != 2 {
        return None;
    }
    let (mut lo, mut hi) = (0, ISO_3166_COUNT);
    while lo < hi {
        let mid = (lo + hi) / 2;
        // Always present: mid < ISO_3166_COUNT, so 2 * mid + 2 <= the list's length.
        match ISO_3166_ALPHA2.as_bytes().get(2 * mid..2 * mid + 2)?.cmp(code) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Some(mid),
        }
    }
    None
}

/// Whether `code` is an officially assigned ISO 3166-1 alpha-2 code.
pub(crate) fn is_iso_3166_alpha2(code: &str) -> bool {
    country_index(code).is_some()
}

/// A set of ISO 3166-1 alpha-2 codes as a 249-bit map: membership, insertion
/// and inclusion cost the same whatever the set holds, and it takes 32 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CountrySet([u64; 4]);

/// The word and bit holding code position `i` (< 249, so one of the four
/// words).
fn bit_of(i: usize) -> (usize, u64) {
    (i / 64, 1 << (i % 64))
}

impl CountrySet {
    /// Adds `code`; false when it is not an assigned code.
    pub fn insert(&mut self, code: &str) -> bool {
        let Some(i) = country_index(code) else { return false };
        let (word, bit) = bit_of(i);
        if let Some(w) = self.0.get_mut(word) {
            *w |= bit;
        }
        true
    }

    /// Whether the code at position `i` is in the set.
    fn has(&self, i: usize) -> bool {
        let (word, bit) = bit_of(i);
        self.0.get(word).is_some_and(|w| w & bit != 0)
    }

    /// Whether `code` is in the set.
    pub fn contains(&self, code: &str) -> bool {
        country_index(code).is_some_and(|i| self.has(i))
    }

    /// Whether every code of `self` is in `other`.
    pub fn is_subset(&self, other: &CountrySet) -> bool {
        self.0.iter().zip(&other.0).all(|(a, b)| a & !b == 0)
    }

    /// How many codes it holds.
    pub fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }

    /// The codes of `self` missing from `other`, in alphabetical order.
    pub fn missing_from(&self, other: &CountrySet) -> Vec<&'static str> {
        (0..ISO_3166_COUNT)
            .filter(|&i| self.has(i) && !other.has(i))
            .filter_map(|i| ISO_3166_ALPHA2.get(2 * i..2 * i + 2))
            .collect()
    }
}

impl<'a> FromIterator<&'a str> for CountrySet {
    /// The assigned codes among `codes` (others are skipped).
    fn from_iter<I: IntoIterator<Item = &'a str>>(codes: I) -> Self {
        let mut set = CountrySet::default();
        for c in codes {
            set.insert(c);
        }
        set
    }
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
    fn country_lookup_is_exact_and_sets_compare() {
        let listed: Vec<&str> = (0..ISO_3166_COUNT)
            .map(|i| &ISO_3166_ALPHA2[2 * i..2 * i + 2])
            .collect();
        let mut sorted = listed.clone();
        sorted.sort_unstable();
        assert_eq!(listed, sorted, "binary search needs the list in order");
        for (i, c) in listed.iter().enumerate() {
            assert_eq!(country_index(c), Some(i));
        }
        for bad in ["AA", "ZZ", "A", "", "co", "\u{0}\u{0}"] {
            assert_eq!(country_index(bad), None, "{bad:?}");
        }
        let small: CountrySet = ["PA", "US"].into_iter().collect();
        let big: CountrySet = ["PA", "US", "CO", "XX"].into_iter().collect();
        assert_eq!((small.len(), big.len()), (2, 3));
        assert!(small.is_subset(&big) && !big.is_subset(&small));
        assert_eq!(big.missing_from(&small), ["CO"]);
        assert!(big.contains("CO") && !big.contains("BR") && !big.contains("XX"));
        assert!(CountrySet::default().is_empty());
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
