//! The change log: append-only (triggers refuse UPDATE and DELETE of sealed entries on both
//! backends), written in the same transaction as the change it records, and hash-chained: each entry
//! stores the hash of its predecessor and its own, so `audit verify` detects any edit, deletion or
//! reordering.

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::Db;
use super::rows::ChangeRow;
use super::schema::{audit_head, change_log};
use crate::domain::{ChangeAction, ChangeOutcome, OrganisationId, ProjectId, Vocabulary};

/// One entry to append.
#[derive(Debug)]
pub struct NewChange<'a> {
    pub at: &'a str,
    pub actor: &'a str,
    pub actor_role: &'a str,
    pub actor_organisation_id: Option<OrganisationId>,
    pub actor_issuer: Option<&'a str>,
    pub action: ChangeAction,
    pub outcome: ChangeOutcome,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub project_id: Option<ProjectId>,
    pub summary: &'a str,
    pub changes: &'a str,
    pub personal: bool,
}

/// The hash of an entry: SHA-256 over the previous hash and the entry's fields as a JSON array.
fn entry_hash(prev: &str, c: &ChangeFields) -> String {
    let fields = serde_json::json!([
        c.at,
        c.actor,
        c.actor_role,
        c.actor_organisation_id,
        c.actor_issuer,
        c.action,
        c.outcome,
        c.entity_type,
        c.entity_id,
        c.project_id,
        c.summary,
        c.changes,
        c.personal
    ]);
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(fields.to_string().as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The hashed fields, borrowed from a new or a stored entry.
struct ChangeFields<'a> {
    at: std::borrow::Cow<'a, str>,
    actor: &'a str,
    actor_role: &'a str,
    actor_organisation_id: Option<OrganisationId>,
    actor_issuer: Option<&'a str>,
    action: &'a str,
    outcome: &'a str,
    entity_type: &'a str,
    entity_id: &'a str,
    project_id: Option<ProjectId>,
    summary: &'a str,
    changes: &'a str,
    personal: bool,
}

impl<'a> From<&'a NewChange<'a>> for ChangeFields<'a> {
    fn from(c: &'a NewChange<'a>) -> Self {
        ChangeFields {
            at: c.at.into(),
            actor: c.actor,
            actor_role: c.actor_role,
            actor_organisation_id: c.actor_organisation_id,
            actor_issuer: c.actor_issuer,
            action: c.action.code(),
            outcome: c.outcome.code(),
            entity_type: c.entity_type,
            entity_id: c.entity_id,
            project_id: c.project_id,
            summary: c.summary,
            changes: c.changes,
            personal: c.personal,
        }
    }
}

impl<'a> From<&'a ChangeRow> for ChangeFields<'a> {
    fn from(c: &'a ChangeRow) -> Self {
        ChangeFields {
            at: c.at.to_db().into(),
            actor: &c.actor,
            actor_role: &c.actor_role,
            actor_organisation_id: c.actor_organisation_id,
            actor_issuer: c.actor_issuer.as_deref(),
            action: c.action.code(),
            outcome: c.outcome.code(),
            entity_type: &c.entity_type,
            entity_id: &c.entity_id,
            project_id: c.project_id,
            summary: &c.summary,
            changes: &c.changes,
            personal: c.personal,
        }
    }
}

/// Takes the chain's head for this transaction: the UPDATE locks the row on PostgreSQL until the
/// transaction ends (on SQLite the IMMEDIATE transaction already excludes other writers).
fn lock_head(conn: &mut Db) -> QueryResult<String> {
    match conn {
        // One round trip: the row lock is held until the transaction ends.
        Db::Pg(c) => audit_head::table.find(1).select(audit_head::last_hash).for_update().first(c),
        // The IMMEDIATE transaction of every writer already excludes the others; the update
        // keeps a writer outside `write_tx` from reading a head it cannot write.
        Db::Sqlite(_) => {
            diesel::update(audit_head::table.find(1))
                .set(audit_head::last_hash.eq(audit_head::last_hash))
                .execute(conn)?;
            audit_head::table.find(1).select(audit_head::last_hash).first(conn)
        }
    }
}

/// The hash a new entry gets after `prev` (for writers that append many entries at once).
pub fn hash_after(prev: &str, c: &NewChange) -> String {
    entry_hash(prev, &ChangeFields::from(c))
}

/// The chain's head, locked for this transaction.
pub fn head(conn: &mut Db) -> QueryResult<String> {
    lock_head(conn)
}

/// The chain's head as committed, without locking: it changes with every committed write (each
/// appends to the change log in its transaction), so it tells whether cached answers still hold.
pub fn current_head(conn: &mut Db) -> QueryResult<String> {
    audit_head::table.find(1).select(audit_head::last_hash).first(conn)
}

