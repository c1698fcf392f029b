//! Service rules: every write of the API goes through here, runs in one write transaction and records
//! its change-log entry in that same transaction. GraphQL, the CLI and the seed call the same rules.

pub mod calls;
pub mod contacts;
pub mod inputs;
pub mod newsletter;
pub mod organisations;
pub mod participation;
pub mod projects;
pub mod reuse;

use serde_json::{Map, Value, json};

use crate::domain::{Ags, ChangeAction, ChangeOutcome, Slug, Timestamp};
use crate::error::{AppError, AppResult};
use crate::store::rows::{OrganisationRow, ProjectRow};
use crate::store::{Db, changes, read};

pub use inputs::*;

pub use crate::auth::Actor;

/// Field-by-field differences, as recorded in the change log.
#[derive(Debug, Default)]
pub struct Diff(Map<String, Value>);

impl Diff {
    pub fn set(&mut self, field: &str, before: impl Into<Value>, after: impl Into<Value>) {
        let (before, after) = (before.into(), after.into());
        if before != after {
            self.0.insert(field.to_owned(), json!({ "before": before, "after": after }));
        }
    }
    pub fn created(fields: &[(&str, Value)]) -> Self {
        let mut d = Diff::default();
        for (k, v) in fields {
            if !v.is_null() {
                d.0.insert((*k).to_owned(), json!({ "before": null, "after": v }));
            }
        }
        d
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What a change-log entry says about one write.
pub struct Change<'a> {
    pub action: ChangeAction,
    pub entity_type: &'a str,
    pub entity_id: String,
    pub project_id: Option<crate::domain::ProjectId>,
    pub summary: String,
    pub diff: Diff,
}

pub fn record(conn: &mut Db, actor: &Actor, at: &Timestamp, c: Change) -> AppResult<()> {
    append(conn, actor, at, c, ChangeOutcome::Applied, false)
}

/// Records a change about personal data: its fields are shown to authenticated readers only.
pub fn record_personal(conn: &mut Db, actor: &Actor, at: &Timestamp, c: Change) -> AppResult<()> {
    append(conn, actor, at, c, ChangeOutcome::Applied, true)
}

/// Runs a write attempt of `actor` through any transport (GraphQL, the pages): a refused one
/// (FORBIDDEN, UNAUTHENTICATED) is recorded in the change log with its actor and reason, whoever
/// made it, signed in or not. The one rule for recording refusals.
pub fn attempt<T>(
    conn: &mut Db,
    actor: &Actor,
    operation: &str,
    f: impl FnOnce(&mut Db, &Actor) -> AppResult<T>,
) -> AppResult<T> {
    let r = f(conn, actor);
    if let Err(AppError::User {
        code: crate::error::ErrorCode::Forbidden | crate::error::ErrorCode::Unauthenticated,
        message,
        ..
    }) = &r
        && let Err(e) = record_denied(conn, actor, operation, message)
    {
        crate::error::log_internal(&format!("recording a denied attempt: {e}"));
    }
    r
}

/// Records a refused write attempt, in its own transaction (the attempt itself was rolled back), or
/// in its own savepoint of the request's transaction when it has one (a mutation sent with an
/// Idempotency-Key: the record commits with the stored answer).
pub fn record_denied(conn: &mut Db, actor: &Actor, operation: &str, reason: &str) -> AppResult<()> {
    crate::store::write_tx(conn, |conn| {
        let c = Change {
            action: ChangeAction::Update,
            entity_type: "Denied",
            entity_id: operation.to_owned(),
            project_id: None,
            summary: format!("Verweigert: {operation} ({reason})"),
            diff: Diff::default(),
        };
        append(conn, actor, &now(), c, ChangeOutcome::Denied, false)
    })
}

fn append(
    conn: &mut Db,
    actor: &Actor,
    at: &Timestamp,
    c: Change,
    outcome: ChangeOutcome,
    personal: bool,
) -> AppResult<()> {
    let changes = Value::Object(c.diff.0).to_string();
    changes::append(
        conn,
        &changes::NewChange {
            at: &at.to_db(),
            actor: &actor.subject,
            actor_role: actor.role.code(),
            actor_organisation_id: actor.organisation_id,
            actor_issuer: actor.issuer.as_deref(),
            action: c.action,
            outcome,
            entity_type: c.entity_type,
            entity_id: &c.entity_id,
            project_id: c.project_id,
            summary: &c.summary,
            changes: &changes,
            personal,
        },
    )?;
    Ok(())
}

/// Resolves an organisation reference given by exactly one of id, AGS or slug.
pub fn find_organisation(conn: &mut Db, key: &OrgKey, field: &str) -> AppResult<OrganisationRow> {
    let found = match key {
        OrgKey::Id(id) => read::organisation_by_id(conn, *id)?,
        OrgKey::Ags(ags) => read::organisation_by_ags(conn, ags.as_str())?,
        OrgKey::Slug(slug) => read::organisation_by_slug(conn, slug)?,
    };
    found.ok_or_else(|| AppError::not_found(field, format!("{field}: no organisation {key}")))
}

/// Refuses work on a project that has ended (DISCONTINUED) or went into another one (MERGED).
pub fn require_active(p: &ProjectRow, field: &str) -> AppResult<()> {
    if matches!(p.phase, crate::domain::Phase::Discontinued | crate::domain::Phase::Merged) {
        return Err(AppError::bad_input(
            field,
            format!("{field}: project {:?} is {} and takes no further changes of this kind", p.slug, p.phase),
        ));
    }
    Ok(())
}

pub fn find_project(conn: &mut Db, slug: &str, field: &str) -> AppResult<ProjectRow> {
    read::project_by_slug(conn, slug)?
        .ok_or_else(|| AppError::not_found(field, format!("{field}: no project with slug {slug:?}")))
}

/// Replicated records are read-only here: a write is FORBIDDEN and names the home registry.
pub fn require_home(conn: &mut Db, origin: &Option<String>, what: &str, field: &str) -> AppResult<()> {
    let Some(home) = origin else { return Ok(()) };
    let at = crate::store::federation::peer(conn, home)?.map(|p| format!(" at {}", p.base_url)).unwrap_or_default();
    Err(AppError::user(
        crate::error::ErrorCode::Forbidden,
        Some(field),
        format!("this {what} is homed at the registry {home}{at} and replicated here read-only; change it there"),
    ))
}

/// A stale `expectedVersion` is a CONFLICT that reports the current version.
pub fn check_version(row_version: i32, expected: i32) -> AppResult<()> {
    if row_version != expected { Err(AppError::conflict(row_version)) } else { Ok(()) }
}

/// Parses a numeric record id as given in an `ID` argument.
pub fn parse_id(id: &str, field: &str) -> AppResult<i32> {
    let t = id.trim();
    let digits = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| t.parse::<i32>().ok()).flatten().filter(|n| *n > 0).ok_or_else(|| {
        AppError::bad_input(field, format!("{field}: expected a record id (a positive number), found {id:?}"))
    })
}

