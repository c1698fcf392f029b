//! Reads. Every function that serves a nested GraphQL level takes a whole set of parent keys and runs
//! one query, so a request costs one query per level, never one per row.

use diesel::prelude::*;

use super::Db;
use super::rows::*;
use super::schema::*;
use crate::domain::{
    CallId, CallStatus, EventId, LifeSituationId, MilestoneId, OrganisationId, OrganisationKind, ParticipationId,
    ParticipationRole, ParticipationStatus, Phase, PlatformId, ProjectId, ReuseId, StepId,
};

type B = <Db as Connection>::Backend;

diesel::define_sql_function!(
    /// Lower case; on SQLite replaced by a Unicode-aware implementation on every connection.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text
);

/// `%text%` for LIKE, with the wildcard characters of the text escaped by `\`.
pub fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

// ---- reference data -------------------------------------------------------------------------

pub fn lands(conn: &mut Db) -> QueryResult<Vec<LandRow>> {
    lands::table.order(lands::code).select(LandRow::as_select()).load(conn)
}

pub fn topic_fields(conn: &mut Db) -> QueryResult<Vec<TopicFieldRow>> {
    topic_fields::table.order(topic_fields::position).select(TopicFieldRow::as_select()).load(conn)
}

pub fn topic_field_leads(conn: &mut Db, slugs: &[String]) -> QueryResult<Vec<TopicFieldLeadRow>> {
    topic_field_leads::table
        .filter(topic_field_leads::topic_field_slug.eq_any(slugs))
        .order(topic_field_leads::id)
        .select(TopicFieldLeadRow::as_select())
        .load(conn)
}

pub fn life_situations_by_topic(conn: &mut Db, slugs: &[String]) -> QueryResult<Vec<LifeSituationRow>> {
    life_situations::table
        .filter(life_situations::topic_field_slug.eq_any(slugs))
        .order(life_situations::name)
        .select(LifeSituationRow::as_select())
        .load(conn)
}

pub fn life_situations_by_ids(conn: &mut Db, ids: &[LifeSituationId]) -> QueryResult<Vec<LifeSituationRow>> {
    life_situations::table.filter(life_situations::id.eq_any(ids)).select(LifeSituationRow::as_select()).load(conn)
}

#[derive(Debug, Default, Clone)]
pub struct ServiceFilter {
    pub topic_field: Option<String>,
    pub name_contains: Option<String>,
    pub federal_priority: Option<String>,
}

fn service_query<'a>(f: &'a ServiceFilter) -> ozg_services::BoxedQuery<'a, B> {
    let mut q = ozg_services::table.into_boxed();
    if let Some(t) = &f.topic_field {
        q = q.filter(ozg_services::topic_field_slug.eq(t));
    }
    if let Some(n) = &f.name_contains {
        q = q.filter(lower(ozg_services::name).like(like_pattern(n)).escape('\\'));
    }
    if let Some(p) = &f.federal_priority {
        q = q.filter(ozg_services::federal_priority.eq(p));
    }
    q
}

pub fn ozg_services_count(conn: &mut Db, f: &ServiceFilter) -> QueryResult<i64> {
    service_query(f).count().get_result(conn)
}

pub fn ozg_services_rows(conn: &mut Db, f: &ServiceFilter, offset: i64, limit: i64) -> QueryResult<Vec<OzgServiceRow>> {
    service_query(f)
        .order(ozg_services::ozg_id)
        .offset(offset)
        .limit(limit)
        .select(OzgServiceRow::as_select())
        .load(conn)
}

pub fn ozg_services_by_ids(conn: &mut Db, ids: &[String]) -> QueryResult<Vec<OzgServiceRow>> {
    ozg_services::table.filter(ozg_services::ozg_id.eq_any(ids)).select(OzgServiceRow::as_select()).load(conn)
}

pub fn leika_by_ozg(conn: &mut Db, ozg_ids: &[String]) -> QueryResult<Vec<LeikaServiceRow>> {
    leika_services::table
        .filter(leika_services::ozg_id.eq_any(ozg_ids))
        .order((leika_services::leika_key, leika_services::id))
        .select(LeikaServiceRow::as_select())
        .load(conn)
}

pub fn leika_by_key(conn: &mut Db, key: &str) -> QueryResult<Option<LeikaServiceRow>> {
    leika_services::table
        .filter(leika_services::leika_key.eq(key))
        .select(LeikaServiceRow::as_select())
        .first(conn)
        .optional()
}

