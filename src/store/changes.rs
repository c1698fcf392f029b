//! The change log: append-only, written in the same transaction as the change it records.

use diesel::prelude::*;

use super::Db;
use super::rows::ChangeRow;
use super::schema::change_log;

#[derive(Debug, Insertable)]
#[diesel(table_name = change_log)]
pub struct NewChange<'a> {
    pub at: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub project_id: Option<i32>,
    pub summary: &'a str,
    pub changes: &'a str,
}

pub fn append(conn: &mut Db, c: &NewChange) -> QueryResult<()> {
    diesel::insert_into(change_log::table).values(c).execute(conn).map(drop)
}

#[derive(Debug, Default, Clone)]
pub struct ChangeFilter {
    pub since: Option<String>,
    pub project_id: Option<i32>,
    pub entity_type: Option<String>,
    pub after_id: Option<i64>,
}

type B = <Db as Connection>::Backend;

fn query<'a>(f: &'a ChangeFilter, with_cursor: bool) -> change_log::BoxedQuery<'a, B> {
    let mut q = change_log::table.into_boxed();
    if let Some(s) = &f.since {
        q = q.filter(change_log::at.ge(s));
    }
    if let Some(p) = f.project_id {
        q = q.filter(change_log::project_id.eq(p));
    }
    if let Some(t) = &f.entity_type {
        q = q.filter(change_log::entity_type.eq(t));
    }
    if let (true, Some(a)) = (with_cursor, f.after_id) {
        q = q.filter(change_log::id.gt(a));
    }
    q
}

/// Entries in the order they were written; `total` counts all that match the filter, ignoring the
/// cursor.
pub fn page(conn: &mut Db, f: &ChangeFilter, limit: i64) -> QueryResult<(Vec<ChangeRow>, i64)> {
    let total = query(f, false).count().get_result(conn)?;
    let rows = query(f, true).order(change_log::id).limit(limit).select(ChangeRow::as_select()).load(conn)?;
    Ok((rows, total))
}

pub fn last_id(conn: &mut Db) -> QueryResult<Option<i64>> {
    change_log::table.select(diesel::dsl::max(change_log::id)).first(conn)
}
