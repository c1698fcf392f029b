//! Writes. Each takes the connection of a running write transaction (see `super::write_tx`); the
//! service layer records the matching change-log entry in the same transaction.

use diesel::prelude::*;

use super::Db;
use super::rows::*;
use super::schema::*;
use super::types::columns;
use crate::domain::{
    CallId, CallStatus, DeliveryModel, EventId, EventKind, FederalPriority, FundingStatus, LifeSituationId,
    MilestoneId, OrganisationId, OrganisationKind, ParticipationId, ParticipationRole, ParticipationStatus, Phase,
    PlatformId, PlatformKind, PlatformUsage, ProjectId, RelationKind, ReuseId, ReuseStatus, StepId, StepStatus,
};

#[derive(Debug, Insertable)]
#[diesel(table_name = organisations)]
pub struct NewOrganisation<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub short_name: Option<&'a str>,
    pub kind: OrganisationKind,
    pub land_code: Option<&'a str>,
    pub ags: Option<&'a str>,
    pub ars: Option<&'a str>,
    pub district_key: Option<&'a str>,
    pub parent_id: Option<OrganisationId>,
    pub note: Option<&'a str>,
    pub created_at: &'a str,
    pub updated_at: &'a str,
}

pub fn insert_organisation(conn: &mut Db, o: &NewOrganisation) -> QueryResult<OrganisationRow> {
    diesel::insert_into(organisations::table).values(o).returning(columns::<OrganisationRow>()).get_result(conn)
}

#[derive(Debug, Insertable)]
#[diesel(table_name = platforms)]
pub struct NewPlatform<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub kind: PlatformKind,
    pub operator_id: Option<OrganisationId>,
    pub note: Option<&'a str>,
}

pub fn insert_platform(conn: &mut Db, p: &NewPlatform) -> QueryResult<PlatformId> {
    diesel::insert_into(platforms::table).values(p).returning(platforms::id).get_result(conn)
}

#[derive(Debug, Insertable)]
#[diesel(table_name = projects)]
pub struct NewProject<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub summary: Option<&'a str>,
    pub lead_land_code: Option<&'a str>,
    pub delivery_model: DeliveryModel,
    pub phase: Phase,
    pub status_note: Option<&'a str>,
    pub created_at: &'a str,
    pub updated_at: &'a str,
}

pub fn insert_project(conn: &mut Db, p: &NewProject) -> QueryResult<ProjectRow> {
    diesel::insert_into(projects::table).values(p).returning(columns::<ProjectRow>()).get_result(conn)
}

/// The changeable fields of a project; `None` leaves a field as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = projects)]
pub struct ProjectChanges {
    pub title: Option<String>,
    pub summary: Option<Option<String>>,
    pub lead_land_code: Option<Option<String>>,
    pub delivery_model: Option<DeliveryModel>,
    pub phase: Option<Phase>,
    pub phase_before_hold: Option<Option<Phase>>,
    pub status_note: Option<Option<String>>,
}

/// Applies the changes if the stored version is still `expected`; returns the changed row, or
/// `None` if the version was not `expected` any more.
pub fn update_project(
    conn: &mut Db,
    id: ProjectId,
    expected: i32,
    changes: &ProjectChanges,
    now: &str,
) -> QueryResult<Option<ProjectRow>> {
    diesel::update(projects::table.filter(projects::id.eq(id)).filter(projects::version.eq(expected)))
        .set((changes, projects::version.eq(expected + 1), projects::updated_at.eq(now)))
        .returning(columns::<ProjectRow>())
        .get_result(conn)
        .optional()
}

pub fn insert_project_service(
    conn: &mut Db,
    project_id: ProjectId,
    ozg_id: &str,
    position: i32,
    note: Option<&str>,
) -> QueryResult<()> {
    diesel::insert_into(project_services::table)
        .values((
            project_services::project_id.eq(project_id),
            project_services::ozg_id.eq(ozg_id),
            project_services::position.eq(position),
            project_services::note.eq(note),
        ))
        .execute(conn)
        .map(drop)
}

pub fn delete_project_services(conn: &mut Db, project_id: ProjectId) -> QueryResult<usize> {
    diesel::delete(project_services::table.filter(project_services::project_id.eq(project_id))).execute(conn)
}

