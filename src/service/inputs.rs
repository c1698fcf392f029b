//! Inputs of the write operations. They are GraphQL input objects too, so malformed identifiers and
//! unknown enum values are refused by GraphQL validation before any rule runs.

use juniper::{GraphQLInputObject, ID};

use crate::domain::{
    Ags, Ars, DeliveryModel, DistrictKey, OrganisationKind, OzgId, PartialDate, ParticipationRole, Phase, ReuseStatus,
    StepStatus,
};

/// Names an organisation by exactly one of its id, AGS or slug.
#[derive(Debug, Clone, Default, GraphQLInputObject)]
pub struct OrganisationRef {
    pub id: Option<ID>,
    pub ags: Option<Ags>,
    pub slug: Option<String>,
}

#[derive(Debug, Clone, GraphQLInputObject)]
pub struct CreateProjectInput {
    /// 2–80 characters of a-z, 0-9 and '-'.
    pub slug: String,
    pub title: String,
    pub summary: Option<String>,
    /// ISO 3166-2 code of the leading Land, e.g. "DE-NW".
    pub lead_land: Option<String>,
    pub delivery_model: DeliveryModel,
    /// Defaults to PREPARATION.
    pub phase: Option<Phase>,
    /// The OZG-Leistungen the project implements (at least one).
    pub ozg_ids: Vec<OzgId>,
    pub status_note: Option<String>,
}

#[derive(Debug, Clone, GraphQLInputObject)]
pub struct UpdateProjectInput {
    pub slug: String,
    pub expected_version: i32,
    pub title: Option<String>,
    /// An empty string clears the summary.
    pub summary: Option<String>,
    /// An empty string clears the lead Land.
    pub lead_land: Option<String>,
    pub delivery_model: Option<DeliveryModel>,
    /// An empty string clears the status note.
    pub status_note: Option<String>,
    /// Replaces the list of OZG-Leistungen.
    pub ozg_ids: Option<Vec<OzgId>>,
}

#[derive(Debug, Clone, GraphQLInputObject)]
pub struct ChangePhaseInput {
    pub slug: String,
    pub expected_version: i32,
    pub phase: Phase,
    /// Required when the phase is MERGED: the project this one is merged into.
    pub merged_into: Option<String>,
    /// Replaces the status note when given.
    pub status_note: Option<String>,
}

#[derive(Debug, Clone, GraphQLInputObject)]
pub struct AddMilestoneInput {
    pub project_slug: String,
    pub title: String,
    pub phase: Option<Phase>,
    pub planned: Option<PartialDate>,
    pub actual: Option<PartialDate>,
    pub note: Option<String>,
}

/// A step of a project's plan ("Schritt 3: Anbindung an das Fachverfahren"), appended at the end.
#[derive(Debug, Clone, GraphQLInputObject)]
pub struct AddStepInput {
    pub project_slug: String,
    pub title: String,
    pub description: Option<String>,
    /// Defaults to PLANNED.
    pub status: Option<StepStatus>,
}

#[derive(Debug, Clone, GraphQLInputObject)]
pub struct SetStepStatusInput {
    pub id: ID,
    pub status: StepStatus,
}

#[derive(Debug, Clone, GraphQLInputObject)]
pub struct CompleteMilestoneInput {
    pub id: ID,
    pub expected_version: i32,
    /// When it was reached; defaults to today.
    pub actual: Option<PartialDate>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, GraphQLInputObject)]
pub struct AddParticipationInput {
    pub project_slug: String,
    pub organisation: OrganisationRef,
    pub role: ParticipationRole,
    /// Defaults to CONFIRMED (a coordinator records an agreed participation).
    pub confirmed: Option<bool>,
    pub since: Option<PartialDate>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, GraphQLInputObject)]
pub struct SignUpInput {
    pub project_slug: String,
    /// The Kommune (or its office) signing itself up.
    pub organisation: OrganisationRef,
    /// PILOT, CORE_TEAM or EXTENDED_TEAM.
    pub role: ParticipationRole,
    pub note: Option<String>,
}

#[derive(Debug, Clone, GraphQLInputObject)]
pub struct ParticipationStatusInput {
    pub id: ID,
    pub expected_version: i32,
    pub note: Option<String>,
}

#[derive(Debug, Clone, GraphQLInputObject)]
pub struct OpenCallInput {
    pub project_slug: String,
    pub issuer: OrganisationRef,
    pub title: String,
    pub body: String,
    pub roles_sought: Vec<ParticipationRole>,
    /// Whether the call also invites declarations of reuse (Nachnutzung).
    pub invites_reuse: Option<bool>,
    /// Defaults to today.
    pub opened_on: Option<PartialDate>,
    pub closes_on: Option<PartialDate>,
}

#[derive(Debug, Clone, GraphQLInputObject)]
pub struct CloseCallInput {
    pub id: ID,
    pub expected_version: i32,
}

#[derive(Debug, Clone, GraphQLInputObject)]
pub struct DeclareReuseInput {
    pub project_slug: String,
    pub organisation: OrganisationRef,
    pub planned_live: Option<PartialDate>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, GraphQLInputObject)]
pub struct AdvanceReuseInput {
    pub id: ID,
    pub expected_version: i32,
    pub status: ReuseStatus,
    pub planned_live: Option<PartialDate>,
    /// When the solution went live; with status LIVE, defaults to today.
    pub actual_live: Option<PartialDate>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, GraphQLInputObject)]
pub struct WithdrawReuseInput {
    pub id: ID,
    pub expected_version: i32,
    pub note: Option<String>,
}

/// A contact person of an organisation or a project (personal data: visible to signed-in users only).
#[derive(Debug, Clone, GraphQLInputObject)]
pub struct AddContactInput {
    /// Exactly one of organisation and projectSlug.
    pub organisation: Option<OrganisationRef>,
    pub project_slug: Option<String>,
    pub name: String,
    /// E.g. "Projektleitung", "Themenfeld-Koordination".
    pub function: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// Admins: register an organisation (a Kommune, an office, an IT service provider, …).
#[derive(Debug, Clone, GraphQLInputObject)]
pub struct CreateOrganisationInput {
    pub slug: String,
    pub name: String,
    pub short_name: Option<String>,
    pub kind: OrganisationKind,
    /// ISO 3166-2 code of its Land, e.g. "DE-NW"; required with an AGS, ARS or Kreisschlüssel.
    pub land: Option<String>,
    pub ags: Option<Ags>,
    pub ars: Option<Ars>,
    pub district_key: Option<DistrictKey>,
    /// The organisation it belongs to (an office's city, a municipality's Kreis).
    pub parent: Option<OrganisationRef>,
    pub note: Option<String>,
}

/// A newsletter: which topic field, for whom.
#[derive(Debug, Clone, GraphQLInputObject)]
pub struct SaveNewsletterDefinitionInput {
    pub slug: String,
    pub title: String,
    /// Topic field slug, e.g. "ein_auswanderung".
    pub topic_field: String,
    /// Who it is for, e.g. "Kommunen und IT-Dienstleister in NRW".
    pub audience: String,
}

#[derive(Debug, Clone, GraphQLInputObject)]
pub struct PublishEditionInput {
    /// The newsletter definition's slug.
    pub definition: String,
    /// The same key publishes once: a repeated request returns the edition it created.
    pub idempotency_key: String,
}

#[derive(Debug, Clone, GraphQLInputObject)]
pub struct SubscribeInput {
    pub definition: String,
    pub email: String,
}
