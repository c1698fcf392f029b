//! How domain values are stored: vocabularies as their text codes, timestamps as fixed-width
//! RFC 3339 text, ids as integers. A stored value that is not valid is an error when it is read,
//! so rows only ever hold valid values.

use diesel::Selectable;
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::{Integer, Text};

use super::MultiBackend;
use crate::domain::*;

macro_rules! stored_as_code {
    ($($t:ty),* $(,)?) => {$(
        impl<DB: Backend> FromSql<Text, DB> for $t
        where
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let code = <String as FromSql<Text, DB>>::from_sql(bytes)?;
                <$t as Vocabulary>::parse(&code).map_err(|e| format!("stored value: {e}").into())
            }
        }

        impl<DB: Backend> ToSql<Text, DB> for $t
        where
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                <str as ToSql<Text, DB>>::to_sql(self.code(), out)
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
    ChangeOutcome,
    SubscriberStatus,
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

/// The columns of a row type, in its field order: what an insert or update returns
/// (`.returning(columns::<ProjectRow>())`) so that the written row need not be read again.
pub fn columns<R: Selectable<MultiBackend>>() -> R::SelectExpression {
    R::construct_selection()
}

macro_rules! stored_as_integer {
    ($($t:ty),* $(,)?) => {$(
        impl<DB: Backend> FromSql<Integer, DB> for $t
        where
            i32: FromSql<Integer, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                <i32 as FromSql<Integer, DB>>::from_sql(bytes).map(<$t>::from)
            }
        }

        impl<DB: Backend> ToSql<Integer, DB> for $t
        where
            i32: ToSql<Integer, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                // The id is a field of `self`, so the borrow lives as long as the output.
                <i32 as ToSql<Integer, DB>>::to_sql(self.as_ref(), out)
            }
        }
    )*};
}

stored_as_integer!(
    ProjectId,
    OrganisationId,
    ParticipationId,
    CallId,
    ReuseId,
    MilestoneId,
    StepId,
    ContactId,
    EventId,
    PlatformId,
    DefinitionId,
    EditionId,
    LifeSituationId,
);
