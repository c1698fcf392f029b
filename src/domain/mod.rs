//! Domain types: identifiers that can only hold valid values, vocabularies with German labels and
//! the allowed transitions of each lifecycle.

mod dates;
mod ids;
mod vocab;

pub use dates::{PartialDate, Timestamp};
pub use ids::{
    Ags, Ars, CallId, ContactId, DefinitionId, DistrictKey, EditionId, EventId, InvalidId, LeikaKey, LifeSituationId,
    MilestoneId, OrganisationId, OzgId, ParticipationId, PlatformId, ProjectId, RecordId, ReuseId, Slug, StepId,
    raw_ids,
};
pub use vocab::*;