pub fn set_head(conn: &mut Db, hash: &str) -> QueryResult<usize> {
    diesel::update(audit_head::table.find(1)).set(audit_head::last_hash.eq(hash)).execute(conn)
}

pub fn append(conn: &mut Db, c: &NewChange) -> QueryResult<()> {
    let prev = lock_head(conn)?;
    let hash = entry_hash(&prev, &ChangeFields::from(c));
    diesel::insert_into(change_log::table)
        .values((
            change_log::at.eq(c.at),
            change_log::actor.eq(c.actor),
            change_log::actor_role.eq(c.actor_role),
            change_log::actor_organisation_id.eq(c.actor_organisation_id),
            change_log::actor_issuer.eq(c.actor_issuer),
            change_log::action.eq(c.action),
            change_log::outcome.eq(c.outcome),
            change_log::entity_type.eq(c.entity_type),
            change_log::entity_id.eq(c.entity_id),
            change_log::project_id.eq(c.project_id),
            change_log::summary.eq(c.summary),
            change_log::changes.eq(c.changes),
            change_log::personal.eq(c.personal),
            change_log::prev_hash.eq(&prev),
            change_log::hash.eq(&hash),
        ))
        .execute(conn)?;
    diesel::update(audit_head::table.find(1)).set(audit_head::last_hash.eq(&hash)).execute(conn)?;
    Ok(())
}

/// Seals entries written before the chain existed (their hash is NULL), in id order. Runs after the
/// migrations; a no-op once everything is sealed.
pub fn seal_unsealed(conn: &mut Db) -> QueryResult<usize> {
    let open: Vec<ChangeRow> = change_log::table
        .filter(change_log::hash.is_null())
        .order(change_log::id)
        .select(ChangeRow::as_select())
        .load(conn)?;
    if open.is_empty() {
        return Ok(0);
    }
    let mut prev = lock_head(conn)?;
    for row in &open {
        let hash = entry_hash(&prev, &ChangeFields::from(row));
        diesel::update(change_log::table.find(row.id))
            .set((change_log::prev_hash.eq(&prev), change_log::hash.eq(&hash)))
            .execute(conn)?;
        prev = hash;
    }
    diesel::update(audit_head::table.find(1)).set(audit_head::last_hash.eq(&prev)).execute(conn)?;
    Ok(open.len())
}

/// The outcome of checking the chain.
#[derive(Debug, PartialEq, Eq)]
pub enum Verification {
    Intact { entries: usize },
    Broken { entry_id: i64, reason: String },
}

/// Recomputes the chain from the first entry; reads in batches so memory stays flat.
pub fn verify(conn: &mut Db) -> QueryResult<Verification> {
    let mut prev = String::new();
    let mut after = 0i64;
    let mut n = 0usize;
    loop {
        let batch: Vec<ChangeRow> = change_log::table
            .filter(change_log::id.gt(after))
            .order(change_log::id)
            .limit(5000)
            .select(ChangeRow::as_select())
            .load(conn)?;
        if batch.is_empty() {
            break;
        }
        for row in &batch {
            let broken = |reason: &str| Ok(Verification::Broken { entry_id: row.id, reason: reason.to_owned() });
            match (&row.prev_hash, &row.hash) {
                (Some(p), Some(h)) => {
                    if *p != prev {
                        return broken(
                            "its predecessor hash does not match the entry before it (an entry was removed or reordered)",
                        );
                    }
                    if *h != entry_hash(&prev, &ChangeFields::from(row)) {
                        return broken("its content does not match its hash (the entry was changed)");
                    }
                    prev = h.clone();
                }
                _ => return broken("the entry is not sealed"),
            }
            n += 1;
            after = row.id;
        }
    }
    let head: String = audit_head::table.find(1).select(audit_head::last_hash).first(conn)?;
    if head != prev {
        return Ok(Verification::Broken {
            entry_id: after,
            reason: "entries after it are missing (the chain head differs)".into(),
        });
    }
    Ok(Verification::Intact { entries: n })
}

#[derive(Debug, Default, Clone)]
pub struct ChangeFilter {
    pub since: Option<String>,
    pub project_id: Option<ProjectId>,
    pub entity_type: Option<String>,
    pub after_id: Option<i64>,
    /// Include denied attempts (only those who may see actors see them).
    pub with_denied: bool,
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
    if !f.with_denied {
        q = q.filter(change_log::outcome.eq(ChangeOutcome::Applied));
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

/// The latest applied, public entries about a project, newest first.
pub fn recent_public(conn: &mut Db, project_id: ProjectId, limit: i64) -> QueryResult<Vec<ChangeRow>> {
    change_log::table
        .filter(change_log::project_id.eq(project_id))
        .filter(change_log::outcome.eq(ChangeOutcome::Applied))
        .filter(change_log::personal.eq(false))
        .order(change_log::id.desc())
        .limit(limit)
        .select(ChangeRow::as_select())
        .load(conn)
}
