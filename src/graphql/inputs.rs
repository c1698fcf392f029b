//! The GraphQL input objects of the mutations. Each converts into the service's plain input
//! (`TryFrom`), where record ids are parsed into their typed ids and an organisation reference
//! into an [`OrgKey`]; the service layer knows nothing of GraphQL.

use juniper::{GraphQLInputObject, ID};

use crate::domain::{
    Ags, Ars, DeliveryModel, DistrictKey, OrganisationId, OrganisationKind, OzgId, PartialDate, ParticipationRole,
    Phase, RecordId, ReuseStatus, StepStatus,
};
use crate::error::{AppError, AppResult};
use crate::service::{self, OrgKey};

/// Names an organisation by exactly one of its id, AGS or slug.
#[derive(Debug, Clone, Default, GraphQLInputObject)]
pub struct OrganisationRef {
    pub id: Option<ID>,
    pub ags: Option<Ags>,
    pub slug: Option<String>,
}

/// A record id as the API writes it (a positive number), as the typed id of its kind.
pub fn record_id<I: RecordId>(id: &ID, field: &str) -> AppResult<I> {
    service::parse_id(id, field).map(I::from)
}

/// The organisation a reference names; exactly one of id, AGS and slug must be given.
pub fn org_key(r: OrganisationRef, field: &str) -> AppResult<OrgKey> {
    match (r.id, r.ags, r.slug) {
        (Some(id), None, None) => Ok(OrgKey::Id(record_id::<OrganisationId>(&id, &format!("{field}.id"))?)),
        (None, Some(ags), None) => Ok(OrgKey::Ags(ags)),
        (None, None, Some(slug)) => Ok(OrgKey::Slug(slug)),
        _ => Err(AppError::bad_input(field, format!("{field}: give exactly one of id, ags or slug"))),
    }
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

impl TryFrom<CreateProjectInput> for service::CreateProjectInput {
    type Error = AppError;
    fn try_from(i: CreateProjectInput) -> AppResult<Self> {
        Ok(Self {
            slug: i.slug,
            title: i.title,
            summary: i.summary,
            lead_land: i.lead_land,
            delivery_model: i.delivery_model,
            phase: i.phase,
            ozg_ids: i.ozg_ids,
            status_note: i.status_note,
        })
    }
}

impl TryFrom<UpdateProjectInput> for service::UpdateProjectInput {
    type Error = AppError;
    fn try_from(i: UpdateProjectInput) -> AppResult<Self> {
        Ok(Self {
            slug: i.slug,
            expected_version: i.expected_version,
            title: i.title,
            summary: i.summary,
            lead_land: i.lead_land,
            delivery_model: i.delivery_model,
            status_note: i.status_note,
            ozg_ids: i.ozg_ids,
        })
    }
}

impl TryFrom<ChangePhaseInput> for service::ChangePhaseInput {
    type Error = AppError;
    fn try_from(i: ChangePhaseInput) -> AppResult<Self> {
        Ok(Self {
            slug: i.slug,
            expected_version: i.expected_version,
            phase: i.phase,
            merged_into: i.merged_into,
            status_note: i.status_note,
        })
    }
}

impl TryFrom<AddMilestoneInput> for service::AddMilestoneInput {
    type Error = AppError;
    fn try_from(i: AddMilestoneInput) -> AppResult<Self> {
        Ok(Self {
            project_slug: i.project_slug,
            title: i.title,
            phase: i.phase,
            planned: i.planned,
            actual: i.actual,
            note: i.note,
        })
    }
}

impl TryFrom<AddStepInput> for service::AddStepInput {
    type Error = AppError;
    fn try_from(i: AddStepInput) -> AppResult<Self> {
        Ok(Self { project_slug: i.project_slug, title: i.title, description: i.description, status: i.status })
    }
}

impl TryFrom<SetStepStatusInput> for service::SetStepStatusInput {
    type Error = AppError;
    fn try_from(i: SetStepStatusInput) -> AppResult<Self> {
        Ok(Self { id: record_id(&i.id, "id")?, status: i.status })
    }
}

impl TryFrom<CompleteMilestoneInput> for service::CompleteMilestoneInput {
    type Error = AppError;
    fn try_from(i: CompleteMilestoneInput) -> AppResult<Self> {
        Ok(Self { id: record_id(&i.id, "id")?, expected_version: i.expected_version, actual: i.actual, note: i.note })
    }
}

impl TryFrom<AddParticipationInput> for service::AddParticipationInput {
    type Error = AppError;
    fn try_from(i: AddParticipationInput) -> AppResult<Self> {
        Ok(Self {
            project_slug: i.project_slug,
            organisation: org_key(i.organisation, "organisation")?,
            role: i.role,
            confirmed: i.confirmed,
            since: i.since,
            note: i.note,
        })
    }
}

impl TryFrom<SignUpInput> for service::SignUpInput {
    type Error = AppError;
    fn try_from(i: SignUpInput) -> AppResult<Self> {
        Ok(Self {
            project_slug: i.project_slug,
            organisation: org_key(i.organisation, "organisation")?,
            role: i.role,
            note: i.note,
        })
    }
}

impl TryFrom<ParticipationStatusInput> for service::ParticipationStatusInput {
    type Error = AppError;
    fn try_from(i: ParticipationStatusInput) -> AppResult<Self> {
        Ok(Self { id: record_id(&i.id, "id")?, expected_version: i.expected_version, note: i.note })
    }
}

impl TryFrom<OpenCallInput> for service::OpenCallInput {
    type Error = AppError;
    fn try_from(i: OpenCallInput) -> AppResult<Self> {
        Ok(Self {
            project_slug: i.project_slug,
            issuer: org_key(i.issuer, "issuer")?,
            title: i.title,
            body: i.body,
            roles_sought: i.roles_sought,
            invites_reuse: i.invites_reuse,
            opened_on: i.opened_on,
            closes_on: i.closes_on,
        })
    }
}

impl TryFrom<CloseCallInput> for service::CloseCallInput {
    type Error = AppError;
    fn try_from(i: CloseCallInput) -> AppResult<Self> {
        Ok(Self { id: record_id(&i.id, "id")?, expected_version: i.expected_version })
    }
}

impl TryFrom<DeclareReuseInput> for service::DeclareReuseInput {
    type Error = AppError;
    fn try_from(i: DeclareReuseInput) -> AppResult<Self> {
        Ok(Self {
            project_slug: i.project_slug,
            organisation: org_key(i.organisation, "organisation")?,
            planned_live: i.planned_live,
            note: i.note,
        })
    }
}

impl TryFrom<AdvanceReuseInput> for service::AdvanceReuseInput {
    type Error = AppError;
    fn try_from(i: AdvanceReuseInput) -> AppResult<Self> {
        Ok(Self {
            id: record_id(&i.id, "id")?,
            expected_version: i.expected_version,
            status: i.status,
            planned_live: i.planned_live,
            actual_live: i.actual_live,
            note: i.note,
        })
    }
}

impl TryFrom<WithdrawReuseInput> for service::WithdrawReuseInput {
    type Error = AppError;
    fn try_from(i: WithdrawReuseInput) -> AppResult<Self> {
        Ok(Self { id: record_id(&i.id, "id")?, expected_version: i.expected_version, note: i.note })
    }
}

impl TryFrom<AddContactInput> for service::AddContactInput {
    type Error = AppError;
    fn try_from(i: AddContactInput) -> AppResult<Self> {
        Ok(Self {
            organisation: i.organisation.map(|r| org_key(r, "organisation")).transpose()?,
            project_slug: i.project_slug,
            name: i.name,
            function: i.function,
            email: i.email,
            phone: i.phone,
        })
    }
}

impl TryFrom<CreateOrganisationInput> for service::CreateOrganisationInput {
    type Error = AppError;
    fn try_from(i: CreateOrganisationInput) -> AppResult<Self> {
        Ok(Self {
            slug: i.slug,
            name: i.name,
            short_name: i.short_name,
            kind: i.kind,
            land: i.land,
            ags: i.ags,
            ars: i.ars,
            district_key: i.district_key,
            parent: i.parent.map(|r| org_key(r, "parent")).transpose()?,
            note: i.note,
        })
    }
}

impl TryFrom<SaveNewsletterDefinitionInput> for service::SaveNewsletterDefinitionInput {
    type Error = AppError;
    fn try_from(i: SaveNewsletterDefinitionInput) -> AppResult<Self> {
        Ok(Self { slug: i.slug, title: i.title, topic_field: i.topic_field, audience: i.audience })
    }
}

impl TryFrom<PublishEditionInput> for service::PublishEditionInput {
    type Error = AppError;
    fn try_from(i: PublishEditionInput) -> AppResult<Self> {
        Ok(Self { definition: i.definition, idempotency_key: i.idempotency_key })
    }
}

impl TryFrom<SubscribeInput> for service::SubscribeInput {
    type Error = AppError;
    fn try_from(i: SubscribeInput) -> AppResult<Self> {
        Ok(Self { definition: i.definition, email: i.email })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CallId;
    use crate::error::ErrorCode;

    fn code_and_field(e: AppError) -> (ErrorCode, Option<String>) {
        match e {
            AppError::User { code, field, .. } => (code, field),
            AppError::Internal(d) => panic!("internal: {d}"),
        }
    }

    #[test]
    fn an_organisation_is_named_by_exactly_one_key() {
        let slug = OrganisationRef { slug: Some("stadt-koeln".into()), ..Default::default() };
        assert_eq!(org_key(slug, "organisation").unwrap(), OrgKey::Slug("stadt-koeln".into()));
        let id = OrganisationRef { id: Some(ID::new("7")), ..Default::default() };
        assert_eq!(org_key(id, "issuer").unwrap(), OrgKey::Id(OrganisationId::from(7)));
        let two = OrganisationRef { id: Some(ID::new("7")), slug: Some("x".into()), ..Default::default() };
        assert_eq!(
            code_and_field(org_key(two, "issuer").unwrap_err()),
            (ErrorCode::BadUserInput, Some("issuer".into()))
        );
        let none = OrganisationRef::default();
        assert_eq!(
            code_and_field(org_key(none, "parent").unwrap_err()),
            (ErrorCode::BadUserInput, Some("parent".into()))
        );
        let bad = OrganisationRef { id: Some(ID::new("7a")), ..Default::default() };
        assert_eq!(
            code_and_field(org_key(bad, "organisation").unwrap_err()),
            (ErrorCode::BadUserInput, Some("organisation.id".into()))
        );
    }

    #[test]
    fn record_ids_are_positive_numbers_of_their_kind() {
        assert_eq!(record_id::<CallId>(&ID::new(" 12 "), "id").unwrap(), CallId::from(12));
        for bad in ["0", "-3", "x", "", "99999999999"] {
            assert_eq!(
                code_and_field(record_id::<CallId>(&ID::new(bad), "id").unwrap_err()).0,
                ErrorCode::BadUserInput
            );
        }
    }

    #[test]
    fn an_input_converts_with_its_ids_typed() {
        let input = CloseCallInput { id: ID::new("5"), expected_version: 2 };
        let plain = service::CloseCallInput::try_from(input).unwrap();
        assert_eq!((plain.id, plain.expected_version), (CallId::from(5), 2));
        let input = CloseCallInput { id: ID::new("five"), expected_version: 2 };
        assert!(service::CloseCallInput::try_from(input).is_err());
    }
}
