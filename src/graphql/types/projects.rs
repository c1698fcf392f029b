//! Implementation projects with their services, platforms, fundings, steps, milestones and relations.

use std::sync::Arc;

use juniper::{FieldResult, ID, graphql_object};

use super::super::context::{Ctx, Lk};
use super::super::errors::internal_error;
use super::*;
use crate::store::read;

/// An implementation project (Umsetzungsprojekt).
pub struct Project(pub Arc<ProjectRow>);

impl Project {
    fn phase_value(&self) -> FieldResult<Phase> {
        Ok(self.0.phase)
    }
}

#[graphql_object(context = Ctx)]
impl Project {
    fn id(&self) -> ID {
        ID::new(self.0.id.to_string())
    }
    /// The registry instance this record is homed at; it can be changed only there.
    fn origin(&self, context: &Ctx) -> FieldResult<String> {
        context.origin(&self.0.origin)
    }
    /// Whether this record is homed at this registry (else it is a read-only replica).
    fn homed_here(&self) -> bool {
        self.0.origin.is_none()
    }
    fn slug(&self) -> &str {
        &self.0.slug
    }
    fn title(&self) -> &str {
        &self.0.title
    }
    fn summary(&self) -> Option<&str> {
        self.0.summary.as_deref()
    }
    /// The Land with the Federführung.
    fn lead_land(&self, context: &Ctx) -> FieldResult<Option<Land>> {
        context.land(&self.0.lead_land_code)
    }
    fn delivery_model(&self) -> FieldResult<DeliveryModel> {
        Ok(self.0.delivery_model)
    }
    fn delivery_model_label(&self) -> FieldResult<&'static str> {
        Ok(self.0.delivery_model.label())
    }
    fn phase(&self) -> FieldResult<Phase> {
        self.phase_value()
    }
    fn phase_label(&self) -> FieldResult<&'static str> {
        self.phase_value().map(|p| p.label())
    }
    /// The phases `changeProjectPhase` accepts next.
    fn allowed_next_phases(&self) -> FieldResult<Vec<Phase>> {
        let resume = self.0.phase_before_hold;
        Ok(self.phase_value()?.allowed_next(resume))
    }
    fn status_note(&self) -> Option<&str> {
        self.0.status_note.as_deref()
    }
    /// The OZG-Leistungen this project implements, in order.
    fn services(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<ProjectService>> {
        let rows = context.l.project_services.many_first(
            context,
            &self.0.id,
            &context.keys.projects,
            read::project_services_by_projects,
            |r| r.project_id,
            n(first),
        )?;
        context.keys.services.lk().extend(rows.iter().map(|r| r.ozg_id.clone()));
        Ok(rows.into_iter().map(ProjectService).collect())
    }
    /// Portals, transport, standards, form technology and methods the project uses.
    fn platforms(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<PlatformUse>> {
        let rows = context.l.project_platforms.many_first(
            context,
            &self.0.id,
            &context.keys.projects,
            read::project_platforms_by_projects,
            |r| r.project_id,
            n(first),
        )?;
        context.keys.platforms.lk().extend(rows.iter().map(|r| r.platform_id));
        Ok(rows.into_iter().map(PlatformUse).collect())
    }
    fn fundings(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<Funding>> {
        let rows = context.l.fundings.many_first(
            context,
            &self.0.id,
            &context.keys.projects,
            read::fundings_by_projects,
            |r| r.project_id,
            n(first),
        )?;
        context.keys.orgs.lk().extend(rows.iter().filter_map(|r| r.funder_id));
        Ok(rows.into_iter().map(Funding).collect())
    }
    /// Ordered steps (Schritt 1, Schritt 2, …).
    fn steps(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<Step>> {
        let rows = context.l.steps.many_first(
            context,
            &self.0.id,
            &context.keys.projects,
            read::steps_by_projects,
            |r| r.project_id,
            n(first),
        )?;
        Ok(rows.into_iter().map(Step).collect())
    }
    fn milestones(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<Milestone>> {
        let mut rows = context.l.milestones.uncounted(
            context,
            &self.0.id,
            &context.keys.projects,
            read::milestones_by_projects,
            |r| r.project_id,
            usize::MAX,
        )?;
        rows.sort_by_key(|m| (m.actual.or(m.planned).map(|d| d.start()), m.id));
        Ok(context.take(rows, first).into_iter().map(Milestone).collect())
    }
    /// Relations from this project to others (merged into, builds on, reuses).
    fn relations(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<ProjectRelation>> {
        let rows = context.l.relations_from.many_first(
            context,
            &self.0.id,
            &context.keys.projects,
            read::relations_by_projects,
            |r| r.from_project_id,
            n(first),
        )?;
        context.keys.projects.lk().extend(rows.iter().map(|r| r.to_project_id));
        Ok(rows.into_iter().map(|r| ProjectRelation { other: r.to_project_id, row: r }).collect())
    }
    /// Relations from other projects to this one (e.g. projects merged into it or reusing it).
    fn related_from(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<ProjectRelation>> {
        let rows = context.l.relations_to.many_first(
            context,
            &self.0.id,
            &context.keys.projects,
            read::relations_by_projects,
            |r| r.to_project_id,
            n(first),
        )?;
        context.keys.projects.lk().extend(rows.iter().map(|r| r.from_project_id));
        Ok(rows.into_iter().map(|r| ProjectRelation { other: r.from_project_id, row: r }).collect())
    }
    /// Participating organisations; filter by role and status.
    fn participations(
        &self,
        context: &Ctx,
        role: Option<Vec<ParticipationRole>>,
        status: Option<Vec<ParticipationStatus>>,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<Participation>> {
        let rows = context.l.project_participations.uncounted(
            context,
            &self.0.id,
            &context.keys.projects,
            read::participations_by_projects,
            |r| r.project_id,
            usize::MAX,
        )?;
        let rows = rows
            .into_iter()
            .filter(|r| role.as_ref().is_none_or(|rs| rs.contains(&r.role)))
            .filter(|r| status.as_ref().is_none_or(|ss| ss.contains(&r.status)))
            .collect();
        Ok(context.participations(context.take(rows, first)))
    }
    /// Calls for participation; `open: true` for the open ones only.
    fn calls(
        &self,
        context: &Ctx,
        open: Option<bool>,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<Call>> {
        let rows = context.l.project_calls.uncounted(
            context,
            &self.0.id,
            &context.keys.projects,
            read::calls_by_projects,
            |r| r.project_id,
            usize::MAX,
        )?;
        let rows = rows.into_iter().filter(|c| open.is_none_or(|o| o == (c.status == CallStatus::Open))).collect();
        Ok(context.calls(context.take(rows, first)))
    }
    fn has_open_call(&self, context: &Ctx) -> FieldResult<bool> {
        let rows = context.l.project_calls.uncounted(
            context,
            &self.0.id,
            &context.keys.projects,
            read::calls_by_projects,
            |r| r.project_id,
            usize::MAX,
        )?;
        Ok(rows.iter().any(|c| c.status == CallStatus::Open))
    }
    fn reuse_declarations(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<ReuseDeclaration>> {
        let rows = context.l.project_reuse.many_first(
            context,
            &self.0.id,
            &context.keys.projects,
            read::reuse_by_projects,
            |r| r.project_id,
            n(first),
        )?;
        Ok(context.reuse(rows))
    }
    /// Contact persons (signed-in users only: null with an UNAUTHENTICATED error for anonymous readers).
    fn contacts(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Option<Vec<Contact>>> {
        require_signed_in(context)?;
        let rows = context.l.project_contacts.many_first(
            context,
            &self.0.id,
            &context.keys.projects,
            crate::store::auth::contacts_by_projects,
            |r| r.project_id.unwrap_or(ProjectId::from(0)),
            n(first),
        )?;
        Ok(Some(rows.into_iter().map(Contact).collect()))
    }
    fn events(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<EventLink>> {
        let rows = context.l.project_events.many_first(
            context,
            &self.0.id,
            &context.keys.projects,
            read::event_projects_by_projects,
            |r| r.project_id,
            n(first),
        )?;
        context.keys.events.lk().extend(rows.iter().map(|r| r.event_id));
        Ok(rows.into_iter().map(EventLink).collect())
    }
    /// Increases with every change; pass it as `expectedVersion` when updating.
    fn version(&self) -> i32 {
        self.0.version
    }
    fn created_at(&self) -> FieldResult<Timestamp> {
        Ok(self.0.created_at)
    }
    fn updated_at(&self) -> FieldResult<Timestamp> {
        Ok(self.0.updated_at)
    }
}

/// An OZG-Leistung as part of a project.
pub struct ProjectService(pub ProjectServiceRow);

#[graphql_object(context = Ctx)]
impl ProjectService {
    fn ozg_id(&self) -> OzgId {
        OzgId::parse(&self.0.ozg_id).expect("checked by the schema")
    }
    fn service(&self, context: &Ctx) -> FieldResult<OzgService> {
        context.service_by_id(&self.0.ozg_id)
    }
    fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
}

/// A portal, transport, standard, form technology or method.
pub struct Platform(pub Arc<PlatformRow>);

#[graphql_object(context = Ctx)]
impl Platform {
    fn slug(&self) -> &str {
        &self.0.slug
    }
    fn name(&self) -> &str {
        &self.0.name
    }
    fn kind(&self) -> FieldResult<PlatformKind> {
        Ok(self.0.kind)
    }
    fn kind_label(&self) -> FieldResult<&'static str> {
        Ok(self.0.kind.label())
    }
    fn operator(&self, context: &Ctx) -> FieldResult<Option<Organisation>> {
        self.0.operator_id.map(|o| context.org_by_id(o)).transpose()
    }
    fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
}

/// How a project uses a platform.
pub struct PlatformUse(pub ProjectPlatformRow);

#[graphql_object(context = Ctx)]
impl PlatformUse {
    fn platform(&self, context: &Ctx) -> FieldResult<Platform> {
        let id = self.0.platform_id;
        let row = context.l.platform.one(context, &id, &context.keys.platforms, read::platforms_by_ids, |r| r.id)?;
        let row = row.ok_or_else(|| internal_error(&format!("platform {id} vanished")))?;
        if let Some(o) = row.operator_id {
            context.keys.orgs.lk().insert(o);
        }
        Ok(Platform(row))
    }
    fn usage(&self) -> FieldResult<PlatformUsage> {
        Ok(self.0.usage)
    }
    fn usage_label(&self) -> FieldResult<&'static str> {
        Ok(self.0.usage.label())
    }
    fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
}

pub struct Funding(pub FundingRow);

#[graphql_object(context = Ctx)]
impl Funding {
    fn source(&self) -> &str {
        &self.0.source
    }
    /// E.g. "Fördersteckbrief".
    fn instrument(&self) -> Option<&str> {
        self.0.instrument.as_deref()
    }
    fn status(&self) -> FieldResult<FundingStatus> {
        Ok(self.0.status)
    }
    fn status_label(&self) -> FieldResult<&'static str> {
        Ok(self.0.status.label())
    }
    fn funder(&self, context: &Ctx) -> FieldResult<Option<Organisation>> {
        self.0.funder_id.map(|o| context.org_by_id(o)).transpose()
    }
    fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
}

pub struct Step(pub StepRow);

#[graphql_object(context = Ctx)]
impl Step {
    fn id(&self) -> juniper::ID {
        juniper::ID::new(self.0.id.to_string())
    }
    fn position(&self) -> i32 {
        self.0.position
    }
    fn title(&self) -> &str {
        &self.0.title
    }
    fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    fn status(&self) -> FieldResult<StepStatus> {
        Ok(self.0.status)
    }
    fn status_label(&self) -> FieldResult<&'static str> {
        Ok(self.0.status.label())
    }
}

/// A dated milestone, planned and/or reached.
pub struct Milestone(pub MilestoneRow);

#[graphql_object(context = Ctx)]
impl Milestone {
    fn id(&self) -> ID {
        ID::new(self.0.id.to_string())
    }
    fn title(&self) -> &str {
        &self.0.title
    }
    fn phase(&self) -> FieldResult<Option<Phase>> {
        Ok(self.0.phase)
    }
    fn planned(&self) -> Option<PartialDate> {
        self.0.planned
    }
    /// German wording of the planned date, e.g. "1. Quartal 2021".
    fn planned_label(&self) -> Option<String> {
        self.0.planned.map(|d| d.label())
    }
    fn actual(&self) -> Option<PartialDate> {
        self.0.actual
    }
    fn actual_label(&self) -> Option<String> {
        self.0.actual.map(|d| d.label())
    }
    fn reached(&self) -> bool {
        self.0.actual.is_some()
    }
    fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    fn project(&self, context: &Ctx) -> FieldResult<Project> {
        context.keys.projects.lk().insert(self.0.project_id);
        context.project_by_id(self.0.project_id)
    }
    fn version(&self) -> i32 {
        self.0.version
    }
}

pub struct ProjectRelation {
    row: RelationRow,
    other: ProjectId,
}

#[graphql_object(context = Ctx)]
impl ProjectRelation {
    fn kind(&self) -> FieldResult<RelationKind> {
        Ok(self.row.kind)
    }
    fn kind_label(&self) -> FieldResult<&'static str> {
        Ok(self.row.kind.label())
    }
    /// The project on the other side.
    fn project(&self, context: &Ctx) -> FieldResult<Project> {
        context.project_by_id(self.other)
    }
    fn note(&self) -> Option<&str> {
        self.row.note.as_deref()
    }
}
