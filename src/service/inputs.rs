//! Inputs of the write operations, as plain values: every transport (GraphQL, the pages, the CLI)
//! parses its own form of them into these, ids already typed.

use crate::domain::{
    Ags, Ars, CallId, DeliveryModel, DistrictKey, MilestoneId, OrganisationId, OrganisationKind, OzgId, PartialDate,
    ParticipationId, ParticipationRole, Phase, ReuseId, ReuseStatus, StepId, StepStatus,
};

/// An organisation, named by one of its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgKey {
    Id(OrganisationId),
    Ags(Ags),
    Slug(String),
}

impl std::fmt::Display for OrgKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrgKey::Id(id) => write!(f, "with id {id}"),
            OrgKey::Ags(a) => write!(f, "with AGS {a}"),
            OrgKey::Slug(s) => write!(f, "with slug {s:?}"),
        }
    }
}

#[derive(Debug, Clone)]
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

#[derive(Debug, Clone)]
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

#[derive(Debug, Clone)]
pub struct ChangePhaseInput {
    pub slug: String,
    pub expected_version: i32,
    pub phase: Phase,
    /// Required when the phase is MERGED: the project this one is merged into.
    pub merged_into: Option<String>,
    /// Replaces the status note when given.
    pub status_note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AddMilestoneInput {
    pub project_slug: String,
    pub title: String,
    pub phase: Option<Phase>,
    pub planned: Option<PartialDate>,
    pub actual: Option<PartialDate>,
    pub note: Option<String>,
}

/// A step of a project's plan ("Schritt 3: Anbindung an das Fachverfahren"), appended at the end.
#[derive(Debug, Clone)]
pub struct AddStepInput {
    pub project_slug: String,
    pub title: String,
    pub description: Option<String>,
    /// Defaults to PLANNED.
    pub status: Option<StepStatus>,
}

#[derive(Debug, Clone)]
pub struct SetStepStatusInput {
    pub id: StepId,
    pub status: StepStatus,
}

#[derive(Debug, Clone)]
pub struct CompleteMilestoneInput {
    pub id: MilestoneId,
    pub expected_version: i32,
    /// When it was reached; defaults to today.
    pub actual: Option<PartialDate>,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AddParticipationInput {
    pub project_slug: String,
    pub organisation: OrgKey,
    pub role: ParticipationRole,
    /// Defaults to CONFIRMED (a coordinator records an agreed participation).
    pub confirmed: Option<bool>,
    pub since: Option<PartialDate>,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SignUpInput {
    pub project_slug: String,
    /// The Kommune (or its office) signing itself up.
    pub organisation: OrgKey,
    /// PILOT, CORE_TEAM or EXTENDED_TEAM.
    pub role: ParticipationRole,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ParticipationStatusInput {
    pub id: ParticipationId,
    pub expected_version: i32,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct OpenCallInput {
    pub project_slug: String,
    pub issuer: OrgKey,
    pub title: String,
    pub body: String,
    pub roles_sought: Vec<ParticipationRole>,
    /// Whether the call also invites declarations of reuse (Nachnutzung).
    pub invites_reuse: Option<bool>,
    /// Defaults to today.
    pub opened_on: Option<PartialDate>,
    pub closes_on: Option<PartialDate>,
}

#[derive(Debug, Clone)]
pub struct CloseCallInput {
    pub id: CallId,
    pub expected_version: i32,
}

#[derive(Debug, Clone)]
pub struct DeclareReuseInput {
    pub project_slug: String,
    pub organisation: OrgKey,
    pub planned_live: Option<PartialDate>,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AdvanceReuseInput {
    pub id: ReuseId,
    pub expected_version: i32,
    pub status: ReuseStatus,
    pub planned_live: Option<PartialDate>,
    /// When the solution went live; with status LIVE, defaults to today.
    pub actual_live: Option<PartialDate>,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct WithdrawReuseInput {
    pub id: ReuseId,
    pub expected_version: i32,
    pub note: Option<String>,
}

/// A contact person of an organisation or a project (personal data: visible to signed-in users only).
#[derive(Debug, Clone)]
pub struct AddContactInput {
    /// Exactly one of organisation and projectSlug.
    pub organisation: Option<OrgKey>,
    pub project_slug: Option<String>,
    pub name: String,
    /// E.g. "Projektleitung", "Themenfeld-Koordination".
    pub function: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// Admins: register an organisation (a Kommune, an office, an IT service provider, …).
#[derive(Debug, Clone)]
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
    pub parent: Option<OrgKey>,
    pub note: Option<String>,
}

/// A newsletter: which topic field, for whom.
#[derive(Debug, Clone)]
pub struct SaveNewsletterDefinitionInput {
    pub slug: String,
    pub title: String,
    /// Topic field slug, e.g. "ein_auswanderung".
    pub topic_field: String,
    /// Who it is for, e.g. "Kommunen und IT-Dienstleister in NRW".
    pub audience: String,
}

#[derive(Debug, Clone)]
pub struct PublishEditionInput {
    /// The newsletter definition's slug.
    pub definition: String,
    /// The same key publishes once: a repeated request returns the edition it created.
    pub idempotency_key: String,
}

#[derive(Debug, Clone)]
pub struct SubscribeInput {
    pub definition: String,
    pub email: String,
}