pub fn insert_project_platform(
    conn: &mut Db,
    project_id: ProjectId,
    platform_id: PlatformId,
    usage: PlatformUsage,
    note: Option<&str>,
) -> QueryResult<i32> {
    diesel::insert_into(project_platforms::table)
        .values((
            project_platforms::project_id.eq(project_id),
            project_platforms::platform_id.eq(platform_id),
            project_platforms::usage.eq(usage),
            project_platforms::note.eq(note),
        ))
        .returning(project_platforms::id)
        .get_result(conn)
}

#[derive(Debug, Insertable)]
#[diesel(table_name = project_fundings)]
pub struct NewFunding<'a> {
    pub project_id: ProjectId,
    pub source: &'a str,
    pub instrument: Option<&'a str>,
    pub status: FundingStatus,
    pub funder_id: Option<OrganisationId>,
    pub note: Option<&'a str>,
}

pub fn insert_funding(conn: &mut Db, f: &NewFunding) -> QueryResult<i32> {
    diesel::insert_into(project_fundings::table).values(f).returning(project_fundings::id).get_result(conn)
}

/// Sets a step's status; returns the changed step (`None`: there is no such step).
pub fn set_step_status(conn: &mut Db, id: StepId, status: StepStatus) -> QueryResult<Option<StepRow>> {
    diesel::update(project_steps::table.find(id))
        .set(project_steps::status.eq(status))
        .returning(columns::<StepRow>())
        .get_result(conn)
        .optional()
}

#[derive(Debug, Insertable)]
#[diesel(table_name = project_steps)]
pub struct NewStep<'a> {
    pub project_id: ProjectId,
    pub position: i32,
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub status: StepStatus,
}

pub fn insert_step(conn: &mut Db, s: &NewStep) -> QueryResult<StepRow> {
    diesel::insert_into(project_steps::table).values(s).returning(columns::<StepRow>()).get_result(conn)
}

#[derive(Debug, Insertable)]
#[diesel(table_name = milestones)]
pub struct NewMilestone<'a> {
    pub project_id: ProjectId,
    pub title: &'a str,
    pub phase: Option<Phase>,
    pub planned: Option<&'a str>,
    pub actual: Option<&'a str>,
    pub note: Option<&'a str>,
}

pub fn insert_milestone(conn: &mut Db, m: &NewMilestone) -> QueryResult<MilestoneRow> {
    diesel::insert_into(milestones::table).values(m).returning(columns::<MilestoneRow>()).get_result(conn)
}

pub fn complete_milestone(
    conn: &mut Db,
    id: MilestoneId,
    expected: i32,
    actual: &str,
    note: Option<&str>,
) -> QueryResult<Option<MilestoneRow>> {
    let target = milestones::table.filter(milestones::id.eq(id)).filter(milestones::version.eq(expected));
    match note {
        Some(n) => diesel::update(target)
            .set((milestones::actual.eq(actual), milestones::note.eq(n), milestones::version.eq(expected + 1)))
            .returning(columns::<MilestoneRow>())
            .get_result(conn)
            .optional(),
        None => diesel::update(target)
            .set((milestones::actual.eq(actual), milestones::version.eq(expected + 1)))
            .returning(columns::<MilestoneRow>())
            .get_result(conn)
            .optional(),
    }
}

pub fn insert_relation(
    conn: &mut Db,
    from: ProjectId,
    to: ProjectId,
    kind: RelationKind,
    note: Option<&str>,
) -> QueryResult<i32> {
    diesel::insert_into(project_relations::table)
        .values((
            project_relations::from_project_id.eq(from),
            project_relations::to_project_id.eq(to),
            project_relations::kind.eq(kind),
            project_relations::note.eq(note),
        ))
        .returning(project_relations::id)
        .get_result(conn)
}

#[derive(Debug, Insertable)]
#[diesel(table_name = participations)]
pub struct NewParticipation<'a> {
    pub project_id: ProjectId,
    pub organisation_id: OrganisationId,
    pub role: ParticipationRole,
    pub status: ParticipationStatus,
    pub since: Option<&'a str>,
    pub until: Option<&'a str>,
    pub note: Option<&'a str>,
    pub created_at: &'a str,
    pub updated_at: &'a str,
}

pub fn insert_participation(conn: &mut Db, p: &NewParticipation) -> QueryResult<ParticipationRow> {
    diesel::insert_into(participations::table).values(p).returning(columns::<ParticipationRow>()).get_result(conn)
}

