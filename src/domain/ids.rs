//! Identifiers that can only hold valid values (parse, don't validate).

use std::fmt;

use juniper::GraphQLScalar;

/// The reason a string is not a valid identifier, phrased for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidId {
    pub expected: &'static str,
    pub found: String,
}

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}, found {:?}", self.expected, self.found)
    }
}

fn all_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

macro_rules! digit_id {
    ($(#[$doc:meta])* $name:ident, $gql:literal, $len:literal, $expected:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, GraphQLScalar)]
        #[graphql(name = $gql, to_output_with = Self::as_str, from_input_with = Self::from_input, parse_token(String))]
        pub struct $name(String);

        impl $name {
            pub const EXPECTED: &'static str = $expected;

            pub fn parse(s: &str) -> Result<Self, InvalidId> {
                let t = s.trim();
                if all_digits(t, $len) {
                    Ok(Self(t.to_owned()))
                } else {
                    Err(InvalidId { expected: $expected, found: s.to_owned() })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            fn from_input(s: &str) -> Result<Self, Box<str>> {
                Self::parse(s).map_err(|e| format!("{}: {}", $gql, e).into())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

digit_id!(
    /// OZG-ID of an OZG-Leistung: exactly 5 digits, e.g. `10257`.
    OzgId, "OzgId", 5, "an OZG-ID of exactly 5 digits, e.g. \"10257\""
);
digit_id!(
    /// LeiKa-Leistungsschlüssel: exactly 14 digits, e.g. `99099002000000`.
    LeikaKey, "LeikaKey", 14, "a LeiKa key of exactly 14 digits, e.g. \"99099002000000\""
);
digit_id!(
    /// Amtlicher Gemeindeschlüssel: exactly 8 digits (Land 2, RB 1, Kreis 2, Gemeinde 3), e.g. `05315000`.
    Ags, "Ags", 8, "an AGS of exactly 8 digits, e.g. \"05315000\" (Köln)"
);
digit_id!(
    /// Amtlicher Regionalschlüssel: exactly 12 digits (Land 2, RB 1, Kreis 2, Verband 4, Gemeinde 3), e.g. `053150000000`.
    Ars, "Ars", 12, "an ARS of exactly 12 digits, e.g. \"053150000000\" (Köln)"
);
digit_id!(
    /// Kreisschlüssel: exactly 5 digits, the first five of the AGS, e.g. `05978` (Kreis Unna).
    DistrictKey, "DistrictKey", 5, "a Kreisschlüssel of exactly 5 digits, e.g. \"05978\""
);

impl Ags {
    /// The two-digit Land prefix.
    pub fn land_prefix(&self) -> &str {
        &self.0[..2]
    }
    pub fn district_key(&self) -> DistrictKey {
        DistrictKey(self.0[..5].to_owned())
    }
}

impl Ars {
    /// Whether this ARS denotes the same Gemeinde as the AGS: ARS digits 1–5 equal AGS digits 1–5 and
    /// ARS digits 10–12 equal AGS digits 6–8.
    pub fn matches(&self, ags: &Ags) -> bool {
        self.0[..5] == ags.0[..5] && self.0[9..] == ags.0[5..]
    }
    pub fn land_prefix(&self) -> &str {
        &self.0[..2]
    }
}

impl DistrictKey {
    pub fn land_prefix(&self) -> &str {
        &self.0[..2]
    }
}

/// A URL-safe identifier of a project, organisation or platform: 2–80 characters of `a-z`, `0-9`, `-`,
/// starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    pub const EXPECTED: &'static str =
        "2 to 80 characters of lowercase letters a-z, digits and '-', not starting or ending with '-'";

    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        let ok = (2..=80).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok { Ok(Self(s.to_owned())) } else { Err(InvalidId { expected: Self::EXPECTED, found: s.to_owned() }) }
    }

    /// Builds a slug from free text: lowercase, German umlauts transliterated, other characters as '-'.
    pub fn from_text(text: &str) -> Self {
        let mut out = String::with_capacity(text.len());
        for c in text.chars().flat_map(|c| c.to_lowercase()) {
            match c {
                'ä' => out.push_str("ae"),
                'ö' => out.push_str("oe"),
                'ü' => out.push_str("ue"),
                'ß' => out.push_str("ss"),
                'a'..='z' | '0'..='9' => out.push(c),
                _ => {
                    if !out.ends_with('-') {
                        out.push('-')
                    }
                }
            }
        }
        let mut s = out.trim_matches('-').to_owned();
        s.truncate(80);
        let s = s.trim_end_matches('-').to_owned();
        if s.len() < 2 { Self(format!("x-{s}")) } else { Self(s) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_ids_reject_wrong_length_and_letters() {
        assert!(OzgId::parse("10257").is_ok());
        assert!(OzgId::parse("1025").is_err());
        assert!(OzgId::parse("1025a").is_err());
        assert!(LeikaKey::parse("99099002000000").is_ok());
        assert!(LeikaKey::parse("9909900200000").is_err());
        assert!(Ags::parse("05315000").is_ok());
        assert!(Ags::parse("5315000").is_err());
        assert!(Ars::parse("053150000000").is_ok());
    }

    #[test]
    fn ars_matches_ags() {
        let ags = Ags::parse("05978036").unwrap();
        assert!(Ars::parse("059785036036").unwrap().matches(&ags));
        assert!(!Ars::parse("059780000000").unwrap().matches(&ags));
    }

    #[test]
    fn slugs() {
        assert_eq!(Slug::from_text("Köln, Stadt").as_str(), "koeln-stadt");
        assert_eq!(Slug::from_text("Straße & Weg").as_str(), "strasse-weg");
        assert!(Slug::parse("einbuergerung").is_ok());
        assert!(Slug::parse("Einbuergerung").is_err());
        assert!(Slug::parse("-x").is_err());
    }
}

/// A record id of one kind of entity: a loader or a write of one kind cannot be given another
/// kind's id. Stored as an integer, written as its number.
pub trait RecordId: Copy + Eq + std::hash::Hash + Ord + fmt::Display + From<i32> + Send + Sync + 'static {
    fn get(self) -> i32;
}

/// Record ids in a list, as plain numbers (for `IN (…)` lists and counts).
pub fn raw_ids<I: RecordId>(ids: &[I]) -> Vec<i32> {
    ids.iter().map(|i| i.get()).collect()
}

macro_rules! record_id {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Integer)]
        #[serde(transparent)]
        pub struct $name(i32);

        impl RecordId for $name {
            fn get(self) -> i32 {
                self.0
            }
        }

        impl AsRef<i32> for $name {
            fn as_ref(&self) -> &i32 {
                &self.0
            }
        }

        impl From<i32> for $name {
            fn from(n: i32) -> Self {
                Self(n)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl From<$name> for serde_json::Value {
            fn from(id: $name) -> Self {
                serde_json::Value::from(id.0)
            }
        }
    )*};
}

record_id! {
    /// An implementation project.
    ProjectId;
    /// An organisation (Land, Kommune, office, provider …).
    OrganisationId;
    /// A participation of an organisation in a project.
    ParticipationId;
    /// A call for participation.
    CallId;
    /// A reuse declaration.
    ReuseId;
    /// A milestone of a project.
    MilestoneId;
    /// A step of a project's plan.
    StepId;
    /// A contact person.
    ContactId;
    /// An event (workshop, meeting).
    EventId;
    /// A platform (portal, transport, standard).
    PlatformId;
    /// A newsletter definition.
    DefinitionId;
    /// A newsletter edition.
    EditionId;
    /// A Lebenslage.
    LifeSituationId;
}
