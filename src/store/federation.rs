//! Federation storage: the instance identity, peers, the change feed's scan of the change log, and
//! the replicated records (with their global ids and the home's versions).

use diesel::prelude::*;

use super::Db;
use super::schema::*;
use crate::domain::{
    CallId, CallStatus, DeliveryModel, OrganisationId, OrganisationKind, ParticipationId, ParticipationRole,
    ParticipationStatus, Phase, ProjectId, ReuseId, ReuseStatus,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = instance_identity)]
pub struct IdentityRow {
    pub instance_id: String,
    pub private_key: String,
    pub public_key: String,
}

pub fn identity(conn: &mut Db) -> QueryResult<Option<IdentityRow>> {
    instance_identity::table.filter(instance_identity::id.eq(1)).select(IdentityRow::as_select()).first(conn).optional()
}

/// Stores the identity unless one exists (a concurrent first start keeps the first).
pub fn insert_identity(
    conn: &mut Db,
    instance_id: &str,
    private_key: &str,
    public_key: &str,
    at: &str,
) -> QueryResult<()> {
    if identity(conn)?.is_some() {
        return Ok(());
    }
    diesel::insert_into(instance_identity::table)
        .values((
            instance_identity::id.eq(1),
            instance_identity::instance_id.eq(instance_id),
            instance_identity::private_key.eq(private_key),
            instance_identity::public_key.eq(public_key),
            instance_identity::created_at.eq(at),
        ))
        .execute(conn)
        .map(drop)
}

pub fn set_instance_id(conn: &mut Db, instance_id: &str) -> QueryResult<usize> {
    diesel::update(instance_identity::table.filter(instance_identity::id.eq(1)))
        .set(instance_identity::instance_id.eq(instance_id))
        .execute(conn)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = peers)]
pub struct PeerRow {
    pub id: i32,
    pub instance_id: String,
    pub base_url: String,
    pub public_key: String,
    pub feed_cursor: i64,
    pub last_attempt_at: Option<String>,
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub consecutive_failures: i32,
    pub open_until: Option<String>,
    pub imported: i64,
    pub rejected_pages: i64,
    pub last_reconcile_at: Option<String>,
    pub created_at: String,
    /// The last error's reason code (a `PeerErrorCode`); `last_error` holds its detail.
    pub last_error_code: Option<String>,
}

pub fn peers(conn: &mut Db) -> QueryResult<Vec<PeerRow>> {
    peers::table.order(peers::instance_id).select(PeerRow::as_select()).load(conn)
}

pub fn peer(conn: &mut Db, instance_id: &str) -> QueryResult<Option<PeerRow>> {
    peers::table.filter(peers::instance_id.eq(instance_id)).select(PeerRow::as_select()).first(conn).optional()
}

pub fn insert_peer(conn: &mut Db, instance_id: &str, base_url: &str, public_key: &str, at: &str) -> QueryResult<()> {
    diesel::insert_into(peers::table)
        .values((
            peers::instance_id.eq(instance_id),
            peers::base_url.eq(base_url),
            peers::public_key.eq(public_key),
            peers::created_at.eq(at),
        ))
        .execute(conn)
        .map(drop)
}

pub fn delete_peer(conn: &mut Db, instance_id: &str) -> QueryResult<usize> {
    diesel::delete(peers::table.filter(peers::instance_id.eq(instance_id))).execute(conn)
}

/// A page was imported: the cursor moves on, the failure count is reset.
pub fn peer_success(conn: &mut Db, id: i32, cursor: i64, imported: i64, at: &str) -> QueryResult<usize> {
    diesel::update(peers::table.filter(peers::id.eq(id)))
        .set((
            peers::feed_cursor.eq(cursor),
            peers::imported.eq(peers::imported + imported),
            peers::last_attempt_at.eq(at),
            peers::last_success_at.eq(at),
            peers::consecutive_failures.eq(0),
            peers::open_until.eq(None::<String>),
        ))
        .execute(conn)
}

pub fn peer_reconciled(conn: &mut Db, id: i32, at: &str) -> QueryResult<usize> {
    diesel::update(peers::table.filter(peers::id.eq(id))).set(peers::last_reconcile_at.eq(at)).execute(conn)
}

