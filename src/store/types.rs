//! How domain values are stored: vocabularies as their text codes, timestamps as fixed-width
//! RFC 3339 text, ids as integers. A stored value that is not valid is an error when it is read,
//! so rows only ever hold valid values.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

use super::MultiBackend;
use crate::domain::*;

macro_rules! stored_as_code {
    ($($t:ty),* $(,)?) => {$(
        impl FromSql<Text, MultiBackend> for $t {
            fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                let code = <String as FromSql<Text, MultiBackend>>::from_sql(bytes)?;
                <$t as Vocabulary>::parse(&code).map_err(|e| format!("stored value: {e}").into())
            }
        }

        impl ToSql<Text, MultiBackend> for $t {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
                <str as ToSql<Text, MultiBackend>>::to_sql(self.code(), out)
            }
        }
    )*};
}

stored_as_code!(
    Phase,
    DeliveryModel,
    OrganisationKind,
    ParticipationRole,
    ParticipationStatus,
    ReuseStatus,
    CallStatus,
    PlatformKind,
    PlatformUsage,
    FundingStatus,
    StepStatus,
    RelationKind,
    EventKind,
    FederalPriority,
    ChangeAction,
    PeerErrorCode,
);

impl FromSql<Text, MultiBackend> for Timestamp {
    fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, MultiBackend>>::from_sql(bytes)?;
        Timestamp::parse(&text).map_err(|e| format!("stored timestamp: {e}").into())
    }
}

impl FromSql<Text, MultiBackend> for PartialDate {
    fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, MultiBackend>>::from_sql(bytes)?;
        PartialDate::parse(&text).map_err(|e| format!("stored date: {e}").into())
    }
}
