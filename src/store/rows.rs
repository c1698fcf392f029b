//! Rows as stored, with typed values: vocabularies as their enums, dates and timestamps as their
//! types. A stored value that is not valid fails the read (see `super::types`).

use diesel::prelude::*;

use crate::domain::{
    CallId, CallStatus, ChangeAction, ChangeOutcome, ContactId, DefinitionId, DeliveryModel, EditionId, EventId,
    EventKind, FederalPriority, FundingStatus, LifeSituationId, MilestoneId, OrganisationId, OrganisationKind,
    PartialDate, ParticipationId, ParticipationRole, ParticipationStatus, Phase, PlatformId, PlatformKind,
    PlatformUsage, ProjectId, RelationKind, ReuseId, ReuseStatus, StepId, StepStatus, SubscriberStatus, Timestamp,
};

use super::schema::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = lands)]
pub struct LandRow {
    pub code: String,
    pub ags_prefix: String,
    pub short_code: String,
    pub name: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = topic_fields)]
pub struct TopicFieldRow {
    pub slug: String,
    pub name: String,
    pub position: i32,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = topic_field_leads)]
pub struct TopicFieldLeadRow {
    pub id: i32,
    pub topic_field_slug: String,
    pub land_code: Option<String>,
    pub federal_ministry: Option<String>,
    pub source_note: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = life_situations)]
pub struct LifeSituationRow {
    pub id: LifeSituationId,
    pub topic_field_slug: String,
    pub name: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ozg_services)]
pub struct OzgServiceRow {
    pub ozg_id: String,
    pub name: String,
    pub topic_field_slug: String,
    pub life_situation_id: LifeSituationId,
    pub federal_priority: FederalPriority,
    pub priority_note: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = leika_services)]
pub struct LeikaServiceRow {
    pub id: i32,
    pub leika_key: Option<String>,
    pub name: String,
    pub ozg_id: Option<String>,
    pub typisierung: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organisations)]
pub struct OrganisationRow {
    pub id: OrganisationId,
    pub slug: String,
    pub name: String,
    pub short_name: Option<String>,
    pub kind: OrganisationKind,
    pub land_code: Option<String>,
    pub ags: Option<String>,
    pub ars: Option<String>,
    pub district_key: Option<String>,
    pub parent_id: Option<OrganisationId>,
    pub note: Option<String>,
    pub version: i32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The home registry of a replicated record; `None` for records homed here.
    pub origin: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = platforms)]
pub struct PlatformRow {
    pub id: PlatformId,
    pub slug: String,
    pub name: String,
    pub kind: PlatformKind,
    pub operator_id: Option<OrganisationId>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = projects)]
pub struct ProjectRow {
    pub id: ProjectId,
    pub slug: String,
    pub title: String,
    pub summary: Option<String>,
    pub lead_land_code: Option<String>,
    pub delivery_model: DeliveryModel,
    pub phase: Phase,
    pub phase_before_hold: Option<Phase>,
    pub status_note: Option<String>,
    pub version: i32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The home registry of a replicated record; `None` for records homed here.
    pub origin: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = project_services)]
pub struct ProjectServiceRow {
    pub project_id: ProjectId,
    pub ozg_id: String,
    pub position: i32,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = project_platforms)]
pub struct ProjectPlatformRow {
    pub id: i32,
    pub project_id: ProjectId,
    pub platform_id: PlatformId,
    pub usage: PlatformUsage,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = project_fundings)]
pub struct FundingRow {
    pub id: i32,
    pub project_id: ProjectId,
    pub source: String,
    pub instrument: Option<String>,
    pub status: FundingStatus,
    pub funder_id: Option<OrganisationId>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = project_steps)]
pub struct StepRow {
    pub id: StepId,
    pub project_id: ProjectId,
    pub position: i32,
    pub title: String,
    pub description: Option<String>,
    pub status: StepStatus,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = milestones)]
pub struct MilestoneRow {
    pub id: MilestoneId,
    pub project_id: ProjectId,
    pub title: String,
    pub phase: Option<Phase>,
    pub planned: Option<PartialDate>,
    pub actual: Option<PartialDate>,
    pub note: Option<String>,
    pub version: i32,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = project_relations)]
pub struct RelationRow {
    pub id: i32,
    pub from_project_id: ProjectId,
    pub to_project_id: ProjectId,
    pub kind: RelationKind,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = participations)]
pub struct ParticipationRow {
    pub id: ParticipationId,
    pub project_id: ProjectId,
    pub organisation_id: OrganisationId,
    pub role: ParticipationRole,
    pub status: ParticipationStatus,
    pub since: Option<PartialDate>,
    pub until: Option<PartialDate>,
    pub note: Option<String>,
    pub version: i32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The home registry of a replicated record; `None` for records homed here.
    pub origin: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = calls)]