/// A sync failed: the error (code and detail) is kept, and the circuit opens until `open_until`
/// when given.
pub fn peer_failure(
    conn: &mut Db,
    id: i32,
    code: &str,
    error: &str,
    at: &str,
    open_until: Option<&str>,
    rejected_page: bool,
) -> QueryResult<usize> {
    diesel::update(peers::table.filter(peers::id.eq(id)))
        .set((
            peers::last_attempt_at.eq(at),
            peers::last_error.eq(error),
            peers::last_error_code.eq(code),
            peers::last_error_at.eq(at),
            peers::consecutive_failures.eq(peers::consecutive_failures + 1),
            peers::open_until.eq(open_until),
            peers::rejected_pages.eq(peers::rejected_pages + i64::from(rejected_page)),
        ))
        .execute(conn)
}

/// A change-log entry the feed looks at.
#[derive(Debug, Clone, Queryable)]
pub struct ChangeRef {
    pub id: i64,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub project_id: Option<ProjectId>,
}

/// The subject of the change-log entries imports write.
pub const FEDERATION_ACTOR: &str = "federation";

/// The entity types the feed publishes (milestones as part of their project).
pub const FEED_TYPES: [&str; 5] = ["Project", "Milestone", "Participation", "Call", "ReuseDeclaration"];

/// Applied changes after `after`, in order, at most `limit`. Imports (and the deletions a peer's
/// tombstone made) are left out: replicated records are published only by their home.
pub fn feed_changes(conn: &mut Db, after: i64, limit: i64) -> QueryResult<Vec<ChangeRef>> {
    change_log::table
        .filter(change_log::id.gt(after))
        .filter(change_log::outcome.eq(crate::domain::ChangeOutcome::Applied))
        .filter(change_log::entity_type.eq_any(FEED_TYPES))
        .filter(change_log::action.ne("IMPORT"))
        .filter(change_log::actor.ne(FEDERATION_ACTOR).or(change_log::actor_role.ne("system")))
        .order(change_log::id)
        .limit(limit)
        .select((
            change_log::id,
            change_log::action,
            change_log::entity_type,
            change_log::entity_id,
            change_log::project_id,
        ))
        .load(conn)
}

/// The newest change-log entry (for the feed's ETag).
pub fn last_change_id(conn: &mut Db) -> QueryResult<i64> {
    change_log::table.select(diesel::dsl::max(change_log::id)).first::<Option<i64>>(conn).map(|m| m.unwrap_or(0))
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = federated_records)]
pub struct FederatedRow {
    pub global_id: String,
    pub origin: String,
    pub entity_type: String,
    pub local_id: i32,
    pub version: i64,
    pub content_hash: String,
    pub orphaned_at: Option<String>,
}

pub fn federated(conn: &mut Db, global_id: &str) -> QueryResult<Option<FederatedRow>> {
    federated_records::table
        .filter(federated_records::global_id.eq(global_id))
        .select(FederatedRow::as_select())
        .first(conn)
        .optional()
}

pub fn federated_by_local(conn: &mut Db, entity_type: &str, ids: &[i32]) -> QueryResult<Vec<FederatedRow>> {
    federated_records::table
        .filter(federated_records::entity_type.eq(entity_type))
        .filter(federated_records::local_id.eq_any(ids))
        .select(FederatedRow::as_select())
        .load(conn)
}

pub fn federated_by_origin(conn: &mut Db, origin: &str) -> QueryResult<Vec<FederatedRow>> {
    federated_records::table.filter(federated_records::origin.eq(origin)).select(FederatedRow::as_select()).load(conn)
}