/// Sets a participation's status (and optionally its note) if the version is still `expected`;
/// returns the changed row (`None`: the version was not `expected`).
pub fn set_participation_status(
    conn: &mut Db,
    id: ParticipationId,
    expected: i32,
    status: ParticipationStatus,
    note: Option<&str>,
    now: &str,
) -> QueryResult<Option<ParticipationRow>> {
    let target = participations::table.filter(participations::id.eq(id)).filter(participations::version.eq(expected));
    let base = (
        participations::status.eq(status),
        participations::version.eq(expected + 1),
        participations::updated_at.eq(now),
    );
    match note {
        Some(n) => diesel::update(target)
            .set((base, participations::note.eq(n)))
            .returning(columns::<ParticipationRow>())
            .get_result(conn)
            .optional(),
        None => diesel::update(target).set(base).returning(columns::<ParticipationRow>()).get_result(conn).optional(),
    }
}

/// Requests a withdrawn participation again (status REQUESTED, new `since`, optional note).
pub fn reopen_participation(
    conn: &mut Db,
    id: ParticipationId,
    expected: i32,
    note: Option<&str>,
    since: Option<&str>,
    now: &str,
) -> QueryResult<Option<ParticipationRow>> {
    let target = participations::table.filter(participations::id.eq(id)).filter(participations::version.eq(expected));
    let base = (
        participations::status.eq(ParticipationStatus::Requested),
        participations::since.eq(since),
        participations::until.eq(None::<String>),
        participations::version.eq(expected + 1),
        participations::updated_at.eq(now),
    );
    match note {
        Some(n) => diesel::update(target)
            .set((base, participations::note.eq(n)))
            .returning(columns::<ParticipationRow>())
            .get_result(conn)
            .optional(),
        None => diesel::update(target).set(base).returning(columns::<ParticipationRow>()).get_result(conn).optional(),
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = calls)]
pub struct NewCall<'a> {
    pub project_id: ProjectId,
    pub issuer_id: OrganisationId,
    pub title: &'a str,
    pub body: &'a str,
    pub invites_reuse: bool,
    pub opened_on: &'a str,
    pub closes_on: Option<&'a str>,
    pub status: CallStatus,
}

pub fn insert_call(conn: &mut Db, c: &NewCall, roles: &[ParticipationRole]) -> QueryResult<CallRow> {
    let call: CallRow = diesel::insert_into(calls::table).values(c).returning(columns::<CallRow>()).get_result(conn)?;
    for r in roles {
        diesel::insert_into(call_roles::table)
            .values((call_roles::call_id.eq(call.id), call_roles::role.eq(*r)))
            .execute(conn)?;
    }
    Ok(call)
}

/// Closes the call if the version is still `expected`; returns the closed call (`None`: the
/// version was not `expected`).
pub fn close_call(conn: &mut Db, id: CallId, expected: i32) -> QueryResult<Option<CallRow>> {
    diesel::update(calls::table.filter(calls::id.eq(id)).filter(calls::version.eq(expected)))
        .set((calls::status.eq(CallStatus::Closed), calls::version.eq(expected + 1)))
        .returning(columns::<CallRow>())
        .get_result(conn)
        .optional()
}

#[derive(Debug, Insertable)]
#[diesel(table_name = reuse_declarations)]
pub struct NewReuse<'a> {
    pub project_id: ProjectId,
    pub organisation_id: OrganisationId,
    pub status: ReuseStatus,
    pub declared_on: Option<&'a str>,
    pub planned_live: Option<&'a str>,
    pub actual_live: Option<&'a str>,
    pub note: Option<&'a str>,
    pub created_at: &'a str,
    pub updated_at: &'a str,
}

pub fn insert_reuse(conn: &mut Db, r: &NewReuse) -> QueryResult<ReuseRow> {
    diesel::insert_into(reuse_declarations::table).values(r).returning(columns::<ReuseRow>()).get_result(conn)
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = reuse_declarations)]
pub struct ReuseChanges {
    pub status: Option<ReuseStatus>,
    pub declared_on: Option<Option<String>>,
    pub planned_live: Option<Option<String>>,
    pub actual_live: Option<Option<String>>,
    pub note: Option<Option<String>>,
}

