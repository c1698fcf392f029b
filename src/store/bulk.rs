//! Bulk inserts for generated data, with explicit ids: COPY on PostgreSQL, many rows per statement
//! on SQLite. The multi-connection can do neither, so each runs on the concrete connection.

use diesel::prelude::*;

use super::Db;
use super::schema::*;

#[derive(Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = organisations)]
pub struct Org {
    pub id: i32,
    pub slug: String,
    pub name: String,
    pub kind: &'static str,
    pub land_code: Option<String>,
    pub ags: Option<String>,
    pub ars: Option<String>,
    pub district_key: Option<String>,
    pub parent_id: Option<i32>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = projects)]
pub struct Project {
    pub id: i32,
    pub slug: String,
    pub title: String,
    pub summary: Option<String>,
    pub lead_land_code: Option<String>,
    pub delivery_model: &'static str,
    pub phase: &'static str,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = project_services)]
pub struct ProjectService {
    pub project_id: i32,
    pub ozg_id: String,
    pub position: i32,
}

#[derive(Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = milestones)]
pub struct Milestone {
    pub id: i32,
    pub project_id: i32,
    pub title: String,
    pub phase: Option<&'static str>,
    pub planned: Option<String>,
    pub actual: Option<String>,
}

#[derive(Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = participations)]
pub struct Participation {
    pub id: i32,
    pub project_id: i32,
    pub organisation_id: i32,
    pub role: &'static str,
    pub status: &'static str,
    pub since: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = reuse_declarations)]
pub struct Reuse {
    pub id: i32,
    pub project_id: i32,
    pub organisation_id: i32,
    pub status: &'static str,
    pub declared_on: Option<String>,
    pub planned_live: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = calls)]
pub struct Call {
    pub id: i32,
    pub project_id: i32,
    pub issuer_id: i32,
    pub title: String,
    pub body: String,
    pub invites_reuse: bool,
    pub opened_on: String,
    pub closes_on: Option<String>,
    pub status: &'static str,
}

#[derive(Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = call_roles)]
pub struct CallRole {
    pub call_id: i32,
    pub role: &'static str,
}

#[derive(Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = change_log)]
pub struct Change {
    pub id: i64,
    pub at: String,
    pub actor: &'static str,
    pub actor_role: &'static str,
    pub action: &'static str,
    pub outcome: &'static str,
    pub entity_type: &'static str,
    pub entity_id: String,
    pub project_id: Option<i32>,
    pub summary: String,
    pub changes: String,
    pub personal: bool,
    pub prev_hash: String,
    pub hash: String,
}

/// Inserts rows: on PostgreSQL with one `COPY … FROM STDIN` (binary), on SQLite in batches of
/// `per` rows per statement (kept under its limit on bound parameters). `None` is written as NULL.
macro_rules! batches {
    ($name:ident, $ty:ty, $table:expr, $per:expr) => {
        pub fn $name(conn: &mut Db, rows: &[$ty]) -> QueryResult<()> {
            match conn {
                Db::Pg(c) => {
                    diesel::copy_from($table).from_insertable(rows).execute(c)?;
                }
                Db::Sqlite(c) => {
                    for chunk in rows.chunks($per) {
                        diesel::insert_into($table).values(chunk).execute(c)?;
                    }
                }
            }
            Ok(())
        }
    };
}

batches!(orgs, Org, organisations::table, 2000);
batches!(projects, Project, projects::table, 2000);
batches!(project_services, ProjectService, project_services::table, 5000);
batches!(milestones, Milestone, milestones::table, 3000);
batches!(participations, Participation, participations::table, 2500);
batches!(reuse, Reuse, reuse_declarations::table, 2500);
batches!(calls, Call, calls::table, 2000);
batches!(call_roles, CallRole, call_roles::table, 10000);
batches!(changes, Change, change_log::table, 1000);

/// The largest id of each table that takes generated rows (0 when empty).
pub struct MaxIds {
    pub organisation: i32,
    pub project: i32,
    pub milestone: i32,
    pub participation: i32,
    pub reuse: i32,
    pub call: i32,
    pub change: i64,
}

pub fn max_ids(conn: &mut Db) -> QueryResult<MaxIds> {
    use diesel::dsl::max;
    Ok(MaxIds {
        organisation: organisations::table.select(max(organisations::id)).first::<Option<i32>>(conn)?.unwrap_or(0),
        project: projects::table.select(max(projects::id)).first::<Option<i32>>(conn)?.unwrap_or(0),
        milestone: milestones::table.select(max(milestones::id)).first::<Option<i32>>(conn)?.unwrap_or(0),
        participation: participations::table.select(max(participations::id)).first::<Option<i32>>(conn)?.unwrap_or(0),
        reuse: reuse_declarations::table.select(max(reuse_declarations::id)).first::<Option<i32>>(conn)?.unwrap_or(0),
        call: calls::table.select(max(calls::id)).first::<Option<i32>>(conn)?.unwrap_or(0),
        change: change_log::table.select(max(change_log::id)).first::<Option<i64>>(conn)?.unwrap_or(0),
    })
}

/// After inserting explicit ids, PostgreSQL's sequences must continue after them.
pub fn fix_sequences(conn: &mut Db) -> QueryResult<()> {
    if let Db::Pg(c) = conn {
        for table in
            ["organisations", "projects", "milestones", "participations", "reuse_declarations", "calls", "change_log"]
        {
            diesel::sql_query(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
            ))
            .execute(c)?;
        }
        diesel::sql_query("ANALYZE").execute(c)?;
    }
    if let Db::Sqlite(c) = conn {
        diesel::sql_query("ANALYZE").execute(c)?;
    }
    Ok(())
}

#[derive(QueryableByName)]
pub struct District {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub id: i32,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub district_key: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub land_code: String,
}

/// The districts (Kreise) the Kommunen are generated in.
pub fn districts(conn: &mut Db) -> QueryResult<Vec<District>> {
    organisations::table
        .filter(organisations::kind.eq("DISTRICT"))
        .filter(organisations::district_key.is_not_null())
        .filter(organisations::land_code.is_not_null())
        .order(organisations::id)
        .select((
            organisations::id,
            organisations::district_key.assume_not_null(),
            organisations::land_code.assume_not_null(),
        ))
        .load::<(i32, String, String)>(conn)
        .map(|v| v.into_iter().map(|(id, district_key, land_code)| District { id, district_key, land_code }).collect())
}

pub fn ozg_ids(conn: &mut Db) -> QueryResult<Vec<(String, String)>> {
    ozg_services::table.order(ozg_services::ozg_id).select((ozg_services::ozg_id, ozg_services::name)).load(conn)
}

pub fn land_codes(conn: &mut Db) -> QueryResult<Vec<String>> {
    lands::table.order(lands::code).select(lands::code).load(conn)
}

/// Every AGS held already (generated Kommunen must not take one).
pub fn taken_ags(conn: &mut Db) -> QueryResult<Vec<String>> {
    organisations::table
        .filter(organisations::ags.is_not_null())
        .select(organisations::ags.assume_not_null())
        .load(conn)
}