// ---- organisations --------------------------------------------------------------------------

#[derive(Debug, Default, Clone)]
pub struct OrganisationFilter {
    pub kind: Option<OrganisationKind>,
    pub land: Option<String>,
    pub name_contains: Option<String>,
    pub parent_id: Option<OrganisationId>,
}

fn organisation_query<'a>(f: &'a OrganisationFilter) -> organisations::BoxedQuery<'a, B> {
    let mut q = organisations::table.into_boxed();
    if let Some(k) = &f.kind {
        q = q.filter(organisations::kind.eq(k));
    }
    if let Some(l) = &f.land {
        q = q.filter(organisations::land_code.eq(l));
    }
    if let Some(n) = &f.name_contains {
        q = q.filter(lower(organisations::name).like(like_pattern(n)).escape('\\'));
    }
    if let Some(p) = f.parent_id {
        q = q.filter(organisations::parent_id.eq(p));
    }
    q
}

pub fn organisations_count(conn: &mut Db, f: &OrganisationFilter) -> QueryResult<i64> {
    organisation_query(f).count().get_result(conn)
}

pub fn organisations_rows(
    conn: &mut Db,
    f: &OrganisationFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<OrganisationRow>> {
    organisation_query(f)
        .order((organisations::name, organisations::id))
        .offset(offset)
        .limit(limit)
        .select(OrganisationRow::as_select())
        .load(conn)
}

pub fn organisations_by_ids(conn: &mut Db, ids: &[OrganisationId]) -> QueryResult<Vec<OrganisationRow>> {
    organisations::table.filter(organisations::id.eq_any(ids)).select(OrganisationRow::as_select()).load(conn)
}

pub fn organisations_by_parents(conn: &mut Db, ids: &[OrganisationId]) -> QueryResult<Vec<OrganisationRow>> {
    organisations::table
        .filter(organisations::parent_id.eq_any(ids))
        .order(organisations::name)
        .select(OrganisationRow::as_select())
        .load(conn)
}

pub fn organisation_by_ags(conn: &mut Db, ags: &str) -> QueryResult<Option<OrganisationRow>> {
    organisations::table.filter(organisations::ags.eq(ags)).select(OrganisationRow::as_select()).first(conn).optional()
}

pub fn organisation_by_ars(conn: &mut Db, ars: &str) -> QueryResult<Option<OrganisationRow>> {
    organisations::table.filter(organisations::ars.eq(ars)).select(OrganisationRow::as_select()).first(conn).optional()
}

pub fn organisation_by_slug(conn: &mut Db, slug: &str) -> QueryResult<Option<OrganisationRow>> {
    organisations::table
        .filter(organisations::slug.eq(slug))
        .select(OrganisationRow::as_select())
        .first(conn)
        .optional()
}

pub fn organisation_by_id(conn: &mut Db, id: OrganisationId) -> QueryResult<Option<OrganisationRow>> {
    organisations::table.find(id).select(OrganisationRow::as_select()).first(conn).optional()
}

pub fn district_by_key(conn: &mut Db, key: &str) -> QueryResult<Option<OrganisationRow>> {
    organisations::table
        .filter(organisations::district_key.eq(key))
        .filter(organisations::kind.eq_any(["DISTRICT", "MUNICIPALITY"]))
        .order(organisations::id)
        .select(OrganisationRow::as_select())
        .first(conn)
        .optional()
}

pub fn land_organisation(conn: &mut Db, land_code: &str) -> QueryResult<Option<OrganisationRow>> {
    organisations::table
        .filter(organisations::kind.eq("LAND"))
        .filter(organisations::land_code.eq(land_code))
        .select(OrganisationRow::as_select())
        .first(conn)
        .optional()
}

// ---- projects -------------------------------------------------------------------------------

#[derive(Debug, Default, Clone)]
pub struct ProjectFilter {
    pub topic_field: Option<String>,
    pub phases: Option<Vec<Phase>>,
    pub lead_land: Option<String>,
    pub ozg_id: Option<String>,
    pub has_open_call: Option<bool>,
    /// Only projects with an open call that seeks this role (e.g. PILOT).
    pub open_call_seeking: Option<ParticipationRole>,
    pub title_contains: Option<String>,
    pub organisation_id: Option<OrganisationId>,
    /// `Some(None)`: only projects homed here; `Some(Some(o))`: only those replicated from `o`.
    pub origin: Option<Option<String>>,
    /// Only replicated projects (any origin).
    pub replicated_only: bool,
}

fn project_query<'a>(f: &'a ProjectFilter) -> projects::BoxedQuery<'a, B> {
    let mut q = projects::table.into_boxed();
    if let Some(t) = &f.topic_field {
        q = q.filter(
            projects::id.eq_any(
                project_services::table
                    .inner_join(ozg_services::table)
                    .filter(ozg_services::topic_field_slug.eq(t))
                    .select(project_services::project_id),
            ),
        );
    }
    if let Some(p) = &f.phases {
        q = q.filter(projects::phase.eq_any(p));
    }
    if let Some(l) = &f.lead_land {
        q = q.filter(projects::lead_land_code.eq(l));
    }
    if let Some(o) = &f.ozg_id {
        q = q.filter(projects::id.eq_any(
            project_services::table.filter(project_services::ozg_id.eq(o)).select(project_services::project_id),
        ));
    }
    if let Some(open) = f.has_open_call {
        let with_open = calls::table.filter(calls::status.eq(CallStatus::Open)).select(calls::project_id);
        q = if open { q.filter(projects::id.eq_any(with_open)) } else { q.filter(projects::id.ne_all(with_open)) };
    }
    if let Some(role) = &f.open_call_seeking {
        q = q.filter(
            projects::id.eq_any(
                calls::table
                    .inner_join(call_roles::table)
                    .filter(calls::status.eq(CallStatus::Open))
                    .filter(call_roles::role.eq(role))
                    .select(calls::project_id),
            ),
        );
    }
    if let Some(n) = &f.title_contains {
        q = q.filter(lower(projects::title).like(like_pattern(n)).escape('\\'));
    }
    match &f.origin {
        None => {}
        Some(None) => q = q.filter(projects::origin.is_null()),
        Some(Some(o)) => q = q.filter(projects::origin.eq(o)),
    }
    if f.replicated_only {
        q = q.filter(projects::origin.is_not_null());
    }
    if let Some(o) = f.organisation_id {
        q = q.filter(
            projects::id.eq_any(
                participations::table
                    .filter(participations::organisation_id.eq(o))
                    .filter(participations::status.ne(ParticipationStatus::Withdrawn))
                    .select(participations::project_id),
            ),
        );
    }
    q
}