/// Applies the changes if the version is still `expected`; returns the changed row (`None`: the
/// version was not `expected`).
pub fn update_reuse(
    conn: &mut Db,
    id: ReuseId,
    expected: i32,
    c: &ReuseChanges,
    now: &str,
) -> QueryResult<Option<ReuseRow>> {
    diesel::update(
        reuse_declarations::table
            .filter(reuse_declarations::id.eq(id))
            .filter(reuse_declarations::version.eq(expected)),
    )
    .set((c, reuse_declarations::version.eq(expected + 1), reuse_declarations::updated_at.eq(now)))
    .returning(columns::<ReuseRow>())
    .get_result(conn)
    .optional()
}

#[derive(Debug, Insertable)]
#[diesel(table_name = events)]
pub struct NewEvent<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub kind: EventKind,
    pub held_on: &'a str,
    pub location_id: Option<OrganisationId>,
    pub organiser_id: Option<OrganisationId>,
    pub note: Option<&'a str>,
}

pub fn insert_event(conn: &mut Db, e: &NewEvent) -> QueryResult<EventId> {
    diesel::insert_into(events::table).values(e).returning(events::id).get_result(conn)
}

pub fn insert_event_project(
    conn: &mut Db,
    event_id: EventId,
    project_id: ProjectId,
    outcome: Option<&str>,
) -> QueryResult<()> {
    diesel::insert_into(event_projects::table)
        .values((
            event_projects::event_id.eq(event_id),
            event_projects::project_id.eq(project_id),
            event_projects::outcome.eq(outcome),
        ))
        .execute(conn)
        .map(drop)
}

// ---- reference data (bulk import) -----------------------------------------------------------

pub fn insert_land(conn: &mut Db, code: &str, short: &str, prefix: &str, name: &str) -> QueryResult<()> {
    diesel::insert_into(lands::table)
        .values((lands::code.eq(code), lands::short_code.eq(short), lands::ags_prefix.eq(prefix), lands::name.eq(name)))
        .execute(conn)
        .map(drop)
}

pub fn insert_topic_field(conn: &mut Db, slug: &str, name: &str, position: i32) -> QueryResult<()> {
    diesel::insert_into(topic_fields::table)
        .values((topic_fields::slug.eq(slug), topic_fields::name.eq(name), topic_fields::position.eq(position)))
        .execute(conn)
        .map(drop)
}

pub fn insert_topic_field_lead(
    conn: &mut Db,
    topic: &str,
    land: Option<&str>,
    ministry: Option<&str>,
    source: &str,
) -> QueryResult<()> {
    diesel::insert_into(topic_field_leads::table)
        .values((
            topic_field_leads::topic_field_slug.eq(topic),
            topic_field_leads::land_code.eq(land),
            topic_field_leads::federal_ministry.eq(ministry),
            topic_field_leads::source_note.eq(source),
        ))
        .execute(conn)
        .map(drop)
}

pub fn insert_life_situation(conn: &mut Db, topic: &str, name: &str) -> QueryResult<LifeSituationId> {
    diesel::insert_into(life_situations::table)
        .values((life_situations::topic_field_slug.eq(topic), life_situations::name.eq(name)))
        .returning(life_situations::id)
        .get_result(conn)
}

pub fn insert_ozg_service(
    conn: &mut Db,
    ozg_id: &str,
    name: &str,
    topic: &str,
    life_situation_id: LifeSituationId,
) -> QueryResult<()> {
    diesel::insert_into(ozg_services::table)
        .values((
            ozg_services::ozg_id.eq(ozg_id),
            ozg_services::name.eq(name),
            ozg_services::topic_field_slug.eq(topic),
            ozg_services::life_situation_id.eq(life_situation_id),
        ))
        .execute(conn)
        .map(drop)
}

pub fn set_service_priority(
    conn: &mut Db,
    ozg_id: &str,
    priority: FederalPriority,
    note: Option<&str>,
) -> QueryResult<usize> {
    diesel::update(ozg_services::table.find(ozg_id))
        .set((ozg_services::federal_priority.eq(priority), ozg_services::priority_note.eq(note)))
        .execute(conn)
}

pub fn insert_leika_service(
    conn: &mut Db,
    key: Option<&str>,
    name: &str,
    ozg_id: Option<&str>,
    typisierung: Option<&str>,
) -> QueryResult<()> {
    diesel::insert_into(leika_services::table)
        .values((
            leika_services::leika_key.eq(key),
            leika_services::name.eq(name),
            leika_services::ozg_id.eq(ozg_id),
            leika_services::typisierung.eq(typisierung),
        ))
        .execute(conn)
        .map(drop)
}