/// Records the home's version of a replicated record (inserting the mapping the first time).
pub fn save_federated(conn: &mut Db, r: &FederatedRow, at: &str) -> QueryResult<()> {
    let n = diesel::update(federated_records::table.filter(federated_records::global_id.eq(&r.global_id)))
        .set((
            federated_records::local_id.eq(r.local_id),
            federated_records::version.eq(r.version),
            federated_records::content_hash.eq(&r.content_hash),
            federated_records::orphaned_at.eq(None::<String>),
            federated_records::imported_at.eq(at),
        ))
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(federated_records::table)
            .values((
                federated_records::global_id.eq(&r.global_id),
                federated_records::origin.eq(&r.origin),
                federated_records::entity_type.eq(&r.entity_type),
                federated_records::local_id.eq(r.local_id),
                federated_records::version.eq(r.version),
                federated_records::content_hash.eq(&r.content_hash),
                federated_records::imported_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The version at which a peer deleted one of its records.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = federated_tombstones)]
pub struct TombstoneRow {
    pub global_id: String,
    pub origin: String,
    pub entity_type: String,
    pub version: i64,
}

pub fn tombstone(conn: &mut Db, global_id: &str) -> QueryResult<Option<TombstoneRow>> {
    federated_tombstones::table
        .filter(federated_tombstones::global_id.eq(global_id))
        .select(TombstoneRow::as_select())
        .first(conn)
        .optional()
}

/// Keeps the newest deleted version of a record.
pub fn save_tombstone(conn: &mut Db, t: &TombstoneRow, at: &str) -> QueryResult<()> {
    match tombstone(conn, &t.global_id)? {
        Some(old) if old.version >= t.version => Ok(()),
        Some(_) => diesel::update(federated_tombstones::table.filter(federated_tombstones::global_id.eq(&t.global_id)))
            .set((federated_tombstones::version.eq(t.version), federated_tombstones::deleted_at.eq(at)))
            .execute(conn)
            .map(drop),
        None => diesel::insert_into(federated_tombstones::table)
            .values((
                federated_tombstones::global_id.eq(&t.global_id),
                federated_tombstones::origin.eq(&t.origin),
                federated_tombstones::entity_type.eq(&t.entity_type),
                federated_tombstones::version.eq(t.version),
                federated_tombstones::deleted_at.eq(at),
            ))
            .execute(conn)
            .map(drop),
    }
}

/// A record deleted at its home comes back only with a newer version: then the tombstone goes.
pub fn delete_tombstone(conn: &mut Db, global_id: &str) -> QueryResult<usize> {
    diesel::delete(federated_tombstones::table.filter(federated_tombstones::global_id.eq(global_id))).execute(conn)
}

/// The home of a local row of a federated entity type: `None` when there is no such row,
/// `Some(None)` when it is homed here.
pub fn local_origin(conn: &mut Db, entity_type: &str, id: i32) -> QueryResult<Option<Option<String>>> {
    match entity_type {
        "Project" => projects::table.filter(projects::id.eq(id)).select(projects::origin).first(conn).optional(),
        "Participation" => participations::table
            .filter(participations::id.eq(id))
            .select(participations::origin)
            .first(conn)
            .optional(),
        "Call" => calls::table.filter(calls::id.eq(id)).select(calls::origin).first(conn).optional(),
        "ReuseDeclaration" => reuse_declarations::table
            .filter(reuse_declarations::id.eq(id))
            .select(reuse_declarations::origin)
            .first(conn)
            .optional(),
        _ => Ok(None),
    }
}

/// Whether an organisation was registered at this registry (its own CREATE in the change log), as
/// opposed to the official reference lists (Länder, Kreise, kreisfreie Städte) every registry loads.
pub fn organisation_registered_here(conn: &mut Db, slug: &str) -> QueryResult<bool> {
    change_log::table
        .filter(change_log::entity_type.eq("Organisation"))
        .filter(change_log::entity_id.eq(slug))
        .filter(change_log::action.eq("CREATE"))
        .filter(change_log::outcome.eq(crate::domain::ChangeOutcome::Applied))
        .count()
        .get_result::<i64>(conn)
        .map(|n| n > 0)
}

pub fn delete_federated(conn: &mut Db, global_id: &str) -> QueryResult<usize> {
    diesel::delete(federated_records::table.filter(federated_records::global_id.eq(global_id))).execute(conn)
}

pub fn set_orphaned(conn: &mut Db, global_ids: &[String], at: Option<&str>) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in global_ids.chunks(500) {
        n += diesel::update(federated_records::table.filter(federated_records::global_id.eq_any(chunk)))
            .set(federated_records::orphaned_at.eq(at))
            .execute(conn)?;
    }
    Ok(n)
}

pub fn participations_by_ids(
    conn: &mut Db,
    ids: &[ParticipationId],
) -> QueryResult<Vec<super::rows::ParticipationRow>> {
    participations::table
        .filter(participations::id.eq_any(ids))
        .select(super::rows::ParticipationRow::as_select())
        .load(conn)
}

pub fn calls_by_ids(conn: &mut Db, ids: &[CallId]) -> QueryResult<Vec<super::rows::CallRow>> {
    calls::table.filter(calls::id.eq_any(ids)).select(super::rows::CallRow::as_select()).load(conn)
}

pub fn reuse_by_ids(conn: &mut Db, ids: &[ReuseId]) -> QueryResult<Vec<super::rows::ReuseRow>> {
    reuse_declarations::table
        .filter(reuse_declarations::id.eq_any(ids))
        .select(super::rows::ReuseRow::as_select())
        .load(conn)
}