pub fn projects_count(conn: &mut Db, f: &ProjectFilter) -> QueryResult<i64> {
    project_query(f).count().get_result(conn)
}

pub fn projects_rows(conn: &mut Db, f: &ProjectFilter, offset: i64, limit: i64) -> QueryResult<Vec<ProjectRow>> {
    project_query(f)
        .order((projects::title, projects::id))
        .offset(offset)
        .limit(limit)
        .select(ProjectRow::as_select())
        .load(conn)
}

pub fn projects_by_ids(conn: &mut Db, ids: &[ProjectId]) -> QueryResult<Vec<ProjectRow>> {
    projects::table.filter(projects::id.eq_any(ids)).select(ProjectRow::as_select()).load(conn)
}

pub fn project_by_slug(conn: &mut Db, slug: &str) -> QueryResult<Option<ProjectRow>> {
    projects::table.filter(projects::slug.eq(slug)).select(ProjectRow::as_select()).first(conn).optional()
}

pub fn project_by_id(conn: &mut Db, id: ProjectId) -> QueryResult<Option<ProjectRow>> {
    projects::table.find(id).select(ProjectRow::as_select()).first(conn).optional()
}

pub fn project_services_by_projects(conn: &mut Db, ids: &[ProjectId]) -> QueryResult<Vec<ProjectServiceRow>> {
    project_services::table
        .filter(project_services::project_id.eq_any(ids))
        .order((project_services::project_id, project_services::position))
        .select(ProjectServiceRow::as_select())
        .load(conn)
}

pub fn project_services_by_services(conn: &mut Db, ozg_ids: &[String]) -> QueryResult<Vec<ProjectServiceRow>> {
    project_services::table
        .filter(project_services::ozg_id.eq_any(ozg_ids))
        .order((project_services::ozg_id, project_services::project_id))
        .select(ProjectServiceRow::as_select())
        .load(conn)
}

pub fn project_platforms_by_projects(conn: &mut Db, ids: &[ProjectId]) -> QueryResult<Vec<ProjectPlatformRow>> {
    project_platforms::table
        .filter(project_platforms::project_id.eq_any(ids))
        .order(project_platforms::id)
        .select(ProjectPlatformRow::as_select())
        .load(conn)
}

