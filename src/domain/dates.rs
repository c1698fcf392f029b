//! Dates as precise as the source: a year, a quarter ("Anfang 2021"), a month ("seit Anfang Dezember
//! 2020") or a day. Timestamps of the change log are UTC instants.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};
use juniper::GraphQLScalar;

use super::ids::InvalidId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Precision {
    Year,
    Quarter(u8),
    Month(u8),
    Day(u8, u8),
}

/// A calendar date of year, quarter, month or day precision: `2021`, `2021-Q1`, `2020-12`, `2020-12-03`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, GraphQLScalar, diesel::deserialize::FromSqlRow)]
#[graphql(
    name = "PartialDate",
    to_output_with = Self::render,
    from_input_with = Self::from_input,
    parse_token(String)
)]
pub struct PartialDate {
    year: u16,
    precision: Precision,
}

const MONTHS: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];

impl PartialDate {
    pub const EXPECTED: &'static str =
        "a date as YYYY, YYYY-Qn (quarter 1-4), YYYY-MM or YYYY-MM-DD, e.g. \"2021-Q1\" or \"2020-12\"";

    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        let err = || InvalidId { expected: Self::EXPECTED, found: s.to_owned() };
        let num = |t: &str, len: usize| -> Option<u16> {
            (t.len() == len && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse().ok()).flatten()
        };
        let mut parts = s.split('-');
        let year = parts.next().and_then(|y| num(y, 4)).filter(|y| (1900..=2999).contains(y)).ok_or_else(err)?;
        let precision = match (parts.next(), parts.next(), parts.next()) {
            (None, _, _) => Precision::Year,
            (Some(q), None, _) if q.starts_with('Q') => {
                let q = num(&q[1..], 1).filter(|q| (1..=4).contains(q)).ok_or_else(err)?;
                Precision::Quarter(q as u8)
            }
            (Some(m), None, _) => Precision::Month(num(m, 2).filter(|m| (1..=12).contains(m)).ok_or_else(err)? as u8),
            (Some(m), Some(d), None) => {
                let m = num(m, 2).ok_or_else(err)?;
                let d = num(d, 2).ok_or_else(err)?;
                NaiveDate::from_ymd_opt(year.into(), m.into(), d.into()).ok_or_else(err)?;
                Precision::Day(m as u8, d as u8)
            }
            _ => return Err(err()),
        };
        Ok(Self { year, precision })
    }

    /// The first day the date can mean; used for ordering.
    pub fn start(&self) -> NaiveDate {
        let y = self.year.into();
        let (m, d) = match self.precision {
            Precision::Year => (1, 1),
            Precision::Quarter(q) => (u32::from(q) * 3 - 2, 1),
            Precision::Month(m) => (m.into(), 1),
            Precision::Day(m, d) => (m.into(), d.into()),
        };
        NaiveDate::from_ymd_opt(y, m, d).expect("validated on parse")
    }

    /// The last day the date can mean.
    pub fn end(&self) -> NaiveDate {
        let y: i32 = self.year.into();
        let last_of = |m: u32| {
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            NaiveDate::from_ymd_opt(ny, nm, 1).expect("valid").pred_opt().expect("valid")
        };
        match self.precision {
            Precision::Year => last_of(12),
            Precision::Quarter(q) => last_of(u32::from(q) * 3),
            Precision::Month(m) => last_of(m.into()),
            Precision::Day(..) => self.start(),
        }
    }

    /// Whether the period has not ended before `day`.
    pub fn not_over(&self, day: NaiveDate) -> bool {
        self.end() >= day
    }

    /// German wording, as the newsletter would print it.
    pub fn label(&self) -> String {
        match self.precision {
            Precision::Year => self.year.to_string(),
            Precision::Quarter(q) => format!("{q}. Quartal {}", self.year),
            Precision::Month(m) => format!("{} {}", MONTHS[usize::from(m) - 1], self.year),
            Precision::Day(m, d) => format!("{d}. {} {}", MONTHS[usize::from(m) - 1], self.year),
        }
    }

    pub fn today() -> Self {
        Self::day(Utc::now().date_naive())
    }

    /// The calendar day `t`.
    pub fn day(t: NaiveDate) -> Self {
        Self { year: t.year() as u16, precision: Precision::Day(t.month() as u8, t.day() as u8) }
    }

    fn render(&self) -> String {
        self.to_string()
    }

    fn from_input(s: &str) -> Result<Self, Box<str>> {
        Self::parse(s).map_err(|e| format!("PartialDate: {e}").into())
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.precision {
            Precision::Year => write!(f, "{:04}", self.year),
            Precision::Quarter(q) => write!(f, "{:04}-Q{q}", self.year),
            Precision::Month(m) => write!(f, "{:04}-{m:02}", self.year),
            Precision::Day(m, d) => write!(f, "{:04}-{m:02}-{d:02}", self.year),
        }
    }
}