/// A replicated project's own fields, as its home publishes them.
pub struct ReplicatedProject<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub summary: Option<&'a str>,
    pub lead_land_code: Option<&'a str>,
    pub delivery_model: DeliveryModel,
    pub phase: Phase,
    pub phase_before_hold: Option<Phase>,
    pub status_note: Option<&'a str>,
    pub origin: &'a str,
}

/// Inserts or overwrites a replicated project (by id); returns its id.
pub fn put_project(conn: &mut Db, id: Option<ProjectId>, p: &ReplicatedProject, at: &str) -> QueryResult<ProjectId> {
    let fields = (
        projects::title.eq(p.title),
        projects::summary.eq(p.summary),
        projects::lead_land_code.eq(p.lead_land_code),
        projects::delivery_model.eq(p.delivery_model),
        projects::phase.eq(p.phase),
        projects::phase_before_hold.eq(p.phase_before_hold),
        projects::status_note.eq(p.status_note),
        projects::updated_at.eq(at),
    );
    match id {
        Some(id) => {
            diesel::update(projects::table.filter(projects::id.eq(id)))
                .set((fields, projects::version.eq(projects::version + 1)))
                .execute(conn)?;
            Ok(id)
        }
        None => diesel::insert_into(projects::table)
            .values((fields, projects::slug.eq(p.slug), projects::origin.eq(p.origin), projects::created_at.eq(at)))
            .returning(projects::id)
            .get_result(conn),
    }
}

/// Replaces a replicated project's services, steps and milestones.
pub fn clear_project_parts(conn: &mut Db, id: ProjectId) -> QueryResult<()> {
    diesel::delete(project_services::table.filter(project_services::project_id.eq(id))).execute(conn)?;
    diesel::delete(project_steps::table.filter(project_steps::project_id.eq(id))).execute(conn)?;
    diesel::delete(milestones::table.filter(milestones::project_id.eq(id))).execute(conn)?;
    Ok(())
}

pub fn known_ozg_ids(conn: &mut Db, ids: &[String]) -> QueryResult<Vec<String>> {
    ozg_services::table.filter(ozg_services::ozg_id.eq_any(ids)).select(ozg_services::ozg_id).load(conn)
}

pub fn known_land(conn: &mut Db, code: &str) -> QueryResult<bool> {
    lands::table.filter(lands::code.eq(code)).count().get_result::<i64>(conn).map(|n| n > 0)
}

pub struct ReplicatedParticipation<'a> {
    pub project_id: ProjectId,
    pub organisation_id: OrganisationId,
    pub role: ParticipationRole,
    pub status: ParticipationStatus,
    pub since: Option<&'a str>,
    pub until: Option<&'a str>,
    pub note: Option<&'a str>,
    pub origin: &'a str,
}

pub fn put_participation(conn: &mut Db, id: Option<i32>, p: &ReplicatedParticipation, at: &str) -> QueryResult<i32> {
    let fields = (
        participations::project_id.eq(p.project_id),
        participations::organisation_id.eq(p.organisation_id),
        participations::role.eq(p.role),
        participations::status.eq(p.status),
        participations::since.eq(p.since),
        participations::until.eq(p.until),
        participations::note.eq(p.note),
        participations::updated_at.eq(at),
    );
    match id {
        Some(id) => {
            diesel::update(participations::table.filter(participations::id.eq(id)))
                .set((fields, participations::version.eq(participations::version + 1)))
                .execute(conn)?;
            Ok(id)
        }
        None => diesel::insert_into(participations::table)
            .values((fields, participations::origin.eq(p.origin), participations::created_at.eq(at)))
            .returning(participations::id)
            .get_result(conn),
    }
}

pub struct ReplicatedReuse<'a> {
    pub project_id: ProjectId,
    pub organisation_id: OrganisationId,
    pub status: ReuseStatus,
    pub declared_on: Option<&'a str>,
    pub planned_live: Option<&'a str>,
    pub actual_live: Option<&'a str>,
    pub note: Option<&'a str>,
    pub origin: &'a str,
}