pub fn platforms_by_ids(conn: &mut Db, ids: &[PlatformId]) -> QueryResult<Vec<PlatformRow>> {
    platforms::table.filter(platforms::id.eq_any(ids)).select(PlatformRow::as_select()).load(conn)
}

pub fn platform_by_slug(conn: &mut Db, slug: &str) -> QueryResult<Option<PlatformRow>> {
    platforms::table.filter(platforms::slug.eq(slug)).select(PlatformRow::as_select()).first(conn).optional()
}

pub fn fundings_by_projects(conn: &mut Db, ids: &[ProjectId]) -> QueryResult<Vec<FundingRow>> {
    project_fundings::table
        .filter(project_fundings::project_id.eq_any(ids))
        .order(project_fundings::id)
        .select(FundingRow::as_select())
        .load(conn)
}

pub fn steps_by_projects(conn: &mut Db, ids: &[ProjectId]) -> QueryResult<Vec<StepRow>> {
    project_steps::table
        .filter(project_steps::project_id.eq_any(ids))
        .order((project_steps::project_id, project_steps::position))
        .select(StepRow::as_select())
        .load(conn)
}

pub fn milestones_by_projects(conn: &mut Db, ids: &[ProjectId]) -> QueryResult<Vec<MilestoneRow>> {
    milestones::table
        .filter(milestones::project_id.eq_any(ids))
        .order(milestones::id)
        .select(MilestoneRow::as_select())
        .load(conn)
}

pub fn step_by_id(conn: &mut Db, id: StepId) -> QueryResult<Option<StepRow>> {
    project_steps::table.find(id).select(StepRow::as_select()).first(conn).optional()
}

pub fn milestone_by_id(conn: &mut Db, id: MilestoneId) -> QueryResult<Option<MilestoneRow>> {
    milestones::table.find(id).select(MilestoneRow::as_select()).first(conn).optional()
}

/// Relations where any of the projects is on either side.
pub fn relations_by_projects(conn: &mut Db, ids: &[ProjectId]) -> QueryResult<Vec<RelationRow>> {
    project_relations::table
        .filter(project_relations::from_project_id.eq_any(ids).or(project_relations::to_project_id.eq_any(ids)))
        .order(project_relations::id)
        .select(RelationRow::as_select())
        .load(conn)
}

// ---- participation, calls, reuse -------------------------------------------------------------

pub fn participations_by_projects(conn: &mut Db, ids: &[ProjectId]) -> QueryResult<Vec<ParticipationRow>> {
    participations::table
        .filter(participations::project_id.eq_any(ids))
        .order(participations::id)
        .select(ParticipationRow::as_select())
        .load(conn)
}

pub fn participations_by_organisations(conn: &mut Db, ids: &[OrganisationId]) -> QueryResult<Vec<ParticipationRow>> {
    participations::table
        .filter(participations::organisation_id.eq_any(ids))
        .order(participations::id)
        .select(ParticipationRow::as_select())
        .load(conn)
}

pub fn participation_by_id(conn: &mut Db, id: ParticipationId) -> QueryResult<Option<ParticipationRow>> {
    participations::table.find(id).select(ParticipationRow::as_select()).first(conn).optional()
}

pub fn participation_by_key(
    conn: &mut Db,
    project: ProjectId,
    org: OrganisationId,
    role: ParticipationRole,
) -> QueryResult<Option<ParticipationRow>> {
    participations::table
        .filter(participations::project_id.eq(project))
        .filter(participations::organisation_id.eq(org))
        .filter(participations::role.eq(role))
        .select(ParticipationRow::as_select())
        .first(conn)
        .optional()
}

pub fn calls_filtered(
    conn: &mut Db,
    status: Option<CallStatus>,
    project: Option<ProjectId>,
) -> QueryResult<Vec<CallRow>> {
    calls_filtered_first(conn, status, project, i64::MAX)
}

/// The first `limit` calls of [`calls_filtered`].
pub fn calls_filtered_first(
    conn: &mut Db,
    status: Option<CallStatus>,
    project: Option<ProjectId>,
    limit: i64,
) -> QueryResult<Vec<CallRow>> {
    let mut q = calls::table.into_boxed();
    if limit < i64::MAX {
        q = q.limit(limit);
    }
    if let Some(s) = status {
        q = q.filter(calls::status.eq(s));
    }
    if let Some(p) = project {
        q = q.filter(calls::project_id.eq(p));
    }
    q.order(calls::id).select(CallRow::as_select()).load(conn)
}