/// Characters no text field accepts: control characters (line breaks and tabs excepted) and the
/// bidirectional overrides that make text display differently from what it says.
fn forbidden_char(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A required, trimmed, non-empty text of at most `max` characters.
pub fn text(value: &str, field: &str, max: usize) -> AppResult<String> {
    let t = value.trim();
    if t.is_empty() {
        return Err(AppError::bad_input(field, format!("{field}: must not be empty")));
    }
    if let Some(c) = t.chars().find(|c| forbidden_char(*c)) {
        return Err(AppError::bad_input(
            field,
            format!("{field}: control and direction-override characters are not allowed (found U+{:04X})", c as u32),
        ));
    }
    if t.chars().count() > max {
        return Err(AppError::bad_input(field, format!("{field}: at most {max} characters allowed")));
    }
    Ok(t.to_owned())
}

/// An optional text: blank means none.
pub fn opt_text(value: Option<&str>, field: &str, max: usize) -> AppResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => text(t, field, max).map(Some),
    }
}

pub fn slug(value: &str, field: &str) -> AppResult<Slug> {
    Slug::parse(value).map_err(|e| AppError::invalid_id(field, e))
}

/// The error for a topic field slug that does not exist, listing the ones that do.
pub fn unknown_topic_field(field: &str, slug: &str, topics: &[crate::store::rows::TopicFieldRow]) -> AppError {
    AppError::bad_input(
        field,
        format!(
            "{field}: {slug:?} is not a topic field slug; allowed: {}",
            topics.iter().map(|t| t.slug.as_str()).collect::<Vec<_>>().join(", ")
        ),
    )
}

pub fn land_code(conn: &mut Db, code: &str, field: &str) -> AppResult<String> {
    let lands = read::lands(conn)?;
    lands.iter().find(|l| l.code == code).map(|l| l.code.clone()).ok_or_else(|| {
        AppError::bad_input(
            field,
            format!(
                "{field}: {code:?} is not a Land; allowed: {}",
                lands.iter().map(|l| l.code.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )
    })
}

/// Checks an AGS belongs to the Land it is said to be in.
pub fn ags_in_land(conn: &mut Db, ags: &Ags, land: &str, field: &str) -> AppResult<()> {
    let lands = read::lands(conn)?;
    match lands.iter().find(|l| l.code == land) {
        Some(l) if l.ags_prefix == ags.land_prefix() => Ok(()),
        _ => Err(AppError::bad_input(field, format!("{field}: AGS {ags} does not lie in {land}"))),
    }
}

pub fn now() -> Timestamp {
    Timestamp::now()
}

pub const TITLE_MAX: usize = 200;
pub const NOTE_MAX: usize = 4000;
pub const BODY_MAX: usize = 20000;