pub fn put_reuse(conn: &mut Db, id: Option<i32>, r: &ReplicatedReuse, at: &str) -> QueryResult<i32> {
    let fields = (
        reuse_declarations::project_id.eq(r.project_id),
        reuse_declarations::organisation_id.eq(r.organisation_id),
        reuse_declarations::status.eq(r.status),
        reuse_declarations::declared_on.eq(r.declared_on),
        reuse_declarations::planned_live.eq(r.planned_live),
        reuse_declarations::actual_live.eq(r.actual_live),
        reuse_declarations::note.eq(r.note),
        reuse_declarations::updated_at.eq(at),
    );
    match id {
        Some(id) => {
            diesel::update(reuse_declarations::table.filter(reuse_declarations::id.eq(id)))
                .set((fields, reuse_declarations::version.eq(reuse_declarations::version + 1)))
                .execute(conn)?;
            Ok(id)
        }
        None => diesel::insert_into(reuse_declarations::table)
            .values((fields, reuse_declarations::origin.eq(r.origin), reuse_declarations::created_at.eq(at)))
            .returning(reuse_declarations::id)
            .get_result(conn),
    }
}

pub struct ReplicatedCall<'a> {
    pub project_id: ProjectId,
    pub issuer_id: OrganisationId,
    pub title: &'a str,
    pub body: &'a str,
    pub invites_reuse: bool,
    pub opened_on: &'a str,
    pub closes_on: Option<&'a str>,
    pub status: CallStatus,
    pub origin: &'a str,
}

pub fn put_call(conn: &mut Db, id: Option<i32>, c: &ReplicatedCall, roles: &[ParticipationRole]) -> QueryResult<i32> {
    let fields = (
        calls::project_id.eq(c.project_id),
        calls::issuer_id.eq(c.issuer_id),
        calls::title.eq(c.title),
        calls::body.eq(c.body),
        calls::invites_reuse.eq(c.invites_reuse),
        calls::opened_on.eq(c.opened_on),
        calls::closes_on.eq(c.closes_on),
        calls::status.eq(c.status),
    );
    let id = match id {
        Some(id) => {
            diesel::update(calls::table.filter(calls::id.eq(id)))
                .set((fields, calls::version.eq(calls::version + 1)))
                .execute(conn)?;
            diesel::delete(call_roles::table.filter(call_roles::call_id.eq(id))).execute(conn)?;
            id
        }
        None => diesel::insert_into(calls::table)
            .values((fields, calls::origin.eq(c.origin)))
            .returning(calls::id)
            .get_result(conn)?,
    };
    for r in roles {
        diesel::insert_into(call_roles::table)
            .values((call_roles::call_id.eq(id), call_roles::role.eq(r)))
            .execute(conn)?;
    }
    Ok(id)
}

/// Deletes a call with its roles (a call opened by mistake, or a replicated call its home deleted).
pub fn delete_call(conn: &mut Db, id: CallId) -> QueryResult<usize> {
    diesel::delete(call_roles::table.filter(call_roles::call_id.eq(id))).execute(conn)?;
    diesel::delete(calls::table.filter(calls::id.eq(id))).execute(conn)
}

pub fn delete_participation(conn: &mut Db, id: ParticipationId) -> QueryResult<usize> {
    diesel::delete(participations::table.filter(participations::id.eq(id))).execute(conn)
}

pub fn delete_reuse(conn: &mut Db, id: ReuseId) -> QueryResult<usize> {
    diesel::delete(reuse_declarations::table.filter(reuse_declarations::id.eq(id))).execute(conn)
}

/// An organisation a peer referred to that this registry does not know: kept as replicated.
pub struct ReplicatedOrganisation<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub kind: OrganisationKind,
    pub land_code: Option<&'a str>,
    pub ags: Option<&'a str>,
    pub origin: &'a str,
}

pub fn insert_replicated_organisation(
    conn: &mut Db,
    o: &ReplicatedOrganisation,
    at: &str,
) -> QueryResult<OrganisationId> {
    diesel::insert_into(organisations::table)
        .values((
            organisations::slug.eq(o.slug),
            organisations::name.eq(o.name),
            organisations::kind.eq(o.kind),
            organisations::land_code.eq(o.land_code),
            organisations::ags.eq(o.ags),
            organisations::origin.eq(o.origin),
            organisations::created_at.eq(at),
            organisations::updated_at.eq(at),
        ))
        .returning(organisations::id)
        .get_result(conn)
}

/// Per origin: replicated records held and how many of them are orphaned.
pub fn federated_counts(conn: &mut Db) -> QueryResult<Vec<(String, i64, i64)>> {
    use diesel::dsl::{count, count_star};
    federated_records::table
        .group_by(federated_records::origin)
        .select((federated_records::origin, count_star(), count(federated_records::orphaned_at)))
        .load(conn)
}