/// An instant in UTC, written as RFC 3339 with microseconds (`2026-11-30T04:32:00.123456Z`), so the
/// text sorts in time order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, GraphQLScalar, diesel::deserialize::FromSqlRow)]
#[graphql(
    name = "DateTime",
    to_output_with = Self::render,
    from_input_with = Self::from_input,
    parse_token(String)
)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    pub const EXPECTED: &'static str =
        "an RFC 3339 timestamp between the years 1900 and 9999, e.g. \"2020-12-01T00:00:00Z\"";

    pub fn now() -> Self {
        Self(Utc::now())
    }

    /// This time plus a duration (saturating at the largest representable time).
    pub fn after(&self, d: std::time::Duration) -> Self {
        let d = chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        Self(self.0.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC))
    }

    /// This time minus a duration (saturating at the smallest representable time).
    pub fn before(&self, d: std::time::Duration) -> Self {
        let d = chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        Self(self.0.checked_sub_signed(d).unwrap_or(DateTime::<Utc>::MIN_UTC))
    }

    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
            .filter(|t| (1900..=9999).contains(&t.year()))
            .map(Self)
            .ok_or_else(|| InvalidId { expected: Self::EXPECTED, found: s.to_owned() })
    }

    /// The calendar day (UTC) of this instant.
    pub fn day(&self) -> PartialDate {
        PartialDate::day(self.0.date_naive())
    }

    /// Whole seconds from `earlier` to this instant.
    pub fn seconds_since(&self, earlier: &Timestamp) -> i64 {
        (self.0 - earlier.0).num_seconds()
    }

    /// The stored form: fixed width, UTC, so it compares as text.
    pub fn to_db(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    fn render(&self) -> String {
        self.to_db()
    }

    fn from_input(s: &str) -> Result<Self, Box<str>> {
        Self::parse(s).map_err(|e| format!("DateTime: {e}").into())
    }
}

/// The stored form (`2020-12`), as the change log writes it.
impl From<PartialDate> for serde_json::Value {
    fn from(d: PartialDate) -> Self {
        serde_json::Value::from(d.to_string())
    }
}

/// The stored form, as the change log writes it.
impl From<Timestamp> for serde_json::Value {
    fn from(t: Timestamp) -> Self {
        serde_json::Value::from(t.to_db())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_dates() {
        let q = PartialDate::parse("2021-Q1").unwrap();
        assert_eq!(q.to_string(), "2021-Q1");
        assert_eq!(q.label(), "1. Quartal 2021");
        assert_eq!(PartialDate::parse("2020-12").unwrap().label(), "Dezember 2020");
        assert_eq!(PartialDate::parse("2020-12-03").unwrap().label(), "3. Dezember 2020");
        assert!(PartialDate::parse("2021-Q5").is_err());
        assert!(PartialDate::parse("2021-13").is_err());
        assert!(PartialDate::parse("2021-02-30").is_err());
        assert!(PartialDate::parse("Anfang 2021").is_err());
        assert!(PartialDate::parse("2021-Q2").unwrap().start() > PartialDate::parse("2021-03").unwrap().start());
        assert_eq!(PartialDate::parse("2020-Q4").unwrap().end().to_string(), "2020-12-31");
        assert_eq!(PartialDate::parse("2024-02").unwrap().end().to_string(), "2024-02-29");
    }

    #[test]
    fn timestamps_sort_as_text() {
        let a = Timestamp::parse("2020-12-01T00:00:00Z").unwrap().to_db();
        let b = Timestamp::parse("2020-12-01T01:00:00+00:00").unwrap().to_db();
        assert!(a < b);
        assert_eq!(a, "2020-12-01T00:00:00.000000Z");
        assert!(Timestamp::parse("9999-12-31T23:59:59-23:59").is_err());
    }
}