pub struct CallRow {
    pub id: CallId,
    pub project_id: ProjectId,
    pub issuer_id: OrganisationId,
    pub title: String,
    pub body: String,
    pub invites_reuse: bool,
    pub opened_on: PartialDate,
    pub closes_on: Option<PartialDate>,
    pub status: CallStatus,
    pub version: i32,
    /// The home registry of a replicated record; `None` for records homed here.
    pub origin: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = call_roles)]
pub struct CallRoleRow {
    pub call_id: CallId,
    pub role: ParticipationRole,
    pub organisation_kind: Option<OrganisationKind>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reuse_declarations)]
pub struct ReuseRow {
    pub id: ReuseId,
    pub project_id: ProjectId,
    pub organisation_id: OrganisationId,
    pub status: ReuseStatus,
    pub declared_on: Option<PartialDate>,
    pub planned_live: Option<PartialDate>,
    pub actual_live: Option<PartialDate>,
    pub note: Option<String>,
    pub version: i32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The home registry of a replicated record; `None` for records homed here.
    pub origin: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub id: EventId,
    pub slug: String,
    pub title: String,
    pub kind: EventKind,
    pub held_on: PartialDate,
    pub location_id: Option<OrganisationId>,
    pub organiser_id: Option<OrganisationId>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = event_projects)]
pub struct EventProjectRow {
    pub event_id: EventId,
    pub project_id: ProjectId,
    pub outcome: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = change_log)]
pub struct ChangeRow {
    pub id: i64,
    pub at: Timestamp,
    pub actor: String,
    pub actor_role: String,
    pub actor_organisation_id: Option<OrganisationId>,
    pub actor_issuer: Option<String>,
    pub action: ChangeAction,
    pub outcome: ChangeOutcome,
    pub entity_type: String,
    pub entity_id: String,
    pub project_id: Option<ProjectId>,
    pub summary: String,
    pub changes: String,
    pub personal: bool,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    pub kid: String,
    pub alg: String,
    pub private_key: String,
    pub public_key: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = issuers)]
pub struct IssuerRow {
    pub id: i32,
    pub issuer: String,
    pub jwks_url: String,
    pub audience: String,
    pub algorithms: String,
    pub role_claim: String,
    pub organisation_claim: String,
    pub scope_claim: Option<String>,
    pub created_at: String,
    /// The client id this registry signs people in with (OpenID Connect); `None`: API tokens only.
    pub web_client_id: Option<String>,
    pub web_client_secret: Option<String>,
    /// The name on the sign-in button, e.g. "Servicekonto NRW".
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = contacts)]
pub struct ContactRow {
    pub id: ContactId,
    pub organisation_id: Option<OrganisationId>,
    pub project_id: Option<ProjectId>,
    pub name: String,
    pub function: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = newsletter_definitions)]
pub struct DefinitionRow {
    pub id: DefinitionId,
    pub slug: String,
    pub title: String,
    pub topic_field_slug: String,
    pub audience: String,
    pub created_at: Timestamp,
    pub version: i32,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = newsletter_editions)]
pub struct EditionRow {
    pub id: EditionId,
    pub definition_id: DefinitionId,
    pub number: i32,
    pub published_at: Timestamp,
    pub since: Option<Timestamp>,
    pub idempotency_key: String,
    pub issue: String,
    pub body_html: String,
    pub body_markdown: String,
    pub body_text: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = newsletter_subscribers)]
pub struct SubscriberRow {
    pub id: i32,
    pub definition_id: DefinitionId,
    pub email: String,
    pub status: SubscriberStatus,
    pub confirm_token: String,
    pub unsubscribe_token: String,
    pub created_at: Timestamp,
    pub confirmed_at: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sign_in_links)]
pub struct SignInLinkRow {
    pub id: String,
    pub subject: String,
    pub role: String,
    pub organisation_id: Option<OrganisationId>,
    pub scope: String,
    pub created_at: String,
    pub expires_at: String,
    pub used_at: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = web_sessions)]
pub struct WebSessionRow {
    pub id: String,
    pub csrf: String,
    pub subject: String,
    pub role: String,
    pub organisation_id: Option<OrganisationId>,
    pub scope: String,
    pub issuer: String,
    pub created_at: String,
    pub expires_at: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = oidc_logins)]
pub struct OidcLoginRow {
    pub id: String,
    pub issuer: String,
    pub verifier: String,
    pub nonce: String,
    pub created_at: String,
    pub expires_at: String,
}