pub fn calls_by_projects(conn: &mut Db, ids: &[ProjectId]) -> QueryResult<Vec<CallRow>> {
    calls::table.filter(calls::project_id.eq_any(ids)).order(calls::id).select(CallRow::as_select()).load(conn)
}

pub fn call_by_id(conn: &mut Db, id: CallId) -> QueryResult<Option<CallRow>> {
    calls::table.find(id).select(CallRow::as_select()).first(conn).optional()
}

pub fn call_roles_by_calls(conn: &mut Db, ids: &[CallId]) -> QueryResult<Vec<CallRoleRow>> {
    call_roles::table.filter(call_roles::call_id.eq_any(ids)).select(CallRoleRow::as_select()).load(conn)
}

#[derive(Debug, Default, Clone)]
pub struct ReuseFilter {
    pub project_id: Option<ProjectId>,
    /// At most this many (all when `None`).
    pub limit: Option<i64>,
    pub organisation_id: Option<OrganisationId>,
    pub statuses: Option<Vec<String>>,
}

pub fn reuse_filtered(conn: &mut Db, f: &ReuseFilter) -> QueryResult<Vec<ReuseRow>> {
    let mut q = reuse_declarations::table.into_boxed();
    if let Some(p) = f.project_id {
        q = q.filter(reuse_declarations::project_id.eq(p));
    }
    if let Some(o) = f.organisation_id {
        q = q.filter(reuse_declarations::organisation_id.eq(o));
    }
    if let Some(s) = &f.statuses {
        q = q.filter(reuse_declarations::status.eq_any(s));
    }
    if let Some(n) = f.limit {
        q = q.limit(n);
    }
    q.order(reuse_declarations::id).select(ReuseRow::as_select()).load(conn)
}

pub fn reuse_by_projects(conn: &mut Db, ids: &[ProjectId]) -> QueryResult<Vec<ReuseRow>> {
    reuse_declarations::table
        .filter(reuse_declarations::project_id.eq_any(ids))
        .order(reuse_declarations::id)
        .select(ReuseRow::as_select())
        .load(conn)
}

pub fn reuse_by_organisations(conn: &mut Db, ids: &[OrganisationId]) -> QueryResult<Vec<ReuseRow>> {
    reuse_declarations::table
        .filter(reuse_declarations::organisation_id.eq_any(ids))
        .order(reuse_declarations::id)
        .select(ReuseRow::as_select())
        .load(conn)
}

pub fn reuse_by_id(conn: &mut Db, id: ReuseId) -> QueryResult<Option<ReuseRow>> {
    reuse_declarations::table.find(id).select(ReuseRow::as_select()).first(conn).optional()
}

pub fn reuse_by_key(conn: &mut Db, project: ProjectId, org: OrganisationId) -> QueryResult<Option<ReuseRow>> {
    reuse_declarations::table
        .filter(reuse_declarations::project_id.eq(project))
        .filter(reuse_declarations::organisation_id.eq(org))
        .select(ReuseRow::as_select())
        .first(conn)
        .optional()
}

// ---- events ---------------------------------------------------------------------------------

pub fn events_all(conn: &mut Db) -> QueryResult<Vec<EventRow>> {
    events_first(conn, i64::MAX)
}

/// The first `limit` events in the order of [`events_all`].
pub fn events_first(conn: &mut Db, limit: i64) -> QueryResult<Vec<EventRow>> {
    events::table.order((events::held_on, events::id)).limit(limit).select(EventRow::as_select()).load(conn)
}

pub fn event_projects_by_events(conn: &mut Db, ids: &[EventId]) -> QueryResult<Vec<EventProjectRow>> {
    event_projects::table.filter(event_projects::event_id.eq_any(ids)).select(EventProjectRow::as_select()).load(conn)
}

pub fn event_projects_by_projects(conn: &mut Db, ids: &[ProjectId]) -> QueryResult<Vec<EventProjectRow>> {
    event_projects::table.filter(event_projects::project_id.eq_any(ids)).select(EventProjectRow::as_select()).load(conn)
}

pub fn events_by_ids(conn: &mut Db, ids: &[EventId]) -> QueryResult<Vec<EventRow>> {
    events::table.filter(events::id.eq_any(ids)).select(EventRow::as_select()).load(conn)
}

pub fn leika_count(conn: &mut Db) -> QueryResult<i64> {
    leika_services::table.count().get_result(conn)
}
